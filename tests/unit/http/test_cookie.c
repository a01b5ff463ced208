/* Cookies: Set-Cookie parsing, dates, domain and path rules, expiry, and the Cookie header. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "http/cookie.h"
#include "../alloc_fail.h"

#define NOW 1000000000.0 /* 2001-09-09T01:46:40Z */

static ccd_cookie_t parse_ok(const char *s)
{
    ccd_cookie_t c;
    int rc = ccd_cookie_parse(s, strlen(s), &c);
    cr_assert_eq(rc, 0, "parse(%s) = %d", s, rc);
    return c;
}

static void assert_slice(ccd_slice_t s, const char *want)
{
    cr_assert_eq(s.len, strlen(want), "\"%.*s\" != \"%s\"", (int)s.len, s.base, want);
    cr_assert(memcmp(s.base, want, s.len) == 0, "\"%.*s\" != \"%s\"", (int)s.len, s.base, want);
}

static double expires_of(const char *date)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "a=b; Expires=%s", date);
    ccd_cookie_t c = parse_ok(buf);
    return c.has_expires ? c.expires : NAN;
}

static int store(ccd_cookie_jar_t *jar, const char *sc, const char *host, const char *path,
                 double now)
{
    return ccd_cookie_jar_store(jar, sc, strlen(sc), host, strlen(host), path, strlen(path), now);
}

/* The Cookie header for a request, as a static string ("" when there is none). */
static const char *header(ccd_cookie_jar_t *jar, bool https, const char *host, const char *path,
                          double now)
{
    static char buf[4096];
    ccd_buf_t out = {0};
    int n = ccd_cookie_jar_header(jar, https, host, strlen(host), path, strlen(path), now, &out);
    cr_assert_geq(n, 0);
    cr_assert_eq(n == 0, out.len == 0);
    snprintf(buf, sizeof(buf), "%.*s", (int)out.len, out.base ? out.base : "");
    ccd_buf_free(&out);
    return buf;
}

Test(cookie_parse, name_and_value)
{
    ccd_cookie_t c = parse_ok("  sid = abc123  ");
    assert_slice(c.name, "sid");
    assert_slice(c.value, "abc123");
    assert_slice(c.domain, "");
    assert_slice(c.path, "");
    cr_assert(!c.has_expires && !c.has_max_age && !c.secure && !c.http_only);
    cr_assert_eq(c.samesite, CCD_COOKIE_SAMESITE_UNSET);
    assert_slice(parse_ok("a=").value, "");
    assert_slice(parse_ok("a=b=c").value, "b=c");
}

Test(cookie_parse, quoted_value_kept_as_written)
{
    assert_slice(parse_ok("q=\"hello world\"; Path=/").value, "\"hello world\"");
    assert_slice(parse_ok("q=\"\"").value, "\"\"");
}

Test(cookie_parse, every_attribute)
{
    ccd_cookie_t c = parse_ok("id=a3fWa; Expires=Wed, 09 Jun 2021 10:18:14 GMT; Max-Age=3600; "
                              "Domain=.Example.com; Path=/docs; Secure; HttpOnly; SameSite=Lax");
    assert_slice(c.name, "id");
    assert_slice(c.value, "a3fWa");
    cr_assert(c.has_expires);
    cr_assert_eq(c.expires, 1623233894.0);
    cr_assert(c.has_max_age);
    cr_assert_eq(c.max_age, 3600);
    assert_slice(c.domain, "Example.com");
    assert_slice(c.path, "/docs");
    cr_assert(c.secure && c.http_only);
    cr_assert_eq(c.samesite, CCD_COOKIE_SAMESITE_LAX);
}

Test(cookie_parse, attribute_names_are_case_insensitive)
{
    ccd_cookie_t c = parse_ok("a=b;PATH=/x;dOmAiN=example.com;SECURE;httponly;samesite=STRICT;"
                              "max-AGE=5;EXPIRES=Sun, 06 Nov 1994 08:49:37 GMT");
    assert_slice(c.path, "/x");
    assert_slice(c.domain, "example.com");
    cr_assert(c.secure && c.http_only && c.has_max_age && c.has_expires);
    cr_assert_eq(c.samesite, CCD_COOKIE_SAMESITE_STRICT);
    cr_assert_eq(c.max_age, 5);
    cr_assert_eq(parse_ok("a=b; SameSite=none").samesite, CCD_COOKIE_SAMESITE_NONE);
    cr_assert_eq(parse_ok("a=b; SameSite=bogus").samesite, CCD_COOKIE_SAMESITE_UNSET);
}

