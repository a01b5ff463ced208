/* Distributed runs, with real processes on 127.0.0.1: a cicada master and cicada workers (exact
 * counts, a worker killed, the master killed, garbage on the master port, --processes), and
 * Locust from Debian on either side of the protocol. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(distributed, .fini = h_cleanup, .timeout = 120);

#define PYTHON "/usr/bin/python3"

#ifndef CICADA_BIN
#define CICADA_BIN "cicada"
#endif

static const char *scenario = "local cicada = require 'cicada'\n"
                              "local U = cicada.user('U', { wait_time = cicada.constant(0.05),\n"
                              "                             tasks = { t = 1 } })\n"
                              "function U:t() self.client:get('/hello') end\n";

static const char *locustfile = "from locust import HttpUser, task, constant\n"
                                "class U(HttpUser):\n"
                                "    wait_time = constant(0.05)\n"
                                "    @task\n"
                                "    def t(self):\n"
                                "        self.client.get('/hello')\n";

static const char *write_scenario(void)
{
    const char *path = h_strf("%s/scenario.lua", h_tmpdir());
    cr_assert_eq(h_write_file(path, scenario, strlen(scenario)), 0);
    return path;
}

static bool locust_installed(void)
{
    h_run_t r;
    char *argv[] = {(char *)PYTHON, (char *)"-c", (char *)"import locust, zmq, msgpack", NULL};
    if (access(PYTHON, X_OK) != 0 || h_exec(&r, NULL, argv) != 0)
        return false;
    bool ok = r.exited && r.status == 0;
    h_run_free(&r);
    return ok;
}

/* Starts `cicada -f path --worker --master-port port [extra 2]`, output in the scenario's
 * folder as name.out and name.err. */
static pid_t start_worker(const char *path, int port, const char *name, const char *extra)
{
    const char *dir = h_strf("%.*s", (int)(strrchr(path, '/') - path), path);
    char *argv[] = {(char *)CICADA_BIN,
                    (char *)"-f",
                    (char *)path,
                    (char *)"--worker",
                    (char *)"--master-port",
                    (char *)h_strf("%d", port),
                    (char *)"--threads",
                    (char *)"1",
                    extra ? (char *)extra : NULL,
                    extra ? (char *)"2" : NULL,
                    NULL};
    pid_t pid = h_spawn(argv, h_strf("%s/%s.out", dir, name), h_strf("%s/%s.err", dir, name));
    cr_assert_gt(pid, 0);
    return pid;
}

/* Waits up to timeout_s for pid to exit; true when it did. */
static bool wait_exit(pid_t pid, double timeout_s)
{
    double end = h_now() + timeout_s;
    while (h_alive(pid)) {
        if (h_now() > end)
            return false;
        h_sleep(0.05);
    }
    return true;
}

/* True once file contains needle, waiting up to timeout_s. */
static bool wait_text(const char *file, const char *needle, double timeout_s)
{
    double end = h_now() + timeout_s;
    do {
        char *text = h_read_file(file, NULL);
        bool found = text && strstr(text, needle);
        free(text);
        if (found)
            return true;
        h_sleep(0.1);
    } while (h_now() < end);
    return false;
}

/* /stats/requests of a web UI on port, or NULL. */
static json_t *ui_stats(int port)
{
    int status = 0;
    char *body = h_http_get(port, "/stats/requests", &status);
    json_t *doc = body && status == 200 ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return doc;
}

/* Waits up to timeout_s until the UI on port reports `users` users; true when it did. */
static bool wait_users(int port, long users, double timeout_s)
{
    double end = h_now() + timeout_s;
    do {
        json_t *doc = ui_stats(port);
        long n = doc ? (long)json_integer_value(json_object_get(doc, "user_count")) : -1;
        json_decref(doc);
        if (n == users)
            return true;
        h_sleep(0.2);
    } while (h_now() < end);
    return false;
}

/* Starts a master with its web UI on 127.0.0.1:web that begins a test of 10 users over 2
 * workers at once (--autostart) and quits when it ends; stderr to err_path, the run document
 * to report (NULL: none). */
