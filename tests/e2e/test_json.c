/* The --json report: one document, every field, consistent numbers, accurate latencies. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "harness.h"

TestSuite(json, .fini = h_cleanup, .timeout = 60);

static const char *const percentiles[] = {"0.5",  "0.66", "0.75",  "0.8",    "0.9", "0.95",
                                          "0.98", "0.99", "0.999", "0.9999", "1.0"};

static const char *const entry_fields[] = {
    "num_requests",      "num_failures",       "min_response_time",
    "max_response_time", "avg_response_time",  "median_response_time",
    "total_rps",         "total_fail_per_sec", "avg_content_length"};

static const char *mixed = "local cicada = require \"cicada\"\n"
                           "local U = cicada.user(\"Mixed\", {\n"
                           "  wait_time = cicada.constant(0.01),\n"
                           "  tasks = { hello = 1, bytes = 1, chunked = 1, slow = 1 },\n"
                           "})\n"
                           "function U:hello() self.client:get(\"/hello\") end\n"
                           "function U:bytes() self.client:get(\"/bytes/1000\") end\n"
                           "function U:chunked() self.client:get(\"/chunked/500\") end\n"
                           "function U:slow() self.client:get(\"/delay/5\") end\n";

/* Every field is present with its type, and the numbers are ordered as statistics must be.
 * The total has no method of its own (Locust gives its Aggregated row none): any or null. */
static void check_entry(json_t *e, bool total)
{
    const char *name = json_string_value(json_object_get(e, "name"));
    json_t *method = json_object_get(e, "method");
    cr_assert(name, "entry without a name");
    cr_assert(json_is_string(method) || (total && (!method || json_is_null(method))),
              "%s: no method", name);
    for (size_t i = 0; i < sizeof entry_fields / sizeof *entry_fields; i++)
        cr_expect(!isnan(h_num(e, entry_fields[i])), "%s: no number %s", name, entry_fields[i]);
    double prev = h_num(e, "min_response_time");
    for (size_t i = 0; i < sizeof percentiles / sizeof *percentiles; i++) {
        double p = h_pct(e, percentiles[i]);
        cr_expect(p >= prev, "%s: percentile %s = %g below the previous %g", name, percentiles[i],
                  p, prev);
        prev = isnan(p) ? prev : p;
    }
    double min = h_num(e, "min_response_time"), max = h_num(e, "max_response_time");
    double med = h_num(e, "median_response_time"), p95 = h_pct(e, "0.95");
    cr_expect(min <= med && med <= p95 && p95 <= max, "%s: min %g median %g p95 %g max %g", name,
              min, med, p95, max);
    double avg = h_num(e, "avg_response_time");
    cr_expect(min <= avg && avg <= max, "%s: avg %g outside [%g, %g]", name, avg, min, max);
    cr_expect(min > 0, "%s: min response time %g", name, min);
}

static void check_sums(json_t *doc)
{
    size_t i;
    json_t *e;
    long requests = 0, failures = 0;
    json_array_foreach(json_object_get(doc, "stats"), i, e)
    {
        check_entry(e, false);
        requests += (long)h_num(e, "num_requests");
        failures += (long)h_num(e, "num_failures");
    }
    check_entry(json_object_get(doc, "total"), true);
    cr_expect_eq(h_total_requests(doc), requests, "total is not the sum of the entries");
    cr_expect_eq(h_total_failures(doc), failures);
}

Test(json, report_is_one_complete_consistent_document)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, mixed, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u", "5",
                          "-r", "100", "-t", "2s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    json_t *doc = r.json;
    cr_assert(json_is_object(doc));
    cr_expect(json_is_array(json_object_get(doc, "stats")));
    cr_expect(json_is_array(json_object_get(doc, "errors")));
    cr_expect(json_is_array(json_object_get(doc, "exceptions")));
    cr_expect(json_is_object(json_object_get(doc, "total")));
    cr_expect_eq(json_array_size(json_object_get(doc, "stats")), 4);
    cr_expect_eq(json_array_size(json_object_get(doc, "errors")), 0);
    cr_expect_eq(json_integer_value(json_object_get(doc, "user_count")), 5);
    check_sums(doc);
    cr_expect_eq(h_num(h_entry(doc, "GET", "/hello"), "avg_content_length"), strlen(H_HELLO));
    cr_expect_eq(h_num(h_entry(doc, "GET", "/bytes/1000"), "avg_content_length"), 1000);
    cr_expect_eq(h_num(h_entry(doc, "GET", "/chunked/500"), "avg_content_length"), 500);
    double d = h_num(doc, "duration_s"), rps = h_num(json_object_get(doc, "total"), "total_rps");
    cr_expect(d >= 1.8 && d <= 3.5, "duration_s %g for -t 2s", d);
    double want = h_total_requests(doc) / d;
    cr_expect(rps > want * 0.75 && rps < want * 1.25, "total_rps %g, requests/duration %g", rps,
              want);
    h_run_free(&r);
}

static const char *delayed = "local cicada = require \"cicada\"\n"
                             "local U = cicada.user(\"Patient\", {\n"
                             "  wait_time = cicada.constant(0),\n"
                             "  tasks = { slow = 1 },\n"
                             "})\n"
                             "function U:slow() self.client:get(\"/delay/100\") end\n";

/* Latency is measured from the request write to the last byte: a 100 ms delay reads as 100 ms
 * plus loopback overhead, never less. */
Test(json, latency_of_a_100ms_delay)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 2), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, delayed, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u",
                          "5", "-r", "100", "-t", "3s", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    json_t *e = h_entry(r.json, "GET", "/delay/100");
    cr_assert_geq(h_num(e, "num_requests"), 100, "5 users x 3 s at ~10 requests/s each");
    double med = h_num(e, "median_response_time"), p95 = h_pct(e, "0.95");
    cr_expect(med >= 100 && med <= 130, "median %g ms", med);
    cr_expect(p95 >= 100 && p95 <= 130, "p95 %g ms", p95);
    cr_expect_geq(h_num(e, "min_response_time"), 100);
    h_run_free(&r);
}
