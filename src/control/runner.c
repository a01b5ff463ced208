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
#include "control/scenario.h"
#include "control/shape.h"
#include "engine/engine.h"
#include "stats/stats.h"

#define PRINT_INTERVAL     2.0
#define BUSY_WARN_PERMILLE 900
#define BUSY_WARN_EVERY    10.0

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
    double last_busy_warn;          /* monotonic seconds; 0 before the first warning */
    double last_progress;           /* monotonic seconds of the last spawning progress line */
    bool progress_open;             /* a terminal's progress line awaits its line end */
    bool ramped, reset_done, stopping;
    int signals;
    ev_timer spawn_timer, second_timer, print_timer, run_timer;
    ev_signal sigint, sigterm;
} runner_t;

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
    ev_timer_stop(r->loop, &r->spawn_timer);
    ev_timer_set(&r->spawn_timer, 0, tick);
    if (ccd_dispatch_count(r->plan) != target)
        ev_timer_start(r->loop, &r->spawn_timer);
}

static void begin_stop(runner_t *r, const char *why)
{
    if (r->stopping)
        return;
    r->stopping = true;
    progress_end(r);
    ccd_log(CCD_LOG_INFO, "%s: stopping %u users", why, ccd_dispatch_count(r->plan));
    ev_timer_stop(r->loop, &r->spawn_timer);
    ev_timer_stop(r->loop, &r->run_timer);
    ccd_engines_post_all(&r->engines, CCD_MSG_STOP, (long)(r->o->stop_timeout * 1000));
}

static void warn_busy(runner_t *r, int engine, long permille)
{
    double now = mono_now();
    if (permille < BUSY_WARN_PERMILLE ||
        (r->last_busy_warn > 0 && now - r->last_busy_warn < BUSY_WARN_EVERY))
        return;
    r->last_busy_warn = now;
    ccd_log(CCD_LOG_WARNING,
            "engine thread %d was busy %ld%% of the last second: cicada itself is saturated, so "
            "response times include its own delays; add --threads or lower the load",
            engine, permille / 10);
}

/* A delta report (REPORT) or an engine's last one (DONE): merged, then returned to the engine
 * for reuse, or freed when the engine has ended. */
static void take_report(runner_t *r, const ccd_msg_t *m)
{
    ccd_collector_delta_t d = {
        .stats = m->ptr, .generation = m->c, .from = m->from, .user_count = (unsigned)m->a};
    ccd_collector_add(r->collector, &d);
    if (m->type == CCD_MSG_DONE) {
        if (m->ptr)
            ccd_stats_free(m->ptr);
        if (++r->ndone == r->engines.n)
            ev_break(r->loop, EVBREAK_ALL);
        return;
    }
    warn_busy(r, m->from, m->b);
    if (ccd_engine_post(r->engines.v[m->from], CCD_MSG_RECYCLE, 0, 0, m->ptr))
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
            r->peak = r->started > r->peak ? r->started : r->peak;
            check_ramped(r);
            progress_tty(r);
            break;
        case CCD_MSG_LOG:
            ccd_log(CCD_LOG_WARNING, "%s", (char *)m.ptr);
            free(m.ptr);
            break;
        case CCD_MSG_QUIT:
            begin_stop(r, m.ptr ? (char *)m.ptr : "stopped by the scenario");
            free(m.ptr);
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
    free(s.allowed);
}

/* Once a second: the history sample and the CSV files, then the load shape. */
static void on_second(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    ccd_collector_tick(r->collector, ccd_dispatch_count(r->plan), ccd_clock_wall());
    if (r->scenario.has_shape && !r->stopping)
        shape_tick(r, mono_now() - r->test_start);
}

static void on_print(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    char line[160];
    progress_text(r, line, sizeof(line));
    progress_end(r);
    if (!r->ramped && !r->stopping && r->started < r->target && !isatty(STDERR_FILENO))
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
    ev_timer_init(&r->run_timer, on_run_time, o->run_time, 0);
    ev_signal_init(&r->sigint, on_signal, SIGINT);
    ev_signal_init(&r->sigterm, on_signal, SIGTERM);
    r->spawn_timer.data = r->second_timer.data = r->print_timer.data = r->run_timer.data = r;
    r->sigint.data = r->sigterm.data = r;
    ev_timer_start(r->loop, &r->second_timer);
    if (!o->only_summary || o->print_stats)
        ev_timer_start(r->loop, &r->print_timer);
    if (o->run_time > 0)
        ev_timer_start(r->loop, &r->run_timer);
    ev_signal_start(r->loop, &r->sigint);
    ev_signal_start(r->loop, &r->sigterm);
}

