/* --worker against a scripted Locust master (tests/e2e/dist/fake_master.py: pyzmq and msgpack,
 * the libraries Locust uses, so the wire is checked by an implementation other than cicada's):
 * joining, heartbeats, spawn and respawn, reports that add up to what the target served, stop,
 * reconnect, quit, signals and a silent master. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(worker, .fini = h_cleanup, .timeout = 90);

#define PYTHON      "/usr/bin/python3"
#define FAKE_MASTER SOURCE_DIR "/tests/e2e/dist/fake_master.py"

static const char *scenario = "local cicada = require \"cicada\"\n"
                              "local U = cicada.user(\"Counter\", {\n"
                              "  wait_time = cicada.between(0.01, 0.03),\n"
                              "  tasks = { hello = 1 },\n"
                              "})\n"
                              "function U:hello() self.client:get(\"/hello\") end\n";

typedef struct {
    pid_t pid;
    int port;
    const char *log;
    const char *dir;
} master_t;

/* Starts the fake master on a free port with script (after delay seconds). */
static void master_start(master_t *m, const char *script, double delay)
{
    m->dir = h_tmpdir();
    cr_assert_not_null(m->dir);
    m->port = h_free_port();
    cr_assert_gt(m->port, 0);
    const char *path = h_strf("%s/master.script", m->dir);
    m->log = h_strf("%s/master.log", m->dir);
    cr_assert_eq(h_write_file(path, script, strlen(script)), 0);
    char *argv[] = {PYTHON,       FAKE_MASTER,
                    "--port",     (char *)h_strf("%d", m->port),
                    "--log",      (char *)m->log,
                    "--delay",    (char *)h_strf("%g", delay),
                    (char *)path, NULL};
    m->pid = h_spawn(argv, h_strf("%s/out.log", m->dir), h_strf("%s/err.log", m->dir));
    cr_assert_gt(m->pid, 0, "the fake master did not start");
}

/* Waits up to timeout_s for the master's script to end (then stops it), and returns its log:
 * an array of the entries, each message received or sent (caller json_decref). */
static json_t *master_finish(master_t *m, double timeout_s)
{
    double end = h_now() + timeout_s;
    while (h_alive(m->pid) && h_now() < end)
        h_sleep(0.1);
    if (h_alive(m->pid))
        h_stop(m->pid, 1);
    json_t *log = json_array();
    char *text = h_read_file(m->log, NULL);
    for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        json_t *e = json_loads(line, 0, NULL);
        if (e)
            json_array_append_new(log, e);
    }
    free(text);
    char *err = h_read_file(h_strf("%s/err.log", m->dir), NULL);
    if (err && err[0])
        fprintf(stderr, "fake master stderr:\n%s\n", err);
    free(err);
    return log;
}

/* Index of the first entry at or after from whose key ("type", "sent", "timeout", "done")
 * is value; -1 when none. */
static long find(json_t *log, long from, const char *key, const char *value)
{
    for (size_t i = from < 0 ? 0 : (size_t)from; i < json_array_size(log); i++) {
        const char *v = json_string_value(json_object_get(json_array_get(log, i), key));
        if (v && (!value || strcmp(v, value) == 0))
            return (long)i;
        if (!v && !value && json_object_get(json_array_get(log, i), key))
            return (long)i;
    }
    return -1;
}

static long find_msg(json_t *log, long from, const char *type)
{
    return find(log, from, "type", type);
}

static json_t *data_at(json_t *log, long i)
{
    return json_object_get(json_array_get(log, (size_t)i), "data");
}

static double t_at(json_t *log, long i)
{
    return json_number_value(json_object_get(json_array_get(log, (size_t)i), "t"));
}

static void expect_script_done(json_t *log)
{
    long timeout = find(log, 0, "timeout", NULL);
    cr_expect_eq(timeout, -1, "the master waited in vain for %s",
                 timeout >= 0 ? json_string_value(json_object_get(
                                    json_array_get(log, (size_t)timeout), "timeout"))
                              : "");
    cr_expect_geq(find(log, 0, "done", NULL), 0, "the master's script did not end");
}

static long json_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static const char *worker_port_arg(const master_t *m)
{
    return h_strf("%d", m->port);
}

