/* Tests of request statistics: counts, errors, exceptions, merge, reset, rates, ordering. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "stats/stats.h"

#define T0 1700000000.0

static int rec(ccd_stats_t *s, const char *method, const char *name, int64_t us, uint64_t len,
               const char *error, double now)
{
    return ccd_stats_record(s, method, strlen(method), name, strlen(name), us, len, error,
                            error ? strlen(error) : 0, now);
}

static const ccd_stats_entry_t *find(const ccd_stats_t *s, const char *method, const char *name)
{
    for (size_t i = 0; i < ccd_stats_count(s); i++) {
        const ccd_stats_entry_t *e = ccd_stats_get(s, i);
        if (strcmp(e->method, method) == 0 && strcmp(e->name, name) == 0)
            return e;
    }
    return NULL;
}

static const ccd_stats_error_t *find_error(const ccd_stats_t *s, const char *method,
                                           const char *name, const char *error)
{
    for (size_t i = 0; i < ccd_stats_error_count(s); i++) {
        const ccd_stats_error_t *e = ccd_stats_error_get(s, i);
        if (!strcmp(e->method, method) && !strcmp(e->name, name) && !strcmp(e->error, error))
            return e;
    }
    return NULL;
}

Test(stats, empty)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    cr_assert_not_null(s);
    const ccd_stats_entry_t *t = ccd_stats_total(s);
    cr_assert_str_eq(t->name, "Aggregated");
    cr_assert_str_eq(t->method, "");
    cr_assert_eq(t->num_requests, 0);
    cr_assert_eq(t->min_response_time_us, INT64_MAX);
    cr_assert_eq(ccd_stats_count(s), 0);
    cr_assert_null(ccd_stats_get(s, 0));
    cr_assert_eq(ccd_stats_min_ms(t), 0);
    cr_assert_eq(ccd_stats_max_ms(t), 0);
    cr_assert_eq(ccd_stats_avg_ms(t), 0);
    cr_assert_eq(ccd_stats_percentile_ms(t, 0.5), 0);
    cr_assert_eq(ccd_stats_total_rps(t), 0);
    cr_assert_eq(ccd_stats_current_rps(t, T0 + 30), 0);
    cr_assert_eq(ccd_stats_avg_content_length(t), 0);
    ccd_stats_free(s);
}

Test(stats, counts_min_max_avg_exact)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    cr_assert_eq(rec(s, "GET", "/a", 1500, 100, NULL, T0 + 1), 0);
    cr_assert_eq(rec(s, "GET", "/a", 2500, 300, NULL, T0 + 2), 0);
    cr_assert_eq(rec(s, "GET", "/a", 123457, 0, "HTTP 500", T0 + 3), 0);
    cr_assert_eq(rec(s, "POST", "/b", 7, 10, NULL, T0 + 4), 0);

    const ccd_stats_entry_t *a = find(s, "GET", "/a"), *b = find(s, "POST", "/b");
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_eq(a->num_requests, 3);
    cr_assert_eq(a->num_failures, 1);
    cr_assert_eq(a->min_response_time_us, 1500);
    cr_assert_eq(a->max_response_time_us, 123457);
    cr_assert_eq(a->total_response_time_us, 1500 + 2500 + 123457);
    cr_assert_float_eq(ccd_stats_avg_ms(a), (1500 + 2500 + 123457) / 3000.0, 1e-9);
    cr_assert_float_eq(ccd_stats_min_ms(a), 1.5, 1e-12);
    cr_assert_float_eq(ccd_stats_max_ms(a), 123.457, 1e-12);
    cr_assert_float_eq(ccd_stats_avg_content_length(a), 400 / 3.0, 1e-9);
    cr_assert_float_eq(ccd_stats_percentile_ms(a, 0.5), 2.5, 2.5 / 2048);
    cr_assert_float_eq(ccd_stats_percentile_ms(a, 1), 123.457, 1e-12);
    cr_assert_float_eq(ccd_stats_percentile_ms(a, 0), 1.5, 1e-12);

    const ccd_stats_entry_t *t = ccd_stats_total(s);
    cr_assert_eq(t->num_requests, 4);
    cr_assert_eq(t->num_failures, 1);
    cr_assert_eq(t->min_response_time_us, 7);
    cr_assert_eq(t->max_response_time_us, 123457);
    cr_assert_eq(t->total_content_length, 410);
    cr_assert_float_eq(t->last_request_timestamp, T0 + 4, 1e-9);
    cr_assert_float_eq(t->start_time, T0, 1e-9);
    cr_assert_eq(b->num_requests, 1);
    cr_assert_eq(b->num_failures, 0);
    ccd_stats_free(s);
}

Test(stats, key_uses_lengths_not_nul)
{
    /* The key is the given bytes: "GETX" with length 3 is "GET", "/ab" with length 2 is "/a". */
    ccd_stats_t *s = ccd_stats_new(T0);
    cr_assert_eq(ccd_stats_record(s, "GETX", 3, "/ab", 2, 10, 0, NULL, 0, T0), 0);
    cr_assert_eq(ccd_stats_record(s, "GET", 3, "/a", 2, 10, 0, "boomX", 4, T0), 0);
    cr_assert_eq(ccd_stats_count(s), 1);
    cr_assert_not_null(find(s, "GET", "/a"));
    cr_assert_eq(find(s, "GET", "/a")->num_requests, 2);
    cr_assert_not_null(find_error(s, "GET", "/a", "boom"));
    ccd_stats_free(s);
}

