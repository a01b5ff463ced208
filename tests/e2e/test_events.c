/* Events: how often each fires and with what, observed through lines the listeners write to
 * stderr or to files in a directory passed through the environment. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(events, .fini = h_cleanup, .timeout = 60);

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

static const char *lifecycle =
    "local cicada = require 'cicada'\n"
    "local function say(s) io.stderr:write('EVT ' .. s .. '\\n') end\n"
    "cicada.events.init:add(function() say('init') end)\n"
    "cicada.events.test_start:add(function() say('test_start') end)\n"
    "cicada.events.spawning_complete:add(function(n) say('spawning_complete ' .. tostring(n)) "
    "end)\n"
    "cicada.events.test_stop:add(function() say('test_stop') end)\n"
    "cicada.events.quitting:add(function() say('quitting') end)\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "function U:t() self.client:get('/hello') end\n";

Test(events, lifecycle_events_fire_once_and_init_once_per_lua_state)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, lifecycle, "-H", host(), "-u", "5", "-r", "100", "-t", "2s",
                          "--threads", "2", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_eq(h_count(r.err, "EVT init\n"), 3, "init: runner + 2 threads, got %ld",
                 h_count(r.err, "EVT init\n"));
    cr_expect_eq(h_count(r.err, "EVT test_start\n"), 1);
    cr_expect_eq(h_count(r.err, "EVT spawning_complete"), 1);
    cr_expect_eq(h_count(r.err, "EVT spawning_complete 5\n"), 1, "the user count is passed");
    cr_expect_eq(h_count(r.err, "EVT test_stop\n"), 1);
    cr_expect_eq(h_count(r.err, "EVT quitting\n"), 1);
    /* Order: init before test_start before spawning_complete before test_stop before quitting. */
    const char *order[] = {"EVT init", "EVT test_start", "EVT spawning_complete", "EVT test_stop",
                           "EVT quitting"};
    for (size_t i = 1; i < sizeof order / sizeof *order; i++) {
        const char *a = strstr(r.err, order[i - 1]), *b = strstr(r.err, order[i]);
        cr_expect(a && b && a < b, "%s does not come before %s", order[i - 1], order[i]);
    }
    h_run_free(&r);
}

/* Each request listener appends one line per request to a file of its own thread's state. */
static const char *requests =
    "local cicada = require 'cicada'\n"
    "local path = os.getenv('EVT_DIR') .. '/req-' .. tostring({}):gsub('[^%w]', '')\n"
    "cicada.events.request:add(function(req)\n"
    "  local f = assert(io.open(path, 'a'))\n"
    "  f:write(string.format('%s %s %s %s %s\\n', req.request_type, req.name,\n"
    "          req.exception and 'FAIL' or 'OK', tostring(req.response_length),\n"
    "          tostring(req.response_time)))\n"
    "  f:close()\n"
    "end)\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.05), tasks = { ok = 2, bad = 1 } "
    "})\n"
    "function U:ok() self.client:get('/bytes/10', { name = 'ok' }) end\n"
    "function U:bad() self.client:get('/status/404', { name = 'bad' }) end\n";

/* Concatenates every file of dir. */
static char *read_dir(const char *dir)
{
    DIR *d = opendir(dir);
    char *all = strdup("");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *text = h_read_file(h_strf("%s/%s", dir, e->d_name), NULL);
        char *n = NULL;
        if (asprintf(&n, "%s%s", all, text ? text : "") < 0)
            n = NULL;
        free(text);
        free(all);
        all = n;
    }
    if (d)
        closedir(d);
    return all;
}

/* Runs scenario against the target with `-u users -t duration --threads 2` and EVT_DIR set to a
 * new folder, expecting exit code `exit` and no exception; returns what its listeners wrote
 * there. */
