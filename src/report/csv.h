/* Locust-compatible CSV output (--csv PREFIX): PREFIX_stats.csv, PREFIX_stats_history.csv,
 * PREFIX_failures.csv and PREFIX_exceptions.csv, with Locust's headers, column order, quoting
 * (Python's csv module: minimal quoting, "" for a quote, CRLF line ends) and number formats. */
#ifndef CCD_CSV_H
#define CCD_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "stats/history.h"
#include "stats/stats.h"

/* Writers to any stream (files, or a web UI download through open_memstream). Each returns
 * 0, or -EIO when the stream reports a write error.
 *
 * Numbers are written as Locust writes them: counts as integers; the median and the
 * percentile columns as whole milliseconds (rounded to nearest, as the console tables);
 * average, min and max response times, average content size and the whole-run rates as
 * Python's repr() of a float (12.345, 0.0, 1e-05), except where Locust writes an integer 0
 * (min, max and content size of an entry without requests); the history's current rates as
 * Python's "{:2f}" (six decimals). An entry without requests has "N/A" percentiles. */

/* PREFIX_stats.csv: the header, one row per entry in (name, method) order, then the
 * Aggregated row (empty Type). Rates are over the whole run. */
int ccd_csv_requests(FILE *out, const ccd_stats_t *s);

/* PREFIX_failures.csv: Method, Name, Error, Occurrences; errors in first-occurrence order. */
int ccd_csv_failures(FILE *out, const ccd_stats_t *s);

/* PREFIX_exceptions.csv: Count, Message, Traceback, Nodes ("local": a process's own users). */
int ccd_csv_exceptions(FILE *out, const ccd_stats_t *s);

/* PREFIX_stats_history.csv's header row. */
int ccd_csv_history_header(FILE *out);

/* The history rows of the second `now`: with full_history one row per entry, then always the
 * Aggregated row. Requests/s and Failures/s are the current rates relative to now. As in
 * Locust, the percentile columns are the current ones (the window kept by h) with
 * full_history, and the whole-run ones without; the Total columns are whole-run values. */
int ccd_csv_history_rows(FILE *out, const ccd_stats_t *s, const ccd_history_t *h, bool full_history,
                         unsigned user_count, double now);

/* The set of files of one --csv PREFIX. */
typedef struct ccd_csv ccd_csv_t;

/* Creates PREFIX_stats_history.csv (truncated) with its header, and writes the three other
 * files with their headers only. The prefix is copied. On success *out owns the history file
 * until ccd_csv_close(). Returns 0, CCD_ENOMEM, or a negative errno (with the failing path in
 * err) when a file cannot be created. */
int ccd_csv_open(ccd_csv_t **out, const char *prefix, bool full_history, char *err, size_t errlen);

/* Rewrites PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_exceptions.csv from s. Each is
 * written to PREFIX_<file>.tmp.<pid> and renamed over the old one, so a reader sees either
 * the previous or the new complete file. Returns 0 or a negative errno. */
int ccd_csv_write(ccd_csv_t *c, const ccd_stats_t *s);

/* Appends the history rows of the second `now` (see ccd_csv_history_rows()) and flushes them,
 * so the file always ends with a complete row. Returns 0 or a negative errno. */
int ccd_csv_append_history(ccd_csv_t *c, const ccd_stats_t *s, const ccd_history_t *h,
                           unsigned user_count, double now);

/* Replaces the rows of the last second appended with those of `now` (the final statistics
 * can arrive within the second of the last regular row: one row a second, the last one
 * holding the final counts). Appends when nothing was. Returns 0 or a negative errno. */
int ccd_csv_replace_history(ccd_csv_t *c, const ccd_stats_t *s, const ccd_history_t *h,
                            unsigned user_count, double now);

/* Closes the history file and frees c (NULL is ignored). Returns 0 or a negative errno. */
int ccd_csv_close(ccd_csv_t *c);

/* Writes v as Python's repr() of a float does (the shortest text that reads back as v,
 * "1e-05"/"1e+16" outside [1e-4, 1e16), ".0" added to whole numbers). Returns buf. */
char *ccd_csv_format_float(char *buf, size_t len, double v);

/* The open model's arrivals, one row per class: Class, Scheduled, Started, Dropped
 * Iterations, Backlog Max, Late Starts, Lateness 50%, Lateness 99%, Lateness Max (ms). With
 * --csv, ccd_csv_write() writes it to PREFIX_arrivals.csv and the service times (the columns
 * of PREFIX_stats.csv) to PREFIX_service_stats.csv when the run had any. */
int ccd_csv_arrivals(FILE *out, const ccd_stats_t *s);

#endif
