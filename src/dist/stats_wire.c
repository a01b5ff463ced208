/* Locust's `stats` payload to and from ccd_stats_t deltas. Field names and units follow
 * Locust's stats.py (StatsEntryDict, StatsErrorDict, serialize_errors) in 2.12 and later. */
#include "dist/stats_wire.h"

#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "dist/wire.h"
#include "stats/hist.h"

/* ---- packing ---- */

/* msgpack-c's pack functions return 0 or -1 (the write callback's refusal); `bad` collects
 * them so that one check at the end tells whether the payload is whole. */
static int pack_str(msgpack_packer *pk, const char *s)
{
    if (!s)
        return msgpack_pack_nil(pk);
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

static int pack_ms(msgpack_packer *pk, int64_t us)
{
    return msgpack_pack_double(pk, (double)us / 1000.0);
}

/* Locust's bucket for a response time in ms (stats.py, _log_response_time in 2.12,
 * bucket_response_time later): whole ms below 100, then tens, hundreds and thousands of ms.
 * Python's round() rounds halves to even, as nearbyint() in the default rounding mode. */
static int64_t locust_bucket(double ms)
{
    if (ms < 100)
        return (int64_t)nearbyint(ms);
    if (ms < 1000)
        return (int64_t)nearbyint(ms / 10) * 10;
    if (ms < 10000)
        return (int64_t)nearbyint(ms / 100) * 100;
    return (int64_t)nearbyint(ms / 1000) * 1000;
}

/* The Locust bucket of a histogram bucket: that of the mean of the whole microseconds it
 * holds (exact in the first band, where a bucket is one microsecond). */
static int64_t hist_to_locust(uint64_t lowest)
{
    uint64_t w = ccd_hist_bucket_width((int64_t)lowest);
    return locust_bucket(((double)lowest + (double)(w - 1) / 2.0) / 1000.0);
}

/* Locust's rounding is monotonic, so the histogram's buckets, walked in increasing order, map
 * to Locust's buckets in runs: one pass counts the runs (the map's size), a second packs them. */
static int pack_response_times(msgpack_packer *pk, const ccd_hist_t *h)
{
    ccd_hist_iter_t it;
    size_t n = 0;
    int64_t prev = -1;
    for (ccd_hist_iter_init(&it, h); ccd_hist_iter_next(&it);) {
        int64_t b = hist_to_locust(it.value);
        n += b != prev;
        prev = b;
    }
    int bad = msgpack_pack_map(pk, n);
    uint64_t count = 0;
    prev = -1;
    for (ccd_hist_iter_init(&it, h); ccd_hist_iter_next(&it);) {
        int64_t b = hist_to_locust(it.value);
        if (b != prev && prev >= 0)
            bad |= msgpack_pack_int64(pk, prev) | msgpack_pack_uint64(pk, count), count = 0;
        prev = b;
        count += it.count;
    }
    if (prev >= 0)
        bad |= msgpack_pack_int64(pk, prev) | msgpack_pack_uint64(pk, count);
    return bad;
}

static int pack_hist(msgpack_packer *pk, const ccd_hist_t *h)
{
    ccd_hist_iter_t it;
    size_t n = 0;
    for (ccd_hist_iter_init(&it, h); ccd_hist_iter_next(&it);)
        n++;
    int bad = msgpack_pack_map(pk, n);
    for (ccd_hist_iter_init(&it, h); ccd_hist_iter_next(&it);)
        bad |= msgpack_pack_uint64(pk, it.value) | msgpack_pack_uint64(pk, it.count);
    return bad;
}

/* The entry's per-second ring (stats.h: slot sec % N, holding (sec_base - N, sec_base]) as
 * {epoch second: count}, the seconds with a count only. */
static int pack_seconds(msgpack_packer *pk, const ccd_stats_entry_t *e, const uint32_t *ring)
{
    int64_t first = e->sec_base - CCD_STATS_SECONDS + 1;
    size_t n = 0;
    for (int64_t t = first; t <= e->sec_base; t++)
        n += t >= 0 && ring[t % CCD_STATS_SECONDS] != 0;
    int bad = msgpack_pack_map(pk, n);
    for (int64_t t = first; t <= e->sec_base; t++) {
        if (t >= 0 && ring[t % CCD_STATS_SECONDS])
            bad |= msgpack_pack_int64(pk, t) | msgpack_pack_uint32(pk, ring[t % CCD_STATS_SECONDS]);
    }
    return bad;
}

/* One StatsEntryDict. The aggregated entry goes with method nil, as Locust's. */
static int pack_entry(msgpack_packer *pk, const ccd_stats_entry_t *e, bool total)
{
    int bad = msgpack_pack_map(pk, 15);
    bad |= pack_str(pk, "name") | pack_str(pk, e->name);
    bad |= pack_str(pk, "method") | pack_str(pk, total ? NULL : e->method);
    bad |= pack_str(pk, "last_request_timestamp");
    bad |= e->last_request_timestamp > 0 ? msgpack_pack_double(pk, e->last_request_timestamp)
                                         : msgpack_pack_nil(pk);
    bad |= pack_str(pk, "start_time") | msgpack_pack_double(pk, e->start_time);
    bad |= pack_str(pk, "num_requests") | msgpack_pack_uint64(pk, e->num_requests);
    bad |= pack_str(pk, "num_none_requests") | msgpack_pack_uint64(pk, 0);
    bad |= pack_str(pk, "num_failures") | msgpack_pack_uint64(pk, e->num_failures);
    bad |= pack_str(pk, "total_response_time") | pack_ms(pk, e->total_response_time_us);
    bad |= pack_str(pk, "max_response_time") | pack_ms(pk, e->max_response_time_us);
    bad |= pack_str(pk, "min_response_time");
    bad |= e->num_requests ? pack_ms(pk, e->min_response_time_us) : msgpack_pack_nil(pk);
    bad |= pack_str(pk, "total_content_length") | msgpack_pack_uint64(pk, e->total_content_length);
    bad |= pack_str(pk, "response_times") | pack_response_times(pk, &e->hist);
    bad |= pack_str(pk, "num_reqs_per_sec") | pack_seconds(pk, e, e->reqs_per_sec);
    bad |= pack_str(pk, "num_fail_per_sec") | pack_seconds(pk, e, e->fails_per_sec);
    bad |= pack_str(pk, "cicada_hist") | pack_hist(pk, &e->hist);
    return bad;
}

/* Python's repr() of a str, as StatsError.create_key() quotes the error: single quotes unless
 * the text holds one and no double quote; backslash escapes for the quote, the backslash,
 * \t \n \r and other control characters. Characters beyond ASCII are kept as they are (Python
 * escapes the few non-printable ones). */
static void digest_repr(EVP_MD_CTX *ctx, const char *s)
{
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    char buf[256];
    size_t n = 0;
    buf[n++] = q;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (n > sizeof(buf) - 8) {
            EVP_DigestUpdate(ctx, buf, n);
            n = 0;
        }
        if (*p == q || *p == '\\')
            n += (size_t)sprintf(buf + n, "\\%c", *p);
        else if (*p == '\t' || *p == '\n' || *p == '\r')
            n += (size_t)sprintf(buf + n, "\\%c", *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r');
        else if (*p < 0x20 || *p == 0x7f)
            n += (size_t)sprintf(buf + n, "\\x%02x", *p);
        else
            buf[n++] = (char)*p;
    }
    buf[n++] = q;
    EVP_DigestUpdate(ctx, buf, n);
}

/* Locust's error key: the SHA-256 of "method.name.repr(error)" in hex (StatsError.create_key
 * of a str error). Returns 0 or CCD_ENOMEM. */
static int error_key(const ccd_stats_error_t *e, char hex[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    if (ok) {
        EVP_DigestUpdate(ctx, e->method, strlen(e->method));
        EVP_DigestUpdate(ctx, ".", 1);
        EVP_DigestUpdate(ctx, e->name, strlen(e->name));
        EVP_DigestUpdate(ctx, ".", 1);
        digest_repr(ctx, e->error);
        ok = EVP_DigestFinal_ex(ctx, md, &mdlen);
    }
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return CCD_ENOMEM;
    for (unsigned i = 0; i < mdlen && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static int pack_errors(msgpack_packer *pk, const ccd_stats_t *s)
{
    size_t n = ccd_stats_error_count(s);
    int bad = msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
        const ccd_stats_error_t *e = ccd_stats_error_get(s, i);
        char key[65];
        if (error_key(e, key))
            return -1;
        bad |= pack_str(pk, key) | msgpack_pack_map(pk, 4);
        bad |= pack_str(pk, "name") | pack_str(pk, e->name);
        bad |= pack_str(pk, "method") | pack_str(pk, e->method);
        bad |= pack_str(pk, "error") | pack_str(pk, e->error);
        bad |= pack_str(pk, "occurrences") | msgpack_pack_uint64(pk, e->occurrences);
    }
    return bad;
}

/* cicada's own key, sent only when there are some: the generator errors as an array of
 * {name, method, error, occurrences} (a Locust master ignores it). */
static int pack_generator_errors(msgpack_packer *pk, const ccd_stats_t *s)
{
    size_t n = ccd_stats_generator_error_count(s);
    int bad = pack_str(pk, "cicada_generator_errors") | msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        const ccd_stats_error_t *e = ccd_stats_generator_error_get(s, i);
        bad |= msgpack_pack_map(pk, 4);
        bad |= pack_str(pk, "name") | pack_str(pk, e->name);
        bad |= pack_str(pk, "method") | pack_str(pk, e->method);
        bad |= pack_str(pk, "error") | pack_str(pk, e->error);
        bad |= pack_str(pk, "occurrences") | msgpack_pack_uint64(pk, e->occurrences);
    }
    return bad;
}

/* cicada's own key, sent only in the open model: each class's arrivals as {class, scheduled,
 * started, dropped, late, backlog_max, lateness: {µs: count}} (a Locust master ignores it). */
static int pack_arrivals(msgpack_packer *pk, const ccd_stats_t *s)
{
    size_t n = ccd_stats_arrivals_count(s);
    int bad = pack_str(pk, "cicada_arrivals") | msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        const ccd_stats_arrivals_t *a = ccd_stats_arrivals_get(s, i);
        bad |= msgpack_pack_map(pk, 7);
        bad |= pack_str(pk, "class") | pack_str(pk, a->cls);
        bad |= pack_str(pk, "scheduled") | msgpack_pack_uint64(pk, a->scheduled);
        bad |= pack_str(pk, "started") | msgpack_pack_uint64(pk, a->started);
        bad |= pack_str(pk, "dropped") | msgpack_pack_uint64(pk, a->dropped);
        bad |= pack_str(pk, "late") | msgpack_pack_uint64(pk, a->late);
        bad |= pack_str(pk, "backlog_max") | msgpack_pack_uint64(pk, a->backlog_max);
        bad |= pack_str(pk, "lateness") | pack_hist(pk, &a->lateness);
    }
    return bad;
}

/* cicada's own key, sent only when service times were recorded (the open model, paced waits):
 * their entries in the shape of "stats". */
static int pack_service(msgpack_packer *pk, const ccd_stats_t *service)
{
    size_t n = 0;
    for (size_t i = 0; i < ccd_stats_count(service); i++)
        n += ccd_stats_get(service, i)->num_requests > 0;
    int bad = pack_str(pk, "cicada_service") | msgpack_pack_array(pk, n);
    for (size_t i = 0; i < ccd_stats_count(service); i++) {
        const ccd_stats_entry_t *e = ccd_stats_get(service, i);
        if (e->num_requests > 0)
            bad |= pack_entry(pk, e, false);
    }
    return bad;
}

static int pack_users(msgpack_packer *pk, const ccd_stats_wire_users_t *u)
{
    size_t n = u ? u->nclasses : 0;
    int bad = pack_str(pk, "user_classes_count") | msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++)
        bad |= pack_str(pk, u->classes[i]) | msgpack_pack_unsigned_int(pk, u->counts[i]);
    bad |= pack_str(pk, "user_count") | msgpack_pack_unsigned_int(pk, u ? u->user_count : 0);
    return bad;
}

