/* Test data files through the real binary: one shared cursor across engine threads (each row
 * requested exactly once, then nil), round robin in one process-wide order, a malformed file
 * failing the load with file:line, and examples/data.lua logging in with its accounts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(dataset, .fini = h_cleanup, .timeout = 60);

#define ROWS 300

static void start_target(h_target_t *t)
{
    cr_assert_eq(h_target_start(t, 2), 0, "cicada-target did not start");
}

/* Writes name into dir; returns its path. */
static const char *put(const char *dir, const char *name, const char *text)
{
    const char *path = h_strf("%s/%s", dir, name);
    cr_assert_eq(h_write_file(path, text, strlen(text)), 0);
    return path;
}

/* ROWS rows "id,label" whose label is quoted (a comma inside), ids 1..ROWS. */
static const char *rows_csv(void)
{
    size_t cap = ROWS * 40, off = 0;
    char *text = malloc(cap);
    off += (size_t)snprintf(text, cap, "id,label\r\n");
    for (int i = 1; i <= ROWS; i++)
        off += (size_t)snprintf(text + off, cap - off, "%d,\"row, %d\"\r\n", i, i);
    const char *s = h_strf("%s", text);
    free(text);
    return s;
}

/* Each user takes one row per task until none is left; then it says so once ("exhausted")
 * and checks that nil stays nil. The first user of an engine thread to see nil also reports
 * how many rows its thread took ("thread took N"): all rows are taken by then. */
static const char *each_once =
    "local cicada = require 'cicada'\n"
    "local rows = cicada.data.csv('rows.csv', { mode = 'each_once' })\n"
    "local taken, reported = 0, false\n"
    "local U = cicada.user('Taker', { wait_time = cicada.constant(0.005), tasks = { take = 1 } "
    "})\n"
    "function U:take()\n"
    "  if self.done then return end\n"
    "  local row = rows:next()\n"
    "  if not row then\n"
    "    self.done = true\n"
    "    if rows:next() ~= nil then error('a row after exhaustion') end\n"
    "    self.client:get('/status/200', { name = 'exhausted' })\n"
    "    if not reported then\n"
    "      reported = true\n"
    "      self.client:get('/status/200', { name = 'thread took ' .. taken })\n"
    "    end\n"
    "    return\n"
    "  end\n"
    "  taken = taken + 1\n"
    "  if row.label ~= 'row, ' .. row.id then error('row ' .. row.id .. ': ' .. row.label) end\n"
    "  self.client:get('/status/200?row=' .. row.id)\n"
    "end\n";

/* Sums num_requests over entries whose name starts with prefix; *weighted sums N * requests
 * for names "prefix N"; *entries counts them. */
static long sum_prefixed(json_t *doc, const char *prefix, long *weighted, long *entries,
                         long *min_n)
{
    size_t i, plen = strlen(prefix);
    json_t *e;
    long total = 0;
    *weighted = *entries = 0;
    *min_n = -1;
    json_array_foreach(json_object_get(doc, "stats"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!name || strncmp(name, prefix, plen) != 0)
            continue;
        long n = strtol(name + plen, NULL, 10), reqs = (long)h_num(e, "num_requests");
        total += reqs;
        *weighted += n * reqs;
        *entries += 1;
        *min_n = *min_n < 0 || n < *min_n ? n : *min_n;
    }
    return total;
}

Test(dataset, each_once_hands_every_row_to_one_user_across_threads)
{
    h_target_t t;
    h_run_t r;
    start_target(&t);
    const char *dir = h_tmpdir();
    put(dir, "rows.csv", rows_csv());
    const char *scenario = put(dir, "scenario.lua", each_once);
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", scenario, "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "4", "-r", "100", "-t",
                          "4s", "--threads", "2", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_eq(json_array_size(json_object_get(r.json, "exceptions")), 0, "script errors");
    for (int i = 1; i <= ROWS; i++) {
        long n = h_requests(r.json, "GET", h_strf("/status/200?row=%d", i));
        cr_expect_eq(n, 1, "row %d was requested %ld times", i, n);
    }
    long weighted, entries, min_n;
    long rows = sum_prefixed(r.json, "/status/200?row=", &weighted, &entries, &min_n);
    cr_expect_eq(rows, ROWS, "%ld row requests", rows);
    cr_expect_eq(h_requests(r.json, "GET", "exhausted"), 4, "every user saw nil once");
    long threads = sum_prefixed(r.json, "thread took ", &weighted, &entries, &min_n);
    cr_expect_eq(threads, 2, "one report per engine thread, got %ld", threads);
    cr_expect_eq(weighted, ROWS, "the threads took %ld rows between them", weighted);
    cr_expect_gt(min_n, 0, "a thread took no row: nothing was shared");
    cr_expect_eq(h_target_requests(&t, ROWS + 6), ROWS + 6);
    h_run_free(&r);
}

