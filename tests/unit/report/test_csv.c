/* Tests of the Locust CSV files: headers byte for byte (hard-coded and against Locust itself
 * when python3-locust is installed), values and their formats, quoting, history rows, and
 * whole files replaced atomically. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/csv.h"
#include "stats/history.h"

#define T0 1700000000.0

/* The header rows of Locust 2.12.1's stats.py (StatsCSV.requests_csv_columns,
 * StatsCSVFileWriter.stats_history_csv_columns, failures_columns, exceptions_columns) as its
 * csv.writer writes them. */
#define PCT "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
static const char REQUESTS_HEADER[] =
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s," PCT "\r\n";
static const char HISTORY_HEADER[] =
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s," PCT ",Total Request Count,"
    "Total Failure Count,Total Median Response Time,Total Average Response Time,"
    "Total Min Response Time,Total Max Response Time,Total Average Content Size\r\n";
static const char FAILURES_HEADER[] = "Method,Name,Error,Occurrences\r\n";
static const char EXCEPTIONS_HEADER[] = "Count,Message,Traceback,Nodes\r\n";

typedef struct {
    FILE *f;
    char *text;
    size_t len;
} capture_t;

static FILE *cap_open(capture_t *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    cr_assert_not_null(c->f);
    return c->f;
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

/* 100 GETs of / at 1..100 ms over 10 s (every 10th fails), 10 POSTs of /login at 200 ms. */
static ccd_stats_t *sample_stats(void)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    for (int i = 1; i <= 100; i++)
        rec(s, "GET", "/", i * 1000, 1000, i % 10 ? NULL : "HTTP 500", T0 + i * 0.1);
    for (int i = 0; i < 10; i++)
        rec(s, "POST", "/login", 200000, 10, NULL, T0 + 5 + i * 0.5);
    cr_assert_eq(ccd_stats_exception(s, "attempt to index nil", "stack traceback:\n\tx.lua:3"), 0);
    return s;
}

/* The line-th line of text (0-based), without its CRLF; static storage. */
static const char *line_of(const char *text, int line)
{
    static char buf[4096];
    for (; line > 0 && text; line--)
        if ((text = strstr(text, "\r\n")))
            text += 2;
    cr_assert_not_null(text, "missing line");
    const char *end = strstr(text, "\r\n");
    cr_assert_not_null(end, "line without CRLF");
    snprintf(buf, sizeof(buf), "%.*s", (int)(end - text), text);
    return buf;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, "\r\n")); p += 2)
        n++;
    return n;
}

Test(csv, headers_are_locusts)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    capture_t c;
    cr_assert_eq(ccd_csv_requests(cap_open(&c), s), 0);
    char *t = cap_close(&c);
    cr_assert_eq(strncmp(t, REQUESTS_HEADER, strlen(REQUESTS_HEADER)), 0, "got %s", t);
    free(t);
    cr_assert_eq(ccd_csv_history_header(cap_open(&c)), 0);
    t = cap_close(&c);
    cr_assert_str_eq(t, HISTORY_HEADER);
    free(t);
    cr_assert_eq(ccd_csv_failures(cap_open(&c), s), 0);
    t = cap_close(&c);
    cr_assert_str_eq(t, FAILURES_HEADER);
    free(t);
    cr_assert_eq(ccd_csv_exceptions(cap_open(&c), s), 0);
    t = cap_close(&c);
    cr_assert_str_eq(t, EXCEPTIONS_HEADER);
    free(t);
    ccd_stats_free(s);
}

/* Debian's python3-locust lives in the system interpreter's dist-packages. */
#define PYTHON "/usr/bin/python3"

static char *run_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    capture_t c;
    FILE *f = cap_open(&c);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
        fwrite(buf, 1, n, f);
    int st = pclose(p);
    char *t = cap_close(&c);
    if (st != 0) {
        free(t);
        return NULL;
    }
    return t;
}

