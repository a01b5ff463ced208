/* Tests of the reports: JSON read back with jansson, console tables' rows and layout. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

#define T0 1700000000.0

/* Output captured in memory; free `text` after use. */
typedef struct {
    FILE *f;
    char *text;
    size_t len;
} capture_t;

static void cap_open(capture_t *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    cr_assert_not_null(c->f);
}

static char *cap_close(capture_t *c)
{
    fclose(c->f);
    return c->text;
}

static void rec(ccd_stats_t *s, const char *method, const char *name, int64_t us, uint64_t len,
                const char *error, double now)
{
    cr_assert_eq(ccd_stats_record(s, method, strlen(method), name, strlen(name), us, len, error,
                                  error ? strlen(error) : 0, now),
                 0);
}

/* 100 GETs of / at 1..100 ms (every 10th fails), 10 POSTs of /login at 200 ms. */
static ccd_stats_t *sample_stats(void)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    for (int i = 1; i <= 100; i++)
        rec(s, "GET", "/", i * 1000, 1000, i % 10 ? NULL : "HTTP 500", T0 + i * 0.1);
    for (int i = 0; i < 10; i++)
        rec(s, "POST", "/login", 200000, 10, NULL, T0 + 5 + i * 0.5);
    ccd_stats_exception(s, "attempt to index nil", "stack traceback:\n\tscenario.lua:3");
    return s;
}

static const json_t *stats_entry(const json_t *doc, const char *method, const char *name)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(doc, "stats"), i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "method")), method) &&
            !strcmp(json_string_value(json_object_get(e, "name")), name))
            return e;
    }
    return NULL;
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

static void assert_entry_consistent(const json_t *e)
{
    static const char *keys[] = {"0.5",  "0.66", "0.75",  "0.8",    "0.9", "0.95",
                                 "0.98", "0.99", "0.999", "0.9999", "1.0"};
    const json_t *pct = json_object_get(e, "response_time_percentiles");
    cr_assert(json_is_object(pct));
    cr_assert_eq(json_object_size(pct), 11);
    double prev = num(e, "min_response_time");
    for (size_t i = 0; i < 11; i++) {
        double p = num(pct, keys[i]);
        cr_assert_geq(p, prev, "percentile %s below the previous one", keys[i]);
        prev = p;
    }
    cr_assert_float_eq(num(pct, "1.0"), num(e, "max_response_time"), 1e-9);
    cr_assert_float_eq(num(pct, "0.5"), num(e, "median_response_time"), 1e-9);
    cr_assert_leq(num(e, "min_response_time"), num(e, "median_response_time"));
    cr_assert_leq(num(e, "median_response_time"), num(pct, "0.95"));
    cr_assert_leq(num(pct, "0.95"), num(e, "max_response_time"));
}

Test(report, json_parses_back_with_the_numbers)
{
    ccd_stats_t *s = sample_stats();
    capture_t c;
    cap_open(&c);
    cr_assert_eq(ccd_report_json(c.f, s, NULL, 25, 12.5), 0);
    char *text = cap_close(&c);
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    cr_assert_not_null(doc, "JSON does not parse: %s", err.text);

    cr_assert_eq(json_integer_value(json_object_get(doc, "user_count")), 25);
    cr_assert_float_eq(num(doc, "duration_s"), 12.5, 1e-9);
    cr_assert_eq(json_array_size(json_object_get(doc, "stats")), 2);

    const json_t *get = stats_entry(doc, "GET", "/");
    cr_assert_not_null(get);
    cr_assert_eq(json_integer_value(json_object_get(get, "num_requests")), 100);
    cr_assert_eq(json_integer_value(json_object_get(get, "num_failures")), 10);
    cr_assert_float_eq(num(get, "min_response_time"), 1.0, 1e-9);
    cr_assert_float_eq(num(get, "max_response_time"), 100.0, 1e-9);
    cr_assert_float_eq(num(get, "avg_response_time"), 50.5, 1e-9);
    cr_assert_float_eq(num(get, "median_response_time"), 50.0, 50.0 / 2048);
    cr_assert_float_eq(num(json_object_get(get, "response_time_percentiles"), "0.95"), 95.0,
                       95.0 / 2048);
    cr_assert_float_eq(num(get, "avg_content_length"), 1000.0, 1e-9);
    /* 100 requests over [T0, T0 + 10]. */
    cr_assert_float_eq(num(get, "total_rps"), 10.0, 1e-6);
    cr_assert_float_eq(num(get, "total_fail_per_sec"), 1.0, 1e-6);
    assert_entry_consistent(get);

    const json_t *login = stats_entry(doc, "POST", "/login");
    cr_assert_not_null(login);
    cr_assert_float_eq(num(login, "median_response_time"), 200.0, 1e-9);
    assert_entry_consistent(login);

    const json_t *total = json_object_get(doc, "total");
    cr_assert_str_eq(json_string_value(json_object_get(total, "name")), "Aggregated");
    cr_assert_eq(json_integer_value(json_object_get(total, "num_requests")), 110);
    cr_assert_float_eq(num(total, "max_response_time"), 200.0, 1e-9);
    assert_entry_consistent(total);

    const json_t *errors = json_object_get(doc, "errors");
    cr_assert_eq(json_array_size(errors), 1);
    const json_t *e0 = json_array_get(errors, 0);
    cr_assert_str_eq(json_string_value(json_object_get(e0, "method")), "GET");
    cr_assert_str_eq(json_string_value(json_object_get(e0, "name")), "/");
    cr_assert_str_eq(json_string_value(json_object_get(e0, "error")), "HTTP 500");
    cr_assert_eq(json_integer_value(json_object_get(e0, "occurrences")), 10);

    const json_t *x0 = json_array_get(json_object_get(doc, "exceptions"), 0);
    cr_assert_eq(json_integer_value(json_object_get(x0, "count")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(x0, "message")), "attempt to index nil");
    cr_assert_str_eq(json_string_value(json_object_get(x0, "traceback")),
                     "stack traceback:\n\tscenario.lua:3");
    json_decref(doc);
    free(text);
    ccd_stats_free(s);
}

