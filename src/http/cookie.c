/* Cookies: the Set-Cookie parser, the RFC 6265 date grammar, and the jar's store and lookup. */
#include "http/cookie.h"
#include "base/buf.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A stored cookie: one allocation holding its fields and its four NUL-terminated strings,
 * name, value, domain (lower case) and path, one after the other in data. */
struct cookie {
    uint64_t seq;   /* creation order; a replacement keeps the replaced cookie's */
    double expires; /* epoch seconds; INFINITY for a session cookie */
    size_t name_len, value_len, domain_len, path_len;
    bool persistent, host_only, secure, http_only;
    int samesite;
    char data[];
};

/* The jar keeps v sorted as the Cookie header lists them: longer paths first, then older
 * first. Jars are small (tens of cookies), so arrays and linear scans beat any index, and
 * writing a header needs no sort and so no allocation. */
#define SAME_MAX 512

struct ccd_cookie_jar {
    struct cookie **v;
    size_t n, cap;
    uint64_t seq;
    uint64_t gen;       /* changes with every change to the jar */
    double next_expiry; /* no cookie expires before (a lower bound; 0 in a new jar) */
    /* The Set-Cookie stored last, with the host and the request path it came with, kept while
     * storing it again is known to change nothing: it set a cookie whose expiry does not
     * depend on the time it is stored (no Max-Age), and the jar has not changed since
     * (same_gen == gen). A server that sets the same cookie on every response then costs a
     * comparison per response instead of a parse. */
    bool same_set;
    uint64_t same_gen;
    size_t same_len, same_host_len, same_path_len;
    char same[SAME_MAX];
};

static const ccd_slice_t empty = {"", 0};

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static ccd_slice_t trim(const char *p, const char *e)
{
    while (p < e && is_wsp(*p))
        p++;
    while (e > p && is_wsp(e[-1]))
        e--;
    return (ccd_slice_t){p, (size_t)(e - p)};
}

/* Control characters other than tab make the whole header malformed (RFC 6265bis). */
static bool has_ctl(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((unsigned)c - 0x20u >= 0x5fu) /* below 0x20, or 0x7f and above */
            if (c < 0x7f ? c != '\t' : c == 0x7f)
                return true;
    }
    return false;
}

/* ---- Dates: RFC 6265 section 5.1.1, which reads all three HTTP-date formats. ---- */

struct date {
    int hms[3], day, month, year;
    bool has_time, has_day, has_month, has_year;
};

