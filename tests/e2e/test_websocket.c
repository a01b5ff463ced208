/* WebSocket in scenarios (cicada.websocket): echo round trips counted exactly, close codes
 * both ways, a server that drops the connection mid-message, refused handshakes, wss://
 * through nginx, the user's cookies on the upgrade, against cicada-target's /ws endpoints and
 * against Debian's python3-websockets. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(websocket, .fini = h_cleanup, .timeout = 90);

#define PYTHON "/usr/bin/python3"

/* Each user connects to PATH, makes ROUNDS round trips and stops. */
static const char echo_scenario[] =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { insecure = true, wait_time = cicada.constant(0),\n"
    "  tasks = { talk = 1 } })\n"
    "function U:talk()\n"
    "  local ws = assert(self:websocket(os.getenv('WS_PATH'), { name = 'chat' }))\n"
    "  for i = 1, tonumber(os.getenv('WS_ROUNDS')) do\n"
    "    local text = 'message ' .. i .. ' ' .. string.rep('x', i * 37)\n"
    "    local reply, kind = ws:request('echo', text, 5)\n"
    "    assert(reply == text and kind == 'text', 'bad echo: ' .. tostring(reply))\n"
    "    local bin = string.char(0, 255, i % 256) .. string.rep('\\1', i * 300)\n"
    "    assert(ws:send_binary(bin))\n"
    "    local back, bkind = ws:receive(5)\n"
    "    assert(back == bin and bkind == 'binary', 'bad binary echo')\n"
    "  end\n"
    "  assert(ws:ping('are you there', 5))\n"
    "  local code, reason = ws:close(1000, 'done')\n"
    "  assert(code == 1000, 'close answered with ' .. tostring(code))\n"
    "  self:stop()\n"
    "end\n";

static void run_echo(h_run_t *r, const char *host, const char *path, int users, int rounds)
{
    const char *env[] = {h_strf("WS_PATH=%s", path), h_strf("WS_ROUNDS=%d", rounds), NULL};
    h_run_opts_t o = {.timeout_s = 40, .env = env};
    const char *u = h_strf("%d", users);
    cr_assert_eq(h_cicada(r, &o, echo_scenario, "-H", host, "-u", u, "-r", u, "-t", "4s",
                          "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(r, 0);
    H_ASSERT_JSON(r);
    H_EXPECT_NO_EXCEPTIONS(r);
    cr_expect_eq(h_total_failures(r->json), 0);
    long msgs = (long)users * rounds * 2;
    cr_expect_eq(h_requests(r->json, "WS", "chat"), users, "one handshake per user");
    cr_expect_eq(h_requests(r->json, "WS", "echo"), (long)users * rounds, "round trips");
    cr_expect_eq(h_requests(r->json, "WSS", "chat"), msgs, "messages sent");
    cr_expect_eq(h_requests(r->json, "WSR", "chat"), msgs, "messages received");
    /* Bytes: each round sends and receives 9 + digits + 37 i text bytes and 3 + 300 i binary. */
    double bytes = 0;
    for (int i = 1; i <= rounds; i++)
        bytes += (double)(strlen(h_strf("message %d ", i)) + 37 * i + 3 + 300 * i);
    bytes *= users;
    double sent = h_num(h_entry(r->json, "WSS", "chat"), "avg_content_length") * (double)msgs;
    double received = h_num(h_entry(r->json, "WSR", "chat"), "avg_content_length") * (double)msgs;
    cr_expect(fabs(sent - bytes) < 0.5, "bytes sent: %.1f, expected %.0f", sent, bytes);
    cr_expect(fabs(received - bytes) < 0.5, "bytes received: %.1f, expected %.0f", received, bytes);
}

static long target_ws_messages(const h_target_t *t)
{
    json_t *s = h_target_stats(t);
    cr_assert_not_null(s);
    long n = (long)json_integer_value(json_object_get(s, "ws_messages"));
    json_decref(s);
    return n;
}

Test(websocket, target_echo_round_trips_are_counted_exactly)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 2), 0, "cicada-target did not start");
    run_echo(&r, h_strf("http://%s:%d", H_HOST, t.port), "/ws/echo", 10, 40);
    cr_expect_eq(target_ws_messages(&t), 10 * 40 * 2, "the target received every message");
    cr_expect_eq(h_target_path_count(&t, "/ws"), 10, "one upgrade request per user");
    h_run_free(&r);
}

