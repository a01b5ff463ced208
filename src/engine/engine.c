/* An engine thread: its loop, its messages from the runner, its reports back, its stop. */
#include "engine/engine_int.h"

#include <lauxlib.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "engine/lmem.h"

#define REPORT_INTERVAL 1.0
#define ON_STOP_GRACE   5.0 /* seconds on_stop handlers get once users are told to stop */
#define IN_FLIGHT_GRACE 2.0 /* seconds a request in flight at a stop may still take to answer */
#define IDLE_GC_BUSY    0.2 /* a loop busier than this fraction of a second is not idle */
#define IDLE_GC_EVERY   5.0 /* seconds between two idle-time full collections */

static void post_runner(ccd_engine_t *e, int type, long a, long b, void *ptr)
{
    ccd_msg_t m = {.type = type, .from = e->index, .a = a, .b = b, .c = e->generation, .ptr = ptr};
    ccd_queue_push(e->runner, &m);
}

void ccd_engine_stop_test(ccd_engine_t *e, const char *reason)
{
    post_runner(e, CCD_MSG_QUIT, 0, 0, strdup(reason));
}

/* Hands the filled delta to the runner and continues on a recycled (or new) one. */
static void send_report(ccd_engine_t *e, int type)
{
    double now = ev_now(e->loop);
    ccd_stats_t *next = e->spare ? e->spare : ccd_stats_new(now);
    if (!next && type == CCD_MSG_REPORT)
        return; /* out of memory: keep filling the current delta */
    e->spare = NULL;
    ccd_arrivals_flush(e);
    long busy = (long)(e->busy * 1000.0 / REPORT_INTERVAL);
    e->busy = 0;
    post_runner(e, type, e->users, busy > 1000 ? 1000 : busy, e->stats);
    e->stats = next;
    if (e->stats)
        ccd_stats_reset(e->stats, now);
}

/* While the loop has time to spare, a full collection returns the garbage of past responses
 * at once instead of letting it wait for the collector's next cycle: idle users then cost
 * only their live state. Under load the incremental collector keeps pace by itself. */
static void collect_when_idle(ccd_engine_t *e, double busy)
{
    double now = ev_now(e->loop);
    if (busy < IDLE_GC_BUSY && now - e->last_gc >= IDLE_GC_EVERY) {
        lua_gc(e->script.L, LUA_GCCOLLECT, 0);
        ccd_lmem_trim(e->script.mem);
        malloc_trim(0); /* give the freed pages back: an idle generator should look idle */
        e->last_gc = now;
    }
}

static void on_report(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_engine_t *e = w->data;
    double busy = e->busy / REPORT_INTERVAL;
    send_report(e, CCD_MSG_REPORT);
    collect_when_idle(e, busy);
}

/* The loop's busy time: from waking up (check) to going back to sleep (prepare). */
static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
    ccd_engine_t *e = w->data;
    if (e->last_wake > 0)
        e->busy += ev_time() - e->last_wake;
}

static void on_check(struct ev_loop *loop, ev_check *w, int revents)
{
    ccd_engine_t *e = w->data;
    e->last_wake = ev_time();
}

static void finish(ccd_engine_t *e)
{
    if (e->finished)
        return;
    e->finished = true;
    ccd_arrivals_stop(e);
    ev_timer_stop(e->loop, &e->report_timer);
    ev_timer_stop(e->loop, &e->stop_timer);
    ev_timer_stop(e->loop, &e->kill_timer);
    ev_timer_stop(e->loop, &e->done_timer);
    ev_timer_stop(e->loop, &e->flight_timer);
    ccd_user_free_all(e);
    send_report(e, CCD_MSG_DONE);
    ev_break(e->loop, EVBREAK_ALL);
}

static void stop_all(ccd_engine_t *e, bool graceful)
{
    /* Stopping a user may release it at once, never another one: keep the next in hand. */
    for (size_t c = 0; c < e->nclasses; c++)
        for (ccd_user_t *u = e->classes[c].head, *next; u; u = next) {
            next = u->next;
            ccd_user_stop(u, graceful);
        }
}