static bool is_delim(unsigned char c)
{
    return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
           (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/* Reads min..max digits at t[*i] that are not followed by another digit. */
static bool read_num(ccd_slice_t t, size_t *i, size_t min, size_t max, int *v)
{
    size_t j = *i;
    int n = 0;
    while (j < t.len && j - *i < max && is_digit(t.base[j]))
        n = n * 10 + (t.base[j++] - '0');
    if (j - *i < min || (j < t.len && is_digit(t.base[j])))
        return false;
    *i = j;
    *v = n;
    return true;
}

static bool read_time(ccd_slice_t t, int hms[3])
{
    size_t i = 0;
    for (int k = 0; k < 3; k++) {
        if (k > 0 && (i >= t.len || t.base[i++] != ':'))
            return false;
        if (!read_num(t, &i, 1, 2, &hms[k]))
            return false;
    }
    return true;
}

static bool read_month(ccd_slice_t t, int *month)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    for (int m = 0; t.len >= 3 && m < 12; m++) {
        if (strncasecmp(t.base, names + 3 * m, 3) == 0) {
            *month = m + 1;
            return true;
        }
    }
    return false;
}

/* Each token fills the first field it can be, in the RFC's order. */
static void date_token(struct date *d, ccd_slice_t t)
{
    size_t i = 0;
    if (!d->has_time && read_time(t, d->hms))
        d->has_time = true;
    else if (!d->has_day && read_num(t, &i, 1, 2, &d->day))
        d->has_day = true;
    else if (!d->has_month && read_month(t, &d->month))
        d->has_month = true;
    else if (!d->has_year && read_num(t, &i, 2, 4, &d->year))
        d->has_year = true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int date_finish(struct date *d, double *out)
{
    if (!d->has_time || !d->has_day || !d->has_month || !d->has_year)
        return CCD_EINVAL;
    if (d->year >= 70 && d->year <= 99)
        d->year += 1900;
    else if (d->year <= 69)
        d->year += 2000;
    if (d->year < 1601 || d->day < 1 || d->day > days_in_month(d->year, d->month) ||
        d->hms[0] > 23 || d->hms[1] > 59 || d->hms[2] > 59)
        return CCD_EINVAL;
    int64_t days = days_from_civil(d->year, d->month, d->day);
    *out = (double)(days * 86400 + d->hms[0] * 3600 + d->hms[1] * 60 + d->hms[2]);
    return 0;
}

static int parse_date(ccd_slice_t s, double *out)
{
    struct date d = {0};
    size_t i = 0;
    while (i < s.len) {
        while (i < s.len && is_delim((unsigned char)s.base[i]))
            i++;
        size_t j = i;
        while (j < s.len && !is_delim((unsigned char)s.base[j]))
            j++;
        if (j > i)
            date_token(&d, (ccd_slice_t){s.base + i, j - i});
        i = j;
    }
    return date_finish(&d, out);
}

/* ---- Set-Cookie: RFC 6265 section 5.2. ---- */

/* An optional '-' then digits; saturates far beyond any useful lifetime. */
static int parse_max_age(ccd_slice_t v, int64_t *out)
{
    bool neg = v.len > 0 && v.base[0] == '-';
    if (v.len == (size_t)neg)
        return CCD_EINVAL;
    int64_t n = 0;
    for (size_t i = neg; i < v.len; i++) {
        if (!is_digit(v.base[i]))
            return CCD_EINVAL;
        if (n < INT64_C(1000000000000000))
            n = n * 10 + (v.base[i] - '0');
    }
    *out = neg ? -n : n;
    return 0;
}

static int parse_samesite(ccd_slice_t v)
{
    if (ccd_slice_ieq_str(v, "strict"))
        return CCD_COOKIE_SAMESITE_STRICT;
    if (ccd_slice_ieq_str(v, "lax"))
        return CCD_COOKIE_SAMESITE_LAX;
    if (ccd_slice_ieq_str(v, "none"))
        return CCD_COOKIE_SAMESITE_NONE;
    return CCD_COOKIE_SAMESITE_UNSET;
}

static void set_domain(ccd_slice_t v, ccd_cookie_t *out)
{
    if (v.len > 0 && v.base[0] == '.')
        v.base++, v.len--;
    if (v.len > 0)
        out->domain = v;
}

static void set_expires(ccd_slice_t v, ccd_cookie_t *out)
{
    double t;
    if (parse_date(v, &t) == 0)
        out->expires = t, out->has_expires = true;
}

static void set_max_age(ccd_slice_t v, ccd_cookie_t *out)
{
    int64_t n;
    if (parse_max_age(v, &n) == 0)
        out->max_age = n, out->has_max_age = true;
}

static void parse_av(const char *p, const char *e, ccd_cookie_t *out)
{
    const char *eq = memchr(p, '=', (size_t)(e - p));
    ccd_slice_t key = trim(p, eq ? eq : e);
    ccd_slice_t val = eq ? trim(eq + 1, e) : empty;
    if (ccd_slice_ieq_str(key, "expires"))
        set_expires(val, out);
    else if (ccd_slice_ieq_str(key, "max-age"))
        set_max_age(val, out);
    else if (ccd_slice_ieq_str(key, "domain"))
        set_domain(val, out);
    else if (ccd_slice_ieq_str(key, "path"))
        out->path = val.len > 0 && val.base[0] == '/' ? val : empty;
    else if (ccd_slice_ieq_str(key, "secure"))
        out->secure = true;
    else if (ccd_slice_ieq_str(key, "httponly"))
        out->http_only = true;
    else if (ccd_slice_ieq_str(key, "samesite"))
        out->samesite = parse_samesite(val);
}

static int parse_pair(const char *p, const char *e, ccd_cookie_t *out)
{
    const char *eq = memchr(p, '=', (size_t)(e - p));
    if (!eq)
        return CCD_EINVAL;
    out->name = trim(p, eq);
    out->value = trim(eq + 1, e);
    if (out->name.len == 0 || out->name.len + out->value.len > CCD_COOKIE_MAX_BYTES)
        return CCD_EINVAL;
    return 0;
}

int ccd_cookie_parse(const char *s, size_t len, ccd_cookie_t *out)
{
    *out = (ccd_cookie_t){.domain = empty, .path = empty};
    if (len == 0 || has_ctl(s, len))
        return CCD_EINVAL;
    const char *e = s + len, *p = memchr(s, ';', len);
    p = p ? p : e;
    int rc = parse_pair(s, p, out);
    while (rc == 0 && p < e) {
        const char *q = p + 1, *semi = memchr(q, ';', (size_t)(e - q));
        p = semi ? semi : e;
        parse_av(q, p, out);
    }
    return rc;
}

/* ---- Domain and path rules: RFC 6265 sections 5.1.3, 5.1.4 and 5.3. ---- */

static bool is_ip(ccd_slice_t host)
{
    char buf[64];
    unsigned char addr[16];
    if (host.len >= sizeof(buf))
        return false;
    memcpy(buf, host.base, host.len);
    buf[host.len] = '\0';
    return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

/* host is dom or one of its sub-domains; the caller has ruled out IP-address hosts. */
static bool domain_match(ccd_slice_t host, ccd_slice_t dom)
{
    if (ccd_slice_ieq(host, dom))
        return true;
    if (host.len <= dom.len)
        return false;
    size_t off = host.len - dom.len;
    return host.base[off - 1] == '.' && ccd_slice_ieq((ccd_slice_t){host.base + off, dom.len}, dom);
}

/* The cookie's domain for a response from host, or CCD_EINVAL when the rules refuse it. A
 * single label stands in for a public suffix: there is no public suffix list here. */
static int cookie_domain(const ccd_cookie_t *c, ccd_slice_t host, ccd_slice_t *dom, bool *host_only)
{
    *dom = host;
    *host_only = true;
    if (c->domain.len == 0)
        return 0;
    if (is_ip(host) || !memchr(c->domain.base, '.', c->domain.len))
        return ccd_slice_ieq(c->domain, host) ? 0 : CCD_EINVAL;
    if (!domain_match(host, c->domain))
        return CCD_EINVAL;
    *dom = c->domain;
    *host_only = false;
    return 0;
}

/* The path of a request target, without query or fragment; "/" when it has none. */
static ccd_slice_t request_path(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] != '?' && p[i] != '#')
        i++;
    return i > 0 ? (ccd_slice_t){p, i} : (ccd_slice_t){"/", 1};
}

static ccd_slice_t default_path(ccd_slice_t req)
{
    const char *slash = memrchr(req.base, '/', req.len);
    if (req.base[0] != '/' || slash == req.base)
        return (ccd_slice_t){"/", 1};
    return (ccd_slice_t){req.base, (size_t)(slash - req.base)};
}

static bool path_match(ccd_slice_t req, const char *cp, size_t cl)
{
    if (req.len < cl || memcmp(req.base, cp, cl) != 0)
        return false;
    return req.len == cl || cp[cl - 1] == '/' || req.base[cl] == '/';
}

/* ---- The jar. ---- */

static const char *cookie_value(const struct cookie *k)
{
    return k->data + k->name_len + 1;
}

static const char *cookie_domain_str(const struct cookie *k)
{
    return cookie_value(k) + k->value_len + 1;
}

static const char *cookie_path(const struct cookie *k)
{
    return cookie_domain_str(k) + k->domain_len + 1;
}

static char *put_str(char *p, ccd_slice_t s, bool lower)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.base[i];
        *p++ = lower && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    *p++ = '\0';
    return p;
}

