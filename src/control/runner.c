/* The runner's loop: ramping users up and down at the spawn rate (or as a load shape says),
 * merging one delta report per engine per second, the history and CSV files every second, the
 * console table every 2 s, stopping on -t, a signal or the scenario's word, then the reports. */
#include "control/runner.h"

#include <ev.h>
#include <lauxlib.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "report/csv.h"
#include "control/dispatch.h"
#include "engine/engine.h"
#include "base/error.h"
#include "stats/history.h"
#include "report/html.h"
#include "base/log.h"
#include "base/outfile.h"
#include "report/report.h"
#include "engine/script.h"
#include "lua/lcore.h"
#include "stats/stats.h"

#define PRINT_INTERVAL     2.0
#define BUSY_WARN_PERMILLE 900
#define BUSY_WARN_EVERY    10.0

typedef struct {
    const ccd_options_t *o;
    struct ev_loop *loop;
    ccd_script_t script; /* the scenario loaded once more: classes, events, load shape */
    int *sel;            /* the classes to run (indices into script.classes) */
    size_t nsel;
    ccd_dispatch_t *plan; /* which user is which class, on which engine */
    long *batch;          /* users to start or stop per (engine, selected class) */
    ccd_engine_t **engines;
    unsigned nengines, ndone;
    ccd_queue_t inbox;
    ccd_lcore_config_t lcore; /* what every Lua state's bindings get */
    ccd_stats_t *stats;
    ccd_history_t *history;
    ccd_csv_t *csv;
    unsigned target, started, peak; /* users wanted, users the engines confirmed, the most */
    double rate;                    /* users started or stopped per second */
    double ramp_start;              /* when the current ramp began */
    unsigned ramp_moved;            /* users started or stopped since then */
    double test_start, test_start_wall, last_busy_warn;
    int64_t csv_second; /* the second of the last history row written */
    long generation;    /* of the statistics, raised by each reset */
    bool has_shape, ramped, reset_done, stopping;
    int signals;
    ev_timer spawn_timer, second_timer, print_timer, run_timer;
    ev_signal sigint, sigterm;
} runner_t;

static void fail(const char *msg)
{
    fprintf(stderr, "cicada: %s\n", msg);
    fflush(stderr);
}

/* Calls the library's function name (in the runner's state) with the values on top of the
 * stack; a failure is logged, never fatal. Returns 0 or CCD_ESCRIPT. */
static int call_library(runner_t *r, const char *name, int nargs, int nresults)
{
    lua_State *L = r->script.L;
    char err[2048];
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->script.module_ref);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    lua_insert(L, -1 - nargs);
    if (ccd_script_pcall(L, nargs, nresults, err, sizeof(err)) == 0)
        return 0;
    ccd_log(CCD_LOG_ERROR, "%s", err);
    return CCD_ESCRIPT;
}

/* Fires a library event in the runner's state with an optional number argument. */
static void fire(runner_t *r, const char *event, const double *arg)
{
    lua_pushstring(r->script.L, event);
    if (arg)
        lua_pushnumber(r->script.L, *arg);
    call_library(r, "_fire", arg ? 2 : 1, 0);
}

static void log_spawned(runner_t *r)
{
    char counts[1024] = "";
    size_t off = 0;
    for (size_t i = 0; i < r->nsel && off < sizeof(counts); i++)
        off += (size_t)snprintf(counts + off, sizeof(counts) - off, "%s%s: %u", i ? ", " : "",
                                r->script.classes[r->sel[i]].name,
                                ccd_dispatch_class_count(r->plan, i));
    ccd_log(CCD_LOG_INFO, "All users spawned: %u users (%.2f s) - %s", r->started,
            ev_time() - r->ramp_start, counts);
}

/* Posts the batch as SPAWN or STOP_USERS messages, one per (engine, class) with users. */
static void post_batch(runner_t *r, int type)
{
    for (unsigned e = 0; e < r->nengines; e++)
        for (size_t c = 0; c < r->nsel; c++) {
            long n = r->batch[e * r->nsel + c];
            if (n > 0)
                ccd_engine_post(r->engines[e], type, r->sel[c], n, NULL);
        }
}

static void check_ramped(runner_t *r);

