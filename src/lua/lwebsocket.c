/* The Lua binding of WebSocket connections: `cicada.websocket(url, opts)` objects whose methods
 * block only the calling user while the engine's loop does the I/O, and the statistics: the
 * handshake as a "WS" request, each message sent as "WSS" and received as "WSR", and round
 * trips as "WS" requests of their own name. */
#include "lua/lwebsocket.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "engine/binding.h"
#include "http/cookie.h"
#include "http/websocket.h"
#include "lua/lclient.h"
#include "lua/llate.h"

#define WS_MT       "cicada.websocket"
#define MAX_HEADERS 64
#define NAME_MAX_   512

enum { OP_CONNECT, OP_SEND, OP_RECEIVE, OP_PING, OP_CLOSE, OP_RT_SEND, OP_RT_RECEIVE };

/* A statistics row the current operation recorded, kept for the request event (read by
 * cicada.lua through websocket_rows() once the operation is over). The strings are static, the
 * connection's, or a round trip's name, which the caller of the method holds meanwhile. */
typedef struct {
    const char *type, *name, *err;
    size_t name_len;
    int64_t us;
    uint64_t bytes;
} row_t;

#define MAX_ROWS 3 /* a round trip: its message sent, its reply received, the round trip */

/* A connection as Lua sees it (a full userdata, freed by the collector). While an operation
 * waits, the registry holds the object (and a round trip's name), and the waiting user's
 * cancel hook points here. */
typedef struct {
    ccd_ws_t ws;
    ccd_user_t *waiter;
    int self_ref, name_ref;
    int op;
    int64_t t0;          /* when the operation (or round trip) started, µs */
    double rt_timeout;   /* a round trip's wait for its reply */
    const char *rt_name; /* a round trip's name, held by name_ref */
    size_t rt_len, name_len;
    size_t bytes;     /* of the message being sent */
    bool rt_sent;     /* a round trip's message went out */
    bool tls;         /* wss: Secure cookies go with the upgrade */
    bool with_object; /* a failed connect returns the object too (see l_websocket) */
    size_t nrows;
    row_t rows[MAX_ROWS];
    char name[NAME_MAX_]; /* the connection's statistics name */
    char protocol[CCD_WS_MAX_CONTROL + 1];
    char host[256], path[NAME_MAX_]; /* of the URL, for the cookie jar */
} lws_t;

static ccd_engine_t *engine_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static ccd_user_t *current_user(lua_State *L, const char *what)
{
    return ccd_engine_blocking_user(L, engine_of(L), what);
}

static lws_t *check_ws(lua_State *L)
{
    return luaL_checkudata(L, 1, WS_MT);
}

static void record_named(lws_t *s, ccd_user_t *u, const char *type, const char *name,
                         size_t name_len, int64_t us, uint64_t bytes, const char *err)
{
    ccd_user_record(u, type, strlen(type), name, name_len, us, bytes, err, err ? strlen(err) : 0);
    if (s->nrows < MAX_ROWS)
        s->rows[s->nrows++] = (row_t){type, name, err, name_len, us, bytes};
}

static void record(lws_t *s, ccd_user_t *u, const char *type, int64_t us, uint64_t bytes,
                   const char *err)
{
    record_named(s, u, type, s->name, s->name_len, us, bytes, err);
}

/* An operation begins: its clock, and no row recorded yet. */
static void start_op(lws_t *s, int op)
{
    s->op = op;
    s->nrows = 0;
    s->t0 = ccd_clock_us();
}

/* Timeouts and the server's clean close are outcomes a scenario handles, not failures. */
static bool is_failure(const ccd_ws_result_t *r)
{
    return r->err && r->err != CCD_ETIMEDOUT && !(r->err == CCD_ECLOSED && r->close_code);
}

/* ---- results ---- */

static int push_error(lua_State *L, const ccd_ws_result_t *r)
{
    lua_pushnil(L);
    if (r->err == CCD_ECLOSED && r->close_code) {
        lua_pushliteral(L, "closed");
        lua_pushinteger(L, r->close_code);
        lua_pushlstring(L, r->close_reason.base, r->close_reason.len);
        return 4;
    }
    lua_pushstring(L, r->msg);
    return 2;
}

static int push_message(lua_State *L, const ccd_ws_result_t *r)
{
    lua_pushlstring(L, r->data.base, r->data.len);
    if (r->type == CCD_WS_BINARY)
        lua_pushliteral(L, "binary");
    else
        lua_pushliteral(L, "text");
    return 2;
}

