/* The comparison of two runs as one self-contained HTML page (cicada compare --html): the table
 * of both runs per request name, and the two runs' charts overlaid over the seconds since each
 * run's start (uPlot embedded, as in the HTML report). */
#ifndef CCD_COMPARE_HTML_H
#define CCD_COMPARE_HTML_H

#include <stdio.h>

#include "report/compare.h"

/* Writes the page to out. Runs read from Locust's array have no history: the page then shows
 * the table only. Returns 0, CCD_ENOMEM or -EIO. */
int ccd_compare_html_render(FILE *out, const ccd_compare_run_t *base, const ccd_compare_run_t *cur,
                            const ccd_compare_row_t *rows, size_t n);

/* The same, written to path through a temporary file renamed into place. Returns 0,
 * CCD_ENOMEM or a negative errno. */
int ccd_compare_html_write(const char *path, const ccd_compare_run_t *base,
                           const ccd_compare_run_t *cur, const ccd_compare_row_t *rows, size_t n);

#endif
