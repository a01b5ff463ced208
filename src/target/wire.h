/* HTTP/1.1 response heads on the wire: status line, framing and connection headers. */
#ifndef TGT_WIRE_H
#define TGT_WIRE_H

#include "buf.h"

#include <stdint.h>

/* How a response is framed. */
enum {
    TGT_LEN_NONE = -1,    /* no body and no Content-Length (1xx, 204, 304) */
    TGT_LEN_CHUNKED = -2, /* Transfer-Encoding: chunked */
};

/* What the Connection header must say. */
typedef enum {
    TGT_CONN_KEEP,   /* HTTP/1.1 keep-alive: no header */
    TGT_CONN_KEEP10, /* HTTP/1.0 keep-alive: "Connection: keep-alive" */
    TGT_CONN_CLOSE,  /* "Connection: close" */
} tgt_conn_mode_t;

/* Returns the reason phrase of status (never NULL; "Unknown" for unregistered codes). */
const char *tgt_wire_reason(int status);

/* True when a response with this status never carries a body (1xx, 204, 304). */
int tgt_wire_bodiless(int status);

/* Appends a response head: status line, Content-Type when ctype is not NULL, extra (complete
 * header lines, each ending in CRLF, or NULL), the framing of length (a byte count or a
 * TGT_LEN_* value), the Connection header of mode, and the blank line. */
void tgt_wire_head(tgt_buf_t *out, int status, const char *ctype, const char *extra, int64_t length,
                   tgt_conn_mode_t mode);

/* A response fixed at start-up, kept both as parts (for requests that need another head:
 * HEAD, HTTP/1.0, Connection: close) and as the complete bytes of its HTTP/1.1 keep-alive
 * form, which the common case copies out in one go. The parts are borrowed, not copied. */
typedef struct {
    int status;
    const char *ctype;
    const char *extra;
    const char *body;
    size_t len;
    tgt_buf_t wire;
} tgt_canned_t;

/* Builds r->wire from the parts. Returns 0 or -ENOMEM. */
int tgt_wire_can(tgt_canned_t *r);

#endif