static pid_t start_ui_master(const char *path, int port, int web, int target_port,
                             const char *run_time, const char *report, const char *err_path)
{
    const char *argv[40] = {CICADA_BIN,
                            "-f",
                            path,
                            "--master",
                            "--master-bind-port",
                            h_strf("%d", port),
                            "--expect-workers",
                            "2",
                            "--autostart",
                            "--autoquit",
                            "0",
                            "--web-host",
                            H_HOST,
                            "-P",
                            h_strf("%d", web),
                            "-H",
                            h_strf("http://%s:%d", H_HOST, target_port),
                            "-u",
                            "10",
                            "-r",
                            "100",
                            "-t",
                            run_time};
    size_t n = 23;
    if (report) {
        argv[n++] = "--report-json";
        argv[n++] = report;
    }
    pid_t pid = h_spawn((char *const *)argv, NULL, err_path);
    cr_assert_gt(pid, 0);
    return pid;
}

Test(distributed, two_workers_count_exactly_what_the_target_served)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario(),
               *dir = h_strf("%.*s", (int)(strrchr(path, '/') - path), path);
    int port = h_free_port();
    /* Started before the master: they connect when it appears. */
    pid_t w1 = start_worker(path, port, "w1", NULL), w2 = start_worker(path, port, "w2", NULL);
    h_sleep(0.5);
    h_run_t r;
    h_run_opts_t o = {.timeout_s = 40};
    cr_assert_eq(h_cicada(&r, &o, NULL, "-f", path, "--master", "--master-bind-port",
                          h_strf("%d", port), "--expect-workers", "2", "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "10", "-r", "100", "-t",
                          "4s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long counted = h_total_requests(r.json);
    cr_assert_gt(counted, 100, "the workers ran no load: %ld requests", counted);
    cr_expect_eq(h_target_requests(&t, counted), counted,
                 "the master counted %ld requests, the target served another number", counted);
    cr_expect(h_contains(r.err, "2 workers connected"), "%s", r.err);
    /* Told to quit at the end. */
    cr_expect(wait_exit(w1, 5) && wait_exit(w2, 5), "a worker did not quit with the master: %s",
              h_read_file(h_strf("%s/w1.err", dir), NULL));
    h_run_free(&r);
}

Test(distributed, a_killed_worker_is_missing_and_its_users_go_to_the_other)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario(),
               *dir = h_strf("%.*s", (int)(strrchr(path, '/') - path), path);
    int port = h_free_port(), web = h_free_port();
    const char *report = h_strf("%s/run.json", dir), *err = h_strf("%s/master.err", dir);
    pid_t master = start_ui_master(path, port, web, t.port, "14s", report, err);
    pid_t w1 = start_worker(path, port, "w1", NULL), w2 = start_worker(path, port, "w2", NULL);
    cr_assert(wait_users(web, 10, 15), "the master never ran 10 users");
    h_sleep(3.5); /* a statistics report of each worker has reached the master */
    long before = h_target_requests(&t, -1);
    double killed = h_now();
    kill(w1, SIGKILL);
    cr_assert(wait_text(err, "missing", 6), "the master did not notice the killed worker");
    cr_expect_lt(h_now() - killed, 5.5, "marked missing only after %.1f s", h_now() - killed);
    cr_assert(wait_users(web, 10, 8), "the 10 users were not restored on the other worker");
    cr_assert(wait_exit(master, 30), "the master did not end");
    char *text = h_read_file(report, NULL);
    cr_assert_not_null(text, "no run document");
    json_t *doc = json_loads(text, 0, NULL);
    free(text);
    cr_assert_not_null(doc);
    long counted = h_total_requests(doc), served = h_target_requests(&t, -1);
    /* What the killed worker had reported stays; only its last unreported seconds are lost. */
    cr_expect_gt(counted, before / 2, "counted %ld, served %ld before the kill", counted, before);
    cr_expect_leq(counted, served);
    json_decref(doc);
    cr_expect(wait_exit(w2, 5), "the surviving worker did not quit with the master");
}

Test(distributed, workers_stop_their_users_when_the_master_is_killed)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario(),
               *dir = h_strf("%.*s", (int)(strrchr(path, '/') - path), path);
    int port = h_free_port();
    char *argv[] = {(char *)CICADA_BIN,
                    (char *)"-f",
                    (char *)path,
                    (char *)"--master",
                    (char *)"--headless",
                    (char *)"--master-bind-port",
                    (char *)h_strf("%d", port),
                    (char *)"-H",
                    (char *)h_strf("http://%s:%d", H_HOST, t.port),
                    (char *)"-u",
                    (char *)"4",
                    (char *)"-r",
                    (char *)"100",
                    (char *)"-t",
                    (char *)"60s",
                    NULL};
    pid_t master = h_spawn(argv, NULL, h_strf("%s/master.err", dir));
    pid_t w = start_worker(path, port, "w", "--master-timeout");
    double end = h_now() + 15;
    while (h_target_requests(&t, -1) < 50 && h_now() < end)
        h_sleep(0.2);
    cr_assert_geq(h_target_requests(&t, -1), 50, "the worker ran no load");
    kill(master, SIGKILL);
    double killed = h_now();
    cr_assert(wait_exit(w, 8), "the worker still runs 8 s after its master died");
    cr_expect_lt(h_now() - killed, 6, "the worker gave up only after %.1f s", h_now() - killed);
    long after = h_target_requests(&t, -1);
    h_sleep(1);
    cr_expect_eq(h_target_requests(&t, -1), after, "requests still arrive");
    cr_expect(wait_text(h_strf("%s/w.err", dir), "master", 1));
}

