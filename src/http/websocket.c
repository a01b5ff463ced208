/* WebSocket client connections (RFC 6455) on a libev loop: the connect machine, the opening
 * handshake, then messages sent and received one operation at a time, pings answered. */
#include "http/websocket.h"

#include "base/error.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define READ_MIN (16 * 1024) /* room offered to each read */

enum { S_CLOSED, S_CONNECTING, S_HANDSHAKE, S_OPEN };
enum { OP_NONE, OP_CONNECT, OP_SEND, OP_RECEIVE, OP_PING, OP_CLOSE };

static void on_io(struct ev_loop *loop, ev_io *io, int revents);
static void on_timeout(struct ev_loop *loop, ev_timer *t, int revents);

void ccd_ws_init(ccd_ws_t *w, struct ev_loop *loop, ccd_dns_t *dns, ccd_tls_t *tls)
{
    memset(w, 0, sizeof(*w));
    w->_loop = loop;
    w->_conn.fd = -1;
    ccd_connect_init(&w->_connect, loop, dns, tls);
    ccd_http_parser_init(&w->_hp);
    ccd_ws_reader_init(&w->_reader, CCD_WS_MAX_MESSAGE);
    ev_init(&w->_io, on_io);
    ev_init(&w->_timer, on_timeout);
    w->_io.data = w->_timer.data = w;
}

bool ccd_ws_busy(const ccd_ws_t *w)
{
    return w->_op != OP_NONE;
}

bool ccd_ws_is_open(const ccd_ws_t *w)
{
    return w->_state == S_OPEN;
}

/* ---- plumbing ---- */

static bool reads(const ccd_ws_t *w)
{
    return w->_op == OP_CONNECT ? w->_state == S_HANDSHAKE : w->_op >= OP_RECEIVE;
}

static void watch(ccd_ws_t *w)
{
    int ev = (reads(w) ? EV_READ : 0) | (w->_sent < w->_out.len ? EV_WRITE : 0);
    ev_io *io = &w->_io;
    if (ev_is_active(io) && io->fd == w->_conn.fd && (io->events & (EV_READ | EV_WRITE)) == ev)
        return;
    ev_io_stop(w->_loop, io);
    if (!ev || w->_conn.fd < 0)
        return;
    ev_io_set(io, w->_conn.fd, ev);
    ev_io_start(w->_loop, io);
}

/* Closes the connection and forgets its bytes; the buffers stay allocated for the next. */
static void shut(ccd_ws_t *w)
{
    ev_io_stop(w->_loop, &w->_io);
    ccd_connect_cancel(&w->_connect);
    ccd_conn_close(&w->_conn, NULL, false);
    w->_state = S_CLOSED;
    w->_in.len = w->_start = w->_out.len = w->_sent = w->_stash.len = w->_stash_off = 0;
    w->_reader._op = 0;
    w->_close_sent = false;
}

/* Ends the operation: the outcome goes to the caller of the API function when still inside
 * it, else to the callback. Nothing touches w after the callback, which may free it. */
static void complete(ccd_ws_t *w, int err, const char *msg)
{
    ev_timer_stop(w->_loop, &w->_timer);
    w->_res.err = err;
    w->_res.msg = err ? msg : NULL;
    w->_res.local = err && w->_op == OP_CONNECT && ccd_connect_local_failure(err);
    w->_op = OP_NONE;
    watch(w);
    if (!w->_in_call)
        w->_cb(w->_ud, &w->_res);
}

static void fail(ccd_ws_t *w, int err, const char *msg)
{
    shut(w);
    complete(w, err, msg);
}

/* Fails with a formatted message kept in the connection. */
static void failf(ccd_ws_t *w, int err, const char *fmt, const char *arg)
{
    snprintf(w->_msg, sizeof(w->_msg), fmt, arg);
    fail(w, err, w->_msg);
}

static bool begin(ccd_ws_t *w, int op, ccd_ws_cb cb, void *ud, ccd_ws_result_t *now)
{
    if (w->_op != OP_NONE) {
        *now = (ccd_ws_result_t){.err = CCD_EINVAL, .msg = "websocket busy"};
        return false;
    }
    if (op != OP_CONNECT && w->_state != S_OPEN) {
        *now = (ccd_ws_result_t){.err = CCD_ECLOSED, .msg = "closed"};
        return false;
    }
    w->_op = (uint8_t)op;
    w->_cb = cb;
    w->_ud = ud;
    w->_in_call = true;
    w->_res = (ccd_ws_result_t){.data = {"", 0}, .close_reason = {"", 0}};
    return true;
}