int ccd_stats_wire_pack(msgpack_packer *pk, const ccd_stats_t *s, const ccd_stats_wire_users_t *u)
{
    size_t n = 0;
    for (size_t i = 0; i < ccd_stats_count(s); i++)
        n += ccd_stats_get(s, i)->num_requests > 0;
    bool generator = ccd_stats_generator_error_count(s) > 0;
    bool arrivals = ccd_stats_arrivals_count(s) > 0;
    const ccd_stats_t *service = ccd_stats_service_get(s);
    int bad = msgpack_pack_map(pk, 5 + generator + arrivals + (service != NULL));
    bad |= pack_str(pk, "stats") | msgpack_pack_array(pk, n);
    for (size_t i = 0; i < ccd_stats_count(s); i++) {
        const ccd_stats_entry_t *e = ccd_stats_get(s, i);
        if (e->num_requests > 0)
            bad |= pack_entry(pk, e, false);
    }
    bad |= pack_str(pk, "stats_total") | pack_entry(pk, ccd_stats_total(s), true);
    bad |= pack_str(pk, "errors") | pack_errors(pk, s);
    if (generator)
        bad |= pack_generator_errors(pk, s);
    if (arrivals)
        bad |= pack_arrivals(pk, s);
    if (service)
        bad |= pack_service(pk, service);
    bad |= pack_users(pk, u);
    return bad ? CCD_ENOMEM : 0;
}