Test(report, json_is_one_document)
{
    ccd_stats_t *s = sample_stats();
    capture_t c;
    cap_open(&c);
    cr_assert_eq(ccd_report_json(c.f, s, NULL, 1, 1), 0);
    char *text = cap_close(&c);
    /* json_loads without JSON_DISABLE_EOF_CHECK rejects anything after the document. */
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    cr_assert_not_null(doc, "%s", err.text);
    cr_assert_eq(text[strlen(text) - 1], '\n');
    json_decref(doc);
    free(text);
    ccd_stats_free(s);
}

Test(report, json_empty_stats)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    capture_t c;
    cap_open(&c);
    cr_assert_eq(ccd_report_json(c.f, s, NULL, 0, 0), 0);
    char *text = cap_close(&c);
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert_not_null(doc);
    cr_assert_eq(json_array_size(json_object_get(doc, "stats")), 0);
    cr_assert_eq(json_array_size(json_object_get(doc, "errors")), 0);
    cr_assert_eq(json_array_size(json_object_get(doc, "exceptions")), 0);
    const json_t *total = json_object_get(doc, "total");
    cr_assert_float_eq(num(total, "min_response_time"), 0, 1e-12);
    cr_assert_float_eq(num(total, "max_response_time"), 0, 1e-12);
    cr_assert_float_eq(num(json_object_get(total, "response_time_percentiles"), "0.5"), 0, 1e-12);
    json_decref(doc);
    free(text);
    ccd_stats_free(s);
}

/* The line of text that starts with `prefix`, copied into buf; NULL if none. */
static const char *line_starting(const char *text, const char *prefix, char *buf, size_t size)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            size_t n = strcspn(p, "\n");
            snprintf(buf, size, "%.*s", (int)n, p);
            return buf;
        }
    }
    return NULL;
}

Test(report, table_rows)
{
    ccd_stats_t *s = sample_stats();
    capture_t c;
    cap_open(&c);
    ccd_report_table_final(c.f, s);
    char *text = cap_close(&c);
    char buf[512], want[512];

    cr_assert_not_null(line_starting(text, "Type     Name", buf, sizeof(buf)), "%s", text);
    cr_assert(strstr(buf, "# reqs      # fails |    Avg     Min     Max    Med |   req/s  "
                          "failures/s"),
              "header: [%s]", buf);

    /* Three significant digits: avg 50.5, min 1.00, max 100, median 50.0; 10 req/s, 1 failure/s. */
    cr_assert_not_null(line_starting(text, "GET      /", buf, sizeof(buf)), "%s", text);
    snprintf(want, sizeof(want), "%-8s %-76s %7d %12s |%7s %7s %7s%7s | %7.2f %11.2f", "GET ", "/",
             100, "10(10.00%)", "50.5", "1.00", "100", "50.0", 10.0, 1.0);
    cr_assert_str_eq(buf, want);

    cr_assert_not_null(line_starting(text, "POST     /login", buf, sizeof(buf)), "%s", text);
    cr_assert(strstr(buf, "     10     0(0.00%) |    200     200     200    200 |"), "[%s]", buf);

    cr_assert_not_null(line_starting(text, "         Aggregated", buf, sizeof(buf)), "%s", text);
    cr_assert(strstr(buf, "    110    10(9.09%) |"), "[%s]", buf);

    /* Rows in order: GET / before POST /login, then the separator and the aggregate. */
    const char *get = strstr(text, "GET      /"), *post = strstr(text, "POST     /login");
    cr_assert_lt(get, post);
    cr_assert_lt(post, strstr(text, "Aggregated"));
    cr_assert_not_null(strstr(text, "--------|----"));
    free(text);
    ccd_stats_free(s);
}

