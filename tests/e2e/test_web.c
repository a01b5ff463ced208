/* The web UI's server: every endpoint's status and shape, a test started, edited, stopped,
 * reset and restarted through Locust's API against cicada-target, downloads, /metrics, basic
 * auth, TLS, --autostart with --autoquit, and the headless keyboard controls on a terminal.
 * Every request goes to 127.0.0.1 through curl with a time limit. */
#include <criterion/criterion.h>
#include <math.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "harness.h"

TestSuite(web, .fini = h_cleanup, .timeout = 120);

static const char *scenario =
    "local cicada = require 'cicada'\n"
    "local Web = cicada.user('Web', { wait_time = cicada.constant(0.05),\n"
    "                     tasks = { hello = 3, json = 1 } })\n"
    "function Web:hello() self.client:get('/hello') end\n"
    "function Web:json() self.client:get('/json') end\n";

typedef struct {
    pid_t pid;
    int port;
    const char *dir;
    const char *scheme; /* "http" or "https" */
    const char *login;  /* user:pass for curl, or NULL */
} web_t;

typedef struct {
    int status;
    char *body;    /* malloc'd */
    char *headers; /* malloc'd */
    json_t *json;  /* the body parsed, or NULL */
} resp_t;

static void resp_free(resp_t *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* Runs curl on path with extra arguments (NULL-terminated, up to 8); the body, headers and
 * status land in r. */
static void request(const web_t *w, resp_t *r, const char *path, const char *const *extra)
{
    const char *hdr = h_strf("%s/headers.%d", w->dir, rand());
    const char *argv[32] = {"/usr/bin/curl", "-sS", "-k", "-m", "10", "-D", hdr, "-w",
                            "\n%{http_code}"};
    int n = 9;
    if (w->login) {
        argv[n++] = "-u";
        argv[n++] = w->login;
    }
    for (; extra && *extra && n < 30; extra++)
        argv[n++] = *extra;
    argv[n++] = h_strf("%s://127.0.0.1:%d%s", w->scheme, w->port, path);
    argv[n] = NULL;
    h_run_t run;
    h_run_opts_t o = {.timeout_s = 15};
    memset(r, 0, sizeof(*r));
    cr_assert_eq(h_exec(&run, &o, (char *const *)argv), 0, "curl did not run");
    char *nl = strrchr(run.out, '\n');
    r->status = nl ? atoi(nl + 1) : 0;
    if (nl)
        *nl = '\0';
    r->body = strdup(run.out);
    r->headers = h_read_file(hdr, NULL);
    if (!r->headers)
        r->headers = strdup("");
    r->json = json_loads(r->body, 0, NULL);
    h_run_free(&run);
}

static void get(const web_t *w, resp_t *r, const char *path)
{
    request(w, r, path, NULL);
}

/* POST /swarm with form fields ("user_count=4", ...; NULL-terminated). */
static void swarm(const web_t *w, resp_t *r, const char *const *fields)
{
    const char *extra[16];
    int n = 0;
    for (; *fields && n < 14; fields++) {
        extra[n++] = "--data-urlencode";
        extra[n++] = *fields;
    }
    extra[n] = NULL;
    request(w, r, "/swarm", extra);
}

/* Starts cicada with the web UI on a free port of 127.0.0.1 and the given extra arguments. */
static void web_start(web_t *w, const char *host, const char *const *extra)
{
    memset(w, 0, sizeof(*w));
    w->dir = h_tmpdir();
    w->scheme = "http";
    w->port = h_free_port();
    cr_assert(w->dir && w->port > 0);
    const char *path = h_strf("%s/web.lua", w->dir);
    cr_assert_eq(h_write_file(path, scenario, strlen(scenario)), 0);
    const char *argv[40] = {
        CICADA_BIN,  "-f", path, "--web-host", "127.0.0.1", "-P", h_strf("%d", w->port),
        "--threads", "2"};
    int n = 9;
    if (host) {
        argv[n++] = "-H";
        argv[n++] = host;
    }
    for (; extra && *extra && n < 38; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    w->pid = h_spawn((char *const *)argv, h_strf("%s/stdout.log", w->dir),
                     h_strf("%s/stderr.log", w->dir));
    cr_assert(w->pid > 0);
    if (h_wait_port(w->port, 10) != 0) {
        char *err = h_read_file(h_strf("%s/stderr.log", w->dir), NULL);
        cr_assert_fail("the web UI did not listen: %s", err ? err : "");
    }
}

static const char *stderr_of(const web_t *w)
{
    char *s = h_read_file(h_strf("%s/stderr.log", w->dir), NULL);
    return s ? h_strf("%s", s) : "";
}

static json_t *aggregated(json_t *doc)
{
    json_t *rows = json_object_get(doc, "stats");
    return json_array_get(rows, json_array_size(rows) - 1);
}

static long total_requests(const web_t *w)
{
    resp_t r;
    get(w, &r, "/stats/requests");
    long n =
        r.json ? (long)json_integer_value(json_object_get(aggregated(r.json), "num_requests")) : -1;
    resp_free(&r);
    return n;
}

/* Polls /stats/requests until state is want (and, when users >= 0, user_count is users). */
static bool wait_state(const web_t *w, const char *want, long users, double timeout_s)
{
    double end = h_now() + timeout_s;
    while (h_now() < end) {
        resp_t r;
        get(w, &r, "/stats/requests");
        const char *state = json_string_value(json_object_get(r.json, "state"));
        long n = (long)json_integer_value(json_object_get(r.json, "user_count"));
        bool ok = state && strcmp(state, want) == 0 && (users < 0 || n == users);
        resp_free(&r);
        if (ok)
            return true;
        h_sleep(0.2);
    }
    return false;
}

static void expect_status(const web_t *w, const char *path, int status, const char *type)
{
    resp_t r;
    get(w, &r, path);
    cr_expect_eq(r.status, status, "%s: status %d", path, r.status);
    if (type)
        cr_expect(h_contains(r.headers, type), "%s: headers %s", path, r.headers);
    resp_free(&r);
}

static const char *row_keys[] = {"method",
                                 "name",
                                 "safe_name",
                                 "num_requests",
                                 "num_failures",
                                 "min_response_time",
                                 "max_response_time",
                                 "avg_response_time",
                                 "median_response_time",
                                 "current_rps",
                                 "current_fail_per_sec",
                                 "total_rps",
                                 "total_fail_per_sec",
                                 "response_time_percentile_0.95",
                                 "response_time_percentile_0.99",
                                 "ninetieth_response_time",
                                 "ninety_ninth_response_time",
                                 "avg_content_length",
                                 NULL};

static const char *top_keys[] = {"stats",
                                 "errors",
                                 "total_rps",
                                 "total_fail_per_sec",
                                 "fail_ratio",
                                 "current_response_time_percentiles",
                                 "current_response_time_percentile_50",
                                 "current_response_time_percentile_95",
                                 "state",
                                 "user_count",
                                 "workers",
                                 "worker_count",
                                 NULL};

static void expect_keys(json_t *o, const char **keys, const char *what)
{
    for (; *keys; keys++)
        cr_expect(json_object_get(o, *keys) != NULL, "%s lacks \"%s\"", what, *keys);
}

/* Before any test: the page, the assets, every JSON document in state ready. */
Test(web, endpoints_before_a_test)
{
    web_t w;
    web_start(&w, "http://127.0.0.1:1", NULL);
    expect_status(&w, "/", 200, "text/html");
    expect_status(&w, "/app.js", 200, "javascript");
    expect_status(&w, "/app.css", 200, "text/css");
    expect_status(&w, "/uplot.js", 200, "javascript");
    expect_status(&w, "/uplot.css", 200, "text/css");
    expect_status(&w, "/nowhere", 404, NULL);
    expect_status(&w, "/swarm", 405, NULL);
    expect_status(&w, "/stats/requests_full_history/csv", 404, NULL);
    resp_t r;
    get(&w, &r, "/stats/requests");
    cr_assert_eq(r.status, 200);
    cr_assert(r.json, "not JSON: %s", r.body);
    expect_keys(r.json, top_keys, "/stats/requests");
    expect_keys(aggregated(r.json), row_keys, "the Aggregated row");
    cr_expect_str_eq(json_string_value(json_object_get(r.json, "state")), "ready");
    cr_expect(json_is_null(json_object_get(aggregated(r.json), "method")));
    cr_expect_eq(json_array_size(json_object_get(r.json, "workers")), 0);
    resp_free(&r);
    get(&w, &r, "/config");
    cr_expect_str_eq(json_string_value(json_object_get(r.json, "host")), "http://127.0.0.1:1");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(r.json, "user_classes"), 0)),
                     "Web");
    resp_free(&r);
    get(&w, &r, "/tasks");
    json_t *tasks =
        json_object_get(json_object_get(json_object_get(r.json, "per_class"), "Web"), "tasks");
    cr_expect(fabs(json_number_value(json_object_get(json_object_get(tasks, "hello"), "ratio")) -
                   0.75) < 1e-9,
              "/tasks: %s", r.body);
    cr_expect(json_object_get(r.json, "total") != NULL);
    resp_free(&r);
    get(&w, &r, "/exceptions");
    cr_expect(json_is_array(json_object_get(r.json, "exceptions")), "/exceptions: %s", r.body);
    resp_free(&r);
    get(&w, &r, "/logs");
    cr_expect(h_contains(json_dumps(json_object_get(r.json, "master"), 0), "web interface"),
              "/logs: %s", r.body);
    resp_free(&r);
    get(&w, &r, "/stats/history");
    cr_expect(json_is_array(json_object_get(r.json, "history")), "/stats/history: %s", r.body);
    resp_free(&r);
    get(&w, &r, "/metrics");
    cr_expect(h_contains(r.headers, "version=0.0.4"), "%s", r.headers);
    cr_expect(h_contains(r.body, "cicada_users 0"), "%s", r.body);
    resp_free(&r);
    h_stop(w.pid, 5);
}

