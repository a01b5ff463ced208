/* The outputs of a finished run: the console summary, thresholds, and the JSON and HTML
 * reports. */
#ifndef CCD_FINAL_REPORT_H
#define CCD_FINAL_REPORT_H

#include "control/cli.h"
#include "stats/history.h"
#include "stats/stats.h"

/* How the run went, for the final outputs. */
typedef struct {
    double start_time; /* epoch seconds, shown in the HTML report */
    double end_time;   /* epoch seconds: the last history sample, the HTML report */
    double duration;   /* seconds, measured on the monotonic clock */
    unsigned peak_users;
} ccd_run_summary_t;

/* Prints the final tables (statistics, percentiles, errors, exceptions, requests abandoned in
 * flight, generator errors) and the threshold results on stderr, then writes the documents for
 * tools (control/run_reports.h: --json, --json-file, --report-json, --junit, --summary-md) and the
 * --html report; write failures are logged. lost counts the outputs the caller could not
 * write (the CSV files). Returns the number of threshold breaches, CCD_EREPORT when an output
 * could not be written (lost or here), or CCD_ENOMEM. */
int ccd_final_report_write(const ccd_options_t *o, const ccd_stats_t *s, const ccd_history_t *h,
                           const ccd_run_summary_t *run, int lost);

#endif
