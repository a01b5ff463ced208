/* Clocks: monotonic time for measuring, wall time only for timestamps shown to people. */
#ifndef CCD_CLOCK_H
#define CCD_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in microseconds (CLOCK_MONOTONIC); never goes backwards. */
static inline int64_t ccd_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wall-clock time in seconds since the epoch, for report timestamps only. */
static inline double ccd_clock_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
