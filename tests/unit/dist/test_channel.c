/* Tests of the ZeroMQ channels on a libev loop: a ROUTER and a DEALER on 127.0.0.1 exchanging
 * frames both ways, the DEALER's connection state, unknown peers and malformed messages. */
#include <criterion/criterion.h>
#include <ev.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "dist/channel.h"

typedef struct {
    struct ev_loop *loop;
    ccd_channel_t *router, *dealer;
    void *raw_ctx, *raw; /* a plain libzmq DEALER sending what cicada's would not */
    int states[8], nstates;
    char router_got[8][32];
    char router_peer[8][32];
    int nrouter;
    char dealer_got[32];
    bool router_closed;
} fixture_t;

static void copy(char *dst, const void *p, size_t n)
{
    n = n < 31 ? n : 31;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

static void on_router(void *ud, const char *peer, size_t peer_len, const void *data, size_t len)
{
    fixture_t *f = ud;
    cr_assert_lt(f->nrouter, 8);
    cr_assert_not_null(peer);
    copy(f->router_peer[f->nrouter], peer, peer_len);
    copy(f->router_got[f->nrouter], data, len);
    f->nrouter++;
    if (f->nrouter == 1) {
        cr_assert_eq(ccd_channel_send(f->router, "nobody", 6, "x", 1), -ENOENT);
        cr_assert_eq(ccd_channel_send(f->router, peer, peer_len, "welcome", 7), 0);
    } else if (!strcmp(f->router_got[f->nrouter - 1], "after-garbage")) {
        /* Closed from inside its own callback: freed once the callback returns. */
        ccd_channel_close(f->router, 0);
        f->router_closed = true;
    }
}

static void on_dealer(void *ud, const char *peer, size_t peer_len, const void *data, size_t len)
{
    fixture_t *f = ud;
    cr_assert_null(peer);
    copy(f->dealer_got, data, len);
    /* The garbage: three parts, so the ROUTER sees [identity, a, b]. */
    cr_assert_eq(zmq_send(f->raw, "a", 1, ZMQ_SNDMORE), 1);
    cr_assert_eq(zmq_send(f->raw, "b", 1, 0), 1);
    cr_assert_eq(zmq_send(f->raw, "after-garbage", 13, 0), 13);
}

static void on_state(void *ud, bool connected)
{
    fixture_t *f = ud;
    cr_assert_lt(f->nstates, 8);
    f->states[f->nstates++] = connected;
    if (connected)
        cr_assert_eq(ccd_channel_send(f->dealer, NULL, 0, "hello", 5), 0);
    else
        ev_break(f->loop, EVBREAK_ALL);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    cr_assert_fail("timed out");
}

Test(channel, router_and_dealer, .timeout = 30)
{
    fixture_t f = {.loop = ev_loop_new(EVFLAG_AUTO)};
    char err[256] = "";
    cr_assert_eq(
        ccd_channel_bind(&f.router, f.loop, "127.0.0.1", 0, on_router, &f, err, sizeof(err)), 0,
        "%s", err);
    unsigned port = ccd_channel_port(f.router);
    cr_assert_gt(port, 0);
    cr_assert_eq(ccd_channel_connect(&f.dealer, f.loop, "127.0.0.1", port, "worker-1", on_dealer,
                                     on_state, &f, err, sizeof(err)),
                 0, "%s", err);
    f.raw_ctx = zmq_ctx_new();
    f.raw = zmq_socket(f.raw_ctx, ZMQ_DEALER);
    zmq_setsockopt(f.raw, ZMQ_ROUTING_ID, "raw", 3);
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%u", port);
    cr_assert_eq(zmq_connect(f.raw, ep), 0);
    ev_timer t;
    ev_timer_init(&t, on_timeout, 20, 0);
    ev_timer_start(f.loop, &t);
    ev_run(f.loop, 0);
    ev_timer_stop(f.loop, &t);

    cr_assert_eq(f.nrouter, 2, "the garbage was not dropped (%d messages)", f.nrouter);
    cr_assert_str_eq(f.router_peer[0], "worker-1");
    cr_assert_str_eq(f.router_got[0], "hello");
    cr_assert_str_eq(f.router_peer[1], "raw");
    cr_assert_str_eq(f.router_got[1], "after-garbage");
    cr_assert_str_eq(f.dealer_got, "welcome");
    cr_assert(f.router_closed);
    cr_assert_eq(f.nstates, 2);
    cr_assert_eq(f.states[0], 1);
    cr_assert_eq(f.states[1], 0);

    ccd_channel_close(f.dealer, 0);
    int zero = 0;
    zmq_setsockopt(f.raw, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_close(f.raw);
    zmq_ctx_term(f.raw_ctx);
    ev_loop_destroy(f.loop);
}

Test(channel, refusals)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ccd_channel_t *a = NULL, *b = NULL;
    char err[256] = "";
    cr_assert_eq(ccd_channel_bind(&a, loop, "127.0.0.1", 0, on_router, NULL, err, sizeof(err)), 0);
    unsigned port = ccd_channel_port(a);
    /* The port is taken. */
    cr_assert_lt(ccd_channel_bind(&b, loop, "127.0.0.1", port, on_router, NULL, err, sizeof(err)),
                 0);
    cr_assert_null(b);
    cr_assert(strstr(err, "tcp://127.0.0.1:"), "%s", err);
    cr_assert_lt(ccd_channel_bind(&b, loop, "not an address", 1, on_router, NULL, err, sizeof(err)),
                 0);
    cr_assert_lt(ccd_channel_connect(&b, loop, "127.0.0.1", 0, "id", on_dealer, NULL, NULL, err,
                                     sizeof(err)),
                 0);
    cr_assert_lt(ccd_channel_connect(&b, loop, "127.0.0.1", port, "", on_dealer, NULL, NULL, err,
                                     sizeof(err)),
                 0);
    ccd_channel_close(a, 0);
    ccd_channel_close(NULL, 0);
    ev_loop_destroy(loop);
}

typedef struct {
    struct ev_loop *loop;
    ccd_channel_t *router, *first, *second;
    char router_got[4][16];
    int nrouter;
    char first_got[16], second_got[16];
} handover_t;

static void ho_router(void *ud, const char *peer, size_t peer_len, const void *data, size_t len)
{
    handover_t *h = ud;
    cr_assert_eq(peer_len, 1);
    cr_assert_eq(peer[0], 'w');
    copy(h->router_got[h->nrouter++], data, len);
    if (h->nrouter == 2)
        cr_assert_eq(ccd_channel_send(h->router, "w", 1, "to-w", 4), 0);
}

static void ho_first(void *ud, const char *peer, size_t peer_len, const void *data, size_t len)
{
    copy(((handover_t *)ud)->first_got, data, len);
}

static void ho_second(void *ud, const char *peer, size_t peer_len, const void *data, size_t len)
{
    handover_t *h = ud;
    copy(h->second_got, data, len);
    ev_break(h->loop, EVBREAK_ALL);
}

static void ho_first_up(void *ud, bool connected)
{
    handover_t *h = ud;
    if (connected)
        cr_assert_eq(ccd_channel_send(h->first, NULL, 0, "one", 3), 0);
}

static void ho_second_up(void *ud, bool connected)
{
    handover_t *h = ud;
    if (connected)
        cr_assert_eq(ccd_channel_send(h->second, NULL, 0, "two", 3), 0);
}

static void ho_connect_second(struct ev_loop *loop, ev_timer *w, int revents)
{
    handover_t *h = w->data;
    if (h->nrouter < 1)
        return;
    ev_timer_stop(loop, w);
    char err[256];
    cr_assert_eq(ccd_channel_connect(&h->second, loop, "127.0.0.1", ccd_channel_port(h->router),
                                     "w", ho_second, ho_second_up, h, err, sizeof(err)),
                 0, "%s", err);
}

/* A worker that reconnects with its identity replaces the old connection (ROUTER_HANDOVER):
 * frames to that identity go to the newest. */
Test(channel, handover, .timeout = 30)
{
    handover_t h = {.loop = ev_loop_new(EVFLAG_AUTO)};
    char err[256] = "";
    cr_assert_eq(
        ccd_channel_bind(&h.router, h.loop, "127.0.0.1", 0, ho_router, &h, err, sizeof(err)), 0,
        "%s", err);
    cr_assert_eq(ccd_channel_connect(&h.first, h.loop, "127.0.0.1", ccd_channel_port(h.router), "w",
                                     ho_first, ho_first_up, &h, err, sizeof(err)),
                 0, "%s", err);
    ev_timer poll, t;
    ev_timer_init(&poll, ho_connect_second, 0.01, 0.01);
    poll.data = &h;
    ev_timer_start(h.loop, &poll);
    ev_timer_init(&t, on_timeout, 20, 0);
    ev_timer_start(h.loop, &t);
    ev_run(h.loop, 0);
    ev_timer_stop(h.loop, &t);
    ev_timer_stop(h.loop, &poll);
    cr_assert_str_eq(h.router_got[0], "one");
    cr_assert_str_eq(h.router_got[1], "two");
    cr_assert_str_eq(h.second_got, "to-w");
    cr_assert_str_eq(h.first_got, "");
    ccd_channel_close(h.first, 0);
    ccd_channel_close(h.second, 0);
    ccd_channel_close(h.router, 0);
    ev_loop_destroy(h.loop);
}
