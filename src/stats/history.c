/* Per-second samples and the snapshot rings behind current percentiles. */
#include "stats/history.h"
#include "base/buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/htab.h"
#include "base/slice.h"

/* A ring slot per second, indexed by epoch second: a tick overwrites the slot of the second
 * CCD_HISTORY_WINDOW + 1 seconds earlier, so the snapshot of now - CCD_HISTORY_WINDOW is still
 * there, and no more copies than that are ever held. */
#define SLOTS     (CCD_HISTORY_WINDOW + 1)
#define NO_SECOND INT64_MIN

typedef struct {
    uint64_t value, count;
} pair_t;

/* A sparse copy of a cumulative histogram: its non-empty buckets in increasing value order.
 * The buffer is kept when the slot is reused, so steady-state ticks do not allocate. */
typedef struct {
    int64_t second;
    uint64_t count;
    pair_t *pairs;
    size_t n, cap;
} snap_t;

/* The current p50, p95 and p99 of a named series at one sample, in ms (NAN: none). */
typedef float point_t[3];

typedef struct {
    char *method, *name;
    size_t method_len, name_len;
    snap_t ring[SLOTS];
    size_t first;    /* a named series: the index of the sample its first point belongs to */
    point_t *points; /* a named series: one per sample from `first` on */
    size_t npoints, cappoints;
} series_t;

struct ccd_history {
    bool per_entry;
    series_t **series;
    size_t nseries, capseries;
    series_t *named[CCD_HISTORY_NAMES]; /* the request names with points, in order of arrival */
    size_t nnamed;
    ccd_htab_t idx;
    ccd_history_sample_t *samples;
    size_t nsamples, capsamples;
};

typedef struct {
    const ccd_history_t *h;
    const char *method, *name;
    size_t method_len, name_len;
} series_key_t;

static bool series_eq(const void *ctx, uint32_t item)
{
    const series_key_t *k = ctx;
    const series_t *s = k->h->series[item];
    return ccd_slice_eq((ccd_slice_t){s->method, s->method_len},
                        (ccd_slice_t){k->method, k->method_len}) &&
           ccd_slice_eq((ccd_slice_t){s->name, s->name_len}, (ccd_slice_t){k->name, k->name_len});
}

static series_key_t entry_key(const ccd_history_t *h, const ccd_stats_entry_t *e)
{
    series_key_t k = {h, e->method ? e->method : "", e->name ? e->name : "", 0, 0};
    k.method_len = strlen(k.method);
    k.name_len = strlen(k.name);
    return k;
}

static uint64_t key_hash(const series_key_t *k)
{
    uint64_t hash = ccd_htab_hash(k->method, k->method_len, 0);
    return ccd_htab_hash(k->name, k->name_len + 1, hash); /* the NUL separates the fields */
}

static series_t *series_find(const ccd_history_t *h, const ccd_stats_entry_t *e)
{
    series_key_t k = entry_key(h, e);
    int64_t i = ccd_htab_find(&h->idx, key_hash(&k), series_eq, &k);
    return i < 0 ? NULL : h->series[i];
}

static series_t *series_new(const series_key_t *k)
{
    series_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->method = strndup(k->method, k->method_len);
    s->name = strndup(k->name, k->name_len);
    if (!s->method || !s->name) {
        free(s->method);
        free(s->name);
        free(s);
        return NULL;
    }
    s->method_len = k->method_len;
    s->name_len = k->name_len;
    for (int i = 0; i < SLOTS; i++)
        s->ring[i].second = NO_SECOND;
    return s;
}

static void series_free(series_t *s)
{
    for (int i = 0; i < SLOTS; i++)
        free(s->ring[i].pairs);
    free(s->points);
    free(s->method);
    free(s->name);
    free(s);
}

/* Finds or adds the series of entry e. Returns NULL when out of memory. */
static series_t *series_get(ccd_history_t *h, const ccd_stats_entry_t *e)
{
    series_t *found = series_find(h, e);
    if (found)
        return found;
    series_t **grown = ccd_array_grow(h->series, &h->capseries, h->nseries + 1, sizeof(*grown), 8);
    if (!grown)
        return NULL;
    h->series = grown;
    series_key_t k = entry_key(h, e);
    series_t *s = series_new(&k);
    if (!s)
        return NULL;
    if (ccd_htab_insert(&h->idx, key_hash(&k), (uint32_t)h->nseries)) {
        series_free(s);
        return NULL;
    }
    h->series[h->nseries++] = s;
    return s;
}

ccd_history_t *ccd_history_new(bool per_entry)
{
    ccd_history_t *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->per_entry = per_entry;
    ccd_htab_init(&h->idx);
    return h;
}

void ccd_history_free(ccd_history_t *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nseries; i++)
        series_free(h->series[i]);
    free(h->series);
    ccd_htab_destroy(&h->idx);
    free(h->samples);
    free(h);
}

