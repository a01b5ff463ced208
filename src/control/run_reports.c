/* The documents for tools: Locust's JSON, the run document, JUnit XML, the Markdown summary. */
#include "control/run_reports.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/outfile.h"
#include "report/compare.h"
#include "report/junit.h"
#include "report/locust_json.h"
#include "report/report.h"
#include "report/summary_md.h"
#include "report/threshold.h"

typedef struct {
    const ccd_options_t *o;
    const ccd_stats_t *s;
    const ccd_history_t *h;
    const ccd_run_info_t *run;
    const ccd_threshold_result_t *results;
    size_t nresults;
    json_t *doc; /* the run document, or NULL when out of memory */
} docs_t;

static int fill_locust(FILE *f, const void *ud)
{
    return ccd_locust_json_write(f, ((const docs_t *)ud)->s);
}

/* The run document: the statistics, history, errors and exceptions of ccd_report_json(), the
 * threshold results, the start time and the --profile label. NULL when out of memory. */
static json_t *run_doc(const docs_t *d)
{
    json_t *doc = ccd_report_json_doc(d->s, d->h, d->run->peak_users, d->run->duration);
    if (!doc ||
        json_object_set_new(doc, "thresholds",
                            ccd_thresholds_results_json(d->results, d->nresults)) ||
        json_object_set_new(doc, "profile",
                            d->o->profile ? json_string(d->o->profile) : json_null()) ||
        json_object_set_new(doc, "start_time", json_real(d->run->start_time))) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static int fill_run(FILE *f, const void *ud)
{
    const docs_t *d = ud;
    return d->doc ? ccd_report_json_dump(f, d->doc) : CCD_ENOMEM;
}

static int fill_junit(FILE *f, const void *ud)
{
    const docs_t *d = ud;
    char suite[512];
    snprintf(suite, sizeof(suite), "cicada thresholds%s%s", d->o->profile ? ": " : "",
             d->o->profile ? d->o->profile : "");
    return ccd_junit_write(f, d->results, d->nresults, suite, d->run->start_time, d->run->duration);
}

/* The summary, with the comparison against --baseline when it can be read (else a warning). */
static int fill_summary(FILE *f, const void *ud)
{
    const docs_t *d = ud;
    ccd_summary_md_t m = {.profile = d->o->profile,
                          .host = d->o->host,
                          .start_time = d->run->start_time,
                          .duration_s = d->run->duration,
                          .peak_users = d->run->peak_users,
                          .results = d->results,
                          .nresults = d->nresults};
    ccd_compare_run_t base = {0}, cur = {0};
    ccd_compare_row_t *rows = NULL;
    char err[512] = "";
    if (d->o->baseline && d->doc &&
        (ccd_compare_load(&base, d->o->baseline, err, sizeof(err)) ||
         ccd_compare_from_json(&cur, d->doc, "this run", err, sizeof(err))))
        ccd_log(CCD_LOG_WARNING, "no comparison in the summary: %s", err);
    else if (d->o->baseline && d->doc) {
        ccd_compare_tolerance_t tol;
        ccd_compare_tolerance_default(&tol);
        m.regressions = ccd_compare_rows(&base, &cur, &tol, &rows, &m.nrows);
        m.baseline = m.regressions >= 0 ? d->o->baseline : NULL;
        m.rows = rows;
    }
    int rc = ccd_summary_md_write(f, d->s, &m);
    free(rows);
    ccd_compare_run_free(&base);
    ccd_compare_run_free(&cur);
    return rc;
}

/* Returns 1 when the document could not be written (logged), else 0. */
static int write_file(const char *path, int (*fill)(FILE *, const void *), const docs_t *d,
                      const char *what)
{
    int rc = ccd_outfile_write(path, fill, d);
    if (rc)
        ccd_log(CCD_LOG_ERROR, "cannot write the %s to %s: %s", what, path, ccd_strerror(rc));
    return rc != 0;
}

static int to_stdout(int (*fill)(FILE *, const void *), const docs_t *d, const char *what)
{
    int rc = fill(stdout, d);
    if (fflush(stdout) || ferror(stdout) || rc) {
        ccd_log(CCD_LOG_ERROR, "cannot write the %s to stdout", what);
        return 1;
    }
    return 0;
}

/* --json-file NAME writes NAME.json, as Locust's save_stats_json(). */
static int write_locust_file(const docs_t *d)
{
    size_t n = strlen(d->o->json_file) + sizeof(".json");
    char *path = malloc(n);
    if (!path) {
        ccd_log(CCD_LOG_ERROR, "out of memory writing %s.json", d->o->json_file);
        return 1;
    }
    snprintf(path, n, "%s.json", d->o->json_file);
    int lost = write_file(path, fill_locust, d, "JSON statistics");
    free(path);
    return lost;
}

int ccd_run_reports_write(const ccd_options_t *o, const ccd_stats_t *s, const ccd_history_t *h,
                          const ccd_run_info_t *run)
{
    docs_t d = {.o = o, .s = s, .h = h, .run = run};
    ccd_threshold_result_t *results = NULL;
    if (ccd_thresholds_evaluate(o->thresholds, s, &results, &d.nresults))
        ccd_log(CCD_LOG_ERROR, "out of memory evaluating the thresholds for the reports");
    d.results = results;
    d.doc = run_doc(&d);
    int lost = 0;
    if (o->json)
        lost += to_stdout(fill_locust, &d, "JSON statistics");
    if (o->json_file)
        lost += write_locust_file(&d);
    if (o->report_json && strcmp(o->report_json, "-") == 0)
        lost += to_stdout(fill_run, &d, "run report");
    else if (o->report_json)
        lost += write_file(o->report_json, fill_run, &d, "run report");
    if (o->junit)
        lost += write_file(o->junit, fill_junit, &d, "JUnit report");
    if (o->summary_md)
        lost += write_file(o->summary_md, fill_summary, &d, "Markdown summary");
    json_decref(d.doc);
    free(results);
    return lost;
}
