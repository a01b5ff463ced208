/* Client TCP (and TLS) sockets for any protocol: connect, send, and receive by size, line,
 * delimiter or until the peer closes, each bounded by an optional timeout, on a libev loop. */
#include "net/tcp.h"

#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_INITIAL (8 * 1024)

enum { S_CLOSED, S_CONNECTING, S_OPEN };
enum { OP_NONE, OP_CONNECT, OP_SEND, OP_RECEIVE };

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents);

void ccd_tcp_init(ccd_tcp_t *t, struct ev_loop *loop, ccd_dns_t *dns, ccd_tls_t *tls)
{
    memset(t, 0, sizeof(*t));
    t->_loop = loop;
    ccd_connect_init(&t->_connect, loop, dns, tls);
    t->_conn.fd = -1;
    ev_init(&t->_io, on_io);
    ev_init(&t->_timer, on_timeout);
    t->_io.data = t->_timer.data = t;
}

void ccd_tcp_set_timeout(ccd_tcp_t *t, double seconds)
{
    t->_timeout = seconds > 0 ? seconds : 0;
}

bool ccd_tcp_busy(const ccd_tcp_t *t)
{
    return t->_op != OP_NONE;
}

bool ccd_tcp_is_open(const ccd_tcp_t *t)
{
    return t->_state != S_CLOSED;
}

/* ---- plumbing ---- */

