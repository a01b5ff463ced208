/* The HTTP client binding: send() turns a Lua call into a ccd_http_request_t built in the
 * binding's reused buffers, and on_response() resumes the user with the response's parts. */
#include "lua/lclient.h"
#include "base/buf.h"
#include "base/slice.h"

#include <ctype.h>
#include <ev.h>
#include <stddef.h>
#include <lauxlib.h>
#include <stdio.h>
#include <strings.h>

#include "base/base64.h"
#include "base/clock.h"
#include "http/cookie.h"
#include "http/content_encoding.h"
#include "engine/binding.h"
#include "lua/llate.h"
#include "lua/ljson.h"
#include "http/url.h"

/* The binding's state in one Lua state (a full userdata, the first upvalue of its functions):
 * buffers reused by every request of the thread, so the steady state allocates nothing. */
typedef struct {
    ccd_engine_t *eng; /* NULL in a loading-only state */
    int slot;          /* the per-user slot holding a user's hclient_t */
    ccd_buf_t url, body, text, auth, cookie, decoded;
    ccd_header_t *hdrs;
    size_t hdrs_cap;
    /* The last URL parsed and its parse (the slices point into last_url): a load repeats its
     * URLs, and comparing the bytes costs a fraction of parsing them again. */
    ccd_buf_t last_url;
    ccd_url_t last_parsed;
    int last_rc;              /* ccd_url_parse's result for last_url */
    const ccd_url_t *cur_url; /* the request being built: last_parsed, or NULL (bad URL) */
    char decode_err[96];      /* the text of a decoded body over max_body */
    int req_slot;             /* the per-user slot holding a piece's hreq_t */
    struct hreq *free_reqs;   /* pieces' request states, pooled */
} lclient_t;

struct hclient;

/* The request in flight of one strand of a user (its own coroutine, or a piece's): what its
 * answer needs and what lasts across its redirects. */
typedef struct hreq {
    struct hclient *h;
    ccd_user_t *u;                     /* the strand waiting for it */
    struct hreq *next_free;            /* in the binding's pool (pieces only) */
    bool catch_response;               /* the request in flight is recorded by the script */
    bool follow;                       /* the request in flight follows redirects */
    bool hop;                          /* it is a redirect's next hop: the first was sent */
    size_t max_body;                   /* its body limit (SIZE_MAX: none), decoded bodies too */
    uint8_t hops_left;                 /* redirects it may still follow */
    int64_t elapsed_acc;               /* time spent in the redirects followed so far */
    const char *req_method, *req_name; /* Lua strings the yielded frame keeps alive */
    const char *req_url;               /* the URL sent, as given (a hop's, absolute) */
    size_t req_method_len, req_name_len, req_url_len;
} hreq_t;

/* A user's HTTP state, made on its first request and freed with the user; its pieces share
 * it (one session, one cookie jar). */
typedef struct hclient {
    lclient_t *c;
    ccd_http_session_t *http;
    struct ccd_cookie_jar *cookies; /* created on the first Set-Cookie */
    unsigned per_host;              /* its class's connections_per_host */
    uint8_t http2;                  /* its class's http2 (CCD_HTTP2_*) */
    hreq_t main;                    /* the request of the user's own coroutine */
} hclient_t;

static lclient_t *client_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static void hclient_free(void *p)
{
    hclient_t *h = p;
    if (h->http)
        ccd_http_session_free(h->http);
    ccd_cookie_jar_free(h->cookies);
    free(h);
}

/* A piece ended: its request state returns to the pool. */
static void hreq_release(void *p)
{
    hreq_t *r = p;
    lclient_t *c = r->h->c;
    r->next_free = c->free_reqs;
    c->free_reqs = r;
}

/* The user's HTTP state, NULL when it has made no request yet. */
static hclient_t *hclient_peek(const lclient_t *c, const ccd_user_t *u)
{
    return ccd_user_slot(ccd_user_root(u), c->slot);
}

/* The HTTP state of u's user, made when it has none; NULL when out of memory. The user's own
 * slot is looked at first: a piece's is empty. */
static hclient_t *hclient_get(lclient_t *c, ccd_user_t *u)
{
    hclient_t *h = ccd_user_slot(u, c->slot);
    if (h || (h = hclient_peek(c, u)))
        return h;
    h = calloc(1, sizeof(*h));
    if (!h || !(h->http = ccd_http_session_new(ccd_engine_http(c->eng)))) {
        free(h);
        return NULL;
    }
    h->c = c;
    h->per_host = ccd_user_per_host(u);
    h->http2 = (uint8_t)ccd_user_http2(u);
    h->main.h = h;
    h->main.u = ccd_user_root(u);
    ccd_user_set_slot(ccd_user_root(u), c->slot, h);
    return h;
}

static hclient_t *hclient_of(lua_State *L, lclient_t *c, ccd_user_t *u)
{
    hclient_t *h = hclient_get(c, u);
    if (!h)
        luaL_error(L, "out of memory");
    return h;
}

/* The request state of strand u: the user's own, or its piece's (from the pool, kept in the
 * piece's slot until it ends). */
static hreq_t *hreq_of(lua_State *L, lclient_t *c, hclient_t *h, ccd_user_t *u)
{
    if (h->main.u == u)
        return &h->main;
    hreq_t *r = ccd_user_slot(u, c->req_slot);
    if (r)
        return r;
    if ((r = c->free_reqs))
        c->free_reqs = r->next_free;
    else
        r = malloc(sizeof(*r));
    if (!r) {
        luaL_error(L, "out of memory");
        return NULL;
    }
    memset(r, 0, sizeof(*r));
    r->h = h;
    r->u = u;
    ccd_user_set_slot(u, c->req_slot, r);
    return r;
}

