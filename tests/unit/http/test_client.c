/* Tests of the HTTP client on a real libev loop against small servers on loopback. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ev.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "http/client.h"
#include "http/url.h"

/* ---- a tiny HTTP server in a thread, behaving as the test asks ---- */

enum {
    SRV_OK,           /* 200 with "hello", keep-alive (HEAD: headers only) */
    SRV_CLOSE_AFTER,  /* answers like SRV_OK, then closes the connection */
    SRV_SILENT,       /* reads requests, never answers */
    SRV_CLOSE_AT_REQ, /* closes the connection when a request arrives */
    SRV_RESET_MID,    /* sends part of a response, then resets the connection */
    SRV_CHUNKED,      /* 200 with a chunked body */
    SRV_EXTRA,        /* 200 followed by bytes nobody asked for */
    SRV_EXTRA_LATE,   /* 200, then a moment later bytes nobody asked for */
    SRV_GARBAGE,      /* something that is not HTTP */
    SRV_UNTIL_CLOSE,  /* HTTP/1.0 body delimited by the close */
    SRV_CONN_CLOSE,   /* 200 with Connection: close, then closes */
};

#define SRV_MAX_CONNS 512

typedef struct {
    int fd;
    size_t len;
    char buf[4096];
} srv_conn_t;

typedef struct {
    int lfd;
    int port;
    int mode;
    atomic_int stop;
    atomic_int nconn;
    atomic_int nreq;
    pthread_t th;
    pthread_mutex_t mu;
    char last[4096];
    size_t last_len;
    srv_conn_t conns[SRV_MAX_CONNS];
    int nconns;
} server_t;

static server_t srv;

static size_t request_length(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end + 4 - buf), body = 0;
    const char *cl = memmem(buf, head, "Content-Length: ", 16);
    if (cl)
        body = strtoul(cl + 16, NULL, 10);
    return head + body <= len ? head + body : 0;
}

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