/* ---- A whole test as a master runs it ------------------------------------------------------ */

Test(worker, joins_spawns_reports_respawns_stops_and_quits)
{
    h_target_t t;
    master_t m;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    const char *host = h_strf("http://%s:%d", H_HOST, t.port);
    master_start(&m,
                 h_strf("expect client_ready 15\n"
                        "ack\n"
                        "expect heartbeat 5\n"
                        "expect heartbeat 5\n"
                        "send custom_thing {\"a\": 1}\n"
                        "send custom_thing {\"a\": 2}\n"
                        "spawn {\"Counter\":5,\"Nope\":3} %s 5\n"
                        "expect spawning 5\n"
                        "expect spawning_complete 15 user_count=5\n"
                        "spawn_stale {\"Counter\":1}\n"
                        "sleep 7\n"
                        "spawn {\"Counter\":2} %s 5\n"
                        "expect spawning_complete 10 user_count=2\n"
                        "sleep 4\n"
                        "send stop\n"
                        "expect client_stopped 15\n"
                        "expect client_ready 10\n"
                        "ack\n"
                        "sleep 1.5\n"
                        "send quit\n"
                        "sleep 3\n",
                        host, host),
                 0);
    h_run_opts_t o = {.timeout_s = 60};
    cr_assert_eq(h_cicada(&r, &o, scenario, "--worker", "--master-host", H_HOST, "--master-port",
                          worker_port_arg(&m), "--threads", "2", "-u", "50", NULL),
                 0);
    json_t *log = master_finish(&m, 10);
    H_ASSERT_EXIT(&r, 0);
    expect_script_done(log);

    /* Joining: a version, then heartbeats with the state and the usage. */
    long ready = find_msg(log, 0, "client_ready");
    const char *version = json_string_value(data_at(log, ready));
    cr_assert(version && strncmp(version, "cicada ", 7) == 0, "client_ready carries %s",
              version ? version : "no string");
    const char *node =
        json_string_value(json_object_get(json_array_get(log, (size_t)ready), "node_id"));
    cr_assert(node && strchr(node, '_') && strlen(strrchr(node, '_') + 1) == 32, "node id %s",
              node ? node : "(none)");
    long hb = find_msg(log, ready, "heartbeat");
    json_t *hd = data_at(log, hb);
    cr_expect_str_eq(json_string_value(json_object_get(hd, "state")), "ready");
    cr_expect(json_is_number(json_object_get(hd, "current_cpu_usage")));
    cr_expect_gt(json_int(hd, "current_memory_usage"), 1000000, "resident bytes");

    /* Spawning, then complete with 5 users; the unknown class is warned about once. */
    long spawning = find_msg(log, hb, "spawning");
    long complete = find_msg(log, hb, "spawning_complete");
    cr_assert(spawning >= 0 && complete > spawning);
    json_t *cd = data_at(log, complete);
    cr_expect_eq(json_int(cd, "user_count"), 5);
    cr_expect_eq(json_int(json_object_get(cd, "user_classes_count"), "Counter"), 5);
    /* A type the protocol does not know is a custom message: the scenario's handlers get it,
     * and without one it is warned about (by the custom messages' layer). */
    cr_expect_geq(h_count(r.err, "custom_thing"), 1, "unknown type not warned about:\n%s", r.err);
    cr_expect_eq(h_count(r.err, "'Nope'"), 1, "unknown class warned once");
    long running = -1;
    for (long i = complete; (i = find_msg(log, i + 1, "heartbeat")) >= 0;)
        if (strcmp(json_string_value(json_object_get(data_at(log, i), "state")), "running") == 0) {
            running = i;
            break;
        }
    cr_expect_geq(running, 0, "no heartbeat said running");

    /* The second spawn lowers the users (the stale one changed nothing in between). */
    long complete2 = find_msg(log, complete + 1, "spawning_complete");
    cr_assert_gt(complete2, complete);
    cr_expect_eq(json_int(data_at(log, complete2), "user_count"), 2);

    /* Reports every ~3 s carrying the users; all of them add up to what the target served. */
    long stop = find(log, 0, "sent", "stop");
    long stopped = find_msg(log, stop, "client_stopped");
    long ready2 = find_msg(log, stop, "client_ready");
    long last_stats = -1, prev = -1, total = 0, nstats = 0;
    for (long i = 0; (i = find_msg(log, i + 1, "stats")) >= 0;) {
        json_t *d = data_at(log, i);
        total += json_int(json_object_get(d, "stats_total"), "num_requests");
        nstats++;
        if (i > complete && i < complete2 && prev > complete)
            cr_expect_eq(json_int(d, "user_count"), 5, "stats at %.1f s", t_at(log, i));
        if (i > complete2 && i < stop)
            cr_expect_eq(json_int(d, "user_count"), 2, "stats at %.1f s", t_at(log, i));
        if (prev >= 0 && i < stop) {
            double gap = t_at(log, i) - t_at(log, prev);
            cr_expect(gap > 2.5 && gap < 3.6, "stats %.2f s apart", gap);
        }
        if (i > stop && last_stats < 0)
            last_stats = i;
        prev = i;
    }
    cr_expect_geq(nstats, 5);
    cr_assert_gt(total, 100, "only %ld requests", total);
    cr_expect_eq(h_target_requests(&t, total), total, "the target served another count");

    /* stop: the last report, client_stopped, then client_ready again. */
    cr_assert(stop > 0 && last_stats > stop && stopped > last_stats && ready2 > stopped,
              "after stop: stats %ld, client_stopped %ld, client_ready %ld", last_stats, stopped,
              ready2);
    cr_expect_eq(json_int(data_at(log, last_stats), "user_count"), 0);
    const char *node2 =
        json_string_value(json_object_get(json_array_get(log, (size_t)ready2), "node_id"));
    cr_expect_str_eq(node2, node, "the same node id after a stop");
    json_decref(log);
    h_run_free(&r);
}

