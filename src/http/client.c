/* HTTP/1.1 client on a libev loop: per-thread context, per-user sessions, requests in flight
 * on up to a limit of connections per origin. */
#include "http/client.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/duration.h"
#include "base/error.h"
#include "http/h2.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/url.h"
#include "net/conn.h"
#include "net/connect.h"
#include "net/dns.h"
#include "net/tls.h"

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
#define POOL_SPARE   16  /* pooled exchanges kept beyond the recent peak in use */
#define POOL_TRIM    2.0 /* seconds between two trims of the pool */

/* C_H2: open with HTTP/2, carrying any number of the session's requests as streams (none
 * is its x); the others are HTTP/1.1 states, one request at a time. */
enum { C_CLOSED, C_CONNECTING, C_IDLE, C_BUSY, C_H2 };

/* The TCP (and TLS) connection to one origin inside a session. The struct lives as long as
 * the session; the socket inside it opens and closes as keep-alive allows. */
typedef struct conn {
    ev_io io;         /* first: the io callback casts back */
    ev_prepare flush; /* while C_H2: writes the streams started in this loop turn at once */
    struct conn *next;
    struct xfer *x; /* the request using the connection; NULL unless connecting or busy */
    ccd_conn_t sock;
    SSL_SESSION *tls_sess; /* kept across reconnects for resumption */
    uint32_t served;       /* responses completed on the current socket */
    ccd_h2_t *h2;          /* while C_H2 */
    unsigned nstreams;     /* while C_H2: requests on it; with none it does not keep the loop */
    uint32_t goaway;       /* the error code of the server's GOAWAY, once one came */
    uint16_t port;
    uint8_t state;
    uint8_t http2; /* CCD_HTTP2_*: how requests on it may use HTTP/2 */
    bool reading;  /* inside ccd_h2_recv() */
    bool h1_seen;  /* the server answered ALPN with HTTP/1.1: its requests need not wait
                    * for the handshake of another connection */
    bool tls, insecure;
    char host[]; /* NUL-terminated, IPv6 without brackets */
} conn_t;

/* One request in flight with everything it needs. Taken from a per-thread pool, so buffers
 * grow once and idle sessions hold none of this. */
typedef struct xfer {
    struct xfer *next_free;
    struct xfer *next_live; /* the session's requests in flight, or its waiting ones */
    ccd_http_ctx_t *ctx;
    ccd_http_session_t *s;
    conn_t *c;
    ccd_http_cb cb;
    void *ud;
    ev_timer timer;        /* whole-request timeout */
    ev_timer defer;        /* delivers a failure that happened inside ccd_http_send() */
    ccd_connect_t connect; /* opens the connection when the session has none to the origin */
    int64_t t0, elapsed_us;
    double timeout, connect_timeout;
    size_t max_body;
    int err;
    bool head, in_send;
    bool waiting;        /* queued: every connection to its origin the request may use is busy */
    bool local;          /* err is a local failure to open the connection */
    bool h2;             /* goes as an HTTP/2 stream */
    unsigned per_origin; /* its per_origin: see spread_waiting() */
    int h2status;
    int32_t h2id; /* its stream while on a C_H2 connection */
    ccd_h2_body_t h2body;
    conn_t *origin; /* the connection's struct, kept after x->c is cleared: its host; while
                     * waiting, a busy connection to the same origin */
    ccd_buf_t w;    /* the serialised request */
    size_t woff;
    ccd_slice_t target; /* the request-target inside w (its path and query) */
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
    unsigned npool, inflight, peak; /* pooled and in-use exchanges; the most in use lately */
    ccd_header_t hdrs[CCD_HTTP_MAX_HEADERS]; /* the delivered response's headers */
    ev_timer trim;                           /* frees the pool's excess once a burst is over */
};

struct ccd_http_session {
    ccd_http_ctx_t *ctx;
    conn_t *conns;
    xfer_t *live;                  /* requests on a connection (connecting, writing, reading) */
    xfer_t *waiting, *waiting_end; /* requests waiting for a connection, oldest first */
};

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void conn_open(xfer_t *x);
static void start_write(xfer_t *x);
static bool take_waiting(ccd_http_session_t *s, conn_t *c);
static void spread_waiting(ccd_http_session_t *s, const conn_t *c, unsigned limit);
static void h2_detach(xfer_t *x, bool reset);
static int h2_flush(ccd_http_ctx_t *ctx, conn_t *c);

/* ---- context and pool ---- */

static void on_trim(struct ev_loop *loop, ev_timer *w, int revents);

