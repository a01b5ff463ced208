/* TCP and TLS sockets in scenarios (cicada.tcp): the Redis example against redis-server, and
 * each way of receiving, timeouts, refusals, TLS verification and closing against servers
 * made here. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

TestSuite(socket, .fini = h_cleanup, .timeout = 60);

#define OPENSSL_BIN "/usr/bin/openssl"

/* ---- The Redis example ------------------------------------------------------------------- */

static void expect_redis_row(const h_run_t *r, const h_redis_t *redis, const char *cmd,
                             const char *lower)
{
    long n = h_requests(r->json, "redis", cmd);
    cr_expect_gt(n, 0, "no %s was recorded", cmd);
    cr_expect_eq(h_failures(r->json, "redis", cmd), 0, "%s failed", cmd);
    cr_expect_eq(h_redis_calls(redis, lower, n), n, "redis did not count as many %s", cmd);
}

Test(socket, redis_example_counts_match_the_server)
{
    h_redis_t redis;
    h_run_t r;
    cr_assert_eq(h_redis_start(&redis), 0, "redis-server did not start");
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", SOURCE_DIR "/examples/redis.lua", "-H",
                          h_strf("redis://%s:%d", H_HOST, redis.port), "-u", "5", "-r", "10", "-t",
                          "3s", "--stop-timeout", "5", "--headless", "--report-json", "-", NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_eq(json_array_size(json_object_get(r.json, "exceptions")), 0);
    expect_redis_row(&r, &redis, "PING", "ping");
    expect_redis_row(&r, &redis, "SET", "set");
    expect_redis_row(&r, &redis, "GET", "get");
    cr_expect_eq(h_requests(r.json, "redis", "SET"), h_requests(r.json, "redis", "GET"),
                 "each SET is followed by its GET");
    h_run_free(&r);
}

/* ---- A line server: one process, poll(), answers one command per line --------------------- */

#define MAX_CLIENTS 16

typedef struct {
    int fd;
    size_t len;
    char buf[256];
} client_t;

static void send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Two writes with a pause between, so that the client sees them in two reads. */
static void send_split(int fd, const char *first, const char *second)
{
    send_str(fd, first);
    usleep(30 * 1000);
    send_str(fd, second);
}

/* n bytes of "abc...zabc...", in three writes. */
static void send_pattern(int fd, size_t n)
{
    char *p = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + i % 26);
    size_t third = n / 3;
    send_all(fd, p, third);
    usleep(20 * 1000);
    send_all(fd, p + third, third);
    usleep(20 * 1000);
    send_all(fd, p + 2 * third, n - 2 * third);
    free(p);
}

/* Answers one command; false to close the connection afterwards. */
static bool serve_command(int fd, const char *cmd, int clients)
{
    if (strncmp(cmd, "size ", 5) == 0)
        send_pattern(fd, (size_t)atol(cmd + 5));
    else if (strcmp(cmd, "line") == 0)
        send_split(fd, "first li", "ne\r\nsecond\n");
    else if (strcmp(cmd, "until") == 0)
        send_split(fd, "alpha<END>beta<E", "ND>");
    else if (strcmp(cmd, "all") == 0)
        send_split(fd, "every", "thing here");
    else if (strcmp(cmd, "count") == 0)
        send_str(fd, h_strf("%d\n", clients));
    else if (strncmp(cmd, "echo ", 5) == 0)
        send_str(fd, h_strf("%s\n", cmd + 5));
    /* "silent" and anything else: no answer */
    return strcmp(cmd, "all") != 0;
}

/* Reads what arrived and answers each complete line; false when the client is gone. */
static bool serve_client(client_t *c, int clients)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    char *nl;
    while ((nl = strchr(c->buf, '\n'))) {
        *nl = '\0';
        if (nl > c->buf && nl[-1] == '\r')
            nl[-1] = '\0';
        if (!serve_command(c->fd, c->buf, clients))
            return false;
        c->len -= (size_t)(nl + 1 - c->buf);
        memmove(c->buf, nl + 1, c->len + 1);
    }
    return c->len < sizeof c->buf - 1;
}

