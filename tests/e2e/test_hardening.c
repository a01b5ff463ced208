/* Regression tests of the hardening issue: checks before the start, errors of the generator
 * itself, on_start errors, catch_response decisions, early signals, misspellings, saturation. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

TestSuite(hardening, .fini = h_cleanup, .timeout = 90);

static const char *target_url(h_target_t *t)
{
    cr_assert_eq(h_target_start(t, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, t->port);
}

/* on_start fails after its request: the user stops (no task runs), on_stop runs, and the error
 * is reported once per user with its traceback. */
static const char *failing_start = "local cicada = require \"cicada\"\n"
                                   "local U = cicada.user(\"Login\", {\n"
                                   "  wait_time = cicada.constant(0.05),\n"
                                   "  tasks = { work = 1 },\n"
                                   "})\n"
                                   "function U:on_start()\n"
                                   "  self.client:get(\"/hello\", { name = \"login\" })\n"
                                   "  error(\"login refused\")\n"
                                   "end\n"
                                   "function U:on_stop() self.client:get(\"/hello\", { name = "
                                   "\"logout\" }) end\n"
                                   "function U:work() self.client:get(\"/hello\", { name = "
                                   "\"work\" }) end\n";

Test(hardening, on_start_error_stops_the_user_and_runs_on_stop)
{
    h_target_t t;
    h_run_t r;
    const char *url = target_url(&t);
    cr_assert_eq(h_cicada(&r, NULL, failing_start, "-H", url, "-u", "3", "-r", "100", "-t", "2s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    cr_expect_eq(h_requests(r.json, "GET", "login"), 3);
    cr_expect_eq(h_requests(r.json, "GET", "logout"), 3);
    cr_expect_eq(h_requests(r.json, "GET", "work"), -1, "tasks ran after on_start failed");
    cr_expect_eq(h_exception_count(r.json, "login refused"), 3);
    json_t *e = h_exception(r.json, "login refused");
    cr_assert_not_null(e);
    const char *tb = json_string_value(json_object_get(e, "traceback"));
    cr_expect(h_contains(tb, "scenario.lua:8"), "traceback lacks the raising line: %s",
              tb ? tb : "(none)");
    h_run_free(&r);
}

/* Two decisions on one catch_response: the last wins, both ways. */
static const char *two_decisions =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Decider\", {\n"
    "  wait_time = cicada.constant(0.05),\n"
    "  tasks = { flip = 1 },\n"
    "})\n"
    "function U:flip()\n"
    "  local a = self.client:get(\"/hello\", { name = \"fail_then_ok\", catch_response = true })\n"
    "  a:failure(\"first\")\n"
    "  a:success()\n"
    "  local b = self.client:get(\"/hello\", { name = \"ok_then_fail\", catch_response = true })\n"
    "  b:success()\n"
    "  b:failure(\"second wins\")\n"
    "end\n";

Test(hardening, catch_response_last_decision_wins)
{
    h_target_t t;
    h_run_t r;
    const char *url = target_url(&t);
    cr_assert_eq(
        h_cicada(&r, NULL, two_decisions, "-H", url, "-u", "1", "-t", "1s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_JSON(&r);
    long n = h_requests(r.json, "GET", "fail_then_ok");
    cr_expect_gt(n, 3);
    cr_expect_eq(h_failures(r.json, "GET", "fail_then_ok"), 0);
    long m = h_requests(r.json, "GET", "ok_then_fail");
    cr_expect_gt(m, 3);
    cr_expect_eq(h_failures(r.json, "GET", "ok_then_fail"), m);
    cr_expect_not_null(h_error(r.json, "GET", "ok_then_fail", "second wins"));
    cr_expect_null(h_error(r.json, NULL, "fail_then_ok", "first"));
    H_EXPECT_NO_EXCEPTIONS(&r);
    h_run_free(&r);
}

/* A task that only burns CPU keeps its engine busy all the time: the saturation warning is
 * given once (the run outlasts the old 10 s repeat), with its advice. */
static const char *spinning = "local cicada = require \"cicada\"\n"
                              "local U = cicada.user(\"Spinner\", {\n"
                              "  wait_time = cicada.constant(0),\n"
                              "  tasks = { spin = 1 },\n"
                              "})\n"
                              "function U:spin()\n"
                              "  local x = 0\n"
                              "  for i = 1, 200000 do x = x + i % 7 end\n"
                              "end\n";

Test(hardening, saturated_engine_is_warned_once)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, spinning, "-H", "http://127.0.0.1:1", "-u", "1", "--threads",
                          "1", "-t", "12s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long n = h_count(r.err, "cicada itself is saturated");
    cr_expect_eq(n, 1, "saturation warned %ld times:\n%s", n, r.err);
    cr_expect(h_contains(r.err, "add --threads"), "no advice:\n%s", r.err);
    h_run_free(&r);
}

/* ---- Output paths: checked before the start, a late failure changes the exit code --------- */

static const char *one_get = "local cicada = require \"cicada\"\n"
                             "local U = cicada.user(\"One\", {\n"
                             "  wait_time = cicada.constant(0.1),\n"
                             "  tasks = { t = 1 },\n"
                             "})\n"
                             "function U:t() self.client:get(\"/hello\", { name = \"t\" }) end\n";

Test(hardening, unwritable_output_paths_fail_before_the_start)
{
    h_target_t t;
    const char *url = target_url(&t);
    const char *dir = h_tmpdir();
    const char *file = h_strf("%s/plain", dir);
    cr_assert_eq(h_write_file(file, "x", 1), 0);
    const char *cases[][2] = {
        {"--html", h_strf("%s/missing/report.html", dir)},
        {"--json-file", h_strf("%s/missing/stats", dir)},
        {"--report-json", h_strf("%s/plain/run.json", dir)},
        {"--csv", h_strf("%s/missing/run", dir)},
        {"--junit", h_strf("%s/missing/junit.xml", dir)},
        {"--summary-md", dir},
        {"--logfile", h_strf("%s/missing/cicada.log", dir)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h_run_t r;
        cr_assert_eq(h_cicada(&r, NULL, one_get, "-H", url, "-u", "1", "-t", "2s", cases[i][0],
                              cases[i][1], "--headless", "--only-summary", NULL),
                     0);
        H_ASSERT_EXIT(&r, 2);
        cr_expect(h_contains(r.err, cases[i][0]) && h_contains(r.err, cases[i][1]),
                  "%s: the message names neither the option nor the path:\n%s", cases[i][0], r.err);
        cr_expect_lt(r.elapsed_s, 1.5, "%s: the test ran before the check", cases[i][0]);
        h_run_free(&r);
    }
    cr_expect_eq(h_target_requests(&t, 0), 0, "requests were made");
}

/* The directory of --report-json vanishes during the run: the report is lost, and the exit
 * code says so (4), not 0. */
Test(hardening, a_report_lost_at_the_end_makes_exit_code_4)
{
    h_target_t t;
    h_run_t r;
    const char *url = target_url(&t);
    const char *dir = h_strf("%s/out", h_tmpdir());
    cr_assert_eq(mkdir(dir, 0755), 0);
    pid_t pid = h_fork();
    if (pid == 0) {
        h_sleep(1.0);
        _exit(rmdir(dir) == 0 ? 0 : 1);
    }
    cr_assert_eq(h_cicada(&r, NULL, one_get, "-H", url, "-u", "1", "-t", "2s", "--report-json",
                          h_strf("%s/run.json", dir), "--headless", "--only-summary", NULL),
                 0);
    H_ASSERT_EXIT(&r, 4);
    cr_expect(h_contains(r.err, "cannot write the run report"), "no message:\n%s", r.err);
    h_run_free(&r);
}

/* ---- Hosts checked before the start ---------------------------------------------------------- */

Test(hardening, bad_hosts_are_rejected_before_the_start)
{
    const char *cases[][2] = {
        {"notaurl", "missing scheme"},
        {"127.0.0.1:8080", "missing scheme"},
        {"http://127.0.0.1:99999", "bad port"},
        {"http://127.0.0.1:8x", "bad port"},
        {"http://", "invalid host"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h_run_t r;
        cr_assert_eq(h_cicada(&r, NULL, one_get, "-H", cases[i][0], "-u", "1", "-t", "2s",
                              H_LOAD_FLAGS, NULL),
                     0);
        H_ASSERT_EXIT(&r, 2);
        cr_expect(h_contains(r.err, "-H/--host") && h_contains(r.err, cases[i][0]) &&
                      h_contains(r.err, cases[i][1]),
                  "-H %s: expected \"%s\":\n%s", cases[i][0], cases[i][1], r.err);
        h_run_free(&r);
    }
}

static const char *bad_class_host = "local cicada = require \"cicada\"\n"
                                    "local U = cicada.user(\"Shop\", {\n"
                                    "  host = \"shop.example:80\",\n"
                                    "  tasks = { t = 1 },\n"
                                    "})\n"
                                    "function U:t() self.client:get(\"/\") end\n";

Test(hardening, a_bad_class_host_is_rejected_before_the_start)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, bad_class_host, "-u", "1", "-t", "2s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "class Shop") && h_contains(r.err, "missing scheme"), "%s", r.err);
    h_run_free(&r);
}

/* A scheme cicada does not speak stops it before the start, naming the scheme and those it
 * supports; -H and a class's host alike. */
static const char *ftp_class_host = "local cicada = require \"cicada\"\n"
                                    "local U = cicada.user(\"Files\", {\n"
                                    "  host = \"ftp://127.0.0.1:21\",\n"
                                    "  tasks = { t = 1 },\n"
                                    "})\n"
                                    "function U:t() self.client:get(\"/\") end\n";

Test(hardening, an_unsupported_scheme_is_rejected_before_the_start)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, one_get, "-H", "ftp://127.0.0.1:1", "-u", "1", "-t", "1s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "-H/--host 'ftp://127.0.0.1:1': unsupported scheme 'ftp': cicada "
                                "supports http and https (the HTTP client), tcp and redis"),
              "%s", r.err);
    cr_expect(!h_contains(r.err, "Ramping"), "the test started:\n%s", r.err);
    h_run_free(&r);
    cr_assert_eq(h_cicada(&r, NULL, ftp_class_host, "-u", "1", "-t", "1s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "class Files: host 'ftp://127.0.0.1:21': unsupported scheme 'ftp'"),
              "%s", r.err);
    h_run_free(&r);
}

/* The schemes of a scenario's own sockets pass the check (the HTTP client's requests to them
 * fail, each with its error). */
Test(hardening, socket_schemes_are_accepted)
{
    const char *hosts[] = {"tcp://127.0.0.1:1", "redis://127.0.0.1:1", "REDIS://127.0.0.1:1"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        h_run_t r;
        cr_assert_eq(
            h_cicada(&r, NULL, one_get, "-H", hosts[i], "-u", "1", "-t", "1s", H_LOAD_FLAGS, NULL),
            0);
        H_ASSERT_EXIT(&r, 1);
        H_ASSERT_JSON(&r);
        cr_expect_gt(h_requests(r.json, "GET", "t"), 0, "%s: no request", hosts[i]);
        h_run_free(&r);
    }
}

/* ---- Signals while starting, misspellings ---------------------------------------------------- */

/* The scenario takes ~0.6 s to load (in the main thread, then in the engine): a SIGINT at
 * 0.2 s ends the run cleanly, with no user started and the reports written. */
static const char *slow_load = "local cicada = require \"cicada\"\n"
                               "local t0 = os.clock()\n"
                               "while os.clock() - t0 < 0.6 do end\n"
                               "local U = cicada.user(\"Slow\", {\n"
                               "  wait_time = cicada.constant(0.1),\n"
                               "  tasks = { t = 1 },\n"
                               "})\n"
                               "function U:t() self.client:get(\"/hello\", { name = \"t\" }) end\n";

Test(hardening, a_signal_while_the_scenario_loads_ends_the_run_cleanly)
{
    h_target_t t;
    h_run_t r;
    const char *url = target_url(&t);
    h_run_opts_t o = {.timeout_s = 20, .signal_after_s = 0.2, .signal = SIGINT};
    cr_assert_eq(h_cicada(&r, &o, slow_load, "-H", url, "-u", "5", "-r", "100", "-t", "10s",
                          "--threads", "1", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect(h_contains(r.err, "Interrupted (SIGINT) while starting"), "%s", r.err);
    cr_expect_eq(h_total_requests(r.json), 0);
    cr_expect_lt(r.elapsed_s, 5, "the run went on after the signal");
    h_run_free(&r);
}

Test(hardening, a_misspelled_flag_gets_the_nearest_option)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, one_get, "--usres", "5", "--headless", NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "unknown option '--usres'; did you mean --users?"), "%s", r.err);
    h_run_free(&r);
    cr_assert_eq(h_cicada(&r, NULL, one_get, "--spawn_rate=5", "--headless", NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "did you mean --spawn-rate?"), "%s", r.err);
    h_run_free(&r);
}

Test(hardening, a_misspelled_environment_variable_is_warned_about)
{
    h_target_t t;
    h_run_t r;
    const char *url = target_url(&t);
    const char *env[] = {"CICADA_RUN_TIEM=1s", "CICADA_SOMETHING_ELSE=1", NULL};
    h_run_opts_t o = {.env = env};
    cr_assert_eq(h_cicada(&r, &o, one_get, "-H", url, "-t", "1s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(h_contains(r.err, "CICADA_RUN_TIEM is not an option of cicada and is ignored; did "
                                "you mean CICADA_RUN_TIME?"),
              "%s", r.err);
    cr_expect(!h_contains(r.err, "CICADA_SOMETHING_ELSE"), "an unrelated variable was judged");
    h_run_free(&r);
}

/* ---- Out of descriptors: a generator error, warned about before the test ------------------- */

/* Each user keeps its own connection; with a hard limit of 40 descriptors, 120 users cannot
 * all connect. Every attempt is counted first (ATTEMPT t), so that attempts = requests +
 * generator errors + requests in flight at the stop. */
static const char *counted_get =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"One\", {\n"
    "  wait_time = cicada.constant(0.1),\n"
    "  tasks = { t = 1 },\n"
    "})\n"
    "function U:t()\n"
    "  cicada.record { type = \"ATTEMPT\", name = \"t\", response_time = 0 }\n"
    "  local r = self.client:get(\"/hello\", { name = \"t\" })\n"
    "  if r.generator_error and r.ok then error(\"a generator error looks ok\") end\n"
    "end\n";

/* cicada warns before the test, and the connections that cannot be opened are generator
 * errors: named, counted apart from the target's requests and failures (0 of them), shown on
 * the console with a closing warning, and the run exits with 1. */
Test(hardening, out_of_descriptors_is_a_generator_error)
{
    h_target_t t;
    h_run_t r;
    const char *url = target_url(&t);
    struct rlimit rl = {40, 40};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    cr_assert_eq(h_cicada(&r, NULL, counted_get, "-H", url, "-u", "120", "-r", "1000", "-t", "2s",
                          "--threads", "1", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect(h_contains(r.err, "the open-files limit is 40"), "no warning before the test:\n%s",
              r.err);
    long requests = h_requests(r.json, "GET", "t"), attempts = h_requests(r.json, "ATTEMPT", "t");
    long gen = h_generator_errors(r.json, "GET", "t", "too many open files (raise the open-files");
    long in_flight = h_in_flight_total(r.json);
    cr_expect_gt(gen, 0, "descriptor failures not counted as generator errors");
    cr_expect_eq(h_generator_errors(r.json, "GET", "t", NULL), gen, "other generator errors");
    cr_expect_gt(requests, 0, "the users that could connect made no request");
    cr_expect_eq(h_failures(r.json, "GET", "t"), 0, "the target's failures are not 0");
    cr_expect_null(h_error(r.json, NULL, "t", NULL), "a generator error in the target's errors");
    cr_expect_eq(requests + gen + in_flight, attempts,
                 "requests %ld + generator errors %ld + in flight %ld != attempts %ld", requests,
                 gen, in_flight, attempts);
    long served = h_target_path_count(&t, "/hello");
    cr_expect(served >= requests && served <= requests + in_flight,
              "the target served %ld, cicada counted %ld requests", served, requests);
    json_t *g = json_object_get(r.json, "generator_errors");
    cr_expect_eq(json_integer_value(json_object_get(g, "total")), gen);
    cr_expect(h_contains(r.err, "Generator errors (requests cicada could not send"),
              "no generator error table:\n%s", r.err);
    cr_expect(h_contains(r.err, "could not be sent because of generator errors"),
              "no closing warning:\n%s", r.err);
    h_run_free(&r);
}

/* Raw TCP sockets follow the rule: a connect that fails for a local reason says "generator",
 * and cicada.record counts it as a generator error. */
static const char *tcp_connects =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Raw\", {\n"
    "  wait_time = cicada.constant(0.1),\n"
    "  tasks = { t = 1 },\n"
    "})\n"
    "function U:t()\n"
    "  if self.sock then return end\n"
    "  local host, port = self.host:match(\"^tcp://([^:]+):(%d+)$\")\n"
    "  local sock = cicada.tcp()\n"
    "  local ok, err, kind = sock:connect(host, tonumber(port))\n"
    "  cicada.record { type = \"tcp\", name = \"connect\", response_time = 0, error = err,\n"
    "                  generator_error = kind == \"generator\" }\n"
    "  if ok then self.sock = sock end\n"
    "end\n";

Test(hardening, a_raw_socket_out_of_descriptors_is_a_generator_error)
{
    h_target_t t;
    h_run_t r;
    target_url(&t);
    struct rlimit rl = {40, 40};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    cr_assert_eq(h_cicada(&r, NULL, tcp_connects, "-H", h_strf("tcp://%s:%d", H_HOST, t.port), "-u",
                          "60", "-r", "1000", "-t", "2s", "--threads", "1", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect_gt(h_requests(r.json, "tcp", "connect"), 0);
    cr_expect_eq(h_failures(r.json, "tcp", "connect"), 0);
    cr_expect_gt(h_generator_errors(r.json, "tcp", "connect", "too many open files"), 0, "%s",
                 r.err);
    h_run_free(&r);
}

/* ---- The response-body limit: a request's, its class's, the run's ---------------------------- */

/* One user of each class: Small's class keeps 16 bytes, Run's follows --max-body 4k; a
 * request's own max_body wins over both (false: the whole body). Bodies are counted whole. */
static const char *body_limits =
    "local cicada = require \"cicada\"\n"
    "local Small = cicada.user(\"Small\", { max_body = 16, wait_time = cicada.constant(0.1),\n"
    "                                       tasks = { t = 1 } })\n"
    "function Small:t()\n"
    "  local r = self.client:get(\"/bytes/1000\", { name = \"class\" })\n"
    "  assert(r.ok and #r.body == 16, \"the class's max_body kept \" .. #r.body)\n"
    "  r = self.client:get(\"/bytes/1000\", { name = \"whole\", max_body = false })\n"
    "  assert(r.ok and #r.body == 1000, \"max_body = false kept \" .. #r.body)\n"
    "end\n"
    "local Run = cicada.user(\"Run\", { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "function Run:t()\n"
    "  local r = self.client:get(\"/bytes/5000\", { name = \"run\" })\n"
    "  assert(r.ok and #r.body == 4096, \"--max-body kept \" .. #r.body)\n"
    "  r = self.client:get(\"/bytes/5000\", { name = \"own\", max_body = 10 })\n"
    "  assert(r.ok and #r.body == 10, \"the request's max_body kept \" .. #r.body)\n"
    "end\n";

Test(hardening, max_body_from_the_request_the_class_and_the_command_line)
{
    h_target_t t;
    h_run_t r;
    const char *url = target_url(&t);
    cr_assert_eq(h_cicada(&r, NULL, body_limits, "-H", url, "-u", "2", "-r", "100", "-t", "2s",
                          "--max-body", "4k", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    const char *names[] = {"class", "whole", "run", "own"};
    const double sizes[] = {1000, 1000, 5000, 5000};
    for (size_t i = 0; i < 4; i++) {
        cr_expect_gt(h_requests(r.json, "GET", names[i]), 0, "no request %s", names[i]);
        cr_expect_eq(h_num(h_entry(r.json, "GET", names[i]), "avg_content_length"), sizes[i],
                     "%s: not counted whole", names[i]);
    }
    h_run_free(&r);
}

static const char *bad_class_max_body = "local cicada = require \"cicada\"\n"
                                        "local U = cicada.user(\"Greedy\", {\n"
                                        "  max_body = -1,\n"
                                        "  tasks = { t = 1 },\n"
                                        "})\n"
                                        "function U:t() self.client:get(\"/\") end\n";

/* Nonsense limits stop cicada before the start (exit code 2), saying what is expected. */
Test(hardening, bad_max_body_values_are_rejected)
{
    const char *values[] = {"-1", "10X", "1.5M", "k", ""};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        h_run_t r;
        cr_assert_eq(h_cicada(&r, NULL, one_get, "-H", "http://127.0.0.1:1", "--max-body",
                              values[i], "-t", "1s", H_LOAD_FLAGS, NULL),
                     0);
        H_ASSERT_EXIT(&r, 2);
        cr_expect(h_contains(r.err, h_strf("invalid value '%s' for --max-body: expected a size "
                                           "in bytes",
                                           values[i])),
                  "%s", r.err);
        h_run_free(&r);
    }
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, bad_class_max_body, "-H", "http://127.0.0.1:1", "-t", "1s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "Greedy") &&
                  h_contains(r.err, "max_body must be a whole number of bytes >= 0"),
              "%s", r.err);
    h_run_free(&r);
}