/* ---- Joining ------------------------------------------------------------------------------- */

Test(worker, connects_to_a_master_that_starts_later)
{
    master_t m;
    h_run_t r;
    master_start(&m,
                 "expect client_ready 15\n"
                 "ack\n"
                 "expect heartbeat 5\n"
                 "send quit\n"
                 "sleep 1\n",
                 3);
    h_run_opts_t o = {.timeout_s = 30};
    cr_assert_eq(h_cicada(&r, &o, scenario, "--worker", "--master-port", worker_port_arg(&m),
                          "--master-timeout", "20", NULL),
                 0);
    json_t *log = master_finish(&m, 5);
    H_ASSERT_EXIT(&r, 0);
    expect_script_done(log);
    cr_expect_gt(r.elapsed_s, 2.5, "the worker quit before its master existed");
    json_decref(log);
    h_run_free(&r);
}

Test(worker, reconnects_with_the_same_node_id)
{
    master_t m;
    h_run_t r;
    master_start(&m,
                 "expect client_ready 15\n"
                 "ack\n"
                 "send reconnect\n"
                 "expect client_ready 10\n"
                 "ack\n"
                 "expect heartbeat 5\n"
                 "send quit\n"
                 "sleep 1\n",
                 0);
    h_run_opts_t o = {.timeout_s = 30};
    cr_assert_eq(h_cicada(&r, &o, scenario, "--worker", "--master-port", worker_port_arg(&m), NULL),
                 0);
    json_t *log = master_finish(&m, 5);
    H_ASSERT_EXIT(&r, 0);
    expect_script_done(log);
    long a = find_msg(log, 0, "client_ready"),
         b = find_msg(log, find(log, 0, "sent", "reconnect"), "client_ready");
    cr_assert(a >= 0 && b > a);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(log, (size_t)b), "node_id")),
                     json_string_value(json_object_get(json_array_get(log, (size_t)a), "node_id")));
    json_decref(log);
    h_run_free(&r);
}

/* A spawn that comes while the users stop (their 1.5 s requests finishing within the stop
 * timeout) takes effect once they stopped: client_stopped, client_ready, then the new users. */
