/* One client connection: reads, parses requests with llhttp, routes them, writes responses. */
#include "conn.h"

#include "counters.h"
#include "routes.h"
#include "ws.h"

#include <errno.h>
#include <ev.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_SIZE     (16 * 1024)
#define OUT_HIGH    (256 * 1024) /* pending output above which pipelined requests wait */
#define OUT_KEEP    (256 * 1024) /* output buffer kept between responses */
#define STREAM_LOW  (64 * 1024)  /* a streamed body is refilled below this much pending */
#define PATTERN_LEN (16 * 1024)
#define LINGER_SECS 2.0

struct tgt_conn {
    tgt_reqbuf_t rb; /* first: the parser's data points here */
    llhttp_t parser;
    struct ev_loop *loop;
    ev_io rio, wio;
    ev_timer timer; /* a held response, then the lingering close */
    tgt_conn_list_t *list;
    tgt_conn_t *prev, *next;
    int fd;

    tgt_buf_t out; /* responses; out.data[sent..] is still to be written */
    size_t sent;
    size_t hold_mark; /* while held, only out.data[..hold_mark] may be written */
    tgt_buf_t scratch;
    tgt_ws_t ws;          /* after an upgrade, frames replace requests */
    tgt_conn_mode_t mode; /* of the request being answered */
    int status;           /* of the last response queued */
    int head;             /* the request being answered is HEAD */
    int http_minor;

    uint64_t stream_left; /* bytes of the streamed body still to generate */
    size_t stream_chunk;  /* chunk size, 0 for Content-Length framing */
    uint64_t stream_pos;  /* bytes generated so far, to keep the pattern continuous */

    unsigned held : 1, streaming : 1, closing : 1, eof : 1, lingering : 1;
    size_t in_off, in_len;
    char in[IN_SIZE];
};

static char pattern[PATTERN_LEN + 26];
static llhttp_settings_t settings;

static tgt_conn_t *conn_of(llhttp_t *p)
{
    return (tgt_conn_t *)((char *)p->data - offsetof(tgt_conn_t, rb));
}

static size_t pending(const tgt_conn_t *c)
{
    return (c->held ? c->hold_mark : c->out.len) - c->sent;
}

/* Parsing stops at a request boundary while this holds and resumes when it no longer does. */
static int must_pause(const tgt_conn_t *c)
{
    return c->closing || c->held || c->streaming || c->out.len - c->sent > OUT_HIGH;
}

static void conn_free(tgt_conn_t *c)
{
    ev_io_stop(c->loop, &c->rio);
    ev_io_stop(c->loop, &c->wio);
    ev_timer_stop(c->loop, &c->timer);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->list->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    tgt_reqbuf_free(&c->rb);
    tgt_buf_free(&c->out);
    tgt_buf_free(&c->scratch);
    tgt_ws_free(&c->ws);
    free(c);
}

/* ---- Replies, called by route handlers from on_message_complete. */

void tgt_reply(tgt_conn_t *c, int status, const char *ctype, const char *extra, const void *body,
               size_t len)
{
    int bodiless = tgt_wire_bodiless(status);
    c->status = status;
    tgt_wire_head(&c->out, status, ctype, extra, bodiless ? TGT_LEN_NONE : (int64_t)len, c->mode);
    if (!bodiless && !c->head)
        tgt_buf_add(&c->out, body, len);
}

void tgt_reply_canned(tgt_conn_t *c, const tgt_canned_t *r)
{
    if (c->mode != TGT_CONN_KEEP || c->head) {
        tgt_reply(c, r->status, r->ctype, r->extra, r->body, r->len);
        return;
    }
    c->status = r->status;
    tgt_buf_add(&c->out, r->wire.data, r->wire.len);
}

static size_t chunk_size(uint64_t n)
{
    uint64_t k = (n + 3) / 4; /* at least four chunks for n >= 4, and never huge ones */
    return k < 1 ? 1 : k > 16384 ? 16384 : (size_t)k;
}

void tgt_reply_stream(tgt_conn_t *c, int status, const char *ctype, uint64_t n, int chunked)
{
    chunked = chunked && c->http_minor > 0;
    c->status = status;
    tgt_wire_head(&c->out, status, ctype, NULL, chunked ? TGT_LEN_CHUNKED : (int64_t)n, c->mode);
    if (c->head)
        return;
    c->streaming = 1;
    c->stream_left = n;
    c->stream_pos = 0;
    c->stream_chunk = chunked ? chunk_size(n) : 0;
}

void tgt_reply_after(tgt_conn_t *c, double seconds)
{
    c->held = 1;
    c->hold_mark = c->out.len;
    ev_timer_set(&c->timer, seconds, 0.);
    ev_timer_start(c->loop, &c->timer);
}

void tgt_conn_close_after(tgt_conn_t *c)
{
    c->mode = TGT_CONN_CLOSE;
    c->closing = 1;
}

