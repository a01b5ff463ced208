/* The core functions the cicada Lua library is built on. Each is a C closure whose upvalue is
 * the engine; the running user is the engine's `current`. */
#include "lcore.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>
#include <strings.h>

#include "clock.h"
#include "engine_int.h"
#include "ldataset.h"
#include "ljson.h"
#include "lrandom.h"

static ccd_engine_t *engine_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* The running user, or a Lua error naming what was attempted outside of one. */
static ccd_user_t *current_user(lua_State *L, const char *what)
{
    ccd_engine_t *e = engine_of(L);
    if (!e || !e->current)
        luaL_error(L, "%s is only possible inside a user (a task, on_start or on_stop)", what);
    return e->current;
}

static int has_scheme(const char *s, size_t len)
{
    return (len >= 7 && strncasecmp(s, "http://", 7) == 0) ||
           (len >= 8 && strncasecmp(s, "https://", 8) == 0);
}

/* Writes the absolute URL for url into e->url; *path_off is where its path starts. */
static void build_url(lua_State *L, ccd_engine_t *e, ccd_user_t *u, const char *url, size_t len,
                      size_t *path_off)
{
    e->url.len = 0;
    if (has_scheme(url, len)) {
        size_t start = url[4] == ':' ? 7 : 8; /* past "http://" or "https://" */
        const char *p = memchr(url + start, '/', len - start);
        *path_off = p ? (size_t)(p - url) : len;
        ccd_scratch_append(&e->url, url, len);
        return;
    }
    const char *host = e->hosts[u->class_idx];
    if (!host)
        luaL_error(L,
                   "request to '%s' has no host: give -H/--host or set host in the user "
                   "class (or request an absolute URL)",
                   url);
    size_t hlen = strlen(host);
    while (hlen > 0 && host[hlen - 1] == '/')
        hlen--;
    ccd_scratch_append(&e->url, host, hlen);
    *path_off = hlen;
    if (len == 0 || url[0] != '/')
        ccd_scratch_putc(&e->url, '/');
    ccd_scratch_append(&e->url, url, len);
}

static void put_escaped(ccd_scratch_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            ccd_scratch_putc(b, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            ccd_scratch_append(b, esc, 3);
        }
    }
}

/* Converts the value at idx (a string or number) to text, or raises an error about what. */
static const char *param_text(lua_State *L, int idx, size_t *len, const char *what)
{
    int t = lua_type(L, idx);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        luaL_error(L, "params: %s must be a string or a number, not %s", what, lua_typename(L, t));
    return lua_tolstring(L, idx, len); /* idx holds a copy: converting it is harmless */
}

/* Appends opts.params (at index t) as an encoded query. Returns whether any was added. */
static int add_params(lua_State *L, ccd_engine_t *e, int t)
{
    int added = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        size_t kl, vl;
        lua_pushvalue(L, -2);
        lua_pushvalue(L, -2);
        const char *k = param_text(L, -2, &kl, "names");
        const char *v = param_text(L, -1, &vl, "values");
        int has_query = memchr(e->url.base, '?', e->url.len) != NULL;
        ccd_scratch_putc(&e->url, has_query ? '&' : '?');
        put_escaped(&e->url, k, kl);
        ccd_scratch_putc(&e->url, '=');
        put_escaped(&e->url, v, vl);
        lua_pop(L, 3);
        added = 1;
    }
    return added;
}

static ccd_header_t *next_header(ccd_engine_t *e, size_t n)
{
    if (n >= e->hdrs_cap) {
        size_t cap = e->hdrs_cap ? e->hdrs_cap * 2 : 16;
        ccd_header_t *h = realloc(e->hdrs, cap * sizeof(*h));
        if (!h)
            return NULL;
        e->hdrs = h;
        e->hdrs_cap = cap;
    }
    return &e->hdrs[n];
}