static void srv_drop(srv_conn_t *c, bool reset)
{
    if (reset) {
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(c->fd);
    c->fd = -1;
}

/* Answers one complete request; returns false when the connection was closed. */
static bool srv_answer(srv_conn_t *c, size_t reqlen)
{
    pthread_mutex_lock(&srv.mu);
    memcpy(srv.last, c->buf, reqlen);
    srv.last_len = reqlen;
    pthread_mutex_unlock(&srv.mu);
    atomic_fetch_add(&srv.nreq, 1);
    bool head = strncmp(c->buf, "HEAD ", 5) == 0;
    switch (srv.mode) {
    case SRV_SILENT: return true;
    case SRV_CLOSE_AT_REQ: srv_drop(c, false); return false;
    case SRV_RESET_MID: {
        const char *part = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
        send_all(c->fd, part, strlen(part));
        usleep(20000);
        srv_drop(c, true);
        return false;
    }
    case SRV_CHUNKED: {
        const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "4\r\nchun\r\n3\r\nked\r\n0\r\n\r\n";
        send_all(c->fd, r, strlen(r));
        return true;
    }
    case SRV_GARBAGE: send_all(c->fd, "SSH-2.0-OpenSSH\r\n", 17); return true;
    case SRV_UNTIL_CLOSE:
    case SRV_CONN_CLOSE: {
        const char *r = srv.mode == SRV_UNTIL_CLOSE
                            ? "HTTP/1.0 200 OK\r\n\r\nuntil close"
                            : "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
        send_all(c->fd, r, strlen(r));
        srv_drop(c, false);
        return false;
    }
    case SRV_EXTRA_LATE: {
        const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        send_all(c->fd, r, strlen(r));
        usleep(20000);
        send_all(c->fd, "HTTP/1.1 200 OK\r\n\r\n", 19);
        return true;
    }
    case SRV_EXTRA: {
        const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n";
        send_all(c->fd, r, strlen(r));
        return true;
    }
    default: {
        const char *r = head ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                             : "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        send_all(c->fd, r, strlen(r));
        if (srv.mode == SRV_CLOSE_AFTER) {
            srv_drop(c, false);
            return false;
        }
        return true;
    }
    }
}

static void srv_readable(srv_conn_t *c)
{
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
    if (n <= 0) {
        srv_drop(c, false);
        return;
    }
    c->len += (size_t)n;
    size_t rl;
    while ((rl = request_length(c->buf, c->len)) > 0) {
        if (!srv_answer(c, rl))
            return;
        memmove(c->buf, c->buf + rl, c->len - rl);
        c->len -= rl;
    }
}

static void srv_accept(void)
{
    int fd = accept(srv.lfd, NULL, NULL);
    if (fd < 0)
        return;
    atomic_fetch_add(&srv.nconn, 1);
    for (int i = 0; i < srv.nconns; i++) {
        if (srv.conns[i].fd < 0) {
            srv.conns[i] = (srv_conn_t){.fd = fd};
            return;
        }
    }
    if (srv.nconns < SRV_MAX_CONNS)
        srv.conns[srv.nconns++] = (srv_conn_t){.fd = fd};
    else
        close(fd);
}

static void *srv_main(void *arg)
{
    static struct pollfd pfd[SRV_MAX_CONNS + 1];
    while (!atomic_load(&srv.stop)) {
        pfd[0] = (struct pollfd){.fd = srv.lfd, .events = POLLIN};
        for (int i = 0; i < srv.nconns; i++)
            pfd[i + 1] = (struct pollfd){.fd = srv.conns[i].fd, .events = POLLIN};
        int n = srv.nconns;
        if (poll(pfd, (nfds_t)n + 1, 20) <= 0)
            continue;
        for (int i = 0; i < n; i++)
            if (srv.conns[i].fd >= 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                srv_readable(&srv.conns[i]);
        if (pfd[0].revents & POLLIN)
            srv_accept();
    }
    for (int i = 0; i < srv.nconns; i++)
        if (srv.conns[i].fd >= 0)
            close(srv.conns[i].fd);
    return NULL;
}

/* Starts the server on 127.0.0.1 (or ::1); returns false when the address is unavailable. */
static bool srv_start(int mode, bool ipv6)
{
    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.mu, NULL);
    srv.mode = mode;
    srv.lfd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    if (ipv6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof(*a);
    }
    if (bind(srv.lfd, (struct sockaddr *)&ss, sl) < 0 || listen(srv.lfd, 1024) < 0) {
        close(srv.lfd);
        return false;
    }
    getsockname(srv.lfd, (struct sockaddr *)&ss, &sl);
    srv.port = ntohs(ipv6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                          : ((struct sockaddr_in *)&ss)->sin_port);
    pthread_create(&srv.th, NULL, srv_main, NULL);
    return true;
}

static void srv_stop(void)
{
    atomic_store(&srv.stop, 1);
    pthread_join(srv.th, NULL);
    close(srv.lfd);
}

/* ---- driving the client ---- */

typedef struct {
    bool done;
    int err;
    char errmsg[256];
    int status;
    char body[256];
    size_t body_len;
    size_t nheaders;
    int64_t elapsed_us;
    char target[256];
} result_t;

static struct ev_loop *loop;
static ccd_http_ctx_t *ctx;

static void on_response(void *ud, const ccd_http_response_t *res)
{
    result_t *r = ud;
    r->done = true;
    r->err = res->err;
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", res->errmsg);
    r->status = res->status;
    r->body_len = res->body.len;
    memcpy(r->body, res->body.base, res->body.len < 255 ? res->body.len : 255);
    r->nheaders = res->nheaders;
    r->elapsed_us = res->elapsed_us;
    snprintf(r->target, sizeof(r->target), "%.*s", (int)res->target.len, res->target.base);
}

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_eq(ccd_http_ctx_create(&ctx, loop, NULL), 0);
}

static void teardown(void)
{
    ccd_http_ctx_destroy(ctx);
    ev_loop_destroy(loop);
}

static ccd_slice_t sl(const char *s)
{
    return (ccd_slice_t){s, strlen(s)};
}

static ccd_http_request_t request(const char *method, const char *url)
{
    return (ccd_http_request_t){.method = sl(method), .url = sl(url), .timeout = 5};
}

/* Sends and runs the loop until the callback, checking it never runs inside send(). */
static result_t perform(ccd_http_session_t *s, const ccd_http_request_t *req)
{
    result_t r = {0};
    int rc = ccd_http_send(s, req, on_response, &r);
    cr_assert_eq(rc, 0, "send: %d", rc);
    cr_assert_not(r.done, "callback called from inside ccd_http_send()");
    while (!r.done)
        ev_run(loop, EVRUN_ONCE);
    return r;
}

static char url_buf[256];

static const char *url(const char *path)
{
    snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d%s", srv.port, path);
    return url_buf;
}

static void never_called(void *ud, const ccd_http_response_t *res)
{
    cr_assert_fail("callback of a canceled request");
}

