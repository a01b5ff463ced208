/* libFuzzer driver for Set-Cookie: the parser never reads outside its input and returns slices
 * inside it; a jar fed every line stays consistent (bounded, each cookie readable, the Cookie
 * header built). The first line is the request host, the second its path, each further line
 * one Set-Cookie value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/cookie.h"

static void check_inside(ccd_slice_t s, const char *base, size_t size)
{
    if (s.len && (s.base < base || s.base + s.len > base + size))
        abort();
}

static void check_parse(const char *s, size_t len)
{
    ccd_cookie_t c;
    if (ccd_cookie_parse(s, len, &c) != 0)
        return;
    if (c.name.len == 0 || c.name.len + c.value.len > CCD_COOKIE_MAX_BYTES)
        abort();
    check_inside(c.name, s, len);
    check_inside(c.value, s, len);
    check_inside(c.domain, s, len);
    check_inside(c.path, s, len);
}

/* The next line of [*p, end) (without its '\n'), advancing *p; NULL at the end. */
static const char *next_line(const char **p, const char *end, size_t *len)
{
    if (*p >= end)
        return NULL;
    const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    *len = (size_t)((nl ? nl : end) - s);
    *p = nl ? nl + 1 : end;
    return s;
}

static void check_jar(ccd_cookie_jar_t *jar, const char *host, size_t hlen, const char *path,
                      size_t plen)
{
    size_t n = ccd_cookie_jar_count(jar);
    if (n > CCD_COOKIE_JAR_MAX)
        abort();
    for (size_t i = 0; i < n; i++) {
        ccd_cookie_t c;
        if (ccd_cookie_jar_at(jar, i, &c) != 0 || c.name.len == 0 || c.name.base[c.name.len])
            abort();
        if (!ccd_cookie_jar_get(jar, c.name.base, c.name.len, NULL))
            abort();
    }
    ccd_buf_t out = {0};
    for (int https = 0; https < 2; https++) {
        out.len = 0;
        int rc = ccd_cookie_jar_header(jar, https, host, hlen, path, plen, 1.7e9, &out);
        if (rc < 0 || (size_t)rc > n || (rc == 0) != (out.len == 0))
            abort();
    }
    ccd_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1); /* exact size: ASan catches any overread */
    memcpy(copy, data, size);
    const char *p = copy, *end = copy + size, *host, *path, *line;
    size_t hlen, plen, len;
    if (!(host = next_line(&p, end, &hlen)) || !(path = next_line(&p, end, &plen))) {
        check_parse(copy, size);
        free(copy);
        return 0;
    }
    ccd_cookie_jar_t *jar = ccd_cookie_jar_new();
    while ((line = next_line(&p, end, &len))) {
        check_parse(line, len);
        ccd_cookie_jar_store(jar, line, len, host, hlen, path, plen, 1.7e9);
    }
    check_jar(jar, host, hlen, path, plen);
    ccd_cookie_jar_free(jar);
    free(copy);
    return 0;
}