/* Collects opts.headers (at index t); the slices point into Lua strings held by the table. */
static size_t add_headers(lua_State *L, ccd_engine_t *e, int t, int *has_ctype)
{
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
            luaL_error(L, "headers: names and values must be strings");
        ccd_header_t *h = next_header(e, n);
        if (!h)
            luaL_error(L, "out of memory");
        h->name.base = lua_tolstring(L, -2, &h->name.len);
        h->value.base = lua_tolstring(L, -1, &h->value.len); /* numbers convert in place */
        if (strcasecmp(h->name.base, "content-type") == 0)
            *has_ctype = 1;
        n++;
        lua_pop(L, 1);
    }
    return n;
}

static double opt_number(lua_State *L, int t, const char *key, double dflt)
{
    lua_getfield(L, t, key);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : dflt;
    lua_pop(L, 1);
    return v;
}

/* Fills the body (opts.body or opts.json) and extra headers of req from opts at index t. */
static void read_opts(lua_State *L, ccd_engine_t *e, ccd_user_t *u, int t, ccd_http_request_t *req)
{
    int has_ctype = 0;
    lua_getfield(L, t, "headers");
    if (lua_istable(L, -1))
        req->nheaders = add_headers(L, e, lua_gettop(L), &has_ctype);
    lua_pop(L, 1); /* the strings stay alive: opts holds the table */
    lua_getfield(L, t, "body");
    if (lua_isstring(L, -1))
        req->body.base = lua_tolstring(L, -1, &req->body.len);
    lua_pop(L, 1);
    lua_getfield(L, t, "json");
    if (!lua_isnil(L, -1)) {
        e->body.len = 0;
        if (ccd_ljson_encode(L, lua_gettop(L), &e->body))
            luaL_error(L, "json body: %s", lua_tostring(L, -1));
        req->body.base = e->body.base;
        req->body.len = e->body.len;
        if (!has_ctype) {
            ccd_header_t *h = next_header(e, req->nheaders);
            if (!h)
                luaL_error(L, "out of memory");
            *h = (ccd_header_t){{"Content-Type", 12}, {"application/json", 16}};
            req->nheaders++;
        }
    }
    lua_pop(L, 1);
    req->timeout = opt_number(L, t, "timeout", 0);
    req->connect_timeout = opt_number(L, t, "connect_timeout", 0);
    lua_getfield(L, t, "insecure");
    if (!lua_isnil(L, -1))
        req->insecure = lua_toboolean(L, -1);
    lua_pop(L, 1);
    req->headers = e->hdrs;
}

/* Pushes the stats name: opts.name, else the URL's path and query (as Locust). */
static void push_name(lua_State *L, ccd_engine_t *e, int t, size_t path_off, int rewritten)
{
    if (t) {
        lua_getfield(L, t, "name");
        if (lua_isstring(L, -1))
            return;
        lua_pop(L, 1);
    }
    size_t len;
    const char *url = lua_tolstring(L, 2, &len);
    if (!rewritten && len > 0 && url[0] == '/')
        lua_pushvalue(L, 2);
    else if (path_off < e->url.len)
        lua_pushlstring(L, e->url.base + path_off, e->url.len - path_off);
    else
        lua_pushliteral(L, "/");
}

static void on_response(void *ud, const ccd_http_response_t *res);

/* send(method, url, opts) -> name [, error]: starts a request for the running user, who then
 * yields until on_response resumes it. */
