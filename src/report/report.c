/* Console tables in Locust's layout and the JSON statistics document. */
#include "report/report.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/error.h"
#include "report/format.h"

#define TYPE_WIDTH     8
#define NAME_WIDTH_MAX 80
#define NAME_WIDTH_MIN 24

static const double PERCENTILES[] = {0.5,  0.66, 0.75,  0.8,    0.9, 0.95,
                                     0.98, 0.99, 0.999, 0.9999, 1.0};
static const char *const PERCENTILE_LABELS[] = {"50%", "66%", "75%",   "80%",    "90%", "95%",
                                                "98%", "99%", "99.9%", "99.99%", "100%"};
static const char *const PERCENTILE_KEYS[] = {"0.5",  "0.66", "0.75",  "0.8",    "0.9", "0.95",
                                              "0.98", "0.99", "0.999", "0.9999", "1.0"};
#define NPERCENTILES (sizeof(PERCENTILES) / sizeof(PERCENTILES[0]))

/* Locust's STATS_NAME_WIDTH: 80, or the terminal's width minus 80 when that is smaller (kept
 * at a readable minimum here, where Locust would let the column vanish). */
static int name_width(FILE *out)
{
    struct winsize ws;
    int fd = fileno(out);
    if (fd < 0 || !isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
        return NAME_WIDTH_MAX;
    int w = (int)ws.ws_col - 80;
    if (w > NAME_WIDTH_MAX)
        return NAME_WIDTH_MAX;
    return w < NAME_WIDTH_MIN ? NAME_WIDTH_MIN : w;
}

static void put_dashes(FILE *out, int n)
{
    for (int i = 0; i < n; i++)
        fputc('-', out);
}

static bool utf8_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Characters (UTF-8 code points) in s[0, len). */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += !utf8_cont((unsigned char)s[i]);
    return n;
}

/* Byte offset just after the first `chars` characters of s. */
static size_t utf8_prefix(const char *s, size_t chars)
{
    size_t i = 0;
    for (; s[i] && chars; chars--) {
        i++;
        while (s[i] && utf8_cont((unsigned char)s[i]))
            i++;
    }
    return i;
}

/* Writes s left-justified in a cell of `width` characters. A longer s keeps its head and tail
 * around "...": request names usually differ at the end (ids, query strings). */
static void put_cell(FILE *out, const char *s, int width)
{
    size_t len = strlen(s), chars = utf8_chars(s, len);
    if (chars <= (size_t)width) {
        fputs(s, out);
        for (size_t i = chars; i < (size_t)width; i++)
            fputc(' ', out);
        return;
    }
    size_t keep = (size_t)width - 3, tail = keep / 2;
    size_t head_end = utf8_prefix(s, keep - tail), tail_start = utf8_prefix(s, chars - tail);
    fprintf(out, "%.*s...%s", (int)head_end, s, s + tail_start);
}

/* A time for a table cell, to three significant digits (rounding is monotonic, so min <=
 * median <= max still holds in print). One buffer per cell of a row. */
typedef struct {
    char s[CCD_FORMAT_MS_SIZE];
} ms_text_t;

static const char *ms_text(ms_text_t *t, double ms)
{
    return ccd_format_ms(t->s, sizeof(t->s), ms);
}

static double fail_ratio(const ccd_stats_entry_t *e)
{
    if (e->num_requests)
        return (double)e->num_failures / (double)e->num_requests;
    return e->num_failures ? 1.0 : 0.0;
}

static void table_header(FILE *out, int name_col)
{
    fprintf(out, "%-*s ", TYPE_WIDTH, "Type");
    put_cell(out, "Name", name_col);
    fprintf(out, " %7s %12s |%7s %7s %7s%7s | %7s %11s\n", "# reqs", "# fails", "Avg", "Min", "Max",
            "Med", "req/s", "failures/s");
}

static void table_separator(FILE *out, int name_col)
{
    static const int widths[] = {7, 13, 7, 7, 7, 7, 8, 11};
    put_dashes(out, TYPE_WIDTH);
    fputc('|', out);
    put_dashes(out, name_col);
    for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        fputc('|', out);
        put_dashes(out, widths[i]);
    }
    fputc('\n', out);
}

