/* JSON text to Lua values in one pass, without an intermediate tree: decoding runs for every
 * r:json() a scenario makes, so it allocates nothing but the Lua values themselves. */
#include <lauxlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/ljson.h"

#define MAX_DEPTH 512

/* The parsing functions take the position to read from and return the position after what
 * they read, or NULL on an error (recorded in err and err_at): the position stays in a
 * register across the Lua calls between them. */
typedef struct {
    lua_State *L;
    const char *end;
    ccd_buf_t *buf; /* unescaped strings */
    const char *err, *err_at;
    int depth;
} reader_t;

static const char *fail(reader_t *r, const char *at, const char *msg)
{
    if (!r->err) {
        r->err = msg;
        r->err_at = at;
    }
    return NULL;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(*p))
        p++;
    return p;
}

static const char *value(reader_t *r, const char *p);

static const char *literal(reader_t *r, const char *p, const char *word, size_t n)
{
    if ((size_t)(r->end - p) < n || memcmp(p, word, n) != 0)
        return fail(r, p, "invalid literal");
    return p + n;
}

/* The exact powers of ten a double holds: a decimal of at most 15 digits divided by one of them
 * is correctly rounded, as strtod would give it (both operands are exact). */
static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A character that may continue a number: what strtod is given when the fast path declines. */
static bool is_number_char(char c)
{
    return is_digit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

static const char *number(reader_t *r, const char *p)
{
    const char *s = p, *end = r->end;
    bool neg = *p == '-';
    p += neg;
    if (p >= end || !is_digit(*p))
        return fail(r, p, "invalid number");
    if (*p == '0' && p + 1 < end && is_digit(p[1]))
        return fail(r, p, "invalid number (leading zero)");
    /* The common numbers (integers and short decimals) without strtod. */
    uint64_t m = 0;
    int digits = 0, frac = 0;
    for (; p < end && is_digit(*p) && digits < 16; p++, digits++)
        m = m * 10 + (uint64_t)(*p - '0');
    if (p + 1 < end && *p == '.' && is_digit(p[1]))
        for (p++; p < end && is_digit(*p) && digits < 16; p++, digits++, frac++)
            m = m * 10 + (uint64_t)(*p - '0');
    if ((p >= end || !is_number_char(*p)) && digits <= 15) {
        double d = (double)m / exact_pow10[frac];
        lua_pushnumber(r->L, neg ? -d : d);
        return p;
    }
    while (p < end && is_number_char(*p))
        p++;
    char tmp[64];
    size_t n = (size_t)(p - s);
    if (n >= sizeof(tmp))
        return fail(r, s, "number too long");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *stop;
    double d = strtod(tmp, &stop);
    if (*stop)
        return fail(r, s + (stop - tmp), "invalid number");
    lua_pushnumber(r->L, d);
    return p;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(ccd_buf_t *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80)
        u[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 63)), n = 2;
    else if (cp < 0x10000)
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 63)),
        u[2] = (char)(0x80 | (cp & 63)), n = 3;
    else
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 63)),
        u[2] = (char)(0x80 | (cp >> 6 & 63)), u[3] = (char)(0x80 | (cp & 63)), n = 4;
    ccd_buf_append(b, u, n);
}

/* \uXXXX, with a surrogate pair when one follows. p is past the "\u". */
static const char *unicode_escape(reader_t *r, const char *p)
{
    unsigned cp, lo;
    if (r->end - p < 4 || hex4(p, &cp))
        return fail(r, p, "invalid \\u escape");
    p += 4;
    if (cp >= 0xD800 && cp < 0xDC00) {
        if (r->end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xDC00 ||
            lo > 0xDFFF)
            return fail(r, p, "invalid surrogate pair");
        p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp < 0xE000) {
        return fail(r, p, "invalid surrogate pair");
    }
    put_utf8(r->buf, cp);
    return p;
}

/* An escape; p is past its backslash. */
static const char *escape(reader_t *r, const char *p)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p >= r->end)
        return fail(r, p, "unterminated string");
    char c = *p;
    if (c == 'u')
        return unicode_escape(r, p + 1);
    const char *k = strchr(from, c);
    if (!k || !c)
        return fail(r, p, "invalid escape");
    ccd_buf_putc(r->buf, to[k - from]);
    return p + 1;
}

/* The characters a string holds as they are: not its end, an escape or a control character
 * (a byte each: one load a character where three comparisons were). */
#define PLAIN16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const bool plain[256] = {
    PLAIN16(0), PLAIN16(0), 1,          1,          0,          1,          1,          1,
    1,          1,          1,          1,          1,          1,          1,          1,
    1,          1,          PLAIN16(1), PLAIN16(1), 1,          1,          1,          1,
    1,          1,          1,          1,          1,          1,          1,          1,
    0,          1,          1,          1,          PLAIN16(1), PLAIN16(1), PLAIN16(1), PLAIN16(1),
    PLAIN16(1), PLAIN16(1), PLAIN16(1), PLAIN16(1), PLAIN16(1), PLAIN16(1)};

static bool is_plain(char c)
{
    return plain[(unsigned char)c];
}

/* The rest of a string from its first escape (or bad character) at p; s is its start. */
static const char *string_escaped(reader_t *r, const char *s, const char *p)
{
    const char *end = r->end;
    r->buf->len = 0;
    ccd_buf_append(r->buf, s, (size_t)(p - s));
    while (p < end && *p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            return fail(r, p, "control character in string");
        if (c == '\\') {
            if (!(p = escape(r, p + 1)))
                return NULL;
        } else {
            ccd_buf_putc(r->buf, (char)c);
            p++;
        }
    }
    if (p >= end)
        return fail(r, p, "unterminated string");
    lua_pushlstring(r->L, r->buf->base ? r->buf->base : "", r->buf->len);
    return p + 1;
}

