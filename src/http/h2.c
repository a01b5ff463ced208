/* HTTP/2 framing for one client connection: nghttp2 on bytes the client reads and writes. */
#include "http/h2.h"

#include "base/buf.h"
#include "base/error.h"
#include "http/h2_mem.h"

#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NV      160         /* pseudo-headers and fields of one request */
#define OUT_BATCH   (16 * 1024) /* frames gathered before a write */
#define WINDOW_SIZE (1 << 24)   /* per stream and connection: a fast download is not throttled */

struct ccd_h2 {
    nghttp2_session *ng;
    const ccd_h2_cbs_t *cbs;
    void *conn;
    ccd_buf_t out;
    size_t off;
    bool goaway;
    bool trailers;   /* the header block being received is trailers */
    int32_t last_id; /* the GOAWAY's last stream id */
};

/* A header block after a response's first one is either its trailers or, after an interim
 * (1xx) response, the final response, which starts with ":status" (nghttp2 checks that
 * pseudo-header fields come first and that trailers have none). */
static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    ccd_h2_t *h = ud;
    h->trailers = f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_HEADERS;
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    ccd_h2_t *h = ud;
    void *stream = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (!stream || f->hd.type != NGHTTP2_HEADERS)
        return 0;
    ccd_slice_t n = {(const char *)name, namelen}, v = {(const char *)value, valuelen};
    if (h->trailers && ccd_slice_eq_str(n, ":status"))
        h->trailers = false;
    return h->cbs->header(stream, f->hd.stream_id, n, v, h->trailers)
               ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE
               : 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *ud)
{
    ccd_h2_t *h = ud;
    void *stream = nghttp2_session_get_stream_user_data(ng, id);
    if (stream && h->cbs->data(stream, id, (const char *)data, len))
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error, void *ud)
{
    ccd_h2_t *h = ud;
    void *stream = nghttp2_session_get_stream_user_data(ng, id);
    if (stream)
        h->cbs->close(h->conn, stream, id, error, h->goaway && id > h->last_id);
    return 0;
}

/* nghttp2 reports GOAWAY before it closes the streams the server left unprocessed. */
static int on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    ccd_h2_t *h = ud;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        h->goaway = true;
        h->last_id = f->goaway.last_stream_id;
        h->cbs->goaway(h->conn, f->goaway.error_code);
    }
    return 0;
}

ccd_h2_t *ccd_h2_new(const ccd_h2_cbs_t *cbs, void *conn)
{
    ccd_h2_t *h = calloc(1, sizeof(*h));
    nghttp2_session_callbacks *cb = NULL;
    if (!h || nghttp2_session_callbacks_new(&cb))
        goto fail;
    h->cbs = cbs;
    h->conn = conn;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    int rc = nghttp2_session_client_new3(&h->ng, cb, h, NULL, ccd_h2_mem());
    nghttp2_session_callbacks_del(cb);
    if (rc)
        goto fail;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                   {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, WINDOW_SIZE}};
    if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, iv, 2) ||
        nghttp2_session_set_local_window_size(h->ng, NGHTTP2_FLAG_NONE, 0, WINDOW_SIZE))
        goto fail;
    return h;
fail:
    ccd_h2_free(h);
    return NULL;
}

void ccd_h2_free(ccd_h2_t *h)
{
    if (!h)
        return;
    nghttp2_session_del(h->ng);
    ccd_buf_free(&h->out);
    free(h);
}

static ssize_t read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    ccd_h2_body_t *b = src->ptr;
    size_t n = b->left < len ? b->left : len;
    memcpy(buf, b->p, n);
    b->p += n;
    b->left -= n;
    if (b->left == 0)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static nghttp2_nv nv(const char *n, size_t nl, const char *v, size_t vl)
{
    return (nghttp2_nv){(uint8_t *)n, (uint8_t *)v, nl, vl, NGHTTP2_NV_FLAG_NONE};
}

/* Fields that belong to one HTTP/1.1 connection and are malformed in HTTP/2 (RFC 9113 8.2.2). */
static bool connection_specific(const char *n, size_t len)
{
    static const char *const names[] = {"connection",        "keep-alive", "proxy-connection",
                                        "transfer-encoding", "upgrade",    "te"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && memcmp(names[i], n, len) == 0)
            return true;
    return false;
}

