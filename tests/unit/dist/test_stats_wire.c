/* Tests of the `stats` payload: cicada to cicada round trips (exact through cicada_hist),
 * Locust's buckets, refusals, and both directions against Debian's python3-locust. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "dist/stats_wire.h"
#include "dist/wire.h"

#define T0     1700000000.0
#define PYTHON "/usr/bin/python3"
#define HELPER SOURCE_DIR "/tests/unit/dist/locust_stats.py"

static void rec(ccd_stats_t *s, const char *method, const char *name, int64_t us, uint64_t len,
                const char *error, double now)
{
    cr_assert_eq(ccd_stats_record(s, method, strlen(method), name, strlen(name), us, len, error,
                                  error ? strlen(error) : 0, now),
                 0);
}

static const ccd_stats_entry_t *find(const ccd_stats_t *s, const char *method, const char *name)
{
    for (size_t i = 0; i < ccd_stats_count(s); i++) {
        const ccd_stats_entry_t *e = ccd_stats_get(s, i);
        if (!strcmp(e->method, method) && !strcmp(e->name, name))
            return e;
    }
    return NULL;
}

static uint64_t error_count(const ccd_stats_t *s, const char *method, const char *name,
                            const char *error)
{
    for (size_t i = 0; i < ccd_stats_error_count(s); i++) {
        const ccd_stats_error_t *e = ccd_stats_error_get(s, i);
        if (!strcmp(e->method, method) && !strcmp(e->name, name) && !strcmp(e->error, error))
            return e->occurrences;
    }
    return 0;
}

static const char *classes[] = {"WebUser", "ApiUser"};
static const unsigned counts[] = {3, 4};
static const ccd_stats_wire_users_t users = {classes, counts, 2, 7};

static ccd_buf_t pack(const ccd_stats_t *s)
{
    ccd_buf_t b = {0};
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &b, "stats");
    cr_assert_eq(ccd_stats_wire_pack(&p.pk, s, &users), 0);
    cr_assert_eq(ccd_wire_end(&p, "node-1"), 0);
    return b;
}

/* Decodes a frame and merges its data into dst; returns the merge's result. */
static int merge(ccd_stats_t *dst, const void *buf, size_t len, long *user_count, char *err,
                 size_t errlen)
{
    ccd_wire_msg_t m;
    cr_assert_eq(ccd_wire_decode(&m, buf, len, err, errlen), 0, "%s", err);
    cr_assert(ccd_wire_is(&m, "stats"));
    int rc = ccd_stats_wire_merge(dst, m.data, user_count, err, errlen);
    ccd_wire_msg_free(&m);
    return rc;
}

/* A delta with two entries over three seconds, errors on one. */
static ccd_stats_t *sample(void)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    const int64_t a[] = {12000, 47300, 47300, 150700, 2345600, 400, 33000};
    for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
        rec(s, "GET", "/a", a[i], 100 * i, NULL, T0 + 0.5 + (double)(i % 3));
    rec(s, "POST", "/b", 99600, 10, "HTTP 500", T0 + 0.2);
    rec(s, "POST", "/b", 1000200, 10, "HTTP 500", T0 + 1.2);
    rec(s, "POST", "/b", 12345000, 10, "ConnectionRefused: it's \"gone\"\n", T0 + 2.2);
    return s;
}

