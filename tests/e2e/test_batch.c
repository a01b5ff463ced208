/* Concurrent requests within a user: client:batch over HTTP/1.1 (all answered, each counted,
 * the per-host connection limit held, concurrent in time), pieces (cicada.gather) with
 * requests and sleeps, a failing piece, and a stop in the middle of a batch. */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(batch, .fini = h_cleanup, .timeout = 90);

/* nginx in front of a cicada-target: nginx logs every request with its connection, the
 * target serves /delay/MS. */
static void start_servers(h_target_t *t, h_nginx_t *n)
{
    cr_assert_eq(h_target_start(t, 1), 0, "cicada-target did not start");
    h_nginx_opts_t o = {.proxy_port = t->port};
    cr_assert_eq(h_nginx_start(n, &o), 0, "nginx did not start");
}

/* One user; its task sends a batch of ten delayed requests (the options of the batch given
 * as BATCH_OPTS) and records how long the batch took as ("BATCH", "ten"). */
#define BATCH_SCENARIO(delay, opts)                                                                \
    "local cicada = require \"cicada\"\n"                                                          \
    "local U = cicada.user(\"Page\", { wait_time = cicada.constant(0), tasks = { load = 1 } })\n"  \
    "function U:load()\n"                                                                          \
    "  local reqs = {}\n"                                                                          \
    "  for i = 1, 10 do reqs[i] = { \"GET\", \"/delay/" delay "\" } end\n"                         \
    "  local t0 = cicada.time()\n"                                                                 \
    "  local rs = self.client:batch(reqs" opts ")\n"                                               \
    "  local ok = #rs == 10\n"                                                                     \
    "  for i = 1, 10 do ok = ok and rs[i].status == 200 end\n"                                     \
    "  cicada.record{ type = \"BATCH\", name = \"ten\",\n"                                         \
    "                 response_time = (cicada.time() - t0) * 1000,\n"                              \
    "                 error = not ok and \"a response is missing or failed\" or nil }\n"           \
    "end\n"