Test(worker, a_spawn_during_a_stop_waits_for_it)
{
    h_target_t t;
    master_t m;
    h_run_t r;
    const char *lua = "local cicada = require 'cicada'\n"
                      "local U = cicada.user('Counter', { wait_time = cicada.constant(0),\n"
                      "                                  tasks = { slow = 1 } })\n"
                      "function U:slow() self.client:get('/delay/1500') end\n";
    cr_assert_eq(h_target_start(&t, 1), 0);
    master_start(&m,
                 h_strf("expect client_ready 15\n"
                        "ack\n"
                        "spawn {\"Counter\":2} http://%s:%d 5\n"
                        "expect spawning_complete 10\n"
                        "sleep 0.5\n"
                        "send stop\n"
                        "spawn {\"Counter\":1} http://%s:%d 5\n"
                        "expect client_stopped 10\n"
                        "expect spawning_complete 10 user_count=1\n"
                        "send quit\n"
                        "sleep 3\n",
                        H_HOST, t.port, H_HOST, t.port),
                 0);
    h_run_opts_t o = {.timeout_s = 40};
    cr_assert_eq(h_cicada(&r, &o, lua, "--worker", "--master-port", worker_port_arg(&m), NULL), 0);
    json_t *log = master_finish(&m, 5);
    H_ASSERT_EXIT(&r, 0);
    expect_script_done(log);
    long stop = find(log, 0, "sent", "stop"), stopped = find_msg(log, stop, "client_stopped");
    long ready = find_msg(log, stopped, "client_ready");
    long spawning = find_msg(log, stop, "spawning");
    cr_assert(stopped > stop && ready > stopped && spawning > ready,
              "stop %ld, client_stopped %ld, client_ready %ld, spawning %ld", stop, stopped, ready,
              spawning);
    cr_expect_geq(t_at(log, stopped) - t_at(log, stop), 0.5, "the users did not wait to stop");
    json_decref(log);
    h_run_free(&r);
}

/* ---- Ending ------------------------------------------------------------------------------- */

/* A master that sends heartbeats and then falls silent (its socket still open) is given up on
 * --master-timeout seconds after its last message: the users stop, exit code 1. */
Test(worker, gives_up_on_a_master_whose_heartbeats_stop)
{
    h_target_t t;
    master_t m;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0);
    master_start(&m,
                 h_strf("expect client_ready 15\n"
                        "ack\n"
                        "heartbeats on\n"
                        "spawn {\"Counter\":2} http://%s:%d 0\n"
                        "expect spawning_complete 10\n"
                        "sleep 2\n"
                        "heartbeats off\n"
                        "sleep 12\n",
                        H_HOST, t.port),
                 0);
    h_run_opts_t o = {.timeout_s = 40};
    cr_assert_eq(h_cicada(&r, &o, scenario, "--worker", "--master-port", worker_port_arg(&m),
                          "--master-timeout", "3", NULL),
                 0);
    json_t *log = master_finish(&m, 15);
    H_ASSERT_EXIT(&r, 1);
    cr_expect(h_contains(r.err, "silent"), "no word about the master:\n%s", r.err);
    long last_hb = -1;
    for (long i = 0; (i = find(log, i + 1, "sent", "heartbeat")) >= 0;)
        last_hb = i;
    cr_assert_geq(last_hb, 0);
    /* The worker's report after giving up still reached the open socket. */
    long stats = -1;
    for (long i = last_hb; (i = find_msg(log, i + 1, "stats")) >= 0;)
        stats = i;
    cr_assert_gt(stats, last_hb, "no report after the master fell silent");
    double after = t_at(log, stats) - t_at(log, last_hb);
    cr_expect(after >= 2.5 && after < 3 + 4, "gave up %.1f s after the last heartbeat", after);
    cr_expect_eq(json_int(data_at(log, stats), "user_count"), 0);
    json_decref(log);
    h_run_free(&r);
}

/* A Locust 2.12 master sends no heartbeat: the worker gives up once the connection has been down
 * for --master-timeout seconds. */
