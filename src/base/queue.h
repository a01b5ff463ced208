/* A message queue between threads: any thread pushes, one loop's thread pops, woken by ev_async. */
#ifndef CCD_QUEUE_H
#define CCD_QUEUE_H

#include <ev.h>
#include <pthread.h>
#include <stddef.h>

/* A message: a type and a small payload; ptr ownership travels with the message. */
typedef struct {
    int type;
    int from; /* sender's index (engine thread number), or -1 for the runner */
    long a, b, c;
    void *ptr;
} ccd_msg_t;

typedef struct ccd_queue ccd_queue_t;
typedef void (*ccd_queue_cb)(ccd_queue_t *q, void *ud);

/* Embedded by its owner; fields are private. */
struct ccd_queue {
    pthread_mutex_t _lock;
    ccd_msg_t *_ring;
    size_t _cap, _head, _len;
    ev_async _wake;
    struct ev_loop *_loop;
    ccd_queue_cb _cb;
    void *_ud;
};

/* Initialises q to be consumed on loop: cb runs on loop's thread after pushes (drain with
 * ccd_queue_pop until it returns nonzero). The watcher is started. Returns 0 or CCD_ENOMEM. */
int ccd_queue_init(ccd_queue_t *q, struct ev_loop *loop, ccd_queue_cb cb, void *ud);
/* Stops the watcher and frees the ring; messages still queued are dropped. */
void ccd_queue_destroy(ccd_queue_t *q);
/* Appends m and wakes the consumer; callable from any thread. Returns 0 or CCD_ENOMEM. */
int ccd_queue_push(ccd_queue_t *q, const ccd_msg_t *m);
/* Takes the oldest message into *m: 0, or -EAGAIN when the queue is empty. Consumer only. */
int ccd_queue_pop(ccd_queue_t *q, ccd_msg_t *m);

#endif
