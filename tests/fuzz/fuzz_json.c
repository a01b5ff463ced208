/* libFuzzer driver for the JSON decoder: never crashes, reports errors as a message, and what
 * it decodes survives a round trip (encoded again and decoded, the Lua values are equal). */
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua/ljson.h"

/* Deep equality of the values at a and b (absolute indices); NaN cannot come from JSON. */
static int same(lua_State *L, int a, int b, int depth)
{
    if (lua_type(L, a) != lua_type(L, b) || depth > 600)
        return 0;
    if (lua_type(L, a) != LUA_TTABLE)
        return lua_rawequal(L, a, b);
    int n = 0, ok = 1;
    lua_pushnil(L);
    while (ok && lua_next(L, a)) {
        n++;
        lua_pushvalue(L, -2);
        lua_rawget(L, b);
        ok = lua_checkstack(L, 8) && same(L, lua_gettop(L) - 1, lua_gettop(L), depth + 1);
        lua_pop(L, 2);
    }
    if (!ok) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pushnil(L);
    for (; lua_next(L, b); lua_pop(L, 1))
        n--;
    return n == 0;
}

static lua_State *state(void)
{
    static lua_State *L;
    if (!L)
        L = luaL_newstate();
    return L;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = state();
    char *text = malloc(size ? size : 1); /* exact size: ASan catches any overread */
    memcpy(text, data, size);
    ccd_buf_t buf = {0}, enc = {0};
    lua_settop(L, 0);
    if (ccd_ljson_decode_into(L, text, size, &buf) != 0) {
        if (lua_gettop(L) != 1 || !lua_isstring(L, 1))
            abort();
    } else if (lua_gettop(L) != 1) {
        abort();
    } else if (ccd_ljson_encode(L, 1, &enc) == 0) {
        if (ccd_ljson_decode_into(L, enc.base ? enc.base : "", enc.len, &buf) != 0 ||
            !same(L, 1, 2, 0))
            abort();
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    ccd_buf_free(&buf);
    ccd_buf_free(&enc);
    free(text);
    return 0;
}
