/* Tests of the test data parser (every RFC 4180 quoting case, BOM, line endings, malformed
 * files with their line), the row cursors and the process-wide registry shared by threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua/dataset.h"
#include "base/error.h"

static ccd_dataset_t *parse(const char *text, bool header)
{
    ccd_dataset_t *ds = NULL;
    ccd_dataset_error_t err = {0};
    int rc = ccd_dataset_parse(text, strlen(text), header, &ds, &err);
    cr_assert_eq(rc, 0, "parse failed at line %zu: %s", err.line, err.msg);
    return ds;
}

/* Parses text that must be malformed; returns the error. */
static ccd_dataset_error_t parse_bad(const char *text, bool header)
{
    ccd_dataset_t *ds = NULL;
    ccd_dataset_error_t err = {0};
    int rc = ccd_dataset_parse(text, strlen(text), header, &ds, &err);
    cr_assert_eq(rc, CCD_EINVAL, "accepted malformed input: %s", text);
    cr_assert_null(ds);
    return err;
}

static void expect_field(const ccd_dataset_t *ds, size_t row, size_t col, const char *want)
{
    size_t len;
    const char *v = ccd_dataset_field(ds, row, col, &len);
    cr_expect(len == strlen(want) && memcmp(v, want, len) == 0,
              "row %zu col %zu: got \"%.*s\", want \"%s\"", row, col, (int)len, v, want);
}

static void expect_name(const ccd_dataset_t *ds, size_t col, const char *want)
{
    size_t len;
    const char *v = ccd_dataset_name(ds, col, &len);
    cr_assert_not_null(v);
    cr_expect(len == strlen(want) && memcmp(v, want, len) == 0, "column %zu: got \"%.*s\"", col,
              (int)len, v);
}

static void expect_shape(const ccd_dataset_t *ds, size_t rows, size_t cols)
{
    cr_expect_eq(ccd_dataset_rows(ds), rows, "rows: %zu", ccd_dataset_rows(ds));
    cr_expect_eq(ccd_dataset_cols(ds), cols, "cols: %zu", ccd_dataset_cols(ds));
}

/* ---- Valid input ------------------------------------------------------------------------- */

Test(dataset_parse, header_names_columns_and_rows_follow)
{
    ccd_dataset_t *ds = parse("username,password\nalice,s3cret\nbob,hunter2\n", true);
    expect_shape(ds, 2, 2);
    expect_name(ds, 0, "username");
    expect_name(ds, 1, "password");
    expect_field(ds, 0, 0, "alice");
    expect_field(ds, 1, 1, "hunter2");
    ccd_dataset_free(ds);
}

Test(dataset_parse, without_header_every_record_is_a_row)
{
    size_t len;
    ccd_dataset_t *ds = parse("1,a\n2,b\n", false);
    expect_shape(ds, 2, 2);
    cr_expect_null(ccd_dataset_name(ds, 0, &len));
    expect_field(ds, 0, 0, "1");
    expect_field(ds, 1, 1, "b");
    ccd_dataset_free(ds);
}

Test(dataset_parse, quoted_fields_hold_commas_quotes_and_line_breaks)
{
    ccd_dataset_t *ds = parse("a,b,c\n"
                              "\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                              "\"\",\"\"\"\",\"crlf\r\nkept\"\n"
                              "\"\"\"start\",\"end\"\"\",\"a\"\"\"\"b\"\n",
                              true);
    expect_shape(ds, 3, 3);
    expect_field(ds, 0, 0, "x, y");
    expect_field(ds, 0, 1, "say \"hi\"");
    expect_field(ds, 0, 2, "two\nlines");
    expect_field(ds, 1, 0, "");
    expect_field(ds, 1, 1, "\"");
    expect_field(ds, 1, 2, "crlf\r\nkept");
    expect_field(ds, 2, 0, "\"start");
    expect_field(ds, 2, 1, "end\"");
    expect_field(ds, 2, 2, "a\"\"b");
    ccd_dataset_free(ds);
}