/* /metrics: every line a comment or `name{labels} value`; returns the requests counter of
 * name, or -1. */
static long metrics_requests(const char *text, const char *name)
{
    long found = -1;
    char *copy = strdup(text), *save = NULL;
    const char *want = h_strf("cicada_requests_total{method=\"GET\",name=\"%s\"} ", name);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            cr_expect(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0,
                      "bad comment: %s", line);
            continue;
        }
        char *sp = strrchr(line, ' ');
        char *end;
        cr_assert(sp, "no value: %s", line);
        strtod(sp + 1, &end);
        cr_expect(*end == '\0' && end > sp + 1, "bad value: %s", line);
        cr_expect(line[0] == '_' || (line[0] >= 'a' && line[0] <= 'z'), "bad name: %s", line);
        if (strncmp(line, want, strlen(want)) == 0)
            found = atol(sp + 1);
    }
    free(copy);
    return found;
}

static long row_requests(json_t *doc, const char *name)
{
    json_t *row;
    size_t i;
    json_array_foreach(json_object_get(doc, "stats"), i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "name")), name) == 0)
            return (long)json_integer_value(json_object_get(row, "num_requests"));
    }
    return -1;
}

static void expect_csv_header(const web_t *w, const char *path, const char *header)
{
    resp_t r;
    get(w, &r, path);
    cr_expect_eq(r.status, 200, "%s: %d", path, r.status);
    cr_expect(h_contains(r.headers, "text/csv") && h_contains(r.headers, "attachment"), "%s: %s",
              path, r.headers);
    cr_expect(strncmp(r.body, header, strlen(header)) == 0, "%s: %s", path, r.body);
    resp_free(&r);
}