/* Clients first, then new connections: a close is seen before a later client's command. */
static void line_serve(int lfd)
{
    client_t cl[MAX_CLIENTS];
    int n = 0;
    for (;;) {
        struct pollfd p[MAX_CLIENTS + 1];
        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
        p[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
        if (poll(p, (nfds_t)n + 1, -1) < 0)
            continue;
        int kept = 0;
        for (int i = 0; i < n; i++) {
            if (p[i].revents && !serve_client(&cl[i], n))
                close(cl[i].fd);
            else
                cl[kept++] = cl[i];
        }
        int fd = p[n].revents ? accept(lfd, NULL, NULL) : -1;
        n = kept;
        if (fd >= 0 && n < MAX_CLIENTS)
            cl[n++] = (client_t){.fd = fd};
        else if (fd >= 0)
            close(fd);
    }
}

static int listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

/* Starts the line server in a child process; returns its port. */
static int line_server_start(void)
{
    int port = -1, lfd = listen_loopback(&port);
    cr_assert_geq(lfd, 0, "cannot listen on loopback");
    pid_t pid = h_fork();
    if (pid == 0) {
        line_serve(lfd);
        _exit(0);
    }
    close(lfd);
    cr_assert_gt(pid, 0, "cannot fork the line server");
    return port;
}

/* ---- Scenarios against it ----------------------------------------------------------------- */

/* Every scenario: one user whose task runs checks; each check is a request of type "check"
 * that fails with the reason when the socket did not behave. -H tcp://127.0.0.1:PORT. */
#define PRELUDE                                                                                    \
    "local cicada = require 'cicada'\n"                                                            \
    "local function check(name, ok, why)\n"                                                        \
    "  cicada.record { type = 'check', name = name, response_time = 0,\n"                          \
    "                  error = (not ok) and tostring(why) or nil }\n"                              \
    "end\n"                                                                                        \
    "local function open(self, opts)\n"                                                            \
    "  local host, port = self.host:match('^tcp://([^:]+):(%d+)$')\n"                              \
    "  local s = cicada.tcp()\n"                                                                   \
    "  local ok, err = s:connect(host, tonumber(port), opts)\n"                                    \
    "  if not ok then error('connect failed: ' .. tostring(err)) end\n"                            \
    "  return s\n"                                                                                 \
    "end\n"                                                                                        \
    "local function ask(s, command, ...)\n"                                                        \
    "  assert(s:send(command .. '\\r\\n'))\n"                                                      \
    "  return s:receive(...)\n"                                                                    \
    "end\n"                                                                                        \
    "local U = cicada.user('Checker', { wait_time = cicada.constant(0.05), tasks = { run = 1 } "   \
    "})\n"

static const char *exception_text(json_t *doc)
{
    json_t *ex = json_array_get(json_object_get(doc, "exceptions"), 0);
    const char *m = json_string_value(json_object_get(ex, "message"));
    return m ? m : "(none)";
}

/* The check ran and never failed. */
static void expect_check(const h_run_t *r, const char *name)
{
    long n = h_requests(r->json, "check", name);
    json_t *e = h_error(r->json, "check", name, NULL);
    const char *why = json_string_value(json_object_get(e, "error"));
    cr_expect_gt(n, 0, "check %s never ran", name);
    cr_expect_eq(h_failures(r->json, "check", name), 0, "check %s failed: %s", name,
                 why ? why : "");
}

/* Runs body (Lua adding U:run and more) for one user against port; no exceptions allowed. */
static void run_checks(h_run_t *r, int port, const char *body, const char *time)
{
    cr_assert_eq(h_cicada(r, NULL, h_strf("%s%s", PRELUDE, body), "-H",
                          h_strf("tcp://%s:%d", H_HOST, port), "-u", "1", "-r", "10", "-t", time,
                          "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_JSON(r);
    cr_expect_eq(json_array_size(json_object_get(r->json, "exceptions")), 0, "exception: %s",
                 exception_text(r->json));
}

Test(socket, receive_by_size_across_reads_and_large)
{
    int port = line_server_start();
    h_run_t r;
    run_checks(&r, port,
               "local abc = string.rep('abcdefghijklmnopqrstuvwxyz', 40000)\n"
               "local function round(self) -- twice per task: the buffer is reused\n"
               "  local s = self.s or open(self)\n"
               "  self.s = s\n"
               "  local d, err = ask(s, 'size 10', 4)\n"
               "  local rest = s:receive(6)\n"
               "  check('size', d == 'abcd' and rest == 'efghij', tostring(d) .. tostring(rest) "
               ".. tostring(err))\n"
               "  check('zero', s:receive(0) == '', 'receive(0)')\n"
               "  d, err = ask(s, 'size 1000000', 1000000)\n"
               "  check('large', d == abc:sub(1, 1000000), 'got ' .. (d and #d or tostring(err)))\n"
               "end\n"
               "function U:run() round(self) round(self) end\n",
               "2s");
    H_ASSERT_EXIT(&r, 0);
    expect_check(&r, "size");
    expect_check(&r, "zero");
    expect_check(&r, "large");
    h_run_free(&r);
}

Test(socket, receive_lines_and_until_a_delimiter)
{
    int port = line_server_start();
    h_run_t r;
    run_checks(&r, port,
               "local function round(self) -- twice per task: the buffer is reused\n"
               "  local s = self.s or open(self)\n"
               "  self.s = s\n"
               "  local a = ask(s, 'line')\n"
               "  local b = s:receive('*l')\n"
               "  check('line', a == 'first line' and b == 'second', tostring(a) .. '|' .. "
               "tostring(b))\n"
               "  assert(s:send('until\\n'))\n"
               "  local c, e1 = s:receiveuntil('<END>')\n"
               "  local d, e2 = s:receiveuntil('<END>')\n"
               "  check('until', c == 'alpha' and d == 'beta', tostring(c) .. '|' .. tostring(d) "
               ".. tostring(e1) .. tostring(e2))\n"
               "end\n"
               "function U:run() round(self) round(self) end\n",
               "2s");
    H_ASSERT_EXIT(&r, 0);
    expect_check(&r, "line");
    expect_check(&r, "until");
    h_run_free(&r);
}

Test(socket, receive_all_until_the_peer_closes)
{
    int port = line_server_start();
    h_run_t r;
    run_checks(&r, port,
               "function U:run()\n"
               "  local s = open(self)\n"
               "  local d, err = ask(s, 'all', '*a')\n"
               "  check('all', d == 'everything here', tostring(d) .. tostring(err))\n"
               "  local n, e = s:send('echo x\\n')\n"
               "  check('closed after all', n == nil and e == 'closed', tostring(e))\n"
               "  s = open(self)\n"
               "  local p, e2, partial = ask(s, 'all', 100)\n"
               "  check('closed with partial', p == nil and e2 == 'closed' and\n"
               "        partial == 'everything here', tostring(e2) .. tostring(partial))\n"
               "end\n",
               "2s");
    H_ASSERT_EXIT(&r, 0);
    expect_check(&r, "all");
    expect_check(&r, "closed after all");
    expect_check(&r, "closed with partial");
    h_run_free(&r);
}

Test(socket, receive_timeout_returns_in_time_and_keeps_the_socket)
{
    int port = line_server_start();
    h_run_t r;
    run_checks(
        &r, port,
        "function U:run()\n"
        "  local s = self.s or open(self)\n"
        "  self.s = s\n"
        "  s:settimeout(0.2)\n"
        "  local t0 = cicada.time()\n"
        "  local d, err, partial = ask(s, 'silent')\n"
        "  local took = cicada.time() - t0\n"
        "  check('timeout', d == nil and err == 'timeout' and partial == '', tostring(err))\n"
        "  check('in time', took >= 0.19 and took < 0.6, 'took ' .. took)\n"
        "  d, err, partial = ask(s, 'size 5', 10)\n"
        "  check('timeout partial', d == nil and err == 'timeout' and partial == 'abcde',\n"
        "        tostring(err) .. tostring(partial))\n"
        "  local e = ask(s, 'echo still open')\n"
        "  check('usable after timeout', e == 'still open', tostring(e))\n"
        "end\n",
        "2s");
    H_ASSERT_EXIT(&r, 0);
    expect_check(&r, "timeout");
    expect_check(&r, "in time");
    expect_check(&r, "timeout partial");
    expect_check(&r, "usable after timeout");
    h_run_free(&r);
}

Test(socket, refused_connect_and_closed_socket_return_errors)
{
    int line_port = line_server_start(), free_port = h_free_port();
    h_run_t r;
    run_checks(&r, free_port,
               h_strf("function U:run()\n"
                      "  local s = cicada.tcp()\n"
                      "  local host, port = self.host:match('^tcp://([^:]+):(%%d+)$')\n"
                      "  local ok, err = s:connect(host, tonumber(port))\n"
                      "  check('refused', ok == nil and err == 'connection refused', "
                      "tostring(err))\n"
                      "  local n, e = s:send('x')\n"
                      "  check('send when closed', n == nil and e == 'closed', tostring(e))\n"
                      "  local d, e2 = s:receive()\n"
                      "  check('receive when closed', d == nil and e2 == 'closed', tostring(e2))\n"
                      "  ok, err = s:connect('localhost', %d)\n"
                      "  check('by name', ok and ask(s, 'echo hi') == 'hi', tostring(err))\n"
                      "  check('close', s:close() == true, 'close of an open socket')\n"
                      "end\n",
                      line_port),
               "2s");
    H_ASSERT_EXIT(&r, 0);
    expect_check(&r, "refused");
    expect_check(&r, "send when closed");
    expect_check(&r, "receive when closed");
    expect_check(&r, "by name");
    expect_check(&r, "close");
    h_run_free(&r);
}

/* openssl s_server -rev (each line sent back reversed) with a fresh self-signed certificate. */
static int tls_server_start(void)
{
    const char *dir = h_tmpdir(), *cert = h_strf("%s/cert.pem", dir);
    const char *key = h_strf("%s/key.pem", dir);
    char *req[] = {OPENSSL_BIN,
                   "req",
                   "-x509",
                   "-newkey",
                   "ec",
                   "-pkeyopt",
                   "ec_paramgen_curve:prime256v1",
                   "-nodes",
                   "-days",
                   "1",
                   "-subj",
                   "/CN=localhost",
                   "-keyout",
                   (char *)key,
                   "-out",
                   (char *)cert,
                   NULL};
    h_run_opts_t o = {.timeout_s = 20};
    h_run_t r;
    cr_assert_eq(h_exec(&r, &o, req), 0);
    cr_assert(r.exited && r.status == 0, "openssl req failed: %s", r.err);
    h_run_free(&r);
    int port = h_free_port();
    char *srv[] = {OPENSSL_BIN, "s_server",   "-accept", (char *)h_strf("%s:%d", H_HOST, port),
                   "-cert",     (char *)cert, "-key",    (char *)key,
                   "-rev",      "-quiet",     NULL};
    cr_assert_gt(h_spawn(srv, NULL, NULL), 0);
    cr_assert_eq(h_wait_port(port, 5), 0, "openssl s_server did not start");
    return port;
}

Test(socket, tls_verifies_by_default_and_insecure_skips_it)
{
    int port = tls_server_start();
    h_run_t r;
    run_checks(&r, port,
               "function U:run()\n"
               "  local host, port = self.host:match('^tcp://([^:]+):(%d+)$')\n"
               "  local s = cicada.tcp()\n"
               "  local ok, err = s:connect(host, tonumber(port), { tls = true, timeout = 5 })\n"
               "  check('verify fails', ok == nil and tostring(err):find('certificate verify "
               "failed', 1, true), tostring(err))\n"
               "  ok, err = s:connect(host, tonumber(port), { tls = true, insecure = true,\n"
               "                                             server_name = 'localhost' })\n"
               "  check('insecure connects', ok == true, tostring(err))\n"
               "  local line, e = ask(s, 'hello world')\n"
               "  check('exchange over TLS', line == 'dlrow olleh', tostring(line) .. "
               "tostring(e))\n"
               "  s:close()\n"
               "end\n",
               "2s");
    H_ASSERT_EXIT(&r, 0);
    expect_check(&r, "verify fails");
    expect_check(&r, "insecure connects");
    expect_check(&r, "exchange over TLS");
    h_run_free(&r);
}

Test(socket, collected_socket_is_closed)
{
    int port = line_server_start();
    h_run_t r;
    run_checks(&r, port,
               "local function leak(self)\n"
               "  local s = open(self)\n"
               "  assert(ask(s, 'echo hi') == 'hi')\n"
               "end\n"
               "function U:run()\n"
               "  leak(self)\n"
               "  collectgarbage()\n"
               "  collectgarbage()\n"
               "  local s = open(self)\n"
               "  local n\n"
               "  for _ = 1, 100 do\n"
               "    n = ask(s, 'count')\n"
               "    if n == '1' then break end\n"
               "    cicada.sleep(0.01)\n"
               "  end\n"
               "  check('collected', n == '1', 'the server still sees ' .. tostring(n) .. ' "
               "connections')\n"
               "  s:close()\n"
               "end\n",
               "2s");
    H_ASSERT_EXIT(&r, 0);
    expect_check(&r, "collected");
    h_run_free(&r);
}

Test(socket, stopping_a_user_closes_the_socket_it_waits_on)
{
    int port = line_server_start();
    h_run_t r;
    const char *body =
        "function U:run()\n"
        "  self.s = open(self)\n"
        "  local d, err = ask(self.s, 'silent')\n"
        "  check('never answered', false, 'got ' .. tostring(d) .. tostring(err))\n"
        "end\n"
        "function U:on_stop()\n"
        "  if not self.s then return check('closed on stop', false, 'stopped early') end\n"
        "  local d, err = self.s:receive()\n"
        "  check('closed on stop', d == nil and err == 'closed', tostring(err))\n"
        "end\n";
    cr_assert_eq(h_cicada(&r, NULL, h_strf("%s%s", PRELUDE, body), "-H",
                          h_strf("tcp://%s:%d", H_HOST, port), "-u", "1", "-r", "10", "-t", "2s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_lt(r.elapsed_s, 5, "the stop took %.1f s", r.elapsed_s);
    cr_expect_eq(h_requests(r.json, "check", "never answered"), -1, "the wait was not canceled");
    expect_check(&r, "closed on stop");
    cr_expect_eq(h_requests(r.json, "check", "closed on stop"), 1);
    h_run_free(&r);
}

Test(socket, sockets_exist_only_inside_users)
{
    h_run_t r;
    const char *s = "local cicada = require 'cicada'\n"
                    "local sock = cicada.tcp()\n"
                    "cicada.user('U', { tasks = { t = function() end } })\n";
    cr_assert_eq(h_cicada(&r, NULL, s, "-u", "1", "-t", "1s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "cicada.tcp() is only possible inside a user"),
              "stderr lacks the reason: %s", r.err);
    h_run_free(&r);
}

/* Socket calls that end at once never yield; with no wait between tasks the user must still
 * let the loop turn, or the run could not even stop. */
Test(socket, tasks_failing_at_once_without_waits_do_not_starve_the_loop)
{
    h_run_t r;
    const char *s =
        "local cicada = require 'cicada'\n"
        "local U = cicada.user('U', { tasks = { t = 1 } })\n"
        "function U:t()\n"
        "  local n, err = cicada.tcp():send('x')\n"
        "  cicada.record { type = 'tcp', name = 'send', response_time = 0, error = err }\n"
        "end\n";
    h_run_opts_t o = {.timeout_s = 15};
    cr_assert_eq(h_cicada(&r, &o, s, "-u", "2", "-r", "10", "-t", "1s", H_LOAD_FLAGS, NULL), 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    cr_expect_lt(r.elapsed_s, 5, "the run took %.1f s", r.elapsed_s);
    long n = h_requests(r.json, "tcp", "send");
    cr_expect_gt(n, 0);
    cr_expect_eq(h_failures(r.json, "tcp", "send"), n, "a send on an unconnected socket passed");
    cr_expect_eq(h_error_occurrences(r.json, "send"), n);
    cr_expect_neq(h_error(r.json, "tcp", "send", "closed"), NULL);
    h_run_free(&r);
}
