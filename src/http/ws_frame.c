/* WebSocket framing (RFC 6455): frame headers read and written, masking, UTF-8 checks, and a
 * client's reader that joins fragments into messages: pure functions of the bytes. */
#include "http/ws_frame.h"

#include "base/error.h"

#include <string.h>

static bool is_control(int op)
{
    return op >= CCD_WS_CLOSE;
}

static bool known_opcode(int op)
{
    return op <= CCD_WS_BINARY || (op >= CCD_WS_CLOSE && op <= CCD_WS_PONG);
}

static int bad(const char **why, const char *text)
{
    *why = text;
    return CCD_EPROTO;
}

/* The extended length of a header whose 7-bit length is 126 or 127; n is 2 or 8 bytes. */
static uint64_t read_length(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The RFC requires the shortest length form; a longer one is a malformed frame. */
static int check_length(const ccd_ws_frame_t *f, size_t ext, const char **why)
{
    if (ext == 2 && f->len < 126)
        return bad(why, "a 16-bit frame length under 126");
    if (ext == 8 && f->len <= 0xFFFF)
        return bad(why, "a 64-bit frame length under 65536");
    if (ext == 8 && f->len >> 63)
        return bad(why, "a 64-bit frame length with its top bit set");
    return 0;
}

static int check_first_bytes(const unsigned char *p, ccd_ws_frame_t *f, const char **why)
{
    f->fin = p[0] & 0x80;
    f->opcode = p[0] & 0x0F;
    f->masked = p[1] & 0x80;
    if (p[0] & 0x70)
        return bad(why, "reserved bits set in a frame (no extension was agreed)");
    if (!known_opcode(f->opcode))
        return bad(why, "a frame with an unknown opcode");
    if (is_control(f->opcode) && !f->fin)
        return bad(why, "a fragmented control frame");
    if (is_control(f->opcode) && (p[1] & 0x7F) > CCD_WS_MAX_CONTROL)
        return bad(why, "a control frame over 125 bytes");
    return 0;
}

int ccd_ws_frame_parse(const char *buf, size_t len, ccd_ws_frame_t *f, const char **why)
{
    const unsigned char *p = (const unsigned char *)buf;
    if (len < 2)
        return 0;
    int rc = check_first_bytes(p, f, why);
    if (rc)
        return rc;
    size_t ext = (p[1] & 0x7F) == 126 ? 2 : (p[1] & 0x7F) == 127 ? 8 : 0;
    size_t hl = 2 + ext + (f->masked ? 4 : 0);
    if (len < hl)
        return 0;
    f->len = ext ? read_length(p + 2, ext) : (uint64_t)(p[1] & 0x7F);
    if ((rc = check_length(f, ext, why)))
        return rc;
    if (f->masked)
        memcpy(f->mask, p + 2 + ext, 4);
    f->header_len = hl;
    return (int)hl;
}

size_t ccd_ws_frame_header(char *out, bool fin, int opcode, uint64_t len, const uint8_t *mask)
{
    unsigned char *p = (unsigned char *)out;
    size_t n = 2;
    p[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0F));
    unsigned char mbit = mask ? 0x80 : 0;
    if (len < 126) {
        p[1] = (unsigned char)(mbit | len);
    } else {
        size_t ext = len <= 0xFFFF ? 2 : 8;
        p[1] = (unsigned char)(mbit | (ext == 2 ? 126 : 127));
        for (size_t i = 0; i < ext; i++)
            p[2 + i] = (unsigned char)(len >> (8 * (ext - 1 - i)));
        n += ext;
    }
    if (mask) {
        memcpy(p + n, mask, 4);
        n += 4;
    }
    return n;
}

void ccd_ws_mask(char *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    size_t i = 0;
    for (; i < n && (offset + i) % 4; i++)
        p[i] ^= (char)mask[(offset + i) % 4];
    /* Aligned on the key: eight bytes at a time. */
    uint32_t k32;
    memcpy(&k32, mask, 4);
    uint64_t k = (uint64_t)k32 << 32 | k32;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= (char)mask[(offset + i) % 4];
}

/* The length of the sequence a lead byte starts and the smallest second byte it allows,
 * keeping out overlong forms, surrogates and code points over U+10FFFF. */
static size_t utf8_seq(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        *lo = c == 0xE0 ? 0xA0 : 0x80;
        *hi = c == 0xED ? 0x9F : 0xBF;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        *lo = c == 0xF0 ? 0x90 : 0x80;
        *hi = c == 0xF4 ? 0x8F : 0xBF;
        return 4;
    }
    return 0;
}

bool ccd_ws_utf8_valid(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        unsigned char lo, hi;
        size_t n = utf8_seq(p[i], &lo, &hi);
        if (n == 0 || len - i < n || p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t k = 2; k < n; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
        i += n;
    }
    return true;
}

