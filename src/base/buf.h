/* A growable byte buffer reused across requests: grows when needed, is never shrunk, so the
 * steady state allocates nothing. */
#ifndef CCD_BUF_H
#define CCD_BUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct {
    char *base;
    size_t len, cap;
} ccd_buf_t;

/* Makes the capacity at least size bytes, doubling it from 256. Returns 0 or CCD_ENOMEM (the
 * buffer is then unchanged). */
static inline int ccd_buf_ensure(ccd_buf_t *b, size_t size)
{
    if (size <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < size) {
        if (cap > SIZE_MAX / 2)
            return CCD_ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->base, cap);
    if (!p)
        return CCD_ENOMEM;
    b->base = p;
    b->cap = cap;
    return 0;
}

/* Makes room for n more bytes after len. Returns 0 or CCD_ENOMEM. */
static inline int ccd_buf_reserve(ccd_buf_t *b, size_t n)
{
    return n > SIZE_MAX - b->len ? CCD_ENOMEM : ccd_buf_ensure(b, b->len + n);
}

/* Appends n bytes (p may be NULL when n is 0). Returns 0 or CCD_ENOMEM. */
static inline int ccd_buf_append(ccd_buf_t *b, const void *p, size_t n)
{
    int rc = ccd_buf_reserve(b, n);
    if (rc == 0 && n > 0) {
        memcpy(b->base + b->len, p, n);
        b->len += n;
    }
    return rc;
}

static inline int ccd_buf_putc(ccd_buf_t *b, char c)
{
    return ccd_buf_append(b, &c, 1);
}

/* Frees the memory; the buffer is empty and may be used again. */
static inline void ccd_buf_free(ccd_buf_t *b)
{
    free(b->base);
    memset(b, 0, sizeof(*b));
}

#endif
