/* HTTP/2 against nginx's http2 module: negotiated by ALPN over TLS and by prior knowledge in
 * the clear, exact counts against nginx's log, a batch as streams on one connection per user,
 * r.protocol, and the fallback to HTTP/1.1 when the server does not offer HTTP/2. */
#include <criterion/criterion.h>

#include "harness.h"

#include <unistd.h>

TestSuite(http2, .fini = h_cleanup, .timeout = 90);

#define H2_RUN "-u", "4", "-r", "100", "-t", "2s", "--stop-timeout", "5", H_LOAD_FLAGS

/* A user that checks each response's protocol and body; a mismatch is a script error. */
#define PROTOCOL_SCENARIO(opts, want)                                                              \
    "local cicada = require \"cicada\"\n"                                                          \
    "local U = cicada.user(\"H2\", { insecure = true, " opts "\n"                                  \
    "  wait_time = cicada.constant(0.02), tasks = { hello = 1 } })\n"                              \
    "function U:hello()\n"                                                                         \
    "  local r = self.client:get(\"/hello\")\n"                                                    \
    "  if r.protocol ~= \"" want "\" or r.body ~= \"Hello, World!\" then\n"                        \
    "    error(\"protocol \" .. r.protocol .. \", body \" .. r.body)\n"                            \
    "  end\n"                                                                                      \
    "end\n"

static void start_h2_nginx(h_nginx_t *n)
{
    h_nginx_opts_t o = {.http2 = true};
    cr_assert_eq(h_nginx_start(n, &o), 0, "nginx with HTTP/2 did not start");
}

/* Every request cicada counted is a line of nginx's log, each over HTTP/2, on one
 * connection per user. */
static void expect_h2_counts(const h_nginx_t *n, h_run_t *r, const char *log, long users)
{
    H_ASSERT_EXIT(r, 0);
    H_ASSERT_JSON(r);
    H_EXPECT_NO_EXCEPTIONS(r);
    long total = h_total_requests(r->json);
    cr_expect_gt(total, 20);
    cr_expect_eq(h_total_failures(r->json), 0);
    cr_expect_eq(h_nginx_count(n, log, "/hello", total), total);
    cr_expect_eq(h_nginx_count_protocol(n, log, "HTTP/2.0"), total);
    cr_expect_eq(h_nginx_connections(n, log), users);
}

Test(http2, alpn_over_tls_counts_every_request)
{
    h_nginx_t n;
    h_run_t r;
    start_h2_nginx(&n);
    cr_assert_eq(h_cicada(&r, NULL, PROTOCOL_SCENARIO("", "HTTP/2"), "-H",
                          h_strf("https://%s:%d", H_HOST, n.tls_port), H2_RUN, NULL),
                 0);
    expect_h2_counts(&n, &r, "tls.log", 4);
    h_run_free(&r);
}

Test(http2, prior_knowledge_in_the_clear)
{
    h_nginx_t n;
    h_run_t r;
    start_h2_nginx(&n);
    cr_assert_eq(h_cicada(&r, NULL, PROTOCOL_SCENARIO("http2 = \"prior-knowledge\",", "HTTP/2"),
                          "-H", h_strf("http://%s:%d", H_HOST, n.h2c_port), H2_RUN, NULL),
                 0);
    expect_h2_counts(&n, &r, "h2c.log", 4);
    h_run_free(&r);
}

/* The command line's --http2-prior-knowledge, for a class without an http2 field. */
Test(http2, prior_knowledge_from_the_command_line)
{
    h_nginx_t n;
    h_run_t r;
    start_h2_nginx(&n);
    cr_assert_eq(h_cicada(&r, NULL, PROTOCOL_SCENARIO("", "HTTP/2"), "-H",
                          h_strf("http://%s:%d", H_HOST, n.h2c_port), "--http2-prior-knowledge",
                          H2_RUN, NULL),
                 0);
    expect_h2_counts(&n, &r, "h2c.log", 4);
    h_run_free(&r);
}

