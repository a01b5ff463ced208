/* The HTML report (--html FILE): one self-contained file with the run's metadata, the
 * statistics, percentiles, failures and exceptions tables, and charts over time (uPlot,
 * embedded in the binary). It opens without network access and names no external URL. */
#ifndef CCD_HTML_H
#define CCD_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "stats/history.h"
#include "stats/stats.h"

/* What the report says about the run; strings are borrowed for the call. */
typedef struct {
    double start_time;    /* epoch seconds */
    double end_time;      /* epoch seconds */
    const char *host;     /* the -H host; NULL or "" when each class used its own */
    const char *scenario; /* the -f file */
    unsigned users;       /* the requested (peak) user count */
    double spawn_rate;
    double run_time;     /* -t in seconds; 0 when unlimited */
    const char *profile; /* --profile label, or NULL */
} ccd_html_meta_t;

/* Writes the report to out: the template with uPlot's CSS and JS and one JSON document of the
 * data (every '<' in it written as \u003c, so no string can close the script element).
 * h may be NULL (no charts). Returns 0, CCD_ENOMEM, or -EIO when writing fails. */
int ccd_html_render(FILE *out, const ccd_html_meta_t *m, const ccd_stats_t *s,
                    const ccd_history_t *h);

/* Writes an HTML template whose marks <!--CCD:UPLOT_CSS-->, <!--CCD:UPLOT_JS--> and
 * <!--CCD:DATA--> are replaced by uPlot's CSS, its JS and the JSON text data (each '<' in it
 * written as \u003c). Returns 0 or -EIO. */
int ccd_html_fill(FILE *out, const unsigned char *template, size_t template_len, const char *data);

/* Writes the report to path through a temporary file renamed into place. Returns 0,
 * CCD_ENOMEM, or a negative errno. */
int ccd_html_write(const char *path, const ccd_html_meta_t *m, const ccd_stats_t *s,
                   const ccd_history_t *h);

/* Expands Locust's tags in a report file name: {u} users, {r} spawn rate, {t} run time in
 * seconds, each as a whole number ({t} is left as it is when run_time is 0, as Locust leaves
 * it without -t). *out is allocated; the caller frees it. Returns 0 or CCD_ENOMEM. */
int ccd_html_expand_name(const char *pattern, unsigned users, double spawn_rate, double run_time,
                         char **out);

#endif
