/* The statistics side of a run: merges the delta reports of whoever produces them (local
 * engine threads, or remote workers whose stats messages were decoded into ccd_stats_t), drops
 * those of an older generation (sent before a --reset-stats), keeps the per-second history and
 * the CSV files, prints the periodic console table and writes the final outputs. It knows
 * nothing of engines, loops or the network: the caller hands it deltas and ticks it (a master
 * decodes each worker's Locust `stats` message into a scratch ccd_stats_t and adds it with the
 * worker's number as producer). Not thread-safe: one thread owns a collector. */
#ifndef CCD_COLLECTOR_H
#define CCD_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "control/cli.h"
#include "control/final_report.h"
#include "stats/history.h"
#include "stats/stats.h"

typedef struct ccd_collector ccd_collector_t;

/* One delta report: what a producer counted since its previous report. Every counter is a
 * delta (Locust's stats payload has the same meaning); the collector adds them. */
typedef struct {
    const ccd_stats_t *stats; /* borrowed for the call; NULL: no statistics (users only) */
    long generation;          /* the statistics generation the producer counted in */
    int from;                 /* the producer: 0 <= from < nproducers (else its user count is
                               * ignored; its statistics are still merged) */
    unsigned user_count;      /* users the producer was running when it reported */
} ccd_collector_delta_t;

/* Creates a collector for nproducers producers, at generation 0, whose statistics start at
 * start_time (epoch seconds). o is borrowed and must outlive the collector: its CSV, HTML,
 * JSON and threshold options say what to write. With o->csv_prefix the CSV files are created
 * now. Returns 0, or a negative code with a one-line reason in err. */
int ccd_collector_new(ccd_collector_t **out, const ccd_options_t *o, unsigned nproducers,
                      double start_time, char *err, size_t errlen);
/* Closes the CSV files (when ccd_collector_finish() did not) and frees c (NULL is ignored). */
void ccd_collector_free(ccd_collector_t *c);

/* Adds a delta. The delta stays the caller's: after the call it may be reset and reused,
 * returned to its producer or freed. A delta of another generation than the current one holds
 * what a reset was meant to forget: it is dropped (its user count is still recorded).
 * Returns 0, 1 when dropped, or CCD_ENOMEM (the statistics may then be partly merged). */
int ccd_collector_add(ccd_collector_t *c, const ccd_collector_delta_t *d);

/* Empties the statistics and the history's window (the samples stay), entries restarting at
 * now (epoch seconds), and starts a new generation. Returns that generation: producers must
 * count in it from now on, or their deltas are dropped. */
long ccd_collector_reset(ccd_collector_t *c, double now);
long ccd_collector_generation(const ccd_collector_t *c);

/* Users running, as the producers last reported them (the sum over producers). */
unsigned ccd_collector_user_count(const ccd_collector_t *c);

/* Records the second now (epoch seconds) with user_count users: the history sample, then the
 * CSV files. Call once a second, after the deltas of that second. Errors are logged. */
void ccd_collector_tick(ccd_collector_t *c, unsigned user_count, double now);

/* Prints Locust's periodic console table with the rates current at now (epoch seconds). */
void ccd_collector_print(const ccd_collector_t *c, FILE *out, double now);

/* Writes everything a run leaves behind: a last history sample (0 users) and the CSV files
 * (then closed), the final console tables on stderr, the threshold results, the JSON and HTML
 * reports. Call once, after the last delta. Returns the number of threshold breaches (0 or
 * more), CCD_EREPORT when an output could not be written, or CCD_ENOMEM. */
int ccd_collector_finish(ccd_collector_t *c, const ccd_run_summary_t *run);

/* The merged statistics and the history; valid until the next call that changes c. */
const ccd_stats_t *ccd_collector_stats(const ccd_collector_t *c);
const ccd_history_t *ccd_collector_history(const ccd_collector_t *c);

#endif