/* ---- merging ---- */

/* Epoch seconds accepted as per-second keys: up to about year 5000. */
#define MAX_EPOCH 1e11

/* One decoded StatsEntryDict, checked whole before anything is added. */
typedef struct {
    const char *method, *name;
    size_t method_len, name_len;
    ccd_stats_counts_t c;
    const msgpack_object *hist;  /* cicada_hist, preferred */
    const msgpack_object *times; /* response_times */
    const msgpack_object *reqs, *fails;
} wire_entry_t;

static bool is_nil(const msgpack_object *o)
{
    return !o || o->type == MSGPACK_OBJECT_NIL;
}

/* Milliseconds (Locust's unit) to microseconds, saturating at the top. */
static int64_t ms_to_us(double ms)
{
    double us = ms * 1000.0;
    return us >= 9.2e18 ? INT64_MAX : (int64_t)llround(us);
}

/* An optional count (absent or nil: 0). */
static bool opt_count(const msgpack_object *map, const char *key, uint64_t *v)
{
    const msgpack_object *o = ccd_wire_get(map, key);
    *v = 0;
    return is_nil(o) || ccd_wire_uint(o, v);
}

/* An optional non-negative time in ms (absent: 0; nil: *nil set). */
static bool opt_ms(const msgpack_object *map, const char *key, int64_t *us, bool *nil)
{
    const msgpack_object *o = ccd_wire_get(map, key);
    double ms = 0;
    *us = 0;
    if (nil)
        *nil = o && o->type == MSGPACK_OBJECT_NIL;
    if (is_nil(o))
        return true;
    if (!ccd_wire_num(o, &ms) || !(ms >= 0))
        return false;
    *us = ms_to_us(ms);
    return true;
}

