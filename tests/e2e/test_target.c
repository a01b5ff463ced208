/* End-to-end tests of cicada-target: the real binary on loopback, spoken to with plain sockets. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <zlib.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- The server under test. */

static pid_t target_pid = -1;
static int target_port;

static void start_target_with(const char *threads)
{
    int out[2];
    cr_assert_eq(pipe(out), 0);
    target_pid = fork();
    cr_assert_neq(target_pid, -1);
    if (target_pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(TARGET_BIN, "cicada-target", "--port", "0", "--threads", threads, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[256] = {0};
    size_t len = 0;
    struct pollfd pfd = {.fd = out[0], .events = POLLIN};
    while (len < sizeof line - 1 && !strchr(line, '\n') && poll(&pfd, 1, 5000) == 1) {
        ssize_t n = read(out[0], line + len, sizeof line - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(out[0]);
    cr_assert(sscanf(line, "listening on 127.0.0.1:%d", &target_port) == 1,
              "unexpected first line: '%s'", line);
}

static void start_target(void)
{
    start_target_with("1");
}

/* Returns the exit status of the server after SIGTERM, or -1. */
static int stop_target(void)
{
    int status = -1;
    if (target_pid > 0) {
        kill(target_pid, SIGTERM);
        waitpid(target_pid, &status, 0);
        target_pid = -1;
    }
    return status;
}

static void teardown(void)
{
    stop_target();
}

TestSuite(target, .init = start_target, .fini = teardown, .timeout = 30);

/* ---- A client connection with its own read buffer, so that pipelined responses that
 * arrive in one segment are split correctly. */

typedef struct {
    int fd;
    char buf[1 << 16];
    size_t len;
} client_t;

typedef struct {
    int status;
    char head[8192]; /* status line and headers, NUL-terminated */
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
    int chunks; /* data chunks of a chunked body */
} resp_t;

static client_t *dial(void)
{
    client_t *c = calloc(1, sizeof *c);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)target_port)};
    struct timeval tv = {.tv_sec = 5};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s",
                 strerror(errno));
    return c;
}

static void hang_up(client_t *c)
{
    close(c->fd);
    free(c);
}