static int l_send(lua_State *L)
{
    ccd_engine_t *e = engine_of(L);
    ccd_user_t *u = current_user(L, "an HTTP request");
    size_t mlen, ulen, path_off = 0;
    const char *method = luaL_checklstring(L, 1, &mlen);
    const char *url = luaL_checklstring(L, 2, &ulen);
    int t = lua_istable(L, 3) ? 3 : 0;
    ccd_http_request_t req = {.method = {method, mlen}};
    req.insecure = e->script.classes[u->class_idx].insecure;
    build_url(L, e, u, url, ulen, &path_off);
    int rewritten = !has_scheme(url, ulen) && url[0] != '/';
    if (t) {
        lua_getfield(L, t, "params");
        if (lua_istable(L, -1))
            rewritten |= add_params(L, e, lua_gettop(L));
        lua_pop(L, 1);
        read_opts(L, e, u, t, &req);
    }
    req.url = (ccd_slice_t){e->url.base, e->url.len};
    push_name(L, e, t, path_off, rewritten || has_scheme(url, ulen));
    u->req_method = method;
    u->req_method_len = mlen;
    u->req_name = lua_tolstring(L, -1, &u->req_name_len);
    if (!u->http && !(u->http = ccd_http_session_new(e->http)))
        return luaL_error(L, "out of memory");
    int rc = ccd_http_send(u->http, &req, on_response, u);
    if (rc == 0) {
        u->state = CCD_USER_IO;
        return 1;
    }
    /* Not sent at all (a URL it cannot request): a failure, as Locust counts one. */
    ccd_scratch_putc(&e->url, '\0');
    const char *msg = lua_pushfstring(L, "%s: %s", ccd_strerror(rc), e->url.base);
    ccd_stats_record(e->stats, method, mlen, u->req_name, u->req_name_len, 0, 0, msg, strlen(msg),
                     ev_now(e->loop));
    return 2;
}

/* The failure text of a response, or NULL for a success. Uses e->text. */
static const char *failure_text(ccd_engine_t *e, const ccd_http_response_t *res, size_t *len)
{
    e->text.len = 0;
    if (res->err) {
        const char *m = res->errmsg && res->errmsg[0] ? res->errmsg : ccd_strerror(res->err);
        *len = strlen(m);
        return m;
    }
    if (res->status < 400)
        return NULL;
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "HTTP %d%s", res->status, res->reason.len ? " " : "");
    ccd_scratch_append(&e->text, buf, (size_t)n);
    ccd_scratch_append(&e->text, res->reason.base, res->reason.len);
    *len = e->text.len;
    ccd_scratch_putc(&e->text, '\0');
    return e->text.base;
}

static void push_raw_headers(lua_State *co, ccd_engine_t *e, const ccd_http_response_t *res)
{
    e->text.len = 0;
    for (size_t i = 0; i < res->nheaders; i++) {
        const ccd_header_t *h = &res->headers[i];
        ccd_scratch_append(&e->text, h->name.base, h->name.len);
        ccd_scratch_append(&e->text, ": ", 2);
        ccd_scratch_append(&e->text, h->value.base, h->value.len);
        ccd_scratch_putc(&e->text, '\n');
    }
    lua_pushlstring(co, e->text.base ? e->text.base : "", e->text.len);
}

static void on_response(void *ud, const ccd_http_response_t *res)
{
    ccd_user_t *u = ud;
    ccd_engine_t *e = u->eng;
    lua_State *co = u->co;
    size_t elen = 0;
    const char *err = failure_text(e, res, &elen);
    ccd_stats_record(e->stats, u->req_method, u->req_method_len, u->req_name, u->req_name_len,
                     res->elapsed_us, res->bytes, err, elen, ev_now(e->loop));
    lua_pushinteger(co, res->status);
    lua_pushlstring(co, res->body.base ? res->body.base : "", res->body.len);
    lua_pushnumber(co, (double)res->elapsed_us / 1e6);
    if (res->err)
        lua_pushlstring(co, err, elen);
    else
        lua_pushnil(co);
    push_raw_headers(co, e, res);
    ccd_user_resume(u, 5);
}

static void arm_timer(lua_State *L, ccd_user_t *u, int state)
{
    double s = luaL_checknumber(L, 1);
    if (s < 0 || s != s)
        luaL_error(L, "sleep: expected seconds >= 0, got %f", s);
    ev_timer_set(&u->timer, s, 0);
    ev_timer_start(u->eng->loop, &u->timer);
    u->state = (uint8_t)state;
}

