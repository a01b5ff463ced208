/* JSON for Lua: the encoder (it runs per request for json= bodies) and the Lua functions;
 * the decoder is in ljson_decode.c. */
#include "lua/ljson.h"

#include <lauxlib.h>
#include <math.h>
#include <string.h>
#include <stdio.h>

#define MAX_DEPTH 128

static int put(ccd_buf_t *out, const char *s, size_t n)
{
    return ccd_buf_append(out, s, n);
}

static int put_string(ccd_buf_t *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (ccd_buf_reserve(out, n + 2))
        return CCD_ENOMEM;
    ccd_buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            if (c >= 0x20) {
                if (ccd_buf_putc(out, (char)c))
                    return CCD_ENOMEM;
                continue;
            }
            esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            elen = 6;
        }
        if (put(out, esc, elen))
            return CCD_ENOMEM;
    }
    return ccd_buf_putc(out, '"');
}

static int put_number(lua_State *L, double d, ccd_buf_t *out)
{
    char buf[32];
    if (!isfinite(d)) {
        lua_pushstring(L, "JSON cannot represent inf or nan");
        return CCD_EINVAL;
    }
    int n = (d == floor(d) && fabs(d) < 1e15) ? snprintf(buf, sizeof(buf), "%.0f", d)
                                              : snprintf(buf, sizeof(buf), "%.17g", d);
    return put(out, buf, (size_t)n);
}

/* An array when the keys are exactly 1..n with n > 0. */
static int is_array(lua_State *L, int idx)
{
    size_t n = lua_objlen(L, idx), count = 0;
    if (n == 0)
        return 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == n;
}

static int encode(lua_State *L, int idx, ccd_buf_t *out, int depth);

static int encode_table(lua_State *L, int idx, ccd_buf_t *out, int depth)
{
    if (depth > MAX_DEPTH) {
        lua_pushstring(L, "JSON nesting too deep (a cycle?)");
        return CCD_EINVAL;
    }
    int rc, first = 1;
    if (is_array(L, idx)) {
        size_t n = lua_objlen(L, idx);
        ccd_buf_putc(out, '[');
        for (size_t i = 1; i <= n; i++) {
            if (i > 1)
                ccd_buf_putc(out, ',');
            lua_rawgeti(L, idx, (int)i);
            rc = encode(L, lua_gettop(L), out, depth + 1);
            if (rc)
                return rc;
            lua_pop(L, 1);
        }
        return ccd_buf_putc(out, ']');
    }
    ccd_buf_putc(out, '{');
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int kt = lua_type(L, -2);
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER) {
            lua_pushfstring(L, "JSON object keys must be strings, not %s", lua_typename(L, kt));
            return CCD_EINVAL;
        }
        if (!first)
            ccd_buf_putc(out, ',');
        first = 0;
        lua_pushvalue(L, -2);
        size_t klen;
        const char *k = lua_tolstring(L, -1, &klen); /* a copy: never convert the real key */
        put_string(out, k, klen);
        lua_pop(L, 1);
        ccd_buf_putc(out, ':');
        rc = encode(L, lua_gettop(L), out, depth + 1);
        if (rc)
            return rc;
        lua_pop(L, 1);
    }
    return ccd_buf_putc(out, '}');
}

static int encode(lua_State *L, int idx, ccd_buf_t *out, int depth)
{
    size_t len;
    const char *s;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return put(out, "null", 4);
    case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? put(out, "true", 4) : put(out, "false", 5);
    case LUA_TNUMBER: return put_number(L, lua_tonumber(L, idx), out);
    case LUA_TSTRING: s = lua_tolstring(L, idx, &len); return put_string(out, s, len);
    case LUA_TTABLE: return encode_table(L, idx, out, depth);
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL)
            return put(out, "null", 4);
    }
    lua_pushfstring(L, "cannot encode a %s value as JSON", luaL_typename(L, idx));
    return CCD_EINVAL;
}

int ccd_ljson_encode(lua_State *L, int idx, ccd_buf_t *out)
{
    int top = lua_gettop(L);
    if (idx < 0)
        idx = top + idx + 1;
    int rc = encode(L, idx, out, 0);
    if (rc == 0)
        lua_settop(L, top);
    else if (rc == CCD_ENOMEM) {
        lua_settop(L, top);
        lua_pushstring(L, "out of memory encoding JSON");
    } else {
        lua_pushvalue(L, -1);
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
    }
    return rc;
}

int ccd_ljson_decode(lua_State *L, const char *text, size_t len)
{
    ccd_buf_t buf = {0};
    int rc = ccd_ljson_decode_into(L, text, len, &buf);
    ccd_buf_free(&buf);
    return rc;
}

int ccd_ljson_lencode(lua_State *L)
{
    ccd_buf_t out = {0};
    luaL_checkany(L, 1);
    int rc = ccd_ljson_encode(L, 1, &out);
    if (rc) {
        ccd_buf_free(&out);
        return lua_error(L);
    }
    lua_pushlstring(L, out.base ? out.base : "", out.len);
    ccd_buf_free(&out);
    return 1;
}

static int free_buffer(lua_State *L)
{
    ccd_buf_free(lua_touserdata(L, 1));
    return 0;
}

/* decode(text): upvalue 1 is its buffer for unescaped strings, made once, freed with the
 * state, so that decoding allocates only the Lua values. */
static int ldecode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    if (ccd_ljson_decode_into(L, s, len, lua_touserdata(L, lua_upvalueindex(1))))
        return luaL_error(L, "invalid JSON: %s", lua_tostring(L, -1));
    return 1;
}

void ccd_ljson_push_ldecode(lua_State *L)
{
    ccd_buf_t *buf = lua_newuserdata(L, sizeof(*buf));
    memset(buf, 0, sizeof(*buf));
    lua_newtable(L);
    lua_pushcfunction(L, free_buffer);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, ldecode, 1);
}