int ccd_http_ctx_create(ccd_http_ctx_t **out, struct ev_loop *loop, const ccd_http_config_t *cfg)
{
    ccd_http_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return CCD_ENOMEM;
    ctx->loop = loop;
    ev_timer_init(&ctx->trim, on_trim, POOL_TRIM, POOL_TRIM);
    ctx->trim.data = ctx;
    ev_timer_start(loop, &ctx->trim);
    ev_unref(loop); /* the trim timer alone must not keep the loop running */
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

static void xfer_free(xfer_t *x)
{
    ccd_http_parser_free(&x->parser);
    ccd_buf_free(&x->w);
    free(x);
}

/* Keeps as many pooled exchanges as were in use at once during the last period (and a few
 * more): a steady load reuses them without allocating, while the thousands a spawn burst
 * needed are freed once it is over, so that idle users cost only their connections. */
static void on_trim(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_http_ctx_t *ctx = w->data;
    unsigned keep = ctx->peak + POOL_SPARE;
    while (ctx->npool > keep) {
        xfer_t *x = ctx->pool;
        ctx->pool = x->next_free;
        ctx->npool--;
        xfer_free(x);
    }
    ctx->peak = ctx->inflight;
}

void ccd_http_ctx_destroy(ccd_http_ctx_t *ctx)
{
    if (!ctx)
        return;
    if (ev_is_active(&ctx->trim)) {
        ev_ref(ctx->loop);
        ev_timer_stop(ctx->loop, &ctx->trim);
    }
    while (ctx->pool) {
        xfer_t *x = ctx->pool;
        ctx->pool = x->next_free;
        xfer_free(x);
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
static void on_defer(struct ev_loop *loop, ev_timer *w, int revents);

static xfer_t *xfer_get(ccd_http_ctx_t *ctx)
{
    xfer_t *x = ctx->pool;
    if (x) {
        ctx->pool = x->next_free;
        ctx->npool--;
    } else if (!(x = calloc(1, sizeof(*x)))) {
        return NULL;
    }
    if (++ctx->inflight > ctx->peak)
        ctx->peak = ctx->inflight;
    if (x->ctx)
        return x;
    x->ctx = ctx;
    ccd_http_parser_init(&x->parser);
    ccd_connect_init(&x->connect, ctx->loop, ctx->dns, ctx->tls);
    ev_init(&x->timer, on_timeout);
    ev_init(&x->defer, on_defer);
    x->timer.data = x->defer.data = x;
    return x;
}

static void xfer_put(xfer_t *x)
{
    ccd_http_parser_trim(&x->parser, KEEP_BUF_MAX);
    if (x->w.cap > KEEP_BUF_MAX)
        ccd_buf_free(&x->w);
    x->next_free = x->ctx->pool;
    x->ctx->pool = x;
    x->ctx->npool++;
    x->ctx->inflight--;
}

/* ---- completion ---- */

/* Stops everything the request watches but its connection's socket. */
static void stop_watchers(xfer_t *x)
{
    struct ev_loop *loop = x->ctx->loop;
    ev_timer_stop(loop, &x->timer);
    ev_timer_stop(loop, &x->defer);
    if (ccd_connect_busy(&x->connect))
        ccd_connect_cancel(&x->connect);
}

/* Closes the socket (the conn struct stays in its session for the next request). */
static void conn_close(struct ev_loop *loop, conn_t *c, bool clean)
{
    if (c->state == C_IDLE || (c->state == C_H2 && c->nstreams == 0))
        ev_ref(loop);
    ev_io_stop(loop, &c->io);
    ev_prepare_stop(loop, &c->flush);
    ccd_h2_free(c->h2);
    c->h2 = NULL;
    ccd_conn_close(&c->sock, &c->tls_sess, clean);
    c->state = C_CLOSED;
    c->served = 0;
    c->x = NULL;
}

/* Takes x off its session's list of requests in flight (x is on it). */
static void live_remove(ccd_http_session_t *s, xfer_t *x)
{
    xfer_t **p = &s->live;
    while (*p != x)
        p = &(*p)->next_live;
    *p = x->next_live;
}

static void deliver(xfer_t *x)
{
    live_remove(x->s, x);
    ccd_http_response_t res = {
        .err = x->err, .errmsg = x->errmsg, .local = x->local, .elapsed_us = x->elapsed_us};
    res.host = (ccd_slice_t){x->origin->host, strlen(x->origin->host)};
    res.target = x->target;
    res.http2 = x->h2;
    if (!x->err) {
        const ccd_http_parser_t *p = &x->parser;
        res.status = p->status;
        res.reason = p->reason;
        for (size_t i = 0; i < p->nheaders + p->ntrailers; i++)
            x->ctx->hdrs[i] = ccd_http_parser_header(p, i);
        res.headers = x->ctx->hdrs;
        res.nheaders = p->nheaders;
        res.trailers = x->ctx->hdrs + p->nheaders;
        res.ntrailers = p->ntrailers;
        res.body = p->body;
        res.bytes = p->body_bytes;
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
    stop_watchers(x);
    if (x->c)
        x->c->x = NULL;
    x->c = NULL;
    if (x->s->waiting) /* before the callback, which may free the session */
        take_waiting(x->s, x->origin);
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
    if (ccd_connect_busy(&x->connect))
        ccd_connect_cancel(&x->connect); /* its socket is about to close */
    if (x->c && x->c->state == C_H2) {   /* the other streams go on */
        conn_t *c = x->c;
        h2_detach(x, true);
        if (!c->reading)
            h2_flush(x->ctx, c); /* the reset goes out now */
    } else if (x->c)
        conn_close(x->ctx->loop, x->c, false);
    finish(x, err);
}

/* A response is complete: the connection stays for the next request only if both sides agree
 * and nothing unexpected followed the response. An idle connection stays watched for reading
 * (as it was while reading, so keeping it costs no system call): a server's close is noticed
 * at once and bytes nobody asked for never pass for the next response. */
static void complete(xfer_t *x, bool extra_bytes)
{
    conn_t *c = x->c;
    x->errmsg[0] = '\0';
    if (x->parser.keep_alive && !extra_bytes) {
        c->served++;
        c->state = C_IDLE;
        ev_unref(x->ctx->loop); /* idle connections do not keep ev_run() going */
    } else {
        conn_close(x->ctx->loop, c, true);
    }
    finish(x, 0);
}

/* A response that had begun to arrive says where it stopped: a slow server and a silent one
 * are told apart. */
static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    xfer_t *x = w->data;
    char t[32];
    const char *after = ccd_duration_format(x->timeout, t, sizeof(t));
    if (x->c && x->c->state == C_BUSY && x->parser.started)
        fail(x, CCD_ETIMEDOUT, "timeout after %s (response incomplete, in %s)", after,
             ccd_http_parser_where(&x->parser));
    else
        fail(x, CCD_ETIMEDOUT, "timeout after %s", after);
}

/* ---- socket plumbing ---- */

/* Watches the socket for events, touching libev only on a change (ev_io_set adds a flag of
 * its own to the watcher's events, hence the mask). */
static void watch(ccd_http_ctx_t *ctx, conn_t *c, int events)
{
    if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(ctx->loop, &c->io);
    ev_io_set(&c->io, c->sock.fd, events);
    ev_io_start(ctx->loop, &c->io);
}

/* What a failure on a kept-alive connection adds to its message: a request is sent once and
 * never again behind the script's back (the server may have acted on it), so a reused
 * connection that the server closed as the request went out fails the request. Most such
 * closes are seen earlier, while the connection is idle (see idle_readable()). */
static const char *reuse_note(const xfer_t *x)
{
    return x->c->served > 0 ? ", reused keep-alive connection" : "";
}

/* ---- HTTP/2: a connection carrying the session's requests to its origin as streams ---- */

/* Takes x off its connection's streams (resetting the stream when it is still open). */
static void h2_detach(xfer_t *x, bool reset)
{
    conn_t *c = x->c;
    if (reset)
        ccd_h2_cancel(c->h2, x->h2id);
    x->h2id = 0;
    x->c = NULL;
    if (--c->nstreams == 0)
        ev_unref(x->ctx->loop); /* an idle connection does not keep ev_run() going */
}

/* Writes the frames nghttp2 has ready; waits for the socket when it is full. Returns 0 or a
 * negative error (the connection is broken). */
static int h2_flush(ccd_http_ctx_t *ctx, conn_t *c)
{
    for (;;) {
        const char *buf;
        long len = ccd_h2_pending(c->h2, &buf);
        if (len < 0)
            return (int)len;
        if (len == 0) {
            watch(ctx, c, EV_READ);
            return 0;
        }
        ssize_t n = ccd_conn_write(&c->sock, buf, (size_t)len);
        if (n == -EAGAIN) {
            watch(ctx, c, EV_READ | EV_WRITE);
            return 0;
        }
        if (n < 0)
            return (int)n;
        ccd_h2_sent(c->h2, (size_t)n);
    }
}

/* Ends a stream's request from inside nghttp2's callbacks: its delivery waits for the loop,
 * since the callback may free the session (and the connection with it). */
static void stream_end(xfer_t *x, int err)
{
    if (x->c)
        h2_detach(x, false);
    x->in_send = true;
    finish(x, err);
    x->in_send = false;
}

static int h2_on_header(void *stream, int32_t id, ccd_slice_t name, ccd_slice_t value, bool trailer)
{
    xfer_t *x = stream;
    if (x->h2id != id)
        return 0;
    if (name.len > 0 && name.base[0] == ':') {
        if (ccd_slice_eq_str(name, ":status")) {
            if (x->h2status >= 100 && x->h2status < 200) /* the final response after a 1xx */
                ccd_http_parser_drop_fields(&x->parser);
            x->h2status = atoi(value.base);
        }
        return 0;
    }
    x->err = trailer ? ccd_http_parser_add_trailer(&x->parser, name, value)
                     : ccd_http_parser_add_header(&x->parser, name, value);
    return x->err; /* nonzero: nghttp2 resets the stream, and its close reports why */
}

static int h2_on_data(void *stream, int32_t id, const char *buf, size_t len)
{
    xfer_t *x = stream;
    if (x->h2id == id)
        x->err = ccd_http_parser_add_body(&x->parser, buf, len);
    return x->h2id == id ? x->err : 0;
}

static void h2_on_close(void *conn, void *stream, int32_t id, uint32_t error, bool refused)
{
    xfer_t *x = stream;
    conn_t *c = conn;
    if (x->h2id != id || x->c != c)
        return;
    if (x->err == CCD_ETOOBIG) {
        snprintf(x->errmsg, sizeof(x->errmsg),
                 "response headers over the limit (%d bytes, %d fields)", CCD_HTTP_MAX_HEADER_BYTES,
                 CCD_HTTP_MAX_HEADERS);
        stream_end(x, CCD_ETOOBIG);
    } else if (x->err) {
        snprintf(x->errmsg, sizeof(x->errmsg), "%s", ccd_strerror(x->err));
        stream_end(x, x->err);
    } else if (refused) {
        snprintf(x->errmsg, sizeof(x->errmsg), "stream not processed: the server sent GOAWAY (%s)",
                 ccd_h2_error_name(c->goaway));
        stream_end(x, CCD_ECLOSED);
    } else if (error) {
        snprintf(x->errmsg, sizeof(x->errmsg), "stream reset by the server: RST_STREAM %s (0x%x)",
                 ccd_h2_error_name(error), (unsigned)error);
        stream_end(x, CCD_EPROTO);
    } else if (x->h2status < 100) {
        snprintf(x->errmsg, sizeof(x->errmsg), "malformed response: no status (HTTP/2)");
        stream_end(x, CCD_EPROTO);
    } else {
        ccd_http_parser_done(&x->parser, x->h2status);
        x->errmsg[0] = '\0';
        stream_end(x, 0);
    }
}

static void h2_on_goaway(void *conn, uint32_t error)
{
    ((conn_t *)conn)->goaway = error;
}

static const ccd_h2_cbs_t h2_cbs = {
    .header = h2_on_header, .data = h2_on_data, .close = h2_on_close, .goaway = h2_on_goaway};

/* Puts x on connection c as a new stream. */
static void h2_attach(xfer_t *x, conn_t *c)
{
    ccd_http_parser_reset(&x->parser, x->head);
    x->parser.max_body = x->max_body;
    x->h2 = true;
    x->h2status = 0;
    int32_t id = ccd_h2_submit(c->h2, x->w.base, x->w.len, c->tls, &x->h2body, x);
    if (id < 0) {
        x->c = NULL;
        fail(x, id, "cannot send the request over HTTP/2: %s", ccd_strerror(id));
        return;
    }
    x->h2id = id;
    if (c->nstreams++ == 0)
        ev_ref(x->ctx->loop);
    /* Inside a read, nghttp2 is in a callback: the frames go out when the read is over.
     * Otherwise they go out before the loop next waits, with every other stream started on the
     * connection meanwhile (a batch), in one write. A broken connection shows when it is read,
     * failing every stream on it. */
    if (!c->reading)
        ev_prepare_start(x->ctx->loop, &c->flush);
}

/* Fails every request on an HTTP/2 connection, then closes it. */
static void h2_fail_all(ccd_http_session_t *s, conn_t *c, int err, const char *why)
{
    /* The connection closes before the requests end: a request waiting for the origin, which
     * an ending one hands a connection to, must find it closed. */
    for (xfer_t *x = s->live; x; x = x->next_live) {
        if (x->c == c && x->h2id > 0) {
            h2_detach(x, false);
            x->h2id = -1;
        }
    }
    conn_close(s->ctx->loop, c, false);
    for (xfer_t *x = s->live; x; x = x->next_live) {
        if (x->h2id == -1) {
            x->h2id = 0;
            snprintf(x->errmsg, sizeof(x->errmsg), "%s", why);
            stream_end(x, err);
        }
    }
}

/* Before the loop waits: writes the frames of the streams started since it last waited. */
static void on_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
    conn_t *c = (conn_t *)((char *)w - offsetof(conn_t, flush));
    (void)revents;
    ev_prepare_stop(loop, w);
    if (c->state != C_H2)
        return;
    ccd_http_session_t *s = c->io.data;
    int rc = h2_flush(s->ctx, c);
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s (writing the request, HTTP/2)", ccd_strerror(rc));
        h2_fail_all(s, c, rc, why);
    }
}

/* The connection's socket is ready: drain it into nghttp2, then write what it answers. A
 * connection the server is done with (GOAWAY, and its last stream over) is closed. */
static void h2_io(ccd_http_session_t *s, conn_t *c)
{
    char *buf = s->ctx->rbuf;
    char why[160];
    int rc;
    for (;;) {
        ssize_t n = ccd_conn_read(&c->sock, buf, READ_BUF_SIZE);
        if (n == -EAGAIN)
            break;
        if (n <= 0) {
            snprintf(why, sizeof(why), "%s (reading the response, HTTP/2)",
                     n == 0 ? "connection closed before the response completed"
                            : ccd_strerror((int)n));
            h2_fail_all(s, c, n == 0 ? CCD_ECLOSED : (int)n, why);
            return;
        }
        c->reading = true;
        rc = ccd_h2_recv(c->h2, buf, (size_t)n);
        c->reading = false;
        if (rc < 0) {
            h2_fail_all(s, c, CCD_EPROTO, "malformed response: HTTP/2 protocol error");
            return;
        }
    }
    rc = h2_flush(s->ctx, c);
    if (rc < 0) {
        snprintf(why, sizeof(why), "%s (writing the request, HTTP/2)", ccd_strerror(rc));
        h2_fail_all(s, c, rc, why);
    } else if (c->nstreams == 0 && !ccd_h2_open(c->h2)) {
        conn_close(s->ctx->loop, c, true);
    }
}

/* Whether an HTTP/2 connection can take a new stream; an event of its socket waiting in the
 * loop's queue is handled first, as for an idle HTTP/1.1 connection. */
static bool h2_usable(ccd_http_session_t *s, conn_t *c)
{
    if (ev_is_pending(&c->io)) {
        ev_clear_pending(s->ctx->loop, &c->io);
        h2_io(s, c);
    }
    return c->state == C_H2 && ccd_h2_open(c->h2);
}

/* The connection just opened speaks HTTP/2: x and every request waiting for the origin go on
 * it as streams. */
static void h2_begin(xfer_t *x, conn_t *c)
{
    c->h2 = ccd_h2_new(&h2_cbs, c);
    if (!c->h2) {
        fail(x, CCD_ENOMEM, "%s", ccd_strerror(CCD_ENOMEM));
        return;
    }
    c->state = C_H2;
    c->x = NULL;
    c->nstreams = 0;
    c->goaway = 0;
    ev_unref(x->ctx->loop); /* the baseline of a connection with no stream */
    watch(x->ctx, c, EV_READ);
    h2_attach(x, c);
    while (x->s->waiting && take_waiting(x->s, c))
        ;
}

/* ---- request state machine: connect, handshake, write, read ---- */

static void do_write(xfer_t *x)
{
    conn_t *c = x->c;
    while (x->woff < x->w.len) {
        ssize_t n = ccd_conn_write(&c->sock, x->w.base + x->woff, x->w.len - x->woff);
        if (n == -EAGAIN) {
            watch(x->ctx, c, EV_WRITE);
            return;
        }
        if (n < 0) {
            int err = (int)n;
            fail(x, err, "%s (writing the request%s)", ccd_strerror(err), reuse_note(x));
            return;
        }
        x->woff += (size_t)n;
    }
    watch(x->ctx, c, EV_READ);
}

static void on_eof(xfer_t *x)
{
    if (ccd_http_parser_finish(&x->parser) == CCD_HTTP_PARSE_DONE) {
        complete(x, false);
        return;
    }
    if (x->parser.started)
        fail(x, CCD_ECLOSED, "connection closed before the response completed (in %s)",
             ccd_http_parser_where(&x->parser));
    else if (x->c->served > 0)
        fail(x, CCD_ECLOSED, "connection closed without a response (reused keep-alive connection)");
    else
        fail(x, CCD_ECLOSED, "connection closed without a response");
}

static const char *error_reason(xfer_t *x)
{
    const char *r = llhttp_get_error_reason(&x->parser._ll);
    return r ? r : "parse error";
}

static void on_parse_error(xfer_t *x, int rc)
{
    if (rc == CCD_ETOOBIG) {
        fail(x, rc, "response headers over the limit (%d bytes, %d fields)",
             CCD_HTTP_MAX_HEADER_BYTES, CCD_HTTP_MAX_HEADERS);
        return;
    }
    if (rc == CCD_EPROTO) {
        fail(x, rc, "malformed response: %s (in %s)", error_reason(x),
             ccd_http_parser_where(&x->parser));
        return;
    }
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
        if (n == 0) {
            on_eof(x);
            return;
        }
        if (n < 0) {
            int err = (int)n;
            fail(x, err, "%s (reading the response%s)", ccd_strerror(err),
                 x->parser.started ? "" : reuse_note(x));
            return;
        }
        size_t used;
        int rc = ccd_http_parser_feed(&x->parser, buf, (size_t)n, &used);
        if (rc == CCD_HTTP_PARSE_DONE) {
            complete(x, used < (size_t)n || ccd_conn_pending(&x->c->sock));
            return;
        }
        if (rc < 0) {
            on_parse_error(x, rc);
            return;
        }
    }
}

