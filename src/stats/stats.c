/* Request statistics: keyed entries, the aggregated total, errors and exceptions. */
#include "stats/stats.h"
#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/htab.h"
#include "base/slice.h"

/* A growable array of pointers. */
typedef struct {
    void **v;
    size_t n, cap;
} vec_t;

/* The public entry comes first so that a pointer to one is a pointer to the other. */
typedef struct {
    ccd_stats_entry_t e;
    size_t method_len, name_len;
} entry_item_t;

typedef struct {
    ccd_stats_error_t e;
    size_t method_len, name_len, error_len;
} error_item_t;

/* Items are kept across resets (their counts zeroed) so that a key seen once never allocates
 * again; `live` lists the items counted since the last reset, in first-occurrence order, and
 * its capacity always covers every item so appending to it cannot fail. */
typedef struct {
    vec_t items;
    vec_t live;
    ccd_htab_t idx;
} keyed_t;

/* The aggregated entry is the sum of the entries. Recording a request updates only its entry
 * (one histogram per request, not two); `unfolded` then says that the total lags behind, and
 * fold_total() recomputes it from the entries when it is read or merged, about once a second. */
struct ccd_stats {
    double start_time;
    entry_item_t total;
    bool unfolded;
    vec_t entries; /* insertion order: the item numbers of `entry_idx` */
    vec_t order;   /* the same entries sorted by (name, method) */
    ccd_htab_t entry_idx;
    keyed_t errors;
    keyed_t exceptions;
    keyed_t abandoned;
    vec_t arrivals;       /* ccd_stats_arrivals_t *, a few classes: searched by name */
    ccd_stats_t *service; /* NULL until the first service time */
    keyed_t generator;    /* generator errors: error_item_t, as the errors */
};

/* A key being looked up: up to three byte strings. */
typedef struct {
    const vec_t *items;
    const char *p[3];
    size_t len[3];
} lookup_t;

static int vec_reserve(vec_t *v, size_t n)
{
    void **p = ccd_array_grow(v->v, &v->cap, n, sizeof(*p), 8);
    if (!p)
        return CCD_ENOMEM;
    v->v = p;
    return 0;
}

static uint64_t key_hash(const lookup_t *k, int nfields)
{
    uint64_t h = 0;
    for (int i = 0; i < nfields; i++)
        h = ccd_htab_hash(k->p[i], k->len[i], h);
    return h;
}

static bool bytes_eq(const char *s, size_t slen, const char *p, size_t plen)
{
    return ccd_slice_eq((ccd_slice_t){s, slen}, (ccd_slice_t){p, plen});
}

static char *dup_bytes(const char *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, p, len);
        s[len] = '\0';
    }
    return s;
}

/* Sums of counts that arrive from other processes (ccd_stats_entry_add()) saturate rather
 * than wrap: a report is input, and a signed overflow would be undefined. */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Response times are never negative, so the sum saturates only upwards. */