static void watch(ccd_tcp_t *t, int events)
{
    ev_io *io = &t->_io;
    if (ev_is_active(io) && io->fd == t->_conn.fd && (io->events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(t->_loop, io);
    ev_io_set(io, t->_conn.fd, events);
    ev_io_start(t->_loop, io);
}

/* Closes the connection; the buffer stays allocated but holds nothing. */
static void shut(ccd_tcp_t *t)
{
    ev_io_stop(t->_loop, &t->_io);
    ccd_connect_cancel(&t->_connect);
    ccd_conn_close(&t->_conn, NULL, false);
    t->_state = S_CLOSED;
    t->_start = t->_rb.len = t->_scan = 0;
}

/* Ends the operation: the outcome goes to the caller of the API function when still inside
 * it, else to the callback. Nothing touches t after the callback, which may free it. */
static void complete(ccd_tcp_t *t, int err, const char *msg)
{
    ev_timer_stop(t->_loop, &t->_timer);
    ev_io_stop(t->_loop, &t->_io);
    t->_res.err = err;
    t->_res.msg = err ? msg : NULL;
    t->_res.local = err && t->_op == OP_CONNECT && ccd_connect_local_failure(err);
    t->_op = OP_NONE;
    if (!t->_in_call)
        t->_cb(t->_ud, &t->_res);
}

static void fail(ccd_tcp_t *t, int err, const char *msg)
{
    shut(t);
    complete(t, err, msg);
}

/* Takes len bytes from the buffer as the result; consumed bytes (len and what follows it,
 * such as a delimiter) leave the buffer. They stay in memory until the next read. */
static void take(ccd_tcp_t *t, size_t len, size_t consumed)
{
    t->_res.data = t->_rb.base ? t->_rb.base + t->_start : "";
    t->_res.len = len;
    t->_start += consumed;
    if (t->_start == t->_rb.len)
        t->_start = t->_rb.len = 0;
    t->_scan = t->_start;
}

static void take_all(ccd_tcp_t *t)
{
    size_t n = t->_rb.len - t->_start;
    take(t, n, n);
}

/* A receive that failed hands over what had arrived. */
static void fail_receive(ccd_tcp_t *t, int err, const char *msg)
{
    take_all(t);
    fail(t, err, msg);
}

/* Calls the operation's first steps with t->_in_call set; they may end it at once. */
static bool begin(ccd_tcp_t *t, int op, ccd_tcp_cb cb, void *ud, ccd_tcp_result_t *now)
{
    if (t->_op != OP_NONE) {
        *now = (ccd_tcp_result_t){.err = CCD_EINVAL, .msg = "socket busy", .data = ""};
        return false;
    }
    t->_op = (uint8_t)op;
    t->_cb = cb;
    t->_ud = ud;
    t->_in_call = true;
    t->_res = (ccd_tcp_result_t){.data = ""};
    return true;
}

/* Leaves the API function: the outcome when the operation ended, else the timer starts. The
 * loop's cached time may be stale outside its callbacks; a timer based on it would fire
 * early. */
static int end_call(ccd_tcp_t *t, double timeout, ccd_tcp_result_t *now)
{
    t->_in_call = false;
    if (t->_op == OP_NONE) {
        *now = t->_res;
        return 0;
    }
    if (timeout > 0) {
        ev_now_update(t->_loop);
        ev_timer_set(&t->_timer, timeout, 0.);
        ev_timer_start(t->_loop, &t->_timer);
    }
    return CCD_TCP_PENDING;
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_tcp_t *t = w->data;
    if (t->_op != OP_RECEIVE) {
        fail(t, CCD_ETIMEDOUT, "timeout");
        return;
    }
    take_all(t);
    complete(t, CCD_ETIMEDOUT, "timeout");
}

/* ---- connect ---- */

/* Timeouts are the socket's own (one timer for every operation), so the machine never
 * reports CCD_ECONNTIMEOUT here. */
static void on_connected(void *ud, int err, const char *msg)
{
    ccd_tcp_t *t = ud;
    if (err) {
        fail(t, err, msg);
        return;
    }
    t->_state = S_OPEN;
    complete(t, 0, NULL);
}

static bool copy_name(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n == 0 || n >= size)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

int ccd_tcp_connect(ccd_tcp_t *t, const char *host, uint16_t port, const ccd_tcp_connect_opts_t *o,
                    ccd_tcp_cb cb, void *ud, ccd_tcp_result_t *now)
{
    if (!begin(t, OP_CONNECT, cb, ud, now))
        return 0;
    shut(t);
    const char *name = o->server_name ? o->server_name : host;
    if (!copy_name(t->_host, sizeof(t->_host), host) ||
        !copy_name(t->_name, sizeof(t->_name), name)) {
        fail(t, CCD_EINVAL, "invalid host name");
        return end_call(t, 0, now);
    }
    ccd_connect_opts_t co = {.host = t->_host,
                             .server_name = t->_name,
                             .port = port,
                             .tls = o->tls,
                             .insecure = o->insecure};
    t->_state = S_CONNECTING;
    ccd_connect_start(&t->_connect, &t->_conn, &co, on_connected, t);
    return end_call(t, o->timeout > 0 ? o->timeout : t->_timeout, now);
}

/* ---- send ---- */

static void do_write(ccd_tcp_t *t)
{
    while (t->_woff < t->_wlen) {
        ssize_t n = ccd_conn_write(&t->_conn, t->_wbuf + t->_woff, t->_wlen - t->_woff);
        if (n == -EAGAIN) {
            watch(t, EV_WRITE);
            return;
        }
        if (n < 0) {
            fail(t, (int)n, ccd_strerror((int)n));
            return;
        }
        t->_woff += (size_t)n;
    }
    t->_res.len = t->_wlen;
    complete(t, 0, NULL);
}

int ccd_tcp_send(ccd_tcp_t *t, const char *data, size_t len, ccd_tcp_cb cb, void *ud,
                 ccd_tcp_result_t *now)
{
    if (!begin(t, OP_SEND, cb, ud, now))
        return 0;
    if (t->_state != S_OPEN) {
        complete(t, CCD_ECLOSED, "closed");
        return end_call(t, 0, now);
    }
    t->_wbuf = data;
    t->_wlen = len;
    t->_woff = 0;
    do_write(t);
    return end_call(t, t->_timeout, now);
}

/* ---- receive ---- */

/* Takes a line when the buffer holds one. The scan position keeps each byte from being
 * searched twice across reads. */
static bool find_line(ccd_tcp_t *t)
{
    char *nl = memchr(t->_rb.base + t->_scan, '\n', t->_rb.len - t->_scan);
    t->_scan = t->_rb.len;
    if (!nl)
        return false;
    size_t n = (size_t)(nl - (t->_rb.base + t->_start));
    take(t, n > 0 && nl[-1] == '\r' ? n - 1 : n, n + 1);
    return true;
}

static bool find_delim(ccd_tcp_t *t)
{
    const ccd_tcp_want_t *w = &t->_want;
    char *d = memmem(t->_rb.base + t->_scan, t->_rb.len - t->_scan, w->delim, w->delim_len);
    if (!d) {
        size_t back = w->delim_len - 1; /* a delimiter may straddle two reads */
        t->_scan = t->_rb.len - t->_start > back ? t->_rb.len - back : t->_start;
        return false;
    }
    size_t n = (size_t)(d - (t->_rb.base + t->_start));
    take(t, n, n + w->delim_len);
    return true;
}

/* Takes what the receive wants when the buffered bytes hold it. */
static bool satisfied(ccd_tcp_t *t)
{
    size_t avail = t->_rb.len - t->_start;
    switch (t->_want.mode) {
    case CCD_TCP_SIZE:
        if (avail < t->_want.size)
            return false;
        take(t, t->_want.size, t->_want.size);
        return true;
    case CCD_TCP_LINE: return avail > 0 && find_line(t);
    case CCD_TCP_UNTIL: return avail > 0 && find_delim(t);
    default: return false; /* CCD_TCP_ALL ends at the end of the stream */
    }
}

static void compact(ccd_tcp_t *t)
{
    if (t->_start == 0)
        return;
    memmove(t->_rb.base, t->_rb.base + t->_start, t->_rb.len - t->_start);
    t->_rb.len -= t->_start;
    t->_scan -= t->_start;
    t->_start = 0;
}

/* Makes room for the next read: at least one free byte, and for a sized receive space for
 * the whole of it. The buffer moves its bytes down first and grows only when that is not
 * enough, so that it reaches the size a protocol needs once and stays there. */
static int make_room(ccd_tcp_t *t)
{
    size_t avail = t->_rb.len - t->_start;
    size_t need = t->_want.mode == CCD_TCP_SIZE ? t->_want.size : avail + 1;
    if (t->_start + need <= t->_rb.cap)
        return 0;
    compact(t);
    return ccd_buf_ensure(&t->_rb, need > BUF_INITIAL ? need : BUF_INITIAL);
}

static void on_eof(ccd_tcp_t *t)
{
    if (t->_want.mode != CCD_TCP_ALL) {
        fail_receive(t, CCD_ECLOSED, "closed");
        return;
    }
    take_all(t); /* the stream ended as wanted: a success that closes the socket */
    shut(t);
    complete(t, 0, NULL);
}

/* Reads until the receive is satisfied or the socket would block. */
static void do_read(ccd_tcp_t *t)
{
    for (;;) {
        if (satisfied(t)) {
            complete(t, 0, NULL);
            return;
        }
        if (make_room(t)) {
            fail_receive(t, CCD_ENOMEM, "out of memory");
            return;
        }
        ssize_t n = ccd_conn_read(&t->_conn, t->_rb.base + t->_rb.len, t->_rb.cap - t->_rb.len);
        if (n == -EAGAIN) {
            watch(t, EV_READ);
            return;
        }
        if (n == 0) {
            on_eof(t);
            return;
        }
        if (n < 0) {
            fail_receive(t, (int)n, ccd_strerror((int)n));
            return;
        }
        t->_rb.len += (size_t)n;
    }
}

int ccd_tcp_receive(ccd_tcp_t *t, const ccd_tcp_want_t *want, ccd_tcp_cb cb, void *ud,
                    ccd_tcp_result_t *now)
{
    if (!begin(t, OP_RECEIVE, cb, ud, now))
        return 0;
    t->_want = *want;
    t->_scan = t->_start;
    if (want->mode == CCD_TCP_UNTIL && want->delim_len == 0)
        complete(t, CCD_EINVAL, "empty delimiter");
    else if (t->_state != S_OPEN)
        complete(t, CCD_ECLOSED, "closed");
    if (t->_op == OP_NONE)
        return end_call(t, 0, now);
    do_read(t);
    return end_call(t, t->_timeout, now);
}

/* ---- events and closing ---- */

/* One callback for the socket, dispatching on its state. */
static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    ccd_tcp_t *t = w->data;
    switch (t->_state) {
    case S_OPEN:
        if (t->_op == OP_SEND)
            do_write(t);
        else if (t->_op == OP_RECEIVE)
            do_read(t);
        else
            ev_io_stop(loop, w);
        break;
    default: ev_io_stop(loop, w); break;
    }
}

void ccd_tcp_close(ccd_tcp_t *t)
{
    ev_timer_stop(t->_loop, &t->_timer);
    shut(t);
    t->_op = OP_NONE;
}

void ccd_tcp_free(ccd_tcp_t *t)
{
    ccd_tcp_close(t);
    ccd_buf_free(&t->_rb);
}