Test(cookie_parse, last_attribute_wins_and_bad_values_are_ignored)
{
    ccd_cookie_t c = parse_ok("a=b; Path=/one; Path=/two; Domain=x.com; Domain=; Max-Age=7; "
                              "Max-Age=12x; Unknown=1; Flag");
    assert_slice(c.path, "/two");
    assert_slice(c.domain, "x.com");
    cr_assert_eq(c.max_age, 7);
    assert_slice(parse_ok("a=b; Path=/one; Path=relative").path, "");
    assert_slice(parse_ok("a=b; Path=").path, "");
    cr_assert(!parse_ok("a=b; Expires=not a date").has_expires);
    cr_assert(!parse_ok("a=b; Max-Age=").has_max_age);
    cr_assert(!parse_ok("a=b; Max-Age=-").has_max_age);
    cr_assert_eq(parse_ok("a=b; Max-Age=-1").max_age, -1);
    cr_assert_eq(parse_ok("a=b; Max-Age=0").max_age, 0);
}

Test(cookie_parse, malformed)
{
    const char *bad[] = {"", "novalue", "=value", "  =v", "a=b\r\nX: y", "a\x01=b", "a=\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        ccd_cookie_t c;
        cr_assert_eq(ccd_cookie_parse(bad[i], strlen(bad[i]), &c), CCD_EINVAL, "%zu", i);
    }
    char big[CCD_COOKIE_MAX_BYTES + 8];
    memset(big, 'v', sizeof(big));
    memcpy(big, "n=", 2);
    ccd_cookie_t c;
    /* "n=" then values: name plus value is len - 1 bytes. */
    cr_assert_eq(ccd_cookie_parse(big, CCD_COOKIE_MAX_BYTES + 2, &c), CCD_EINVAL);
    cr_assert_eq(ccd_cookie_parse(big, CCD_COOKIE_MAX_BYTES + 1, &c), 0);
    /* Only the first n bytes count: the parser never reads past len. */
    cr_assert_eq(ccd_cookie_parse("a=b; Secure", 3, &c), 0);
    cr_assert(!c.secure);
}

