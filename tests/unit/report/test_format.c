/* Times as people read them: three significant digits, microsecond resolution. */
#include <criterion/criterion.h>

#include "report/format.h"

static void expect_ms(double ms, const char *want)
{
    char buf[CCD_FORMAT_MS_SIZE];
    cr_expect_str_eq(ccd_format_ms(buf, sizeof(buf), ms), want, "%g ms", ms);
}

Test(format, three_significant_digits_at_every_magnitude)
{
    expect_ms(0.2134, "0.213");
    expect_ms(4.5649, "4.56");
    expect_ms(13.74, "13.7");
    expect_ms(137.2, "137");
    expect_ms(1374, "1370");
    expect_ms(12345, "12300");
}

Test(format, rounding_up_carries_into_the_next_magnitude)
{
    expect_ms(9.996, "10.0");
    expect_ms(99.96, "100");
    expect_ms(0.9996, "1.00");
}

Test(format, below_a_microsecond_is_zero_and_at_most_three_decimals)
{
    expect_ms(0, "0");
    expect_ms(0.0004, "0");
    expect_ms(0.0213, "0.021");
    expect_ms(0.001, "0.001");
}

Test(format, nonsense_prints_a_dash)
{
    expect_ms(-1, "-");
    expect_ms(0.0 / 0.0, "-");
}

Test(format, round3_matches_the_printed_value)
{
    cr_expect_float_eq(ccd_round3(1374), 1370, 1e-9);
    cr_expect_float_eq(ccd_round3(0.2134), 0.213, 1e-12);
    cr_expect_float_eq(ccd_round3(137.2), 137, 1e-9);
}
