/* Fault tests: cicada against a server that breaks its replies on purpose (harness_fault.c).
 * Every request the server read is counted by cicada, as a failure exactly where the reply was
 * broken, with a text naming the fault; runs end on time; memory stays bounded on a 50 MB body;
 * a target that dies, restarts or is not there yet leaves the counts whole. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(faults, .fini = h_cleanup, .timeout = 60);

/* in_flight_at_stop's count for (GET, name), 0 when absent. */
static long in_flight(json_t *doc, const char *name)
{
    json_t *list = json_object_get(json_object_get(doc, "in_flight_at_stop"), "requests");
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "name")), name) == 0)
            return (long)json_integer_value(json_object_get(item, "count"));
    }
    return 0;
}

/* Requests of name counted by cicada, finished or abandoned at the stop (-1 entries as 0). */
static long sent(json_t *doc, const char *name)
{
    long n = h_requests(doc, "GET", name);
    return (n < 0 ? 0 : n) + in_flight(doc, name);
}

/* The server read exactly the requests cicada counted under name. */
static void expect_same_count(const h_fault_t *f, h_fault_path_t p, json_t *doc, const char *name)
{
    long want = sent(doc, name);
    cr_expect_eq(h_fault_seen(f, p, want), want, "%s: the server read %ld requests, cicada %ld",
                 name, h_fault_seen(f, p, -1), want);
}

/* Every finished request of name failed, all with one error whose text starts with prefix. */
static void expect_broken(json_t *doc, const char *name, const char *prefix)
{
    long n = h_requests(doc, "GET", name);
    cr_expect_gt(n, 0, "%s: no request finished", name);
    cr_expect_eq(h_failures(doc, "GET", name), n, "%s: a broken reply passed", name);
    json_t *e = h_error(doc, "GET", name, prefix);
    cr_expect_not_null(e, "%s: no error starting with \"%s\"", name, prefix);
    cr_expect_eq(e ? json_integer_value(json_object_get(e, "occurrences")) : 0, n,
                 "%s: not every failure says \"%s\"", name, prefix);
}

static void expect_sound(json_t *doc, const char *name)
{
    cr_expect_gt(h_requests(doc, "GET", name), 0, "%s: no request finished", name);
    cr_expect_eq(h_failures(doc, "GET", name), 0, "%s: a sound reply failed", name);
}

/* One user per path, each requesting its path 20 times a second. */
static const char *every_path =
    "local cicada = require 'cicada'\n"
    "local paths = { '/ok', '/reset', '/garbage', '/truncate', '/bad-chunk', '/big-header',\n"
    "                '/never', '/close', '/drip' }\n"
    "for i, p in ipairs(paths) do\n"
    "  local U = cicada.user('U' .. i, { fixed_count = 1, wait_time = cicada.constant(0.05),\n"
    "                                    tasks = { t = 1 } })\n"
    "  function U:t() self.client:get(p) end\n"
    "end\n";