Test(worker, gives_up_when_the_connection_stays_down)
{
    h_target_t t;
    master_t m;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0);
    master_start(&m,
                 h_strf("expect client_ready 15\n"
                        "ack\n"
                        "spawn {\"Counter\":2} http://%s:%d 0\n"
                        "expect spawning_complete 10\n"
                        "sleep 2\n"
                        "exit\n",
                        H_HOST, t.port),
                 0);
    h_run_opts_t o = {.timeout_s = 40};
    double start = h_now();
    cr_assert_eq(h_cicada(&r, &o, scenario, "--worker", "--master-port", worker_port_arg(&m),
                          "--master-timeout", "3", NULL),
                 0);
    json_t *log = master_finish(&m, 1);
    H_ASSERT_EXIT(&r, 1);
    expect_script_done(log);
    double master_gone = t_at(log, find(log, 0, "done", NULL));
    /* The master's clock started about when the worker did (both a few ms apart). */
    double exited = h_now() - start;
    cr_expect(exited >= master_gone + 2.5 && exited < master_gone + 3 + 5,
              "master gone at %.1f s, worker exited at %.1f s", master_gone, exited);
    json_decref(log);
    h_run_free(&r);
}

Test(worker, sigterm_sends_the_last_report_and_quit)
{
    h_target_t t;
    master_t m;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0);
    master_start(&m,
                 h_strf("expect client_ready 15\n"
                        "ack\n"
                        "spawn {\"Counter\":3} http://%s:%d 2\n"
                        "expect spawning_complete 10\n"
                        "expect quit 20\n",
                        H_HOST, t.port),
                 0);
    h_run_opts_t o = {.timeout_s = 30, .signal_after_s = 4, .signal = SIGTERM};
    cr_assert_eq(h_cicada(&r, &o, scenario, "--worker", "--master-port", worker_port_arg(&m), NULL),
                 0);
    json_t *log = master_finish(&m, 5);
    H_ASSERT_EXIT(&r, 0);
    expect_script_done(log);
    long quit = find_msg(log, 0, "quit"), total = 0, last = -1;
    for (long i = 0; (i = find_msg(log, i + 1, "stats")) >= 0;) {
        total += json_int(json_object_get(data_at(log, i), "stats_total"), "num_requests");
        last = i;
    }
    cr_expect(last >= 0 && last < quit, "the last report comes before quit");
    cr_expect_gt(total, 0);
    cr_expect_eq(h_target_requests(&t, total), total, "the target served another count");
    json_decref(log);
    h_run_free(&r);
}

/* A scenario that stops the test: the last report, quit, exit 0; its script errors travel as
 * Locust exception messages with their count. */
Test(worker, a_scenario_stopping_the_test_quits_with_its_exceptions_reported)
{
    h_target_t t;
    master_t m;
    h_run_t r;
    const char *lua = "local cicada = require 'cicada'\n"
                      "local n = 0\n"
                      "local U = cicada.user('Counter', { wait_time = cicada.constant(0.02),\n"
                      "                                  tasks = { hello = 3, boom = 1 } })\n"
                      "function U:hello()\n"
                      "  self.client:get('/hello')\n"
                      "  n = n + 1\n"
                      "  if n == 60 then cicada.stop_test('enough requests') end\n"
                      "end\n"
                      "function U:boom() error('kaboom') end\n";
    cr_assert_eq(h_target_start(&t, 1), 0);
    master_start(&m,
                 h_strf("expect client_ready 15\n"
                        "ack\n"
                        "spawn {\"Counter\":2} http://%s:%d 2\n"
                        "expect spawning_complete 10\n"
                        "expect quit 30\n",
                        H_HOST, t.port),
                 0);
    h_run_opts_t o = {.timeout_s = 40};
    cr_assert_eq(h_cicada(&r, &o, lua, "--worker", "--master-port", worker_port_arg(&m),
                          "--threads", "1", NULL),
                 0);
    json_t *log = master_finish(&m, 5);
    H_ASSERT_EXIT(&r, 0);
    expect_script_done(log);
    cr_expect(h_contains(r.err, "enough requests"), "%s", r.err);
    long quit = find_msg(log, 0, "quit"), last = -1, hello = 0, kabooms = 0;
    for (long i = 0; (i = find_msg(log, i + 1, "stats")) >= 0;) {
        json_t *stats = json_object_get(data_at(log, i), "stats");
        for (size_t k = 0; k < json_array_size(stats); k++)
            if (strcmp(json_string_value(json_object_get(json_array_get(stats, k), "name")),
                       "/hello") == 0)
                hello += json_int(json_array_get(stats, k), "num_requests");
        last = i;
    }
    for (long i = 0; (i = find_msg(log, i + 1, "exception")) >= 0;) {
        json_t *d = data_at(log, i);
        cr_expect(h_contains(json_string_value(json_object_get(d, "msg")), "kaboom"));
        cr_expect(json_is_string(json_object_get(d, "traceback")));
        kabooms += json_int(d, "count");
    }
    cr_expect(last >= 0 && last < quit, "the last report comes before quit");
    cr_expect_geq(hello, 60);
    cr_expect_eq(h_target_requests(&t, hello), hello, "the target served another count");
    cr_expect_gt(kabooms, 0, "no exception message");
    json_decref(log);
    h_run_free(&r);
}