/* nginx's TLS port without http2: ALPN settles on HTTP/1.1. */
Test(http2, alpn_falls_back_to_http1)
{
    h_nginx_t n;
    h_run_t r;
    h_nginx_opts_t o = {.tls = true};
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx with TLS did not start");
    cr_assert_eq(h_cicada(&r, NULL, PROTOCOL_SCENARIO("", "HTTP/1.1"), "-H",
                          h_strf("https://%s:%d", H_HOST, n.tls_port), H2_RUN, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    long total = h_total_requests(r.json);
    cr_expect_gt(total, 20);
    cr_expect_eq(h_total_failures(r.json), 0);
    cr_expect_eq(h_nginx_count(&n, "tls.log", "/hello", total), total);
    cr_expect_eq(h_nginx_count_protocol(&n, "tls.log", "HTTP/1.1"), total);
    h_run_free(&r);
}

/* A batch of twenty becomes twenty streams on the user's one connection. */
static const char *batch_scenario =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Page\", { insecure = true, wait_time = cicada.constant(0),\n"
    "  tasks = { load = 1 } })\n"
    "function U:load()\n"
    "  local reqs = {}\n"
    "  for i = 1, 20 do reqs[i] = { \"GET\", \"/hello\" } end\n"
    "  local rs = self.client:batch(reqs)\n"
    "  local ok = #rs == 20\n"
    "  for i = 1, 20 do ok = ok and rs[i].status == 200 and rs[i].protocol == \"HTTP/2\" end\n"
    "  cicada.record{ type = \"BATCH\", name = \"twenty\", response_time = 1,\n"
    "                 error = not ok and \"a response is missing, failed or not HTTP/2\" or nil }\n"
    "end\n";

Test(http2, batch_of_twenty_streams_on_one_connection)
{
    h_nginx_t n;
    h_run_t r;
    start_h2_nginx(&n);
    cr_assert_eq(h_cicada(&r, NULL, batch_scenario, "-H",
                          h_strf("https://%s:%d", H_HOST, n.tls_port), "-u", "1", "-r", "1", "-t",
                          "1s", "--stop-timeout", "10", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    long sent = h_requests(r.json, "GET", "/hello"),
         batches = h_requests(r.json, "BATCH", "twenty");
    cr_assert_gt(batches, 0);
    cr_expect_eq(h_failures(r.json, "BATCH", "twenty"), 0);
    cr_expect_eq(sent, 20 * batches, "%ld requests in %ld batches", sent, batches);
    cr_expect_eq(h_nginx_count(&n, "tls.log", "/hello", sent), sent);
    cr_expect_eq(h_nginx_count_protocol(&n, "tls.log", "HTTP/2.0"), sent);
    cr_expect_eq(h_nginx_connections(&n, "tls.log"), 1);
    h_run_free(&r);
}

/* nginx ends an HTTP/2 connection with GOAWAY after keepalive_requests streams: the streams it
 * left unprocessed fail with the reason, the next batch opens a new connection, and the
 * requests nginx logged are exactly those cicada counted as answered. */
Test(http2, goaway_fails_unprocessed_streams_and_reconnects)
{
    h_nginx_t n;
    h_run_t r;
    h_nginx_opts_t o = {.http2 = true, .keepalive_requests = 30};
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx with HTTP/2 did not start");
    cr_assert_eq(h_cicada(&r, NULL, batch_scenario, "-H",
                          h_strf("https://%s:%d", H_HOST, n.tls_port), "-u", "1", "-r", "1", "-t",
                          "1s", "--stop-timeout", "10", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    long sent = h_requests(r.json, "GET", "/hello"),
         batches = h_requests(r.json, "BATCH", "twenty");
    long failed = h_failures(r.json, "GET", "/hello");
    cr_assert_gt(batches, 1);
    cr_expect_eq(sent, 20 * batches, "%ld requests in %ld batches", sent, batches);
    cr_expect_gt(failed, 0, "no stream was refused");
    cr_expect_eq(h_nginx_count(&n, "tls.log", "/hello", sent - failed), sent - failed);
    json_t *e = h_error(r.json, "GET", "/hello", NULL);
    const char *text = json_string_value(json_object_get(e, "error"));
    cr_expect(h_contains(text, "GOAWAY"), "error: %s", text ? text : "(none)");
    cr_expect_gt(h_nginx_connections(&n, "tls.log"), 1, "no new connection after GOAWAY");
    h_run_free(&r);
}

/* A reload in the middle of the run (SIGHUP to the nginx master this test started): the old
 * worker ends its HTTP/2 connections with GOAWAY, users reconnect to the new one, and the
 * requests nginx logged are exactly those cicada counted as answered. */
Test(http2, goaway_on_reload_counts_add_up)
{
    h_nginx_t n;
    h_run_t r;
    h_nginx_opts_t o = {.http2 = true, .master = true};
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx with HTTP/2 did not start");
    pid_t reloader = h_fork();
    cr_assert_geq(reloader, 0);
    if (reloader == 0) {
        h_sleep(1.0);
        kill(n.pid, SIGHUP);
        _exit(0);
    }
    cr_assert_eq(h_cicada(&r, NULL, PROTOCOL_SCENARIO("", "HTTP/2"), "-H",
                          h_strf("https://%s:%d", H_HOST, n.tls_port), "-u", "4", "-r", "100", "-t",
                          "3s", "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_JSON(&r);
    long total = h_total_requests(r.json), failed = h_total_failures(r.json);
    cr_log_info("%ld requests, %ld failed, %ld connections", total, failed,
                h_nginx_connections(&n, "tls.log"));
    cr_expect_gt(total, 20);
    cr_expect_eq(h_nginx_count(&n, "tls.log", "/hello", total - failed), total - failed,
                 "%ld requests, %ld failed", total, failed);
    cr_expect_eq(h_nginx_count_protocol(&n, "tls.log", "HTTP/2.0"), total - failed);
    cr_expect_gt(h_nginx_connections(&n, "tls.log"), 4, "no new connection after the reload");
    h_run_free(&r);
}

/* A batch of ten slow requests to a server without HTTP/2: they waited for the first
 * handshake, which settled on HTTP/1.1, and then go on up to six connections as any batch
 * over HTTP/1.1 does, not one after another. */
Test(http2, batch_after_fallback_uses_six_connections)
{
    h_target_t t;
    h_nginx_t n;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    h_nginx_opts_t o = {.tls = true, .proxy_port = t.port};
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx with TLS did not start");
    const char *scenario =
        "local cicada = require \"cicada\"\n"
        "local U = cicada.user(\"Page\", { insecure = true, wait_time = cicada.constant(0),\n"
        "  tasks = { load = 1 } })\n"
        "function U:load()\n"
        "  local reqs = {}\n"
        "  for i = 1, 10 do reqs[i] = { \"GET\", \"/delay/300\" } end\n"
        "  local t0 = cicada.time()\n"
        "  self.client:batch(reqs)\n"
        "  cicada.record{ type = \"BATCH\", name = \"ten\", response_time = (cicada.time() - t0) * "
        "1000 }\n"
        "end\n";
    cr_assert_eq(h_cicada(&r, NULL, scenario, "-H", h_strf("https://%s:%d", H_HOST, n.tls_port),
                          "-u", "1", "-r", "1", "-t", "1s", "--stop-timeout", "10", H_LOAD_FLAGS,
                          NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long sent = h_requests(r.json, "GET", "/delay/300");
    cr_expect_eq(h_failures(r.json, "GET", "/delay/300"), 0);
    cr_expect_eq(h_nginx_count(&n, "tls.log", "/delay/300", sent), sent);
    cr_expect_eq(h_nginx_count_protocol(&n, "tls.log", "HTTP/1.1"), sent);
    cr_expect_eq(h_nginx_connections(&n, "tls.log"), 6);
    /* Two rounds of the delay, not ten. */
    cr_expect_lt(h_num(h_entry(r.json, "BATCH", "ten"), "max_response_time"), 1500);
    h_run_free(&r);
}

/* The streams a batch starts in one loop turn leave in one write, not one system call each:
 * strace counts the generator's socket writes against the batches it made. */
Test(http2, the_streams_of_a_batch_leave_in_one_write)
{
    h_nginx_t n;
    h_run_t r;
    start_h2_nginx(&n);
    const char *dir = h_tmpdir(), *scenario = h_strf("%s/batch.lua", dir),
               *trace = h_strf("%s/strace.txt", dir);
    cr_assert_eq(h_write_file(scenario, batch_scenario, strlen(batch_scenario)), 0);
    char *argv[] = {"/usr/bin/strace",
                    "-f",
                    "-qq",
                    "-c",
                    "-o",
                    (char *)trace,
                    "-e",
                    "trace=sendto,sendmsg,writev",
                    (char *)CICADA_BIN,
                    "-f",
                    (char *)scenario,
                    "-H",
                    (char *)h_strf("http://%s:%d", H_HOST, n.h2c_port),
                    "--http2-prior-knowledge",
                    "-u",
                    "1",
                    "-r",
                    "1",
                    "-t",
                    "1s",
                    "--stop-timeout",
                    "10",
                    H_LOAD_FLAGS,
                    NULL};
    /* LeakSanitizer cannot run under a tracer: a sanitizer build leaves it out here. */
    const char *env[] = {"ASAN_OPTIONS=detect_leaks=0", NULL};
    h_run_opts_t o = {.timeout_s = 60, .env = env};
    cr_assert_eq(h_exec(&r, &o, argv), 0, "strace did not start");
    H_ASSERT_EXIT(&r, 0);
    json_t *doc = json_loads(r.out, 0, NULL);
    cr_assert_not_null(doc, "no JSON report: %s", r.err);
    long sent = h_requests(doc, "GET", "/hello"), batches = h_requests(doc, "BATCH", "twenty");
    cr_assert_gt(batches, 0);
    cr_expect_eq(sent, 20 * batches, "%ld requests in %ld batches", sent, batches);
    char *text = h_read_file(trace, NULL);
    cr_assert_not_null(text, "no strace summary");
    long writes = 0; /* the calls column of each row of the summary */
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        double pct, secs;
        long usecs, calls;
        char name[32];
        if (sscanf(line, "%lf %lf %ld %ld %*s %31s", &pct, &secs, &usecs, &calls, name) == 5 ||
            sscanf(line, "%lf %lf %ld %ld %31s", &pct, &secs, &usecs, &calls, name) == 5)
            writes += strcmp(name, "total") ? calls : 0;
    }
    cr_log_info("%ld socket writes for %ld batches of 20 streams", writes, batches);
    cr_expect_gt(writes, 0, "strace counted no write: %s", text);
    cr_expect_leq(writes, 3 * batches + 10, "%ld socket writes for %ld batches of 20 streams",
                  writes, batches);
    free(text);
    json_decref(doc);
    h_run_free(&r);
}
