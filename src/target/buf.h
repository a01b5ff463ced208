/* Growable byte buffer reused across requests; a failed allocation is sticky, not fatal. */
#ifndef TGT_BUF_H
#define TGT_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* set when an append could not allocate; cleared by tgt_buf_free() */
} tgt_buf_t;

/* Makes room for n more bytes. Returns 0, or -ENOMEM and sets b->failed (the contents are
 * kept). Never shrinks. */
int tgt_buf_reserve(tgt_buf_t *b, size_t n);

/* Appends n bytes; on allocation failure appends nothing and sets b->failed. */
void tgt_buf_add(tgt_buf_t *b, const void *p, size_t n);

/* Appends a NUL-terminated string (without the NUL). */
void tgt_buf_puts(tgt_buf_t *b, const char *s);

/* Appends the decimal form of v. */
void tgt_buf_u64(tgt_buf_t *b, uint64_t v);

/* Appends printf-formatted text. */
void tgt_buf_printf(tgt_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empties the buffer; its memory is released when it grew beyond keep bytes, so one large
 * request does not pin memory for the rest of a connection's life. */
void tgt_buf_reset(tgt_buf_t *b, size_t keep);

/* Releases the memory; the buffer is empty and usable again afterwards. */
void tgt_buf_free(tgt_buf_t *b);

#endif
