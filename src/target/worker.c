/* A serving thread: its own libev loop and connections, accepting from a shared socket. */
#include "worker.h"

#include "conn.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#define BACKOFF_SECS 0.1 /* pause accepting when out of descriptors */

struct tgt_worker {
    struct ev_loop *loop;
    pthread_t thread;
    int fd;
    ev_io accept_io;
    ev_async stop;
    ev_timer backoff;
    tgt_conn_list_t conns;
};

static void serve(tgt_worker_t *w, int fd)
{
    int one = 1;
    /* Responses are written whole; Nagle would only delay the last segment. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tgt_conn_open(w->loop, &w->conns, fd);
}

/* Out of descriptors, the pending connection cannot be taken and the listening socket
 * stays readable: stop watching it for a moment rather than spin. */
static void back_off(tgt_worker_t *w)
{
    ev_io_stop(w->loop, &w->accept_io);
    ev_timer_set(&w->backoff, BACKOFF_SECS, 0.);
    ev_timer_start(w->loop, &w->backoff);
}

/* Every worker watching the shared socket wakes for a new connection; one accept per
 * wake-up lets them take turns (the socket stays readable while more are queued), and the
 * losers get EAGAIN. */
static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
    tgt_worker_t *w = io->data;
    int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        serve(w, fd);
    else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        back_off(w);
}

static void on_backoff(struct ev_loop *loop, ev_timer *t, int revents)
{
    tgt_worker_t *w = t->data;
    ev_io_start(loop, &w->accept_io);
}

static void on_stop(struct ev_loop *loop, ev_async *a, int revents)
{
    ev_break(loop, EVBREAK_ALL);
}

static void *run(void *arg)
{
    tgt_worker_t *w = arg;
    ev_run(w->loop, 0);
    return NULL;
}

int tgt_worker_start(tgt_worker_t **out, int listen_fd)
{
    tgt_worker_t *w = calloc(1, sizeof *w);
    if (!w || !(w->loop = ev_loop_new(EVFLAG_AUTO))) {
        free(w);
        return -ENOMEM;
    }
    w->fd = listen_fd;
    ev_io_init(&w->accept_io, on_accept, listen_fd, EV_READ);
    ev_async_init(&w->stop, on_stop);
    ev_init(&w->backoff, on_backoff);
    w->accept_io.data = w->backoff.data = w;
    ev_io_start(w->loop, &w->accept_io);
    ev_async_start(w->loop, &w->stop);
    int err = pthread_create(&w->thread, NULL, run, w);
    if (err) {
        ev_loop_destroy(w->loop);
        free(w);
        return -err;
    }
    *out = w;
    return 0;
}

void tgt_worker_stop(tgt_worker_t *w)
{
    ev_async_send(w->loop, &w->stop);
    pthread_join(w->thread, NULL);
    tgt_conn_close_all(&w->conns);
    ev_io_stop(w->loop, &w->accept_io);
    ev_async_stop(w->loop, &w->stop);
    ev_timer_stop(w->loop, &w->backoff);
    ev_loop_destroy(w->loop);
    free(w);
}
