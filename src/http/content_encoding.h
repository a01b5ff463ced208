/* Response content decoding: inflates gzip and deflate bodies (Content-Encoding) with zlib. */
#ifndef CCD_DECODE_H
#define CCD_DECODE_H

#include <stddef.h>

#include "base/buf.h"

/* The largest decoded body ccd_decode_body() produces (a decompression bomb stops there; the
 * binding's message says "256 MB"). */
#define CCD_DECODE_MAX ((size_t)256 << 20)

/* Decodes body[0..len) as the Content-Encoding value ce[0..ce_len) (NULL when absent) says,
 * appending the decoded bytes to out (out->base + its former len is the body). Encodings are
 * case-insensitive: "gzip" and "x-gzip" (several concatenated members are read; bytes after
 * a member that do not start another are ignored, as browsers do), "deflate" (zlib-wrapped,
 * or raw as some servers send it). "identity" entries are skipped. An empty body decodes to
 * nothing. Each call makes one z_stream: zlib allocates about 40 KiB (state and window),
 * freed before returning. Returns 0, 1 when there is nothing to decode (no encoding, identity,
 * one this cannot decode such as br, or several stacked: the caller keeps body as is),
 * CCD_EPROTO for corrupt or truncated data, CCD_ETOOBIG when more than CCD_DECODE_MAX bytes
 * would come out, or CCD_ENOMEM; on errors out->len is unchanged. */
int ccd_decode_body(const char *ce, size_t ce_len, const char *body, size_t len, ccd_buf_t *out);

/* ccd_decode_body() with max instead of CCD_DECODE_MAX as the bound on decoded bytes. */
int ccd_decode_body_max(const char *ce, size_t ce_len, const char *body, size_t len, size_t max,
                        ccd_buf_t *out);

#endif
