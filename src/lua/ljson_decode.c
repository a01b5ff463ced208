/* JSON text to Lua values in one pass, without an intermediate tree: decoding runs for every
 * r:json() a scenario makes, so it allocates nothing but the Lua values themselves. */
#include <lauxlib.h>
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

static int number(reader_t *r)
{
    const char *s = r->p;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p >= r->end || (*r->p < '0' || *r->p > '9'))
        return fail(r, "invalid number");
    if (*r->p == '0' && r->p + 1 < r->end && r->p[1] >= '0' && r->p[1] <= '9')
        return fail(r, "invalid number (leading zero)");
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

static int array(reader_t *r)
{
    lua_newtable(r->L);
    skip_ws(r);
    if (r->p < r->end && *r->p == ']')
        return r->p++, 0;
    for (int i = 1;; i++) {
        if (value(r))
            return -1;
        lua_rawseti(r->L, -2, i);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']')
            return r->p++, 0;
        return fail(r, "expected ',' or ']'");
    }
}

static int object(reader_t *r)
{
    lua_newtable(r->L);
    skip_ws(r);
    if (r->p < r->end && *r->p == '}')
        return r->p++, 0;
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
        lua_rawset(r->L, -3);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}')
            return r->p++, 0;
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
    if (!lua_checkstack(r->L, 4))
        return fail(r, "out of Lua stack");
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
