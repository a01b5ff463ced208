/* Tests of the JSON decoder's values: numbers read without strtod give strtod's double exactly,
 * tables made at their final size hold every element, repeated keys keep the last value, and
 * documents nested deep with many elements at each level decode within the Lua stack. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/ljson.h"

static lua_State *L;

static void setup(void)
{
    L = luaL_newstate();
}

static void teardown(void)
{
    lua_close(L);
}

TestSuite(ljson_decode, .init = setup, .fini = teardown);

static void decode_ok(const char *text)
{
    int rc = ccd_ljson_decode(L, text, strlen(text));
    cr_assert_eq(rc, 0, "%s: %s", text, rc ? lua_tostring(L, -1) : "");
}

Test(ljson_decode, numbers_equal_what_strtod_reads)
{
    static const char *const fixed[] = {"0",
                                        "-0",
                                        "7",
                                        "12.5",
                                        "0.1",
                                        "0.3",
                                        "-1.005",
                                        "3.14159265358979",
                                        "999999999999999",
                                        "9999999999999999",
                                        "12345678901234567890",
                                        "1e3",
                                        "1E-7",
                                        "2.5e+2",
                                        "0.000001",
                                        "123456.789012345",
                                        "-98765.4321",
                                        "4.35",
                                        "1.1",
                                        "100.0",
                                        "0.0",
                                        "1.7976931348623157e308"};
    char text[64];
    for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++) {
        decode_ok(fixed[i]);
        double want = strtod(fixed[i], NULL);
        cr_assert_eq(memcmp(&(double){lua_tonumber(L, -1)}, &want, sizeof(want)), 0,
                     "%s: %.17g, strtod %.17g", fixed[i], lua_tonumber(L, -1), want);
        lua_pop(L, 1);
    }
    srand(7);
    for (int i = 0; i < 20000; i++) { /* random decimals of 1 to 17 digits */
        int digits = 1 + rand() % 17, point = rand() % (digits + 1), n = 0;
        if (rand() % 2)
            text[n++] = '-';
        for (int d = 0; d < digits; d++) {
            if (d == point && d > 0)
                text[n++] = '.';
            text[n++] =
                (char)('0' + (d == 0 && digits > 1 && point != 1 ? 1 + rand() % 9 : rand() % 10));
        }
        text[n] = '\0';
        decode_ok(text);
        double want = strtod(text, NULL);
        cr_assert_eq(memcmp(&(double){lua_tonumber(L, -1)}, &want, sizeof(want)), 0,
                     "%s: %.17g, strtod %.17g", text, lua_tonumber(L, -1), want);
        lua_pop(L, 1);
    }
}

Test(ljson_decode, bad_numbers_are_still_errors)
{
    static const char *const bad[] = {"-", "01", "-01", "+1", ".5", "1.2.3", "1e", "--1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        cr_assert_eq(ccd_ljson_decode(L, bad[i], strlen(bad[i])), CCD_EINVAL, "%s", bad[i]);
        lua_pop(L, 1);
    }
}

/* A document of n elements: an array [1, 2, ...] or an object {"k1": 1, ...}. */
static char *document(int n, bool object)
{
    size_t cap = (size_t)n * 24 + 8, len = 0;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    s[len++] = object ? '{' : '[';
    for (int i = 1; i <= n; i++)
        len +=
            (size_t)(object ? snprintf(s + len, cap - len, "%s\"k%d\":%d", i > 1 ? "," : "", i, i)
                            : snprintf(s + len, cap - len, "%s%d", i > 1 ? "," : "", i));
    s[len++] = object ? '}' : ']';
    s[len] = '\0';
    return s;
}

Test(ljson_decode, arrays_and_objects_of_every_size_hold_every_element)
{
    static const int sizes[] = {1, 2, 3, 31, 32, 33, 64, 65, 1000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        int n = sizes[i];
        char *text = document(n, false);
        decode_ok(text);
        cr_assert_eq((int)lua_objlen(L, -1), n, "array of %d: length %d", n,
                     (int)lua_objlen(L, -1));
        for (int k = 1; k <= n; k++) {
            lua_rawgeti(L, -1, k);
            cr_assert_eq(lua_tonumber(L, -1), k, "array of %d, element %d", n, k);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        free(text);

        text = document(n, true);
        decode_ok(text);
        int count = 0;
        for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1))
            count++;
        cr_assert_eq(count, n, "object of %d: %d keys", n, count);
        for (int k = 1; k <= n; k++) {
            char key[16];
            snprintf(key, sizeof(key), "k%d", k);
            lua_getfield(L, -1, key);
            cr_assert_eq(lua_tonumber(L, -1), k, "object of %d, key %s", n, key);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        free(text);
    }
}

Test(ljson_decode, a_repeated_key_keeps_its_last_value)
{
    decode_ok("{\"a\":1,\"b\":2,\"a\":3}");
    lua_getfield(L, -1, "a");
    cr_assert_eq(lua_tonumber(L, -1), 3);
    lua_pop(L, 2);
    /* the same past the gathered part, where keys are set one by one */
    char *text = document(40, true);
    size_t len = strlen(text);
    char *more = malloc(len + 16);
    cr_assert_not_null(more);
    memcpy(more, text, len - 1);
    strcpy(more + len - 1, ",\"k1\":99}");
    decode_ok(more);
    lua_getfield(L, -1, "k1");
    cr_assert_eq(lua_tonumber(L, -1), 99);
    lua_pop(L, 2);
    free(text);
    free(more);
}

/* 500 levels, each holding 31 numbers before the next level: the elements gathered on the
 * stack at every level together would pass LuaJIT's limit of C stack slots. */
Test(ljson_decode, deep_documents_with_many_elements_per_level_decode)
{
    const int depth = 500, per_level = 31;
    char *s = malloc((size_t)depth * (per_level * 2 + 4) + 16), *p = s;
    cr_assert_not_null(s);
    for (int d = 0; d < depth; d++) {
        *p++ = '[';
        for (int i = 0; i < per_level; i++)
            *p++ = '1', *p++ = ',';
    }
    *p++ = '0';
    for (int d = 0; d < depth; d++)
        *p++ = ']';
    *p = '\0';
    decode_ok(s);
    for (int d = 0; d < depth - 1; d++) {
        cr_assert_eq((int)lua_objlen(L, -1), per_level + 1, "level %d", d);
        lua_rawgeti(L, -1, per_level + 1);
        lua_replace(L, -2);
    }
    lua_pop(L, 1);
    free(s);
}

Test(ljson_decode, nesting_up_to_the_limit_decodes_and_past_it_is_an_error)
{
    char s[2 * 600 + 2];
    for (int depth = 510; depth <= 514; depth++) {
        memset(s, '[', (size_t)depth);
        memset(s + depth, ']', (size_t)depth);
        s[2 * depth] = '\0';
        int rc = ccd_ljson_decode(L, s, (size_t)(2 * depth));
        if (depth <= 512)
            cr_assert_eq(rc, 0, "depth %d: %s", depth, rc ? lua_tostring(L, -1) : "");
        else
            cr_assert(rc == CCD_EINVAL && strstr(lua_tostring(L, -1), "nesting too deep"),
                      "depth %d: %s", depth, rc ? lua_tostring(L, -1) : "decoded");
        lua_pop(L, 1);
    }
}