Test(worker, setup_errors_exit_2_with_one_line)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, scenario, "--worker", "--master-host", "", NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "--master-host"), "%s", r.err);
    cr_expect_eq(h_count(r.err, "\n"), 1, "one line: %s", r.err);
    h_run_free(&r);
    cr_assert_eq(h_cicada(&r, NULL, "this is not lua", "--worker", NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect_eq(h_count(r.err, "\n"), 1, "one line: %s", r.err);
    h_run_free(&r);
}

/* ---- Under Debian's Locust (python3-locust 2.12.1) as the master ------------------------------
 */

static const char *locustfile = "from locust import HttpUser, task, between\n"
                                "class Counter(HttpUser):\n"
                                "    wait_time = between(0.01, 0.03)\n"
                                "    @task\n"
                                "    def hello(self):\n"
                                "        self.client.get('/hello')\n";

/* Locust accepts the worker, dispatches its users to it, merges its reports (its CSV total is
 * what the target served) and quits it at its -t. */
Test(worker, serves_a_debian_locust_master)
{
    if (access("/usr/bin/locust", X_OK) != 0)
        cr_skip_test("no /usr/bin/locust (python3-locust)");
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *dir = h_tmpdir(), *lf = h_strf("%s/locustfile.py", dir);
    cr_assert_eq(h_write_file(lf, locustfile, strlen(locustfile)), 0);
    int port = h_free_port();
    char *argv[] = {PYTHON,
                    "/usr/bin/locust",
                    "-f",
                    (char *)lf,
                    "--master",
                    "--headless",
                    "-u",
                    "4",
                    "-r",
                    "4",
                    "-t",
                    "6s",
                    "--expect-workers",
                    "1",
                    "--master-bind-host",
                    H_HOST,
                    "--master-bind-port",
                    (char *)h_strf("%d", port),
                    "--csv",
                    (char *)h_strf("%s/run", dir),
                    "-H",
                    (char *)h_strf("http://%s:%d", H_HOST, t.port),
                    NULL};
    pid_t master = h_spawn(argv, h_strf("%s/out.log", dir), h_strf("%s/err.log", dir));
    cr_assert_gt(master, 0);
    h_run_opts_t o = {.timeout_s = 45};
    cr_assert_eq(h_cicada(&r, &o, scenario, "--worker", "--master-port", h_strf("%d", port), NULL),
                 0);
    double end = h_now() + 15;
    while (h_alive(master) && h_now() < end)
        h_sleep(0.1);
    char *merr = h_read_file(h_strf("%s/err.log", dir), NULL);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(!h_alive(master), "Locust did not end");
    h_csv_t c;
    cr_assert_eq(h_csv_read(&c, h_strf("%s/run_stats.csv", dir)), 0, "no CSV from Locust:\n%s",
                 merr ? merr : "");
    long row = h_csv_find(&c, h_csv_col(&c, "Name"), "Aggregated");
    cr_assert_geq(row, 0);
    long total = atol(c.rows[row][h_csv_col(&c, "Request Count")]);
    cr_expect_gt(total, 50, "Locust counted %ld requests:\n%s", total, merr ? merr : "");
    cr_expect_eq(h_target_requests(&t, total), total, "the target served another count");
    cr_expect_eq(atol(c.rows[row][h_csv_col(&c, "Failure Count")]), 0);
    h_csv_free(&c);
    free(merr);
    h_run_free(&r);
}