Test(csv, headers_match_installed_locust)
{
    if (system(PYTHON " -c 'import locust.stats' >/dev/null 2>&1") != 0)
        cr_skip_test("python3-locust is not installed: Locust's own headers not compared");
    char *locust = run_capture(
        PYTHON
        " -c '\n"
        "import csv, os, sys, tempfile\n"
        "from locust.env import Environment\n"
        "from locust.stats import StatsCSVFileWriter, PERCENTILES_TO_REPORT\n"
        "d = tempfile.mkdtemp()\n"
        "w = StatsCSVFileWriter(Environment(), PERCENTILES_TO_REPORT, os.path.join(d, \"x\"))\n"
        "o = csv.writer(sys.stdout)\n"
        "for c in (w.requests_csv_columns, w.stats_history_csv_columns,\n"
        "          w.failures_columns, w.exceptions_columns):\n"
        "    o.writerow(c)\n"
        "w.close_files()\n"
        "for f in os.listdir(d): os.unlink(os.path.join(d, f))\n"
        "os.rmdir(d)\n"
        "' 2>/dev/null");
    cr_assert_not_null(locust, "running Locust's StatsCSVFileWriter failed");
    ccd_stats_t *s = ccd_stats_new(T0);
    capture_t c;
    ccd_csv_requests(cap_open(&c), s);
    char *requests = cap_close(&c);
    strstr(requests, "\r\n")[2] = '\0'; /* the header; Locust's list has no data row */
    FILE *f = cap_open(&c);
    fputs(requests, f);
    ccd_csv_history_header(f);
    ccd_csv_failures(f, s);
    ccd_csv_exceptions(f, s);
    char *ours = cap_close(&c);
    free(requests);
    cr_assert_str_eq(ours, locust);
    free(ours);
    free(locust);
    ccd_stats_free(s);
}

Test(csv, floats_as_python_repr)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.0, "0.0"},
        {1.0, "1.0"},
        {12.345, "12.345"},
        {0.1, "0.1"},
        {50.5, "50.5"},
        {1.0 / 3, "0.3333333333333333"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {2.5e-7, "2.5e-07"},
        {1e16, "1e+16"},
        {1234567890123456.0, "1234567890123456.0"},
        {123456789.0, "123456789.0"},
        {-3.5, "-3.5"},
        {100.0, "100.0"},
        {1.5e300, "1.5e+300"},
        {0.012, "0.012"},
        {9.999999999999999e22, "1e+23"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_expect_str_eq(ccd_csv_format_float(buf, sizeof(buf), cases[i].v), cases[i].text,
                         "case %zu", i);
}

Test(csv, floats_match_python)
{
    if (system("python3 -c 'pass' >/dev/null 2>&1") != 0)
        cr_skip_test("python3 is not installed: repr() not compared");
    /* Values with 1 to 17 significant digits across the range where the format switches. */
    char cmd[8192] =
        "python3 -c 'import sys; print(\" \".join(repr(float(x)) for x in sys.argv[1:]))'";
    double vals[60];
    unsigned seed = 12345;
    for (int i = 0; i < 60; i++) {
        seed = seed * 1103515245u + 12345u;
        double mant = (double)(seed % 1000000007u) / 1000.0;
        vals[i] = mant * __builtin_powi(10.0, i % 24 - 12);
        if (i % 7 == 0)
            vals[i] = (double)(int)mant;
        snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " %.17g", vals[i]);
    }
    char *py = run_capture(cmd);
    cr_assert_not_null(py);
    char *save, *tok = strtok_r(py, " \n", &save);
    for (int i = 0; i < 60; i++, tok = strtok_r(NULL, " \n", &save)) {
        char buf[64];
        cr_assert_not_null(tok);
        cr_expect_str_eq(ccd_csv_format_float(buf, sizeof(buf), vals[i]), tok, "value %.17g",
                         vals[i]);
    }
    free(py);
}