Test(stats, same_name_different_method_are_distinct)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/x", 1, 0, NULL, T0);
    rec(s, "POST", "/x", 1, 0, NULL, T0);
    rec(s, "GET", "/x", 1, 0, NULL, T0);
    cr_assert_eq(ccd_stats_count(s), 2);
    cr_assert_eq(find(s, "GET", "/x")->num_requests, 2);
    cr_assert_eq(find(s, "POST", "/x")->num_requests, 1);
    ccd_stats_free(s);
}

Test(stats, ordering_by_name_then_method)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    const char *recs[][2] = {{"POST", "/b"},   {"GET", "/c"}, {"GET", "/b"},
                             {"DELETE", "/a"}, {"GET", "/a"}, {"PUT", "/b"}};
    for (size_t i = 0; i < 6; i++)
        rec(s, recs[i][0], recs[i][1], 5, 0, NULL, T0);
    const char *want[][2] = {{"DELETE", "/a"}, {"GET", "/a"}, {"GET", "/b"},
                             {"POST", "/b"},   {"PUT", "/b"}, {"GET", "/c"}};
    cr_assert_eq(ccd_stats_count(s), 6);
    for (size_t i = 0; i < 6; i++) {
        cr_assert_str_eq(ccd_stats_get(s, i)->name, want[i][1], "row %zu", i);
        cr_assert_str_eq(ccd_stats_get(s, i)->method, want[i][0], "row %zu", i);
    }
    ccd_stats_free(s);
}

Test(stats, many_keys_grow_the_table)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    char name[32];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 2000; i++) {
            snprintf(name, sizeof(name), "/item/%d", i);
            cr_assert_eq(rec(s, "GET", name, i, 1, NULL, T0), 0);
        }
    }
    cr_assert_eq(ccd_stats_count(s), 2000);
    cr_assert_eq(ccd_stats_total(s)->num_requests, 4000);
    for (size_t i = 1; i < ccd_stats_count(s); i++)
        cr_assert_lt(strcmp(ccd_stats_get(s, i - 1)->name, ccd_stats_get(s, i)->name), 0);
    cr_assert_eq(find(s, "GET", "/item/1234")->num_requests, 2);
    cr_assert_eq(find(s, "GET", "/item/1234")->min_response_time_us, 1234);
    ccd_stats_free(s);
}

