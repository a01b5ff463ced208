/* The statistics part of Locust's `stats` message (stats.py: serialize_stats, stats_total,
 * serialize_errors), to and from ccd_stats_t deltas. Units as Locust's: milliseconds, epoch
 * seconds, response times rounded into Locust's buckets. A cicada worker adds its exact
 * histogram under an extra entry field that Locust ignores ("cicada_hist", a map of bucket
 * value in microseconds to count); a cicada master uses it when present, else Locust's buckets. */
#ifndef CCD_STATS_WIRE_H
#define CCD_STATS_WIRE_H

#include <msgpack.h>
#include <stddef.h>

#include "stats/stats.h"

/* The users a worker runs, sent with each report (user_classes_count, user_count). */
typedef struct {
    const char *const *classes; /* class names */
    const unsigned *counts;     /* users of each */
    size_t nclasses;
    unsigned user_count;
} ccd_stats_wire_users_t;

/* Packs the data object of a `stats` message for the delta s: "stats" (every entry that
 * counted a request), "stats_total", "errors" (keyed by a hex digest of method, name and error,
 * as Locust), "user_classes_count" and "user_count" from u, and when s counted generator
 * errors, cicada's "cicada_generator_errors": [{"name","method","error","occurrences"}...];
 * in the open model "cicada_arrivals": [{"class", "scheduled", "started", "dropped", "late",
 * "backlog_max", "lateness": {µs: count}}...], and when service times were recorded
 * "cicada_service": their entries in the shape of "stats". A Locust master ignores these keys.
 * Returns 0 or CCD_ENOMEM. */
int ccd_stats_wire_pack(msgpack_packer *pk, const ccd_stats_t *s, const ccd_stats_wire_users_t *u);

/* Adds the statistics of a `stats` message's data (from a cicada worker or a Locust 2.x
 * worker, 2.12 included) to dst: entries by (method, name), errors and generator errors by
 * (method, name, error), a cicada worker's arrivals by class (counts added, the larger backlog
 * high-water mark) and service times into dst's (ccd_stats_service()).
 * "stats_total" is not read (dst's total is the sum of its entries). Unknown fields are
 * ignored. *user_count gets "user_count" (-1 when absent). Returns 0, CCD_ENOMEM, or
 * CCD_EPROTO with a one-line reason in err for a payload of the wrong shape (dst may then
 * hold the entries merged before the faulty one). */
int ccd_stats_wire_merge(ccd_stats_t *dst, const msgpack_object *data, long *user_count, char *err,
                         size_t errlen);

#endif