static void start_write(xfer_t *x)
{
    x->c->state = C_BUSY;
    x->woff = 0;
    ccd_http_parser_reset(&x->parser, x->head);
    x->parser.max_body = x->max_body;
    do_write(x);
}

/* The connection is open (or could not be): the request goes on it. */
static void on_connected(void *ud, int err, const char *msg)
{
    xfer_t *x = ud;
    if (err) {
        x->local = ccd_connect_local_failure(err);
        fail(x, err, "%s", msg);
        return;
    }
    conn_t *c = x->c;
    if (c->tls ? c->sock.ssl && ccd_tls_is_h2(c->sock.ssl) : c->http2 == CCD_HTTP2_PRIOR) {
        h2_begin(x, c);
        return;
    }
    c->h1_seen = c->tls && c->http2 == CCD_HTTP2_ALPN;
    /* Before the write, whose failure may end x and free the session. */
    if (c->h1_seen && x->s->waiting)
        spread_waiting(x->s, c, x->per_origin);
    start_write(x);
}

/* Opens the session's connection to the request's origin: resolve, connect, TLS (offering
 * the session's last TLS session for resumption). */
static void conn_open(xfer_t *x)
{
    conn_t *c = x->c;
    c->state = C_CONNECTING;
    c->x = x;
    ccd_connect_opts_t o = {.host = c->host,
                            .port = c->port,
                            .tls = c->tls,
                            .insecure = c->insecure,
                            .alpn_h2 = c->http2 != CCD_HTTP2_OFF,
                            .name_address = true,
                            .resume = c->tls_sess,
                            .timeout = x->connect_timeout};
    ccd_connect_start(&x->connect, &c->sock, &o, on_connected, x);
}