static void send_raw(client_t *c, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        cr_assert_gt(w, 0, "send: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
}

static void send_str(client_t *c, const char *s)
{
    send_raw(c, s, strlen(s));
}

/* Reads more bytes into the buffer; returns how many (0 at EOF). */
static size_t fill(client_t *c)
{
    if (c->len == sizeof c->buf)
        return 0;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    cr_assert_geq(n, 0, "recv: %s", strerror(errno));
    c->len += (size_t)n;
    return (size_t)n;
}

static void consume(client_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Ensures n bytes are buffered; fails the test at EOF. */
static void need(client_t *c, size_t n)
{
    while (c->len < n)
        cr_assert_gt(fill(c), 0, "connection closed early");
}

static void take(client_t *c, resp_t *r, size_t n)
{
    r->body = realloc(r->body, r->body_len + n + 1);
    while (n > 0) {
        need(c, 1);
        size_t k = n < c->len ? n : c->len;
        memcpy(r->body + r->body_len, c->buf, k);
        r->body_len += k;
        consume(c, k);
        n -= k;
    }
    r->body[r->body_len] = 0;
}

/* Returns a header's value (copied into out) or NULL. */
static const char *header(const resp_t *r, const char *name, char *out, size_t cap)
{
    char key[128];
    snprintf(key, sizeof key, "\r\n%s:", name);
    const char *p = strcasestr(r->head, key);
    if (!p)
        return NULL;
    p += strlen(key);
    p += strspn(p, " ");
    size_t n = strcspn(p, "\r");
    n = n < cap - 1 ? n : cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
    return out;
}

static size_t line_end(client_t *c)
{
    char *e;
    while (!(e = memmem(c->buf, c->len, "\r\n", 2)))
        cr_assert_gt(fill(c), 0, "connection closed in a chunk header");
    return (size_t)(e - c->buf);
}

static void read_chunked(client_t *c, resp_t *r)
{
    for (;;) {
        size_t eol = line_end(c);
        size_t n = strtoul(c->buf, NULL, 16);
        consume(c, eol + 2);
        if (n == 0)
            break;
        take(c, r, n);
        r->chunks++;
        need(c, 2);
        cr_assert(memcmp(c->buf, "\r\n", 2) == 0, "chunk not followed by CRLF");
        consume(c, 2);
    }
    need(c, 2);
    consume(c, 2);
}

/* Reads one response; head_only for HEAD requests. */
static void read_response(client_t *c, resp_t *r, int head_only)
{
    char *e;
    memset(r, 0, sizeof *r);
    r->body = calloc(1, 1);
    while (!(e = memmem(c->buf, c->len, "\r\n\r\n", 4)))
        cr_assert_gt(fill(c), 0, "connection closed before a response head");
    size_t hlen = (size_t)(e - c->buf) + 4;
    cr_assert_lt(hlen, sizeof r->head);
    memcpy(r->head, c->buf, hlen);
    consume(c, hlen);
    cr_assert_eq(sscanf(r->head, "HTTP/1.1 %d ", &r->status), 1, "bad status line: %s", r->head);
    char v[64];
    if (head_only || r->status == 204 || r->status == 304)
        return;
    if (header(r, "Transfer-Encoding", v, sizeof v) && strcmp(v, "chunked") == 0)
        read_chunked(c, r);
    else if (header(r, "Content-Length", v, sizeof v))
        take(c, r, strtoul(v, NULL, 10));
}

static void resp_free(resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* True once the server has closed the connection (EOF with nothing more buffered). */
static int closed_by_server(client_t *c)
{
    return c->len == 0 && fill(c) == 0;
}

/* One request on a fresh connection. */
static resp_t fetch(const char *raw)
{
    client_t *c = dial();
    resp_t r;
    send_str(c, raw);
    read_response(c, &r, strncmp(raw, "HEAD ", 5) == 0);
    hang_up(c);
    return r;
}

static resp_t get(const char *path)
{
    char raw[1024];
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
    return fetch(raw);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *parse_json(const resp_t *r)
{
    json_error_t err;
    json_t *j = json_loadb(r->body, r->body_len, 0, &err);
    cr_assert_not_null(j, "invalid JSON (%s): %s", err.text, r->body);
    return j;
}

static json_int_t stat_of(json_t *stats, const char *group, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(stats, group), key));
}

static json_t *get_stats(void)
{
    resp_t r = get("/stats");
    cr_assert_eq(r.status, 200);
    json_t *j = parse_json(&r);
    resp_free(&r);
    return j;
}

/* ---- Endpoints. */

Test(target, hello)
{
    char v[64];
    resp_t r = get("/hello");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(header(&r, "Content-Type", v, sizeof v), "text/plain");
    cr_assert_str_eq(header(&r, "Content-Length", v, sizeof v), "13");
    cr_assert_str_eq(r.body, "Hello, World!");
    resp_free(&r);
}

Test(target, root_page)
{
    char v[64];
    resp_t r = get("/");
    cr_assert_eq(r.status, 200);
    cr_assert(strncmp(header(&r, "Content-Type", v, sizeof v), "text/html", 9) == 0);
    cr_assert_not_null(strstr(r.body, "<html>"));
    resp_free(&r);
}

Test(target, json_object)
{
    char v[64];
    resp_t r = get("/json");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(header(&r, "Content-Type", v, sizeof v), "application/json");
    json_t *j = parse_json(&r);
    cr_assert(json_is_object(j));
    cr_assert_str_eq(json_string_value(json_object_get(j, "message")), "Hello, World!");
    json_decref(j);
    resp_free(&r);
}

Test(target, unknown_path_is_404)
{
    resp_t r = get("/no/such/thing");
    cr_assert_eq(r.status, 404);
    cr_assert_gt(r.body_len, 0);
    resp_free(&r);
}

Test(target, echo_reflects_request)
{
    resp_t r = fetch("POST /echo?x=1 HTTP/1.1\r\nHost: h\r\nX-Test: a \"quoted\"\tvalue\r\n"
                     "Content-Length: 11\r\n\r\nhello\nworld");
    cr_assert_eq(r.status, 200);
    json_t *j = parse_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "method")), "POST");
    cr_assert_str_eq(json_string_value(json_object_get(j, "path")), "/echo");
    cr_assert_str_eq(json_string_value(json_object_get(j, "query")), "x=1");
    json_t *h = json_object_get(j, "headers");
    cr_assert_str_eq(json_string_value(json_object_get(h, "X-Test")), "a \"quoted\"\tvalue");
    cr_assert_str_eq(json_string_value(json_object_get(h, "Host")), "h");
    cr_assert_str_eq(json_string_value(json_object_get(j, "body")), "hello\nworld");
    json_decref(j);
    resp_free(&r);
}