static char *run_listened(h_run_t *r, const char *scenario, const char *users, const char *duration,
                          int exit)
{
    const char *dir = h_tmpdir();
    const char *env[] = {h_strf("EVT_DIR=%s", dir), NULL};
    h_run_opts_t o = {.env = env};
    cr_assert_eq(h_cicada(r, &o, scenario, "-H", host(), "-u", users, "-r", "100", "-t", duration,
                          "--threads", "2", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(r, exit);
    H_ASSERT_JSON(r);
    H_EXPECT_NO_EXCEPTIONS(r);
    char *lines = read_dir(dir);
    cr_assert_not_null(lines);
    return lines;
}

Test(events, request_fires_once_per_request_in_every_thread)
{
    h_run_t r;
    char *lines = run_listened(&r, requests, "4", "2s", 1);
    long total = h_total_requests(r.json);
    cr_expect_gt(total, 50);
    cr_expect_eq(h_count(lines, "\n"), total, "%ld listener calls for %ld requests",
                 h_count(lines, "\n"), total);
    cr_expect_eq(h_count(lines, "GET ok OK 10 "), h_requests(r.json, "GET", "ok"),
                 "successes with their type, name and length");
    cr_expect_eq(h_count(lines, "GET bad FAIL"), h_failures(r.json, "GET", "bad"),
                 "failures carry their exception");
    free(lines);
    h_run_free(&r);
}

static const char *user_error =
    "local cicada = require 'cicada'\n"
    "cicada.events.user_error:add(function(user, msg, tb)\n"
    "  io.stderr:write(string.format('EVT user_error %s|%s|%s\\n', tostring(user ~= nil),\n"
    "                  tostring(msg):gsub('\\n', ' '),\n"
    "                  tostring(tb and tb:find('kaboom_here') ~= nil)))\n"
    "end)\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "local function kaboom_here() error('kaboom') end\n"
    "function U:t() self.client:get('/hello', { name = 't' }); kaboom_here() end\n";

Test(events, user_error_gets_the_user_message_and_traceback)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, user_error, "-H", host(), "-u", "2", "-r", "100", "-t", "2s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    long n = h_exception_count(r.json, "kaboom");
    cr_expect_gt(n, 5);
    cr_expect_eq(h_count(r.err, "EVT user_error"), n, "one event per task error");
    cr_expect_eq(h_count(r.err, "EVT user_error true|"), n, "the user is passed");
    cr_expect_eq(h_count(r.err, "kaboom|true\n"), n,
                 "the message and a traceback naming the "
                 "failing function are passed");
    h_run_free(&r);
}

static const char *bad_listener =
    "local cicada = require 'cicada'\n"
    "cicada.events.request:add(function(req) error('listener broke') end)\n"
    "local seen = 0\n"
    "cicada.events.request:add(function(req) seen = seen + 1 end)\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get('/hello', { name = 't' })\n"
    "  self.client:get('/hello', { name = seen > 0 and 'second-listener-ran' or 'not-yet' })\n"
    "end\n";

Test(events, failing_listener_is_reported_and_not_fatal)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, bad_listener, "-H", host(), "-u", "2", "-r", "100", "-t", "2s",
                          H_LOAD_FLAGS, NULL),
                 0);
    cr_expect(r.exited && !r.timed_out, "cicada crashed or hung");
    H_ASSERT_JSON(&r);
    long n = h_requests(r.json, "GET", "t");
    cr_expect_gt(n, 20, "requests stopped after the listener failed");
    cr_expect_gt(h_exception_count(r.json, "listener broke"), 0, "exceptions: %s",
                 h_exceptions_text(r.json));
    cr_expect_gt(h_requests(r.json, "GET", "second-listener-ran"), 0,
                 "the next listener did not run after a failing one");
    h_run_free(&r);
}

/* The request event's url is the absolute URL requested (r.url), with and without
 * catch_response (whose event fires when its task ends, checked at the next task); each mismatch
 * is raised as a script error. */
static const char *event_url =
    "local cicada = require 'cicada'\n"
    "local last\n"
    "cicada.events.request:add(function(req) last = req end)\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "local function expect(r, how)\n"
    "  if not last or last.url ~= r.url or last.response ~= r then\n"
    "    error(how .. ': event url ' .. tostring(last and last.url) .. ', r.url ' .. r.url)\n"
    "  end\n"
    "end\n"
    "function U:t()\n"
    "  if last and last.name == 'caught' then expect(last.response, 'catch_response') end\n"
    "  local r = self.client:get('/hello?a=1', { name = 'plain' })\n"
    "  expect(r, 'plain')\n"
    "  r = self.client:get('/hello?b=2', { name = 'caught', catch_response = true })\n"
    "  r:success()\n"
    "end\n";

