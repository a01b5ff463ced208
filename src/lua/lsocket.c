/* The Lua binding of TCP (and TLS) sockets: `cicada.tcp()` objects whose methods block only the
 * calling user (its coroutine yields) while the engine's loop does the I/O. */
#include "lua/lsocket.h"

#include <lauxlib.h>
#include <string.h>

#include "engine/binding.h"
#include "net/tcp.h"

#define SOCKET_MT "cicada.tcp"

enum { OP_CONNECT, OP_SEND, OP_RECEIVE };

/* A socket as Lua sees it (a full userdata, freed by the collector). While an operation
 * waits, the registry holds the object and its string argument (the bytes being sent or the
 * delimiter), since a yielded C function's arguments are no longer on the coroutine's stack,
 * and the waiting user's cancel hook points here. */
typedef struct {
    ccd_tcp_t tcp;
    ccd_user_t *waiter;
    int self_ref, arg_ref;
    int op;
} lsock_t;

static ccd_engine_t *engine_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* The running user, or a Lua error naming what was attempted outside of one. */
static ccd_user_t *current_user(lua_State *L, const char *what)
{
    return ccd_engine_blocking_user(L, engine_of(L), what);
}

static lsock_t *check_socket(lua_State *L)
{
    return luaL_checkudata(L, 1, SOCKET_MT);
}

/* Pushes an operation's outcome as its Lua results: the value, or nil and the error (and, for
 * a receive, the bytes that had arrived; for a connect that failed for a local reason,
 * "generator"). Returns their number. */
static int push_result(lua_State *L, int op, const ccd_tcp_result_t *r)
{
    if (r->err) {
        lua_pushnil(L);
        lua_pushstring(L, r->msg);
        if (op == OP_CONNECT && r->local) {
            lua_pushliteral(L, "generator");
            return 3;
        }
        if (op != OP_RECEIVE)
            return 2;
        lua_pushlstring(L, r->data, r->len);
        return 3;
    }
    if (op == OP_CONNECT)
        lua_pushboolean(L, 1);
    else if (op == OP_SEND)
        lua_pushinteger(L, (lua_Integer)r->len);
    else
        lua_pushlstring(L, r->data, r->len);
    return 1;
}

/* The references are dropped through the waiting user's coroutine: it shares the registry
 * of the state the socket was made in. */
static void release_wait(lsock_t *s, lua_State *L)
{
    luaL_unref(L, LUA_REGISTRYINDEX, s->self_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, s->arg_ref);
    s->self_ref = s->arg_ref = LUA_NOREF;
    s->waiter = NULL;
}

/* The waiting user was stopped: the socket closes and nobody is resumed. */
static void on_cancel(void *ud)
{
    lsock_t *s = ud;
    ccd_tcp_close(&s->tcp);
    release_wait(s, ccd_user_thread(s->waiter));
}

/* The results go onto the user's stack before the references are dropped: the collector may
 * run while they are pushed, and the result's bytes live in the socket's buffer. */
static void on_done(void *ud, const ccd_tcp_result_t *r)
{
    lsock_t *s = ud;
    ccd_user_t *u = s->waiter;
    int n = push_result(ccd_user_thread(u), s->op, r);
    release_wait(s, ccd_user_thread(u));
    ccd_user_wake(u, n);
}

/* Suspends the running user until on_done resumes it; arg (0: none) is the string argument
 * the pending operation points to. */
