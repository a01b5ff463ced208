/* HTTP/1.x response parsing: an incremental, pure function of the bytes fed (llhttp inside). */
#ifndef CCD_HTTP_PARSE_H
#define CCD_HTTP_PARSE_H

#include "base/buf.h"
#include "http/message.h"

#include <llhttp.h>
#include <stdbool.h>
#include <stdint.h>

#define CCD_HTTP_MAX_HEADERS      100
#define CCD_HTTP_MAX_HEADER_BYTES (64 * 1024)

/* Results of ccd_http_parser_feed() and ccd_http_parser_finish(), besides negative errors. */
enum { CCD_HTTP_PARSE_MORE = 0, CCD_HTTP_PARSE_DONE = 1 };

/* A response parser with the storage the response is collected into. The public fields are
 * valid once feed() or finish() returned CCD_HTTP_PARSE_DONE, and until the next reset; the
 * slices point into buffers the parser owns (kept across responses, so they grow once). */
typedef struct {
    int status;
    ccd_slice_t reason;
    size_t nheaders;     /* see ccd_http_parser_header() */
    size_t ntrailers;    /* the fields after the body: a chunked body's trailers (HTTP/1.1), or
                          * the header block that ends an HTTP/2 stream */
    ccd_slice_t body;    /* decoded of chunked framing; its first max_body bytes */
    bool keep_alive;     /* the connection may carry another request */
    bool started;        /* at least one byte of a response was fed */
    size_t max_body;     /* body bytes kept (a reset makes it SIZE_MAX); the rest is dropped */
    uint64_t body_bytes; /* body bytes received (decoded of chunked framing), kept or not */

    llhttp_t _ll;
    ccd_buf_t _h;                           /* status reason, then header names and values */
    ccd_buf_t _b;                           /* the body */
    uint32_t _off[CCD_HTTP_MAX_HEADERS][4]; /* offset and length of each name and value in _h:
                                             * 16 bytes a header, not a 32-byte slice pair, since
                                             * a parser exists per request in flight */
    size_t _reason_len;
    int _err;
    uint8_t _hstate, _phase;
    bool _head, _in_body, _chunked, _done;
} ccd_http_parser_t;

/* Initialises a parser with no storage (nothing allocated until bytes arrive). */
void ccd_http_parser_init(ccd_http_parser_t *p);
/* Frees the parser's buffers; it may be initialised again. */
void ccd_http_parser_free(ccd_http_parser_t *p);
/* Frees buffers whose capacity exceeds max bytes, so idle parsers stay small. */
void ccd_http_parser_trim(ccd_http_parser_t *p, size_t max);

/* Prepares for the next response, keeping the buffers. head: the request was a HEAD, so the
 * response has no body whatever its headers say. Set max_body after it to keep less. */
void ccd_http_parser_reset(ccd_http_parser_t *p, bool head);

/* Feeds len bytes. Returns CCD_HTTP_PARSE_MORE (all consumed, the response is incomplete),
 * CCD_HTTP_PARSE_DONE (complete; *consumed tells how many bytes belong to it, the rest is the
 * start of something else), CCD_EPROTO for a malformed response, CCD_ETOOBIG for headers
 * over CCD_HTTP_MAX_HEADER_BYTES (or more than CCD_HTTP_MAX_HEADERS), CCD_ENOMEM. */
int ccd_http_parser_feed(ccd_http_parser_t *p, const char *buf, size_t len, size_t *consumed);

/* Field i of a complete response, pointing into the parser's buffer: its headers for
 * i < nheaders, then its trailers up to nheaders + ntrailers. Both share the limits
 * CCD_HTTP_MAX_HEADERS and CCD_HTTP_MAX_HEADER_BYTES. */
ccd_header_t ccd_http_parser_header(const ccd_http_parser_t *p, size_t i);

/* Where in the response the parser stands, for an error message: "the status line", "the
 * headers", "the body" or "the chunked body" (a static string). */
const char *ccd_http_parser_where(const ccd_http_parser_t *p);

/* Tells the parser the peer closed the connection. Returns CCD_HTTP_PARSE_DONE when that
 * completes the response (a body read until close), else CCD_ECLOSED. */
int ccd_http_parser_finish(ccd_http_parser_t *p);

/* Collecting a response that arrives already split (HTTP/2 frames), into the same storage as a
 * parsed one: reset, then add its headers, body and trailers (trailers after every header),
 * then done. add_header() and add_trailer() return 0 or CCD_ETOOBIG (over
 * CCD_HTTP_MAX_HEADER_BYTES or CCD_HTTP_MAX_HEADERS, headers and trailers together) or CCD_ENOMEM;
 * add_body() keeps max_body bytes and counts them all, returning 0 or CCD_ENOMEM; done()
 * publishes the response with its status. */
/* Drops the fields added so far: those of an interim (1xx) response, which the final response
 * follows over HTTP/2 without a parse of its own. */
void ccd_http_parser_drop_fields(ccd_http_parser_t *p);
int ccd_http_parser_add_header(ccd_http_parser_t *p, ccd_slice_t name, ccd_slice_t value);
int ccd_http_parser_add_trailer(ccd_http_parser_t *p, ccd_slice_t name, ccd_slice_t value);
int ccd_http_parser_add_body(ccd_http_parser_t *p, const char *buf, size_t len);
void ccd_http_parser_done(ccd_http_parser_t *p, int status);

#endif
