/* A growable byte buffer reused across requests: grows when needed, is never shrunk, so the
 * steady state allocates nothing. */
#ifndef CCD_BUF_H
#define CCD_BUF_H

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef struct {
    char *base;
    size_t len, cap;
} ccd_buf_t;

/* Makes room for n more bytes. Returns 0 or CCD_ENOMEM. */
static inline int ccd_buf_reserve(ccd_buf_t *b, size_t n)
{
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    char *p = realloc(b->base, cap);
    if (!p)
        return CCD_ENOMEM;
    b->base = p;
    b->cap = cap;
    return 0;
}

static inline int ccd_buf_append(ccd_buf_t *b, const void *p, size_t n)
{
    int rc = ccd_buf_reserve(b, n);
    if (rc == 0) {
        memcpy(b->base + b->len, p, n);
        b->len += n;
    }
    return rc;
}

static inline int ccd_buf_putc(ccd_buf_t *b, char c)
{
    return ccd_buf_append(b, &c, 1);
}

static inline void ccd_buf_free(ccd_buf_t *b)
{
    free(b->base);
    memset(b, 0, sizeof(*b));
}

#endif
