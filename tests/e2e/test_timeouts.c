/* Request timeouts (the default, --request-timeout, a class's, a request's, their order and
 * their validation) and requests abandoned in flight at the stop, reported apart. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

TestSuite(timeouts, .fini = h_cleanup, .timeout = 60);

/* A target that never answers: a listening socket nobody accepts from. The kernel completes
 * the handshakes into the backlog and keeps what is sent; no byte ever comes back. Returns the
 * port (the socket lives as long as the test process), or -1. */
static int silent_target(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128) ||
        getsockname(fd, (struct sockaddr *)&a, &len))
        return -1;
    return ntohs(a.sin_port);
}

static const char *silent_host(void)
{
    int port = silent_target();
    cr_assert_gt(port, 0, "cannot listen on loopback");
    return h_strf("http://%s:%d", H_HOST, port);
}

/* Every request of name failed with exactly `error`, at least `min` of them. */
static void expect_timeouts(json_t *doc, const char *name, const char *error, long min)
{
    long n = h_requests(doc, "GET", name);
    cr_expect_geq(n, min, "%s: %ld requests, expected at least %ld", name, n, min);
    cr_expect_eq(h_failures(doc, "GET", name), n, "%s: not every request failed", name);
    json_t *e = h_error(doc, "GET", name, error);
    cr_expect_not_null(e, "%s: no error \"%s\"", name, error);
    cr_expect_str_eq(json_string_value(json_object_get(e, "error")), error);
    cr_expect_eq(h_error_occurrences(doc, name), n, "%s: other errors than \"%s\"", name, error);
}

/* in_flight_at_stop.total, and the count of (GET, name) in its list (0 when absent). */
static long in_flight_total(json_t *doc)
{
    json_t *f = json_object_get(doc, "in_flight_at_stop");
    cr_assert(json_is_object(f), "no in_flight_at_stop in the JSON report");
    return (long)json_integer_value(json_object_get(f, "total"));
}

static long in_flight(json_t *doc, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(json_object_get(doc, "in_flight_at_stop"), "requests"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0 &&
            strcmp(json_string_value(json_object_get(e, "method")), "GET") == 0)
            return (long)json_integer_value(json_object_get(e, "count"));
    }
    return 0;
}

static const char *one_task =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function U:t() self.client:get('/never', { name = 'never' }) end\n";

Test(timeouts, option_fails_requests_to_a_silent_target)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, one_task, "-H", silent_host(), "-u", "2", "-r", "100", "-t",
                          "2s", "--request-timeout", "0.5s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    expect_timeouts(r.json, "never", "timeout after 0.5s", 4);
    json_t *e = h_entry(r.json, "GET", "never");
    cr_expect_geq(h_num(e, "min_response_time"), 490);
    cr_expect_lt(h_num(e, "max_response_time"), 1000);
    cr_expect(h_contains(r.err, "GET never: timeout after 0.5s"), "%s", r.err);
    H_EXPECT_NO_EXCEPTIONS(&r);
    h_run_free(&r);
}

/* A request's timeout beats its class's, which beats --request-timeout; false and 0 lift the
 * limit at any level (those requests are then still waiting at the stop). */
static const char *precedence =
    "local cicada = require 'cicada'\n"
    "local Classy = cicada.user('Classy', { timeout = 0.3, wait_time = cicada.constant(0),\n"
    "                                       fixed_count = 1, tasks = { t = 1 } })\n"
    "function Classy:t()\n"
    "  self.client:get('/a', { name = 'own', timeout = 0.5 })\n"
    "  self.client:get('/b', { name = 'class' })\n"
    "end\n"
    "local Plain = cicada.user('Plain', { wait_time = cicada.constant(0), fixed_count = 1,\n"
    "                                     tasks = { t = 1 } })\n"
    "function Plain:t() self.client:get('/c', { name = 'option' }) end\n"
    "local Child = cicada.user('Child', { extends = Classy, fixed_count = 1,\n"
    "                                     tasks = { t = 1 } })\n"
    "function Child:t()\n"
    "  self.client:get('/d', { name = 'inherited' })\n"
    "  self.client:get('/e', { name = 'unlimited', timeout = false })\n"
    "end\n"
    "local Free = cicada.user('Free', { timeout = 0, fixed_count = 1, tasks = { t = 1 } })\n"
    "function Free:t() self.client:get('/f', { name = 'free' }) end\n";

