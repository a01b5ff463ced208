/* Weights: tasks picked in proportion to their weights, users spread over classes by weight. */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(weights, .fini = h_cleanup, .timeout = 60);

/* a:b must match the weights: within 15% of want, or (with fewer samples, as in slow sanitizer
 * builds) with a's share of the picks within 5 standard deviations of a random pick's. Either
 * way, ignored or swapped weights fail, and a correct implementation essentially never does. */
static void expect_ratio(json_t *doc, const char *a, const char *b, double want, long min_total)
{
    long na = h_requests(doc, "GET", a), nb = h_requests(doc, "GET", b);
    cr_assert_geq(na + nb, min_total, "too few samples: %s=%ld %s=%ld", a, na, b, nb);
    cr_assert_gt(nb, 0, "no request named %s", b);
    double ratio = (double)na / (double)nb, n = (double)(na + nb), p = want / (want + 1);
    bool close = ratio > want * 0.85 && ratio < want * 1.15;
    double dev = na / n - p; /* compared squared: 5 sigma, without libm */
    bool likely = dev * dev <= 25 * p * (1 - p) / n;
    cr_expect(close || likely, "%s:%s = %ld:%ld = %.3f, want %.2f", a, b, na, nb, ratio, want);
}

static void run_target(h_run_t *r, const h_target_t *t, const char *scenario, const char *users)
{
    cr_assert_eq(h_cicada(r, NULL, scenario, "-H", h_strf("http://%s:%d", H_HOST, t->port), "-u",
                          users, "-r", "100", "-t", "3s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(r, 0);
    H_ASSERT_JSON(r);
}

#define TWO_TASKS(TASKS)                                                                           \
    "local cicada = require \"cicada\"\n"                                                          \
    "local U = cicada.user(\"Picker\", {\n"                                                        \
    "  wait_time = cicada.constant(0),\n"                                                          \
    "  tasks = " TASKS ",\n"                                                                       \
    "})\n"                                                                                         \
    "function U:a() self.client:get(\"/hello\", { name = \"a\" }) end\n"                           \
    "function U:b() self.client:get(\"/hello\", { name = \"b\" }) end\n"

Test(weights, task_weights_three_to_one)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 2), 0, "cicada-target did not start");
    run_target(&r, &t, TWO_TASKS("{ a = 3, b = 1 }"), "20");
    expect_ratio(r.json, "a", "b", 3.0, 2000);
    h_run_free(&r);
}

Test(weights, task_weight_tables_three_to_one)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 2), 0, "cicada-target did not start");
    run_target(&r, &t, TWO_TASKS("{ a = { weight = 3 }, b = { weight = 1 } }"), "20");
    expect_ratio(r.json, "a", "b", 3.0, 2000);
    h_run_free(&r);
}

Test(weights, task_array_is_equally_weighted)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 2), 0, "cicada-target did not start");
    run_target(&r, &t, TWO_TASKS("{ \"a\", \"b\" }"), "20");
    expect_ratio(r.json, "a", "b", 1.0, 2000);
    h_run_free(&r);
}

/* Both classes pace requests alike, so requests per class follow the users per class. */
static const char *two_classes =
    "local cicada = require \"cicada\"\n"
    "local A = cicada.user(\"Heavy\", {\n"
    "  weight = 3, wait_time = cicada.constant_pacing(0.05), tasks = { go = 1 },\n"
    "})\n"
    "local B = cicada.user(\"Light\", {\n"
    "  weight = 1, wait_time = cicada.constant_pacing(0.05), tasks = { go = 1 },\n"
    "})\n"
    "function A:on_start() self.client:get(\"/hello\", { name = \"start_a\" }) end\n"
    "function B:on_start() self.client:get(\"/hello\", { name = \"start_b\" }) end\n"
    "function A:go() self.client:get(\"/hello\", { name = \"a\" }) end\n"
    "function B:go() self.client:get(\"/hello\", { name = \"b\" }) end\n";

Test(weights, class_weights_three_to_one)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 2), 0, "cicada-target did not start");
    run_target(&r, &t, two_classes, "40");
    /* Users are dealt to classes by smooth weighted round-robin (30 and 10), each pacing at 20
     * tasks/s: the ratio varies only with spawn timing, not by chance. */
    expect_ratio(r.json, "a", "b", 3.0, 1000);
    long sa = h_requests(r.json, "GET", "start_a"), sb = h_requests(r.json, "GET", "start_b");
    cr_expect_eq(sa + sb, 40, "on_start ran %ld + %ld times for 40 users", sa, sb);
    cr_expect(sa >= 27 && sa <= 33, "%ld of 40 users are of the weight-3 class", sa);
    cr_expect_eq(json_integer_value(json_object_get(r.json, "user_count")), 40);
    h_run_free(&r);
}
