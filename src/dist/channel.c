/* ZeroMQ ROUTER and DEALER sockets driven by a libev loop. */
#include "dist/channel.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "base/error.h"
#include "base/log.h"

/* A larger frame is refused: libzmq drops the connection that sends it (ZMQ_MAXMSGSIZE). */
#define FRAME_MAX (64 * 1024 * 1024)
/* As Locust's sockets: TCP keepalive probes after 30 s of silence. */
#define KEEPALIVE_IDLE_S 30
/* ZMTP heartbeats on a DEALER: a ping every second, the peer declared gone after 5 s. */
#define HEARTBEAT_IVL_MS     1000
#define HEARTBEAT_TIMEOUT_MS 5000

/* libzmq signals readiness through ZMQ_FD edge-triggered: the descriptor becomes readable when
 * the socket's state changes, and any zmq call (a send, a ZMQ_EVENTS query) may consume that
 * change. So the descriptor alone is not trusted: before the loop blocks (prepare), ZMQ_EVENTS
 * is asked, and when a socket holds messages an idle watcher keeps the loop from blocking
 * while the check watcher that follows drains it. */
struct ccd_channel {
    struct ev_loop *loop;
    void *ctx;  /* one context per channel, so that closing can wait for the linger */
    void *sock; /* ROUTER or DEALER */
    void *mon;  /* PAIR reading the DEALER's socket monitor; NULL on a ROUTER */
    bool router;
    bool connected;     /* the DEALER's last reported state */
    int busy;           /* nesting of callbacks into the user (close is deferred inside) */
    bool close_pending; /* closed from a callback: freed when the callback returns */
    int linger_ms;
    ev_io io, mon_io;
    ev_prepare prepare;
    ev_check check;
    ev_idle idle;
    ccd_channel_recv_fn on_recv;
    ccd_channel_state_fn on_state;
    void *ud;
    unsigned port;
    char monitor_ep[64];
};

static int fail(char *err, size_t errlen, int rc, const char *what, const char *addr)
{
    if (err && errlen)
        snprintf(err, errlen, "%s %s: %s", what, addr, zmq_strerror(-rc));
    return rc;
}

static bool readable(void *sock)
{
    int ev = 0;
    size_t len = sizeof(ev);
    return sock && zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &len) == 0 && (ev & ZMQ_POLLIN);
}

/* Receives the rest of a multi-part message and throws it away. */
static void discard_rest(void *sock)
{
    int more = 1;
    size_t len = sizeof(more);
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, sock, ZMQ_DONTWAIT);
        zmq_msg_close(&m);
        if (rc < 0)
            return;
    }
}

/* One part of a message; false when none is waiting. */
static bool recv_part(void *sock, zmq_msg_t *m)
{
    zmq_msg_init(m);
    if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) >= 0)
        return true;
    zmq_msg_close(m);
    return false;
}

/* Receives one message and hands it to the user: [identity, payload] on a ROUTER, [payload]
 * on a DEALER; anything else is dropped with a log line. Returns false when no message was
 * waiting. */
static bool recv_one(ccd_channel_t *ch)
{
    zmq_msg_t id, data;
    if (!recv_part(ch->sock, &id))
        return false;
    zmq_msg_t *payload = &id;
    bool ok = true;
    if (ch->router) {
        ok = zmq_msg_more(&id) && recv_part(ch->sock, &data);
        if (ok)
            payload = &data;
    }
    if (ok && zmq_msg_more(payload)) {
        ccd_log(CCD_LOG_WARNING, "dist: dropped a multi-part message that is not %s",
                ch->router ? "[identity, payload]" : "one frame");
        discard_rest(ch->sock);
        ok = false;
    } else if (!ok) {
        ccd_log(CCD_LOG_WARNING, "dist: dropped a message without payload");
    } else if (zmq_msg_size(payload) > FRAME_MAX) {
        ccd_log(CCD_LOG_WARNING, "dist: dropped a frame of %zu bytes", zmq_msg_size(payload));
        ok = false;
    }
    if (ok)
        ch->on_recv(ch->ud, ch->router ? zmq_msg_data(&id) : NULL,
                    ch->router ? zmq_msg_size(&id) : 0, zmq_msg_data(payload),
                    zmq_msg_size(payload));
    if (payload != &id)
        zmq_msg_close(payload);
    zmq_msg_close(&id);
    return true;
}

/* A socket monitor event: 2 parts, the first holding a 16-bit event and a 32-bit value. */
static bool recv_monitor(ccd_channel_t *ch)
{
    zmq_msg_t m;
    if (!recv_part(ch->mon, &m))
        return false;
    uint16_t event = 0;
    if (zmq_msg_size(&m) >= 6)
        memcpy(&event, zmq_msg_data(&m), sizeof(event));
    zmq_msg_close(&m);
    discard_rest(ch->mon);
    bool up = event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED || event == ZMQ_EVENT_CONNECTED;
    bool down = event == ZMQ_EVENT_DISCONNECTED;
    if ((up || down) && up != ch->connected) {
        ch->connected = up;
        if (ch->on_state)
            ch->on_state(ch->ud, up);
    }
    return true;
}

