/* Tests of nghttp2's allocator: blocks come back from the thread's cache, contents survive a
 * realloc across classes, calloc zeroes a reused block, large blocks pass through, and a
 * thread's cache is released at its exit (LeakSanitizer checks that under ASan). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "http/h2_mem.h"

Test(h2_mem, a_freed_block_is_reused_for_the_same_class)
{
    nghttp2_mem *m = ccd_h2_mem();
    void *a = m->malloc(100, NULL);
    cr_assert_not_null(a);
    cr_assert_eq((uintptr_t)a % _Alignof(max_align_t), 0, "misaligned block");
    m->free(a, NULL);
    void *b = m->malloc(97, NULL); /* the same 16-byte class */
    cr_assert_eq(b, a, "the cached block was not reused");
    void *c = m->malloc(300, NULL);
    cr_assert_neq(c, a);
    m->free(b, NULL);
    m->free(c, NULL);
    m->free(NULL, NULL);
}

Test(h2_mem, calloc_zeroes_a_reused_block)
{
    nghttp2_mem *m = ccd_h2_mem();
    unsigned char *a = m->malloc(64, NULL);
    memset(a, 0xAB, 64);
    m->free(a, NULL);
    unsigned char *b = m->calloc(8, 8, NULL);
    cr_assert_eq(b, a);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(b[i], 0, "byte %d", i);
    m->free(b, NULL);
    cr_assert_null(m->calloc(SIZE_MAX / 2, 4, NULL), "an overflowing calloc succeeded");
}

Test(h2_mem, realloc_keeps_the_contents_across_classes_and_sizes)
{
    nghttp2_mem *m = ccd_h2_mem();
    char *p = m->realloc(NULL, 10, NULL);
    memcpy(p, "0123456789", 10);
    cr_assert_eq(m->realloc(p, 16, NULL), p, "a block grew within its class and moved");
    size_t sizes[] = {40, 700, 1024, 5000, 100000, 20};
    size_t have = 10;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        p = m->realloc(p, sizes[i], NULL);
        cr_assert_not_null(p);
        cr_assert_eq(memcmp(p, "0123456789", 10), 0, "contents lost at %zu bytes", sizes[i]);
        if (sizes[i] > have)
            memset(p + have, 'x', sizes[i] - have);
        have = sizes[i];
    }
    m->free(p, NULL);
}

Test(h2_mem, large_blocks_are_not_cached)
{
    nghttp2_mem *m = ccd_h2_mem();
    char *a = m->malloc(64 * 1024, NULL);
    cr_assert_not_null(a);
    memset(a, 1, 64 * 1024);
    m->free(a, NULL);
}

static void *churn(void *arg)
{
    nghttp2_mem *m = ccd_h2_mem();
    void *v[200];
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 200; i++)
            v[i] = m->malloc((size_t)(i * 5 + 1), NULL);
        for (int i = 0; i < 200; i++)
            m->free(v[i], NULL);
    }
    return arg;
}

Test(h2_mem, threads_keep_caches_of_their_own)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, churn, NULL), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_join(t[i], NULL), 0);
}