static int exit_code(const runner_t *r, int breaches)
{
    if (breaches > 0)
        return 3;
    const ccd_stats_t *s = ccd_collector_stats(r->collector);
    bool failed = ccd_stats_total(s)->num_failures > 0 || ccd_stats_exception_count(s) > 0;
    return failed ? r->o->exit_code_on_error : 0;
}

static void runner_free(runner_t *r)
{
    if (r->inbox_ready)
        ccd_queue_destroy(&r->inbox);
    ccd_collector_free(r->collector);
    ccd_dispatch_free(r->plan);
    ccd_scenario_close(&r->scenario);
    free(r->batch);
}

/* The CPUs this process may run on (its affinity mask, as taskset or a container's cpuset set
 * it), else the online ones: one engine thread each by default, since two engines sharing a
 * core only add switches. */
static unsigned usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (unsigned)cpus : 1;
}

/* Everything set up before the engines start. Returns 0, or a negative code with a one-line
 * reason in err. */
static int prepare(runner_t *r, char *err, size_t errlen)
{
    const ccd_options_t *o = r->o;
    int rc = ccd_scenario_open(&r->scenario, o, err, errlen);
    r->nengines = o->threads ? o->threads : usable_cpus();
    if (rc || (rc = ccd_scenario_plan(&r->scenario, r->nengines, &r->plan, err, errlen)) ||
        (rc = ccd_scenario_thresholds(&r->scenario, o->thresholds, err, errlen)))
        return rc;
    rc = ccd_collector_new(&r->collector, o, r->nengines, ccd_clock_wall(), err, errlen);
    if (rc)
        return rc;
    r->batch = calloc((size_t)r->nengines * r->scenario.nsel, sizeof(*r->batch));
    if (!r->batch || (rc = ccd_queue_init(&r->inbox, r->loop, on_message, r))) {
        snprintf(err, errlen, "out of memory starting the runner");
        return CCD_ENOMEM;
    }
    r->inbox_ready = true;
    return 0;
}

static void run(runner_t *r)
{
    const ccd_options_t *o = r->o;
    if (!o->headless)
        ccd_log(CCD_LOG_WARNING, "the web UI is not available in this build: running headless");
    start_timers(r);
    ccd_scenario_fire(&r->scenario, "test_start", NULL);
    if (r->scenario.has_shape) {
        ccd_log(CCD_LOG_INFO, "A load shape drives the users (%u threads)%s", r->engines.n,
                o->users_given || o->spawn_rate_given ? "; -u and -r are ignored" : "");
        shape_tick(r, 0);
    } else {
        ccd_log(CCD_LOG_INFO, "Ramping to %u users at a rate of %.2f per second (%u threads)",
                o->users, o->spawn_rate, r->engines.n);
        ramp_to(r, o->users, o->spawn_rate);
    }
    ev_run(r->loop, 0); /* until every engine has stopped */
}

/* The end of a run: events, the final outputs, the exit code. */
static int finish(runner_t *r)
{
    ccd_run_summary_t run = {.start_time = r->test_start_wall,
                             .duration = mono_now() - r->test_start,
                             .peak_users = r->peak};
    ccd_scenario_fire(&r->scenario, "test_stop", NULL);
    run.end_time = ccd_clock_wall();
    int code = exit_code(r, ccd_collector_finish(r->collector, &run));
    ccd_scenario_fire(&r->scenario, "quitting", NULL);
    ccd_log(CCD_LOG_INFO, "Shutting down (exit code %d)", code);
    fflush(stderr);
    return code;
}

/* Prepares, starts the engines and runs; returns 2 after printing why when set-up failed. */
static int run_test(runner_t *r)
{
    char err[1024] = "";
    int rc = prepare(r, err, sizeof(err));
    if (rc == 0 && ccd_scenario_list(&r->scenario, r->o, stdout))
        return 0;
    if (rc == 0)
        rc = ccd_engines_start(&r->engines, r->nengines, r->o, &r->scenario, &r->inbox, err,
                               sizeof(err));
    if (rc) {
        fail(err, rc);
        return 2;
    }
    run(r);
    bool forced = r->ndone < r->engines.n;
    int code = finish(r);
    if (forced)
        _exit(code); /* engines may still be stopping: do not wait for them */
    ccd_engines_join(&r->engines);
    return code;
}

int ccd_runner_run(const ccd_options_t *o)
{
    if (o->logfile && ccd_log_open(o->logfile)) {
        fprintf(stderr, "cicada: cannot open log file '%s': %s\n", o->logfile, strerror(errno));
        return 2;
    }
    runner_t r = {.o = o, .loop = EV_DEFAULT};
    int code = run_test(&r);
    runner_free(&r);
    return code;
}