Test(csv, request_rows)
{
    ccd_stats_t *s = sample_stats();
    capture_t c;
    cr_assert_eq(ccd_csv_requests(cap_open(&c), s), 0);
    char *t = cap_close(&c);
    cr_assert_eq(count_lines(t), 4);
    /* 100 requests over the 10 s from the start: 10 req/s, 1 failure/s. */
    cr_expect_str_eq(line_of(t, 1),
                     "GET,/,100,10,50,50.5,1.0,100.0,1000.0,10.0,1.0,50,66,75,80,90,95,98,99,100,"
                     "100,100");
    char expect[512];
    char avg[40], rps[40], fps[40], size[40];
    ccd_csv_format_float(rps, sizeof(rps), 10 / 9.5); /* the last POST came at 9.5 s */
    snprintf(expect, sizeof(expect),
             "POST,/login,10,0,200,200.0,200.0,200.0,10.0,%s,0.0,200,"
             "200,200,200,200,200,200,200,200,200,200",
             rps);
    cr_expect_str_eq(line_of(t, 2), expect);
    /* Aggregated: empty Type; (5050 + 2000) / 110 ms average; 110 requests over 10 s; the
     * 55th, 73rd, 83rd, 88th and 99th of 110 values are 55, 73, 83, 88 and 99 ms. */
    ccd_csv_format_float(avg, sizeof(avg), 7050.0 / 110);
    ccd_csv_format_float(size, sizeof(size), 100100.0 / 110);
    ccd_csv_format_float(rps, sizeof(rps), 110 / 10.0);
    ccd_csv_format_float(fps, sizeof(fps), 10 / 10.0);
    snprintf(expect, sizeof(expect),
             ",Aggregated,110,10,55,%s,1.0,200.0,%s,%s,%s,55,73,83,"
             "88,99,200,200,200,200,200,200",
             avg, size, rps, fps);
    cr_expect_str_eq(line_of(t, 3), expect);
    free(t);
    ccd_stats_free(s);
}

Test(csv, entry_without_requests)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    capture_t c;
    cr_assert_eq(ccd_csv_requests(cap_open(&c), s), 0);
    char *t = cap_close(&c);
    cr_expect_str_eq(line_of(t, 1), ",Aggregated,0,0,0,0.0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,"
                                    "N/A,N/A,N/A,N/A,N/A");
    free(t);
    ccd_stats_free(s);
}

/* Locust's avg_content_length is a float once there are requests, even for empty bodies,
 * while min and max of zero stay the integer 0. */
Test(csv, zero_sizes_and_times)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/empty", 0, 0, NULL, T0 + 2);
    capture_t c;
    cr_assert_eq(ccd_csv_requests(cap_open(&c), s), 0);
    char *t = cap_close(&c);
    cr_expect_str_eq(line_of(t, 1), "GET,/empty,1,0,0,0.0,0,0,0.0,0.5,0.0,0,0,0,0,0,0,0,0,0,0,0");
    free(t);
    ccd_stats_free(s);
}

Test(csv, quoting_as_python_csv)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/a,\"b\"", 1000, 0, "bad, \"very\"\nbad", T0 + 1);
    cr_assert_eq(ccd_stats_exception(s, "boom", "line 1\r\nline 2"), 0);
    capture_t c;
    cr_assert_eq(ccd_csv_requests(cap_open(&c), s), 0);
    char *t = cap_close(&c);
    cr_expect(strncmp(line_of(t, 1), "GET,\"/a,\"\"b\"\"\",1,1,", 18) == 0, "%s", line_of(t, 1));
    free(t);
    cr_assert_eq(ccd_csv_failures(cap_open(&c), s), 0);
    t = cap_close(&c);
    cr_expect_str_eq(t, "Method,Name,Error,Occurrences\r\n"
                        "GET,\"/a,\"\"b\"\"\",\"bad, \"\"very\"\"\nbad\",1\r\n");
    free(t);
    cr_assert_eq(ccd_csv_exceptions(cap_open(&c), s), 0);
    t = cap_close(&c);
    cr_expect_str_eq(t, "Count,Message,Traceback,Nodes\r\n1,boom,\"line 1\r\nline 2\",local\r\n");
    free(t);
    ccd_stats_free(s);
}

Test(csv, failures_and_exceptions_rows)
{
    ccd_stats_t *s = sample_stats();
    capture_t c;
    cr_assert_eq(ccd_csv_failures(cap_open(&c), s), 0);
    char *t = cap_close(&c);
    cr_expect_str_eq(t, "Method,Name,Error,Occurrences\r\nGET,/,HTTP 500,10\r\n");
    free(t);
    cr_assert_eq(ccd_csv_exceptions(cap_open(&c), s), 0);
    t = cap_close(&c);
    cr_expect_str_eq(t, "Count,Message,Traceback,Nodes\r\n"
                        "1,attempt to index nil,\"stack traceback:\n\tx.lua:3\",local\r\n");
    free(t);
    ccd_stats_free(s);
}

/* Requests each second from T0 to T0 + 29: GET /fast at 10 ms, GET /slow at 100 ms, with a
 * history tick after each second. */