Test(stats, errors_grouped)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/a", 10, 0, "HTTP 500", T0);
    rec(s, "GET", "/a", 10, 0, "HTTP 500", T0);
    rec(s, "GET", "/a", 10, 0, "timeout", T0);
    rec(s, "POST", "/a", 10, 0, "HTTP 500", T0);
    rec(s, "GET", "/b", 10, 0, "HTTP 500", T0);
    rec(s, "GET", "/a", 10, 0, NULL, T0);
    cr_assert_eq(ccd_stats_error_count(s), 4);
    cr_assert_eq(find_error(s, "GET", "/a", "HTTP 500")->occurrences, 2);
    cr_assert_eq(find_error(s, "GET", "/a", "timeout")->occurrences, 1);
    cr_assert_eq(find_error(s, "POST", "/a", "HTTP 500")->occurrences, 1);
    cr_assert_eq(find_error(s, "GET", "/b", "HTTP 500")->occurrences, 1);
    /* First-occurrence order. */
    cr_assert_str_eq(ccd_stats_error_get(s, 0)->error, "HTTP 500");
    cr_assert_str_eq(ccd_stats_error_get(s, 1)->error, "timeout");
    cr_assert_null(ccd_stats_error_get(s, 4));
    cr_assert_eq(find(s, "GET", "/a")->num_failures, 3);
    cr_assert_eq(ccd_stats_total(s)->num_failures, 5);
    ccd_stats_free(s);
}

Test(stats, exceptions_grouped)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    cr_assert_eq(ccd_stats_exception(s, "boom", "tb1"), 0);
    cr_assert_eq(ccd_stats_exception(s, "boom", "tb1"), 0);
    cr_assert_eq(ccd_stats_exception(s, "boom", "tb2"), 0);
    cr_assert_eq(ccd_stats_exception(s, "bang", "tb1"), 0);
    cr_assert_eq(ccd_stats_exception(s, "nil traceback", NULL), 0);
    cr_assert_eq(ccd_stats_exception_count(s), 4);
    const ccd_stats_exception_t *x = ccd_stats_exception_get(s, 0);
    cr_assert_str_eq(x->message, "boom");
    cr_assert_str_eq(x->traceback, "tb1");
    cr_assert_eq(x->count, 2);
    cr_assert_eq(ccd_stats_exception_get(s, 1)->count, 1);
    cr_assert_str_eq(ccd_stats_exception_get(s, 3)->traceback, "");
    cr_assert_eq(ccd_stats_total(s)->num_requests, 0, "exceptions are not requests");
    ccd_stats_free(s);
}

/* A deterministic sequence of records, spread over "threads" by i % nthreads. */
static void record_workload(ccd_stats_t **parts, int nparts, ccd_stats_t *all)
{
    static const char *names[] = {"/", "/login", "/items", "/item/[id]"};
    static const char *methods[] = {"GET", "POST"};
    uint64_t x = 12345;
    for (int i = 0; i < 30000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const char *name = names[(x >> 33) % 4], *method = methods[(x >> 40) % 2];
        int64_t us = (int64_t)((x >> 20) % 5000000);
        const char *err = (x >> 50) % 17 == 0 ? ((x >> 55) % 2 ? "HTTP 503" : "timeout") : NULL;
        double now = T0 + i / 1000.0;
        cr_assert_eq(rec(parts[i % nparts], method, name, us, (x >> 10) % 4096, err, now), 0);
        cr_assert_eq(rec(all, method, name, us, (x >> 10) % 4096, err, now), 0);
        if (i % 1000 == 7) {
            ccd_stats_exception(parts[i % nparts], "script error", "at line 3");
            ccd_stats_exception(all, "script error", "at line 3");
        }
    }
}