/* The ramp's step: users started (or stopped) so far may not exceed the spawn rate. */
static void on_spawn_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    unsigned have = ccd_dispatch_count(r->plan);
    double allowed_f = floor(r->rate * (ev_time() - r->ramp_start)) + 1 - r->ramp_moved;
    unsigned gap = have < r->target ? r->target - have : have - r->target;
    unsigned step = allowed_f < gap ? (unsigned)(allowed_f > 0 ? allowed_f : 0) : gap;
    memset(r->batch, 0, sizeof(long) * r->nengines * r->nsel);
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
    r->ramp_start = ev_time();
    r->ramp_moved = 0;
    r->ramped = false;
    double tick = 1.0 / rate;
    tick = tick < 0.01 ? 0.01 : tick > 1 ? 1 : tick;
    ev_timer_stop(r->loop, &r->spawn_timer);
    ev_timer_set(&r->spawn_timer, 0, tick);
    if (ccd_dispatch_count(r->plan) != target)
        ev_timer_start(r->loop, &r->spawn_timer);
}

/* When the engines confirm every user of a ramp up: log, event, --reset-stats. */
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
    fire(r, "spawning_complete", &users);
    if (r->o->reset_stats && !r->reset_done) {
        r->reset_done = true;
        ccd_stats_reset(r->stats, ccd_clock_wall());
        ccd_history_reset_window(r->history);
        r->generation++;
        for (unsigned i = 0; i < r->nengines; i++)
            ccd_engine_post(r->engines[i], CCD_MSG_RESET, r->generation, 0, NULL);
        ccd_log(CCD_LOG_INFO, "Statistics reset (--reset-stats)");
    }
}

static void begin_stop(runner_t *r, const char *why)
{
    if (r->stopping)
        return;
    r->stopping = true;
    ccd_log(CCD_LOG_INFO, "%s: stopping %u users", why, ccd_dispatch_count(r->plan));
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
    /* A report from before a reset holds what the reset was meant to forget. */
    bool stale = m->c != r->generation;
    if (m->ptr && !stale && ccd_stats_merge(r->stats, m->ptr))
        ccd_log(CCD_LOG_ERROR, "out of memory merging statistics");
    if (m->type == CCD_MSG_DONE) {
        if (m->ptr)
            ccd_stats_free(m->ptr);
        if (++r->ndone == r->nengines)
            ev_break(r->loop, EVBREAK_ALL);
        return;
    }
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
            r->peak = r->started > r->peak ? r->started : r->peak;
            check_ramped(r);
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

/* The load shape's word for this second: a new target, or the end of the test. */
static void shape_tick(runner_t *r, double run_time)
{
    lua_State *L = r->script.L;
    lua_pushnumber(L, run_time);
    if (call_library(r, "_shape_tick", 1, 5)) {
        begin_stop(r, "Load shape failed");
        return;
    }
    if (lua_isnil(L, -5)) {
        lua_pop(L, 5);
        begin_stop(r, "Load shape finished");
        return;
    }
    double users = lua_tonumber(L, -5), rate = lua_tonumber(L, -4);
    int stage = (int)lua_tonumber(L, -2), stages = (int)lua_tonumber(L, -1);
    bool *allowed = NULL;
    if (lua_istable(L, -3) && (allowed = calloc(r->nsel, sizeof(bool))))
        for (size_t c = 0; c < r->nsel; c++)
            for (int i = 1; i <= (int)lua_objlen(L, -3); i++) {
                lua_rawgeti(L, -3, i);
                const char *n = lua_tostring(L, -1);
                allowed[c] |= n && strcmp(n, r->script.classes[r->sel[c]].name) == 0;
                lua_pop(L, 1);
            }
    lua_pop(L, 5);
    unsigned target = users > 0 ? (unsigned)users : 0;
    rate = rate > 0 ? rate : 1;
    if (target != r->target || rate != r->rate || allowed) {
        if (allowed || r->target != target)
            ccd_dispatch_allow(r->plan, allowed);
        if (stages)
            ccd_log(CCD_LOG_INFO, "Load shape: %u users at %.2f/s (stage %d of %d)", target, rate,
                    stage, stages);
        else if (target != r->target)
            ccd_log(CCD_LOG_INFO, "Load shape: %u users at %.2f/s", target, rate);
        ramp_to(r, target, rate);
    }
    free(allowed);
}

/* One history row a second: when the final rows fall in the second of the last regular ones,
 * they replace them. */
static int append_history(runner_t *r, unsigned users, double now)
{
    if ((int64_t)now == r->csv_second)
        return ccd_csv_replace_history(r->csv, r->stats, r->history, users, now);
    r->csv_second = (int64_t)now;
    return ccd_csv_append_history(r->csv, r->stats, r->history, users, now);
}

/* Once a second: the history sample, the CSV files, the load shape. */
static void on_second(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    double now = ccd_clock_wall();
    unsigned users = ccd_dispatch_count(r->plan);
    if (ccd_history_tick(r->history, r->stats, users, now))
        ccd_log(CCD_LOG_ERROR, "out of memory recording the history");
    if (r->csv && (ccd_csv_write(r->csv, r->stats) || append_history(r, users, now)))
        ccd_log(CCD_LOG_ERROR, "cannot write the CSV files (%s_*.csv)", r->o->csv_prefix);
    if (r->has_shape && !r->stopping)
        shape_tick(r, ev_time() - r->test_start);
}

static void on_print(struct ev_loop *loop, ev_timer *w, int revents)
{
    runner_t *r = w->data;
    if (!r->ramped && !r->stopping)
        ccd_log(CCD_LOG_INFO, "Spawning: %u/%u users", r->started, r->target);
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

/* Resolves positional class names into the selection; all runnable classes when none are
 * named. */
static int select_classes(runner_t *r)
{
    const ccd_options_t *o = r->o;
    size_t n = o->nclasses ? (size_t)o->nclasses : r->script.nclasses;
    r->sel = calloc(n ? n : 1, sizeof(*r->sel));
    if (!r->sel)
        return CCD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int idx = o->nclasses ? ccd_script_find_class(&r->script, o->classes[i]) : (int)i;
        if (idx < 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "unknown user class '%s' (see --list)", o->classes[i]);
            fail(msg);
            return CCD_EINVAL;
        }
        if (r->script.classes[idx].runnable)
            r->sel[r->nsel++] = idx;
    }
    if (r->nsel == 0) {
        fail(o->tags || o->exclude_tags ? "no task matches the tags given with -T/-E"
                                        : "no user class to run");
        return CCD_EINVAL;
    }
    return 0;
}