static void run_seconds(ccd_stats_t *s, ccd_history_t *h, int seconds)
{
    for (int i = 0; i < seconds; i++) {
        for (int k = 0; k < 10; k++) {
            rec(s, "GET", "/fast", 10000, 1, NULL, T0 + i + k * 0.05);
            rec(s, "GET", "/slow", 100000, 1, k ? NULL : "timeout", T0 + i + k * 0.05);
        }
        cr_assert_eq(ccd_history_tick(h, s, 7, T0 + i + 0.9), 0);
    }
}

Test(csv, history_rows_aggregated_only)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(false);
    run_seconds(s, h, 20);
    capture_t c;
    double now = T0 + 19.9;
    cr_assert_eq(ccd_csv_history_rows(cap_open(&c), s, h, false, 7, now), 0);
    char *t = cap_close(&c);
    cr_assert_eq(count_lines(t), 1);
    /* 20 req/s and 1 failure/s in the window [now-12, now-3]; whole-run percentiles: half of
     * the requests at 10 ms and half at 100 ms. */
    char expect[512];
    char avg[40];
    ccd_csv_format_float(avg, sizeof(avg), 55.0);
    snprintf(expect, sizeof(expect),
             "%lld,7,,Aggregated,20.000000,1.000000,10,100,100,100,"
             "100,100,100,100,100,100,100,400,20,10,%s,10.0,100.0,1.0",
             (long long)(T0 + 19), avg);
    cr_expect_str_eq(line_of(t, 0), expect);
    free(t);
    ccd_history_free(h);
    ccd_stats_free(s);
}

Test(csv, history_rows_full_use_current_percentiles)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    ccd_history_t *h = ccd_history_new(true);
    run_seconds(s, h, 20);
    capture_t c;
    double now = T0 + 19.9;
    cr_assert_eq(ccd_csv_history_rows(cap_open(&c), s, h, true, 7, now), 0);
    char *t = cap_close(&c);
    cr_assert_eq(count_lines(t), 3);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "%lld,7,GET,/fast,10.000000,0.000000,10,10,",
             (long long)(T0 + 19));
    cr_expect_eq(strncmp(line_of(t, 0), prefix, strlen(prefix)), 0, "%s", line_of(t, 0));
    snprintf(prefix, sizeof(prefix), "%lld,7,GET,/slow,10.000000,1.000000,100,100,",
             (long long)(T0 + 19));
    cr_expect_eq(strncmp(line_of(t, 1), prefix, strlen(prefix)), 0, "%s", line_of(t, 1));
    snprintf(prefix, sizeof(prefix), "%lld,7,,Aggregated,20.000000,1.000000,10,100,",
             (long long)(T0 + 19));
    cr_expect_eq(strncmp(line_of(t, 2), prefix, strlen(prefix)), 0, "%s", line_of(t, 2));
    free(t);
    ccd_history_free(h);
    ccd_stats_free(s);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    capture_t c;
    FILE *o = cap_open(&c);
    int ch;
    while ((ch = fgetc(f)) != EOF)
        fputc(ch, o);
    fclose(f);
    return cap_close(&c);
}

static char *make_dir(void)
{
    char *d = strdup("/tmp/ccd_csv_XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static void remove_dir(const char *d)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
}

static int files_in(const char *d)
{
    DIR *dir = opendir(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dir)))
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