/* One row; the Type cell is the method and a space, as Locust prints it. */
static void table_row(FILE *out, const ccd_stats_entry_t *e, int name_col, double rps,
                      double fail_per_sec)
{
    char type[64], fails[64];
    snprintf(type, sizeof(type), "%s%s", e->method, e->method[0] ? " " : "");
    snprintf(fails, sizeof(fails), "%" PRIu64 "(%.2f%%)", e->num_failures, fail_ratio(e) * 100);
    fprintf(out, "%-*s ", TYPE_WIDTH, type);
    put_cell(out, e->name, name_col);
    ms_text_t t[4];
    fprintf(out, " %7" PRIu64 " %12s |%7s %7s %7s%7s | %7.2f %11.2f\n", e->num_requests, fails,
            ms_text(&t[0], ccd_stats_avg_ms(e)), ms_text(&t[1], ccd_stats_min_ms(e)),
            ms_text(&t[2], ccd_stats_max_ms(e)), ms_text(&t[3], ccd_stats_percentile_ms(e, 0.5)),
            rps, fail_per_sec);
}

static void entry_row(FILE *out, const ccd_stats_entry_t *e, int name_col, bool current, double now)
{
    if (current)
        table_row(out, e, name_col, ccd_stats_current_rps(e, now),
                  ccd_stats_current_fail_per_sec(e, now));
    else
        table_row(out, e, name_col, ccd_stats_total_rps(e), ccd_stats_total_fail_per_sec(e));
}

static void table(FILE *out, const ccd_stats_t *s, bool current, double now)
{
    /* Locust narrows the name column by 4 to make room for the type column. */
    int name_col = name_width(out) - TYPE_WIDTH + 4;
    table_header(out, name_col);
    table_separator(out, name_col);
    for (size_t i = 0; i < ccd_stats_count(s); i++)
        entry_row(out, ccd_stats_get(s, i), name_col, current, now);
    table_separator(out, name_col);
    entry_row(out, ccd_stats_total(s), name_col, current, now);
    fputc('\n', out);
}

void ccd_report_table(FILE *out, const ccd_stats_t *s, double now)
{
    table(out, s, true, now);
}

void ccd_report_table_final(FILE *out, const ccd_stats_t *s)
{
    table(out, s, false, 0);
}

static void percentile_separator(FILE *out, int name_col)
{
    put_dashes(out, TYPE_WIDTH);
    fputc('|', out);
    put_dashes(out, name_col);
    fputc('|', out);
    put_dashes(out, 8);
    for (size_t i = 0; i < NPERCENTILES; i++) {
        fputc('|', out);
        put_dashes(out, 6);
    }
    fputc('\n', out);
}

/* Locust's layout puts the first percentile in an 8-wide column and # reqs in the last
 * 6-wide one. */
static void percentile_row(FILE *out, const ccd_stats_entry_t *e, int name_col)
{
    fprintf(out, "%-*s ", TYPE_WIDTH, e->method);
    put_cell(out, e->name, name_col);
    ms_text_t t;
    for (size_t i = 0; i < NPERCENTILES; i++)
        fprintf(out, i ? " %6s" : " %8s", ms_text(&t, ccd_stats_percentile_ms(e, PERCENTILES[i])));
    fprintf(out, " %6" PRIu64 "\n", e->num_requests);
}

static void percentiles_titled(FILE *out, const ccd_stats_t *s, const char *title)
{
    int name_col = name_width(out);
    fputs(title, out);
    fprintf(out, "%-*s ", TYPE_WIDTH, "Type");
    put_cell(out, "Name", name_col);
    for (size_t i = 0; i < NPERCENTILES; i++)
        fprintf(out, i ? " %6s" : " %8s", PERCENTILE_LABELS[i]);
    fprintf(out, " %6s\n", "# reqs");
    percentile_separator(out, name_col);
    for (size_t i = 0; i < ccd_stats_count(s); i++) {
        if (ccd_stats_get(s, i)->num_requests)
            percentile_row(out, ccd_stats_get(s, i), name_col);
    }
    percentile_separator(out, name_col);
    if (ccd_stats_total(s)->num_requests)
        percentile_row(out, ccd_stats_total(s), name_col);
    fputc('\n', out);
}

void ccd_report_percentiles(FILE *out, const ccd_stats_t *s)
{
    percentiles_titled(out, s, "Response time percentiles (ms, exact to 3 significant digits)\n");
}