/* An idle connection became readable: the server closed it (or reset it, or sent bytes no
 * request asked for), and it is closed so that the next request opens a fresh one. TLS
 * records with no data (session tickets) leave it idle. */
static void idle_readable(struct ev_loop *loop, conn_t *c)
{
    char buf[512];
    ssize_t n = ccd_conn_read(&c->sock, buf, sizeof(buf));
    if (n == -EAGAIN)
        return;
    conn_close(loop, c, n == 0);
}

/* Whether an idle connection can take a request. Its readiness may be waiting in the loop's
 * queue, not yet handled: libev runs the expired timers of an iteration (a user's wait ending)
 * before the socket events gathered in the same poll, so a user can wake and send in the very
 * iteration that brought the server's close. Handling that event first costs no system call. */
static bool idle_usable(struct ev_loop *loop, conn_t *c)
{
    if (ev_is_pending(&c->io)) {
        ev_clear_pending(loop, &c->io);
        idle_readable(loop, c);
    }
    return c->state == C_IDLE;
}

/* One callback for the connection's socket, dispatching on its state. */
static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    conn_t *c = (conn_t *)w;
    xfer_t *x = c->x;
    if (!x) {
        if (c->state == C_IDLE)
            idle_readable(loop, c);
        else if (c->state == C_H2)
            h2_io(c->io.data, c);
        else
            ev_io_stop(loop, w);
        return;
    }
    if (c->state != C_BUSY)
        ev_io_stop(loop, w);
    else if (x->woff < x->w.len)
        do_write(x);
    else
        do_read(x);
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
        conn_close(s->ctx->loop, c, false);
        SSL_SESSION_free(c->tls_sess);
        free(c);
    }
    free(s);
}

