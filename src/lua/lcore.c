/* The core functions the cicada Lua library is built on. Each is a C closure whose upvalue is
 * the engine (NULL in a loading-only state); the engine is reached only through
 * engine/binding.h. */
#include "lua/lcore.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>
#include <strings.h>

#include "base/clock.h"
#include "base/duration.h"
#include "base/error.h"
#include "engine/binding.h"
#include "lua/ldataset.h"
#include "lua/lclient.h"
#include "lua/ljson.h"
#include "lua/llate.h"
#include "lua/lrandom.h"
#include "lua/lsocket.h"
#include "lua/lwebsocket.h"

ccd_engine_t *ccd_lcore_engine(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static double check_seconds(lua_State *L, const char *what)
{
    double s = luaL_checknumber(L, 1);
    if (s < 0 || s != s)
        luaL_error(L, "%s: expected seconds >= 0, got %f", what, s);
    return s;
}

/* go(fn, ...): starts a piece of the running strand that calls fn(...) in a coroutine of its
 * own, at once, until it first waits; fn must not raise (the library wraps it). */
static int l_go(lua_State *L)
{
    ccd_user_t *u = ccd_engine_blocking_user(L, ccd_lcore_engine(L), "starting a piece");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (ccd_user_go(u, L, lua_gettop(L) - 1))
        luaL_error(L, "out of memory");
    return 0;
}

/* join() -> whether the caller must yield until one of its pieces ends (false: none runs). */
static int l_join(lua_State *L)
{
    ccd_user_t *u = ccd_engine_blocking_user(L, ccd_lcore_engine(L), "waiting for pieces");
    lua_pushboolean(L, ccd_user_join(u));
    return 1;
}

static int l_sleep(lua_State *L)
{
    ccd_user_t *u = ccd_engine_blocking_user(L, ccd_lcore_engine(L), "cicada.sleep()");
    ccd_user_sleep(u, check_seconds(L, "sleep"));
    return 0;
}

/* The outcome of a wait between two tasks, as l_wait pushes it: 0 (nil) go on, 1 (true) yield,
 * 2 (false) stop. */
static int wait_outcome(ccd_user_t *u, double seconds)
{
    if (ccd_user_stopping(u))
        return 2;
    return ccd_user_wait(u, seconds) ? 1 : 0;
}

/* wait_outcome for the loop's compiled code, called through LuaJIT's FFI (see l_user_handle):
 * a lua_CFunction would end the trace there, where an FFI call is compiled into it. It touches
 * no Lua state and raises nothing. */
static int ffi_wait(void *u, double seconds)
{
    return wait_outcome(u, seconds != seconds || seconds < 0 ? 0 : seconds);
}

/* user_handle() -> the running user as a light userdata, for ffi_wait; ffi_wait's address is
 * core.ffi_wait. */
static int l_user_handle(lua_State *L)
{
    lua_pushlightuserdata(L, ccd_engine_blocking_user(L, ccd_lcore_engine(L), "a user handle"));
    return 1;
}

/* wait(seconds) -> true when the wait is armed and the user must yield, nil when it goes on
 * with its next task at once, false when it must stop (no wait armed then): the wait between
 * two tasks, with the stop check the loop needs there folded in, so that a task costs the loop
 * one C call. */
static int l_wait(lua_State *L)
{
    ccd_user_t *u = ccd_engine_blocking_user(L, ccd_lcore_engine(L), "waiting");
    int outcome = wait_outcome(u, luaL_checknumber(L, 1));
    if (outcome == 0)
        lua_pushnil(L);
    else
        lua_pushboolean(L, outcome == 1);
    return 1;
}

static int l_exception(lua_State *L)
{
    ccd_engine_t *e = ccd_lcore_engine(L);
    const char *msg = luaL_checkstring(L, 1), *tb = luaL_optstring(L, 2, "");
    if (e)
        ccd_engine_exception(e, msg, tb);
    else
        fprintf(stderr, "%s\n", tb[0] ? tb : msg);
    return 0;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, (double)ccd_clock_us() / 1e6);
    return 1;
}

