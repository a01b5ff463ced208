/* HTTP/1.x response parsing: an incremental, pure function of the bytes fed (llhttp inside). */
#include "http/parse.h"

#include "base/error.h"

#include <stdlib.h>
#include <string.h>

/* Header-collection states: between headers, inside a name, inside a value. */
enum { H_NONE, H_NAME, H_VALUE };

/* The part of the response being read, for error messages. */
enum { PH_STATUS, PH_HEADERS, PH_BODY };

static ccd_http_parser_t *parser_of(llhttp_t *ll)
{
    return ll->data;
}

/* Appends to a buffer, failing beyond limit bytes. */
static int append(ccd_buf_t *b, const char *at, size_t n, size_t limit)
{
    if (n > limit - b->len)
        return CCD_ETOOBIG;
    return ccd_buf_append(b, at, n);
}

static int fail(ccd_http_parser_t *p, int err)
{
    p->_err = err;
    return -1;
}

static int hbuf_append(ccd_http_parser_t *p, const char *at, size_t n)
{
    int rc = append(&p->_h, at, n, CCD_HTTP_MAX_HEADER_BYTES);
    return rc ? fail(p, rc) : 0;
}

static int on_status(llhttp_t *ll, const char *at, size_t n)
{
    ccd_http_parser_t *p = parser_of(ll);
    p->_reason_len += n;
    return hbuf_append(p, at, n);
}

static int on_status_complete(llhttp_t *ll)
{
    parser_of(ll)->_phase = PH_HEADERS;
    return 0;
}

/* The fields of the message: its headers, then (once the body has begun) the trailers of a
 * chunked body, one array for both. */
static size_t nfields(const ccd_http_parser_t *p)
{
    return p->nheaders + p->ntrailers;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
    ccd_http_parser_t *p = parser_of(ll);
    size_t i = nfields(p);
    if (p->_hstate != H_NAME) {
        if (i == CCD_HTTP_MAX_HEADERS)
            return fail(p, CCD_ETOOBIG);
        p->_off[i][0] = (uint32_t)p->_h.len;
        p->_off[i][1] = 0;
        p->_hstate = H_NAME;
    }
    p->_off[i][1] += (uint32_t)n;
    return hbuf_append(p, at, n);
}

static int on_header_field_complete(llhttp_t *ll)
{
    ccd_http_parser_t *p = parser_of(ll);
    size_t i = nfields(p);
    p->_off[i][2] = (uint32_t)p->_h.len;
    p->_off[i][3] = 0;
    p->_hstate = H_VALUE;
    return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
    ccd_http_parser_t *p = parser_of(ll);
    p->_off[nfields(p)][3] += (uint32_t)n;
    return hbuf_append(p, at, n);
}

/* llhttp drops the whitespace before a value, not the whitespace after it (RFC 9110: OWS
 * around a field value is not part of it). */
