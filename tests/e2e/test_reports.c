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

/* Every user requests /a then /b each 0.1 s (constant pacing: the rate does not depend on the
 * response times); SLOW sets /b's delay in ms. */
static const char *paced =
    "local cicada = require 'cicada'\n"
    "local slow = os.getenv('SLOW') or '20'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant_pacing(0.1), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get('/delay/20', { name = '/a' })\n"
    "  self.client:get('/delay/' .. slow, { name = '/b' })\n"
    "end\n";

/* Runs the paced scenario for 3 s with /b delayed by slow_ms, writing the run document to
 * DIR/NAME.json and Locust's array to DIR/NAME_locust.json. */
static void paced_run(const char *dir, const char *name, int slow_ms)
{
    h_run_t r;
    const char *env[] = {h_strf("SLOW=%d", slow_ms), NULL};
    h_run_opts_t o = {.env = env, .timeout_s = 30};
    cr_assert_eq(h_cicada(&r, &o, paced, "-H", host(), "-u", "4", "-r", "100", "-t", "3s",
                          "--headless", "--only-summary", "--stop-timeout", "0", "--report-json",
                          h_strf("%s/%s.json", dir, name), "--json-file",
                          h_strf("%s/%s_locust", dir, name), NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
}

static void compare(h_run_t *r, const char *const *args)
{
    const char *argv[H_MAX_ARGS + 1] = {"compare"};
    int n = 1;
    for (; *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    cr_assert_eq(h_cicada_v(r, NULL, NULL, argv), 0);
}

/* The comparison lines of one entry ("GET     /b   ..."), joined. */
static const char *lines_of(const char *out, const char *name)
{
    const char *all = "";
    for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        size_t n = strcspn(p, "\n");
        const char *line = h_strf("%.*s", (int)n, p);
        const char *field = h_strf(" %s ", name);
        if (strncmp(line, "GET ", 4) == 0 && strstr(line, field))
            all = h_strf("%s%s\n", all, line);
    }
    return all;
}

Test(reports, compare_flags_exactly_the_slowed_name)
{
    const char *dir = h_tmpdir();
    paced_run(dir, "base", 20);
    paced_run(dir, "new", 80);
    const char *forms[] = {"new.json", "new_locust.json"};
    for (int i = 0; i < 2; i++) {
        h_run_t r;
        const char *html = h_strf("%s/compare%d.html", dir, i);
        const char *args[] = {h_strf("%s/base.json", dir), h_strf("%s/%s", dir, forms[i]), "--html",
                              html, NULL};
        compare(&r, args);
        H_ASSERT_EXIT(&r, 3);
        const char *a = lines_of(r.out, "/a"), *b = lines_of(r.out, "/b");
        cr_expect_eq(h_count(a, "\n"), 5, "%s: /a: %s", forms[i], r.out);
        cr_expect_eq(h_count(b, "\n"), 5, "%s: /b: %s", forms[i], r.out);
        cr_expect_eq(h_count(a, "REGRESSION"), 0, "%s: /a flagged: %s", forms[i], a);
        cr_expect_eq(h_count(b, "REGRESSION"), 3, "%s: /b p50, p95, p99 not flagged: %s", forms[i],
                     b);
        cr_expect(h_contains(r.out, "2 of 3 request names regressed"), "%s", r.out);
        char *page = h_read_file(html, NULL);
        cr_expect(page && strstr(page, "</html>") && strstr(page, "\"rows\":"),
                  "%s: no comparison page", forms[i]);
        cr_expect(page && (i == 1 || strstr(page, "response_time_percentile_95")),
                  "%s: the page lacks the runs' history", forms[i]);
        free(page);
        h_run_free(&r);
    }
}

Test(reports, compare_of_the_same_load_passes)
{
    const char *dir = h_tmpdir();
    paced_run(dir, "one", 20);
    paced_run(dir, "two", 20);
    h_run_t r;
    /* Loopback delays of 20 ms vary by a few percent; p99 of ~120 requests by more. */
    const char *args[] = {h_strf("%s/one.json", dir),
                          h_strf("%s/two.json", dir),
                          "--max-regression",
                          "25%",
                          "--max-regression",
                          "p99=100%",
                          NULL};
    compare(&r, args);
    H_ASSERT_EXIT(&r, 0);
    cr_expect_eq(h_count(r.out, "REGRESSION"), 0, "%s", r.out);
    cr_expect(h_contains(r.out, "No regression beyond the tolerance"), "%s", r.out);
    h_run_free(&r);
}

Test(reports, compare_rejects_bad_input_naming_the_file)
{
    const char *dir = h_tmpdir();
    const char *good = h_strf("%s/good.json", dir), *bad = h_strf("%s/bad.json", dir);
    cr_assert_eq(h_write_file(good, "[]", 2), 0);
    cr_assert_eq(h_write_file(bad, "{\"stats\": 1}", 12), 0);
    struct {
        const char *args[4], *says;
    } cases[] = {
        {{good, h_strf("%s/missing.json", dir), NULL}, "missing.json"},
        {{good, bad, NULL}, "bad.json: not a cicada run document"},
        {{good, NULL}, "expected two files"},
        {{good, good, "--max-regression", "ten"}, "--max-regression"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h_run_t r;
        const char *args[5] = {cases[i].args[0], cases[i].args[1], cases[i].args[2],
                               cases[i].args[3], NULL};
        compare(&r, args);
        H_ASSERT_EXIT(&r, 2);
        cr_expect(h_contains(r.err, cases[i].says), "case %zu: %s", i, r.err);
        h_run_free(&r);
    }
}