void tgt_conn_websocket(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    int status;
    tgt_ws_mode_t mode = tgt_ws_accept(req, rest, &c->out, &status);
    if (mode == TGT_WS_NONE) {
        const char *reason = tgt_wire_reason(status);
        tgt_reply(c, status, "text/plain", NULL, reason, strlen(reason));
        return;
    }
    c->status = status;
    c->ws.mode = mode;
    c->closing = 0;
}

tgt_buf_t *tgt_conn_scratch(tgt_conn_t *c)
{
    tgt_buf_reset(&c->scratch, OUT_KEEP);
    return &c->scratch;
}

int tgt_conn_status(const tgt_conn_t *c)
{
    return c->status;
}

/* ---- Streamed bodies. */

/* Drops written output so that a long stream reuses the front of the buffer. */
static void compact_out(tgt_conn_t *c)
{
    if (c->held || c->sent == 0)
        return;
    memmove(c->out.data, c->out.data + c->sent, c->out.len - c->sent);
    c->out.len -= c->sent;
    c->sent = 0;
}

static void stream_piece(tgt_conn_t *c, size_t n)
{
    while (n > 0) {
        size_t k = n < PATTERN_LEN ? n : PATTERN_LEN;
        tgt_buf_add(&c->out, pattern + c->stream_pos % 26, k);
        c->stream_pos += k;
        c->stream_left -= k;
        n -= k;
    }
}

static void stream_fill(tgt_conn_t *c)
{
    compact_out(c);
    while (c->streaming && c->out.len - c->sent < STREAM_LOW && !c->out.failed) {
        size_t n = c->stream_chunk ? c->stream_chunk : STREAM_LOW;
        if (n > c->stream_left)
            n = (size_t)c->stream_left;
        if (c->stream_chunk && n > 0)
            tgt_buf_printf(&c->out, "%zx\r\n", n);
        stream_piece(c, n);
        if (c->stream_chunk && n > 0)
            tgt_buf_add(&c->out, "\r\n", 2);
        if (c->stream_left == 0) {
            if (c->stream_chunk)
                tgt_buf_add(&c->out, "0\r\n\r\n", 5);
            c->streaming = 0;
        }
    }
}

/* ---- Parsing. */

static int on_headers_complete(llhttp_t *p)
{
    tgt_conn_t *c = conn_of(p);
    if (tgt_reqbuf_headers_done(&c->rb, p) < 0)
        return -1;
    if (!(p->flags & F_CHUNKED) && p->content_length == 0)
        return 0;
    /* Clients that wait for 100 Continue before sending a body (curl, for large ones). */
    tgt_request_t req;
    tgt_reqbuf_request(&c->rb, p, &req);
    const tgt_str_t *expect = tgt_request_header(&req, "expect");
    if (expect && req.http_minor > 0 && tgt_str_ieq(*expect, "100-continue"))
        tgt_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    tgt_conn_t *c = conn_of(p);
    tgt_request_t req;
    tgt_reqbuf_request(&c->rb, p, &req);
    int keep = llhttp_should_keep_alive(p) && !p->upgrade;
    c->mode = !keep ? TGT_CONN_CLOSE : req.http_minor == 0 ? TGT_CONN_KEEP10 : TGT_CONN_KEEP;
    c->closing = !keep;
    c->head = req.head;
    c->http_minor = req.http_minor;
    tgt_route(c, &req);
    return must_pause(c) ? HPE_PAUSED : 0;
}

/* Answers a request the parser or a limit refused, and ends the connection. */
static void refuse(tgt_conn_t *c)
{
    int status = c->rb.reject ? c->rb.reject : 400;
    const char *reason = tgt_wire_reason(status);
    c->mode = TGT_CONN_CLOSE;
    c->head = 0;
    tgt_reply(c, status, "text/plain", NULL, reason, strlen(reason));
    c->closing = 1;
    tgt_counters_malformed(status);
}

/* After an upgrade the input is frames: whole ones are served, a partial one moves to the
 * front of the buffer to be completed by the next reads. */
static void serve_frames(tgt_conn_t *c)
{
    int end;
    c->in_off += tgt_ws_serve(&c->ws, c->in + c->in_off, c->in_len - c->in_off, &c->out, &end);
    if (end == TGT_WS_CLOSE)
        c->closing = 1;
    if (c->in_off > 0 && c->in_off < c->in_len) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
}