/* A whole UI-driven session: start, watch, edit, stop, download, reset, new test, signal. */
Test(web, swarm_edit_stop_reset_and_new_test, .timeout = 180)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    web_t w;
    const char *dir = h_tmpdir();
    const char *json_file = h_strf("%s/final.json", dir);
    const char *extra[] = {"--report-json", json_file, NULL};
    web_start(&w, h_strf("http://127.0.0.1:%d", t.port), extra);
    resp_t r;

    const char *bad_time[] = {"user_count=2", "spawn_rate=10", "run_time=soon", NULL};
    swarm(&w, &r, bad_time);
    cr_expect_eq(r.status, 200);
    cr_expect(json_is_false(json_object_get(r.json, "success")), "%s", r.body);
    resp_free(&r);
    const char *bad_users[] = {"user_count=many", "spawn_rate=10", NULL};
    swarm(&w, &r, bad_users);
    cr_expect_eq(r.status, 400);
    cr_expect(json_is_false(json_object_get(r.json, "success")), "%s", r.body);
    resp_free(&r);

    const char *start[] = {"user_count=4", "spawn_rate=100", NULL};
    swarm(&w, &r, start);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_expect(json_is_true(json_object_get(r.json, "success")), "%s", r.body);
    cr_expect_str_eq(json_string_value(json_object_get(r.json, "message")), "Swarming started");
    cr_expect_str_eq(json_string_value(json_object_get(r.json, "host")),
                     h_strf("http://127.0.0.1:%d", t.port));
    resp_free(&r);
    cr_assert(wait_state(&w, "running", 4, 10), "not running 4 users: %s", stderr_of(&w));
    long first = 0; /* the documents follow the engines' reports, once a second */
    for (double end = h_now() + 5; first <= 0 && h_now() < end; h_sleep(0.2))
        first = total_requests(&w);
    h_sleep(2.2);
    long second = total_requests(&w);
    cr_expect(first > 0 && second > first, "requests %ld then %ld", first, second);

    const char *more[] = {"user_count=9", "spawn_rate=100", NULL};
    swarm(&w, &r, more);
    resp_free(&r);
    cr_expect(wait_state(&w, "running", 9, 10), "not running 9 users");
    get(&w, &r, "/config");
    cr_expect_eq(
        json_integer_value(json_object_get(json_object_get(r.json, "users_per_class"), "Web")), 9,
        "%s", r.body);
    resp_free(&r);

    get(&w, &r, "/stop");
    cr_expect(json_is_true(json_object_get(r.json, "success")), "%s", r.body);
    resp_free(&r);
    cr_assert(wait_state(&w, "stopped", 0, 15), "not stopped: %s", stderr_of(&w));
    h_sleep(1.2); /* one more publish: the documents hold the final counts */

    get(&w, &r, "/stats/requests");
    json_t *stats = json_incref(r.json);
    resp_free(&r);
    long hello = row_requests(stats, "/hello");
    cr_expect(hello > 0);
    /* Beside Locust's whole milliseconds, each row carries the exact times the page shows. */
    json_t *rows = json_object_get(stats, "stats"), *exact = NULL;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        if (strcmp(json_string_value(json_object_get(row, "name")), "/hello") == 0)
            exact = json_object_get(row, "exact");
    }
    cr_expect(json_is_real(json_object_get(exact, "median_response_time")) &&
                  json_real_value(json_object_get(exact, "median_response_time")) > 0,
              "no exact median for /hello");
    cr_expect(json_is_real(json_object_get(exact, "response_time_percentile_0.99")));
    cr_expect_eq(h_target_path_count(&t, "/hello"), hello, "the target saw another count");
    get(&w, &r, "/metrics");
    cr_expect_eq(metrics_requests(r.body, "/hello"), hello, "/metrics: %s", r.body);
    cr_expect_eq(metrics_requests(r.body, "/json"), row_requests(stats, "/json"));
    cr_expect(h_contains(r.body, "cicada_response_time_seconds_bucket{method=\"GET\",name=\"/hello"
                                 "\",le=\"+Inf\"} "),
              "no histogram");
    resp_free(&r);
    json_decref(stats);

    expect_csv_header(&w, "/stats/requests/csv",
                      "Type,Name,Request Count,Failure Count,Median Response Time,");
    expect_csv_header(&w, "/stats/failures/csv", "Method,Name,Error,Occurrences");
    expect_csv_header(&w, "/exceptions/csv", "Count,Message,Traceback,Nodes");
    get(&w, &r, "/stats/report");
    cr_expect_eq(r.status, 200);
    cr_expect(h_contains(r.body, "<html") && h_contains(r.body, "/hello"), "report");
    cr_expect(!h_contains(r.headers, "attachment"));
    resp_free(&r);
    get(&w, &r, "/stats/report?download=1");
    cr_expect(h_contains(r.headers, "attachment;filename=report_"), "%s", r.headers);
    resp_free(&r);
    get(&w, &r, "/stats/history");
    cr_expect_geq(json_array_size(json_object_get(r.json, "history")), 3, "%s", r.body);
    cr_expect_not_null(json_object_get(json_array_get(json_object_get(r.json, "history"), 0),
                                       "response_time_percentile_99"),
                       "no p99 in the history: %s", r.body);
    resp_free(&r);
    get(&w, &r, "/stats/report.json?download=1");
    cr_expect_eq(r.status, 200);
    cr_expect(h_contains(r.headers, "application/json"), "%s", r.headers);
    cr_expect(h_contains(r.headers, "attachment;filename=report_"), "%s", r.headers);
    cr_expect_eq(h_requests(r.json, "GET", "/hello"), hello, "the run report: %s", r.body);
    resp_free(&r);

    get(&w, &r, "/stats/reset");
    cr_expect_str_eq(r.body, "ok");
    resp_free(&r);
    h_sleep(0.3);
    cr_expect_eq(total_requests(&w), 0);

    const char *again[] = {"user_count=2", "spawn_rate=100", NULL};
    swarm(&w, &r, again);
    resp_free(&r);
    cr_assert(wait_state(&w, "running", 2, 10), "the new test did not run");
    h_sleep(2);
    long third = total_requests(&w);
    cr_expect(third > 0, "the new test counts no request");

    kill(w.pid, SIGINT); /* Ctrl-C: the users stop, the reports are written */
    double end = h_now() + 15;
    while (h_alive(w.pid) && h_now() < end)
        h_sleep(0.1);
    cr_assert(!h_alive(w.pid), "still running after SIGINT");
    json_t *final = json_load_file(json_file, 0, NULL);
    cr_assert(final, "no --report-json written: %s", stderr_of(&w));
    long total =
        (long)json_integer_value(json_object_get(json_object_get(final, "total"), "num_requests"));
    cr_expect(total >= third && total < hello + third + 1000, "final total %ld", total);
    json_decref(final);
    h_target_stop(&t);
}

