/* Tests of name resolution: literals, /etc/hosts, the cache, failures and cancelation. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string.h>

#include "net/dns.h"
#include "base/error.h"

static struct ev_loop *loop;
static ccd_dns_t *dns;

static void setup(void)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_eq(ccd_dns_create(&dns, loop), 0);
    /* Lookups that reach DNS stay on this machine: nothing listens on port 1. */
    cr_assert_eq(ccd_dns_set_servers(dns, "127.0.0.1:1"), 0);
}

static void teardown(void)
{
    ccd_dns_destroy(dns);
    ev_loop_destroy(loop);
}

TestSuite(dns, .init = setup, .fini = teardown, .timeout = 30);

typedef struct {
    bool done;
    int err;
    ccd_dns_addrs_t addrs;
} answer_t;

static void on_answer(void *ud, int err, const ccd_dns_addrs_t *addrs)
{
    answer_t *a = ud;
    a->done = true;
    a->err = err;
    a->addrs = *addrs;
}

/* Resolves host, waiting on the loop when the answer is not immediate. */
static int resolve(const char *host, ccd_dns_addrs_t *out, bool *immediate)
{
    answer_t a = {0};
    ccd_dns_query_t *q = NULL;
    int rc = ccd_dns_resolve(dns, host, out, on_answer, &a, &q);
    *immediate = rc != 1;
    if (rc != 1)
        return rc;
    cr_assert_not_null(q);
    while (!a.done)
        ev_run(loop, EVRUN_ONCE);
    *out = a.addrs;
    return a.err;
}

static void assert_addr(const ccd_dns_addr_t *a, uint16_t port, const char *want)
{
    char buf[64];
    ccd_dns_format(a, port, buf, sizeof(buf));
    cr_assert_str_eq(buf, want);
}

Test(dns, ip_literals_need_no_lookup)
{
    ccd_dns_addrs_t out;
    bool now;
    cr_assert_eq(resolve("127.0.0.1", &out, &now), 0);
    cr_assert(now);
    cr_assert_eq(out.n, 1);
    assert_addr(&out.addr[0], 80, "127.0.0.1:80");
    cr_assert_eq(resolve("::1", &out, &now), 0);
    cr_assert(now);
    assert_addr(&out.addr[0], 443, "[::1]:443");
}

Test(dns, localhost_from_hosts_file_then_cached)
{
    ccd_dns_addrs_t out;
    bool now;
    cr_assert_eq(resolve("localhost", &out, &now), 0);
    cr_assert_geq(out.n, 1);
    bool loopback = false;
    for (unsigned i = 0; i < out.n; i++) {
        char buf[64];
        ccd_dns_format(&out.addr[i], 1, buf, sizeof(buf));
        loopback |= strcmp(buf, "127.0.0.1:1") == 0 || strcmp(buf, "[::1]:1") == 0;
    }
    cr_assert(loopback, "localhost resolves to a loopback address");
    ccd_dns_addrs_t again;
    cr_assert_eq(resolve("localhost", &again, &now), 0);
    cr_assert(now, "the second lookup is answered from the cache");
    cr_assert_eq(again.n, out.n);
    cr_assert(memcmp(again.addr, out.addr, out.n * sizeof(out.addr[0])) == 0);
}

Test(dns, failure_is_cached_briefly)
{
    ccd_dns_addrs_t out;
    bool now;
    cr_assert_eq(resolve("no-such-host.invalid", &out, &now), CCD_EDNS);
    cr_assert_eq(out.n, 0);
    cr_assert(out.detail && out.detail[0], "a reason is given");
    cr_assert_eq(resolve("no-such-host.invalid", &out, &now), CCD_EDNS);
    cr_assert(now, "the negative answer is cached");
}

Test(dns, malformed_name_fails_without_a_query)
{
    ccd_dns_addrs_t out;
    bool now;
    cr_assert_eq(resolve("bad..name", &out, &now), CCD_EDNS);
    cr_assert_str_eq(out.detail, "Misformatted domain name");
}

Test(dns, servers_must_parse)
{
    cr_assert_eq(ccd_dns_set_servers(dns, "not an address"), CCD_EINVAL);
}

static void never_called(void *ud, int err, const ccd_dns_addrs_t *addrs)
{
    cr_assert_fail("callback of a canceled lookup");
}

Test(dns, cancel)
{
    ccd_dns_addrs_t out;
    ccd_dns_query_t *q = NULL;
    int rc = ccd_dns_resolve(dns, "canceled.invalid", &out, never_called, NULL, &q);
    if (rc != 1)
        cr_skip_test("answered without a lookup");
    ccd_dns_cancel(q);
    for (int i = 0; i < 50; i++)
        ev_run(loop, EVRUN_NOWAIT);
}