static int64_t add_sat_us(int64_t a, int64_t b)
{
    if (b < 0)
        b = 0;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* ---- per-second ring ---- */

static size_t ring_slot(int64_t sec)
{
    return (size_t)(((sec % CCD_STATS_SECONDS) + CCD_STATS_SECONDS) % CCD_STATS_SECONDS);
}

/* The ring holds the seconds (sec_base - N, sec_base]. */
static bool ring_holds(const ccd_stats_entry_t *e, int64_t sec)
{
    return sec <= e->sec_base && sec > e->sec_base - CCD_STATS_SECONDS;
}

static void ring_advance(ccd_stats_entry_t *e, int64_t sec)
{
    if (sec <= e->sec_base)
        return;
    if (sec - e->sec_base >= CCD_STATS_SECONDS) {
        memset(e->reqs_per_sec, 0, sizeof(e->reqs_per_sec));
        memset(e->fails_per_sec, 0, sizeof(e->fails_per_sec));
    } else {
        for (int64_t t = e->sec_base + 1; t <= sec; t++) {
            e->reqs_per_sec[ring_slot(t)] = 0;
            e->fails_per_sec[ring_slot(t)] = 0;
        }
    }
    e->sec_base = sec;
}

/* Seconds older than the ring (a wall clock stepping back) stay out of the per-second counts;
 * the totals still include them. */
static void ring_add(ccd_stats_entry_t *e, int64_t sec, uint32_t reqs, uint32_t fails)
{
    ring_advance(e, sec);
    if (!ring_holds(e, sec))
        return;
    e->reqs_per_sec[ring_slot(sec)] += reqs;
    e->fails_per_sec[ring_slot(sec)] += fails;
}

static uint32_t ring_get(const ccd_stats_entry_t *e, const uint32_t *ring, int64_t sec)
{
    return ring_holds(e, sec) ? ring[ring_slot(sec)] : 0;
}

/* ---- entries ---- */

static void entry_reset(ccd_stats_entry_t *e, double start_time)
{
    e->num_requests = 0;
    e->num_failures = 0;
    e->total_response_time_us = 0;
    e->min_response_time_us = INT64_MAX;
    e->max_response_time_us = 0;
    e->total_content_length = 0;
    e->start_time = start_time;
    e->last_request_timestamp = 0;
    e->sec_base = 0;
    memset(e->reqs_per_sec, 0, sizeof(e->reqs_per_sec));
    memset(e->fails_per_sec, 0, sizeof(e->fails_per_sec));
    ccd_hist_reset(&e->hist);
}

static void entry_init(ccd_stats_entry_t *e, char *method, char *name, double start_time)
{
    memset(e, 0, sizeof(*e));
    e->method = method;
    e->name = name;
    ccd_hist_init(&e->hist);
    entry_reset(e, start_time);
}

static void entry_free(entry_item_t *it)
{
    free(it->e.method);
    free(it->e.name);
    ccd_hist_destroy(&it->e.hist);
    free(it);
}

/* The histogram band must already exist (ccd_hist_reserve) so this cannot fail. */
static void entry_log(ccd_stats_entry_t *e, int64_t rt_us, uint64_t content_length, bool failed,
                      double now)
{
    if (rt_us < 0)
        rt_us = 0;
    e->num_requests++;
    e->num_failures += failed;
    e->total_response_time_us += rt_us;
    if (rt_us < e->min_response_time_us)
        e->min_response_time_us = rt_us;
    if (rt_us > e->max_response_time_us)
        e->max_response_time_us = rt_us;
    e->total_content_length += content_length;
    if (now > e->last_request_timestamp)
        e->last_request_timestamp = now;
    ring_add(e, (int64_t)now, 1, failed);
    ccd_hist_record(&e->hist, rt_us);
}

static void ring_merge(ccd_stats_entry_t *dst, const ccd_stats_entry_t *src)
{
    for (int64_t t = src->sec_base - CCD_STATS_SECONDS + 1; t <= src->sec_base; t++) {
        uint32_t r = ring_get(src, src->reqs_per_sec, t), f = ring_get(src, src->fails_per_sec, t);
        if (r || f)
            ring_add(dst, t, r, f);
    }
}

static int entry_merge(ccd_stats_entry_t *dst, const ccd_stats_entry_t *src)
{
    int rc = ccd_hist_merge(&dst->hist, &src->hist);
    if (rc)
        return rc;
    dst->num_requests += src->num_requests;
    dst->num_failures += src->num_failures;
    dst->total_response_time_us =
        add_sat_us(dst->total_response_time_us, src->total_response_time_us);
    if (src->min_response_time_us < dst->min_response_time_us)
        dst->min_response_time_us = src->min_response_time_us;
    if (src->max_response_time_us > dst->max_response_time_us)
        dst->max_response_time_us = src->max_response_time_us;
    dst->total_content_length += src->total_content_length;
    if (src->start_time < dst->start_time)
        dst->start_time = src->start_time;
    if (src->last_request_timestamp > dst->last_request_timestamp)
        dst->last_request_timestamp = src->last_request_timestamp;
    ring_merge(dst, src);
    return 0;
}

static bool entry_eq(const void *ctx, uint32_t item)
{
    const lookup_t *k = ctx;
    const entry_item_t *it = k->items->v[item];
    return bytes_eq(it->e.method, it->method_len, k->p[0], k->len[0]) &&
           bytes_eq(it->e.name, it->name_len, k->p[1], k->len[1]);
}

static int entry_cmp(const ccd_stats_entry_t *a, const ccd_stats_entry_t *b)
{
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->method, b->method);
}

/* New keys are rare (first sight of a request name), so the sorted order is kept up to date
 * here rather than sorted on read: readers then need no mutable cache behind a const pointer. */