static void assert_entries_equal(const ccd_stats_entry_t *a, const ccd_stats_entry_t *b)
{
    cr_assert_str_eq(a->method, b->method);
    cr_assert_str_eq(a->name, b->name);
    cr_assert_eq(a->num_requests, b->num_requests, "%s %s", a->method, a->name);
    cr_assert_eq(a->num_failures, b->num_failures);
    cr_assert_eq(a->total_response_time_us, b->total_response_time_us);
    cr_assert_eq(a->min_response_time_us, b->min_response_time_us);
    cr_assert_eq(a->max_response_time_us, b->max_response_time_us);
    cr_assert_eq(a->total_content_length, b->total_content_length);
    cr_assert_float_eq(a->start_time, b->start_time, 1e-9);
    cr_assert_float_eq(a->last_request_timestamp, b->last_request_timestamp, 1e-9);
    for (double q = 0; q <= 1.0; q += 0.01)
        cr_assert_float_eq(ccd_stats_percentile_ms(a, q), ccd_stats_percentile_ms(b, q), 1e-12);
    cr_assert_float_eq(ccd_stats_current_rps(a, T0 + 30), ccd_stats_current_rps(b, T0 + 30), 1e-9);
    cr_assert_float_eq(ccd_stats_current_fail_per_sec(a, T0 + 29.5),
                       ccd_stats_current_fail_per_sec(b, T0 + 29.5), 1e-9);
    cr_assert_eq(ccd_hist_count(&a->hist), ccd_hist_count(&b->hist));
}

static void assert_stats_equal(const ccd_stats_t *a, const ccd_stats_t *b)
{
    cr_assert_eq(ccd_stats_count(a), ccd_stats_count(b));
    for (size_t i = 0; i < ccd_stats_count(a); i++)
        assert_entries_equal(ccd_stats_get(a, i), ccd_stats_get(b, i));
    assert_entries_equal(ccd_stats_total(a), ccd_stats_total(b));
    cr_assert_eq(ccd_stats_error_count(a), ccd_stats_error_count(b));
    for (size_t i = 0; i < ccd_stats_error_count(a); i++) {
        const ccd_stats_error_t *e = ccd_stats_error_get(a, i);
        const ccd_stats_error_t *f = find_error(b, e->method, e->name, e->error);
        cr_assert_not_null(f, "%s %s %s", e->method, e->name, e->error);
        cr_assert_eq(e->occurrences, f->occurrences);
    }
    cr_assert_eq(ccd_stats_exception_count(a), ccd_stats_exception_count(b));
    for (size_t i = 0; i < ccd_stats_exception_count(a); i++)
        cr_assert_eq(ccd_stats_exception_get(a, i)->count, ccd_stats_exception_get(b, i)->count);
}

Test(stats, merge_of_threads_equals_all_records)
{
    ccd_stats_t *parts[3], *all = ccd_stats_new(T0), *merged = ccd_stats_new(T0);
    for (int i = 0; i < 3; i++)
        parts[i] = ccd_stats_new(T0);
    record_workload(parts, 3, all);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(ccd_stats_merge(merged, parts[i]), 0);
    assert_stats_equal(merged, all);
    cr_assert_gt(ccd_stats_error_count(all), 0);
    cr_assert_gt(ccd_stats_total(all)->num_failures, 0);
    /* src is unchanged by a merge. */
    cr_assert_eq(ccd_stats_total(parts[0])->num_requests, 10000);
    for (int i = 0; i < 3; i++)
        ccd_stats_free(parts[i]);
    ccd_stats_free(all);
    ccd_stats_free(merged);
}

/* The aggregated entry lags behind the records and is folded when read or merged: reading it
 * midway, recording more, and merging into statistics that were recorded into too give the
 * same totals as recording everything in one place. */