Test(dns, sockaddr)
{
    ccd_dns_addr_t a = {.family = AF_INET};
    inet_pton(AF_INET, "10.1.2.3", a.bytes);
    struct sockaddr_storage ss;
    cr_assert_eq(ccd_dns_sockaddr(&a, 8080, &ss), sizeof(struct sockaddr_in));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    cr_assert_eq(ntohs(in->sin_port), 8080);
    cr_assert_eq(in->sin_family, AF_INET);
    cr_assert_eq(ntohl(in->sin_addr.s_addr), 0x0a010203);
}

/* ---- a tiny DNS server on loopback: every name is 127.0.0.1 (A), with no AAAA ---- */

static int dns_fd;
static atomic_int dns_queries;
static atomic_int dns_stop;
static pthread_t dns_thread;

static size_t dns_answer(const uint8_t *q, size_t n, uint8_t *r)
{
    size_t i = 12;
    while (i < n && q[i])
        i += (size_t)q[i] + 1;
    size_t qend = i + 5; /* the root label, type, class */
    if (qend > n)
        return 0;
    bool a = q[i + 1] == 0 && q[i + 2] == 1;
    memcpy(r, q, qend);
    r[2] = 0x81;        /* response, recursion desired */
    r[3] = 0x80;        /* recursion available, no error */
    r[6] = 0, r[7] = a; /* answers */
    r[8] = r[9] = r[10] = r[11] = 0;
    if (!a)
        return qend;
    static const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
    memcpy(r + qend, rr, sizeof(rr));
    return qend + sizeof(rr);
}

static void *dns_main(void *arg)
{
    while (!atomic_load(&dns_stop)) {
        uint8_t q[512], r[600];
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(dns_fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n < 12)
            continue;
        atomic_fetch_add(&dns_queries, 1);
        size_t rl = dns_answer(q, (size_t)n, r);
        if (rl)
            sendto(dns_fd, r, rl, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

/* Starts the server and points the resolver at it. */
static void dns_server_start(void)
{
    dns_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    cr_assert_eq(bind(dns_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(dns_fd, (struct sockaddr *)&a, &al);
    struct timeval tv = {0, 50000};
    setsockopt(dns_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    pthread_create(&dns_thread, NULL, dns_main, NULL);
    char servers[64];
    snprintf(servers, sizeof(servers), "127.0.0.1:%d", ntohs(a.sin_port));
    cr_assert_eq(ccd_dns_set_servers(dns, servers), 0);
}

static void dns_server_stop(void)
{
    atomic_store(&dns_stop, 1);
    pthread_join(dns_thread, NULL);
    close(dns_fd);
}

Test(dns, answer_from_a_server_then_cached)
{
    dns_server_start();
    ccd_dns_addrs_t out;
    bool now;
    cr_assert_eq(resolve("api.example.test", &out, &now), 0);
    cr_assert_not(now);
    cr_assert_eq(out.n, 1);
    assert_addr(&out.addr[0], 8080, "127.0.0.1:8080");
    int queries = atomic_load(&dns_queries);
    cr_assert_geq(queries, 1);
    cr_assert_eq(resolve("API.Example.test", &out, &now), 0);
    cr_assert(now, "cached, whatever the case of the name");
    cr_assert_eq(atomic_load(&dns_queries), queries);
    dns_server_stop();
}

Test(dns, concurrent_lookups_of_a_name_share_one_query)
{
    dns_server_start();
    answer_t a = {0}, b = {0};
    ccd_dns_query_t *qa, *qb, *qc;
    ccd_dns_addrs_t out;
    cr_assert_eq(ccd_dns_resolve(dns, "shared.example.test", &out, on_answer, &a, &qa), 1);
    cr_assert_eq(ccd_dns_resolve(dns, "shared.example.test", &out, on_answer, &b, &qb), 1);
    cr_assert_eq(ccd_dns_resolve(dns, "shared.example.test", &out, never_called, NULL, &qc), 1);
    ccd_dns_cancel(qc);
    while (!a.done || !b.done)
        ev_run(loop, EVRUN_ONCE);
    cr_assert_eq(a.err, 0);
    cr_assert_eq(b.err, 0);
    cr_assert_eq(b.addrs.n, 1);
    /* One lookup: one A and one AAAA query, however many callers waited. */
    cr_assert_eq(atomic_load(&dns_queries), 2, "%d queries", atomic_load(&dns_queries));
    dns_server_stop();
}