static void order_insert(vec_t *order, entry_item_t *it)
{
    size_t lo = 0, hi = order->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (entry_cmp(order->v[mid], &it->e) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&order->v[lo + 1], &order->v[lo], (order->n - lo) * sizeof(void *));
    order->v[lo] = it;
    order->n++;
}

static entry_item_t *entry_new(const lookup_t *k, double start_time)
{
    entry_item_t *it = calloc(1, sizeof(*it));
    char *method = dup_bytes(k->p[0], k->len[0]), *name = dup_bytes(k->p[1], k->len[1]);
    if (!it || !method || !name) {
        free(it);
        free(method);
        free(name);
        return NULL;
    }
    entry_init(&it->e, method, name, start_time);
    it->method_len = k->len[0];
    it->name_len = k->len[1];
    return it;
}

static entry_item_t *entry_add(ccd_stats_t *s, const lookup_t *k, uint64_t hash)
{
    if (vec_reserve(&s->entries, s->entries.n + 1) || vec_reserve(&s->order, s->entries.n + 1))
        return NULL;
    entry_item_t *it = entry_new(k, s->start_time);
    if (!it)
        return NULL;
    if (ccd_htab_insert(&s->entry_idx, hash, (uint32_t)s->entries.n)) {
        entry_free(it);
        return NULL;
    }
    s->entries.v[s->entries.n++] = it;
    order_insert(&s->order, it);
    return it;
}

static ccd_stats_entry_t *entry_get(ccd_stats_t *s, const char *method, size_t method_len,
                                    const char *name, size_t name_len)
{
    lookup_t k = {&s->entries, {method, name, NULL}, {method_len, name_len, 0}};
    uint64_t hash = key_hash(&k, 2);
    int64_t i = ccd_htab_find(&s->entry_idx, hash, entry_eq, &k);
    if (i >= 0)
        return s->entries.v[i];
    entry_item_t *it = entry_add(s, &k, hash);
    return it ? &it->e : NULL;
}

/* Brings the aggregated entry up to date (see struct ccd_stats). It cannot fail for requests
 * recorded here, whose histogram bands were reserved in the total as they were recorded;
 * CCD_ENOMEM is possible only for entries merged in since. */
static int fold_total(ccd_stats_t *s)
{
    if (!s->unfolded)
        return 0;
    entry_reset(&s->total.e, s->start_time);
    for (size_t i = 0; i < s->entries.n; i++) {
        const entry_item_t *it = s->entries.v[i];
        if (it->e.num_requests && entry_merge(&s->total.e, &it->e))
            return CCD_ENOMEM;
    }
    s->unfolded = false;
    return 0;
}

/* ---- keyed tables (errors, exceptions) ---- */

static void keyed_free(keyed_t *t, void (*free_item)(void *))
{
    for (size_t i = 0; i < t->items.n; i++)
        free_item(t->items.v[i]);
    free(t->items.v);
    free(t->live.v);
    ccd_htab_destroy(&t->idx);
}

/* Adds a new item; on failure the caller frees it. */
static int keyed_add(keyed_t *t, void *item, uint64_t hash)
{
    if (vec_reserve(&t->items, t->items.n + 1) || vec_reserve(&t->live, t->items.n + 1))
        return CCD_ENOMEM;
    int rc = ccd_htab_insert(&t->idx, hash, (uint32_t)t->items.n);
    if (rc)
        return rc;
    t->items.v[t->items.n++] = item;
    return 0;
}

/* Counts n occurrences; an item counted for the first time since the reset becomes live. */
static void keyed_count(keyed_t *t, void *item, uint64_t *counter, uint64_t n)
{
    if (*counter == 0 && n)
        t->live.v[t->live.n++] = item;
    *counter += n;
}

static void error_free(void *p)
{
    error_item_t *it = p;
    free(it->e.method);
    free(it->e.name);
    free(it->e.error);
    free(it);
}

static bool error_eq(const void *ctx, uint32_t item)
{
    const lookup_t *k = ctx;
    const error_item_t *it = k->items->v[item];
    return bytes_eq(it->e.method, it->method_len, k->p[0], k->len[0]) &&
           bytes_eq(it->e.name, it->name_len, k->p[1], k->len[1]) &&
           bytes_eq(it->e.error, it->error_len, k->p[2], k->len[2]);
}

