/* WebSocket framing (RFC 6455): frame headers read and written, masking, UTF-8 checks, and a
 * client's reader that joins fragments into messages: pure functions of the bytes. */
#ifndef CCD_WS_FRAME_H
#define CCD_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"

/* Opcodes. */
enum {
    CCD_WS_CONT = 0x0,
    CCD_WS_TEXT = 0x1,
    CCD_WS_BINARY = 0x2,
    CCD_WS_CLOSE = 0x8,
    CCD_WS_PING = 0x9,
    CCD_WS_PONG = 0xA,
};

/* Close codes cicada sends or reports itself. */
enum {
    CCD_WS_NORMAL = 1000,
    CCD_WS_PROTOCOL_ERROR = 1002,
    CCD_WS_NO_STATUS = 1005, /* a close frame without a code (never sent) */
    CCD_WS_BAD_DATA = 1007,  /* text that is not UTF-8 */
    CCD_WS_TOO_BIG = 1009,
};

#define CCD_WS_MAX_HEADER  14  /* 2 + 8 (64-bit length) + 4 (mask) */
#define CCD_WS_MAX_CONTROL 125 /* payload bytes of a control frame */

/* A frame's header. */
typedef struct {
    bool fin;
    uint8_t opcode;
    bool masked;
    uint8_t mask[4];
    uint64_t len;      /* payload bytes */
    size_t header_len; /* bytes before the payload */
} ccd_ws_frame_t;

/* Reads the frame header at buf[0..len). Returns 0 when more bytes are needed, the header's
 * length (> 0) with *f filled, or CCD_EPROTO with *why a static text: reserved bits set (no
 * extension is ever negotiated), an unknown opcode, a control frame fragmented or over 125
 * bytes, a length not in its shortest form, or a 64-bit length with its top bit set. */
int ccd_ws_frame_parse(const char *buf, size_t len, ccd_ws_frame_t *f, const char **why);

/* Writes the header of a frame of len payload bytes into out (CCD_WS_MAX_HEADER bytes) and
 * returns its length; mask NULL: unmasked (a server's frame). */
size_t ccd_ws_frame_header(char *out, bool fin, int opcode, uint64_t len, const uint8_t *mask);

/* XORs n payload bytes at p with mask, p being at byte `offset` of the payload (masking and
 * unmasking are the same operation). */
void ccd_ws_mask(char *p, size_t n, const uint8_t mask[4], uint64_t offset);

/* Whether buf[0..len) is well-formed UTF-8: no overlong forms, no surrogates, at most
 * U+10FFFF. */
bool ccd_ws_utf8_valid(const char *buf, size_t len);

/* Whether code may travel in a close frame (1000-1003, 1007-1011, 3000-4999). */
bool ccd_ws_close_code_valid(int code);

/* What the reader hands out: a whole message or a control frame. */
typedef struct {
    int type;           /* CCD_WS_TEXT, _BINARY, _CLOSE, _PING or _PONG */
    ccd_slice_t data;   /* the payload (of a close frame: code and reason) */
    int close_code;     /* CLOSE: the code, CCD_WS_NO_STATUS without one */
    ccd_slice_t reason; /* CLOSE: the reason (UTF-8) */
} ccd_ws_msg_t;

/* A client's reader of the frames a server sends, in order. Data frames are joined into
 * messages; control frames pass through between the fragments of one. */
typedef struct {
    uint64_t max_message; /* payload bytes a message may have; larger ones fail */
    size_t need;          /* after ccd_ws_read() returned 0: bytes the input must hold for
                           * the next frame (header and payload) when known, else 0 */
    int error_code;       /* after a failure: the close code to send the server */
    uint8_t _op;          /* opcode of the fragmented message in progress, 0: none */
    ccd_buf_t _frag;      /* its payload so far */
} ccd_ws_reader_t;

/* An empty reader (nothing allocated until a fragmented message arrives). */
void ccd_ws_reader_init(ccd_ws_reader_t *r, uint64_t max_message);
/* Frees the reader's buffer; it may be initialised again. */
void ccd_ws_reader_free(ccd_ws_reader_t *r);

/* Reads the next frame of buf[0..len) (its first byte a frame's first). Returns 0 when the
 * frame is not all there (nothing consumed; see r->need), 1 when *m holds a message or a
 * control frame, 2 when a fragment was taken that does not end its message; *consumed tells
 * the frame's bytes. m->data points into buf or the reader's buffer until the next call.
 * Failures: CCD_EPROTO (a masked frame, a continuation without a start, a new message inside
 * a fragmented one, a malformed close frame or code, text that is not UTF-8) or CCD_ETOOBIG
 * (over max_message), with *why a static text and r->error_code set; CCD_ENOMEM. */
int ccd_ws_read(ccd_ws_reader_t *r, const char *buf, size_t len, size_t *consumed, ccd_ws_msg_t *m,
                const char **why);

#endif