Test(web, basic_auth_on_every_path)
{
    web_t w;
    const char *extra[] = {"--web-login", "alice:s3cret", NULL};
    web_start(&w, "http://127.0.0.1:1", extra);
    const char *paths[] = {"/", "/stats/requests", "/metrics", "/stop", "/uplot.js", NULL};
    for (const char **p = paths; *p; p++) {
        resp_t r;
        get(&w, &r, *p);
        cr_expect_eq(r.status, 401, "%s without credentials: %d", *p, r.status);
        cr_expect(h_contains(r.headers, "WWW-Authenticate: Basic"), "%s", r.headers);
        resp_free(&r);
    }
    w.login = "alice:wrong";
    expect_status(&w, "/stats/requests", 401, NULL);
    w.login = "alice:s3cret";
    expect_status(&w, "/stats/requests", 200, "application/json");
    expect_status(&w, "/", 200, "text/html");
    resp_t r;
    const char *start[] = {"user_count=0", "spawn_rate=1", NULL};
    swarm(&w, &r, start);
    cr_expect_eq(r.status, 200, "%s", r.body);
    resp_free(&r);
    h_stop(w.pid, 5);
}

Test(web, tls)
{
    const char *dir = h_tmpdir();
    const char *cert = h_strf("%s/cert.pem", dir), *key = h_strf("%s/key.pem", dir);
    const char *argv[] = {"/usr/bin/openssl",
                          "req",
                          "-x509",
                          "-newkey",
                          "rsa:2048",
                          "-nodes",
                          "-keyout",
                          key,
                          "-out",
                          cert,
                          "-days",
                          "1",
                          "-subj",
                          "/CN=127.0.0.1",
                          NULL};
    h_run_t run;
    cr_assert_eq(h_exec(&run, NULL, (char *const *)argv), 0);
    H_ASSERT_EXIT(&run, 0);
    h_run_free(&run);
    web_t w;
    const char *extra[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    web_start(&w, "http://127.0.0.1:1", extra);
    w.scheme = "https";
    expect_status(&w, "/stats/requests", 200, "application/json");
    expect_status(&w, "/", 200, "text/html");
    w.scheme = "http";
    resp_t r;
    get(&w, &r, "/stats/requests");
    cr_expect_neq(r.status, 200, "plain HTTP answered on the HTTPS port");
    resp_free(&r);
    h_stop(w.pid, 5);
}

/* --autostart runs at once with the command line's values and --autoquit ends the process
 * after the run time, with the reports written. */
Test(web, autostart_and_autoquit)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    web_t w;
    const char *dir = h_tmpdir();
    const char *extra[] = {"--autostart",
                           "-u",
                           "3",
                           "-r",
                           "100",
                           "-t",
                           "2s",
                           "--autoquit",
                           "1",
                           "--csv",
                           h_strf("%s/run", dir),
                           "--report-json",
                           h_strf("%s/run.json", dir),
                           NULL};
    double start = h_now();
    web_start(&w, h_strf("http://127.0.0.1:%d", t.port), extra);
    cr_expect(wait_state(&w, "running", 3, 5), "not running at once");
    while (h_alive(w.pid) && h_now() - start < 20)
        h_sleep(0.1);
    cr_assert(!h_alive(w.pid), "did not quit by itself: %s", stderr_of(&w));
    cr_expect(h_now() - start < 10);
    json_t *doc = json_load_file(h_strf("%s/run.json", dir), 0, NULL);
    cr_assert(doc, "no JSON report");
    cr_expect_gt(json_integer_value(json_object_get(json_object_get(doc, "total"), "num_requests")),
                 0);
    json_decref(doc);
    h_csv_t csv;
    cr_expect_eq(h_csv_read(&csv, h_strf("%s/run_stats.csv", dir)), 0, "no CSV");
    h_csv_free(&csv);
    h_target_stop(&t);
}