static error_item_t *error_new(const lookup_t *k)
{
    error_item_t *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->e.method = dup_bytes(k->p[0], k->len[0]);
    it->e.name = dup_bytes(k->p[1], k->len[1]);
    it->e.error = dup_bytes(k->p[2], k->len[2]);
    if (!it->e.method || !it->e.name || !it->e.error) {
        error_free(it);
        return NULL;
    }
    it->method_len = k->len[0];
    it->name_len = k->len[1];
    it->error_len = k->len[2];
    return it;
}

/* The error (k's method, name, error) of t, counted or not: errors and generator errors. */
static ccd_stats_error_t *error_get(keyed_t *t, lookup_t *k)
{
    k->items = &t->items;
    uint64_t hash = key_hash(k, 3);
    int64_t i = ccd_htab_find(&t->idx, hash, error_eq, k);
    if (i >= 0)
        return t->items.v[i];
    error_item_t *it = error_new(k);
    if (it && keyed_add(t, it, hash)) {
        error_free(it);
        it = NULL;
    }
    return it ? &it->e : NULL;
}

static void exception_free(void *p)
{
    ccd_stats_exception_t *x = p;
    free(x->message);
    free(x->traceback);
    free(x);
}

static bool exception_eq(const void *ctx, uint32_t item)
{
    const lookup_t *k = ctx;
    const ccd_stats_exception_t *x = k->items->v[item];
    return strcmp(x->message, k->p[0]) == 0 && strcmp(x->traceback, k->p[1]) == 0;
}

static ccd_stats_exception_t *exception_new(const lookup_t *k)
{
    ccd_stats_exception_t *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->message = dup_bytes(k->p[0], k->len[0]);
    x->traceback = dup_bytes(k->p[1], k->len[1]);
    if (!x->message || !x->traceback) {
        exception_free(x);
        return NULL;
    }
    return x;
}

static ccd_stats_exception_t *exception_get(ccd_stats_t *s, const char *message,
                                            const char *traceback)
{
    message = message ? message : "";
    traceback = traceback ? traceback : "";
    lookup_t k = {
        &s->exceptions.items, {message, traceback, NULL}, {strlen(message), strlen(traceback), 0}};
    uint64_t hash = key_hash(&k, 2);
    int64_t i = ccd_htab_find(&s->exceptions.idx, hash, exception_eq, &k);
    if (i >= 0)
        return s->exceptions.items.v[i];
    ccd_stats_exception_t *x = exception_new(&k);
    if (x && keyed_add(&s->exceptions, x, hash)) {
        exception_free(x);
        x = NULL;
    }
    return x;
}

typedef struct {
    ccd_stats_abandoned_t e;
    size_t method_len, name_len;
} abandoned_item_t;

static void abandoned_free(void *p)
{
    abandoned_item_t *it = p;
    free(it->e.method);
    free(it->e.name);
    free(it);
}

static bool abandoned_eq(const void *ctx, uint32_t item)
{
    const lookup_t *k = ctx;
    const abandoned_item_t *it = k->items->v[item];
    return bytes_eq(it->e.method, it->method_len, k->p[0], k->len[0]) &&
           bytes_eq(it->e.name, it->name_len, k->p[1], k->len[1]);
}

static abandoned_item_t *abandoned_new(const lookup_t *k)
{
    abandoned_item_t *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->e.method = dup_bytes(k->p[0], k->len[0]);
    it->e.name = dup_bytes(k->p[1], k->len[1]);
    if (!it->e.method || !it->e.name) {
        abandoned_free(it);
        return NULL;
    }
    it->method_len = k->len[0];
    it->name_len = k->len[1];
    return it;
}

static ccd_stats_abandoned_t *abandoned_get(ccd_stats_t *s, const char *method, size_t method_len,
                                            const char *name, size_t name_len)
{
    lookup_t k = {&s->abandoned.items, {method, name, NULL}, {method_len, name_len, 0}};
    uint64_t hash = key_hash(&k, 2);
    int64_t i = ccd_htab_find(&s->abandoned.idx, hash, abandoned_eq, &k);
    if (i >= 0)
        return s->abandoned.items.v[i];
    abandoned_item_t *it = abandoned_new(&k);
    if (it && keyed_add(&s->abandoned, it, hash)) {
        abandoned_free(it);
        it = NULL;
    }
    return it ? &it->e : NULL;
}