Test(dataset_parse, crlf_lf_and_lone_cr_end_records)
{
    ccd_dataset_t *ds = parse("h1,h2\r\n1,2\r\n3,4\n5,6\r7,8\r\n", true);
    expect_shape(ds, 4, 2);
    expect_field(ds, 0, 1, "2");
    expect_field(ds, 1, 0, "3");
    expect_field(ds, 2, 1, "6");
    expect_field(ds, 3, 0, "7");
    expect_field(ds, 3, 1, "8");
    ccd_dataset_free(ds);
}

Test(dataset_parse, last_record_may_lack_its_line_break)
{
    ccd_dataset_t *ds = parse("h\n1\n2", true);
    expect_shape(ds, 2, 1);
    expect_field(ds, 1, 0, "2");
    ccd_dataset_free(ds);
    ds = parse("h,g\n1,\"quoted, last\"", true);
    expect_field(ds, 0, 1, "quoted, last");
    ccd_dataset_free(ds);
}

Test(dataset_parse, utf8_bom_is_skipped)
{
    ccd_dataset_t *ds = parse("\xEF\xBB\xBFid,name\r\n1,caf\xC3\xA9\r\n", true);
    expect_shape(ds, 1, 2);
    expect_name(ds, 0, "id");
    expect_field(ds, 0, 1, "caf\xC3\xA9");
    ccd_dataset_free(ds);
    ds = parse("\xEF\xBB\xBF\"quoted\"\n", false);
    expect_field(ds, 0, 0, "quoted");
    ccd_dataset_free(ds);
}

Test(dataset_parse, empty_fields_anywhere)
{
    ccd_dataset_t *ds = parse("a,b,c\n,,\n1,,3\n,2,\n\"\",,\"\"\n4,5,", true);
    expect_shape(ds, 5, 3);
    for (size_t c = 0; c < 3; c++)
        expect_field(ds, 0, c, "");
    expect_field(ds, 1, 1, "");
    expect_field(ds, 2, 0, "");
    expect_field(ds, 2, 2, "");
    expect_field(ds, 3, 0, "");
    expect_field(ds, 4, 2, "");
    ccd_dataset_free(ds);
}

Test(dataset_parse, blank_lines_are_ignored)
{
    ccd_dataset_t *ds = parse("\n\r\nh,g\n\n1,2\r\n\r\n\n3,4\n\n", true);
    expect_shape(ds, 2, 2);
    expect_name(ds, 0, "h");
    expect_field(ds, 1, 1, "4");
    ccd_dataset_free(ds);
}

Test(dataset_parse, a_quote_inside_an_unquoted_field_is_kept)
{
    ccd_dataset_t *ds = parse("size\n5\" screen\n", true);
    expect_field(ds, 0, 0, "5\" screen");
    ccd_dataset_free(ds);
}

Test(dataset_parse, spaces_are_data)
{
    ccd_dataset_t *ds = parse(" a , b \n 1 ,\t2\t\n", true);
    expect_name(ds, 0, " a ");
    expect_field(ds, 0, 1, "\t2\t");
    ccd_dataset_free(ds);
}

Test(dataset_parse, empty_input_and_header_only_have_no_rows)
{
    ccd_dataset_t *ds = parse("", true);
    expect_shape(ds, 0, 0);
    cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_ROUND_ROBIN, 0), -1);
    ccd_dataset_free(ds);
    ds = parse("\xEF\xBB\xBF\r\n", false);
    expect_shape(ds, 0, 0);
    ccd_dataset_free(ds);
    ds = parse("a,b\n", true);
    expect_shape(ds, 0, 2);
    cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_RANDOM, 12345), -1);
    cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_EACH_ONCE, 0), -1);
    ccd_dataset_free(ds);
}

Test(dataset_parse, bytes_are_kept_exactly_nul_included)
{
    static const char text[] = "k\n\"a\0b\"\nc\0d\n";
    ccd_dataset_t *ds = NULL;
    ccd_dataset_error_t err;
    cr_assert_eq(ccd_dataset_parse(text, sizeof(text) - 1, true, &ds, &err), 0);
    size_t len;
    const char *v = ccd_dataset_field(ds, 0, 0, &len);
    cr_expect(len == 3 && memcmp(v, "a\0b", 3) == 0);
    v = ccd_dataset_field(ds, 1, 0, &len);
    cr_expect(len == 3 && memcmp(v, "c\0d", 3) == 0);
    ccd_dataset_free(ds);
}