/* The run lets the last batch finish (--stop-timeout), so every request is counted. */
static void run_batches(h_run_t *r, const h_nginx_t *n, const char *scenario)
{
    cr_assert_eq(h_cicada(r, NULL, scenario, "-H", h_strf("http://%s:%d", H_HOST, n->port), "-u",
                          "1", "-r", "1", "-t", "2s", "--stop-timeout", "10", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(r, 0);
    H_ASSERT_JSON(r);
    H_EXPECT_NO_EXCEPTIONS(r);
}

Test(batch, ten_requests_counted_on_at_most_six_connections)
{
    h_target_t t;
    h_nginx_t n;
    h_run_t r;
    start_servers(&t, &n);
    run_batches(&r, &n, BATCH_SCENARIO("300", ""));
    long sent = h_requests(r.json, "GET", "/delay/300"),
         batches = h_requests(r.json, "BATCH", "ten");
    cr_assert_gt(batches, 0);
    cr_expect_eq(h_failures(r.json, "BATCH", "ten"), 0);
    cr_expect_eq(sent, 10 * batches, "%ld requests in %ld batches", sent, batches);
    cr_expect_eq(h_failures(r.json, "GET", "/delay/300"), 0);
    cr_expect_eq(h_nginx_count(&n, "access.log", "/delay/300", sent), sent);
    cr_expect_eq(h_nginx_count(&n, "access.log", NULL, sent), sent);
    /* Six connections, kept alive from one batch to the next. */
    cr_expect_eq(h_nginx_connections(&n, "access.log"), 6);
    /* Ten requests on six connections: two rounds of the delay, not ten. */
    json_t *e = h_entry(r.json, "BATCH", "ten");
    cr_expect_geq(h_num(e, "min_response_time"), 590, "%.0f ms", h_num(e, "min_response_time"));
    cr_expect_lt(h_num(e, "max_response_time"), 1500, "%.0f ms", h_num(e, "max_response_time"));
    /* Each request is timed on its own, from when it went on a connection. */
    json_t *d = h_entry(r.json, "GET", "/delay/300");
    cr_expect_lt(h_num(d, "max_response_time"), 600, "%.0f ms", h_num(d, "max_response_time"));
    h_run_free(&r);
}

Test(batch, connections_per_host_of_the_call)
{
    h_target_t t;
    h_nginx_t n;
    h_run_t r;
    start_servers(&t, &n);
    run_batches(&r, &n, BATCH_SCENARIO("400", ", { connections_per_host = 10 }"));
    long sent = h_requests(r.json, "GET", "/delay/400");
    cr_expect_eq(sent, 10 * h_requests(r.json, "BATCH", "ten"));
    cr_expect_eq(h_nginx_count(&n, "access.log", NULL, sent), sent);
    cr_expect_eq(h_nginx_connections(&n, "access.log"), 10);
    json_t *e = h_entry(r.json, "BATCH", "ten");
    cr_expect_lt(h_num(e, "max_response_time"), 780, "%.0f ms: not one round",
                 h_num(e, "max_response_time"));
    h_run_free(&r);
}

Test(batch, class_option_and_request_forms)
{
    h_target_t t;
    h_nginx_t n;
    h_run_t r;
    start_servers(&t, &n);
    const char *scenario =
        "local cicada = require \"cicada\"\n"
        "local U = cicada.user(\"Page\", { wait_time = cicada.constant(0), tasks = { load = 1 },\n"
        "                                  connections_per_host = 2 })\n"
        "function U:load()\n"
        "  local rs = self.client:batch({ \"/delay/100\", { \"GET\", \"/delay/100\", { name = "
        "\"named\" } },\n"
        "    { method = \"POST\", url = \"/delay/100\", json = { a = 1 } },\n"
        "    { url = \"/status/404\", catch_response = true } })\n"
        "  rs[4]:success()\n"
        "  local ok = rs[1].status == 200 and rs[2].name == \"named\" and rs[3].status == 200\n"
        "  cicada.record{ type = \"CHECK\", name = \"forms\", response_time = 0,\n"
        "                 error = not ok and \"wrong responses\" or nil }\n"
        "end\n";
    run_batches(&r, &n, scenario);
    long checks = h_requests(r.json, "CHECK", "forms");
    cr_assert_gt(checks, 0);
    cr_expect_eq(h_failures(r.json, "CHECK", "forms"), 0);
    cr_expect_eq(h_requests(r.json, "GET", "/delay/100"), checks);
    cr_expect_eq(h_requests(r.json, "GET", "named"), checks);
    cr_expect_eq(h_requests(r.json, "POST", "/delay/100"), checks);
    cr_expect_eq(h_requests(r.json, "GET", "/status/404"), checks);
    cr_expect_eq(h_failures(r.json, "GET", "/status/404"), 0, "catch_response: success()");
    cr_expect_eq(h_nginx_count(&n, "access.log", NULL, 4 * checks), 4 * checks);
    cr_expect_eq(h_nginx_connections(&n, "access.log"), 2);
    h_run_free(&r);
}

Test(batch, pieces_with_requests_and_sleeps)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    const char *scenario =
        "local cicada = require \"cicada\"\n"
        "local U = cicada.user(\"Pieces\", { wait_time = cicada.constant(0), tasks = { run = 1 } "
        "})\n"
        "function U:run()\n"
        "  local t0 = cicada.time()\n"
        "  local a, b, c = cicada.gather(\n"
        "    function() self.client:get(\"/hello\") cicada.sleep(0.2) return "
        "self.client:get(\"/json\").status end,\n"
        "    function() cicada.sleep(0.1) return self.client:get(\"/delay/200\").status end,\n"
        "    function() return \"at once\" end)\n"
        "  local g = cicada.waitgroup()\n"
        "  g:go(function(x) cicada.sleep(0.05) return x * 2 end, 21)\n"
        "  local d = g:wait()\n"
        "  local g2 = cicada.waitgroup()\n"
        "  g2:go(function() cicada.sleep(0.01) end)\n"
        "  local elsewhere = cicada.gather(function() return select(2, pcall(g2.wait, g2)) end)\n"
        "  g2:wait()\n"
        "  local ok = a == 200 and b == 200 and c == \"at once\" and d == 42\n"
        "    and tostring(elsewhere):find(\"wait where the pieces were started\", 1, true)\n"
        "  cicada.record{ type = \"PIECES\", name = \"gather\",\n"
        "                 response_time = (cicada.time() - t0) * 1000,\n"
        "                 error = not ok and (\"results \" .. tostring(a) .. tostring(b) .. "
        "tostring(c) .. tostring(d)) or nil }\n"
        "end\n";
    cr_assert_eq(h_cicada(&r, NULL, scenario, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u",
                          "3", "-r", "10", "-t", "2s", "--stop-timeout", "10", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    long runs = h_requests(r.json, "PIECES", "gather");
    cr_assert_gt(runs, 3);
    cr_expect_eq(h_failures(r.json, "PIECES", "gather"), 0);
    cr_expect_eq(h_requests(r.json, "GET", "/hello"), runs);
    cr_expect_eq(h_requests(r.json, "GET", "/json"), runs);
    cr_expect_eq(h_requests(r.json, "GET", "/delay/200"), runs);
    cr_expect_eq(h_target_requests(&t, 3 * runs), 3 * runs);
    /* The pieces overlap: 0.3 s and 0.2 s side by side, then 0.05 s; 0.55 s one after the
     * other. */
    json_t *e = h_entry(r.json, "PIECES", "gather");
    cr_expect_geq(h_num(e, "min_response_time"), 340);
    cr_expect_lt(h_num(e, "max_response_time"), 520, "%.0f ms", h_num(e, "max_response_time"));
    h_run_free(&r);
}

Test(batch, a_failing_piece_raises_in_its_task_once_the_others_end)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    const char *scenario =
        "local cicada = require \"cicada\"\n"
        "local U = cicada.user(\"Pieces\", { wait_time = cicada.constant(0), tasks = { run = 1 } "
        "})\n"
        "function U:run()\n"
        "  cicada.gather(function() self.client:get(\"/delay/200\", { name = \"slow\" }) end,\n"
        "                function() cicada.sleep(0.05) error(\"piece failed\") end)\n"
        "  self.client:get(\"/hello\")\n"
        "end\n";
    cr_assert_eq(h_cicada(&r, NULL, scenario, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u",
                          "2", "-r", "10", "-t", "2s", "--stop-timeout", "10", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_JSON(&r);
    long slow = h_requests(r.json, "GET", "slow");
    cr_assert_gt(slow, 4);
    cr_expect_eq(h_failures(r.json, "GET", "slow"), 0);
    cr_expect_eq(h_requests(r.json, "GET", "/hello"), -1, "the task went on after the error");
    cr_expect_eq(h_exception_count(r.json, "piece failed"), slow);
    json_t *ex = h_exception(r.json, "piece failed");
    const char *tb = json_string_value(json_object_get(ex, "traceback"));
    cr_expect(tb && strstr(tb, ":5:"), "the piece's own traceback: %s", tb ? tb : "(none)");
    cr_expect_eq(h_target_requests(&t, slow), slow);
    h_run_free(&r);
}

/* Stopped at once in the middle of a batch: the requests in flight are awaited for the
 * engine's grace (2 s), those answered are counted (their request event fires), the others
 * reported as in flight at the stop, and one still waiting for a connection is never sent.
 * What nginx logged (answers and 499s) is exactly their sum. */
Test(batch, stop_in_the_middle_of_a_batch)
{
    h_target_t t;
    h_nginx_t n;
    h_run_t r;
    start_servers(&t, &n);
    const char *scenario = "local cicada = require \"cicada\"\n"
                           "cicada.events.request:add(function(req)\n"
                           "  io.stderr:write('EVT ' .. req.name .. '\\n')\n"
                           "end)\n"
                           "local U = cicada.user(\"Page\", { wait_time = cicada.constant(0), "
                           "tasks = { load = 1 } })\n"
                           "function U:load()\n"
                           "  local reqs = {}\n"
                           "  for i = 1, 10 do\n"
                           "    local ms = i <= 3 and 1500 or 3500\n"
                           "    reqs[i] = { \"GET\", \"/delay/\" .. ms }\n"
                           "  end\n"
                           "  self.client:batch(reqs)\n"
                           "end\n";
    cr_assert_eq(h_cicada(&r, NULL, scenario, "-H", h_strf("http://%s:%d", H_HOST, n.port), "-u",
                          "1", "-r", "1", "-t", "1s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect_eq(h_requests(r.json, "GET", "/delay/1500"), 3);
    cr_expect_eq(h_requests(r.json, "GET", "/delay/3500"), -1);
    long in_flight = h_in_flight_total(r.json);
    cr_expect_eq(in_flight, 6, "3 sent at once, 3 on the connections freed during the grace");
    cr_expect_eq(h_nginx_count(&n, "access.log", NULL, 3 + in_flight), 3 + in_flight);
    cr_expect_eq(h_nginx_count(&n, "access.log", "/delay/1500", -1), 3);
    cr_expect_eq(h_count(r.err, "EVT "), 3, "request events: %ld", h_count(r.err, "EVT "));
    cr_expect_eq(h_count(r.err, "EVT /delay/1500\n"), 3);
    h_run_free(&r);
}