static int l_sleep(lua_State *L)
{
    arm_timer(L, current_user(L, "cicada.sleep()"), CCD_USER_SLEEP);
    return 0;
}

static int l_wait(lua_State *L)
{
    arm_timer(L, current_user(L, "waiting"), CCD_USER_WAIT);
    return 0;
}

static int l_exception(lua_State *L)
{
    ccd_engine_t *e = engine_of(L);
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
    ccd_engine_t *e = engine_of(L);
    lua_pushboolean(L, e && e->current && e->current->stopping);
    return 1;
}

static int l_set_self(lua_State *L)
{
    ccd_user_t *u = current_user(L, "a user");
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_unref(L, LUA_REGISTRYINDEX, u->self_ref);
    lua_pushvalue(L, 1);
    u->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* parse_headers(raw) -> table with lower-case names; repeated headers joined by ", ". */
static int l_parse_headers(lua_State *L)
{
    size_t len;
    const char *p = luaL_checklstring(L, 1, &len), *end = p + len;
    char name[256];
    lua_newtable(L);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *colon;
        if (!nl)
            nl = end;
        colon = memchr(p, ':', (size_t)(nl - p));
        if (colon && (size_t)(colon - p) < sizeof(name)) {
            size_t n = (size_t)(colon - p);
            for (size_t i = 0; i < n; i++)
                name[i] = (char)tolower((unsigned char)p[i]);
            const char *v = colon + 1 + (colon + 1 < nl && colon[1] == ' ');
            lua_pushlstring(L, name, n);
            lua_pushvalue(L, -1);
            lua_rawget(L, -3);
            if (lua_isstring(L, -1)) {
                lua_pushliteral(L, ", ");
                lua_pushlstring(L, v, (size_t)(nl - v));
                lua_concat(L, 3);
            } else {
                lua_pop(L, 1);
                lua_pushlstring(L, v, (size_t)(nl - v));
            }
            lua_rawset(L, -3);
        }
        p = nl + 1;
    }
    return 1;
}

/* full_url(target) -> the absolute URL a request to target went to. */
static int l_full_url(lua_State *L)
{
    ccd_engine_t *e = engine_of(L);
    size_t len, off;
    const char *t = luaL_checklstring(L, 1, &len);
    if (has_scheme(t, len) || !e || !e->current || !e->hosts[e->current->class_idx]) {
        lua_pushvalue(L, 1);
        return 1;
    }
    build_url(L, e, e->current, t, len, &off);
    lua_pushlstring(L, e->url.base, e->url.len);
    return 1;
}

/* host() -> the running user's effective host (-H, else its class's host), or nil. */
static int l_host(lua_State *L)
{
    ccd_engine_t *e = engine_of(L);
    const char *h = e && e->current ? e->hosts[e->current->class_idx] : NULL;
    if (h)
        lua_pushstring(L, h);
    else
        lua_pushnil(L);
    return 1;
}

void ccd_lcore_push(lua_State *L, struct ccd_engine *eng)
{
    static const luaL_Reg fns[] = {
        {"send", l_send},
        {"sleep", l_sleep},
        {"wait", l_wait},
        {"exception", l_exception},
        {"now", l_now},
        {"stopping", l_stopping},
        {"set_self", l_set_self},
        {"parse_headers", l_parse_headers},
        {"full_url", l_full_url},
        {"host", l_host},
        {"json_encode", ccd_ljson_lencode},
        {"json_decode", ccd_ljson_ldecode},
        {NULL, NULL},
    };
    lua_newtable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushlightuserdata(L, eng);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_pushstring(L, CICADA_VERSION);
    lua_setfield(L, -2, "version");
    ccd_ldataset_register(L);
    ccd_lrandom_register(L);
}