/* Splits the request line and header lines of req into v; returns the count, or -1. *body is
 * set to the bytes after the blank line. */
static int request_nv(char *req, size_t len, bool tls, nghttp2_nv *v, const char **body)
{
    char *end = req + len, *sp1 = memchr(req, ' ', len);
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
    char *eol = sp2 ? memchr(sp2, '\n', (size_t)(end - sp2)) : NULL;
    if (!eol)
        return -1;
    int n = 4;
    v[0] = nv(":method", 7, req, (size_t)(sp1 - req));
    v[1] = tls ? nv(":scheme", 7, "https", 5) : nv(":scheme", 7, "http", 4);
    v[2] = nv(":authority", 10, "", 0);
    v[3] = nv(":path", 5, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    for (char *p = eol + 1; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *colon = memchr(p, ':', (size_t)(end - p));
        if (!nl)
            return -1;
        if (nl - p <= 1) {
            *body = nl + 1;
            return n;
        }
        if (!colon || colon > nl || n == MAX_NV)
            return -1;
        size_t nlen = (size_t)(colon - p);
        for (size_t i = 0; i < nlen; i++)
            p[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
        char *val = colon + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        size_t vlen = (size_t)(nl - val) - (nl[-1] == '\r');
        if (nlen == 4 && memcmp(p, "host", 4) == 0)
            v[2] = nv(":authority", 10, val, vlen);
        else if (!connection_specific(p, nlen))
            v[n++] = nv(p, nlen, val, vlen);
        p = nl + 1;
    }
    return -1;
}

int32_t ccd_h2_submit(ccd_h2_t *h, char *req, size_t len, bool tls, ccd_h2_body_t *body,
                      void *stream)
{
    nghttp2_nv v[MAX_NV];
    const char *b = NULL;
    int n = request_nv(req, len, tls, v, &b);
    if (n < 0)
        return CCD_EPROTO;
    body->p = b;
    body->left = (size_t)(req + len - b);
    nghttp2_data_provider dp = {.source.ptr = body, .read_callback = read_body};
    int32_t id = nghttp2_submit_request(h->ng, NULL, v, (size_t)n, body->left ? &dp : NULL, stream);
    return id > 0 ? id : id == NGHTTP2_ERR_NOMEM ? CCD_ENOMEM : CCD_EPROTO;
}

void ccd_h2_cancel(ccd_h2_t *h, int32_t id)
{
    nghttp2_session_set_stream_user_data(h->ng, id, NULL);
    nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
}

int ccd_h2_recv(ccd_h2_t *h, const char *buf, size_t len)
{
    ssize_t n = nghttp2_session_mem_recv(h->ng, (const uint8_t *)buf, len);
    return n < 0 ? CCD_EPROTO : 0;
}

long ccd_h2_pending(ccd_h2_t *h, const char **buf)
{
    while (h->out.len - h->off < OUT_BATCH) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(h->ng, &data);
        if (n < 0)
            return CCD_EPROTO;
        if (n == 0)
            break;
        if (ccd_buf_append(&h->out, data, (size_t)n))
            return CCD_ENOMEM;
    }
    *buf = h->out.base + h->off;
    return (long)(h->out.len - h->off);
}

void ccd_h2_sent(ccd_h2_t *h, size_t n)
{
    h->off += n;
    if (h->off == h->out.len)
        h->off = h->out.len = 0;
}

bool ccd_h2_open(const ccd_h2_t *h)
{
    return !h->goaway && nghttp2_session_want_read(h->ng);
}

const char *ccd_h2_error_name(uint32_t code)
{
    static const char *const names[] = {"NO_ERROR",
                                        "PROTOCOL_ERROR",
                                        "INTERNAL_ERROR",
                                        "FLOW_CONTROL_ERROR",
                                        "SETTINGS_TIMEOUT",
                                        "STREAM_CLOSED",
                                        "FRAME_SIZE_ERROR",
                                        "REFUSED_STREAM",
                                        "CANCEL",
                                        "COMPRESSION_ERROR",
                                        "CONNECT_ERROR",
                                        "ENHANCE_YOUR_CALM",
                                        "INADEQUATE_SECURITY",
                                        "HTTP_1_1_REQUIRED"};
    return code < sizeof(names) / sizeof(names[0]) ? names[code] : "unknown error code";
}
