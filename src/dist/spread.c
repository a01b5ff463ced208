/* Spreading a class's users evenly over engine threads. */
#include "dist/spread.h"

#include <string.h>

long ccd_spread_class_total(const long *have, unsigned nengines, size_t nclasses, size_t c)
{
    long n = 0;
    for (unsigned e = 0; e < nengines; e++)
        n += have[e * nclasses + c];
    return n;
}

static long engine_total(const long *have, size_t nclasses, unsigned e)
{
    long n = 0;
    for (size_t c = 0; c < nclasses; c++)
        n += have[e * nclasses + c];
    return n;
}

static unsigned least_loaded(const long *have, unsigned nengines, size_t nclasses)
{
    unsigned best = 0;
    long best_n = engine_total(have, nclasses, 0);
    for (unsigned e = 1; e < nengines; e++) {
        long n = engine_total(have, nclasses, e);
        if (n < best_n) {
            best = e;
            best_n = n;
        }
    }
    return best;
}

static unsigned most_of_class(const long *have, unsigned nengines, size_t nclasses, size_t c)
{
    unsigned best = 0;
    for (unsigned e = 1; e < nengines; e++)
        if (have[e * nclasses + c] >= have[best * nclasses + c])
            best = e;
    return best;
}

long ccd_spread_class(long *have, unsigned nengines, size_t nclasses, size_t c, long target,
                      long *moved)
{
    long now = ccd_spread_class_total(have, nengines, nclasses, c);
    memset(moved, 0, nengines * sizeof(*moved));
    if (target < 0)
        target = 0;
    for (long n = now; n < target; n++) {
        unsigned e = least_loaded(have, nengines, nclasses);
        have[e * nclasses + c]++;
        moved[e]++;
    }
    for (long n = now; n > target; n--) {
        unsigned e = most_of_class(have, nengines, nclasses, c);
        have[e * nclasses + c]--;
        moved[e]--;
    }
    return target - now;
}
