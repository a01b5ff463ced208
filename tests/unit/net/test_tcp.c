/* Tests of client sockets on a real libev loop, the server side driven by the test itself. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "net/tcp.h"

static struct ev_loop *loop;
static ccd_dns_t *dns;
static ccd_tls_t *tls;
static ccd_tcp_t t;
static int lfd = -1, sfd = -1, port;

/* The last callback's outcome, copied (its bytes live in the socket's buffer). */
static int calls;
static ccd_tcp_result_t got;
static char got_data[256 * 1024];

static void on_done(void *ud, const ccd_tcp_result_t *r)
{
    calls++;
    got = *r;
    memcpy(got_data, r->data, r->len < sizeof got_data ? r->len : sizeof got_data);
}

static void setup(void)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_eq(ccd_dns_create(&dns, loop), 0);
    cr_assert_eq(ccd_tls_create(&tls, NULL), 0);
    ccd_tcp_init(&t, loop, dns, tls);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(bind(lfd, (struct sockaddr *)&a, len) == 0 && listen(lfd, 8) == 0);
    getsockname(lfd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    calls = 0;
}

static void teardown(void)
{
    ccd_tcp_free(&t);
    if (sfd >= 0)
        close(sfd);
    close(lfd);
    sfd = -1;
    ccd_tls_destroy(tls);
    ccd_dns_destroy(dns);
    ev_loop_destroy(loop);
}

TestSuite(tcp, .init = setup, .fini = teardown, .timeout = 20);

/* Runs the loop until the callback has been called n times in all, for at most 2 s. */
static void run_until(int n)
{
    double end = (double)ccd_clock_us() / 1e6 + 2;
    while (calls < n && (double)ccd_clock_us() / 1e6 < end)
        ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
    cr_assert_eq(calls, n, "the callback was called %d times, not %d", calls, n);
}

/* Runs the loop for s seconds whatever happens. */
static void run_for(double s)
{
    double end = (double)ccd_clock_us() / 1e6 + s;
    while ((double)ccd_clock_us() / 1e6 < end)
        ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
}