static struct cookie *cookie_new(const ccd_cookie_t *c, ccd_slice_t dom, ccd_slice_t path)
{
    size_t n = c->name.len + c->value.len + dom.len + path.len + 4;
    struct cookie *k = malloc(sizeof(*k) + n);
    if (!k)
        return NULL;
    *k = (struct cookie){.name_len = c->name.len,
                         .value_len = c->value.len,
                         .domain_len = dom.len,
                         .path_len = path.len,
                         .secure = c->secure,
                         .http_only = c->http_only,
                         .host_only = c->host_only,
                         .samesite = c->samesite};
    char *p = put_str(k->data, c->name, false);
    p = put_str(p, c->value, false);
    p = put_str(p, dom, true);
    put_str(p, path, false);
    return k;
}

static bool cookie_is(const struct cookie *k, ccd_slice_t name, ccd_slice_t dom, ccd_slice_t path)
{
    return ccd_slice_eq((ccd_slice_t){k->data, k->name_len}, name) &&
           ccd_slice_ieq((ccd_slice_t){cookie_domain_str(k), k->domain_len}, dom) &&
           ccd_slice_eq((ccd_slice_t){cookie_path(k), k->path_len}, path);
}

static size_t jar_find(const ccd_cookie_jar_t *jar, ccd_slice_t name, ccd_slice_t dom,
                       ccd_slice_t path)
{
    for (size_t i = 0; i < jar->n; i++)
        if (cookie_is(jar->v[i], name, dom, path))
            return i;
    return SIZE_MAX;
}