Test(target, echo_survives_invalid_utf8)
{
    resp_t r = fetch("PUT /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\n\xff\x01\xc3\xa9");
    cr_assert_eq(r.status, 200);
    json_t *j = parse_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "body")), "\xef\xbf\xbd\x01\xc3\xa9");
    json_decref(j);
    resp_free(&r);
}

Test(target, status_codes)
{
    static const int codes[] = {200, 201, 302, 418, 500, 503, 599};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char path[32];
        snprintf(path, sizeof path, "/status/%d", codes[i]);
        resp_t r = get(path);
        cr_assert_eq(r.status, codes[i], "%s answered %d", path, r.status);
        resp_free(&r);
    }
}

Test(target, status_204_has_no_body)
{
    char v[64];
    client_t *c = dial();
    resp_t r;
    send_str(c, "GET /status/204 HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    read_response(c, &r, 0);
    cr_assert_eq(r.status, 204);
    cr_assert_null(header(&r, "Content-Length", v, sizeof v));
    resp_free(&r);
    read_response(c, &r, 0); /* would fail if the 204 had carried a body */
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    hang_up(c);
}

Test(target, status_out_of_range_is_400)
{
    const char *bad[] = {"/status/99", "/status/600", "/status/abc", "/status/"};
    for (size_t i = 0; i < 4; i++) {
        resp_t r = get(bad[i]);
        cr_assert_eq(r.status, 400, "%s answered %d", bad[i], r.status);
        resp_free(&r);
    }
}

Test(target, delay_waits)
{
    double t0 = now();
    resp_t r = get("/delay/200");
    double dt = now() - t0;
    cr_assert_eq(r.status, 200);
    cr_assert_geq(dt, 0.2, "answered after %.3f s", dt);
    cr_assert_lt(dt, 2.0, "answered after %.3f s", dt);
    resp_free(&r);
}

Test(target, delay_does_not_block_other_connections)
{
    client_t *slow = dial();
    send_str(slow, "GET /delay/500 HTTP/1.1\r\n\r\n");
    double t0 = now();
    resp_t r = get("/hello");
    cr_assert_lt(now() - t0, 0.4, "a delayed response blocked the loop");
    resp_free(&r);
    read_response(slow, &r, 0);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    hang_up(slow);
}

Test(target, delayed_pipelined_responses_stay_in_order)
{
    client_t *c = dial();
    resp_t r;
    send_str(c, "GET /delay/100 HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    read_response(c, &r, 0);
    cr_assert_str_eq(r.body, "{\"delay_ms\": 100}\n");
    resp_free(&r);
    read_response(c, &r, 0);
    cr_assert_str_eq(r.body, "Hello, World!");
    resp_free(&r);
    hang_up(c);
}

Test(target, bytes_has_exact_length)
{
    resp_t r = get("/bytes/300000");
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 300000);
    for (size_t i = 0; i < r.body_len; i++)
        cr_assert_eq(r.body[i], 'a' + (char)(i % 26), "byte %zu", i);
    resp_free(&r);
}

Test(target, bytes_zero)
{
    resp_t r = get("/bytes/0");
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 0);
    resp_free(&r);
}