Test(report, table_current_rates)
{
    /* 4 requests in each of the seconds 0..19: the current rate is 4/s. */
    ccd_stats_t *s = ccd_stats_new(T0);
    for (int k = 0; k < 20; k++)
        for (int j = 0; j < 4; j++)
            rec(s, "GET", "/", 5000, 0, j ? NULL : "x", T0 + k + j * 0.2);
    capture_t c;
    cap_open(&c);
    ccd_report_table(c.f, s, ccd_stats_total(s)->last_request_timestamp);
    char *text = cap_close(&c);
    char buf[512];
    cr_assert_not_null(line_starting(text, "GET      /", buf, sizeof(buf)), "%s", text);
    cr_assert(strstr(buf, "|    4.00        1.00"), "[%s]", buf);
    free(text);
    ccd_stats_free(s);
}

Test(report, long_names_shortened_in_the_middle)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    char name[201];
    memset(name, 'a', 200);
    name[0] = '/';
    memcpy(name + 190, "0123456789", 10);
    name[200] = '\0';
    rec(s, "GET", name, 1000, 0, NULL, T0 + 1);
    capture_t c;
    cap_open(&c);
    ccd_report_table_final(c.f, s);
    char *text = cap_close(&c);
    char buf[512];
    cr_assert_not_null(line_starting(text, "GET      /aaa", buf, sizeof(buf)), "%s", text);
    cr_assert(strstr(buf, "...a"), "[%s]", buf);
    /* The tail survives and the columns line up with the header. */
    cr_assert(strstr(buf, "0123456789       1 "), "[%s]", buf);
    char hdr[512];
    cr_assert_not_null(line_starting(text, "Type", hdr, sizeof(hdr)));
    cr_assert_eq(strlen(buf), strlen(hdr));
    free(text);
    ccd_stats_free(s);
}

Test(report, percentile_table)
{
    ccd_stats_t *s = sample_stats();
    capture_t c;
    cap_open(&c);
    ccd_report_percentiles(c.f, s);
    char *text = cap_close(&c);
    char buf[512], want[512];
    const char *title = "Response time percentiles (ms, exact to 3 significant digits)\n";
    cr_assert(strncmp(text, title, strlen(title)) == 0, "%s", text);
    cr_assert_not_null(line_starting(text, "Type", buf, sizeof(buf)));
    cr_assert(strstr(buf, "     50%    66%    75%    80%    90%    95%    98%    99%  99.9% "
                          "99.99%   100% # reqs"),
              "[%s]", buf);
    cr_assert_not_null(line_starting(text, "GET      /", buf, sizeof(buf)));
    snprintf(want, sizeof(want), "%-8s %-80s %8s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6d",
             "GET", "/", "50.0", "66.0", "75.0", "80.0", "90.0", "95.0", "98.0", "99.0", "100",
             "100", "100", 100);
    cr_assert_str_eq(buf, want);
    cr_assert_not_null(line_starting(text, "         Aggregated", buf, sizeof(buf)));
    cr_assert(strstr(buf, "   200    110"), "[%s]", buf);
    cr_assert_not_null(strstr(text, "--------|--------"));
    free(text);
    ccd_stats_free(s);
}

Test(report, percentile_table_skips_entries_without_requests)
{
    ccd_stats_t *s = sample_stats();
    ccd_stats_reset(s, T0 + 100);
    rec(s, "GET", "/", 3000, 0, NULL, T0 + 101);
    capture_t c;
    cap_open(&c);
    ccd_report_percentiles(c.f, s);
    char *text = cap_close(&c);
    cr_assert_null(strstr(text, "/login"), "%s", text);
    cr_assert_not_null(strstr(text, "GET      /"));
    free(text);
    ccd_stats_free(s);
}

Test(report, error_report)
{
    ccd_stats_t *s = sample_stats();
    capture_t c;
    cap_open(&c);
    ccd_report_errors(c.f, s);
    char *text = cap_close(&c);
    char buf[512];
    cr_assert(strncmp(text, "Error report\n# occurrences      Error", 36) == 0, "%s", text);
    cr_assert_not_null(line_starting(text, "10 ", buf, sizeof(buf)), "%s", text);
    cr_assert_str_eq(buf, "10                 GET /: HTTP 500");
    free(text);
    ccd_stats_free(s);
}

