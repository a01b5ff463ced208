/* The HTTP session seen from the scenario: catch_response, bodies, params, auth, default
 * headers, rename(), and response decoding, checked against what cicada-target echoes. */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(http_session, .fini = h_cleanup, .timeout = 60);

#define LOAD "-u", "2", "-r", "100", "-t", "1s", "--stop-timeout", "0", H_LOAD_FLAGS

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

/* Prelude of the checking scenarios: echo(self, method, opts) returns /echo's decoded answer
 * with header names lower-cased; check(cond, what, got) raises with what was seen. */
#define PRELUDE                                                                                    \
    "local cicada = require 'cicada'\n"                                                            \
    "local function echo(self, method, opts)\n"                                                    \
    "  local r = self.client:request(method, '/echo', opts)\n"                                     \
    "  if r.status ~= 200 then error('echo answered ' .. r.status) end\n"                          \
    "  local e = r:json()\n"                                                                       \
    "  local h = {}\n"                                                                             \
    "  for k, v in pairs(e.headers) do h[k:lower()] = v end\n"                                     \
    "  e.headers = h\n"                                                                            \
    "  return e\n"                                                                                 \
    "end\n"                                                                                        \
    "local function check(cond, what, got)\n"                                                      \
    "  if not cond then error(what .. ': got ' .. tostring(got), 2) end\n"                         \
    "end\n"

/* Runs a checking scenario: exit 0, no exception, and request name `name` made. */
static void expect_checks_pass(const char *lua, const char *method, const char *name)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, lua, "-H", host(), LOAD, NULL), 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    H_ASSERT_EXIT(&r, 0);
    if (h_requests(r.json, method, name) <= 0)
        h_run_dump(&r);
    cr_expect_gt(h_requests(r.json, method, name), 0, "no request named %s", name);
    h_run_free(&r);
}

static const char *catching =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('Catcher', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  local r = self.client:get('/status/404', { catch_response = true, name = 'caught404' })\n"
    "  r:success()\n"
    "  r = self.client:get('/status/200', { catch_response = true, name = 'caught200' })\n"
    "  r:failure('body lacks the answer')\n"
    "  self.client:get('/status/404', { catch_response = true, name = 'undecided404' })\n"
    "end\n";

Test(http_session, catch_response_flips_outcomes_both_ways)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, catching, "-H", host(), LOAD, NULL), 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    long n = h_requests(r.json, "GET", "caught404");
    cr_expect_gt(n, 5);
    cr_expect_eq(h_failures(r.json, "GET", "caught404"), 0, "success() left a 404 failed");
    cr_expect_eq(h_requests(r.json, "GET", "caught200"), n);
    cr_expect_eq(h_failures(r.json, "GET", "caught200"), n, "failure() left a 200 successful");
    json_t *e = h_error(r.json, "GET", "caught200", "body lacks the answer");
    cr_expect_not_null(e, "failure(msg) is not the error text");
    cr_expect_eq(h_error_occurrences(r.json, "caught200"), n);
    /* Undecided: counted as it stands (404, a failure) when the task ends. */
    cr_expect_eq(h_failures(r.json, "GET", "undecided404"),
                 h_requests(r.json, "GET", "undecided404"));
    cr_expect_gt(h_requests(r.json, "GET", "undecided404"), 0);
    h_run_free(&r);
}

Test(http_session, form_body_is_url_encoded)
{
    expect_checks_pass(
        PRELUDE
        "local U = cicada.user('F', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
        "function U:t()\n"
        "  local e = echo(self, 'POST', { form = { city = 'Saint Malo', q = 'a&b=c' },\n"
        "                                  name = 'form' })\n"
        "  check(e.method == 'POST', 'method', e.method)\n"
        "  check(e.headers['content-type'] == 'application/x-www-form-urlencoded',\n"
        "        'content-type', e.headers['content-type'])\n"
        "  check(e.body == 'city=Saint+Malo&q=a%26b%3Dc' or\n"
        "        e.body == 'q=a%26b%3Dc&city=Saint+Malo' or\n"
        "        e.body == 'city=Saint%20Malo&q=a%26b%3Dc' or\n"
        "        e.body == 'q=a%26b%3Dc&city=Saint%20Malo', 'form body', e.body)\n"
        "  check(tonumber(e.headers['content-length']) == #e.body, 'content-length',\n"
        "        e.headers['content-length'])\n"
        "end\n",
        "POST", "form");
}