/* Every way a round trip ends without its reply fails it, a timeout included. */
static void record_round_trip(lws_t *s, ccd_user_t *u, const ccd_ws_result_t *r, int64_t us)
{
    const char *err = !r->err                   ? NULL
                      : r->err == CCD_ETIMEDOUT ? "no reply before the timeout"
                                                : r->msg;
    record_named(s, u, "WS", s->rt_name, s->rt_len, us, r->err ? 0 : r->data.len, err);
}

/* A message received (a round trip's reply too), or why none was. */
static int settle_receive(lua_State *L, lws_t *s, ccd_user_t *u, const ccd_ws_result_t *r)
{
    if (!r->err) {
        record(s, u, "WSR", 0, r->data.len, NULL);
        return push_message(L, r);
    }
    if (is_failure(r))
        record(s, u, s->op == OP_RT_RECEIVE && !s->rt_sent ? "WSS" : "WSR", 0, 0, r->msg);
    return push_error(L, r);
}

/* Like a browser, the upgrade's answer (a 101, or a refusal) sets cookies in the user's jar,
 * the one its HTTP requests use. */
static void store_cookies(lua_State *L, lws_t *s, ccd_user_t *u, const ccd_ws_result_t *r)
{
    struct ccd_cookie_jar *jar = NULL;
    double now = 0;
    for (size_t i = 0, n = r->status ? ccd_ws_answer_fields(&s->ws) : 0; i < n; i++) {
        ccd_header_t h = ccd_ws_answer_field(&s->ws, i);
        if (!ccd_slice_ieq_str(h.name, "Set-Cookie"))
            continue;
        if (!jar && !(jar = ccd_lclient_jar(L, u, true)))
            return;
        now = now ? now : ccd_clock_wall();
        ccd_cookie_jar_store(jar, h.value.base, h.value.len, s->host, strlen(s->host), s->path,
                             strlen(s->path), now);
    }
}

/* Records an operation's outcome and pushes its Lua results onto L; returns their number.
 * The connection (argument 1 of the method, or the registry while waiting) is pushed by the
 * caller for a connect. */
static int settle(lua_State *L, lws_t *s, ccd_user_t *u, const ccd_ws_result_t *r)
{
    int64_t us = ccd_clock_us() - s->t0;
    const char *err = r->err ? r->msg : NULL;
    switch (s->op) {
    case OP_CONNECT:
        store_cookies(L, s, u, r);
        if (r->local)
            ccd_engine_record_generator_error(ccd_user_engine(u), "WS", 2, s->name, s->name_len,
                                              err, strlen(err));
        else
            record(s, u, "WS", us, 0, err);
        if (r->err) {
            lua_pushnil(L);
            lua_pushstring(L, r->msg);
            lua_pushinteger(L, r->status);
            return 3;
        }
        snprintf(s->protocol, sizeof(s->protocol), "%.*s", (int)r->data.len, r->data.base);
        return -1; /* the caller pushes the connection */
    case OP_SEND:
        record(s, u, "WSS", 0, r->err ? 0 : s->bytes, err);
        if (r->err)
            return push_error(L, r);
        lua_pushboolean(L, 1);
        return 1;
    case OP_RT_RECEIVE: record_round_trip(s, u, r, us); return settle_receive(L, s, u, r);
    case OP_RECEIVE: return settle_receive(L, s, u, r);
    case OP_PING:
        if (is_failure(r))
            record(s, u, "WSR", 0, 0, err);
        if (r->err)
            return push_error(L, r);
        lua_pushnumber(L, (double)us / 1e6);
        return 1;
    default: /* OP_CLOSE */
        if (r->err)
            return push_error(L, r);
        lua_pushinteger(L, r->close_code);
        lua_pushlstring(L, r->close_reason.base, r->close_reason.len);
        return 2;
    }
}

/* ---- waiting ---- */

static void release_wait(lws_t *s, lua_State *L)
{
    luaL_unref(L, LUA_REGISTRYINDEX, s->self_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, s->name_ref);
    s->self_ref = s->name_ref = LUA_NOREF;
    s->waiter = NULL;
}

/* The waiting user was stopped: the connection closes and nobody is resumed; a handshake or
 * round trip in flight is reported as abandoned. */
