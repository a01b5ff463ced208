/* The documents a finished run leaves for tools: Locust's JSON entries (--json, --json-file),
 * the run document (--report-json), JUnit XML (--junit) and the Markdown summary
 * (--summary-md). */
#ifndef CCD_RUN_REPORTS_H
#define CCD_RUN_REPORTS_H

#include "control/cli.h"
#include "stats/history.h"
#include "stats/stats.h"

/* What the documents say about the run besides its statistics. */
typedef struct {
    double start_time; /* epoch seconds */
    double duration;   /* seconds */
    unsigned peak_users;
} ccd_run_info_t;

/* Writes every document o asks for; stdout gets Locust's entries (--json) or the run document
 * (--report-json -), then is flushed. Files are written whole or not at all; failures are
 * logged and the other documents are still written. Returns how many could not be written. */
int ccd_run_reports_write(const ccd_options_t *o, const ccd_stats_t *s, const ccd_history_t *h,
                          const ccd_run_info_t *run);

#endif
