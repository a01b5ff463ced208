/* The open model: arrivals on a schedule, latency from the intended start, backlog, drops and
 * ramping rates, against cicada-target's /stall (every reply held for a while). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "harness.h"

/* Two of these tests run 20 s each (the runs the open model's documentation describes); the
 * suite takes about 70 s. */
TestSuite(open_model, .fini = h_cleanup, .timeout = 120);

#define RATE       1000 /* iterations per second */
#define RUN_S      20
#define STALL_S    2
#define STALL_AT_S 6 /* seconds after the stall is asked for, just before cicada starts */
/* How far a corrected percentile may be from the one the schedule predicts: 10% of the stall
 * (the stall's own edges, the loop's timer granularity and draining a backlog after it). */
#define TOLERANCE_MS 200.0

static const char *one_task = "local cicada = require 'cicada'\n"
                              "local U = cicada.user('Open', { tasks = { hello = 1 } })\n"
                              "function U:hello() self.client:get('/hello') end\n";

static const char *host(const h_target_t *t)
{
    return h_strf("http://%s:%d", H_HOST, t->port);
}

static void stall(const h_target_t *t, int after, int dur)
{
    int status = 0;
    free(h_http_get(t->port, h_strf("/stall?after=%d&for=%d", after, dur), &status));
    cr_assert_eq(status, 200, "cicada-target refused /stall");
}

static json_t *open_class(json_t *doc)
{
    json_t *om = json_object_get(doc, "open_model");
    cr_assert(om, "no open_model in the run document");
    json_t *c = json_array_get(json_object_get(om, "classes"), 0);
    cr_assert(c, "no class in open_model.classes");
    return c;
}

static long field(json_t *o, const char *k)
{
    return (long)json_integer_value(json_object_get(o, k));
}

static double service_pct(json_t *doc, const char *key)
{
    json_t *total = json_object_get(
        json_object_get(json_object_get(doc, "open_model"), "service_time"), "total");
    return h_pct(total, key);
}

/* What the schedule predicts for quantile q: of n requests, rate * D arrived during the stall;
 * one arriving t seconds into it waits D - t, so those times spread evenly over (0, D]. */
static double expected_ms(double q, long n)
{
    double f = (double)RATE * STALL_S / (double)n;
    return q <= 1 - f ? 0 : STALL_S * 1000.0 * (q - (1 - f)) / f;
}

static void expect_stall_percentiles(json_t *doc, const char *what)
{
    json_t *total = json_object_get(doc, "total");
    long n = (long)h_num(total, "num_requests");
    static const struct {
        const char *key;
        double q;
    } qs[] = {{"0.95", 0.95}, {"0.98", 0.98}, {"0.99", 0.99}};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double want = expected_ms(qs[i].q, n), got = h_pct(total, qs[i].key);
        cr_expect(fabs(got - want) <= TOLERANCE_MS, "%s: p%s is %.1f ms, the schedule says %.1f",
                  what, qs[i].key, got, want);
    }
    cr_expect_lt(h_pct(total, "0.5"), 50.0, "%s: the median should not see the stall", what);
}

static void run_stalled(h_run_t *r, const h_target_t *t, const char *users)
{
    stall(t, STALL_AT_S, STALL_S);
    h_run_opts_t o = {.timeout_s = RUN_S + 30};
    cr_assert_eq(h_cicada(r, &o, one_task, "-H", host(t), "-u", users, "-r", "10000", "-t",
                          h_strf("%ds", RUN_S), "--arrival-rate", h_strf("%d", RATE), "--threads",
                          "2", "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(r, 0);
    H_ASSERT_JSON(r);
}

/* (a) A pool large enough for every arrival: the load keeps arriving through the stall, every
 * request answered after it, and the percentiles show it; the schedule is kept (the achieved
 * rate within 0.5%). */
Test(open_model, large_pool_keeps_arriving_through_a_stall)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0);
    run_stalled(&r, &t, "3000");
    json_t *c = open_class(r.json);
    long scheduled = field(c, "scheduled"), started = field(c, "started");
    cr_expect_eq(field(c, "dropped_iterations"), 0);
    cr_expect_eq(started, scheduled);
    cr_expect(fabs((double)scheduled - RATE * RUN_S) <= 0.005 * RATE * RUN_S,
              "%ld arrivals in %d s at %d/s", scheduled, RUN_S, RATE);
    cr_expect_eq(h_total_requests(r.json), started);
    cr_expect_eq(h_total_failures(r.json), 0);
    expect_stall_percentiles(r.json, "response time");
    /* Every request waited in the stall itself: the service times show it as well. */
    cr_expect_gt(service_pct(r.json, "0.99"), 1000.0);
    h_run_free(&r);
}

/* (b) A small pool: arrivals back up in the backlog during the stall. The response times from
 * the schedule still show the stall as in (a), while the service times stay near the target's
 * normal latency: the difference is what coordinated omission hides. */
