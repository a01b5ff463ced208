/* HTTP/2 against nginx's http2 module: negotiated by ALPN over TLS and by prior knowledge in
 * the clear, exact counts against nginx's log, a batch as streams on one connection per user,
 * r.protocol, and the fallback to HTTP/1.1 when the server does not offer HTTP/2. */
#include <criterion/criterion.h>

#include "harness.h"

#include <string.h>
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

/* ---- Redirects, cookies, compression and trailers over HTTP/2 (nginx) ---------------------- */

/* A text long enough for nginx to compress (gzip_min_length), and what its locations say. */
#define LONG_TEXT                                                                                  \
    "cicada speaks HTTP/2 to nginx, which compresses this text because it is long enough. "        \
    "cicada speaks HTTP/2 to nginx, which compresses this text because it is long enough. "        \
    "cicada speaks HTTP/2 to nginx, which compresses this text because it is long enough. "        \
    "cicada speaks HTTP/2 to nginx, which compresses this text because it is long enough."

static const char *session_locations =
    "    location = /go { return 302 /hello; }\n"
    "    location = /login {\n"
    "      add_header Set-Cookie \"session=abc123; Path=/\";\n"
    "      add_header Set-Cookie \"theme=dark; Path=/\";\n"
    "      return 200 \"in\";\n"
    "    }\n"
    "    location = /whoami { return 200 \"$http_cookie\"; }\n"
    "    location = /long {\n"
    "      gzip on; gzip_types text/plain; gzip_min_length 100;\n"
    "      return 200 \"" LONG_TEXT "\";\n"
    "    }\n"
    "    location = /trailer {\n"
    "      add_trailer X-Checksum abc always;\n"
    "      add_trailer Set-Cookie \"trailer=no; Path=/\" always;\n"
    "      return 200 \"with a trailer\";\n"
    "    }\n";