/* Users stopped at once, but whose request was in flight, wait for its answer (so that what
 * the target served is counted) for a bounded time. */
static void stop_all_now(ccd_engine_t *e)
{
    stop_all(e, false);
    ev_timer_set(&e->flight_timer, IN_FLIGHT_GRACE, 0);
    ev_timer_start(e->loop, &e->flight_timer);
}

static void on_flight_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_engine_t *e = w->data;
    for (size_t c = 0; c < e->nclasses; c++)
        for (ccd_user_t *u = e->classes[c].head, *next; u; u = next) {
            next = u->next;
            ccd_user_abandon(u);
        }
}

static void check_done(ccd_engine_t *e)
{
    if (e->stopping && e->users == 0)
        finish(e);
}

static void on_done(struct ev_loop *loop, ev_timer *w, int revents)
{
    check_done(w->data);
}

void ccd_engine_user_gone(ccd_engine_t *e)
{
    if (e->stopping && e->users == 0 && !e->finished)
        ev_timer_start(e->loop, &e->done_timer);
}

static void on_stop_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_engine_t *e = w->data;
    stop_all_now(e);
    check_done(e);
}

static void on_kill(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_engine_t *e = w->data;
    if (e->users > 0) {
        char *msg = NULL;
        if (asprintf(&msg, "%u users did not finish on_stop in time; they were dropped",
                     e->users) >= 0)
            post_runner(e, CCD_MSG_LOG, 0, 0, msg);
    }
    finish(e);
}

static void begin_stop(ccd_engine_t *e, double timeout)
{
    if (e->stopping)
        return;
    e->stopping = true;
    ccd_arrivals_stop(e);
    ev_timer_set(&e->kill_timer, timeout + ON_STOP_GRACE, 0);
    ev_timer_start(e->loop, &e->kill_timer);
    if (timeout > 0) {
        stop_all(e, true);
        ev_timer_set(&e->stop_timer, timeout, 0);
        ev_timer_start(e->loop, &e->stop_timer);
    } else {
        stop_all_now(e);
    }
    check_done(e);
}

static void spawn(ccd_engine_t *e, int class_idx, long n)
{
    long started = 0;
    if (!e->stopping && class_idx >= 0 && (size_t)class_idx < e->nclasses)
        for (; started < n; started++)
            if (ccd_user_spawn(e, class_idx))
                break;
    post_runner(e, CCD_MSG_SPAWNED, started, class_idx, NULL);
}

static void stop_users(ccd_engine_t *e, int class_idx, long n)
{
    if (class_idx < 0 || (size_t)class_idx >= e->nclasses)
        return;
    ccd_user_list_t *l = &e->classes[class_idx];
    for (ccd_user_t *u = l->tail; u && n > 0;) {
        ccd_user_t *prev = u->prev;
        if (!u->in_stop && !u->stopping) {
            ccd_user_stop(u, false);
            n--;
        }
        u = prev;
    }
}

static void on_message(ccd_queue_t *q, void *ud)
{
    ccd_engine_t *e = ud;
    ccd_msg_t m;
    while (ccd_queue_pop(q, &m) == 0) {
        switch (m.type) {
        case CCD_MSG_SPAWN: spawn(e, (int)m.a, m.b); break;
        case CCD_MSG_STOP_USERS: stop_users(e, (int)m.a, m.b); break;
        case CCD_MSG_STOP: begin_stop(e, (double)m.a / 1000.0); break;
        case CCD_MSG_RESET:
            e->generation = m.a;
            ccd_stats_reset(e->stats, ev_now(e->loop));
            ccd_arrivals_reset(e);
            break;
        case CCD_MSG_RATE: ccd_arrivals_rate(e, (int)m.a, (double)m.b / 1000.0); break;
        case CCD_MSG_CUSTOM: ccd_engine_deliver(e, m.ptr); break;
        case CCD_MSG_RECYCLE:
            if (e->spare)
                ccd_stats_free(m.ptr);
            else
                e->spare = m.ptr;
            break;
        }
    }
    check_done(e);
}

