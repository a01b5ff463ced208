/* CI thresholds: limits on the final statistics (--check-* options, or from the scenario),
 * evaluated at the end of a run; any breach makes cicada exit with code 3.
 *
 * A threshold is a metric and a textual spec:
 *   metric  fail-ratio          failures / requests          spec value: 0.01 or 1%
 *           avg-response-time   average response time        spec value: a duration
 *           pNN[.N...]          the NN-th percentile (p50, p95, p99.9; 0 < NN <= 100)
 *           rps                 requests per second over the whole run (a minimum)
 *           service-pNN[.N...]  the NN-th percentile of the service times (the open model's
 *                               time from the actual send; the response times without it)
 *           dropped             the open model's dropped iterations (SCOPE: a user class)
 *   spec    [SCOPE=]VALUE
 *           VALUE     a number; durations take a unit: us, ms (the default), s or m
 *                     ("200", "200ms", "1.5s"); fail-ratio takes a ratio or a percentage.
 *           SCOPE     omitted: the Aggregated row. Otherwise a request name as it appears
 *                     in the statistics ("/api/items"), or a method and a name separated by
 *                     one space ("GET /api/items"). The spec is split at its last '=', so
 *                     names may contain '=' ("/search?q=x=150ms").
 * A threshold on a name applies to every entry with that exact name (one result per method);
 * only when no entry has that name is the scope read as "METHOD NAME". A scope that matches
 * no entry is a breach (a renamed request must not pass silently).
 * Limits are inclusive: fail-ratio, avg-response-time and percentiles pass when the measured
 * value is <= the limit, rps passes when it is >= the limit.
 *
 * Command line: --check-fail-ratio 0.01, --check-avg-response-time 200, --check-p95 200ms,
 * --check-p99 "/api/items=1s", --check-rps 1000, --check-service-p99 50ms, --check-dropped 0;
 * each may be repeated. */
#ifndef CCD_THRESHOLD_H
#define CCD_THRESHOLD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "stats/stats.h"

typedef enum {
    CCD_CHECK_FAIL_RATIO,
    CCD_CHECK_AVG_RESPONSE_TIME,
    CCD_CHECK_PERCENTILE,
    CCD_CHECK_RPS,
    CCD_CHECK_DROPPED,
} ccd_check_kind_t;

typedef struct {
    ccd_check_kind_t kind;
    double q;     /* CCD_CHECK_PERCENTILE: the quantile in (0, 1] */
    bool service; /* CCD_CHECK_PERCENTILE: of the service times */
    double limit; /* milliseconds, a ratio, or requests per second */
    char *metric; /* owned: the metric as normalised ("p95", "fail-ratio") */
    char *scope;  /* owned: NULL for the Aggregated row */
} ccd_threshold_t;

typedef struct {
    const ccd_threshold_t *threshold;
    const char *method; /* the entry measured ("" for Aggregated); NULL when none matched */
    const char *name;   /* the entry's name, or the scope when none matched */
    double measured;    /* in the threshold's unit; 0 when no entry matched */
    bool pass;
} ccd_threshold_result_t;

typedef struct ccd_thresholds ccd_thresholds_t;

/* Creates an empty set; NULL when out of memory. */
ccd_thresholds_t *ccd_thresholds_new(void);
void ccd_thresholds_free(ccd_thresholds_t *t);

/* True when opt names a threshold option ("--check-" followed by a metric name). */
bool ccd_thresholds_is_option(const char *opt);

/* Parses one threshold and adds it. metric may be given bare ("p95"), or as the option
 * ("--check-p95" or "check-p95"); spec is "[SCOPE=]VALUE". Both are copied. Returns 0,
 * CCD_ENOMEM, or CCD_EINVAL with a one-line message in err naming the option and the value. */
int ccd_thresholds_add(ccd_thresholds_t *t, const char *metric, const char *spec, char *err,
                       size_t errlen);

size_t ccd_thresholds_count(const ccd_thresholds_t *t);
const ccd_threshold_t *ccd_thresholds_get(const ccd_thresholds_t *t, size_t i);

/* Measures every threshold against s (the final statistics). *results is allocated (one
 * result or more per threshold, in the order they were added; free() it) and its strings
 * point into t and s, so it is valid while both are unchanged. Returns 0 or CCD_ENOMEM. */
int ccd_thresholds_evaluate(const ccd_thresholds_t *t, const ccd_stats_t *s,
                            ccd_threshold_result_t **results, size_t *n);

/* The measured value ("12.3 ms", "0.50%", "812.00/s", or "no requests") and the limit with
 * its comparison ("<= 300 ms", ">= 500.00/s") as the results table shows them. */
void ccd_thresholds_describe(const ccd_threshold_result_t *r, char *measured, size_t mlen,
                             char *limit, size_t llen);

/* The results as a JSON array of {"metric", "method" (null when no entry matched), "name",
 * "measured" (null when no entry matched), "limit", "unit" ("ms", "ratio" or "req/s"),
 * "passed"}; a new reference, or NULL when out of memory. */
json_t *ccd_thresholds_results_json(const ccd_threshold_result_t *r, size_t n);

/* Prints the results as a table: Threshold, Type, Name, Measured, Limit, Result. */
void ccd_thresholds_print(FILE *out, const ccd_threshold_result_t *r, size_t n);

/* Evaluates, prints the table (nothing when t is empty) and returns the number of breaches,
 * or CCD_ENOMEM. The runner exits with 3 when the result is positive. */
int ccd_thresholds_check(const ccd_thresholds_t *t, const ccd_stats_t *s, FILE *out);

#endif
