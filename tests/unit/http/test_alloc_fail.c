/* Allocation-failure ("torture") tests, as curl's: malloc, calloc, realloc and strdup fail at
 * their Nth call, for N = 1, 2, ... until a run makes fewer calls than N, over one request
 * through the client (to a server on loopback), the response parser, content decoding and the
 * cookie jar. Each run must end cleanly: no crash, no leak (under ASan), and either the normal
 * result or CCD_ENOMEM. The allocator is wrapped with the linker's --wrap (see alloc_fail.h and
 * CMakeLists.txt), so only cicada's own calls fail, never libc's, Criterion's or other
 * libraries'. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "base/error.h"
#include "http/client.h"
#include "http/content_encoding.h"
#include "http/cookie.h"
#include "http/parse.h"

#include "../alloc_fail.h"

/* ---- a server on loopback that answers every request alike, keeping connections ---- */

/* A header long enough that the buffers grow several times. */
#define PAD10   "0123456789"
#define PAD100  PAD10 PAD10 PAD10 PAD10 PAD10 PAD10 PAD10 PAD10 PAD10 PAD10
#define PAD1000 PAD100 PAD100 PAD100 PAD100 PAD100 PAD100 PAD100 PAD100 PAD100 PAD100

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "X-Pad: " PAD1000 PAD1000 PAD1000 "\r\n"
                               "Set-Cookie: sid=abc; Path=/\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

static struct {
    int lfd, port;
    atomic_int stop;
    pthread_t th;
} srv;

static void serve(int fd)
{
    char buf[8192];
    size_t len = 0;
    for (ssize_t n; (n = recv(fd, buf + len, sizeof(buf) - len, 0)) > 0;) {
        len += (size_t)n;
        char *end;
        while ((end = memmem(buf, len, "\r\n\r\n", 4))) {
            size_t used = (size_t)(end + 4 - buf);
            send(fd, RESPONSE, sizeof(RESPONSE) - 1, MSG_NOSIGNAL);
            memmove(buf, buf + used, len - used);
            len -= used;
        }
        if (len == sizeof(buf))
            break;
    }
    close(fd);
}

/* One connection at a time is enough: each run uses one session. */
static void *srv_main(void *arg)
{
    while (!atomic_load(&srv.stop)) {
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd >= 0)
            serve(fd);
    }
    return NULL;
}

static void srv_start(void)
{
    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(a);
    cr_assert_eq(bind(srv.lfd, (struct sockaddr *)&a, sl), 0);
    cr_assert_eq(listen(srv.lfd, 64), 0);
    getsockname(srv.lfd, (struct sockaddr *)&a, &sl);
    srv.port = ntohs(a.sin_port);
    pthread_create(&srv.th, NULL, srv_main, NULL);
}

static void srv_stop(void)
{
    atomic_store(&srv.stop, 1);
    shutdown(srv.lfd, SHUT_RDWR);
    pthread_join(srv.th, NULL);
    close(srv.lfd);
}

/* ---- one request through the client, with the Nth allocation failing ---- */

typedef struct {
    bool done;
    int err;
    int status;
    size_t body_len;
} result_t;

static void on_response(void *ud, const ccd_http_response_t *res)
{
    result_t *r = ud;
    r->done = true;
    r->err = res->err;
    r->status = res->status;
    r->body_len = res->body.len;
    if (res->err)
        cr_assert(res->errmsg && ccd_strerror(res->err)[0], "a failure comes with its text");
}

/* One request on s; returns its error (0: a complete, correct response). */
static int one_request(struct ev_loop *loop, ccd_http_session_t *s, const char *url)
{
    result_t r = {0};
    ccd_http_request_t req = {.method = {"GET", 3}, .url = {url, strlen(url)}, .timeout = 5};
    int rc = ccd_http_send(s, &req, on_response, &r);
    if (rc)
        return rc;
    while (!r.done)
        ev_run(loop, EVRUN_ONCE);
    if (r.err == 0) {
        cr_assert_eq(r.status, 200);
        cr_assert_eq(r.body_len, 11);
    }
    return r.err;
}

