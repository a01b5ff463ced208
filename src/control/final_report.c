/* The final outputs: Locust's console summary, the threshold table, the JSON and HTML files. */
#include "control/final_report.h"

#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "control/run_reports.h"
#include "report/html.h"
#include "report/report.h"
#include "report/threshold.h"

typedef struct {
    const ccd_stats_t *s;
    const ccd_history_t *h;
    const ccd_run_summary_t *run;
} json_report_t;

/* Returns 1 when the report could not be written (logged), else 0. */
static int write_html(const ccd_options_t *o, const json_report_t *j)
{
    char *path = NULL;
    if (!o->html)
        return 0;
    if (ccd_html_expand_name(o->html, o->users, o->spawn_rate, o->run_time, &path)) {
        ccd_log(CCD_LOG_ERROR, "out of memory writing the HTML report %s", o->html);
        return 1;
    }
    ccd_html_meta_t meta = {.start_time = j->run->start_time,
                            .end_time = j->run->end_time,
                            .host = o->host,
                            .scenario = o->scenario,
                            .users = j->run->peak_users,
                            .spawn_rate = o->spawn_rate,
                            .run_time = o->run_time,
                            .profile = o->profile};
    int rc = ccd_html_write(path, &meta, j->s, j->h);
    if (rc)
        ccd_log(CCD_LOG_ERROR, "cannot write the HTML report to %s: %s", path, ccd_strerror(rc));
    else
        ccd_log(CCD_LOG_INFO, "HTML report written to %s", path);
    free(path);
    return rc != 0;
}

static void print_summary(FILE *out, const ccd_stats_t *s)
{
    fputc('\n', out);
    ccd_report_table_final(out, s);
    fputc('\n', out);
    ccd_report_percentiles(out, s);
    ccd_report_open(out, s);
    ccd_report_errors(out, s);
    ccd_report_exceptions(out, s);
    ccd_report_abandoned(out, s);
    ccd_report_generator_errors(out, s);
}

/* Generator errors change what the numbers mean (the target got less load than asked), so the
 * end of the run says so in a line of its own, after the tables. */
static void warn_generator_errors(const ccd_stats_t *s)
{
    uint64_t n = ccd_stats_generator_error_total(s);
    if (n == 0)
        return;
    ccd_log(CCD_LOG_WARNING,
            "%llu request%s could not be sent because of generator errors (cicada's own machine "
            "ran out of file descriptors, ports or memory; see \"Generator errors\" above): they "
            "are not the target's failures, but the target got less load than asked",
            (unsigned long long)n, n == 1 ? "" : "s");
}

int ccd_final_report_write(const ccd_options_t *o, const ccd_stats_t *s, const ccd_history_t *h,
                           const ccd_run_summary_t *run, int lost)
{
    json_report_t j = {s, h, run};
    print_summary(stderr, s);
    warn_generator_errors(s);
    int breaches = ccd_thresholds_check(o->thresholds, s, stderr);
    fflush(stderr);
    ccd_run_info_t info = {run->start_time, run->duration, run->peak_users};
    lost += ccd_run_reports_write(o, s, h, &info);
    lost += write_html(o, &j);
    return lost ? CCD_EREPORT : breaches;
}