TestSuite(http_client, .init = setup, .fini = teardown, .timeout = 30);

Test(http_client, keep_alive_reuses_one_connection)
{
    srv_start(SRV_OK, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    for (int i = 0; i < 20; i++) {
        ccd_http_request_t req = request("GET", url("/"));
        result_t r = perform(s, &req);
        cr_assert_eq(r.err, 0, "request %d: %s", i, r.errmsg);
        cr_assert_eq(r.status, 200);
        cr_assert_eq(r.body_len, 5);
        cr_assert(memcmp(r.body, "hello", 5) == 0);
        cr_assert_gt(r.elapsed_us, 0);
    }
    cr_assert_eq(atomic_load(&srv.nconn), 1, "%d connections", atomic_load(&srv.nconn));
    cr_assert_eq(atomic_load(&srv.nreq), 20);
    ev_run(loop, 0); /* returns: an idle connection does not keep the loop running */
    ccd_http_session_free(s);
    srv_stop();
}

/* A request is sent once. The server closes after each response; without the loop running
 * between two requests the close goes unseen, so the next request goes out on the closed
 * connection and fails, and is not sent again: the server saw exactly the requests that
 * succeeded, and the one after the failure opens a fresh connection. */
Test(http_client, closed_keep_alive_connection_fails_once)
{
    srv_start(SRV_CLOSE_AFTER, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    int ok = 0, failed = 0;
    for (int i = 0; i < 6; i++) {
        ccd_http_request_t req = request("GET", url("/"));
        result_t r = perform(s, &req);
        if (r.err == 0) {
            cr_assert_eq(r.status, 200);
            ok++;
        } else {
            cr_assert(r.err == CCD_ECLOSED || r.err == CCD_ECONNRESET, "err %d: %s", r.err,
                      r.errmsg);
            cr_assert(strstr(r.errmsg, "reused keep-alive connection"), "%s", r.errmsg);
            failed++;
        }
        usleep(20000); /* the server's close arrives, but the loop does not run to see it */
    }
    cr_assert_eq(ok, 3, "every other request succeeds (%d did)", ok);
    cr_assert_eq(failed, 3);
    cr_assert_eq(atomic_load(&srv.nconn), 3);
    cr_assert_eq(atomic_load(&srv.nreq), 3, "no request reached the server twice");
    ccd_http_session_free(s);
    srv_stop();
}

typedef struct {
    ccd_http_session_t *s;
    result_t *r;
} send_later_t;

static void send_from_timer(struct ev_loop *l, ev_timer *w, int revents)
{
    send_later_t *sl = w->data;
    ccd_http_request_t req = request("GET", url("/"));
    cr_assert_eq(ccd_http_send(sl->s, &req, on_response, sl->r), 0);
}

/* libev runs an iteration's expired timers before the socket events of the same poll: a user
 * whose wait ends in the iteration that brings the server's close of its idle connection
 * sends before the close is handled. The send handles it first and opens a fresh connection. */
Test(http_client, close_noticed_when_a_timer_sends_in_the_same_iteration)
{
    srv_start(SRV_CLOSE_AFTER, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", url("/"));
    cr_assert_eq(perform(s, &req).err, 0);
    usleep(50000); /* the close is in the socket before the next poll */
    result_t r = {0};
    send_later_t sl = {s, &r};
    ev_timer t;
    ev_timer_init(&t, send_from_timer, 0., 0.);
    t.data = &sl;
    ev_timer_start(loop, &t);
    while (!r.done)
        ev_run(loop, EVRUN_ONCE);
    cr_assert_eq(r.err, 0, "%s", r.errmsg);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(atomic_load(&srv.nconn), 2);
    cr_assert_eq(atomic_load(&srv.nreq), 2);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, fresh_connection_closed_is_not_retried)
{
    srv_start(SRV_CLOSE_AT_REQ, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", url("/"));
    result_t r = perform(s, &req);
    cr_assert_eq(r.err, CCD_ECLOSED, "err %d: %s", r.err, r.errmsg);
    cr_assert_eq(r.status, 0);
    cr_assert_str_eq(r.errmsg, "connection closed without a response");
    cr_assert_eq(atomic_load(&srv.nreq), 1);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, refused_port)
{
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", "http://127.0.0.1:1/");
    result_t r = perform(s, &req);
    cr_assert_eq(r.err, CCD_ECONNREFUSED, "err %d: %s", r.err, r.errmsg);
    cr_assert_str_eq(r.errmsg, "connection refused (127.0.0.1:1)");
    ccd_http_session_free(s);
}

Test(http_client, silent_server_times_out)
{
    srv_start(SRV_SILENT, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", url("/"));
    req.timeout = 0.3;
    int64_t t0 = ccd_clock_us();
    result_t r = perform(s, &req);
    int64_t took = ccd_clock_us() - t0;
    cr_assert_eq(r.err, CCD_ETIMEDOUT, "err %d: %s", r.err, r.errmsg);
    cr_assert_str_eq(r.errmsg, "timeout after 0.3s");
    cr_assert(took >= 290000 && took < 1500000, "took %lld us", (long long)took);
    cr_assert(r.elapsed_us >= 290000, "elapsed %lld us", (long long)r.elapsed_us);
    /* The connection was closed: the next request opens a new one. */
    srv.mode = SRV_OK;
    req.timeout = 5;
    r = perform(s, &req);
    cr_assert_eq(r.err, 0, "%s", r.errmsg);
    cr_assert_eq(atomic_load(&srv.nconn), 2);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, reset_mid_response)
{
    srv_start(SRV_RESET_MID, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", url("/"));
    result_t r = perform(s, &req);
    cr_assert(r.err == CCD_ECONNRESET || r.err == CCD_ECLOSED, "err %d: %s", r.err, r.errmsg);
    cr_assert_eq(r.status, 0);
    cr_assert_eq(atomic_load(&srv.nreq), 1, "a started response is never retried");
    ccd_http_session_free(s);
    srv_stop();
}

static void assert_last_request(const char *want)
{
    pthread_mutex_lock(&srv.mu);
    cr_assert_eq(srv.last_len, strlen(want), "got \"%.*s\"", (int)srv.last_len, srv.last);
    cr_assert(memcmp(srv.last, want, srv.last_len) == 0, "got \"%.*s\"\nwant \"%s\"",
              (int)srv.last_len, srv.last, want);
    pthread_mutex_unlock(&srv.mu);
}

Test(http_client, exact_request_bytes)
{
    srv_start(SRV_OK, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    char want[512];

    ccd_http_request_t req = request("GET", url("/a/b?x=1&y=2#frag"));
    cr_assert_eq(perform(s, &req).err, 0);
    snprintf(want, sizeof(want),
             "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: cicada/%s\r\n\r\n",
             srv.port, CICADA_VERSION);
    assert_last_request(want);

    ccd_header_t hdrs[] = {{sl("X-Test"), sl("1")}, {sl("Content-Type"), sl("text/plain")}};
    req = request("POST", url("/post"));
    req.headers = hdrs;
    req.nheaders = 2;
    req.body = sl("abc");
    cr_assert_eq(perform(s, &req).err, 0);
    snprintf(want, sizeof(want),
             "POST /post HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: cicada/%s\r\n"
             "X-Test: 1\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc",
             srv.port, CICADA_VERSION);
    assert_last_request(want);

    req = request("PUT", url(""));
    cr_assert_eq(perform(s, &req).err, 0);
    snprintf(want, sizeof(want),
             "PUT / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: cicada/%s\r\n"
             "Content-Length: 0\r\n\r\n",
             srv.port, CICADA_VERSION);
    assert_last_request(want);

    ccd_header_t over[] = {{sl("host"), sl("example.com")}, {sl("User-Agent"), sl("me")}};
    req = request("DELETE", url("/x"));
    req.headers = over;
    req.nheaders = 2;
    cr_assert_eq(perform(s, &req).err, 0);
    assert_last_request("DELETE /x HTTP/1.1\r\nhost: example.com\r\nUser-Agent: me\r\n\r\n");
    cr_assert_eq(atomic_load(&srv.nconn), 1);
    ccd_http_session_free(s);
    srv_stop();
}

/* A URL the caller parsed already goes on the wire as if the client had parsed it. */
Test(http_client, pre_parsed_url)
{
    srv_start(SRV_OK, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    const char *u = url("/p/q?r=1#frag");
    ccd_url_t parsed;
    cr_assert_eq(ccd_url_parse(u, strlen(u), &parsed), 0);
    ccd_http_request_t req = request("GET", u);
    req.parsed = &parsed;
    result_t r = perform(s, &req);
    cr_assert_eq(r.err, 0, "%s", r.errmsg);
    cr_assert_str_eq(r.target, "/p/q?r=1");
    char want[256];
    snprintf(want, sizeof(want),
             "GET /p/q?r=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: cicada/%s\r\n\r\n",
             srv.port, CICADA_VERSION);
    assert_last_request(want);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, chunked_response)
{
    srv_start(SRV_CHUNKED, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    for (int i = 0; i < 3; i++) {
        ccd_http_request_t req = request("GET", url("/"));
        result_t r = perform(s, &req);
        cr_assert_eq(r.err, 0, "%s", r.errmsg);
        cr_assert_eq(r.body_len, 7);
        cr_assert(memcmp(r.body, "chunked", 7) == 0);
        cr_assert_eq(r.nheaders, 1);
    }
    cr_assert_eq(atomic_load(&srv.nconn), 1);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, head_has_no_body)
{
    srv_start(SRV_OK, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("HEAD", url("/"));
    result_t r = perform(s, &req);
    cr_assert_eq(r.err, 0, "%s", r.errmsg);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 0);
    req = request("GET", url("/"));
    r = perform(s, &req);
    cr_assert_eq(r.body_len, 5, "the connection is still in step after HEAD");
    cr_assert_eq(atomic_load(&srv.nconn), 1);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, ipv6_loopback)
{
    if (!srv_start(SRV_OK, true))
        cr_skip_test("no IPv6 loopback");
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    char u[64];
    snprintf(u, sizeof(u), "http://[::1]:%d/six", srv.port);
    ccd_http_request_t req = request("GET", u);
    result_t r = perform(s, &req);
    cr_assert_eq(r.err, 0, "%s", r.errmsg);
    cr_assert_eq(r.status, 200);
    char want[256];
    snprintf(want, sizeof(want),
             "GET /six HTTP/1.1\r\nHost: [::1]:%d\r\nUser-Agent: cicada/%s\r\n\r\n", srv.port,
             CICADA_VERSION);
    assert_last_request(want);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, localhost_resolves)
{
    srv_start(SRV_OK, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    char u[64];
    snprintf(u, sizeof(u), "http://localhost:%d/", srv.port);
    ccd_http_request_t req = request("GET", u);
    result_t r = perform(s, &req);
    cr_assert_eq(r.err, 0, "%s", r.errmsg);
    cr_assert_eq(r.status, 200);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, bad_urls)
{
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    result_t r = {0};
    ccd_http_request_t req = request("GET", "ftp://127.0.0.1/");
    cr_assert_eq(ccd_http_send(s, &req, on_response, &r), CCD_EURL);
    req = request("GET", "not a url");
    cr_assert_eq(ccd_http_send(s, &req, on_response, &r), CCD_EURL);
    req = request("", "http://127.0.0.1:1/");
    cr_assert_eq(ccd_http_send(s, &req, on_response, &r), CCD_EINVAL);
    req = request("GET", "http://127.0.0.1:1/");
    cr_assert_eq(ccd_http_send(s, &req, on_response, &r), 0);
    while (!r.done)
        ev_run(loop, EVRUN_ONCE);
    cr_assert_eq(r.err, CCD_ECONNREFUSED);
    ccd_http_session_free(s);
}

/* Requests sent at once on one session: the first `per_origin` open a connection each, the
 * others wait and go on those connections as they are free. */
static void run_concurrent(int n, unsigned per_origin, int want_conns)
{
    srv_start(SRV_OK, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    result_t r[16] = {0};
    for (int i = 0; i < n; i++) {
        ccd_http_request_t req = request("GET", url("/"));
        req.per_origin = per_origin;
        cr_assert_eq(ccd_http_send(s, &req, on_response, &r[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        while (!r[i].done)
            ev_run(loop, EVRUN_ONCE);
        cr_assert_eq(r[i].err, 0, "%d: %s", i, r[i].errmsg);
        cr_assert_eq(r[i].status, 200);
    }
    cr_assert_eq(atomic_load(&srv.nreq), n);
    cr_assert_eq(atomic_load(&srv.nconn), want_conns);
    /* Afterwards a lone request reuses one of the idle connections. */
    result_t last = perform(s, &(ccd_http_request_t){.method = sl("GET"), .url = sl(url("/"))});
    cr_assert_eq(last.status, 200);
    cr_assert_eq(atomic_load(&srv.nconn), want_conns);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, concurrent_requests_up_to_the_limit_per_origin)
{
    run_concurrent(10, 3, 3);
}

Test(http_client, concurrent_requests_default_to_one_connection)
{
    run_concurrent(4, 0, 1);
}

/* Canceling one request of several leaves the others, and a waiting one takes its place. */
Test(http_client, cancel_one_of_several)
{
    srv_start(SRV_OK, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    result_t r[3] = {0};
    for (int i = 0; i < 3; i++) {
        ccd_http_request_t req = request("GET", url("/"));
        req.per_origin = 1;
        cr_assert_eq(ccd_http_send(s, &req, i == 0 ? never_called : on_response, &r[i]), 0);
    }
    ccd_http_cancel_ud(s, &r[0]);
    for (int i = 1; i < 3; i++) {
        while (!r[i].done)
            ev_run(loop, EVRUN_ONCE);
        cr_assert_eq(r[i].status, 200, "%d: %s", i, r[i].errmsg);
    }
    cr_assert_not(r[0].done);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, unresolvable_name)
{
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", "http://bad..name/");
    result_t r = perform(s, &req);
    cr_assert_eq(r.err, CCD_EDNS, "err %d: %s", r.err, r.errmsg);
    cr_assert_str_eq(r.errmsg, "cannot resolve bad..name: Misformatted domain name");
    ccd_http_session_free(s);
}

Test(http_client, cancel_and_free_at_any_state)
{
    srv_start(SRV_SILENT, false);
    /* Canceled right after send (connecting), after some loop turns (waiting for the response),
     * and freed while busy. */
    for (int turns = 0; turns < 6; turns++) {
        ccd_http_session_t *s = ccd_http_session_new(ctx);
        ccd_http_request_t req = request("GET", url("/"));
        cr_assert_eq(ccd_http_send(s, &req, never_called, NULL), 0);
        for (int i = 0; i < turns; i++)
            ev_run(loop, EVRUN_NOWAIT);
        if (turns % 2)
            ccd_http_cancel(s);
        ccd_http_session_free(s);
    }
    /* A failure deferred from inside send() is canceled too. */
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", "http://bad..name/");
    cr_assert_eq(ccd_http_send(s, &req, never_called, NULL), 0);
    ccd_http_cancel(s);
    for (int i = 0; i < 5; i++)
        ev_run(loop, EVRUN_NOWAIT);
    ccd_http_session_free(s);
    srv_stop();
}

/* The engine sends the next request from inside the callback. */
typedef struct {
    ccd_http_session_t *s;
    int left;
    int ok;
} chain_t;

static void on_chain(void *ud, const ccd_http_response_t *res)
{
    chain_t *ch = ud;
    ch->ok += res->err == 0 && res->status == 200;
    if (--ch->left > 0) {
        ccd_http_request_t req = request("GET", url("/"));
        cr_assert_eq(ccd_http_send(ch->s, &req, on_chain, ch), 0);
    }
}

Test(http_client, send_from_callback)
{
    srv_start(SRV_OK, false);
    chain_t ch = {ccd_http_session_new(ctx), 10, 0};
    ccd_http_request_t req = request("GET", url("/"));
    cr_assert_eq(ccd_http_send(ch.s, &req, on_chain, &ch), 0);
    while (ch.left > 0)
        ev_run(loop, EVRUN_ONCE);
    cr_assert_eq(ch.ok, 10);
    cr_assert_eq(atomic_load(&srv.nconn), 1);
    ccd_http_session_free(ch.s);
    srv_stop();
}

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_MEASURABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_MEASURABLE 0
#endif
#endif
#ifndef HEAP_MEASURABLE
#define HEAP_MEASURABLE 1
#endif

Test(http_client, idle_session_heap)
{
    if (!HEAP_MEASURABLE)
        cr_skip_test("heap not measurable under the address sanitizer");
    enum { N = 200 };
    srv_start(SRV_OK, false);
    static ccd_http_session_t *ss[N];
    ccd_http_session_t *warm = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", url("/"));
    perform(warm, &req);
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < N; i++) {
        ss[i] = ccd_http_session_new(ctx);
        result_t r = perform(ss[i], &req);
        cr_assert_eq(r.err, 0, "%s", r.errmsg);
    }
    size_t per = (mallinfo2().uordblks - before) / N;
    cr_log_info("heap per idle session with a keep-alive connection: %zu bytes", per);
    fprintf(stderr, "heap per idle session with a keep-alive connection: %zu bytes\n", per);
    cr_assert_lt(per, 1024, "%zu bytes per idle session", per);
    cr_assert_eq(atomic_load(&srv.nconn), N + 1);
    for (int i = 0; i < N; i++)
        ccd_http_session_free(ss[i]);
    ccd_http_session_free(warm);
    srv_stop();
}

Test(http_client, unexpected_bytes_after_a_response_close_the_connection)
{
    srv_start(SRV_EXTRA, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    for (int i = 0; i < 3; i++) {
        ccd_http_request_t req = request("GET", url("/"));
        result_t r = perform(s, &req);
        cr_assert_eq(r.err, 0, "%s", r.errmsg);
        cr_assert_eq(r.body_len, 5);
    }
    cr_assert_eq(atomic_load(&srv.nconn), 3, "each response's extra bytes cost its connection");
    ccd_http_session_free(s);
    srv_stop();
}

/* Stale bytes arriving on an idle connection must not pass for the next response. */
Test(http_client, bytes_arriving_on_an_idle_connection_close_it)
{
    srv_start(SRV_EXTRA_LATE, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    for (int i = 0; i < 3; i++) {
        ccd_http_request_t req = request("GET", url("/"));
        result_t r = perform(s, &req);
        cr_assert_eq(r.err, 0, "request %d: %s", i, r.errmsg);
        cr_assert_eq(r.body_len, 5);
        int64_t until = ccd_clock_us() + 100000;
        while (ccd_clock_us() < until)
            ev_run(loop, EVRUN_NOWAIT);
    }
    cr_assert_eq(atomic_load(&srv.nconn), 3);
    ccd_http_session_free(s);
    srv_stop();
}

/* The server's close of an idle connection is noticed while idle: no retry is needed. */
Test(http_client, close_of_an_idle_connection_is_noticed)
{
    srv_start(SRV_CLOSE_AFTER, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    for (int i = 0; i < 3; i++) {
        ccd_http_request_t req = request("GET", url("/"));
        result_t r = perform(s, &req);
        cr_assert_eq(r.err, 0, "request %d: %s", i, r.errmsg);
        int64_t until = ccd_clock_us() + 50000;
        while (ccd_clock_us() < until)
            ev_run(loop, EVRUN_NOWAIT);
    }
    cr_assert_eq(atomic_load(&srv.nconn), 3);
    cr_assert_eq(atomic_load(&srv.nreq), 3);
    ccd_http_session_free(s);
    srv_stop();
}

typedef struct {
    ccd_http_session_t *s;
    int left;
    int ok;
    int *running;
} user_t;

static void on_user(void *ud, const ccd_http_response_t *res)
{
    user_t *u = ud;
    u->ok += res->err == 0 && res->status == 200 && res->body.len == 5;
    if (--u->left > 0) {
        ccd_http_request_t req = request("GET", url("/"));
        cr_assert_eq(ccd_http_send(u->s, &req, on_user, u), 0);
    } else {
        --*u->running;
    }
}

Test(http_client, many_sessions_concurrently)
{
    enum { USERS = 50, EACH = 20 };
    srv_start(SRV_OK, false);
    static user_t users[USERS];
    int running = USERS;
    for (int i = 0; i < USERS; i++) {
        users[i] = (user_t){ccd_http_session_new(ctx), EACH, 0, &running};
        ccd_http_request_t req = request("GET", url("/"));
        cr_assert_eq(ccd_http_send(users[i].s, &req, on_user, &users[i]), 0);
    }
    while (running > 0)
        ev_run(loop, EVRUN_ONCE);
    for (int i = 0; i < USERS; i++) {
        cr_assert_eq(users[i].ok, EACH, "user %d: %d ok", i, users[i].ok);
        ccd_http_session_free(users[i].s);
    }
    cr_assert_eq(atomic_load(&srv.nconn), USERS);
    cr_assert_eq(atomic_load(&srv.nreq), USERS * EACH);
    srv_stop();
}

/* A listener whose accept queue is full drops new SYNs, so connecting hangs. */
Test(http_client, connect_timeout)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    listen(lfd, 0);
    getsockname(lfd, (struct sockaddr *)&a, &al);
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fillers[i], (struct sockaddr *)&a, sizeof(a));
    }
    usleep(50000);
    char u[64];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/", ntohs(a.sin_port));
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", u);
    req.connect_timeout = 0.3;
    int64_t t0 = ccd_clock_us();
    result_t r = perform(s, &req);
    int64_t took = ccd_clock_us() - t0;
    cr_assert_eq(r.err, CCD_ECONNTIMEOUT, "err %d: %s", r.err, r.errmsg);
    char want[96];
    snprintf(want, sizeof(want), "connect timeout after 0.3s (127.0.0.1:%d)", ntohs(a.sin_port));
    cr_assert_str_eq(r.errmsg, want);
    cr_assert(took >= 290000 && took < 1500000, "took %lld us", (long long)took);
    ccd_http_session_free(s);
    for (int i = 0; i < 4; i++)
        close(fillers[i]);
    close(lfd);
}

Test(http_client, malformed_response)
{
    srv_start(SRV_GARBAGE, false);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    ccd_http_request_t req = request("GET", url("/"));
    result_t r = perform(s, &req);
    cr_assert_eq(r.err, CCD_EPROTO, "err %d: %s", r.err, r.errmsg);
    cr_assert(strncmp(r.errmsg, "malformed response: ", 20) == 0, "%s", r.errmsg);
    ccd_http_session_free(s);
    srv_stop();
}

Test(http_client, body_until_close_and_connection_close)
{
    for (int mode = SRV_UNTIL_CLOSE; mode <= SRV_CONN_CLOSE; mode++) {
        srv_start(mode, false);
        ccd_http_session_t *s = ccd_http_session_new(ctx);
        for (int i = 0; i < 2; i++) {
            ccd_http_request_t req = request("GET", url("/"));
            result_t r = perform(s, &req);
            cr_assert_eq(r.err, 0, "%s", r.errmsg);
            cr_assert_eq(r.status, 200);
            const char *want = mode == SRV_UNTIL_CLOSE ? "until close" : "ok";
            cr_assert_eq(r.body_len, strlen(want));
            cr_assert(memcmp(r.body, want, r.body_len) == 0);
        }
        cr_assert_eq(atomic_load(&srv.nconn), 2, "a closed connection is not reused");
        ccd_http_session_free(s);
        srv_stop();
    }
}

/* ---- a soak: many users, random timeouts, cancels and frees at any state ---- */

enum { SOAK_USERS = 64 };

typedef struct {
    ccd_http_session_t *s;
    bool canceled;
} soak_user_t;

static soak_user_t soak[SOAK_USERS];
static int64_t soak_until;
static long soak_done;

static void soak_send(soak_user_t *u);

static void on_soak(void *ud, const ccd_http_response_t *res)
{
    soak_user_t *u = ud;
    cr_assert_not(u->canceled, "callback after cancel");
    cr_assert(res->err != 0 || res->status == 200);
    cr_assert_not_null(res->errmsg);
    soak_done++;
    if (rand() % 16 == 0) {
        ccd_http_session_free(u->s);
        u->s = ccd_http_session_new(ctx);
    }
    soak_send(u);
}

static void soak_send(soak_user_t *u)
{
    if (ccd_clock_us() >= soak_until)
        return;
    const char *urls[] = {url("/"), "http://127.0.0.1:1/", "http://localhost:1/"};
    const char *target = urls[rand() % 4 == 0 ? 1 + rand() % 2 : 0];
    ccd_http_request_t req = request(rand() % 8 ? "GET" : "HEAD", target);
    req.timeout = rand() % 4 == 0 ? 0.0005 : 5;
    u->canceled = false;
    cr_assert_eq(ccd_http_send(u->s, &req, on_soak, u), 0);
}

static void soak_tick(struct ev_loop *l, ev_timer *w, int revents)
{
    soak_user_t *u = &soak[rand() % SOAK_USERS];
    u->canceled = true;
    if (rand() % 2) {
        ccd_http_cancel(u->s);
    } else {
        ccd_http_session_free(u->s);
        u->s = ccd_http_session_new(ctx);
    }
    soak_send(u);
    if (ccd_clock_us() >= soak_until)
        ev_timer_stop(l, w);
}

Test(http_client, soak_with_random_cancels)
{
    srv_start(SRV_OK, false);
    srand(7);
    soak_until = ccd_clock_us() + 1500000;
    for (int i = 0; i < SOAK_USERS; i++) {
        soak[i].s = ccd_http_session_new(ctx);
        soak_send(&soak[i]);
    }
    ev_timer tick;
    ev_timer_init(&tick, soak_tick, 0.0005, 0.0005);
    ev_timer_start(loop, &tick);
    ev_run(loop, 0); /* returns once every request is over: nothing left watched */
    cr_assert_gt(soak_done, 1000, "%ld requests", soak_done);
    for (int i = 0; i < SOAK_USERS; i++)
        ccd_http_session_free(soak[i].s);
    srv_stop();
}