/* A buffer operation that could not allocate ends the call with a Lua error. */
static void check_mem(lua_State *L, int rc)
{
    if (rc)
        luaL_error(L, "out of memory");
}

static int has_scheme(const char *s, size_t len)
{
    ccd_slice_t url = {s, len};
    return ccd_slice_istarts(url, "http://") || ccd_slice_istarts(url, "https://");
}

/* Writes the absolute URL for url into c->url; *path_off is where its path starts. Returns
 * whether url was absolute already. */
static int build_url(lua_State *L, lclient_t *c, ccd_user_t *u, const char *url, size_t len,
                     size_t *path_off)
{
    c->url.len = 0;
    if (has_scheme(url, len)) {
        size_t start = url[4] == ':' ? 7 : 8; /* past "http://" or "https://" */
        const char *p = memchr(url + start, '/', len - start);
        *path_off = p ? (size_t)(p - url) : len;
        check_mem(L, ccd_buf_append(&c->url, url, len));
        return 1;
    }
    const char *host = ccd_user_host(u);
    if (!host)
        luaL_error(L,
                   "request to '%s' has no host: give -H/--host or set host in the user class "
                   "(or request an absolute URL)",
                   url);
    size_t hlen = strlen(host);
    while (hlen > 0 && host[hlen - 1] == '/')
        hlen--;
    check_mem(L, ccd_buf_reserve(&c->url, hlen + 1 + len));
    ccd_buf_append(&c->url, host, hlen);
    *path_off = hlen;
    if (len == 0 || url[0] != '/')
        ccd_buf_putc(&c->url, '/');
    ccd_buf_append(&c->url, url, len);
    return 0;
}

/* Parses the URL built in c->url, unless it is the one parsed last; sets c->cur_url (NULL
 * when it does not parse: ccd_http_send() then reports it). */
static void parse_url(lua_State *L, lclient_t *c)
{
    ccd_slice_t url = {c->url.base, c->url.len}, last = {c->last_url.base, c->last_url.len};
    if (!last.base || !ccd_slice_eq(url, last)) {
        c->last_url.len = 0;
        check_mem(L, ccd_buf_append(&c->last_url, url.base, url.len));
        c->last_rc = ccd_url_parse(c->last_url.base, c->last_url.len, &c->last_parsed);
    }
    c->cur_url = c->last_rc ? NULL : &c->last_parsed;
}

/* Percent-encodes s as a query or form component. */
static void put_escaped(ccd_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            ccd_buf_putc(b, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            ccd_buf_append(b, esc, 3);
        }
    }
}

/* Converts the value at idx (a string or number) to text, or raises an error about what. */
static const char *text_of(lua_State *L, int idx, size_t *len, const char *what)
{
    int t = lua_type(L, idx);
    if (t != LUA_TSTRING && t != LUA_TNUMBER)
        luaL_error(L, "%s must be strings or numbers, not %s", what, lua_typename(L, t));
    return lua_tolstring(L, idx, len); /* idx holds a copy: converting it is harmless */
}

/* Appends the string or number at idx, percent-encoded, to b; raises an error about what for
 * other types. A number is written as Lua's tostring writes it, without making a Lua string. */
static void put_component(lua_State *L, ccd_buf_t *b, int idx, const char *what)
{
    if (lua_type(L, idx) == LUA_TNUMBER) {
        char num[32], *end = num + sizeof(num), *p = end;
        double v = lua_tonumber(L, idx);
        if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) {
            uint64_t m = v < 0 ? (uint64_t) - (int64_t)v : (uint64_t)v;
            do
                *--p = (char)('0' + m % 10);
            while (m /= 10);
            if (v < 0)
                *--p = '-';
        } else {
            p = num, end = num + snprintf(num, sizeof(num), "%.14g", v);
        }
        put_escaped(b, p, (size_t)(end - p));
        return;
    }
    size_t len;
    const char *s = text_of(L, idx, &len, what);
    put_escaped(b, s, len);
}

/* Appends the table at index t as "k=v&k2=v2" to b, starting with sep unless b is empty of
 * pairs. Returns whether any pair was written. */
static int put_pairs(lua_State *L, ccd_buf_t *b, int t, char first_sep, const char *what)
{
    int added = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (added || first_sep)
            ccd_buf_putc(b, added ? '&' : first_sep);
        put_component(L, b, -2, what);
        ccd_buf_putc(b, '=');
        put_component(L, b, -1, what);
        lua_pop(L, 1);
        added = 1;
    }
    return added;
}

static ccd_header_t *header_slot(lua_State *L, lclient_t *e, size_t n)
{
    ccd_header_t *h = ccd_array_grow(e->hdrs, &e->hdrs_cap, n + 1, sizeof(*h), 16);
    if (!h)
        luaL_error(L, "out of memory");
    e->hdrs = h;
    return &e->hdrs[n];
}

static ccd_header_t *find_header(lclient_t *e, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (ccd_slice_ieq(e->hdrs[i].name, (ccd_slice_t){name, len}))
            return &e->hdrs[i];
    return NULL;
}

