/* Tests of the HTML report: the data it carries, the embedded uPlot, no external URL, no way
 * for a request name to end the data's script element, the file name tags. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/html.h"

#define T0        1700000000.0
#define HOST      "https://shop.example.test:8443"
#define DATA_OPEN "<script type=\"application/json\" id=\"ccd-data\">"
#define EVIL      "/x</script><script>alert(1)</script><!--"

static void rec(ccd_stats_t *s, const char *method, const char *name, int64_t us, const char *error,
                double now)
{
    cr_assert_eq(ccd_stats_record(s, method, strlen(method), name, strlen(name), us, 10, error,
                                  error ? strlen(error) : 0, now),
                 0);
}

/* A 30 s run: GET /items at 20 ms, POST /cart at 80 ms (every 10th failing), a request with a
 * hostile name, an exception; a history tick each second with a growing user count. */
static void sample(ccd_stats_t **sp, ccd_history_t **hp)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    for (int i = 0; i < 30; i++) {
        for (int k = 0; k < 10; k++) {
            rec(s, "GET", "/items", 20000, NULL, T0 + i + k * 0.05);
            rec(s, "POST", "/cart", 80000, k ? NULL : "HTTP 503 <b>busy</b>", T0 + i + k * 0.05);
        }
        cr_assert_eq(ccd_history_tick(h, s, (unsigned)(i < 10 ? i + 1 : 10), T0 + i + 0.9), 0);
    }
    rec(s, "GET", EVIL, 1000, NULL, T0 + 29.5);
    cr_assert_eq(ccd_stats_exception(s, "attempt to call a nil value",
                                     "stack traceback:\n\t"
                                     "shop.lua:12: in task"),
                 0);
    *sp = s;
    *hp = h;
}

static const ccd_html_meta_t META = {.start_time = T0,
                                     .end_time = T0 + 30,
                                     .host = HOST,
                                     .scenario = "shop.lua",
                                     .users = 10,
                                     .spawn_rate = 1,
                                     .run_time = 30};

static char *render(const ccd_stats_t *s, const ccd_history_t *h)
{
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cr_assert_eq(ccd_html_render(f, &META, s, h), 0);
    fclose(f);
    return text;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The JSON document inside the data script element, parsed. */
static json_t *data_of(const char *html)
{
    const char *start = strstr(html, DATA_OPEN);
    cr_assert_not_null(start);
    start += strlen(DATA_OPEN);
    const char *end = strstr(start, "</script>");
    cr_assert_not_null(end);
    json_error_t e;
    json_t *doc = json_loadb(start, (size_t)(end - start), 0, &e);
    cr_assert_not_null(doc, "data is not JSON: %s", e.text);
    return doc;
}

static json_t *entry(json_t *doc, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "stats"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
            return e;
    }
    cr_assert_fail("no entry %s", name);
    return NULL;
}

Test(html, carries_the_data)
{
    ccd_stats_t *s;
    ccd_history_t *h;
    sample(&s, &h);
    char *html = render(s, h);
    json_t *doc = data_of(html);
    json_t *meta = json_object_get(doc, "meta");
    cr_expect_str_eq(json_string_value(json_object_get(meta, "host")), HOST);
    cr_expect_str_eq(json_string_value(json_object_get(meta, "scenario")), "shop.lua");
    cr_expect_eq(json_integer_value(json_object_get(meta, "users")), 10);
    cr_expect_float_eq(json_real_value(json_object_get(meta, "duration")), 30.0, 1e-9);
    json_t *cart = entry(doc, "/cart");
    cr_expect_str_eq(json_string_value(json_object_get(cart, "method")), "POST");
    cr_expect_eq(json_integer_value(json_object_get(cart, "num_requests")), 300);
    cr_expect_eq(json_integer_value(json_object_get(cart, "num_failures")), 30);
    cr_expect_float_eq(json_real_value(json_object_get(cart, "avg")), 80.0, 1e-9);
    json_t *pct = json_object_get(cart, "percentiles");
    cr_expect_eq(json_array_size(pct), 11);
    cr_expect_float_eq(json_real_value(json_array_get(pct, 5)), 80.0, 0.1);
    json_t *total = entry(doc, "Aggregated");
    cr_expect_eq(json_integer_value(json_object_get(total, "num_requests")), 601);
    cr_expect_eq(json_array_size(json_object_get(doc, "percentile_labels")), 11);
    json_t *err = json_array_get(json_object_get(doc, "errors"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(err, "error")), "HTTP 503 <b>busy</b>");
    cr_expect_eq(json_integer_value(json_object_get(err, "occurrences")), 30);
    json_t *x = json_array_get(json_object_get(doc, "exceptions"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(x, "message")),
                     "attempt to call a nil value");
    /* The history as uPlot columns: one value a second. */
    json_t *hist = json_object_get(doc, "history");
    cr_expect_eq(json_array_size(json_object_get(hist, "time")), 30);
    cr_expect_float_eq(json_real_value(json_array_get(json_object_get(hist, "time"), 0)), T0, 1e-9);
    cr_expect_float_eq(json_real_value(json_array_get(json_object_get(hist, "users"), 4)), 5.0,
                       1e-9);
    cr_expect_float_eq(json_real_value(json_array_get(json_object_get(hist, "rps"), 29)), 20.0,
                       1e-9);
    cr_expect_float_eq(json_real_value(json_array_get(json_object_get(hist, "fail_per_sec"), 29)),
                       1.0, 1e-9);
    cr_expect_float_eq(json_real_value(json_array_get(json_object_get(hist, "p95"), 29)), 80.0,
                       0.1);
    cr_expect_float_eq(json_real_value(json_array_get(json_object_get(hist, "p50"), 29)), 20.0,
                       0.1);
    json_decref(doc);
    free(html);
    ccd_history_free(h);
    ccd_stats_free(s);
}

