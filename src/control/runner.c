/* The runner's loop: ramping users up and down at the spawn rate (or as a load shape says),
 * handing the engines' delta reports to the collector, ticking it every second and printing its
 * table every 2 s, stopping on -t, a signal or the scenario's word, then the exit code. */
#include "control/runner.h"

#include <errno.h>
#include <ev.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "control/collector.h"
#include "control/dispatch.h"
#include "control/engines.h"
#include "control/fleet.h"
#include "control/scenario.h"
#include "control/keys.h"
#include "control/preflight.h"
#include "control/shape.h"
#include "control/ui.h"
#include "engine/engine.h"
#include "stats/stats.h"

#define PRINT_INTERVAL     2.0
#define BUSY_WARN_PERMILLE 900

typedef struct {
    const ccd_options_t *o;
    struct ev_loop *loop;
    ccd_scenario_t scenario; /* loaded once more: classes, events, load shape */
    ccd_dispatch_t *plan;    /* which user is which class, on which engine */
    long *batch;             /* users to start or stop per (engine, selected class) */
    unsigned nengines;       /* engines wanted */
    ccd_engines_t engines;
    unsigned ndone; /* engines whose users have all stopped */
    ccd_queue_t inbox;
    bool inbox_ready; /* inbox initialised, to be destroyed */
    ccd_collector_t *collector;
    unsigned target, started, peak; /* users wanted, users the engines confirmed, the most */
    double rate;                    /* users started or stopped per second */
    double ramp_start;              /* when the current ramp began (monotonic seconds) */
    unsigned ramp_moved;            /* users started or stopped since then */
    double test_start;              /* monotonic seconds */
    double test_start_wall;         /* epoch seconds, for the reports */
    bool busy_warned;               /* the saturation warning is given once per run */
    bool open;                      /* a selected class runs on arrivals (the open model) */
    double arrival_total;           /* the run's iterations per second now (-1: none yet) */
    bool drop_warned, late_warned;  /* the open model's warnings, once per run each */
    double last_progress;           /* monotonic seconds of the last spawning progress line */
    bool progress_open;             /* a terminal's progress line awaits its line end */
    bool ramped, reset_done, stopping;
    int signals;
    ev_timer spawn_timer, second_timer, print_timer, run_timer;
    ev_signal sigint, sigterm;
    /* A test driven by a user interface (see "The web UI's test" below); state is kept in
     * headless runs too. */
    ccd_ui_t *ui; /* NULL: headless */
    ccd_ui_state_t state;
    unsigned want_users; /* the current test's users, rate and run time */
    double want_rate, run_time;
    char *host;            /* owned: the host the UI set, else NULL */
    bool quitting;         /* the process ends once the engines stopped */
    bool test_active;      /* test_start fired, test_stop not yet */
    double test_end_wall;  /* epoch seconds; 0 while a test runs */
    size_t nui;            /* the scenario's runnable classes */
    int *ui_idx;           /* their indices in the script */
    const char **ui_names; /* their names (borrowed from the script) */
    bool *ui_sel;          /* selected for the current or next test */
    unsigned *ui_users;    /* users of each now */
    char *tasks;           /* Locust's /tasks document, owned */
    ev_timer autoquit_timer;
    ccd_keys_t keys;
    /* A master: the users run on remote workers (see "A master's workers" below). */
    ccd_fleet_t *fleet;       /* NULL: local engines */
    bool remote_test;         /* the workers run a test (what engines.n > 0 says locally) */
    bool awaiting_workers;    /* a headless master waits for --expect-workers */
    ev_timer expect_timer;    /* --expect-workers-max-wait */
    unsigned *class_counts;   /* users of each selected class, for the fleet */
    const char **class_names; /* their names */
    int early_exit;           /* an exit code decided before the test ran (-1: none) */
} runner_t;

static void ui_publish(runner_t *r);
static void ui_state(runner_t *r, ccd_ui_state_t s);
static void ui_command(runner_t *r, ccd_ui_cmd_t *cmd);
static void test_ended(runner_t *r);
static void begin_test(runner_t *r);
static int ui_setup(runner_t *r);
static void keys_start(runner_t *r);
static void fleet_target(runner_t *r);
static void fleet_workers_changed(runner_t *r);

/* Producers of users and statistics running a test: engine threads, or a master's workers
 * (counted as one producer). */
static unsigned producers(const runner_t *r)
{
    return r->fleet ? r->remote_test : r->engines.n;
}

/* Seconds on the monotonic clock: every interval the runner measures (spawn rate, run time,
 * shape time, duration) uses it, so that a wall-clock step cannot stretch or cut a test. */
static double mono_now(void)
{
    return (double)ccd_clock_us() / 1e6;
}

/* Prints a set-up failure: the callee's reason, or the code's text when it gave none. */
static void fail(const char *err, int rc)
{
    fprintf(stderr, "cicada: %s\n", err[0] ? err : ccd_strerror(rc));
    fflush(stderr);
}

/* Spawning progress: on a terminal one line rewritten in place (\r) at most 5 times a second,
 * else a log line every PRINT_INTERVAL (from on_print). stderr, as every human output: stdout
 * may carry a JSON document. */
static void progress_text(const runner_t *r, char *buf, size_t len)
{
    double left = r->rate > 0 ? (double)(r->target - r->started) / r->rate : 0;
    snprintf(buf, len, "Spawning: %u/%u users, %.1f s left at %.2f users/s", r->started, r->target,
             left > 0 ? left : 0, r->rate);
}

static void progress_end(runner_t *r)
{
    if (r->progress_open)
        fputc('\n', stderr);
    r->progress_open = false;
}

static void progress_tty(runner_t *r)
{
    double now = mono_now();
    if (!isatty(STDERR_FILENO) || r->ramped || r->stopping || r->started >= r->target ||
        now - r->last_progress < 0.2)
        return;
    char line[160];
    progress_text(r, line, sizeof(line));
    fprintf(stderr, "\r%-70s", line);
    fflush(stderr);
    r->last_progress = now;
    r->progress_open = true;
}