Test(http_session, json_body_round_trips)
{
    expect_checks_pass(
        PRELUDE
        "local U = cicada.user('J', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
        "function U:t()\n"
        "  local sent = { name = 'lamp \"x\"', price = 12.5, tags = { 'a', 'b' } }\n"
        "  local e = echo(self, 'PUT', { json = sent, name = 'json' })\n"
        "  check(e.headers['content-type']:find('application/json', 1, true),\n"
        "        'content-type', e.headers['content-type'])\n"
        "  local got = cicada.json.decode(e.body)\n"
        "  check(got.name == sent.name and got.price == 12.5 and got.tags[2] == 'b',\n"
        "        'json body', e.body)\n"
        "end\n",
        "PUT", "json");
}

Test(http_session, params_are_an_encoded_query_string)
{
    expect_checks_pass(
        PRELUDE
        "local U = cicada.user('P', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
        "function U:t()\n"
        "  local e = echo(self, 'GET', { params = { q = 'a b&c', page = 2 },\n"
        "                                 name = 'params' })\n"
        "  local q = '&' .. e.query .. '&'\n"
        "  check(q:find('&page=2&', 1, true), 'page param', e.query)\n"
        "  check(q:find('&q=a+b%26c&', 1, true) or q:find('&q=a%20b%26c&', 1, true),\n"
        "        'q param', e.query)\n"
        "end\n",
        "GET", "params");
}

Test(http_session, auth_sends_basic_authorization)
{
    expect_checks_pass(
        PRELUDE
        "local U = cicada.user('A', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
        "function U:t()\n"
        "  local e = echo(self, 'GET', { auth = { 'user', 'pass' }, name = 'auth' })\n"
        "  check(e.headers['authorization'] == 'Basic dXNlcjpwYXNz', 'authorization',\n"
        "        e.headers['authorization'])\n"
        "end\n",
        "GET", "auth");
}

Test(http_session, class_and_session_default_headers_are_sent)
{
    expect_checks_pass(
        PRELUDE
        "local U = cicada.user('H', { wait_time = cicada.constant(0.1), tasks = { t = 1 },\n"
        "                             headers = { ['X-Class'] = 'c1' } })\n"
        "function U:on_start() self.client.headers['X-Session'] = 's1' end\n"
        "function U:t()\n"
        "  local e = echo(self, 'GET', { name = 'headers',\n"
        "                                headers = { ['X-Request'] = 'r1' } })\n"
        "  check(e.headers['x-class'] == 'c1', 'class header', e.headers['x-class'])\n"
        "  check(e.headers['x-session'] == 's1', 'session header', e.headers['x-session'])\n"
        "  check(e.headers['x-request'] == 'r1', 'request header', e.headers['x-request'])\n"
        "end\n",
        "GET", "headers");
}

static const char *renaming =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('R', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:rename('/item/[id]', function()\n"
    "    self.client:get('/status/200?id=1')\n"
    "    self.client:get('/status/200?id=2')\n"
    "  end)\n"
    "  self.client:get('/status/200?id=3')\n"
    "end\n";

Test(http_session, rename_groups_a_block_of_requests)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, renaming, "-H", host(), LOAD, NULL), 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long after = h_requests(r.json, "GET", "/status/200?id=3");
    cr_expect_gt(after, 5, "the name is restored after the block");
    cr_expect_eq(h_requests(r.json, "GET", "/item/[id]"), 2 * after);
    cr_expect_eq(h_requests(r.json, "GET", "/status/200?id=1"), -1);
    cr_expect_eq(h_requests(r.json, "GET", "/status/200?id=2"), -1);
    h_run_free(&r);
}

static const char *bad_json =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('D', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  local r = self.client:get('/hello', { name = 'not-json' })\n"
    "  local ok, err = pcall(r.json, r)\n"
    "  if ok then error('json() accepted Hello, World!') end\n"
    "  self.client:get('/hello', { name = 'caught' })\n"
    "  r:json()\n"
    "end\n";

Test(http_session, json_of_a_non_json_body_raises_a_clear_error)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, bad_json, "-H", host(), LOAD, NULL), 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    long n = h_requests(r.json, "GET", "caught");
    cr_expect_gt(n, 2, "pcall(r.json) did not return an error");
    cr_expect_eq(h_exception_count(r.json, "json"), n, "exceptions: %s", h_exceptions_text(r.json));
    cr_expect_eq(h_exception_count(r.json, "accepted"), 0);
    h_run_free(&r);
}

/* Responses with the very same headers (parsed once, then copied): each r.headers is a table
 * of its own, complete, and a change to one shows in no other. */
