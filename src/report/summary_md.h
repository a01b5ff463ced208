/* A short Markdown summary of a run (--summary-md FILE), sized for a CI job's summary page
 * (GitHub's $GITHUB_STEP_SUMMARY, GitLab and others render it): the verdict, totals, the
 * per-name table, threshold verdicts and, given a baseline, the comparison. */
#ifndef CCD_SUMMARY_MD_H
#define CCD_SUMMARY_MD_H

#include <stdio.h>

#include "report/compare.h"
#include "report/threshold.h"
#include "stats/stats.h"

/* What the summary says besides the statistics; everything is borrowed for the call. */
typedef struct {
    const char *profile; /* --profile, or NULL */
    const char *host;    /* -H, or NULL */
    double start_time;   /* epoch seconds */
    double duration_s;
    unsigned peak_users;
    const ccd_threshold_result_t *results; /* the threshold results (n may be 0) */
    size_t nresults;
    const char *baseline;          /* the baseline's file name, or NULL: no comparison */
    const ccd_compare_row_t *rows; /* the comparison with the baseline */
    size_t nrows;
    int regressions;
} ccd_summary_md_t;

/* Writes the summary. Times have three significant digits (ccd_format_ms()); names are
 * escaped for table cells ('|' as "\|"). Returns 0 or -EIO. */
int ccd_summary_md_write(FILE *out, const ccd_stats_t *s, const ccd_summary_md_t *m);

#endif