static void log_spawned(runner_t *r)
{
    char counts[1024] = "";
    size_t off = 0;
    for (size_t i = 0; i < r->scenario.nsel && off < sizeof(counts); i++)
        off += (size_t)snprintf(counts + off, sizeof(counts) - off, "%s%s: %u", i ? ", " : "",
                                ccd_scenario_class_name(&r->scenario, i),
                                ccd_dispatch_class_count(r->plan, i));
    progress_end(r);
    ccd_log(CCD_LOG_INFO, "All users spawned: %u users (%.2f s) - %s", r->started,
            mono_now() - r->ramp_start, counts);
}

/* Posts the batch as SPAWN or STOP_USERS messages, one per (engine, class) with users. */
static void post_batch(runner_t *r, int type)
{
    if (r->fleet) {
        fleet_target(r);
        return;
    }
    size_t nsel = r->scenario.nsel;
    for (unsigned e = 0; e < r->engines.n; e++)
        for (size_t c = 0; c < nsel; c++) {
            long n = r->batch[e * nsel + c];
            if (n > 0)
                ccd_engine_post(r->engines.v[e], type, r->scenario.sel[c], n, NULL);
        }
}

/* Once the engines confirm every user of a ramp up: log, event, --reset-stats. */
static void check_ramped(runner_t *r)
{
    if (r->ramped || r->stopping || r->started < r->target ||
        ccd_dispatch_count(r->plan) != r->target)
        return;
    r->ramped = true;
    ui_state(r, CCD_STATE_RUNNING);
    if (r->target == 0)
        return;
    log_spawned(r);
    double users = r->target;
    ccd_scenario_fire(&r->scenario, "spawning_complete", &users);
    if (r->o->reset_stats && !r->reset_done) {
        r->reset_done = true;
        long generation = ccd_collector_reset(r->collector, ccd_clock_wall());
        ccd_engines_post_all(&r->engines, CCD_MSG_RESET, generation);
        ccd_log(CCD_LOG_INFO, "Statistics reset (--reset-stats)");
    }
}

/* Users the ramp may start or stop now: since it began, no more than the spawn rate allows. */
static unsigned ramp_step(const runner_t *r, unsigned have)
{
    double allowed = floor(r->rate * (mono_now() - r->ramp_start)) + 1 - r->ramp_moved;
    unsigned gap = have < r->target ? r->target - have : have - r->target;
    return allowed < gap ? (unsigned)(allowed > 0 ? allowed : 0) : gap;
}

static void on_spawn_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    unsigned have = ccd_dispatch_count(r->plan), step = ramp_step(r, have);
    memset(r->batch, 0, sizeof(long) * r->engines.n * r->scenario.nsel);
    if (have < r->target) {
        unsigned added = ccd_dispatch_add(r->plan, step, r->batch);
        post_batch(r, CCD_MSG_SPAWN);
        if (added < step)
            r->target = ccd_dispatch_count(r->plan); /* fixed counts cap the total */
        step = added;
    } else {
        ccd_dispatch_remove(r->plan, step, r->batch);
        post_batch(r, CCD_MSG_STOP_USERS);
        r->started -= step < r->started ? step : r->started;
    }
    r->ramp_moved += step;
    if (ccd_dispatch_count(r->plan) == r->target)
        ev_timer_stop(loop, w);
    check_ramped(r);
}

/* Starts moving towards target users at rate users per second. */
static void ramp_to(runner_t *r, unsigned target, double rate)
{
    r->target = target;
    r->rate = rate;
    r->ramp_start = mono_now();
    r->ramp_moved = 0;
    r->ramped = false;
    double tick = 1.0 / rate;
    tick = tick < 0.01 ? 0.01 : tick > 1 ? 1 : tick;
    if (r->fleet)
        tick = 1; /* one spawn message per worker and step, as Locust's master */
    ev_timer_stop(r->loop, &r->spawn_timer);
    ev_timer_set(&r->spawn_timer, 0, tick);
    ui_state(r, CCD_STATE_SPAWNING);
    if (ccd_dispatch_count(r->plan) != target)
        ev_timer_start(r->loop, &r->spawn_timer);
    else
        check_ramped(r);
}

static void begin_stop(runner_t *r, const char *why)
{
    if (r->stopping)
        return;
    r->stopping = true;
    ui_state(r, CCD_STATE_STOPPING);
    progress_end(r);
    ccd_log(CCD_LOG_INFO, "%s: stopping %u users", why, ccd_dispatch_count(r->plan));
    ev_timer_stop(r->loop, &r->spawn_timer);
    ev_timer_stop(r->loop, &r->run_timer);
    if (r->fleet)
        r->fleet->stop(r->fleet);
    else
        ccd_engines_post_all(&r->engines, CCD_MSG_STOP, (long)(r->o->stop_timeout * 1000));
}

/* Once per run, as Locust's CPU warning: a saturated generator delays its own requests, and
 * repeating the warning every few seconds would bury the tables. */
static void warn_busy(runner_t *r, int engine, long permille)
{
    if (permille < BUSY_WARN_PERMILLE || r->busy_warned)
        return;
    r->busy_warned = true;
    ccd_log(CCD_LOG_WARNING,
            "engine thread %d was busy %ld%% of the last second: cicada itself is saturated, so "
            "its response times include its own delays and the load may fall short of what was "
            "asked; add --threads (one per core), lower the users, or make the tasks cheaper "
            "(this warning is given once)",
            engine, permille / 10);
}

/* ---- The open model ------------------------------------------------------------------------
 * The runner only sets rates: each engine times its part of every class's arrivals itself. */

/* Sends each open class's arrivals per second to the engines, an equal part to each, or to
 * the fleet, which divides them among its workers: a class's own arrival_rate, else its share
 * by weight of total among the classes without one. A closed class gets -1. */
