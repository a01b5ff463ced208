/* The documents for tools: Locust's JSON, the run document, JUnit XML, the Markdown summary. */
#include "control/run_reports.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/outfile.h"
#include "report/locust_json.h"
#include "report/report.h"
#include "report/threshold.h"

typedef struct {
    const ccd_options_t *o;
    const ccd_stats_t *s;
    const ccd_history_t *h;
    const ccd_run_info_t *run;
    const ccd_threshold_result_t *results;
    size_t nresults;
} docs_t;

static int fill_locust(FILE *f, const void *ud)
{
    return ccd_locust_json_write(f, ((const docs_t *)ud)->s);
}

/* The run document: the statistics, history, errors and exceptions of ccd_report_json(), the
 * threshold results and the --profile label. */
static int fill_run(FILE *f, const void *ud)
{
    const docs_t *d = ud;
    json_t *doc = ccd_report_json_doc(d->s, d->h, d->run->peak_users, d->run->duration);
    if (!doc ||
        json_object_set_new(doc, "thresholds",
                            ccd_thresholds_results_json(d->results, d->nresults)) ||
        json_object_set_new(doc, "profile",
                            d->o->profile ? json_string(d->o->profile) : json_null()) ||
        json_object_set_new(doc, "start_time", json_real(d->run->start_time))) {
        json_decref(doc);
        return CCD_ENOMEM;
    }
    int rc = ccd_report_json_dump(f, doc);
    json_decref(doc);
    return rc;
}

static void write_file(const char *path, int (*fill)(FILE *, const void *), const docs_t *d,
                       const char *what)
{
    int rc = ccd_outfile_write(path, fill, d);
    if (rc)
        ccd_log(CCD_LOG_ERROR, "cannot write the %s to %s: %s", what, path, ccd_strerror(rc));
}

static void to_stdout(int (*fill)(FILE *, const void *), const docs_t *d)
{
    fill(stdout, d);
    fflush(stdout);
}

/* --json-file NAME writes NAME.json, as Locust's save_stats_json(). */
static void write_locust_file(const docs_t *d)
{
    size_t n = strlen(d->o->json_file) + sizeof(".json");
    char *path = malloc(n);
    if (!path) {
        ccd_log(CCD_LOG_ERROR, "out of memory writing %s.json", d->o->json_file);
        return;
    }
    snprintf(path, n, "%s.json", d->o->json_file);
    write_file(path, fill_locust, d, "JSON statistics");
    free(path);
}

void ccd_run_reports_write(const ccd_options_t *o, const ccd_stats_t *s, const ccd_history_t *h,
                           const ccd_run_info_t *run)
{
    docs_t d = {.o = o, .s = s, .h = h, .run = run};
    ccd_threshold_result_t *results = NULL;
    if (ccd_thresholds_evaluate(o->thresholds, s, &results, &d.nresults))
        ccd_log(CCD_LOG_ERROR, "out of memory evaluating the thresholds for the reports");
    d.results = results;
    if (o->json)
        to_stdout(fill_locust, &d);
    if (o->json_file)
        write_locust_file(&d);
    if (o->report_json && strcmp(o->report_json, "-") == 0)
        to_stdout(fill_run, &d);
    else if (o->report_json)
        write_file(o->report_json, fill_run, &d, "run report");
    free(results);
}
