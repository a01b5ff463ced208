/* Statistics entries serialised as Locust serialises them (StatsEntry.serialize in Locust's
 * stats.py): what Locust's --json prints and --json-file writes, and what a Locust worker
 * sends in its stats message. */
#ifndef CCD_LOCUST_JSON_H
#define CCD_LOCUST_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "stats/stats.h"

/* One entry as Locust's StatsEntryDict, keys in Locust's order: name, method,
 * last_request_timestamp (null without requests), start_time, num_requests,
 * num_none_requests (0), num_failures, total_response_time, max_response_time,
 * min_response_time (null without requests) — times in milliseconds, with cicada's microsecond
 * precision —, total_content_length, response_times {"ms": count} in Locust's buckets (whole ms
 * below 100, then 10 ms below 1 s, 100 ms below 10 s, whole seconds above), num_reqs_per_sec and
 * num_fail_per_sec {"epoch second": count} for the seconds the entry still holds (the last
 * CCD_STATS_SECONDS). Extra keys, which Locust's readers ignore: response_time_percentiles
 * {"0.5" ... "1.0": ms} exact to the histogram. A new reference, or NULL when out of memory. */
json_t *ccd_locust_json_entry(const ccd_stats_entry_t *e);

/* The entries with a request or a failure, in (name, method) order, as Locust's
 * serialize_stats() lists them (without the Aggregated total). A new reference, or NULL. */
json_t *ccd_locust_json_entries(const ccd_stats_t *s);

/* Writes ccd_locust_json_entries() as Locust's json.dumps(..., indent=4) and a newline.
 * Returns 0, CCD_ENOMEM, or -EIO when writing fails. */
int ccd_locust_json_write(FILE *out, const ccd_stats_t *s);

/* Locust's bucket for a response time in ms (bucket_response_time in Locust's stats.py):
 * rounded to whole ms below 100 ms, to 10 ms below 1 s, to 100 ms below 10 s, else to 1 s,
 * halves to even as Python's round(). */
long ccd_locust_json_bucket(double ms);

#endif
