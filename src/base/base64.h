/* Base64 encoding (RFC 4648, with padding), for HTTP basic authentication. */
#ifndef CCD_BASE64_H
#define CCD_BASE64_H

#include <stddef.h>

/* The encoded length of n bytes, without a terminating NUL. */
static inline size_t ccd_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Encodes n bytes of in into out, which must hold ccd_base64_len(n) bytes; no NUL is written.
 * A pure function. */
void ccd_base64_encode(const unsigned char *in, size_t n, char *out);

#endif
