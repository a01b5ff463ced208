/* Tests of the per-second history: samples, and current percentiles over the sliding window
 * of cumulative-histogram snapshots. */
#include <criterion/criterion.h>
#include <string.h>

#include "stats/history.h"

#define T0 1700000000.0

/* Percentiles are exact to their histogram bucket: within 1/2048 of the value. */
#define expect_ms(got, want)                                                                       \
    do {                                                                                           \
        double got_ = (got);                                                                       \
        cr_expect_float_eq(got_, want, (want) / 1000.0 + 1e-9, "%s = %f, expected %f", #got, got_, \
                           (double)(want));                                                        \
    } while (0)

static void rec(ccd_stats_t *s, const char *name, int64_t us, const char *error, double now)
{
    cr_assert_eq(ccd_stats_record(s, "GET", 3, name, strlen(name), us, 100, error,
                                  error ? strlen(error) : 0, now),
                 0);
}

/* Second i of the run gets 10 requests of i + 1 ms to "/a" (the first of them failing when
 * fail is set), then a tick just before the second ends. */
static void second(ccd_stats_t *s, ccd_history_t *h, int i, bool fail)
{
    for (int k = 0; k < 10; k++)
        rec(s, "/a", (i + 1) * 1000, fail && k == 0 ? "boom" : NULL, T0 + i + k * 0.05);
    cr_assert_eq(ccd_history_tick(h, s, (unsigned)i, T0 + i + 0.9), 0);
}

Test(history, one_sample_per_tick)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    for (int i = 0; i < 5; i++)
        second(s, h, i, true);
    cr_assert_eq(ccd_history_count(h), 5);
    const ccd_history_sample_t *x = ccd_history_get(h, 3);
    cr_expect_eq(x->timestamp, (int64_t)T0 + 3);
    cr_expect_eq(x->user_count, 3);
    cr_expect_eq(x->num_requests, 40);
    cr_expect_eq(x->num_failures, 4);
    cr_expect_null(ccd_history_get(h, 5));
    ccd_history_free(h);
    ccd_stats_free(s);
}

Test(history, same_second_replaces_sample)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    cr_assert_eq(ccd_history_tick(h, s, 1, T0 + 0.2), 0);
    rec(s, "/a", 1000, NULL, T0 + 0.3);
    cr_assert_eq(ccd_history_tick(h, s, 2, T0 + 0.7), 0);
    cr_assert_eq(ccd_history_count(h), 1);
    cr_expect_eq(ccd_history_get(h, 0)->user_count, 2);
    cr_expect_eq(ccd_history_get(h, 0)->num_requests, 1);
    ccd_history_free(h);
    ccd_stats_free(s);
}

/* Locust's rates: the samples carry current_rps over [now-12, now-3]. */
Test(history, current_rates)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    for (int i = 0; i < 20; i++)
        second(s, h, i, i % 2 == 0);
    const ccd_history_sample_t *x = ccd_history_get(h, 19);
    cr_expect_float_eq(x->current_rps, 10.0, 1e-9);
    cr_expect_float_eq(x->current_fail_per_sec, 0.5, 1e-9);
    ccd_history_free(h);
    ccd_stats_free(s);
}

/* Second i's requests take i + 1 ms, so the window's smallest and largest values tell exactly
 * which seconds it covers: the 10 seconds up to the tick. */
Test(history, current_percentiles_cover_the_last_ten_seconds)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    for (int i = 0; i < 30; i++)
        second(s, h, i, false);
    const ccd_stats_entry_t *t = ccd_stats_total(s);
    double ms;
    double now = T0 + 29.9;
    cr_assert(ccd_history_current_percentile_ms(h, t, 0.001, now, &ms));
    expect_ms(ms, 21.0); /* second 20 */
    cr_assert(ccd_history_current_percentile_ms(h, t, 1.0, now, &ms));
    expect_ms(ms, 30.0);
    cr_assert(ccd_history_current_percentile_ms(h, t, 0.5, now, &ms));
    expect_ms(ms, 25.0); /* 50th of the 100 values 21..30 ms */
    /* The whole-run median is far older. */
    expect_ms(ccd_stats_percentile_ms(t, 0.5), 15.0);
    /* The samples hold the window's p50 and p95 at their own time. */
    const ccd_history_sample_t *x = ccd_history_get(h, 29);
    expect_ms(x->current_p50_ms, 25.0);
    expect_ms(x->current_p95_ms, 30.0);
    x = ccd_history_get(h, 15);
    expect_ms(x->current_p50_ms, 11.0); /* seconds 6..15: 7..16 ms */
    ccd_history_free(h);
    ccd_stats_free(s);
}

