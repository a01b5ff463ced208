/* Growable byte buffer reused across requests; a failed allocation is sticky, not fatal. */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tgt_buf_reserve(tgt_buf_t *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2)
            goto fail;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        goto fail;
    b->data = p;
    b->cap = cap;
    return 0;
fail:
    b->failed = 1;
    return -ENOMEM;
}

void tgt_buf_add(tgt_buf_t *b, const void *p, size_t n)
{
    if (n == 0 || tgt_buf_reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void tgt_buf_puts(tgt_buf_t *b, const char *s)
{
    tgt_buf_add(b, s, strlen(s));
}

void tgt_buf_u64(tgt_buf_t *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    tgt_buf_add(b, tmp + i, sizeof tmp - i);
}

void tgt_buf_printf(tgt_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || tgt_buf_reserve(b, (size_t)n + 1) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tgt_buf_reset(tgt_buf_t *b, size_t keep)
{
    if (b->cap > keep)
        tgt_buf_free(b);
    b->len = 0;
}

void tgt_buf_free(tgt_buf_t *b)
{
    free(b->data);
    *b = (tgt_buf_t){0};
}