/* Sets a header, replacing one of the same name. The slices must outlive the send. */
static void set_header(lua_State *L, lclient_t *e, size_t *n, ccd_slice_t name, ccd_slice_t value)
{
    ccd_header_t *h = find_header(e, *n, name.base, name.len);
    if (!h)
        h = header_slot(L, e, (*n)++);
    h->name = name;
    h->value = value;
}

/* Adds the headers of the table at index t; the slices point into Lua strings the table
 * holds, alive until the send has serialised them. */
static void add_headers(lua_State *L, lclient_t *e, int t, size_t *n)
{
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
            luaL_error(L, "headers: names must be strings and values strings or numbers");
        ccd_slice_t name, value;
        name.base = lua_tolstring(L, -2, &name.len);
        value.base = lua_tolstring(L, -1, &value.len); /* numbers convert in place */
        set_header(L, e, n, name, value);
        lua_pop(L, 1);
    }
}

/* The options of a request: the stack index of each one given, 0 for those absent. They are
 * found in one pass over the options table (a lua_getfield per known option cost more than the
 * rest of send()), and their values stay on the stack, alive until send() returns. */
typedef struct {
    int params, headers, body, json, form, auth, timeout, connect_timeout, max_body, per_host,
        http2, insecure, catch_response, allow_redirects, max_redirects, name;
} opts_t;

static void scan_opts(lua_State *L, int t, opts_t *o)
{
    static const struct {
        const char *key;
        size_t len, off;
    } known[] = {
#define OPT(key, field) {key, sizeof(key) - 1, offsetof(opts_t, field)}
        OPT("params", params),
        OPT("headers", headers),
        OPT("body", body),
        OPT("json", json),
        OPT("form", form),
        OPT("auth", auth),
        OPT("timeout", timeout),
        OPT("connect_timeout", connect_timeout),
        OPT("max_body", max_body),
        OPT("connections_per_host", per_host),
        OPT("http2", http2),
        OPT("insecure", insecure),
        OPT("catch_response", catch_response),
        OPT("allow_redirects", allow_redirects),
        OPT("max_redirects", max_redirects),
        OPT("name", name),
#undef OPT
    };
    memset(o, 0, sizeof(*o));
    if (!t)
        return;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        size_t len, i = 0;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
        for (; k && i < sizeof(known) / sizeof(*known); i++)
            if (known[i].len == len && memcmp(known[i].key, k, len) == 0)
                break;
        if (!k || i == sizeof(known) / sizeof(*known)) {
            lua_pop(L, 1);
            continue;
        }
        luaL_checkstack(L, 2, "request options");
        lua_insert(L, -2); /* the value stays below the key lua_next goes on from */
        *(int *)(void *)((char *)o + known[i].off) = lua_gettop(L) - 1;
    }
}

/* The option at idx as a table index (0 when absent). */
static int opt_table(lua_State *L, int idx, const char *key)
{
    if (idx && !lua_istable(L, idx))
        luaL_error(L, "option '%s' must be a table", key);
    return idx;
}

/* The option at idx in seconds: `absent` when not given, 0 (no limit) when false. */
static double opt_seconds(lua_State *L, int idx, const char *key, double absent)
{
    if (!idx)
        return absent;
    bool num = lua_isnumber(L, idx),
         off = lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx);
    double v = num ? lua_tonumber(L, idx) : off ? 0 : absent;
    if ((!num && !off) || !(v >= 0))
        luaL_error(L, "option '%s' must be a number of seconds >= 0 (0 or false: no limit), not %s",
                   key, num ? lua_tostring(L, idx) : luaL_typename(L, idx));
    return v;
}

/* opts.max_body: how many bytes of the response body to keep (false: all; nil: the user's
 * default, already in req). */
static void read_max_body(lua_State *L, int idx, ccd_http_request_t *req)
{
    if (!idx)
        return;
    bool num = lua_isnumber(L, idx);
    double v = num ? lua_tonumber(L, idx) : 0;
    if (num && v >= 0 && v <= 1e15 && v == (double)(int64_t)v) {
        req->limit_body = true;
        req->max_body = (size_t)v;
    } else if (lua_isboolean(L, idx) && !lua_toboolean(L, idx)) {
        req->limit_body = false;
    } else {
        luaL_error(L, "option 'max_body' must be a whole number of bytes >= 0 (false: no limit)");
    }
}

/* opts.connections_per_host: how many connections to the request's host the user may use at
 * once when it has other requests in flight (nil: its class's). */
static void read_per_host(lua_State *L, int idx, ccd_http_request_t *req)
{
    if (!idx)
        return;
    double v = lua_tonumber(L, idx);
    if (!lua_isnumber(L, idx) || v < 1 || v > 1000 || v != (double)(int)v)
        luaL_error(L, "option 'connections_per_host' must be a whole number from 1 to 1000");
    req->per_origin = (unsigned)v;
}

/* opts.http2: true (offer HTTP/2 by ALPN over TLS), false (HTTP/1.1 only) or
 * "prior-knowledge" (HTTP/2 in the clear too); nil: its class's. */
static void read_http2(lua_State *L, int idx, ccd_http_request_t *req)
{
    if (!idx)
        return;
    if (lua_isboolean(L, idx))
        req->http2 = lua_toboolean(L, idx) ? CCD_HTTP2_ALPN : CCD_HTTP2_OFF;
    else if (lua_type(L, idx) == LUA_TSTRING &&
             strcmp(lua_tostring(L, idx), "prior-knowledge") == 0)
        req->http2 = CCD_HTTP2_PRIOR;
    else
        luaL_error(L, "option 'http2' must be true, false or \"prior-knowledge\"");
}

