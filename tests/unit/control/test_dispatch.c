/* The dispatch plan: class shares, fixed counts first, engines in turn, newest removed first. */
#include <criterion/criterion.h>
#include <string.h>

#include "control/dispatch.h"

Test(dispatch, weights_three_to_one_in_every_prefix)
{
    double w[2] = {3, 1};
    unsigned f[2] = {0, 0};
    ccd_dispatch_t *d = ccd_dispatch_new(2, w, f, 1);
    long batch[2] = {0};
    for (unsigned n = 1; n <= 400; n++) {
        cr_assert_eq(ccd_dispatch_add(d, 1, batch), 1);
        double share = (double)ccd_dispatch_class_count(d, 0) / n;
        cr_assert(share * n >= 0.75 * n - 1 && share * n <= 0.75 * n + 1, "n=%u", n);
    }
    cr_assert_eq(batch[0], 300);
    cr_assert_eq(batch[1], 100);
    ccd_dispatch_free(d);
}

Test(dispatch, fixed_count_classes_come_first_and_stop_at_their_count)
{
    double w[3] = {1, 1, 5};
    unsigned f[3] = {0, 0, 2};
    ccd_dispatch_t *d = ccd_dispatch_new(3, w, f, 1);
    long batch[3] = {0};
    cr_assert_eq(ccd_dispatch_add(d, 2, batch), 2);
    cr_assert_eq(batch[2], 2, "the fixed class is dispatched first");
    cr_assert_eq(ccd_dispatch_add(d, 10, batch), 10);
    cr_assert_eq(batch[2], 2, "and never beyond its count");
    cr_assert_eq(batch[0], 5);
    cr_assert_eq(batch[1], 5);
    ccd_dispatch_free(d);
}

Test(dispatch, only_fixed_classes_cap_the_user_count)
{
    double w[1] = {1};
    unsigned f[1] = {3};
    ccd_dispatch_t *d = ccd_dispatch_new(1, w, f, 2);
    long batch[2] = {0};
    cr_assert_eq(ccd_dispatch_add(d, 10, batch), 3);
    ccd_dispatch_free(d);
}

Test(dispatch, users_are_dealt_to_engines_in_turn)
{
    double w[1] = {1};
    unsigned f[1] = {0};
    ccd_dispatch_t *d = ccd_dispatch_new(1, w, f, 3);
    long batch[3] = {0};
    ccd_dispatch_add(d, 10, batch);
    cr_assert_eq(batch[0], 4);
    cr_assert_eq(batch[1], 3);
    cr_assert_eq(batch[2], 3);
    ccd_dispatch_free(d);
}

Test(dispatch, removal_takes_the_newest_users_first)
{
    double w[2] = {1, 1};
    unsigned f[2] = {0, 0};
    ccd_dispatch_t *d = ccd_dispatch_new(2, w, f, 2);
    long batch[4] = {0};
    ccd_dispatch_add(d, 4, batch); /* classes 0,1,0,1 on engines 0,1,0,1 */
    memset(batch, 0, sizeof(batch));
    cr_assert_eq(ccd_dispatch_remove(d, 1, batch), 1);
    cr_assert_eq(batch[1 * 2 + 1], 1, "user 4 (class 1, engine 1) goes first");
    cr_assert_eq(ccd_dispatch_count(d), 3);
    cr_assert_eq(ccd_dispatch_remove(d, 10, batch), 3);
    cr_assert_eq(ccd_dispatch_count(d), 0);
    ccd_dispatch_free(d);
}

Test(dispatch, allowed_classes_restrict_new_users)
{
    double w[2] = {1, 1};
    unsigned f[2] = {0, 0};
    bool allowed[2] = {false, true};
    ccd_dispatch_t *d = ccd_dispatch_new(2, w, f, 1);
    long batch[2] = {0};
    ccd_dispatch_allow(d, allowed);
    ccd_dispatch_add(d, 6, batch);
    cr_assert_eq(batch[0], 0);
    cr_assert_eq(batch[1], 6);
    ccd_dispatch_free(d);
}
