/* The user classes as Locust's later versions set them: --config-users (2.21) and -f given
 * several files or a directory (2.31). */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

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

/* ---- -f with several files or a directory ------------------------------------------------- */

static const char *file_a = "local cicada = require 'cicada'\n"
                            "local helper = require '_names'\n"
                            "local A = cicada.user('A', { wait_time = cicada.constant(0.02),\n"
                            "                             tasks = { go = 1 } })\n"
                            "function A:go() self.client:get('/hello', { name = helper.a }) end\n";
static const char *file_b = "local cicada = require 'cicada'\n"
                            "local B = cicada.user('B', { wait_time = cicada.constant(0.02),\n"
                            "                             tasks = { go = 1 } })\n"
                            "function B:go() self.client:get('/hello', { name = 'from_b' }) end\n";
static const char *helper = "return { a = 'from_a' }\n";

/* A directory of scenario files: a.lua, b.lua and a helper module a.lua requires. */
static const char *scenario_dir(void)
{
    const char *dir = h_strf("%s/scenarios", h_tmpdir());
    cr_assert_eq(mkdir(dir, 0755), 0);
    cr_assert_eq(h_write_file(h_strf("%s/a.lua", dir), file_a, strlen(file_a)), 0);
    cr_assert_eq(h_write_file(h_strf("%s/b.lua", dir), file_b, strlen(file_b)), 0);
    cr_assert_eq(h_write_file(h_strf("%s/_names.lua", dir), helper, strlen(helper)), 0);
    return dir;
}

/* A directory stands for its *.lua files (not those starting with '_', which it can require):
 * both classes run, as Locust 2.31 runs every locustfile of a directory. */
Test(user_classes, a_directory_merges_its_files)
{
    cr_assert_eq(h_target_start(&target, 1), 0);
    const char *dir = scenario_dir();
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", dir, "-H", target_url(), "-u", "4", "-r", "100",
                          "-t", "2s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect(h_contains(r.err, "A: 2, B: 2"), "users per class:\n%s", r.err);
    cr_expect_gt(h_requests(r.json, "GET", "from_a"), 20);
    cr_expect_gt(h_requests(r.json, "GET", "from_b"), 20);
    h_run_free(&r);
    h_target_stop(&target);
}

/* Comma-separated files, as Locust 2.31: their classes are listed together, in file order. */
Test(user_classes, comma_separated_files_are_listed_together)
{
    const char *dir = scenario_dir();
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", h_strf("%s/b.lua,%s/a.lua", dir, dir), "-l", NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(strstr(r.out, "B: go\nA: go") != NULL, "%s", r.out);
    h_run_free(&r);
}

/* A class name defined in two files stops cicada (exit 2) with both files named; so does a file
 * that cannot be read. */
Test(user_classes, a_class_in_two_files_names_both)
{
    const char *dir = scenario_dir(), *other = h_strf("%s/other.lua", h_tmpdir());
    cr_assert_eq(h_write_file(other, file_b, strlen(file_b)), 0);
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", h_strf("%s,%s", dir, other), "-l", NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(
        h_contains(r.err, h_strf("user class 'B' is defined in both %s/b.lua and %s", dir, other)),
        "%s", r.err);
    h_run_free(&r);
    cr_assert_eq(
        h_cicada(&r, NULL, NULL, "-f", h_strf("%s/a.lua,%s/none.lua", dir, dir), "-l", NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "none.lua"), "%s", r.err);
    h_run_free(&r);
}
