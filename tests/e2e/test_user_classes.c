/* The user classes as Locust's later versions set them: --config-users (2.21) and -f given
 * several files or a directory (2.31). */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

TestSuite(user_classes, .fini = h_cleanup, .timeout = 60);

/* A has two tasks and no host; B has one task, weight 3 and a host that refuses connections. */
static const char *two_classes =
    "local cicada = require 'cicada'\n"
    "local A = cicada.user('A', { wait_time = cicada.constant(0.02), tasks = { t1 = 1, t2 = 1 } "
    "})\n"
    "function A:t1() self.client:get('/hello', { name = 't1' }) end\n"
    "function A:t2() self.client:get('/hello', { name = 't2' }) end\n"
    "local B = cicada.user('B', { wait_time = cicada.constant(0.02), weight = 3,\n"
    "                             host = 'http://127.0.0.1:1', tasks = { b = 1 } })\n"
    "function B:b() self.client:get('/hello', { name = 'b' }) end\n";

static h_target_t target;

static const char *target_url(void)
{
    return h_strf("http://%s:%d", H_HOST, target.port);
}

/* fixed_count, weight, tasks and host replace the classes' own, as Locust's
 * update_user_class(): A runs 2 users of t1 only, B's 3 users reach the target. */
Test(user_classes, config_users_sets_counts_tasks_and_host)
{
    cr_assert_eq(h_target_start(&target, 1), 0);
    const char *cfg =
        h_strf("[{\"user_class_name\": \"A\", \"fixed_count\": 2, \"tasks\": [\"t1\"], "
               "\"host\": \"%s\"}, {\"user_class_name\": \"B\", \"weight\": 1, "
               "\"host\": \"%s\"}]",
               target_url(), target_url());
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, two_classes, "-u", "5", "-r", "100", "-t", "2s",
                          "--config-users", cfg, H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect(h_contains(r.err, "A: 2, B: 3"), "users per class:\n%s", r.err);
    cr_expect_gt(h_requests(r.json, "GET", "t1"), 20);
    cr_expect_null(h_entry(r.json, "GET", "t2"), "t2 left out");
    cr_expect_gt(h_requests(r.json, "GET", "b"), 20);
    cr_expect_eq(h_total_failures(r.json), 0, "B's host from the configuration");
    h_run_free(&r);
    h_target_stop(&target);
}

/* A single object, read from a file; weights then decide the listing's shares. */
Test(user_classes, config_users_from_a_file)
{
    const char *file = h_strf("%s/users.json", h_tmpdir());
    const char *cfg = "{\"user_class_name\": \"B\", \"weight\": 1}";
    cr_assert_eq(h_write_file(file, cfg, strlen(cfg)), 0);
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, two_classes, "--show-task-ratio", "--config-users", file, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(h_contains(r.out, "50.0%  A") && h_contains(r.out, "50.0%  B"), "%s", r.out);
    h_run_free(&r);
}

/* Unknown classes and tasks, bad values and bad JSON are configuration errors (exit 2) that
 * name what is wrong. */
Test(user_classes, config_users_rejects_unknown_names)
{
    static const char *cases[][2] = {
        {"[{\"user_class_name\": \"C\"}]", "unknown user class 'C'"},
        {"{\"user_class_name\": \"A\", \"tasks\": [\"t1\", \"zz\"]}", "has no task 'zz'"},
        {"{\"user_class_name\": \"A\", \"weight\": -1}", "weight must be a whole number"},
        {"[{\"weight\": 1}]", "user_class_name is missing"},
        {"[{\"user_class_name\": \"A\"", "--config-users"},
        {"missing-file.json", "cannot read"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h_run_t r;
        cr_assert_eq(h_cicada(&r, NULL, two_classes, "-u", "1", "-t", "1s", "--config-users",
                              cases[i][0], H_LOAD_FLAGS, NULL),
                     0);
        H_ASSERT_EXIT(&r, 2);
        cr_expect(h_contains(r.err, cases[i][1]), "%s: %s", cases[i][0], r.err);
        h_run_free(&r);
    }
}
