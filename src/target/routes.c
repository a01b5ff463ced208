/* The endpoints of cicada-target: dispatch on the first path segment, and the simple ones. */
#include "routes.h"

#include "compress.h"
#include "counters.h"
#include "items.h"
#include "json.h"
#include "session.h"
#include "stall.h"

#include <stdlib.h>
#include <string.h>

#define TEXT "text/plain"
#define JSON "application/json"

typedef void handler_fn(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest);

static const char root_html[] =
    "<!doctype html>\n<html><head><title>cicada-target</title></head><body>\n"
    "<h1>cicada-target</h1>\n<p>The demo server of cicada. Endpoints:</p>\n<ul>\n"
    "<li><a href=\"/hello\">/hello</a></li><li><a href=\"/json\">/json</a></li>\n"
    "<li>/echo</li><li>/status/{code}</li><li>/delay/{ms}</li><li>/bytes/{n}</li>\n"
    "<li>/chunked/{n}</li><li>/redirect/{n}</li><li>/cookie/set?name=value</li>\n"
    "<li>/cookie/check</li><li><a href=\"/login\">/login</a></li><li>/close</li>\n"
    "<li>/gzip</li><li>/deflate</li><li>/items</li><li><a href=\"/stats\">/stats</a></li>\n"
    "<li>/stall?after=S&amp;for=D</li><li>/ws/echo</li><li>/ws/drop</li>\n"
    "</ul>\n</body></html>\n";
static const char json_body[] =
    "{\"message\": \"Hello, World!\", \"server\": \"cicada-target\", \"items\": [1, 2, 3]}\n";

static tgt_canned_t root = {200,       "text/html; charset=utf-8", NULL,
                            root_html, sizeof root_html - 1,       {0}};
static tgt_canned_t hello = {200, TEXT, NULL, "Hello, World!", 13, {0}};
static tgt_canned_t json = {200, JSON, NULL, json_body, sizeof json_body - 1, {0}};
static tgt_canned_t gzip = {200, JSON, "Content-Encoding: gzip\r\n", NULL, 0, {0}};
static tgt_canned_t deflate = {200, JSON, "Content-Encoding: deflate\r\n", NULL, 0, {0}};
static tgt_buf_t gzip_body, deflate_body;

static void not_found(tgt_conn_t *c)
{
    tgt_reply(c, 404, TEXT, NULL, "Not Found\n", 10);
}

static void bad_request(tgt_conn_t *c, const char *why)
{
    tgt_reply(c, 400, TEXT, NULL, why, strlen(why));
}

