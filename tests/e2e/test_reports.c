/* Reports for tools and CI: Locust's --json read as Locust's users read it, the run comparison
 * (cicada compare), JUnit XML and the Markdown summary, each read back by an independent parser
 * (Python's json, xml.etree and a Markdown table reader). */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(reports, .fini = h_cleanup, .timeout = 120);

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

/* Runs python3 -c code with args (NULL-terminated); its stdout and stderr are in r. */
static void python(h_run_t *r, const char *code, ...)
{
    char *argv[H_MAX_ARGS + 1] = {"/usr/bin/python3", "-c", (char *)code};
    int n = 3;
    va_list ap;
    va_start(ap, code);
    for (const char *a; n < H_MAX_ARGS && (a = va_arg(ap, const char *));)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    h_run_opts_t o = {.timeout_s = 30};
    cr_assert_eq(h_exec(r, &o, argv), 0, "python3 did not start");
}

/* Two names, one of them failing, so counts and failures both have something to agree on. */
static const char *two_names =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.01), tasks = { a = 3, b = 1 } })\n"
    "function U:a() self.client:get('/delay/2', { name = '/a' }) end\n"
    "function U:b() self.client:get('/status/404', { name = '/b, \"quoted\"' }) end\n";

/* json.load, entries by name, as a Locust user's script reads --json; then the same counts from
 * the CSV file through Python's csv module. Prints "name requests failures" per entry. */
static const char *READ_LOCUST_JSON =
    "import csv, json, sys\n"
    "entries = {e['name']: e for e in json.load(open(sys.argv[1]))}\n"
    "rows = {r['Name']: r for r in csv.DictReader(open(sys.argv[2], newline=''))}\n"
    "for name, e in sorted(entries.items()):\n"
    "    r = rows[name]\n"
    "    assert e['method'] == r['Type'], (e['method'], r['Type'])\n"
    "    assert e['num_requests'] == int(r['Request Count']), name\n"
    "    assert e['num_failures'] == int(r['Failure Count']), name\n"
    "    assert sum(e['response_times'].values()) == e['num_requests'], name\n"
    "    assert e['min_response_time'] <= e['max_response_time'], name\n"
    "    for key in ('last_request_timestamp', 'start_time', 'num_none_requests',\n"
    "                'total_response_time', 'total_content_length', 'num_reqs_per_sec',\n"
    "                'num_fail_per_sec'):\n"
    "        assert key in e, key\n"
    "    print(name, e['num_requests'], e['num_failures'])\n"
    "assert set(rows) - {'Aggregated'} == set(entries), (set(rows), set(entries))\n";

Test(reports, locust_json_counts_equal_the_csv)
{
    h_run_t r, py;
    const char *dir = h_tmpdir();
    cr_assert_eq(h_cicada(&r, NULL, two_names, "-H", host(), "-u", "2", "-r", "100", "-t", "2s",
                          "--headless", "--only-summary", "--json", "--json-file",
                          h_strf("%s/run", dir), "--csv", h_strf("%s/run", dir), "--stop-timeout",
                          "0", NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    cr_assert(json_is_array(r.json), "--json printed no array");
    cr_expect_eq(json_array_size(r.json), 2);
    cr_assert_eq(h_write_file(h_strf("%s/stdout.json", dir), r.out, r.out_len), 0);
    for (int i = 0; i < 2; i++) {
        const char *file = h_strf("%s/%s.json", dir, i ? "run" : "stdout");
        python(&py, READ_LOCUST_JSON, file, h_strf("%s/run_stats.csv", dir), NULL);
        if (!py.exited || py.status != 0)
            h_run_dump(&py);
        H_ASSERT_EXIT(&py, 0);
        cr_expect(h_contains(py.out, "/a "), "%s: no /a entry: %s", file, py.out);
        cr_expect(h_contains(py.out, "/b, \"quoted\" "), "%s: no /b entry: %s", file, py.out);
        h_run_free(&py);
    }
    h_run_free(&r);
}

Test(reports, json_and_report_json_on_stdout_is_a_usage_error)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, two_names, "-H", host(), "--headless", "--json",
                          "--report-json", "-", NULL),
                 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "--report-json"), "%s", r.err);
    h_run_free(&r);
}