Test(distributed, garbage_on_the_master_port_is_logged_and_ignored)
{
    if (!locust_installed()) {
        cr_skip_test("python3-zmq and python3-msgpack are needed (apt-get install python3-locust)");
        return;
    }
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario(),
               *dir = h_strf("%.*s", (int)(strrchr(path, '/') - path), path);
    int port = h_free_port();
    const char *py = h_strf(
        "import socket, time, zmq, msgpack, os\n"
        "time.sleep(1.5)\n"
        "s = socket.create_connection(('127.0.0.1', %d)); s.sendall(os.urandom(4096)); s.close()\n"
        "c = zmq.Context(); d = c.socket(zmq.DEALER); d.setsockopt(zmq.IDENTITY, b'garbage_1')\n"
        "d.connect('tcp://127.0.0.1:%d')\n"
        "d.send(os.urandom(300))\n"
        "d.send(msgpack.dumps(['stats', {'stats': [1, 2]}, 'x'])[:-3])\n"
        "d.send(msgpack.dumps(['client_ready', 'x', 'garbage_1']))\n"
        "d.send(msgpack.dumps(['bogus', None, 'garbage_1']))\n"
        "d.send(msgpack.dumps(['stats', 'not a map', 'garbage_1']))\n"
        "d.send(msgpack.dumps(['stats', {'stats': [{'name': 5}]}, 'garbage_1']))\n"
        "d.send(msgpack.dumps(['quit', None, 'garbage_1']))\n"
        "time.sleep(0.5); d.close(0); c.term()\n",
        port, port);
    char *pargv[] = {(char *)PYTHON, (char *)"-c", (char *)py, NULL};
    pid_t w = start_worker(path, port, "w", NULL);
    pid_t g = h_spawn(pargv, NULL, h_strf("%s/garbage.err", dir));
    cr_assert_gt(g, 0);
    h_run_t r;
    h_run_opts_t o = {.timeout_s = 40};
    cr_assert_eq(h_cicada(&r, &o, NULL, "-f", path, "--master", "--master-bind-port",
                          h_strf("%d", port), "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u",
                          "4", "-r", "100", "-t", "5s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long counted = h_total_requests(r.json);
    cr_assert_gt(counted, 50);
    cr_expect_eq(h_target_requests(&t, counted), counted);
    cr_expect(h_contains(r.err, "malformed"), "%s", r.err);
    cr_expect(h_contains(r.err, "bogus"), "%s", r.err);
    cr_expect(h_contains(r.err, "ignored"), "%s", r.err);
    cr_expect(wait_exit(w, 5));
    h_run_free(&r);
}

Test(distributed, processes_runs_a_master_and_local_workers)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario();
    h_run_t r;
    h_run_opts_t o = {.timeout_s = 40};
    cr_assert_eq(h_cicada(&r, &o, NULL, "-f", path, "--processes", "2", "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "6", "-r", "100", "-t",
                          "3s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long counted = h_total_requests(r.json);
    cr_assert_gt(counted, 50);
    cr_expect_eq(h_target_requests(&t, counted), counted);
    cr_expect(h_contains(r.err, "2 workers connected"), "%s", r.err);
    h_run_free(&r);
}

Test(distributed, a_cicada_worker_under_a_locust_master)
{
    if (!locust_installed()) {
        cr_skip_test("Locust is not installed (apt-get install -y python3-locust)");
        return;
    }
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario(),
               *dir = h_strf("%.*s", (int)(strrchr(path, '/') - path), path);
    const char *lf = h_strf("%s/locustfile.py", dir);
    cr_assert_eq(h_write_file(lf, locustfile, strlen(locustfile)), 0);
    int port = h_free_port(), web = h_free_port();
    char *argv[] = {(char *)PYTHON,
                    (char *)"-m",
                    (char *)"locust",
                    (char *)"-f",
                    (char *)lf,
                    (char *)"--master",
                    (char *)"--master-bind-host",
                    (char *)H_HOST,
                    (char *)"--master-bind-port",
                    (char *)h_strf("%d", port),
                    (char *)"--web-host",
                    (char *)H_HOST,
                    (char *)"--web-port",
                    (char *)h_strf("%d", web),
                    (char *)"--autostart",
                    (char *)"--autoquit",
                    (char *)"20",
                    (char *)"--expect-workers",
                    (char *)"1",
                    (char *)"-u",
                    (char *)"3",
                    (char *)"-r",
                    (char *)"3",
                    (char *)"-t",
                    (char *)"4s",
                    (char *)"-H",
                    (char *)h_strf("http://%s:%d", H_HOST, t.port),
                    NULL};
    const char *merr = h_strf("%s/locust.err", dir);
    pid_t master = h_spawn(argv, NULL, merr);
    cr_assert_gt(master, 0);
    pid_t w = start_worker(path, port, "w", NULL);
    /* The Locust master's own view, once its test stopped. */
    double end = h_now() + 40;
    long num = -1;
    const char *state = "";
    while (h_now() < end) {
        json_t *doc = ui_stats(web);
        state = doc ? h_strf("%s", json_string_value(json_object_get(doc, "state"))) : "";
        json_t *rows = doc ? json_object_get(doc, "stats") : NULL;
        for (size_t i = 0; rows && i < json_array_size(rows); i++) {
            json_t *row = json_array_get(rows, i);
            if (strcmp(json_string_value(json_object_get(row, "name")), "Aggregated") == 0)
                num = (long)json_integer_value(json_object_get(row, "num_requests"));
        }
        json_decref(doc);
        if (strcmp(state, "stopped") == 0 && num > 0)
            break;
        h_sleep(0.5);
    }
    cr_assert_str_eq(state, "stopped", "Locust's master never stopped: %s",
                     h_read_file(merr, NULL));
    cr_assert_gt(num, 20, "Locust's master shows %ld requests from the cicada worker", num);
    h_sleep(1); /* a stats report after the stop would be counted too */
    json_t *doc = ui_stats(web);
    json_t *rows = doc ? json_object_get(doc, "stats") : NULL;
    for (size_t i = 0; rows && i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        if (strcmp(json_string_value(json_object_get(row, "name")), "Aggregated") == 0)
            num = (long)json_integer_value(json_object_get(row, "num_requests"));
    }
    json_decref(doc);
    cr_expect_eq(h_target_requests(&t, num), num,
                 "Locust's master counted %ld requests, the target served another number", num);
    h_stop(master, 2);
    cr_expect(wait_exit(w, 5), "the worker did not quit with Locust's master");
}

Test(distributed, locust_workers_under_a_cicada_master)
{
    if (!locust_installed()) {
        cr_skip_test("Locust is not installed (apt-get install -y python3-locust)");
        return;
    }
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario(),
               *dir = h_strf("%.*s", (int)(strrchr(path, '/') - path), path);
    const char *lf = h_strf("%s/locustfile.py", dir);
    cr_assert_eq(h_write_file(lf, locustfile, strlen(locustfile)), 0);
    int port = h_free_port();
    for (int i = 0; i < 2; i++) {
        char *argv[] = {(char *)PYTHON,
                        (char *)"-m",
                        (char *)"locust",
                        (char *)"-f",
                        (char *)lf,
                        (char *)"--worker",
                        (char *)"--master-port",
                        (char *)h_strf("%d", port),
                        NULL};
        cr_assert_gt(h_spawn(argv, NULL, h_strf("%s/locust%d.err", dir, i)), 0);
    }
    h_run_t r;
    h_run_opts_t o = {.timeout_s = 60};
    cr_assert_eq(h_cicada(&r, &o, NULL, "-f", path, "--master", "--master-bind-port",
                          h_strf("%d", port), "--expect-workers", "2", "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "4", "-r", "100", "-t",
                          "4s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long counted = h_requests(r.json, "GET", "/hello");
    cr_assert_gt(counted, 20, "no requests from Locust's workers: %s", r.err);
    /* Every report of the Locust workers reached the master; what the target served beyond
     * them are the requests in flight when Locust killed its users at the stop (it counts
     * none of those): one per user at most. */
    long served = h_target_requests(&t, counted);
    cr_expect(served >= counted && served - counted <= 4,
              "the master counted %ld requests, the target served %ld", counted, served);
    cr_expect(h_contains(r.err, "no version"), "%s", r.err);
    h_run_free(&r);
}

/* Messages between scenario code: the master's test_start tells the workers' users which path
 * to request (before any user runs), and each worker thread thanks the master once. */
static const char *messages_scenario =
    "local cicada = require 'cicada'\n"
    "local path, sent = '/not-told-yet', false\n"
    "cicada.events.test_start:add(function() cicada.send_message('path', { p = '/hello' }) end)\n"
    "cicada.on_message('path', function(data) path = data.p end)\n"
    "cicada.on_message('thanks', function(data, from)\n"
    "  print('thanks for ' .. data.p .. ' from ' .. from)\n"
    "end)\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get(path)\n"
    "  if path == '/hello' and not sent then\n"
    "    sent = true\n"
    "    cicada.send_message('thanks', { p = path })\n"
    "  end\n"
    "end\n";

Test(distributed, scenario_messages_between_master_and_workers)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *dir = h_tmpdir(), *path = h_strf("%s/messages.lua", dir);
    cr_assert_eq(h_write_file(path, messages_scenario, strlen(messages_scenario)), 0);
    int port = h_free_port();
    pid_t w1 = start_worker(path, port, "w1", NULL), w2 = start_worker(path, port, "w2", NULL);
    h_run_t r;
    h_run_opts_t o = {.timeout_s = 40};
    const char *report = h_strf("%s/run.json", dir);
    cr_assert_eq(h_cicada(&r, &o, NULL, "-f", path, "--master", "--master-bind-port",
                          h_strf("%d", port), "--expect-workers", "2", "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "4", "-r", "100", "-t",
                          "3s", "--headless", "--only-summary", "--report-json", report, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    char *text = h_read_file(report, NULL);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    cr_assert_not_null(doc, "no run document");
    long hello = h_requests(doc, "GET", "/hello");
    cr_expect_gt(hello, 20);
    cr_expect_eq(h_requests(doc, "GET", "/not-told-yet"), -1,
                 "a user ran before the master's message arrived");
    json_decref(doc);
    /* One thanks per worker thread (one thread each), printed by the master's handler. */
    int thanks = 0;
    for (const char *p = r.out; (p = strstr(p, "thanks for /hello from ")); p++)
        thanks++;
    cr_expect_eq(thanks, 2, "the master's handler ran %d times: %s", thanks, r.out);
    cr_expect(wait_exit(w1, 5) && wait_exit(w2, 5));
    h_run_free(&r);
}

/* The users of one worker of a master's UI (from /stats/requests' workers), or -1. */
static long worker_users(int web, const char *state_wanted, long *n_in_state)
{
    json_t *doc = ui_stats(web);
    json_t *ws = doc ? json_object_get(doc, "workers") : NULL;
    long users = 0;
    *n_in_state = 0;
    for (size_t i = 0; ws && i < json_array_size(ws); i++) {
        json_t *w = json_array_get(ws, i);
        const char *st = json_string_value(json_object_get(w, "state"));
        if (st && strcmp(st, state_wanted) == 0) {
            (*n_in_state)++;
            users = (long)json_integer_value(json_object_get(w, "user_count"));
        }
    }
    json_decref(doc);
    return ws ? users : -1;
}

Test(distributed, a_worker_that_comes_back_gets_users_again)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario(),
               *dir = h_strf("%.*s", (int)(strrchr(path, '/') - path), path);
    int port = h_free_port(), web = h_free_port();
    const char *err = h_strf("%s/master.err", dir);
    pid_t master = start_ui_master(path, port, web, t.port, "25s", NULL, err);
    pid_t w1 = start_worker(path, port, "w1", NULL);
    start_worker(path, port, "w2", NULL);
    cr_assert(wait_users(web, 10, 15), "the master never ran 10 users");
    kill(w1, SIGSTOP); /* silent, not gone */
    cr_assert(wait_text(err, "missing", 6), "the stopped worker was not marked missing");
    long n = 0;
    double end = h_now() + 8;
    while (h_now() < end && !(worker_users(web, "running", &n) == 10 && n == 1))
        h_sleep(0.2);
    cr_assert_eq(worker_users(web, "running", &n), 10, "the other worker did not take all 10");
    kill(w1, SIGCONT);
    cr_assert(wait_text(err, "is back", 5), "the worker that came back was not noticed");
    /* Shared again: two running workers with 5 users each. */
    end = h_now() + 8;
    while (h_now() < end && !(worker_users(web, "running", &n) == 5 && n == 2))
        h_sleep(0.2);
    cr_expect_eq(n, 2, "workers running: %ld", n);
    cr_expect_eq(worker_users(web, "running", &n), 5);
    cr_expect(wait_users(web, 10, 5));
    h_stop(master, 3);
}

Test(distributed, the_test_stops_with_its_report_when_the_last_worker_dies)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario();
    int port = h_free_port();
    pid_t w = start_worker(path, port, "w", NULL);
    pid_t killer = h_fork();
    if (killer == 0) {
        usleep(4000000);
        kill(w, SIGKILL);
        _exit(0);
    }
    h_run_t r;
    h_run_opts_t o = {.timeout_s = 40};
    cr_assert_eq(h_cicada(&r, &o, NULL, "-f", path, "--master", "--master-bind-port",
                          h_strf("%d", port), "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u",
                          "4", "-r", "100", "-t", "60s", H_LOAD_FLAGS, NULL),
                 0);
    cr_assert(r.exited && !r.timed_out, "the master did not end by itself");
    cr_expect_lt(r.elapsed_s, 20, "the master ran %.1f s", r.elapsed_s);
    H_ASSERT_JSON(&r);
    cr_expect_gt(h_total_requests(r.json), 20, "the reported statistics were not kept");
    cr_expect(h_contains(r.err, "last worker"), "%s", r.err);
    h_run_free(&r);
}

/* The open model over two workers, one with two engine threads: the master divides
 * --arrival-rate 200 among the workers (100 each, 50 per engine of the second), and its run
 * document adds up their arrivals and service times. */
Test(distributed, an_arrival_rate_is_divided_among_the_workers)
{
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *path = write_scenario(),
               *dir = h_strf("%.*s", (int)(strrchr(path, '/') - path), path);
    int port = h_free_port();
    pid_t w1 = start_worker(path, port, "w1", NULL),
          w2 = start_worker(path, port, "w2", "--threads");
    h_sleep(0.5);
    h_run_t r;
    h_run_opts_t o = {.timeout_s = 40};
    cr_assert_eq(h_cicada(&r, &o, NULL, "-f", path, "--master", "--master-bind-port",
                          h_strf("%d", port), "--expect-workers", "2", "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "20", "-r", "100", "-t",
                          "5s", "--arrival-rate", "200", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    json_t *om = json_object_get(r.json, "open_model");
    cr_assert(json_is_object(om), "no open_model in the master's run document: %s", r.out);
    json_t *c = json_array_get(json_object_get(om, "classes"), 0);
    cr_assert_not_null(c);
    cr_expect_str_eq(json_string_value(json_object_get(c, "class")), "U");
    long scheduled = (long)json_integer_value(json_object_get(c, "scheduled")),
         started = (long)json_integer_value(json_object_get(c, "started")),
         dropped = (long)json_integer_value(json_object_get(c, "dropped_iterations"));
    cr_expect(scheduled >= 990 && scheduled <= 1010,
              "200/s for 5 s over the workers: %ld arrivals scheduled, not 1,000 within 1%%",
              scheduled);
    cr_expect_eq(started + dropped, scheduled, "started %ld + dropped %ld != scheduled %ld",
                 started, dropped, scheduled);
    cr_expect_eq(dropped, 0);
    long counted = h_total_requests(r.json);
    cr_expect(counted >= started - 2 && counted <= started, "%ld requests of %ld iterations",
              counted, started);
    cr_expect_eq(h_target_requests(&t, counted), counted);
    json_t *svc = json_object_get(json_object_get(om, "service_time"), "total");
    cr_expect_eq(json_integer_value(json_object_get(svc, "num_requests")), counted,
                 "the service times of every request, over both workers");
    const char *e1 = h_read_file(h_strf("%s/w1.err", dir), NULL),
               *e2 = h_read_file(h_strf("%s/w2.err", dir), NULL);
    cr_expect(e1 && strstr(e1, "U starts 100.00 iterations per second on this worker"), "%s", e1);
    cr_expect(e2 && strstr(e2, "U starts 100.00 iterations per second on this worker"), "%s", e2);
    cr_expect(wait_exit(w1, 5) && wait_exit(w2, 5), "a worker did not quit with the master");
    h_run_free(&r);
}