static bool conn_matches(const conn_t *c, const ccd_url_t *u, bool insecure, uint8_t http2)
{
    bool tls = u->scheme_kind == CCD_URL_HTTPS;
    return c->tls == tls && c->port == u->port && (!tls || c->insecure == insecure) &&
           c->http2 == http2 && ccd_slice_ieq_str(u->host, c->host);
}

static bool same_origin(const conn_t *a, const conn_t *b)
{
    return a->tls == b->tls && a->port == b->port && (!a->tls || a->insecure == b->insecure) &&
           a->http2 == b->http2 && strcasecmp(a->host, b->host) == 0;
}

/* A new (closed) connection to the URL's origin in the session; NULL when out of memory. */
static conn_t *conn_alloc(ccd_http_session_t *s, ccd_slice_t host)
{
    conn_t *c = calloc(1, sizeof(*c) + host.len + 1);
    if (!c)
        return NULL;
    memcpy(c->host, host.base, host.len);
    ev_init(&c->io, on_io);
    ev_prepare_init(&c->flush, on_flush);
    c->io.data = s;
    c->sock.fd = -1;
    c->next = s->conns;
    s->conns = c;
    return c;
}

static conn_t *conn_new(ccd_http_session_t *s, const ccd_url_t *u, bool insecure, uint8_t http2)
{
    conn_t *c = conn_alloc(s, u->host);
    if (!c)
        return NULL;
    c->http2 = http2;
    c->port = u->port;
    c->tls = u->scheme_kind == CCD_URL_HTTPS;
    c->insecure = insecure;
    return c;
}

