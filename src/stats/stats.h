/* Request statistics: entries per (method, name) plus an aggregated total, errors and script
 * exceptions. The same structure is a thread's delta report, the runner's merged view and
 * (encoded) a worker's stats message. */
#ifndef CCD_STATS_H
#define CCD_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "stats/hist.h"

/* Seconds of per-second request counts kept per entry (enough for Locust's current-RPS
 * window of [last-12, last-3]). */
#define CCD_STATS_SECONDS 20

typedef struct {
    char *method;          /* owned, NUL-terminated; "" for the aggregated entry */
    char *name;            /* owned, NUL-terminated; "Aggregated" for the total */
    uint64_t num_requests; /* failures included, as Locust */
    uint64_t num_failures;
    int64_t total_response_time_us;
    int64_t min_response_time_us; /* INT64_MAX while num_requests == 0 */
    int64_t max_response_time_us;
    uint64_t total_content_length;
    double start_time;             /* epoch seconds: when this entry began counting */
    double last_request_timestamp; /* epoch seconds of the newest request; 0 if none */
    int64_t sec_base;              /* newest epoch second in the rings, which hold the seconds
                                    * (sec_base - N, sec_base] */
    uint32_t reqs_per_sec[CCD_STATS_SECONDS]; /* ring indexed by epoch second % N */
    uint32_t fails_per_sec[CCD_STATS_SECONDS];
    ccd_hist_t hist; /* response times in microseconds */
} ccd_stats_entry_t;

typedef struct {
    char *method, *name, *error; /* owned */
    uint64_t occurrences;
} ccd_stats_error_t;

typedef struct {
    char *message, *traceback; /* owned */
    uint64_t count;
} ccd_stats_exception_t;

/* Requests of one (method, name) still in flight when their user was stopped for good: they
 * never completed, so they are neither requests nor failures of the entries. */
typedef struct {
    char *method, *name; /* owned */
    uint64_t count;
} ccd_stats_abandoned_t;

/* Generator errors: requests that could not be sent for a reason local to the machine running
 * cicada (no descriptor, port, buffer or memory for their connection). They are counted by
 * (method, name, error) in ccd_stats_error_t items of their own, never as requests or failures
 * of the entries: the target had no part in them. */

typedef struct ccd_stats ccd_stats_t;

/* The open model's schedule of one user class: arrivals due, started, dropped (the backlog was
 * full, or the run ended with them still waiting), and how late the starts were. Merging adds
 * the counts and takes the larger backlog high-water mark (each engine thread has a backlog of
 * its own, so it is the largest any one of them held). */
typedef struct {
    char *cls; /* owned: the class's name */
    uint64_t scheduled, started, dropped;
    uint64_t late;        /* starts later than the run's lateness bound */
    uint64_t backlog_max; /* the most arrivals waiting at once for a free user */
    ccd_hist_t lateness;  /* µs from the intended start to the actual start, of every start */
} ccd_stats_arrivals_t;

/* Creates empty statistics whose entries start counting at start_time (epoch seconds).
 * Returns NULL when out of memory. */
ccd_stats_t *ccd_stats_new(double start_time);
void ccd_stats_free(ccd_stats_t *s);

/* Records one request (the hot path: no allocation once the key and error were seen).
 * error is NULL for a success, else the failure text (copied on first sight). now is the
 * wall-clock time in epoch seconds, cached by the caller. Returns 0 or CCD_ENOMEM. */
int ccd_stats_record(ccd_stats_t *s, const char *method, size_t method_len, const char *name,
                     size_t name_len, int64_t response_time_us, uint64_t content_length,
                     const char *error, size_t error_len, double now);

/* Counts a script exception by (message, traceback). Returns 0 or CCD_ENOMEM. */
int ccd_stats_exception(ccd_stats_t *s, const char *message, const char *traceback);

/* Counts a request abandoned in flight (see ccd_stats_abandoned_t); the entries and their
 * totals are untouched. Returns 0 or CCD_ENOMEM. */
int ccd_stats_abandon(ccd_stats_t *s, const char *method, size_t method_len, const char *name,
                      size_t name_len);

/* Counts n generator errors (method, name, error), copied on first sight; the entries and
 * their totals are untouched. Returns 0 or CCD_ENOMEM. */
int ccd_stats_generator_error(ccd_stats_t *s, const char *method, size_t method_len,
                              const char *name, size_t name_len, const char *error,
                              size_t error_len, uint64_t n);

/* Adds everything in src to dst (counters and buckets added, min of mins, max of maxes,
 * errors, generator errors and exceptions by key). src is unchanged. Returns 0 or CCD_ENOMEM. */
int ccd_stats_merge(ccd_stats_t *dst, const ccd_stats_t *src);

/* Building statistics from what was counted elsewhere (a worker's report), field by field. */

/* Totals of one entry to add with ccd_stats_entry_add(); times in microseconds. */
typedef struct {
    uint64_t num_requests, num_failures;
    int64_t total_response_time_us;
    int64_t min_response_time_us; /* INT64_MAX: no response time counted */
    int64_t max_response_time_us;
    uint64_t total_content_length;
    double start_time;             /* epoch seconds; 0: unknown (the entry's stays) */
    double last_request_timestamp; /* epoch seconds; 0: none */
} ccd_stats_counts_t;

