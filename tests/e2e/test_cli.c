/* Command line: usage and scenario errors exit 2 with a message naming the problem; durations. */
#include <criterion/criterion.h>
#include <sched.h>

#include "harness.h"

TestSuite(cli, .fini = h_cleanup, .timeout = 30);

static const char *good =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Idle\", { wait_time = cicada.constant(0.1), tasks = { hello = 1 } })\n"
    "function U:hello() self.client:get(\"/hello\") end\n";

/* Runs cicada with a scenario and arguments that must be rejected before any load starts. */
static void expect_usage_error(h_run_t *r, const char *scenario, const char *const *args)
{
    h_run_opts_t o = {.timeout_s = 10};
    cr_assert_eq(h_cicada_v(r, &o, scenario, args), 0);
    H_ASSERT_EXIT(r, 2);
    cr_expect_lt(r->elapsed_s, 5, "a usage error took %.1f s", r->elapsed_s);
    cr_expect_gt(r->err_len, 0, "no message on stderr");
}

Test(cli, syntax_error_names_file_and_line)
{
    h_run_t r;
    const char *bad = "local cicada = require \"cicada\"\n"
                      "local x = 1\n"
                      "local y = = 2\n";
    const char *args[] = {"-u", "1", "-t", "1s", "--headless", NULL};
    expect_usage_error(&r, bad, args);
    cr_expect(h_contains(r.err, "scenario.lua:3"), "stderr lacks file:line: %s", r.err);
    h_run_free(&r);
}

Test(cli, error_while_loading_names_file_line_and_message)
{
    h_run_t r;
    const char *bad = "local cicada = require \"cicada\"\n"
                      "error(\"no users defined here\")\n";
    const char *args[] = {"-u", "1", "-t", "1s", "--headless", NULL};
    expect_usage_error(&r, bad, args);
    cr_expect(h_contains(r.err, "scenario.lua:2"), "stderr lacks file:line: %s", r.err);
    cr_expect(h_contains(r.err, "no users defined here"), "stderr lacks the message: %s", r.err);
    h_run_free(&r);
}

Test(cli, missing_scenario_file)
{
    h_run_t r;
    const char *dir = h_tmpdir();
    const char *path = h_strf("%s/does-not-exist.lua", dir);
    const char *args[] = {"-f", path, "-u", "1", "-t", "1s", "--headless", NULL};
    expect_usage_error(&r, NULL, args);
    cr_expect(h_contains(r.err, "does-not-exist.lua"), "stderr does not name the file: %s", r.err);
    h_run_free(&r);
}

Test(cli, unknown_flag_is_named)
{
    h_run_t r;
    const char *args[] = {"--bogus-flag", "-u", "1", "-t", "1s", "--headless", NULL};
    expect_usage_error(&r, good, args);
    cr_expect(h_contains(r.err, "--bogus-flag"), "stderr does not name the flag: %s", r.err);
    h_run_free(&r);
}

Test(cli, non_numeric_user_count)
{
    h_run_t r;
    const char *args[] = {"-u", "abc", "-t", "1s", "--headless", NULL};
    expect_usage_error(&r, good, args);
    h_run_free(&r);
}

Test(cli, malformed_duration)
{
    h_run_t r;
    const char *args[] = {"-u", "1", "-t", "5x", "--headless", NULL};
    expect_usage_error(&r, good, args);
    h_run_free(&r);
}

Test(cli, version)
{
    h_run_t r;
    const char *args[] = {"--version", NULL};
    cr_assert_eq(h_cicada_v(&r, NULL, NULL, args), 0);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(h_contains(r.out, CICADA_VERSION) || h_contains(r.err, CICADA_VERSION),
              "no version " CICADA_VERSION " printed");
    h_run_free(&r);
}

Test(cli, help_lists_the_options)
{
    h_run_t r;
    const char *args[] = {"--help", NULL};
    cr_assert_eq(h_cicada_v(&r, NULL, NULL, args), 0);
    H_ASSERT_EXIT(&r, 0);
    const char *text = r.out_len ? r.out : r.err;
    cr_expect(h_contains(text, "--headless") && h_contains(text, "-f"), "help: %s", text);
    h_run_free(&r);
}

/* A bare number is seconds: the run stops by itself after 2 s. */
Test(cli, bare_number_duration_is_seconds, .timeout = 40)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, good, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u", "2",
                          "-r", "10", "-t", "2", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    double d = json_number_value(json_object_get(r.json, "duration_s"));
    cr_expect(d >= 1.8 && d <= 3.5, "duration_s = %.2f for -t 2", d);
    cr_expect_lt(r.elapsed_s, 8);
    h_run_free(&r);
}

static const char *idle = "local cicada = require 'cicada'\n"
                          "cicada.user('Idle', { wait_time = cicada.constant(0.1),\n"
                          "                      tasks = { t = function() end } })\n";

/* Without --threads, one engine thread per CPU the process may run on: pinned to one CPU (as
 * taskset or a container's cpuset would), cicada runs one engine, not one per online CPU. */
Test(cli, default_threads_follow_the_cpu_affinity)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0, "cannot pin the test to CPU 0");
    h_run_t r;
    const char *args[] = {"-u", "1", "-t", "1s", "--headless", NULL};
    cr_assert_eq(h_cicada_v(&r, NULL, idle, args), 0);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(h_contains(r.err, "(1 threads)"), "stderr: %s", r.err);
    h_run_free(&r);
}

Test(cli, explicit_threads_win_over_the_affinity)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0, "cannot pin the test to CPU 0");
    h_run_t r;
    const char *args[] = {"-u", "1", "-t", "1s", "--headless", "--threads", "3", NULL};
    cr_assert_eq(h_cicada_v(&r, NULL, idle, args), 0);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(h_contains(r.err, "(3 threads)"), "stderr: %s", r.err);
    h_run_free(&r);
}
