/* Tests of the message queue: producers on several threads, one consumer loop; every message
 * arrives once, in order per sender, with the payload its sender wrote (ownership travels with
 * the message). Criterion cannot run under ThreadSanitizer, so the TSan check of the queue is
 * the end-to-end run of engines and runner (see CMakeLists.txt). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/queue.h"

#define PRODUCERS    4
#define PER_PRODUCER 5000

typedef struct {
    ccd_queue_t q;
    long seen[PRODUCERS]; /* the next sequence number expected from each producer */
    long total;
} consumer_t;

typedef struct {
    ccd_queue_t *q;
    int index;
} producer_t;

static void on_messages(ccd_queue_t *q, void *ud)
{
    consumer_t *c = ud;
    ccd_msg_t m;
    while (ccd_queue_pop(q, &m) == 0) {
        long *payload = m.ptr;
        cr_assert_eq(m.a, c->seen[m.from], "messages of one sender arrive in order");
        cr_assert_eq(*payload, m.a * 7 + m.from, "the payload is the sender's");
        free(payload);
        c->seen[m.from]++;
        if (++c->total == PRODUCERS * PER_PRODUCER)
            ev_break(EV_DEFAULT, EVBREAK_ALL);
    }
}

static void *produce(void *arg)
{
    producer_t *p = arg;
    for (long i = 0; i < PER_PRODUCER; i++) {
        long *payload = malloc(sizeof(*payload));
        *payload = i * 7 + p->index;
        ccd_msg_t m = {.type = 1, .from = p->index, .a = i, .ptr = payload};
        cr_assert_eq(ccd_queue_push(p->q, &m), 0);
    }
    return NULL;
}

Test(queue, many_producers_one_consumer, .timeout = 60)
{
    static consumer_t c;
    struct ev_loop *loop = EV_DEFAULT;
    cr_assert_eq(ccd_queue_init(&c.q, loop, on_messages, &c), 0);
    pthread_t t[PRODUCERS];
    producer_t p[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (producer_t){&c.q, i};
        cr_assert_eq(pthread_create(&t[i], NULL, produce, &p[i]), 0);
    }
    ev_run(loop, 0);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(c.total, PRODUCERS * PER_PRODUCER);
    ccd_msg_t m;
    cr_assert_eq(ccd_queue_pop(&c.q, &m), -EAGAIN);
    ccd_queue_destroy(&c.q);
}