/* wss:// through nginx's TLS port (which also offers HTTP/2 by ALPN: the upgrade must go over
 * HTTP/1.1), proxied to the target's /ws/echo with the upgrade headers. */
Test(websocket, wss_through_nginx_round_trips_are_counted_exactly)
{
    h_target_t t;
    h_nginx_t n;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 2), 0, "cicada-target did not start");
    h_nginx_opts_t o = {.http2 = true,
                        .locations = h_strf("    location /ws/ {\n"
                                            "      proxy_pass http://%s:%d;\n"
                                            "      proxy_http_version 1.1;\n"
                                            "      proxy_set_header Upgrade $http_upgrade;\n"
                                            "      proxy_set_header Connection \"upgrade\";\n"
                                            "    }\n",
                                            H_HOST, t.port)};
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx with TLS did not start");
    run_echo(&r, h_strf("https://%s:%d", H_HOST, n.tls_port), "/ws/echo", 4, 30);
    cr_expect_eq(target_ws_messages(&t), 4 * 30 * 2, "the target received every message");
    cr_expect_eq(h_target_path_count(&t, "/ws"), 4, "one upgrade request per user");
    cr_expect_eq(h_nginx_count(&n, "tls.log", "/ws/echo", 4), 4);
    char *log = h_read_file(h_strf("%s/tls.log", n.dir), NULL);
    cr_assert_not_null(log);
    cr_expect_eq(h_count(log, " 101 /ws/echo HTTP/1.1\n"), 4, "upgrades over TLS:\n%s", log);
    free(log);
    h_run_free(&r);
}

/* Close codes both ways, the subprotocol refused by a server that has none, a refused
 * handshake, a drop in the middle of a message; each check records a CHECK row when it held. */
static const char close_scenario[] =
    "local cicada = require 'cicada'\n"
    "local function ok(name) cicada.record{ type = 'CHECK', name = name, response_time = 0 } end\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  local ws = assert(self:websocket('/ws/echo'))\n"
    "  assert(ws:send('close 4001 going away'))\n"
    "  local m, err, code, reason = ws:receive(5)\n"
    "  assert(m == nil and err == 'closed', tostring(err))\n"
    "  assert(code == 4001 and reason == 'going away', tostring(code) .. tostring(reason))\n"
    "  assert(not ws:is_open())\n"
    "  ok('server close')\n"
    "  ws = assert(self:websocket('/ws/echo'))\n"
    "  local c, why = ws:close(4000, 'bye')\n"
    "  assert(c == 4000 and why == 'bye', tostring(c))\n"
    "  ok('client close')\n"
    "  ws = assert(self:websocket('/ws/echo'))\n"
    "  assert(ws:receive(0.2) == nil)\n"
    "  local _, terr = ws:receive(0.1)\n"
    "  assert(terr == 'timeout', tostring(terr))\n"
    "  assert(ws:is_open(), 'a timeout keeps the connection')\n"
    "  assert(ws:request('rt', 'still here', 5) == 'still here')\n"
    "  ok('timeout')\n"
    "  local none, herr, status = self:websocket('/ws/nothing', { name = 'missing' })\n"
    "  assert(none == nil and status == 404, tostring(herr))\n"
    "  none, herr, status = self:websocket('/hello', { name = 'plain' })\n"
    "  assert(none == nil and status == 200, tostring(herr))\n"
    "  ok('refused')\n"
    "  ws = assert(self:websocket('/ws/drop', { name = 'drop' }))\n"
    "  assert(ws:send('cut me off'))\n"
    "  local d, derr = ws:receive(5)\n"
    "  assert(d == nil and derr:find('in the middle of a message', 1, true), tostring(derr))\n"
    "  ok('drop')\n"
    "  self:stop()\n"
    "end\n";