/* ---- the public API ---- */

ccd_stats_t *ccd_stats_new(double start_time)
{
    ccd_stats_t *s = calloc(1, sizeof(*s));
    char *method = strdup(""), *name = strdup("Aggregated");
    if (!s || !method || !name) {
        free(s);
        free(method);
        free(name);
        return NULL;
    }
    s->start_time = start_time;
    entry_init(&s->total.e, method, name, start_time);
    s->total.name_len = strlen(name);
    return s;
}

void ccd_stats_free(ccd_stats_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->entries.n; i++)
        entry_free(s->entries.v[i]);
    free(s->entries.v);
    free(s->order.v);
    ccd_htab_destroy(&s->entry_idx);
    keyed_free(&s->errors, error_free);
    keyed_free(&s->exceptions, exception_free);
    keyed_free(&s->abandoned, abandoned_free);
    for (size_t i = 0; i < s->arrivals.n; i++) {
        ccd_stats_arrivals_t *a = s->arrivals.v[i];
        ccd_hist_destroy(&a->lateness);
        free(a->cls);
        free(a);
    }
    free(s->arrivals.v);
    ccd_stats_free(s->service);
    keyed_free(&s->generator, error_free);
    free(s->total.e.method);
    free(s->total.e.name);
    ccd_hist_destroy(&s->total.e.hist);
    free(s);
}

/* Everything that can fail happens before the first counter changes, so a failed call
 * leaves the statistics as they were (apart from an empty new entry). */
int ccd_stats_record(ccd_stats_t *s, const char *method, size_t method_len, const char *name,
                     size_t name_len, int64_t response_time_us, uint64_t content_length,
                     const char *error, size_t error_len, double now)
{
    ccd_stats_entry_t *e = entry_get(s, method, method_len, name, name_len);
    if (!e)
        return CCD_ENOMEM;
    ccd_stats_error_t *err = NULL;
    if (error) {
        lookup_t k = {NULL, {method, name, error}, {method_len, name_len, error_len}};
        if (!(err = error_get(&s->errors, &k)))
            return CCD_ENOMEM;
    }
    if (ccd_hist_reserve(&e->hist, response_time_us) ||
        ccd_hist_reserve(&s->total.e.hist, response_time_us))
        return CCD_ENOMEM;
    entry_log(e, response_time_us, content_length, err != NULL, now);
    s->unfolded = true;
    if (err)
        keyed_count(&s->errors, err, &err->occurrences, 1);
    return 0;
}

int ccd_stats_exception(ccd_stats_t *s, const char *message, const char *traceback)
{
    ccd_stats_exception_t *x = exception_get(s, message, traceback);
    if (!x)
        return CCD_ENOMEM;
    keyed_count(&s->exceptions, x, &x->count, 1);
    return 0;
}

int ccd_stats_abandon(ccd_stats_t *s, const char *method, size_t method_len, const char *name,
                      size_t name_len)
{
    ccd_stats_abandoned_t *a = abandoned_get(s, method, method_len, name, name_len);
    if (!a)
        return CCD_ENOMEM;
    keyed_count(&s->abandoned, a, &a->count, 1);
    return 0;
}

int ccd_stats_generator_error(ccd_stats_t *s, const char *method, size_t method_len,
                              const char *name, size_t name_len, const char *error,
                              size_t error_len, uint64_t n)
{
    lookup_t k = {NULL, {method, name, error}, {method_len, name_len, error_len}};
    ccd_stats_error_t *g = error_get(&s->generator, &k);
    if (!g)
        return CCD_ENOMEM;
    keyed_count(&s->generator, g, &g->occurrences, n);
    return 0;
}

ccd_stats_entry_t *ccd_stats_entry(ccd_stats_t *s, const char *method, size_t method_len,
                                   const char *name, size_t name_len)
{
    ccd_stats_entry_t *e = entry_get(s, method, method_len, name, name_len);
    if (e)
        s->unfolded = true;
    return e;
}

