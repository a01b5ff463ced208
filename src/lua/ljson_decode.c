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

typedef struct {
    lua_State *L;
    const char *p, *start, *end;
    ccd_buf_t *buf; /* unescaped strings */
    const char *err;
    int depth;
} reader_t;

static int fail(reader_t *r, const char *msg)
{
    if (!r->err)
        r->err = msg;
    return -1;
}

static void skip_ws(reader_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int value(reader_t *r);

static int literal(reader_t *r, const char *word, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return fail(r, "invalid literal");
    r->p += n;
    return 0;
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

static int number(reader_t *r)
{
    const char *s = r->p;
    bool neg = r->p < r->end && *r->p == '-';
    r->p += neg;
    if (r->p >= r->end || !is_digit(*r->p))
        return fail(r, "invalid number");
    if (*r->p == '0' && r->p + 1 < r->end && is_digit(r->p[1]))
        return fail(r, "invalid number (leading zero)");
    /* The common numbers (integers and short decimals) without strtod. */
    uint64_t m = 0;
    int digits = 0, frac = 0;
    for (; r->p < r->end && is_digit(*r->p) && digits < 16; r->p++, digits++)
        m = m * 10 + (uint64_t)(*r->p - '0');
    if (r->p < r->end && *r->p == '.' && r->p + 1 < r->end && is_digit(r->p[1]))
        for (r->p++; r->p < r->end && is_digit(*r->p) && digits < 16; r->p++, digits++, frac++)
            m = m * 10 + (uint64_t)(*r->p - '0');
    if ((r->p >= r->end || !strchr("0123456789+-.eE", *r->p) || !*r->p) && digits <= 15) {
        double d = (double)m / exact_pow10[frac];
        lua_pushnumber(r->L, neg ? -d : d);
        return 0;
    }
    while (r->p < r->end && strchr("0123456789+-.eE", *r->p) && *r->p)
        r->p++;
    char tmp[64];
    size_t n = (size_t)(r->p - s);
    if (n >= sizeof(tmp))
        return fail(r, "number too long");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    double d = strtod(tmp, &end);
    if (*end)
        return fail(r, "invalid number");
    lua_pushnumber(r->L, d);
    return 0;
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

/* \uXXXX, with a surrogate pair when one follows. r->p is past the "\u". */
static int unicode_escape(reader_t *r)
{
    unsigned cp, lo;
    if (r->end - r->p < 4 || hex4(r->p, &cp))
        return fail(r, "invalid \\u escape");
    r->p += 4;
    if (cp >= 0xD800 && cp < 0xDC00) {
        if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) ||
            lo < 0xDC00 || lo > 0xDFFF)
            return fail(r, "invalid surrogate pair");
        r->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp < 0xE000) {
        return fail(r, "invalid surrogate pair");
    }
    put_utf8(r->buf, cp);
    return 0;
}

static int escape(reader_t *r)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (r->p >= r->end)
        return fail(r, "unterminated string");
    char c = *r->p++;
    if (c == 'u')
        return unicode_escape(r);
    const char *k = strchr(from, c);
    if (!k || !c)
        return fail(r, "invalid escape");
    ccd_buf_putc(r->buf, to[k - from]);
    return 0;
}

/* Pushes the string starting after its opening quote. Strings without escapes are pushed
 * straight from the text. */
static int string(reader_t *r)
{
    const char *s = r->p;
    while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (unsigned char)*r->p >= 0x20)
        r->p++;
    if (r->p < r->end && *r->p == '"') {
        lua_pushlstring(r->L, s, (size_t)(r->p++ - s));
        return 0;
    }
    r->buf->len = 0;
    ccd_buf_append(r->buf, s, (size_t)(r->p - s));
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p;
        if (c < 0x20)
            return fail(r, "control character in string");
        if (c == '\\') {
            r->p++;
            if (escape(r))
                return -1;
        } else {
            ccd_buf_putc(r->buf, (char)c);
            r->p++;
        }
    }
    if (r->p >= r->end)
        return fail(r, "unterminated string");
    r->p++;
    lua_pushlstring(r->L, r->buf->base ? r->buf->base : "", r->buf->len);
    return 0;
}

/* Arrays and objects gather their first elements on the Lua stack, then make their table at
 * its final size: growing a table one key at a time rehashes it at every power of two, which
 * cost more than the rest of decoding a small document. Past GATHER elements, or when the stack
 * is already deep (deeply nested documents), the table is made and filled as parsing goes. */