/* Copies hist into the slot of `second`. On failure the slot is left empty. */
static int snap_take(series_t *s, const ccd_hist_t *hist, int64_t second)
{
    snap_t *sn = &s->ring[(uint64_t)second % SLOTS];
    ccd_hist_iter_t it;
    size_t n = 0;
    sn->second = NO_SECOND;
    for (ccd_hist_iter_init(&it, hist); ccd_hist_iter_next(&it);)
        n++;
    if (n > 0) {
        pair_t *p = ccd_array_grow(sn->pairs, &sn->cap, n, sizeof(*p), n);
        if (!p)
            return CCD_ENOMEM;
        sn->pairs = p;
    }
    sn->n = 0;
    for (ccd_hist_iter_init(&it, hist); ccd_hist_iter_next(&it);)
        sn->pairs[sn->n++] = (pair_t){it.value, it.count};
    sn->count = ccd_hist_count(hist);
    sn->second = second;
    return 0;
}

/* The snapshot to subtract at time t, in Locust's order of preference: t-10, t-11, t-9,
 * t-12, t-8, ... up to 8 seconds either way. */
static const snap_t *snap_pick(const series_t *s, int64_t t)
{
    int64_t ideal = t - CCD_HISTORY_WINDOW;
    for (int d = 0; d <= CCD_HISTORY_SLACK; d++) {
        for (int sign = -1; sign <= 1; sign += 2) {
            int64_t want = ideal + sign * d;
            const snap_t *sn = &s->ring[(uint64_t)want % SLOTS];
            if (want >= 0 && sn->second == want)
                return sn;
            if (d == 0)
                break;
        }
    }
    return NULL;
}

/* The value of the rank-th smallest sample of (hist - sn), as ccd_hist_value_at_quantile()
 * answers: the bucket's midpoint. Both walks run in increasing value order, and every bucket
 * of the older snapshot is also in the newer histogram (counts only grow). */
static int64_t diff_value_at_rank(const ccd_hist_t *hist, const snap_t *sn, uint64_t rank)
{
    ccd_hist_iter_t it;
    uint64_t seen = 0;
    size_t j = 0;
    for (ccd_hist_iter_init(&it, hist); ccd_hist_iter_next(&it);) {
        while (j < sn->n && sn->pairs[j].value < it.value)
            j++;
        uint64_t old = j < sn->n && sn->pairs[j].value == it.value ? sn->pairs[j].count : 0;
        seen += it.count > old ? it.count - old : 0;
        if (seen >= rank)
            return (int64_t)(it.value + ccd_hist_bucket_width((int64_t)it.value) / 2);
    }
    return 0;
}

static bool window_percentile(const series_t *s, const ccd_stats_entry_t *e, double q, double now,
                              double *ms)
{
    *ms = 0;
    const snap_t *sn = s ? snap_pick(s, (int64_t)floor(now)) : NULL;
    uint64_t count = ccd_hist_count(&e->hist);
    if (!sn || sn->count >= count) /* nothing new, or a reset made the snapshot stale */
        return false;
    uint64_t n = count - sn->count;
    double r = ceil(q * (double)n);
    uint64_t rank = r < 1 ? 1 : r > (double)n ? n : (uint64_t)r;
    int64_t v = diff_value_at_rank(&e->hist, sn, rank);
    if (v < e->min_response_time_us)
        v = e->min_response_time_us;
    if (v > e->max_response_time_us)
        v = e->max_response_time_us;
    *ms = v / 1000.0;
    return true;
}

bool ccd_history_current_percentile_ms(const ccd_history_t *h, const ccd_stats_entry_t *e, double q,
                                       double now, double *ms)
{
    return window_percentile(h ? series_find(h, e) : NULL, e, q, now, ms);
}

static ccd_history_sample_t *sample_slot(ccd_history_t *h, int64_t second)
{
    if (h->nsamples && h->samples[h->nsamples - 1].timestamp == second)
        return &h->samples[h->nsamples - 1];
    ccd_history_sample_t *p =
        ccd_array_grow(h->samples, &h->capsamples, h->nsamples + 1, sizeof(*p), 64);
    if (!p)
        return NULL;
    h->samples = p;
    return &h->samples[h->nsamples++];
}

static int track(ccd_history_t *h, const ccd_stats_entry_t *e, int64_t second)
{
    series_t *s = series_get(h, e);
    return s ? snap_take(s, &e->hist, second) : CCD_ENOMEM;
}

/* Stores the point of named series s for the last sample (its window is read before this
 * second's snapshot replaces anything); samples it missed (the entry was gone after a reset)
 * read as no value. */