static void same_entry(const ccd_stats_entry_t *a, const ccd_stats_entry_t *b)
{
    cr_assert_not_null(b);
    cr_assert_eq(a->num_requests, b->num_requests);
    cr_assert_eq(a->num_failures, b->num_failures);
    cr_assert_eq(a->total_response_time_us, b->total_response_time_us);
    cr_assert_eq(a->min_response_time_us, b->min_response_time_us);
    cr_assert_eq(a->max_response_time_us, b->max_response_time_us);
    cr_assert_eq(a->total_content_length, b->total_content_length);
    cr_assert_float_eq(a->last_request_timestamp, b->last_request_timestamp, 1e-6);
    cr_assert_eq(ccd_hist_count(&a->hist), ccd_hist_count(&b->hist));
    const double qs[] = {0, 0.1, 0.5, 0.66, 0.9, 0.95, 0.99, 1};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        cr_assert_eq(ccd_stats_percentile_ms(a, qs[i]), ccd_stats_percentile_ms(b, qs[i]),
                     "%s q=%g", a->name, qs[i]);
    for (int64_t t = (int64_t)T0 - 1; t <= (int64_t)T0 + 3; t++) {
        size_t k = (size_t)(t % CCD_STATS_SECONDS);
        bool ina = t <= a->sec_base && t > a->sec_base - CCD_STATS_SECONDS;
        bool inb = t <= b->sec_base && t > b->sec_base - CCD_STATS_SECONDS;
        cr_assert_eq(ina ? a->reqs_per_sec[k] : 0, inb ? b->reqs_per_sec[k] : 0, "second %ld",
                     (long)t);
        cr_assert_eq(ina ? a->fails_per_sec[k] : 0, inb ? b->fails_per_sec[k] : 0);
    }
}

