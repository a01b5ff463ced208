/* Tests of the log-linear histogram: geometry, quantiles against sorted samples, merge. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "stats/hist.h"

static const double QS[] = {0,   0.001, 0.01, 0.1,  0.25, 0.5,   0.66,   0.75,
                            0.8, 0.9,   0.95, 0.98, 0.99, 0.999, 0.9999, 1};

/* A deterministic generator (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static double rng_unit(void)
{
    return (rng() >> 11) * (1.0 / 9007199254740992.0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The ceil(q * n)-th smallest sample, 1-based, q = 0 the first. */
static int64_t exact_quantile(const int64_t *sorted, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n - 1e-9);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Checks every quantile of QS against the sorted samples: the histogram's answer must lie in
 * the same bucket as the exact sample, hence within half a bucket width (<= v / 2048). */
static void check_quantiles(int64_t *v, size_t n)
{
    ccd_hist_t h;
    ccd_hist_init(&h);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ccd_hist_record(&h, v[i]), 0);
    cr_assert_eq(ccd_hist_count(&h), n);
    qsort(v, n, sizeof(*v), cmp_i64);
    for (size_t i = 0; i < sizeof(QS) / sizeof(QS[0]); i++) {
        int64_t exact = exact_quantile(v, n, QS[i]);
        int64_t got = ccd_hist_value_at_quantile(&h, QS[i]);
        int64_t clamped = exact > (int64_t)CCD_HIST_MAX ? (int64_t)CCD_HIST_MAX : exact;
        cr_assert_eq(ccd_hist_lowest_equivalent(got), ccd_hist_lowest_equivalent(clamped),
                     "q=%g: got %lld, exact %lld", QS[i], (long long)got, (long long)exact);
        double err = fabs((double)got - (double)clamped);
        cr_assert_leq(err, clamped / 2048.0 + 0.5, "q=%g: got %lld, exact %lld", QS[i],
                      (long long)got, (long long)exact);
    }
    ccd_hist_destroy(&h);
}

Test(hist, geometry_first_2048_exact)
{
    for (int64_t v = 0; v < 2048; v++) {
        cr_assert_eq(ccd_hist_lowest_equivalent(v), (uint64_t)v);
        cr_assert_eq(ccd_hist_bucket_width(v), 1);
    }
}

Test(hist, geometry_relative_width_at_most_1_in_1024)
{
    for (int64_t v = 2048; v < (int64_t)CCD_HIST_MAX; v = v * 3 / 2 + 7) {
        uint64_t lo = ccd_hist_lowest_equivalent(v), w = ccd_hist_bucket_width(v);
        cr_assert_leq(lo, (uint64_t)v);
        cr_assert_lt((uint64_t)v, lo + w);
        cr_assert_leq(w * 1024, lo, "v=%lld lo=%llu w=%llu", (long long)v, (unsigned long long)lo,
                      (unsigned long long)w);
    }
    /* One hour is inside the range. */
    cr_assert_geq(CCD_HIST_MAX, UINT64_C(3600000000));
}

Test(hist, geometry_bucket_edges)
{
    /* The first values of band 1 and band 2, and the last value of band 1. */
    cr_assert_eq(ccd_hist_lowest_equivalent(2048), 2048);
    cr_assert_eq(ccd_hist_lowest_equivalent(2049), 2048);
    cr_assert_eq(ccd_hist_bucket_width(2049), 2);
    cr_assert_eq(ccd_hist_lowest_equivalent(4095), 4094);
    cr_assert_eq(ccd_hist_lowest_equivalent(4096), 4096);
    cr_assert_eq(ccd_hist_bucket_width(4096), 4);
}

Test(hist, empty)
{
    ccd_hist_t h;
    ccd_hist_init(&h);
    cr_assert_eq(ccd_hist_count(&h), 0);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 0.5), 0);
    ccd_hist_iter_t it;
    ccd_hist_iter_init(&it, &h);
    cr_assert_not(ccd_hist_iter_next(&it));
    ccd_hist_destroy(&h);
}

Test(hist, single_sample)
{
    int64_t v[] = {123456};
    check_quantiles(v, 1);
    int64_t z[] = {0};
    check_quantiles(z, 1);
}

Test(hist, all_equal)
{
    int64_t v[1000];
    for (size_t i = 0; i < 1000; i++)
        v[i] = 77777;
    check_quantiles(v, 1000);
}

