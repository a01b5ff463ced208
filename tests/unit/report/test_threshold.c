/* Tests of CI thresholds: parsing, scopes, pass/fail at the boundary, the results table. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "report/threshold.h"

#define T0 1700000000.0

static void rec(ccd_stats_t *s, const char *method, const char *name, int64_t us, const char *error,
                double now)
{
    cr_assert_eq(ccd_stats_record(s, method, strlen(method), name, strlen(name), us, 0, error,
                                  error ? strlen(error) : 0, now),
                 0);
}

/* 100 requests over exactly 10 s (10 req/s): GET /api/items at 200 ms, one of which fails. */
static ccd_stats_t *stats_200ms(void)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    for (int i = 1; i <= 100; i++)
        rec(s, "GET", "/api/items", 200000, i == 50 ? "HTTP 500" : NULL, T0 + i * 0.1);
    return s;
}

static ccd_thresholds_t *one(const char *metric, const char *spec)
{
    ccd_thresholds_t *t = ccd_thresholds_new();
    char err[256] = "";
    cr_assert_not_null(t);
    cr_assert_eq(ccd_thresholds_add(t, metric, spec, err, sizeof(err)), 0, "%s %s: %s", metric,
                 spec, err);
    return t;
}

/* Evaluates a single threshold with a single result and tells whether it passed. */
static bool passes(const ccd_stats_t *s, const char *metric, const char *spec)
{
    ccd_thresholds_t *t = one(metric, spec);
    ccd_threshold_result_t *r;
    size_t n;
    cr_assert_eq(ccd_thresholds_evaluate(t, s, &r, &n), 0);
    cr_assert_eq(n, 1);
    bool pass = r[0].pass;
    free(r);
    ccd_thresholds_free(t);
    return pass;
}

Test(threshold, parses_metrics_and_units)
{
    static const struct {
        const char *metric, *spec;
        ccd_check_kind_t kind;
        double q, limit;
        const char *scope;
    } cases[] = {
        {"--check-p95", "200ms", CCD_CHECK_PERCENTILE, 0.95, 200, NULL},
        {"check-p99", "1s", CCD_CHECK_PERCENTILE, 0.99, 1000, NULL},
        {"p50", "250", CCD_CHECK_PERCENTILE, 0.5, 250, NULL},
        {"p99.9", "1.5s", CCD_CHECK_PERCENTILE, 0.999, 1500, NULL},
        {"p100", "2m", CCD_CHECK_PERCENTILE, 1.0, 120000, NULL},
        {"p95", "500us", CCD_CHECK_PERCENTILE, 0.95, 0.5, NULL},
        {"--check-fail-ratio", "0.01", CCD_CHECK_FAIL_RATIO, 0, 0.01, NULL},
        {"fail-ratio", "2.5%", CCD_CHECK_FAIL_RATIO, 0, 0.025, NULL},
        {"--check-avg-response-time", "200", CCD_CHECK_AVG_RESPONSE_TIME, 0, 200, NULL},
        {"--check-rps", "1000", CCD_CHECK_RPS, 0, 1000, NULL},
        {"p95", "/api/items=150ms", CCD_CHECK_PERCENTILE, 0.95, 150, "/api/items"},
        {"rps", "GET /x=5", CCD_CHECK_RPS, 0, 5, "GET /x"},
        {"p95", "/search?q=a=b=1s", CCD_CHECK_PERCENTILE, 0.95, 1000, "/search?q=a=b"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ccd_thresholds_t *t = one(cases[i].metric, cases[i].spec);
        const ccd_threshold_t *th = ccd_thresholds_get(t, 0);
        cr_expect_eq(th->kind, cases[i].kind, "case %zu", i);
        cr_expect_float_eq(th->q, cases[i].q, 1e-12, "case %zu", i);
        cr_expect_float_eq(th->limit, cases[i].limit, 1e-9, "case %zu: %f", i, th->limit);
        if (cases[i].scope)
            cr_expect_str_eq(th->scope, cases[i].scope, "case %zu", i);
        else
            cr_expect_null(th->scope, "case %zu", i);
        ccd_thresholds_free(t);
    }
}

Test(threshold, rejects_bad_specs)
{
    static const char *const bad[][2] = {
        {"p95", "fast"},        {"p95", "200 ms"},     {"p95", "-5ms"},
        {"p95", "5h"},          {"p95", ""},           {"p95", "=200ms"},
        {"p95", "/x="},         {"p0", "1s"},          {"p101", "1s"},
        {"px", "1s"},           {"p", "1s"},           {"fail-ratio", "1.5"},
        {"fail-ratio", "200%"}, {"fail-ratio", "1ms"}, {"rps", "10/s"},
        {"latency", "1s"},      {"p95", "nan"},        {"rps", "inf"},
        {"p1e2", "1s"},         {"p0x10", "1s"},
    };
    ccd_thresholds_t *t = ccd_thresholds_new();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        cr_expect_eq(ccd_thresholds_add(t, bad[i][0], bad[i][1], err, sizeof(err)), CCD_EINVAL,
                     "%s %s accepted", bad[i][0], bad[i][1]);
        cr_expect_not_null(strstr(err, "--check-"), "message names the option: %s", err);
    }
    cr_expect_eq(ccd_thresholds_count(t), 0);
    ccd_thresholds_free(t);
}

Test(threshold, recognises_options)
{
    cr_expect(ccd_thresholds_is_option("--check-p95"));
    cr_expect(ccd_thresholds_is_option("--check-p99.9"));
    cr_expect(ccd_thresholds_is_option("--check-fail-ratio"));
    cr_expect(ccd_thresholds_is_option("--check-avg-response-time"));
    cr_expect(ccd_thresholds_is_option("--check-rps"));
    cr_expect_not(ccd_thresholds_is_option("--check-latency"));
    cr_expect_not(ccd_thresholds_is_option("--p95"));
    cr_expect_not(ccd_thresholds_is_option("--csv"));
}