Test(timeouts, request_beats_class_beats_option)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, precedence, "-H", silent_host(), "-u", "4", "-r", "100", "-t",
                          "2s", "--request-timeout", "0.7", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    expect_timeouts(r.json, "own", "timeout after 0.5s", 2);
    expect_timeouts(r.json, "class", "timeout after 0.3s", 2);
    expect_timeouts(r.json, "option", "timeout after 0.7s", 2);
    expect_timeouts(r.json, "inherited", "timeout after 0.3s", 1);
    cr_expect_eq(h_requests(r.json, "GET", "unlimited"), -1, "a request without limit ended");
    cr_expect_eq(h_requests(r.json, "GET", "free"), -1, "a request without limit ended");
    cr_expect_eq(in_flight(r.json, "unlimited"), 1);
    cr_expect_eq(in_flight(r.json, "free"), 1);
    H_EXPECT_NO_EXCEPTIONS(&r);
    h_run_free(&r);
}

/* The run ends within the stop's grace for requests in flight (2 s) and reports, by name, the
 * requests it abandoned; they are neither requests nor failures. */
static const char *slow =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function U:on_start() self.client:get('/hello', { name = 'hello' }) end\n"
    "function U:t() self.client:get('/delay/10000', { name = 'slow' }) end\n";

/* The run document (--report-json FILE) and the console report the 3 abandoned requests. */
static void expect_abandoned(const h_run_t *r, const char *json_file)
{
    H_ASSERT_EXIT(r, 0);
    char *file = h_read_file(json_file, NULL);
    json_t *doc = file ? json_loads(file, 0, NULL) : NULL;
    free(file);
    cr_assert_not_null(doc, "the JSON file was not written");
    cr_expect_eq(in_flight_total(doc), 3);
    cr_expect_eq(in_flight(doc, "slow"), 3);
    cr_expect_eq(h_requests(doc, "GET", "slow"), -1, "abandoned requests made an entry");
    cr_expect_eq(h_total_requests(doc), 3, "only the 3 /hello of on_start completed");
    cr_expect_eq(h_total_failures(doc), 0);
    json_decref(doc);
    cr_expect(h_contains(r->err, "Requests in flight at stop"), "%s", r->err);
    char *line = h_line_with(r->err, "GET slow");
    cr_expect_not_null(line, "no console line for the abandoned requests: %s", r->err);
    cr_expect(line && strncmp(line, "3 ", 2) == 0, "console line: %s", line);
    free(line);
}

Test(timeouts, requests_in_flight_at_the_run_time_end_are_reported)
{
    h_target_t t;
    h_run_t r;
    const char *json_file = h_strf("%s/report.json", h_tmpdir());
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, slow, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u", "3",
                          "-r", "100", "-t", "1s", "--report-json", json_file, "--headless",
                          "--only-summary", NULL),
                 0);
    expect_abandoned(&r, json_file);
    cr_expect_lt(r.elapsed_s, 5.5, "1 s run + 2 s grace took %.1f s", r.elapsed_s);
    h_run_free(&r);
    h_target_stop(&t);
}

Test(timeouts, requests_in_flight_at_ctrl_c_are_reported)
{
    h_target_t t;
    h_run_t r;
    h_run_opts_t o = {.signal_after_s = 1.5, .signal = SIGINT, .timeout_s = 20};
    const char *json_file = h_strf("%s/report.json", h_tmpdir());
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, &o, slow, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u", "3",
                          "-r", "100", "--report-json", json_file, "--headless", "--only-summary",
                          NULL),
                 0);
    expect_abandoned(&r, json_file);
    cr_expect_lt(r.elapsed_s, 6, "Ctrl-C at 1.5 s + 2 s grace took %.1f s", r.elapsed_s);
    h_run_free(&r);
    h_target_stop(&t);
}

/* ---- validation and the default ---- */