static double lateness_ms(const ccd_stats_arrivals_t *a, double q)
{
    return (double)ccd_hist_value_at_quantile(&a->lateness, q) / 1000.0;
}

/* The mean lateness, from the histogram's buckets (exact to them). */
static double lateness_mean_ms(const ccd_stats_arrivals_t *a)
{
    ccd_hist_iter_t it;
    double sum = 0;
    uint64_t n = 0;
    ccd_hist_iter_init(&it, &a->lateness);
    while (ccd_hist_iter_next(&it)) {
        sum += (double)it.value * (double)it.count;
        n += it.count;
    }
    return n ? sum / (double)n / 1000.0 : 0;
}

void ccd_report_open(FILE *out, const ccd_stats_t *s)
{
    size_t n = ccd_stats_arrivals_count(s);
    if (n == 0)
        return;
    fputs("Open model: iterations started on a schedule; the response times above are measured "
          "from each iteration's intended start\n",
          out);
    fprintf(out, "%-24s %10s %10s %10s %11s %10s %12s %10s %10s\n", "Class", "scheduled", "started",
            "dropped", "backlog max", "late", "lateness p50", "p99", "max (ms)");
    for (size_t i = 0; i < n; i++) {
        const ccd_stats_arrivals_t *a = ccd_stats_arrivals_get(s, i);
        ms_text_t t50, t99, tmax;
        fprintf(out,
                "%-24s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %11" PRIu64 " %10" PRIu64
                " %12s %10s %10s\n",
                a->cls, a->scheduled, a->started, a->dropped, a->backlog_max, a->late,
                ms_text(&t50, lateness_ms(a, 0.5)), ms_text(&t99, lateness_ms(a, 0.99)),
                ms_text(&tmax, lateness_ms(a, 1.0)));
    }
    fputc('\n', out);
    const ccd_stats_t *service = ccd_stats_service_get(s);
    if (service)
        percentiles_titled(out, service,
                           "Service time percentiles (ms from the actual send, without the wait "
                           "for a free user)\n");
}

/* The error report's layout: an 18-wide count column and the rest of the table's width. */
static void report_separator(FILE *out)
{
    put_dashes(out, 18);
    fputc('|', out);
    put_dashes(out, 80 + name_width(out) - 19);
    fputc('\n', out);
}

void ccd_report_errors(FILE *out, const ccd_stats_t *s)
{
    if (ccd_stats_error_count(s) == 0)
        return;
    fprintf(out, "Error report\n%-18s %s\n", "# occurrences", "Error");
    report_separator(out);
    for (size_t i = 0; i < ccd_stats_error_count(s); i++) {
        const ccd_stats_error_t *e = ccd_stats_error_get(s, i);
        fprintf(out, "%-18" PRIu64 " %s %s: %s\n", e->occurrences, e->method, e->name, e->error);
    }
    report_separator(out);
    fputc('\n', out);
}

void ccd_report_generator_errors(FILE *out, const ccd_stats_t *s)
{
    size_t n = ccd_stats_generator_error_count(s);
    if (n == 0)
        return;
    fputs("Generator errors (requests cicada could not send: its own failures, not the target's; "
          "not counted as requests or failures)\n",
          out);
    fprintf(out, "%-18s %s\n", "# occurrences", "Error");
    report_separator(out);
    for (size_t i = 0; i < n; i++) {
        const ccd_stats_error_t *e = ccd_stats_generator_error_get(s, i);
        fprintf(out, "%-18" PRIu64 " %s %s: %s\n", e->occurrences, e->method, e->name, e->error);
    }
    report_separator(out);
    fputc('\n', out);
}

/* Writes each line of text after an indent of `indent` spaces. */
static void put_indented(FILE *out, const char *text, int indent)
{
    while (*text) {
        size_t n = strcspn(text, "\n");
        fprintf(out, "%*s%.*s\n", indent, "", (int)n, text);
        text += n + (text[n] == '\n');
    }
}

void ccd_report_exceptions(FILE *out, const ccd_stats_t *s)
{
    if (ccd_stats_exception_count(s) == 0)
        return;
    fprintf(out, "Exception report\n%-18s %s\n", "# occurrences", "Message / Traceback");
    report_separator(out);
    for (size_t i = 0; i < ccd_stats_exception_count(s); i++) {
        const ccd_stats_exception_t *x = ccd_stats_exception_get(s, i);
        fprintf(out, "%-18" PRIu64 " %s\n", x->count, x->message);
        put_indented(out, x->traceback, 21);
    }
    report_separator(out);
    fputc('\n', out);
}

