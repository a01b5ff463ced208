/* HTTP/1.1 client on a libev loop: per-thread context, per-user sessions, one request at a time. */
#include "http.h"

#include "clock.h"
#include "conn.h"
#include "dns.h"
#include "error.h"
#include "http_parse.h"
#include "http_request.h"
#include "tls.h"
#include "url.h"

#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define READ_BUF_SIZE (64 * 1024)
/* Exchange buffers (request, headers, body) above this are freed once their request is done. */
#define KEEP_BUF_MAX (256 * 1024)
#define MAX_HOST     255

/* The TCP (and TLS) connection to one origin inside a session. The struct lives as long as
 * the session; the socket inside it opens and closes as keep-alive allows. */
enum { C_CLOSED, C_CONNECTING, C_HANDSHAKE, C_IDLE, C_BUSY };

typedef struct conn {
    ev_io io; /* first: the io callback casts back */
    struct conn *next;
    struct xfer *x; /* the request using the connection; NULL unless connecting or busy */
    ccd_conn_t sock;
    SSL_SESSION *tls_sess; /* kept across reconnects for resumption */
    uint32_t served; /* responses completed on the current socket */
    uint16_t port;
    uint8_t state;
    bool tls, insecure;
    char host[]; /* NUL-terminated, IPv6 without brackets */
} conn_t;

/* One request in flight with everything it needs. Taken from a per-thread pool, so buffers
 * grow once and idle sessions hold none of this. */
typedef struct xfer {
    struct xfer *next_free;
    ccd_http_ctx_t *ctx;
    ccd_http_session_t *s;
    conn_t *c;
    ccd_http_cb cb;
    void *ud;
    ev_timer timer;  /* whole-request timeout */
    ev_timer ctimer; /* connect (and TLS handshake) timeout */
    ev_timer defer;  /* delivers a failure that happened inside ccd_http_send() */
    ccd_dns_query_t *dq;
    ccd_dns_addrs_t addrs;
    unsigned ai; /* address being tried */
    int64_t t0, elapsed_us;
    double timeout, connect_timeout;
    int err;
    bool head, insecure, retried, in_send;
    char *w; /* the serialised request */
    size_t wlen, wcap, woff;
    char errmsg[256];
    ccd_http_parser_t parser;
} xfer_t;

struct ccd_http_ctx {
    struct ev_loop *loop;
    ccd_dns_t *dns;
    ccd_tls_t *tls;
    char *rbuf;
    char *user_agent;
    xfer_t *pool;
};

struct ccd_http_session {
    ccd_http_ctx_t *ctx;
    conn_t *conns;
    xfer_t *cur;
};

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void conn_open(xfer_t *x);
static void start_write(xfer_t *x);

/* ---- context and pool ---- */