static void on_cancel(void *ud)
{
    lws_t *s = ud;
    ccd_user_t *u = s->waiter;
    ccd_ws_abort(&s->ws);
    if (s->op == OP_CONNECT)
        ccd_engine_record_abandoned(ccd_user_engine(u), "WS", 2, s->name, s->name_len);
    else if (s->op == OP_RT_SEND || s->op == OP_RT_RECEIVE)
        ccd_engine_record_abandoned(ccd_user_engine(u), "WS", 2, s->rt_name, s->rt_len);
    release_wait(s, ccd_user_thread(u));
}

static void on_done(void *ud, const ccd_ws_result_t *r);

/* A round trip's message went out: now its reply. Returns true when that ended at once
 * (its outcome in *now). */
static bool start_reply(lws_t *s, ccd_ws_result_t *now)
{
    s->op = OP_RT_RECEIVE;
    return ccd_ws_receive(&s->ws, s->rt_timeout, on_done, s, now) == 0;
}

/* The results go onto the user's stack before the references are dropped: the collector may
 * run while they are pushed, and the message's bytes live in the connection's buffers. */
static void on_done(void *ud, const ccd_ws_result_t *r)
{
    lws_t *s = ud;
    ccd_user_t *u = s->waiter;
    ccd_ws_result_t now;
    if (s->op == OP_RT_SEND && !r->err) {
        record(s, u, "WSS", 0, s->bytes, NULL);
        s->rt_sent = true;
        if (!start_reply(s, &now))
            return;
        r = &now;
    } else if (s->op == OP_RT_SEND) {
        s->op = OP_RT_RECEIVE; /* the round trip fails as a whole */
    }
    lua_State *co = ccd_user_thread(u);
    int n = settle(co, s, u, r);
    if (n < 0 || (s->op == OP_CONNECT && s->with_object)) {
        lua_rawgeti(co, LUA_REGISTRYINDEX, s->self_ref);
        n = n < 0 ? 1 : n + 1;
    }
    if (s->nrows && ccd_user_halted(u)) { /* its rows' request event fires without the user */
        lua_pop(co, n);
        n = 0;
        lua_pushliteral(co, "websocket");
        lua_rawgeti(co, LUA_REGISTRYINDEX, s->self_ref);
        ccd_llate_fire(u, 2);
    }
    release_wait(s, co);
    ccd_user_wake(u, n);
}

static int wait_for(lua_State *L, lws_t *s, ccd_user_t *u, int name_idx)
{
    lua_pushvalue(L, 1);
    s->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (name_idx) {
        lua_pushvalue(L, name_idx);
        s->name_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    s->waiter = u;
    /* A stop lets everything but a plain receive finish within its grace: a receive may wait
     * for a message the server never sends. */
    ccd_user_block(u, on_cancel, s, s->op != OP_RECEIVE);
    return lua_yield(L, 0);
}

/* The results of an operation started by a method: now, or once the user has waited. */
static int finish(lua_State *L, lws_t *s, ccd_user_t *u, int rc, const ccd_ws_result_t *now,
                  int name_idx)
{
    if (rc == CCD_WS_PENDING)
        return wait_for(L, s, u, name_idx);
    int n = settle(L, s, u, now);
    if (n < 0 || (s->op == OP_CONNECT && s->with_object)) {
        lua_pushvalue(L, 1);
        n = n < 0 ? 1 : n + 1;
    }
    return n;
}

static double opt_timeout(lua_State *L, int idx, const char *what, double dflt)
{
    if (lua_isnoneornil(L, idx))
        return dflt;
    if (!lua_isnumber(L, idx) || lua_tonumber(L, idx) < 0 ||
        lua_tonumber(L, idx) != lua_tonumber(L, idx))
        luaL_error(L, "%s: the timeout must be a number of seconds >= 0", what);
    return lua_tonumber(L, idx);
}

/* ---- connecting ---- */

/* The request headers of opts.headers ({name = value}), pointing into the table's strings. */
static size_t read_headers(lua_State *L, int opts, ccd_header_t *h)
{
    lua_getfield(L, opts, "headers");
    if (lua_isnil(L, -1))
        return 0;
    luaL_argcheck(L, lua_istable(L, -1), 2, "headers must be a table of name = value");
    size_t n = 0;
    for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1) || n == MAX_HEADERS)
            luaL_error(L, "cicada.websocket(): headers must be at most %d name = value strings",
                       MAX_HEADERS);
        h[n].name.base = lua_tolstring(L, -2, &h[n].name.len);
        lua_pushvalue(L, -1); /* a number value becomes a string on a copy, not in the table */
        lua_replace(L, -2);
        h[n].value.base = lua_tolstring(L, -1, &h[n].value.len);
        n++;
    }
    return n; /* the table stays on the stack, holding the strings */
}

