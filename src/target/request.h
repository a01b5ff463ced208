/* Requests as route handlers see them, assembled from llhttp's callbacks into reused storage. */
#ifndef TGT_REQUEST_H
#define TGT_REQUEST_H

#include "buf.h"

#include <llhttp.h>
#include <stddef.h>

#define TGT_MAX_HEADERS    64
#define TGT_MAX_HEAD_BYTES (64 * 1024)       /* request line and headers */
#define TGT_MAX_BODY       (8 * 1024 * 1024) /* larger bodies are refused with 413 */

/* A byte slice into the connection's request storage; not NUL-terminated. */
typedef struct {
    const char *p;
    size_t len;
} tgt_str_t;

typedef struct {
    tgt_str_t name;
    tgt_str_t value;
} tgt_header_t;

/* A parsed request. Everything it points to lives until the route handler returns. */
typedef struct {
    tgt_str_t method; /* "GET", "POST", ... */
    int head;         /* HEAD: replies send their head only */
    int http_minor;   /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    tgt_str_t path;   /* without the query; starts with '/' but for "*" and CONNECT targets */
    tgt_str_t query;  /* after '?', empty when absent */
    const tgt_header_t *headers;
    size_t nheaders;
    tgt_str_t body; /* de-chunked */
} tgt_request_t;

/* Storage for the request being parsed. Pieces are recorded as offsets because a request
 * may arrive over many reads and the storage may move while it grows. */
typedef struct {
    tgt_buf_t store;
    size_t url_off, url_len, body_off, body_len;
    struct {
        size_t name_off, name_len, value_off, value_len;
    } at[TGT_MAX_HEADERS];
    size_t n;
    int reject; /* status to refuse the request with after a callback failed; 0: 400 */
    tgt_header_t headers[TGT_MAX_HEADERS];
} tgt_reqbuf_t;

/* Installs the callbacks that fill a tgt_reqbuf_t (the parser's data must point at it):
 * everything but on_headers_complete and on_message_complete, which belong to the caller. */
void tgt_reqbuf_settings(llhttp_settings_t *s);

/* To be called from on_headers_complete. Returns 0, or -1 after setting rb->reject when the
 * announced body is too large. */
int tgt_reqbuf_headers_done(tgt_reqbuf_t *rb, const llhttp_t *p);

/* Fills req from rb; valid until the next request starts. */
void tgt_reqbuf_request(tgt_reqbuf_t *rb, const llhttp_t *p, tgt_request_t *req);

/* Releases rb's memory. */
void tgt_reqbuf_free(tgt_reqbuf_t *rb);

/* Returns the value of the first header called name (case-insensitive), or NULL. */
const tgt_str_t *tgt_request_header(const tgt_request_t *req, const char *name);

/* True when s equals the NUL-terminated lit, ignoring ASCII case. */
int tgt_str_ieq(tgt_str_t s, const char *lit);

#endif
