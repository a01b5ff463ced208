/* One-shot zlib compression for bodies prepared at start-up (/gzip, /deflate). */
#include "compress.h"

#include <errno.h>
#include <zlib.h>

int tgt_compress(const void *in, size_t n, tgt_coding_t coding, tgt_buf_t *out)
{
    z_stream z = {0};
    int bits = coding == TGT_GZIP ? 15 + 16 : 15; /* +16 selects the gzip wrapper */
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    uLong bound = deflateBound(&z, (uLong)n) + 32; /* the bound omits the gzip header */
    if (tgt_buf_reserve(out, bound) < 0) {
        deflateEnd(&z);
        return -ENOMEM;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->len += z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -EIO;
}
