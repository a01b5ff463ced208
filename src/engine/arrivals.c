/* The open model on one engine: arrivals on a schedule, timed by one libev timer, each started
 * on a free user of its class, else kept in a bounded backlog with its intended start, else
 * dropped and counted. */
#include <math.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/error.h"
#include "engine/engine_int.h"

static void on_arrival(struct ev_loop *loop, ev_timer *w, int revents);

int ccd_arrivals_init(ccd_engine_t *e, double share, double late)
{
    bool any = false;
    for (size_t c = 0; c < e->nclasses; c++)
        any |= e->script.classes[c].open != 0;
    if (!any)
        return 0;
    e->arrivals = calloc(e->nclasses, sizeof(*e->arrivals));
    if (!e->arrivals)
        return CCD_ENOMEM;
    e->late_us = (int64_t)(late * 1e6);
    ev_init(&e->arrival_timer, on_arrival);
    e->arrival_timer.data = e;
    for (size_t c = 0; c < e->nclasses; c++) {
        ccd_arrivals_t *a = &e->arrivals[c];
        ccd_hist_init(&a->lateness);
        a->open = e->script.classes[c].open != 0;
        double cap = ceil(e->script.classes[c].arrival_backlog * share);
        a->cap = cap > 0 ? (unsigned)cap : 0;
        /* The backlog is allocated once: arrivals never allocate. */
        if (a->open && a->cap && !(a->ring = malloc(sizeof(*a->ring) * a->cap)))
            return CCD_ENOMEM;
        /* The lateness bands a run usually needs, so that the first late starts do not. */
        if (a->open && (ccd_hist_reserve(&a->lateness, 1000) || ccd_hist_reserve(&a->lateness, 0)))
            return CCD_ENOMEM;
    }
    return 0;
}

void ccd_arrivals_free(ccd_engine_t *e)
{
    if (!e->arrivals)
        return;
    for (size_t c = 0; c < e->nclasses; c++) {
        free(e->arrivals[c].ring);
        ccd_hist_destroy(&e->arrivals[c].lateness);
    }
    free(e->arrivals);
    e->arrivals = NULL;
}

static void idle_push(ccd_arrivals_t *a, ccd_user_t *u)
{
    u->idle_prev = NULL;
    u->idle_next = a->idle;
    if (a->idle)
        a->idle->idle_prev = u;
    a->idle = u;
}

void ccd_arrivals_unidle(ccd_user_t *u)
{
    ccd_arrivals_t *a = &u->eng->arrivals[u->class_idx];
    if (u->idle_prev)
        u->idle_prev->idle_next = u->idle_next;
    else
        a->idle = u->idle_next;
    if (u->idle_next)
        u->idle_next->idle_prev = u->idle_prev;
    u->idle_prev = u->idle_next = NULL;
}

/* Counts the start of an arrival intended at due_us on u and sets u's lag. */
static void count_start(ccd_engine_t *e, ccd_arrivals_t *a, ccd_user_t *u, int64_t due_us)
{
    int64_t lag = ccd_clock_us() - due_us;
    if (lag < 0)
        lag = 0;
    a->started++;
    if (lag > e->late_us)
        a->late++;
    ccd_hist_record(&a->lateness, lag);
    u->scheduled = true;
    u->lag_us = lag;
}

/* One arrival due at due_us: started at once on a free user, kept, or dropped. */
static void arrive(ccd_engine_t *e, ccd_arrivals_t *a, int64_t due_us)
{
    a->scheduled++;
    ccd_user_t *u = a->idle;
    if (u) {
        ccd_arrivals_unidle(u);
        count_start(e, a, u, due_us);
        ccd_user_resume(u, 0);
    } else if (a->len < a->cap) {
        a->ring[(a->head + a->len) % a->cap] = due_us;
        if (++a->len > a->high)
            a->high = a->len;
    } else {
        a->dropped++;
    }
}

static int64_t next_due(const ccd_arrivals_t *a)
{
    return a->base_us + (int64_t)((double)a->k * a->interval_us);
}

/* Arms the timer for the earliest arrival to come. */
static void arm(ccd_engine_t *e, int64_t now)
{
    int64_t first = INT64_MAX;
    for (size_t c = 0; c < e->nclasses; c++) {
        ccd_arrivals_t *a = &e->arrivals[c];
        if (a->open && a->interval_us > 0 && next_due(a) < first)
            first = next_due(a);
    }
    ev_timer_stop(e->loop, &e->arrival_timer);
    if (first == INT64_MAX || e->stopping)
        return;
    ev_timer_set(&e->arrival_timer, first > now ? (double)(first - now) / 1e6 : 0, 0);
    ev_timer_start(e->loop, &e->arrival_timer);
}