/* Leaves the API function: the outcome when the operation ended, else the timer starts (on
 * a fresh clock: the loop's cached time may be stale outside its callbacks). */
static int end_call(ccd_ws_t *w, double timeout, ccd_ws_result_t *now)
{
    w->_in_call = false;
    if (w->_op == OP_NONE) {
        *now = w->_res;
        return 0;
    }
    if (timeout > 0) {
        ev_now_update(w->_loop);
        ev_timer_set(&w->_timer, timeout, 0.);
        ev_timer_start(w->_loop, &w->_timer);
    }
    return CCD_WS_PENDING;
}

/* ---- writing ---- */

/* Masking keys need not be secret from the scenario (they guard browsers against scripts
 * that choose the bytes on the wire), only varied: a xorshift generator seeded from OpenSSL
 * per connection costs nothing per frame. */
static void next_mask(ccd_ws_t *w, uint8_t mask[4])
{
    uint64_t x = w->_rng;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    w->_rng = x;
    uint32_t v = (uint32_t)((x * 2685821657736338717ULL) >> 32);
    memcpy(mask, &v, 4);
}

/* Appends a masked frame to the output. */
static int queue_frame(ccd_ws_t *w, int op, const char *data, size_t len)
{
    if (ccd_buf_reserve(&w->_out, CCD_WS_MAX_HEADER + len))
        return CCD_ENOMEM;
    uint8_t mask[4];
    next_mask(w, mask);
    char *p = w->_out.base + w->_out.len;
    size_t hl = ccd_ws_frame_header(p, true, op, len, mask);
    if (len)
        memcpy(p + hl, data, len);
    ccd_ws_mask(p + hl, len, mask, 0);
    w->_out.len += hl + len;
    return 0;
}

/* Writes what the output holds until the socket would block. 0 or a negative error. */
static int flush(ccd_ws_t *w)
{
    while (w->_sent < w->_out.len) {
        ssize_t n = ccd_conn_write(&w->_conn, w->_out.base + w->_sent, w->_out.len - w->_sent);
        if (n == -EAGAIN)
            return 0;
        if (n < 0)
            return (int)n;
        w->_sent += (size_t)n;
    }
    w->_out.len = w->_sent = 0;
    return 0;
}

/* The close frame's payload: the code, then the reason. */
static int queue_close(ccd_ws_t *w, int code, const char *reason, size_t len)
{
    char p[CCD_WS_MAX_CONTROL];
    size_t n = 0;
    if (code) {
        p[0] = (char)(code >> 8), p[1] = (char)code;
        memcpy(p + 2, reason, len);
        n = 2 + len;
    }
    w->_close_sent = true;
    return queue_frame(w, CCD_WS_CLOSE, p, n);
}

/* ---- reading ---- */

/* Reads once into the input, making room first: the bytes move down before the buffer grows,
 * which grows only to the largest frame seen. Returns what ccd_conn_read returns. */
static ssize_t read_more(ccd_ws_t *w)
{
    size_t have = w->_in.len - w->_start;
    size_t want = w->_reader.need > have ? w->_reader.need - have : 0;
    want = want > READ_MIN ? want : READ_MIN;
    if (w->_in.cap - w->_in.len < want && w->_start > 0) {
        memmove(w->_in.base, w->_in.base + w->_start, have);
        w->_in.len = have;
        w->_start = 0;
    }
    if (ccd_buf_reserve(&w->_in, want))
        return CCD_ENOMEM;
    ssize_t n = ccd_conn_read(&w->_conn, w->_in.base + w->_in.len, w->_in.cap - w->_in.len);
    if (n > 0)
        w->_in.len += (size_t)n;
    return n;
}

static void consume(ccd_ws_t *w, size_t n)
{
    w->_start += n;
    if (w->_start == w->_in.len)
        w->_start = w->_in.len = 0; /* the bytes stay in memory until the next read */
}

/* Messages that arrive while a ping waits for its pong: type, length, bytes. */
static int stash(ccd_ws_t *w, const ccd_ws_msg_t *m)
{
    uint64_t len = m->data.len;
    if (ccd_buf_reserve(&w->_stash, 1 + sizeof(len) + m->data.len))
        return CCD_ENOMEM;
    ccd_buf_putc(&w->_stash, (char)m->type);
    ccd_buf_append(&w->_stash, &len, sizeof(len));
    ccd_buf_append(&w->_stash, m->data.base, m->data.len);
    return 0;
}