/* An optional epoch time in seconds (absent or nil: 0). */
static bool opt_epoch(const msgpack_object *map, const char *key, double *t)
{
    const msgpack_object *o = ccd_wire_get(map, key);
    *t = 0;
    if (is_nil(o))
        return true;
    return ccd_wire_num(o, t) && *t >= 0 && *t <= MAX_EPOCH;
}

/* An optional map (absent or nil: NULL). */
static bool opt_map(const msgpack_object *map, const char *key, const msgpack_object **out)
{
    const msgpack_object *o = ccd_wire_get(map, key);
    *out = is_nil(o) ? NULL : o;
    return is_nil(o) || o->type == MSGPACK_OBJECT_MAP;
}

/* A histogram map's pair: a non-negative number key (ms or us) and a count. */
static bool hist_pair(const msgpack_object_kv *kv, double *key, uint64_t *n)
{
    return ccd_wire_key_num(&kv->key, key) && *key >= 0 && isfinite(*key) &&
           ccd_wire_uint(&kv->val, n);
}

/* A per-second map's pair: an epoch second and a count that fits the entry's rings. */
static bool second_pair(const msgpack_object_kv *kv, int64_t *sec, uint32_t *n)
{
    double k;
    uint64_t v;
    if (!ccd_wire_key_num(&kv->key, &k) || !(k >= 0 && k <= MAX_EPOCH) ||
        !ccd_wire_uint(&kv->val, &v) || v > UINT32_MAX)
        return false;
    *sec = (int64_t)k;
    *n = (uint32_t)v;
    return true;
}