Test(faults, each_broken_reply_fails_with_a_text_naming_the_fault)
{
    h_fault_t f = {0};
    h_run_t r;
    cr_assert_eq(h_fault_start(&f, 0), 0, "the fault server did not start");
    cr_assert_eq(h_cicada(&r, NULL, every_path, "-H", h_strf("http://%s:%d", H_HOST, f.port), "-u",
                          "9", "-r", "100", "-t", "2s", "--request-timeout", "1", H_LOAD_FLAGS,
                          NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    json_t *doc = r.json;
    expect_sound(doc, "/ok");
    expect_sound(doc, "/close");
    cr_expect_eq(h_num(h_entry(doc, "GET", "/close"), "avg_content_length"),
                 (double)strlen(H_FAULT_CLOSE_BODY), "the close-delimited body was cut");
    expect_broken(doc, "/reset", "connection reset by peer (reading the response)");
    expect_broken(doc, "/garbage", "malformed response: Expected HTTP/ (in the status line)");
    expect_broken(doc, "/truncate",
                  "connection closed before the response completed (in the body)");
    expect_broken(doc, "/bad-chunk",
                  "malformed response: Invalid character in chunk size (in the chunked body)");
    expect_broken(doc, "/big-header", "response headers over the limit (65536 bytes");
    expect_broken(doc, "/never", "timeout after 1.0s");
    cr_expect_eq(json_string_length(json_object_get(h_error(doc, "GET", "/never", NULL), "error")),
                 strlen("timeout after 1.0s"), "a silent server is not an incomplete response");
    expect_broken(doc, "/drip", "timeout after 1.0s (response incomplete, in the status line)");
    for (int p = H_FAULT_OK; p <= H_FAULT_DRIP; p++)
        expect_same_count(&f, p, doc, h_fault_path(p));
    cr_expect_eq(h_fault_seen(&f, H_FAULT_OTHER, 0), 0);
    long broken = 0;
    for (int p = H_FAULT_RESET; p <= H_FAULT_DRIP; p++)
        if (p != H_FAULT_CLOSE)
            broken += h_requests(doc, "GET", h_fault_path(p));
    cr_expect_eq(h_total_failures(doc), broken, "failures outside the broken paths");
    cr_expect_lt(r.elapsed_s, 6.0, "a 2 s run took %.1f s", r.elapsed_s);
    H_EXPECT_NO_EXCEPTIONS(&r);
    h_run_free(&r);
}

/* A reply dripped one byte per 100 ms (4 s in all) fails at a 1 s limit and succeeds at 10 s. */
static const char *drip =
    "local cicada = require 'cicada'\n"
    "local Cut = cicada.user('Cut', { fixed_count = 1, wait_time = cicada.constant(0),\n"
    "                                 tasks = { t = 1 } })\n"
    "function Cut:t() self.client:get('/drip', { name = 'cut', timeout = 1 }) end\n"
    "local Whole = cicada.user('Whole', { fixed_count = 1, wait_time = cicada.constant(0),\n"
    "                                     tasks = { t = 1 } })\n"
    "function Whole:t() self.client:get('/drip', { name = 'whole', timeout = 10 }) end\n";

Test(faults, slow_drip_is_cut_at_the_timeout_and_completes_within_a_longer_one)
{
    h_fault_t f = {0};
    h_run_t r;
    cr_assert_eq(h_fault_start(&f, 0), 0, "the fault server did not start");
    cr_assert_eq(h_cicada(&r, NULL, drip, "-H", h_strf("http://%s:%d", H_HOST, f.port), "-u", "2",
                          "-r", "100", "-t", "5s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    expect_broken(r.json, "cut", "timeout after 1.0s (response incomplete, in the status line)");
    json_t *whole = h_entry(r.json, "GET", "whole");
    cr_expect_eq(h_requests(r.json, "GET", "whole"), 1, "one 4 s reply fits in a 5 s run");
    cr_expect_eq(h_failures(r.json, "GET", "whole"), 0);
    cr_expect_geq(h_num(whole, "min_response_time"), 3500, "the dripped reply came too fast");
    cr_expect_eq(h_num(whole, "avg_content_length"), 2);
    long want = sent(r.json, "cut") + sent(r.json, "whole");
    cr_expect_eq(h_fault_seen(&f, H_FAULT_DRIP, want), want);
    /* 5 s, then the stop's grace (2 s) for the patient user's second request */
    cr_expect_lt(r.elapsed_s, 9.0, "the run took %.1f s", r.elapsed_s);
    h_run_free(&r);
}

/* Starts cicada in the background with its run document written to *json; returns its PID. */
static pid_t spawn_cicada(const char *scenario, const char *const *args, const char **json)
{
    const char *dir = h_tmpdir();
    const char *path = h_strf("%s/scenario.lua", dir);
    *json = h_strf("%s/report.json", dir);
    cr_assert_eq(h_write_file(path, scenario, strlen(scenario)), 0);
    char *argv[H_MAX_ARGS];
    int n = 0;
    argv[n++] = (char *)CICADA_BIN;
    argv[n++] = (char *)"-f";
    argv[n++] = (char *)path;
    for (; *args && n < H_MAX_ARGS - 7; args++)
        argv[n++] = (char *)*args;
    argv[n++] = (char *)"--headless";
    argv[n++] = (char *)"--only-summary";
    argv[n++] = (char *)"--report-json";
    argv[n++] = (char *)*json;
    argv[n] = NULL;
    pid_t pid = h_spawn(argv, h_strf("%s/stdout.log", dir), h_strf("%s/stderr.log", dir));
    cr_assert_gt(pid, 0, "cicada did not start");
    return pid;
}

/* The peak resident set of a running process in kB (VmHWM), or -1 once it has exited. */
static long peak_rss_kb(pid_t pid)
{
    char *status = h_read_file(h_strf("/proc/%d/status", (int)pid), NULL);
    const char *line = status ? strstr(status, "VmHWM:") : NULL;
    long kb = line ? atol(line + strlen("VmHWM:")) : -1;
    free(status);
    return kb;
}

/* Waits up to limit_s for cicada to exit (the test fails past it), sampling its peak resident
 * set into *peak_kb when not NULL, and returns its run document. */
static json_t *wait_cicada(pid_t pid, double limit_s, const char *json, long *peak_kb)
{
    double end = h_now() + limit_s;
    while (h_alive(pid) && h_now() < end) {
        long kb = peak_rss_kb(pid);
        if (peak_kb && kb > *peak_kb)
            *peak_kb = kb;
        h_sleep(0.05);
    }
    cr_assert(!h_alive(pid), "cicada still running after %.0f s", limit_s);
    char *text = h_read_file(json, NULL);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    cr_assert_not_null(doc, "no run document in %s", json);
    return doc;
}

/* 50 MB bodies read with max_body = 0 (nothing kept) or 16 (the start kept): every byte is
 * counted, none is held. */
static const char *big_body =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0), tasks = { none = 1, some = 1 } "
    "})\n"
    "function U:none()\n"
    "  local r = self.client:get('/big', { name = 'none', max_body = 0 })\n"
    "  assert(r.ok and r.body == '', 'max_body = 0 kept ' .. #r.body .. ' bytes')\n"
    "end\n"
    "function U:some()\n"
    "  local r = self.client:get('/big', { name = 'some', max_body = 16 })\n"
    "  assert(r.ok and r.body == string.rep('x', 16), 'max_body = 16 kept ' .. #r.body)\n"
    "end\n";

Test(faults, large_bodies_are_counted_in_bounded_memory)
{
    h_fault_t f = {0};
    const char *json;
    long peak_kb = 0;
    cr_assert_eq(h_fault_start(&f, 0), 0, "the fault server did not start");
    const char *args[] = {
        "-H", h_strf("http://%s:%d", H_HOST, f.port), "-u", "2", "-r", "100", "-t", "3s", NULL};
    pid_t pid = spawn_cicada(big_body, args, &json);
    json_t *doc = wait_cicada(pid, 20, json, &peak_kb);
    long n = h_requests(doc, "GET", "none") + h_requests(doc, "GET", "some");
    cr_expect_gt(h_requests(doc, "GET", "none"), 0);
    cr_expect_gt(h_requests(doc, "GET", "some"), 0);
    cr_expect_eq(h_total_failures(doc), 0);
    cr_expect_eq(json_array_size(json_object_get(doc, "exceptions")), 0, "the script raised");
    cr_expect_eq(h_num(h_entry(doc, "GET", "none"), "avg_content_length"), H_FAULT_BIG_LEN);
    cr_expect_eq(h_num(h_entry(doc, "GET", "some"), "avg_content_length"), H_FAULT_BIG_LEN);
    long want = n + in_flight(doc, "none") + in_flight(doc, "some");
    cr_expect_eq(h_fault_seen(&f, H_FAULT_BIG_BODY, want), want);
    /* Kept whole, one body alone would be 50 MB (its buffer grows past 64 MB). */
    cr_expect_gt(peak_kb, 0, "VmHWM never read");
    cr_expect_lt(peak_kb, 32 * 1024, "peak resident set %ld kB", peak_kb);
    json_decref(doc);
}

static const char *ok_loop = "local cicada = require 'cicada'\n"
                             "local U = cicada.user('U', { wait_time = cicada.constant(0.01),\n"
                             "                             tasks = { t = 1 } })\n"
                             "function U:t() self.client:get('/ok') end\n";

/* Every error of the run starts with one of the prefixes (NULL-terminated). */
static void expect_errors_among(json_t *doc, const char *const *prefixes)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "errors"), i, e)
    {
        const char *text = json_string_value(json_object_get(e, "error"));
        bool known = false;
        for (const char *const *p = prefixes; *p && !known; p++)
            known = strncmp(text, *p, strlen(*p)) == 0;
        cr_expect(known, "unexpected error: %s", text);
    }
}