int tgt_route_number(tgt_str_t rest, uint64_t max, uint64_t *out)
{
    if (rest.len < 2 || rest.len > 20 || rest.p[0] != '/')
        return -1;
    uint64_t v = 0;
    for (size_t i = 1; i < rest.len; i++) {
        if (rest.p[i] < '0' || rest.p[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(rest.p[i] - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

/* A fixed endpoint answers its exact path only. */
static void canned(tgt_conn_t *c, tgt_str_t rest, const tgt_canned_t *r)
{
    if (rest.len == 0)
        tgt_reply_canned(c, r);
    else
        not_found(c);
}

static void do_root(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    canned(c, rest, &root);
}

static void do_hello(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    canned(c, rest, &hello);
}

static void do_json(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    canned(c, rest, &json);
}

static void do_gzip(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    canned(c, rest, &gzip);
}

static void do_deflate(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    canned(c, rest, &deflate);
}

static void echo_headers(tgt_buf_t *b, const tgt_request_t *req)
{
    tgt_buf_puts(b, "{");
    for (size_t i = 0; i < req->nheaders; i++) {
        tgt_buf_puts(b, i ? ", " : "");
        tgt_json_str(b, req->headers[i].name.p, req->headers[i].name.len);
        tgt_buf_puts(b, ": ");
        tgt_json_str(b, req->headers[i].value.p, req->headers[i].value.len);
    }
    tgt_buf_puts(b, "}");
}

/* Headers are echoed as an object in the order received; a repeated name appears twice. */
static void do_echo(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    tgt_buf_t *b = tgt_conn_scratch(c);
    tgt_buf_puts(b, "{\"method\": ");
    tgt_json_str(b, req->method.p, req->method.len);
    tgt_buf_puts(b, ", \"path\": ");
    tgt_json_str(b, req->path.p, req->path.len);
    tgt_buf_puts(b, ", \"query\": ");
    tgt_json_str(b, req->query.p, req->query.len);
    tgt_buf_printf(b, ", \"version\": \"HTTP/1.%d\", \"headers\": ", req->http_minor);
    echo_headers(b, req);
    tgt_buf_puts(b, ", \"body\": ");
    tgt_json_str(b, req->body.p, req->body.len);
    tgt_buf_puts(b, "}\n");
    tgt_reply(c, 200, JSON, NULL, b->data, b->len);
}

static void do_status(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    uint64_t code;
    if (tgt_route_number(rest, 599, &code) < 0 || code < 100) {
        bad_request(c, "status must be 100..599\n");
        return;
    }
    tgt_buf_t *b = tgt_conn_scratch(c);
    tgt_buf_printf(b, "%d %s\n", (int)code, tgt_wire_reason((int)code));
    tgt_reply(c, (int)code, TEXT, NULL, b->data, b->len);
}

static void do_delay(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    uint64_t ms;
    if (tgt_route_number(rest, 600000, &ms) < 0) {
        bad_request(c, "delay must be 0..600000 ms\n");
        return;
    }
    tgt_buf_t *b = tgt_conn_scratch(c);
    tgt_buf_printf(b, "{\"delay_ms\": %d}\n", (int)ms);
    tgt_reply_after(c, (double)ms / 1000.);
    tgt_reply(c, 200, JSON, NULL, b->data, b->len);
}

/* The number after "key=" in a query, or dflt when the key is absent; -1 when malformed. */
static double query_seconds(tgt_str_t q, const char *key, double dflt)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen < q.len; i++) {
        if ((i == 0 || q.p[i - 1] == '&') && memcmp(q.p + i, key, klen) == 0 &&
            q.p[i + klen] == '=') {
            char num[32];
            size_t n = 0;
            for (size_t j = i + klen + 1; j < q.len && q.p[j] != '&' && n + 1 < sizeof num; j++)
                num[n++] = q.p[j];
            num[n] = '\0';
            char *end;
            double v = strtod(num, &end);
            return n && !*end && v >= 0 && v <= 86400 ? v : -1;
        }
    }
    return dflt;
}

/* /stall?after=S&for=D: from S seconds from now (default 0), every reply of the whole server
 * is held until D seconds later (default 1; 0 cancels a stall). Answered at once. */
static void do_stall(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    double after = query_seconds(req->query, "after", 0), dur = query_seconds(req->query, "for", 1);
    if (rest.len || after < 0 || dur < 0) {
        bad_request(c, "usage: /stall?after=SECONDS&for=SECONDS\n");
        return;
    }
    tgt_stall_set(after, dur);
    tgt_buf_t *b = tgt_conn_scratch(c);
    tgt_buf_printf(b, "{\"after\": %g, \"for\": %g}\n", after, dur);
    tgt_reply(c, 200, JSON, NULL, b->data, b->len);
}

#define MAX_BYTES (1ULL << 40)

static void do_bytes(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    uint64_t n;
    if (tgt_route_number(rest, MAX_BYTES, &n) < 0)
        bad_request(c, "size must be 0..2^40\n");
    else
        tgt_reply_stream(c, 200, "application/octet-stream", n, 0);
}

static void do_chunked(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    uint64_t n;
    if (tgt_route_number(rest, MAX_BYTES, &n) < 0)
        bad_request(c, "size must be 0..2^40\n");
    else
        tgt_reply_stream(c, 200, "application/octet-stream", n, 1);
}

static void do_redirect(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    uint64_t n;
    if (tgt_route_number(rest, 1000000, &n) < 0) {
        bad_request(c, "redirect count must be 0..1000000\n");
    } else if (n == 0) {
        tgt_reply(c, 200, TEXT, NULL, "redirects done\n", 15);
    } else {
        tgt_buf_t *b = tgt_conn_scratch(c);
        tgt_buf_printf(b, "Location: /redirect/%d\r\n", (int)n - 1);
        tgt_buf_add(b, "", 1);
        tgt_reply(c, 302, TEXT, b->data, "redirecting\n", 12);
    }
}

static void do_close(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    tgt_conn_close_after(c);
    tgt_reply(c, 200, TEXT, NULL, "closing\n", 8);
}

static void do_ws(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    tgt_conn_websocket(c, req, rest);
}

static void do_cookie(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    if (tgt_str_ieq(rest, "/set"))
        tgt_session_cookie_set(c, req);
    else if (tgt_str_ieq(rest, "/check"))
        tgt_session_cookie_check(c, req);
    else
        not_found(c);
}

static void do_login(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    if (rest.len == 0)
        tgt_session_login(c, req);
    else
        not_found(c);
}

static void do_items(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    tgt_items(c, req, rest);
}

static void do_stats(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest)
{
    if (rest.len == 0) {
        tgt_buf_t *b = tgt_conn_scratch(c);
        tgt_counters_json(b);
        tgt_reply(c, 200, JSON, NULL, b->data, b->len);
    } else if (tgt_str_ieq(rest, "/reset")) {
        tgt_counters_reset();
        tgt_reply(c, 200, JSON, NULL, "{\"reset\": true}\n", 16);
    } else {
        not_found(c);
    }
}

typedef struct {
    const char *seg;
    handler_fn *fn;
} route_t;

static const route_t table[] = {
    {"/", do_root},         {"/hello", do_hello},     {"/json", do_json},
    {"/echo", do_echo},     {"/status", do_status},   {"/delay", do_delay},
    {"/bytes", do_bytes},   {"/chunked", do_chunked}, {"/redirect", do_redirect},
    {"/cookie", do_cookie}, {"/login", do_login},     {"/close", do_close},
    {"/gzip", do_gzip},     {"/deflate", do_deflate}, {"/items", do_items},
    {"/ws", do_ws},
};

/* The first segment of "/a/b" is "/a"; of "/" and "//x" it is "/". */
static tgt_str_t first_segment(tgt_str_t path)
{
    const char *slash = path.len > 1 ? memchr(path.p + 1, '/', path.len - 1) : NULL;
    return (tgt_str_t){path.p, slash ? (size_t)(slash - path.p) : path.len};
}

static handler_fn *lookup(tgt_str_t seg)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strlen(table[i].seg) == seg.len && memcmp(table[i].seg, seg.p, seg.len) == 0)
            return table[i].fn;
    return NULL;
}

void tgt_route(tgt_conn_t *c, const tgt_request_t *req)
{
    tgt_str_t seg = first_segment(req->path);
    tgt_str_t rest = {req->path.p + seg.len, req->path.len - seg.len};
    if (seg.len == 6 && memcmp(seg.p, "/stats", 6) == 0) {
        do_stats(c, req, rest); /* not counted: reading the counters must not move them */
        return;
    }
    if (seg.len == 6 && memcmp(seg.p, "/stall", 6) == 0) {
        do_stall(c, req, rest); /* never held itself, so that a stall can be cut short */
        return;
    }
    double stalled = tgt_stall_left();
    if (stalled > 0)
        tgt_reply_after(c, stalled);
    handler_fn *fn = lookup(seg);
    if (fn)
        fn(c, req, rest);
    else
        not_found(c);
    tgt_counters_request(seg.p, seg.len, tgt_conn_status(c));
}

static int can_compressed(tgt_canned_t *r, tgt_buf_t *body, tgt_coding_t coding)
{
    int err = tgt_compress(json_body, sizeof json_body - 1, coding, body);
    if (err < 0)
        return err;
    r->body = body->data;
    r->len = body->len;
    return tgt_wire_can(r);
}

int tgt_routes_init(void)
{
    int err = tgt_session_init();
    if (!err)
        err = tgt_wire_can(&root);
    if (!err)
        err = tgt_wire_can(&hello);
    if (!err)
        err = tgt_wire_can(&json);
    if (!err)
        err = can_compressed(&gzip, &gzip_body, TGT_GZIP);
    if (!err)
        err = can_compressed(&deflate, &deflate_body, TGT_DEFLATE);
    return err;
}

void tgt_routes_free(void)
{
    tgt_canned_t *all[] = {&root, &hello, &json, &gzip, &deflate};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tgt_buf_free(&all[i]->wire);
    tgt_buf_free(&gzip_body);
    tgt_buf_free(&deflate_body);
    tgt_items_free();
}
