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

/* Every user requests /a then /b each 0.25 s (constant pacing: the rate does not depend on the
 * response times); SLOW sets /b's delay in ms. */
static const char *paced =
    "local cicada = require 'cicada'\n"
    "local slow = os.getenv('SLOW') or '20'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant_pacing(0.25), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get('/delay/20', { name = '/a' })\n"
    "  self.client:get('/delay/' .. slow, { name = '/b' })\n"
    "end\n";

/* Runs the paced scenario for 3 s (8 users) with /b delayed by slow_ms, writing the run document to
 * DIR/NAME.json and Locust's array to DIR/NAME_locust.json. */
static void paced_run(const char *dir, const char *name, int slow_ms)
{
    h_run_t r;
    const char *env[] = {h_strf("SLOW=%d", slow_ms), NULL};
    h_run_opts_t o = {.env = env, .timeout_s = 30};
    cr_assert_eq(h_cicada(&r, &o, paced, "-H", host(), "-u", "8", "-r", "100", "-t", "3s",
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
    paced_run(dir, "new", 200);
    const char *forms[] = {"new.json", "new_locust.json"};
    for (int i = 0; i < 2; i++) {
        h_run_t r;
        const char *html = h_strf("%s/compare%d.html", dir, i);
        /* /b's times rise by 900 %; the tolerances absorb a loaded machine's spikes (a base p99
         * of 45 ms has been seen for a 20 ms delay). */
        const char *args[] = {h_strf("%s/base.json", dir),
                              h_strf("%s/%s", dir, forms[i]),
                              "--max-regression",
                              "100%",
                              "--max-regression",
                              "p99=200%",
                              "--html",
                              html,
                              NULL};
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

static const char *delay137 =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('D', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function U:t() self.client:get('/delay/137', { name = '/d|137' }) end\n";

/* The JUnit file as CI systems read it (the common JUnit schema): a testsuites root, a
 * testsuite with integer tests and failures equal to its cases and failures, every testcase
 * with a name and a classname, every failure with a message. Prints one line per case. */
static const char *READ_JUNIT =
    "import sys, xml.etree.ElementTree as ET\n"
    "root = ET.parse(sys.argv[1]).getroot()\n"
    "assert root.tag == 'testsuites', root.tag\n"
    "suites = root.findall('testsuite')\n"
    "assert len(suites) == 1\n"
    "s = suites[0]\n"
    "for k in ('name', 'tests', 'failures', 'errors', 'time', 'timestamp'):\n"
    "    assert k in s.attrib, k\n"
    "cases = s.findall('testcase')\n"
    "fails = [c for c in cases if c.find('failure') is not None]\n"
    "assert int(s.get('tests')) == len(cases) == int(root.get('tests'))\n"
    "assert int(s.get('failures')) == len(fails) == int(root.get('failures'))\n"
    "float(s.get('time'))\n"
    "for c in cases:\n"
    "    assert c.get('name') and c.get('classname'), c.attrib\n"
    "    f = c.find('failure')\n"
    "    if f is not None:\n"
    "        assert f.get('message'), c.get('name')\n"
    "        print('FAIL', f.get('message'))\n"
    "    else:\n"
    "        print('PASS', c.find('system-out').text)\n";

/* A Markdown table reader: every table (a header row, a delimiter row of ---, then rows with
 * as many cells, '\|' as a literal bar) printed as header=value lines per row. */
static const char *READ_MARKDOWN =
    "import re, sys\n"
    "lines = open(sys.argv[1]).read().split('\\n')\n"
    "def cells(line):\n"
    "    parts = re.split(r'(?<!\\\\)\\|', line.strip())\n"
    "    assert parts[0] == '' and parts[-1] == '', line\n"
    "    return [p.strip().replace('\\\\|', '|') for p in parts[1:-1]]\n"
    "i, tables = 0, 0\n"
    "while i < len(lines):\n"
    "    if lines[i].startswith('|'):\n"
    "        head = cells(lines[i])\n"
    "        delim = cells(lines[i + 1])\n"
    "        assert len(delim) == len(head) and all(re.fullmatch(r':?-{3,}:?', d) for d in delim)\n"
    "        i += 2\n"
    "        tables += 1\n"
    "        while i < len(lines) and lines[i].startswith('|'):\n"
    "            row = cells(lines[i])\n"
    "            assert len(row) == len(head), (head, row)\n"
    "            print(' ; '.join(h + '=' + v for h, v in zip(head, row)))\n"
    "            i += 1\n"
    "    else:\n"
    "        i += 1\n"
    "print('tables', tables)\n";

/* True when text holds fmt with 137, 138 or 139 in place of its %d: a /delay/137 response
 * measured to three significant digits (the server and a busy machine add up to ~2 ms), where
 * Locust's buckets would print 140. */
static bool shows_137(const char *text, const char *fmt)
{
    for (int ms = 137; ms <= 139; ms++)
        if (text && strstr(text, h_strf(fmt, ms)))
            return true;
    return false;
}

Test(reports, junit_and_markdown_read_back)
{
    const char *dir = h_tmpdir();
    const char *junit = h_strf("%s/junit.xml", dir), *md = h_strf("%s/summary.md", dir);
    h_run_t r, py;
    cr_assert_eq(h_cicada(&r, NULL, delay137, "-H", host(), "-u", "2", "-r", "100", "-t", "2s",
                          "--headless", "--only-summary", "--stop-timeout", "0", "--junit", junit,
                          "--summary-md", md, "--profile", "nightly <main>", "--check-p95",
                          "/d|137=5s", "--check-p50", "/d|137=100ms", "--check-fail-ratio", "1%",
                          NULL),
                 0);
    H_ASSERT_EXIT(&r, 3);
    /* The console's median (the column before the rates). */
    char *row = h_line_with(r.err, "/d|137      ");
    cr_expect(shows_137(row, " %d |"), "console: %s", row ? row : r.err);
    free(row);

    python(&py, READ_JUNIT, junit, NULL);
    H_ASSERT_EXIT(&py, 0);
    cr_expect_eq(h_count(py.out, "PASS "), 2, "%s", py.out);
    cr_expect_eq(h_count(py.out, "FAIL "), 1, "%s", py.out);
    cr_expect(h_contains(py.out, "FAIL p50 GET /d|137: measured 13"), "%s", py.out);
    cr_expect(h_contains(py.out, " ms, limit <= 100 ms"), "%s", py.out);
    h_run_free(&py);

    python(&py, READ_MARKDOWN, md, NULL);
    H_ASSERT_EXIT(&py, 0);
    cr_expect(h_contains(py.out, "tables 3"), "%s", py.out);
    cr_expect(h_contains(py.out, "Type=GET ; Name=/d|137 ; "), "%s", py.out);
    cr_expect(h_contains(py.out, "Name=/d|137 ; # reqs="), "%s", py.out);
    cr_expect(shows_137(py.out, " ; Min=%d ; ") && shows_137(py.out, " ; p50=%d ; "), "%s", py.out);
    cr_expect(h_contains(py.out, "Threshold=p50 ; Type=GET ; Name=/d|137 ; Measured=13"), "%s",
              py.out);
    cr_expect(h_contains(py.out, " ms ; Limit=<= 100 ms ; Result=**FAILED**"), "%s", py.out);
    h_run_free(&py);
    char *text = h_read_file(md, NULL);
    cr_expect(text && strstr(text, "## cicada load test: nightly <main>"), "%s", text);
    cr_expect(text && strstr(text, "**Result: 1 of 3 thresholds breached.**"), "%s", text);
    free(text);
    h_run_free(&r);
}

Test(reports, summary_compares_with_a_baseline)
{
    const char *dir = h_tmpdir();
    paced_run(dir, "base", 20);
    const char *md = h_strf("%s/summary.md", dir);
    h_run_t r, py;
    const char *env[] = {"SLOW=120", NULL};
    h_run_opts_t o = {.env = env, .timeout_s = 30};
    cr_assert_eq(h_cicada(&r, &o, paced, "-H", host(), "-u", "8", "-r", "100", "-t", "3s",
                          "--headless", "--only-summary", "--stop-timeout", "0", "--summary-md", md,
                          "--baseline", h_strf("%s/base.json", dir), NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    python(&py, READ_MARKDOWN, md, NULL);
    H_ASSERT_EXIT(&py, 0);
    cr_expect(h_contains(py.out, "tables 3"), "%s", py.out);
    char *a = h_line_with(py.out, "Name=/a ; req/s="), *b = h_line_with(py.out, "Name=/b ; req/s=");
    /* The medians: /b's rises by 500 % (bold), /a's stays (a loaded machine moves its tail). */
    const char *a50 = a ? strstr(a, "p50 (ms)=") : NULL, *b50 = b ? strstr(b, "p50 (ms)=") : NULL;
    cr_expect(a50 && strstr(a50, " ; ") && !memchr(a50, '*', (size_t)(strstr(a50, " ; ") - a50)),
              "/a flagged: %s", a ? a : py.out);
    cr_expect(b50 && strstr(b50, " ; ") && strstr(b50, "(**+") &&
                  strstr(b50, "(**+") < strstr(b50, " ; "),
              "/b not flagged: %s", b ? b : py.out);
    free(a);
    free(b);
    h_run_free(&py);
    h_run_free(&r);
}

/* Class A: task a (weight 9) and a group of g1 (1) and g2 (3); class B (weight 1): task b. */
static const char *weighted =
    "local cicada = require 'cicada'\n"
    "local G = cicada.group({ tasks = { g1 = 1, g2 = 3 } })\n"
    "function G:g1() self.client:get('/delay/1', { name = 'g1' }) end\n"
    "function G:g2() self.client:get('/delay/1', { name = 'g2' }) end\n"
    "local A = cicada.user('A', { weight = 3, wait_time = cicada.constant(0),\n"
    "                             tasks = { a = 9, grp = G } })\n"
    "A.grp = G\n"
    "function A:a() self.client:get('/delay/1', { name = 'a' }) end\n"
    "local B = cicada.user('B', { weight = 1, wait_time = cicada.constant(0), tasks = { b = 1 } "
    "})\n"
    "function B:b() self.client:get('/delay/1', { name = 'b' }) end\n";

static const char *READ_RATIOS =
    "import json, sys\n"
    "d = json.loads(sys.stdin.read() if len(sys.argv) < 2 else open(sys.argv[1]).read())\n"
    "def show(prefix, tree):\n"
    "    for k in sorted(tree):\n"
    "        print('%s%s %.4f' % (prefix, k, tree[k]['ratio']))\n"
    "        show(prefix + k + '/', tree[k].get('tasks', {}))\n"
    "show('per_class/', d['per_class'])\n"
    "show('total/', d['total'])\n";

Test(reports, show_task_ratio_json_as_locust)
{
    const char *dir = h_tmpdir();
    h_run_t r, py;
    for (int equal = 0; equal < 2; equal++) {
        cr_assert_eq(h_cicada(&r, NULL, weighted, "--show-task-ratio-json",
                              equal ? "--equal-weights" : "--headless", NULL),
                     0);
        H_ASSERT_EXIT(&r, 0);
        const char *file = h_strf("%s/ratios%d.json", dir, equal);
        cr_assert_eq(h_write_file(file, r.out, r.out_len), 0);
        python(&py, READ_RATIOS, file, NULL);
        H_ASSERT_EXIT(&py, 0);
        const char *want[2][6] = {
            {"per_class/A 0.7500", "per_class/A/a 0.9000", "per_class/A/grp 0.1000",
             "per_class/A/grp/g2 0.7500", "total/A/grp/g2 0.0562", "total/B/b 0.2500"},
            {"per_class/A 0.5000", "per_class/A/a 0.3333", "per_class/A/g1 0.3333",
             "per_class/A/g2 0.3333", "total/A/g1 0.1667", "total/B/b 0.5000"}};
        for (int i = 0; i < 6; i++)
            cr_expect(h_contains(py.out, want[equal][i]), "missing %s in:\n%s", want[equal][i],
                      py.out);
        h_run_free(&py);
        h_run_free(&r);
    }
}

Test(reports, equal_weights_runs_every_task_equally_often)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, weighted, "-H", host(), "-u", "4", "-r", "100", "-t", "2s",
                          "--equal-weights", "--stop-timeout", "0", H_LOAD_FLAGS, "A", NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    double a = (double)h_requests(r.json, "GET", "a"), g1 = (double)h_requests(r.json, "GET", "g1"),
           g2 = (double)h_requests(r.json, "GET", "g2"), sum = a + g1 + g2;
    cr_assert_gt(sum, 100, "too few requests: %.0f", sum);
    /* A third each (weights 9, 1 and 3 ignored); a binomial spread of a few percent. */
    cr_expect(a / sum > 0.25 && a / sum < 0.42, "a: %.0f of %.0f", a, sum);
    cr_expect(g1 / sum > 0.25 && g1 / sum < 0.42, "g1: %.0f of %.0f", g1, sum);
    cr_expect(g2 / sum > 0.25 && g2 / sum < 0.42, "g2: %.0f of %.0f", g2, sum);
    h_run_free(&r);
}

Test(reports, profile_labels_every_report)
{
    const char *dir = h_tmpdir();
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, delay137, "-H", host(), "-u", "1", "-r", "100", "-t", "1s",
                          "--profile", "release-42", "--html", h_strf("%s/r.html", dir), "--junit",
                          h_strf("%s/j.xml", dir), "--summary-md", h_strf("%s/s.md", dir),
                          "--stop-timeout", "0", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_str_eq(json_string_value(json_object_get(r.json, "profile")), "release-42");
    const char *files[] = {"r.html", "j.xml", "s.md"};
    for (int i = 0; i < 3; i++) {
        char *text = h_read_file(h_strf("%s/%s", dir, files[i]), NULL);
        cr_expect(text && strstr(text, "release-42"), "%s lacks the profile", files[i]);
        free(text);
    }
    h_run_free(&r);
}

/* Spawning progress: plain log lines when stderr is a file, one line rewritten with \r on a
 * terminal (a pseudo-terminal from Python's pty module). */
static const char *RUN_IN_PTY = "import os, pty, sys\n"
                                "pid, fd = pty.fork()\n"
                                "if pid == 0:\n"
                                "    os.execv(sys.argv[1], sys.argv[1:])\n"
                                "out = b''\n"
                                "while True:\n"
                                "    try:\n"
                                "        d = os.read(fd, 65536)\n"
                                "    except OSError:\n"
                                "        break\n"
                                "    if not d:\n"
                                "        break\n"
                                "    out += d\n"
                                "os.waitpid(pid, 0)\n"
                                "sys.stdout.write(out.decode('utf-8', 'replace'))\n";

Test(reports, spawning_progress_on_a_file_and_a_terminal)
{
    h_run_t r, py;
    cr_assert_eq(h_cicada(&r, NULL, delay137, "-H", host(), "-u", "10", "-r", "4", "-t", "4s",
                          "--headless", "--stop-timeout", "0", NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(h_contains(r.err, "INFO/cicada: Spawning: "), "%s", r.err);
    cr_expect(h_contains(r.err, "/10 users, "), "%s", r.err);
    cr_expect(h_contains(r.err, " s left at 4.00 users/s\n"), "%s", r.err);
    cr_expect_eq(h_count(r.err, "\r"), 0, "carriage returns in a file");
    const char *scenario = h_strf("%s/s.lua", h_tmpdir());
    cr_assert_eq(h_write_file(scenario, delay137, strlen(delay137)), 0);
    python(&py, RUN_IN_PTY, CICADA_BIN, "-f", scenario, "-H", host(), "-u", "10", "-r", "4", "-t",
           "3s", "--headless", "--only-summary", "--stop-timeout", "0", NULL);
    H_ASSERT_EXIT(&py, 0);
    cr_expect_geq(h_count(py.out, "\rSpawning: "), 3, "%s", py.out);
    cr_expect(h_contains(py.out, "\rSpawning: 1/10 users, 2.2 s left at 4.00 users/s"), "%s",
              py.out);
    cr_expect_eq(h_count(py.out, "INFO/cicada: Spawning"), 0, "%s", py.out);
    cr_expect(h_contains(py.out, "users/s                      \r\n["), "line not ended: %s",
              py.out);
    h_run_free(&py);
    h_run_free(&r);
}