static void jar_remove(ccd_cookie_jar_t *jar, size_t i)
{
    free(jar->v[i]);
    memmove(jar->v + i, jar->v + i + 1, (jar->n - i - 1) * sizeof(*jar->v));
    jar->n--;
    jar->gen++;
}

static size_t jar_oldest(const ccd_cookie_jar_t *jar)
{
    size_t o = 0;
    for (size_t i = 1; i < jar->n; i++)
        if (jar->v[i]->seq < jar->v[o]->seq)
            o = i;
    return o;
}

/* Keeps the header order: longer paths first, then lower creation numbers. */
static void jar_insert(ccd_cookie_jar_t *jar, struct cookie *k)
{
    size_t i = 0;
    while (i < jar->n && (jar->v[i]->path_len > k->path_len ||
                          (jar->v[i]->path_len == k->path_len && jar->v[i]->seq < k->seq)))
        i++;
    memmove(jar->v + i + 1, jar->v + i, (jar->n - i) * sizeof(*jar->v));
    jar->v[i] = k;
    jar->n++;
    jar->gen++;
}

static int jar_reserve(ccd_cookie_jar_t *jar)
{
    struct cookie **v = ccd_array_grow(jar->v, &jar->cap, jar->n + 1, sizeof(*v), 8);
    if (!v)
        return CCD_ENOMEM;
    jar->v = v;
    return 0;
}

/* Frees the cookies expired at now. Called for every request and response: the jar's earliest
 * expiry spares it the walk over cookies (and their memory) until one may have expired. */
static void jar_evict_expired(ccd_cookie_jar_t *jar, double now)
{
    if (now < jar->next_expiry)
        return;
    size_t w = 0;
    jar->next_expiry = INFINITY;
    for (size_t r = 0; r < jar->n; r++) {
        if (jar->v[r]->expires <= now) {
            free(jar->v[r]);
        } else {
            jar->v[w++] = jar->v[r];
            if (jar->v[r]->expires < jar->next_expiry)
                jar->next_expiry = jar->v[r]->expires;
        }
    }
    if (w != jar->n)
        jar->gen++;
    jar->n = w;
}