Test(cookie_date, three_http_date_formats)
{
    cr_assert_eq(expires_of("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777.0);
    cr_assert_eq(expires_of("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777.0);
    cr_assert_eq(expires_of("Sun Nov  6 08:49:37 1994"), 784111777.0);
    cr_assert_eq(expires_of("Thu, 01 Jan 1970 00:00:00 GMT"), 0.0);
}

Test(cookie_date, lenient_grammar)
{
    cr_assert_eq(expires_of("sun, 06 NOV 1994 08:49:37 gmt"), 784111777.0);
    cr_assert_eq(expires_of("06 November 1994 8:49:37"), 784111777.0);
    cr_assert_eq(expires_of("Thu, 01-Jan-69 00:00:00 GMT"), 3124224000.0);
    cr_assert_eq(expires_of("Thu, 29 Feb 2024 12:00:00 GMT"), 1709208000.0);
    cr_assert_eq(expires_of("Mon, 01 Jan 1601 00:00:00 GMT"), -11644473600.0);
    cr_assert_eq(expires_of("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799.0);
}

Test(cookie_date, invalid_dates_are_ignored)
{
    const char *bad[] = {
        "Fri, 30 Feb 2024 12:00:00 GMT", /* no such day */
        "Wed, 29 Feb 2023 12:00:00 GMT", /* not a leap year */
        "Sun, 06 Nov 1994 24:00:00 GMT",  "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:60 GMT",  "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",  "Sun, 06 Nov 1600 08:49:37 GMT",
        "Sun, 06 Nov 08:49:37 GMT",  /* no year */
        "Sun, 06 1994 08:49:37 GMT", /* no month */
        "Sun, 06 Nov 1994 GMT",      /* no time */
        "Sun, 06 Nov 19945 08:49:37 GMT", "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        cr_assert(isnan(expires_of(bad[i])), "%s", bad[i]);
}

Test(cookie_jar, host_only_cookie)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "a=1", "Example.com", "/", NOW), 0);
    ccd_cookie_t c;
    cr_assert_eq(ccd_cookie_jar_at(jar, 0, &c), 0);
    cr_assert(c.host_only);
    assert_slice(c.domain, "example.com");
    cr_assert_str_eq(header(jar, false, "example.com", "/", NOW), "a=1");
    cr_assert_str_eq(header(jar, false, "EXAMPLE.COM", "/", NOW), "a=1");
    cr_assert_str_eq(header(jar, false, "www.example.com", "/", NOW), "");
    cr_assert_str_eq(header(jar, false, "example.org", "/", NOW), "");
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, domain_cookie_reaches_subdomains)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "a=1; Domain=.Example.COM", "www.example.com", "/", NOW), 0);
    ccd_cookie_t c;
    cr_assert_eq(ccd_cookie_jar_at(jar, 0, &c), 0);
    cr_assert(!c.host_only);
    assert_slice(c.domain, "example.com");
    cr_assert_str_eq(header(jar, false, "example.com", "/", NOW), "a=1");
    cr_assert_str_eq(header(jar, false, "www.example.com", "/", NOW), "a=1");
    cr_assert_str_eq(header(jar, false, "a.b.example.com", "/", NOW), "a=1");
    cr_assert_str_eq(header(jar, false, "badexample.com", "/", NOW), "");
    cr_assert_str_eq(header(jar, false, "example.com.evil", "/", NOW), "");
    /* Domain equal to the host still makes a domain cookie. */
    cr_assert_eq(store(jar, "b=2; Domain=example.com", "example.com", "/", NOW), 0);
    cr_assert_str_eq(header(jar, false, "api.example.com", "/", NOW), "a=1; b=2");
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, foreign_and_public_suffix_domains_are_refused)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "a=1; Domain=example.org", "example.com", "/", NOW), CCD_EINVAL);
    cr_assert_eq(store(jar, "a=1; Domain=www.example.com", "example.com", "/", NOW), CCD_EINVAL);
    cr_assert_eq(store(jar, "a=1; Domain=ample.com", "example.com", "/", NOW), CCD_EINVAL);
    cr_assert_eq(store(jar, "a=1; Domain=com", "example.com", "/", NOW), CCD_EINVAL);
    cr_assert_eq(store(jar, "a=1; Domain=.com", "example.com", "/", NOW), CCD_EINVAL);
    cr_assert_eq(ccd_cookie_jar_count(jar), 0);
    /* A single label is fine when it is the host itself, as a host-only cookie. */
    cr_assert_eq(store(jar, "a=1; Domain=localhost", "localhost", "/", NOW), 0);
    ccd_cookie_t c;
    cr_assert_eq(ccd_cookie_jar_at(jar, 0, &c), 0);
    cr_assert(c.host_only);
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, ip_hosts_take_only_host_only_cookies)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "a=1; Domain=0.0.1", "192.0.0.1", "/", NOW), CCD_EINVAL);
    cr_assert_eq(store(jar, "a=1; Domain=example.com", "192.0.0.1", "/", NOW), CCD_EINVAL);
    cr_assert_eq(store(jar, "a=1", "192.0.0.1", "/", NOW), 0);
    cr_assert_eq(store(jar, "b=2; Domain=192.0.0.1", "192.0.0.1", "/", NOW), 0);
    cr_assert_eq(store(jar, "c=3", "::1", "/", NOW), 0);
    cr_assert_str_eq(header(jar, false, "192.0.0.1", "/", NOW), "a=1; b=2");
    cr_assert_str_eq(header(jar, false, "10.192.0.0.1", "/", NOW), "");
    cr_assert_str_eq(header(jar, false, "::1", "/", NOW), "c=3");
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, path_matching)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "a=1; Path=/a", "h.test", "/", NOW), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/a", NOW), "a=1");
    cr_assert_str_eq(header(jar, false, "h.test", "/a/", NOW), "a=1");
    cr_assert_str_eq(header(jar, false, "h.test", "/a/b", NOW), "a=1");
    cr_assert_str_eq(header(jar, false, "h.test", "/a?x=1", NOW), "a=1");
    cr_assert_str_eq(header(jar, false, "h.test", "/ab", NOW), "");
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW), "");
    cr_assert_str_eq(header(jar, false, "h.test", "/A", NOW), "");
    ccd_cookie_jar_clear(jar);
    cr_assert_eq(store(jar, "b=2; Path=/a/", "h.test", "/", NOW), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/a/b", NOW), "b=2");
    cr_assert_str_eq(header(jar, false, "h.test", "/a", NOW), "");
    ccd_cookie_jar_free(jar);
}

