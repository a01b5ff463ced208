/* The failing allocator of the allocation-failure tests: malloc, calloc, realloc and strdup,
 * wrapped with the linker's --wrap (see CMakeLists.txt), fail at their Nth call after arm(N).
 * Only the thread that armed it counts and fails. Include it in one file of a test program. */
#ifndef TEST_ALLOC_FAIL_H
#define TEST_ALLOC_FAIL_H

#include <stdbool.h>
#include <stddef.h>

static _Thread_local bool armed;
static _Thread_local long calls, fail_at;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);

static bool fail_now(void)
{
    return armed && ++calls == fail_at;
}

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

static void arm(long n)
{
    calls = 0;
    fail_at = n;
    armed = true;
}

/* Disarms; true when the Nth call happened (the run saw a failure). */
static bool disarm(void)
{
    armed = false;
    return calls >= fail_at;
}

#endif