static void *engine_main(void *arg)
{
    ccd_engine_t *e = arg;
    ev_run(e->loop, 0);
    return NULL;
}

static int init_loop(ccd_engine_t *e)
{
    e->loop = ev_loop_new(EVFLAG_AUTO);
    if (!e->loop)
        return CCD_ENOMEM;
    ev_timer_init(&e->report_timer, on_report, REPORT_INTERVAL, REPORT_INTERVAL);
    ev_init(&e->stop_timer, on_stop_timeout);
    ev_init(&e->kill_timer, on_kill);
    ev_timer_init(&e->done_timer, on_done, 0, 0);
    ev_init(&e->flight_timer, on_flight_timeout);
    ev_prepare_init(&e->prepare, on_prepare);
    ev_check_init(&e->check, on_check);
    e->report_timer.data = e->stop_timer.data = e->kill_timer.data = e->done_timer.data = e;
    e->flight_timer.data = e;
    e->prepare.data = e->check.data = e;
    ev_timer_start(e->loop, &e->report_timer);
    ev_prepare_start(e->loop, &e->prepare);
    ev_check_start(e->loop, &e->check);
    return ccd_queue_init(&e->inbox, e->loop, on_message, e);
}

static int init_classes(ccd_engine_t *e, const ccd_engine_config_t *cfg)
{
    e->nclasses = cfg->nclasses;
    e->classes = calloc(cfg->nclasses, sizeof(*e->classes));
    e->hosts = calloc(cfg->nclasses, sizeof(*e->hosts));
    if (!e->classes || !e->hosts)
        return CCD_ENOMEM;
    for (size_t i = 0; i < cfg->nclasses; i++)
        if (cfg->hosts[i] && !(e->hosts[i] = strdup(cfg->hosts[i])))
            return CCD_ENOMEM;
    return 0;
}

/* What the runner posted after the engine's last turn of the loop still owns memory. */
static void drop_inbox(ccd_engine_t *e)
{
    ccd_msg_t m;
    while (ccd_queue_pop(&e->inbox, &m) == 0)
        if (m.type == CCD_MSG_CUSTOM)
            ccd_custom_msg_free(m.ptr);
        else if (m.type == CCD_MSG_RECYCLE)
            ccd_stats_free(m.ptr);
}

static void engine_free(ccd_engine_t *e)
{
    ccd_user_free_all(e);
    ccd_arrivals_free(e);
    if (e->script.L)
        ccd_script_close(&e->script);
    if (e->http)
        ccd_http_ctx_destroy(e->http);
    if (e->loop) {
        drop_inbox(e);
        ccd_queue_destroy(&e->inbox);
        ev_loop_destroy(e->loop);
    }
    for (size_t i = 0; i < e->nclasses && e->hosts; i++)
        free(e->hosts[i]);
    free(e->hosts);
    free(e->classes);
    if (e->stats)
        ccd_stats_free(e->stats);
    if (e->spare)
        ccd_stats_free(e->spare);
    free(e);
}

/* The script loader's view of the bindings: it knows no engine. */
typedef struct {
    ccd_engine_t *eng;
    const ccd_engine_config_t *cfg;
} open_bindings_t;

static void open_bindings(lua_State *L, void *ud)
{
    open_bindings_t *o = ud;
    o->cfg->bindings(L, o->eng, o->cfg->bindings_ud);
}