static void post_rates(runner_t *r, double total)
{
    const ccd_script_t *sc = &r->scenario.script;
    double weights = 0;
    for (size_t i = 0; i < r->scenario.nsel; i++) {
        const ccd_class_t *c = &sc->classes[r->scenario.sel[i]];
        if (c->open && c->arrival_rate < 0)
            weights += c->weight;
    }
    r->arrival_total = total;
    double *rates = calloc(r->scenario.nsel + 1, sizeof(*rates));
    if (!rates) {
        ccd_log(CCD_LOG_ERROR, "out of memory setting the arrival rates");
        return;
    }
    for (size_t i = 0; i < r->scenario.nsel; i++) {
        const ccd_class_t *c = &sc->classes[r->scenario.sel[i]];
        r->class_names[i] = ccd_scenario_class_name(&r->scenario, i);
        rates[i] = !c->open                   ? -1
                   : c->arrival_rate >= 0     ? c->arrival_rate
                   : weights > 0 && total > 0 ? total * c->weight / weights
                                              : 0;
        long part = r->engines.n ? lround(rates[i] * 1000.0 / r->engines.n) : 0;
        for (unsigned e = 0; c->open && e < r->engines.n; e++)
            ccd_engine_post(r->engines.v[e], CCD_MSG_RATE, r->scenario.sel[i], part, NULL);
        if (c->open)
            ccd_log(CCD_LOG_INFO, "Open model: %s starts %.2f iterations per second", c->name,
                    rates[i]);
    }
    if (r->fleet && r->fleet->rates)
        r->fleet->rates(r->fleet, r->class_names, rates, r->scenario.nsel);
    free(rates);
}

/* Once per run each: drops, and starts later than --arrival-late at the 99th percentile,
 * named with the class and the figures, and what to do about them. */
static void check_arrivals(runner_t *r)
{
    const ccd_stats_t *st = ccd_collector_stats(r->collector);
    for (size_t i = 0; i < ccd_stats_arrivals_count(st); i++) {
        const ccd_stats_arrivals_t *a = ccd_stats_arrivals_get(st, i);
        double p99 = (double)ccd_hist_value_at_quantile(&a->lateness, 0.99) / 1e6;
        double max = (double)ccd_hist_value_at_quantile(&a->lateness, 1.0) / 1e6;
        if (a->dropped > 0 && !r->drop_warned) {
            r->drop_warned = true;
            ccd_log(CCD_LOG_WARNING,
                    "open model: class %s dropped %llu of %llu arrivals (backlog high-water %llu): "
                    "every user of its pool was busy; raise -u (this warning is given once)",
                    a->cls, (unsigned long long)a->dropped, (unsigned long long)a->scheduled,
                    (unsigned long long)a->backlog_max);
        }
        if (p99 > r->o->arrival_late && !r->late_warned) {
            r->late_warned = true;
            ccd_log(CCD_LOG_WARNING,
                    "open model: class %s starts lag its schedule: %llu of %llu starts later "
                    "than %.3f s, p99 %.3f s, max %.3f s; %s (this warning is given once)",
                    a->cls, (unsigned long long)a->late, (unsigned long long)a->started,
                    r->o->arrival_late, p99, max,
                    a->backlog_max > 0 ? "arrivals waited for a free user: raise -u"
                                       : "cicada cannot keep up: add --threads or lower the rate");
        }
    }
}

/* A delta report (REPORT) or an engine's last one (DONE): merged, then returned to the engine
 * for reuse, or freed when the engine has ended. */
static void take_report(runner_t *r, const ccd_msg_t *m)
{
    /* A fleet's deltas count in the generation current when they arrive. */
    long generation = m->c < 0 ? ccd_collector_generation(r->collector) : m->c;
    ccd_collector_delta_t d = {
        .stats = m->ptr, .generation = generation, .from = m->from, .user_count = (unsigned)m->a};
    ccd_collector_add(r->collector, &d);
    if (r->open)
        check_arrivals(r);
    if (m->type == CCD_MSG_DONE) {
        if (m->ptr)
            ccd_stats_free(m->ptr);
        if (++r->ndone == producers(r))
            test_ended(r);
        return;
    }
    if (r->fleet) {
        ccd_stats_free(m->ptr);
        return;
    }
    warn_busy(r, m->from, m->b);
    /* A stopping engine may end before a recycled delta reaches it, which would lose it. */
    if (r->stopping || ccd_engine_post(r->engines.v[m->from], CCD_MSG_RECYCLE, 0, 0, m->ptr))
        ccd_stats_free(m->ptr);
}

/* ---- Custom messages -----------------------------------------------------------------------
 * cicada.send_message / cicada.on_message. A master's scenario state talks with its workers
 * through the fleet. A local run behaves as a master with one worker whose node id is "local":
 * the runner's state sends to the engines' states, and theirs come back to the runner's, as
 * Locust's LocalRunner delivers to its own handlers. */

#define LOCAL_NODE "local"

static void take_custom(runner_t *r, const ccd_msg_t *m)
{
    ccd_custom_msg_t *cm = m->ptr;
    ccd_scenario_deliver(&r->scenario, cm->type, cm->json,
                         m->type == CCD_MSG_CUSTOM ? cm->node : LOCAL_NODE);
    ccd_custom_msg_free(cm);
}

static int runner_send(void *ud, const char *type, const char *json, const char *to)
{
    runner_t *r = ud;
    if (r->fleet)
        return r->fleet->send ? r->fleet->send(r->fleet, type, json, to) : -ENOTSUP;
    if (to && strcmp(to, LOCAL_NODE) != 0) {
        ccd_log(CCD_LOG_WARNING,
                "message '%s' not sent: no worker '%s' in a local run (its one node is '%s')", type,
                to, LOCAL_NODE);
        return 0;
    }
    return ccd_engines_post_custom(&r->engines, type, json, LOCAL_NODE);
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
            r->peak = r->started > r->peak ? r->started : r->peak;
            check_ramped(r);
            progress_tty(r);
            break;
        case CCD_MSG_LOG:
            ccd_log(CCD_LOG_WARNING, "%s", (char *)m.ptr);
            free(m.ptr);
            break;
        case CCD_MSG_QUIT:
            /* A master whose last worker left keeps its web UI up for the next test. */
            r->quitting = !r->fleet || r->o->headless || r->o->autoquit >= 0;
            begin_stop(r, m.ptr ? (char *)m.ptr : "stopped by the scenario");
            free(m.ptr);
            break;
        case CCD_MSG_UI: ui_command(r, m.ptr); break;
        case CCD_MSG_WORKERS: fleet_workers_changed(r); break;
        case CCD_MSG_CUSTOM:      /* a worker's message, from the fleet */
        case CCD_MSG_CUSTOM_SEND: /* a local engine's: the runner is its master */
            take_custom(r, &m);
            break;
        }
    }
}