int ccd_http_ctx_create(ccd_http_ctx_t **out, struct ev_loop *loop, const ccd_http_config_t *cfg)
{
    ccd_http_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return CCD_ENOMEM;
    ctx->loop = loop;
    const char *ua = cfg && cfg->user_agent ? cfg->user_agent : "cicada/" CICADA_VERSION;
    ctx->user_agent = strdup(ua);
    ctx->rbuf = malloc(READ_BUF_SIZE);
    int rc = ctx->user_agent && ctx->rbuf ? 0 : CCD_ENOMEM;
    if (!rc)
        rc = ccd_dns_create(&ctx->dns, loop);
    if (!rc)
        rc = ccd_tls_create(&ctx->tls, cfg ? cfg->ca_file : NULL);
    if (rc) {
        ccd_http_ctx_destroy(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void ccd_http_ctx_destroy(ccd_http_ctx_t *ctx)
{
    if (!ctx)
        return;
    while (ctx->pool) {
        xfer_t *x = ctx->pool;
        ctx->pool = x->next_free;
        ccd_http_parser_free(&x->parser);
        free(x->w);
        free(x);
    }
    ccd_dns_destroy(ctx->dns);
    ccd_tls_destroy(ctx->tls);
    free(ctx->rbuf);
    free(ctx->user_agent);
    free(ctx);
}

ccd_dns_t *ccd_http_ctx_dns(ccd_http_ctx_t *ctx)
{
    return ctx->dns;
}

ccd_tls_t *ccd_http_ctx_tls(ccd_http_ctx_t *ctx)
{
    return ctx->tls;
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents);
static void on_connect_timeout(struct ev_loop *loop, ev_timer *w, int revents);
static void on_defer(struct ev_loop *loop, ev_timer *w, int revents);

static xfer_t *xfer_get(ccd_http_ctx_t *ctx)
{
    xfer_t *x = ctx->pool;
    if (x) {
        ctx->pool = x->next_free;
        return x;
    }
    x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->ctx = ctx;
    ccd_http_parser_init(&x->parser);
    ev_init(&x->timer, on_timeout);
    ev_init(&x->ctimer, on_connect_timeout);
    ev_init(&x->defer, on_defer);
    x->timer.data = x->ctimer.data = x->defer.data = x;
    return x;
}

static void xfer_put(xfer_t *x)
{
    ccd_http_parser_trim(&x->parser, KEEP_BUF_MAX);
    if (x->wcap > KEEP_BUF_MAX) {
        free(x->w);
        x->w = NULL;
        x->wcap = 0;
    }
    x->next_free = x->ctx->pool;
    x->ctx->pool = x;
}

static bool slice_eq(ccd_slice_t s, const char *lit)
{
    return strlen(lit) == s.len && memcmp(s.base, lit, s.len) == 0;
}

/* ---- completion ---- */

static void stop_timers(xfer_t *x)
{
    struct ev_loop *loop = x->ctx->loop;
    ev_timer_stop(loop, &x->timer);
    ev_timer_stop(loop, &x->ctimer);
    ev_timer_stop(loop, &x->defer);
}

/* Closes the socket (the conn struct stays in its session for the next request). */
static void conn_close(ccd_http_ctx_t *ctx, conn_t *c, bool clean)
{
    ev_io_stop(ctx->loop, &c->io);
    ccd_conn_close(&c->sock, &c->tls_sess, clean);
    c->state = C_CLOSED;
    c->served = 0;
    c->x = NULL;
}

static void deliver(xfer_t *x)
{
    x->s->cur = NULL;
    ccd_http_response_t res = {.err = x->err, .errmsg = x->errmsg, .elapsed_us = x->elapsed_us};
    if (!x->err) {
        const ccd_http_parser_t *p = &x->parser;
        res.status = p->status;
        res.reason = p->reason;
        res.headers = p->headers;
        res.nheaders = p->nheaders;
        res.body = p->body;
        res.bytes = p->body.len;
    } else {
        res.reason = res.body = (ccd_slice_t){"", 0};
    }
    /* The callback may send the session's next request (on another xfer) or free the session:
     * nothing of the session is touched after it. */
    x->cb(x->ud, &res);
    xfer_put(x);
}

/* Ends the request: the callback runs now, or from the loop when still inside send(). */
static void finish(xfer_t *x, int err)
{
    x->err = err;
    x->elapsed_us = ccd_clock_us() - x->t0;
    stop_timers(x);
    ccd_dns_cancel(x->dq);
    x->dq = NULL;
    if (x->c)
        x->c->x = NULL;
    x->c = NULL;
    if (x->in_send) {
        ev_timer_set(&x->defer, 0., 0.);
        ev_timer_start(x->ctx->loop, &x->defer);
        return;
    }
    deliver(x);
}

static void on_defer(struct ev_loop *loop, ev_timer *w, int revents)
{
    deliver(w->data);
}

static void fail(xfer_t *x, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(xfer_t *x, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->errmsg, sizeof(x->errmsg), fmt, ap);
    va_end(ap);
    if (x->c)
        conn_close(x->ctx, x->c, false);
    finish(x, err);
}

/* A response is complete: the connection stays for the next request only if both sides agree
 * and nothing unexpected followed the response. */
static void complete(xfer_t *x, bool extra_bytes)
{
    conn_t *c = x->c;
    x->errmsg[0] = '\0';
    if (x->parser.keep_alive && !extra_bytes) {
        c->served++;
        c->state = C_IDLE;
        ev_io_stop(x->ctx->loop, &c->io);
    } else {
        conn_close(x->ctx, c, true);
    }
    finish(x, 0);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    xfer_t *x = w->data;
    fail(x, CCD_ETIMEDOUT, "timeout after %.1fs", x->timeout);
}

static void on_connect_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    xfer_t *x = w->data;
    char addr[64] = "";
    if (x->ai < x->addrs.n)
        ccd_dns_format(&x->addrs.addr[x->ai], x->c->port, addr, sizeof(addr));
    fail(x, CCD_ECONNTIMEOUT, "connect timeout after %.1fs (%s)", x->connect_timeout, addr);
}

/* ---- socket plumbing ---- */

static void watch(ccd_http_ctx_t *ctx, conn_t *c, int events)
{
    if (ev_is_active(&c->io) && c->io.events == events)
        return;
    ev_io_stop(ctx->loop, &c->io);
    ev_io_set(&c->io, c->sock.fd, events);
    ev_io_start(ctx->loop, &c->io);
}

/* A kept-alive connection the server closed before answering is retried once on a fresh one:
 * the request never reached the application, as browsers and HTTP libraries assume. */
static bool may_retry(const xfer_t *x)
{
    return x->c->served > 0 && !x->retried && !x->parser.started;
}

static void retry(xfer_t *x)
{
    conn_close(x->ctx, x->c, false);
    x->retried = true;
    conn_open(x);
}

/* ---- request state machine: connect, handshake, write, read ---- */

static void do_write(xfer_t *x)
{
    conn_t *c = x->c;
    while (x->woff < x->wlen) {
        ssize_t n = ccd_conn_write(&c->sock, x->w + x->woff, x->wlen - x->woff);
        if (n == -EAGAIN) {
            watch(x->ctx, c, EV_WRITE);
            return;
        }
        if (n < 0) {
            if (may_retry(x))
                return retry(x);
            int err = (int)n;
            return fail(x, err, "%s (writing the request)", ccd_strerror(err));
        }
        x->woff += (size_t)n;
    }
    watch(x->ctx, c, EV_READ);
}

static void on_eof(xfer_t *x)
{
    if (may_retry(x))
        return retry(x);
    if (ccd_http_parser_finish(&x->parser) == CCD_HTTP_PARSE_DONE)
        return complete(x, false);
    fail(x, CCD_ECLOSED, x->parser.started ? "connection closed before the response completed"
                                           : "connection closed without a response");
}

static const char *error_reason(xfer_t *x)
{
    const char *r = llhttp_get_error_reason(&x->parser._ll);
    return r ? r : "parse error";
}

static void on_parse_error(xfer_t *x, int rc)
{
    if (rc == CCD_ETOOBIG)
        return fail(x, rc, "response headers larger than %d bytes", CCD_HTTP_MAX_HEADER_BYTES);
    if (rc == CCD_EPROTO)
        return fail(x, rc, "malformed response: %s",
                    error_reason(x));
    fail(x, rc, "%s", ccd_strerror(rc));
}

/* Drains the socket until it would block or the response is complete. */
static void do_read(xfer_t *x)
{
    char *buf = x->ctx->rbuf;
    for (;;) {
        ssize_t n = ccd_conn_read(&x->c->sock, buf, READ_BUF_SIZE);
        if (n == -EAGAIN)
            return;
        if (n == 0)
            return on_eof(x);
        if (n < 0) {
            if (may_retry(x))
                return retry(x);
            int err = (int)n;
            return fail(x, err, "%s (reading the response)", ccd_strerror(err));
        }
        size_t used;
        int rc = ccd_http_parser_feed(&x->parser, buf, (size_t)n, &used);
        if (rc == CCD_HTTP_PARSE_DONE)
            return complete(x, used < (size_t)n);
        if (rc < 0)
            return on_parse_error(x, rc);
    }
}

static void start_write(xfer_t *x)
{
    x->c->state = C_BUSY;
    x->woff = 0;
    ccd_http_parser_reset(&x->parser, x->head);
    do_write(x);
}

static void connection_ready(xfer_t *x)
{
    ev_timer_stop(x->ctx->loop, &x->ctimer);
    start_write(x);
}

static void do_handshake(xfer_t *x)
{
    int rc = ccd_tls_handshake(x->c->sock.ssl, x->errmsg, sizeof(x->errmsg));
    if (rc == CCD_TLS_WANT_READ)
        return watch(x->ctx, x->c, EV_READ);
    if (rc == CCD_TLS_WANT_WRITE)
        return watch(x->ctx, x->c, EV_WRITE);
    if (rc < 0) {
        conn_close(x->ctx, x->c, false);
        return finish(x, CCD_ETLS);
    }
    connection_ready(x);
}

static void start_tls(xfer_t *x)
{
    conn_t *c = x->c;
    c->sock.ssl = ccd_tls_new(x->ctx->tls, c->sock.fd, c->host, c->insecure, c->tls_sess);
    if (!c->sock.ssl)
        return fail(x, CCD_ETLS, "cannot set up TLS for %s", c->host);
    c->state = C_HANDSHAKE;
    do_handshake(x);
}

static void connect_next(xfer_t *x, int soerr);

/* The non-blocking connect finished, one way or the other. */
static void connect_done(xfer_t *x)
{
    conn_t *c = x->c;
    int rc = ccd_conn_connected(&c->sock);
    if (rc) {
        ev_io_stop(x->ctx->loop, &c->io);
        ccd_conn_close(&c->sock, NULL, false);
        x->ai++;
        return connect_next(x, -rc);
    }
    if (c->tls)
        return start_tls(x);
    connection_ready(x);
}

static void connect_failed(xfer_t *x, int soerr)
{
    char addr[64] = "";
    if (x->ai > 0)
        ccd_dns_format(&x->addrs.addr[x->ai - 1], x->c->port, addr, sizeof(addr));
    int err = -soerr;
    fail(x, err, "%s (%s)", ccd_strerror(err), addr);
}

/* Tries the addresses in order from x->ai; soerr is why the previous one failed. */
static void connect_next(xfer_t *x, int soerr)
{
    conn_t *c = x->c;
    for (; x->ai < x->addrs.n; x->ai++) {
        int rc = ccd_conn_connect(&c->sock, &x->addrs.addr[x->ai], c->port);
        if (rc == 0) {
            ev_io_init(&c->io, on_io, c->sock.fd, EV_WRITE);
            ev_io_start(x->ctx->loop, &c->io);
            return;
        }
        soerr = -rc;
    }
    connect_failed(x, soerr);
}

static void resolved(xfer_t *x, int err, const ccd_dns_addrs_t *addrs)
{
    if (err)
        return fail(x, CCD_EDNS, "cannot resolve %s: %s", x->c->host, addrs->detail);
    if (addrs != &x->addrs)
        x->addrs = *addrs;
    x->ai = 0;
    connect_next(x, 0);
}

static void on_resolved(void *ud, int err, const ccd_dns_addrs_t *addrs)
{
    xfer_t *x = ud;
    x->dq = NULL;
    resolved(x, err, addrs);
}

/* Opens the session's connection to the request's origin: resolve, connect, TLS. */
static void conn_open(xfer_t *x)
{
    conn_t *c = x->c;
    c->state = C_CONNECTING;
    c->x = x;
    if (x->connect_timeout > 0) {
        ev_timer_set(&x->ctimer, x->connect_timeout, 0.);
        ev_timer_start(x->ctx->loop, &x->ctimer);
    }
    int rc = ccd_dns_resolve(x->ctx->dns, c->host, &x->addrs, on_resolved, x, &x->dq);
    if (rc == 1)
        return;
    if (rc == CCD_ENOMEM)
        return fail(x, rc, "out of memory resolving %s", c->host);
    resolved(x, rc, &x->addrs);
}

/* One callback for the connection's socket, dispatching on its state. */
static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    conn_t *c = (conn_t *)w;
    xfer_t *x = c->x;
    if (!x) { /* cannot happen: idle sockets are not watched */
        ev_io_stop(loop, w);
        return;
    }
    switch (c->state) {
    case C_CONNECTING: connect_done(x); break;
    case C_HANDSHAKE: do_handshake(x); break;
    case C_BUSY:
        if (x->woff < x->wlen)
            do_write(x);
        else
            do_read(x);
        break;
    default: ev_io_stop(loop, w); break;
    }
}

/* ---- sessions ---- */

ccd_http_session_t *ccd_http_session_new(ccd_http_ctx_t *ctx)
{
    ccd_http_session_t *s = calloc(1, sizeof(*s));
    if (s)
        s->ctx = ctx;
    return s;
}

void ccd_http_session_free(ccd_http_session_t *s)
{
    if (!s)
        return;
    ccd_http_cancel(s);
    while (s->conns) {
        conn_t *c = s->conns;
        s->conns = c->next;
        conn_close(s->ctx, c, false);
        SSL_SESSION_free(c->tls_sess);
        free(c);
    }
    free(s);
}

static bool conn_matches(const conn_t *c, const ccd_url_t *u, bool insecure)
{
    bool tls = u->scheme_kind == CCD_URL_HTTPS;
    return c->tls == tls && c->port == u->port && (!tls || c->insecure == insecure) &&
           strlen(c->host) == u->host.len && strncasecmp(c->host, u->host.base, u->host.len) == 0;
}

/* The session's connection to the URL's origin, made (closed) on first use. */
static conn_t *conn_for(ccd_http_session_t *s, const ccd_url_t *u, bool insecure)
{
    for (conn_t *c = s->conns; c; c = c->next)
        if (conn_matches(c, u, insecure))
            return c;
    conn_t *c = calloc(1, sizeof(*c) + u->host.len + 1);
    if (!c)
        return NULL;
    memcpy(c->host, u->host.base, u->host.len);
    c->sock.fd = -1;
    c->port = u->port;
    c->tls = u->scheme_kind == CCD_URL_HTTPS;
    c->insecure = insecure;
    c->next = s->conns;
    s->conns = c;
    return c;
}

static void xfer_start(xfer_t *x, ccd_http_session_t *s, const ccd_http_request_t *req,
                       ccd_http_cb cb, void *ud)
{
    x->s = s;
    x->cb = cb;
    x->ud = ud;
    x->dq = NULL;
    x->err = 0;
    x->errmsg[0] = '\0';
    x->retried = false;
    x->head = slice_eq(req->method, "HEAD");
    x->insecure = req->insecure;
    x->timeout = req->timeout;
    x->connect_timeout = req->connect_timeout;
    x->addrs.n = 0;
    x->ai = 0;
    x->t0 = ccd_clock_us();
}

int ccd_http_send(ccd_http_session_t *s, const ccd_http_request_t *req, ccd_http_cb cb, void *ud)
{
    if (s->cur || req->method.len == 0)
        return CCD_EINVAL;
    ccd_url_t u;
    if (ccd_url_parse(req->url.base, req->url.len, &u) || u.scheme_kind == CCD_URL_OTHER ||
        u.host.len > MAX_HOST)
        return CCD_EURL;
    xfer_t *x = xfer_get(s->ctx);
    conn_t *c = x ? conn_for(s, &u, req->insecure) : NULL;
    if (!c || ccd_http_request_serialise(req, &u, s->ctx->user_agent, &x->w, &x->wcap, &x->wlen)) {
        if (x)
            xfer_put(x);
        return CCD_ENOMEM;
    }
    xfer_start(x, s, req, cb, ud);
    s->cur = x;
    x->c = c;
    x->in_send = true;
    /* The loop's cached time may be stale when send() runs outside its callbacks; timers
     * based on it would fire early. */
    if (req->timeout > 0 || req->connect_timeout > 0)
        ev_now_update(s->ctx->loop);
    if (req->timeout > 0) {
        ev_timer_set(&x->timer, req->timeout, 0.);
        ev_timer_start(s->ctx->loop, &x->timer);
    }
    if (c->state == C_IDLE) {
        c->x = x;
        start_write(x);
    } else {
        conn_open(x);
    }
    x->in_send = false;
    return 0;
}

void ccd_http_cancel(ccd_http_session_t *s)
{
    xfer_t *x = s->cur;
    if (!x)
        return;
    stop_timers(x);
    ccd_dns_cancel(x->dq);
    x->dq = NULL;
    if (x->c)
        conn_close(s->ctx, x->c, false);
    x->c = NULL;
    s->cur = NULL;
    xfer_put(x);
}
