/* The collector: deltas summed, stale generations dropped, user counts per producer, one
 * history sample (and CSV row) a second, the final rows in the last regular second. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "control/collector.h"

#define T0 1700000000.0

static ccd_options_t opts;

static void setup(void)
{
    memset(&opts, 0, sizeof(opts));
    opts.thresholds = ccd_thresholds_new();
}

static void teardown(void)
{
    ccd_thresholds_free(opts.thresholds);
}

static ccd_collector_t *collector(unsigned nproducers)
{
    ccd_collector_t *c = NULL;
    char err[256] = "";
    cr_assert_eq(ccd_collector_new(&c, &opts, nproducers, T0, err, sizeof(err)), 0, "%s", err);
    return c;
}

/* A delta of n requests to GET /a (fails of them failed), 10 ms each, at now. */
static ccd_stats_t *delta(unsigned n, unsigned fails, double now)
{
    ccd_stats_t *s = ccd_stats_new(now);
    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(ccd_stats_record(s, "GET", 3, "/a", 2, 10000, 100, i < fails ? "boom" : NULL,
                                      i < fails ? 4 : 0, now),
                     0);
    return s;
}

static int add(ccd_collector_t *c, int from, const ccd_stats_t *s, long generation, unsigned users)
{
    ccd_collector_delta_t d = {
        .stats = s, .generation = generation, .from = from, .user_count = users};
    return ccd_collector_add(c, &d);
}

static const ccd_stats_entry_t *total(const ccd_collector_t *c)
{
    return ccd_stats_total(ccd_collector_stats(c));
}

TestSuite(collector, .init = setup, .fini = teardown);

Test(collector, two_deltas_are_summed_and_stay_the_callers)
{
    ccd_collector_t *c = collector(2);
    ccd_stats_t *a = delta(3, 1, T0 + 1), *b = delta(5, 2, T0 + 1.5);
    cr_assert_eq(add(c, 0, a, 0, 4), 0);
    cr_assert_eq(add(c, 1, b, 0, 6), 0);
    cr_assert_eq(total(c)->num_requests, 8);
    cr_assert_eq(total(c)->num_failures, 3);
    cr_assert_eq(ccd_stats_get(ccd_collector_stats(c), 0)->total_content_length, 800);
    cr_assert_eq(ccd_stats_total(a)->num_requests, 3, "the delta is not changed");
    cr_assert_eq(ccd_stats_error_count(ccd_collector_stats(c)), 1);
    cr_assert_eq(ccd_stats_error_get(ccd_collector_stats(c), 0)->occurrences, 3);
    ccd_stats_free(a);
    ccd_stats_free(b);
    cr_assert_eq(total(c)->num_requests, 8, "the merged statistics own their copy");
    ccd_collector_free(c);
}

Test(collector, a_delta_without_statistics_only_counts_users)
{
    ccd_collector_t *c = collector(1);
    cr_assert_eq(add(c, 0, NULL, 0, 7), 0);
    cr_assert_eq(total(c)->num_requests, 0);
    cr_assert_eq(ccd_collector_user_count(c), 7);
    ccd_collector_free(c);
}

Test(collector, a_delta_from_before_a_reset_is_dropped)
{
    ccd_collector_t *c = collector(1);
    ccd_stats_t *s = delta(4, 0, T0 + 1);
    cr_assert_eq(add(c, 0, s, 0, 1), 0);
    cr_assert_eq(ccd_collector_generation(c), 0);
    long g = ccd_collector_reset(c, T0 + 2);
    cr_assert_eq(g, 1);
    cr_assert_eq(ccd_collector_generation(c), 1);
    cr_assert_eq(total(c)->num_requests, 0, "the reset empties the statistics");
    cr_assert_eq(add(c, 0, s, 0, 1), 1, "generation 0 is stale now");
    cr_assert_eq(total(c)->num_requests, 0);
    cr_assert_eq(add(c, 0, s, g, 1), 0);
    cr_assert_eq(total(c)->num_requests, 4);
    ccd_stats_free(s);
    ccd_collector_free(c);
}

Test(collector, user_count_is_the_sum_of_each_producers_last_report)
{
    ccd_collector_t *c = collector(3);
    add(c, 0, NULL, 0, 5);
    add(c, 1, NULL, 0, 2);
    add(c, 0, NULL, 0, 3);
    add(c, 2, NULL, 7, 4); /* a stale delta still tells its users */
    cr_assert_eq(ccd_collector_user_count(c), 9);
    add(c, 9, NULL, 0, 100); /* an unknown producer is ignored */
    cr_assert_eq(ccd_collector_user_count(c), 9);
    ccd_collector_free(c);
}

Test(collector, the_history_gets_one_sample_a_second)
{
    ccd_collector_t *c = collector(1);
    ccd_stats_t *s = delta(2, 0, T0 + 1);
    add(c, 0, s, 0, 1);
    ccd_collector_tick(c, 1, T0 + 1.2);
    add(c, 0, s, 0, 1);
    ccd_collector_tick(c, 1, T0 + 1.9); /* the same second: replaces the sample */
    ccd_collector_tick(c, 2, T0 + 2.1);
    ccd_collector_tick(c, 3, T0 + 3.0);
    const ccd_history_t *h = ccd_collector_history(c);
    cr_assert_eq(ccd_history_count(h), 3);
    cr_assert_eq(ccd_history_get(h, 0)->timestamp, (int64_t)T0 + 1);
    cr_assert_eq(ccd_history_get(h, 0)->num_requests, 4, "the second's last tick counts");
    cr_assert_eq(ccd_history_get(h, 1)->user_count, 2);
    cr_assert_eq(ccd_history_get(h, 2)->timestamp, (int64_t)T0 + 3);
    ccd_stats_free(s);
    ccd_collector_free(c);
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

Test(collector, csv_history_gets_a_row_a_second_and_the_final_one_replaces_its_second)
{
    char dir[] = "/tmp/ccd_collector_XXXXXX", prefix[64], path[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(prefix, sizeof(prefix), "%s/run", dir);
    snprintf(path, sizeof(path), "%s_stats_history.csv", prefix);
    opts.csv_prefix = prefix;
    ccd_collector_t *c = collector(1);
    ccd_stats_t *s = delta(2, 0, T0 + 1);
    add(c, 0, s, 0, 1);
    ccd_collector_tick(c, 1, T0 + 1.1);
    ccd_collector_tick(c, 1, T0 + 2.1);
    cr_assert_eq(count_lines(path), 3, "the header and two seconds");
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w"); /* the final tables */
    ccd_run_summary_t run = {.start_time = T0, .end_time = T0 + 2.6, .duration = 2.6};
    cr_assert_eq(ccd_collector_finish(c, &run), 0);
    fclose(stderr);
    stderr = saved;
    cr_assert_eq(count_lines(path), 3, "the final row replaced the second 2");
    ccd_stats_free(s);
    ccd_collector_free(c);
    const char *files[] = {"_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s%s", prefix, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

Test(collector, an_uncreatable_csv_file_is_an_error_with_a_reason)
{
    ccd_collector_t *c = NULL;
    char err[256] = "";
    opts.csv_prefix = "/nonexistent-dir/run";
    cr_assert_neq(ccd_collector_new(&c, &opts, 1, T0, err, sizeof(err)), 0);
    cr_assert_null(c);
    cr_assert_neq(err[0], '\0');
}