#define GATHER       32
#define GATHER_STACK 4000 /* well under LuaJIT's limit of 8000 slots for a C function */

static bool gather_more(reader_t *r, int n)
{
    return n < GATHER && lua_gettop(r->L) < GATHER_STACK;
}

/* The stack an array or object needs, reserved once: its gathered elements (a key and a value
 * each), the table and the two copies object_flush pushes, a nested value's first push. */
static int reserve(reader_t *r)
{
    return lua_checkstack(r->L, 2 * GATHER + 8) ? 0 : fail(r, "out of Lua stack");
}

/* Makes the table for the n values gathered above index base, fills it, leaves it at base+1. */
static void array_flush(lua_State *L, int base, int n, int spare)
{
    lua_createtable(L, n + spare, 0);
    lua_insert(L, base + 1);
    for (int i = n; i >= 1; i--)
        lua_rawseti(L, base + 1, i);
}

static int array(reader_t *r)
{
    lua_State *L = r->L;
    int base = lua_gettop(L), n = 0;
    bool made = false;
    if (reserve(r))
        return -1;
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        lua_newtable(L);
        return 0;
    }
    for (;;) {
        if (value(r))
            return -1;
        n++;
        if (made) {
            lua_rawseti(L, base + 1, n);
        } else if (!gather_more(r, n)) {
            array_flush(L, base, n, n);
            made = true;
        }
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            if (!made)
                array_flush(L, base, n, 0);
            return 0;
        }
        return fail(r, "expected ',' or ']'");
    }
}

/* Makes the table for the n key/value pairs gathered above index base, sets them in order (a
 * repeated key: the last one wins, as when set one by one), leaves it at base+1. */
static void object_flush(lua_State *L, int base, int n, int spare)
{
    lua_createtable(L, 0, n + spare);
    int t = lua_gettop(L);
    for (int i = 0; i < n; i++) {
        lua_pushvalue(L, base + 1 + 2 * i);
        lua_pushvalue(L, base + 2 + 2 * i);
        lua_rawset(L, t);
    }
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
}

static int object(reader_t *r)
{
    lua_State *L = r->L;
    int base = lua_gettop(L), n = 0;
    bool made = false;
    if (reserve(r))
        return -1;
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        lua_newtable(L);
        return 0;
    }
    for (;;) {
        skip_ws(r);
        if (r->p >= r->end || *r->p != '"')
            return fail(r, "expected a string key");
        r->p++;
        if (string(r))
            return -1;
        skip_ws(r);
        if (r->p >= r->end || *r->p != ':')
            return fail(r, "expected ':'");
        r->p++;
        if (value(r))
            return -1;
        n++;
        if (made) {
            lua_rawset(L, base + 1);
        } else if (!gather_more(r, n)) {
            object_flush(L, base, n, n);
            made = true;
        }
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            if (!made)
                object_flush(L, base, n, 0);
            return 0;
        }
        return fail(r, "expected ',' or '}'");
    }
}

static int value(reader_t *r)
{
    skip_ws(r);
    if (r->p >= r->end)
        return fail(r, "unexpected end of input");
    if (++r->depth > MAX_DEPTH)
        return fail(r, "nesting too deep");
    int rc;
    switch (*r->p) {
    case '{': r->p++, rc = object(r); break;
    case '[': r->p++, rc = array(r); break;
    case '"': r->p++, rc = string(r); break;
    case 't': rc = literal(r, "true", 4), lua_pushboolean(r->L, 1); break;
    case 'f': rc = literal(r, "false", 5), lua_pushboolean(r->L, 0); break;
    case 'n': rc = literal(r, "null", 4), lua_pushlightuserdata(r->L, NULL); break;
    default: rc = number(r);
    }
    r->depth--;
    return rc;
}

int ccd_ljson_decode_into(lua_State *L, const char *text, size_t len, ccd_buf_t *buf)
{
    int top = lua_gettop(L);
    reader_t r = {.L = L, .p = text, .start = text, .end = text + len, .buf = buf};
    if (value(&r) == 0) {
        skip_ws(&r);
        if (r.p == r.end)
            return 0;
        fail(&r, "text after the JSON value");
    }
    int line = 1, col = 1;
    for (const char *q = text; q < r.p && q < r.end; q++)
        *q == '\n' ? (line++, col = 1) : col++;
    lua_settop(L, top);
    lua_pushfstring(L, "line %d, column %d: %s", line, col, r.err ? r.err : "invalid JSON");
    return CCD_EINVAL;
}
