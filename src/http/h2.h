/* HTTP/2 framing for one client connection (nghttp2 inside, doing frames, HPACK and flow
 * control only): bytes in from the caller's reads, bytes out into a buffer the caller writes. */
#ifndef CCD_H2_H
#define CCD_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

typedef struct ccd_h2 ccd_h2_t;

/* A request body being sent: the caller embeds it and keeps it until the stream closes. */
typedef struct {
    const char *p;
    size_t left;
} ccd_h2_body_t;

/* What the connection reports, from inside ccd_h2_recv() or ccd_h2_pending(). stream and id
 * are the pointer given to ccd_h2_submit() and the id it returned (a caller reusing its
 * pointers checks both); none of these may free the ccd_h2_t. */
typedef struct {
    /* A response header (":status" included), or a trailer (a field of the header block
     * that ends the stream after the response's headers); nonzero resets the stream. */
    int (*header)(void *stream, int32_t id, ccd_slice_t name, ccd_slice_t value, bool trailer);
    /* Body bytes, consumed at once (the window opens again as they are read). */
    int (*data)(void *stream, int32_t id, const char *buf, size_t len);
    /* The stream ended: error 0 when the response is complete, else the HTTP/2 error code of a
     * reset; refused is true when the server's GOAWAY left the stream unprocessed. */
    void (*close)(void *conn, void *stream, int32_t id, uint32_t error, bool refused);
    /* The server sent GOAWAY: no new stream may start on the connection. */
    void (*goaway)(void *conn, uint32_t error);
} ccd_h2_cbs_t;

/* Creates the client side of a connection and queues its preface and SETTINGS. conn is passed
 * to cbs->close and cbs->goaway. Returns NULL when out of memory; free with ccd_h2_free(). */
ccd_h2_t *ccd_h2_new(const ccd_h2_cbs_t *cbs, void *conn);
void ccd_h2_free(ccd_h2_t *h);

/* Starts a stream for a request given as HTTP/1.1 bytes (as http/request.c serialises it):
 * the request line and headers become pseudo-headers and lower-case fields (the header names
 * in req are lower-cased in place), connection-specific fields are dropped, and the body is
 * sent from req through *body (the caller's, kept until the stream closes). Returns the stream id
 * (> 0), CCD_EPROTO for bytes that are not such a request, or CCD_ENOMEM. */
int32_t ccd_h2_submit(ccd_h2_t *h, char *req, size_t len, bool tls, ccd_h2_body_t *body,
                      void *stream);

/* Resets a stream (CANCEL) and forgets its pointer: no callback names it again. */
void ccd_h2_cancel(ccd_h2_t *h, int32_t id);

/* Feeds bytes read from the socket. Returns 0 or CCD_EPROTO (the connection is broken: close
 * it; streams still open get no close callback). */
int ccd_h2_recv(ccd_h2_t *h, const char *buf, size_t len);

/* Frames waiting to be written: *buf and the returned length, 0 when nothing is due. After
 * writing n of them, call ccd_h2_sent(h, n). Returns CCD_EPROTO on a broken connection. */
long ccd_h2_pending(ccd_h2_t *h, const char **buf);
void ccd_h2_sent(ccd_h2_t *h, size_t n);

/* Whether the connection can start new streams (no GOAWAY received or sent). */
bool ccd_h2_open(const ccd_h2_t *h);

/* The name of an HTTP/2 error code, e.g. "REFUSED_STREAM". */
const char *ccd_h2_error_name(uint32_t code);

#endif