/* The data set owns its bytes: the input buffer may go away at once. */
Test(dataset_parse, keeps_no_pointer_into_the_input)
{
    char *text = strdup("h\n\"x\"\"y\"\nplain\n");
    ccd_dataset_t *ds = parse(text, true);
    memset(text, '#', strlen(text));
    free(text);
    expect_field(ds, 0, 0, "x\"y");
    expect_field(ds, 1, 0, "plain");
    ccd_dataset_free(ds);
}

Test(dataset_parse, many_rows)
{
    size_t n = 100000, cap = n * 24, off = 0;
    char *text = malloc(cap);
    off += (size_t)snprintf(text, cap, "id,label\n");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(text + off, cap - off, "%zu,\"row, %zu\"\n", i, i);
    ccd_dataset_t *ds = NULL;
    ccd_dataset_error_t err;
    cr_assert_eq(ccd_dataset_parse(text, off, true, &ds, &err), 0);
    free(text);
    expect_shape(ds, n, 2);
    expect_field(ds, n - 1, 0, "99999");
    expect_field(ds, 54321, 1, "row, 54321");
    ccd_dataset_free(ds);
}

/* ---- Malformed input --------------------------------------------------------------------- */

Test(dataset_malformed, unterminated_quote_names_the_line_it_opened_on)
{
    ccd_dataset_error_t e = parse_bad("a,b\n1,2\n3,\"never closed\n4,5\n", true);
    cr_expect_eq(e.line, 3);
    cr_expect(strstr(e.msg, "unterminated") != NULL, "%s", e.msg);
    e = parse_bad("\"", false);
    cr_expect_eq(e.line, 1);
}

Test(dataset_malformed, a_row_with_another_width_than_the_header)
{
    ccd_dataset_error_t e = parse_bad("a,b,c\n1,2,3\n4,5\n", true);
    cr_expect_eq(e.line, 3);
    cr_expect_str_eq(e.msg, "row has 2 fields, the header has 3");
    e = parse_bad("a,b\n1,2,3\n", true);
    cr_expect_eq(e.line, 2);
    cr_expect_str_eq(e.msg, "row has 3 fields, the header has 2");
    e = parse_bad("1,2\n3\n", false);
    cr_expect_str_eq(e.msg, "row has 1 field, the first row has 2");
}

/* Line numbers count physical lines: blank ones, CRLFs and breaks inside quoted fields. */
Test(dataset_malformed, line_numbers_count_every_physical_line)
{
    ccd_dataset_error_t e = parse_bad("\xEF\xBB\xBF"
                                      "a,b\r\n"
                                      "\r\n"
                                      "\"multi\r\nline\",\"x\ny\nz\"\r\n"
                                      "1,2\r\n"
                                      "only\r\n",
                                      true);
    cr_expect_eq(e.line, 8, "line %zu", e.line);
    e = parse_bad("a\n\"one\ntwo\nthree\"x\n", true);
    cr_expect_eq(e.line, 4, "junk after the closing quote, line %zu", e.line);
}

Test(dataset_malformed, text_after_a_closing_quote)
{
    ccd_dataset_error_t e = parse_bad("a,b\n\"x\"y,2\n", true);
    cr_expect_eq(e.line, 2);
    cr_expect(strstr(e.msg, "closing quote") != NULL, "%s", e.msg);
    parse_bad("a\n\"x\" \n", true);
}

Test(dataset_malformed, duplicate_column_names)
{
    ccd_dataset_error_t e = parse_bad("\n\nid,name,id\n1,2,3\n", true);
    cr_expect_eq(e.line, 3);
    cr_expect_str_eq(e.msg, "column name 'id' appears twice in the header");
    ccd_dataset_free(parse("id,name,id\n1,2,3\n", false)); /* no names: no conflict */
}

/* The fuzzer's driver, replayed over the checked-in corpus (a failure aborts). */
#include "../corpus.h"
#include "../../fuzz/fuzz_dataset.c"