static int abandoned_cmp(const void *a, const void *b)
{
    const ccd_stats_abandoned_t *x = *(const ccd_stats_abandoned_t *const *)a;
    const ccd_stats_abandoned_t *y = *(const ccd_stats_abandoned_t *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->method, y->method);
}

/* The abandoned requests in (name, method) order: a malloc'd array of *n pointers into s, or
 * NULL (none, or out of memory). */
static const ccd_stats_abandoned_t **abandoned_sorted(const ccd_stats_t *s, size_t *n)
{
    *n = ccd_stats_abandoned_count(s);
    const ccd_stats_abandoned_t **v = *n ? malloc(*n * sizeof(*v)) : NULL;
    for (size_t i = 0; v && i < *n; i++)
        v[i] = ccd_stats_abandoned_get(s, i);
    if (v)
        qsort(v, *n, sizeof(*v), abandoned_cmp);
    else
        *n = 0;
    return v;
}

void ccd_report_abandoned(FILE *out, const ccd_stats_t *s)
{
    size_t n;
    const ccd_stats_abandoned_t **v = abandoned_sorted(s, &n);
    if (!v)
        return;
    fputs("Requests in flight at stop (abandoned: not counted as requests or failures)\n", out);
    fprintf(out, "%-18s %s\n", "# requests", "Request");
    report_separator(out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-18" PRIu64 " %s %s\n", v[i]->count, v[i]->method, v[i]->name);
    report_separator(out);
    fputc('\n', out);
    free(v);
}

/* ---- JSON ---- */

/* jansson refuses NaN and infinities; none should occur, but a document must still come out. */
static json_t *jreal(double x)
{
    return json_real(isfinite(x) ? x : 0);
}

json_t *ccd_report_percentiles_json(const ccd_stats_entry_t *e)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < NPERCENTILES; i++) {
        if (json_object_set_new(o, PERCENTILE_KEYS[i],
                                jreal(ccd_stats_percentile_ms(e, PERCENTILES[i])))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *entry_json(const ccd_stats_entry_t *e)
{
    json_t *pct = ccd_report_percentiles_json(e);
    if (!pct)
        return NULL;
    /* "o" steals the references; a NULL value makes json_pack fail and release the others. */
    return json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "method",
                     e->method, "name", e->name, "num_requests", (json_int_t)e->num_requests,
                     "num_failures", (json_int_t)e->num_failures, "min_response_time",
                     jreal(ccd_stats_min_ms(e)), "max_response_time", jreal(ccd_stats_max_ms(e)),
                     "avg_response_time", jreal(ccd_stats_avg_ms(e)), "median_response_time",
                     jreal(ccd_stats_percentile_ms(e, 0.5)), "response_time_percentiles", pct,
                     "total_rps", jreal(ccd_stats_total_rps(e)), "total_fail_per_sec",
                     jreal(ccd_stats_total_fail_per_sec(e)), "avg_content_length",
                     jreal(ccd_stats_avg_content_length(e)));
}

static json_t *entries_json(const ccd_stats_t *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ccd_stats_count(s); i++) {
        const ccd_stats_entry_t *e = ccd_stats_get(s, i);
        if (e->num_requests && json_array_append_new(a, entry_json(e))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* [{"method","name","error","occurrences"}...] of n errors read with get. */
static json_t *error_list_json(const ccd_stats_t *s, size_t n,
                               const ccd_stats_error_t *(*get)(const ccd_stats_t *, size_t))
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const ccd_stats_error_t *e = get(s, i);
        json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "method", e->method, "name", e->name, "error",
                              e->error, "occurrences", (json_int_t)e->occurrences);
        if (json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *ccd_report_errors_json(const ccd_stats_t *s)
{
    return error_list_json(s, ccd_stats_error_count(s), ccd_stats_error_get);
}

json_t *ccd_report_generator_errors_json(const ccd_stats_t *s)
{
    return json_pack(
        "{s:I, s:o}", "total", (json_int_t)ccd_stats_generator_error_total(s), "errors",
        error_list_json(s, ccd_stats_generator_error_count(s), ccd_stats_generator_error_get));
}

json_t *ccd_report_exceptions_json(const ccd_stats_t *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ccd_stats_exception_count(s); i++) {
        const ccd_stats_exception_t *x = ccd_stats_exception_get(s, i);
        json_t *o = json_pack("{s:I, s:s, s:s}", "count", (json_int_t)x->count, "message",
                              x->message, "traceback", x->traceback);
        if (json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *ccd_report_abandoned_json(const ccd_stats_t *s)
{
    size_t n;
    const ccd_stats_abandoned_t **v = abandoned_sorted(s, &n);
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = json_pack("{s:s, s:s, s:I}", "method", v[i]->method, "name", v[i]->name,
                              "count", (json_int_t)v[i]->count);
        if (json_array_append_new(a, o)) {
            json_decref(a);
            a = NULL;
        }
    }
    free(v);
    if (ccd_stats_abandoned_count(s) != n) { /* could not sort: better nothing than a part */
        json_decref(a);
        return NULL;
    }
    return json_pack("{s:I, s:o}", "total", (json_int_t)ccd_stats_abandoned_total(s), "requests",
                     a);
}

static json_t *arrivals_json(const ccd_stats_arrivals_t *a)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:{s:o, s:o, s:o, s:o}}", "class", a->cls,
                     "scheduled", (json_int_t)a->scheduled, "started", (json_int_t)a->started,
                     "dropped_iterations", (json_int_t)a->dropped, "backlog_max",
                     (json_int_t)a->backlog_max, "late_starts", (json_int_t)a->late, "lateness_ms",
                     "p50", jreal(lateness_ms(a, 0.5)), "p99", jreal(lateness_ms(a, 0.99)), "max",
                     jreal(lateness_ms(a, 1.0)), "mean", jreal(lateness_mean_ms(a)));
}

json_t *ccd_report_open_json(const ccd_stats_t *s)
{
    const ccd_stats_t *service = ccd_stats_service_get(s);
    if (ccd_stats_arrivals_count(s) == 0 && !service)
        return json_null();
    json_t *classes = json_array();
    for (size_t i = 0; classes && i < ccd_stats_arrivals_count(s); i++)
        if (json_array_append_new(classes, arrivals_json(ccd_stats_arrivals_get(s, i)))) {
            json_decref(classes);
            return NULL;
        }
    json_t *svc = service ? json_pack("{s:o, s:o}", "stats", entries_json(service), "total",
                                      entry_json(ccd_stats_total(service)))
                          : json_null();
    return json_pack("{s:o, s:o}", "classes", classes, "service_time", svc);
}

json_t *ccd_report_json_doc(const ccd_stats_t *s, const ccd_history_t *h, unsigned user_count,
                            double duration_s)
{
    json_t *doc = json_pack("{s:o, s:o, s:o, s:o, s:I, s:o}", "stats", entries_json(s), "total",
                            entry_json(ccd_stats_total(s)), "errors", ccd_report_errors_json(s),
                            "exceptions", ccd_report_exceptions_json(s), "user_count",
                            (json_int_t)user_count, "duration_s", jreal(duration_s));
    if (doc &&
        (json_object_set_new(doc, "in_flight_at_stop", ccd_report_abandoned_json(s)) ||
         json_object_set_new(doc, "generator_errors", ccd_report_generator_errors_json(s)))) {
        json_decref(doc);
        return NULL;
    }
    if (doc && (ccd_stats_arrivals_count(s) || ccd_stats_service_get(s)) &&
        json_object_set_new(doc, "open_model", ccd_report_open_json(s))) {
        json_decref(doc);
        return NULL;
    }
    if (doc && h && json_object_set_new(doc, "history", ccd_history_to_json(h))) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

int ccd_report_json_dump(FILE *out, const json_t *doc)
{
    return json_dumpf(doc, out, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) == 0 &&
                   fputc('\n', out) != EOF
               ? 0
               : -EIO;
}

int ccd_report_json(FILE *out, const ccd_stats_t *s, const ccd_history_t *h, unsigned user_count,
                    double duration_s)
{
    json_t *doc = ccd_report_json_doc(s, h, user_count, duration_s);
    if (!doc)
        return CCD_ENOMEM;
    int rc = ccd_report_json_dump(out, doc);
    json_decref(doc);
    return rc;
}
