/* Tests of cicada.random: ranges inclusive and covered, argument checks, strings, and the
 * generator following the state's math.randomseed. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include "lua/lrandom.h"

/* A state with the global `random` = core.random, math.random seeded with seed. */
static lua_State *new_state(double seed)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushnumber(L, seed);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    lua_newtable(L);
    ccd_lrandom_register(L);
    lua_getfield(L, -1, "random");
    lua_setglobal(L, "random");
    lua_pop(L, 1);
    return L;
}

static const char *run(lua_State *L, const char *code)
{
    if (luaL_loadbuffer(L, code, strlen(code), "=test") || lua_pcall(L, 0, 0, 0))
        return lua_tostring(L, -1);
    return NULL;
}

static void expect_ok(lua_State *L, const char *code)
{
    const char *err = run(L, code);
    cr_expect_null(err, "%s", err);
}

Test(lrandom, int_covers_its_range_both_ends_included)
{
    lua_State *L = new_state(1);
    expect_ok(L,
              "local seen = {}\n"
              "for i = 1, 2000 do\n"
              "  local v = random.int(-2, 3)\n"
              "  assert(v >= -2 and v <= 3 and v == math.floor(v), v)\n"
              "  seen[v] = (seen[v] or 0) + 1\n"
              "end\n"
              "for v = -2, 3 do assert((seen[v] or 0) > 200, v .. ': ' .. tostring(seen[v])) end\n"
              "assert(random.int(5, 5) == 5)\n"
              "local big = random.int(0, 2^53)\n"
              "assert(big >= 0 and big <= 2^53)\n");
    lua_close(L);
}

Test(lrandom, int_rejects_bad_arguments)
{
    lua_State *L = new_state(1);
    const char *err = run(L, "random.int(3, 2)");
    cr_expect(err && strstr(err, "a <= b"), "%s", err);
    err = run(L, "random.int(1.5, 2)");
    cr_expect(err && strstr(err, "whole number"), "%s", err);
    err = run(L, "random.int(1)");
    cr_expect(err != NULL);
    lua_close(L);
}

Test(lrandom, choice_picks_every_element)
{
    lua_State *L = new_state(2);
    expect_ok(L, "local list, seen = { 'a', 'b', 'c' }, {}\n"
                 "for i = 1, 300 do seen[random.choice(list)] = true end\n"
                 "assert(seen.a and seen.b and seen.c)\n"
                 "assert(random.choice({ 42 }) == 42)\n");
    const char *err = run(L, "random.choice({})");
    cr_expect(err && strstr(err, "empty"), "%s", err);
    cr_expect_not_null(run(L, "random.choice('abc')"));
    lua_close(L);
}

Test(lrandom, string_has_the_length_and_alphabet_asked)
{
    lua_State *L = new_state(3);
    expect_ok(L, "local s = random.string(64)\n"
                 "assert(#s == 64 and s:match('^[A-Za-z0-9]+$'), s)\n"
                 "assert(random.string(0) == '')\n"
                 "local h = random.string(200, 'ab')\n"
                 "assert(#h == 200 and h:match('^[ab]+$') and h:find('a') and h:find('b'))\n"
                 "assert(random.string(10) ~= random.string(10))\n");
    cr_expect_not_null(run(L, "random.string(-1)"));
    cr_expect_not_null(run(L, "random.string(3, '')"));
    lua_close(L);
}

/* Two states opened with the same seed draw the same values; another seed, others. */
Test(lrandom, follows_the_seed_of_its_state)
{
    const char *code = "out = random.string(16) .. random.int(1, 1000000)";
    char first[64];
    lua_State *L = new_state(7);
    expect_ok(L, code);
    lua_getglobal(L, "out");
    snprintf(first, sizeof(first), "%s", lua_tostring(L, -1));
    lua_close(L);
    L = new_state(7);
    expect_ok(L, code);
    lua_getglobal(L, "out");
    cr_expect_str_eq(lua_tostring(L, -1), first);
    lua_close(L);
    L = new_state(8);
    expect_ok(L, code);
    lua_getglobal(L, "out");
    cr_expect_str_neq(lua_tostring(L, -1), first);
    lua_close(L);
}