Test(events, request_event_carries_the_absolute_url_and_response)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, event_url, "-H", host(), "-u", "1", "-r", "10", "-t", "1s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    H_ASSERT_EXIT(&r, 0);
    cr_expect_gt(h_requests(r.json, "GET", "caught"), 0);
    h_run_free(&r);
}

/* A listener removed is called no more; the others still are. */
static const char *removed =
    "local cicada = require 'cicada'\n"
    "local kept, gone = 0, 0\n"
    "cicada.events.request:add(function() kept = kept + 1 end)\n"
    "local fn = cicada.events.request:add(function() gone = gone + 1 end)\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get('/hello', { name = 't' })\n"
    "  if kept == 2 then cicada.events.request:remove(fn) end\n"
    "  if gone ~= math.min(kept, 2) then error('removed listener: ' .. gone .. '/' .. kept) end\n"
    "end\n";

Test(events, removed_listener_is_not_called)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, removed, "-H", host(), "-u", "1", "-r", "10", "-t", "1s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    H_ASSERT_EXIT(&r, 0);
    cr_expect_gt(h_requests(r.json, "GET", "t"), 3);
    h_run_free(&r);
}

/* cicada.record counts a request of any protocol and fires the request event for it. */
static const char *recorded =
    "local cicada = require 'cicada'\n"
    "local seen = 0\n"
    "cicada.events.request:add(function(req)\n"
    "  if req.request_type == 'redis' then seen = seen + 1 end\n"
    "end)\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.n = (self.n or 0) + 1\n"
    "  cicada.record { type = 'redis', name = 'GET key', response_time = 7, length = 3 }\n"
    "  cicada.record { type = 'redis', name = 'SET key', response_time = 12, length = 0,\n"
    "                  error = 'READONLY replica' }\n"
    "  if seen ~= 2 * self.n then error('request events: ' .. seen .. ' for ' .. self.n) end\n"
    "end\n";

Test(events, record_counts_any_protocol_and_fires_the_request_event)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, recorded, "-H", host(), "-u", "1", "-r", "10", "-t", "1s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    long n = h_requests(r.json, "redis", "GET key");
    cr_expect_gt(n, 5);
    cr_expect_eq(h_failures(r.json, "redis", "GET key"), 0);
    cr_expect_eq(h_requests(r.json, "redis", "SET key"), n);
    cr_expect_eq(h_failures(r.json, "redis", "SET key"), n);
    cr_expect_not_null(h_error(r.json, "redis", "SET key", "READONLY replica"));
    json_t *e = h_entry(r.json, "redis", "GET key");
    cr_expect(h_num(e, "min_response_time") == 7 && h_num(e, "max_response_time") == 7,
              "response time recorded as given: %.3f..%.3f", h_num(e, "min_response_time"),
              h_num(e, "max_response_time"));
    cr_expect_eq(h_num(e, "avg_content_length"), 3);
    h_run_free(&r);
}

/* WebSocket rows fire the request event as HTTP requests do: the handshake, each message sent
 * and received, each round trip, and a refused handshake as a failure. Each user stops itself
 * after ten rounds, so that no call is cut short by the end of the run. */
static const char *websocket_rows =
    "local cicada = require 'cicada'\n"
    "local path = os.getenv('EVT_DIR') .. '/req-' .. tostring({}):gsub('[^%w]', '')\n"
    "cicada.events.request:add(function(req)\n"
    "  local f = assert(io.open(path, 'a'))\n"
    "  f:write(string.format('%s %s %s %s %s\\n', req.request_type, req.name,\n"
    "          req.exception and 'FAIL' or 'OK', tostring(req.response_length),\n"
    "          type(req.response_time)))\n"
    "  f:close()\n"
    "end)\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.n = (self.n or 0) + 1\n"
    "  if self.n > 10 then self:stop() end\n"
    "  local ws = assert(self:websocket('/ws/echo', { name = 'chat' }))\n"
    "  assert(ws:request('echo', 'hello', 5) == 'hello')\n"
    "  assert(ws:send('twelve bytes'))\n"
    "  assert(ws:receive(5) == 'twelve bytes')\n"
    "  assert(ws:ping('p', 5))\n"
    "  assert(ws:close(1000, 'done') == 1000)\n"
    "  local none, err, status = self:websocket('/ws/nothing', { name = 'missing' })\n"
    "  assert(none == nil and status == 404, tostring(err))\n"
    "end\n";

