/* The runner's loop: spawning at the spawn rate, merging one delta report per engine per
 * second, the console table every 2 s, stopping on -t or a signal, then the final report. */
#include "runner.h"

#include <ev.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "engine.h"
#include "error.h"
#include "log.h"
#include "report.h"
#include "script.h"
#include "stats.h"

#define PRINT_INTERVAL     2.0
#define BUSY_WARN_PERMILLE 900
#define BUSY_WARN_EVERY    10.0

typedef struct {
    const ccd_options_t *o;
    struct ev_loop *loop;
    ccd_script_t script; /* the scenario loaded once more, for its class descriptions */
    int *sel;            /* the classes to run (indices into script.classes) */
    size_t nsel;
    double *cw;          /* smooth weighted round-robin state, per selected class */
    unsigned *per_class; /* users dispatched per class */
    ccd_engine_t **engines;
    unsigned nengines, ndone;
    unsigned *engine_users;
    long *batch; /* users to start per (engine, class) in this tick */
    ccd_queue_t inbox;
    ccd_stats_t *stats;
    unsigned dispatched, started;
    double spawn_start, test_start, last_busy_warn;
    bool spawn_done, stopping;
    int signals;
    ev_timer spawn_timer, print_timer, run_timer;
    ev_signal sigint, sigterm;
} runner_t;

static void fail(const char *msg)
{
    fprintf(stderr, "cicada: %s\n", msg);
    fflush(stderr);
}

/* Picks the next class by smooth weighted round-robin: the same order every run, and at any
 * moment the counts are as close to the weights as whole users allow. */
static size_t next_class(runner_t *r)
{
    double total = 0;
    size_t best = 0;
    for (size_t i = 0; i < r->nsel; i++) {
        double w = r->script.classes[r->sel[i]].weight;
        r->cw[i] += w;
        total += w;
        if (r->cw[i] > r->cw[best])
            best = i;
    }
    r->cw[best] -= total;
    return best;
}

static unsigned running_users(const runner_t *r)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->nengines; i++)
        n += r->engine_users[i];
    return n;
}

static void log_spawned(runner_t *r)
{
    char counts[1024] = "";
    size_t off = 0;
    for (size_t i = 0; i < r->nsel && off < sizeof(counts); i++)
        off += (size_t)snprintf(counts + off, sizeof(counts) - off, "%s%s: %u", i ? ", " : "",
                                r->script.classes[r->sel[i]].name, r->per_class[i]);
    ccd_log(CCD_LOG_INFO, "All users spawned: %u users (%.2f s) - %s", r->started,
            ev_time() - r->spawn_start, counts);
}

static void on_spawn_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    const ccd_options_t *o = r->o;
    double due_f = floor(o->spawn_rate * (ev_time() - r->spawn_start)) + 1;
    unsigned due = due_f >= o->users ? o->users : (unsigned)due_f;
    memset(r->batch, 0, sizeof(long) * r->nengines * r->nsel);
    for (; r->dispatched < due; r->dispatched++) {
        size_t c = next_class(r);
        r->batch[(r->dispatched % r->nengines) * r->nsel + c]++;
        r->per_class[c]++;
    }
    for (unsigned e = 0; e < r->nengines; e++)
        for (size_t c = 0; c < r->nsel; c++)
            if (r->batch[e * r->nsel + c])
                ccd_engine_post(r->engines[e], CCD_MSG_SPAWN, r->sel[c], r->batch[e * r->nsel + c],
                                NULL);
    if (r->dispatched >= o->users)
        ev_timer_stop(loop, w);
}

static void begin_stop(runner_t *r, const char *why)
{
    if (r->stopping)
        return;
    r->stopping = true;
    ccd_log(CCD_LOG_INFO, "%s: stopping %u users", why, running_users(r));
    ev_timer_stop(r->loop, &r->spawn_timer);
    ev_timer_stop(r->loop, &r->run_timer);
    for (unsigned i = 0; i < r->nengines; i++)
        ccd_engine_post(r->engines[i], CCD_MSG_STOP, (long)(r->o->stop_timeout * 1000), 0, NULL);
}

static void warn_busy(runner_t *r, int engine, long permille)
{
    double now = ev_time();
    if (permille < BUSY_WARN_PERMILLE || now - r->last_busy_warn < BUSY_WARN_EVERY)
        return;
    r->last_busy_warn = now;
    ccd_log(CCD_LOG_WARNING,
            "engine thread %d was busy %ld%% of the last second: cicada itself is saturated, so "
            "response times include its own delays; add --threads or lower the load",
            engine, permille / 10);
}

