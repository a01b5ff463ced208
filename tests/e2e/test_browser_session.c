/* What a user's HTTP session does like a browser: redirects followed and counted once, cookies
 * kept and sent back, compressed bodies decoded; and the console options that shape the
 * report (--reset-stats, --logfile). Checked against what cicada-target saw. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

TestSuite(browser_session, .fini = h_cleanup, .timeout = 60);

#define LOAD "-u", "2", "-r", "100", "-t", "1s", "--stop-timeout", "5", H_LOAD_FLAGS

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

/* Runs a scenario whose checks raise on a mismatch: exit 0 and no exception expected. */
static void run_checked(h_run_t *r, const char *lua)
{
    cr_assert_eq(h_cicada(r, NULL, lua, "-H", host(), LOAD, NULL), 0);
    H_ASSERT_JSON(r);
    if (r->status != 0 || json_array_size(json_object_get(r->json, "exceptions")) > 0)
        h_run_dump(r);
    H_EXPECT_NO_EXCEPTIONS(r);
    H_ASSERT_EXIT(r, 0);
}

Test(browser_session, redirects_are_followed_and_counted_once)
{
    h_run_t r;
    run_checked(
        &r, "local cicada = require 'cicada'\n"
            "local U = cicada.user('R', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
            "function U:t()\n"
            "  local r = self.client:get('/redirect/3')\n"
            "  assert(r.status == 200, 'final status ' .. r.status)\n"
            "  assert(#r.history == 3, 'history of ' .. #r.history)\n"
            "  for i, h in ipairs(r.history) do assert(h.status == 302, 'hop ' .. i) end\n"
            "  assert(r.url:match('/redirect/0$'), 'final url ' .. r.url)\n"
            "end\n");
    long n = h_requests(r.json, "GET", "/redirect/3");
    cr_assert_gt(n, 0);
    cr_expect_eq(h_total_requests(r.json), n, "a redirect chain is one request");
    /* The server saw every hop: 4 requests for each one counted. */
    cr_expect_eq(h_target_path_count(&target, "/redirect"), 4 * n);
    h_run_free(&r);
}

/* A response's derived fields (headers, url, error, history) are made on first use: they must
 * read the same when read late, after the user made other requests, and on the responses a
 * redirect chain went through. */
Test(browser_session, response_fields_read_late_and_after_redirects)
{
    h_run_t r;
    run_checked(
        &r, "local cicada = require 'cicada'\n"
            "local U = cicada.user('R', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
            "function U:t()\n"
            "  local plain = self.client:get('/bytes/5', { name = 'plain' })\n"
            "  local r = self.client:get('/redirect/2', { name = 'chain' })\n"
            "  local other = self.client:get('/hello', { name = 'other' })\n"
            "  assert(other.body == 'Hello, World!', 'other body ' .. other.body)\n"
            "  assert(plain.headers['content-length'] == '5', 'late headers')\n"
            "  assert(plain.url == self.host .. '/bytes/5', 'late url ' .. plain.url)\n"
            "  assert(plain.error == nil and plain.ok, 'plain error')\n"
            "  local h = plain.history\n"
            "  assert(type(h) == 'table' and #h == 0 and plain.history == h, 'plain history')\n"
            "  assert(other.history ~= h, 'one history per response')\n"
            "  assert(r.status == 200 and r.body == 'redirects done\\n', 'chain ' .. r.status)\n"
            "  assert(r.headers['content-length'] == '15', 'chain headers')\n"
            "  assert(r.url == self.host .. '/redirect/0', 'chain url ' .. r.url)\n"
            "  assert(#r.history == 2, 'chain history ' .. #r.history)\n"
            "  for i, hop in ipairs(r.history) do\n"
            "    assert(hop.status == 302 and hop.ok, 'hop status ' .. i)\n"
            "    assert(hop.headers.location == '/redirect/' .. (2 - i), 'hop location ' .. i)\n"
            "    assert(hop.url == self.host .. '/redirect/' .. (3 - i), 'hop url ' .. hop.url)\n"
            "    assert(hop.body == 'redirecting\\n' and hop.name == 'chain', 'hop body ' .. i)\n"
            "    assert(type(hop.history) == 'table' and #hop.history == 0, 'hop history ' .. i)\n"
            "    assert(hop.error == nil, 'hop error ' .. i)\n"
            "  end\n"
            "end\n");
    cr_expect_gt(h_requests(r.json, "GET", "chain"), 0);
    cr_expect_eq(h_failures(r.json, "GET", "chain"), 0);
    h_run_free(&r);
}

