/* URL parsing: splits an absolute http[s] URL into the parts a request needs. */
#ifndef CCD_URL_H
#define CCD_URL_H

#include "http/message.h"

#include <stdbool.h>
#include <stdint.h>

enum { CCD_URL_OTHER = 0, CCD_URL_HTTP = 1, CCD_URL_HTTPS = 2 };

typedef struct ccd_url {
    int scheme_kind;    /* CCD_URL_HTTP, CCD_URL_HTTPS or CCD_URL_OTHER */
    ccd_slice_t scheme; /* as written, without "://" */
    ccd_slice_t host;   /* without the brackets of an IPv6 literal */
    uint16_t port;      /* the explicit port, else 80/443; 0 for another scheme without one */
    bool default_port;  /* the port is the scheme's default (Host: omits it) */
    bool ipv6;          /* host is an IPv6 literal (written in brackets) */
    ccd_slice_t path;   /* starts with '/'; "/" (a static string) when the URL has none */
    ccd_slice_t query;  /* "?..." or empty; the fragment is dropped */
} ccd_url_t;

/* Parses s[0..len) into *out, a pure function: the slices in *out point into s (or to static
 * storage) and live as long as s. Userinfo ("user:pass@") is skipped. Returns 0 or CCD_EURL. */
int ccd_url_parse(const char *s, size_t len, ccd_url_t *out);

/* Checks a base URL a test will send requests to (-H, a class's host): returns NULL when it is
 * an http or https URL ccd_url_parse() accepts, else a static text saying what is wrong
 * ("missing scheme ...", "bad port ...", "invalid host ...", "not an http(s) URL ..."). The
 * last comes with *other_scheme set: a well-formed URL of another scheme, which the caller may
 * accept (a scenario that speaks another protocol through its own sockets names its server
 * redis://HOST:PORT or tcp://HOST:PORT). */
const char *ccd_url_base_problem(const char *s, bool *other_scheme);

#endif
