/* Request counts: what cicada reports equals exactly what the server saw (cicada-target, nginx). */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(counts, .fini = h_cleanup, .timeout = 60);

/* --stop-timeout lets each user finish its current task, so no request the server answered is
 * dropped uncounted at the end of the run: the counts must match exactly. */
#define EXACT_RUN "-u", "20", "-r", "100", "-t", "3s", "--stop-timeout", "5", H_LOAD_FLAGS

static const char *target_scenario = "local cicada = require \"cicada\"\n"
                                     "local U = cicada.user(\"Counter\", {\n"
                                     "  wait_time = cicada.between(0, 0.02),\n"
                                     "  tasks = { hello = 3, json = 1, bytes = 1, chunked = 1 },\n"
                                     "})\n"
                                     "function U:hello() self.client:get(\"/hello\") end\n"
                                     "function U:json() self.client:get(\"/json\") end\n"
                                     "function U:bytes() self.client:get(\"/bytes/1000\") end\n"
                                     "function U:chunked() self.client:get(\"/chunked/500\") end\n";

Test(counts, target_sees_exactly_what_cicada_reports)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 2), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, target_scenario, "-H", h_strf("http://%s:%d", H_HOST, t.port),
                          EXACT_RUN, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long total = h_total_requests(r.json);
    cr_expect_eq(h_total_failures(r.json), 0);
    cr_assert_gt(total, 200, "only %ld requests in 3 s", total);
    cr_expect_eq(h_target_requests(&t, total), total, "target counted a different total");
    long hello = h_requests(r.json, "GET", "/hello");
    cr_expect_eq(h_target_path_count(&t, "/hello"), hello, "target's by_path[/hello] differs");
    long parts = hello + h_requests(r.json, "GET", "/json") +
                 h_requests(r.json, "GET", "/bytes/1000") +
                 h_requests(r.json, "GET", "/chunked/500");
    cr_expect_eq(parts, total, "the entries do not add up to the total");
    cr_expect_eq(json_integer_value(json_object_get(r.json, "user_count")), 20);
    h_run_free(&r);
}

static const char *nginx_scenario =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Counter\", {\n"
    "  wait_time = cicada.between(0, 0.02),\n"
    "  tasks = { hello = 3, static = 1 },\n"
    "})\n"
    "function U:hello() self.client:get(\"/hello\") end\n"
    "function U:static() self.client:get(\"/static/file.txt\") end\n";

/* Runs the nginx scenario and checks the access log against cicada's counts; returns the total. */
static long run_against_nginx(const h_nginx_t *n, h_run_t *r)
{
    cr_assert_eq(h_cicada(r, NULL, nginx_scenario, "-H", h_strf("http://%s:%d", H_HOST, n->port),
                          EXACT_RUN, NULL),
                 0);
    H_ASSERT_EXIT(r, 0);
    H_ASSERT_JSON(r);
    long total = h_total_requests(r->json);
    cr_expect_eq(h_total_failures(r->json), 0);
    cr_assert_gt(total, 200, "only %ld requests in 3 s", total);
    cr_expect_eq(h_nginx_count(n, "access.log", NULL, total), total, "nginx logged another total");
    long hello = h_requests(r->json, "GET", "/hello");
    cr_expect_eq(h_nginx_count(n, "access.log", "/hello", hello), hello);
    long stat = h_requests(r->json, "GET", "/static/file.txt");
    cr_expect_eq(h_nginx_count(n, "access.log", "/static/file.txt", stat), stat);
    json_t *e = h_entry(r->json, "GET", "/static/file.txt");
    cr_expect_eq(h_num(e, "avg_content_length"), H_STATIC_SIZE);
    return total;
}

Test(counts, nginx_logs_exactly_what_cicada_reports)
{
    h_nginx_t n;
    h_run_t r;
    cr_assert_eq(h_nginx_start(&n, NULL), 0, "nginx did not start");
    run_against_nginx(&n, &r);
    /* One session per user, kept alive for the whole run: one connection each. */
    cr_expect_eq(h_nginx_connections(&n, "access.log"), 20, "users did not keep one connection");
    h_run_free(&r);
}

Test(counts, nginx_closing_every_tenth_request_causes_no_failure)
{
    h_nginx_t n;
    h_run_t r;
    h_nginx_opts_t o = {.keepalive_requests = 10};
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx did not start");
    long total = run_against_nginx(&n, &r);
    /* nginx closed each connection after 10 requests, so cicada had to reconnect throughout. */
    cr_expect_geq(h_nginx_connections(&n, "access.log"), (total + 9) / 10);
    cr_expect_gt(h_nginx_connections(&n, "access.log"), 20);
    h_run_free(&r);
}

/* nginx closes a connection idle for 1 s; the users wait 1.5 s between requests, so each of
 * their connections is closed while idle. The close is noticed before the next request, which
 * opens a fresh connection: no failure, every request logged once, one connection each. */
Test(counts, idle_connections_closed_by_the_server_cause_no_failure)
{
    h_nginx_t n;
    h_run_t r;
    h_nginx_opts_t o = {.keepalive_timeout = 1};
    const char *lua = "local cicada = require 'cicada'\n"
                      "local U = cicada.user('Idler', { wait_time = cicada.constant(1.5),\n"
                      "                                 tasks = { hello = 1 } })\n"
                      "function U:hello() self.client:get('/hello') end\n";
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx did not start");
    cr_assert_eq(h_cicada(&r, NULL, lua, "-H", h_strf("http://%s:%d", H_HOST, n.port), "-u", "4",
                          "-r", "20", "-t", "5s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long total = h_total_requests(r.json);
    cr_expect_eq(h_total_failures(r.json), 0);
    cr_assert_geq(total, 12, "only %ld requests in 5 s", total);
    cr_expect_eq(h_nginx_count(&n, "access.log", NULL, total), total, "nginx logged another total");
    cr_expect_eq(h_nginx_connections(&n, "access.log"), total,
                 "a connection idle past nginx's timeout was used again");
    h_run_free(&r);
}

/* Without --stop-timeout, users stop at once; a request in flight at that moment still gets its
 * answer counted (a bounded grace), so what the target served equals what cicada reports. */
static void expect_exact_counts_at_stop(const char *users, const char *rate)
{
    h_target_t t;
    h_run_t r;
    const char *lua = "local cicada = require 'cicada'\n"
                      "local U = cicada.user('Hammer', { wait_time = cicada.constant(0),\n"
                      "                                  tasks = { hello = 1 } })\n"
                      "function U:hello() self.client:get('/hello') end\n";
    cr_assert_eq(h_target_start(&t, 2), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, lua, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u", users,
                          "-r", rate, "-t", "3s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long total = h_total_requests(r.json);
    cr_expect_eq(h_total_failures(r.json), 0);
    cr_assert_gt(total, 100, "only %ld requests in 3 s", total);
    cr_expect_eq(h_target_path_count(&t, "/hello"), total,
                 "the target served a different number of requests than cicada counted");
    h_run_free(&r);
    h_target_stop(&t);
}

Test(counts, requests_in_flight_at_stop_are_counted_with_50_users)
{
    expect_exact_counts_at_stop("50", "1000");
}

Test(counts, requests_in_flight_at_stop_are_counted_with_5000_users)
{
    expect_exact_counts_at_stop("5000", "5000");
}