void ccd_stats_entry_add(ccd_stats_entry_t *e, const ccd_stats_counts_t *c)
{
    e->num_requests = add_sat(e->num_requests, c->num_requests);
    e->num_failures = add_sat(e->num_failures, c->num_failures);
    e->total_response_time_us = add_sat_us(e->total_response_time_us, c->total_response_time_us);
    if (c->min_response_time_us < e->min_response_time_us)
        e->min_response_time_us = c->min_response_time_us < 0 ? 0 : c->min_response_time_us;
    if (c->max_response_time_us > e->max_response_time_us)
        e->max_response_time_us = c->max_response_time_us;
    e->total_content_length = add_sat(e->total_content_length, c->total_content_length);
    if (c->start_time > 0 && c->start_time < e->start_time)
        e->start_time = c->start_time;
    if (c->last_request_timestamp > e->last_request_timestamp)
        e->last_request_timestamp = c->last_request_timestamp;
}

void ccd_stats_entry_add_second(ccd_stats_entry_t *e, int64_t sec, uint32_t reqs, uint32_t fails)
{
    if (reqs || fails)
        ring_add(e, sec, reqs, fails);
}

int ccd_stats_error_add(ccd_stats_t *s, const char *method, size_t method_len, const char *name,
                        size_t name_len, const char *error, size_t error_len, uint64_t n)
{
    lookup_t k = {NULL, {method, name, error}, {method_len, name_len, error_len}};
    ccd_stats_error_t *err = error_get(&s->errors, &k);
    if (!err)
        return CCD_ENOMEM;
    keyed_count(&s->errors, err, &err->occurrences, n);
    return 0;
}

/* Adds src's entries to dst's, and to dst's total when src's own total lags behind (a
 * thread's delta, only recorded into, always does). */
static int merge_entries(ccd_stats_t *dst, const ccd_stats_t *src)
{
    for (size_t i = 0; i < src->entries.n; i++) {
        const entry_item_t *it = src->entries.v[i];
        if (it->e.num_requests == 0)
            continue;
        ccd_stats_entry_t *e =
            entry_get(dst, it->e.method, it->method_len, it->e.name, it->name_len);
        if (!e || entry_merge(e, &it->e))
            return CCD_ENOMEM;
        if (src->unfolded && entry_merge(&dst->total.e, &it->e))
            return CCD_ENOMEM;
    }
    return 0;
}

static int merge_errors(keyed_t *dst, const keyed_t *src)
{
    for (size_t i = 0; i < src->live.n; i++) {
        const error_item_t *it = src->live.v[i];
        lookup_t k = {NULL,
                      {it->e.method, it->e.name, it->e.error},
                      {it->method_len, it->name_len, it->error_len}};
        ccd_stats_error_t *err = error_get(dst, &k);
        if (!err)
            return CCD_ENOMEM;
        keyed_count(dst, err, &err->occurrences, it->e.occurrences);
    }
    return 0;
}

static int merge_exceptions(ccd_stats_t *dst, const ccd_stats_t *src)
{
    for (size_t i = 0; i < src->exceptions.live.n; i++) {
        const ccd_stats_exception_t *sx = src->exceptions.live.v[i];
        ccd_stats_exception_t *x = exception_get(dst, sx->message, sx->traceback);
        if (!x)
            return CCD_ENOMEM;
        keyed_count(&dst->exceptions, x, &x->count, sx->count);
    }
    return 0;
}

static int merge_abandoned(ccd_stats_t *dst, const ccd_stats_t *src)
{
    for (size_t i = 0; i < src->abandoned.live.n; i++) {
        const abandoned_item_t *it = src->abandoned.live.v[i];
        ccd_stats_abandoned_t *a =
            abandoned_get(dst, it->e.method, it->method_len, it->e.name, it->name_len);
        if (!a)
            return CCD_ENOMEM;
        keyed_count(&dst->abandoned, a, &a->count, it->e.count);
    }
    return 0;
}

static int merge_arrivals(ccd_stats_t *dst, const ccd_stats_t *src)
{
    for (size_t i = 0; i < src->arrivals.n; i++) {
        const ccd_stats_arrivals_t *a = src->arrivals.v[i];
        ccd_stats_arrivals_t *d = ccd_stats_arrivals(dst, a->cls);
        if (!d || ccd_hist_merge(&d->lateness, &a->lateness))
            return CCD_ENOMEM;
        d->scheduled = add_sat(d->scheduled, a->scheduled);
        d->started = add_sat(d->started, a->started);
        d->dropped = add_sat(d->dropped, a->dropped);
        d->late = add_sat(d->late, a->late);
        if (a->backlog_max > d->backlog_max)
            d->backlog_max = a->backlog_max;
    }
    return 0;
}