/* Headless on a terminal: W adds 10 users; the terminal's mode is restored at exit. */
Test(web, keyboard_controls_on_a_terminal)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *dir = h_tmpdir();
    const char *path = h_strf("%s/keys.lua", dir);
    cr_assert_eq(h_write_file(path, scenario, strlen(scenario)), 0);
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    cr_assert(pid >= 0);
    if (pid == 0) {
        alarm(30);
        execl(CICADA_BIN, CICADA_BIN, "-f", path, "-H", h_strf("http://127.0.0.1:%d", t.port), "-u",
              "1", "-r", "100", "-t", "5s", "--headless", "--only-summary", "--threads", "1",
              (char *)NULL);
        _exit(127);
    }
    char out[65536];
    size_t len = 0;
    bool sent = false;
    double start = h_now();
    while (h_now() - start < 20) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(master, &fds);
        struct timeval tv = {0, 100000};
        if (select(master + 1, &fds, NULL, NULL, &tv) > 0) {
            ssize_t n = read(master, out + len, sizeof(out) - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            out[len] = '\0';
        }
        if (!sent && len && h_contains(out, "Keyboard: w/W")) {
            h_sleep(0.5);
            cr_assert_eq(write(master, "W", 1), 1);
            sent = true;
        }
    }
    int status;
    waitpid(pid, &status, 0);
    out[len] = '\0';
    cr_expect(sent, "no keyboard prompt: %s", out);
    cr_expect(h_contains(out, "raising users to 11"), "%s", out);
    cr_expect(h_contains(out, "All users spawned: 11 users"), "%s", out);
    struct termios tio;
    if (tcgetattr(master, &tio) == 0)
        cr_expect((tio.c_lflag & (ICANON | ECHO)) == (ICANON | ECHO), "terminal left raw");
    close(master);
    h_target_stop(&t);
}