static const char *stored_path(const char *req_path, const char *attrs)
{
    static char buf[256];
    char sc[256];
    snprintf(sc, sizeof(sc), "a=1%s", attrs);
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, sc, "h.test", req_path, NOW), 0);
    ccd_cookie_t c;
    cr_assert_eq(ccd_cookie_jar_at(jar, 0, &c), 0);
    snprintf(buf, sizeof(buf), "%.*s", (int)c.path.len, c.path.base);
    ccd_cookie_jar_free(jar);
    return buf;
}

Test(cookie_jar, default_path_is_the_request_directory)
{
    cr_assert_str_eq(stored_path("/", ""), "/");
    cr_assert_str_eq(stored_path("", ""), "/");
    cr_assert_str_eq(stored_path("/login", ""), "/");
    cr_assert_str_eq(stored_path("/app/login", ""), "/app");
    cr_assert_str_eq(stored_path("/app/", ""), "/app");
    cr_assert_str_eq(stored_path("/app/v1/login?next=/x/y", ""), "/app/v1");
    cr_assert_str_eq(stored_path("/app/login", "; Path=relative"), "/app");
    cr_assert_str_eq(stored_path("/app/login", "; Path=/other"), "/other");
}

Test(cookie_jar, secure_only_over_https)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "s=1; Secure", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "p=2", "h.test", "/", NOW), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW), "p=2");
    cr_assert_str_eq(header(jar, true, "h.test", "/", NOW), "s=1; p=2");
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, expires_and_max_age)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "e=1; Expires=Thu, 01 Jan 2037 00:00:00 GMT", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "m=2; Max-Age=60", "h.test", "/", NOW), 0);
    /* Max-Age wins over Expires, either way round. */
    cr_assert_eq(
        store(jar, "w=3; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=60", "h.test", "/", NOW),
        0);
    cr_assert_eq(
        store(jar, "x=4; Max-Age=60; Expires=Thu, 01 Jan 2037 00:00:00 GMT", "h.test", "/", NOW),
        0);
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 59), "e=1; m=2; w=3; x=4");
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 60), "e=1");
    cr_assert_eq(ccd_cookie_jar_count(jar), 1);
    cr_assert_str_eq(header(jar, false, "h.test", "/", 2114380800.0), "");
    cr_assert_eq(ccd_cookie_jar_count(jar), 0);
    /* An Expires in the past is not stored. */
    cr_assert_eq(store(jar, "old=1; Expires=Sun, 06 Nov 1994 08:49:37 GMT", "h.test", "/", NOW), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 0);
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, deletion_by_max_age_or_past_expires)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "a=1", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "b=1", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "c=1", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "d=1; Path=/x", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "a=; Max-Age=0", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "b=; Max-Age=-5", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "c=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "h.test", "/", NOW), 0);
    /* Deleting needs the same path: this one names another cookie. */
    cr_assert_eq(store(jar, "d=; Max-Age=0", "h.test", "/", NOW), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 1);
    cr_assert_str_eq(header(jar, false, "h.test", "/x", NOW), "d=1");
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, same_name_domain_and_path_replaces)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "a=1", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "b=2", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "a=3", "H.TEST", "/", NOW + 1), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 2);
    /* The replacement keeps the creation order of the cookie it replaced. */
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW), "a=3; b=2");
    cr_assert_eq(store(jar, "a=4; Path=/p", "h.test", "/", NOW), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 3);
    cr_assert_str_eq(header(jar, false, "h.test", "/p", NOW), "a=4; a=3; b=2");
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, header_lists_longer_paths_first_then_older)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "root1=r", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "deep=d; Path=/a/b", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "mid=m; Path=/a", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "root2=r; Domain=h.test", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "mid2=m; Path=/a", "h.test", "/", NOW), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/a/b/c", NOW),
                     "deep=d; mid=m; mid2=m; root1=r; root2=r");
    cr_assert_str_eq(header(jar, false, "h.test", "/a", NOW), "mid=m; mid2=m; root1=r; root2=r");
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, header_appends_to_out)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "a=1", "h.test", "/", NOW), 0);
    ccd_buf_t out = {0};
    cr_assert_eq(ccd_buf_append(&out, "Cookie: ", 8), 0);
    cr_assert_eq(ccd_cookie_jar_header(jar, false, "h.test", 6, "/", 1, NOW, &out), 1);
    cr_assert_eq(out.len, 11);
    cr_assert(memcmp(out.base, "Cookie: a=1", 11) == 0);
    cr_assert_eq(ccd_cookie_jar_header(jar, false, "x.test", 6, "/", 1, NOW, &out), 0);
    cr_assert_eq(out.len, 11);
    ccd_buf_free(&out);
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, get_at_count_clear)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(ccd_cookie_jar_count(jar), 0);
    cr_assert_null(ccd_cookie_jar_get(jar, "a", 1, NULL));
    cr_assert_eq(
        store(jar, "sid=\"x y\"; HttpOnly; SameSite=Strict; Max-Age=10", "h.test", "/", NOW), 0);
    size_t n = 0;
    const char *v = ccd_cookie_jar_get(jar, "sid", 3, &n);
    cr_assert_str_eq(v, "\"x y\"");
    cr_assert_eq(n, 5);
    cr_assert_null(ccd_cookie_jar_get(jar, "si", 2, NULL));
    ccd_cookie_t c;
    cr_assert_eq(ccd_cookie_jar_at(jar, 0, &c), 0);
    cr_assert(c.http_only && c.has_expires && !c.secure && !c.has_max_age);
    cr_assert_eq(c.expires, NOW + 10);
    cr_assert_eq(c.samesite, CCD_COOKIE_SAMESITE_STRICT);
    cr_assert_eq(c.name.base[c.name.len], '\0');
    cr_assert_eq(c.path.base[c.path.len], '\0');
    cr_assert_eq(ccd_cookie_jar_at(jar, 1, &c), CCD_EINVAL);
    cr_assert_eq(store(jar, "sess=1", "h.test", "/", NOW), 0);
    cr_assert_eq(ccd_cookie_jar_at(jar, 1, &c), 0);
    cr_assert(!c.has_expires);
    ccd_cookie_jar_clear(jar);
    cr_assert_eq(ccd_cookie_jar_count(jar), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW), "");
    ccd_cookie_jar_free(jar);
    ccd_cookie_jar_free(NULL);
}