/* Every arrival due by now, in order of class; the loop's time is not trusted (it was read
 * when the loop woke), the clock is. Users resumed here run until they wait. */
static void on_arrival(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_engine_t *e = w->data;
    int64_t now = ccd_clock_us();
    for (size_t c = 0; c < e->nclasses && !e->stopping; c++) {
        ccd_arrivals_t *a = &e->arrivals[c];
        while (a->open && a->interval_us > 0 && next_due(a) <= now && !e->stopping) {
            int64_t due = next_due(a);
            a->k++;
            arrive(e, a, due);
        }
    }
    arm(e, ccd_clock_us());
}

void ccd_arrivals_rate(ccd_engine_t *e, int class_idx, double rate)
{
    if (!e->arrivals || class_idx < 0 || (size_t)class_idx >= e->nclasses || e->stopping)
        return;
    ccd_arrivals_t *a = &e->arrivals[class_idx];
    double interval = rate > 0 ? 1e6 / rate : 0;
    if (!a->open || interval == a->interval_us)
        return;
    int64_t now = ccd_clock_us();
    /* The next arrival keeps its time under the old rate (the first one comes at once);
     * the new interval applies from there. */
    a->base_us = a->interval_us > 0 && next_due(a) > now ? next_due(a) : now;
    a->k = 0;
    a->interval_us = interval;
    arm(e, now);
}

void ccd_arrivals_stop(ccd_engine_t *e)
{
    if (!e->arrivals)
        return;
    ev_timer_stop(e->loop, &e->arrival_timer);
    for (size_t c = 0; c < e->nclasses; c++) {
        ccd_arrivals_t *a = &e->arrivals[c];
        a->dropped += a->len;
        a->len = 0;
        a->interval_us = 0;
    }
}

void ccd_arrivals_flush(ccd_engine_t *e)
{
    if (!e->arrivals)
        return;
    for (size_t c = 0; c < e->nclasses; c++) {
        ccd_arrivals_t *a = &e->arrivals[c];
        if (!a->open)
            continue;
        ccd_stats_arrivals_t *s = ccd_stats_arrivals(e->stats, e->script.classes[c].name);
        if (!s || ccd_hist_merge(&s->lateness, &a->lateness))
            continue; /* out of memory: kept for the next report */
        s->scheduled += a->scheduled;
        s->started += a->started;
        s->dropped += a->dropped;
        s->late += a->late;
        if (a->high > s->backlog_max)
            s->backlog_max = a->high;
        a->scheduled = a->started = a->dropped = a->late = 0;
        a->high = a->len;
        ccd_hist_reset(&a->lateness);
    }
}

void ccd_arrivals_reset(ccd_engine_t *e)
{
    if (!e->arrivals)
        return;
    for (size_t c = 0; c < e->nclasses; c++) {
        ccd_arrivals_t *a = &e->arrivals[c];
        a->scheduled = a->started = a->dropped = a->late = 0;
        a->high = a->len;
        ccd_hist_reset(&a->lateness);
    }
}

/* The open model and paced waits as the bindings see them (engine/binding.h). */

int ccd_user_arrival(ccd_user_t *u)
{
    ccd_engine_t *e = u->eng;
    if (u->stopping)
        return 2;
    ccd_arrivals_t *a = e->arrivals ? &e->arrivals[u->class_idx] : NULL;
    if (!a || !a->open)
        return 2;
    if (a->len > 0) {
        int64_t due = a->ring[a->head];
        a->head = (a->head + 1) % a->cap;
        a->len--;
        count_start(e, a, u, due);
        return 0;
    }
    idle_push(a, u);
    u->state = CCD_USER_IDLE;
    return 1;
}

void ccd_user_set_lag(ccd_user_t *u, double seconds)
{
    u = u->root;
    u->scheduled = true;
    u->lag_us = seconds > 0 ? (int64_t)(seconds * 1e6 + 0.5) : 0;
}

void ccd_user_record(ccd_user_t *u, const char *type, size_t type_len, const char *name,
                     size_t name_len, int64_t us, uint64_t bytes, const char *err, size_t err_len)
{
    ccd_engine_t *e = u->eng;
    u = u->root; /* a piece's requests run on its user's schedule */
    if (u->scheduled) {
        ccd_stats_t *service = ccd_stats_service(e->stats);
        double now = ev_now(e->loop);
        if (service)
            ccd_stats_record(service, type, type_len, name, name_len, us, bytes, err, err_len, now);
        us += u->lag_us;
    }
    ccd_engine_record(e, type, type_len, name, name_len, us, bytes, err, err_len);
}
