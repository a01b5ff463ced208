/* HTTP/1.1 request serialisation: the bytes a request puts on the wire. */
#include "http/request.h"

#include "base/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copies n bytes (src may be NULL when n is 0, as in an empty body slice). */
static char *put(char *p, const char *src, size_t n)
{
    if (n)
        memcpy(p, src, n);
    return p + n;
}

#define PUT_LIT(p, lit) put((p), (lit), sizeof(lit) - 1)

/* Which default headers the caller replaced. */
typedef struct {
    bool host, user_agent, content_length;
} given_t;

/* Whether s is the literal lit (of the same length) ignoring ASCII case. */
#define IS_LIT(s, lit) ccd_slice_ieq((s), (ccd_slice_t){(lit), sizeof(lit) - 1})

/* Compares only the names of the right length: most requests replace none of the three. */
static given_t given_headers(const ccd_http_request_t *r)
{
    given_t g = {0};
    for (size_t i = 0; i < r->nheaders; i++) {
        ccd_slice_t n = r->headers[i].name;
        switch (n.len) {
        case 4: g.host |= IS_LIT(n, "Host"); break;
        case 10: g.user_agent |= IS_LIT(n, "User-Agent"); break;
        case 14: g.content_length |= IS_LIT(n, "Content-Length"); break;
        default: break;
        }
    }
    return g;
}

static bool wants_content_length(const ccd_http_request_t *r)
{
    ccd_slice_t m = r->method;
    return r->body.len > 0 || (m.len == 4 && memcmp(m.base, "POST", 4) == 0) ||
           (m.len == 3 && memcmp(m.base, "PUT", 3) == 0) ||
           (m.len == 5 && memcmp(m.base, "PATCH", 5) == 0);
}

/* Writes v in decimal (printf costs more than the rest of the request line together). */
static char *put_uint(char *p, size_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_host(char *p, const ccd_url_t *u)
{
    if (u->ipv6)
        *p++ = '[';
    p = put(p, u->host.base, u->host.len);
    if (u->ipv6)
        *p++ = ']';
    if (!u->default_port)
        p = put_uint(PUT_LIT(p, ":"), u->port);
    return p;
}

/* One pass, into a buffer sized beforehand: the request line, headers and body. */
int ccd_http_request_serialise(const ccd_http_request_t *r, const ccd_url_t *u, const char *ua,
                               ccd_buf_t *out)
{
    given_t g = given_headers(r);
    size_t ua_len = strlen(ua);
    size_t need = r->method.len + u->path.len + u->query.len + 16 + u->host.len + 16 + ua_len + 16 +
                  40 + 2 + r->body.len;
    for (size_t i = 0; i < r->nheaders; i++)
        need += r->headers[i].name.len + r->headers[i].value.len + 4;
    if (ccd_buf_ensure(out, need))
        return CCD_ENOMEM;
    char *p = out->base;
    p = put(p, r->method.base, r->method.len);
    *p++ = ' ';
    p = put(p, u->path.base, u->path.len);
    p = put(p, u->query.base, u->query.len);
    p = PUT_LIT(p, " HTTP/1.1\r\n");
    if (!g.host) {
        p = put_host(PUT_LIT(p, "Host: "), u);
        p = PUT_LIT(p, "\r\n");
    }
    if (!g.user_agent) {
        p = put(PUT_LIT(p, "User-Agent: "), ua, ua_len);
        p = PUT_LIT(p, "\r\n");
    }
    for (size_t i = 0; i < r->nheaders; i++) {
        p = put(p, r->headers[i].name.base, r->headers[i].name.len);
        p = put(PUT_LIT(p, ": "), r->headers[i].value.base, r->headers[i].value.len);
        p = PUT_LIT(p, "\r\n");
    }
    if (!g.content_length && wants_content_length(r))
        p = PUT_LIT(put_uint(PUT_LIT(p, "Content-Length: "), r->body.len), "\r\n");
    p = PUT_LIT(p, "\r\n");
    p = put(p, r->body.base, r->body.len);
    out->len = (size_t)(p - out->base);
    return 0;
}