Test(target, chunked_in_several_chunks)
{
    char v[64];
    resp_t r = get("/chunked/100000");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(header(&r, "Transfer-Encoding", v, sizeof v), "chunked");
    cr_assert_eq(r.body_len, 100000);
    cr_assert_gt(r.chunks, 1);
    for (size_t i = 0; i < r.body_len; i++)
        cr_assert_eq(r.body[i], 'a' + (char)(i % 26), "byte %zu", i);
    resp_free(&r);
}

Test(target, chunked_for_http10_uses_length)
{
    char v[64];
    resp_t r = fetch("GET /chunked/1000 HTTP/1.0\r\n\r\n");
    cr_assert_eq(r.status, 200);
    cr_assert_null(header(&r, "Transfer-Encoding", v, sizeof v));
    cr_assert_eq(r.body_len, 1000);
    resp_free(&r);
}

Test(target, redirect_chain)
{
    char v[64];
    resp_t r = get("/redirect/3");
    cr_assert_eq(r.status, 302);
    cr_assert_str_eq(header(&r, "Location", v, sizeof v), "/redirect/2");
    resp_free(&r);
    r = get("/redirect/1");
    cr_assert_str_eq(header(&r, "Location", v, sizeof v), "/redirect/0");
    resp_free(&r);
    r = get("/redirect/0");
    cr_assert_eq(r.status, 200);
    resp_free(&r);
}

Test(target, cookie_set_and_check)
{
    char v[128];
    resp_t r = get("/cookie/set?flavour=oat");
    cr_assert_eq(r.status, 200);
    cr_assert(strncmp(header(&r, "Set-Cookie", v, sizeof v), "flavour=oat", 11) == 0, "%s", v);
    resp_free(&r);
    r = fetch("GET /cookie/check HTTP/1.1\r\nCookie: flavour=oat\r\n\r\n");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "flavour=oat");
    resp_free(&r);
    r = get("/cookie/check");
    cr_assert_eq(r.status, 401);
    resp_free(&r);
    r = get("/cookie/set?bad%20name");
    cr_assert_eq(r.status, 400);
    resp_free(&r);
}

/* GETs the form; fills the session id and token. */
static void login_form(char *sid, char *token)
{
    char v[256];
    resp_t r = get("/login");
    cr_assert_eq(r.status, 200);
    cr_assert(header(&r, "Set-Cookie", v, sizeof v));
    cr_assert_eq(sscanf(v, "session=%64[0-9a-f]", sid), 1, "%s", v);
    const char *t = strstr(r.body, "name=\"csrf_token\" value=\"");
    cr_assert_not_null(t, "%s", r.body);
    cr_assert_eq(sscanf(t + 25, "%64[0-9a-f]", token), 1);
    resp_free(&r);
}

static resp_t login_post(const char *sid, const char *token)
{
    char body[256], raw[1024];
    snprintf(body, sizeof body, "username=ann&password=x%%21&csrf_token=%s", token);
    snprintf(raw, sizeof raw,
             "POST /login HTTP/1.1\r\nCookie: session=%s\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
             sid, strlen(body), body);
    return fetch(raw);
}

Test(target, login_with_token)
{
    char sid[65], token[65], v[256];
    login_form(sid, token);
    resp_t r = login_post(sid, token);
    cr_assert_eq(r.status, 302);
    cr_assert_str_eq(header(&r, "Location", v, sizeof v), "/");
    cr_assert(strncmp(header(&r, "Set-Cookie", v, sizeof v), "session=", 8) == 0);
    resp_free(&r);
}

