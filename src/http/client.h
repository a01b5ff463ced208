/* HTTP/1.1 client on a libev loop: per-thread context, per-user sessions, one request at a time. */
#ifndef CCD_HTTP_H
#define CCD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

struct ev_loop;
struct ccd_dns;
struct ccd_tls;

typedef struct {
    ccd_slice_t name;
    ccd_slice_t value;
} ccd_header_t;

/* Per-thread state shared by every session of that thread: the loop, the resolver and its
 * cache, the TLS contexts, the read buffer. Not thread-safe: use only from its loop's thread. */
typedef struct ccd_http_ctx ccd_http_ctx_t;

/* A user's HTTP session: its keep-alive connections (one per origin) and TLS sessions. */
typedef struct ccd_http_session ccd_http_session_t;

typedef struct {
    const char *user_agent; /* NULL: "cicada/<version>" */
    const char *ca_file;    /* NULL: the system's trust store */
} ccd_http_config_t;

/* A request. Everything it points to need only live until ccd_http_send() returns: the
 * request is serialised into the connection's buffer before the call returns. */
typedef struct {
    ccd_slice_t method;          /* "GET", "POST", ... as sent */
    ccd_slice_t url;             /* absolute: http[s]://host[:port]/path?query */
    const ccd_header_t *headers; /* extra headers; a given Host, User-Agent, Content-Length
                                  * or Connection replaces the default one */
    size_t nheaders;
    ccd_slice_t body;       /* sent with Content-Length when method or body call for it */
    double connect_timeout; /* seconds to establish TCP (and TLS); <= 0: none */
    double timeout;         /* seconds for the whole request; <= 0: none */
    bool insecure;          /* skip TLS certificate and host name verification */
} ccd_http_request_t;

/* The outcome of a request. All pointers are valid only during the completion callback. */
typedef struct {
    int err;                     /* 0, or a negative ccd error code for a transport failure */
    const char *errmsg;          /* NUL-terminated detail when err != 0 (e.g. the TLS verify
                                  * error, "connect timeout after 5.0s"); never NULL */
    int status;                  /* HTTP status; 0 when err != 0 */
    ccd_slice_t reason;          /* reason phrase */
    const ccd_header_t *headers; /* response headers as received */
    size_t nheaders;
    ccd_slice_t body;   /* decoded of chunked framing; not of content-encoding */
    int64_t elapsed_us; /* from ccd_http_send() (connection set-up included when one was
                         * needed) to the last byte of the response */
    uint64_t bytes;     /* body length received */
    ccd_slice_t host;   /* the host the request went to (no port, IPv6 without brackets) */
    ccd_slice_t target; /* the request-target: path and query */
} ccd_http_response_t;

typedef void (*ccd_http_cb)(void *ud, const ccd_http_response_t *res);

/* Creates a context bound to loop. Returns 0 or a negative error code; *out is set on success. */
int ccd_http_ctx_create(ccd_http_ctx_t **out, struct ev_loop *loop, const ccd_http_config_t *cfg);
/* Destroys a context; every session made from it must have been freed first. */
void ccd_http_ctx_destroy(ccd_http_ctx_t *ctx);

/* The context's resolver and TLS contexts, lent to the thread's other clients (sockets of
 * any protocol); owned by the context and valid until it is destroyed. */
struct ccd_dns *ccd_http_ctx_dns(ccd_http_ctx_t *ctx);
struct ccd_tls *ccd_http_ctx_tls(ccd_http_ctx_t *ctx);

/* Creates a session with no connection yet; NULL when out of memory. Idle cost must stay small
 * (the engine holds one per user, with tens of thousands of users per thread). */
ccd_http_session_t *ccd_http_session_new(ccd_http_ctx_t *ctx);
/* Frees a session: cancels its request in flight (its callback is not called) and closes its
 * connections. */
void ccd_http_session_free(ccd_http_session_t *s);

/* Starts a request on the session; at most one is in flight per session. cb is called exactly
 * once, later, from the loop (never from inside this call), unless the request is canceled.
 * Returns 0, or CCD_EINVAL when a request is already in flight or the method is empty,
 * CCD_EURL for a URL that cannot be requested, CCD_ENOMEM (the callback is then not called). */
int ccd_http_send(ccd_http_session_t *s, const ccd_http_request_t *req, ccd_http_cb cb, void *ud);

/* Cancels the session's request in flight, if any, without calling its callback; the
 * connection it used is closed. */
void ccd_http_cancel(ccd_http_session_t *s);

#endif