Test(http_session, identical_responses_have_headers_tables_of_their_own)
{
    expect_checks_pass(
        PRELUDE
        "local U = cicada.user('H', { wait_time = cicada.constant(0.01), tasks = { t = 1 } })\n"
        "local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end\n"
        "function U:t()\n"
        "  local a = self.client:get('/hello', { name = 'headers' })\n"
        "  local b = self.client:get('/hello', { name = 'headers' })\n"
        "  local ct, n = b.headers['content-type'], count(b.headers)\n"
        "  check(a.headers ~= b.headers, 'two tables', 'one table')\n"
        "  check(ct and ct:find('text/plain', 1, true), 'content-type', ct)\n"
        "  check(a.headers['content-length'] == '13', 'content-length', "
        "a.headers['content-length'])\n"
        "  a.headers['content-type'] = nil\n"
        "  a.headers['x-mine'] = '1'\n"
        "  local c = self.client:get('/hello', { name = 'headers' })\n"
        "  check(c.headers['content-type'] == ct, 'content-type after a change', "
        "c.headers['content-type'])\n"
        "  check(c.headers['x-mine'] == nil, 'a change in another response', c.headers['x-mine'])\n"
        "  check(count(c.headers) == n and n >= 2, 'names', count(c.headers) .. ' of ' .. n)\n"
        "  local j = self.client:get('/json', { name = 'headers' })\n"
        "  check(j.headers['content-type']:find('json', 1, true), 'json', "
        "j.headers['content-type'])\n"
        "  for _ = 1, 2 do\n"
        "    local k = self.client:get('/cookie/set?a=1&b=2', { name = 'headers' })\n"
        "    local sc = k.headers['set-cookie']\n"
        "    check(sc == 'a=1; Path=/, b=2; Path=/', 'repeated headers joined', sc)\n"
        "    check(count(k.headers) == 3, 'names with a repeated one', count(k.headers))\n"
        "  end\n"
        "end\n",
        "GET", "headers");
}

/* Session headers belong to one user: many users on one thread each see only their own. */
Test(http_session, session_headers_are_per_user)
{
    expect_checks_pass(
        PRELUDE
        "local n = 0\n"
        "local U = cicada.user('I', { wait_time = cicada.constant(0.01), tasks = { t = 1 } })\n"
        "function U:on_start()\n"
        "  n = n + 1\n"
        "  self.id = tostring(n) .. '-' .. tostring(math.random(1e9))\n"
        "  self.client.headers['X-User'] = self.id\n"
        "end\n"
        "function U:t()\n"
        "  local e = echo(self, 'GET', { name = 'mine' })\n"
        "  check(e.headers['x-user'] == self.id, 'X-User of ' .. self.id, e.headers['x-user'])\n"
        "end\n",
        "GET", "mine");
}

Test(http_session, methods_and_response_fields)
{
    expect_checks_pass(
        PRELUDE
        "local U = cicada.user('M', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
        "function U:t()\n"
        "  for _, m in ipairs { 'get', 'post', 'put', 'patch', 'delete', 'options' } do\n"
        "    local r = self.client[m](self.client, '/echo?x=1', { name = 'method' })\n"
        "    check(r.status == 200 and r.ok, m .. ' status', r.status)\n"
        "    check(r:json().method == m:upper(), m .. ' method', r:json().method)\n"
        "  end\n"
        "  local r = self.client:request('PURGE', '/echo', { name = 'method' })\n"
        "  check(r:json().method == 'PURGE', 'PURGE', r.body)\n"
        "  r = self.client:head('/hello', { name = 'method' })\n"
        "  check(r.status == 200 and r.body == '', 'HEAD body', r.body)\n"
        "  r = self.client:get('/bytes/5', { name = 'method' })\n"
        "  check(r.body == 'abcde', 'body', r.body)\n"
        "  check(r.headers['content-length'] == '5', 'headers', r.headers['content-length'])\n"
        "  check(r.url == self.host .. '/bytes/5', 'url', r.url)\n"
        "  check(r.name == 'method', 'name', r.name)\n"
        "  check(type(r.elapsed) == 'number' and r.elapsed > 0 and r.elapsed < 1, 'elapsed',\n"
        "        r.elapsed)\n"
        "  check(r.error == nil, 'error', r.error)\n"
        "end\n",
        "GET", "method");
}

/* r.ok means "a response with status < 400" with catch_response too (the documented example
 * `if r.ok and r:json().healthy then r:success() else r:failure(...) end` depends on it). */
Test(http_session, catch_response_keeps_ok_false_for_error_statuses)
{
    expect_checks_pass(
        PRELUDE
        "local U = cicada.user('K', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
        "function U:t()\n"
        "  local r = self.client:get('/status/503', { name = 'caught', catch_response = true })\n"
        "  r:success()\n"
        "  check(r.status == 503, 'status', r.status)\n"
        "  check(r.ok == false, 'r.ok of a caught 503', r.ok)\n"
        "  r = self.client:get('/status/200', { name = 'caught', catch_response = true })\n"
        "  r:success()\n"
        "  check(r.ok == true, 'r.ok of a caught 200', r.ok)\n"
        "end\n",
        "GET", "caught");
}