Test(target, login_rejects_wrong_token)
{
    char sid[65], token[65], sid2[65], token2[65];
    login_form(sid, token);
    login_form(sid2, token2);
    resp_t r = login_post(sid, token2); /* a token of another session */
    cr_assert_eq(r.status, 403);
    resp_free(&r);
    r = fetch("POST /login HTTP/1.1\r\nContent-Length: 12\r\n\r\nusername=ann");
    cr_assert_eq(r.status, 403);
    resp_free(&r);
}

Test(target, close_endpoint_closes)
{
    char v[64];
    client_t *c = dial();
    resp_t r;
    send_str(c, "GET /close HTTP/1.1\r\n\r\n");
    read_response(c, &r, 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(header(&r, "Connection", v, sizeof v), "close");
    cr_assert(closed_by_server(c));
    resp_free(&r);
    hang_up(c);
}

static void check_compressed(const char *path, const char *coding, int window_bits)
{
    char v[64];
    unsigned char out[4096];
    resp_t r = get(path);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(header(&r, "Content-Encoding", v, sizeof v), coding);
    z_stream z = {0};
    cr_assert_eq(inflateInit2(&z, window_bits), Z_OK);
    z.next_in = (Bytef *)r.body;
    z.avail_in = (uInt)r.body_len;
    z.next_out = out;
    z.avail_out = sizeof out;
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    json_t *j = json_loadb((char *)out, z.total_out, 0, NULL);
    cr_assert(json_is_object(j), "%.*s", (int)z.total_out, out);
    json_decref(j);
    inflateEnd(&z);
    resp_free(&r);
}

Test(target, gzip_body_is_json)
{
    check_compressed("/gzip", "gzip", 15 + 16);
}

Test(target, deflate_body_is_json)
{
    check_compressed("/deflate", "deflate", 15);
}

static json_int_t create_item(const char *json)
{
    char raw[512];
    snprintf(raw, sizeof raw,
             "POST /items HTTP/1.1\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(json), json);
    resp_t r = fetch(raw);
    cr_assert_eq(r.status, 201, "%d %s", r.status, r.body);
    json_t *j = parse_json(&r);
    json_int_t id = json_integer_value(json_object_get(j, "id"));
    cr_assert_gt(id, 0);
    cr_assert_str_eq(json_string_value(json_object_get(j, "name")), "widget");
    json_decref(j);
    resp_free(&r);
    return id;
}

Test(target, items_crud)
{
    char path[64], raw[256];
    json_int_t id = create_item("{\"name\": \"widget\", \"qty\": 2}");
    snprintf(path, sizeof path, "/items/%lld", (long long)id);
    resp_t r = get(path);
    cr_assert_eq(r.status, 200);
    json_t *j = parse_json(&r);
    cr_assert_eq(json_integer_value(json_object_get(j, "qty")), 2);
    json_decref(j);
    resp_free(&r);

    snprintf(raw, sizeof raw, "PUT %s HTTP/1.1\r\nContent-Length: 11\r\n\r\n{\"qty\": 5}\n", path);
    r = fetch(raw);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    r = get(path);
    j = parse_json(&r);
    cr_assert_eq(json_integer_value(json_object_get(j, "qty")), 5);
    cr_assert_eq(json_integer_value(json_object_get(j, "id")), id);
    json_decref(j);
    resp_free(&r);

    snprintf(raw, sizeof raw, "DELETE %s HTTP/1.1\r\n\r\n", path);
    r = fetch(raw);
    cr_assert_eq(r.status, 204);
    resp_free(&r);
    r = get(path);
    cr_assert_eq(r.status, 404);
    resp_free(&r);
}

Test(target, items_reject_non_objects)
{
    resp_t r = fetch("POST /items HTTP/1.1\r\nContent-Length: 5\r\n\r\n[1,2]");
    cr_assert_eq(r.status, 400);
    resp_free(&r);
    r = fetch("POST /items HTTP/1.1\r\nContent-Length: 3\r\n\r\n{x:");
    cr_assert_eq(r.status, 400);
    resp_free(&r);
}

Test(target, head_has_no_body)
{
    char v[64];
    client_t *c = dial();
    resp_t r;
    send_str(c, "HEAD /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    read_response(c, &r, 1);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(header(&r, "Content-Length", v, sizeof v), "13");
    resp_free(&r);
    read_response(c, &r, 0);
    cr_assert_str_eq(r.body, "Hello, World!");
    resp_free(&r);
    hang_up(c);
}

/* ---- Connections and parsing. */

Test(target, keep_alive_serves_many)
{
    client_t *c = dial();
    for (int i = 0; i < 20; i++) {
        resp_t r;
        send_str(c, i % 2 ? "GET /json HTTP/1.1\r\n\r\n" : "GET /hello HTTP/1.1\r\n\r\n");
        read_response(c, &r, 0);
        cr_assert_eq(r.status, 200, "request %d", i);
        resp_free(&r);
    }
    hang_up(c);
    json_t *s = get_stats();
    cr_assert_eq(json_integer_value(json_object_get(s, "connections")), 2); /* + /stats */
    json_decref(s);
}

Test(target, pipelined_requests_in_one_write)
{
    client_t *c = dial();
    resp_t r;
    send_str(c, "GET /hello HTTP/1.1\r\n\r\n"
                "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                "GET /status/418 HTTP/1.1\r\n\r\n"
                "GET /bytes/5 HTTP/1.1\r\n\r\n");
    read_response(c, &r, 0);
    cr_assert_str_eq(r.body, "Hello, World!");
    resp_free(&r);
    read_response(c, &r, 0);
    cr_assert_not_null(strstr(r.body, "\"body\": \"abc\""), "%s", r.body);
    resp_free(&r);
    read_response(c, &r, 0);
    cr_assert_eq(r.status, 418);
    resp_free(&r);
    read_response(c, &r, 0);
    cr_assert_str_eq(r.body, "abcde");
    resp_free(&r);
    hang_up(c);
}

Test(target, many_pipelined_requests)
{
    enum { N = 2000 };
    static const char one[] = "GET /hello HTTP/1.1\r\n\r\n";
    size_t n = sizeof one - 1;
    char *all = malloc(N * n);
    for (int i = 0; i < N; i++)
        memcpy(all + i * n, one, n);
    client_t *c = dial();
    send_raw(c, all, N * n);
    free(all);
    for (int i = 0; i < N; i++) {
        resp_t r;
        read_response(c, &r, 0);
        cr_assert_str_eq(r.body, "Hello, World!", "response %d", i);
        resp_free(&r);
    }
    hang_up(c);
}

Test(target, request_split_byte_by_byte)
{
    static const char req[] = "POST /echo HTTP/1.1\r\nHost: x\r\nX-Long-Header: some value\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    client_t *c = dial();
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
    for (size_t i = 0; i < sizeof req - 1; i++) {
        send_raw(c, req + i, 1);
        usleep(500);
    }
    resp_t r;
    read_response(c, &r, 0);
    cr_assert_eq(r.status, 200);
    json_t *j = parse_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "body")), "abcde");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(j, "headers"), "X-Long-Header")),
        "some value");
    json_decref(j);
    resp_free(&r);
    hang_up(c);
}

