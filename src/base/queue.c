/* A mutex-protected ring of messages with an ev_async wake-up; used for commands and reports,
 * never per request, so a lock is cheaper than it is clever to avoid. */
#include "base/queue.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
    ccd_queue_t *q = w->data;
    q->_cb(q, q->_ud);
}

int ccd_queue_init(ccd_queue_t *q, struct ev_loop *loop, ccd_queue_cb cb, void *ud)
{
    memset(q, 0, sizeof(*q));
    q->_cap = 64;
    q->_ring = calloc(q->_cap, sizeof(*q->_ring));
    if (!q->_ring)
        return CCD_ENOMEM;
    pthread_mutex_init(&q->_lock, NULL);
    q->_loop = loop;
    q->_cb = cb;
    q->_ud = ud;
    ev_async_init(&q->_wake, on_wake);
    q->_wake.data = q;
    ev_async_start(loop, &q->_wake);
    return 0;
}

void ccd_queue_destroy(ccd_queue_t *q)
{
    if (!q->_ring)
        return;
    ev_async_stop(q->_loop, &q->_wake);
    pthread_mutex_destroy(&q->_lock);
    free(q->_ring);
    q->_ring = NULL;
}

/* Doubles the ring, unrolling it so the oldest message sits at index 0. Lock held. */
static int grow(ccd_queue_t *q)
{
    ccd_msg_t *r = calloc(q->_cap * 2, sizeof(*r));
    if (!r)
        return CCD_ENOMEM;
    for (size_t i = 0; i < q->_len; i++)
        r[i] = q->_ring[(q->_head + i) % q->_cap];
    free(q->_ring);
    q->_ring = r;
    q->_head = 0;
    q->_cap *= 2;
    return 0;
}

int ccd_queue_push(ccd_queue_t *q, const ccd_msg_t *m)
{
    int rc = 0;
    pthread_mutex_lock(&q->_lock);
    if (q->_len == q->_cap)
        rc = grow(q);
    if (rc == 0) {
        q->_ring[(q->_head + q->_len) % q->_cap] = *m;
        q->_len++;
    }
    pthread_mutex_unlock(&q->_lock);
    if (rc == 0)
        ev_async_send(q->_loop, &q->_wake);
    return rc;
}

int ccd_queue_pop(ccd_queue_t *q, ccd_msg_t *m)
{
    int rc = -EAGAIN;
    pthread_mutex_lock(&q->_lock);
    if (q->_len > 0) {
        *m = q->_ring[q->_head];
        q->_head = (q->_head + 1) % q->_cap;
        q->_len--;
        rc = 0;
    }
    pthread_mutex_unlock(&q->_lock);
    return rc;
}