Test(report, nothing_without_errors_or_exceptions)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/", 1000, 0, NULL, T0);
    capture_t c;
    cap_open(&c);
    ccd_report_errors(c.f, s);
    ccd_report_exceptions(c.f, s);
    char *text = cap_close(&c);
    cr_assert_eq(strlen(text), 0, "[%s]", text);
    free(text);
    ccd_stats_free(s);
}

Test(report, exception_report)
{
    ccd_stats_t *s = sample_stats();
    ccd_stats_exception(s, "attempt to index nil", "stack traceback:\n\tscenario.lua:3");
    capture_t c;
    cap_open(&c);
    ccd_report_exceptions(c.f, s);
    char *text = cap_close(&c);
    char buf[512];
    cr_assert(strncmp(text, "Exception report\n", 17) == 0, "%s", text);
    cr_assert_not_null(line_starting(text, "2 ", buf, sizeof(buf)), "%s", text);
    cr_assert_str_eq(buf, "2                  attempt to index nil");
    cr_assert_not_null(strstr(text, "\n                     stack traceback:\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\n                     \tscenario.lua:3\n"), "%s", text);
    free(text);
    ccd_stats_free(s);
}

static void abandon(ccd_stats_t *s, const char *method, const char *name, int times)
{
    for (int i = 0; i < times; i++)
        cr_assert_eq(ccd_stats_abandon(s, method, strlen(method), name, strlen(name)), 0);
}

/* Listed in (name, method) order, with their total; never in "stats" or "total". */
Test(report, json_in_flight_at_stop)
{
    ccd_stats_t *s = sample_stats();
    abandon(s, "GET", "/slow", 3);
    abandon(s, "GET", "/", 1);
    capture_t c;
    cap_open(&c);
    cr_assert_eq(ccd_report_json(c.f, s, NULL, 5, 1), 0);
    char *text = cap_close(&c);
    json_t *doc = json_loads(text, 0, NULL);
    cr_assert_not_null(doc, "%s", text);
    const json_t *f = json_object_get(doc, "in_flight_at_stop");
    cr_assert_eq(json_integer_value(json_object_get(f, "total")), 4);
    const json_t *list = json_object_get(f, "requests");
    cr_assert_eq(json_array_size(list), 2);
    const json_t *first = json_array_get(list, 0), *second = json_array_get(list, 1);
    cr_assert_str_eq(json_string_value(json_object_get(first, "name")), "/");
    cr_assert_eq(json_integer_value(json_object_get(first, "count")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(second, "method")), "GET");
    cr_assert_str_eq(json_string_value(json_object_get(second, "name")), "/slow");
    cr_assert_eq(json_integer_value(json_object_get(second, "count")), 3);
    cr_assert_null(stats_entry(doc, "GET", "/slow"));
    cr_assert_eq(num(stats_entry(doc, "GET", "/"), "num_requests"), 100);
    cr_assert_eq(num(json_object_get(doc, "total"), "num_requests"), 110);
    json_decref(doc);
    free(text);
    ccd_stats_free(s);
}

Test(report, json_in_flight_at_stop_when_none)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    capture_t c;
    cap_open(&c);
    cr_assert_eq(ccd_report_json(c.f, s, NULL, 0, 0), 0);
    char *text = cap_close(&c);
    json_t *doc = json_loads(text, 0, NULL);
    const json_t *f = json_object_get(doc, "in_flight_at_stop");
    cr_assert_eq(json_integer_value(json_object_get(f, "total")), 0);
    cr_assert(json_is_array(json_object_get(f, "requests")));
    cr_assert_eq(json_array_size(json_object_get(f, "requests")), 0);
    json_decref(doc);
    free(text);
    ccd_stats_free(s);
}

Test(report, abandoned_report)
{
    ccd_stats_t *s = sample_stats();
    capture_t c;
    cap_open(&c);
    ccd_report_abandoned(c.f, s);
    abandon(s, "POST", "/upload", 2);
    ccd_report_abandoned(c.f, s);
    char *text = cap_close(&c);
    char buf[512];
    cr_assert(strncmp(text, "Requests in flight at stop (abandoned: not counted", 50) == 0, "%s",
              text);
    cr_assert_not_null(line_starting(text, "2 ", buf, sizeof(buf)), "%s", text);
    cr_assert_str_eq(buf, "2                  POST /upload");
    free(text);
    ccd_stats_free(s);
}
