/* Outputs: CSV files with Locust's headers and the run's numbers, the self-contained HTML report,
 * the JSON file; the same percentiles in every output; complete files however the run ends. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(outputs, .fini = h_cleanup, .timeout = 90);

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

static const char *STATS_HEADER =
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,"
    "80%,90%,95%,98%,99%,99.9%,99.99%,100%\r\n";
static const char *HISTORY_HEADER =
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,"
    "99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,"
    "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size\r\n";
static const char *FAILURES_HEADER = "Method,Name,Error,Occurrences\r\n";
static const char *EXCEPTIONS_HEADER = "Count,Message,Traceback,Nodes\r\n";

/* Mixed delays, a failing name and a script error, so every file has rows. */
static const char *mixed =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('Mixed', { wait_time = cicada.constant(0.01),\n"
    "                                 tasks = { fast = 4, slow = 2, missing = 1, oops = 1 } })\n"
    "function U:fast() self.client:get('/delay/' .. math.random(1, 9), { name = 'fast' }) end\n"
    "function U:slow() self.client:get('/delay/' .. math.random(20, 60), { name = 'slow' }) end\n"
    "function U:missing() self.client:get('/status/404', { name = 'missing, \"quoted\"' }) end\n"
    "function U:oops() error('oops, a script error') end\n";

typedef struct {
    h_run_t run;
    const char *dir, *prefix, *html, *json;
} outrun_t;

/* Runs a scenario writing every output into a fresh directory. extra: NULL-terminated. */
static void run_outputs(outrun_t *o, const char *lua, const h_run_opts_t *opts,
                        const char *const *extra)
{
    const char *argv[H_MAX_ARGS + 1];
    int n = 0;
    o->dir = h_tmpdir();
    o->prefix = h_strf("%s/run", o->dir);
    o->html = h_strf("%s/report.html", o->dir);
    o->json = h_strf("%s/report.json", o->dir); /* Locust's --json-file NAME writes NAME.json */
    const char *base[] = {"-H",         host(),          "--csv",       o->prefix,
                          "--html",     o->html,         "--json-file", h_strf("%s/report", o->dir),
                          "--headless", "--report-json", "-",           "--stop-timeout",
                          "0"};
    for (size_t i = 0; i < sizeof base / sizeof *base; i++)
        argv[n++] = base[i];
    for (; extra && *extra; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    cr_assert_eq(h_cicada_v(&o->run, opts, lua, argv), 0);
}

static const char *csv_path(const outrun_t *o, const char *file)
{
    return h_strf("%s_%s.csv", o->prefix, file);
}

/* The file's first line, line end included (harness-owned), or "". */
static const char *first_line(const char *path)
{
    char *text = h_read_file(path, NULL);
    if (!text)
        return "";
    char *nl = strchr(text, '\n');
    const char *line = h_strf("%.*s", nl ? (int)(nl - text + 1) : (int)strlen(text), text);
    free(text);
    return line;
}

Test(outputs, csv_files_have_locusts_header_rows)
{
    outrun_t o;
    const char *extra[] = {"-u", "2", "-r", "100", "-t", "2s", NULL};
    run_outputs(&o, mixed, NULL, extra);
    H_ASSERT_EXIT(&o.run, 1);
    cr_expect_str_eq(first_line(csv_path(&o, "stats")), STATS_HEADER);
    cr_expect_str_eq(first_line(csv_path(&o, "stats_history")), HISTORY_HEADER);
    cr_expect_str_eq(first_line(csv_path(&o, "failures")), FAILURES_HEADER);
    cr_expect_str_eq(first_line(csv_path(&o, "exceptions")), EXCEPTIONS_HEADER);
    h_run_free(&o.run);
}

static double num(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return (end == s || *end) ? NAN : v;
}

/* Field `col` of CSV row i as a number. */
static double cell(const h_csv_t *c, long i, const char *col)
{
    int j = h_csv_col(c, col);
    if (i < 1 || j < 0 || (size_t)j >= c->ncols[i])
        return NAN;
    return num(c->rows[i][j]);
}

/* Checks the stats CSV against the JSON report: one row per entry, same counts, quoting. */
static void expect_stats_csv_matches(const char *path, json_t *doc)
{
    h_csv_t c;
    cr_assert_eq(h_csv_read(&c, path), 0, "cannot read %s", path);
    json_t *stats = json_object_get(doc, "stats"), *e;
    size_t i;
    cr_expect_eq(c.nrows, json_array_size(stats) + 2, "rows: header + entries + Aggregated");
    json_array_foreach(stats, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        long row = h_csv_find(&c, 1, name);
        cr_expect_gt(row, 0, "no CSV row for %s", name);
        cr_expect_eq(cell(&c, row, "Request Count"), h_num(e, "num_requests"), "%s", name);
        cr_expect_eq(cell(&c, row, "Failure Count"), h_num(e, "num_failures"), "%s", name);
    }
    long agg = (long)c.nrows - 1;
    cr_expect_str_eq(c.rows[agg][1], "Aggregated");
    cr_expect_str_eq(c.rows[agg][0], "");
    cr_expect_eq(cell(&c, agg, "Request Count"), (double)h_total_requests(doc));
    cr_expect_eq(cell(&c, agg, "Failure Count"), (double)h_total_failures(doc));
    h_csv_free(&c);
}

Test(outputs, csv_counts_equal_the_json_report)
{
    outrun_t o;
    const char *extra[] = {"-u", "3", "-r", "100", "-t", "2s", NULL};
    run_outputs(&o, mixed, NULL, extra);
    H_ASSERT_EXIT(&o.run, 1);
    H_ASSERT_JSON(&o.run);
    expect_stats_csv_matches(csv_path(&o, "stats"), o.run.json);
    char *stats = h_read_file(csv_path(&o, "stats"), NULL);
    cr_expect(stats && strstr(stats, "\r\nGET,\"missing, \"\"quoted\"\"\","),
              "a name with a comma and quotes is quoted as Python's csv does:\n%s", stats);
    free(stats);
    h_csv_t f;
    cr_assert_eq(h_csv_read(&f, csv_path(&o, "failures")), 0);
    long row = h_csv_find(&f, 1, "missing, \"quoted\"");
    cr_expect_gt(row, 0, "no failure row");
    cr_expect_eq(cell(&f, row, "Occurrences"),
                 (double)h_failures(o.run.json, "GET", "missing, \"quoted\""));
    h_csv_free(&f);
    h_csv_t x;
    cr_assert_eq(h_csv_read(&x, csv_path(&o, "exceptions")), 0);
    cr_expect_eq(x.nrows, 2, "one exception row");
    if (x.nrows == 2) {
        cr_expect_eq(cell(&x, 1, "Count"), (double)h_exception_count(o.run.json, "oops"));
        cr_expect(strstr(x.rows[1][1], "oops, a script error"), "message: %s", x.rows[1][1]);
        cr_expect(strstr(x.rows[1][2], "scenario.lua"), "traceback: %s", x.rows[1][2]);
        cr_expect_str_eq(x.rows[1][3], "local");
    }
    h_csv_free(&x);
    h_run_free(&o.run);
}

Test(outputs, csv_history_has_one_row_per_second)
{
    outrun_t o;
    const char *extra[] = {"-u", "2", "-r", "100", "-t", "4s", NULL};
    run_outputs(&o, mixed, NULL, extra);
    H_ASSERT_EXIT(&o.run, 1);
    H_ASSERT_JSON(&o.run);
    h_csv_t c;
    cr_assert_eq(h_csv_read(&c, csv_path(&o, "stats_history")), 0);
    cr_expect(c.nrows >= 4 && c.nrows <= 7, "%zu history rows for a 4 s run", c.nrows - 1);
    for (size_t i = 2; i < c.nrows; i++) {
        double d = cell(&c, (long)i, "Timestamp") - cell(&c, (long)i - 1, "Timestamp");
        cr_expect(d >= 1 && d <= 2, "rows %zu and %zu are %.0f s apart:\n%s\n%s", i - 1, i, d,
                  c.lines[i - 1], c.lines[i]);
    }
    for (size_t i = 1; i < c.nrows; i++)
        cr_expect_str_eq(c.rows[i][3], "Aggregated");
    cr_expect_eq(cell(&c, (long)c.nrows - 1, "Total Request Count"),
                 (double)h_total_requests(o.run.json), "the last row holds the final count");
    h_csv_free(&c);
    h_run_free(&o.run);
}

/* v to three significant digits, as the console prints times. */
static double round3(double v)
{
    if (!(v > 0))
        return v;
    double unit = pow(10, floor(log10(v)) - 2);
    return unit < 0.001 ? round(v * 1000) / 1000 : round(v / unit) * unit;
}

/* The 11 numbers of the console's percentile table row for name ("Aggregated"). */
static bool console_percentiles(const char *err, const char *name, double out[11])
{
    const char *table = strstr(err, "Response time percentiles");
    char *line = table ? h_line_with(table, h_strf(" %s ", name)) : NULL;
    if (!line)
        return false;
    /* The row ends with the 11 percentiles and the request count. */
    double v[32];
    int n = 0;
    for (char *p = strtok(line, " "); p && n < 32; p = strtok(NULL, " ")) {
        char *end;
        double x = strtod(p, &end);
        if (*end == '\0' && end != p)
            v[n++] = x;
    }
    free(line);
    if (n < 12)
        return false;
    memcpy(out, v + n - 12, 11 * sizeof *out);
    return true;
}

static const char *PCT_KEYS[] = {"0.5",  "0.66", "0.75",  "0.8",    "0.9", "0.95",
                                 "0.98", "0.99", "0.999", "0.9999", "1.0"};
static const char *PCT_COLS[] = {"50%", "66%", "75%",   "80%",    "90%", "95%",
                                 "98%", "99%", "99.9%", "99.99%", "100%"};

Test(outputs, percentiles_agree_across_console_csv_and_json)
{
    outrun_t o;
    const char *extra[] = {"-u", "4", "-r", "100", "-t", "2s", NULL};
    run_outputs(&o, mixed, NULL, extra);
    H_ASSERT_EXIT(&o.run, 1);
    H_ASSERT_JSON(&o.run);
    h_csv_t c;
    cr_assert_eq(h_csv_read(&c, csv_path(&o, "stats")), 0);
    const char *names[] = {"fast", "slow", "Aggregated"};
    for (size_t k = 0; k < 3; k++) {
        double con[11];
        long row = h_csv_find(&c, 1, names[k]);
        json_t *e =
            k < 2 ? h_entry(o.run.json, "GET", names[k]) : json_object_get(o.run.json, "total");
        cr_assert(console_percentiles(o.run.err, names[k], con), "no console row for %s", names[k]);
        for (int i = 0; i < 11; i++) {
            double csv = cell(&c, row, PCT_COLS[i]), js = h_pct(e, PCT_KEYS[i]);
            /* The console shows the exact percentile to 3 significant digits; the CSV keeps
             * Locust's whole milliseconds. */
            cr_expect_leq(fabs(con[i] - round3(js)), 1e-6 * js + 1e-9,
                          "%s %s: console %g, JSON %.4f", names[k], PCT_COLS[i], con[i], js);
            cr_expect_leq(fabs(js - csv), 0.5 + 1e-9, "%s %s: JSON %.3f, CSV %.0f", names[k],
                          PCT_COLS[i], js, csv);
        }
        cr_expect_leq(
            fabs(h_num(e, "median_response_time") - cell(&c, row, "Median Response Time")),
            0.5 + 1e-9, "%s median", names[k]);
    }
    h_csv_free(&c);
    h_run_free(&o.run);
}

/* min <= median <= p95 <= max, with `slack` for outputs rounded to whole milliseconds. */
static void expect_ordered(const char *where, double min, double med, double p95, double max,
                           double slack)
{
    cr_expect(min <= med + slack && med <= p95 && p95 <= max + slack,
              "%s: min %.3f, median %.3f, p95 %.3f, max %.3f", where, min, med, p95, max);
}

/* Extracts the HTML report's embedded data (caller json_decref) or NULL. */
static json_t *html_data(const char *html)
{
    const char *tag = "<script type=\"application/json\" id=\"ccd-data\">";
    const char *p = html ? strstr(html, tag) : NULL;
    const char *end = p ? strstr(p, "</script>") : NULL;
    if (!end)
        return NULL;
    p += strlen(tag);
    return json_loadb(p, (size_t)(end - p), 0, NULL);
}

Test(outputs, min_median_p95_max_are_ordered_in_every_output)
{
    outrun_t o;
    const char *extra[] = {"-u", "4", "-r", "100", "-t", "2s", NULL};
    run_outputs(&o, mixed, NULL, extra);
    H_ASSERT_EXIT(&o.run, 1);
    H_ASSERT_JSON(&o.run);
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(o.run.json, "stats"), i, e)
    {
        expect_ordered(h_strf("JSON %s", json_string_value(json_object_get(e, "name"))),
                       h_num(e, "min_response_time"), h_num(e, "median_response_time"),
                       h_pct(e, "0.95"), h_num(e, "max_response_time"), 0);
    }
    e = json_object_get(o.run.json, "total");
    expect_ordered("JSON total", h_num(e, "min_response_time"), h_num(e, "median_response_time"),
                   h_pct(e, "0.95"), h_num(e, "max_response_time"), 0);
    h_csv_t c;
    cr_assert_eq(h_csv_read(&c, csv_path(&o, "stats")), 0);
    for (size_t r = 1; r < c.nrows; r++)
        expect_ordered(h_strf("CSV %s", c.rows[r][1]), cell(&c, (long)r, "Min Response Time"),
                       cell(&c, (long)r, "Median Response Time"), cell(&c, (long)r, "95%"),
                       cell(&c, (long)r, "Max Response Time"), 0.5);
    h_csv_free(&c);
    char *html = h_read_file(o.html, NULL);
    json_t *data = html_data(html);
    cr_assert_not_null(data, "no data in the HTML report");
    json_array_foreach(json_object_get(data, "stats"), i, e)
    {
        /* The percentiles are an array in percentile_labels' order: 50% first, 95% sixth. */
        json_t *a = json_object_get(e, "percentiles"), *p = json_object();
        json_object_set_new(p, "0.5", json_real(json_number_value(json_array_get(a, 0))));
        json_object_set_new(p, "0.95", json_real(json_number_value(json_array_get(a, 5))));
        expect_ordered(h_strf("HTML %s", json_string_value(json_object_get(e, "name"))),
                       h_num(e, "min"), h_num(p, "0.5"), h_num(p, "0.95"), h_num(e, "max"), 0);
        json_decref(p);
    }
    json_decref(data);
    free(html);
    h_run_free(&o.run);
}

Test(outputs, html_report_is_self_contained_and_holds_the_run)
{
    outrun_t o;
    const char *extra[] = {"-u", "2", "-r", "100", "-t", "2s", NULL};
    run_outputs(&o, mixed, NULL, extra);
    H_ASSERT_EXIT(&o.run, 1);
    H_ASSERT_JSON(&o.run);
    char *html = h_read_file(o.html, NULL);
    cr_assert_not_null(html, "no HTML report");
    /* The only URL is the tested host, as data. */
    long urls = h_count(html, "http://") + h_count(html, "https://") + h_count(html, "//cdn");
    cr_expect_eq(urls, h_count(html, host()), "the report names an external URL");
    cr_expect_eq(h_count(html, "<script src"), 0);
    cr_expect_eq(h_count(html, "<link"), 0);
    cr_expect(strstr(html, "</html>"), "the report is truncated");
    json_t *data = html_data(html);
    cr_assert_not_null(data, "no embedded data");
    json_t *e;
    size_t i;
    long sum = 0, agg = -1;
    json_array_foreach(json_object_get(data, "stats"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (name && strcmp(name, "Aggregated") == 0)
            agg = (long)h_num(e, "num_requests");
        else
            sum += (long)h_num(e, "num_requests");
    }
    cr_expect_eq(sum, h_total_requests(o.run.json), "requests in the HTML data");
    if (agg >= 0)
        cr_expect_eq(agg, h_total_requests(o.run.json));
    cr_expect_eq(json_array_size(json_object_get(data, "exceptions")), 1);
    json_decref(data);
    free(html);
    h_run_free(&o.run);
}

Test(outputs, html_file_name_tags_expand)
{
    h_run_t r;
    const char *dir = h_tmpdir();
    cr_assert_eq(h_cicada(&r, NULL, mixed, "-H", host(), "-u", "2", "-r", "10", "-t", "1s",
                          "--html", h_strf("%s/report_{u}_{r}_{t}.html", dir), H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    cr_expect_eq(access(h_strf("%s/report_2_10_1.html", dir), F_OK), 0, "no report_2_10_1.html");
    h_run_free(&r);
}

/* The sum of a field over Locust's serialised entries (--json, --json-file). */
static long locust_sum(json_t *entries, const char *field)
{
    long n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) n += (long)json_integer_value(json_object_get(e, field));
    return json_is_array(entries) ? n : -1;
}

Test(outputs, json_file_equals_the_json_on_stdout)
{
    h_run_t r;
    const char *dir = h_tmpdir();
    cr_assert_eq(h_cicada(&r, NULL, mixed, "-H", host(), "-u", "2", "-r", "100", "-t", "1s",
                          "--headless", "--json", "--json-file", h_strf("%s/run", dir),
                          "--stop-timeout", "0", NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    json_t *f = json_load_file(h_strf("%s/run.json", dir), 0, NULL);
    cr_assert_not_null(f, "--json-file wrote no JSON");
    cr_expect_gt(locust_sum(f, "num_requests"), 0);
    cr_expect_eq(locust_sum(f, "num_requests"), locust_sum(r.json, "num_requests"));
    cr_expect_eq(locust_sum(f, "num_failures"), locust_sum(r.json, "num_failures"));
    cr_expect(json_equal(f, r.json), "the two reports differ");
    json_decref(f);
    h_run_free(&r);
}

static const char *delay100 =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('D', { wait_time = cicada.constant(0), tasks = { t = 1 } })\n"
    "function U:t() self.client:get('/delay/100') end\n";

Test(outputs, delay_percentiles_are_within_bounds)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, delay100, "-H", host(), "-u", "4", "-r", "100", "-t", "2s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    json_t *e = h_entry(r.json, "GET", "/delay/100");
    double n = h_num(e, "num_requests");
    cr_expect(n >= 40 && n <= 84, "4 users x 2 s at 100 ms: %.0f requests", n);
    cr_expect_geq(h_num(e, "min_response_time"), 99.9);
    cr_expect(h_pct(e, "0.5") >= 100 && h_pct(e, "0.5") < 130, "p50 %.3f", h_pct(e, "0.5"));
    cr_expect(h_pct(e, "0.95") >= 100 && h_pct(e, "0.95") < 250, "p95 %.3f", h_pct(e, "0.95"));
    cr_expect_lt(h_num(e, "max_response_time"), 400);
    double con[11];
    cr_assert(console_percentiles(r.err, "/delay/100", con));
    cr_expect(con[0] >= 100 && con[0] < 130, "console p50 %g", con[0]);
    h_run_free(&r);
}

/* ---- However the run ends, every output is complete -------------------------------------- */

static const char *endless =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('E', { wait_time = cicada.constant(0.01), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get('/delay/5', { name = 't' })\n"
    "  self.n = (self.n or 0) + 1\n"
    "  if os.getenv('STOP_AFTER') and self.n == tonumber(os.getenv('STOP_AFTER')) then\n"
    "    cicada.stop_test('done')\n"
    "  end\n"
    "end\n"
    "if os.getenv('SHAPE') then\n"
    "  cicada.shape(function(t) if t < 1.5 then return 2, 10 end return nil end)\n"
    "end\n";

/* No file of dir has ".tmp." in its name: every rewrite was renamed into place. */
static void expect_no_temporary_files(const char *dir, const char *how)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL)
        cr_expect(!strstr(e->d_name, ".tmp."), "%s: temporary file left: %s", how, e->d_name);
    closedir(d);
}

static void expect_complete_outputs(const char *how, int sig, const char *stop_after,
                                    const char *shape, const char *run_time)
{
    outrun_t o;
    const char *env[] = {stop_after ? h_strf("STOP_AFTER=%s", stop_after) : "IGNORED=1",
                         shape ? "SHAPE=1" : "IGNORED=1", NULL};
    h_run_opts_t opts = {.env = env, .signal = sig, .signal_after_s = sig ? 2.0 : 0};
    const char *extra[] = {"-u", "2", "-r", "100", "-t", run_time, NULL};
    run_outputs(&o, endless, &opts, extra);
    H_ASSERT_EXIT(&o.run, 0);
    H_ASSERT_JSON(&o.run);
    cr_expect_lt(o.run.elapsed_s, 10, "%s: the run did not end early", how);
    long total = h_total_requests(o.run.json);
    cr_expect_gt(total, 5, "%s", how);
    expect_stats_csv_matches(csv_path(&o, "stats"), o.run.json);
    cr_expect_str_eq(first_line(csv_path(&o, "stats_history")), HISTORY_HEADER, "%s", how);
    cr_expect_str_eq(first_line(csv_path(&o, "failures")), FAILURES_HEADER, "%s", how);
    cr_expect_str_eq(first_line(csv_path(&o, "exceptions")), EXCEPTIONS_HEADER, "%s", how);
    h_csv_t c;
    cr_assert_eq(h_csv_read(&c, csv_path(&o, "stats_history")), 0);
    cr_expect_eq(cell(&c, (long)c.nrows - 1, "Total Request Count"), (double)total,
                 "%s: history lacks the final row", how);
    h_csv_free(&c);
    char *html = h_read_file(o.html, NULL);
    json_t *data = html_data(html);
    cr_expect(html && strstr(html, "</html>"), "%s: HTML report missing or truncated", how);
    cr_expect_not_null(data, "%s: no data in the HTML report", how);
    json_decref(data);
    free(html);
    json_t *f = json_load_file(o.json, 0, NULL);
    cr_expect_eq(locust_sum(f, "num_requests"), total, "%s: --json-file", how);
    json_decref(f);
    expect_no_temporary_files(o.dir, how);
    h_run_free(&o.run);
}

Test(outputs, complete_after_sigint)
{
    expect_complete_outputs("SIGINT", SIGINT, NULL, NULL, "30s");
}

Test(outputs, complete_after_sigterm)
{
    expect_complete_outputs("SIGTERM", SIGTERM, NULL, NULL, "30s");
}

Test(outputs, complete_after_the_run_time)
{
    expect_complete_outputs("-t", 0, NULL, NULL, "2s");
}

Test(outputs, complete_after_a_load_shape_ends)
{
    expect_complete_outputs("shape", 0, NULL, "1", "30s");
}

Test(outputs, complete_after_stop_test)
{
    expect_complete_outputs("stop_test", 0, "40", NULL, "30s");
}

Test(outputs, csv_full_history_has_a_row_per_entry_each_second)
{
    outrun_t o;
    const char *extra[] = {"-u", "2", "-r", "100", "-t", "3s", "--csv-full-history", NULL};
    run_outputs(&o, mixed, NULL, extra);
    H_ASSERT_EXIT(&o.run, 1);
    H_ASSERT_JSON(&o.run);
    h_csv_t c;
    cr_assert_eq(h_csv_read(&c, csv_path(&o, "stats_history")), 0);
    long agg = 0, fast = 0, slow = 0;
    for (size_t i = 1; i < c.nrows; i++) {
        agg += strcmp(c.rows[i][3], "Aggregated") == 0;
        fast += strcmp(c.rows[i][3], "fast") == 0 && strcmp(c.rows[i][2], "GET") == 0;
        slow += strcmp(c.rows[i][3], "slow") == 0;
    }
    cr_expect_geq(agg, 3, "%ld Aggregated rows", agg);
    /* Every second after the first requests has a row per entry, before its Aggregated row. */
    cr_expect(fast >= agg - 2 && fast <= agg, "%ld rows for fast, %ld Aggregated", fast, agg);
    cr_expect(slow >= agg - 2 && slow <= agg, "%ld rows for slow, %ld Aggregated", slow, agg);
    cr_expect_str_eq(c.rows[c.nrows - 1][3], "Aggregated");
    h_csv_free(&c);
    h_run_free(&o.run);
}

static const char *hostile =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('X', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get('/hello', { name = '</script><script>alert(1)</script><b>x</b>' })\n"
    "end\n";

Test(outputs, html_report_escapes_request_names)
{
    outrun_t o;
    const char *extra[] = {"-u", "1", "-r", "100", "-t", "1s", NULL};
    run_outputs(&o, hostile, NULL, extra);
    H_ASSERT_EXIT(&o.run, 0);
    char *html = h_read_file(o.html, NULL);
    cr_assert_not_null(html);
    cr_expect_null(strstr(html, "alert(1)</script>"), "a request name closed a script element");
    cr_expect_null(strstr(html, "<b>x</b>"), "a request name became markup");
    json_t *data = html_data(html);
    cr_assert_not_null(data, "the embedded data does not parse");
    json_t *e = json_array_get(json_object_get(data, "stats"), 0);
    cr_expect_str_eq(json_string_value(json_object_get(e, "name")),
                     "</script><script>alert(1)</script><b>x</b>");
    json_decref(data);
    free(html);
    h_run_free(&o.run);
}

/* Times keep what was measured: a 137 ms delay reads 137 (Locust's buckets would say 140), and
 * a sub-millisecond answer reads as such, not 0. */
Test(outputs, console_times_have_three_significant_digits)
{
    h_run_t r;
    const char *lua = "local cicada = require 'cicada'\n"
                      "local U = cicada.user('D', { wait_time = cicada.constant(0.01),\n"
                      "                             tasks = { slow = 1, fast = 1 } })\n"
                      "function U:slow() self.client:get('/delay/137') end\n"
                      "function U:fast() self.client:get('/hello') end\n";
    cr_assert_eq(h_cicada(&r, NULL, lua, "-H", host(), "-u", "4", "-r", "100", "-t", "2s",
                          H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(h_contains(r.err, "Response time percentiles (ms, exact to 3 significant digits)"),
              "the percentile table's title does not say what its numbers are");
    double slow[11], fast[11];
    cr_assert(console_percentiles(r.err, "/delay/137", slow));
    cr_assert(console_percentiles(r.err, "/hello", fast));
    cr_expect(slow[0] >= 137 && slow[0] < 140, "console p50 of /delay/137: %g", slow[0]);
    cr_expect_gt(fast[0], 0, "a fast answer's p50 prints as 0");
    cr_expect_lt(fast[0], 50, "console p50 of /hello: %g", fast[0]);
    h_run_free(&r);
}