static int make_plan(runner_t *r)
{
    double *w = calloc(r->nsel, sizeof(double));
    unsigned *f = calloc(r->nsel, sizeof(unsigned));
    double total = 0;
    for (size_t i = 0; w && f && i < r->nsel; i++) {
        w[i] = r->script.classes[r->sel[i]].weight;
        f[i] = r->script.classes[r->sel[i]].fixed_count;
        total += w[i] + f[i];
    }
    if (w && f && total <= 0) {
        fail("every selected user class has weight 0");
        free(w);
        free(f);
        return CCD_EINVAL;
    }
    r->plan = w && f ? ccd_dispatch_new(r->nsel, w, f, r->nengines) : NULL;
    free(w);
    free(f);
    r->batch = calloc((size_t)r->nengines * r->nsel, sizeof(*r->batch));
    return r->plan && r->batch ? 0 : CCD_ENOMEM;
}

static int start_engines(runner_t *r)
{
    const ccd_options_t *o = r->o;
    r->engines = calloc(r->nengines, sizeof(*r->engines));
    const char **hosts = calloc(r->script.nclasses, sizeof(*hosts));
    if (!r->engines || !hosts) {
        free(hosts);
        return CCD_ENOMEM;
    }
    for (size_t i = 0; i < r->script.nclasses; i++)
        hosts[i] = o->host ? o->host : r->script.classes[i].host;
    ccd_engine_config_t cfg = {.scenario = o->scenario,
                               .hosts = hosts,
                               .nclasses = r->script.nclasses,
                               .runner = &r->inbox,
                               .bindings = ccd_lcore_open,
                               .bindings_ud = &r->lcore};
    char err[1024];
    unsigned n = r->nengines;
    r->nengines = 0;
    for (unsigned i = 0; i < n; i++) {
        cfg.index = (int)i;
        if (ccd_engine_start(&r->engines[i], &cfg, err, sizeof(err))) {
            fail(err);
            free(hosts);
            return CCD_EINVAL;
        }
        r->nengines++;
    }
    free(hosts);
    return 0;
}