Test(html, embeds_uplot)
{
    ccd_stats_t *s;
    ccd_history_t *h;
    sample(&s, &h);
    char *html = render(s, h);
    cr_expect_not_null(strstr(html, "var uPlot="), "uPlot's JS is not embedded");
    cr_expect_not_null(strstr(html, ".uplot"), "uPlot's CSS is not embedded");
    cr_expect_not_null(strstr(html, "new uPlot("), "the charts are not drawn");
    cr_expect_null(strstr(html, "<!--CCD:"), "a template marker was left");
    cr_expect_null(strstr(html, "<script src"), "the report loads a script");
    cr_expect_null(strstr(html, "<link"), "the report loads a stylesheet");
    cr_expect(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    cr_expect_not_null(strstr(html, "</html>\n"));
    free(html);
    ccd_history_free(h);
    ccd_stats_free(s);
}

/* No external URL anywhere but in the data the user supplied (the host). */
Test(html, names_no_external_url)
{
    ccd_stats_t *s;
    ccd_history_t *h;
    sample(&s, &h);
    char *html = render(s, h);
    cr_expect_eq(count(html, HOST), 1);
    for (char *p = html; (p = strstr(p, HOST));)
        memset(p, '_', strlen(HOST));
    cr_expect_null(strstr(html, "http://"), "found %.60s", strstr(html, "http://"));
    cr_expect_null(strstr(html, "https://"), "found %.60s", strstr(html, "https://"));
    cr_expect_null(strstr(html, "//cdn"));
    free(html);
    ccd_history_free(h);
    ccd_stats_free(s);
}

/* A request name cannot close the data element or open a comment in it; read back as JSON it
 * is the same name. */
Test(html, data_cannot_escape_its_script_element)
{
    ccd_stats_t *s;
    ccd_history_t *h;
    sample(&s, &h);
    char *html = render(s, h);
    cr_expect_null(strstr(html, "<script>alert(1)"));
    cr_expect_null(strstr(html, "<b>busy"));
    const char *data = strstr(html, DATA_OPEN) + strlen(DATA_OPEN);
    cr_expect_null(memchr(data, '<', (size_t)(strstr(data, "</script>") - data)));
    json_t *doc = data_of(html);
    entry(doc, EVIL);
    json_decref(doc);
    free(html);
    ccd_history_free(h);
    ccd_stats_free(s);
}

Test(html, without_history)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    char *html = render(s, NULL);
    json_t *doc = data_of(html);
    cr_expect_eq(json_array_size(json_object_get(json_object_get(doc, "history"), "time")), 0);
    cr_expect_eq(json_array_size(json_object_get(doc, "stats")), 1);
    json_decref(doc);
    free(html);
    ccd_stats_free(s);
}

Test(html, writes_a_complete_file)
{
    ccd_stats_t *s;
    ccd_history_t *h;
    sample(&s, &h);
    char dir[] = "/tmp/ccd_html_XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/report.html", dir);
    cr_assert_eq(ccd_html_write(path, &META, s, h), 0);
    char *expected = render(s, h);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char *got = calloc(1, strlen(expected) + 2);
    size_t n = fread(got, 1, strlen(expected) + 1, f);
    fclose(f);
    cr_expect_eq(n, strlen(expected));
    cr_expect_str_eq(got, expected);
    cr_expect_lt(ccd_html_write("/nonexistent-dir/r.html", &META, s, h), 0);
    free(got);
    free(expected);
    unlink(path);
    cr_expect_eq(rmdir(dir), 0, "temporary file left behind");
    ccd_history_free(h);
    ccd_stats_free(s);
}

Test(html, expands_locust_tags)
{
    char *name;
    cr_assert_eq(ccd_html_expand_name("report_{u}_{r}_{t}.html", 100, 10.5, 90, &name), 0);
    cr_expect_str_eq(name, "report_100_10_90.html");
    free(name);
    cr_assert_eq(ccd_html_expand_name("{u}{u}-{t}-{x}.html", 7, 1, 0, &name), 0);
    cr_expect_str_eq(name, "77-{t}-{x}.html");
    free(name);
    cr_assert_eq(ccd_html_expand_name("plain.html", 1, 1, 1, &name), 0);
    cr_expect_str_eq(name, "plain.html");
    free(name);
}