static bool check_hist(const msgpack_object *m)
{
    double k;
    uint64_t n;
    for (uint32_t i = 0; m && i < m->via.map.size; i++)
        if (!hist_pair(&m->via.map.ptr[i], &k, &n))
            return false;
    return true;
}

static bool check_seconds(const msgpack_object *m)
{
    int64_t sec;
    uint32_t n;
    for (uint32_t i = 0; m && i < m->via.map.size; i++)
        if (!second_pair(&m->via.map.ptr[i], &sec, &n))
            return false;
    return true;
}

/* The name and method of an entry or error (method nil: ""). */
static bool key_strings(const msgpack_object *o, const char **method, size_t *method_len,
                        const char **name, size_t *name_len)
{
    const msgpack_object *m = ccd_wire_get(o, "method");
    *method = "";
    *method_len = 0;
    return ccd_wire_str(ccd_wire_get(o, "name"), name, name_len) &&
           (is_nil(m) || ccd_wire_str(m, method, method_len));
}

/* Reads and checks one entry; a bad field is named in err. */
static int read_entry(const msgpack_object *o, wire_entry_t *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof(*w));
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return ccd_wire_fail(err, errlen, "a stats entry is not a map");
    if (!key_strings(o, &w->method, &w->method_len, &w->name, &w->name_len))
        return ccd_wire_fail(err, errlen, "a stats entry has no name or method string");
    ccd_stats_counts_t *c = &w->c;
    bool min_nil = false;
    const char *bad = NULL;
    if (!opt_count(o, "num_requests", &c->num_requests))
        bad = "num_requests";
    else if (!opt_count(o, "num_failures", &c->num_failures))
        bad = "num_failures";
    else if (!opt_count(o, "total_content_length", &c->total_content_length))
        bad = "total_content_length";
    else if (!opt_ms(o, "total_response_time", &c->total_response_time_us, NULL))
        bad = "total_response_time";
    else if (!opt_ms(o, "max_response_time", &c->max_response_time_us, NULL))
        bad = "max_response_time";
    else if (!opt_ms(o, "min_response_time", &c->min_response_time_us, &min_nil))
        bad = "min_response_time";
    else if (!opt_epoch(o, "start_time", &c->start_time))
        bad = "start_time";
    else if (!opt_epoch(o, "last_request_timestamp", &c->last_request_timestamp))
        bad = "last_request_timestamp";
    else if (!opt_map(o, "cicada_hist", &w->hist) || !check_hist(w->hist))
        bad = "cicada_hist";
    else if (!opt_map(o, "response_times", &w->times) || !check_hist(w->times))
        bad = "response_times";
    else if (!opt_map(o, "num_reqs_per_sec", &w->reqs) || !check_seconds(w->reqs))
        bad = "num_reqs_per_sec";
    else if (!opt_map(o, "num_fail_per_sec", &w->fails) || !check_seconds(w->fails))
        bad = "num_fail_per_sec";
    if (bad)
        return ccd_wire_fail(err, errlen, "stats entry \"%.*s\": bad %s",
                             (int)(w->name_len < 80 ? w->name_len : 80), w->name, bad);
    /* Locust's min is None when no request had a response time (num_none_requests only). */
    if (min_nil || c->num_requests == 0)
        c->min_response_time_us = c->num_requests ? c->max_response_time_us : INT64_MAX;
    return 0;
}