static void take_report(runner_t *r, const ccd_msg_t *m)
{
    if (m->ptr && ccd_stats_merge(r->stats, m->ptr))
        ccd_log(CCD_LOG_ERROR, "out of memory merging statistics");
    if (m->type == CCD_MSG_DONE) {
        if (m->ptr)
            ccd_stats_free(m->ptr);
        r->engine_users[m->from] = 0;
        if (++r->ndone == r->nengines)
            ev_break(r->loop, EVBREAK_ALL);
        return;
    }
    r->engine_users[m->from] = (unsigned)m->a;
    warn_busy(r, m->from, m->b);
    if (ccd_engine_post(r->engines[m->from], CCD_MSG_RECYCLE, 0, 0, m->ptr))
        ccd_stats_free(m->ptr);
}

static void on_message(ccd_queue_t *q, void *ud)
{
    runner_t *r = ud;
    ccd_msg_t m;
    while (ccd_queue_pop(q, &m) == 0) {
        switch (m.type) {
        case CCD_MSG_REPORT:
        case CCD_MSG_DONE: take_report(r, &m); break;
        case CCD_MSG_SPAWNED:
            r->started += (unsigned)m.a;
            if (!r->spawn_done && r->started >= r->o->users) {
                r->spawn_done = true;
                log_spawned(r);
            }
            break;
        case CCD_MSG_LOG:
            ccd_log(CCD_LOG_WARNING, "%s", (char *)m.ptr);
            free(m.ptr);
            break;
        }
    }
}

static void on_print(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    if (!r->spawn_done && !r->stopping)
        ccd_log(CCD_LOG_INFO, "Spawning: %u/%u users", r->started, r->o->users);
    ccd_report_table(stderr, r->stats, ev_time());
    fflush(stderr);
}

static void on_run_time(struct ev_loop *loop, ev_timer *w, int revents)
{
    begin_stop(w->data, "Run time limit reached");
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    runner_t *r = w->data;
    if (++r->signals > 1) {
        ccd_log(CCD_LOG_WARNING, "Second signal: not waiting for users to stop");
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    begin_stop(r, w->signum == SIGINT ? "Interrupted (SIGINT)" : "Terminated (SIGTERM)");
}

/* Resolves positional class names into the selection; all classes when none are named. */
static int select_classes(runner_t *r)
{
    const ccd_options_t *o = r->o;
    size_t n = o->nclasses ? (size_t)o->nclasses : r->script.nclasses;
    r->sel = calloc(n, sizeof(*r->sel));
    r->cw = calloc(n, sizeof(*r->cw));
    r->per_class = calloc(n, sizeof(*r->per_class));
    if (!r->sel || !r->cw || !r->per_class)
        return CCD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int idx = o->nclasses ? ccd_script_find_class(&r->script, o->classes[i]) : (int)i;
        if (idx < 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "unknown user class '%s' (the scenario defines %s%s)",
                     o->classes[i], r->script.classes[0].name,
                     r->script.nclasses > 1 ? ", ..." : "");
            fail(msg);
            return CCD_EINVAL;
        }
        r->sel[r->nsel++] = idx;
    }
    double total = 0;
    for (size_t i = 0; i < r->nsel; i++)
        total += r->script.classes[r->sel[i]].weight;
    if (total <= 0) {
        fail("every selected user class has weight 0");
        return CCD_EINVAL;
    }
    return 0;
}

static int start_engines(runner_t *r)
{
    const ccd_options_t *o = r->o;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    r->nengines = o->threads ? o->threads : (cpus > 0 ? (unsigned)cpus : 1);
    r->engines = calloc(r->nengines, sizeof(*r->engines));
    r->engine_users = calloc(r->nengines, sizeof(*r->engine_users));
    r->batch = calloc((size_t)r->nengines * r->nsel, sizeof(*r->batch));
    const char **hosts = calloc(r->script.nclasses, sizeof(*hosts));
    if (!r->engines || !r->engine_users || !r->batch || !hosts) {
        free(hosts);
        return CCD_ENOMEM;
    }
    for (size_t i = 0; i < r->script.nclasses; i++)
        hosts[i] = o->host ? o->host : r->script.classes[i].host;
    ccd_engine_config_t cfg = {.scenario = o->scenario,
                               .hosts = hosts,
                               .nclasses = r->script.nclasses,
                               .runner = &r->inbox};
    char err[1024];
    for (unsigned i = 0; i < r->nengines; i++) {
        cfg.index = (int)i;
        if (ccd_engine_start(&r->engines[i], &cfg, err, sizeof(err))) {
            fail(err);
            free(hosts);
            r->nengines = i;
            return CCD_EINVAL;
        }
    }
    free(hosts);
    return 0;
}

