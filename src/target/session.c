/* Cookies and the login form: /cookie/set, /cookie/check, /login with its CSRF token. */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define SID_LEN 32 /* hex digits of a session id and of a token */

/* Tokens are derived from the session id with a keyed hash, so no session table grows with
 * the load; this demo server is not a security boundary, a keyed FNV-1a suffices. */
static uint64_t secret[2];

int tgt_session_init(void)
{
    return getrandom(secret, sizeof secret, 0) == sizeof secret ? 0 : -EIO;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static void hex64(char *out, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = hex[v & 15];
}

static void derive_token(const char *sid, size_t n, char out[SID_LEN])
{
    for (int k = 0; k < 2; k++) {
        uint64_t h = 14695981039346656037ULL ^ secret[k];
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)sid[i]) * 1099511628211ULL;
        hex64(out + 16 * k, mix(h));
    }
}

static int new_sid(char out[SID_LEN])
{
    uint64_t r[2];
    if (getrandom(r, sizeof r, 0) != sizeof r)
        return -1;
    hex64(out, r[0]);
    hex64(out + 16, r[1]);
    return 0;
}

/* Finds name's value in a "a=1; b=2" Cookie header. */
static int find_cookie(tgt_str_t hdr, const char *name, tgt_str_t *out)
{
    size_t nl = strlen(name);
    const char *p = hdr.p, *end = hdr.p + hdr.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ';'))
            p++;
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;
        if ((size_t)(stop - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            *out = (tgt_str_t){p + nl + 1, (size_t)(stop - p - nl - 1)};
            return 0;
        }
        p = stop;
    }
    return -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes a form value ('+' and %XX) into out (cap bytes). Returns its length or -1. */
static int form_decode(tgt_str_t v, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < v.len; i++, n++) {
        if (n == cap)
            return -1;
        char ch = v.p[i];
        if (ch == '%' && i + 2 < v.len && hexval(v.p[i + 1]) >= 0 && hexval(v.p[i + 2]) >= 0) {
            ch = (char)(hexval(v.p[i + 1]) * 16 + hexval(v.p[i + 2]));
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        out[n] = ch;
    }
    return (int)n;
}

/* Finds and decodes name's value in a form-urlencoded body. Returns its length or -1. */
static int form_field(tgt_str_t body, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = body.p, *end = body.p + body.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) >= nl + 1 && memcmp(p, name, nl) == 0 && p[nl] == '=')
            return form_decode((tgt_str_t){p + nl + 1, (size_t)(stop - p - nl - 1)}, out, cap);
        p = stop + (amp != NULL);
    }
    return -1;
}

static void login_form(tgt_conn_t *c)
{
    char sid[SID_LEN], token[SID_LEN], head[128];
    if (new_sid(sid) < 0) {
        tgt_reply(c, 503, "text/plain", NULL, "no randomness\n", 14);
        return;
    }
    derive_token(sid, SID_LEN, token);
    snprintf(head, sizeof head, "Set-Cookie: session=%.*s; Path=/; HttpOnly\r\n", SID_LEN, sid);
    tgt_buf_t *b = tgt_conn_scratch(c);
    tgt_buf_printf(b,
                   "<!doctype html>\n<html><body><form method=\"post\" action=\"/login\">\n"
                   "<input type=\"hidden\" name=\"csrf_token\" value=\"%.*s\">\n"
                   "<input name=\"username\"> <input name=\"password\" type=\"password\">\n"
                   "<button>Log in</button>\n</form></body></html>\n",
                   SID_LEN, token);
    tgt_reply(c, 200, "text/html; charset=utf-8", head, b->data, b->len);
}

/* True when the form's csrf_token is the one derived from the request's session cookie. */
static int token_matches(const tgt_request_t *req)
{
    const tgt_str_t *cookie = tgt_request_header(req, "cookie");
    tgt_str_t sid;
    char token[SID_LEN], expected[SID_LEN];
    if (!cookie || find_cookie(*cookie, "session", &sid) < 0 || sid.len != SID_LEN)
        return 0;
    if (form_field(req->body, "csrf_token", token, sizeof token) != SID_LEN)
        return 0;
    derive_token(sid.p, sid.len, expected);
    return memcmp(token, expected, SID_LEN) == 0;
}

static void login_submit(tgt_conn_t *c, const tgt_request_t *req)
{
    char user[256], sid[SID_LEN], head[160];
    if (!token_matches(req) || form_field(req->body, "username", user, sizeof user) <= 0) {
        tgt_reply(c, 403, "text/plain", NULL, "Forbidden\n", 10);
        return;
    }
    if (new_sid(sid) < 0) {
        tgt_reply(c, 503, "text/plain", NULL, "no randomness\n", 14);
        return;
    }
    snprintf(head, sizeof head, "Location: /\r\nSet-Cookie: session=%.*s; Path=/; HttpOnly\r\n",
             SID_LEN, sid);
    tgt_reply(c, 302, "text/plain", head, "logged in\n", 10);
}

void tgt_session_login(tgt_conn_t *c, const tgt_request_t *req)
{
    if (tgt_str_ieq(req->method, "GET") || req->head)
        login_form(c);
    else if (tgt_str_ieq(req->method, "POST"))
        login_submit(c, req);
    else
        tgt_reply(c, 405, "text/plain", "Allow: GET, HEAD, POST\r\n", "Method Not Allowed\n", 19);
}

/* Cookie names are RFC 6265 tokens; values exclude controls, space, '"', ',', ';', '\'. */
static int cookie_pair_ok(const char *p, size_t n)
{
    const char *eq = memchr(p, '=', n);
    if (!eq || eq == p)
        return 0;
    for (const char *q = p; q < p + n; q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch <= 0x20 || ch >= 0x7f || strchr("\",;\\", ch) ||
            (q < eq && strchr("()<>@:/[]?={}", ch)))
            return 0;
    }
    return 1;
}

void tgt_session_cookie_set(tgt_conn_t *c, const tgt_request_t *req)
{
    tgt_buf_t *b = tgt_conn_scratch(c);
    const char *p = req->query.p, *end = req->query.p + req->query.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        size_t n = (size_t)((amp ? amp : end) - p);
        if (!cookie_pair_ok(p, n)) {
            tgt_reply(c, 400, "text/plain", NULL, "expected ?name=value[&...]\n", 27);
            return;
        }
        tgt_buf_printf(b, "Set-Cookie: %.*s; Path=/\r\n", (int)n, p);
        p += n + (amp != NULL);
    }
    if (b->len == 0) {
        tgt_reply(c, 400, "text/plain", NULL, "expected ?name=value[&...]\n", 27);
        return;
    }
    tgt_buf_add(b, "", 1);
    tgt_reply(c, 200, "text/plain", b->data, "cookies set\n", 12);
}

void tgt_session_cookie_check(tgt_conn_t *c, const tgt_request_t *req)
{
    const tgt_str_t *cookie = tgt_request_header(req, "cookie");
    if (!cookie)
        tgt_reply(c, 401, "text/plain", NULL, "no cookie\n", 10);
    else
        tgt_reply(c, 200, "text/plain", NULL, cookie->p, cookie->len);
}