/* Adds a histogram map: cicada_hist keys are microseconds, response_times keys Locust's ms. */
static int add_hist(ccd_hist_t *h, const msgpack_object *m, double scale)
{
    for (uint32_t i = 0; m && i < m->via.map.size; i++) {
        double k = 0;
        uint64_t n = 0;
        hist_pair(&m->via.map.ptr[i], &k, &n);
        int64_t us = scale == 1 ? (k >= 9.2e18 ? INT64_MAX : (int64_t)k) : ms_to_us(k);
        if (n && ccd_hist_record_n(h, us, n))
            return CCD_ENOMEM;
    }
    return 0;
}

static void add_seconds(ccd_stats_entry_t *e, const msgpack_object *m, bool fails)
{
    for (uint32_t i = 0; m && i < m->via.map.size; i++) {
        int64_t sec = 0;
        uint32_t n = 0;
        second_pair(&m->via.map.ptr[i], &sec, &n);
        ccd_stats_entry_add_second(e, sec, fails ? 0 : n, fails ? n : 0);
    }
}

static int add_entry(ccd_stats_t *dst, const wire_entry_t *w)
{
    ccd_stats_entry_t *e = ccd_stats_entry(dst, w->method, w->method_len, w->name, w->name_len);
    if (!e)
        return CCD_ENOMEM;
    int rc = w->hist ? add_hist(&e->hist, w->hist, 1) : add_hist(&e->hist, w->times, 1000);
    if (rc)
        return rc;
    ccd_stats_entry_add(e, &w->c);
    add_seconds(e, w->reqs, false);
    add_seconds(e, w->fails, true);
    return 0;
}

static int merge_entries(ccd_stats_t *dst, const msgpack_object *stats, char *err, size_t errlen)
{
    if (is_nil(stats))
        return 0;
    if (stats->type != MSGPACK_OBJECT_ARRAY)
        return ccd_wire_fail(err, errlen, "\"stats\" is not an array");
    for (uint32_t i = 0; i < stats->via.array.size; i++) {
        wire_entry_t w;
        int rc = read_entry(&stats->via.array.ptr[i], &w, err, errlen);
        if (!rc && w.c.num_requests > 0)
            rc = add_entry(dst, &w);
        if (rc)
            return rc;
    }
    return 0;
}

/* One StatsErrorDict; Locust 2.12 sends the error's repr(), later versions its text, and
 * newer ones also first_seen and last_seen, which are not kept. A generator error has the
 * same fields. */
static int merge_error(ccd_stats_t *dst, const msgpack_object *o, bool generator, char *err,
                       size_t errlen)
{
    const char *method, *name, *error = "";
    size_t method_len, name_len, error_len = 0;
    uint64_t n;
    const msgpack_object *eo = ccd_wire_get(o, "error");
    if (!o || o->type != MSGPACK_OBJECT_MAP ||
        !key_strings(o, &method, &method_len, &name, &name_len) ||
        !(is_nil(eo) || ccd_wire_str(eo, &error, &error_len)) ||
        !ccd_wire_uint(ccd_wire_get(o, "occurrences"), &n))
        return ccd_wire_fail(err, errlen,
                             "an error is not a map of name, method, error, occurrences");
    if (n == 0)
        return 0;
    return generator
               ? ccd_stats_generator_error(dst, method, method_len, name, name_len, error,
                                           error_len, n)
               : ccd_stats_error_add(dst, method, method_len, name, name_len, error, error_len, n);
}