Test(stats, total_folded_on_read_and_merge)
{
    ccd_stats_t *parts[2] = {ccd_stats_new(T0), ccd_stats_new(T0)}, *all = ccd_stats_new(T0);
    record_workload(parts, 2, all);
    /* parts[0] read (folded), parts[1] not; then one more record in each. */
    cr_assert_eq(ccd_stats_total(parts[0])->num_requests, 15000);
    cr_assert_eq(rec(parts[0], "GET", "/", 1234, 5, NULL, T0 + 29), 0);
    cr_assert_eq(rec(parts[1], "GET", "/late", 99, 1, "HTTP 500", T0 + 29.5), 0);
    cr_assert_eq(rec(all, "GET", "/", 1234, 5, NULL, T0 + 29), 0);
    cr_assert_eq(rec(all, "GET", "/late", 99, 1, "HTTP 500", T0 + 29.5), 0);
    /* parts[0] has unfolded records of its own when parts[1] is merged into it. */
    cr_assert_eq(ccd_stats_merge(parts[0], parts[1]), 0);
    assert_stats_equal(parts[0], all);
    /* The total's histogram is the entries' buckets added up. */
    ccd_hist_t sum;
    ccd_hist_init(&sum);
    for (size_t i = 0; i < ccd_stats_count(all); i++) {
        ccd_hist_iter_t it;
        ccd_hist_iter_init(&it, &ccd_stats_get(all, i)->hist);
        while (ccd_hist_iter_next(&it))
            cr_assert_eq(ccd_hist_record_n(&sum, (int64_t)it.value, it.count), 0);
    }
    ccd_hist_iter_t a, b;
    ccd_hist_iter_init(&a, &ccd_stats_total(all)->hist);
    ccd_hist_iter_init(&b, &sum);
    for (;;) {
        bool more = ccd_hist_iter_next(&a);
        cr_assert_eq(more, ccd_hist_iter_next(&b));
        if (!more)
            break;
        cr_assert_eq(a.value, b.value);
        cr_assert_eq(a.count, b.count);
    }
    ccd_hist_destroy(&sum);
    ccd_stats_free(parts[0]);
    ccd_stats_free(parts[1]);
    ccd_stats_free(all);
}

Test(stats, merge_takes_min_start_and_max_last)
{
    ccd_stats_t *a = ccd_stats_new(T0 + 5), *b = ccd_stats_new(T0);
    rec(a, "GET", "/", 100, 0, NULL, T0 + 9);
    rec(b, "GET", "/", 50, 0, NULL, T0 + 7);
    cr_assert_eq(ccd_stats_merge(a, b), 0);
    const ccd_stats_entry_t *e = find(a, "GET", "/");
    cr_assert_float_eq(e->start_time, T0, 1e-9);
    cr_assert_float_eq(e->last_request_timestamp, T0 + 9, 1e-9);
    cr_assert_eq(e->min_response_time_us, 50);
    cr_assert_eq(e->max_response_time_us, 100);
    cr_assert_float_eq(ccd_stats_total(a)->start_time, T0, 1e-9);
    /* The per-second counts are added by epoch second. */
    cr_assert_eq(e->reqs_per_sec[(int64_t)(T0 + 7) % CCD_STATS_SECONDS], 1);
    cr_assert_eq(e->reqs_per_sec[(int64_t)(T0 + 9) % CCD_STATS_SECONDS], 1);
    ccd_stats_free(a);
    ccd_stats_free(b);
}

Test(stats, merge_skips_entries_without_requests)
{
    ccd_stats_t *a = ccd_stats_new(T0), *b = ccd_stats_new(T0);
    rec(b, "GET", "/old", 100, 0, "x", T0);
    ccd_stats_reset(b, T0 + 10);
    rec(b, "GET", "/new", 100, 0, NULL, T0 + 11);
    cr_assert_eq(ccd_stats_merge(a, b), 0);
    cr_assert_eq(ccd_stats_count(a), 1);
    cr_assert_str_eq(ccd_stats_get(a, 0)->name, "/new");
    cr_assert_eq(ccd_stats_error_count(a), 0);
    cr_assert_eq(ccd_stats_total(a)->num_requests, 1);
    ccd_stats_free(a);
    ccd_stats_free(b);
}