Test(dataset_malformed, fuzz_corpus_replays)
{
    cr_assert_gt(replay_corpus("dataset", LLVMFuzzerTestOneInput), 100);
}

/* ---- Cursors ----------------------------------------------------------------------------- */

Test(dataset_pick, round_robin_goes_in_order_and_starts_over)
{
    ccd_dataset_t *ds = parse("n\n0\n1\n2\n", true);
    for (long i = 0; i < 7; i++)
        cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_ROUND_ROBIN, 0), i % 3);
    ccd_dataset_free(ds);
}

Test(dataset_pick, each_once_hands_out_every_row_then_none)
{
    ccd_dataset_t *ds = parse("n\n0\n1\n2\n", true);
    for (long i = 0; i < 3; i++)
        cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_EACH_ONCE, 0), i);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_EACH_ONCE, 0), -1);
    /* Its cursor is its own: round robin starts at the first row. */
    cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_ROUND_ROBIN, 0), 0);
    ccd_dataset_free(ds);
}

Test(dataset_pick, random_maps_the_value_onto_the_rows)
{
    ccd_dataset_t *ds = parse("n\n0\n1\n2\n3\n4\n", false);
    cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_RANDOM, 0), 0);
    cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_RANDOM, 13), 1);
    cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_RANDOM, UINT64_MAX), (long)(UINT64_MAX % 6));
    cr_expect_eq(ccd_dataset_pick(ds, CCD_DATASET_EACH_ONCE, 0), 0, "random moved no cursor");
    ccd_dataset_free(ds);
}

/* ---- The registry ------------------------------------------------------------------------ */

static char dir[] = "/tmp/ccd-dataset-XXXXXX";