static bool unstash(ccd_ws_t *w)
{
    if (w->_stash_off == w->_stash.len)
        return false;
    const char *p = w->_stash.base + w->_stash_off;
    uint64_t len;
    memcpy(&len, p + 1, sizeof(len));
    w->_res.type = (unsigned char)p[0];
    w->_res.data = (ccd_slice_t){p + 1 + sizeof(len), (size_t)len};
    w->_stash_off += 1 + sizeof(len) + (size_t)len;
    if (w->_stash_off == w->_stash.len)
        w->_stash_off = w->_stash.len = 0;
    return true;
}

/* The server's close frame: answered (unless ours was sent first), then the connection ends. */
static void on_close_frame(ccd_ws_t *w, const ccd_ws_msg_t *m)
{
    size_t n = m->reason.len < sizeof(w->_reason) ? m->reason.len : sizeof(w->_reason);
    memcpy(w->_reason, m->reason.base, n);
    w->_res.close_code = m->close_code;
    w->_res.close_reason = (ccd_slice_t){w->_reason, n};
    if (w->_op == OP_CLOSE) {
        shut(w);
        complete(w, 0, NULL);
        return;
    }
    if (!w->_close_sent) {
        bool code = m->close_code != CCD_WS_NO_STATUS;
        if (queue_close(w, code ? m->close_code : 0, "", 0) == 0)
            flush(w); /* best effort: the connection ends either way */
    }
    snprintf(w->_msg, sizeof(w->_msg), "closed by the server (%d%s%.*s)", m->close_code,
             n ? " " : "", (int)n, w->_reason);
    shut(w);
    complete(w, CCD_ECLOSED, w->_msg);
}

/* A protocol violation: the server is told why with a close frame, then the connection ends. */
static void on_violation(ccd_ws_t *w, int err, const char *why)
{
    if (!w->_close_sent && queue_close(w, w->_reader.error_code, "", 0) == 0)
        flush(w);
    const char *fmt = err == CCD_ETOOBIG ? "message too big: %s" : "protocol error: %s";
    failf(w, err, fmt, why);
}

/* Acts on one message or control frame. Returns true when it ended the operation. */
static bool on_message(ccd_ws_t *w, const ccd_ws_msg_t *m)
{
    switch (m->type) {
    case CCD_WS_PING:
        if (!w->_close_sent && queue_frame(w, CCD_WS_PONG, m->data.base, m->data.len) == 0)
            flush(w); /* a write error shows on the next read */
        return false;
    case CCD_WS_PONG:
        if (w->_op != OP_PING || !ccd_slice_eq(m->data, (ccd_slice_t){w->_ping, w->_ping_len}))
            return false;
        complete(w, 0, NULL);
        return true;
    case CCD_WS_CLOSE: on_close_frame(w, m); return true;
    default: break;
    }
    if (w->_op == OP_RECEIVE) {
        w->_res.type = m->type;
        w->_res.data = m->data;
        complete(w, 0, NULL);
        return true;
    }
    if (w->_op == OP_PING && stash(w, m)) {
        fail(w, CCD_ENOMEM, "out of memory");
        return true;
    }
    return false; /* OP_CLOSE: messages before the server's close frame are dropped */
}

/* Takes the frames the input holds. Returns true when the operation ended. */
static bool take_frames(ccd_ws_t *w)
{
    if (w->_op == OP_RECEIVE && unstash(w)) {
        complete(w, 0, NULL);
        return true;
    }
    for (;;) {
        size_t used;
        ccd_ws_msg_t m;
        const char *why;
        int rc = ccd_ws_read(&w->_reader, w->_in.base + w->_start, w->_in.len - w->_start, &used,
                             &m, &why);
        if (rc < 0) {
            on_violation(w, rc, why);
            return true;
        }
        if (rc == 0)
            return false;
        consume(w, used);
        if (rc == 1 && on_message(w, &m))
            return true;
    }
}

/* The answer to the upgrade request, fed to the HTTP parser as it arrives. */
static bool take_answer(ccd_ws_t *w)
{
    size_t used;
    int rc = ccd_http_parser_feed(&w->_hp, w->_in.base + w->_start, w->_in.len - w->_start, &used);
    consume(w, used);
    if (rc == CCD_HTTP_PARSE_MORE)
        return false;
    if (rc < 0) {
        failf(w, CCD_EPROTO, "bad handshake: a malformed HTTP answer in %s",
              ccd_http_parser_where(&w->_hp));
        return true;
    }
    w->_res.status = w->_hp.status;
    ccd_slice_t proto;
    if (ccd_ws_check_response(&w->_hp, w->_key, w->_protocols, &proto, w->_msg, sizeof(w->_msg))) {
        fail(w, CCD_EPROTO, w->_msg);
        return true;
    }
    size_t n = proto.len < sizeof(w->_reason) ? proto.len : sizeof(w->_reason);
    memcpy(w->_reason, proto.base, n);
    w->_res.data = (ccd_slice_t){w->_reason, n};
    w->_state = S_OPEN;
    complete(w, 0, NULL);
    return true;
}

