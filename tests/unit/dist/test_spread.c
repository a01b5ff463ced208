/* A worker's users over its engines: even totals, even classes, removal from the fullest. */
#include <criterion/criterion.h>

#include "dist/spread.h"

Test(spread, users_of_one_class_go_round_the_engines)
{
    long have[3] = {0}, moved[3];
    cr_assert_eq(ccd_spread_class(have, 3, 1, 0, 7, moved), 7);
    cr_assert_eq(have[0], 3);
    cr_assert_eq(have[1], 2);
    cr_assert_eq(have[2], 2);
    cr_assert_eq(moved[0] + moved[1] + moved[2], 7);
    cr_assert_eq(ccd_spread_class_total(have, 3, 1, 0), 7);
}

Test(spread, lowering_removes_from_the_engine_with_most_of_the_class)
{
    long have[3] = {3, 2, 2}, moved[3];
    cr_assert_eq(ccd_spread_class(have, 3, 1, 0, 2, moved), -5);
    cr_assert_eq(moved[0], -2);
    cr_assert_eq(moved[1] + moved[2], -3);
    cr_assert_eq(have[0] + have[1] + have[2], 2);
    for (int e = 0; e < 3; e++)
        cr_assert_leq(have[e], 1, "engine %d keeps %ld", e, have[e]);
}

Test(spread, a_second_class_fills_the_engines_the_first_left_light)
{
    /* Two engines, two classes: 3 users of class 0 leave engine 1 lighter, so class 1's first
     * user goes there. */
    long have[4] = {0}, moved[2];
    ccd_spread_class(have, 2, 2, 0, 3, moved);
    cr_assert_eq(have[0 * 2 + 0], 2);
    cr_assert_eq(have[1 * 2 + 0], 1);
    ccd_spread_class(have, 2, 2, 1, 1, moved);
    cr_assert_eq(moved[1], 1);
    cr_assert_eq(moved[0], 0);
    cr_assert_eq(have[1 * 2 + 1], 1);
}

Test(spread, the_same_target_moves_nothing_and_negative_means_zero)
{
    long have[2] = {1, 1}, moved[2] = {9, 9};
    cr_assert_eq(ccd_spread_class(have, 2, 1, 0, 2, moved), 0);
    cr_assert_eq(moved[0], 0);
    cr_assert_eq(moved[1], 0);
    cr_assert_eq(ccd_spread_class(have, 2, 1, 0, -4, moved), -2);
    cr_assert_eq(have[0] + have[1], 0);
}