static int wait_for(lua_State *L, lsock_t *s, ccd_user_t *u, int op, int arg)
{
    s->op = op;
    lua_pushvalue(L, 1);
    s->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (arg) {
        lua_pushvalue(L, arg);
        s->arg_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    s->waiter = u;
    ccd_user_block(u, on_cancel, s, false);
    return lua_yield(L, 0);
}

/* The results of an operation started by a method: now, or once the user has waited. */
static int finish(lua_State *L, lsock_t *s, ccd_user_t *u, int op, int arg, int rc,
                  const ccd_tcp_result_t *now)
{
    if (rc == CCD_TCP_PENDING)
        return wait_for(L, s, u, op, arg);
    return push_result(L, op, now);
}

static double opt_timeout(lua_State *L, int idx, const char *what)
{
    if (lua_isnoneornil(L, idx))
        return 0;
    if (!lua_isnumber(L, idx))
        luaL_error(L, "%s: the timeout must be a number of seconds", what);
    double s = lua_tonumber(L, idx);
    if (s < 0 || s != s)
        luaL_error(L, "%s: the timeout must be >= 0 seconds", what);
    return s;
}

/* Reads connect's options table at idx (nil: defaults). Strings stay owned by the table. */
static void connect_opts(lua_State *L, int idx, ccd_tcp_connect_opts_t *o)
{
    if (lua_isnoneornil(L, idx))
        return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "timeout");
    o->timeout = opt_timeout(L, -1, "sock:connect()");
    lua_getfield(L, idx, "tls");
    o->tls = lua_toboolean(L, -1);
    lua_getfield(L, idx, "insecure");
    o->insecure = lua_toboolean(L, -1);
    lua_getfield(L, idx, "server_name");
    if (!lua_isnil(L, -1) && !lua_isstring(L, -1))
        luaL_error(L, "sock:connect(): server_name must be a string");
    o->server_name = lua_tostring(L, -1);
    lua_pop(L, 4);
}

/* sock:connect(host, port [, opts]) -> true | nil, err [, "generator"] */
static int l_connect(lua_State *L)
{
    lsock_t *s = check_socket(L);
    ccd_user_t *u = current_user(L, "sock:connect()");
    const char *host = luaL_checkstring(L, 2);
    lua_Integer port = luaL_checkinteger(L, 3);
    luaL_argcheck(L, port > 0 && port < 65536, 3, "port out of range");
    ccd_tcp_connect_opts_t o = {0};
    connect_opts(L, 4, &o);
    ccd_tcp_result_t now;
    int rc = ccd_tcp_connect(&s->tcp, host, (uint16_t)port, &o, on_done, s, &now);
    return finish(L, s, u, OP_CONNECT, 0, rc, &now);
}

/* sock:send(data) -> bytes sent | nil, err */
static int l_send(lua_State *L)
{
    lsock_t *s = check_socket(L);
    ccd_user_t *u = current_user(L, "sock:send()");
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    ccd_tcp_result_t now;
    int rc = ccd_tcp_send(&s->tcp, data, len, on_done, s, &now);
    return finish(L, s, u, OP_SEND, 2, rc, &now);
}

/* Turns receive's pattern (none, "*l", "*a" or a byte count) into what to wait for. */
static void receive_pattern(lua_State *L, ccd_tcp_want_t *w)
{
    if (lua_isnoneornil(L, 2)) {
        w->mode = CCD_TCP_LINE;
    } else if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, 2);
        luaL_argcheck(L, n >= 0 && n <= 9007199254740992.0 && n == (lua_Number)(size_t)n, 2,
                      "expected a byte count >= 0");
        w->mode = CCD_TCP_SIZE;
        w->size = (size_t)n;
    } else {
        const char *p = luaL_checkstring(L, 2);
        if (strcmp(p, "*l") == 0)
            w->mode = CCD_TCP_LINE;
        else if (strcmp(p, "*a") == 0)
            w->mode = CCD_TCP_ALL;
        else
            luaL_argerror(L, 2, "expected \"*l\", \"*a\" or a byte count");
    }
}

/* sock:receive([pattern]) -> data | nil, err, partial */
static int l_receive(lua_State *L)
{
    lsock_t *s = check_socket(L);
    ccd_user_t *u = current_user(L, "sock:receive()");
    ccd_tcp_want_t w = {0};
    receive_pattern(L, &w);
    ccd_tcp_result_t now;
    int rc = ccd_tcp_receive(&s->tcp, &w, on_done, s, &now);
    return finish(L, s, u, OP_RECEIVE, 0, rc, &now);
}