static void start_timers(runner_t *r)
{
    const ccd_options_t *o = r->o;
    double tick = 1.0 / o->spawn_rate;
    tick = tick < 0.01 ? 0.01 : tick > 1 ? 1 : tick;
    /* Loading the scenario in every engine took time since the loop last looked at the clock:
     * timers started against that stale time would cut the run short by as much. */
    ev_now_update(r->loop);
    r->spawn_start = r->test_start = ev_time();
    ev_timer_init(&r->spawn_timer, on_spawn_tick, 0, tick);
    ev_timer_init(&r->print_timer, on_print, PRINT_INTERVAL, PRINT_INTERVAL);
    ev_timer_init(&r->run_timer, on_run_time, o->run_time, 0);
    ev_signal_init(&r->sigint, on_signal, SIGINT);
    ev_signal_init(&r->sigterm, on_signal, SIGTERM);
    r->spawn_timer.data = r->print_timer.data = r->run_timer.data = r;
    r->sigint.data = r->sigterm.data = r;
    if (o->users > 0)
        ev_timer_start(r->loop, &r->spawn_timer);
    else
        r->spawn_done = true;
    if (!o->only_summary)
        ev_timer_start(r->loop, &r->print_timer);
    if (o->run_time > 0)
        ev_timer_start(r->loop, &r->run_timer);
    ev_signal_start(r->loop, &r->sigint);
    ev_signal_start(r->loop, &r->sigterm);
}

static void final_report(runner_t *r, double duration)
{
    fputc('\n', stderr);
    ccd_report_table_final(stderr, r->stats);
    fputc('\n', stderr);
    ccd_report_percentiles(stderr, r->stats);
    ccd_report_errors(stderr, r->stats);
    ccd_report_exceptions(stderr, r->stats);
    fflush(stderr);
    if (r->o->json) {
        ccd_report_json(stdout, r->stats, r->started, duration);
        fflush(stdout);
    }
}

static int exit_code(const runner_t *r)
{
    const ccd_stats_entry_t *t = ccd_stats_total(r->stats);
    bool failed = t->num_failures > 0 || ccd_stats_exception_count(r->stats) > 0;
    return failed ? r->o->exit_code_on_error : 0;
}

static void runner_free(runner_t *r)
{
    if (r->inbox._ring)
        ccd_queue_destroy(&r->inbox);
    if (r->stats)
        ccd_stats_free(r->stats);
    ccd_script_close(&r->script);
    free(r->sel);
    free(r->cw);
    free(r->per_class);
    free(r->engines);
    free(r->engine_users);
    free(r->batch);
}

/* Stops every started engine and waits for it (used when set-up fails half-way). */
static void abort_engines(runner_t *r)
{
    for (unsigned i = 0; i < r->nengines; i++)
        ccd_engine_post(r->engines[i], CCD_MSG_STOP, 0, 0, NULL);
    for (unsigned i = 0; i < r->nengines; i++)
        ccd_engine_join(r->engines[i]);
}

static int prepare(runner_t *r, const ccd_options_t *o)
{
    char err[1024];
    memset(r, 0, sizeof(*r));
    r->o = o;
    r->loop = EV_DEFAULT;
    if (access(o->scenario, R_OK) != 0) {
        snprintf(err, sizeof(err), "cannot read scenario file '%s': %s", o->scenario,
                 strerror(errno));
        fail(err);
        return CCD_EINVAL;
    }
    if (ccd_script_open(&r->script, o->scenario, NULL, 1, err, sizeof(err))) {
        fail(err);
        return CCD_EINVAL;
    }
    if (select_classes(r))
        return CCD_EINVAL;
    r->stats = ccd_stats_new(ccd_clock_wall());
    if (!r->stats || ccd_queue_init(&r->inbox, r->loop, on_message, r))
        return CCD_ENOMEM;
    return 0;
}

int ccd_runner_run(const ccd_options_t *o)
{
    runner_t r;
    int rc = prepare(&r, o);
    /* Engine threads inherit a mask without SIGINT/SIGTERM: only the runner handles them. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (rc == 0 && (rc = start_engines(&r)) != 0)
        abort_engines(&r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        runner_free(&r);
        return 2;
    }
    if (!o->headless)
        ccd_log(CCD_LOG_WARNING, "the web UI is not available in this build: running headless");
    ccd_log(CCD_LOG_INFO, "Ramping to %u users at a rate of %.2f per second (%u threads)", o->users,
            o->spawn_rate, r.nengines);
    start_timers(&r);
    ev_run(r.loop, 0);
    double duration = ev_time() - r.test_start;
    bool forced = r.ndone < r.nengines;
    final_report(&r, duration);
    int code = exit_code(&r);
    ccd_log(CCD_LOG_INFO, "Shutting down (exit code %d)", code);
    if (forced)
        _exit(code); /* engines may still be stopping: do not wait for them */
    for (unsigned i = 0; i < r.nengines; i++)
        ccd_engine_join(r.engines[i]);
    runner_free(&r);
    return code;
}