/* Says how the stream ended when the server closed it without a close frame. */
static void on_eof(ccd_ws_t *w)
{
    if (w->_state == S_HANDSHAKE) {
        fail(w, CCD_ECLOSED, "the server closed the connection during the handshake");
        return;
    }
    if (w->_op == OP_CLOSE && w->_close_sent) { /* a server that closes without answering */
        w->_res.close_code = 1006;
        shut(w);
        complete(w, 0, NULL);
        return;
    }
    size_t have = w->_in.len - w->_start;
    ccd_ws_frame_t f;
    const char *why;
    if (have && ccd_ws_frame_parse(w->_in.base + w->_start, have, &f, &why) > 0) {
        snprintf(w->_msg, sizeof(w->_msg),
                 "the server closed the connection in the middle of a message (%zu of %llu "
                 "bytes)",
                 have - f.header_len, (unsigned long long)f.len);
        fail(w, CCD_ECLOSED, w->_msg);
    } else if (have || w->_reader._op) {
        fail(w, CCD_ECLOSED, "the server closed the connection in the middle of a message");
    } else {
        fail(w, CCD_ECLOSED, "the server closed the connection without a close frame");
    }
}

/* Moves the operation forward as far as it goes without waiting: writes, then reads and
 * takes what arrived until the operation ends or the socket would block. */
static void pump(ccd_ws_t *w)
{
    int rc = flush(w);
    if (rc < 0) {
        fail(w, rc, ccd_strerror(rc));
        return;
    }
    if (w->_op == OP_SEND && w->_sent == w->_out.len) {
        complete(w, 0, NULL);
        return;
    }
    while (reads(w)) {
        if (w->_state == S_HANDSHAKE ? take_answer(w) : take_frames(w))
            return;
        ssize_t n = read_more(w);
        if (n == -EAGAIN)
            break;
        if (n == 0) {
            on_eof(w);
            return;
        }
        if (n < 0) {
            fail(w, (int)n, ccd_strerror((int)n));
            return;
        }
    }
    watch(w);
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
    ccd_ws_t *w = io->data;
    if (w->_op != OP_NONE) {
        pump(w);
        return;
    }
    if (flush(w) < 0) /* a pong left over from the last operation; an error shows on the next */
        w->_out.len = w->_sent = 0;
    watch(w);
}

static void on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    ccd_ws_t *w = t->data;
    if (w->_op == OP_RECEIVE || w->_op == OP_PING)
        complete(w, CCD_ETIMEDOUT, "timeout");
    else if (w->_op == OP_CLOSE)
        fail(w, CCD_ETIMEDOUT, "timeout waiting for the server's close frame");
    else
        fail(w, CCD_ETIMEDOUT,
             w->_state == S_CONNECTING  ? "connect timeout"
             : w->_state == S_HANDSHAKE ? "handshake timeout"
                                        : "timeout");
}

/* ---- operations ---- */

static void on_connected(void *ud, int err, const char *msg)
{
    ccd_ws_t *w = ud;
    if (err) {
        fail(w, err, msg);
        return;
    }
    w->_state = S_HANDSHAKE;
    pump(w);
}

/* Copies what the connection must keep from the options. */
static int keep_options(ccd_ws_t *w, const ccd_url_t *u, const ccd_ws_connect_opts_t *o)
{
    const char *p = o->protocols ? o->protocols : "";
    if (u->host.len >= sizeof(w->_host) || strlen(p) >= sizeof(w->_protocols))
        return CCD_EINVAL;
    memcpy(w->_host, u->host.base, u->host.len);
    w->_host[u->host.len] = '\0';
    strcpy(w->_protocols, p);
    uint64_t max = o->max_message ? o->max_message : CCD_WS_MAX_MESSAGE;
    w->_reader.max_message = max;
    unsigned char nonce[16];
    if (RAND_bytes(nonce, sizeof(nonce)) != 1 ||
        RAND_bytes((unsigned char *)&w->_rng, sizeof(w->_rng)) != 1)
        return CCD_ENOMEM;
    w->_rng |= 1; /* xorshift needs a nonzero state */
    ccd_ws_key(nonce, w->_key);
    w->_key[CCD_WS_KEY_LEN] = '\0';
    return 0;
}

