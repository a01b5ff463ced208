/* One-shot zlib compression for bodies prepared at start-up (/gzip, /deflate). */
#ifndef TGT_COMPRESS_H
#define TGT_COMPRESS_H

#include "buf.h"

typedef enum { TGT_GZIP, TGT_DEFLATE } tgt_coding_t;

/* Appends in[0..n) compressed with coding (gzip framing, or the zlib framing that HTTP calls
 * "deflate") to out. Returns 0, or -ENOMEM / -EIO. */
int tgt_compress(const void *in, size_t n, tgt_coding_t coding, tgt_buf_t *out);

#endif