Test(stats, reset_keeps_working)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    for (int round = 0; round < 3; round++) {
        double t = T0 + round * 100;
        ccd_stats_reset(s, t);
        cr_assert_eq(ccd_stats_total(s)->num_requests, 0);
        cr_assert_eq(ccd_stats_error_count(s), 0);
        cr_assert_eq(ccd_stats_exception_count(s), 0);
        cr_assert_float_eq(ccd_stats_total(s)->start_time, t, 1e-9);
        rec(s, "GET", "/a", 1000 + round, 5, "HTTP 500", t + 1);
        rec(s, "GET", "/a", 3000, 5, NULL, t + 2);
        ccd_stats_exception(s, "m", "tb");
        const ccd_stats_entry_t *e = find(s, "GET", "/a");
        cr_assert_eq(e->num_requests, 2);
        cr_assert_eq(e->num_failures, 1);
        cr_assert_eq(e->min_response_time_us, 1000 + round);
        cr_assert_eq(e->max_response_time_us, 3000);
        cr_assert_float_eq(e->start_time, t, 1e-9);
        cr_assert_eq(ccd_hist_count(&e->hist), 2);
        cr_assert_eq(ccd_stats_error_count(s), 1);
        cr_assert_eq(ccd_stats_error_get(s, 0)->occurrences, 1);
        cr_assert_eq(ccd_stats_exception_get(s, 0)->count, 1);
    }
    /* Entries survive a reset with zero counts, as Locust's reset keeps them. */
    rec(s, "GET", "/b", 1, 0, NULL, T0 + 500);
    ccd_stats_reset(s, T0 + 600);
    cr_assert_eq(ccd_stats_count(s), 2);
    cr_assert_eq(find(s, "GET", "/b")->num_requests, 0);
    cr_assert_eq(find(s, "GET", "/b")->min_response_time_us, INT64_MAX);
    ccd_stats_free(s);
}

Test(stats, current_rps_hand_computed_window)
{
    /* Start at T0; second T0+k gets k+1 requests for k = 0..19, one failure each even second. */
    ccd_stats_t *s = ccd_stats_new(T0);
    for (int k = 0; k < 20; k++) {
        for (int j = 0; j <= k; j++)
            rec(s, "GET", "/", 10, 0, (k % 2 == 0 && j == 0) ? "e" : NULL, T0 + k + 0.5);
    }
    const ccd_stats_entry_t *e = find(s, "GET", "/"), *t = ccd_stats_total(s);
    double last = t->last_request_timestamp; /* T0 + 19.5 */
    /* Seconds [19 - 12, 19 - 3] = 7..16 hold 8..17 requests: mean 12.5. */
    cr_assert_float_eq(ccd_stats_current_rps(e, last), 12.5, 1e-9);
    cr_assert_float_eq(ccd_stats_current_rps(t, last), 12.5, 1e-9);
    /* Failures in the even seconds 8, 10, 12, 14, 16: 5 over 10 seconds. */
    cr_assert_float_eq(ccd_stats_current_fail_per_sec(e, last), 0.5, 1e-9);
    /* Early in the run the window starts at start_time: seconds 0..2 for now = T0 + 5.2. */
    cr_assert_float_eq(ccd_stats_current_rps(e, T0 + 5.2), (1 + 2 + 3) / 3.0, 1e-9);
    /* Before 3 s have passed the window is empty. */
    cr_assert_float_eq(ccd_stats_current_rps(e, T0 + 2.9), 0, 1e-9);
    /* Long after the last request the rate falls to 0. */
    cr_assert_float_eq(ccd_stats_current_rps(e, T0 + 40), 0, 1e-9);
    /* A reference 2.6 s after the last request: seconds [10, 19] hold 11..20 requests. */
    cr_assert_float_eq(ccd_stats_current_rps(e, T0 + 22.1), 15.5, 1e-9);
    ccd_stats_free(s);
}