static int engine_init(ccd_engine_t *e, const ccd_engine_config_t *cfg, char *err, size_t errlen)
{
    int rc;
    e->index = cfg->index;
    e->runner = cfg->runner;
    e->request_timeout = cfg->request_timeout;
    e->max_body = cfg->max_body;
    e->http2 = cfg->http2;
    if ((rc = init_classes(e, cfg)) || (rc = init_loop(e))) {
        snprintf(err, errlen, "engine %d: %s", cfg->index, ccd_strerror(rc));
        return rc;
    }
    if ((rc = ccd_http_ctx_create(&e->http, e->loop, &cfg->http))) {
        snprintf(err, errlen, "HTTP client: %s", ccd_strerror(rc));
        return rc;
    }
    e->stats = ccd_stats_new(ccd_clock_wall());
    if (!e->stats) {
        snprintf(err, errlen, "engine %d: %s", cfg->index, ccd_strerror(CCD_ENOMEM));
        return CCD_ENOMEM;
    }
    open_bindings_t ob = {.eng = e, .cfg = cfg};
    ccd_script_env_t env = {
        .open = open_bindings, .ud = &ob, .seed = (double)ccd_clock_us() + 7919.0 * cfg->index};
    if ((rc = ccd_script_open(&e->script, cfg->scenario, &env, err, errlen)))
        return rc;
    if ((rc = ccd_arrivals_init(e, cfg->share, cfg->arrival_late)))
        snprintf(err, errlen, "engine %d: %s", cfg->index, ccd_strerror(rc));
    return rc;
}

int ccd_engine_start(ccd_engine_t **out, const ccd_engine_config_t *cfg, char *err, size_t errlen)
{
    ccd_engine_t *e = calloc(1, sizeof(*e));
    if (!e) {
        snprintf(err, errlen, "engine %d: %s", cfg->index, ccd_strerror(CCD_ENOMEM));
        return CCD_ENOMEM;
    }
    int rc = engine_init(e, cfg, err, errlen);
    if (rc == 0 && pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        snprintf(err, errlen, "cannot start engine thread %d", cfg->index);
        rc = CCD_ENOMEM;
    }
    if (rc) {
        engine_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int ccd_engine_post(ccd_engine_t *e, int type, long a, long b, void *ptr)
{
    ccd_msg_t m = {.type = type, .from = -1, .a = a, .b = b, .ptr = ptr};
    return ccd_queue_push(&e->inbox, &m);
}

void ccd_engine_join(ccd_engine_t *e)
{
    pthread_join(e->thread, NULL);
    engine_free(e);
}

/* The engine as the bindings see it (engine/binding.h). */

struct ev_loop *ccd_engine_loop(const ccd_engine_t *e)
{
    return e->loop;
}

ccd_http_ctx_t *ccd_engine_http(const ccd_engine_t *e)
{
    return e->http;
}

ccd_user_t *ccd_engine_current(const ccd_engine_t *e)
{
    return e ? e->current : NULL;
}

ccd_user_t *ccd_engine_blocking_user(lua_State *L, const ccd_engine_t *e, const char *what)
{
    ccd_user_t *u = ccd_engine_current(e);
    if (!u)
        luaL_error(L, "%s is only possible inside a user (a task, on_start or on_stop)", what);
    if (u->co != L)
        luaL_error(L, "%s cannot wait inside a coroutine of the script's own", what);
    return u;
}

int ccd_engine_slot(ccd_engine_t *e, ccd_slot_free_fn release)
{
    if (e->nslots == CCD_USER_SLOTS)
        return CCD_ENOMEM;
    e->slot_free[e->nslots] = release;
    return e->nslots++;
}

void ccd_engine_record(ccd_engine_t *e, const char *type, size_t type_len, const char *name,
                       size_t name_len, int64_t us, uint64_t bytes, const char *err, size_t err_len)
{
    ccd_stats_record(e->stats, type, type_len, name, name_len, us, bytes, err, err_len,
                     ev_now(e->loop));
}

void ccd_engine_record_abandoned(ccd_engine_t *e, const char *type, size_t type_len,
                                 const char *name, size_t name_len)
{
    ccd_stats_abandon(e->stats, type, type_len, name, name_len);
}

void ccd_engine_record_generator_error(ccd_engine_t *e, const char *type, size_t type_len,
                                       const char *name, size_t name_len, const char *err,
                                       size_t err_len)
{
    ccd_stats_generator_error(e->stats, type, type_len, name, name_len, err, err_len, 1);
}

void ccd_engine_exception(ccd_engine_t *e, const char *msg, const char *tb)
{
    ccd_stats_exception(e->stats, msg, tb);
}