Test(threshold, percentile_boundary)
{
    ccd_stats_t *s = stats_200ms();
    cr_expect(passes(s, "p95", "200ms"));
    cr_expect(passes(s, "p95", "0.2s"));
    cr_expect_not(passes(s, "p95", "199.999ms"));
    cr_expect(passes(s, "p50", "200"));
    cr_expect_not(passes(s, "p99.9", "199ms"));
    ccd_stats_free(s);
}

Test(threshold, avg_boundary)
{
    ccd_stats_t *s = stats_200ms();
    cr_expect(passes(s, "avg-response-time", "200"));
    cr_expect_not(passes(s, "avg-response-time", "199.99"));
    ccd_stats_free(s);
}

Test(threshold, fail_ratio_boundary)
{
    ccd_stats_t *s = stats_200ms(); /* 1 failure in 100 requests */
    cr_expect(passes(s, "fail-ratio", "0.01"));
    cr_expect(passes(s, "fail-ratio", "1%"));
    cr_expect_not(passes(s, "fail-ratio", "0.0099"));
    cr_expect_not(passes(s, "fail-ratio", "0"));
    ccd_stats_free(s);
}

Test(threshold, rps_is_a_minimum)
{
    ccd_stats_t *s = stats_200ms(); /* 100 requests in 10 s */
    cr_expect(passes(s, "rps", "10"));
    cr_expect(passes(s, "rps", "9.5"));
    cr_expect_not(passes(s, "rps", "10.01"));
    ccd_stats_free(s);
}

Test(threshold, scopes)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    for (int i = 1; i <= 10; i++) {
        rec(s, "GET", "/api/items", 100000, NULL, T0 + i);
        rec(s, "POST", "/api/items", 300000, NULL, T0 + i);
        rec(s, "GET", "/search?q=x", 50000, NULL, T0 + i);
    }
    ccd_thresholds_t *t = ccd_thresholds_new();
    char err[256];
    cr_assert_eq(ccd_thresholds_add(t, "p95", "/api/items=150ms", err, sizeof(err)), 0);
    cr_assert_eq(ccd_thresholds_add(t, "p95", "GET /api/items=150ms", err, sizeof(err)), 0);
    cr_assert_eq(ccd_thresholds_add(t, "p95", "/search?q=x=60ms", err, sizeof(err)), 0);
    cr_assert_eq(ccd_thresholds_add(t, "p95", "/gone=1s", err, sizeof(err)), 0);
    cr_assert_eq(ccd_thresholds_add(t, "p95", "400ms", err, sizeof(err)), 0);
    ccd_threshold_result_t *r;
    size_t n;
    cr_assert_eq(ccd_thresholds_evaluate(t, s, &r, &n), 0);
    cr_assert_eq(n, 6);
    /* A name matches each of its methods. */
    cr_expect_str_eq(r[0].method, "GET");
    cr_expect(r[0].pass);
    cr_expect_str_eq(r[1].method, "POST");
    cr_expect_not(r[1].pass);
    cr_expect_float_eq(r[1].measured, 300.0, 0.5);
    /* "METHOD NAME" selects one. */
    cr_expect_str_eq(r[2].method, "GET");
    cr_expect_str_eq(r[2].name, "/api/items");
    cr_expect(r[2].pass);
    cr_expect_str_eq(r[3].name, "/search?q=x");
    cr_expect(r[3].pass);
    /* No such request: a breach. */
    cr_expect_null(r[4].method);
    cr_expect_str_eq(r[4].name, "/gone");
    cr_expect_not(r[4].pass);
    /* No scope: the Aggregated row. */
    cr_expect_str_eq(r[5].name, "Aggregated");
    cr_expect(r[5].pass);
    free(r);
    ccd_thresholds_free(t);
    ccd_stats_free(s);
}

Test(threshold, check_prints_and_counts_breaches)
{
    ccd_stats_t *s = stats_200ms();
    ccd_thresholds_t *t = ccd_thresholds_new();
    char err[256];
    cr_assert_eq(ccd_thresholds_add(t, "--check-p95", "150ms", err, sizeof(err)), 0);
    cr_assert_eq(ccd_thresholds_add(t, "--check-fail-ratio", "0.05", err, sizeof(err)), 0);
    cr_assert_eq(ccd_thresholds_add(t, "--check-rps", "100", err, sizeof(err)), 0);
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    cr_expect_eq(ccd_thresholds_check(t, s, f), 2);
    fclose(f);
    cr_expect_not_null(strstr(text, "p95"));
    cr_expect_not_null(strstr(text, "200 ms"));
    cr_expect_not_null(strstr(text, "<= 150 ms"));
    cr_expect_not_null(strstr(text, "1.00%"));
    cr_expect_not_null(strstr(text, ">= 100.00/s"));
    cr_expect_not_null(strstr(text, "passed"));
    cr_expect_not_null(strstr(text, "2 of 3 threshold checks FAILED"), "%s", text);
    free(text);
    ccd_thresholds_free(t);
    ccd_stats_free(s);
}

Test(threshold, empty_set_prints_nothing)
{
    ccd_stats_t *s = stats_200ms();
    ccd_thresholds_t *t = ccd_thresholds_new();
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    cr_expect_eq(ccd_thresholds_check(t, s, f), 0);
    fclose(f);
    cr_expect_eq(len, 0);
    free(text);
    ccd_thresholds_free(t);
    ccd_stats_free(s);
}