/* The body from opts.body, opts.json or opts.form (one at most); returns the default
 * Content-Type for it, or NULL. */
static const char *read_body(lua_State *L, lclient_t *e, const opts_t *o, ccd_http_request_t *req)
{
    const char *ctype = NULL;
    int kinds = 0;
    if (o->body) {
        req->body.base = text_of(L, o->body, &req->body.len, "body");
        kinds++;
    }
    if (o->json) {
        e->body.len = 0;
        if (ccd_ljson_encode(L, o->json, &e->body))
            luaL_error(L, "json body: %s", lua_tostring(L, -1));
        req->body = (ccd_slice_t){e->body.base, e->body.len};
        ctype = "application/json", kinds++;
    }
    int form = opt_table(L, o->form, "form");
    if (form) {
        e->body.len = 0;
        put_pairs(L, &e->body, form, 0, "form fields");
        req->body = (ccd_slice_t){e->body.base ? e->body.base : "", e->body.len};
        ctype = "application/x-www-form-urlencoded", kinds++;
    }
    if (kinds > 1)
        luaL_error(L, "give one of body, json and form, not several");
    return ctype; /* body, json and form stay on the stack until send() returns */
}

/* opts.auth = { user, password }: an Authorization header for HTTP basic authentication. */
static void read_auth(lua_State *L, lclient_t *e, int idx, size_t *n)
{
    int auth = opt_table(L, idx, "auth");
    if (!auth)
        return;
    lua_rawgeti(L, auth, 1);
    lua_rawgeti(L, auth, 2);
    size_t ul, pl;
    const char *user = text_of(L, -2, &ul, "auth user and password");
    const char *pass = text_of(L, -1, &pl, "auth user and password");
    e->text.len = 0;
    check_mem(L, ccd_buf_reserve(&e->text, ul + 1 + pl));
    ccd_buf_append(&e->text, user, ul);
    ccd_buf_putc(&e->text, ':');
    ccd_buf_append(&e->text, pass, pl);
    e->auth.len = 0;
    check_mem(L, ccd_buf_reserve(&e->auth, 6 + ccd_base64_len(e->text.len)));
    memcpy(e->auth.base, "Basic ", 6);
    ccd_base64_encode((const unsigned char *)e->text.base, e->text.len, e->auth.base + 6);
    e->auth.len = 6 + ccd_base64_len(e->text.len);
    set_header(L, e, n, (ccd_slice_t){"Authorization", 13},
               (ccd_slice_t){e->auth.base, e->auth.len});
}

/* The Cookie header of the user's jar for the request's URL (e->cur_url), if any cookie
 * matches. Expiry is judged at the loop's cached time (wall clock, as cookie dates are): to
 * the second, as cookies expire, without a clock read per request. */
static void add_cookie_header(lua_State *L, lclient_t *e, hclient_t *u, size_t *n)
{
    const ccd_url_t *url = e->cur_url;
    if (!url)
        return;
    e->cookie.len = 0;
    int rc = ccd_cookie_jar_header(u->cookies, url->scheme_kind == CCD_URL_HTTPS, url->host.base,
                                   url->host.len, url->path.base, url->path.len,
                                   ev_now(ccd_engine_loop(e->eng)), &e->cookie);
    if (rc > 0)
        set_header(L, e, n, (ccd_slice_t){"Cookie", 6},
                   (ccd_slice_t){e->cookie.base, e->cookie.len});
}

/* The options that concern the whole request, not each hop of its redirects. */
static void read_request_flags(lua_State *L, hreq_t *u, const opts_t *o)
{
    u->catch_response = o->catch_response && lua_toboolean(L, o->catch_response);
    if (o->allow_redirects)
        u->follow = lua_toboolean(L, o->allow_redirects);
    if (o->max_redirects) {
        double max = lua_tonumber(L, o->max_redirects);
        if (!lua_isnumber(L, o->max_redirects) || max < 0 || max > 255)
            luaL_error(L, "option 'max_redirects' must be a number from 0 to 255");
        u->hops_left = (uint8_t)max;
    }
}

/* Reads the options found by scan_opts and the user's default headers at index d (0: none). */
static void read_opts(lua_State *L, lclient_t *e, hreq_t *u, const opts_t *o, int d,
                      ccd_http_request_t *req)
{
    size_t n = 0;
    const char *ctype = NULL;
    if (d)
        add_headers(L, e, d, &n);
    int h = opt_table(L, o->headers, "headers");
    if (h)
        add_headers(L, e, h, &n);
    ctype = read_body(L, e, o, req);
    read_auth(L, e, o->auth, &n);
    req->timeout = opt_seconds(L, o->timeout, "timeout", req->timeout);
    req->connect_timeout = opt_seconds(L, o->connect_timeout, "connect_timeout", 0);
    read_max_body(L, o->max_body, req);
    read_per_host(L, o->per_host, req);
    read_http2(L, o->http2, req);
    if (o->insecure)
        req->insecure = lua_toboolean(L, o->insecure);
    if (!lua_toboolean(L, 6))
        read_request_flags(L, u, o);
    if (ctype && !find_header(e, n, "Content-Type", 12))
        set_header(L, e, &n, (ccd_slice_t){"Content-Type", 12},
                   (ccd_slice_t){ctype, strlen(ctype)});
    if (!find_header(e, n, "Accept-Encoding", 15))
        set_header(L, e, &n, (ccd_slice_t){"Accept-Encoding", 15},
                   (ccd_slice_t){"gzip, deflate", 13});
    if (u->h->cookies && !find_header(e, n, "Cookie", 6))
        add_cookie_header(L, e, u->h, &n);
    req->headers = e->hdrs;
    req->nheaders = n;
}

