/* Locust's serialised statistics entries (--json, --json-file; a worker's stats message). */
#include "report/locust_json.h"

#include <inttypes.h>
#include <math.h>

#include "base/error.h"
#include "report/report.h"

long ccd_locust_json_bucket(double ms)
{
    /* Python's round() rounds halves to even, as nearbyint() in the default rounding mode. */
    double unit = ms < 100 ? 1 : ms < 1000 ? 10 : ms < 10000 ? 100 : 1000;
    return (long)(nearbyint(ms / unit) * unit);
}

static json_t *jreal(double x)
{
    return json_real(isfinite(x) ? x : 0);
}

/* Adds n to obj[key] (an integer, created at 0). */
static int add_count(json_t *obj, const char *key, json_int_t n)
{
    json_t *v = json_object_get(obj, key);
    if (v)
        return json_integer_set(v, json_integer_value(v) + n);
    return json_object_set_new(obj, key, json_integer(n));
}

/* Each histogram bucket counts under the Locust bucket of its midpoint (the value
 * ccd_hist_value_at_quantile() reports for it). */
static json_t *response_times(const ccd_stats_entry_t *e)
{
    json_t *o = json_object();
    ccd_hist_iter_t it;
    ccd_hist_iter_init(&it, &e->hist);
    while (o && ccd_hist_iter_next(&it)) {
        int64_t v = (int64_t)it.value;
        double us = (double)v + (double)(ccd_hist_bucket_width(v) / 2);
        char key[32];
        snprintf(key, sizeof(key), "%ld", ccd_locust_json_bucket(us / 1000));
        if (add_count(o, key, (json_int_t)it.count)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* The non-zero seconds of a per-second ring, oldest first. */
static json_t *per_second(const ccd_stats_entry_t *e, const uint32_t *ring)
{
    json_t *o = json_object();
    for (int64_t t = e->sec_base - CCD_STATS_SECONDS + 1; o && e->sec_base && t <= e->sec_base;
         t++) {
        uint32_t n =
            ring[(size_t)(((t % CCD_STATS_SECONDS) + CCD_STATS_SECONDS) % CCD_STATS_SECONDS)];
        char key[32];
        snprintf(key, sizeof(key), "%" PRId64, t);
        if (n && json_object_set_new(o, key, json_integer(n))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* A time in ms, or null for an entry without requests (Locust's None). */
static json_t *ms_or_null(const ccd_stats_entry_t *e, double ms)
{
    return e->num_requests ? jreal(ms) : json_null();
}

json_t *ccd_locust_json_entry(const ccd_stats_entry_t *e)
{
    /* "o" steals each reference; a NULL value makes json_pack fail and release the others. */
    return json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}",
                     "name", e->name, "method", e->method, "last_request_timestamp",
                     e->last_request_timestamp > 0 ? jreal(e->last_request_timestamp) : json_null(),
                     "start_time", jreal(e->start_time), "num_requests",
                     (json_int_t)e->num_requests, "num_none_requests", (json_int_t)0,
                     "num_failures", (json_int_t)e->num_failures, "total_response_time",
                     jreal((double)e->total_response_time_us / 1000), "max_response_time",
                     jreal(e->num_requests ? ccd_stats_max_ms(e) : 0), "min_response_time",
                     ms_or_null(e, ccd_stats_min_ms(e)), "total_content_length",
                     (json_int_t)e->total_content_length, "response_times", response_times(e),
                     "num_reqs_per_sec", per_second(e, e->reqs_per_sec), "num_fail_per_sec",
                     per_second(e, e->fails_per_sec), "response_time_percentiles",
                     ccd_report_percentiles_json(e));
}

json_t *ccd_locust_json_entries(const ccd_stats_t *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ccd_stats_count(s); i++) {
        const ccd_stats_entry_t *e = ccd_stats_get(s, i);
        if (!e->num_requests && !e->num_failures)
            continue;
        if (json_array_append_new(a, ccd_locust_json_entry(e))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int ccd_locust_json_write(FILE *out, const ccd_stats_t *s)
{
    json_t *a = ccd_locust_json_entries(s);
    if (!a)
        return CCD_ENOMEM;
    int rc =
        json_dumpf(a, out, JSON_INDENT(4) | JSON_REAL_PRECISION(15)) == 0 && fputc('\n', out) != EOF
            ? 0
            : -EIO;
    json_decref(a);
    return rc;
}