/* The entry (method, name) of s, created empty on first sight, for the caller to add to with
 * ccd_stats_entry_add(), ccd_stats_entry_add_second() and ccd_hist_record_n() on its hist.
 * s's aggregated total follows on its next read. The pointer is valid until the next call
 * that adds an entry to s. Returns NULL when out of memory. */
ccd_stats_entry_t *ccd_stats_entry(ccd_stats_t *s, const char *method, size_t method_len,
                                   const char *name, size_t name_len);
/* Adds c to e: counters and sums added (saturating), min of mins, max of maxes, the earlier
 * start, the later last request. The histogram and the per-second counts are the caller's. */
void ccd_stats_entry_add(ccd_stats_entry_t *e, const ccd_stats_counts_t *c);
/* Adds per-second request and failure counts at epoch second sec; as in recording, a second
 * older than the entry's per-second window counts only in the totals. */
void ccd_stats_entry_add_second(ccd_stats_entry_t *e, int64_t sec, uint32_t reqs, uint32_t fails);
/* Counts n occurrences of the error (method, name, error), copied on first sight. Returns 0 or
 * CCD_ENOMEM. */
int ccd_stats_error_add(ccd_stats_t *s, const char *method, size_t method_len, const char *name,
                        size_t name_len, const char *error, size_t error_len, uint64_t n);

/* The arrivals of class cls (NUL-terminated), created empty on first sight; valid until the
 * next call that adds a class to s. Returns NULL when out of memory. */
ccd_stats_arrivals_t *ccd_stats_arrivals(ccd_stats_t *s, const char *cls);
/* Classes with arrivals, in first-occurrence order. */
size_t ccd_stats_arrivals_count(const ccd_stats_t *s);
const ccd_stats_arrivals_t *ccd_stats_arrivals_get(const ccd_stats_t *s, size_t i);

/* The service times carried beside s: in the open model (and under a paced wait time) s holds
 * each request's response time from the intended start of its iteration, and these statistics
 * the time from the actual send. ccd_stats_service() creates them empty on first use (NULL:
 * out of memory); they are merged, reset and freed with s. ccd_stats_service_get() returns
 * NULL while none were recorded. */
ccd_stats_t *ccd_stats_service(ccd_stats_t *s);
const ccd_stats_t *ccd_stats_service_get(const ccd_stats_t *s);

/* Empties the statistics, keeping allocated memory for reuse; entries restart at start_time. */
void ccd_stats_reset(ccd_stats_t *s, double start_time);

/* Entries in (name, method) order, the aggregated entry excluded; the pointer is valid until
 * the next call that modifies s. */
size_t ccd_stats_count(const ccd_stats_t *s);
const ccd_stats_entry_t *ccd_stats_get(const ccd_stats_t *s, size_t i);
/* The aggregated entry: the sum of the entries. Recording leaves it behind and this call
 * brings it up to date (a pass over the entries after new records, nothing otherwise), so s
 * must not be read by one thread while another records into it. */
const ccd_stats_entry_t *ccd_stats_total(const ccd_stats_t *s);
size_t ccd_stats_error_count(const ccd_stats_t *s);
const ccd_stats_error_t *ccd_stats_error_get(const ccd_stats_t *s, size_t i);
size_t ccd_stats_exception_count(const ccd_stats_t *s);
const ccd_stats_exception_t *ccd_stats_exception_get(const ccd_stats_t *s, size_t i);
/* Abandoned requests by (method, name), in first-occurrence order, and their sum. */
size_t ccd_stats_abandoned_count(const ccd_stats_t *s);
const ccd_stats_abandoned_t *ccd_stats_abandoned_get(const ccd_stats_t *s, size_t i);
uint64_t ccd_stats_abandoned_total(const ccd_stats_t *s);
/* Generator errors in first-occurrence order, and their sum. */
size_t ccd_stats_generator_error_count(const ccd_stats_t *s);
const ccd_stats_error_t *ccd_stats_generator_error_get(const ccd_stats_t *s, size_t i);
uint64_t ccd_stats_generator_error_total(const ccd_stats_t *s);

/* Derived values, all times in milliseconds. */
double ccd_stats_avg_ms(const ccd_stats_entry_t *e);
double ccd_stats_min_ms(const ccd_stats_entry_t *e);
double ccd_stats_max_ms(const ccd_stats_entry_t *e);
/* q in [0, 1]; exact to the histogram bucket and clamped to [min, max]. */
double ccd_stats_percentile_ms(const ccd_stats_entry_t *e, double q);
double ccd_stats_avg_content_length(const ccd_stats_entry_t *e);
/* Requests (failures) per second over the entry's whole life, as Locust's total_rps:
 * num / (last_request_timestamp - start_time), 0 when either is 0 or the span is not positive.
 * (Locust divides by the span of all statistics; an entry's own span differs only for an
 * entry whose traffic stopped before the others'.) */
double ccd_stats_total_rps(const ccd_stats_entry_t *e);
double ccd_stats_total_fail_per_sec(const ccd_stats_entry_t *e);
/* Locust's current_rps: the average of per-second counts over the seconds
 * [max(now - 12, start_time), now - 3], where now is the reference time in epoch seconds.
 * Locust uses the newest request's time of all statistics (ccd_stats_total()'s
 * last_request_timestamp); the wall-clock time also lets the rate fall when responses stop.
 * Returns 0 when now <= 0. */
double ccd_stats_current_rps(const ccd_stats_entry_t *e, double now);
double ccd_stats_current_fail_per_sec(const ccd_stats_entry_t *e, double now);

#endif
