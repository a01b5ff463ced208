/* User and test lifecycle: on_start/on_stop once per user, task errors, stopping on signals. */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(lifecycle, .fini = h_cleanup, .timeout = 60);

static const char *hooks =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Hooked\", {\n"
    "  wait_time = cicada.constant(0.1),\n"
    "  tasks = { work = 1 },\n"
    "})\n"
    "function U:on_start() self.client:get(\"/hello\", { name = \"on_start\" }) end\n"
    "function U:on_stop() self.client:get(\"/hello\", { name = \"on_stop\" }) end\n"
    "function U:work() self.client:get(\"/hello\", { name = \"work\" }) end\n";

static void start_target(h_target_t *t)
{
    cr_assert_eq(h_target_start(t, 1), 0, "cicada-target did not start");
}

Test(lifecycle, on_start_and_on_stop_run_once_per_user)
{
    h_target_t t;
    h_run_t r;
    start_target(&t);
    cr_assert_eq(h_cicada(&r, NULL, hooks, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u", "10",
                          "-r", "100", "-t", "2s", "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_eq(h_requests(r.json, "GET", "on_start"), 10);
    cr_expect_eq(h_requests(r.json, "GET", "on_stop"), 10);
    cr_expect_gt(h_requests(r.json, "GET", "work"), 50, "10 users x 2 s at 10 tasks/s");
    cr_expect_eq(h_target_requests(&t, h_total_requests(r.json)), h_total_requests(r.json));
    h_run_free(&r);
}

/* Each run of the task makes one request, then raises: the two counts must be equal, and the
 * user must go on with its next task after each error. */
static const char *raising = "local cicada = require \"cicada\"\n"
                             "local U = cicada.user(\"Raiser\", {\n"
                             "  wait_time = cicada.constant(0.02),\n"
                             "  tasks = { explode = 1 },\n"
                             "})\n"
                             "function U:explode()\n"
                             "  self.client:get(\"/hello\", { name = \"before\" })\n"
                             "  error(\"boom\")\n"
                             "end\n";

Test(lifecycle, task_error_is_counted_and_the_user_goes_on)
{
    h_target_t t;
    h_run_t r;
    start_target(&t);
    cr_assert_eq(h_cicada(&r, NULL, raising, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u",
                          "2", "-r", "10", "-t", "2s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    long before = h_requests(r.json, "GET", "before");
    cr_expect_gt(before, 20, "users stopped after their first error (%ld requests)", before);
    cr_expect_eq(h_failures(r.json, "GET", "before"), 0);
    /* One exception per task run; a user stopped while its request is in flight gets that
     * request counted, but its task ends there, before the raise: up to one per user less. */
    long booms = h_exception_count(r.json, "boom");
    cr_expect(booms <= before && booms >= before - 2, "%ld exceptions for %ld task runs", booms,
              before);
    json_t *e = h_exception(r.json, "boom");
    cr_assert_not_null(e, "no exception with message \"boom\"");
    const char *tb = json_string_value(json_object_get(e, "traceback"));
    cr_expect(h_contains(tb, "scenario.lua:8"), "traceback lacks the raising line: %s",
              tb ? tb : "(none)");
    h_run_free(&r);
}

/* A task that raises inside a sequence of a group: the sequence goes on from the next task
 * (the order holds across errors), each error is counted once, and its traceback shows the
 * script's frames only, down to the task (no frame of the library's loop). The checks raise
 * other messages than "seq boom" on a mismatch. */
static const char *raising_in_sequence =
    "local cicada = require \"cicada\"\n"
    "local order = ''\n"
    "local seq = cicada.sequence { tasks = {\n"
    "  function(self) order = order .. 'a'; self.client:get('/hello', { name = 'a' }) end,\n"
    "  function(self) order = order .. 'b'; error('seq boom') end,\n"
    "  function(self)\n"
    "    order = order .. 'c'\n"
    "    if order ~= ('abc'):rep(#order / 3) then error('order ' .. order) end\n"
    "    if #order >= 30 then self:interrupt() end\n"
    "  end,\n"
    "} }\n"
    "local U = cicada.user(\"Seq\", { wait_time = cicada.constant(0.01), tasks = { seq } })\n";

Test(lifecycle, task_error_in_a_sequence_keeps_its_order)
{
    h_target_t t;
    h_run_t r;
    start_target(&t);
    cr_assert_eq(h_cicada(&r, NULL, raising_in_sequence, "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "1", "-r", "10", "-t", "2s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    long a = h_requests(r.json, "GET", "a");
    cr_expect_gt(a, 5, "the sequence stopped (%ld runs of its first task)", a);
    long booms = h_exception_count(r.json, "seq boom");
    cr_expect(booms == a || booms == a - 1, "%ld errors for %ld runs", booms, a);
    cr_expect_eq(json_array_size(json_object_get(r.json, "exceptions")), 1,
                 "an exception other than the task's");
    json_t *e = h_exception(r.json, "seq boom");
    cr_assert_not_null(e);
    const char *tb = json_string_value(json_object_get(e, "traceback"));
    cr_expect(h_contains(tb, "scenario.lua:5: in function <"), "traceback: %s", tb);
    cr_expect(!h_contains(tb, "\tcicada:"), "library frames in the traceback: %s", tb);
    h_run_free(&r);
}

static const char *steady = "local cicada = require \"cicada\"\n"
                            "local U = cicada.user(\"Steady\", {\n"
                            "  wait_time = cicada.constant(0.01),\n"
                            "  tasks = { hello = 1 },\n"
                            "})\n"
                            "function U:hello() self.client:get(\"/hello\") end\n";

/* A 60 s run receives sig after 2 s: it must stop within a few seconds with complete reports. */
static void expect_stops_on(int sig)
{
    h_target_t t;
    h_run_t r;
    h_run_opts_t o = {.timeout_s = 15, .signal_after_s = 2, .signal = sig};
    start_target(&t);
    cr_assert_eq(h_cicada(&r, &o, steady, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u", "5",
                          "-r", "100", "-t", "60s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    cr_expect_lt(r.elapsed_s, 7, "took %.1f s to stop after the signal at 2 s", r.elapsed_s);
    H_ASSERT_JSON(&r);
    cr_expect_gt(h_total_requests(r.json), 0);
    cr_expect_gt(h_requests(r.json, "GET", "/hello"), 0);
    /* --only-summary: only the final report prints the Aggregated row. */
    cr_expect(h_contains(r.err, "Aggregated"), "no final report on stderr");
    h_run_free(&r);
}

Test(lifecycle, sigint_stops_the_run_and_reports)
{
    expect_stops_on(SIGINT);
}

Test(lifecycle, sigterm_stops_the_run_and_reports)
{
    expect_stops_on(SIGTERM);
}