static void destroy(ccd_channel_t *ch);

/* Reads the waiting messages of both sockets, at most DRAIN_MAX at a time so that a peer
 * that sends without pause cannot starve the loop's other watchers (what is left is read on
 * the next iteration: on_prepare sees it). Stops early when the user closed the channel from
 * a callback. */
#define DRAIN_MAX 256
static void drain(ccd_channel_t *ch)
{
    ch->busy++;
    for (int n = 0; n < DRAIN_MAX && !ch->close_pending; n++) {
        bool got = ch->mon && recv_monitor(ch);
        if (!ch->close_pending)
            got |= recv_one(ch);
        if (!got)
            break;
    }
    ch->busy--;
    if (ch->close_pending && ch->busy == 0)
        destroy(ch);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    drain(w->data);
}

static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    ccd_channel_t *ch = w->data;
    if (readable(ch->sock) || readable(ch->mon))
        ev_idle_start(loop, &ch->idle);
}

static void on_check(struct ev_loop *loop, ev_check *w, int revents)
{
    ccd_channel_t *ch = w->data;
    ev_idle_stop(loop, &ch->idle);
    if (readable(ch->sock) || readable(ch->mon))
        drain(ch);
}

static void on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
    /* Only keeps the loop from blocking; on_check drains. */
}

static int set_int(void *sock, int opt, int v)
{
    return zmq_setsockopt(sock, opt, &v, sizeof(v)) ? -errno : 0;
}

static int watch_fd(ccd_channel_t *ch, void *sock, ev_io *io)
{
    int fd;
    size_t len = sizeof(fd);
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len))
        return -errno;
    ev_io_init(io, on_io, fd, EV_READ);
    io->data = ch;
    ev_io_start(ch->loop, io);
    return 0;
}

/* The prepare and check watchers run beside the I/O watchers without keeping the loop alive
 * by themselves (ev_unref): an open channel is kept alive by its socket's watcher. */
static void start_watchers(ccd_channel_t *ch)
{
    ev_prepare_init(&ch->prepare, on_prepare);
    ev_check_init(&ch->check, on_check);
    ev_idle_init(&ch->idle, on_idle);
    ch->prepare.data = ch->check.data = ch->idle.data = ch;
    ev_prepare_start(ch->loop, &ch->prepare);
    ev_unref(ch->loop);
    ev_check_start(ch->loop, &ch->check);
    ev_unref(ch->loop);
}

static void stop_watchers(ccd_channel_t *ch)
{
    if (ev_is_active(&ch->prepare)) {
        ev_ref(ch->loop);
        ev_prepare_stop(ch->loop, &ch->prepare);
    }
    if (ev_is_active(&ch->check)) {
        ev_ref(ch->loop);
        ev_check_stop(ch->loop, &ch->check);
    }
    ev_idle_stop(ch->loop, &ch->idle);
    ev_io_stop(ch->loop, &ch->io);
    ev_io_stop(ch->loop, &ch->mon_io);
}

static void destroy(ccd_channel_t *ch)
{
    stop_watchers(ch);
    if (ch->mon) {
        zmq_socket_monitor(ch->sock, NULL, 0);
        set_int(ch->mon, ZMQ_LINGER, 0);
        zmq_close(ch->mon);
    }
    if (ch->sock) {
        set_int(ch->sock, ZMQ_LINGER, ch->linger_ms < 0 ? 0 : ch->linger_ms);
        zmq_close(ch->sock);
    }
    /* Returns once the sockets' queued frames left or their linger ran out. */
    while (ch->ctx && zmq_ctx_term(ch->ctx) && errno == EINTR)
        ;
    free(ch);
}

static ccd_channel_t *channel_new(struct ev_loop *loop, int type, ccd_channel_recv_fn on_recv,
                                  void *ud)
{
    ccd_channel_t *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    ch->loop = loop;
    ch->router = type == ZMQ_ROUTER;
    ch->on_recv = on_recv;
    ch->ud = ud;
    ev_io_init(&ch->io, on_io, -1, EV_READ);
    ev_io_init(&ch->mon_io, on_io, -1, EV_READ);
    ch->ctx = zmq_ctx_new();
    if (ch->ctx)
        ch->sock = zmq_socket(ch->ctx, type);
    if (!ch->sock || set_int(ch->sock, ZMQ_TCP_KEEPALIVE, 1) ||
        set_int(ch->sock, ZMQ_TCP_KEEPALIVE_IDLE, KEEPALIVE_IDLE_S) ||
        zmq_setsockopt(ch->sock, ZMQ_MAXMSGSIZE, &(int64_t){FRAME_MAX}, sizeof(int64_t))) {
        destroy(ch);
        return NULL;
    }
    return ch;
}

/* "tcp://host:port", with brackets around an IPv6 address (which also needs ZMQ_IPV6). */
static void endpoint(char *buf, size_t len, const char *host, const char *port)
{
    if (!strcmp(host, "0.0.0.0"))
        host = "*";
    bool v6 = strchr(host, ':') != NULL;
    snprintf(buf, len, "tcp://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* The port at the end of ZMQ_LAST_ENDPOINT ("tcp://127.0.0.1:41234"). */
static unsigned bound_port(void *sock)
{
    char ep[256];
    size_t len = sizeof(ep);
    if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len))
        return 0;
    const char *colon = strrchr(ep, ':');
    return colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
}