/* Max-Age wins over Expires; Max-Age <= 0 means already expired. */
static double cookie_expiry(const ccd_cookie_t *c, double now)
{
    if (c->has_max_age)
        return c->max_age <= 0 ? -INFINITY : now + (double)c->max_age;
    return c->has_expires ? c->expires : INFINITY;
}

ccd_cookie_jar_t *ccd_cookie_jar_new(void)
{
    return calloc(1, sizeof(ccd_cookie_jar_t));
}

void ccd_cookie_jar_free(ccd_cookie_jar_t *jar)
{
    if (!jar)
        return;
    ccd_cookie_jar_clear(jar);
    free(jar->v);
    free(jar);
}

void ccd_cookie_jar_clear(ccd_cookie_jar_t *jar)
{
    for (size_t i = 0; i < jar->n; i++)
        free(jar->v[i]);
    jar->n = 0;
    jar->gen++;
}

size_t ccd_cookie_jar_count(const ccd_cookie_jar_t *jar)
{
    return jar->n;
}

/* Puts k in the jar in place of the cookie at old (SIZE_MAX: none), whose creation order
 * it inherits; a full jar makes room by evicting its oldest cookie. */
static void jar_put(ccd_cookie_jar_t *jar, struct cookie *k, size_t old)
{
    k->seq = old != SIZE_MAX ? jar->v[old]->seq : jar->seq++;
    if (old != SIZE_MAX)
        jar_remove(jar, old);
    else if (jar->n >= CCD_COOKIE_JAR_MAX)
        jar_remove(jar, jar_oldest(jar));
    jar_insert(jar, k);
}

static bool same_again(const ccd_cookie_jar_t *jar, ccd_slice_t s, ccd_slice_t host,
                       ccd_slice_t req)
{
    const char *m = jar->same;
    return jar->same_set && jar->same_gen == jar->gen && jar->same_len == s.len &&
           jar->same_host_len == host.len && jar->same_path_len == req.len &&
           memcmp(m, s.base, s.len) == 0 && memcmp(m + s.len, host.base, host.len) == 0 &&
           memcmp(m + s.len + host.len, req.base, req.len) == 0;
}

static void remember_same(ccd_cookie_jar_t *jar, ccd_slice_t s, ccd_slice_t host, ccd_slice_t req)
{
    jar->same_set = s.len + host.len + req.len <= SAME_MAX;
    if (!jar->same_set)
        return;
    memcpy(jar->same, s.base, s.len);
    memcpy(jar->same + s.len, host.base, host.len);
    memcpy(jar->same + s.len + host.len, req.base, req.len);
    jar->same_len = s.len;
    jar->same_host_len = host.len;
    jar->same_path_len = req.len;
    jar->same_gen = jar->gen;
}

int ccd_cookie_jar_store(ccd_cookie_jar_t *jar, const char *s, size_t len, const char *host,
                         size_t host_len, const char *path, size_t path_len, double now)
{
    ccd_cookie_t c;
    ccd_slice_t dom, h = {host, host_len}, raw = {s, len}, req = request_path(path, path_len);
    jar_evict_expired(jar, now);
    if (same_again(jar, raw, h, req))
        return 0;
    int rc = ccd_cookie_parse(s, len, &c);
    if (rc == 0)
        rc = cookie_domain(&c, h, &dom, &c.host_only);
    if (rc)
        return rc;
    ccd_slice_t p = c.path.len ? c.path : default_path(req);
    double expires = cookie_expiry(&c, now);
    size_t old = jar_find(jar, c.name, dom, p);
    if (expires <= now) {
        if (old != SIZE_MAX)
            jar_remove(jar, old);
        return 0;
    }
    if (old != SIZE_MAX && jar->v[old]->value_len == c.value.len) {
        /* The same cookie again (a server sets it on every response): updated in place, as
         * a replacement would leave it, without an allocation per response. */
        struct cookie *k = jar->v[old];
        memcpy(k->data + k->name_len + 1, c.value.base, c.value.len);
        k->expires = expires;
        k->persistent = c.has_max_age || c.has_expires;
        k->secure = c.secure;
        k->http_only = c.http_only;
        k->host_only = c.host_only;
        k->samesite = c.samesite;
        jar->gen++;
    } else {
        struct cookie *k = jar_reserve(jar) == 0 ? cookie_new(&c, dom, p) : NULL;
        if (!k)
            return CCD_ENOMEM;
        k->expires = expires;
        k->persistent = c.has_max_age || c.has_expires;
        jar_put(jar, k, old);
    }
    if (expires < jar->next_expiry)
        jar->next_expiry = expires;
    if (!c.has_max_age)
        remember_same(jar, raw, h, req);
    return 0;
}