static int merge_errors(ccd_stats_t *dst, const msgpack_object *errors, char *err, size_t errlen)
{
    if (is_nil(errors))
        return 0;
    if (errors->type != MSGPACK_OBJECT_MAP)
        return ccd_wire_fail(err, errlen, "\"errors\" is not a map");
    for (uint32_t i = 0; i < errors->via.map.size; i++) {
        int rc = merge_error(dst, &errors->via.map.ptr[i].val, false, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static int merge_generator_errors(ccd_stats_t *dst, const msgpack_object *a, char *err,
                                  size_t errlen)
{
    if (is_nil(a))
        return 0;
    if (a->type != MSGPACK_OBJECT_ARRAY)
        return ccd_wire_fail(err, errlen, "\"cicada_generator_errors\" is not an array");
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        int rc = merge_error(dst, &a->via.array.ptr[i], true, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

/* One class's arrivals, checked whole before anything is added. */
static int merge_arrival(ccd_stats_t *dst, const msgpack_object *o, char *err, size_t errlen)
{
    const char *cls;
    size_t cls_len;
    uint64_t v[5];
    static const char *const keys[5] = {"scheduled", "started", "dropped", "late", "backlog_max"};
    const msgpack_object *lateness = NULL;
    bool ok = o && o->type == MSGPACK_OBJECT_MAP &&
              ccd_wire_str(ccd_wire_get(o, "class"), &cls, &cls_len) && cls_len > 0 &&
              opt_map(o, "lateness", &lateness) && check_hist(lateness);
    for (size_t i = 0; ok && i < 5; i++)
        ok = opt_count(o, keys[i], &v[i]);
    if (!ok)
        return ccd_wire_fail(err, errlen,
                             "an arrivals item is not a map of class, counts and lateness");
    char *name = strndup(cls, cls_len);
    ccd_stats_arrivals_t *a = name ? ccd_stats_arrivals(dst, name) : NULL;
    free(name);
    if (!a || add_hist(&a->lateness, lateness, 1))
        return CCD_ENOMEM;
    a->scheduled += v[0];
    a->started += v[1];
    a->dropped += v[2];
    a->late += v[3];
    if (v[4] > a->backlog_max)
        a->backlog_max = v[4];
    return 0;
}

static int merge_arrivals(ccd_stats_t *dst, const msgpack_object *a, char *err, size_t errlen)
{
    if (is_nil(a))
        return 0;
    if (a->type != MSGPACK_OBJECT_ARRAY)
        return ccd_wire_fail(err, errlen, "\"cicada_arrivals\" is not an array");
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        int rc = merge_arrival(dst, &a->via.array.ptr[i], err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static int merge_service(ccd_stats_t *dst, const msgpack_object *a, char *err, size_t errlen)
{
    if (is_nil(a))
        return 0;
    ccd_stats_t *service = ccd_stats_service(dst);
    return service ? merge_entries(service, a, err, errlen) : CCD_ENOMEM;
}

int ccd_stats_wire_merge(ccd_stats_t *dst, const msgpack_object *data, long *user_count, char *err,
                         size_t errlen)
{
    *user_count = -1;
    if (!data || data->type != MSGPACK_OBJECT_MAP)
        return ccd_wire_fail(err, errlen, "stats data is not a map");
    const msgpack_object *uc = ccd_wire_get(data, "user_count");
    uint64_t users = 0;
    if (!is_nil(uc) && !ccd_wire_uint(uc, &users))
        return ccd_wire_fail(err, errlen, "\"user_count\" is not a count");
    int rc = merge_entries(dst, ccd_wire_get(data, "stats"), err, errlen);
    if (!rc)
        rc = merge_errors(dst, ccd_wire_get(data, "errors"), err, errlen);
    if (!rc)
        rc =
            merge_generator_errors(dst, ccd_wire_get(data, "cicada_generator_errors"), err, errlen);
    if (!rc)
        rc = merge_arrivals(dst, ccd_wire_get(data, "cicada_arrivals"), err, errlen);
    if (!rc)
        rc = merge_service(dst, ccd_wire_get(data, "cicada_service"), err, errlen);
    if (!rc && !is_nil(uc))
        *user_count = users > (uint64_t)LONG_MAX ? LONG_MAX : (long)users;
    return rc;
}