Test(hist, uniform)
{
    size_t n = 100000;
    int64_t *v = malloc(n * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = 1 + (int64_t)(rng() % 2000000);
    check_quantiles(v, n);
    free(v);
}

Test(hist, exponential)
{
    size_t n = 100000;
    int64_t *v = malloc(n * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (int64_t)(-log(1 - rng_unit()) * 20000.0);
    check_quantiles(v, n);
    free(v);
}

Test(hist, bimodal)
{
    size_t n = 50001;
    int64_t *v = malloc(n * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (i % 10 == 0) ? 2000000 + (int64_t)(rng() % 50000) : 300 + (int64_t)(rng() % 900);
    check_quantiles(v, n);
    free(v);
}

Test(hist, max_range)
{
    /* From 1 us to beyond the top of the range: values above it clamp to the top bucket. */
    size_t n = 0;
    int64_t v[200];
    for (int64_t x = 1; x < INT64_MAX / 4 && n < 200; x = x * 2 + 1)
        v[n++] = x;
    v[n++] = (int64_t)CCD_HIST_MAX;
    v[n++] = INT64_MAX;
    check_quantiles(v, n);
}

Test(hist, values_at_bucket_edges)
{
    /* The lowest and highest value of buckets in several bands. */
    size_t n = 0;
    int64_t v[400];
    for (unsigned b = 0; b < 20; b++) {
        int64_t lo = b ? (int64_t)1024 << b : 0, w = b ? (int64_t)1 << b : 1;
        for (int k = 0; k < 5; k++) {
            v[n++] = lo + k * w;
            v[n++] = lo + (k + 1) * w - 1;
        }
        v[n++] = (b ? (int64_t)2048 << b : 2048) - 1;
    }
    check_quantiles(v, n);
}

Test(hist, negative_counts_as_zero)
{
    ccd_hist_t h;
    ccd_hist_init(&h);
    cr_assert_eq(ccd_hist_record(&h, -5), 0);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 0.5), 0);
    ccd_hist_destroy(&h);
}

Test(hist, quantile_rank_is_ceil)
{
    /* 100 samples 1..100: the 7th value is 7 although 0.07 * 100 > 7 in binary. */
    ccd_hist_t h;
    ccd_hist_init(&h);
    for (int64_t v = 1; v <= 100; v++)
        ccd_hist_record(&h, v);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 0.07), 7);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 0.5), 50);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 0.501), 51);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 0.95), 95);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 0), 1);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 1), 100);
    ccd_hist_destroy(&h);
}

static void assert_same_buckets(const ccd_hist_t *a, const ccd_hist_t *b)
{
    ccd_hist_iter_t ia, ib;
    ccd_hist_iter_init(&ia, a);
    ccd_hist_iter_init(&ib, b);
    size_t n = 0;
    for (;;) {
        bool ha = ccd_hist_iter_next(&ia), hb = ccd_hist_iter_next(&ib);
        cr_assert_eq(ha, hb, "bucket lists differ in length after %zu", n);
        if (!ha)
            break;
        cr_assert_eq(ia.value, ib.value);
        cr_assert_eq(ia.count, ib.count);
        n++;
    }
    cr_assert_eq(ccd_hist_count(a), ccd_hist_count(b));
    cr_assert_gt(n, 0);
}

Test(hist, merge_equals_all_samples)
{
    ccd_hist_t a, b, all;
    ccd_hist_init(&a);
    ccd_hist_init(&b);
    ccd_hist_init(&all);
    for (int i = 0; i < 20000; i++) {
        int64_t v = (int64_t)(-log(1 - rng_unit()) * 5000.0) * (i % 3 ? 1 : 100);
        cr_assert_eq(ccd_hist_record(i % 2 ? &a : &b, v), 0);
        cr_assert_eq(ccd_hist_record(&all, v), 0);
    }
    cr_assert_eq(ccd_hist_merge(&a, &b), 0);
    assert_same_buckets(&a, &all);
    ccd_hist_destroy(&a);
    ccd_hist_destroy(&b);
    ccd_hist_destroy(&all);
}

Test(hist, iterator_round_trip)
{
    /* Re-recording (value, count) pairs from the iterator rebuilds the same histogram. */
    ccd_hist_t a, b;
    ccd_hist_init(&a);
    ccd_hist_init(&b);
    for (int i = 0; i < 5000; i++)
        ccd_hist_record(&a, (int64_t)(rng() % 100000000));
    ccd_hist_iter_t it;
    ccd_hist_iter_init(&it, &a);
    uint64_t total = 0;
    uint64_t prev = 0;
    bool first = true;
    while (ccd_hist_iter_next(&it)) {
        cr_assert(first || it.value > prev, "iteration must be increasing");
        first = false;
        prev = it.value;
        total += it.count;
        cr_assert_eq(ccd_hist_record_n(&b, (int64_t)it.value, it.count), 0);
    }
    cr_assert_eq(total, 5000);
    assert_same_buckets(&a, &b);
    ccd_hist_destroy(&a);
    ccd_hist_destroy(&b);
}

Test(hist, reset_keeps_working)
{
    ccd_hist_t h;
    ccd_hist_init(&h);
    for (int i = 0; i < 100; i++)
        ccd_hist_record(&h, 1000000 + i);
    ccd_hist_reset(&h);
    cr_assert_eq(ccd_hist_count(&h), 0);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 0.5), 0);
    ccd_hist_record(&h, 42);
    cr_assert_eq(ccd_hist_count(&h), 1);
    cr_assert_eq(ccd_hist_value_at_quantile(&h, 1), 42);
    ccd_hist_destroy(&h);
}

Test(hist, record_n_zero_changes_nothing)
{
    ccd_hist_t h;
    ccd_hist_init(&h);
    cr_assert_eq(ccd_hist_record_n(&h, 5, 0), 0);
    cr_assert_eq(ccd_hist_count(&h), 0);
    ccd_hist_destroy(&h);
}