static void start_timers(runner_t *r)
{
    const ccd_options_t *o = r->o;
    ev_now_update(r->loop); /* loading the engines took a while: timers count from now */
    r->test_start = ev_time();
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

typedef struct {
    const runner_t *r;
    double duration;
} json_report_t;

static int fill_json(FILE *f, const void *ud)
{
    const json_report_t *j = ud;
    return ccd_report_json(f, j->r->stats, j->r->history, j->r->peak, j->duration);
}

static void write_json(runner_t *r, double duration)
{
    const ccd_options_t *o = r->o;
    json_report_t j = {r, duration};
    if (o->json) {
        fill_json(stdout, &j);
        fflush(stdout);
    }
    int rc = o->json_file ? ccd_outfile_write(o->json_file, fill_json, &j) : 0;
    if (rc)
        ccd_log(CCD_LOG_ERROR, "cannot write the JSON report to %s: %s", o->json_file,
                ccd_strerror(rc));
}

static void write_html(runner_t *r)
{
    const ccd_options_t *o = r->o;
    char *path = NULL;
    if (!o->html || ccd_html_expand_name(o->html, o->users, o->spawn_rate, o->run_time, &path))
        return;
    ccd_html_meta_t meta = {.start_time = r->test_start_wall,
                            .end_time = ccd_clock_wall(),
                            .host = o->host,
                            .scenario = o->scenario,
                            .users = r->peak,
                            .spawn_rate = o->spawn_rate,
                            .run_time = o->run_time};
    int rc = ccd_html_write(path, &meta, r->stats, r->history);
    if (rc)
        ccd_log(CCD_LOG_ERROR, "cannot write the HTML report to %s: %s", path, ccd_strerror(rc));
    else
        ccd_log(CCD_LOG_INFO, "HTML report written to %s", path);
    free(path);
}

/* Everything a run leaves behind, however it ended. Returns the threshold breaches. */
static int final_reports(runner_t *r, double duration)
{
    double now = ccd_clock_wall();
    ccd_history_tick(r->history, r->stats, 0, now);
    if (r->csv) {
        ccd_csv_write(r->csv, r->stats);
        append_history(r, 0, now);
        ccd_csv_close(r->csv);
        r->csv = NULL;
    }
    fputc('\n', stderr);
    ccd_report_table_final(stderr, r->stats);
    fputc('\n', stderr);
    ccd_report_percentiles(stderr, r->stats);
    ccd_report_errors(stderr, r->stats);
    ccd_report_exceptions(stderr, r->stats);
    int breaches = ccd_thresholds_check(r->o->thresholds, r->stats, stderr);
    fflush(stderr);
    write_json(r, duration);
    write_html(r);
    return breaches;
}

static int exit_code(const runner_t *r, int breaches)
{
    if (breaches > 0)
        return 3;
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
    ccd_history_free(r->history);
    ccd_csv_close(r->csv);
    ccd_dispatch_free(r->plan);
    ccd_script_close(&r->script);
    free(r->sel);
    free(r->engines);
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

/* Adds the thresholds the scenario declared with cicada.threshold(). */
static int scenario_thresholds(runner_t *r)
{
    lua_State *L = r->script.L;
    char err[512];
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->script.module_ref);
    lua_getfield(L, -1, "_thresholds");
    int n = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : 0, rc = 0;
    for (int i = 1; i <= n && rc == 0; i++) {
        lua_rawgeti(L, -1, i);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        rc = ccd_thresholds_add(r->o->thresholds, lua_tostring(L, -2), lua_tostring(L, -1), err,
                                sizeof(err));
        lua_pop(L, 3);
    }
    lua_pop(L, 2);
    if (rc)
        fail(err);
    return rc;
}

/* -l and --show-task-ratio: print and leave. Returns 1 when one of them was asked. */
static int listing(runner_t *r)
{
    lua_State *L = r->script.L;
    if (!r->o->list && !r->o->show_task_ratio)
        return 0;
    if (r->o->list) {
        call_library(r, "_list_classes", 0, 1);
    } else {
        lua_newtable(L);
        for (size_t i = 0; i < r->nsel; i++) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, r->script.classes[r->sel[i]].name);
        }
        call_library(r, "_task_ratio", 1, 1);
    }
    printf("%s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
    return 1;
}

