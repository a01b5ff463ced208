/* HTTP cookies (RFC 6265): parsing Set-Cookie, and a per-user jar that stores and sends them. */
#ifndef CCD_COOKIE_H
#define CCD_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/message.h"
#include "base/buf.h"

enum {
    CCD_COOKIE_SAMESITE_UNSET = 0,
    CCD_COOKIE_SAMESITE_STRICT,
    CCD_COOKIE_SAMESITE_LAX,
    CCD_COOKIE_SAMESITE_NONE,
};

/* Most cookies a jar holds: storing one more evicts the oldest (RFC 6265 section 6.1). */
#define CCD_COOKIE_JAR_MAX 3000
/* Largest name plus value accepted, as browsers do (RFC 6265 section 6.1). */
#define CCD_COOKIE_MAX_BYTES 4096

/* One cookie. From ccd_cookie_parse() its slices point into the header; from
 * ccd_cookie_jar_at() they point into the jar and are NUL-terminated. */
typedef struct {
    ccd_slice_t name;
    ccd_slice_t value;  /* as written, double quotes included: they are sent back as such */
    ccd_slice_t domain; /* Domain without its leading dot; empty: none (a host-only cookie);
                         * in a jar: the domain or host, lower case */
    ccd_slice_t path;   /* Path; empty: none, or not starting with '/' (the default applies) */
    double expires;     /* epoch seconds; valid when has_expires (in a jar: Max-Age applied) */
    int64_t max_age;    /* seconds; valid when has_max_age (never set for a jar's cookie) */
    bool has_expires, has_max_age;
    bool secure, http_only;
    bool host_only; /* jar cookies only: sent to exactly the host that set it */
    int samesite;   /* CCD_COOKIE_SAMESITE_*: kept, not enforced */
} ccd_cookie_t;

/* A user's cookies. Not thread-safe; costs one small allocation when empty. */
typedef struct ccd_cookie_jar ccd_cookie_jar_t;

/* Parses one Set-Cookie header value s[0..len) into *out, a pure function: *out's slices
 * point into s. Attribute names are case-insensitive, the last of each wins; an attribute
 * with a value that cannot be used (a bad date, Max-Age not an integer, an empty Domain) is
 * ignored, as RFC 6265 section 5.2 says. Expires accepts the RFC 6265 date grammar, which
 * covers IMF-fixdate, RFC 850 and asctime. Returns 0, or CCD_EINVAL when the name=value pair
 * is malformed: no '=', an empty name, a control character, name plus value over
 * CCD_COOKIE_MAX_BYTES. */
int ccd_cookie_parse(const char *s, size_t len, ccd_cookie_t *out);

/* Creates an empty jar; NULL when out of memory. The caller frees it with
 * ccd_cookie_jar_free(). */
ccd_cookie_jar_t *ccd_cookie_jar_new(void);
/* Frees a jar and every cookie in it; NULL is allowed. */
void ccd_cookie_jar_free(ccd_cookie_jar_t *jar);

/* Stores the cookie of the Set-Cookie value s[0..len) received in reply to a request for
 * host (without port; an IPv6 literal without brackets) and path (a query is ignored), at
 * wall-clock time now (epoch seconds). Without Domain the cookie is host-only; a Domain must
 * domain-match the host, must not be a single label (such as "com") unless it is the host
 * itself, and is refused when the host is an IP address (unless equal to it: host-only).
 * Without a usable Path the default is the request path's directory. A cookie with the same
 * name, domain and path is replaced (keeping its creation order); an expired one is deleted.
 * The jar copies what it keeps (one allocation per cookie) and evicts expired cookies.
 * Returns 0, CCD_EINVAL when the value is malformed or the domain rules refuse it (the jar
 * is unchanged), or CCD_ENOMEM. */
int ccd_cookie_jar_store(ccd_cookie_jar_t *jar, const char *s, size_t len, const char *host,
                         size_t host_len, const char *path, size_t path_len, double now);

/* Appends to out the Cookie header value ("a=1; b=2") for a request to host and path (as in
 * ccd_cookie_jar_store()) at time now: cookies whose domain and path match, not expired,
 * Secure ones only when https; longer paths first, then older first (RFC 6265 section 5.4).
 * Evicts expired cookies. Allocates nothing but out's growth. Returns the number of cookies
 * written (0: send no Cookie header), or CCD_ENOMEM (out->len is then unchanged). */
int ccd_cookie_jar_header(ccd_cookie_jar_t *jar, bool https, const char *host, size_t host_len,
                          const char *path, size_t path_len, double now, ccd_buf_t *out);

/* The number of cookies held, including any that expired since the jar last saw a time. */
size_t ccd_cookie_jar_count(const ccd_cookie_jar_t *jar);

/* Deletes every cookie. */
void ccd_cookie_jar_clear(ccd_cookie_jar_t *jar);

/* Fills *out with the i-th cookie (0 <= i < count, in the header's order) and returns 0, or
 * returns CCD_EINVAL when i is out of range. The slices are valid until the jar changes. */
int ccd_cookie_jar_at(const ccd_cookie_jar_t *jar, size_t i, ccd_cookie_t *out);

/* The NUL-terminated value of the first cookie named name[0..name_len) (in the header's
 * order, whatever its domain and path), its length in *value_len when not NULL; NULL when
 * there is none. The string is valid until the jar changes. */
const char *ccd_cookie_jar_get(const ccd_cookie_jar_t *jar, const char *name, size_t name_len,
                               size_t *value_len);

#endif