bool ccd_ws_close_code_valid(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

/* ---- the reader ---- */

void ccd_ws_reader_init(ccd_ws_reader_t *r, uint64_t max_message)
{
    memset(r, 0, sizeof(*r));
    r->max_message = max_message;
}

void ccd_ws_reader_free(ccd_ws_reader_t *r)
{
    ccd_buf_free(&r->_frag);
    r->_op = 0;
}

static int fail(ccd_ws_reader_t *r, int err, int code, const char **why, const char *text)
{
    r->error_code = code;
    *why = text;
    return err;
}

static int read_close(ccd_ws_reader_t *r, ccd_ws_msg_t *m, const char **why)
{
    const unsigned char *p = (const unsigned char *)m->data.base;
    m->close_code = CCD_WS_NO_STATUS;
    m->reason = (ccd_slice_t){"", 0};
    if (m->data.len == 0)
        return 1;
    if (m->data.len == 1)
        return fail(r, CCD_EPROTO, CCD_WS_PROTOCOL_ERROR, why, "a close frame of one byte");
    m->close_code = p[0] << 8 | p[1];
    if (!ccd_ws_close_code_valid(m->close_code))
        return fail(r, CCD_EPROTO, CCD_WS_PROTOCOL_ERROR, why, "an invalid close code");
    m->reason = (ccd_slice_t){m->data.base + 2, m->data.len - 2};
    if (!ccd_ws_utf8_valid(m->reason.base, m->reason.len))
        return fail(r, CCD_EPROTO, CCD_WS_BAD_DATA, why, "a close reason that is not UTF-8");
    return 1;
}

/* A data frame that starts, continues or ends a message; checked against what came before. */
static int check_data_frame(ccd_ws_reader_t *r, const ccd_ws_frame_t *f, const char **why)
{
    if (f->opcode == CCD_WS_CONT && !r->_op)
        return fail(r, CCD_EPROTO, CCD_WS_PROTOCOL_ERROR, why,
                    "a continuation frame outside a fragmented message");
    if (f->opcode != CCD_WS_CONT && r->_op)
        return fail(r, CCD_EPROTO, CCD_WS_PROTOCOL_ERROR, why,
                    "a new message inside a fragmented one");
    uint64_t so_far = r->_op ? r->_frag.len : 0;
    if (so_far > r->max_message || f->len > r->max_message - so_far)
        return fail(r, CCD_ETOOBIG, CCD_WS_TOO_BIG, why, "a message over the size limit");
    return 0;
}

/* Ends a data message: text must be UTF-8 as a whole (a character may straddle fragments). */
static int finish_message(ccd_ws_reader_t *r, int type, ccd_ws_msg_t *m, const char **why)
{
    m->type = type;
    if (type == CCD_WS_TEXT && !ccd_ws_utf8_valid(m->data.base, m->data.len))
        return fail(r, CCD_EPROTO, CCD_WS_BAD_DATA, why, "a text message that is not UTF-8");
    return 1;
}

static int take_data(ccd_ws_reader_t *r, const ccd_ws_frame_t *f, const char *payload,
                     ccd_ws_msg_t *m, const char **why)
{
    if (f->opcode != CCD_WS_CONT && f->fin) { /* a whole message in one frame: no copy */
        m->data = (ccd_slice_t){payload, (size_t)f->len};
        return finish_message(r, f->opcode, m, why);
    }
    if (f->opcode != CCD_WS_CONT) {
        r->_op = f->opcode;
        r->_frag.len = 0;
    }
    if (ccd_buf_append(&r->_frag, payload, (size_t)f->len))
        return fail(r, CCD_ENOMEM, CCD_WS_TOO_BIG, why, "out of memory");
    if (!f->fin)
        return 2;
    int type = r->_op;
    r->_op = 0;
    m->data = (ccd_slice_t){r->_frag.base ? r->_frag.base : "", r->_frag.len};
    return finish_message(r, type, m, why);
}

int ccd_ws_read(ccd_ws_reader_t *r, const char *buf, size_t len, size_t *consumed, ccd_ws_msg_t *m,
                const char **why)
{
    ccd_ws_frame_t f;
    *consumed = 0;
    r->need = 0;
    int hl = ccd_ws_frame_parse(buf, len, &f, why);
    if (hl < 0)
        return fail(r, hl, CCD_WS_PROTOCOL_ERROR, why, *why);
    if (hl == 0)
        return 0;
    if (f.masked)
        return fail(r, CCD_EPROTO, CCD_WS_PROTOCOL_ERROR, why, "a masked frame from the server");
    int rc = is_control(f.opcode) ? 0 : check_data_frame(r, &f, why);
    if (rc)
        return rc;
    if (len - (size_t)hl < f.len) {
        r->need = (size_t)hl + (size_t)f.len;
        return 0;
    }
    *consumed = (size_t)hl + (size_t)f.len;
    const char *payload = buf + hl;
    if (!is_control(f.opcode))
        return take_data(r, &f, payload, m, why);
    m->type = f.opcode;
    m->data = (ccd_slice_t){payload, (size_t)f.len};
    return f.opcode == CCD_WS_CLOSE ? read_close(r, m, why) : 1;
}