static int l_stopping(lua_State *L)
{
    ccd_user_t *u = ccd_engine_current(ccd_lcore_engine(L));
    lua_pushboolean(L, u && ccd_user_stopping(u));
    return 1;
}

static int l_set_self(lua_State *L)
{
    ccd_user_t *u = ccd_engine_current(ccd_lcore_engine(L));
    if (!u)
        return luaL_error(L, "a user is only possible inside a user (a task, on_start or on_stop)");
    luaL_checktype(L, 1, LUA_TTABLE);
    ccd_user_set_self(u, L, 1);
    return 0;
}

/* record(type, name, response_time_ms, length, error_or_nil [, generator]): a measured request
 * of any protocol, into the running engine's statistics; with generator, a generator error
 * (a request that could not be sent for a local reason) instead. */
static int l_record(lua_State *L)
{
    ccd_engine_t *e = ccd_lcore_engine(L);
    size_t tl, nl, el = 0;
    const char *type = luaL_checklstring(L, 1, &tl), *name = luaL_checklstring(L, 2, &nl);
    double ms = luaL_checknumber(L, 3), len = luaL_optnumber(L, 4, 0);
    const char *err = luaL_optlstring(L, 5, NULL, &el);
    bool generator = lua_toboolean(L, 6);
    if (ms < 0 || ms != ms)
        return luaL_error(L, "record: response_time must be >= 0 ms");
    if (generator && !err)
        return luaL_error(L, "record: generator_error needs the error text (error =)");
    if (!e)
        return luaL_error(L, "record is only possible while the test runs");
    ccd_user_t *u = ccd_engine_current(e);
    int64_t us = (int64_t)(ms * 1000.0 + 0.5);
    uint64_t bytes = len > 0 ? (uint64_t)len : 0;
    if (generator)
        ccd_engine_record_generator_error(e, type, tl, name, nl, err, el);
    else if (u)
        ccd_user_record(u, type, tl, name, nl, us, bytes, err, el);
    else
        ccd_engine_record(e, type, tl, name, nl, us, bytes, err, el);
    return 0;
}

/* arrival() -> true when the user must yield until an arrival starts its next iteration, nil
 * when one waits already (it starts now), false when the user must stop: the open model's
 * step between two iterations. */
static int l_arrival(lua_State *L)
{
    ccd_user_t *u = ccd_engine_blocking_user(L, ccd_lcore_engine(L), "waiting for an arrival");
    int outcome = ccd_user_arrival(u);
    if (outcome == 0)
        lua_pushnil(L);
    else
        lua_pushboolean(L, outcome == 1);
    return 1;
}

/* set_lag(seconds): how late the task now starting is on a paced schedule. */
static int l_set_lag(lua_State *L)
{
    ccd_user_t *u = ccd_engine_current(ccd_lcore_engine(L));
    if (u)
        ccd_user_set_lag(u, luaL_checknumber(L, 1));
    return 0;
}

/* stop_test(reason): asks the runner to stop the whole test. */
static int l_stop_test(lua_State *L)
{
    ccd_engine_t *e = ccd_lcore_engine(L);
    const char *reason = luaL_optstring(L, 1, "stopped by the scenario");
    if (!e)
        return luaL_error(L, "stop_test is only possible while the test runs");
    ccd_engine_stop_test(e, reason);
    return 0;
}

/* The deepest nesting of arrays and objects in JSON text (valid, as the library encodes it). */
static int json_depth(const char *s)
{
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (; *s; s++) {
        if (in_string) {
            if (*s == '\\' && s[1])
                s++;
            else if (*s == '"')
                in_string = false;
        } else if (*s == '"')
            in_string = true;
        else if (*s == '[' || *s == '{')
            deepest = ++depth > deepest ? depth : deepest;
        else if (*s == ']' || *s == '}')
            depth--;
    }
    return deepest;
}

/* send_message(type, json, to_or_nil): a custom message, through the engine (a user's state)
 * or the sender (the runner's state, second upvalue). */