static void expect_usage_error(h_run_t *r, const char *what, const char *value)
{
    H_ASSERT_EXIT(r, 2);
    cr_expect_lt(r->elapsed_s, 5);
    cr_expect(h_contains(r->err, what), "stderr does not name %s: %s", what, r->err);
    cr_expect(h_contains(r->err, h_strf("'%s'", value)), "stderr does not quote %s: %s", value,
              r->err);
}

Test(timeouts, bad_option_values_are_usage_errors)
{
    static const char *const values[] = {"-1", "abc", "5x", "1e999"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        h_run_t r;
        h_run_opts_t o = {.timeout_s = 10};
        cr_assert_eq(h_cicada(&r, &o, one_task, "-H", "http://127.0.0.1:1", "-t", "1s",
                              "--request-timeout", values[i], "--headless", NULL),
                     0);
        expect_usage_error(&r, "--request-timeout", values[i]);
        h_run_free(&r);
    }
    h_run_t r;
    const char *env[] = {"CICADA_REQUEST_TIMEOUT=soon", NULL};
    h_run_opts_t o = {.timeout_s = 10, .env = env};
    cr_assert_eq(
        h_cicada(&r, &o, one_task, "-H", "http://127.0.0.1:1", "-t", "1s", "--headless", NULL), 0);
    expect_usage_error(&r, "CICADA_REQUEST_TIMEOUT", "soon");
    h_run_free(&r);
}

Test(timeouts, fractional_and_compound_durations_are_accepted)
{
    static const char *const values[] = {"0.5", "0.5s", "90", "1m30s", "0"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        h_run_t r;
        cr_assert_eq(h_cicada(&r, NULL, one_task, "--request-timeout", values[i], "--list", NULL),
                     0);
        H_ASSERT_EXIT(&r, 0);
        h_run_free(&r);
    }
}

Test(timeouts, negative_class_timeout_is_a_scenario_error)
{
    h_run_t r;
    h_run_opts_t o = {.timeout_s = 10};
    const char *lua = "local cicada = require 'cicada'\n"
                      "local U = cicada.user('Impatient', { timeout = -1, tasks = { t = 1 } })\n"
                      "function U:t() self.client:get('/') end\n";
    cr_assert_eq(h_cicada(&r, &o, lua, "-H", "http://127.0.0.1:1", "-t", "1s", "--headless", NULL),
                 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "scenario.lua:2"), "stderr lacks file:line: %s", r.err);
    cr_expect(h_contains(r.err, "user class 'Impatient': timeout must be a number of seconds >= 0"),
              "%s", r.err);
    h_run_free(&r);
}

Test(timeouts, negative_request_timeout_is_a_lua_error)
{
    h_target_t t;
    h_run_t r;
    const char *lua = "local cicada = require 'cicada'\n"
                      "local U = cicada.user('U', { wait_time = cicada.constant(0.2),\n"
                      "                             tasks = { t = 1 } })\n"
                      "function U:t() self.client:get('/hello', { timeout = -1 }) end\n";
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, lua, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u", "1",
                          "-r", "100", "-t", "1s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    cr_expect_gt(h_exception_count(r.json, "option 'timeout' must be a number of seconds >= 0"), 0,
                 "exceptions: %s", h_exceptions_text(r.json));
    json_t *x = h_exception(r.json, "option 'timeout'");
    cr_expect(x && h_contains(json_string_value(json_object_get(x, "traceback")), "scenario.lua:4"),
              "the traceback does not lead to the scenario's line");
    cr_expect_eq(h_total_requests(r.json), 0, "a request with a bad timeout was sent");
    h_run_free(&r);
    h_target_stop(&t);
}

Test(timeouts, help_shows_the_option_and_its_default)
{
    h_run_t r;
    const char *args[] = {"--help", NULL};
    cr_assert_eq(h_cicada_v(&r, NULL, NULL, args), 0);
    H_ASSERT_EXIT(&r, 0);
    const char *text = r.out_len ? r.out : r.err;
    char *line = h_line_with(text, "--request-timeout");
    cr_assert_not_null(line, "help: %s", text);
    cr_expect(h_contains(line, "default 60"), "%s", line);
    free(line);
    h_run_free(&r);
}
