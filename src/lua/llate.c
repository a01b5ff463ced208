/* Late answers (see llate.h). */
#include "lua/llate.h"

#include <lauxlib.h>

#include "engine/binding.h"

/* The registry key of the function given to set_late. */
static const char late_key = 0;

static int l_set_late(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushlightuserdata(L, (void *)&late_key);
    lua_pushvalue(L, 1);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return 0;
}

void ccd_llate_register(lua_State *L)
{
    lua_pushcfunction(L, l_set_late);
    lua_setfield(L, -2, "set_late");
}

void ccd_llate_fire(struct ccd_user *u, int nargs)
{
    lua_State *co = ccd_user_thread(u);
    lua_State *T = lua_newthread(co);
    lua_insert(co, -nargs - 1);
    lua_pushlightuserdata(T, (void *)&late_key);
    lua_rawget(T, LUA_REGISTRYINDEX);
    lua_xmove(co, T, nargs);
    if (lua_isfunction(T, 1) && lua_pcall(T, nargs, 0, 0) != 0) {
        const char *msg = lua_tostring(T, -1);
        ccd_engine_exception(ccd_user_engine(u), msg ? msg : "error in a late answer's event", "");
    }
    lua_pop(co, 1);
}