/* The target is killed (SIGKILL, with its connections) 1.2 s into a 4 s run and restarted on
 * the same port a second later: the users get failures meanwhile, then successes again. A
 * request the server had read when it was killed fails without its reply, so the server's
 * count lies between cicada's successes and its successes plus such failures. */
Test(faults, target_killed_and_restarted_mid_run)
{
    h_fault_t f = {0};
    const char *json;
    cr_assert_eq(h_fault_start(&f, 0), 0, "the fault server did not start");
    const char *args[] = {
        "-H", h_strf("http://%s:%d", H_HOST, f.port), "-u", "2", "-r", "100", "-t", "4s", NULL};
    pid_t pid = spawn_cicada(ok_loop, args, &json);
    h_sleep(1.2);
    h_fault_kill(&f);
    long before = h_fault_seen(&f, H_FAULT_OK, -1);
    h_sleep(1.0);
    cr_assert_eq(h_fault_start(&f, f.port), 0, "the fault server did not restart");
    json_t *doc = wait_cicada(pid, 15, json, NULL);
    long requests = h_requests(doc, "GET", "/ok"), failures = h_failures(doc, "GET", "/ok");
    json_t *refused = h_error(doc, "GET", "/ok", "connection refused");
    long nrefused = refused ? (long)json_integer_value(json_object_get(refused, "occurrences")) : 0;
    long ok = requests - failures, seen = h_fault_seen(&f, H_FAULT_OK, ok);
    cr_expect_gt(before, 0, "no request before the kill");
    cr_expect_gt(seen, before, "no request after the restart");
    cr_expect_gt(nrefused, 0, "no request found the target down");
    cr_expect(seen >= ok && seen <= ok + failures - nrefused,
              "server read %ld; cicada: %ld successes, %ld failures (%ld refused)", seen, ok,
              failures, nrefused);
    cr_expect_eq(in_flight(doc, "/ok"), 0);
    const char *known[] = {"connection refused", "connection reset by peer",
                           "connection closed without a response", NULL};
    expect_errors_among(doc, known);
    json_decref(doc);
}