static void put(const char *s)
{
    cr_assert_eq(write(sfd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Connects the socket to the listener and accepts the server's end. */
static void connect_plain(void)
{
    ccd_tcp_connect_opts_t o = {0};
    ccd_tcp_result_t now;
    int rc = ccd_tcp_connect(&t, "127.0.0.1", (uint16_t)port, &o, on_done, NULL, &now);
    if (rc == CCD_TCP_PENDING) {
        run_until(1);
        now = got;
        calls = 0;
    }
    cr_assert_eq(now.err, 0, "connect: %s", now.msg);
    sfd = accept(lfd, NULL, NULL);
    cr_assert_geq(sfd, 0);
}

/* Starts a receive that must wait. */
static void receive_pending(ccd_tcp_want_t w)
{
    ccd_tcp_result_t now;
    cr_assert_eq(ccd_tcp_receive(&t, &w, on_done, NULL, &now), CCD_TCP_PENDING);
}

/* A receive that must end within the call, without the callback. */
static ccd_tcp_result_t receive_now(ccd_tcp_want_t w)
{
    ccd_tcp_result_t now;
    int before = calls;
    cr_assert_eq(ccd_tcp_receive(&t, &w, on_done, NULL, &now), 0);
    cr_assert_eq(calls, before, "the callback ran for an operation that ended in the call");
    return now;
}

static bool result_is(const ccd_tcp_result_t *r, const char *data)
{
    return r->len == strlen(data) && memcmp(r->data, data, r->len) == 0;
}

Test(tcp, line_split_across_reads_then_one_already_buffered)
{
    connect_plain();
    receive_pending((ccd_tcp_want_t){.mode = CCD_TCP_LINE});
    put("hel");
    run_for(0.05);
    cr_assert_eq(calls, 0, "a partial line completed the receive");
    put("lo\r\nnext\nrest");
    run_until(1);
    cr_assert_eq(got.err, 0);
    cr_assert_eq(got.len, 5);
    cr_assert_eq(memcmp(got_data, "hello", 5), 0);
    ccd_tcp_result_t r = receive_now((ccd_tcp_want_t){.mode = CCD_TCP_LINE});
    cr_assert(result_is(&r, "next"), "second line: %.*s", (int)r.len, r.data);
}

Test(tcp, delimiter_straddling_two_reads)
{
    connect_plain();
    receive_pending((ccd_tcp_want_t){.mode = CCD_TCP_UNTIL, .delim = "--END", .delim_len = 5});
    put("ab--");
    run_for(0.05);
    cr_assert_eq(calls, 0);
    put("END--rest");
    run_until(1);
    cr_assert_eq(got.len, 2);
    cr_assert_eq(memcmp(got_data, "ab", 2), 0);
    ccd_tcp_result_t r = receive_now((ccd_tcp_want_t){.mode = CCD_TCP_SIZE, .size = 6});
    cr_assert(result_is(&r, "--rest"), "after the delimiter: %.*s", (int)r.len, r.data);
}

Test(tcp, large_sized_receive_grows_the_buffer)
{
    enum { N = 200 * 1000 };
    static char big[N];
    for (size_t i = 0; i < N; i++)
        big[i] = (char)('a' + i % 26);
    connect_plain();
    receive_pending((ccd_tcp_want_t){.mode = CCD_TCP_SIZE, .size = N});
    cr_assert_eq(write(sfd, big, N), N);
    run_until(1);
    cr_assert_eq(got.err, 0);
    cr_assert_eq(got.len, N);
    cr_assert_eq(memcmp(got_data, big, N), 0);
}

Test(tcp, receive_timeout_returns_what_arrived_and_keeps_the_socket)
{
    connect_plain();
    ccd_tcp_set_timeout(&t, 0.1);
    receive_pending((ccd_tcp_want_t){.mode = CCD_TCP_SIZE, .size = 10});
    put("abc");
    int64_t t0 = ccd_clock_us();
    run_until(1);
    double took = (double)(ccd_clock_us() - t0) / 1e6;
    cr_assert_eq(got.err, CCD_ETIMEDOUT);
    cr_assert_str_eq(got.msg, "timeout");
    cr_assert_eq(got.len, 3);
    cr_assert(took > 0.08 && took < 0.5, "timed out after %.3f s", took);
    cr_assert(ccd_tcp_is_open(&t));
    put("x\n");
    run_for(0.02);
    ccd_tcp_result_t r = receive_now((ccd_tcp_want_t){.mode = CCD_TCP_LINE});
    cr_assert(result_is(&r, "x"));
}

Test(tcp, end_of_stream)
{
    connect_plain();
    receive_pending((ccd_tcp_want_t){.mode = CCD_TCP_ALL});
    put("xyz");
    close(sfd);
    sfd = -1;
    run_until(1);
    cr_assert_eq(got.err, 0);
    cr_assert_eq(got.len, 3);
    cr_assert_eq(memcmp(got_data, "xyz", 3), 0);
    cr_assert_not(ccd_tcp_is_open(&t));
    ccd_tcp_result_t r = receive_now((ccd_tcp_want_t){.mode = CCD_TCP_LINE});
    cr_assert_eq(r.err, CCD_ECLOSED);
    cr_assert_str_eq(r.msg, "closed");
}

Test(tcp, peer_closing_mid_receive_fails_with_the_partial)
{
    connect_plain();
    receive_pending((ccd_tcp_want_t){.mode = CCD_TCP_SIZE, .size = 100});
    put("part");
    close(sfd);
    sfd = -1;
    run_until(1);
    cr_assert_eq(got.err, CCD_ECLOSED);
    cr_assert_eq(got.len, 4);
    cr_assert_eq(memcmp(got_data, "part", 4), 0);
}

Test(tcp, close_drops_the_pending_operation_without_its_callback)
{
    connect_plain();
    receive_pending((ccd_tcp_want_t){.mode = CCD_TCP_LINE});
    ccd_tcp_close(&t);
    put("late\n");
    run_for(0.1);
    cr_assert_eq(calls, 0);
    cr_assert_not(ccd_tcp_busy(&t));
}

Test(tcp, one_operation_at_a_time)
{
    connect_plain();
    receive_pending((ccd_tcp_want_t){.mode = CCD_TCP_LINE});
    ccd_tcp_result_t now;
    cr_assert_eq(ccd_tcp_send(&t, "x", 1, on_done, NULL, &now), 0);
    cr_assert_eq(now.err, CCD_EINVAL);
    cr_assert_str_eq(now.msg, "socket busy");
    put("line\n");
    run_until(1);
    cr_assert_eq(got.err, 0, "the first operation was disturbed");
}

Test(tcp, send_writes_everything)
{
    connect_plain();
    ccd_tcp_result_t now;
    int rc = ccd_tcp_send(&t, "hello\n", 6, on_done, NULL, &now);
    if (rc == CCD_TCP_PENDING) {
        run_until(1);
        now = got;
    }
    cr_assert_eq(now.err, 0);
    cr_assert_eq(now.len, 6);
    char buf[16] = "";
    cr_assert_eq(read(sfd, buf, sizeof buf), 6);
    cr_assert_str_eq(buf, "hello\n");
}

Test(tcp, refused)
{
    close(lfd); /* nothing listens on the port any more */
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    ccd_tcp_connect_opts_t o = {0};
    ccd_tcp_result_t now;
    int rc = ccd_tcp_connect(&t, "127.0.0.1", (uint16_t)port, &o, on_done, NULL, &now);
    if (rc == CCD_TCP_PENDING) {
        run_until(1);
        now = got;
    }
    cr_assert_eq(now.err, CCD_ECONNREFUSED);
    cr_assert_str_eq(now.msg, "connection refused");
    cr_assert_not(ccd_tcp_is_open(&t));
}
