/* Content decoding: Content-Encoding parsing and a bounded zlib inflate loop. */
#include "http/content_encoding.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "base/slice.h"

enum coding { CODING_NONE, CODING_GZIP, CODING_DEFLATE, CODING_OTHER };

/* zlib's windowBits: 15 plus 16 reads the gzip wrapper, negated reads raw deflate. */
enum { WBITS_ZLIB = 15, WBITS_GZIP = 15 + 16, WBITS_RAW = -15 };

/* Deflate expands at most about 1032 to 1, which bounds how far a size hint is trusted. */
enum { MAX_RATIO = 1032, GROW = 16384 };

/* One inflate run over body into out. The input is one contiguous buffer fed to zlib in
 * pieces of at most UINT_MAX bytes, so z.next_in always points at the next unread byte. */
struct inflater {
    z_stream z;
    const char *in; /* not yet handed to zlib */
    size_t in_left;
    ccd_buf_t *out;
    size_t start, max;
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static enum coding coding_of(const char *p, const char *e)
{
    while (p < e && is_ows(*p))
        p++;
    while (e > p && is_ows(e[-1]))
        e--;
    ccd_slice_t s = {p, (size_t)(e - p)};
    if (s.len == 0 || ccd_slice_ieq_str(s, "identity"))
        return CODING_NONE;
    if (ccd_slice_ieq_str(s, "gzip") || ccd_slice_ieq_str(s, "x-gzip"))
        return CODING_GZIP;
    if (ccd_slice_ieq_str(s, "deflate"))
        return CODING_DEFLATE;
    return CODING_OTHER;
}

/* The one coding of a Content-Encoding list; CODING_OTHER when several are stacked. */
static enum coding parse_coding(const char *s, size_t n)
{
    enum coding found = CODING_NONE;
    const char *e = s + n;
    while (s < e) {
        const char *comma = memchr(s, ',', (size_t)(e - s));
        enum coding c = coding_of(s, comma ? comma : e);
        if (c != CODING_NONE)
            found = found == CODING_NONE ? c : CODING_OTHER;
        s = comma ? comma + 1 : e;
    }
    return found;
}

static size_t input_left(const struct inflater *f)
{
    return f->z.avail_in + f->in_left;
}

static void feed(struct inflater *f)
{
    if (f->z.avail_in > 0 || f->in_left == 0)
        return;
    uInt n = f->in_left > UINT_MAX ? UINT_MAX : (uInt)f->in_left;
    f->z.next_in = (Bytef *)(uintptr_t)f->in;
    f->z.avail_in = n;
    f->in += n;
    f->in_left -= n;
}

/* Points zlib at out's free space, growing it, but never past one byte beyond the bound:
 * producing that byte is how an oversized body shows. */
static int give_room(struct inflater *f)
{
    ccd_buf_t *o = f->out;
    if (o->len == o->cap && ccd_buf_reserve(o, GROW))
        return CCD_ENOMEM;
    size_t used = o->len - f->start, room = o->cap - o->len;
    if (f->max - used < room)
        room = f->max - used + 1;
    f->z.next_out = (Bytef *)o->base + o->len;
    f->z.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
    return 0;
}

/* Inflates one stream (a gzip member, a zlib stream, raw deflate) up to its end. */
static int inflate_stream(struct inflater *f)
{
    for (;;) {
        int rc = give_room(f);
        if (rc)
            return rc;
        feed(f);
        int zr = inflate(&f->z, Z_NO_FLUSH);
        f->out->len = (size_t)((char *)f->z.next_out - f->out->base);
        if (f->out->len - f->start > f->max)
            return CCD_ETOOBIG;
        if (zr == Z_STREAM_END)
            return 0;
        if (zr == Z_MEM_ERROR)
            return CCD_ENOMEM;
        if ((zr != Z_OK && zr != Z_BUF_ERROR) || (zr == Z_BUF_ERROR && input_left(f) == 0))
            return CCD_EPROTO;
    }
}

/* Another gzip member follows when the rest starts with the gzip magic bytes. */
static bool next_member(const struct inflater *f)
{
    const unsigned char *p = f->z.next_in;
    return input_left(f) >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static int inflate_all(struct inflater *f, bool gzip)
{
    int rc = inflate_stream(f);
    while (rc == 0 && gzip && next_member(f)) {
        if (inflateReset(&f->z) != Z_OK)
            return CCD_EPROTO;
        rc = inflate_stream(f);
    }
    return rc;
}

/* A size to reserve up front: a gzip trailer states the (last) member's size modulo 2^32,
 * otherwise guess a ratio of 4; neither is trusted beyond the bound or deflate's ratio. */
static size_t size_hint(const char *body, size_t len, int wbits, size_t max)
{
    size_t hint = len < SIZE_MAX / 4 ? len * 4 : max;
    if (wbits == WBITS_GZIP && len >= 18) {
        const unsigned char *t = (const unsigned char *)body + len - 4;
        hint = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
    }
    if (len < SIZE_MAX / MAX_RATIO && hint > len * MAX_RATIO)
        hint = len * MAX_RATIO;
    return hint < max ? hint : max;
}

static int run(int wbits, const char *body, size_t len, size_t max, ccd_buf_t *out)
{
    struct inflater f = {.in = body, .in_left = len, .out = out, .start = out->len, .max = max};
    if (inflateInit2(&f.z, wbits) != Z_OK)
        return CCD_ENOMEM;
    int rc = ccd_buf_reserve(out, size_hint(body, len, wbits, max));
    if (rc == 0)
        rc = inflate_all(&f, wbits == WBITS_GZIP);
    inflateEnd(&f.z);
    if (rc)
        out->len = f.start;
    return rc;
}

/* The RFC 1950 header check: deflate method, a 32 KiB window at most, FCHECK. */
static bool looks_zlib(const char *body, size_t len)
{
    const unsigned char *b = (const unsigned char *)body;
    return len >= 2 && (b[0] & 0x0f) == 8 && (b[0] >> 4) <= 7 && (b[0] << 8 | b[1]) % 31 == 0;
}

/* "deflate" is meant to be zlib-wrapped, but servers send raw deflate too; browsers take
 * both, and so does this: raw is tried when the zlib reading fails. */
static int decode_deflate(const char *body, size_t len, size_t max, ccd_buf_t *out)
{
    int rc = looks_zlib(body, len) ? run(WBITS_ZLIB, body, len, max, out) : CCD_EPROTO;
    if (rc == CCD_EPROTO)
        rc = run(WBITS_RAW, body, len, max, out);
    return rc;
}

int ccd_decode_body_max(const char *ce, size_t ce_len, const char *body, size_t len, size_t max,
                        ccd_buf_t *out)
{
    enum coding c = ce ? parse_coding(ce, ce_len) : CODING_NONE;
    if (c == CODING_NONE || c == CODING_OTHER)
        return 1;
    if (len == 0)
        return 0;
    if (c == CODING_GZIP)
        return run(WBITS_GZIP, body, len, max, out);
    return decode_deflate(body, len, max, out);
}

int ccd_decode_body(const char *ce, size_t ce_len, const char *body, size_t len, ccd_buf_t *out)
{
    return ccd_decode_body_max(ce, ce_len, body, len, CCD_DECODE_MAX, out);
}