Test(stats, total_rps_as_locust)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    for (int i = 0; i < 50; i++)
        rec(s, "GET", "/", 10, 0, i % 5 ? NULL : "e", T0 + 0.1 * (i + 1));
    const ccd_stats_entry_t *t = ccd_stats_total(s);
    /* 50 requests over last - start = 5 s. */
    cr_assert_float_eq(ccd_stats_total_rps(t), 10.0, 1e-6);
    cr_assert_float_eq(ccd_stats_total_fail_per_sec(t), 2.0, 1e-6);
    ccd_stats_free(s);
    /* A zero span gives 0, as Locust's ZeroDivisionError guard. */
    s = ccd_stats_new(T0);
    rec(s, "GET", "/", 10, 0, NULL, T0);
    cr_assert_eq(ccd_stats_total_rps(ccd_stats_total(s)), 0);
    ccd_stats_free(s);
}

Test(stats, ring_drops_old_seconds)
{
    /* Requests 30 s apart: the ring keeps only the newest second. */
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/", 10, 0, NULL, T0 + 1);
    rec(s, "GET", "/", 10, 0, NULL, T0 + 31);
    const ccd_stats_entry_t *e = find(s, "GET", "/");
    uint64_t sum = 0;
    for (int i = 0; i < CCD_STATS_SECONDS; i++)
        sum += e->reqs_per_sec[i];
    cr_assert_eq(sum, 1);
    cr_assert_eq(e->sec_base, (int64_t)(T0 + 31));
    /* A request in a second older than the ring still counts in the totals. */
    rec(s, "GET", "/", 10, 0, NULL, T0 + 2);
    cr_assert_eq(e->num_requests, 3);
    ccd_stats_free(s);
}

Test(stats, percentiles_monotonic_and_clamped)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/", 1000001, 0, NULL, T0);
    rec(s, "GET", "/", 1000999, 0, NULL, T0);
    const ccd_stats_entry_t *e = find(s, "GET", "/");
    double prev = 0;
    for (double q = 0; q <= 1.0; q += 0.05) {
        double p = ccd_stats_percentile_ms(e, q);
        cr_assert_geq(p, ccd_stats_min_ms(e));
        cr_assert_leq(p, ccd_stats_max_ms(e));
        cr_assert_geq(p, prev);
        prev = p;
    }
    ccd_stats_free(s);
}

Test(stats, negative_response_time_counts_as_zero)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/", -3, 0, NULL, T0);
    cr_assert_eq(find(s, "GET", "/")->min_response_time_us, 0);
    cr_assert_eq(find(s, "GET", "/")->total_response_time_us, 0);
    ccd_stats_free(s);
}

static int abandon(ccd_stats_t *s, const char *method, const char *name)
{
    return ccd_stats_abandon(s, method, strlen(method), name, strlen(name));
}

/* Requests abandoned in flight never completed: no entry, no total, no error counts them. */
Test(stats, abandoned_requests_are_kept_apart)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/a", 1000, 0, NULL, T0);
    cr_assert_eq(abandon(s, "GET", "/a"), 0);
    cr_assert_eq(abandon(s, "GET", "/slow"), 0);
    cr_assert_eq(abandon(s, "GET", "/slow"), 0);
    cr_assert_eq(abandon(s, "POST", "/slow"), 0);
    cr_assert_eq(ccd_stats_count(s), 1, "an abandoned request made an entry");
    cr_assert_eq(ccd_stats_total(s)->num_requests, 1);
    cr_assert_eq(ccd_stats_total(s)->num_failures, 0);
    cr_assert_eq(ccd_stats_error_count(s), 0);
    cr_assert_eq(ccd_stats_abandoned_count(s), 3);
    cr_assert_eq(ccd_stats_abandoned_total(s), 4);
    const ccd_stats_abandoned_t *a = ccd_stats_abandoned_get(s, 1);
    cr_assert_str_eq(a->method, "GET");
    cr_assert_str_eq(a->name, "/slow");
    cr_assert_eq(a->count, 2);
    cr_assert_null(ccd_stats_abandoned_get(s, 3));
    ccd_stats_free(s);
}