static void parse_input(tgt_conn_t *c)
{
    while (!must_pause(c) && c->in_off < c->in_len) {
        if (c->ws.mode != TGT_WS_NONE) {
            serve_frames(c);
            break;
        }
        const char *at = c->in + c->in_off;
        llhttp_errno_t err = llhttp_execute(&c->parser, at, c->in_len - c->in_off);
        if (err == HPE_PAUSED) {
            c->in_off += (size_t)(llhttp_get_error_pos(&c->parser) - at);
            llhttp_resume(&c->parser);
            continue;
        }
        if (err == HPE_PAUSED_UPGRADE && c->ws.mode != TGT_WS_NONE) {
            c->in_off += (size_t)(llhttp_get_error_pos(&c->parser) - at);
            continue;
        }
        c->in_off = c->in_len;
        if (err != HPE_OK && err != HPE_PAUSED_UPGRADE)
            refuse(c);
    }
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    if (c->eof && c->in_len == 0)
        c->closing = 1; /* a request cut short by the peer's close gets no answer */
}

/* ---- Writing and closing. */

/* Writes what may be written. Returns 0, or -1 when the connection is dead. */
static int flush(tgt_conn_t *c)
{
    for (;;) {
        if (c->streaming)
            stream_fill(c);
        if (c->out.failed)
            return -1;
        size_t n = pending(c);
        if (n == 0)
            break;
        ssize_t w = send(c->fd, c->out.data + c->sent, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->sent += (size_t)w;
        if ((size_t)w < n)
            return 0;
    }
    if (!c->held && c->sent == c->out.len) {
        c->sent = 0;
        tgt_buf_reset(&c->out, OUT_KEEP);
    }
    return 0;
}

static void watch(struct ev_loop *loop, ev_io *w, int on)
{
    if (on && !ev_is_active(w))
        ev_io_start(loop, w);
    else if (!on && ev_is_active(w))
        ev_io_stop(loop, w);
}

/* Once the last response is written, the write side is shut and the socket drained for a
 * while before closing: closing with unread input would reset the connection and could
 * destroy the response before the client reads it. */
static void linger(tgt_conn_t *c)
{
    if (c->eof) {
        conn_free(c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->lingering = 1;
    watch(c->loop, &c->wio, 0);
    watch(c->loop, &c->rio, 1);
    ev_timer_stop(c->loop, &c->timer);
    ev_timer_set(&c->timer, LINGER_SECS, 0.);
    ev_timer_start(c->loop, &c->timer);
}

/* Moves the connection forward as far as it can go without waiting: parse, answer, write,
 * and again while written output makes room for more pipelined requests. Input that parsing
 * leaves as it was (the start of a WebSocket frame) waits for more bytes. */
static void pump(tgt_conn_t *c)
{
    for (;;) {
        size_t left = c->in_len - c->in_off;
        parse_input(c);
        if (flush(c) < 0) {
            conn_free(c);
            return;
        }
        if (must_pause(c) || c->in_len == 0 || pending(c) > 0 || c->in_len - c->in_off == left)
            break;
    }
    if (c->closing && !c->held && !c->streaming && pending(c) == 0) {
        linger(c);
        return;
    }
    int paused = must_pause(c);
    watch(c->loop, &c->rio, !paused && !c->eof && c->in_len < IN_SIZE);
    watch(c->loop, &c->wio, pending(c) > 0 || c->streaming);
}

static void on_lingering_read(tgt_conn_t *c)
{
    ssize_t n = recv(c->fd, c->in, IN_SIZE, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        conn_free(c);
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    tgt_conn_t *c = w->data;
    if (c->lingering) {
        on_lingering_read(c);
        return;
    }
    if (c->in_len == IN_SIZE) { /* only while paused, and reading is off then */
        pump(c);
        return;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, IN_SIZE - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        conn_free(c);
        return;
    }
    if (n == 0)
        c->eof = 1;
    c->in_len += (size_t)n;
    pump(c);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
    pump(w->data);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    tgt_conn_t *c = t->data;
    if (c->lingering) {
        conn_free(c);
        return;
    }
    c->held = 0;
    pump(c);
}

/* ---- Life cycle. */

void tgt_conn_global_init(void)
{
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (char)('a' + i % 26);
    llhttp_settings_init(&settings);
    tgt_reqbuf_settings(&settings);
    settings.on_headers_complete = on_headers_complete;
    settings.on_message_complete = on_message_complete;
}

int tgt_conn_open(struct ev_loop *loop, tgt_conn_list_t *list, int fd)
{
    tgt_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    c->loop = loop;
    c->fd = fd;
    llhttp_init(&c->parser, HTTP_REQUEST, &settings);
    c->parser.data = &c->rb;
    ev_io_init(&c->rio, on_read, fd, EV_READ);
    ev_io_init(&c->wio, on_write, fd, EV_WRITE);
    ev_init(&c->timer, on_timer);
    c->rio.data = c->wio.data = c->timer.data = c;
    c->list = list;
    c->next = list->head;
    if (list->head)
        list->head->prev = c;
    list->head = c;
    ev_io_start(loop, &c->rio);
    tgt_counters_connection();
    return 0;
}

void tgt_conn_close_all(tgt_conn_list_t *list)
{
    while (list->head)
        conn_free(list->head);
}