/* The runner's own Lua state only describes the scenario: no engine, so user I/O raises. */
static void open_loading_only(lua_State *L, void *ud)
{
    ccd_lcore_open(L, NULL, ud);
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
    r->lcore = (ccd_lcore_config_t){.tags = o->tags, .exclude_tags = o->exclude_tags};
    ccd_script_env_t env = {.open = open_loading_only, .ud = &r->lcore, .seed = 1};
    if (ccd_script_open(&r->script, o->scenario, &env, err, sizeof(err))) {
        fail(err);
        return CCD_EINVAL;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    r->nengines = o->threads ? o->threads : (cpus > 0 ? (unsigned)cpus : 1);
    if (select_classes(r) || make_plan(r) || scenario_thresholds(r))
        return CCD_EINVAL;
    r->stats = ccd_stats_new(ccd_clock_wall());
    r->history = ccd_history_new(o->csv_full_history);
    if (!r->stats || !r->history || ccd_queue_init(&r->inbox, r->loop, on_message, r))
        return CCD_ENOMEM;
    if (o->csv_prefix &&
        ccd_csv_open(&r->csv, o->csv_prefix, o->csv_full_history, err, sizeof(err))) {
        fail(err);
        return CCD_EINVAL;
    }
    lua_rawgeti(r->script.L, LUA_REGISTRYINDEX, r->script.module_ref);
    lua_getfield(r->script.L, -1, "_has_shape");
    lua_call(r->script.L, 0, 1);
    r->has_shape = lua_toboolean(r->script.L, -1);
    lua_pop(r->script.L, 2);
    return 0;
}

/* Starts the engines with SIGINT/SIGTERM blocked, so that only the runner handles them. */
static int launch(runner_t *r)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int rc = start_engines(r);
    if (rc)
        abort_engines(r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void run(runner_t *r)
{
    const ccd_options_t *o = r->o;
    if (!o->headless)
        ccd_log(CCD_LOG_WARNING, "the web UI is not available in this build: running headless");
    start_timers(r);
    fire(r, "test_start", NULL);
    if (r->has_shape) {
        ccd_log(CCD_LOG_INFO, "A load shape drives the users (%u threads)%s", r->nengines,
                o->users_given || o->spawn_rate_given ? "; -u and -r are ignored" : "");
        shape_tick(r, 0);
    } else {
        ccd_log(CCD_LOG_INFO, "Ramping to %u users at a rate of %.2f per second (%u threads)",
                o->users, o->spawn_rate, r->nengines);
        ramp_to(r, o->users, o->spawn_rate);
    }
    ev_run(r->loop, 0); /* until every engine has stopped */
}

int ccd_runner_run(const ccd_options_t *o)
{
    runner_t r;
    if (o->logfile && ccd_log_open(o->logfile)) {
        fprintf(stderr, "cicada: cannot open log file '%s': %s\n", o->logfile, strerror(errno));
        return 2;
    }
    int rc = prepare(&r, o);
    if (rc == 0 && listing(&r)) {
        runner_free(&r);
        return 0;
    }
    if (rc || (rc = launch(&r)) != 0) {
        runner_free(&r);
        return 2;
    }
    run(&r);
    double duration = ev_time() - r.test_start;
    bool forced = r.ndone < r.nengines;
    fire(&r, "test_stop", NULL);
    int code = exit_code(&r, final_reports(&r, duration));
    fire(&r, "quitting", NULL);
    ccd_log(CCD_LOG_INFO, "Shutting down (exit code %d)", code);
    fflush(stderr);
    if (forced)
        _exit(code); /* engines may still be stopping: do not wait for them */
    for (unsigned i = 0; i < r.nengines; i++)
        ccd_engine_join(r.engines[i]);
    runner_free(&r);
    return code;
}