/* Nothing listens for the first second: every request is refused, then the target comes up
 * and each request it reads is a success. */
Test(faults, refused_until_the_target_starts)
{
    h_fault_t f = {0};
    int port = h_free_port();
    cr_assert_gt(port, 0);
    const char *args[] = {
        "-H", h_strf("http://%s:%d", H_HOST, port), "-u", "2", "-r", "100", "-t", "2.5s", NULL};
    const char *json;
    pid_t pid = spawn_cicada(ok_loop, args, &json);
    h_sleep(1.0);
    cr_assert_eq(h_fault_start(&f, port), 0, "the fault server did not start");
    json_t *doc = wait_cicada(pid, 15, json, NULL);
    long requests = h_requests(doc, "GET", "/ok"), failures = h_failures(doc, "GET", "/ok");
    json_t *e = h_error(doc, "GET", "/ok", "connection refused");
    cr_expect_gt(failures, 0, "no request was refused");
    cr_expect_not_null(e, "no \"connection refused\" error");
    cr_expect_eq(e ? json_integer_value(json_object_get(e, "occurrences")) : 0, failures,
                 "failures other than refused connections");
    cr_expect_eq(h_fault_seen(&f, H_FAULT_OK, requests - failures), requests - failures);
    cr_expect_gt(requests - failures, 0, "no success once the target was up");
    json_decref(doc);
}

/* A max_body that is not a whole number of bytes is a Lua error of the task, sending nothing. */
static const char *bad_max_body =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "function U:t() self.client:get('/ok', { max_body = -1 }) end\n";