/* A closed connection to c's origin: one the session has, else a new one (NULL when out of
 * memory). */
static conn_t *conn_closed_like(ccd_http_session_t *s, const conn_t *c)
{
    for (conn_t *o = s->conns; o; o = o->next)
        if (o->state == C_CLOSED && same_origin(o, c))
            return o;
    conn_t *o = conn_alloc(s, (ccd_slice_t){c->host, strlen(c->host)});
    if (!o)
        return NULL;
    o->http2 = c->http2;
    o->port = c->port;
    o->tls = c->tls;
    o->insecure = c->insecure;
    o->h1_seen = c->h1_seen;
    return o;
}

static bool origin_waiting(const ccd_http_session_t *s, const conn_t *c)
{
    for (const xfer_t *x = s->waiting; x; x = x->next_live)
        if (same_origin(x->origin, c))
            return true;
    return false;
}

/* The origin answered ALPN with HTTP/1.1: the requests that waited for the handshake go on
 * connections of their own up to their limit, as any HTTP/1.1 requests do. */
static void spread_waiting(ccd_http_session_t *s, const conn_t *c, unsigned limit)
{
    unsigned in_use = 0;
    for (conn_t *o = s->conns; o; o = o->next)
        in_use += o->state != C_CLOSED && o->state != C_IDLE && same_origin(o, c);
    while (in_use < (limit ? limit : 1) && origin_waiting(s, c)) {
        conn_t *o = conn_closed_like(s, c);
        if (!o || !take_waiting(s, o))
            return;
        in_use++;
    }
}

