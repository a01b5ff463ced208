/* The server-wide stall window: two monotonic instants shared by every serving thread. */
#include "stall.h"

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* The window [start, end) in monotonic microseconds; end == 0: none. The two are written one
 * after the other: a reply made between the two writes may see half a new window, which only
 * holds it for a part of the old or new stall. */
static _Atomic int64_t stall_start, stall_end;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void tgt_stall_set(double after, double dur)
{
    int64_t start = now_us() + (int64_t)(after * 1e6);
    atomic_store(&stall_end, 0);
    atomic_store(&stall_start, start);
    atomic_store(&stall_end, dur > 0 ? start + (int64_t)(dur * 1e6) : 0);
}

double tgt_stall_left(void)
{
    int64_t end = atomic_load_explicit(&stall_end, memory_order_relaxed);
    if (end == 0)
        return 0;
    int64_t now = now_us();
    if (now < atomic_load_explicit(&stall_start, memory_order_relaxed) || now >= end)
        return 0;
    return (double)(end - now) / 1e6;
}
