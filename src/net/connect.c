/* Opening a client connection on a libev loop: resolve the name, try each address with a
 * non-blocking connect, then shake hands when TLS is wanted. One machine for every client. */
#include "net/connect.h"

#include "base/duration.h"
#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { M_IDLE, M_RESOLVING, M_CONNECTING, M_HANDSHAKE };

static void on_io(struct ev_loop *loop, ev_io *w, int revents);
static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents);

void ccd_connect_init(ccd_connect_t *m, struct ev_loop *loop, ccd_dns_t *dns, ccd_tls_t *tls)
{
    memset(m, 0, sizeof(*m));
    m->_loop = loop;
    m->_dns = dns;
    m->_tls = tls;
    ev_init(&m->_io, on_io);
    ev_init(&m->_timer, on_timeout);
    m->_io.data = m->_timer.data = m;
}

bool ccd_connect_busy(const ccd_connect_t *m)
{
    return m->_state != M_IDLE;
}

void ccd_connect_cancel(ccd_connect_t *m)
{
    ev_io_stop(m->_loop, &m->_io);
    ev_timer_stop(m->_loop, &m->_timer);
    ccd_dns_cancel(m->_dq);
    m->_dq = NULL;
    m->_state = M_IDLE;
}

/* Ends the attempt. Nothing touches m after the callback, which may free it. */
static void done(ccd_connect_t *m, int err)
{
    ccd_connect_cancel(m);
    if (err)
        ccd_conn_close(m->_conn, NULL, false);
    m->_cb(m->_ud, err, err ? m->_msg : NULL);
}

static void fail(ccd_connect_t *m, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(ccd_connect_t *m, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->_msg, sizeof(m->_msg), fmt, ap);
    va_end(ap);
    done(m, err);
}

/* Watches the socket, touching libev only on a change (ev_io_set adds a flag of its own to
 * the watcher's events, hence the mask). */
