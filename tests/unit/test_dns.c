/* Tests of name resolution: literals, /etc/hosts, the cache, failures and cancelation. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ev.h>
#include <string.h>

#include "dns.h"
#include "error.h"

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