Test(open_model, small_pool_backlog_shows_what_service_times_hide)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0);
    run_stalled(&r, &t, "20");
    json_t *c = open_class(r.json);
    cr_expect_eq(field(c, "dropped_iterations"), 0);
    cr_expect_eq(field(c, "started"), field(c, "scheduled"));
    /* Each engine thread gets half the arrivals: about 1,000 wait during the stall. */
    cr_expect_gt(field(c, "backlog_max"), 800);
    cr_expect_gt(field(c, "late_starts"), 1000);
    expect_stall_percentiles(r.json, "response time from the schedule");
    cr_expect_lt(service_pct(r.json, "0.99"), 50.0, "service p99 %.1f ms",
                 service_pct(r.json, "0.99"));
    cr_expect_lt(service_pct(r.json, "0.5"), 10.0);
    cr_expect(h_contains(r.err, "class Open starts lag its schedule"), "no lag warning");
    h_run_free(&r);
}

/* A rate the pool cannot serve through a stall, with a small backlog: drops, counted, and
 * the numbers add up exactly; every started iteration's request is counted. */
static void expect_drops(const char *backlog)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0);
    stall(&t, 1, 1);
    cr_assert_eq(h_cicada(&r, NULL, one_task, "-H", host(&t), "-u", "4", "-r", "100", "-t", "3s",
                          "--arrival-rate", "1000", "--arrival-backlog", backlog, "--threads", "2",
                          "--stop-timeout", "5", "--check-dropped", "0", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 3); /* the --check-dropped threshold is breached */
    H_ASSERT_JSON(&r);
    json_t *c = open_class(r.json);
    long scheduled = field(c, "scheduled"), started = field(c, "started"),
         dropped = field(c, "dropped_iterations");
    cr_expect_gt(dropped, 500, "only %ld dropped", dropped);
    cr_expect_eq(started + dropped, scheduled, "%ld started + %ld dropped != %ld scheduled",
                 started, dropped, scheduled);
    cr_expect_eq(h_total_requests(r.json), started);
    cr_expect_eq(h_target_requests(&t, started), started, "the target saw another count");
    if (atoi(backlog) == 0)
        cr_expect_eq(field(c, "backlog_max"), 0);
    else
        cr_expect_eq(field(c, "backlog_max"), atoi(backlog) / 2);
    cr_expect(h_contains(r.err, "class Open dropped"), "no drop warning");
    cr_expect(h_contains(r.err, "raise -u"), "the warning does not say to raise -u");
    h_run_free(&r);
}

Test(open_model, overflow_of_a_small_backlog_is_dropped_and_counted)
{
    expect_drops("50");
}

Test(open_model, drop_at_once_counts_the_same)
{
    expect_drops("0");
}

/* Three stages of rates: the requests of each second (from the history CSV's running total)
 * follow the stage in progress within 10%. */
Test(open_model, ramping_rate_stages_follow_the_stages)
{
    static const char *ramp = "local cicada = require 'cicada'\n"
                              "cicada.stages {\n"
                              "  { duration = 5, users = 60, rate = 100, arrival_rate = 100 },\n"
                              "  { duration = 5, users = 60, rate = 100, arrival_rate = 300 },\n"
                              "  { duration = 5, users = 60, rate = 100, arrival_rate = 150 },\n"
                              "}\n"
                              "local U = cicada.user('Ramp', { tasks = { hello = 1 } })\n"
                              "function U:hello() self.client:get('/hello') end\n";
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *prefix = h_strf("%s/ramp", h_tmpdir());
    cr_assert_eq(h_cicada(&r, NULL, ramp, "-H", host(&t), "--threads", "2", "--csv", prefix,
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    h_csv_t csv;
    cr_assert_eq(h_csv_read(&csv, h_strf("%s_stats_history.csv", prefix)), 0);
    int col = h_csv_col(&csv, "Total Request Count");
    cr_assert_geq(col, 0);
    cr_assert_geq(csv.nrows, 15, "only %zu history rows", csv.nrows);
    /* Row i (from 1) is taken about i seconds into the run; rows 2-4 of each 5 s stage are
     * clear of its edges. */
    static const struct {
        size_t first;
        double rate;
    } stages[] = {{2, 100}, {7, 300}, {12, 150}}; /* rates a sanitizer build holds too */
    for (size_t s = 0; s < 3; s++) {
        size_t a = stages[s].first, b = a + 2;
        double got = (atof(csv.rows[b][col]) - atof(csv.rows[a][col])) / 2.0;
        cr_expect(fabs(got - stages[s].rate) <= 0.1 * stages[s].rate,
                  "stage %zu: %.1f requests/s, expected %.0f", s + 1, got, stages[s].rate);
    }
    h_csv_free(&csv);
    h_run_free(&r);
}