/* As Locust, a window needs a snapshot at least 2 s old: none at the first ticks. */
Test(history, no_window_at_start)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    second(s, h, 0, false);
    double ms = -1;
    cr_expect_not(ccd_history_current_percentile_ms(h, ccd_stats_total(s), 0.5, T0 + 1.5, &ms));
    cr_expect_eq(ms, 0);
    cr_expect_eq(ccd_history_get(h, 0)->current_p50_ms, 0);
    second(s, h, 1, false);
    second(s, h, 2, false);
    /* At second 2 the best snapshot is second 0's: the window holds seconds 1 and 2. */
    cr_expect(ccd_history_current_percentile_ms(h, ccd_stats_total(s), 0.01, T0 + 2.9, &ms));
    expect_ms(ms, 2.0);
    ccd_history_free(h);
    ccd_stats_free(s);
}

Test(history, no_requests_in_window)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    for (int i = 0; i < 5; i++)
        second(s, h, i, false);
    for (int i = 5; i < 25; i++)
        cr_assert_eq(ccd_history_tick(h, s, 0, T0 + i + 0.9), 0);
    double ms;
    cr_expect_not(ccd_history_current_percentile_ms(h, ccd_stats_total(s), 0.5, T0 + 24.9, &ms));
    cr_expect_eq(ccd_history_get(h, 24)->current_p95_ms, 0);
    ccd_history_free(h);
    ccd_stats_free(s);
}

/* Ticks that skip seconds still find a snapshot within Locust's +-8 s of the ideal one. */
Test(history, irregular_ticks_use_nearest_snapshot)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    for (int i = 0; i < 30; i++) {
        for (int k = 0; k < 10; k++)
            rec(s, "/a", (i + 1) * 1000, NULL, T0 + i + k * 0.05);
        if (i % 2 == 0) /* ticks at 0, 2, ..., 28 */
            cr_assert_eq(ccd_history_tick(h, s, 1, T0 + i + 0.9), 0);
    }
    double ms;
    /* At 29 the ideal is 19, missing; 18 and 20 are as near, and Locust tries the older one
     * first: the window holds seconds 19..29, values 20..30 ms. */
    cr_assert(ccd_history_current_percentile_ms(h, ccd_stats_total(s), 0.001, T0 + 29.5, &ms));
    expect_ms(ms, 20.0);
    ccd_history_free(h);
    ccd_stats_free(s);
}

Test(history, reset_forgets_snapshots)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    for (int i = 0; i < 15; i++)
        second(s, h, i, false);
    ccd_stats_reset(s, T0 + 15);
    ccd_history_reset_window(h);
    /* More requests than before the reset: an old snapshot would now look like a window. */
    for (int i = 15; i < 17; i++) {
        for (int k = 0; k < 100; k++)
            rec(s, "/a", 1000, NULL, T0 + i + k * 0.005);
        cr_assert_eq(ccd_history_tick(h, s, 1, T0 + i + 0.9), 0);
    }
    double ms;
    cr_expect_not(ccd_history_current_percentile_ms(h, ccd_stats_total(s), 0.5, T0 + 16.9, &ms));
    cr_expect_eq(ccd_history_count(h), 17, "samples are kept");
    ccd_history_free(h);
    ccd_stats_free(s);
}