Test(cookie_jar, full_jar_evicts_the_oldest)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    char sc[32];
    for (int i = 0; i <= CCD_COOKIE_JAR_MAX; i++) {
        snprintf(sc, sizeof(sc), "c%d=%d", i, i);
        cr_assert_eq(store(jar, sc, "h.test", "/", NOW), 0);
    }
    cr_assert_eq(ccd_cookie_jar_count(jar), CCD_COOKIE_JAR_MAX);
    cr_assert_null(ccd_cookie_jar_get(jar, "c0", 2, NULL));
    cr_assert_str_eq(ccd_cookie_jar_get(jar, "c1", 2, NULL), "1");
    ccd_cookie_jar_free(jar);
}

Test(cookie_jar, malformed_leaves_the_jar_alone)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "a=1", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "garbage", "h.test", "/", NOW), CCD_EINVAL);
    cr_assert_eq(ccd_cookie_jar_count(jar), 1);
    ccd_cookie_jar_free(jar);
}

/* Headers assembled from cookie-ish pieces: parsing and storing never misbehave, and every
 * stored cookie is sent back to the host that set it over https on its own path. */
Test(cookie_jar, random_headers)
{
    static const char *pieces[] = {
        "a",        "=",        ";",        " ",        "\"",       "Path=/x",  "Path=",
        "Domain=",  "h.test",   ".test",    "Secure",   "Max-Age=", "-1",       "99",
        "Expires=", "Sun, 06 ", "Nov 1994", "08:49:37", "GMT",      "HttpOnly", "SameSite=Lax",
        "\xff",     "é",        "/",        "0.0.1",    "b=c",      ",",        "\t",
    };
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    uint32_t x = 7;
    char buf[256];
    for (int i = 0; i < 5000; i++) {
        size_t n = 0;
        for (int k = 0; k < 1 + i % 12; k++) {
            x = x * 1103515245 + 12345;
            const char *p = pieces[(x >> 16) % (sizeof(pieces) / sizeof(*pieces))];
            size_t m = strlen(p);
            memcpy(buf + n, p, m);
            n += m;
        }
        ccd_cookie_t c;
        int prc = ccd_cookie_parse(buf, n, &c);
        int src = ccd_cookie_jar_store(jar, buf, n, "h.test", 6, "/x/y", 4, NOW);
        cr_assert(prc == 0 || prc == CCD_EINVAL);
        cr_assert(src == 0 || src == CCD_EINVAL);
        cr_assert(prc == 0 || src == CCD_EINVAL);
    }
    size_t count = ccd_cookie_jar_count(jar);
    cr_assert_gt(count, 0);
    ccd_buf_t out = {0};
    for (size_t i = 0; i < count; i++) {
        ccd_cookie_t c;
        cr_assert_eq(ccd_cookie_jar_at(jar, i, &c), 0);
        out.len = 0;
        int n = ccd_cookie_jar_header(jar, true, "h.test", 6, c.path.base, c.path.len, NOW, &out);
        cr_assert_gt(n, 0);
        cr_assert_not_null(memmem(out.base, out.len, c.name.base, c.name.len));
    }
    ccd_buf_free(&out);
    ccd_cookie_jar_free(jar);
}

