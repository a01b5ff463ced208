/* libFuzzer driver for content decoding (gzip, deflate): never crashes, never produces more
 * than its bound (a decompression bomb stops with CCD_ETOOBIG), leaves the output as it was
 * on every error. The first byte chooses the Content-Encoding and the bound (2^0..2^19 bytes,
 * small enough for a bomb to reach it); the rest is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/content_encoding.h"

static const char *const encodings[] = {"gzip", "deflate", "x-gzip", " GZIP , identity", "br"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *ce = encodings[(data[0] & 7) % 5];
    size_t max = (size_t)1 << (data[0] >> 3 & 31) % 20, len = size - 1;
    char *body = malloc(len ? len : 1); /* exact size: ASan catches any overread */
    memcpy(body, data + 1, len);
    ccd_buf_t out = {0};
    ccd_buf_append(&out, "kept", 4);
    int rc = ccd_decode_body_max(ce, strlen(ce), body, len, max, &out);
    if (rc == 0 && out.len - 4 > max)
        abort();
    if (rc != 0 && out.len != 4)
        abort();
    if (rc != 0 && rc != 1 && rc != CCD_EPROTO && rc != CCD_ETOOBIG && rc != CCD_ENOMEM)
        abort();
    if (memcmp(out.base, "kept", 4) != 0)
        abort();
    ccd_buf_free(&out);
    free(body);
    return 0;
}
