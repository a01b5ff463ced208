/* HTTP/1.1 client on a libev loop: per-thread context, per-user sessions, requests in flight
 * on up to a limit of connections per origin. */
#ifndef CCD_HTTP_H
#define CCD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/message.h"

struct ev_loop;
struct ccd_dns;
struct ccd_tls;

/* Per-thread state shared by every session of that thread: the loop, the resolver and its
 * cache, the TLS contexts, the read buffer. Not thread-safe: use only from its loop's thread. */
typedef struct ccd_http_ctx ccd_http_ctx_t;

/* A user's HTTP session: its keep-alive connections (one per origin, more while requests run
 * concurrently) and TLS sessions. */
typedef struct ccd_http_session ccd_http_session_t;

typedef struct {
    const char *user_agent; /* NULL: "cicada/<version>" */
    const char *ca_file;    /* NULL: the system's trust store */
} ccd_http_config_t;

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
/* Frees a session: cancels its requests in flight (their callbacks are not called) and closes
 * its connections. */
void ccd_http_session_free(ccd_http_session_t *s);

/* Starts a request on the session. cb is called exactly once, later, from the loop (never from
 * inside this call), unless the request is canceled. Several requests may be in flight on one
 * session: each goes on an idle keep-alive connection to its origin, else on a new one while
 * fewer than req->per_origin connections to the origin are in use, else it waits (oldest
 * first) until one of them is free. A request's time and timeout run from when it goes on a
 * connection. Returns 0, or CCD_EINVAL when the method is empty, CCD_EURL for a URL that
 * cannot be requested, CCD_ENOMEM (the callback is then not called). */
int ccd_http_send(ccd_http_session_t *s, const ccd_http_request_t *req, ccd_http_cb cb, void *ud);

/* Cancels the session's requests in flight and waiting, if any, without calling their
 * callbacks; the connections they used are closed. */
void ccd_http_cancel(ccd_http_session_t *s);
/* Cancels, as ccd_http_cancel(), only the session's requests whose callback data is ud; a
 * request waiting for a connection may take the one freed. Returns whether one of them had
 * gone on a connection (a request still waiting was never sent). */
bool ccd_http_cancel_ud(ccd_http_session_t *s, void *ud);

#endif