/* The fuzzer's driver, replayed over the checked-in corpus (a failure aborts). */
#include "../corpus.h"
#include "../../fuzz/fuzz_cookie.c"

Test(cookie_fuzz, corpus_replays)
{
    cr_assert_gt(replay_corpus("cookie", LLVMFuzzerTestOneInput), 10);
}

/* A server that sets its session cookie on every response: the jar updates the cookie it holds
 * (value, attributes, expiry) without an allocation, and keeps its place among the others. */
Test(cookie_jar, the_same_cookie_again_is_updated_in_place_without_allocating)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "s=abc; Path=/", "example.com", "/", NOW), 0);
    cr_assert_eq(store(jar, "t=1; Path=/", "example.com", "/", NOW), 0);
    arm(1);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(store(jar,
                           i % 2 ? "s=xyz; Path=/; Secure; HttpOnly; Max-Age=60" : "s=abc; Path=/",
                           "example.com", "/", NOW),
                     0);
    }
    cr_assert(!disarm(), "storing the same cookie again allocated");
    ccd_cookie_t c;
    cr_assert_eq(ccd_cookie_jar_at(jar, 0, &c), 0);
    assert_slice(c.name, "s");
    assert_slice(c.value, "xyz");
    cr_assert(c.secure && c.http_only);
    cr_assert_str_eq(header(jar, true, "example.com", "/", NOW), "s=xyz; t=1");
    cr_assert_str_eq(header(jar, false, "example.com", "/", NOW), "t=1");
    /* a value of another length replaces the cookie, in the same place */
    cr_assert_eq(store(jar, "s=longer; Path=/; Secure; Max-Age=60", "example.com", "/", NOW), 0);
    cr_assert_str_eq(header(jar, true, "example.com", "/", NOW), "s=longer; t=1");
    cr_assert_str_eq(header(jar, true, "example.com", "/", NOW + 61), "t=1", "Max-Age applies");
    ccd_cookie_jar_free(jar);
}