/* Pushes the stats name: the name given for a redirect's next hop, opts.name, else the URL's
 * path and query (as Locust). */
static void push_name(lua_State *L, lclient_t *e, int name, size_t path_off, int rewritten)
{
    if (lua_isstring(L, 5)) {
        lua_pushvalue(L, 5);
        return;
    }
    if (name && lua_isstring(L, name)) {
        lua_pushvalue(L, name);
        return;
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

/* The strand waiting for a response was stopped for good: the request is abandoned, and
 * reported as such, unless it was still waiting for a connection (never sent). */
static void cancel_request(void *ud)
{
    hreq_t *r = ud;
    if (ccd_http_cancel_ud(r->h->http, r))
        ccd_engine_record_abandoned(r->h->c->eng, r->req_method, r->req_method_len, r->req_name,
                                    r->req_name_len);
}

/* Records a request that could not be sent at all: for a URL it cannot request a failure, as
 * Locust counts one; for want of memory (nothing reached the target) a generator error.
 * Pushes the message, and true for a generator error. Returns the number pushed. */
static int record_unsent(lua_State *L, lclient_t *e, hreq_t *u, int rc)
{
    check_mem(L, ccd_buf_putc(&e->url, '\0'));
    const char *msg = lua_pushfstring(L, "%s: %s", ccd_strerror(rc), e->url.base);
    if (rc == CCD_ENOMEM && !u->hop) {
        ccd_engine_record_generator_error(e->eng, u->req_method, u->req_method_len, u->req_name,
                                          u->req_name_len, msg, strlen(msg));
        lua_pushboolean(L, 1);
        return 2;
    }
    if (!u->catch_response)
        ccd_user_record(u->u, u->req_method, u->req_method_len, u->req_name, u->req_name_len, 0, 0,
                        msg, strlen(msg));
    return 1;
}

#define MAX_REDIRECTS 30 /* as Python requests */

static bool is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* send(method, url, opts, default_headers [, name, hop]) -> name [, error [, generator]]:
 * starts a request
 * for the running user, who then yields until on_response resumes it. With hop, the request
 * is the next hop of a redirect: it keeps the first hop's name, time and redirect budget. */
static int l_send(lua_State *L)
{
    lclient_t *e = client_of(L);
    ccd_user_t *user = ccd_engine_blocking_user(L, e->eng, "an HTTP request");
    hclient_t *h = hclient_of(L, e, user);
    hreq_t *u = hreq_of(L, e, h, user);
    size_t mlen, ulen, path_off = 0;
    const char *method = luaL_checklstring(L, 1, &mlen);
    const char *url = luaL_checklstring(L, 2, &ulen);
    lua_settop(L, 6); /* absent optional arguments become nils, not our temporaries */
    int t = lua_istable(L, 3) ? 3 : 0, d = lua_istable(L, 4) ? 4 : 0;
    ccd_http_request_t req = {.method = {method, mlen}};
    req.insecure = ccd_user_insecure(user);
    req.timeout = ccd_user_timeout(user);
    int64_t max_body = ccd_user_max_body(user);
    req.limit_body = max_body >= 0;
    req.max_body = max_body >= 0 ? (size_t)max_body : 0;
    req.per_origin = h->per_host;
    req.http2 = h->http2;
    u->hop = lua_toboolean(L, 6);
    if (!u->hop) {
        u->catch_response = false;
        u->follow = !ccd_slice_eq_str((ccd_slice_t){method, mlen}, "HEAD");
        u->hops_left = MAX_REDIRECTS;
        u->elapsed_acc = 0;
    }
    opts_t o;
    scan_opts(L, t, &o);
    int rewritten = build_url(L, e, user, url, ulen, &path_off) || (ulen > 0 && url[0] != '/');
    int p = opt_table(L, o.params, "params");
    if (p)
        rewritten |=
            put_pairs(L, &e->url, p, memchr(e->url.base, '?', e->url.len) ? '&' : '?', "params");
    parse_url(L, e);
    read_opts(L, e, u, &o, d, &req);
    if (e->cur_url) {
        req.url = (ccd_slice_t){e->last_url.base, e->last_url.len};
        req.parsed = e->cur_url;
    } else {
        req.url = (ccd_slice_t){e->url.base, e->url.len};
    }
    push_name(L, e, o.name, path_off, rewritten);
    int name_idx = lua_gettop(L);
    if (!lua_toboolean(L, 6)) { /* a redirect's hops count under the first one's method */
        u->req_method = method;
        u->req_method_len = mlen;
    }
    u->req_name = lua_tolstring(L, name_idx, &u->req_name_len);
    u->req_url = url;
    u->req_url_len = ulen;
    u->max_body = req.limit_body ? req.max_body : SIZE_MAX;
    int rc = ccd_http_send(h->http, &req, on_response, u);
    lua_pushvalue(L, name_idx);
    if (rc == 0) {
        ccd_user_block(user, cancel_request, u, true);
        return 1;
    }
    return 1 + record_unsent(L, e, u, rc);
}

/* The failure text of a response, or NULL for a success. Uses e->text. */
static const char *failure_text(lclient_t *e, const ccd_http_response_t *res, size_t *len)
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
    ccd_buf_append(&e->text, buf, (size_t)n);
    ccd_buf_append(&e->text, res->reason.base, res->reason.len);
    *len = e->text.len;
    ccd_buf_putc(&e->text, '\0');
    return e->text.base;
}

/* What on_response needs from the headers, found in one pass over them. */
typedef struct {
    const ccd_header_t *location; /* the first Location, or NULL */
    const ccd_header_t *encoding; /* the first Content-Encoding, or NULL */
    size_t raw_len;               /* the size of the block push_raw_headers makes */
} header_scan_t;

/* Keeps one Set-Cookie in the user's jar (made on the first one); *now is the wall clock,
 * read once per response. */
static void store_cookie(hclient_t *u, const ccd_http_response_t *res, const ccd_header_t *h,
                         double *now)
{
    if (!u->cookies && !(u->cookies = ccd_cookie_jar_new()))
        return;
    *now = *now ? *now : ccd_clock_wall();
    ccd_cookie_jar_store(u->cookies, h->value.base, h->value.len, res->host.base, res->host.len,
                         res->target.base, res->target.len, *now);
}

/* Stores the response's cookies and finds what else on_response acts on. The names it looks
 * for differ in length, so a name is compared only with the one of its length. */
static header_scan_t scan_headers(hclient_t *u, const ccd_http_response_t *res)
{
    header_scan_t s = {NULL, NULL, 0};
    double now = 0;
    for (size_t i = 0; i < res->nheaders; i++) {
        const ccd_header_t *h = &res->headers[i];
        s.raw_len += h->name.len + h->value.len + 3;
        if (h->name.len == 8 && !s.location && ccd_slice_ieq_str(h->name, "Location"))
            s.location = h;
        else if (h->name.len == 10 && !res->err && ccd_slice_ieq_str(h->name, "Set-Cookie"))
            store_cookie(u, res, h, &now);
        else if (h->name.len == 16 && !s.encoding && ccd_slice_ieq_str(h->name, "Content-Encoding"))
            s.encoding = h;
    }
    for (size_t i = 0; i < res->ntrailers; i++)
        s.raw_len += res->trailers[i].name.len + res->trailers[i].value.len + 3;
    s.raw_len += res->ntrailers > 0; /* the blank line before them */
    return s;
}

static char *put_fields(char *p, const ccd_header_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(p, f[i].name.base, f[i].name.len);
        p += f[i].name.len;
        *p++ = ':';
        *p++ = ' ';
        memcpy(p, f[i].value.base, f[i].value.len);
        p += f[i].value.len;
        *p++ = '\n';
    }
    return p;
}