Test(websocket, close_codes_timeouts_refusals_and_a_drop)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, close_scenario, "-H", h_strf("http://%s:%d", H_HOST, t.port),
                          "-u", "2", "-r", "2", "-t", "3s", "--stop-timeout", "5", H_LOAD_FLAGS,
                          NULL),
                 0);
    H_ASSERT_EXIT(&r, 1); /* a run with failures */
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    const char *checks[] = {"server close", "client close", "timeout", "refused", "drop"};
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
        cr_expect_eq(h_requests(r.json, "CHECK", checks[i]), 2, "%s", checks[i]);
    cr_expect_eq(h_failures(r.json, "WS", "missing"), 2);
    cr_expect_not_null(
        h_error(r.json, "WS", "missing", "bad handshake: status 404 Not Found (expected 101)"));
    cr_expect_eq(h_failures(r.json, "WS", "plain"), 2);
    cr_expect_not_null(h_error(r.json, "WS", "plain", "bad handshake: status 200"));
    cr_expect_eq(h_failures(r.json, "WSR", "drop"), 2, "a drop is a failed receive");
    json_t *e = h_error(r.json, "WSR", "drop",
                        "the server closed the connection in the middle of a message");
    cr_expect_not_null(e);
    if (e)
        cr_expect(h_contains(json_string_value(json_object_get(e, "error")), "(10 of 110 bytes)"),
                  "%s", json_string_value(json_object_get(e, "error")));
    cr_expect_eq(h_failures(r.json, "WS", "rt"), 0, "a timed-out receive is no failure");
    cr_expect_eq(h_total_failures(r.json), 6, "only the refusals and the drops failed");
    h_run_free(&r);
}

/* ---- Debian's python3-websockets ----------------------------------------------------------- */

/* An echo server on its port: text "close CODE REASON" closes with that code, "drop" writes
 * the start of a 256-byte frame and aborts the connection; it offers the subprotocol "chat"
 * and counts the messages it received into a file. */
static const char py_server[] =
    "import asyncio, sys, websockets\n"
    "port, count_path = int(sys.argv[1]), sys.argv[2]\n"
    "count = 0\n"
    "async def echo(ws, path=None):\n"
    "    global count\n"
    "    async for msg in ws:\n"
    "        count += 1\n"
    "        with open(count_path, 'w') as f:\n"
    "            f.write(str(count))\n"
    "        if isinstance(msg, str) and msg.startswith('close '):\n"
    "            _, code, reason = msg.split(' ', 2)\n"
    "            await ws.close(int(code), reason)\n"
    "        elif msg == 'drop':\n"
    "            ws.transport.write(b'\\x81\\x7e\\x01\\x00' + b'x' * 10)\n"
    "            ws.transport.abort()\n"
    "        else:\n"
    "            await ws.send(msg)\n"
    "async def main():\n"
    "    async with websockets.serve(echo, '127.0.0.1', port, subprotocols=['chat'],\n"
    "                                max_size=2**20, compression=None):\n"
    "        await asyncio.Future()\n"
    "asyncio.run(main())\n";

typedef struct {
    int port;
    const char *count_path;
} py_ws_t;

static void py_start(py_ws_t *p)
{
    const char *dir = h_tmpdir();
    cr_assert_not_null(dir);
    const char *script = h_strf("%s/echo_server.py", dir);
    cr_assert_eq(h_write_file(script, py_server, strlen(py_server)), 0);
    p->port = h_free_port();
    p->count_path = h_strf("%s/count", dir);
    char *argv[] = {PYTHON, (char *)script, (char *)h_strf("%d", p->port), (char *)p->count_path,
                    NULL};
    cr_assert_gt(h_spawn(argv, NULL, h_strf("%s/server.err", dir)), 0);
    cr_assert_eq(h_wait_port(p->port, 10), 0, "the python3-websockets server did not start");
}