int ccd_ws_connect(ccd_ws_t *w, const char *url, size_t len, const ccd_ws_connect_opts_t *o,
                   ccd_ws_cb cb, void *ud, ccd_ws_result_t *now)
{
    if (!begin(w, OP_CONNECT, cb, ud, now))
        return 0;
    shut(w);
    ccd_url_t u;
    bool tls;
    if (ccd_ws_url_parse(url, len, &u, &tls)) {
        fail(w, CCD_EURL, "not a ws:// or wss:// URL");
        return end_call(w, 0, now);
    }
    if (keep_options(w, &u, o)) {
        fail(w, CCD_EINVAL, "host name or subprotocol list too long");
        return end_call(w, 0, now);
    }
    ccd_ws_request_t rq = {.key = w->_key,
                           .protocols = w->_protocols,
                           .headers = o->headers,
                           .nheaders = o->nheaders,
                           .user_agent = o->user_agent};
    if (ccd_ws_request(&rq, (ccd_slice_t){url, len}, &u, &w->_out)) {
        fail(w, CCD_ENOMEM, "out of memory");
        return end_call(w, 0, now);
    }
    ccd_http_parser_reset(&w->_hp, false);
    ccd_connect_opts_t co = {.host = w->_host, .port = u.port, .tls = tls, .insecure = o->insecure};
    w->_state = S_CONNECTING;
    ccd_connect_start(&w->_connect, &w->_conn, &co, on_connected, w);
    return end_call(w, o->timeout, now);
}

/* Starts an operation that writes a frame first. */
static int start_with_frame(ccd_ws_t *w, int op, const char *data, size_t len, double timeout,
                            ccd_ws_result_t *now)
{
    if (queue_frame(w, op, data, len))
        fail(w, CCD_ENOMEM, "out of memory");
    else
        pump(w);
    return end_call(w, timeout, now);
}

int ccd_ws_send(ccd_ws_t *w, int type, const char *data, size_t len, double timeout, ccd_ws_cb cb,
                void *ud, ccd_ws_result_t *now)
{
    if (!begin(w, OP_SEND, cb, ud, now))
        return 0;
    return start_with_frame(w, type == CCD_WS_BINARY ? CCD_WS_BINARY : CCD_WS_TEXT, data, len,
                            timeout, now);
}

int ccd_ws_receive(ccd_ws_t *w, double timeout, ccd_ws_cb cb, void *ud, ccd_ws_result_t *now)
{
    if (!begin(w, OP_RECEIVE, cb, ud, now))
        return 0;
    pump(w);
    return end_call(w, timeout, now);
}

int ccd_ws_ping(ccd_ws_t *w, const char *data, size_t len, double timeout, ccd_ws_cb cb, void *ud,
                ccd_ws_result_t *now)
{
    if (len > CCD_WS_MAX_CONTROL) {
        *now = (ccd_ws_result_t){.err = CCD_EINVAL, .msg = "a ping carries at most 125 bytes"};
        return 0;
    }
    if (!begin(w, OP_PING, cb, ud, now))
        return 0;
    memcpy(w->_ping, data, len);
    w->_ping_len = len;
    return start_with_frame(w, CCD_WS_PING, data, len, timeout, now);
}

int ccd_ws_close(ccd_ws_t *w, int code, const char *reason, size_t len, double timeout,
                 ccd_ws_cb cb, void *ud, ccd_ws_result_t *now)
{
    if (len > CCD_WS_MAX_CONTROL - 2 || (code && !ccd_ws_close_code_valid(code))) {
        *now = (ccd_ws_result_t){.err = CCD_EINVAL,
                                 .msg = "a close code is 1000-1003, 1007-1011 or 3000-4999, "
                                        "with a reason of at most 123 bytes"};
        return 0;
    }
    if (!begin(w, OP_CLOSE, cb, ud, now))
        return 0;
    if (queue_close(w, code, reason, len))
        fail(w, CCD_ENOMEM, "out of memory");
    else
        pump(w);
    return end_call(w, timeout, now);
}

void ccd_ws_abort(ccd_ws_t *w)
{
    ev_timer_stop(w->_loop, &w->_timer);
    shut(w);
    w->_op = OP_NONE;
}

void ccd_ws_free(ccd_ws_t *w)
{
    ccd_ws_abort(w);
    ccd_buf_free(&w->_in);
    ccd_buf_free(&w->_out);
    ccd_buf_free(&w->_stash);
    ccd_ws_reader_free(&w->_reader);
    ccd_http_parser_free(&w->_hp);
}

size_t ccd_ws_answer_fields(const ccd_ws_t *w)
{
    return w->_res.status ? w->_hp.nheaders : 0;
}

ccd_header_t ccd_ws_answer_field(const ccd_ws_t *w, size_t i)
{
    return ccd_http_parser_header(&w->_hp, i);
}