Test(faults, max_body_must_be_a_whole_number_of_bytes)
{
    h_fault_t f = {0};
    h_run_t r;
    cr_assert_eq(h_fault_start(&f, 0), 0, "the fault server did not start");
    cr_assert_eq(h_cicada(&r, NULL, bad_max_body, "-H", h_strf("http://%s:%d", H_HOST, f.port),
                          "-u", "1", "-r", "10", "-t", "1s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_JSON(&r);
    cr_expect_gt(h_exception_count(r.json, "option 'max_body' must be a whole number of bytes"), 0,
                 "%s", h_exceptions_text(r.json));
    cr_expect_eq(h_total_requests(r.json), 0);
    cr_expect_eq(h_fault_seen(&f, H_FAULT_OK, 0), 0);
    h_run_free(&r);
}

/* ---- Decompression bombs --------------------------------------------------------------------- */

/* AddressSanitizer keeps freed blocks in a quarantine (256 MB by default) and adds shadow
 * memory: under it a process's peak says little of cicada's own use, so the bombs' memory
 * bounds are checked in builds without it (their other checks run in every build). */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifndef ASAN
#define ASAN 0
#endif

/* Each task asks for the bomb (about 1 MB of gzip that inflates to 1 GiB) and a plain reply. */
static const char *bomb_and_ok =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  local r = self.client:get('/gzip-bomb', { name = 'bomb' })\n"
    "  assert(not r.ok and #r.body < 2 * 1024 * 1024, 'the bomb went off: ' .. #r.body)\n"
    "  self.client:get('/ok', { name = 'ok' })\n"
    "end\n";

/* Runs the bomb scenario with args; checks that every bomb failed with the error text, that
 * the plain requests went on, and the server's count. Returns cicada's peak resident set. */
static long run_bomb(const char *const *args, const char *error)
{
    h_fault_t f = {0};
    const char *json;
    long peak_kb = 0;
    cr_assert_eq(h_fault_start(&f, 0), 0, "the fault server did not start");
    const char *argv[16] = {
        "-H", h_strf("http://%s:%d", H_HOST, f.port), "-u", "1", "-r", "10", "-t", "3s"};
    for (int i = 0; args[i]; i++)
        argv[8 + i] = args[i];
    pid_t pid = spawn_cicada(bomb_and_ok, argv, &json);
    json_t *doc = wait_cicada(pid, 30, json, &peak_kb);
    long bombs = h_requests(doc, "GET", "bomb");
    cr_expect_gt(bombs, 0);
    cr_expect_eq(h_failures(doc, "GET", "bomb"), bombs, "a bomb did not fail");
    json_t *e = h_error(doc, "GET", "bomb", error);
    cr_expect_not_null(e, "no error \"%s\"", error);
    cr_expect_eq(json_integer_value(json_object_get(e, "occurrences")), bombs);
    cr_expect_gt(h_requests(doc, "GET", "ok"), 0, "the run did not go on");
    cr_expect_eq(h_failures(doc, "GET", "ok"), 0);
    cr_expect_eq(json_array_size(json_object_get(doc, "exceptions")), 0, "the script raised");
    long want = bombs + in_flight(doc, "bomb");
    cr_expect_eq(h_fault_seen(&f, H_FAULT_GZIP_BOMB, want), want);
    cr_expect_gt(peak_kb, 0, "VmHWM never read");
    cr_log_info("%ld bombs, peak resident set %ld kB", bombs, peak_kb);
    json_decref(doc);
    return peak_kb;
}

/* With --max-body 1M the decoded body stops at 1 MB: the request fails naming the limit, and
 * cicada's peak resident set stays under 48 MB (a bomb inflated whole would be 1 GiB). */
Test(faults, gzip_bomb_fails_at_max_body_in_bounded_memory)
{
    const char *args[] = {"--max-body", "1M", NULL};
    long peak_kb =
        run_bomb(args, "decoded body larger than max_body, 1048576 bytes (Content-Encoding)");
    if (!ASAN)
        cr_expect_lt(peak_kb, 48 * 1024, "peak resident set %ld kB", peak_kb);
}

/* Without a limit, a decoded body stops at 256 MB: the peak resident set stays under 320 MB. */
Test(faults, gzip_bomb_stops_at_256_mb_without_max_body)
{
    const char *args[] = {NULL};
    long peak_kb = run_bomb(args, "decoded body larger than 256 MB (Content-Encoding)");
    if (!ASAN)
        cr_expect_lt(peak_kb, 320 * 1024, "peak resident set %ld kB", peak_kb);
}
