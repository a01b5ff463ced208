/* Human and machine outputs of statistics: Locust's console tables and a JSON document. */
#ifndef CCD_REPORT_H
#define CCD_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "stats/history.h"
#include "stats/stats.h"

/* Locust's periodic console table: Type, Name, # reqs, # fails (percent), Avg, Min, Max, Med,
 * req/s, failures/s, one row per entry in (name, method) order, then the Aggregated row and a
 * blank line. Rates are the current ones relative to now (see ccd_stats_current_rps()); times
 * are whole milliseconds, rounded to nearest (Locust truncates its float min/max/avg and rounds
 * its percentile buckets; one rule keeps min <= median <= max in the printed numbers). The name
 * column is 76 characters wide (narrower on a terminal under 160 columns, as Locust); longer
 * names are shortened in the middle with "...". */
void ccd_report_table(FILE *out, const ccd_stats_t *s, double now);

/* The same table with the rates over the whole run (Locust's final summary). */
void ccd_report_table_final(FILE *out, const ccd_stats_t *s);

/* Locust's "Response time percentiles (approximated)" table: 50 66 75 80 90 95 98 99 99.9 99.99
 * 100 in whole milliseconds and # reqs, for entries with requests, then the aggregated row. */
void ccd_report_percentiles(FILE *out, const ccd_stats_t *s);

/* Locust's "Error report" (# occurrences, "METHOD NAME: error"); prints nothing without errors. */
void ccd_report_errors(FILE *out, const ccd_stats_t *s);

/* The open model's figures, when the run had any: per class, arrivals scheduled, started and
 * dropped, the backlog's high-water mark, late starts and the lateness p50/p99/max; then the
 * service times' percentile table (from the actual send). Prints nothing otherwise. */
void ccd_report_open(FILE *out, const ccd_stats_t *s);
/* The same as JSON: {"classes": [{"class", "scheduled", "started", "dropped_iterations",
 * "backlog_max", "late_starts", "lateness_ms": {"p50", "p99", "max", "mean"}}], "service_time":
 * {"stats": [entries], "total": entry} or null}; JSON null without any; NULL when out of
 * memory. The run document holds it as "open_model". */
json_t *ccd_report_open_json(const ccd_stats_t *s);

/* The script exceptions (# occurrences, message, indented traceback); prints nothing without
 * exceptions. Locust shows these only in its web UI; the layout follows the error report. */
void ccd_report_exceptions(FILE *out, const ccd_stats_t *s);

/* The requests abandoned in flight when their users stopped, by method and name in (name,
 * method) order ("# requests", "METHOD NAME"), in the error report's layout, under a title that
 * says they are not in the tables above; prints nothing when there were none. */
void ccd_report_abandoned(FILE *out, const ccd_stats_t *s);

/* The generator errors (requests cicada could not send for a local reason, see stats.h) in the
 * error report's layout ("# occurrences", "METHOD NAME: error"), under a title that says they
 * are cicada's own and not in the tables above; prints nothing when there were none. */
void ccd_report_generator_errors(FILE *out, const ccd_stats_t *s);

/* Writes one JSON document and a newline:
 * {"stats": [entry...], "total": entry, "errors": [{"method","name","error","occurrences"}...],
 *  "exceptions": [{"count","message","traceback"}...], "user_count": n, "duration_s": x,
 *  "in_flight_at_stop": {"total": n, "requests": [{"method","name","count"}...]},
 *  "generator_errors": {"total": n, "errors": [{"method","name","error","occurrences"}...]}}
 * where an entry has method, name, num_requests, num_failures, min/max/avg/median_response_time
 * (ms), response_time_percentiles {"0.5" ... "1.0": ms}, total_rps, total_fail_per_sec and
 * avg_content_length. "stats" lists the entries with requests, in (name, method) order;
 * "in_flight_at_stop" the requests abandoned at the stop (ccd_report_abandoned), and
 * "generator_errors" the requests cicada could not send (ccd_report_generator_errors), both
 * counted in no entry.
 * With a history h, "history" holds its samples (see ccd_history_to_json()).
 * Returns 0, CCD_ENOMEM, or -EIO when writing fails. */
int ccd_report_json(FILE *out, const ccd_stats_t *s, const ccd_history_t *h, unsigned user_count,
                    double duration_s);

/* The document ccd_report_json() writes, to extend before writing it with
 * ccd_report_json_dump(); a new reference, or NULL when out of memory. */
json_t *ccd_report_json_doc(const ccd_stats_t *s, const ccd_history_t *h, unsigned user_count,
                            double duration_s);

/* Writes doc with two-space indents and a newline. Returns 0 or -EIO. */
int ccd_report_json_dump(FILE *out, const json_t *doc);

/* The entry's percentiles as {"0.5", "0.66", ... "0.9999", "1.0": ms}, exact to the histogram;
 * a new reference (NULL when out of memory). */
json_t *ccd_report_percentiles_json(const ccd_stats_entry_t *e);

/* The errors as a JSON array of {"method","name","error","occurrences"}, and the exceptions as
 * one of {"count","message","traceback"}; new references (NULL when out of memory). */
json_t *ccd_report_errors_json(const ccd_stats_t *s);
json_t *ccd_report_exceptions_json(const ccd_stats_t *s);
/* The generator errors as {"total": n, "errors": [{"method","name","error","occurrences"}...]}
 * in first-occurrence order; a new reference (NULL when out of memory). */
json_t *ccd_report_generator_errors_json(const ccd_stats_t *s);
/* {"total": n, "requests": [{"method","name","count"}...]} of the abandoned requests, in
 * (name, method) order; a new reference (NULL when out of memory). */
json_t *ccd_report_abandoned_json(const ccd_stats_t *s);

#endif