/* The connection a request to the URL's origin goes on: an idle one (kept alive), else,
 * while fewer than `limit` connections to the origin are in use, a closed one (its TLS
 * session kept for resumption) or a new one. Returns 0 with *out set; 1 when the request
 * must wait, *out then a connection in use to the origin; CCD_ENOMEM. A lone request finds
 * its origin's first connection idle or closed: the usual case costs one pass that stops at
 * the first match. */
static int conn_pick(ccd_http_session_t *s, const ccd_url_t *u, bool insecure, uint8_t http2,
                     unsigned limit, conn_t **out)
{
    conn_t *closed = NULL, *busy = NULL, *handshaking = NULL;
    unsigned in_use = 0;
    bool h1 = false;
    for (conn_t *c = s->conns; c; c = c->next) {
        if (!conn_matches(c, u, insecure, http2))
            continue;
        if ((c->state == C_IDLE && idle_usable(s->ctx->loop, c)) ||
            (c->state == C_H2 && h2_usable(s, c))) {
            *out = c;
            return 0;
        }
        h1 |= c->h1_seen;
        if (c->state == C_CLOSED) {
            closed = closed ? closed : c;
        } else if (c->state != C_H2) { /* an HTTP/2 connection past GOAWAY takes no stream */
            busy = c;
            in_use++;
            if (c->state == C_CONNECTING && http2 != CCD_HTTP2_OFF)
                handshaking = c;
        }
    }
    /* A connection being opened may turn out to speak HTTP/2, then taking every request. */
    if (handshaking && !h1) {
        *out = handshaking;
        return 1;
    }
    if (busy && in_use >= (limit ? limit : 1)) {
        *out = busy;
        return 1;
    }
    *out = closed ? closed : conn_new(s, u, insecure, http2);
    return *out ? 0 : CCD_ENOMEM;
}

static void xfer_start(xfer_t *x, ccd_http_session_t *s, const ccd_http_request_t *req,
                       ccd_http_cb cb, void *ud)
{
    x->s = s;
    x->cb = cb;
    x->ud = ud;
    x->err = 0;
    x->local = false;
    x->h2 = false;
    x->errmsg[0] = '\0';
    x->head = ccd_slice_eq_str(req->method, "HEAD");
    x->timeout = req->timeout;
    x->connect_timeout = req->connect_timeout;
    x->max_body = req->limit_body ? req->max_body : SIZE_MAX;
    x->per_origin = req->per_origin;
}

/* Puts x on connection c (idle, or closed and opened now) and starts its clock and timeout:
 * the time a request waited for a connection is not its response time. */
static void xfer_launch(xfer_t *x, conn_t *c)
{
    struct ev_loop *loop = x->ctx->loop;
    x->next_live = x->s->live;
    x->s->live = x;
    x->c = x->origin = c;
    x->in_send = true;
    x->t0 = ccd_clock_us();
    /* The loop's cached time may be stale when send() runs outside its callbacks; timers
     * based on it would fire early. */
    if (x->timeout > 0 || x->connect_timeout > 0)
        ev_now_update(loop);
    if (x->timeout > 0) {
        ev_timer_set(&x->timer, x->timeout, 0.);
        ev_timer_start(loop, &x->timer);
    }
    if (c->state == C_IDLE) {
        ev_ref(loop);
        c->x = x;
        start_write(x);
    } else if (c->state == C_H2) {
        h2_attach(x, c);
    } else {
        conn_open(x);
    }
    x->in_send = false;
}

