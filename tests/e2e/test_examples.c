/* The shipped example scenarios run cleanly against cicada-target. */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(examples, .fini = h_cleanup, .timeout = 60);

Test(examples, basic_runs_without_failures_or_exceptions)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", SOURCE_DIR "/examples/basic.lua", "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "20", "-r", "100", "-t",
                          "3s", "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_eq(h_total_failures(r.json), 0);
    cr_expect_eq(json_array_size(json_object_get(r.json, "exceptions")), 0);
    cr_expect_eq(h_requests(r.json, "GET", "/json"), 20, "on_start runs once per visitor");
    cr_expect_gt(h_requests(r.json, "GET", "/hello"), 0);
    cr_expect_gt(h_requests(r.json, "GET", "/bytes/[size]"), 0, "name= groups the item URLs");
    cr_expect_eq(h_target_requests(&t, h_total_requests(r.json)), h_total_requests(r.json));
    h_run_free(&r);
}