Test(stats, abandoned_requests_merge_and_reset)
{
    ccd_stats_t *a = ccd_stats_new(T0), *b = ccd_stats_new(T0);
    abandon(a, "GET", "/x");
    abandon(b, "GET", "/x");
    abandon(b, "GET", "/y");
    cr_assert_eq(ccd_stats_merge(a, b), 0);
    cr_assert_eq(ccd_stats_abandoned_count(a), 2);
    cr_assert_eq(ccd_stats_abandoned_get(a, 0)->count, 2);
    cr_assert_eq(ccd_stats_abandoned_total(a), 3);
    cr_assert_eq(ccd_stats_count(a), 0);
    ccd_stats_reset(b, T0 + 1);
    cr_assert_eq(ccd_stats_abandoned_count(b), 0);
    cr_assert_eq(ccd_stats_abandoned_total(b), 0);
    cr_assert_eq(ccd_stats_merge(a, b), 0, "a reset delta adds nothing");
    cr_assert_eq(ccd_stats_abandoned_total(a), 3);
    abandon(b, "GET", "/y");
    cr_assert_eq(ccd_stats_abandoned_get(b, 0)->count, 1, "a reset item counts again from 0");
    ccd_stats_free(a);
    ccd_stats_free(b);
}

static int gen(ccd_stats_t *s, const char *method, const char *name, const char *error)
{
    return ccd_stats_generator_error(s, method, strlen(method), name, strlen(name), error,
                                     strlen(error), 1);
}

/* Generator errors are counted by (method, name, error) apart from the entries, their
 * failures and the errors; they merge and reset like the errors. */
Test(stats, generator_errors_are_kept_apart)
{
    ccd_stats_t *s = ccd_stats_new(T0), *d = ccd_stats_new(T0);
    rec(s, "GET", "/a", 1000, 0, NULL, T0);
    cr_assert_eq(gen(s, "GET", "/a", "Too many open files"), 0);
    cr_assert_eq(gen(s, "GET", "/a", "Too many open files"), 0);
    cr_assert_eq(gen(s, "GET", "/b", "Cannot assign requested address"), 0);
    cr_assert_eq(ccd_stats_count(s), 1, "a generator error made an entry");
    cr_assert_eq(ccd_stats_total(s)->num_requests, 1);
    cr_assert_eq(ccd_stats_total(s)->num_failures, 0);
    cr_assert_eq(ccd_stats_error_count(s), 0);
    cr_assert_eq(ccd_stats_generator_error_count(s), 2);
    cr_assert_eq(ccd_stats_generator_error_total(s), 3);
    const ccd_stats_error_t *g = ccd_stats_generator_error_get(s, 0);
    cr_assert_str_eq(g->method, "GET");
    cr_assert_str_eq(g->name, "/a");
    cr_assert_str_eq(g->error, "Too many open files");
    cr_assert_eq(g->occurrences, 2);
    cr_assert_null(ccd_stats_generator_error_get(s, 2));
    cr_assert_eq(ccd_stats_merge(d, s), 0);
    cr_assert_eq(ccd_stats_merge(d, s), 0);
    cr_assert_eq(ccd_stats_generator_error_total(d), 6);
    cr_assert_eq(ccd_stats_generator_error_get(d, 0)->occurrences, 4);
    cr_assert_eq(ccd_stats_error_count(d), 0);
    ccd_stats_reset(s, T0 + 1);
    cr_assert_eq(ccd_stats_generator_error_count(s), 0);
    cr_assert_eq(ccd_stats_generator_error_total(s), 0);
    cr_assert_eq(gen(s, "GET", "/b", "Cannot assign requested address"), 0);
    cr_assert_eq(ccd_stats_generator_error_get(s, 0)->occurrences, 1, "not counted from 0");
    ccd_stats_free(s);
    ccd_stats_free(d);
}