/* 4 users take 25 rows each from 7 rows in round robin: 100 picks in one process-wide order
 * give rows 1 and 2 fifteen requests and the others fourteen. (A cursor per thread would give
 * each thread 50 picks: row 1 sixteen, the others fourteen.) */
static const char *round_robin =
    "local cicada = require 'cicada'\n"
    "local rows = cicada.data.csv('seven.csv', { header = false })\n"
    "assert(rows:count() == 7)\n"
    "local U = cicada.user('Cycler', { wait_time = cicada.constant(0.005), tasks = { take = 1 } "
    "})\n"
    "function U:take()\n"
    "  self.n = (self.n or 0) + 1\n"
    "  if self.n > 25 then return end\n"
    "  local v = rows:next()[1]\n"
    "  self.client:get('/status/200?r=' .. v, { name = 'row ' .. v })\n"
    "end\n";

Test(dataset, round_robin_follows_one_order_across_threads)
{
    h_target_t t;
    h_run_t r;
    start_target(&t);
    const char *dir = h_tmpdir();
    put(dir, "seven.csv", "1\n2\n3\n4\n5\n6\n7");
    const char *scenario = put(dir, "scenario.lua", round_robin);
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", scenario, "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "4", "-r", "100", "-t",
                          "3s", "--threads", "2", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long total = 0;
    for (int i = 1; i <= 7; i++) {
        long n = h_requests(r.json, "GET", h_strf("row %d", i)), want = i <= 2 ? 15 : 14;
        total += n;
        cr_expect_eq(n, want, "row %d: %ld requests, want %ld", i, n, want);
    }
    cr_expect_eq(total, 100);
    h_run_free(&r);
}

Test(dataset, a_malformed_file_fails_the_load_with_file_and_line)
{
    h_run_t r;
    const char *dir = h_tmpdir();
    put(dir, "bad.csv", "id,name\n1,alice\n2,\"bob\n3,carol\n");
    put(dir, "short.csv", "id,name\n1,alice\n\n2\n");
    const char *lua = "local cicada = require 'cicada'\n"
                      "local ok = cicada.data.csv('%s')\n"
                      "cicada.user('U', { tasks = { t = function() end } })\n";
    const char *scenario = put(dir, "scenario.lua", h_strf(lua, "bad.csv"));
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", scenario, "-u", "1", "-t", "1s", "--threads", "2",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 2);
    const char *want = h_strf("%s:2: %s/bad.csv:3: unterminated quoted field", scenario, dir);
    cr_expect(strstr(r.err, want) != NULL, "stderr lacks \"%s\": %s", want, r.err);
    cr_expect_eq(r.out_len, 0, "no report for a scenario that did not load");
    h_run_free(&r);

    scenario = put(dir, "scenario.lua", h_strf(lua, "short.csv"));
    cr_assert_eq(
        h_cicada(&r, NULL, NULL, "-f", scenario, "-u", "1", "-t", "1s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    want = h_strf("%s/short.csv:4: row has 1 field, the header has 2", dir);
    cr_expect(strstr(r.err, want) != NULL, "stderr lacks \"%s\": %s", want, r.err);
    h_run_free(&r);
}

Test(dataset, data_example_logs_each_account_in_once)
{
    h_target_t t;
    h_run_t r;
    start_target(&t);
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", SOURCE_DIR "/examples/data.lua", "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "55", "-r", "200", "-t",
                          "3s", "--threads", "2", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_eq(h_total_failures(r.json), 0);
    cr_expect_eq(json_array_size(json_object_get(r.json, "exceptions")), 0);
    cr_expect_eq(h_requests(r.json, "GET", "/login"), 50, "one login per account");
    cr_expect_eq(h_requests(r.json, "POST", "/login"), 50, "55 users, 50 accounts");
    cr_expect_gt(h_requests(r.json, "GET", "/profile"), 0);
    /* Each login's 302 is followed: one request in the statistics, two at the server. */
    long want = h_total_requests(r.json) + 50;
    cr_expect_eq(h_target_requests(&t, want), want);
    h_run_free(&r);
}