Test(history, per_entry_windows)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *agg_only = ccd_history_new(false), *full = ccd_history_new(true);
    for (int i = 0; i < 20; i++) {
        for (int k = 0; k < 10; k++) {
            rec(s, "/fast", 2000, NULL, T0 + i + k * 0.05);
            rec(s, "/slow", (i < 10 ? 50 : 300) * 1000, NULL, T0 + i + k * 0.05);
        }
        cr_assert_eq(ccd_history_tick(agg_only, s, 1, T0 + i + 0.9), 0);
        cr_assert_eq(ccd_history_tick(full, s, 1, T0 + i + 0.9), 0);
    }
    cr_assert_eq(ccd_stats_count(s), 2);
    const ccd_stats_entry_t *fast = ccd_stats_get(s, 0), *slow = ccd_stats_get(s, 1);
    cr_assert_str_eq(slow->name, "/slow");
    double ms;
    /* The first CCD_HISTORY_NAMES names have windows without per_entry too. */
    cr_assert(ccd_history_current_percentile_ms(agg_only, slow, 0.5, T0 + 19.9, &ms));
    expect_ms(ms, 300.0);
    cr_assert(ccd_history_current_percentile_ms(full, slow, 0.5, T0 + 19.9, &ms));
    expect_ms(ms, 300.0);
    expect_ms(ccd_stats_percentile_ms(slow, 0.5), 50.0);
    cr_assert(ccd_history_current_percentile_ms(full, fast, 0.99, T0 + 19.9, &ms));
    expect_ms(ms, 2.0);
    ccd_history_free(agg_only);
    ccd_history_free(full);
    ccd_stats_free(s);
}

Test(history, json_samples)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    for (int i = 0; i < 12; i++)
        second(s, h, i, i == 3);
    json_t *a = ccd_history_to_json(h);
    cr_assert_not_null(a);
    cr_assert_eq(json_array_size(a), 12);
    json_t *last = json_array_get(a, 11);
    cr_expect_eq(json_integer_value(json_object_get(last, "timestamp")), (json_int_t)T0 + 11);
    cr_expect_eq(json_integer_value(json_object_get(last, "user_count")), 11);
    cr_expect_eq(json_integer_value(json_object_get(last, "num_requests")), 120);
    cr_expect_eq(json_integer_value(json_object_get(last, "num_failures")), 1);
    cr_expect_float_eq(json_real_value(json_object_get(last, "current_rps")), 10.0, 1e-9);
    expect_ms(json_real_value(json_object_get(last, "response_time_percentile_50")), 7.0);
    expect_ms(json_real_value(json_object_get(last, "response_time_percentile_95")), 12.0);
    json_decref(a);
    ccd_history_free(h);
    ccd_stats_free(s);
}

/* Each request name's p50/p95/p99 are sampled every second, null-free once its window exists;
 * a name that appears later has no values before it. */
Test(history, per_name_percentiles)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    for (int i = 0; i < 14; i++) {
        rec(s, "/a", 2000, NULL, T0 + i + 0.1);
        if (i >= 5)
            rec(s, "/b", 7000, NULL, T0 + i + 0.2);
        cr_assert_eq(ccd_history_tick(h, s, 1, T0 + i + 0.9), 0);
    }
    cr_assert_eq(ccd_history_names(h), 2);
    const char *method, *name;
    ccd_history_name(h, 1, &method, &name);
    cr_expect_str_eq(method, "GET");
    cr_expect_str_eq(name, "/b");
    double ms[3];
    cr_expect_not(ccd_history_name_percentiles(h, 0, 1, ms), "no window yet");
    cr_assert(ccd_history_name_percentiles(h, 0, 13, ms));
    expect_ms(ms[0], 2.0);
    expect_ms(ms[2], 2.0);
    cr_expect_not(ccd_history_name_percentiles(h, 1, 4, ms), "/b had not appeared");
    cr_expect_not(ccd_history_name_percentiles(h, 1, 5, ms), "/b's first second: no window");
    cr_expect_not(ccd_history_name_percentiles(h, 1, 99, ms));
    cr_assert(ccd_history_name_percentiles(h, 1, 13, ms), "/b's window exists");
    expect_ms(ms[1], 7.0);
    ccd_history_free(h);
    ccd_stats_free(s);
}

/* Only the first CCD_HISTORY_NAMES names are sampled (and windowed, without per_entry):
 * memory stays bounded. */
Test(history, per_name_bound)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    char name[16];
    for (int k = 0; k < CCD_HISTORY_NAMES + 10; k++) {
        snprintf(name, sizeof(name), "/n%d", k);
        rec(s, name, 1000, NULL, T0 + 0.1);
    }
    cr_assert_eq(ccd_history_tick(h, s, 1, T0 + 0.9), 0);
    cr_assert_eq(ccd_history_tick(h, s, 1, T0 + 1.9), 0);
    cr_expect_eq(ccd_history_names(h), CCD_HISTORY_NAMES);
    ccd_history_free(h);
    ccd_stats_free(s);
}