/* Pushes the headers as one string, "name: value\n" each, then the trailers after a blank line
 * when there are any (n bytes in all), that l_parse_headers turns into a table if the script
 * reads r.headers or r.trailers: one copy per response, the table only when asked for. Without
 * memory for it, the headers are left out rather than the response lost. */
static void push_raw_headers(lua_State *co, lclient_t *e, const ccd_http_response_t *res, size_t n)
{
    e->text.len = 0;
    if (n == 0 || ccd_buf_reserve(&e->text, n)) {
        lua_pushliteral(co, "");
        return;
    }
    char *p = put_fields(e->text.base, res->headers, res->nheaders);
    if (res->ntrailers) {
        *p++ = '\n';
        put_fields(p, res->trailers, res->ntrailers);
    }
    lua_pushlstring(co, e->text.base, n);
}

/* The Location of a redirect the request in flight follows, or NULL. */
static const ccd_header_t *redirect_to_follow(hreq_t *u, const ccd_http_response_t *res,
                                              const header_scan_t *s)
{
    if (res->err || !u->follow || !is_redirect(res->status))
        return NULL;
    return s->location;
}

/* The body as the script sees it: decoded of its Content-Encoding (gzip, deflate). A body
 * that does not decode is a failure of the request; one cut at max_body is left as it came
 * (its start alone cannot always be decoded). The decoded body is bounded by max_body too, or
 * by CCD_DECODE_MAX without one: a decompression bomb fails once it passes the limit, since
 * its whole size cannot be known without inflating all of it. */
static ccd_slice_t decoded_body(lclient_t *e, const hreq_t *u, const ccd_http_response_t *res,
                                const header_scan_t *s, const char **err)
{
    const ccd_header_t *ce = s->encoding;
    if (!ce || res->err || res->bytes > res->body.len)
        return res->body;
    size_t max = u->max_body < CCD_DECODE_MAX ? u->max_body : CCD_DECODE_MAX;
    e->decoded.len = 0;
    int rc = ccd_decode_body_max(ce->value.base, ce->value.len, res->body.base, res->body.len, max,
                                 &e->decoded);
    if (rc == 0)
        return (ccd_slice_t){e->decoded.base ? e->decoded.base : "", e->decoded.len};
    if (rc == CCD_ETOOBIG && max == CCD_DECODE_MAX) {
        *err = "decoded body larger than 256 MB (Content-Encoding)";
    } else if (rc == CCD_ETOOBIG) {
        snprintf(e->decode_err, sizeof(e->decode_err),
                 "decoded body larger than max_body, %zu bytes (Content-Encoding)", max);
        *err = e->decode_err;
    } else if (rc == CCD_ENOMEM) {
        *err = "out of memory decoding the body (Content-Encoding)";
    } else if (rc < 0) {
        *err = "cannot decode the body (Content-Encoding)";
    }
    return res->body;
}