/* Each task checks one behaviour and raises when it does not hold; each user logs in first. */
static const char session_scenario[] =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { insecure = true, http2 = os.getenv('H2_MODE') == 'prior' and\n"
    "  'prior-knowledge' or true, wait_time = cicada.constant(0.01),\n"
    "  tasks = { redirect = 1, cookie = 1, gzip = 1, trailer = 1 } })\n"
    "local want = os.getenv('H2_PROTOCOL')\n"
    "local function check(r, what, cond)\n"
    "  if not (r.protocol == want and cond) then\n"
    "    error(what .. ': protocol ' .. r.protocol .. ', status ' .. r.status .. ', body ' ..\n"
    "          r.body)\n"
    "  end\n"
    "end\n"
    "function U:on_start()\n"
    "  local r = self.client:get('/login')\n"
    "  check(r, 'login', r.body == 'in')\n"
    "end\n"
    "function U:redirect()\n"
    "  local r = self.client:get('/go')\n"
    "  check(r, 'redirect', r.status == 200 and r.body == '" H_HELLO "' and #r.history == 1\n"
    "        and r.history[1].status == 302 and r.url:sub(-6) == '/hello')\n"
    "end\n"
    "function U:cookie()\n"
    "  local r = self.client:get('/whoami')\n"
    "  check(r, 'cookie', r.body == 'session=abc123; theme=dark')\n"
    "end\n"
    "function U:gzip()\n"
    "  local r = self.client:get('/long')\n"
    "  check(r, 'gzip', r.body == '" LONG_TEXT "' and r.headers['content-encoding'] == 'gzip')\n"
    "end\n"
    "function U:trailer()\n"
    "  local r = self.client:get('/trailer')\n"
    "  check(r, 'trailer', r.body == 'with a trailer' and r.trailers['x-checksum'] == 'abc'\n"
    "        and r.headers['x-checksum'] == nil and self.client:cookies().trailer == nil)\n"
    "end\n";

/* Runs the session scenario against nginx's port over the protocol, and checks that every
 * request of each task reached nginx as cicada counted it, over one connection per user. */
static void run_session(const char *url, const char *mode, const char *protocol, const char *log,
                        const char *server_protocol)
{
    h_nginx_t n;
    h_run_t r;
    h_nginx_opts_t o = {.http2 = true, .locations = session_locations};
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx with HTTP/2 did not start");
    const char *env[] = {h_strf("H2_MODE=%s", mode), h_strf("H2_PROTOCOL=%s", protocol), NULL};
    h_run_opts_t ro = {.timeout_s = 40, .env = env};
    int port = strcmp(log, "tls.log") == 0   ? n.tls_port
               : strcmp(log, "h2c.log") == 0 ? n.h2c_port
                                             : n.port;
    cr_assert_eq(h_cicada(&r, &ro, session_scenario, "-H", h_strf(url, H_HOST, port), "-u", "3",
                          "-r", "100", "-t", "2s", "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect_eq(h_total_failures(r.json), 0);
    long go = h_requests(r.json, "GET", "/go"), login = h_requests(r.json, "GET", "/login");
    const char *rows[] = {"/whoami", "/long", "/trailer"};
    cr_expect_eq(login, 3, "one login per user");
    cr_expect_gt(go, 5);
    cr_expect_eq(h_nginx_count(&n, log, "/go", go), go);
    cr_expect_eq(h_nginx_count(&n, log, "/hello", go), go, "each redirect followed once");
    long total = login + 2 * go;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        long c = h_requests(r.json, "GET", rows[i]);
        cr_expect_gt(c, 5, "%s", rows[i]);
        cr_expect_eq(h_nginx_count(&n, log, rows[i], c), c, "%s", rows[i]);
        total += c;
    }
    cr_expect_eq(h_nginx_count_protocol(&n, log, server_protocol), total);
    cr_expect_eq(h_nginx_connections(&n, log), 3, "one connection per user");
    h_run_free(&r);
}

Test(http2, redirects_cookies_gzip_and_trailers_over_alpn)
{
    run_session("https://%s:%d", "alpn", "HTTP/2", "tls.log", "HTTP/2.0");
}

Test(http2, redirects_cookies_gzip_and_trailers_in_the_clear)
{
    run_session("http://%s:%d", "prior", "HTTP/2", "h2c.log", "HTTP/2.0");
}

/* The same scenario over HTTP/1.1, where nginx sends its trailers after a chunked body. */
Test(http2, the_same_session_over_http1)
{
    run_session("http://%s:%d", "alpn", "HTTP/1.1", "access.log", "HTTP/1.1");
}

/* ---- Timeouts and resets of single streams ------------------------------------------------- */

/* A request over HTTP/2 that times out resets its stream alone: nginx logs it as closed by the
 * client (499), and the user's next requests go on the same connection. */
Test(http2, timeout_resets_its_stream_and_keeps_the_connection)
{
    h_target_t t;
    h_nginx_t n;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    h_nginx_opts_t o = {.http2 = true, .proxy_port = t.port};
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx with HTTP/2 did not start");
    const char *scenario =
        "local cicada = require 'cicada'\n"
        "local U = cicada.user('U', { insecure = true, wait_time = cicada.constant(0),\n"
        "  tasks = { t = 1 } })\n"
        "function U:t()\n"
        "  local r = self.client:get('/delay/2000', { timeout = 0.3 })\n"
        "  assert(r.status == 0 and r.protocol == 'HTTP/2', tostring(r.error))\n"
        "  r = self.client:get('/hello')\n"
        "  assert(r.status == 200 and r.protocol == 'HTTP/2', tostring(r.error))\n"
        "end\n";
    cr_assert_eq(h_cicada(&r, NULL, scenario, "-H", h_strf("https://%s:%d", H_HOST, n.tls_port),
                          "-u", "2", "-r", "100", "-t", "2s", "--stop-timeout", "5", H_LOAD_FLAGS,
                          NULL),
                 0);
    H_ASSERT_EXIT(&r, 1); /* the timeouts are failures */
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    long slow = h_requests(r.json, "GET", "/delay/2000"),
         hello = h_requests(r.json, "GET", "/hello");
    cr_expect_gt(slow, 4);
    cr_expect_eq(h_failures(r.json, "GET", "/delay/2000"), slow, "every slow request timed out");
    cr_expect_not_null(h_error(r.json, "GET", "/delay/2000", "timeout after 0.3s"));
    cr_expect_eq(h_failures(r.json, "GET", "/hello"), 0);
    cr_expect_eq(h_nginx_count(&n, "tls.log", "/hello", hello), hello);
    cr_expect_eq(h_nginx_count(&n, "tls.log", "/delay/2000", slow), slow);
    char *log = h_read_file(h_strf("%s/tls.log", n.dir), NULL);
    cr_assert_not_null(log);
    cr_expect_eq(h_count(log, " 499 /delay/2000 HTTP/2.0"), slow, "each stream was reset:\n%s",
                 log);
    free(log);
    cr_expect_eq(h_nginx_connections(&n, "tls.log"), 2, "one connection per user");
    h_run_free(&r);
}

/* ---- A server of our own (tests/e2e/h2/h2_server.py, on Debian's python3-h2) -------------- */

#define PYTHON    "/usr/bin/python3"
#define H2_SERVER SOURCE_DIR "/tests/e2e/h2/h2_server.py"

typedef struct {
    int port;
    const char *log;
} py_h2_t;

static void py_h2_start(py_h2_t *p)
{
    const char *dir = h_tmpdir();
    cr_assert_not_null(dir);
    p->port = h_free_port();
    p->log = h_strf("%s/events.log", dir);
    cr_assert_eq(h_write_file(p->log, "", 0), 0);
    char *argv[] = {PYTHON, H2_SERVER, (char *)h_strf("%d", p->port), (char *)p->log, NULL};
    cr_assert_gt(h_spawn(argv, NULL, h_strf("%s/server.err", dir)), 0);
    cr_assert_eq(h_wait_port(p->port, 10), 0, "the python3-h2 server did not start");
}

/* The lines of the server's log that start with prefix, re-read for up to 1 s until their
 * count is want. The connection the harness made to wait for the port is line "conn 1". */
static long py_h2_count(const py_h2_t *p, const char *prefix, long want)
{
    long n = -1;
    double end = h_now() + 1.0;
    do {
        char *text = h_read_file(p->log, NULL);
        n = text ? h_count(text, prefix) : -1;
        free(text);
        if (n != want)
            h_sleep(0.05);
    } while (n != want && h_now() < end);
    return n;
}

/* Streams the server resets fail with RST_STREAM and the code's name (and number), a stream
 * reset after part of its response too; a request that times out resets its stream with
 * CANCEL; and the connection carries on: one per user for the whole run. */
Test(http2, server_reset_streams_fail_with_their_code_and_keep_the_connection)
{
    py_h2_t p;
    h_run_t r;
    py_h2_start(&p);
    const char *scenario =
        "local cicada = require 'cicada'\n"
        "local U = cicada.user('U', { http2 = 'prior-knowledge', wait_time = cicada.constant(0),\n"
        "  tasks = { t = 1 } })\n"
        "function U:t()\n"
        "  for _, path in ipairs { '/rst/2', '/half/11', '/rst/153' } do\n"
        "    local r = self.client:get(path)\n"
        "    assert(r.status == 0 and r.error:find('RST_STREAM', 1, true), tostring(r.error))\n"
        "  end\n"
        "  local r = self.client:get('/never', { timeout = 0.2 })\n"
        "  assert(r.status == 0, 'an answer to /never')\n"
        "  r = self.client:get('/ok')\n"
        "  assert(r.status == 200 and r.body == 'ok' and r.protocol == 'HTTP/2', "
        "tostring(r.error))\n"
        "  r = self.client:get('/hints')\n" /* a 103's fields are not the response's */
        "  assert(r.status == 200 and r.body == 'ok', tostring(r.error))\n"
        "  assert(r.headers['x-interim'] == nil and r.headers.link == nil, 'interim fields kept')\n"
        "  assert(r.headers['content-length'] == '2', 'final fields lost')\n"
        "end\n";
    cr_assert_eq(h_cicada(&r, NULL, scenario, "-H", h_strf("http://%s:%d", H_HOST, p.port), "-u",
                          "2", "-r", "100", "-t", "2s", "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    static const struct {
        const char *path, *error;
    } resets[] = {
        {"/rst/2", "stream reset by the server: RST_STREAM INTERNAL_ERROR (0x2)"},
        {"/half/11", "stream reset by the server: RST_STREAM ENHANCE_YOUR_CALM (0xb)"},
        {"/rst/153", "stream reset by the server: RST_STREAM unknown error code (0x99)"},
    };
    long ok = h_requests(r.json, "GET", "/ok"), never = h_requests(r.json, "GET", "/never");
    cr_expect_gt(ok, 4);
    cr_expect_eq(h_failures(r.json, "GET", "/ok"), 0);
    for (size_t i = 0; i < sizeof resets / sizeof *resets; i++) {
        long c = h_requests(r.json, "GET", resets[i].path);
        cr_expect_geq(c, ok, "%s", resets[i].path);
        cr_expect_eq(h_failures(r.json, "GET", resets[i].path), c, "%s", resets[i].path);
        json_t *e = h_error(r.json, "GET", resets[i].path, NULL);
        const char *text = json_string_value(json_object_get(e, "error"));
        cr_expect(text && strcmp(text, resets[i].error) == 0, "%s: %s", resets[i].path,
                  text ? text : "(no error)");
        cr_expect_eq(py_h2_count(&p, h_strf("request %s ", resets[i].path), c), c, "%s",
                     resets[i].path);
    }
    cr_expect_eq(h_failures(r.json, "GET", "/never"), never);
    cr_expect_not_null(h_error(r.json, "GET", "/never", "timeout after 0.2s"));
    cr_expect_eq(py_h2_count(&p, "reset /never 8 ", never), never, "each timeout sent CANCEL");
    cr_expect_eq(py_h2_count(&p, "request /ok ", ok), ok);
    /* The harness's probe of the port, then one connection per user. */
    cr_expect_eq(py_h2_count(&p, "conn ", 3), 3, "a connection was replaced");
    h_run_free(&r);
}
