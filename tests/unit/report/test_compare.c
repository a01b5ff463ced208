/* Tests of the run comparison: both document forms, tolerances, the regression rules. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/compare.h"

static const char *write_tmp(const char *text)
{
    static char paths[8][64];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 64, "/tmp/ccd-compare-XXXXXX");
    int fd = mkstemp(p);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return p;
}

/* A run document with one entry /x and its total. */
static const char *doc(double rps, double fails, double p95)
{
    static char buf[1024];
    const char *entry =
        "{\"method\":\"%s\",\"name\":\"%s\",\"num_requests\":100,\"num_failures\":%g,"
        "\"total_rps\":%g,\"response_time_percentiles\":{\"0.5\":10,\"0.95\":%g,"
        "\"0.99\":30}}";
    char e[300], t[300];
    snprintf(e, sizeof(e), entry, "GET", "/x", fails, rps, p95);
    snprintf(t, sizeof(t), entry, "", "Aggregated", fails, rps, p95);
    snprintf(buf, sizeof(buf), "{\"stats\":[%s],\"total\":%s}", e, t);
    return write_tmp(buf);
}

static int rows_of(const char *a, const char *b, const ccd_compare_tolerance_t *t,
                   ccd_compare_row_t **rows, size_t *n, ccd_compare_run_t *ra,
                   ccd_compare_run_t *rb)
{
    char err[256];
    cr_assert_eq(ccd_compare_load(ra, a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ccd_compare_load(rb, b, err, sizeof(err)), 0, "%s", err);
    return ccd_compare_rows(ra, rb, t, rows, n);
}

Test(compare, tolerance_rules)
{
    ccd_compare_tolerance_t t;
    ccd_compare_tolerance_default(&t);
    ccd_compare_run_t a, b;
    ccd_compare_row_t *rows;
    size_t n;
    /* p95 +10 % exactly is within the limit; rps -11 % is not; failures +2 points are not. */
    int r = rows_of(doc(100, 0, 20), doc(89, 2, 22), &t, &rows, &n, &a, &b);
    cr_assert_eq(n, 2);
    cr_expect_eq(r, 2);
    cr_expect(rows[0].regressed[CCD_CMP_RPS]);
    cr_expect(rows[0].regressed[CCD_CMP_FAIL_RATIO]);
    cr_expect_not(rows[0].regressed[CCD_CMP_P95]);
    cr_expect_float_eq(rows[0].change[CCD_CMP_P95], 10, 1e-9);
    cr_expect_float_eq(rows[0].change[CCD_CMP_FAIL_RATIO], 2, 1e-9);
    free(rows);
    ccd_compare_run_free(&a);
    ccd_compare_run_free(&b);
}

Test(compare, per_metric_tolerance)
{
    ccd_compare_tolerance_t t;
    char err[256];
    ccd_compare_tolerance_default(&t);
    cr_assert_eq(ccd_compare_tolerance_parse(&t, "20%", err, sizeof(err)), 0);
    cr_assert_eq(ccd_compare_tolerance_parse(&t, "p95=0.05", err, sizeof(err)), 0);
    cr_expect_float_eq(t.tol[CCD_CMP_RPS], 0.2, 1e-12);
    cr_expect_float_eq(t.tol[CCD_CMP_P95], 0.05, 1e-12);
    cr_expect_float_eq(t.tol[CCD_CMP_FAIL_RATIO], 0.01, 1e-12);
    cr_expect_neq(ccd_compare_tolerance_parse(&t, "p97=1%", err, sizeof(err)), 0);
    cr_expect_neq(ccd_compare_tolerance_parse(&t, "ten", err, sizeof(err)), 0);
    cr_expect(strstr(err, "--max-regression"), "%s", err);
}

/* Locust's array: percentiles from its buckets as Locust computes them, totals summed. */
Test(compare, locust_array_form)
{
    const char *a = write_tmp(
        "[{\"name\":\"/x\",\"method\":\"GET\",\"start_time\":100,\"last_request_timestamp\":110,"
        "\"num_requests\":10,\"num_failures\":1,\"response_times\":{\"10\":9,\"200\":1}},"
        "{\"name\":\"/y\",\"method\":\"GET\",\"start_time\":100,\"last_request_timestamp\":120,"
        "\"num_requests\":10,\"num_failures\":0,\"response_times\":{\"20\":10}}]");
    ccd_compare_run_t run;
    char err[256];
    cr_assert_eq(ccd_compare_load(&run, a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(run.n, 3);
    cr_expect_float_eq(run.v[0].rps, 1.0, 1e-9);
    cr_expect_float_eq(run.v[0].fail_ratio, 0.1, 1e-9);
    cr_expect_float_eq(run.v[0].p[0], 10, 1e-9);
    cr_expect_float_eq(run.v[0].p[1], 200, 1e-9);
    cr_expect_str_eq(run.v[2].name, "Aggregated");
    cr_expect_float_eq(run.v[2].rps, 1.0, 1e-9); /* 20 requests over 100..120 */
    cr_expect_float_eq(run.v[2].p[0], 20, 1e-9);
    ccd_compare_run_free(&run);
}

Test(compare, bad_documents_name_the_file)
{
    ccd_compare_run_t run;
    char err[256];
    const char *p = write_tmp("{\"stats\": []}");
    cr_expect_neq(ccd_compare_load(&run, p, err, sizeof(err)), 0);
    cr_expect(strstr(err, p) && strstr(err, "not a cicada run document"), "%s", err);
    ccd_compare_run_free(&run);
    p = write_tmp("[{\"name\": \"/x\"}]");
    cr_expect_neq(ccd_compare_load(&run, p, err, sizeof(err)), 0);
    cr_expect(strstr(err, "entry 0 lacks"), "%s", err);
    ccd_compare_run_free(&run);
}