/* Resumes the user with: status, body, elapsed seconds (redirects included), failure text or
 * nil, raw headers, the Location to follow next (nil when this response is the last), and
 * whether the request was a generator error. The request is counted once, when its last
 * response arrives; one that could not be sent for a local reason (res->local, on its first
 * hop: a later hop's chain reached the target) is a generator error, whatever catch_response
 * says. */
static void on_response(void *ud, const ccd_http_response_t *res)
{
    hreq_t *u = ud;
    lclient_t *e = u->h->c;
    lua_State *co = ccd_user_thread(u->u);
    header_scan_t scan = scan_headers(u->h, res);
    const ccd_header_t *location = redirect_to_follow(u, res, &scan);
    int64_t elapsed = u->elapsed_acc + res->elapsed_us;
    size_t elen = 0;
    const char *err = failure_text(e, res, &elen), *decode_err = NULL;
    ccd_slice_t body = decoded_body(e, u, res, &scan, &decode_err);
    if (decode_err && !err) {
        err = decode_err;
        elen = strlen(err);
    }
    if (location && u->hops_left == 0) {
        err = "too many redirects";
        elen = strlen(err);
        location = NULL;
    }
    bool generator = res->local && !u->hop;
    if (location) {
        u->hops_left--;
        u->elapsed_acc = elapsed;
    } else if (generator) {
        ccd_engine_record_generator_error(e->eng, u->req_method, u->req_method_len, u->req_name,
                                          u->req_name_len, err, elen);
    } else if (!u->catch_response) {
        ccd_user_record(u->u, u->req_method, u->req_method_len, u->req_name, u->req_name_len,
                        elapsed, res->bytes > res->body.len ? res->bytes : body.len, err, elen);
    }
    bool late = !location && !generator && !u->catch_response && ccd_user_halted(u->u);
    if (late) { /* counted, but nobody to resume: the request event fires without the user */
        lua_pushliteral(co, "http");
        lua_pushlstring(co, u->req_method, u->req_method_len);
        lua_pushlstring(co, u->req_name, u->req_name_len);
        lua_pushlstring(co, u->req_url, u->req_url_len);
    }
    lua_pushinteger(co, res->status);
    lua_pushlstring(co, body.base ? body.base : "", body.len);
    lua_pushnumber(co, (double)elapsed / 1e6);
    if (err)
        lua_pushlstring(co, err, elen);
    else
        lua_pushnil(co);
    push_raw_headers(co, e, res, scan.raw_len);
    if (location)
        lua_pushlstring(co, location->value.base, location->value.len);
    else
        lua_pushnil(co);
    lua_pushboolean(co, generator);
    lua_pushboolean(co, res->http2);
    if (late) {
        ccd_llate_fire(u->u, 12);
        ccd_user_wake(u->u, 0);
        return;
    }
    ccd_user_wake(u->u, 8);
}

/* resolve_url(base, reference) -> the absolute URL reference points to from base (RFC 3986
 * in the cases servers use: absolute, scheme-relative, absolute path, relative path, query). */
static int l_resolve_url(lua_State *L)
{
    size_t blen, rlen;
    const char *base = luaL_checklstring(L, 1, &blen), *ref = luaL_checklstring(L, 2, &rlen);
    const char *scheme_end = strstr(base, "://");
    if (has_scheme(ref, rlen) || !scheme_end) {
        lua_pushvalue(L, 2);
        return 1;
    }
    const char *host = scheme_end + 3, *path = strchr(host, '/');
    size_t origin = path ? (size_t)(path - base) : blen;
    if (rlen >= 2 && ref[0] == '/' && ref[1] == '/') { /* scheme-relative */
        lua_pushlstring(L, base, (size_t)(host - base) - 2);
        lua_pushvalue(L, 2);
    } else if (rlen > 0 && ref[0] == '/') {
        lua_pushlstring(L, base, origin);
        lua_pushvalue(L, 2);
    } else if (rlen > 0 && ref[0] == '?') {
        const char *q = memchr(base, '?', blen);
        lua_pushlstring(L, base, q ? (size_t)(q - base) : blen);
        lua_pushvalue(L, 2);
    } else { /* relative to the base path's directory */
        const char *q = memchr(base + origin, '?', blen - origin);
        size_t end = q ? (size_t)(q - base) : blen, dir = origin;
        for (size_t i = origin; i < end; i++)
            if (base[i] == '/')
                dir = i + 1;
        if (dir == origin) {
            lua_pushlstring(L, base, origin);
            lua_pushliteral(L, "/");
            lua_concat(L, 2);
        } else {
            lua_pushlstring(L, base, dir);
        }
        lua_pushvalue(L, 2);
    }
    lua_concat(L, 2);
    return 1;
}

/* parse_headers(raw [, trailers]) -> { name1, value1, name2, value2, ... }: the fields
 * "name: value\n" each, names in lower case, a repeated field's values joined by ", " under its
 * first place. raw is push_raw_headers' string: the headers, or with trailers true the fields
 * after its blank line. A flat array, from which the response's table is made in Lua
 * (cicada.lua) and which it keeps for the responses with the very same headers (the same Lua
 * string: strings are interned). */
