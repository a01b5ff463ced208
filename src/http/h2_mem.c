/* Size-class free lists per thread in front of malloc, for nghttp2's blocks. */
#include "http/h2_mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define GRAIN   16              /* size classes are multiples of GRAIN bytes */
#define CLASSES 64              /* up to GRAIN * CLASSES bytes; larger blocks go to malloc */
#define KEEP    (4u << 20)      /* bytes a thread keeps, beyond which free() frees */
#define HEADER  sizeof(block_t) /* before each block: its class, keeping the alignment */

typedef union block {
    union block *next; /* while in a free list */
    size_t cls;        /* while in use: its class, 0 for a block from malloc of any size */
    max_align_t align;
} block_t;

typedef struct {
    block_t *free[CLASSES + 1];
    size_t bytes; /* in the free lists */
} cache_t;

static _Thread_local cache_t cache;
static _Thread_local bool registered; /* for release() at the thread's exit */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/* At thread exit: the blocks the thread kept go back to malloc. */
static void release(void *unused)
{
    (void)unused;
    for (size_t c = 1; c <= CLASSES; c++)
        while (cache.free[c]) {
            block_t *b = cache.free[c];
            cache.free[c] = b->next;
            free(b);
        }
    memset(&cache, 0, sizeof(cache));
    registered = false;
}

static void make_key(void)
{
    pthread_key_create(&exit_key, release);
}

static size_t class_of(size_t size)
{
    size_t c = (size + GRAIN - 1) / GRAIN;
    return c == 0 ? 1 : c <= CLASSES ? c : 0;
}

static void *h2_malloc(size_t size, void *ud)
{
    (void)ud;
    size_t c = class_of(size);
    block_t *b;
    if (c && cache.free[c]) {
        b = cache.free[c];
        cache.free[c] = b->next;
        cache.bytes -= c * GRAIN;
    } else {
        if (c && !registered) { /* this thread's first block: release() at its exit */
            pthread_once(&exit_once, make_key);
            registered = pthread_setspecific(exit_key, &cache) == 0;
        }
        if (size > (size_t)-1 - HEADER || !(b = malloc(HEADER + (c ? c * GRAIN : size))))
            return NULL;
    }
    b->cls = c;
    return (char *)b + HEADER;
}

static void h2_free(void *p, void *ud)
{
    (void)ud;
    if (!p)
        return;
    block_t *b = (block_t *)(void *)((char *)p - HEADER);
    size_t c = b->cls;
    if (c == 0 || cache.bytes + c * GRAIN > KEEP) {
        free(b);
        return;
    }
    b->next = cache.free[c];
    cache.free[c] = b;
    cache.bytes += c * GRAIN;
}

static void *h2_calloc(size_t n, size_t size, void *ud)
{
    if (size && n > ((size_t)-1 - HEADER) / size)
        return NULL;
    void *p = h2_malloc(n * size, ud);
    if (p)
        memset(p, 0, n * size);
    return p;
}

static void *h2_realloc(void *p, size_t size, void *ud)
{
    if (!p)
        return h2_malloc(size, ud);
    block_t *b = (block_t *)(void *)((char *)p - HEADER);
    if (b->cls && size <= b->cls * GRAIN)
        return p;
    if (b->cls == 0) { /* a large block stays with malloc */
        block_t *nb = realloc(b, HEADER + size);
        if (!nb)
            return NULL;
        nb->cls = 0;
        return (char *)nb + HEADER;
    }
    void *q = h2_malloc(size, ud);
    if (!q)
        return NULL;
    memcpy(q, p, b->cls * GRAIN);
    h2_free(p, ud);
    return q;
}

nghttp2_mem *ccd_h2_mem(void)
{
    static nghttp2_mem mem = {NULL, h2_malloc, h2_free, h2_calloc, h2_realloc};
    return &mem;
}