Test(events, websocket_rows_fire_the_request_event)
{
    h_run_t r;
    char *lines = run_listened(&r, websocket_rows, "4", "4s", 1); /* 1: the refused handshakes */
    long total = h_total_requests(r.json), chats = h_requests(r.json, "WS", "chat");
    cr_expect_eq(chats, 40, "ten rounds of four users");
    cr_expect_eq(h_count(lines, "\n"), total, "%ld listener calls for %ld rows",
                 h_count(lines, "\n"), total);
    cr_expect_eq(h_count(lines, "WS chat OK 0 number\n"), chats, "handshakes");
    cr_expect_eq(h_count(lines, "WS echo OK 5 number\n"), h_requests(r.json, "WS", "echo"),
                 "round trips, with the reply's length");
    cr_expect_eq(h_count(lines, "WSS chat OK 5 number\n"), chats, "round trips' messages sent");
    cr_expect_eq(h_count(lines, "WSS chat OK 12 number\n"), chats, "messages sent");
    cr_expect_eq(h_count(lines, "WSR chat OK 5 number\n"), chats, "round trips' replies");
    cr_expect_eq(h_count(lines, "WSR chat OK 12 number\n"), chats, "messages received");
    cr_expect_eq(h_count(lines, "WS missing FAIL 0 number\n"), h_failures(r.json, "WS", "missing"),
                 "refused handshakes, as failures");
    cr_expect_eq(h_failures(r.json, "WS", "missing"), chats);
    free(lines);
    h_run_free(&r);
}

/* Requests in flight when the users are stopped at once (the end of -t) are awaited within the
 * engine's grace and counted; their request event fires as well, though no user is resumed:
 * an HTTP request with its response, a WebSocket handshake (refused: /delay answers 200). Each
 * user sends one request at the start that is answered 1.5 s later, after the stop at 1 s. */
static const char *late =
    "local cicada = require 'cicada'\n"
    "local path = os.getenv('EVT_DIR') .. '/req-' .. tostring({}):gsub('[^%w]', '')\n"
    "cicada.events.request:add(function(req)\n"
    "  local f = assert(io.open(path, 'a'))\n"
    "  f:write(string.format('%s %s %s %s %s\\n', req.request_type, req.name,\n"
    "          req.exception and 'FAIL' or 'OK', tostring(req.response and req.response.status),\n"
    "          tostring(req.response_time >= 1400)))\n"
    "  f:close()\n"
    "end)\n"
    "local H = cicada.user('H', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function H:t() self.client:get('/delay/1500', { name = 'slow' }) end\n"
    "local W = cicada.user('W', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function W:t() self:websocket('/delay/1500', { name = 'slow-ws' }) end\n";

Test(events, request_fires_for_requests_answered_after_the_stop)
{
    h_run_t r;
    char *lines = run_listened(&r, late, "4", "1s", 1); /* 1: the refused handshakes */
    cr_expect_eq(h_in_flight_total(r.json), 0, "every answer came within the grace");
    cr_expect_eq(h_requests(r.json, "GET", "slow"), 2);
    cr_expect_eq(h_failures(r.json, "WS", "slow-ws"), 2);
    cr_expect_eq(h_count(lines, "\n"), h_total_requests(r.json), "%ld listener calls for %ld",
                 h_count(lines, "\n"), h_total_requests(r.json));
    cr_expect_eq(h_count(lines, "GET slow OK 200 true\n"), 2, "with the response: %s", lines);
    cr_expect_eq(h_count(lines, "WS slow-ws FAIL nil true\n"), 2, "the handshakes: %s", lines);
    free(lines);
    h_run_free(&r);
}
