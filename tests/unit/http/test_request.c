/* Tests of request serialisation: the exact bytes a request puts on the wire. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "http/request.h"
#include "http/url.h"

static ccd_slice_t sl(const char *s)
{
    return (ccd_slice_t){s, strlen(s)};
}

/* Serialises method and url with the given headers and body; checks the bytes. */
static void expect(const char *method, const char *url, const ccd_header_t *h, size_t nh,
                   const char *body, const char *want)
{
    ccd_url_t u;
    cr_assert_eq(ccd_url_parse(url, strlen(url), &u), 0);
    ccd_http_request_t r = {.method = sl(method), .url = sl(url), .headers = h, .nheaders = nh};
    if (body)
        r.body = sl(body);
    ccd_buf_t b = {0};
    cr_assert_eq(ccd_http_request_serialise(&r, &u, "cicada/test", &b), 0);
    char *buf = b.base;
    size_t cap = b.cap, len = b.len;
    cr_assert_eq(len, strlen(want), "got \"%.*s\"", (int)len, buf);
    cr_assert(memcmp(buf, want, len) == 0, "got \"%.*s\"\nwant \"%s\"", (int)len, buf, want);
    cr_assert_geq(cap, len);
    free(buf);
}

Test(http_request, get_default_port)
{
    expect("GET", "http://example.com/a?b=c#f", NULL, 0, NULL,
           "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: cicada/test\r\n\r\n");
    expect("GET", "https://example.com", NULL, 0, NULL,
           "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: cicada/test\r\n\r\n");
}

Test(http_request, host_carries_other_ports_and_ipv6_brackets)
{
    expect("GET", "http://h:8080/", NULL, 0, NULL,
           "GET / HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: cicada/test\r\n\r\n");
    expect("GET", "http://h:65535/", NULL, 0, NULL,
           "GET / HTTP/1.1\r\nHost: h:65535\r\nUser-Agent: cicada/test\r\n\r\n");
    expect("GET", "https://h:80/", NULL, 0, NULL,
           "GET / HTTP/1.1\r\nHost: h:80\r\nUser-Agent: cicada/test\r\n\r\n");
    expect("GET", "http://[::1]:81/x", NULL, 0, NULL,
           "GET /x HTTP/1.1\r\nHost: [::1]:81\r\nUser-Agent: cicada/test\r\n\r\n");
    expect("GET", "http://[::1]/x", NULL, 0, NULL,
           "GET /x HTTP/1.1\r\nHost: [::1]\r\nUser-Agent: cicada/test\r\n\r\n");
}

Test(http_request, content_length_for_bodies_and_post_put_patch)
{
    expect(
        "POST", "http://h/p", NULL, 0, "a=1",
        "POST /p HTTP/1.1\r\nHost: h\r\nUser-Agent: cicada/test\r\nContent-Length: 3\r\n\r\na=1");
    expect("POST", "http://h/p", NULL, 0, NULL,
           "POST /p HTTP/1.1\r\nHost: h\r\nUser-Agent: cicada/test\r\nContent-Length: 0\r\n\r\n");
    expect("PATCH", "http://h/p", NULL, 0, NULL,
           "PATCH /p HTTP/1.1\r\nHost: h\r\nUser-Agent: cicada/test\r\nContent-Length: 0\r\n\r\n");
    expect(
        "DELETE", "http://h/p", NULL, 0, "x",
        "DELETE /p HTTP/1.1\r\nHost: h\r\nUser-Agent: cicada/test\r\nContent-Length: 1\r\n\r\nx");
    expect("OPTIONS", "http://h/p", NULL, 0, NULL,
           "OPTIONS /p HTTP/1.1\r\nHost: h\r\nUser-Agent: cicada/test\r\n\r\n");
}

Test(http_request, given_headers_replace_defaults)
{
    ccd_header_t h[] = {{sl("HOST"), sl("virtual")},
                        {sl("user-agent"), sl("mine")},
                        {sl("Content-Length"), sl("2")},
                        {sl("Connection"), sl("close")},
                        {sl("Accept"), sl("*/*")}};
    expect("POST", "http://h/", h, 5, "ok",
           "POST / HTTP/1.1\r\nHOST: virtual\r\nuser-agent: mine\r\nContent-Length: 2\r\n"
           "Connection: close\r\nAccept: */*\r\n\r\nok");
}

Test(http_request, buffer_grows_once_and_is_reused)
{
    const char *url = "http://h/";
    ccd_url_t u;
    ccd_url_parse(url, strlen(url), &u);
    char *big = malloc(100000);
    memset(big, 'b', 99999);
    big[99999] = '\0';
    ccd_http_request_t r = {.method = sl("PUT"), .url = sl(url), .body = sl(big)};
    ccd_buf_t b = {0};
    cr_assert_eq(ccd_http_request_serialise(&r, &u, "ua", &b), 0);
    char *buf = b.base;
    size_t len = b.len;
    cr_assert_gt(len, 99999);
    cr_assert(memcmp(buf + len - 99999, big, 99999) == 0);
    cr_assert_not_null(memmem(buf, len, "\r\nContent-Length: 99999\r\n\r\n", 27));
    char *first = buf;
    r.body = sl("small");
    cr_assert_eq(ccd_http_request_serialise(&r, &u, "ua", &b), 0);
    buf = b.base;
    cr_assert_eq(buf, first, "a big enough buffer is not reallocated");
    free(buf);
    free(big);
}
