/* Response times to three significant digits, the precision the histograms keep. */
#include "report/format.h"

#include <math.h>
#include <stdio.h>

/* The decimal exponent of v's first significant digit (v > 0). */
static int magnitude(double v)
{
    return (int)floor(log10(v));
}

double ccd_round3(double ms)
{
    if (!(ms > 0))
        return ms;
    double unit = pow(10, magnitude(ms) - 2);
    double r = round(ms / unit) * unit;
    return unit < 0.001 ? round(ms * 1000) / 1000 : r;
}

char *ccd_format_ms(char *buf, size_t size, double ms)
{
    if (ms != ms || ms < 0) {
        snprintf(buf, size, "-");
        return buf;
    }
    double r = ccd_round3(ms);
    if (r == 0) {
        snprintf(buf, size, "0");
        return buf;
    }
    int decimals = 2 - magnitude(r); /* after rounding: 9.996 became 10.0, one decimal */
    if (decimals > 3)
        decimals = 3;
    snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, r);
    return buf;
}
