/* Tests of Locust's serialised entries: keys and their order, units, buckets, empty entries. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/locust_json.h"

#define T0 1700000000.0

static void rec(ccd_stats_t *s, const char *name, int64_t us, const char *error, double now)
{
    cr_assert_eq(ccd_stats_record(s, "GET", 3, name, strlen(name), us, 10, error,
                                  error ? strlen(error) : 0, now),
                 0);
}

Test(locust_json, buckets_as_locust_rounds)
{
    cr_expect_eq(ccd_locust_json_bucket(0.213), 0);
    cr_expect_eq(ccd_locust_json_bucket(0.5), 0); /* halves to even, as Python's round() */
    cr_expect_eq(ccd_locust_json_bucket(1.5), 2);
    cr_expect_eq(ccd_locust_json_bucket(99.4), 99);
    cr_expect_eq(ccd_locust_json_bucket(137), 140);
    cr_expect_eq(ccd_locust_json_bucket(147), 150);
    cr_expect_eq(ccd_locust_json_bucket(3432), 3400);
    cr_expect_eq(ccd_locust_json_bucket(58760), 59000);
}

Test(locust_json, entry_has_locusts_keys_in_order)
{
    static const char *keys[] = {"name",
                                 "method",
                                 "last_request_timestamp",
                                 "start_time",
                                 "num_requests",
                                 "num_none_requests",
                                 "num_failures",
                                 "total_response_time",
                                 "max_response_time",
                                 "min_response_time",
                                 "total_content_length",
                                 "response_times",
                                 "num_reqs_per_sec",
                                 "num_fail_per_sec"};
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "/x", 137000, NULL, T0 + 1.5);
    rec(s, "/x", 1500, "HTTP 500", T0 + 2.5);
    json_t *e = ccd_locust_json_entry(ccd_stats_get(s, 0));
    cr_assert_not_null(e);
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(e, key, v)
    {
        if (i < sizeof(keys) / sizeof(keys[0]))
            cr_expect_str_eq(key, keys[i], "key %zu", i);
        i++;
    }
    cr_expect_eq(json_integer_value(json_object_get(e, "num_requests")), 2);
    cr_expect_eq(json_integer_value(json_object_get(e, "num_failures")), 1);
    cr_expect_float_eq(json_number_value(json_object_get(e, "total_response_time")), 138.5, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(e, "min_response_time")), 1.5, 1e-9);
    cr_expect_float_eq(json_number_value(json_object_get(e, "max_response_time")), 137, 1e-9);
    cr_expect_eq(json_integer_value(json_object_get(e, "total_content_length")), 20);
    json_t *rt = json_object_get(e, "response_times");
    cr_expect_eq(json_object_size(rt), 2);
    cr_expect_eq(json_integer_value(json_object_get(rt, "140")), 1);
    cr_expect_eq(json_integer_value(json_object_get(rt, "2")), 1); /* 1.5 rounds to even */
    json_t *rps = json_object_get(e, "num_reqs_per_sec");
    cr_expect_eq(json_integer_value(json_object_get(rps, "1700000001")), 1);
    cr_expect_eq(json_integer_value(json_object_get(rps, "1700000002")), 1);
    json_t *fps = json_object_get(e, "num_fail_per_sec");
    cr_expect_eq(json_object_size(fps), 1);
    cr_expect_eq(json_integer_value(json_object_get(fps, "1700000002")), 1);
    cr_expect_float_eq(json_number_value(json_object_get(e, "start_time")), T0, 1e-6);
    cr_expect_float_eq(json_number_value(json_object_get(e, "last_request_timestamp")), T0 + 2.5,
                       1e-6);
    json_decref(e);
    ccd_stats_free(s);
}

Test(locust_json, empty_entries_are_left_out_and_empty_times_are_null)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    json_t *total = ccd_locust_json_entry(ccd_stats_total(s));
    cr_expect(json_is_null(json_object_get(total, "min_response_time")));
    cr_expect(json_is_null(json_object_get(total, "last_request_timestamp")));
    json_decref(total);
    rec(s, "/b", 1000, NULL, T0 + 1);
    rec(s, "/a", 1000, NULL, T0 + 1);
    json_t *a = ccd_locust_json_entries(s);
    cr_assert_eq(json_array_size(a), 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "name")), "/a");
    json_decref(a);
    ccd_stats_free(s);
}

Test(locust_json, written_as_an_indented_array)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "/a", 1000, NULL, T0 + 1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(ccd_locust_json_write(f, s), 0);
    fclose(f);
    cr_expect(strncmp(text, "[\n    {\n        \"name\": \"/a\",\n", 30) == 0, "%s", text);
    cr_expect_eq(text[len - 1], '\n');
    free(text);
    ccd_stats_free(s);
}