/* Follows the load shape's word for this second: a new target, or the end of the test. */
static void shape_tick(runner_t *r, double run_time)
{
    ccd_shape_step_t s;
    if (ccd_shape_tick(&r->scenario, run_time, &s) || s.finished) {
        begin_stop(r, s.finished ? "Load shape finished" : "Load shape failed");
        return;
    }
    if (s.users != r->target || s.rate != r->rate || s.allowed) {
        if (s.allowed || r->target != s.users)
            ccd_dispatch_allow(r->plan, s.allowed);
        if (s.stages)
            ccd_log(CCD_LOG_INFO, "Load shape: %u users at %.2f/s (stage %d of %d)", s.users,
                    s.rate, s.stage, s.stages);
        else if (s.users != r->target)
            ccd_log(CCD_LOG_INFO, "Load shape: %u users at %.2f/s", s.users, s.rate);
        ramp_to(r, s.users, s.rate);
    }
    if (r->open && s.arrival_rate >= 0 && s.arrival_rate != r->arrival_total)
        post_rates(r, s.arrival_rate);
    free(s.allowed);
}

/* Once a second: the history sample and the CSV files, then the load shape. */
static void on_second(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    ccd_collector_tick(r->collector, ccd_dispatch_count(r->plan), ccd_clock_wall());
    if (r->scenario.has_shape && r->test_active && !r->stopping)
        shape_tick(r, mono_now() - r->test_start);
    ui_publish(r);
}