Test(target, malformed_request_gets_400_and_close)
{
    const char *bad[] = {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
                         "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                         "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"};
    for (size_t i = 0; i < 4; i++) {
        char v[64];
        client_t *c = dial();
        resp_t r;
        send_str(c, bad[i]);
        read_response(c, &r, 0);
        cr_assert_eq(r.status, 400, "case %zu answered %d", i, r.status);
        cr_assert_str_eq(header(&r, "Connection", v, sizeof v), "close");
        cr_assert(closed_by_server(c), "case %zu left open", i);
        resp_free(&r);
        hang_up(c);
    }
    json_t *s = get_stats();
    cr_assert_eq(json_integer_value(json_object_get(s, "malformed")), 4);
    json_decref(s);
}

Test(target, malformed_after_good_requests)
{
    client_t *c = dial();
    resp_t r;
    send_str(c, "GET /hello HTTP/1.1\r\n\r\n\x01\x02 nonsense\r\n\r\n");
    read_response(c, &r, 0);
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    read_response(c, &r, 0);
    cr_assert_eq(r.status, 400);
    cr_assert(closed_by_server(c));
    resp_free(&r);
    hang_up(c);
}

/* Sends raw and expects status, then the server's close. */
static void expect_refusal(const char *raw, size_t len, int status)
{
    client_t *c = dial();
    resp_t r;
    send_raw(c, raw, len);
    read_response(c, &r, 0);
    cr_assert_eq(r.status, status);
    cr_assert(closed_by_server(c));
    resp_free(&r);
    hang_up(c);
}

Test(target, oversized_heads_are_refused)
{
    enum { BIG = 70000 };
    char *raw = malloc(BIG + 256);
    int n = sprintf(raw, "GET /%0*d HTTP/1.1\r\n\r\n", BIG, 0);
    expect_refusal(raw, (size_t)n, 414);
    n = sprintf(raw, "GET / HTTP/1.1\r\nX: %0*d\r\n\r\n", BIG, 0);
    expect_refusal(raw, (size_t)n, 431);
    n = sprintf(raw, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 70; i++)
        n += sprintf(raw + n, "H%d: v\r\n", i);
    n += sprintf(raw + n, "\r\n");
    expect_refusal(raw, (size_t)n, 431);
    free(raw);
}

Test(target, oversized_body_is_refused)
{
    static const char raw[] = "POST /echo HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n";
    expect_refusal(raw, sizeof raw - 1, 413);
}

Test(target, connect_is_not_served)
{
    static const char raw[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n";
    expect_refusal(raw, sizeof raw - 1, 404);
}

Test(target, connection_close_is_honoured)
{
    char v[64];
    client_t *c = dial();
    resp_t r;
    send_str(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    read_response(c, &r, 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(header(&r, "Connection", v, sizeof v), "close");
    cr_assert(closed_by_server(c), "second request answered after Connection: close");
    resp_free(&r);
    hang_up(c);
}

Test(target, http10_closes_by_default)
{
    char v[64];
    client_t *c = dial();
    resp_t r;
    send_str(c, "GET /hello HTTP/1.0\r\n\r\n");
    read_response(c, &r, 0);
    cr_assert_str_eq(r.body, "Hello, World!");
    cr_assert_str_eq(header(&r, "Connection", v, sizeof v), "close");
    cr_assert(closed_by_server(c));
    resp_free(&r);
    hang_up(c);
}

Test(target, http10_keep_alive)
{
    char v[64];
    client_t *c = dial();
    for (int i = 0; i < 3; i++) {
        resp_t r;
        send_str(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        read_response(c, &r, 0);
        cr_assert_str_eq(r.body, "Hello, World!");
        cr_assert_str_eq(header(&r, "Connection", v, sizeof v), "keep-alive");
        resp_free(&r);
    }
    hang_up(c);
}

Test(target, expect_continue)
{
    client_t *c = dial();
    resp_t r;
    send_str(c, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    read_response(c, &r, 0);
    cr_assert_eq(r.status, 100);
    resp_free(&r);
    send_str(c, "hi");
    read_response(c, &r, 0);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "\"body\": \"hi\""));
    resp_free(&r);
    hang_up(c);
}

Test(target, half_closed_client_still_answered)
{
    client_t *c = dial();
    resp_t r;
    send_str(c, "GET /hello HTTP/1.1\r\n\r\n");
    shutdown(c->fd, SHUT_WR);
    read_response(c, &r, 0);
    cr_assert_str_eq(r.body, "Hello, World!");
    cr_assert(closed_by_server(c));
    resp_free(&r);
    hang_up(c);
}

/* ---- Counters. */

Test(target, stats_count_exactly)
{
    resp_t r = get("/stats/reset");
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    client_t *c = dial();
    for (int i = 0; i < 25; i++) {
        send_str(c, "GET /hello HTTP/1.1\r\n\r\n");
        read_response(c, &r, 0);
        resp_free(&r);
    }
    hang_up(c);
    const char *others[] = {"/status/500", "/status/201", "/delay/0", "/nope", "/"};
    for (size_t i = 0; i < 5; i++) {
        r = get(others[i]);
        resp_free(&r);
    }
    json_t *s = get_stats();
    cr_assert_eq(json_integer_value(json_object_get(s, "requests")), 30);
    cr_assert_eq(json_integer_value(json_object_get(s, "connections")), 7);
    cr_assert_eq(stat_of(s, "by_path", "/hello"), 25);
    cr_assert_eq(stat_of(s, "by_path", "/status"), 2);
    cr_assert_eq(stat_of(s, "by_path", "/delay"), 1);
    cr_assert_eq(stat_of(s, "by_path", "/nope"), 1);
    cr_assert_eq(stat_of(s, "by_path", "/"), 1);
    cr_assert_null(json_object_get(json_object_get(s, "by_path"), "/stats"));
    cr_assert_eq(stat_of(s, "by_status", "200"), 27);
    cr_assert_eq(stat_of(s, "by_status", "500"), 1);
    cr_assert_eq(stat_of(s, "by_status", "404"), 1);
    json_decref(s);
}

Test(target, stats_reset_zeroes)
{
    resp_t r = get("/hello");
    resp_free(&r);
    r = get("/stats/reset");
    resp_free(&r);
    json_t *s = get_stats();
    cr_assert_eq(json_integer_value(json_object_get(s, "requests")), 0);
    cr_assert_eq(json_integer_value(json_object_get(s, "connections")), 1); /* this /stats */
    cr_assert_eq(json_object_size(json_object_get(s, "by_path")), 0);
    json_decref(s);
}

Test(target, exits_cleanly_on_sigterm)
{
    resp_t r = get("/hello");
    resp_free(&r);
    client_t *idle = dial(); /* an open connection must not hold the exit back */
    int status = stop_target();
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
    hang_up(idle);
}

Test(target, busy_port_is_refused)
{
    char port[16];
    int status;
    snprintf(port, sizeof port, "%d", target_port);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        execl(TARGET_BIN, "cicada-target", "--port", port, (char *)NULL);
        _exit(127);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x", status);
}

/* ---- Several threads. */

static void start_two_threads(void)
{
    start_target_with("2");
}

TestSuite(target_threads, .init = start_two_threads, .fini = teardown, .timeout = 60);

Test(target_threads, stats_exact_across_threads)
{
    enum { CONNS = 40, PER = 50 };
    client_t *c[CONNS];
    for (int i = 0; i < CONNS; i++)
        c[i] = dial();
    for (int k = 0; k < PER; k++)
        for (int i = 0; i < CONNS; i++)
            send_str(c[i], "GET /hello HTTP/1.1\r\n\r\n");
    for (int i = 0; i < CONNS; i++) {
        for (int k = 0; k < PER; k++) {
            resp_t r;
            read_response(c[i], &r, 0);
            cr_assert_str_eq(r.body, "Hello, World!");
            resp_free(&r);
        }
        hang_up(c[i]);
    }
    json_t *s = get_stats();
    cr_assert_eq(json_integer_value(json_object_get(s, "requests")), CONNS * PER);
    cr_assert_eq(json_integer_value(json_object_get(s, "connections")), CONNS + 1);
    cr_assert_eq(stat_of(s, "by_path", "/hello"), CONNS * PER);
    json_decref(s);
}