/* opts.protocols: a string or a list of strings, joined as "a, b" into a Lua string on the
 * stack. Returns it, or NULL when none. */
static const char *read_protocols(lua_State *L, int opts)
{
    lua_getfield(L, opts, "protocols");
    if (lua_isnil(L, -1) || lua_type(L, -1) == LUA_TSTRING)
        return lua_tostring(L, -1);
    luaL_argcheck(L, lua_istable(L, -1), 2, "protocols must be a string or a list of strings");
    int t = lua_gettop(L);
    size_t n = lua_objlen(L, t);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, t, (int)i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "cicada.websocket(): protocols must be strings");
        lua_pop(L, 1);
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addlstring(&b, ", ", 2);
        lua_rawgeti(L, t, (int)i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

static void set_name(lws_t *s, const char *name, size_t len)
{
    s->name_len = len < sizeof(s->name) ? len : sizeof(s->name) - 1;
    memcpy(s->name, name, s->name_len);
    s->name[s->name_len] = '\0';
}

static lws_t *new_ws(lua_State *L, ccd_engine_t *e)
{
    lws_t *s = lua_newuserdata(L, sizeof(*s));
    ccd_http_ctx_t *http = ccd_engine_http(e);
    ccd_ws_init(&s->ws, ccd_engine_loop(e), ccd_http_ctx_dns(http), ccd_http_ctx_tls(http));
    s->waiter = NULL;
    s->self_ref = s->name_ref = LUA_NOREF;
    s->op = OP_CONNECT;
    s->nrows = 0;
    s->with_object = false;
    s->protocol[0] = s->host[0] = s->path[0] = '\0';
    luaL_getmetatable(L, WS_MT);
    lua_setmetatable(L, -2);
    return s;
}

static bool has_header(const ccd_header_t *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (ccd_slice_ieq_str(h[i].name, name))
            return true;
    return false;
}

/* Keeps the URL's host and path for the cookies of the answer, and adds the user's cookies for
 * them to the upgrade request (unless opts.headers has a Cookie of its own), its value a Lua
 * string left on the stack. A URL that does not parse is left to ccd_ws_connect() to report. */
static size_t add_cookies(lua_State *L, lws_t *s, ccd_user_t *u, const char *url, size_t len,
                          ccd_header_t *h, size_t n)
{
    ccd_url_t p;
    if (ccd_ws_url_parse(url, len, &p, &s->tls))
        return n;
    snprintf(s->host, sizeof(s->host), "%.*s", (int)p.host.len, p.host.base);
    snprintf(s->path, sizeof(s->path), "%.*s", (int)p.path.len, p.path.base);
    struct ccd_cookie_jar *jar = ccd_lclient_jar(L, u, false);
    if (!jar || n == MAX_HEADERS || has_header(h, n, "Cookie"))
        return n;
    ccd_buf_t b = {0};
    int rc = ccd_cookie_jar_header(jar, s->tls, s->host, strlen(s->host), s->path, strlen(s->path),
                                   ccd_clock_wall(), &b);
    if (rc > 0) {
        lua_pushlstring(L, b.base, b.len);
        h[n].name = (ccd_slice_t){"Cookie", 6};
        h[n].value.base = lua_tolstring(L, -1, &h[n].value.len);
        n++;
    }
    ccd_buf_free(&b);
    return n;
}

/* cicada.websocket(url [, opts [, with_object]]) -> ws | nil, err, status [, object]:
 * opts.headers, .protocols, .name, .timeout, .insecure, .max_message; with_object (for
 * cicada.lua) adds the failed connection to a failure's results, for its rows. The new object
 * is argument 1 of the wait. */
static int l_websocket(lua_State *L)
{
    ccd_engine_t *e = engine_of(L);
    ccd_user_t *u = current_user(L, "cicada.websocket()");
    size_t len;
    const char *url = luaL_checklstring(L, 1, &len);
    int opts = lua_gettop(L) >= 2 && !lua_isnil(L, 2) ? 2 : 0;
    if (opts)
        luaL_checktype(L, 2, LUA_TTABLE);
    ccd_header_t h[MAX_HEADERS];
    ccd_ws_connect_opts_t o = {.timeout = ccd_user_timeout(u),
                               .insecure = ccd_user_insecure(u),
                               .user_agent = "cicada/" CICADA_VERSION};
    size_t name_len = len;
    const char *name = url;
    if (opts) {
        o.nheaders = read_headers(L, opts, h);
        o.headers = h;
        o.protocols = read_protocols(L, opts);
        lua_getfield(L, opts, "timeout");
        o.timeout = opt_timeout(L, -1, "cicada.websocket()", o.timeout);
        lua_getfield(L, opts, "insecure");
        o.insecure = lua_isnil(L, -1) ? o.insecure : lua_toboolean(L, -1);
        lua_getfield(L, opts, "max_message");
        o.max_message = lua_isnil(L, -1) ? 0 : (uint64_t)luaL_checknumber(L, -1);
        lua_getfield(L, opts, "name");
        if (!lua_isnil(L, -1))
            name = luaL_checklstring(L, -1, &name_len);
    }
    bool with_object = lua_toboolean(L, 3);
    lws_t *s = new_ws(L, e);
    lua_insert(L, 1); /* the object becomes argument 1; url and opts stay on the stack */
    s->with_object = with_object;
    o.nheaders = add_cookies(L, s, u, url, len, h, o.nheaders);
    o.headers = h;
    set_name(s, name, name_len);
    start_op(s, OP_CONNECT);
    ccd_ws_result_t now;
    int rc = ccd_ws_connect(&s->ws, url, len, &o, on_done, s, &now);
    return finish(L, s, u, rc, &now, 0);
}

/* ---- methods ---- */

/* ws:send(text) and ws:send_binary(bytes) -> true | nil, err */
static int do_send(lua_State *L, int type, const char *what)
{
    lws_t *s = check_ws(L);
    ccd_user_t *u = current_user(L, what);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    start_op(s, OP_SEND);
    s->bytes = len;
    ccd_ws_result_t now;
    int rc = ccd_ws_send(&s->ws, type, data, len, ccd_user_timeout(u), on_done, s, &now);
    return finish(L, s, u, rc, &now, 0);
}

static int l_send(lua_State *L)
{
    return do_send(L, CCD_WS_TEXT, "ws:send()");
}

static int l_send_binary(lua_State *L)
{
    return do_send(L, CCD_WS_BINARY, "ws:send_binary()");
}

/* ws:receive([timeout]) -> message, "text" | "binary" | nil, err | nil, "closed", code, reason */
static int l_receive(lua_State *L)
{
    lws_t *s = check_ws(L);
    ccd_user_t *u = current_user(L, "ws:receive()");
    double t = opt_timeout(L, 2, "ws:receive()", ccd_user_timeout(u));
    start_op(s, OP_RECEIVE);
    ccd_ws_result_t now;
    int rc = ccd_ws_receive(&s->ws, t, on_done, s, &now);
    return finish(L, s, u, rc, &now, 0);
}

/* ws:request(name, text [, timeout]) -> reply, type | nil, err: sends text, waits for the next
 * message and records the round trip as a "WS" request called name. */
static int l_request(lua_State *L)
{
    lws_t *s = check_ws(L);
    ccd_user_t *u = current_user(L, "ws:request()");
    s->rt_name = luaL_checklstring(L, 2, &s->rt_len);
    size_t len;
    const char *data = luaL_checklstring(L, 3, &len);
    s->rt_timeout = opt_timeout(L, 4, "ws:request()", ccd_user_timeout(u));
    start_op(s, OP_RT_SEND);
    s->bytes = len;
    s->rt_sent = false;
    ccd_ws_result_t now;
    int rc = ccd_ws_send(&s->ws, CCD_WS_TEXT, data, len, s->rt_timeout, on_done, s, &now);
    if (rc == 0 && !now.err) {
        record(s, u, "WSS", 0, len, NULL);
        s->rt_sent = true;
        rc = start_reply(s, &now) ? 0 : CCD_WS_PENDING;
    } else if (rc == 0) {
        s->op = OP_RT_RECEIVE;
    }
    return finish(L, s, u, rc, &now, 2);
}

/* ws:ping([data [, timeout]]) -> seconds until the pong | nil, err */
static int l_ping(lua_State *L)
{
    lws_t *s = check_ws(L);
    ccd_user_t *u = current_user(L, "ws:ping()");
    size_t len = 0;
    const char *data = luaL_optlstring(L, 2, "", &len);
    double t = opt_timeout(L, 3, "ws:ping()", ccd_user_timeout(u));
    start_op(s, OP_PING);
    ccd_ws_result_t now;
    int rc = ccd_ws_ping(&s->ws, data, len, t, on_done, s, &now);
    return finish(L, s, u, rc, &now, 0);
}

/* ws:close([code [, reason [, timeout]]]) -> server's code, reason | nil, err */
static int l_close(lua_State *L)
{
    lws_t *s = check_ws(L);
    ccd_user_t *u = current_user(L, "ws:close()");
    lua_Integer code = luaL_optinteger(L, 2, CCD_WS_NORMAL);
    size_t len = 0;
    const char *reason = luaL_optlstring(L, 3, "", &len);
    double t = opt_timeout(L, 4, "ws:close()", 5.0);
    if (!ccd_ws_is_open(&s->ws) && !ccd_ws_busy(&s->ws)) {
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    start_op(s, OP_CLOSE);
    ccd_ws_result_t now;
    int rc = ccd_ws_close(&s->ws, (int)code, reason, len, t, on_done, s, &now);
    return finish(L, s, u, rc, &now, 0);
}

/* ws:protocol() -> the subprotocol the server chose ("" for none) */
static int l_protocol(lua_State *L)
{
    lua_pushstring(L, check_ws(L)->protocol);
    return 1;
}

/* ws:is_open() -> whether messages can be sent and received */
static int l_is_open(lua_State *L)
{
    lua_pushboolean(L, ccd_ws_is_open(&check_ws(L)->ws));
    return 1;
}

/* A collected connection closes without a close frame. One with a pending operation is never
 * collected (the registry holds it) unless the state itself closes. */
static int l_gc(lua_State *L)
{
    lws_t *s = check_ws(L);
    s->waiter = NULL;
    ccd_ws_free(&s->ws);
    return 0;
}

static int l_tostring(lua_State *L)
{
    lws_t *s = check_ws(L);
    lua_pushfstring(L, "cicada.websocket (%s): %s", ccd_ws_is_open(&s->ws) ? "open" : "closed",
                    s->name);
    return 1;
}

/* websocket_rows(ws) -> the statistics rows its last operation recorded, as
 * { type, name, response_time (ms), response_length, exception } each, for the request event.
 * Valid until the connection's next operation. */
static int l_rows(lua_State *L)
{
    lws_t *s = check_ws(L);
    lua_createtable(L, (int)s->nrows, 0);
    for (size_t i = 0; i < s->nrows; i++) {
        const row_t *r = &s->rows[i];
        lua_createtable(L, 5, 0);
        lua_pushstring(L, r->type);
        lua_rawseti(L, -2, 1);
        lua_pushlstring(L, r->name, r->name_len);
        lua_rawseti(L, -2, 2);
        lua_pushnumber(L, (double)r->us / 1000.0);
        lua_rawseti(L, -2, 3);
        lua_pushnumber(L, (double)r->bytes);
        lua_rawseti(L, -2, 4);
        if (r->err) {
            lua_pushstring(L, r->err);
            lua_rawseti(L, -2, 5);
        }
        lua_rawseti(L, -2, (int)i + 1);
    }
    s->nrows = 0;
    return 1;
}

static void set_closure(lua_State *L, ccd_engine_t *eng, lua_CFunction fn, const char *name)
{
    lua_pushlightuserdata(L, eng);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
}

static void push_metatable(lua_State *L, ccd_engine_t *eng)
{
    static const luaL_Reg methods[] = {
        {"send", l_send},
        {"send_binary", l_send_binary},
        {"receive", l_receive},
        {"request", l_request},
        {"ping", l_ping},
        {"close", l_close},
        {"protocol", l_protocol},
        {"is_open", l_is_open},
        {NULL, NULL},
    };
    luaL_newmetatable(L, WS_MT);
    lua_newtable(L);
    for (const luaL_Reg *m = methods; m->name; m++)
        set_closure(L, eng, m->func, m->name);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__index");
    lua_setfield(L, LUA_REGISTRYINDEX, WS_MT ".methods");
    set_closure(L, eng, l_gc, "__gc");
    set_closure(L, eng, l_tostring, "__tostring");
    lua_pushliteral(L, WS_MT);
    lua_setfield(L, -2, "__metatable");
}

void ccd_lwebsocket_register(lua_State *L, ccd_engine_t *eng)
{
    push_metatable(L, eng);
    lua_pop(L, 1);
    set_closure(L, eng, l_websocket, "websocket");
    set_closure(L, eng, l_rows, "websocket_rows");
    lua_getfield(L, LUA_REGISTRYINDEX, WS_MT ".methods");
    lua_setfield(L, -2, "websocket_methods"); /* cicada.lua wraps them for the request event */
}