static void on_print(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    char line[160];
    progress_text(r, line, sizeof(line));
    progress_end(r);
    if (!r->ramped && !r->stopping && r->test_active && r->started < r->target &&
        !isatty(STDERR_FILENO))
        ccd_log(CCD_LOG_INFO, "%s", line);
    ccd_collector_print(r->collector, stderr, ccd_clock_wall());
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
    r->quitting = true;
    if (producers(r) == 0) { /* the web UI's test is not running */
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    begin_stop(r, w->signum == SIGINT ? "Interrupted (SIGINT)" : "Terminated (SIGTERM)");
}

static void start_timers(runner_t *r)
{
    const ccd_options_t *o = r->o;
    ev_now_update(r->loop); /* loading the engines took a while: timers count from now */
    r->test_start = mono_now();
    r->test_start_wall = ccd_clock_wall();
    ev_init(&r->spawn_timer, on_spawn_tick);
    ev_timer_init(&r->second_timer, on_second, 1, 1);
    ev_timer_init(&r->print_timer, on_print, PRINT_INTERVAL, PRINT_INTERVAL);
    ev_timer_init(&r->run_timer, on_run_time, 1, 0);
    ev_signal_init(&r->sigint, on_signal, SIGINT);
    ev_signal_init(&r->sigterm, on_signal, SIGTERM);
    r->spawn_timer.data = r->second_timer.data = r->print_timer.data = r->run_timer.data = r;
    r->sigint.data = r->sigterm.data = r;
    ev_timer_start(r->loop, &r->second_timer);
    /* With the web UI the tables are printed only when asked, as Locust does. */
    if (o->headless ? !o->only_summary || o->print_stats : o->print_stats)
        ev_timer_start(r->loop, &r->print_timer);
    ev_signal_start(r->loop, &r->sigint);
    ev_signal_start(r->loop, &r->sigterm);
}

/* 4 (an output was lost) wins over 3 (thresholds) and 1 (failures): without its reports a
 * run's other verdicts cannot be checked. Generator errors count as errors: the target did not
 * get the load asked for, so a run that met them must not pass for a clean one. */
static int exit_code(const runner_t *r, int breaches)
{
    if (breaches < 0)
        return 4;
    if (breaches > 0)
        return 3;
    const ccd_stats_t *s = ccd_collector_stats(r->collector);
    bool failed = ccd_stats_total(s)->num_failures > 0 || ccd_stats_exception_count(s) > 0 ||
                  ccd_stats_generator_error_count(s) > 0;
    return failed ? r->o->exit_code_on_error : 0;
}

/* Frees what is still queued: commands (a pending call learns that it will not be made) and
 * delta reports. */
static void drain_inbox(runner_t *r)
{
    ccd_msg_t m;
    while (ccd_queue_pop(&r->inbox, &m) == 0) {
        if (m.type == CCD_MSG_UI)
            ccd_ui_cmd_free(m.ptr);
        else if ((m.type == CCD_MSG_REPORT || m.type == CCD_MSG_DONE) && m.ptr)
            ccd_stats_free(m.ptr);
        else if (m.type == CCD_MSG_LOG || m.type == CCD_MSG_QUIT)
            free(m.ptr);
        else if (m.type == CCD_MSG_CUSTOM || m.type == CCD_MSG_CUSTOM_SEND)
            ccd_custom_msg_free(m.ptr);
    }
}

static void runner_free(runner_t *r)
{
    if (r->inbox_ready) {
        drain_inbox(r);
        ccd_queue_destroy(&r->inbox);
    }
    free(r->host);
    free(r->ui_idx);
    free(r->ui_names);
    free(r->ui_sel);
    free(r->ui_users);
    free(r->tasks);
    free(r->class_counts);
    free(r->class_names);
    ccd_collector_free(r->collector);
    ccd_dispatch_free(r->plan);
    ccd_scenario_close(&r->scenario);
    free(r->batch);
}

/* Everything set up before the engines start. Returns 0, or a negative code with a one-line
 * reason in err. */
static int prepare(runner_t *r, char *err, size_t errlen)
{
    const ccd_options_t *o = r->o;
    int rc = ccd_preflight_outputs(o, err, errlen);
    if (rc)
        return rc;
    rc = ccd_scenario_open(&r->scenario, o, err, errlen);
    ccd_scenario_on_send(&r->scenario, runner_send, r);
    /* A master plans per class only: the fleet divides the users among its workers. */
    r->nengines = r->fleet ? 1 : o->threads ? o->threads : ccd_engines_usable_cpus();
    if (rc == 0 && !o->list && !o->show_task_ratio && !r->fleet)
        ccd_preflight_fd_limit(o->users, r->nengines);
    if (rc || (rc = ccd_scenario_plan(&r->scenario, r->nengines, &r->plan, err, errlen)) ||
        (rc = ccd_scenario_thresholds(&r->scenario, o->thresholds, err, errlen)))
        return rc;
    rc = ccd_collector_new(&r->collector, o, r->nengines, ccd_clock_wall(), err, errlen);
    if (rc)
        return rc;
    r->batch = calloc((size_t)r->nengines * r->scenario.nsel, sizeof(*r->batch));
    r->class_counts = calloc(r->scenario.script.nclasses + 1, sizeof(*r->class_counts));
    r->class_names = calloc(r->scenario.script.nclasses + 1, sizeof(*r->class_names));
    if (!r->batch || !r->class_counts || !r->class_names ||
        (rc = ccd_queue_init(&r->inbox, r->loop, on_message, r))) {
        snprintf(err, errlen, "out of memory starting the runner");
        return CCD_ENOMEM;
    }
    r->inbox_ready = true;
    return 0;
}

/* Starts a test on running engines: events, the ramp (or the load shape), the run time. */
static void begin_test(runner_t *r)
{
    const ccd_options_t *o = r->o;
    r->test_start = mono_now();
    r->test_start_wall = ccd_clock_wall();
    r->test_end_wall = 0;
    r->stopping = r->ramped = r->reset_done = false;
    r->ndone = r->started = 0;
    r->test_active = true;
    r->arrival_total = -1;
    r->drop_warned = r->late_warned = false;
    r->open = false;
    for (size_t i = 0; i < r->scenario.nsel; i++)
        r->open |= r->scenario.script.classes[r->scenario.sel[i]].open != 0;
    ccd_scenario_fire(&r->scenario, "test_start", NULL);
    if (r->scenario.has_shape) {
        ccd_log(CCD_LOG_INFO, "A load shape drives the users (%u %s)%s",
                r->fleet ? r->fleet->ready(r->fleet) : r->engines.n,
                r->fleet ? "workers" : "threads",
                o->users_given || o->spawn_rate_given ? "; -u and -r are ignored" : "");
        shape_tick(r, 0);
    } else {
        if (r->fleet)
            ccd_log(CCD_LOG_INFO, "Ramping to %u users at a rate of %.2f per second (%u workers)",
                    r->want_users, r->want_rate, r->fleet->ready(r->fleet));
        else
            ccd_log(CCD_LOG_INFO, "Ramping to %u users at a rate of %.2f per second (%u threads)",
                    r->want_users, r->want_rate, r->engines.n);
        ramp_to(r, r->want_users, r->want_rate);
        if (r->open)
            post_rates(r, o->arrival_rate);
    }
    if (r->run_time > 0) {
        ev_timer_stop(r->loop, &r->run_timer);
        ev_timer_set(&r->run_timer, r->run_time, 0);
        ev_timer_start(r->loop, &r->run_timer);
    }
    ui_publish(r);
}

/* ---- Signals before the loop ----------------------------------------------------------------
 * The scenario loads (in this thread, then in every engine) before the loop's watchers exist;
 * a signal meanwhile is only remembered, then handled as if it came once the test started. */

static volatile sig_atomic_t early_signal;

static void on_early_signal(int sig)
{
    if (!early_signal) {
        early_signal = sig;
        return;
    }
    static const char msg[] = "cicada: second signal while starting: exiting without reports\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    _exit(128 + sig);
}

void ccd_runner_catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_early_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int ccd_runner_early_signal(void)
{
    return early_signal;
}

/* A signal that came while starting: the test stops before its first user. */
static bool stop_if_signalled(runner_t *r)
{
    int sig = early_signal;
    if (!sig)
        return false;
    r->signals = 1;
    r->quitting = true;
    if (producers(r) > 0)
        begin_stop(r, sig == SIGINT ? "Interrupted (SIGINT) while starting"
                                    : "Terminated (SIGTERM) while starting");
    return producers(r) == 0;
}

static void await_workers(runner_t *r);

static void run(runner_t *r)
{
    start_timers(r); /* the loop's signal watchers replace the early handlers */
    if (r->fleet && (!r->ui || r->o->autostart))
        await_workers(r); /* the test begins once --expect-workers joined */
    else if (r->engines.n > 0)
        begin_test(r);
    else
        ui_publish(r); /* ready: the web UI starts the test */
    if (stop_if_signalled(r))
        return;
    ev_run(r->loop, 0); /* until the engines stopped and the run ends */
}

/* The end of a run: events, the final outputs, the exit code. */
static int finish(runner_t *r)
{
    ccd_run_summary_t run = {.start_time = r->test_start_wall,
                             .duration = mono_now() - r->test_start,
                             .peak_users = r->peak};
    if (r->test_active)
        ccd_scenario_fire(&r->scenario, "test_stop", NULL);
    run.end_time = ccd_clock_wall();
    int code = exit_code(r, ccd_collector_finish(r->collector, &run));
    ccd_scenario_fire(&r->scenario, "quitting", NULL);
    ccd_log(CCD_LOG_INFO, "Shutting down (exit code %d)", code);
    fflush(stderr);
    return code;
}

/* Prepares, starts the engines (the web UI starts them at its first test, unless
 * --autostart) and runs; returns 2 after printing why when set-up failed. */
static int run_test(runner_t *r)
{
    char err[1024] = "";
    int rc = prepare(r, err, sizeof(err));
    if (rc == 0 && ccd_scenario_list(&r->scenario, r->o, stdout))
        return 0;
    /* The UI first: when it cannot listen, no engine is left to stop. */
    if (rc == 0 && r->ui && (rc = ui_setup(r)) == 0)
        rc = r->ui->start(r->ui, &r->inbox, err, sizeof(err));
    if (rc == 0 && r->fleet)
        rc = r->fleet->start(r->fleet, r->loop, &r->inbox, err, sizeof(err));
    if (rc == 0 && !r->fleet && (!r->ui || r->o->autostart))
        rc = ccd_engines_start(&r->engines, r->nengines, 1, r->o, &r->scenario, &r->inbox, err,
                               sizeof(err));
    if (rc) {
        if (r->ui)
            r->ui->stop(r->ui);
        fail(err, rc);
        return 2;
    }
    if (r->o->headless)
        keys_start(r);
    run(r);
    ccd_keys_stop(&r->keys);
    if (r->ui)
        r->ui->stop(r->ui); /* before the reports: no handler waits for this thread any more */
    bool forced = r->ndone < r->engines.n;
    int code = finish(r);
    if (r->early_exit >= 0)
        code = r->early_exit;
    if (r->fleet)
        r->fleet->close(r->fleet); /* the workers quit */
    r->fleet = NULL;
    if (forced) {
        ccd_keys_restore_terminal();
        _exit(code); /* engines may still be stopping: do not wait for them */
    }
    ccd_engines_join(&r->engines);
    return code;
}

int ccd_runner_run_ui(const ccd_options_t *o, ccd_ui_t *ui)
{
    return ccd_runner_run_master(o, ui, NULL);
}

int ccd_runner_run_master(const ccd_options_t *o, ccd_ui_t *ui, ccd_fleet_t *fleet)
{
    if (o->logfile && ccd_log_open(o->logfile)) {
        fprintf(stderr, "cicada: --logfile %s: cannot open it: %s\n", o->logfile, strerror(errno));
        return 2;
    }
    runner_t r = {.o = o,
                  .loop = EV_DEFAULT,
                  .ui = ui,
                  .want_users = o->users,
                  .want_rate = o->spawn_rate,
                  .run_time = o->run_time,
                  .fleet = fleet,
                  .early_exit = -1};
    int code = run_test(&r);
    if (r.fleet) /* set-up failed before the fleet could be closed */
        r.fleet->close(r.fleet);
    runner_free(&r);
    return code;
}

int ccd_runner_run(const ccd_options_t *o)
{
    return ccd_runner_run_ui(o, NULL);
}

/* ---- Headless keyboard controls ------------------------------------------------------------ */

/* w/W add 1/10 users, s/S remove 1/10, at the current spawn rate (Locust's keys). */
static void on_key(void *ud, int delta)
{
    runner_t *r = ud;
    if (r->scenario.has_shape || r->stopping || !r->test_active)
        return;
    long target = (long)r->target + delta;
    r->want_users = target < 0 ? 0 : (unsigned)target;
    ccd_log(CCD_LOG_INFO, "Keyboard: %s users to %u", delta > 0 ? "raising" : "lowering",
            r->want_users);
    ramp_to(r, r->want_users, r->rate > 0 ? r->rate : r->want_rate);
}

static void keys_start(runner_t *r)
{
    if (ccd_keys_start(&r->keys, r->loop, on_key, r) == 0)
        ccd_log(CCD_LOG_INFO, "Keyboard: w/W add 1/10 users, s/S remove 1/10");
}

/* ---- The web UI's test -----------------------------------------------------------------------
 * Without --headless a user interface starts tests: /swarm in state ready or stopped starts the
 * engines and a test (the statistics of the previous one reset, as Locust does), /swarm while
 * running moves to a new user count and rate, /stop stops the users as the end of a headless run
 * does (--stop-timeout, on_stop, last deltas), after which the engines are joined: each test gets
 * fresh engines and Lua states, so that a new host or a new choice of classes applies. */

static void ui_state(runner_t *r, ccd_ui_state_t s)
{
    if (r->state == s)
        return;
    r->state = s;
    ui_publish(r);
}

/* The runnable classes and which are selected (those of the command line, else all). */
static int ui_setup(runner_t *r)
{
    const ccd_script_t *sc = &r->scenario.script;
    r->ui_idx = calloc(sc->nclasses + 1, sizeof(*r->ui_idx));
    r->ui_names = calloc(sc->nclasses + 1, sizeof(*r->ui_names));
    r->ui_sel = calloc(sc->nclasses + 1, sizeof(*r->ui_sel));
    r->ui_users = calloc(sc->nclasses + 1, sizeof(*r->ui_users));
    if (!r->ui_idx || !r->ui_names || !r->ui_sel || !r->ui_users)
        return CCD_ENOMEM;
    for (size_t i = 0; i < sc->nclasses; i++)
        if (sc->classes[i].runnable) {
            r->ui_idx[r->nui] = (int)i;
            r->ui_names[r->nui++] = sc->classes[i].name;
        }
    return 0;
}

/* The host shown: the UI's, -H, else the classes' own when they all agree. */
static const char *ui_host(const runner_t *r)
{
    if (r->host || r->o->host)
        return r->host ? r->host : r->o->host;
    const char *h = NULL;
    for (size_t i = 0; i < r->scenario.nsel; i++) {
        const char *c = r->scenario.script.classes[r->scenario.sel[i]].host;
        if (!c || (h && strcmp(h, c) != 0))
            return NULL;
        h = c;
    }
    return h;
}

/* Per runnable class: selected, and its users now. */
static void ui_classes(runner_t *r)
{
    for (size_t u = 0; u < r->nui; u++) {
        r->ui_sel[u] = false;
        r->ui_users[u] = 0;
        for (size_t c = 0; c < r->scenario.nsel; c++)
            if (r->scenario.sel[c] == r->ui_idx[u]) {
                r->ui_sel[u] = true;
                r->ui_users[u] = r->test_active ? ccd_dispatch_class_count(r->plan, c) : 0;
            }
    }
}

/* Locust's /tasks document, from the library's _task_ratio_json(counts). */
static void ui_tasks(runner_t *r)
{
    lua_State *L = r->scenario.script.L;
    lua_newtable(L);
    for (size_t u = 0; u < r->nui; u++)
        if (r->ui_sel[u]) {
            lua_pushnumber(L, r->ui_users[u]);
            lua_setfield(L, -2, r->ui_names[u]);
        }
    if (ccd_scenario_call(&r->scenario, "_task_ratio_json", 1, 1))
        return;
    const char *t = lua_tostring(L, -1);
    if (t && (!r->tasks || strcmp(t, r->tasks) != 0)) {
        free(r->tasks);
        r->tasks = strdup(t);
    }
    lua_pop(L, 1);
}

static void ui_view(runner_t *r, ccd_ui_view_t *v)
{
    ui_classes(r);
    ui_tasks(r);
    *v = (ccd_ui_view_t){.state = r->state,
                         .o = r->o,
                         .stats = ccd_collector_stats(r->collector),
                         .history = ccd_collector_history(r->collector),
                         .now = ccd_clock_wall(),
                         .test_start = r->test_active || r->test_end_wall ? r->test_start_wall : 0,
                         .test_end = r->test_end_wall,
                         .user_count = r->test_active ? r->started : 0,
                         .target_users = r->test_active ? r->target : r->want_users,
                         .spawn_rate = r->test_active ? r->rate : r->want_rate,
                         .run_time = r->run_time,
                         .host = ui_host(r),
                         .nclasses = r->nui,
                         .classes = r->ui_names,
                         .selected = r->ui_sel,
                         .users = r->ui_users,
                         .tasks = r->tasks,
                         .has_shape = r->scenario.has_shape,
                         .master = r->fleet != NULL};
    if (r->fleet)
        v->nworkers = r->fleet->workers(r->fleet, &v->workers);
}

static void ui_publish(runner_t *r)
{
    if (!r->ui || !r->collector)
        return;
    ccd_ui_view_t v;
    ui_view(r, &v);
    r->ui->publish(r->ui, &v);
}

static int ui_select(runner_t *r, char **names, size_t n, char *err, size_t errlen);

static void on_autoquit(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    ccd_log(CCD_LOG_INFO, "--autoquit: quitting %.0f s after the test ended", r->o->autoquit);
    r->quitting = true;
    ev_break(loop, EVBREAK_ALL);
}

/* Every engine reported its last delta. Headless (or quitting) the run ends; with the web UI
 * the engines are joined and the process waits for a new test, or --autoquit. */
static void test_ended(runner_t *r)
{
    if (!r->ui || r->quitting) {
        ev_break(r->loop, EVBREAK_ALL);
        return;
    }
    ccd_engines_join(&r->engines);
    r->remote_test = false;
    ev_timer_stop(r->loop, &r->spawn_timer);
    ev_timer_stop(r->loop, &r->run_timer);
    ccd_scenario_fire(&r->scenario, "test_stop", NULL);
    r->test_active = false;
    r->test_end_wall = ccd_clock_wall();
    r->ndone = r->started = 0;
    char err[256];
    if (ui_select(r, NULL, 0, err, sizeof(err))) /* no user left in the plan */
        ccd_log(CCD_LOG_ERROR, "%s", err);
    ccd_log(CCD_LOG_INFO, "Test stopped");
    ui_state(r, CCD_STATE_STOPPED);
    if (r->o->autoquit >= 0) {
        ev_timer_init(&r->autoquit_timer, on_autoquit, r->o->autoquit, 0);
        r->autoquit_timer.data = r;
        ev_timer_start(r->loop, &r->autoquit_timer);
    }
}

/* The classes a /swarm named (none: unchanged), and a fresh dispatch plan over them. */
static int ui_select(runner_t *r, char **names, size_t n, char *err, size_t errlen)
{
    if (n > 0) {
        int *sel = calloc(n, sizeof(*sel));
        size_t k = 0;
        for (size_t i = 0; sel && i < n; i++) {
            int idx = ccd_script_find_class(&r->scenario.script, names[i]);
            if (idx >= 0 && r->scenario.script.classes[idx].runnable)
                sel[k++] = idx;
        }
        if (!sel || k == 0) {
            free(sel);
            snprintf(err, errlen, "no runnable user class among those selected");
            return CCD_EINVAL;
        }
        free(r->scenario.sel);
        r->scenario.sel = sel;
        r->scenario.nsel = k;
    }
    ccd_dispatch_t *plan;
    long *batch = calloc((size_t)r->nengines * r->scenario.nsel, sizeof(*batch));
    int rc = batch ? ccd_scenario_plan(&r->scenario, r->nengines, &plan, err, errlen) : CCD_ENOMEM;
    if (rc) {
        free(batch);
        return rc;
    }
    ccd_dispatch_free(r->plan);
    free(r->batch);
    r->plan = plan;
    r->batch = batch;
    return 0;
}

/* A new test from state ready or stopped: the statistics of the last one reset, fresh engines
 * on the host asked for, the ramp. */
static void ui_new_test(runner_t *r, ccd_ui_cmd_t *cmd)
{
    char err[1024] = "";
    int rc = ui_select(r, cmd->classes, cmd->nclasses, err, sizeof(err));
    ccd_options_t o = *r->o; /* a shallow copy read during the call only */
    o.host = r->host ? r->host : r->o->host;
    if (rc == 0 && r->state == CCD_STATE_STOPPED) {
        long generation = ccd_collector_reset(r->collector, ccd_clock_wall());
        ccd_log(CCD_LOG_INFO, "New test: statistics reset (generation %ld)", generation);
    }
    if (rc == 0 && r->fleet) {
        if (r->fleet->ready(r->fleet) == 0) {
            snprintf(err, sizeof(err), "no worker is connected to this master yet");
            rc = CCD_EINVAL;
        } else
            r->remote_test = true;
    } else if (rc == 0)
        rc = ccd_engines_start(&r->engines, r->nengines, 1, &o, &r->scenario, &r->inbox, err,
                               sizeof(err));
    if (rc) {
        ccd_log(CCD_LOG_ERROR, "cannot start the test: %s", err[0] ? err : ccd_strerror(rc));
        return;
    }
    /* New engines count in generation 0: bring them to the collector's. */
    if (ccd_collector_generation(r->collector) != 0)
        ccd_engines_post_all(&r->engines, CCD_MSG_RESET, ccd_collector_generation(r->collector));
    ev_timer_stop(r->loop, &r->autoquit_timer);
    begin_test(r);
}

static void ui_swarm(runner_t *r, ccd_ui_cmd_t *cmd)
{
    r->want_users = cmd->users;
    r->want_rate = cmd->spawn_rate;
    r->run_time = cmd->run_time;
    bool new_host = cmd->host != NULL;
    if (cmd->host) { /* "" means the classes' own hosts */
        free(r->host);
        r->host = cmd->host[0] ? cmd->host : NULL;
        if (!r->host)
            free(cmd->host);
        cmd->host = NULL;
    }
    if (r->state == CCD_STATE_READY || r->state == CCD_STATE_STOPPED) {
        ui_new_test(r, cmd);
        return;
    }
    if (r->state == CCD_STATE_STOPPING) {
        ccd_log(CCD_LOG_WARNING, "the test is stopping: start a new one once it stopped");
        return;
    }
    if (new_host)
        ccd_log(CCD_LOG_INFO, "The new host applies from the next test on");
    if (!r->scenario.has_shape) {
        ccd_log(CCD_LOG_INFO, "Ramping to %u users at a rate of %.2f per second", cmd->users,
                cmd->spawn_rate);
        ramp_to(r, cmd->users, cmd->spawn_rate);
    }
    ev_timer_stop(r->loop, &r->run_timer);
    if (r->run_time > 0) {
        ev_timer_set(&r->run_timer, r->run_time, 0);
        ev_timer_start(r->loop, &r->run_timer);
    }
}

/* Empties the statistics now, as Locust's "reset statistics". */
static void ui_reset(runner_t *r)
{
    long generation = ccd_collector_reset(r->collector, ccd_clock_wall());
    ccd_engines_post_all(&r->engines, CCD_MSG_RESET, generation);
    ccd_log(CCD_LOG_INFO, "Statistics reset from the web UI");
}

static void ui_command(runner_t *r, ccd_ui_cmd_t *cmd)
{
    ccd_ui_view_t v;
    switch (cmd->kind) {
    case CCD_UI_SWARM: ui_swarm(r, cmd); break;
    case CCD_UI_STOP:
        if (r->test_active && producers(r) > 0)
            begin_stop(r, "Stopped from the web UI");
        break;
    case CCD_UI_RESET: ui_reset(r); break;
    case CCD_UI_CALL:
        ui_view(r, &v);
        cmd->call(cmd->arg, &v);
        cmd->call = NULL;
        break;
    }
    if (cmd->kind != CCD_UI_CALL)
        ui_publish(r);
    ccd_ui_cmd_free(cmd);
}

/* ---- A master's workers --------------------------------------------------------------------
 * With a fleet the plan has one "engine" and says how many users of each class run in total;
 * the fleet divides them among its workers, and its deltas and user counts come back through
 * the inbox like an engine's. */

/* Hands the plan's per-class totals to the fleet. */
static void fleet_target(runner_t *r)
{
    for (size_t c = 0; c < r->scenario.nsel; c++) {
        r->class_names[c] = ccd_scenario_class_name(&r->scenario, c);
        r->class_counts[c] = ccd_dispatch_class_count(r->plan, c);
    }
    const char *host = r->host ? r->host : r->o->host;
    r->fleet->target(r->fleet, r->class_names, r->class_counts, r->scenario.nsel, host,
                     r->o->stop_timeout);
}

static void on_expect_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    if (!r->awaiting_workers)
        return;
    r->awaiting_workers = false;
    ccd_log(CCD_LOG_ERROR,
            "Gave up waiting for workers: %u of the %u expected connected within %.0f s "
            "(--expect-workers, --expect-workers-max-wait)",
            r->fleet->ready(r->fleet), r->o->expect_workers, r->o->expect_workers_max_wait);
    r->early_exit = 1;
    r->quitting = true;
    ev_break(loop, EVBREAK_ALL);
}

/* Starts the test once --expect-workers are connected. */
static void start_when_ready(runner_t *r)
{
    unsigned ready = r->fleet->ready(r->fleet);
    if (!r->awaiting_workers || ready < r->o->expect_workers)
        return;
    r->awaiting_workers = false;
    ev_timer_stop(r->loop, &r->expect_timer);
    ccd_log(CCD_LOG_INFO, "%u worker%s connected: starting the test", ready, ready == 1 ? "" : "s");
    r->remote_test = true;
    begin_test(r);
}

static void await_workers(runner_t *r)
{
    r->awaiting_workers = true;
    ccd_log(CCD_LOG_INFO, "Waiting for %u worker%s to connect (--expect-workers)",
            r->o->expect_workers, r->o->expect_workers == 1 ? "" : "s");
    if (r->o->expect_workers_max_wait > 0) {
        ev_timer_init(&r->expect_timer, on_expect_timeout, r->o->expect_workers_max_wait, 0);
        r->expect_timer.data = r;
        ev_timer_start(r->loop, &r->expect_timer);
    }
    ui_publish(r);
    start_when_ready(r);
}

static void fleet_workers_changed(runner_t *r)
{
    start_when_ready(r);
    ui_publish(r);
}