Test(browser_session, redirect_limits_and_opting_out)
{
    h_run_t r;
    cr_assert_eq(
        h_cicada(
            &r, NULL,
            "local cicada = require 'cicada'\n"
            "local U = cicada.user('R', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
            "function U:t()\n"
            "  self.client:get('/redirect/5', { max_redirects = 2, name = 'too-many' })\n"
            "  local r = self.client:get('/redirect/1', { allow_redirects = false, name = 'kept' "
            "})\n"
            "  if r.status ~= 302 or #r.history ~= 0 then error('followed: ' .. r.status) end\n"
            "  local p = self.client:post('/redirect/1', { body = 'x', name = 'post' })\n"
            "  if p.status ~= 200 or p.history[1].status ~= 302 then error('post: ' .. p.status) "
            "end\n"
            "end\n",
            "-H", host(), LOAD, NULL),
        0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    long n = h_requests(r.json, "GET", "too-many");
    cr_assert_gt(n, 0);
    cr_expect_eq(h_failures(r.json, "GET", "too-many"), n, "every over-long chain fails");
    cr_expect_not_null(h_error(r.json, "GET", "too-many", "too many redirects"));
    cr_expect_eq(h_failures(r.json, "GET", "kept"), 0, "a 302 not followed is no failure");
    cr_expect_gt(h_requests(r.json, "POST", "post"), 0, "counted under the first method");
    cr_expect_null(h_entry(r.json, "GET", "post"), "no GET row: the chain counts as its POST");
    H_ASSERT_EXIT(&r, 1);
    h_run_free(&r);
}

Test(browser_session, cookies_are_kept_sent_back_and_cleared)
{
    h_run_t r;
    run_checked(
        &r, "local cicada = require 'cicada'\n"
            "local U = cicada.user('C', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
            "function U:t()\n"
            "  self.client:get('/cookie/set?flavour=oat')\n"
            "  assert(self.client:cookies().flavour == 'oat', 'jar lacks the cookie')\n"
            "  local r = self.client:get('/cookie/check')\n"
            "  assert(r.status == 200 and r.body:find('flavour=oat', 1, true), 'not sent: ' .. "
            "r.body)\n"
            "  self.client:clear_cookies()\n"
            "  local r2 = self.client:get('/cookie/check', { catch_response = true })\n"
            "  assert(r2.status == 401, 'still sent after clear_cookies: ' .. r2.status)\n"
            "  r2:success()\n"
            "end\n");
    cr_expect_gt(h_requests(r.json, "GET", "/cookie/check"), 0);
    cr_expect_eq(h_total_failures(r.json), 0);
    h_run_free(&r);
}

Test(browser_session, cookies_belong_to_their_user)
{
    h_run_t r;
    /* Each user sets its own value and must read back only its own. */
    run_checked(
        &r,
        "local cicada = require 'cicada'\n"
        "local n = 0\n"
        "local U = cicada.user('C', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
        "function U:on_start() n = n + 1; self.me = tostring(n) .. tostring(math.random(1e6)) end\n"
        "function U:t()\n"
        "  self.client:get('/cookie/set?who=' .. self.me, { name = 'set' })\n"
        "  local r = self.client:get('/cookie/check', { name = 'check' })\n"
        "  assert(r.body:find('who=' .. self.me, 1, true), 'saw ' .. r.body .. ', not ' .. "
        "self.me)\n"
        "end\n");
    cr_expect_gt(h_requests(r.json, "GET", "check"), 0);
    h_run_free(&r);
}

Test(browser_session, compressed_bodies_are_decoded)
{
    h_run_t r;
    run_checked(
        &r, "local cicada = require 'cicada'\n"
            "local U = cicada.user('Z', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
            "function U:t()\n"
            "  for _, path in ipairs { '/gzip', '/deflate' } do\n"
            "    local r = self.client:get(path)\n"
            "    assert(r.headers['content-encoding'], path .. ' was not compressed')\n"
            "    assert(type(r:json()) == 'table', path .. ' body not decoded')\n"
            "  end\n"
            "end\n");
    cr_expect_gt(h_requests(r.json, "GET", "/gzip"), 0);
    cr_expect_gt(h_requests(r.json, "GET", "/deflate"), 0);
    h_run_free(&r);
}

Test(browser_session, reset_stats_forgets_the_ramp_up)
{
    h_run_t r;
    /* on_start makes one "ramp" request per user; --reset-stats wipes them once all users run. */
    cr_assert_eq(
        h_cicada(
            &r, NULL,
            "local cicada = require 'cicada'\n"
            "local U = cicada.user('S', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
            "function U:on_start() self.client:get('/hello', { name = 'ramp' }) end\n"
            "function U:t() self.client:get('/hello', { name = 'steady' }) end\n",
            "-H", host(), "-u", "4", "-r", "4", "-t", "3s", "--reset-stats", H_LOAD_FLAGS, NULL),
        0);
    H_ASSERT_JSON(&r);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(strstr(r.err, "Statistics reset") != NULL, "no reset in the log");
    cr_expect_lt(h_requests(r.json, "GET", "ramp"), 4, "the ramp-up requests were not reset");
    cr_expect_gt(h_requests(r.json, "GET", "steady"), 0);
    h_run_free(&r);
}

Test(browser_session, logfile_takes_the_log_lines)
{
    h_run_t r;
    const char *log = h_strf("%s/cicada.log", h_tmpdir());
    cr_assert_eq(
        h_cicada(
            &r, NULL,
            "local cicada = require 'cicada'\n"
            "local U = cicada.user('L', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
            "function U:t() self.client:get('/hello') end\n",
            "-H", host(), "-u", "1", "-r", "10", "-t", "1s", "--logfile", log, H_LOAD_FLAGS, NULL),
        0);
    H_ASSERT_EXIT(&r, 0);
    size_t len = 0;
    char *text = h_read_file(log, &len);
    cr_assert_not_null(text, "no log file at %s", log);
    cr_expect(strstr(text, "Ramping to 1 users") != NULL, "log file: %s", text);
    cr_expect(strstr(text, "Shutting down (exit code 0)") != NULL, "log file: %s", text);
    cr_expect(strstr(r.err, "Ramping to") == NULL, "log lines still on stderr");
    free(text);
    h_run_free(&r);
}