static int on_header_value_complete(llhttp_t *ll)
{
    ccd_http_parser_t *p = parser_of(ll);
    size_t i = nfields(p);
    uint32_t *len = &p->_off[i][3];
    const char *v = p->_h.base + p->_off[i][2];
    while (*len > 0 && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
        (*len)--;
    if (p->_in_body)
        p->ntrailers++;
    else
        p->nheaders++;
    p->_hstate = H_NONE;
    return 0;
}

/* Returning 1 tells llhttp the response has no body, whatever its headers announce. */
static int on_headers_complete(llhttp_t *ll)
{
    ccd_http_parser_t *p = parser_of(ll);
    p->status = ll->status_code;
    p->_in_body = true;
    p->_phase = PH_BODY;
    p->_chunked = (ll->flags & F_CHUNKED) != 0;
    bool informational = p->status >= 100 && p->status < 200;
    return p->_head || informational || p->status == 204 || p->status == 304;
}

/* Bytes past max_body are counted and dropped: a large download costs no memory. */
static int on_body(llhttp_t *ll, const char *at, size_t n)
{
    ccd_http_parser_t *p = parser_of(ll);
    p->body_bytes += n;
    size_t room = p->max_body - p->_b.len;
    int rc = append(&p->_b, at, n < room ? n : room, SIZE_MAX);
    return rc ? fail(p, rc) : 0;
}

/* Forgets what was collected of an interim (1xx) response, keeping the buffers. */
static void clear_message(ccd_http_parser_t *p)
{
    p->status = 0;
    p->nheaders = p->ntrailers = 0;
    p->_h.len = 0;
    p->_b.len = 0;
    p->body_bytes = 0;
    p->_reason_len = 0;
    p->_hstate = H_NONE;
    p->_phase = PH_STATUS;
    p->_in_body = p->_chunked = false;
}

/* The header buffer no longer grows once the message is complete: slices can point into it. */
static void publish(ccd_http_parser_t *p)
{
    p->reason = (ccd_slice_t){p->_h.base ? p->_h.base : "", p->_reason_len};
    p->body = (ccd_slice_t){p->_b.base ? p->_b.base : "", p->_b.len};
}

ccd_header_t ccd_http_parser_header(const ccd_http_parser_t *p, size_t i)
{
    const uint32_t *o = p->_off[i];
    return (ccd_header_t){{p->_h.base + o[0], o[1]}, {p->_h.base + o[2], o[3]}};
}

/* Pausing makes llhttp_execute() return at the end of this response: any byte after it is
 * left to the caller. Interim 1xx responses (except 101) are skipped. */
static int on_message_complete(llhttp_t *ll)
{
    ccd_http_parser_t *p = parser_of(ll);
    if (p->status >= 100 && p->status < 200 && p->status != 101) {
        clear_message(p);
        return 0;
    }
    p->keep_alive = llhttp_should_keep_alive(ll) && p->status != 101;
    publish(p);
    p->_done = true;
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_status = on_status,
    .on_status_complete = on_status_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void ccd_http_parser_init(ccd_http_parser_t *p)
{
    memset(p, 0, sizeof(*p));
    ccd_http_parser_reset(p, false);
}

void ccd_http_parser_free(ccd_http_parser_t *p)
{
    ccd_buf_free(&p->_h);
    ccd_buf_free(&p->_b);
}

void ccd_http_parser_trim(ccd_http_parser_t *p, size_t max)
{
    if (p->_h.cap > max)
        ccd_buf_free(&p->_h);
    if (p->_b.cap > max)
        ccd_buf_free(&p->_b);
}

void ccd_http_parser_reset(ccd_http_parser_t *p, bool head)
{
    llhttp_init(&p->_ll, HTTP_RESPONSE, &settings);
    p->_ll.data = p;
    clear_message(p);
    p->reason = p->body = (ccd_slice_t){"", 0};
    p->keep_alive = false;
    p->started = false;
    p->max_body = SIZE_MAX;
    p->_err = 0;
    p->_head = head;
    p->_done = false;
}

int ccd_http_parser_feed(ccd_http_parser_t *p, const char *buf, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (p->_done)
        return CCD_HTTP_PARSE_DONE;
    if (len == 0)
        return CCD_HTTP_PARSE_MORE;
    p->started = true;
    llhttp_errno_t e = llhttp_execute(&p->_ll, buf, len);
    if (e == HPE_OK) {
        *consumed = len;
        return CCD_HTTP_PARSE_MORE;
    }
    if (e == HPE_PAUSED && p->_done) {
        *consumed = (size_t)(llhttp_get_error_pos(&p->_ll) - buf);
        return CCD_HTTP_PARSE_DONE;
    }
    return p->_err ? p->_err : CCD_EPROTO;
}

const char *ccd_http_parser_where(const ccd_http_parser_t *p)
{
    if (p->_phase == PH_STATUS)
        return "the status line";
    if (p->_phase == PH_HEADERS)
        return "the headers";
    return p->_chunked ? "the chunked body" : "the body";
}

int ccd_http_parser_finish(ccd_http_parser_t *p)
{
    if (p->_done)
        return CCD_HTTP_PARSE_DONE;
    if (!p->started || p->_err || llhttp_get_errno(&p->_ll) != HPE_OK)
        return CCD_ECLOSED;
    llhttp_finish(&p->_ll);
    if (!p->_done)
        return CCD_ECLOSED;
    p->keep_alive = false;
    return CCD_HTTP_PARSE_DONE;
}

/* Appends a field; trailer: after the body (the headers are complete by then). */
static int add_field(ccd_http_parser_t *p, ccd_slice_t name, ccd_slice_t value, bool trailer)
{
    p->started = true;
    size_t i = nfields(p);
    if (i == CCD_HTTP_MAX_HEADERS)
        return CCD_ETOOBIG;
    uint32_t *o = p->_off[i];
    o[0] = (uint32_t)p->_h.len;
    o[1] = (uint32_t)name.len;
    int rc = hbuf_append(p, name.base, name.len);
    o[2] = (uint32_t)p->_h.len;
    o[3] = (uint32_t)value.len;
    if (!rc)
        rc = hbuf_append(p, value.base, value.len);
    if (rc)
        return p->_err ? p->_err : rc;
    if (trailer)
        p->ntrailers++;
    else
        p->nheaders++;
    return 0;
}

void ccd_http_parser_drop_fields(ccd_http_parser_t *p)
{
    clear_message(p);
}

int ccd_http_parser_add_header(ccd_http_parser_t *p, ccd_slice_t name, ccd_slice_t value)
{
    p->_phase = PH_HEADERS;
    return add_field(p, name, value, false);
}

int ccd_http_parser_add_trailer(ccd_http_parser_t *p, ccd_slice_t name, ccd_slice_t value)
{
    return add_field(p, name, value, true);
}

int ccd_http_parser_add_body(ccd_http_parser_t *p, const char *buf, size_t len)
{
    p->_phase = PH_BODY;
    p->_in_body = true;
    p->body_bytes += len;
    size_t room = p->max_body - p->_b.len;
    return append(&p->_b, buf, len < room ? len : room, SIZE_MAX);
}

void ccd_http_parser_done(ccd_http_parser_t *p, int status)
{
    p->status = status;
    p->keep_alive = true;
    p->_done = true;
    publish(p);
}