Test(csv, files_written_whole)
{
    char *d = make_dir(), prefix[256], path[300];
    snprintf(prefix, sizeof(prefix), "%s/run", d);
    ccd_csv_t *c;
    char err[256];
    cr_assert_eq(ccd_csv_open(&c, prefix, false, err, sizeof(err)), 0, "%s", err);
    cr_expect_eq(files_in(d), 4);
    ccd_stats_t *s = sample_stats();
    ccd_history_t *h = ccd_history_new(false);
    cr_assert_eq(ccd_history_tick(h, s, 3, T0 + 11), 0);
    cr_assert_eq(ccd_csv_write(c, s), 0);
    cr_assert_eq(ccd_csv_append_history(c, s, h, 3, T0 + 11), 0);
    cr_assert_eq(ccd_csv_append_history(c, s, h, 3, T0 + 12), 0);
    /* The history is readable before close: rows are flushed whole. */
    snprintf(path, sizeof(path), "%s_stats_history.csv", prefix);
    char *t = slurp(path);
    cr_expect_eq(count_lines(t), 3);
    cr_expect_eq(t[strlen(t) - 1], '\n');
    free(t);
    cr_assert_eq(ccd_csv_close(c), 0);
    snprintf(path, sizeof(path), "%s_stats.csv", prefix);
    t = slurp(path);
    cr_expect_eq(count_lines(t), 4);
    cr_expect_eq(strncmp(t, REQUESTS_HEADER, strlen(REQUESTS_HEADER)), 0);
    cr_expect_eq(strncmp(line_of(t, 3), ",Aggregated,110,", 16), 0);
    free(t);
    snprintf(path, sizeof(path), "%s_failures.csv", prefix);
    t = slurp(path);
    cr_expect_str_eq(t, "Method,Name,Error,Occurrences\r\nGET,/,HTTP 500,10\r\n");
    free(t);
    snprintf(path, sizeof(path), "%s_exceptions.csv", prefix);
    t = slurp(path);
    cr_expect_eq(count_lines(t), 2);
    free(t);
    cr_expect_eq(files_in(d), 4, "temporary files left behind");
    ccd_history_free(h);
    ccd_stats_free(s);
    remove_dir(d);
    free(d);
}

/* A reader holding the file open while it is rewritten keeps reading the complete old
 * version (truncating in place would hand it a cut or mixed file), and the name then leads to
 * a complete new one. */
Test(csv, rewrite_replaces_atomically)
{
    char *d = make_dir(), prefix[256], path[300];
    snprintf(prefix, sizeof(prefix), "%s/run", d);
    snprintf(path, sizeof(path), "%s_stats.csv", prefix);
    ccd_csv_t *c;
    char err[256];
    cr_assert_eq(ccd_csv_open(&c, prefix, false, err, sizeof(err)), 0, "%s", err);
    ccd_stats_t *s = sample_stats();
    cr_assert_eq(ccd_csv_write(c, s), 0);
    struct stat before, after;
    cr_assert_eq(stat(path, &before), 0);
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    rec(s, "DELETE", "/item", 5000, 0, NULL, T0 + 12);
    cr_assert_eq(ccd_csv_write(c, s), 0);
    cr_assert_eq(stat(path, &after), 0);
    cr_expect_neq(before.st_ino, after.st_ino);
    char old[8192];
    ssize_t n = read(fd, old, sizeof(old) - 1);
    close(fd);
    cr_assert_gt(n, 0);
    old[n] = '\0';
    cr_expect_eq(count_lines(old), 4);
    cr_expect_null(strstr(old, "DELETE"));
    char *t = slurp(path);
    cr_expect_eq(count_lines(t), 5);
    cr_expect_not_null(strstr(t, "\r\nDELETE,/item,1,0,"));
    free(t);
    cr_assert_eq(ccd_csv_close(c), 0);
    ccd_stats_free(s);
    remove_dir(d);
    free(d);
}

Test(csv, open_reports_unwritable_prefix)
{
    ccd_csv_t *c = NULL;
    char err[256] = "";
    cr_expect_lt(ccd_csv_open(&c, "/nonexistent-dir/x", false, err, sizeof(err)), 0);
    cr_expect_not_null(strstr(err, "/nonexistent-dir/x"), "%s", err);
    cr_expect_null(c);
}

/* Without a history there is no window: current percentiles are 0, as Locust's "or 0". */
Test(csv, full_history_without_window)
{
    ccd_stats_t *s = ccd_stats_new(T0);
    rec(s, "GET", "/a", 5000, 0, NULL, T0 + 1);
    capture_t c;
    cr_assert_eq(ccd_csv_history_rows(cap_open(&c), s, NULL, true, 1, T0 + 1.5), 0);
    char *t = cap_close(&c);
    cr_assert_eq(count_lines(t), 2);
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "%lld,1,GET,/a,0.000000,0.000000,0,0,0,0,0,0,0,0,0,0,0,1,0,5,",
             (long long)(T0 + 1));
    cr_expect_eq(strncmp(line_of(t, 0), prefix, strlen(prefix)), 0, "%s", line_of(t, 0));
    free(t);
    ccd_stats_free(s);
}