static int add_point(ccd_history_t *h, series_t *s, const ccd_stats_entry_t *e, double now)
{
    size_t at = h->nsamples - 1 - s->first;
    point_t *p = ccd_array_grow(s->points, &s->cappoints, at + 1, sizeof(*p), 64);
    if (!p)
        return CCD_ENOMEM;
    s->points = p;
    for (; s->npoints < at; s->npoints++)
        p[s->npoints][0] = p[s->npoints][1] = p[s->npoints][2] = NAN;
    static const double q[3] = {0.5, 0.95, 0.99};
    for (int k = 0; k < 3; k++) {
        double ms;
        p[at][k] = window_percentile(s, e, q[k], now, &ms) ? (float)ms : NAN;
    }
    s->npoints = at + 1;
    return 0;
}

/* Keeps the window of entry e when every entry is tracked or e is one of the first
 * CCD_HISTORY_NAMES names, and the points of the latter. */
static int track_entry(ccd_history_t *h, const ccd_stats_entry_t *e, int64_t second, double now)
{
    series_t *s = series_find(h, e);
    bool named = false;
    for (size_t i = 0; s && i < h->nnamed && !named; i++)
        named = h->named[i] == s;
    if (!s && h->nnamed < CCD_HISTORY_NAMES) {
        if (!(s = series_get(h, e)))
            return CCD_ENOMEM;
        s->first = h->nsamples - 1;
        h->named[h->nnamed++] = s;
        named = true;
    }
    int rc = named ? add_point(h, s, e, now) : 0;
    return rc == 0 && (named || h->per_entry) ? track(h, e, second) : rc;
}

int ccd_history_tick(ccd_history_t *h, const ccd_stats_t *s, unsigned user_count, double now)
{
    const ccd_stats_entry_t *t = ccd_stats_total(s);
    int64_t second = (int64_t)floor(now);
    ccd_history_sample_t *smp = sample_slot(h, second);
    if (!smp)
        return CCD_ENOMEM;
    /* The window is read before this second's snapshot is stored (it never replaces the
     * snapshot of now - CCD_HISTORY_WINDOW, but a same-second re-tick would be subtracted). */
    *smp = (ccd_history_sample_t){.timestamp = second,
                                  .user_count = user_count,
                                  .current_rps = ccd_stats_current_rps(t, now),
                                  .current_fail_per_sec = ccd_stats_current_fail_per_sec(t, now),
                                  .num_requests = t->num_requests,
                                  .num_failures = t->num_failures};
    series_t *agg = series_find(h, t);
    window_percentile(agg, t, 0.5, now, &smp->current_p50_ms);
    window_percentile(agg, t, 0.95, now, &smp->current_p95_ms);
    window_percentile(agg, t, 0.99, now, &smp->current_p99_ms);
    int rc = track(h, t, second);
    for (size_t i = 0; rc == 0 && i < ccd_stats_count(s); i++)
        rc = track_entry(h, ccd_stats_get(s, i), second, now);
    return rc;
}

size_t ccd_history_names(const ccd_history_t *h)
{
    return h->nnamed;
}

void ccd_history_name(const ccd_history_t *h, size_t i, const char **method, const char **name)
{
    *method = h->named[i]->method;
    *name = h->named[i]->name;
}

bool ccd_history_name_percentiles(const ccd_history_t *h, size_t i, size_t j, double ms[3])
{
    const series_t *s = h->named[i];
    bool any = j >= s->first && j - s->first < s->npoints;
    for (int k = 0; k < 3; k++) {
        ms[k] = any ? s->points[j - s->first][k] : NAN;
        any = any && !isnan(ms[k]);
    }
    return any;
}

void ccd_history_reset_window(ccd_history_t *h)
{
    for (size_t i = 0; i < h->nseries; i++)
        for (int j = 0; j < SLOTS; j++)
            h->series[i]->ring[j].second = NO_SECOND;
}

size_t ccd_history_count(const ccd_history_t *h)
{
    return h->nsamples;
}

const ccd_history_sample_t *ccd_history_get(const ccd_history_t *h, size_t i)
{
    return i < h->nsamples ? &h->samples[i] : NULL;
}

json_t *ccd_history_to_json(const ccd_history_t *h)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < h->nsamples; i++) {
        const ccd_history_sample_t *x = &h->samples[i];
        json_t *o = json_pack(
            "{s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:I, s:I}", "timestamp", (json_int_t)x->timestamp,
            "user_count", (json_int_t)x->user_count, "current_rps", x->current_rps,
            "current_fail_per_sec", x->current_fail_per_sec, "response_time_percentile_50",
            x->current_p50_ms, "response_time_percentile_95", x->current_p95_ms,
            "response_time_percentile_99", x->current_p99_ms, "num_requests",
            (json_int_t)x->num_requests, "num_failures", (json_int_t)x->num_failures);
        if (json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}
