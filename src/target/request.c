/* Requests as route handlers see them, assembled from llhttp's callbacks into reused storage. */
#include "request.h"

#include <string.h>
#include <strings.h>

#define STORE_KEEP (64 * 1024) /* storage kept between requests; larger is released */

static int on_begin(llhttp_t *p)
{
    tgt_reqbuf_t *rb = p->data;
    tgt_buf_reset(&rb->store, STORE_KEEP);
    rb->url_off = rb->url_len = rb->body_off = rb->body_len = 0;
    rb->n = 0;
    rb->at[0].name_len = 0;
    rb->reject = 0;
    return 0;
}

/* Appends a piece of the request head, within the head limit; over it, the request is
 * refused with too_big. */
static int store_head(tgt_reqbuf_t *rb, const char *at, size_t n, size_t *len, int too_big)
{
    if (rb->store.len + n > TGT_MAX_HEAD_BYTES) {
        rb->reject = too_big;
        return -1;
    }
    tgt_buf_add(&rb->store, at, n);
    if (rb->store.failed) {
        rb->reject = 503;
        return -1;
    }
    *len += n;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    tgt_reqbuf_t *rb = p->data;
    return store_head(rb, at, n, &rb->url_len, 414);
}

/* A header begins with its first name piece; the slot is committed by on_value_done. */
static int on_field(llhttp_t *p, const char *at, size_t n)
{
    tgt_reqbuf_t *rb = p->data;
    if (rb->n == TGT_MAX_HEADERS) {
        rb->reject = 431;
        return -1;
    }
    if (rb->at[rb->n].name_len == 0)
        rb->at[rb->n].name_off = rb->store.len;
    return store_head(rb, at, n, &rb->at[rb->n].name_len, 431);
}

/* Values may be empty, and then llhttp reports no piece of them: start them here. */
static int on_field_done(llhttp_t *p)
{
    tgt_reqbuf_t *rb = p->data;
    rb->at[rb->n].value_off = rb->store.len;
    rb->at[rb->n].value_len = 0;
    return 0;
}

static int on_value(llhttp_t *p, const char *at, size_t n)
{
    tgt_reqbuf_t *rb = p->data;
    return store_head(rb, at, n, &rb->at[rb->n].value_len, 431);
}

static int on_value_done(llhttp_t *p)
{
    tgt_reqbuf_t *rb = p->data;
    rb->n++;
    if (rb->n < TGT_MAX_HEADERS)
        rb->at[rb->n].name_len = 0;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    tgt_reqbuf_t *rb = p->data;
    if (rb->body_len + n > TGT_MAX_BODY) {
        rb->reject = 413;
        return -1;
    }
    tgt_buf_add(&rb->store, at, n);
    if (rb->store.failed) {
        rb->reject = 503;
        return -1;
    }
    rb->body_len += n;
    return 0;
}

void tgt_reqbuf_settings(llhttp_settings_t *s)
{
    s->on_message_begin = on_begin;
    s->on_url = on_url;
    s->on_header_field = on_field;
    s->on_header_field_complete = on_field_done;
    s->on_header_value = on_value;
    s->on_header_value_complete = on_value_done;
    s->on_body = on_body;
}

int tgt_reqbuf_headers_done(tgt_reqbuf_t *rb, const llhttp_t *p)
{
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > TGT_MAX_BODY) {
        rb->reject = 413;
        return -1;
    }
    rb->body_off = rb->store.len;
    return 0;
}

static tgt_str_t slice(const tgt_reqbuf_t *rb, size_t off, size_t len)
{
    return (tgt_str_t){rb->store.data ? rb->store.data + off : "", len};
}

/* Splits the target into path and query; an absolute-form target loses its scheme and
 * authority, and any other form (CONNECT's authority, "*") is kept whole as the path. */
static void split_target(tgt_str_t url, tgt_request_t *req)
{
    const char *p = url.p, *end = url.p + url.len;
    const char *s = p < end && *p != '/' ? memmem(p, url.len, "://", 3) : NULL;
    if (s) {
        p = s + 3;
        while (p < end && *p != '/')
            p++;
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    req->path = p < end ? (tgt_str_t){p, (size_t)((q ? q : end) - p)} : (tgt_str_t){"/", 1};
    req->query = q ? (tgt_str_t){q + 1, (size_t)(end - q - 1)} : (tgt_str_t){"", 0};
}

void tgt_reqbuf_request(tgt_reqbuf_t *rb, const llhttp_t *p, tgt_request_t *req)
{
    const char *m = llhttp_method_name((llhttp_method_t)p->method);
    req->method = (tgt_str_t){m, strlen(m)};
    req->head = p->method == HTTP_HEAD;
    req->http_minor = p->http_minor;
    split_target(slice(rb, rb->url_off, rb->url_len), req);
    for (size_t i = 0; i < rb->n; i++) {
        rb->headers[i].name = slice(rb, rb->at[i].name_off, rb->at[i].name_len);
        rb->headers[i].value = slice(rb, rb->at[i].value_off, rb->at[i].value_len);
    }
    req->headers = rb->headers;
    req->nheaders = rb->n;
    req->body = slice(rb, rb->body_off, rb->body_len);
}

void tgt_reqbuf_free(tgt_reqbuf_t *rb)
{
    tgt_buf_free(&rb->store);
}

int tgt_str_ieq(tgt_str_t s, const char *lit)
{
    return strlen(lit) == s.len && strncasecmp(s.p, lit, s.len) == 0;
}

const tgt_str_t *tgt_request_header(const tgt_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (tgt_str_ieq(req->headers[i].name, name))
            return &req->headers[i].value;
    return NULL;
}
