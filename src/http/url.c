/* URL parsing: splits an absolute http[s] URL into the parts a request needs. */
#include "http/url.h"

#include "base/error.h"

#include <string.h>
#include <strings.h>

static int scheme_kind(const char *p, size_t n)
{
    ccd_slice_t s = {p, n};
    if (ccd_slice_ieq_str(s, "http"))
        return CCD_URL_HTTP;
    if (ccd_slice_ieq_str(s, "https"))
        return CCD_URL_HTTPS;
    return CCD_URL_OTHER;
}

/* RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static bool scheme_valid(const char *p, size_t n)
{
    if (n == 0 || !((p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = p[i];
        bool ok = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                  c == '-' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

static bool host_char_valid(char c)
{
    return (unsigned char)c > 0x20 && c != 0x7f && c != '/' && c != '?' && c != '#' && c != '@' &&
           c != '[' && c != ']';
}

static int parse_port(const char *p, size_t n, uint16_t *out)
{
    unsigned v = 0;
    if (n > 5)
        return CCD_EURL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return CCD_EURL;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return CCD_EURL;
    *out = (uint16_t)v;
    return 0;
}

/* Splits "host[:port]" or "[v6][:port]" (userinfo already removed). */
static int parse_hostport(const char *p, size_t n, ccd_url_t *u)
{
    const char *colon = NULL;
    if (n > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (!close || close == p + 1)
            return CCD_EURL;
        u->host = (ccd_slice_t){p + 1, (size_t)(close - p - 1)};
        u->ipv6 = true;
        for (size_t i = 0; i < u->host.len; i++) {
            char c = u->host.base[i];
            if (!(c == ':' || c == '.' || c == '%' || (c >= '0' && c <= '9') ||
                  ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
                return CCD_EURL;
        }
        size_t rest = n - (size_t)(close + 1 - p);
        if (rest > 0 && close[1] != ':')
            return CCD_EURL;
        colon = rest > 0 ? close + 1 : NULL;
    } else {
        colon = memchr(p, ':', n);
        size_t hl = colon ? (size_t)(colon - p) : n;
        if (hl == 0)
            return CCD_EURL;
        for (size_t i = 0; i < hl; i++)
            if (!host_char_valid(p[i]))
                return CCD_EURL;
        u->host = (ccd_slice_t){p, hl};
    }
    if (colon && colon + 1 < p + n) {
        if (parse_port(colon + 1, (size_t)(p + n - colon - 1), &u->port))
            return CCD_EURL;
        u->default_port = (u->scheme_kind == CCD_URL_HTTP && u->port == 80) ||
                          (u->scheme_kind == CCD_URL_HTTPS && u->port == 443);
    }
    return 0;
}

static void set_default_port(ccd_url_t *u)
{
    u->default_port = u->scheme_kind != CCD_URL_OTHER;
    u->port = u->scheme_kind == CCD_URL_HTTPS ? 443 : u->scheme_kind == CCD_URL_HTTP ? 80 : 0;
}

/* Splits what follows the authority into path and query, dropping a fragment. */
static int parse_target(const char *p, size_t n, ccd_url_t *u)
{
    const char *hash = memchr(p, '#', n);
    if (hash)
        n = (size_t)(hash - p);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f)
            return CCD_EURL;
    const char *q = memchr(p, '?', n);
    size_t pl = q ? (size_t)(q - p) : n;
    u->path = pl ? (ccd_slice_t){p, pl} : (ccd_slice_t){"/", 1};
    u->query = q ? (ccd_slice_t){q, n - pl} : (ccd_slice_t){"", 0};
    return 0;
}

int ccd_url_parse(const char *s, size_t len, ccd_url_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *end = s + len;
    const char *sep = len >= 3 ? memmem(s, len, "://", 3) : NULL;
    if (!sep || !scheme_valid(s, (size_t)(sep - s)))
        return CCD_EURL;
    out->scheme = (ccd_slice_t){s, (size_t)(sep - s)};
    out->scheme_kind = scheme_kind(s, out->scheme.len);
    set_default_port(out);

    const char *auth = sep + 3;
    const char *auth_end = auth;
    while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
        auth_end++;
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    if (at)
        auth = at + 1;
    if (parse_hostport(auth, (size_t)(auth_end - auth), out))
        return CCD_EURL;
    return parse_target(auth_end, (size_t)(end - auth_end), out);
}

/* The port part of the authority of a URL whose scheme is known, or NULL when it has none. */
static const char *port_of(const char *s, size_t *len)
{
    const char *auth = strstr(s, "://") + 3, *end = auth + strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', (size_t)(end - auth)), *colon = NULL;
    if (at)
        auth = at + 1;
    const char *close = *auth == '[' ? memchr(auth, ']', (size_t)(end - auth)) : NULL;
    for (const char *p = close ? close : auth; p < end; p++)
        if (*p == ':')
            colon = p;
    if (!colon)
        return NULL;
    *len = (size_t)(end - colon - 1);
    return colon + 1;
}

const char *ccd_url_base_problem(const char *s, bool *other_scheme)
{
    ccd_url_t u;
    const char *sep = strstr(s, "://");
    *other_scheme = false;
    if (!sep || !scheme_valid(s, (size_t)(sep - s)))
        return "missing scheme: write it as http://HOST[:PORT] or https://HOST[:PORT]";
    if (ccd_url_parse(s, strlen(s), &u) == 0) {
        *other_scheme = u.scheme_kind == CCD_URL_OTHER;
        return *other_scheme ? "not an http(s) URL: the HTTP client's requests to it will fail "
                               "(fine for a scenario that opens its own sockets)"
                             : NULL;
    }
    size_t plen;
    uint16_t port;
    const char *p = port_of(s, &plen);
    if (p && parse_port(p, plen, &port))
        return "bad port: a port is a number from 1 to 65535";
    return "invalid host";
}