static long py_count(const py_ws_t *p, long want)
{
    long n = -1;
    for (int i = 0; i < 20 && n != want; i++) {
        char *s = h_read_file(p->count_path, NULL);
        n = s ? atol(s) : 0;
        free(s);
        if (n != want)
            h_sleep(0.05);
    }
    return n;
}

Test(websocket, python_websockets_echo_round_trips_are_counted_exactly)
{
    py_ws_t p;
    h_run_t r;
    py_start(&p);
    run_echo(&r, h_strf("http://%s:%d", H_HOST, p.port), "/", 5, 20);
    cr_expect_eq(py_count(&p, 5 * 20 * 2), 5 * 20 * 2, "the server received every message");
    h_run_free(&r);
}

static const char py_scenario[] =
    "local cicada = require 'cicada'\n"
    "local function ok(name) cicada.record{ type = 'CHECK', name = name, response_time = 0 } end\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  local ws = assert(self:websocket('/', { protocols = { 'superchat', 'chat' },\n"
    "                                          headers = { ['X-Test'] = 'yes' } }))\n"
    "  assert(ws:protocol() == 'chat', 'protocol ' .. ws:protocol())\n"
    "  assert(ws:send('close 4002 server says bye'))\n"
    "  local m, err, code, reason = ws:receive(5)\n"
    "  assert(err == 'closed' and code == 4002 and reason == 'server says bye', tostring(err))\n"
    "  ok('server close')\n"
    "  ws = assert(self:websocket('/'))\n"
    "  assert(ws:protocol() == '')\n"
    "  local c = ws:close(1000, 'done')\n"
    "  assert(c == 1000, tostring(c))\n"
    "  ok('client close')\n"
    "  ws = assert(self:websocket('/', { name = 'drop' }))\n"
    "  local d, derr = ws:request('dropped', 'drop', 5)\n"
    "  assert(d == nil and derr:find('in the middle of a message', 1, true), tostring(derr))\n"
    "  ok('drop')\n"
    "  self:stop()\n"
    "end\n";