static int l_send_message(lua_State *L)
{
    ccd_engine_t *e = ccd_lcore_engine(L);
    const ccd_lcore_sender_t *sender = lua_touserdata(L, lua_upvalueindex(2));
    const char *type = luaL_checkstring(L, 1), *json = luaL_checkstring(L, 2);
    const char *to = luaL_optstring(L, 3, NULL);
    int rc;
    if (json_depth(json) > CCD_CUSTOM_MAX_DEPTH)
        return luaL_error(L, "send_message('%s'): data nests deeper than %d levels of tables", type,
                          CCD_CUSTOM_MAX_DEPTH);
    if (e)
        rc = ccd_engine_send_message(e, type, json, to);
    else if (sender && sender->fn)
        rc = sender->fn(sender->ud, type, json, to);
    else
        return luaL_error(L, "send_message is not possible while the scenario loads: send from "
                             "an event listener, a task or a message handler");
    if (rc)
        return luaL_error(L, "send_message('%s'): %s", type, ccd_strerror(rc));
    return 0;
}

/* duration("1m30s") -> seconds, or an error naming the text. */
static int l_duration(lua_State *L)
{
    const char *s = luaL_checkstring(L, 1);
    double v;
    if (ccd_duration_parse(s, &v))
        return luaL_error(L, "invalid duration '%s' (expected e.g. 90, 90s, 5m, 1h30m)", s);
    lua_pushnumber(L, v);
    return 1;
}

/* host() -> the running user's effective host (-H, else its class's host), or nil. */
static int l_host(lua_State *L)
{
    ccd_user_t *u = ccd_engine_current(ccd_lcore_engine(L));
    const char *h = u ? ccd_user_host(u) : NULL;
    if (h)
        lua_pushstring(L, h);
    else
        lua_pushnil(L);
    return 1;
}

void ccd_lcore_open(lua_State *L, ccd_engine_t *eng, void *ud)
{
    const ccd_lcore_config_t *cfg = ud;
    static const luaL_Reg fns[] = {
        {"sleep", l_sleep},
        {"go", l_go},
        {"join", l_join},
        {"wait", l_wait},
        {"arrival", l_arrival},
        {"set_lag", l_set_lag},
        {"exception", l_exception},
        {"now", l_now},
        {"stopping", l_stopping},
        {"set_self", l_set_self},
        {"user_handle", l_user_handle},
        {"host", l_host},
        {"record", l_record},
        {"stop_test", l_stop_test},
        {"duration", l_duration},
        {"json_encode", ccd_ljson_lencode},
        {NULL, NULL},
    };
    lua_newtable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushlightuserdata(L, eng);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
    ccd_ljson_push_ldecode(L);
    lua_setfield(L, -2, "json_decode");
    lua_pushlightuserdata(L, eng);
    lua_pushlightuserdata(L, cfg ? (void *)cfg->sender : NULL);
    lua_pushcclosure(L, l_send_message, 2);
    lua_setfield(L, -2, "send_message");
    ccd_lclient_register(L, eng);
    lua_pushstring(L, cfg && cfg->tags ? cfg->tags : "");
    lua_setfield(L, -2, "tags");
    lua_pushstring(L, cfg && cfg->exclude_tags ? cfg->exclude_tags : "");
    lua_setfield(L, -2, "exclude_tags");
    lua_pushboolean(L, cfg && cfg->equal_weights);
    lua_setfield(L, -2, "equal_weights");
    lua_pushstring(L, cfg && cfg->config_users ? cfg->config_users : "");
    lua_setfield(L, -2, "config_users");
    lua_pushnumber(L, cfg ? cfg->arrival_rate : 0);
    lua_setfield(L, -2, "arrival_rate");
    lua_pushnumber(L, cfg ? cfg->arrival_backlog : -1);
    lua_setfield(L, -2, "arrival_backlog");
    ccd_lsocket_register(L, eng);
    ccd_lwebsocket_register(L, eng);
    ccd_llate_register(L);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_pushlightuserdata(L, (void *)(uintptr_t)ffi_wait);
    lua_setfield(L, -2, "ffi_wait");
    lua_pushstring(L, CICADA_VERSION);
    lua_setfield(L, -2, "version");
    ccd_ldataset_register(L);
    ccd_lrandom_register(L);
}