/* A Set-Cookie stored again as it came last is known to change nothing only while the jar is as
 * that store left it: each change in between (another value, a clear, a deletion, an expiry,
 * another host or request path) makes the next one count in full. */
Test(cookie_jar, the_same_set_cookie_again_after_a_change_counts_in_full)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    const char *a = "s=abc", *b = "s=xyz";
    cr_assert_eq(store(jar, a, "h.test", "/d/p", NOW), 0);
    cr_assert_eq(store(jar, a, "h.test", "/d/p", NOW), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/d/q", NOW), "s=abc");
    /* another value in between, then the first again */
    cr_assert_eq(store(jar, b, "h.test", "/d/p", NOW), 0);
    cr_assert_eq(store(jar, a, "h.test", "/d/p", NOW), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/d/q", NOW), "s=abc");
    /* the jar cleared, then the same again */
    ccd_cookie_jar_clear(jar);
    cr_assert_eq(store(jar, a, "h.test", "/d/p", NOW), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 1);
    /* deleted by the server, then the same again */
    cr_assert_eq(store(jar, "s=; Max-Age=0; Path=/d", "h.test", "/d/p", NOW), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 0);
    cr_assert_eq(store(jar, a, "h.test", "/d/p", NOW), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 1);
    /* the same text from another host or another directory is another cookie */
    cr_assert_eq(store(jar, a, "other.test", "/d/p", NOW), 0);
    cr_assert_eq(store(jar, a, "h.test", "/e/p", NOW), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 3);
    cr_assert_str_eq(header(jar, false, "h.test", "/e/q", NOW), "s=abc");
    cr_assert_str_eq(header(jar, false, "other.test", "/d/q", NOW), "s=abc");
    /* an Expires cookie stored twice, then expired: stored again, it is not kept */
    ccd_cookie_jar_clear(jar);
    const char *e = "e=1; Expires=Thu, 01 Jan 2037 00:00:00 GMT";
    cr_assert_eq(store(jar, e, "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, e, "h.test", "/", NOW), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 1);
    cr_assert_eq(store(jar, e, "h.test", "/", 2114380800.0), 0);
    cr_assert_eq(ccd_cookie_jar_count(jar), 0);
    /* Max-Age counts from each store: the same text stored later lives longer */
    const char *m = "m=1; Max-Age=60";
    cr_assert_eq(store(jar, m, "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, m, "h.test", "/", NOW + 50), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 100), "m=1");
    ccd_cookie_jar_free(jar);
}

/* The jar skips its walk for expired cookies until its earliest expiry: a cookie stored later
 * that expires sooner, or one whose expiry moved, must still leave on time. */
Test(cookie_jar, each_cookie_leaves_at_its_own_expiry)
{
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    cr_assert_eq(store(jar, "s=1", "h.test", "/", NOW), 0);
    cr_assert_eq(store(jar, "late=1; Max-Age=100", "h.test", "/", NOW), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 1), "s=1; late=1");
    cr_assert_eq(store(jar, "soon=1; Max-Age=10", "h.test", "/", NOW + 1), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 10), "s=1; late=1; soon=1");
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 11), "s=1; late=1");
    /* late's expiry brought forward by a new Max-Age (in place: same length of value) */
    cr_assert_eq(store(jar, "late=2; Max-Age=5", "h.test", "/", NOW + 12), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 16), "s=1; late=2");
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 17), "s=1");
    /* and pushed back: it lives to its new expiry */
    cr_assert_eq(store(jar, "x=1; Max-Age=5", "h.test", "/", NOW + 20), 0);
    cr_assert_eq(store(jar, "x=1; Max-Age=50", "h.test", "/", NOW + 21), 0);
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 30), "s=1; x=1");
    cr_assert_str_eq(header(jar, false, "h.test", "/", NOW + 71), "s=1");
    cr_assert_eq(ccd_cookie_jar_count(jar), 1);
    ccd_cookie_jar_free(jar);
}
