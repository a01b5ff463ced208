/* Growable memory: byte buffers reused across requests, and arrays of any element type. Both
 * grow by doubling and never shrink, so the steady state allocates nothing. */
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

/* An array with room for at least n elements of elem bytes: arr itself when *cap >= n, else
 * arr reallocated to double its capacity (at least first elements), *cap updated. Returns NULL
 * when out of memory, leaving arr and *cap as they were. Call as
 *     T *p = ccd_array_grow(a->v, &a->cap, a->n + 1, sizeof(*p), 8);
 *     if (!p) return CCD_ENOMEM;
 *     a->v = p; */
static inline void *ccd_array_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n <= *cap && arr)
        return arr;
    size_t c = *cap ? *cap : (first ? first : 1);
    while (c < n) {
        if (c > SIZE_MAX / 2)
            return NULL;
        c *= 2;
    }
    if (c > SIZE_MAX / elem)
        return NULL;
    void *p = realloc(arr, c * elem);
    if (p)
        *cap = c;
    return p;
}

/* Makes the capacity at least size bytes, doubling it from 256. Returns 0 or CCD_ENOMEM (the
 * buffer is then unchanged). */
static inline int ccd_buf_ensure(ccd_buf_t *b, size_t size)
{
    char *p = ccd_array_grow(b->base, &b->cap, size, 1, 256);
    if (!p)
        return CCD_ENOMEM;
    b->base = p;
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