/* Pushes the string starting at p, after its opening quote. Strings without escapes are
 * pushed straight from the text. */
static const char *string(reader_t *r, const char *p)
{
    const char *s = p, *end = r->end;
    while (p < end && is_plain(*p))
        p++;
    if (p < end && *p == '"') {
        lua_pushlstring(r->L, s, (size_t)(p - s));
        return p + 1;
    }
    return string_escaped(r, s, p);
}

/* Arrays and objects gather their first elements on the Lua stack, then make their table at
 * its final size: growing a table one key at a time rehashes it at every power of two, which
 * cost more than the rest of decoding a small document. Past GATHER elements, or when the stack
 * is already deep (deeply nested documents), the table is made and filled as parsing goes. */
#define GATHER       32
#define GATHER_STACK 4000 /* well under LuaJIT's limit of 8000 slots for a C function */

/* Enters an array or object: checks the nesting and reserves, once, the stack it needs (its
 * gathered elements, a key and a value each; the table and the two copies object_flush
 * pushes; a nested value's first push). */
static const char *enter(reader_t *r, const char *p)
{
    if (++r->depth > MAX_DEPTH)
        return fail(r, p, "nesting too deep");
    return lua_checkstack(r->L, 2 * GATHER + 8) ? p : fail(r, p, "out of Lua stack");
}

/* Makes the table for the n values gathered above index base, fills it, leaves it at base+1. */
static void array_flush(lua_State *L, int base, int n, int spare)
{
    lua_createtable(L, n + spare, 0);
    lua_insert(L, base + 1);
    for (int i = n; i >= 1; i--)
        lua_rawseti(L, base + 1, i);
}

/* p is past the '['. */
static const char *array(reader_t *r, const char *p)
{
    lua_State *L = r->L;
    const char *end = r->end;
    int base = lua_gettop(L), n = 0;
    bool made = false;
    if (!enter(r, p))
        return NULL;
    p = skip_ws(p, end);
    if (p < end && *p == ']') {
        lua_createtable(L, 0, 0);
        r->depth--;
        return p + 1;
    }
    for (;;) {
        if (!(p = value(r, p)))
            return NULL;
        n++;
        if (made) {
            lua_rawseti(L, base + 1, n);
        } else if (n == GATHER || base + n >= GATHER_STACK) {
            array_flush(L, base, n, n);
            made = true;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == ']') {
            if (!made)
                array_flush(L, base, n, 0);
            r->depth--;
            return p + 1;
        }
        return fail(r, p, "expected ',' or ']'");
    }
}

/* Makes the table for the n key/value pairs gathered above index base, sets them in order (a
 * repeated key: the last one wins, as when set one by one), leaves it at base+1. */
static void object_flush(lua_State *L, int base, int n, int spare)
{
    lua_createtable(L, 0, n + spare);
    int t = base + 2 * n + 1;
    for (int i = 0; i < n; i++) {
        lua_pushvalue(L, base + 1 + 2 * i);
        lua_pushvalue(L, base + 2 + 2 * i);
        lua_rawset(L, t);
    }
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
}

/* p is past the '{'. */
static const char *object(reader_t *r, const char *p)
{
    lua_State *L = r->L;
    const char *end = r->end;
    int base = lua_gettop(L), n = 0;
    bool made = false;
    if (!enter(r, p))
        return NULL;
    p = skip_ws(p, end);
    if (p < end && *p == '}') {
        lua_createtable(L, 0, 0);
        r->depth--;
        return p + 1;
    }
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return fail(r, p, "expected a string key");
        if (!(p = string(r, p + 1)))
            return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return fail(r, p, "expected ':'");
        if (!(p = value(r, p + 1)))
            return NULL;
        n++;
        if (made) {
            lua_rawset(L, base + 1);
        } else if (n == GATHER || base + 2 * n >= GATHER_STACK) {
            object_flush(L, base, n, n);
            made = true;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}') {
            if (!made)
                object_flush(L, base, n, 0);
            r->depth--;
            return p + 1;
        }
        return fail(r, p, "expected ',' or '}'");
    }
}

static const char *value(reader_t *r, const char *p)
{
    p = skip_ws(p, r->end);
    if (p >= r->end)
        return fail(r, p, "unexpected end of input");
    switch (*p) {
    case '{': return object(r, p + 1);
    case '[': return array(r, p + 1);
    case '"': return string(r, p + 1);
    case 't': lua_pushboolean(r->L, 1); return literal(r, p, "true", 4);
    case 'f': lua_pushboolean(r->L, 0); return literal(r, p, "false", 5);
    case 'n': lua_pushlightuserdata(r->L, NULL); return literal(r, p, "null", 4);
    default: return number(r, p);
    }
}

int ccd_ljson_decode_into(lua_State *L, const char *text, size_t len, ccd_buf_t *buf)
{
    int top = lua_gettop(L);
    reader_t r = {.L = L, .end = text + len, .buf = buf};
    const char *p = value(&r, text);
    if (p) {
        p = skip_ws(p, r.end);
        if (p == r.end)
            return 0;
        fail(&r, p, "text after the JSON value");
    }
    int line = 1, col = 1;
    for (const char *q = text; q < r.err_at && q < r.end; q++)
        *q == '\n' ? (line++, col = 1) : col++;
    lua_settop(L, top);
    lua_pushfstring(L, "line %d, column %d: %s", line, col, r.err ? r.err : "invalid JSON");
    return CCD_EINVAL;
}
