/* Tests of URL parsing. */
#include <criterion/criterion.h>

#include <stdio.h>

#include <string.h>

#include "base/error.h"
#include "http/url.h"

static ccd_url_t parse_ok(const char *s)
{
    ccd_url_t u;
    int rc = ccd_url_parse(s, strlen(s), &u);
    cr_assert_eq(rc, 0, "parsing %s: %d", s, rc);
    return u;
}

static void assert_slice(ccd_slice_t sl, const char *want)
{
    cr_assert_eq(sl.len, strlen(want), "length %zu, want \"%s\"", sl.len, want);
    cr_assert(memcmp(sl.base, want, sl.len) == 0, "got \"%.*s\", want \"%s\"", (int)sl.len, sl.base,
              want);
}

Test(url, plain_http_defaults)
{
    ccd_url_t u = parse_ok("http://example.com");
    cr_assert_eq(u.scheme_kind, CCD_URL_HTTP);
    assert_slice(u.host, "example.com");
    cr_assert_eq(u.port, 80);
    cr_assert(u.default_port);
    assert_slice(u.path, "/");
    assert_slice(u.query, "");
}

Test(url, https_port_path_query_fragment)
{
    ccd_url_t u = parse_ok("HTTPS://api.example.com:8443/v1/items?id=3&x=y#frag");
    cr_assert_eq(u.scheme_kind, CCD_URL_HTTPS);
    assert_slice(u.scheme, "HTTPS");
    assert_slice(u.host, "api.example.com");
    cr_assert_eq(u.port, 8443);
    cr_assert_not(u.default_port);
    assert_slice(u.path, "/v1/items");
    assert_slice(u.query, "?id=3&x=y");
}

Test(url, https_default_port)
{
    ccd_url_t u = parse_ok("https://h/");
    cr_assert_eq(u.port, 443);
    cr_assert(u.default_port);
    u = parse_ok("https://h:443/");
    cr_assert(u.default_port);
    u = parse_ok("http://h:443/");
    cr_assert_not(u.default_port);
}

Test(url, query_without_path)
{
    ccd_url_t u = parse_ok("http://h?a=1");
    assert_slice(u.path, "/");
    assert_slice(u.query, "?a=1");
}

Test(url, ipv6_literal)
{
    ccd_url_t u = parse_ok("http://[::1]:8080/x");
    cr_assert(u.ipv6);
    assert_slice(u.host, "::1");
    cr_assert_eq(u.port, 8080);
    assert_slice(u.path, "/x");
    u = parse_ok("https://[2001:db8::1]");
    assert_slice(u.host, "2001:db8::1");
    cr_assert_eq(u.port, 443);
}

Test(url, userinfo_is_skipped)
{
    ccd_url_t u = parse_ok("http://user:p@ss@host:81/p");
    assert_slice(u.host, "host");
    cr_assert_eq(u.port, 81);
}

Test(url, other_scheme_parses)
{
    ccd_url_t u = parse_ok("ftp://files.example.com/a");
    cr_assert_eq(u.scheme_kind, CCD_URL_OTHER);
    assert_slice(u.scheme, "ftp");
    cr_assert_eq(u.port, 0);
}

Test(url, empty_port_means_default)
{
    ccd_url_t u = parse_ok("http://h:/a");
    cr_assert_eq(u.port, 80);
}

Test(url, rejects_bad_input)
{
    const char *bad[] = {"",
                         "example.com/path",
                         "http:/x",
                         "http://",
                         "http:///path",
                         "http://h:0/",
                         "http://h:65536/",
                         "http://h:8x/",
                         "http://[::1/",
                         "http://[]/",
                         "http://[::1]x/",
                         "http://h/a b",
                         "1http://h/",
                         "http://h\x01/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ccd_url_t u;
        cr_assert_eq(ccd_url_parse(bad[i], strlen(bad[i]), &u), CCD_EURL, "accepted \"%s\"",
                     bad[i]);
    }
}

Test(url, length_bounds_the_input)
{
    const char *s = "http://host/pathEXTRA";
    ccd_url_t u;
    cr_assert_eq(ccd_url_parse(s, strlen(s) - 5, &u), 0);
    assert_slice(u.path, "/path");
}

/* The fuzzer's driver, replayed over the checked-in corpus (a failure aborts). */
#include "../corpus.h"
#include "../../fuzz/fuzz_url.c"

Test(url, fuzz_corpus_replays)
{
    cr_assert_gt(replay_corpus("url", LLVMFuzzerTestOneInput), 0);
}