static int l_parse_headers(lua_State *L)
{
    size_t len;
    const char *p = luaL_checklstring(L, 1, &len), *end = p + len;
    const char *blank = len && p[0] == '\n' ? p : memmem(p, len, "\n\n", 2);
    if (lua_toboolean(L, 2))
        p = blank ? blank + 1 + (blank != p) : end;
    else if (blank)
        end = blank;
    char name[256];
    int lines = 0, n = 0;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))); q++)
        lines++;
    lua_createtable(L, 2 * (lines + 1), 0);
    lua_createtable(L, 0, lines + 1); /* name -> its place in the array, for repeated ones */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *colon;
        if (!nl)
            nl = end;
        colon = memchr(p, ':', (size_t)(nl - p));
        if (colon && (size_t)(colon - p) < sizeof(name)) {
            size_t nlen = (size_t)(colon - p);
            for (size_t i = 0; i < nlen; i++)
                name[i] = (char)tolower((unsigned char)p[i]);
            const char *v = colon + 1 + (colon + 1 < nl && colon[1] == ' ');
            lua_pushlstring(L, name, nlen);
            lua_pushvalue(L, -1);
            lua_rawget(L, -3);
            int at = (int)lua_tointeger(L, -1);
            lua_pop(L, 1);
            if (at) { /* joined to the first value */
                lua_pop(L, 1);
                lua_rawgeti(L, -2, at + 1);
                lua_pushliteral(L, ", ");
                lua_pushlstring(L, v, (size_t)(nl - v));
                lua_concat(L, 3);
                lua_rawseti(L, -3, at + 1);
            } else {
                lua_pushvalue(L, -1);
                lua_rawseti(L, -4, ++n);
                lua_pushinteger(L, n);
                lua_rawset(L, -3);
                lua_pushlstring(L, v, (size_t)(nl - v));
                lua_rawseti(L, -3, ++n);
            }
        }
        p = nl + 1;
    }
    lua_pop(L, 1);
    return 1;
}

/* full_url(target) -> the absolute URL a request to target went to. */
static int l_full_url(lua_State *L)
{
    lclient_t *e = client_of(L);
    ccd_user_t *u = ccd_engine_current(e->eng);
    size_t len, off;
    const char *t = luaL_checklstring(L, 1, &len);
    if (has_scheme(t, len) || !u || !ccd_user_host(u)) {
        lua_pushvalue(L, 1);
        return 1;
    }
    build_url(L, e, u, t, len, &off);
    lua_pushlstring(L, e->url.base, e->url.len);
    return 1;
}

/* cookies() -> { name = value } of the running user's jar. */
/* The running user's HTTP state (NULL before its first request), or a Lua error naming what
 * was attempted outside of a user. */
static hclient_t *current_hclient(lua_State *L, const char *what)
{
    lclient_t *c = client_of(L);
    ccd_user_t *u = ccd_engine_current(c->eng);
    if (!u)
        luaL_error(L, "%s is only possible inside a user (a task, on_start or on_stop)", what);
    return hclient_peek(c, u);
}

static int l_cookies(lua_State *L)
{
    hclient_t *u = current_hclient(L, "reading cookies");
    lua_newtable(L);
    ccd_cookie_t c;
    for (size_t i = 0; u && u->cookies && ccd_cookie_jar_at(u->cookies, i, &c) == 0; i++) {
        lua_pushlstring(L, c.name.base, c.name.len);
        lua_pushlstring(L, c.value.base, c.value.len);
        lua_rawset(L, -3);
    }
    return 1;
}

/* clear_cookies(): empties the running user's jar. */
static int l_clear_cookies(lua_State *L)
{
    hclient_t *u = current_hclient(L, "clearing cookies");
    if (u && u->cookies)
        ccd_cookie_jar_clear(u->cookies);
    return 0;
}

static int l_gc(lua_State *L)
{
    lclient_t *c = lua_touserdata(L, 1);
    ccd_buf_free(&c->url);
    ccd_buf_free(&c->body);
    ccd_buf_free(&c->text);
    ccd_buf_free(&c->auth);
    ccd_buf_free(&c->cookie);
    ccd_buf_free(&c->decoded);
    ccd_buf_free(&c->last_url);
    free(c->hdrs);
    while (c->free_reqs) {
        hreq_t *r = c->free_reqs;
        c->free_reqs = r->next_free;
        free(r);
    }
    return 0;
}

/* The registry key of the binding's state, for ccd_lclient_jar(). */
static const char jar_key;

struct ccd_cookie_jar *ccd_lclient_jar(lua_State *L, ccd_user_t *u, bool create)
{
    lua_pushlightuserdata(L, (void *)&jar_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lclient_t *c = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!c || !c->eng)
        return NULL;
    hclient_t *h = create ? hclient_get(c, u) : hclient_peek(c, u);
    if (h && !h->cookies && create)
        h->cookies = ccd_cookie_jar_new();
    return h ? h->cookies : NULL;
}

void ccd_lclient_register(lua_State *L, ccd_engine_t *eng)
{
    static const luaL_Reg fns[] = {
        {"send", l_send},
        {"parse_headers", l_parse_headers},
        {"full_url", l_full_url},
        {"resolve_url", l_resolve_url},
        {"cookies", l_cookies},
        {"clear_cookies", l_clear_cookies},
        {NULL, NULL},
    };
    lclient_t *c = lua_newuserdata(L, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->eng = eng;
    c->slot = eng ? ccd_engine_slot(eng, hclient_free) : -1;
    c->req_slot = eng ? ccd_engine_slot(eng, hreq_release) : -1;
    if ((c->slot < 0 || c->req_slot < 0) && eng)
        luaL_error(L, "HTTP client: no per-user slot left");
    lua_pushlightuserdata(L, (void *)&jar_key);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -3, f->name);
    }
    lua_pop(L, 1);
}