/* sock:receiveuntil(delimiter) -> data | nil, err, partial */
static int l_receiveuntil(lua_State *L)
{
    lsock_t *s = check_socket(L);
    ccd_user_t *u = current_user(L, "sock:receiveuntil()");
    ccd_tcp_want_t w = {.mode = CCD_TCP_UNTIL};
    w.delim = luaL_checklstring(L, 2, &w.delim_len);
    luaL_argcheck(L, w.delim_len > 0, 2, "the delimiter must not be empty");
    ccd_tcp_result_t now;
    int rc = ccd_tcp_receive(&s->tcp, &w, on_done, s, &now);
    return finish(L, s, u, OP_RECEIVE, 2, rc, &now);
}

/* sock:settimeout(seconds) -- nil or 0: no limit */
static int l_settimeout(lua_State *L)
{
    lsock_t *s = check_socket(L);
    current_user(L, "sock:settimeout()");
    ccd_tcp_set_timeout(&s->tcp, opt_timeout(L, 2, "sock:settimeout()"));
    return 0;
}

/* sock:close() -> true | nil, "closed" when it was not open */
static int l_close(lua_State *L)
{
    lsock_t *s = check_socket(L);
    current_user(L, "sock:close()");
    if (ccd_tcp_busy(&s->tcp)) {
        lua_pushnil(L);
        lua_pushliteral(L, "socket busy");
        return 2;
    }
    bool was_open = ccd_tcp_is_open(&s->tcp);
    ccd_tcp_close(&s->tcp);
    if (was_open) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushliteral(L, "closed");
    return 2;
}

/* A collected socket closes. One with a pending operation is never collected (the registry
 * holds it) unless the state itself closes, after every user was released (which canceled
 * the operation and let go of the waiter). */
static int l_gc(lua_State *L)
{
    lsock_t *s = check_socket(L);
    s->waiter = NULL;
    ccd_tcp_free(&s->tcp);
    return 0;
}

static int l_tostring(lua_State *L)
{
    lsock_t *s = check_socket(L);
    lua_pushfstring(L, "cicada.tcp (%s): %p", ccd_tcp_is_open(&s->tcp) ? "open" : "closed",
                    (void *)s);
    return 1;
}

/* cicada.tcp() -> a closed socket */
static int l_tcp(lua_State *L)
{
    ccd_engine_t *e = engine_of(L);
    current_user(L, "cicada.tcp()");
    lsock_t *s = lua_newuserdata(L, sizeof(*s));
    ccd_http_ctx_t *http = ccd_engine_http(e);
    ccd_tcp_init(&s->tcp, ccd_engine_loop(e), ccd_http_ctx_dns(http), ccd_http_ctx_tls(http));
    s->waiter = NULL;
    s->self_ref = s->arg_ref = LUA_NOREF;
    s->op = OP_CONNECT;
    luaL_getmetatable(L, SOCKET_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static void set_closure(lua_State *L, ccd_engine_t *eng, lua_CFunction fn, const char *name)
{
    lua_pushlightuserdata(L, eng);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
}

/* The metatable: methods through __index, hidden from getmetatable(). */
static void push_metatable(lua_State *L, ccd_engine_t *eng)
{
    static const luaL_Reg methods[] = {
        {"connect", l_connect},
        {"send", l_send},
        {"receive", l_receive},
        {"receiveuntil", l_receiveuntil},
        {"settimeout", l_settimeout},
        {"close", l_close},
        {NULL, NULL},
    };
    luaL_newmetatable(L, SOCKET_MT);
    lua_newtable(L);
    for (const luaL_Reg *m = methods; m->name; m++)
        set_closure(L, eng, m->func, m->name);
    lua_setfield(L, -2, "__index");
    set_closure(L, eng, l_gc, "__gc");
    set_closure(L, eng, l_tostring, "__tostring");
    lua_pushliteral(L, SOCKET_MT);
    lua_setfield(L, -2, "__metatable");
}

void ccd_lsocket_register(lua_State *L, ccd_engine_t *eng)
{
    push_metatable(L, eng);
    lua_pop(L, 1);
    set_closure(L, eng, l_tcp, "tcp");
}