int ccd_channel_bind(ccd_channel_t **out, struct ev_loop *loop, const char *host, unsigned port,
                     ccd_channel_recv_fn on_recv, void *ud, char *err, size_t errlen)
{
    char ep[300], ps[16];
    if (port)
        snprintf(ps, sizeof(ps), "%u", port);
    endpoint(ep, sizeof(ep), host, port ? ps : "*");
    *out = NULL;
    if (port > 65535)
        return fail(err, errlen, CCD_EINVAL, "cannot bind", ep);
    ccd_channel_t *ch = channel_new(loop, ZMQ_ROUTER, on_recv, ud);
    if (!ch)
        return fail(err, errlen, CCD_ENOMEM, "cannot bind", ep);
    int rc = set_int(ch->sock, ZMQ_ROUTER_MANDATORY, 1);
    if (!rc)
        rc = set_int(ch->sock, ZMQ_ROUTER_HANDOVER, 1);
    if (!rc)
        rc = set_int(ch->sock, ZMQ_IPV6, strchr(ep, '[') != NULL);
    if (!rc && zmq_bind(ch->sock, ep))
        rc = -errno;
    if (!rc)
        rc = watch_fd(ch, ch->sock, &ch->io);
    if (rc) {
        destroy(ch);
        return fail(err, errlen, rc, "cannot bind", ep);
    }
    ch->port = bound_port(ch->sock);
    start_watchers(ch);
    *out = ch;
    return 0;
}

/* Monitors the DEALER's connection through an inproc PAIR watched on the loop. */
static int start_monitor(ccd_channel_t *ch)
{
    snprintf(ch->monitor_ep, sizeof(ch->monitor_ep), "inproc://ccd-channel-monitor-%p", (void *)ch);
    if (zmq_socket_monitor(ch->sock, ch->monitor_ep,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_DISCONNECTED))
        return -errno;
    if (!(ch->mon = zmq_socket(ch->ctx, ZMQ_PAIR)) || zmq_connect(ch->mon, ch->monitor_ep))
        return -errno;
    return watch_fd(ch, ch->mon, &ch->mon_io);
}

int ccd_channel_connect(ccd_channel_t **out, struct ev_loop *loop, const char *host, unsigned port,
                        const char *identity, ccd_channel_recv_fn on_recv,
                        ccd_channel_state_fn on_state, void *ud, char *err, size_t errlen)
{
    char ep[300], ps[16];
    snprintf(ps, sizeof(ps), "%u", port);
    endpoint(ep, sizeof(ep), host, ps);
    *out = NULL;
    size_t idlen = strlen(identity);
    /* ZMTP limits an identity to 255 bytes, and one starting with a zero byte is reserved. */
    if (port == 0 || port > 65535 || idlen == 0 || idlen > 255)
        return fail(err, errlen, CCD_EINVAL, "cannot connect to", ep);
    ccd_channel_t *ch = channel_new(loop, ZMQ_DEALER, on_recv, ud);
    if (!ch)
        return fail(err, errlen, CCD_ENOMEM, "cannot connect to", ep);
    ch->on_state = on_state;
    int rc = zmq_setsockopt(ch->sock, ZMQ_ROUTING_ID, identity, idlen) ? -errno : 0;
    if (!rc)
        rc = set_int(ch->sock, ZMQ_HEARTBEAT_IVL, HEARTBEAT_IVL_MS);
    if (!rc)
        rc = set_int(ch->sock, ZMQ_HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS);
    if (!rc)
        rc = set_int(ch->sock, ZMQ_IPV6, strchr(ep, '[') != NULL);
    if (!rc)
        rc = start_monitor(ch);
    if (!rc && zmq_connect(ch->sock, ep))
        rc = -errno;
    if (!rc)
        rc = watch_fd(ch, ch->sock, &ch->io);
    if (rc) {
        destroy(ch);
        return fail(err, errlen, rc, "cannot connect to", ep);
    }
    start_watchers(ch);
    *out = ch;
    return 0;
}

int ccd_channel_send(ccd_channel_t *ch, const char *peer, size_t peer_len, const void *data,
                     size_t len)
{
    if (ch->close_pending)
        return -EAGAIN;
    if (ch->router && zmq_send(ch->sock, peer, peer_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return errno == EHOSTUNREACH ? -ENOENT : -EAGAIN;
    if (zmq_send(ch->sock, data, len, ZMQ_DONTWAIT) < 0)
        return -EAGAIN;
    return 0;
}

unsigned ccd_channel_port(const ccd_channel_t *ch)
{
    return ch->port;
}

void ccd_channel_close(ccd_channel_t *ch, int linger_ms)
{
    if (!ch)
        return;
    ch->linger_ms = linger_ms;
    if (ch->busy) {
        ch->close_pending = true;
        stop_watchers(ch);
        return;
    }
    destroy(ch);
}