Test(stats_wire, round_trip_is_exact)
{
    ccd_stats_t *s = sample(), *d = ccd_stats_new(T0);
    ccd_buf_t b = pack(s);
    long users_seen = 0;
    char err[256] = "";
    cr_assert_eq(merge(d, b.base, b.len, &users_seen, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(users_seen, 7);
    cr_assert_eq(ccd_stats_count(d), 2);
    same_entry(find(s, "GET", "/a"), find(d, "GET", "/a"));
    same_entry(find(s, "POST", "/b"), find(d, "POST", "/b"));
    same_entry(ccd_stats_total(s), ccd_stats_total(d));
    cr_assert_eq(ccd_stats_error_count(d), 2);
    cr_assert_eq(error_count(d, "POST", "/b", "HTTP 500"), 2);
    cr_assert_eq(error_count(d, "POST", "/b", "ConnectionRefused: it's \"gone\"\n"), 1);

    /* A second delta adds up. */
    cr_assert_eq(merge(d, b.base, b.len, &users_seen, err, sizeof(err)), 0, "%s", err);
    const ccd_stats_entry_t *a = find(d, "GET", "/a");
    cr_assert_eq(a->num_requests, 14);
    cr_assert_eq(a->total_response_time_us, 2 * find(s, "GET", "/a")->total_response_time_us);
    cr_assert_eq(a->min_response_time_us, 400);
    cr_assert_eq(a->max_response_time_us, 2345600);
    cr_assert_eq(a->reqs_per_sec[(int64_t)T0 % CCD_STATS_SECONDS], 6);
    cr_assert_eq(error_count(d, "POST", "/b", "HTTP 500"), 4);
    cr_assert_eq(ccd_stats_total(d)->num_requests, 20);
    ccd_buf_free(&b);
    ccd_stats_free(s);
    ccd_stats_free(d);
}

/* Generator errors travel under cicada's own key, only when there are some. */
Test(stats_wire, generator_errors_round_trip)
{
    ccd_stats_t *s = sample(), *d = ccd_stats_new(T0);
    ccd_buf_t b = pack(s);
    ccd_wire_msg_t m;
    cr_assert_eq(ccd_wire_decode(&m, b.base, b.len, NULL, 0), 0);
    cr_assert_null(ccd_wire_get(m.data, "cicada_generator_errors"), "sent without any");
    ccd_wire_msg_free(&m);
    ccd_buf_free(&b);
    const char *e = "Too many open files (raise the open-files limit)";
    cr_assert_eq(ccd_stats_generator_error(s, "GET", 3, "/a", 2, e, strlen(e), 5), 0);
    b = pack(s);
    long users_seen;
    char err[256] = "";
    cr_assert_eq(merge(d, b.base, b.len, &users_seen, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ccd_stats_generator_error_count(d), 1);
    const ccd_stats_error_t *g = ccd_stats_generator_error_get(d, 0);
    cr_assert_str_eq(g->method, "GET");
    cr_assert_str_eq(g->name, "/a");
    cr_assert_str_eq(g->error, e);
    cr_assert_eq(g->occurrences, 5);
    cr_assert_eq(error_count(d, "POST", "/b", "HTTP 500"), 2, "the errors are unchanged");
    cr_assert_eq(find(d, "GET", "/a")->num_requests, find(s, "GET", "/a")->num_requests);
    ccd_buf_free(&b);
    ccd_stats_free(s);
    ccd_stats_free(d);
}

/* An empty delta still carries a total (no min, no last request) and the users. */
Test(stats_wire, empty_delta)
{
    ccd_stats_t *s = ccd_stats_new(T0), *d = ccd_stats_new(T0);
    ccd_buf_t b = pack(s);
    ccd_wire_msg_t m;
    cr_assert_eq(ccd_wire_decode(&m, b.base, b.len, NULL, 0), 0);
    const msgpack_object *total = ccd_wire_get(m.data, "stats_total");
    cr_assert_eq(ccd_wire_get(total, "min_response_time")->type, MSGPACK_OBJECT_NIL);
    cr_assert_eq(ccd_wire_get(total, "last_request_timestamp")->type, MSGPACK_OBJECT_NIL);
    cr_assert_eq(ccd_wire_get(total, "method")->type, MSGPACK_OBJECT_NIL);
    uint64_t n = 9;
    cr_assert(
        ccd_wire_uint(ccd_wire_get(ccd_wire_get(m.data, "user_classes_count"), "ApiUser"), &n));
    cr_assert_eq(n, 4);
    long u;
    cr_assert_eq(ccd_stats_wire_merge(d, m.data, &u, NULL, 0), 0);
    cr_assert_eq(ccd_stats_count(d), 0);
    ccd_wire_msg_free(&m);
    ccd_buf_free(&b);
    ccd_stats_free(s);
    ccd_stats_free(d);
}

/* Adds an open model's figures to s: two classes' arrivals and the service times of /a. */
static void with_open_model(ccd_stats_t *s)
{
    ccd_stats_arrivals_t *a = ccd_stats_arrivals(s, "WebUser");
    cr_assert_not_null(a);
    a->scheduled = 1000, a->started = 990, a->dropped = 10, a->late = 4, a->backlog_max = 30;
    for (int64_t us = 100; us <= 9000; us += 100)
        cr_assert_eq(ccd_hist_record(&a->lateness, us), 0);
    a = ccd_stats_arrivals(s, "ApiUser");
    cr_assert_not_null(a);
    a->scheduled = a->started = 5, a->backlog_max = 2;
    cr_assert_eq(ccd_hist_record(&a->lateness, 123456), 0);
    ccd_stats_t *svc = ccd_stats_service(s);
    cr_assert_not_null(svc);
    rec(svc, "GET", "/a", 300, 10, NULL, T0 + 0.5);
    rec(svc, "GET", "/a", 4100, 10, NULL, T0 + 1.5);
}

static const ccd_stats_arrivals_t *arrivals_of(const ccd_stats_t *s, const char *cls)
{
    for (size_t i = 0; i < ccd_stats_arrivals_count(s); i++)
        if (!strcmp(ccd_stats_arrivals_get(s, i)->cls, cls))
            return ccd_stats_arrivals_get(s, i);
    return NULL;
}

/* The open model's arrivals and service times travel under cicada's own keys, only in a run
 * that has them; two workers' reports add up (the backlog high-water mark is the larger). */
Test(stats_wire, open_model_round_trip)
{
    ccd_stats_t *s = sample(), *d = ccd_stats_new(T0);
    ccd_buf_t b = pack(s);
    ccd_wire_msg_t m;
    cr_assert_eq(ccd_wire_decode(&m, b.base, b.len, NULL, 0), 0);
    cr_assert_null(ccd_wire_get(m.data, "cicada_arrivals"), "sent without any");
    cr_assert_null(ccd_wire_get(m.data, "cicada_service"), "sent without any");
    ccd_wire_msg_free(&m);
    ccd_buf_free(&b);
    with_open_model(s);
    b = pack(s);
    long users_seen;
    char err[256] = "";
    cr_assert_eq(merge(d, b.base, b.len, &users_seen, err, sizeof(err)), 0, "%s", err);
    const ccd_stats_arrivals_t *a = arrivals_of(d, "WebUser"), *x = arrivals_of(s, "WebUser");
    cr_assert_not_null(a);
    cr_assert_eq(a->scheduled, 1000);
    cr_assert_eq(a->started, 990);
    cr_assert_eq(a->dropped, 10);
    cr_assert_eq(a->late, 4);
    cr_assert_eq(a->backlog_max, 30);
    cr_assert_eq(ccd_hist_count(&a->lateness), 90);
    for (double q = 0; q <= 1; q += 0.05)
        cr_assert_eq(ccd_hist_value_at_quantile(&a->lateness, q),
                     ccd_hist_value_at_quantile(&x->lateness, q), "q=%g", q);
    cr_assert_eq(ccd_hist_value_at_quantile(&arrivals_of(d, "ApiUser")->lateness, 1),
                 ccd_hist_value_at_quantile(&arrivals_of(s, "ApiUser")->lateness, 1));
    const ccd_stats_t *svc = ccd_stats_service_get(d);
    cr_assert_not_null(svc);
    same_entry(find(ccd_stats_service_get(s), "GET", "/a"), find(svc, "GET", "/a"));
    cr_assert_eq(ccd_stats_count(svc), 1);
    same_entry(find(s, "GET", "/a"), find(d, "GET", "/a"));

    /* A second worker's report: counts add up, the high-water mark is the larger. */
    ccd_stats_arrivals(s, "WebUser")->backlog_max = 12;
    ccd_buf_free(&b);
    b = pack(s);
    cr_assert_eq(merge(d, b.base, b.len, &users_seen, err, sizeof(err)), 0, "%s", err);
    a = arrivals_of(d, "WebUser");
    cr_assert_eq(a->scheduled, 2000);
    cr_assert_eq(a->dropped, 20);
    cr_assert_eq(a->backlog_max, 30);
    cr_assert_eq(ccd_hist_count(&a->lateness), 180);
    cr_assert_eq(find(ccd_stats_service_get(d), "GET", "/a")->num_requests, 4);
    ccd_buf_free(&b);
    ccd_stats_free(s);
    ccd_stats_free(d);
}

/* Packs [type, data, node] from the msgpack a callback writes as data. */
static ccd_buf_t hand_packed(void (*data)(msgpack_packer *))
{
    ccd_buf_t b = {0};
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &b, "stats");
    data(&p.pk);
    cr_assert_eq(ccd_wire_end(&p, "n"), 0);
    return b;
}

/* A Locust 2.12 entry: float times, float bucket keys above 100 ms, string-keyed seconds. */
static void locust_212(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    ccd_wire_pack_key(pk, "stats");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 12);
    ccd_wire_pack_key(pk, "name");
    ccd_wire_pack_str(pk, "/x");
    ccd_wire_pack_key(pk, "method");
    ccd_wire_pack_str(pk, "GET");
    ccd_wire_pack_key(pk, "num_requests");
    msgpack_pack_int(pk, 4);
    ccd_wire_pack_key(pk, "num_failures");
    msgpack_pack_int(pk, 1);
    ccd_wire_pack_key(pk, "total_response_time");
    msgpack_pack_double(pk, 12.5 + 47.3 + 150.7 + 2345.6);
    ccd_wire_pack_key(pk, "min_response_time");
    msgpack_pack_double(pk, 12.5);
    ccd_wire_pack_key(pk, "max_response_time");
    msgpack_pack_double(pk, 2345.6);
    ccd_wire_pack_key(pk, "start_time");
    msgpack_pack_double(pk, T0);
    ccd_wire_pack_key(pk, "last_request_timestamp");
    msgpack_pack_double(pk, T0 + 2.5);
    ccd_wire_pack_key(pk, "response_times");
    msgpack_pack_map(pk, 4);
    msgpack_pack_int(pk, 12);
    msgpack_pack_int(pk, 1);
    msgpack_pack_int(pk, 47);
    msgpack_pack_int(pk, 1);
    msgpack_pack_double(pk, 150.0);
    msgpack_pack_int(pk, 1);
    msgpack_pack_double(pk, 2300.0);
    msgpack_pack_int(pk, 1);
    ccd_wire_pack_key(pk, "num_reqs_per_sec");
    msgpack_pack_map(pk, 2);
    ccd_wire_pack_str(pk, "1700000000");
    msgpack_pack_int(pk, 3);
    msgpack_pack_int64(pk, 1700000002);
    msgpack_pack_int(pk, 1);
    ccd_wire_pack_key(pk, "num_fail_per_sec");
    msgpack_pack_map(pk, 1);
    msgpack_pack_int64(pk, 1700000002);
    msgpack_pack_int(pk, 1);
    ccd_wire_pack_key(pk, "errors");
    msgpack_pack_map(pk, 0);
}

Test(stats_wire, locust_buckets)
{
    ccd_buf_t b = hand_packed(locust_212);
    ccd_stats_t *d = ccd_stats_new(T0);
    long u = 0;
    char err[256] = "";
    cr_assert_eq(merge(d, b.base, b.len, &u, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(u, -1);
    const ccd_stats_entry_t *e = find(d, "GET", "/x");
    cr_assert_not_null(e);
    cr_assert_eq(e->num_requests, 4);
    cr_assert_eq(e->num_failures, 1);
    cr_assert_eq(e->total_response_time_us, 2556100);
    cr_assert_eq(e->min_response_time_us, 12500);
    cr_assert_eq(e->max_response_time_us, 2345600);
    cr_assert_float_eq(e->last_request_timestamp, T0 + 2.5, 1e-6);
    cr_assert_eq(ccd_hist_count(&e->hist), 4);
    cr_assert_float_eq(ccd_stats_percentile_ms(e, 0.5), 47, 0.05);
    cr_assert_float_eq(ccd_stats_percentile_ms(e, 0.75), 150, 0.1);
    cr_assert_eq(e->reqs_per_sec[(int64_t)T0 % CCD_STATS_SECONDS], 3);
    cr_assert_eq(e->reqs_per_sec[((int64_t)T0 + 2) % CCD_STATS_SECONDS], 1);
    cr_assert_eq(e->fails_per_sec[((int64_t)T0 + 2) % CCD_STATS_SECONDS], 1);
    ccd_buf_free(&b);
    ccd_stats_free(d);
}

static void both_histograms(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    ccd_wire_pack_key(pk, "stats");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 5);
    ccd_wire_pack_key(pk, "name");
    ccd_wire_pack_str(pk, "/h");
    ccd_wire_pack_key(pk, "method");
    ccd_wire_pack_str(pk, "GET");
    ccd_wire_pack_key(pk, "num_requests");
    msgpack_pack_int(pk, 2);
    ccd_wire_pack_key(pk, "response_times");
    msgpack_pack_map(pk, 1);
    msgpack_pack_int(pk, 100);
    msgpack_pack_int(pk, 2);
    ccd_wire_pack_key(pk, "cicada_hist");
    msgpack_pack_map(pk, 2);
    msgpack_pack_int(pk, 1234);
    msgpack_pack_int(pk, 1);
    msgpack_pack_int(pk, 1500);
    msgpack_pack_int(pk, 1);
}

/* cicada_hist wins over response_times when both are there. */
Test(stats_wire, prefers_cicada_hist)
{
    ccd_buf_t b = hand_packed(both_histograms);
    ccd_stats_t *d = ccd_stats_new(T0);
    long u;
    char err[256] = "";
    cr_assert_eq(merge(d, b.base, b.len, &u, err, sizeof(err)), 0, "%s", err);
    const ccd_stats_entry_t *e = find(d, "GET", "/h");
    cr_assert_eq(ccd_hist_value_at_quantile(&e->hist, 0), 1234);
    cr_assert_eq(ccd_hist_value_at_quantile(&e->hist, 1), 1500);
    ccd_buf_free(&b);
    ccd_stats_free(d);
}

/* Each payload (JSON-like notation in the comment) and the reason it is refused for. */
static void expect_refused(const char *hex, const char *reason)
{
    unsigned char buf[512];
    size_t n = 0;
    for (const char *p = hex; p[0] && p[1]; p += 2) {
        while (*p == ' ')
            p++;
        sscanf(p, "%2hhx", &buf[n++]);
    }
    /* [type, data, node] around the data. */
    unsigned char frame[600] = {0x93, 0xa5, 's', 't', 'a', 't', 's'};
    memcpy(frame + 7, buf, n);
    frame[7 + n] = 0xc0;
    ccd_wire_msg_t m;
    char err[256] = "";
    cr_assert_eq(ccd_wire_decode(&m, frame, 8 + n, err, sizeof(err)), 0, "%s: %s", hex, err);
    ccd_stats_t *d = ccd_stats_new(T0);
    long u;
    cr_assert_eq(ccd_stats_wire_merge(d, m.data, &u, err, sizeof(err)), CCD_EPROTO, "%s", hex);
    cr_assert(strstr(err, reason), "%s: \"%s\" does not say \"%s\"", hex, err, reason);
    ccd_stats_free(d);
    ccd_wire_msg_free(&m);
}

Test(stats_wire, refusals)
{
    expect_refused("01", "not a map");                                  /* 1 */
    expect_refused("81 a5 7374617473 01", "\"stats\" is not an array"); /* {stats: 1} */
    expect_refused("81 a5 7374617473 91 01", "entry is not a map");     /* {stats: [1]} */
    expect_refused("81 a5 7374617473 91 80", "no name");                /* {stats: [{}]} */
    /* {stats: [{name: "a", num_requests: -1}]} */
    expect_refused("81 a5 7374617473 91 82 a4 6e616d65 a1 61 ac 6e756d5f7265717565737473 ff",
                   "bad num_requests");
    /* {stats: [{name: "a", min_response_time: "x"}]} */
    expect_refused(
        "81 a5 7374617473 91 82 a4 6e616d65 a1 61 b1 6d696e5f726573706f6e73655f74696d65 a1 78",
        "bad min_response_time");
    /* {stats: [{name: "a", response_times: {"x": 1}}]} */
    expect_refused(
        "81 a5 7374617473 91 82 a4 6e616d65 a1 61 ae 726573706f6e73655f74696d6573 81 a1 78 01",
        "bad response_times");
    /* {stats: [{name: "a", num_reqs_per_sec: {1: -1}}]} */
    expect_refused("81 a5 7374617473 91 82 a4 6e616d65 a1 61 b0 6e756d5f726571735f7065725f736563 "
                   "81 01 ff",
                   "bad num_reqs_per_sec");
    expect_refused("81 a6 6572726f7273 01", "\"errors\" is not a map");  /* {errors: 1} */
    expect_refused("81 a6 6572726f7273 81 a1 6b 80", "an error is not"); /* {errors: {k: {}}} */
    expect_refused("81 aa 757365725f636f756e74 a1 78", "user_count");    /* {user_count: "x"} */
    /* {cicada_arrivals: 1}, {cicada_arrivals: [{}]}, {cicada_service: [1]} */
    expect_refused("81 af 6369636164615f6172726976616c73 01", "\"cicada_arrivals\" is not");
    expect_refused("81 af 6369636164615f6172726976616c73 91 80", "an arrivals item is not");
    expect_refused("81 ae 6369636164615f73657276696365 91 01", "entry is not a map");
}

/* ---- against Locust itself ---- */

static bool have_locust(void)
{
    return system(PYTHON " -c 'import locust.stats, msgpack' >/dev/null 2>&1") == 0;
}

static json_t *run_json(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    json_error_t je;
    json_t *j = json_loadf(p, 0, &je);
    int st = pclose(p);
    cr_assert_eq(st, 0, "%s failed", cmd);
    cr_assert_not_null(j, "%s: %s", cmd, je.text);
    return j;
}

static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

/* (a) What Locust's worker code sends, merged here, gives Locust's figures. */
Test(stats_wire, merges_locust_worker_payload, .timeout = 60)
{
    if (!have_locust())
        cr_skip_test("python3-locust is not installed");
    char path[] = "/tmp/ccd-stats-wire-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), PYTHON " %s worker %s", HELPER, path);
    json_t *want = run_json(cmd);
    FILE *f = fopen(path, "rb");
    static char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    unlink(path);

    ccd_stats_t *d = ccd_stats_new(T0);
    long u = 0;
    char err[256] = "";
    cr_assert_eq(merge(d, buf, len, &u, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(u, 3);
    size_t i;
    json_t *we;
    json_array_foreach(json_object_get(want, "entries"), i, we)
    {
        const char *method = json_string_value(json_object_get(we, "method"));
        const char *name = json_string_value(json_object_get(we, "name"));
        const ccd_stats_entry_t *e = find(d, method, name);
        cr_assert_not_null(e, "%s %s", method, name);
        cr_assert_eq(e->num_requests, (uint64_t)jnum(we, "num_requests"));
        cr_assert_eq(e->num_failures, (uint64_t)jnum(we, "num_failures"));
        cr_assert_float_eq(e->total_response_time_us / 1000.0, jnum(we, "total_response_time"),
                           1e-3);
        cr_assert_float_eq(ccd_stats_min_ms(e), jnum(we, "min_response_time"), 1e-3);
        cr_assert_float_eq(ccd_stats_max_ms(e), jnum(we, "max_response_time"), 1e-3);
        cr_assert_eq(e->total_content_length, (uint64_t)jnum(we, "total_content_length"));
        cr_assert_eq(ccd_hist_count(&e->hist), (uint64_t)jnum(we, "bucketed"));
        /* Locust's percentiles are its bucket keys; cicada's is the middle of the bucket that
         * holds that key, within 1/2048 (the sample counts are chosen so that both
         * definitions pick the same sample). */
        double p50 = jnum(we, "p50"), p95 = jnum(we, "p95");
        cr_assert_float_eq(ccd_stats_percentile_ms(e, 0.5), p50, p50 / 1000 + 1e-3, "%s", name);
        cr_assert_float_eq(ccd_stats_percentile_ms(e, 0.95), p95, p95 / 1000 + 1e-3, "%s", name);
        uint32_t reqs = 0, fails = 0;
        for (int k = 0; k < CCD_STATS_SECONDS; k++)
            reqs += e->reqs_per_sec[k], fails += e->fails_per_sec[k];
        cr_assert_eq(reqs, (uint32_t)jnum(we, "reqs_per_sec"));
        cr_assert_eq(fails, (uint32_t)jnum(we, "fails_per_sec"));
    }
    json_t *total = json_object_get(want, "total");
    cr_assert_eq(ccd_stats_total(d)->num_requests, (uint64_t)jnum(total, "num_requests"));
    cr_assert_eq(ccd_stats_total(d)->num_failures, (uint64_t)jnum(total, "num_failures"));
    json_array_foreach(json_object_get(want, "errors"), i, we)
    {
        const char *error = json_string_value(json_object_get(we, "error"));
        cr_assert_eq(error_count(d, "POST", "/b", error), (uint64_t)jnum(we, "occurrences"), "%s",
                     error);
    }
    cr_assert_eq(ccd_stats_error_count(d), json_array_size(json_object_get(want, "errors")));
    json_decref(want);
    ccd_stats_free(d);
}

/* Locust's bucket of a time in ms, for the figures Locust computes from cicada's buckets. */
static double bucket(double ms)
{
    return ms < 100     ? nearbyint(ms)
           : ms < 1000  ? nearbyint(ms / 10) * 10
           : ms < 10000 ? nearbyint(ms / 100) * 100
                        : nearbyint(ms / 1000) * 1000;
}

/* (b) What cicada sends, merged by Locust's master code, gives cicada's figures. */
Test(stats_wire, locust_master_reads_cicada, .timeout = 60)
{
    if (!have_locust())
        cr_skip_test("python3-locust is not installed");
    ccd_stats_t *s = sample();
    with_open_model(s); /* cicada's own keys, which Locust ignores */
    ccd_buf_t b = pack(s);
    char path[] = "/tmp/ccd-stats-wire-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, b.base, b.len), (ssize_t)b.len);
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), PYTHON " %s master %s", HELPER, path);
    json_t *got = run_json(cmd);
    unlink(path);

    cr_assert_str_eq(json_string_value(json_object_get(got, "type")), "stats");
    cr_assert_str_eq(json_string_value(json_object_get(got, "node_id")), "node-1");
    cr_assert_eq(jnum(got, "user_count"), 7);
    cr_assert_eq(jnum(json_object_get(got, "user_classes_count"), "ApiUser"), 4);
    size_t i;
    json_t *ge;
    size_t n = 0;
    json_array_foreach(json_object_get(got, "entries"), i, ge)
    {
        const char *method = json_string_value(json_object_get(ge, "method"));
        const char *name = json_string_value(json_object_get(ge, "name"));
        const ccd_stats_entry_t *e = find(s, method, name);
        cr_assert_not_null(e, "%s %s", method, name);
        n++;
        cr_assert_eq(jnum(ge, "num_requests"), e->num_requests);
        cr_assert_eq(jnum(ge, "num_failures"), e->num_failures);
        cr_assert_float_eq(jnum(ge, "total_response_time"), e->total_response_time_us / 1000.0,
                           1e-6);
        cr_assert_float_eq(jnum(ge, "min_response_time"), ccd_stats_min_ms(e), 1e-9);
        cr_assert_float_eq(jnum(ge, "max_response_time"), ccd_stats_max_ms(e), 1e-9);
        cr_assert_eq(jnum(ge, "total_content_length"), e->total_content_length);
        cr_assert_eq(jnum(ge, "bucketed"), e->num_requests);
        cr_assert_eq(jnum(ge, "reqs_per_sec"), e->num_requests);
        cr_assert_eq(jnum(ge, "fails_per_sec"), e->num_failures);
        cr_assert_eq(json_array_size(json_object_get(ge, "seconds")), 3);
    }
    cr_assert_eq(n, 2);
    /* Locust's percentiles of cicada's buckets: /a's sorted samples are 0.4, 12, 33, 47.3,
     * 47.3, 150.7, 2345.6 ms and Locust picks sample int(7 q); /b's 99.6, 1000.2, 12345. */
    json_array_foreach(json_object_get(got, "entries"), i, ge)
    {
        bool a = !strcmp(json_string_value(json_object_get(ge, "name")), "/a");
        cr_assert_eq(jnum(ge, "p50"), bucket(a ? 47.3 : 1000.2));
        cr_assert_eq(jnum(ge, "p95"), bucket(a ? 2345.6 : 12345));
    }
    json_t *total = json_object_get(got, "total");
    cr_assert_eq(jnum(total, "num_requests"), 10);
    cr_assert_eq(jnum(total, "num_failures"), 3);
    cr_assert_eq(jnum(total, "bucketed"), 10);
    /* Errors: the text as sent, and the key Locust computes for that text. */
    json_array_foreach(json_object_get(got, "errors"), i, ge)
    {
        const char *error = json_string_value(json_object_get(ge, "error"));
        cr_assert_eq(jnum(ge, "occurrences"), error_count(s, "POST", "/b", error), "%s", error);
        cr_assert_str_eq(json_string_value(json_object_get(ge, "key")),
                         json_string_value(json_object_get(ge, "key_of_text")), "%s", error);
    }
    cr_assert_eq(json_array_size(json_object_get(got, "errors")), 2);
    json_decref(got);
    ccd_buf_free(&b);
    ccd_stats_free(s);
}
