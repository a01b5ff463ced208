/* Size-class stacks of free blocks for a Lua state's small blocks; larger ones go to malloc. */
#include "engine/lmem.h"

#include <stdlib.h>
#include <string.h>

/* Class c holds blocks of CAP(c) = 16 * c - 8 bytes: with malloc's 8-byte header, a whole
 * number of its 16-byte units, so that rounding a size up to its class costs no more memory
 * than malloc's own rounding (16 * c bytes would take malloc 16 bytes more). */
#define GRAIN   16
#define CLASSES 32              /* up to 504 bytes */
#define CAP(c)  (GRAIN * (c)-8) /* the bytes a block of class c holds */
#define SMALL   CAP(CLASSES)
#define DEPTH   4096 /* free blocks a class keeps at most */

/* The free blocks of each class are a stack of pointers, not a list threaded through the
 * blocks: the blocks a collection frees are cold by the time they are reused, and popping a
 * list would wait for the block's own memory to learn the next one. */
struct ccd_lmem {
    void **stack[CLASSES + 1]; /* DEPTH slots each, made on the class's first free */
    unsigned n[CLASSES + 1];
    size_t kept, keep;
};

ccd_lmem_t *ccd_lmem_new(size_t keep)
{
    ccd_lmem_t *m = calloc(1, sizeof(*m));
    if (m)
        m->keep = keep;
    return m;
}

void ccd_lmem_trim(ccd_lmem_t *m)
{
    for (size_t c = 1; c <= CLASSES; c++) {
        while (m->n[c])
            free(m->stack[c][--m->n[c]]);
        free(m->stack[c]); /* made again on the class's next free */
        m->stack[c] = NULL;
    }
    m->kept = 0;
}

void ccd_lmem_free(ccd_lmem_t *m)
{
    if (!m)
        return;
    ccd_lmem_trim(m);
    free(m);
}

size_t ccd_lmem_kept(const ccd_lmem_t *m)
{
    return m->kept;
}

/* The class of a small block of n > 0 bytes. */
static size_t class_of(size_t n)
{
    return (n + 8 + GRAIN - 1) / GRAIN;
}

static void *get(ccd_lmem_t *m, size_t n)
{
    if (n > SMALL)
        return malloc(n);
    size_t c = class_of(n);
    if (!m->n[c])
        return malloc(CAP(c));
    m->kept -= CAP(c);
    return m->stack[c][--m->n[c]];
}

/* A block of at least n bytes (Lua's size of it) is free. A block may be larger than its
 * size says (see the shrinking below): it then serves a smaller class, which is safe. */
static void put(ccd_lmem_t *m, void *p, size_t n)
{
    if (!p)
        return;
    size_t c = class_of(n);
    if (n == 0 || n > SMALL || m->n[c] == DEPTH || m->kept + CAP(c) > m->keep ||
        (!m->stack[c] && !(m->stack[c] = malloc(DEPTH * sizeof(void *))))) {
        free(p);
        return;
    }
    m->stack[c][m->n[c]++] = p;
    m->kept += CAP(c);
}

void *ccd_lmem_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    ccd_lmem_t *m = ud;
    if (nsize == 0) {
        put(m, ptr, osize);
        return NULL;
    }
    if (!ptr)
        return get(m, nsize);
    if (nsize <= osize) {
        /* Lua counts on a shrink never failing: a small block keeps its place (it is then
         * freed with its new size, into a smaller class), a large one goes through realloc
         * when it stays large, keeping the old block if realloc fails. */
        if (nsize > SMALL) {
            void *q = realloc(ptr, nsize);
            return q ? q : ptr;
        }
        return ptr;
    }
    if (osize > SMALL && nsize > SMALL)
        return realloc(ptr, nsize);
    if (osize <= SMALL && nsize <= CAP(class_of(osize)))
        return ptr; /* still fits its class */
    void *q = get(m, nsize);
    if (!q)
        return NULL;
    memcpy(q, ptr, osize);
    put(m, ptr, osize);
    return q;
}
