/* Durations as people write them ("90", "90s", "5m", "1h30m") and as messages show them. */
#include "base/duration.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"

int ccd_duration_parse(const char *s, double *seconds)
{
    double total = 0;
    const char *p = s;
    int last_unit = 4; /* units must come in the order h, m, s */
    if (!*p)
        return CCD_EINVAL;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return CCD_EINVAL;
        char *end;
        double v = strtod(p, &end);
        int unit = *end == 'h' ? 3 : *end == 'm' ? 2 : *end == 's' ? 1 : *end == 0 ? 0 : -1;
        if (unit < 0 || (unit == 0 && p != s) || (unit > 0 && unit >= last_unit))
            return CCD_EINVAL;
        total += v * (unit == 3 ? 3600 : unit == 2 ? 60 : 1);
        last_unit = unit;
        p = unit ? end + 1 : end;
    }
    *seconds = total;
    return 0;
}

const char *ccd_duration_format(double seconds, char *buf, size_t size)
{
    snprintf(buf, size, seconds >= 0.1 ? "%.1fs" : "%.3gs", seconds);
    return buf;
}
