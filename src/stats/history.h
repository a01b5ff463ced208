/* The run's history: one sample a second (users, current rates, current p50/p95/p99) for charts,
 * the CSV history and JSON, and the sliding window behind "current" response-time percentiles. */
#ifndef CCD_HISTORY_H
#define CCD_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "stats/stats.h"

/* Seconds covered by the current percentiles: as Locust, they are computed from the
 * cumulative histogram now minus a snapshot of it taken this long ago. */
#define CCD_HISTORY_WINDOW 10

/* Snapshots further than this from the ideal (now - CCD_HISTORY_WINDOW) are not used, as
 * Locust accepts cached response times for t-10 +- 8 s. */
#define CCD_HISTORY_SLACK 8

/* One second of the run, as the aggregated entry saw it. */
typedef struct {
    int64_t timestamp; /* epoch seconds (whole) */
    unsigned user_count;
    double current_rps; /* Locust's current_rps relative to the sample's time */
    double current_fail_per_sec;
    double current_p50_ms; /* over the window; 0 while there is no window or no request */
    double current_p95_ms;
    double current_p99_ms;
    uint64_t num_requests; /* cumulative, at the sample's time */
    uint64_t num_failures;
} ccd_history_sample_t;

/* The request names (method and name) whose p50/p95/p99 are kept a second for the HTML
 * report's per-name chart: the first this many to appear; later names have none. */
#define CCD_HISTORY_NAMES 50

typedef struct ccd_history ccd_history_t;

/* Creates an empty history. A window is kept for the aggregated entry and for the first
 * CCD_HISTORY_NAMES entries (their p50/p95/p99 are sampled each second as well); with
 * per_entry, for every entry (needed by --csv-full-history). Memory: the samples (a small
 * struct a second), 12 bytes a second per sampled name, plus, per tracked entry, at most
 * CCD_HISTORY_WINDOW + 1 sparse copies of its histogram (16 bytes per non-empty bucket).
 * Returns NULL when out of memory. */
ccd_history_t *ccd_history_new(bool per_entry);
void ccd_history_free(ccd_history_t *h);

/* Records the second `now` (epoch seconds): appends a sample computed from s (the merged,
 * cumulative statistics) and stores a snapshot of the tracked histograms for later windows.
 * Call once a second, after merging that second's reports. A tick in the same whole second as
 * the previous one replaces that sample and snapshot. Returns 0 or CCD_ENOMEM (the history is
 * then unchanged, except that the sample may be missing). */
int ccd_history_tick(ccd_history_t *h, const ccd_stats_t *s, unsigned user_count, double now);

/* Forgets the snapshots (call after ccd_stats_reset(): the cumulative counts went back to 0);
 * the samples are kept. Current percentiles are 0 until a new window exists. */
void ccd_history_reset_window(ccd_history_t *h);

/* The samples, oldest first; a pointer is valid until the next tick. */
size_t ccd_history_count(const ccd_history_t *h);
const ccd_history_sample_t *ccd_history_get(const ccd_history_t *h, size_t i);

/* The names sampled so far (at most CCD_HISTORY_NAMES), in order of appearance; name i's
 * method and name are valid as long as h. */
size_t ccd_history_names(const ccd_history_t *h);
void ccd_history_name(const ccd_history_t *h, size_t i, const char **method, const char **name);

/* The current p50, p95 and p99 (ms) of sampled name i at sample j, as the aggregated ones are
 * computed. Returns false (and NAN in ms) when that sample has none: the name had not appeared
 * yet, or no request of it arrived in the window. */
bool ccd_history_name_percentiles(const ccd_history_t *h, size_t i, size_t j, double ms[3]);

/* The current q-percentile (q in [0, 1]) of entry e (one of s's entries, or its total), in ms:
 * the ceil(q * n)-th smallest of the n requests counted since the snapshot nearest to
 * now - CCD_HISTORY_WINDOW, exact to the histogram bucket and clamped to e's [min, max].
 * Returns false (and 0 in *ms) when h is NULL, e is not tracked, no snapshot is within the slack,
 * or no request arrived in the window. */
bool ccd_history_current_percentile_ms(const ccd_history_t *h, const ccd_stats_entry_t *e, double q,
                                       double now, double *ms);

/* The samples as a JSON array of objects, oldest first: {"timestamp", "user_count",
 * "current_rps", "current_fail_per_sec", "response_time_percentile_50",
 * "response_time_percentile_95", "num_requests", "num_failures"} (times in ms; the percentile
 * names are those of Locust's web UI history). The caller owns the reference (json_decref).
 * Returns NULL when out of memory. */
json_t *ccd_history_to_json(const ccd_history_t *h);

#endif