/* ip: whether host is an IP address, -1 until a domain cookie asks (host-only cookies, the
 * usual ones, never do). */
static bool cookie_matches(const struct cookie *k, bool https, ccd_slice_t host, int *ip,
                           ccd_slice_t path)
{
    ccd_slice_t dom = {cookie_domain_str(k), k->domain_len};
    if (k->secure && !https)
        return false;
    if (k->host_only) {
        if (!ccd_slice_ieq(host, dom))
            return false;
    } else {
        if (*ip < 0)
            *ip = is_ip(host);
        if (*ip || !domain_match(host, dom))
            return false;
    }
    return path_match(path, cookie_path(k), k->path_len);
}

static int append_cookie(ccd_buf_t *out, const struct cookie *k, bool first)
{
    int rc = first ? 0 : ccd_buf_append(out, "; ", 2);
    if (rc == 0)
        rc = ccd_buf_append(out, k->data, k->name_len);
    if (rc == 0)
        rc = ccd_buf_putc(out, '=');
    if (rc == 0)
        rc = ccd_buf_append(out, cookie_value(k), k->value_len);
    return rc;
}

int ccd_cookie_jar_header(ccd_cookie_jar_t *jar, bool https, const char *host, size_t host_len,
                          const char *path, size_t path_len, double now, ccd_buf_t *out)
{
    ccd_slice_t h = {host, host_len}, p = request_path(path, path_len);
    int ip = -1;
    size_t start = out->len;
    int n = 0;
    jar_evict_expired(jar, now);
    for (size_t i = 0; i < jar->n; i++) {
        if (!cookie_matches(jar->v[i], https, h, &ip, p))
            continue;
        if (append_cookie(out, jar->v[i], n == 0)) {
            out->len = start;
            return CCD_ENOMEM;
        }
        n++;
    }
    return n;
}

int ccd_cookie_jar_at(const ccd_cookie_jar_t *jar, size_t i, ccd_cookie_t *out)
{
    if (i >= jar->n)
        return CCD_EINVAL;
    const struct cookie *k = jar->v[i];
    *out = (ccd_cookie_t){
        .name = {k->data, k->name_len},
        .value = {cookie_value(k), k->value_len},
        .domain = {cookie_domain_str(k), k->domain_len},
        .path = {cookie_path(k), k->path_len},
        .expires = k->expires,
        .has_expires = k->persistent,
        .secure = k->secure,
        .http_only = k->http_only,
        .host_only = k->host_only,
        .samesite = k->samesite,
    };
    return 0;
}

const char *ccd_cookie_jar_get(const ccd_cookie_jar_t *jar, const char *name, size_t name_len,
                               size_t *value_len)
{
    for (size_t i = 0; i < jar->n; i++) {
        const struct cookie *k = jar->v[i];
        if (k->name_len == name_len && memcmp(k->data, name, name_len) == 0) {
            if (value_len)
                *value_len = k->value_len;
            return cookie_value(k);
        }
    }
    return NULL;
}
