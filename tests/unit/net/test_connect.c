/* Tests of the connect machine on a real libev loop, against loopback listeners only. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/error.h"
#include "net/connect.h"

static struct ev_loop *loop;
static ccd_dns_t *dns;
static ccd_tls_t *tls;
static ccd_connect_t m;
static ccd_conn_t conn;

/* The callback's outcome, copied. */
static int calls, got_err;
static char got_msg[256];

static void on_done(void *ud, int err, const char *msg)
{
    calls++;
    got_err = err;
    snprintf(got_msg, sizeof got_msg, "%s", msg ? msg : "");
}

static void setup(void)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_eq(ccd_dns_create(&dns, loop), 0);
    cr_assert_eq(ccd_tls_create(&tls, NULL), 0);
    ccd_connect_init(&m, loop, dns, tls);
    conn = (ccd_conn_t){.fd = -1};
    calls = 0;
}

static void teardown(void)
{
    ccd_connect_cancel(&m);
    ccd_conn_close(&conn, NULL, false);
    ccd_tls_destroy(tls);
    ccd_dns_destroy(dns);
    ev_loop_destroy(loop);
}

TestSuite(connect, .init = setup, .fini = teardown, .timeout = 20);

/* Runs the loop until the callback has been called, for at most s seconds. */
static void run_until_done(double s)
{
    int64_t end = ccd_clock_us() + (int64_t)(s * 1e6);
    while (calls == 0 && ccd_clock_us() < end)
        ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
    cr_assert_eq(calls, 1, "the callback was called %d times, not once", calls);
}

/* A loopback listener with the given backlog; its port in *port. */
static int listener(int backlog, int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(bind(fd, (struct sockaddr *)&a, len) == 0 && listen(fd, backlog) == 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static ccd_connect_opts_t opts(const char *host, int port)
{
    return (ccd_connect_opts_t){.host = host, .port = (uint16_t)port, .name_address = true};
}

Test(connect, listening_loopback_socket)
{
    int port;
    int lfd = listener(8, &port);
    ccd_connect_opts_t o = opts("127.0.0.1", port);
    ccd_connect_start(&m, &conn, &o, on_done, NULL);
    run_until_done(2);
    cr_assert_eq(got_err, 0, "%s", got_msg);
    cr_assert_geq(conn.fd, 0, "the connection is the caller's");
    cr_assert_not(ccd_connect_busy(&m));
    int sfd = accept(lfd, NULL, NULL);
    cr_assert_geq(sfd, 0);
    cr_assert_eq(write(conn.fd, "x", 1), 1);
    char c;
    cr_assert_eq(read(sfd, &c, 1), 1);
    close(sfd);
    close(lfd);
}

Test(connect, refused_port_names_the_address)
{
    ccd_connect_opts_t o = opts("127.0.0.1", 1);
    ccd_connect_start(&m, &conn, &o, on_done, NULL);
    if (calls == 0)
        run_until_done(2);
    cr_assert_eq(got_err, CCD_ECONNREFUSED);
    cr_assert_str_eq(got_msg, "connection refused (127.0.0.1:1)");
    cr_assert_eq(conn.fd, -1, "a failure closes the socket");
}

Test(connect, refused_port_without_the_address)
{
    ccd_connect_opts_t o = opts("127.0.0.1", 1);
    o.name_address = false;
    ccd_connect_start(&m, &conn, &o, on_done, NULL);
    if (calls == 0)
        run_until_done(2);
    cr_assert_eq(got_err, CCD_ECONNREFUSED);
    cr_assert_str_eq(got_msg, "connection refused");
}

Test(connect, refused_on_ipv6_loopback)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        cr_skip_test("no IPv6 loopback");
    }
    close(fd);
    ccd_connect_opts_t o = opts("::1", 1);
    ccd_connect_start(&m, &conn, &o, on_done, NULL);
    if (calls == 0)
        run_until_done(2);
    cr_assert_eq(got_err, CCD_ECONNREFUSED);
    cr_assert_str_eq(got_msg, "connection refused ([::1]:1)");
}

/* A listener whose accept queue is full drops new SYNs, so connecting hangs. */
Test(connect, timeout_against_a_full_backlog)
{
    int port;
    int lfd = listener(0, &port);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    a.sin_port = htons((uint16_t)port);
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fillers[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(50000);
    ccd_connect_opts_t o = opts("127.0.0.1", port);
    o.timeout = 0.3;
    int64_t t0 = ccd_clock_us();
    ccd_connect_start(&m, &conn, &o, on_done, NULL);
    run_until_done(3);
    int64_t took = ccd_clock_us() - t0;
    cr_assert_eq(got_err, CCD_ECONNTIMEOUT, "%d: %s", got_err, got_msg);
    char want[96];
    snprintf(want, sizeof want, "connect timeout after 0.3s (127.0.0.1:%d)", port);
    cr_assert_str_eq(got_msg, want);
    cr_assert(took >= 290000 && took < 1500000, "took %lld us", (long long)took);
    cr_assert_eq(conn.fd, -1);
    for (int i = 0; i < 4; i++)
        close(fillers[i]);
    close(lfd);
}

Test(connect, cancel_drops_the_callback)
{
    int port;
    int lfd = listener(8, &port);
    ccd_connect_opts_t o = opts("127.0.0.1", port);
    ccd_connect_start(&m, &conn, &o, on_done, NULL);
    cr_assert(ccd_connect_busy(&m));
    ccd_connect_cancel(&m);
    cr_assert_not(ccd_connect_busy(&m));
    int64_t end = ccd_clock_us() + 200000;
    while (ccd_clock_us() < end)
        ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
    cr_assert_eq(calls, 0);
    close(lfd);
}