Test(websocket, python_websockets_close_codes_subprotocols_and_a_drop)
{
    py_ws_t p;
    h_run_t r;
    py_start(&p);
    cr_assert_eq(h_cicada(&r, NULL, py_scenario, "-H", h_strf("http://%s:%d", H_HOST, p.port), "-u",
                          "2", "-r", "2", "-t", "3s", "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1); /* a run with failures */
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    const char *checks[] = {"server close", "client close", "drop"};
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
        cr_expect_eq(h_requests(r.json, "CHECK", checks[i]), 2, "%s", checks[i]);
    cr_expect_eq(h_failures(r.json, "WS", "dropped"), 2, "the round trip failed");
    cr_expect_eq(h_failures(r.json, "WSR", "drop"), 2, "and so did its receive");
    cr_expect_not_null(
        h_error(r.json, "WSR", "drop",
                "the server closed the connection in the middle of a message (10 of 256 bytes)"));
    cr_expect_eq(h_total_failures(r.json), 4);
    h_run_free(&r);
}

/* ---- Cookies on the upgrade ---------------------------------------------------------------- */

/* /login is plain HTTP and sets a cookie; an upgrade is logged with its Cookie header, its 101
 * sets another cookie, and the text "cookie" is answered with the upgrade's Cookie header. */
static const char py_cookie_server[] =
    "import asyncio, http, sys, websockets\n"
    "port, log_path = int(sys.argv[1]), sys.argv[2]\n"
    "def log(line):\n"
    "    with open(log_path, 'a') as f:\n"
    "        f.write(line + '\\n')\n"
    "async def plain(path, headers):\n"
    "    if path == '/login':\n"
    "        return (http.HTTPStatus.OK, [('Set-Cookie', 'login=alice; Path=/'),\n"
    "                                     ('Connection', 'close')], b'in')\n"
    "    log('upgrade %s cookie=%s|' % (path, headers.get('Cookie', '')))\n"
    "def extra(path, headers):\n"
    "    return [('Set-Cookie', 'ws_seen=yes; Path=/')]\n"
    "async def handler(ws, path=None):\n"
    "    async for msg in ws:\n"
    "        await ws.send(ws.request_headers.get('Cookie', '') if msg == 'cookie' else msg)\n"
    "async def main():\n"
    "    async with websockets.serve(handler, '127.0.0.1', port, process_request=plain,\n"
    "                                extra_headers=extra, compression=None):\n"
    "        await asyncio.Future()\n"
    "asyncio.run(main())\n";

/* The user's cookie jar goes with the upgrade (set by an HTTP response first, then by the
 * 101 itself), as a browser sends it; a Cookie header of the scenario's own wins. */
static const char cookie_scenario[] =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  local ws = assert(self:websocket('/chat', { name = 'bare' }))\n"
    "  local c = ws:request('cookie', 'cookie', 5)\n"
    "  assert(c == 'ws_seen=yes' or c == '', 'before the login: ' .. c)\n"
    "  self.client:clear_cookies()\n"
    "  assert(self.client:get('/login').body == 'in')\n"
    "  ws = assert(self:websocket('/chat', { name = 'logged in' }))\n"
    "  c = ws:request('cookie', 'cookie', 5)\n"
    "  assert(c == 'login=alice', 'after the login: ' .. c)\n"
    "  assert(self.client:cookies().ws_seen == 'yes', 'the 101 set no cookie')\n"
    "  ws = assert(self:websocket('/chat', { name = 'both' }))\n"
    "  c = ws:request('cookie', 'cookie', 5)\n"
    "  assert(c == 'login=alice; ws_seen=yes', 'after the upgrade: ' .. c)\n"
    "  ws = assert(self:websocket('/chat', { name = 'own', headers = { cookie = 'mine=1' } }))\n"
    "  c = ws:request('cookie', 'cookie', 5)\n"
    "  assert(c == 'mine=1', 'with its own Cookie: ' .. c)\n"
    "  self:stop()\n"
    "end\n";

Test(websocket, upgrade_sends_and_stores_the_users_cookies)
{
    const char *dir = h_tmpdir();
    cr_assert_not_null(dir);
    const char *script = h_strf("%s/cookie_server.py", dir), *log = h_strf("%s/upgrades", dir);
    cr_assert_eq(h_write_file(script, py_cookie_server, strlen(py_cookie_server)), 0);
    int port = h_free_port();
    char *argv[] = {PYTHON, (char *)script, (char *)h_strf("%d", port), (char *)log, NULL};
    cr_assert_gt(h_spawn(argv, NULL, h_strf("%s/server.err", dir)), 0);
    cr_assert_eq(h_wait_port(port, 10), 0, "the python3-websockets server did not start");
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, cookie_scenario, "-H", h_strf("http://%s:%d", H_HOST, port),
                          "-u", "3", "-r", "100", "-t", "3s", "--stop-timeout", "5", H_LOAD_FLAGS,
                          NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect_eq(h_total_failures(r.json), 0);
    cr_expect_eq(h_requests(r.json, "WS", "both"), 3);
    char *seen = h_read_file(log, NULL);
    cr_assert_not_null(seen);
    cr_expect_eq(h_count(seen, "upgrade /chat cookie=|"), 3, "no cookie before any:\n%s", seen);
    cr_expect_eq(h_count(seen, "upgrade /chat cookie=login=alice|"), 3, "%s", seen);
    cr_expect_eq(h_count(seen, "upgrade /chat cookie=login=alice; ws_seen=yes|"), 3, "%s", seen);
    cr_expect_eq(h_count(seen, "upgrade /chat cookie=mine=1|"), 3, "%s", seen);
    free(seen);
    h_run_free(&r);
}
