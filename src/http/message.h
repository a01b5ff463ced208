/* HTTP messages as cicada's client sees them: headers, a request to send, a response received.
 * Plain data shared by the serialiser, the parser, the cookie jar and the client. */
#ifndef CCD_MESSAGE_H
#define CCD_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

typedef struct {
    ccd_slice_t name;
    ccd_slice_t value;
} ccd_header_t;

struct ccd_url; /* http/url.h */

/* A request. Everything it points to need only live until ccd_http_send() returns: the
 * request is serialised into the connection's buffer before the call returns. */
/* How a request may use HTTP/2: offered by TLS ALPN on https (the default, falling back to
 * HTTP/1.1 when the server does not choose it), never, or also in the clear by prior
 * knowledge (the server is known to speak HTTP/2 on that port). */
enum { CCD_HTTP2_ALPN = 0, CCD_HTTP2_OFF, CCD_HTTP2_PRIOR };

typedef struct {
    ccd_slice_t method;           /* "GET", "POST", ... as sent */
    ccd_slice_t url;              /* absolute: http[s]://host[:port]/path?query */
    const struct ccd_url *parsed; /* NULL, or url as ccd_url_parse() split it (it then
                                   * returned 0): saves parsing it again */
    const ccd_header_t *headers;  /* extra headers; a given Host, User-Agent, Content-Length
                                   * or Connection replaces the default one */
    size_t nheaders;
    ccd_slice_t body;       /* sent with Content-Length when method or body call for it */
    double connect_timeout; /* seconds to establish TCP (and TLS); <= 0: none */
    double timeout;         /* seconds for the whole request; <= 0: none */
    bool insecure;          /* skip TLS certificate and host name verification */
    bool limit_body;        /* keep only max_body bytes of the response body: the rest is read
                             * and counted in the response's bytes, not kept */
    size_t max_body;
    uint8_t http2;       /* CCD_HTTP2_ALPN, _OFF or _PRIOR */
    unsigned per_origin; /* connections to the origin the session may use at once while other
                          * requests of it are in flight (0: 1); past it, the request waits
                          * for one of them to be free */
} ccd_http_request_t;

/* The outcome of a request. All pointers are valid only during the completion callback. */
typedef struct {
    int err;                     /* 0, or a negative ccd error code for a transport failure */
    const char *errmsg;          /* NUL-terminated detail when err != 0 (e.g. the TLS verify
                                  * error, "connect timeout after 5.0s"); never NULL */
    bool local;                  /* err is the generator's own: the connection could not be
                                  * opened for want of a descriptor, port, buffer or memory
                                  * (ccd_connect_local_failure()), so nothing was sent */
    int status;                  /* HTTP status; 0 when err != 0 */
    ccd_slice_t reason;          /* reason phrase */
    const ccd_header_t *headers; /* response headers as received */
    size_t nheaders;
    const ccd_header_t *trailers; /* the fields after the body (a chunked body's trailers, an
                                   * HTTP/2 stream's last header block), never merged into
                                   * the headers (RFC 9110 section 6.5.1) */
    size_t ntrailers;
    ccd_slice_t body;   /* decoded of chunked framing; not of content-encoding */
    int64_t elapsed_us; /* from ccd_http_send() (connection set-up included when one was
                         * needed) to the last byte of the response */
    uint64_t bytes;     /* body length received: more than body.len when max_body cut it */
    ccd_slice_t host;   /* the host the request went to (no port, IPv6 without brackets) */
    ccd_slice_t target; /* the request-target: path and query */
    bool http2;         /* the request went over HTTP/2 (a stream), not HTTP/1.1 */
} ccd_http_response_t;

#endif
