/* Tests of the hash index: lookups after growth, colliding hashes, clearing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/htab.h"

#define N 5000

static char keys[N][16];

static bool key_eq(const void *ctx, uint32_t item)
{
    return strcmp(keys[item], ctx) == 0;
}

static uint64_t hash_of(const char *k)
{
    return ccd_htab_hash(k, strlen(k), 0);
}

Test(htab, insert_and_find_through_growth)
{
    ccd_htab_t t;
    ccd_htab_init(&t);
    for (uint32_t i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "/k/%u", i);
        cr_assert_eq(ccd_htab_find(&t, hash_of(keys[i]), key_eq, keys[i]), -1);
        cr_assert_eq(ccd_htab_insert(&t, hash_of(keys[i]), i), 0);
    }
    for (uint32_t i = 0; i < N; i++)
        cr_assert_eq(ccd_htab_find(&t, hash_of(keys[i]), key_eq, keys[i]), i);
    cr_assert_eq(ccd_htab_find(&t, hash_of("/absent"), key_eq, "/absent"), -1);
    ccd_htab_destroy(&t);
}

Test(htab, colliding_hashes_are_told_apart_by_eq)
{
    ccd_htab_t t;
    ccd_htab_init(&t);
    for (uint32_t i = 0; i < 100; i++) {
        snprintf(keys[i], sizeof(keys[i]), "c%u", i);
        cr_assert_eq(ccd_htab_insert(&t, 42, i), 0);
    }
    for (uint32_t i = 0; i < 100; i++)
        cr_assert_eq(ccd_htab_find(&t, 42, key_eq, keys[i]), i);
    cr_assert_eq(ccd_htab_find(&t, 42, key_eq, "nope"), -1);
    ccd_htab_destroy(&t);
}

Test(htab, clear_forgets_everything)
{
    ccd_htab_t t;
    ccd_htab_init(&t);
    snprintf(keys[0], sizeof(keys[0]), "x");
    cr_assert_eq(ccd_htab_find(&t, hash_of("x"), key_eq, "x"), -1, "empty index");
    ccd_htab_insert(&t, hash_of("x"), 0);
    ccd_htab_clear(&t);
    cr_assert_eq(ccd_htab_find(&t, hash_of("x"), key_eq, "x"), -1);
    ccd_htab_insert(&t, hash_of("x"), 0);
    cr_assert_eq(ccd_htab_find(&t, hash_of("x"), key_eq, "x"), 0);
    ccd_htab_destroy(&t);
}

Test(htab, hash_separates_field_boundaries)
{
    uint64_t ab_c = ccd_htab_hash("c", 1, ccd_htab_hash("ab", 2, 0));
    uint64_t a_bc = ccd_htab_hash("bc", 2, ccd_htab_hash("a", 1, 0));
    cr_assert_neq(ab_c, a_bc);
    cr_assert_eq(ccd_htab_hash("hello", 5, 0), ccd_htab_hash("hello", 5, 0));
    cr_assert_neq(ccd_htab_hash("hello", 5, 0), ccd_htab_hash("hellp", 5, 0));
}
