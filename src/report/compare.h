/* Comparison of two runs (cicada compare): per request name, requests/s, failure ratio and
 * p50/p95/p99 of both runs, the change, and regressions beyond a tolerance. Reads cicada's run
 * document (--report-json) and Locust's serialised entries (--json, either tool's). */
#ifndef CCD_COMPARE_H
#define CCD_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    CCD_CMP_RPS,        /* requests/s over the run: a drop is a regression */
    CCD_CMP_FAIL_RATIO, /* failures / requests: compared in percentage points */
    CCD_CMP_P50,        /* response-time percentiles, ms: a rise is a regression */
    CCD_CMP_P95,
    CCD_CMP_P99,
    CCD_CMP_METRICS
} ccd_compare_metric_t;

/* One request entry of a run, or its Aggregated row (method ""). */
typedef struct {
    char *method, *name;                        /* owned */
    double num_requests, rps, fail_ratio, p[3]; /* p50, p95, p99 in ms */
} ccd_compare_entry_t;

/* A run read from a file. */
typedef struct {
    char *path;             /* owned copy of the file name */
    ccd_compare_entry_t *v; /* the entries, then the Aggregated row */
    size_t n, cap;          /* entries, Aggregated included; room for them */
    json_t *history;        /* the run document's "history", or NULL (Locust's form) */
    double start_time;      /* epoch seconds; 0 when unknown */
    char *profile;          /* --profile label or NULL */
} ccd_compare_run_t;

/* Reads path: a cicada run document (an object with "stats" and "total") or Locust's array of
 * entries (percentiles from the extra "response_time_percentiles" key when present, else from
 * Locust's buckets as Locust computes them; the Aggregated row from the sum of the entries).
 * Returns 0, or CCD_EINVAL with a one-line message in err naming the file and the problem
 * (CCD_ENOMEM when out of memory). Free with ccd_compare_run_free() in every case. */
int ccd_compare_load(ccd_compare_run_t *run, const char *path, char *err, size_t errlen);
void ccd_compare_run_free(ccd_compare_run_t *run);

/* The same from a document in memory (borrowed); label names it in messages. */
int ccd_compare_from_json(ccd_compare_run_t *run, const json_t *doc, const char *label, char *err,
                          size_t errlen);

/* Tolerances, as fractions: a relative change for rps and the percentiles (0.10 = 10 %), an
 * absolute one for the failure ratio (0.01 = one percentage point). */
typedef struct {
    double tol[CCD_CMP_METRICS];
} ccd_compare_tolerance_t;

/* 10 % for rps, p50, p95 and p99; one percentage point for the failure ratio. */
void ccd_compare_tolerance_default(ccd_compare_tolerance_t *t);

/* Applies "10%" (or "0.1": rps and the percentiles) or "METRIC=10%" (one of rps, fail-ratio,
 * p50, p95, p99). Returns 0, or CCD_EINVAL with a message in err. */
int ccd_compare_tolerance_parse(ccd_compare_tolerance_t *t, const char *spec, char *err,
                                size_t errlen);

/* One request name in either run. */
typedef struct {
    const ccd_compare_entry_t *base, *cur; /* NULL when the name is missing from that run */
    double change[CCD_CMP_METRICS];        /* % (percentage points for the failure ratio); NAN
                                            * when it cannot be computed */
    bool regressed[CCD_CMP_METRICS];
    bool any; /* a metric regressed */
} ccd_compare_row_t;

/* Pairs the entries by (method, name): base's order, then names only in cur, the Aggregated
 * row last. *rows is allocated (free() it; it points into both runs). Returns the number of
 * rows with a regression, or CCD_ENOMEM. A name in one run only is listed, not a regression. */
int ccd_compare_rows(const ccd_compare_run_t *base, const ccd_compare_run_t *cur,
                     const ccd_compare_tolerance_t *t, ccd_compare_row_t **rows, size_t *n);

/* Prints the comparison: one line per name and metric (Type, Name, Metric, Base, New, Change,
 * and "REGRESSION (limit)" where one is), times to three significant digits. */
void ccd_compare_print(FILE *out, const ccd_compare_row_t *rows, size_t n,
                       const ccd_compare_tolerance_t *t);

/* Writes the comparison as a Markdown table (Name, then base -> new and the change for each
 * metric, regressions in bold). */
void ccd_compare_markdown(FILE *out, const ccd_compare_row_t *rows, size_t n);

/* The metric's name as options and reports spell it ("rps", "fail-ratio", "p95"). */
const char *ccd_compare_metric_name(ccd_compare_metric_t m);

#endif