/* Context, session and two requests on one keep-alive connection. */
static int client_run(struct ev_loop *loop, const char *url)
{
    ccd_http_ctx_t *ctx;
    int rc = ccd_http_ctx_create(&ctx, loop, NULL);
    if (rc)
        return rc;
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    rc = s ? one_request(loop, s, url) : CCD_ENOMEM;
    if (rc == 0)
        rc = one_request(loop, s, url);
    ccd_http_session_free(s);
    ccd_http_ctx_destroy(ctx);
    return rc;
}

Test(alloc_fail, client_request, .timeout = 120)
{
    signal(SIGPIPE, SIG_IGN);
    srv_start();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", srv.port);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    long n = 1;
    for (;; n++) {
        arm(n);
        int rc = client_run(loop, url);
        bool failed = disarm();
        if (!failed) {
            cr_assert_eq(rc, 0, "a run without a failed allocation succeeds: %s", ccd_strerror(rc));
            break;
        }
        cr_assert(rc == 0 || rc == CCD_ENOMEM, "allocation %ld failed: %d (%s), not ENOMEM", n, rc,
                  ccd_strerror(rc));
    }
    cr_assert_gt(n, 3, "the runs went through some allocations");
    cr_log_info("client: %ld allocations, each failed once", n - 1);
    ev_loop_destroy(loop);
    srv_stop();
}

/* ---- the parser, content decoding and the cookie jar ---- */

static int parse_run(void)
{
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    ccd_http_parser_reset(&p, false);
    size_t used = 0;
    int rc = CCD_HTTP_PARSE_MORE;
    for (size_t i = 0; rc == CCD_HTTP_PARSE_MORE && i < sizeof(RESPONSE) - 1; i++)
        rc = ccd_http_parser_feed(&p, RESPONSE + i, 1, &used); /* byte by byte: every growth */
    if (rc == CCD_HTTP_PARSE_DONE) {
        cr_assert_eq(p.nheaders, 4);
        rc = 0;
    }
    ccd_http_parser_free(&p);
    return rc;
}

static int decode_run(const char *gz, size_t len)
{
    ccd_buf_t out = {0};
    int rc = ccd_decode_body("gzip", 4, gz, len, &out);
    if (rc == 0)
        cr_assert_eq(out.len, 100000);
    ccd_buf_free(&out);
    return rc;
}

static int cookie_run(void)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    if (!jar)
        return CCD_ENOMEM;
    static const char *const set[] = {"a=1; Path=/", "b=2; Domain=example.com", "c=3; Max-Age=60"};
    int rc = 0;
    for (int i = 0; rc == 0 && i < 3; i++)
        rc = ccd_cookie_jar_store(jar, set[i], strlen(set[i]), "www.example.com", 15, "/x", 2,
                                  1.7e9);
    ccd_buf_t h = {0};
    if (rc == 0 &&
        (rc = ccd_cookie_jar_header(jar, false, "www.example.com", 15, "/", 1, 1.7e9, &h)) >= 0) {
        cr_assert_eq(rc, 3);
        rc = 0;
    }
    ccd_buf_free(&h);
    ccd_cookie_jar_free(jar);
    return rc;
}

/* Runs fn with the Nth allocation failing, N = 1, 2, ...: each run returns 0 or CCD_ENOMEM. */
#define TORTURE(call)                                                                              \
    do {                                                                                           \
        for (long n = 1;; n++) {                                                                   \
            arm(n);                                                                                \
            int rc = (call);                                                                       \
            if (!disarm()) {                                                                       \
                cr_assert_eq(rc, 0);                                                               \
                cr_log_info("%s: %ld allocations, each failed once", #call, n - 1);                \
                break;                                                                             \
            }                                                                                      \
            cr_assert(rc == 0 || rc == CCD_ENOMEM, "allocation %ld failed: %d (%s)", n, rc,        \
                      ccd_strerror(rc));                                                           \
        }                                                                                          \
    } while (0)

Test(alloc_fail, response_parser)
{
    TORTURE(parse_run());
}

Test(alloc_fail, content_decoding)
{
    static char zeros[100000];
    static unsigned char gz[1024];
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)zeros, z.avail_in = sizeof(zeros);
    z.next_out = gz, z.avail_out = sizeof(gz);
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = sizeof(gz) - z.avail_out;
    deflateEnd(&z);
    TORTURE(decode_run((const char *)gz, len));
}

Test(alloc_fail, cookie_jar)
{
    TORTURE(cookie_run());
}