int ccd_stats_merge(ccd_stats_t *dst, const ccd_stats_t *src)
{
    int rc = fold_total(dst);
    if (!rc)
        rc = merge_entries(dst, src);
    if (!rc && !src->unfolded && src->total.e.num_requests)
        rc = entry_merge(&dst->total.e, &src->total.e);
    if (!rc)
        rc = merge_errors(&dst->errors, &src->errors);
    if (!rc)
        rc = merge_errors(&dst->generator, &src->generator);
    if (!rc)
        rc = merge_exceptions(dst, src);
    if (!rc)
        rc = merge_abandoned(dst, src);
    if (!rc)
        rc = merge_arrivals(dst, src);
    if (!rc && src->service)
        rc = ccd_stats_service(dst) ? ccd_stats_merge(dst->service, src->service) : CCD_ENOMEM;
    return rc;
}

static void keyed_reset(keyed_t *t, size_t counter_offset)
{
    for (size_t i = 0; i < t->live.n; i++)
        *(uint64_t *)((char *)t->live.v[i] + counter_offset) = 0;
    t->live.n = 0;
}

void ccd_stats_reset(ccd_stats_t *s, double start_time)
{
    s->start_time = start_time;
    for (size_t i = 0; i < s->entries.n; i++)
        entry_reset(s->entries.v[i], start_time);
    entry_reset(&s->total.e, start_time);
    s->unfolded = false;
    keyed_reset(&s->errors, offsetof(error_item_t, e.occurrences));
    keyed_reset(&s->exceptions, offsetof(ccd_stats_exception_t, count));
    keyed_reset(&s->abandoned, offsetof(abandoned_item_t, e.count));
    for (size_t i = 0; i < s->arrivals.n; i++) {
        ccd_stats_arrivals_t *a = s->arrivals.v[i];
        a->scheduled = a->started = a->dropped = a->late = a->backlog_max = 0;
        ccd_hist_reset(&a->lateness);
    }
    if (s->service)
        ccd_stats_reset(s->service, start_time);
    keyed_reset(&s->generator, offsetof(error_item_t, e.occurrences));
}

ccd_stats_arrivals_t *ccd_stats_arrivals(ccd_stats_t *s, const char *cls)
{
    for (size_t i = 0; i < s->arrivals.n; i++) {
        ccd_stats_arrivals_t *a = s->arrivals.v[i];
        if (strcmp(a->cls, cls) == 0)
            return a;
    }
    if (vec_reserve(&s->arrivals, s->arrivals.n + 1))
        return NULL;
    ccd_stats_arrivals_t *a = calloc(1, sizeof(*a));
    if (!a || !(a->cls = strdup(cls))) {
        free(a);
        return NULL;
    }
    ccd_hist_init(&a->lateness);
    s->arrivals.v[s->arrivals.n++] = a;
    return a;
}

size_t ccd_stats_arrivals_count(const ccd_stats_t *s)
{
    return s->arrivals.n;
}

const ccd_stats_arrivals_t *ccd_stats_arrivals_get(const ccd_stats_t *s, size_t i)
{
    return s->arrivals.v[i];
}

ccd_stats_t *ccd_stats_service(ccd_stats_t *s)
{
    if (!s->service)
        s->service = ccd_stats_new(s->start_time);
    return s->service;
}

const ccd_stats_t *ccd_stats_service_get(const ccd_stats_t *s)
{
    return s->service;
}

size_t ccd_stats_count(const ccd_stats_t *s)
{
    return s->order.n;
}

const ccd_stats_entry_t *ccd_stats_get(const ccd_stats_t *s, size_t i)
{
    return i < s->order.n ? s->order.v[i] : NULL;
}

const ccd_stats_entry_t *ccd_stats_total(const ccd_stats_t *s)
{
    /* The total is a cache of the entries' sum, filled on read: every ccd_stats_t comes from
     * ccd_stats_new(), never from a const definition, so writing through the cast is sound. */
    fold_total((ccd_stats_t *)s);
    return &s->total.e;
}

size_t ccd_stats_error_count(const ccd_stats_t *s)
{
    return s->errors.live.n;
}

const ccd_stats_error_t *ccd_stats_error_get(const ccd_stats_t *s, size_t i)
{
    return i < s->errors.live.n ? s->errors.live.v[i] : NULL;
}