/* Connection c (to a request's origin) has just become free, idle or closed: the oldest
 * request waiting for that origin goes on it. */
static bool take_waiting(ccd_http_session_t *s, conn_t *c)
{
    xfer_t **p = &s->waiting, *prev = NULL;
    while (*p && !same_origin((*p)->origin, c)) {
        prev = *p;
        p = &(*p)->next_live;
    }
    xfer_t *x = *p;
    if (!x || c->x)
        return false;
    *p = x->next_live;
    if (s->waiting_end == x)
        s->waiting_end = prev;
    x->waiting = false;
    if (c->state == C_IDLE)
        idle_usable(s->ctx->loop, c); /* closes it if the server did */
    xfer_launch(x, c);
    return true;
}

static void wait_for_conn(ccd_http_session_t *s, xfer_t *x, conn_t *busy)
{
    x->waiting = true;
    x->origin = busy;
    x->next_live = NULL;
    if (s->waiting_end)
        s->waiting_end->next_live = x;
    else
        s->waiting = x;
    s->waiting_end = x;
}

int ccd_http_send(ccd_http_session_t *s, const ccd_http_request_t *req, ccd_http_cb cb, void *ud)
{
    if (req->method.len == 0)
        return CCD_EINVAL;
    ccd_url_t parsed;
    const ccd_url_t *u = req->parsed;
    if (!u) {
        if (ccd_url_parse(req->url.base, req->url.len, &parsed))
            return CCD_EURL;
        u = &parsed;
    }
    if (u->scheme_kind == CCD_URL_OTHER || u->host.len > MAX_HOST)
        return CCD_EURL;
    if (u->scheme_kind == CCD_URL_HTTPS) /* a failure shows when the connection sets up TLS */
        ccd_tls_prepare(s->ctx->tls, req->insecure);
    xfer_t *x = xfer_get(s->ctx);
    conn_t *c = NULL;
    uint8_t http2 = u->scheme_kind == CCD_URL_HTTPS || req->http2 == CCD_HTTP2_PRIOR
                        ? req->http2
                        : CCD_HTTP2_OFF;
    int rc = x ? conn_pick(s, u, req->insecure, http2, req->per_origin, &c) : CCD_ENOMEM;
    if (rc < 0 || ccd_http_request_serialise(req, u, s->ctx->user_agent, &x->w)) {
        if (x)
            xfer_put(x);
        return CCD_ENOMEM;
    }
    /* The request line is "METHOD SP path query SP HTTP/1.1". */
    x->target = (ccd_slice_t){x->w.base + req->method.len + 1, u->path.len + u->query.len};
    xfer_start(x, s, req, cb, ud);
    if (rc == 1)
        wait_for_conn(s, x, c);
    else
        xfer_launch(x, c);
    return 0;
}

/* Cancels x (in flight or waiting) without its callback; the connection it used is closed. */
static void xfer_cancel(ccd_http_session_t *s, xfer_t *x)
{
    stop_watchers(x);
    if (x->c && x->c->state == C_H2) {
        conn_t *c = x->c;
        h2_detach(x, true);
        h2_flush(s->ctx, c);
    } else if (x->c) {
        conn_close(s->ctx->loop, x->c, false);
    }
    x->c = NULL;
    x->waiting = false;
    xfer_put(x);
}

void ccd_http_cancel(ccd_http_session_t *s)
{
    while (s->waiting) {
        xfer_t *x = s->waiting;
        s->waiting = x->next_live;
        xfer_cancel(s, x);
    }
    s->waiting_end = NULL;
    while (s->live) {
        xfer_t *x = s->live;
        s->live = x->next_live;
        xfer_cancel(s, x);
    }
}

bool ccd_http_cancel_ud(ccd_http_session_t *s, void *ud)
{
    bool sent = false;
    for (xfer_t **p = &s->waiting, *prev = NULL; *p;) {
        xfer_t *x = *p;
        if (x->ud != ud) {
            prev = x;
            p = &x->next_live;
            continue;
        }
        *p = x->next_live;
        if (s->waiting_end == x)
            s->waiting_end = prev;
        xfer_cancel(s, x);
    }
    for (xfer_t **p = &s->live; *p;) {
        xfer_t *x = *p;
        if (x->ud != ud) {
            p = &x->next_live;
            continue;
        }
        *p = x->next_live;
        conn_t *c = x->origin;
        xfer_cancel(s, x);
        sent = true;
        if (s->waiting) /* its connection, closed, is free for a waiting request */
            take_waiting(s, c);
    }
    return sent;
}