static void watch(ccd_connect_t *m, int events)
{
    ev_io *io = &m->_io;
    if (ev_is_active(io) && io->fd == m->_conn->fd && (io->events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(m->_loop, io);
    ev_io_set(io, m->_conn->fd, events);
    ev_io_start(m->_loop, io);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_connect_t *m = w->data;
    char addr[64], t[32];
    if (m->_state == M_RESOLVING || m->_ai >= m->_addrs.n)
        snprintf(addr, sizeof(addr), "resolving %.40s", m->_o.host);
    else
        ccd_dns_format(&m->_addrs.addr[m->_ai], m->_o.port, addr, sizeof(addr));
    fail(m, CCD_ECONNTIMEOUT, "connect timeout after %s (%s)",
         ccd_duration_format(m->_o.timeout, t, sizeof(t)), addr);
}

/* ---- TLS ---- */

static void do_handshake(ccd_connect_t *m)
{
    int rc = ccd_tls_handshake(m->_conn->ssl, m->_msg, sizeof(m->_msg));
    if (rc == CCD_TLS_WANT_READ)
        watch(m, EV_READ);
    else if (rc == CCD_TLS_WANT_WRITE)
        watch(m, EV_WRITE);
    else
        done(m, rc < 0 ? CCD_ETLS : 0);
}

static void start_tls(ccd_connect_t *m)
{
    const char *name = m->_o.server_name ? m->_o.server_name : m->_o.host;
    m->_conn->ssl = ccd_tls_new(m->_tls, m->_conn->fd, name, m->_o.insecure, m->_o.resume);
    if (!m->_conn->ssl) {
        fail(m, CCD_ETLS, "cannot set up TLS for %s", name);
        return;
    }
    if (m->_o.alpn_h2)
        ccd_tls_offer_h2(m->_conn->ssl);
    m->_state = M_HANDSHAKE;
    do_handshake(m);
}

/* ---- TCP: each address in turn ---- */

bool ccd_connect_local_failure(int err)
{
    switch (-err) {
    case EMFILE:
    case ENFILE:
    case EADDRNOTAVAIL:
    case ENOBUFS:
    case ENOMEM: return true;
    }
    return false;
}

/* What to do about a local failure (see ccd_connect_local_failure()). */
static const char *local_advice(int err)
{
    switch (-err) {
    case EMFILE:
    case ENFILE: return "raise the open-files limit (ulimit -n) or lower the users";
    case EADDRNOTAVAIL: return "out of local ports: lower the users or reuse connections";
    }
    return "the system is out of buffers or memory";
}

/* Every address failed; soerr is why the last one did (0 when there was none). A local
 * failure names no address (the target had no part in it) but what to do. */
static void connect_failed(ccd_connect_t *m, int soerr)
{
    int err = soerr ? -soerr : CCD_ECONNREFUSED;
    if (ccd_connect_local_failure(err)) {
        fail(m, err, "%s (%s)", ccd_strerror(err), local_advice(err));
        return;
    }
    if (!m->_o.name_address) {
        fail(m, err, "%s", ccd_strerror(err));
        return;
    }
    char addr[64] = "";
    if (m->_ai > 0)
        ccd_dns_format(&m->_addrs.addr[m->_ai - 1], m->_o.port, addr, sizeof(addr));
    fail(m, err, "%s (%s)", ccd_strerror(err), addr);
}

/* Tries the addresses in order from m->_ai; soerr is why the previous one failed. */
static void connect_next(ccd_connect_t *m, int soerr)
{
    for (; m->_ai < m->_addrs.n; m->_ai++) {
        int rc = ccd_conn_connect(m->_conn, &m->_addrs.addr[m->_ai], m->_o.port);
        if (rc == 0) {
            m->_state = M_CONNECTING;
            watch(m, EV_WRITE);
            return;
        }
        soerr = -rc;
    }
    connect_failed(m, soerr);
}

/* The non-blocking connect ended, one way or the other. */
static void connect_done(ccd_connect_t *m)
{
    int rc = ccd_conn_connected(m->_conn);
    if (rc) {
        ev_io_stop(m->_loop, &m->_io);
        ccd_conn_close(m->_conn, NULL, false);
        m->_ai++;
        connect_next(m, -rc);
    } else if (m->_o.tls) {
        start_tls(m);
    } else {
        done(m, 0);
    }
}

/* One callback for the socket, dispatching on the state. */
static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    ccd_connect_t *m = w->data;
    if (m->_state == M_CONNECTING)
        connect_done(m);
    else if (m->_state == M_HANDSHAKE)
        do_handshake(m);
    else
        ev_io_stop(loop, w);
}

/* ---- resolving ---- */

static void resolved(ccd_connect_t *m, int err, const ccd_dns_addrs_t *addrs)
{
    if (err == CCD_ENOMEM) {
        fail(m, err, "out of memory resolving %s", m->_o.host);
        return;
    }
    if (err) {
        fail(m, CCD_EDNS, "cannot resolve %s: %s", m->_o.host, addrs->detail);
        return;
    }
    if (addrs != &m->_addrs)
        m->_addrs = *addrs;
    m->_ai = 0;
    connect_next(m, 0);
}

static void on_resolved(void *ud, int err, const ccd_dns_addrs_t *addrs)
{
    ccd_connect_t *m = ud;
    m->_dq = NULL;
    resolved(m, err, addrs);
}

/* The loop's cached time may be stale when this runs outside its callbacks; a timer based on
 * it would fire early, hence the update (once per connection, never per request). */
void ccd_connect_start(ccd_connect_t *m, ccd_conn_t *conn, const ccd_connect_opts_t *o,
                       ccd_connect_cb cb, void *ud)
{
    m->_conn = conn;
    m->_o = *o;
    m->_cb = cb;
    m->_ud = ud;
    m->_msg[0] = '\0';
    m->_addrs.n = 0;
    m->_ai = 0;
    m->_state = M_RESOLVING;
    if (o->timeout > 0) {
        ev_now_update(m->_loop);
        ev_timer_set(&m->_timer, o->timeout, 0.);
        ev_timer_start(m->_loop, &m->_timer);
    }
    int rc = ccd_dns_resolve(m->_dns, o->host, &m->_addrs, on_resolved, m, &m->_dq);
    if (rc != 1)
        resolved(m, rc, &m->_addrs);
}