size_t ccd_stats_exception_count(const ccd_stats_t *s)
{
    return s->exceptions.live.n;
}

const ccd_stats_exception_t *ccd_stats_exception_get(const ccd_stats_t *s, size_t i)
{
    return i < s->exceptions.live.n ? s->exceptions.live.v[i] : NULL;
}

size_t ccd_stats_abandoned_count(const ccd_stats_t *s)
{
    return s->abandoned.live.n;
}

const ccd_stats_abandoned_t *ccd_stats_abandoned_get(const ccd_stats_t *s, size_t i)
{
    return i < s->abandoned.live.n ? s->abandoned.live.v[i] : NULL;
}

uint64_t ccd_stats_abandoned_total(const ccd_stats_t *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->abandoned.live.n; i++)
        n += ((const abandoned_item_t *)s->abandoned.live.v[i])->e.count;
    return n;
}

size_t ccd_stats_generator_error_count(const ccd_stats_t *s)
{
    return s->generator.live.n;
}

const ccd_stats_error_t *ccd_stats_generator_error_get(const ccd_stats_t *s, size_t i)
{
    return i < s->generator.live.n ? s->generator.live.v[i] : NULL;
}

uint64_t ccd_stats_generator_error_total(const ccd_stats_t *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->generator.live.n; i++)
        n += ((const error_item_t *)s->generator.live.v[i])->e.occurrences;
    return n;
}

/* ---- derived values ---- */

double ccd_stats_avg_ms(const ccd_stats_entry_t *e)
{
    return e->num_requests ? (double)e->total_response_time_us / e->num_requests / 1000.0 : 0;
}

double ccd_stats_min_ms(const ccd_stats_entry_t *e)
{
    return e->num_requests ? e->min_response_time_us / 1000.0 : 0;
}

double ccd_stats_max_ms(const ccd_stats_entry_t *e)
{
    return e->num_requests ? e->max_response_time_us / 1000.0 : 0;
}

/* The first and last samples are known exactly (min and max); in between the bucket's
 * midpoint is clamped so that min <= every percentile <= max. */
double ccd_stats_percentile_ms(const ccd_stats_entry_t *e, double q)
{
    if (e->num_requests == 0)
        return 0;
    if (!(q > 0))
        return ccd_stats_min_ms(e);
    if (q >= 1)
        return ccd_stats_max_ms(e);
    int64_t v = ccd_hist_value_at_quantile(&e->hist, q);
    if (v < e->min_response_time_us)
        v = e->min_response_time_us;
    if (v > e->max_response_time_us)
        v = e->max_response_time_us;
    return v / 1000.0;
}

double ccd_stats_avg_content_length(const ccd_stats_entry_t *e)
{
    return e->num_requests ? (double)e->total_content_length / e->num_requests : 0;
}

/* Locust returns 0 without a request or a start time, and on a zero duration; a negative
 * duration (a wall clock stepping back) also gives 0 here. */
static double rate(uint64_t n, const ccd_stats_entry_t *e)
{
    double d = e->last_request_timestamp - e->start_time;
    if (e->last_request_timestamp == 0 || e->start_time == 0 || !(d > 0))
        return 0;
    return n / d;
}

double ccd_stats_total_rps(const ccd_stats_entry_t *e)
{
    return rate(e->num_requests, e);
}

double ccd_stats_total_fail_per_sec(const ccd_stats_entry_t *e)
{
    return rate(e->num_failures, e);
}

/* Locust averages the seconds [max(last - 12, start), last - 3], missing seconds counting 0;
 * an empty range gives 0. */
static double window_avg(const ccd_stats_entry_t *e, const uint32_t *ring, double now)
{
    if (!(now > 0))
        return 0;
    int64_t last = (int64_t)now, from = last - 12, to = last - 2;
    if ((int64_t)e->start_time > from)
        from = (int64_t)e->start_time;
    if (to <= from)
        return 0;
    uint64_t sum = 0;
    for (int64_t t = from; t < to; t++)
        sum += ring_get(e, ring, t);
    return (double)sum / (double)(to - from);
}

double ccd_stats_current_rps(const ccd_stats_entry_t *e, double now)
{
    return window_avg(e, e->reqs_per_sec, now);
}

double ccd_stats_current_fail_per_sec(const ccd_stats_entry_t *e, double now)
{
    return window_avg(e, e->fails_per_sec, now);
}