static void make_dir(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static ccd_dataset_t *acquire(const char *path, bool header)
{
    ccd_dataset_t *ds = NULL;
    char err[512];
    cr_assert_eq(ccd_dataset_acquire(path, header, &ds, err, sizeof(err)), 0, "%s", err);
    return ds;
}

TestSuite(dataset_registry, .init = make_dir, .fini = remove_dir);

Test(dataset_registry, one_file_is_loaded_once_and_shared)
{
    char path[256], other[256];
    snprintf(path, sizeof(path), "%s", write_file("a.csv", "k\n1\n2\n"));
    ccd_dataset_t *a = acquire(path, true);
    snprintf(other, sizeof(other), "%s/./../%s/a.csv", dir, strrchr(dir, '/') + 1);
    ccd_dataset_t *b = acquire(other, true);
    cr_expect_eq(a, b, "the same file by another path is the same data set");
    ccd_dataset_t *c = acquire(path, false);
    cr_expect_neq(a, c, "without a header it parses differently");
    cr_expect_eq(ccd_dataset_rows(c), 3);
    /* Shared cursors: picks through either reference continue one sequence. */
    cr_expect_eq(ccd_dataset_pick(a, CCD_DATASET_EACH_ONCE, 0), 0);
    cr_expect_eq(ccd_dataset_pick(b, CCD_DATASET_EACH_ONCE, 0), 1);
    cr_expect_eq(ccd_dataset_pick(a, CCD_DATASET_EACH_ONCE, 0), -1);
    ccd_dataset_release(a);
    ccd_dataset_release(b);
    ccd_dataset_release(c);
}

/* While a reference is held the file is not read again; once the last one is given back the
 * data set is gone, and the next acquire reads the file anew. */
Test(dataset_registry, the_last_release_frees_the_data_set)
{
    char path[256];
    snprintf(path, sizeof(path), "%s", write_file("b.csv", "k\nold\n"));
    ccd_dataset_t *a = acquire(path, true);
    write_file("b.csv", "k\nnew\nrows\n");
    ccd_dataset_t *b = acquire(path, true);
    cr_expect_eq(a, b);
    cr_expect_eq(ccd_dataset_rows(b), 1, "a held data set is not reloaded");
    ccd_dataset_release(a);
    expect_field(b, 0, 0, "old"); /* one reference left: still valid */
    ccd_dataset_release(b);
    ccd_dataset_t *c = acquire(path, true);
    cr_expect_eq(ccd_dataset_rows(c), 2, "released for good: read again");
    expect_field(c, 0, 0, "new");
    cr_expect_eq(ccd_dataset_pick(c, CCD_DATASET_EACH_ONCE, 0), 0, "fresh cursors");
    ccd_dataset_release(c);
}

Test(dataset_registry, errors_name_the_file_and_line)
{
    char path[256], err[512];
    ccd_dataset_t *ds = NULL;
    snprintf(path, sizeof(path), "%s", write_file("bad.csv", "a,b\n1,2\n\n3\n"));
    cr_expect_eq(ccd_dataset_acquire(path, true, &ds, err, sizeof(err)), CCD_EINVAL);
    char want[512];
    snprintf(want, sizeof(want), "%s:4: row has 1 field, the header has 2", path);
    cr_expect_str_eq(err, want);
    snprintf(path, sizeof(path), "%s/missing.csv", dir);
    cr_expect_eq(ccd_dataset_acquire(path, true, &ds, err, sizeof(err)), CCD_EINVAL);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    cr_expect_str_eq(err, want);
    cr_expect_eq(ccd_dataset_acquire(dir, true, &ds, err, sizeof(err)), CCD_EINVAL);
    cr_expect(strstr(err, "not a regular file") != NULL, "%s", err);
    cr_expect_null(ds);
}

/* A failed load is not remembered: once the file is fixed it loads. */
Test(dataset_registry, a_fixed_file_loads)
{
    char path[256], err[512];
    ccd_dataset_t *ds = NULL;
    snprintf(path, sizeof(path), "%s", write_file("fix.csv", "a\n\"open\n"));
    cr_expect_eq(ccd_dataset_acquire(path, true, &ds, err, sizeof(err)), CCD_EINVAL);
    write_file("fix.csv", "a\n\"closed\"\n");
    ds = acquire(path, true);
    expect_field(ds, 0, 0, "closed");
    ccd_dataset_release(ds);
}

#define THREADS 8
#define ROWS    5000

typedef struct {
    const char *path;
    ccd_dataset_t *ds;
    atomic_int *seen;
    long taken;
} worker_t;

/* Acquires the file as an engine thread loading its scenario would, then takes rows. */
static void *take_rows(void *arg)
{
    worker_t *w = arg;
    char err[512];
    if (ccd_dataset_acquire(w->path, true, &w->ds, err, sizeof(err)))
        return NULL;
    for (long row; (row = ccd_dataset_pick(w->ds, CCD_DATASET_EACH_ONCE, 0)) >= 0; w->taken++) {
        size_t len;
        const char *v = ccd_dataset_field(w->ds, (size_t)row, 0, &len);
        char id[16];
        snprintf(id, sizeof(id), "%.*s", (int)len, v); /* fields are not NUL-terminated */
        atomic_fetch_add(&w->seen[strtol(id, NULL, 10) % ROWS], 1);
    }
    return NULL;
}

Test(dataset_registry, threads_share_one_copy_and_each_once_is_exact)
{
    size_t cap = ROWS * 8 + 8, off = (size_t)snprintf(NULL, 0, "id\n");
    char *text = malloc(cap), path[256];
    strcpy(text, "id\n");
    for (int i = 0; i < ROWS; i++)
        off += (size_t)snprintf(text + off, cap - off, "%d\n", i);
    snprintf(path, sizeof(path), "%s", write_file("rows.csv", text));
    free(text);
    static atomic_int seen[ROWS];
    pthread_t t[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){.path = path, .seen = seen};
        cr_assert_eq(pthread_create(&t[i], NULL, take_rows, &w[i]), 0);
    }
    long total = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_not_null(w[i].ds, "thread %d could not acquire the file", i);
        cr_expect_eq(w[i].ds, w[0].ds, "thread %d got its own copy", i);
        total += w[i].taken;
    }
    cr_expect_eq(total, ROWS);
    for (int i = 0; i < ROWS; i++)
        cr_expect_eq(atomic_load(&seen[i]), 1, "row %d handed out %d times", i,
                     atomic_load(&seen[i]));
    for (int i = 0; i < THREADS; i++)
        ccd_dataset_release(w[i].ds);
}
