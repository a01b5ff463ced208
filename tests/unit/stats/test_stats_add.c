/* Tests of building statistics from counts made elsewhere: ccd_stats_entry(),
 * ccd_stats_entry_add(), ccd_stats_entry_add_second(), ccd_stats_error_add(). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "stats/stats.h"

#define T0 1700000000.0

static ccd_stats_counts_t counts(uint64_t n, uint64_t fails, int64_t sum, int64_t min, int64_t max)
{
    return (ccd_stats_counts_t){n, fails, sum, min, max, 10 * n, T0 + 1, T0 + 2};
}

Test(stats_add, entry_found_or_created)
{
    ccd_stats_t *s = ccd_stats_new(T0 + 5);
    ccd_stats_entry_t *e = ccd_stats_entry(s, "GET", 3, "/x", 2);
    cr_assert_not_null(e);
    cr_assert_eq(ccd_stats_entry(s, "GET", 3, "/x", 2), e);
    cr_assert_str_eq(e->method, "GET");
    cr_assert_str_eq(e->name, "/x");
    cr_assert_eq(e->num_requests, 0);
    ccd_stats_entry_add(e, &(ccd_stats_counts_t){3, 1, 6000, 1000, 3000, 30, T0 + 1, T0 + 2});
    cr_assert_eq(ccd_hist_record_n(&e->hist, 2000, 3), 0);
    ccd_stats_entry_add_second(e, (int64_t)T0 + 1, 3, 1);
    ccd_stats_entry_add(e, &(ccd_stats_counts_t){1, 0, 500, 500, 500, 5, T0 + 3, T0 + 1.5});
    cr_assert_eq(ccd_hist_record_n(&e->hist, 500, 1), 0);
    cr_assert_eq(e->num_requests, 4);
    cr_assert_eq(e->num_failures, 1);
    cr_assert_eq(e->total_response_time_us, 6500);
    cr_assert_eq(e->min_response_time_us, 500);
    cr_assert_eq(e->max_response_time_us, 3000);
    cr_assert_eq(e->total_content_length, 35);
    cr_assert_float_eq(e->start_time, T0 + 1, 1e-9);
    cr_assert_float_eq(e->last_request_timestamp, T0 + 2, 1e-9);
    cr_assert_eq(e->reqs_per_sec[((int64_t)T0 + 1) % CCD_STATS_SECONDS], 3);
    cr_assert_eq(e->fails_per_sec[((int64_t)T0 + 1) % CCD_STATS_SECONDS], 1);
    /* The total follows. */
    const ccd_stats_entry_t *t = ccd_stats_total(s);
    cr_assert_eq(t->num_requests, 4);
    cr_assert_eq(t->total_response_time_us, 6500);
    cr_assert_eq(ccd_hist_count(&t->hist), 4);
    ccd_stats_free(s);
}

/* Counts from elsewhere saturate instead of wrapping. */
Test(stats_add, saturates)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_stats_entry_t *e = ccd_stats_entry(s, "GET", 3, "/x", 2);
    ccd_stats_counts_t c = counts(UINT64_MAX, 0, INT64_MAX, 1, INT64_MAX);
    ccd_stats_entry_add(e, &c);
    ccd_stats_entry_add(e, &c);
    cr_assert_eq(e->num_requests, UINT64_MAX);
    cr_assert_eq(e->total_response_time_us, INT64_MAX);
    ccd_stats_entry_t *f = ccd_stats_entry(s, "GET", 3, "/y", 2);
    ccd_stats_entry_add(f, &c);
    cr_assert_eq(ccd_stats_total(s)->total_response_time_us, INT64_MAX);
    ccd_stats_free(s);
}

/* An entry that arrives without a response time keeps no minimum. */
Test(stats_add, no_min)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_stats_entry_t *e = ccd_stats_entry(s, "GET", 3, "/x", 2);
    ccd_stats_entry_add(e, &(ccd_stats_counts_t){.min_response_time_us = INT64_MAX});
    cr_assert_eq(e->min_response_time_us, INT64_MAX);
    cr_assert_float_eq(e->start_time, T0, 1e-9);
    ccd_stats_free(s);
}

Test(stats_add, errors)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    cr_assert_eq(ccd_stats_error_add(s, "GET", 3, "/x", 2, "boom", 4, 3), 0);
    cr_assert_eq(ccd_stats_error_add(s, "GET", 3, "/x", 2, "boom", 4, 2), 0);
    cr_assert_eq(ccd_stats_error_add(s, "GET", 3, "/x", 2, "bang", 4, 0), 0);
    cr_assert_eq(ccd_stats_error_count(s), 1);
    const ccd_stats_error_t *e = ccd_stats_error_get(s, 0);
    cr_assert_str_eq(e->error, "boom");
    cr_assert_eq(e->occurrences, 5);
    /* Merged as recorded errors are. */
    ccd_stats_t *d = ccd_stats_new(T0);
    cr_assert_eq(ccd_stats_merge(d, s), 0);
    cr_assert_eq(ccd_stats_error_get(d, 0)->occurrences, 5);
    ccd_stats_reset(s, T0);
    cr_assert_eq(ccd_stats_error_count(s), 0);
    ccd_stats_free(s);
    ccd_stats_free(d);
}
