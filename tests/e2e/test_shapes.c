/* Load shapes: stages and shape functions drive the user count; nil ends the test. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

TestSuite(shapes, .fini = h_cleanup, .timeout = 60);

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

#define USERS                                                                                      \
    "local U = cicada.user('U', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"        \
    "function U:on_start() self.client:get('/hello', { name = 'start' }) end\n"                    \
    "function U:t() self.client:get('/hello', { name = 't' }) end\n"

static const char *stages = "local cicada = require 'cicada'\n"
                            "cicada.stages {\n"
                            "  { duration = 1, users = 2, rate = 10 },\n"
                            "  { duration = '2s', users = 5, rate = 50 },\n"
                            "  { duration = 1, users = 1, rate = 20 },\n"
                            "}\n" USERS;

/* The history's user counts, as a string like "2 2 5 5 1 0 ". */
static const char *user_counts(json_t *doc)
{
    const char *s = "";
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(doc, "history"), i, h)
    {
        s = h_strf("%s%lld ", s, json_integer_value(json_object_get(h, "user_count")));
    }
    return s;
}

Test(shapes, stages_drive_the_user_count_then_end_the_test)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, stages, "-H", host(), "-t", "30s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_lt(r.elapsed_s, 8, "the stages last 4 s; the run took %.1f s", r.elapsed_s);
    cr_expect_geq(r.elapsed_s, 3.5, "the run ended before the last stage: %.1f s", r.elapsed_s);
    cr_expect(h_contains(r.err, "Load shape: 2 users"), "no log for stage 1");
    cr_expect(h_contains(r.err, "Load shape: 5 users"), "no log for stage 2");
    cr_expect(h_contains(r.err, "Load shape: 1 users"), "no log for stage 3");
    const char *counts = user_counts(r.json);
    cr_expect(strstr(counts, "2 ") && strstr(counts, " 5 "), "history user counts: %s", counts);
    /* Users only grow from 2 to 5, so exactly 5 users started. */
    cr_expect_eq(h_requests(r.json, "GET", "start"), 5);
    h_run_free(&r);
}

Test(shapes, end_of_stages_log_names_the_users_running_then)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, stages, "-H", host(), "-t", "30s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_EXIT(&r, 0);
    char *line = h_line_with(r.err, "Load shape finished");
    cr_assert_not_null(line, "no log line at the end of the shape");
    /* The last stage ramped down to 1 user in 0.2 s, a second before the shape ended. */
    cr_expect(strstr(line, "stopping 1 user"), "stage 3 runs 1 user, yet: %s", line);
    free(line);
    h_run_free(&r);
}

static const char *shape_fn = "local cicada = require 'cicada'\n"
                              "cicada.shape(function(t)\n"
                              "  io.stderr:write(string.format('SHAPE %.1f\\n', t))\n"
                              "  if t < 1 then return 3, 30 end\n"
                              "  if t < 3.5 then return 6, 30 end\n"
                              "  return nil\n"
                              "end)\n" USERS;

Test(shapes, shape_function_sets_the_users_and_nil_ends_the_test)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, shape_fn, "-H", host(), "-t", "30s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect_lt(r.elapsed_s, 6, "nil should end the run near 4 s: %.1f s", r.elapsed_s);
    cr_expect_eq(h_requests(r.json, "GET", "start"), 6);
    const char *counts = user_counts(r.json);
    cr_expect(strstr(counts, "3 ") && strstr(counts, "6 "), "history user counts: %s", counts);
    /* Called about once a second: 4 or 5 calls for a 4 s shape, never dozens. */
    long calls = h_count(r.err, "SHAPE ");
    cr_expect(calls >= 3 && calls <= 6, "the shape was called %ld times", calls);
    h_run_free(&r);
}

static const char *shape_classes =
    "local cicada = require 'cicada'\n"
    "cicada.shape(function(t)\n"
    "  if t < 2 then return 4, 40, { 'Beta' } end\n"
    "  return nil\n"
    "end)\n"
    "for _, n in ipairs { 'Alpha', 'Beta' } do\n"
    "  local C = cicada.user(n, { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "  function C:t() self.client:get('/hello', { name = n }) end\n"
    "end\n";

Test(shapes, shape_can_choose_the_user_classes)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, shape_classes, "-H", host(), "-t", "30s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_gt(h_requests(r.json, "GET", "Beta"), 10);
    cr_expect_eq(h_requests(r.json, "GET", "Alpha"), -1, "a class the shape left out ran");
    h_run_free(&r);
}

static const char *plain = "local cicada = require 'cicada'\n" USERS;

/* Three users are all running 0.03 s after the start; the stop log at 1 s must say so. */
Test(shapes, run_time_log_names_the_users_running_then)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, plain, "-H", host(), "-u", "3", "-r", "100", "-t", "1s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_eq(h_requests(r.json, "GET", "start"), 3);
    char *line = h_line_with(r.err, "Run time limit reached");
    cr_assert_not_null(line, "no log line at the run time limit");
    cr_expect(strstr(line, "stopping 3 users"), "3 users were running, yet: %s", line);
    free(line);
    h_run_free(&r);
}
