/* Failure classification: HTTP error statuses, refused and reset connections, timeouts. */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(failures, .fini = h_cleanup, .timeout = 60);

#define SHORT_RUN "-u", "4", "-r", "100", "-t", "2s", H_LOAD_FLAGS

static const char *status_scenario =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Failer\", {\n"
    "  wait_time = cicada.constant(0.02),\n"
    "  tasks = { not_found = 1, server_error = 1, fine = 1 },\n"
    "})\n"
    "function U:not_found() self.client:get(\"/status/404\") end\n"
    "function U:server_error() self.client:get(\"/status/500\") end\n"
    "function U:fine() self.client:get(\"/hello\") end\n";

/* Every request of name failed, with errors[] text starting with prefix and counting them all. */
static void expect_all_failed(json_t *doc, const char *name, const char *prefix)
{
    long n = h_requests(doc, "GET", name);
    cr_expect_gt(n, 0, "%s: no requests", name);
    cr_expect_eq(h_failures(doc, "GET", name), n, "%s: not every request failed", name);
    json_t *e = h_error(doc, "GET", name, prefix);
    cr_expect_not_null(e, "%s: no error starting with \"%s\"", name, prefix);
    cr_expect_eq(h_error_occurrences(doc, name), n, "%s: error occurrences != failures", name);
}

Test(failures, http_error_statuses_are_failures)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, status_scenario, "-H", h_strf("http://%s:%d", H_HOST, t.port),
                          SHORT_RUN, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    expect_all_failed(r.json, "/status/404", "HTTP 404 ");
    expect_all_failed(r.json, "/status/500", "HTTP 500 ");
    cr_expect_gt(h_requests(r.json, "GET", "/hello"), 0);
    cr_expect_eq(h_failures(r.json, "GET", "/hello"), 0, "200 responses counted as failures");
    long failed =
        h_failures(r.json, "GET", "/status/404") + h_failures(r.json, "GET", "/status/500");
    cr_expect_eq(h_total_failures(r.json), failed);
    h_run_free(&r);
}

Test(failures, exit_code_on_error_is_configurable)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, status_scenario, "-H", h_strf("http://%s:%d", H_HOST, t.port),
                          "-u", "1", "-r", "10", "-t", "1s", "--exit-code-on-error", "7",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 7);
    h_run_free(&r);
}

static const char *named_scenario =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Failer\", {\n"
    "  wait_time = cicada.constant(0.05),\n"
    "  tasks = { probe = 1 },\n"
    "})\n"
    "function U:probe() self.client:get(\"/probe\", { name = \"probe\" }) end\n";

/* Runs named_scenario against port and expects every request to fail with prefix. */
static void expect_transport_failures(int port, const char *prefix)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, named_scenario, "-H", h_strf("http://%s:%d", H_HOST, port),
                          SHORT_RUN, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    expect_all_failed(r.json, "probe", prefix);
    cr_expect_eq(h_total_failures(r.json), h_total_requests(r.json));
    h_run_free(&r);
}

Test(failures, refused_connection_is_a_failure)
{
    int port = h_free_port();
    cr_assert_gt(port, 0);
    expect_transport_failures(port, "connection refused");
}

/* A request that got no response: status 0, r.ok false and the failure text in r.error. */
Test(failures, transport_failure_fills_the_response_error)
{
    int port = h_free_port();
    cr_assert_gt(port, 0);
    h_run_t r;
    cr_assert_eq(
        h_cicada(&r, NULL,
                 "local cicada = require 'cicada'\n"
                 "local U = cicada.user('F', { wait_time = cicada.constant(0.05),\n"
                 "                             tasks = { probe = 1 } })\n"
                 "function U:probe()\n"
                 "  local r = self.client:get('/probe', { name = 'probe' })\n"
                 "  assert(r.status == 0 and r.ok == false, 'status ' .. r.status)\n"
                 "  assert(r.error and r.error:find('connection refused', 1, true),\n"
                 "         'error ' .. tostring(r.error))\n"
                 "  assert(r.body == '' and next(r.headers) == nil and #r.history == 0, 'rest')\n"
                 "end\n",
                 "-H", h_strf("http://%s:%d", H_HOST, port), SHORT_RUN, NULL),
        0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    expect_all_failed(r.json, "probe", "connection refused");
    h_run_free(&r);
}

Test(failures, reset_connection_is_a_failure)
{
    int port = h_rst_server_start();
    cr_assert_gt(port, 0, "resetting server did not start");
    expect_transport_failures(port, "connection reset");
}

/* Each request is sent once. The server answers the first request of each connection and
 * resets the second as it arrives: that request fails (it is not sent again on a fresh
 * connection behind the script's back), so the server read exactly as many requests as cicada
 * reports, successes and failures together. */
Test(failures, reset_on_a_reused_connection_is_one_failed_request)
{
    long *seen = h_shared_counter();
    cr_assert_not_null(seen);
    int port = h_reset_server_start(1, seen);
    cr_assert_gt(port, 0, "resetting server did not start");
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, named_scenario, "-H", h_strf("http://%s:%d", H_HOST, port),
                          SHORT_RUN, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    long total = h_total_requests(r.json), failed = h_total_failures(r.json);
    cr_assert_gt(total, 10, "only %ld requests", total);
    cr_expect_eq(__atomic_load_n(seen, __ATOMIC_SEQ_CST), total,
                 "the server read %ld requests, cicada reported %ld", *seen, total);
    /* Every other request of a connection fails (the users stop at any point). */
    cr_expect(failed >= total / 2 - 4 && failed <= total / 2 + 4, "%ld of %ld failed", failed,
              total);
    cr_expect_not_null(h_error(r.json, "GET", "probe",
                               "connection reset by peer (reading the "
                               "response, reused keep-alive connection)"),
                       "no error naming the reused connection");
    h_run_free(&r);
}

static const char *timeout_scenario =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Waiter\", {\n"
    "  wait_time = cicada.constant(0),\n"
    "  tasks = { slow = 1 },\n"
    "})\n"
    "function U:slow()\n"
    "  self.client:get(\"/delay/2000\", { name = \"slow\", timeout = 0.5 })\n"
    "end\n";

Test(failures, request_timeout_is_a_failure_at_the_timeout)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, timeout_scenario, "-H", h_strf("http://%s:%d", H_HOST, t.port),
                          "-u", "2", "-r", "10", "-t", "2s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    expect_all_failed(r.json, "slow", "timeout");
    json_t *e = h_entry(r.json, "GET", "slow");
    cr_expect_geq(h_num(e, "num_requests"), 4, "2 users x 2 s at 0.5 s per request");
    /* The time recorded is the time until the timeout fired: not earlier, not the full delay. */
    cr_expect_geq(h_num(e, "min_response_time"), 450);
    cr_expect_lt(h_num(e, "max_response_time"), 1500);
    h_run_free(&r);
}
