/* cicada.random: uniform integers, list picks and random strings, from a splitmix64 generator
 * per Lua state (the state's thread is its only user: no locking). */
#include "lua/lrandom.h"

#include <lauxlib.h>
#include <math.h>

#define GEN_META  "cicada.random.generator"
#define MAX_EXACT 9007199254740992.0 /* 2^53: every integer up to it is a Lua number */

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* splitmix64 (Steele, Lea, Flood 2014): one add and two multiplies per value, and its output
 * passes BigCrush; plenty for picking test data. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* 53 bits from one call of the state's math.random (0 when it is missing). */
static uint64_t math_random_bits(lua_State *L)
{
    lua_getglobal(L, "math");
    if (lua_istable(L, -1))
        lua_getfield(L, -1, "random");
    else
        lua_pushnil(L);
    uint64_t v = 0;
    if (lua_isfunction(L, -1) && lua_pcall(L, 0, 1, 0) == 0)
        v = (uint64_t)(lua_tonumber(L, -1) * MAX_EXACT);
    lua_pop(L, 2);
    return v;
}

void ccd_lrandom_new(lua_State *L)
{
    uint64_t seed = math_random_bits(L) << 11 ^ math_random_bits(L);
    uint64_t *s = lua_newuserdata(L, sizeof(*s));
    *s = seed;
    luaL_newmetatable(L, GEN_META);
    lua_setmetatable(L, -2);
}

uint64_t ccd_lrandom_next(lua_State *L, int idx)
{
    return splitmix64(luaL_checkudata(L, idx, GEN_META));
}

/* A uniform value in [0, n), n > 0: draws below the largest multiple of n are rejected, so
 * that no value is favoured. */
static uint64_t below(uint64_t *gen, uint64_t n)
{
    uint64_t threshold = -n % n, r;
    do
        r = splitmix64(gen);
    while (r < threshold);
    return r % n;
}

/* The generator of the running function (its upvalue). */
static uint64_t *gen_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static int64_t check_int(lua_State *L, int arg, const char *fn)
{
    double v = luaL_checknumber(L, arg);
    if (v != floor(v) || fabs(v) > MAX_EXACT)
        luaL_error(L, "cicada.random.%s: argument #%d must be a whole number, got %f", fn, arg, v);
    return (int64_t)v;
}

/* int(a, b): a whole number between a and b, both included. */
static int l_int(lua_State *L)
{
    int64_t a = check_int(L, 1, "int"), b = check_int(L, 2, "int");
    if (a > b)
        return luaL_error(L, "cicada.random.int(a, b): expected a <= b, got %f > %f", (lua_Number)a,
                          (lua_Number)b);
    lua_pushnumber(L, (lua_Number)(a + (int64_t)below(gen_of(L), (uint64_t)(b - a) + 1)));
    return 1;
}

/* choice(list): one element of a non-empty list, each as likely. */
static int l_choice(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    size_t n = lua_objlen(L, 1);
    if (n == 0)
        return luaL_error(L, "cicada.random.choice(list): the list is empty");
    lua_rawgeti(L, 1, (int)below(gen_of(L), n) + 1);
    return 1;
}

/* string(n [, alphabet]): n bytes drawn from alphabet (default: letters and digits). */
static int l_string(lua_State *L)
{
    int64_t n = check_int(L, 1, "string");
    size_t alen;
    const char *abc = luaL_optlstring(L, 2, alnum, &alen);
    if (n < 0 || alen == 0)
        return luaL_error(L, "cicada.random.string(n, alphabet): expected n >= 0 and a "
                             "non-empty alphabet");
    uint64_t *gen = gen_of(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int64_t i = 0; i < n; i++)
        luaL_addchar(&b, abc[below(gen, alen)]);
    luaL_pushresult(&b);
    return 1;
}

void ccd_lrandom_register(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"int", l_int},
        {"choice", l_choice},
        {"string", l_string},
        {NULL, NULL},
    };
    lua_newtable(L);
    ccd_lrandom_new(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -3, f->name);
    }
    lua_pop(L, 1);
    lua_setfield(L, -2, "random");
}
