/* Locust's four CSV files, written the way Python's csv module writes them. */
#include "report/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/outfile.h"

static const double PERCENTILES[] = {0.5,  0.66, 0.75,  0.8,    0.9, 0.95,
                                     0.98, 0.99, 0.999, 0.9999, 1.0};
static const char *const PERCENTILE_HEADER = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
#define NPERCENTILES (sizeof(PERCENTILES) / sizeof(PERCENTILES[0]))

static const char *const REQUESTS_HEADER =
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,";
static const char *const HISTORY_HEADER = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,";
static const char *const HISTORY_TOTALS =
    ",Total Request Count,Total Failure Count,Total Median Response Time,"
    "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size";

struct ccd_csv {
    char *prefix;
    bool full_history;
    FILE *history;
    long last_rows; /* offset of the rows of the last second appended; -1 before any */
};

/* One row being written: fields are separated by commas, the row ends with CRLF (the line
 * terminator of Python's csv module, which Locust uses unchanged). */
typedef struct {
    FILE *out;
    int n;
} row_t;

static void sep(row_t *r)
{
    if (r->n++)
        fputc(',', r->out);
}

/* Minimal quoting: only a field holding the delimiter, a quote or a line break is quoted,
 * and quotes inside it are doubled. */
static void field_str(row_t *r, const char *s)
{
    sep(r);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, r->out);
        return;
    }
    fputc('"', r->out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', r->out);
        fputc(*s, r->out);
    }
    fputc('"', r->out);
}

static void field_u64(row_t *r, uint64_t v)
{
    sep(r);
    fprintf(r->out, "%" PRIu64, v);
}

static void field_ms(row_t *r, double ms)
{
    sep(r);
    fprintf(r->out, "%lld", llround(ms));
}

static void field_float(row_t *r, double v)
{
    char buf[40];
    sep(r);
    fputs(ccd_csv_format_float(buf, sizeof(buf), v), r->out);
}

/* Locust writes `min_response_time or 0`, and its max starts as the integer 0 (which
 * max(0, 0.0) keeps): an integer 0 for zero, a float otherwise. */
static void field_float_or_zero(row_t *r, double v, bool has_value)
{
    if (has_value && v != 0)
        field_float(r, v);
    else
        field_u64(r, 0);
}

static void field_rate(row_t *r, double v)
{
    sep(r);
    fprintf(r->out, "%2f", v);
}

static int row_end(row_t *r)
{
    fputs("\r\n", r->out);
    return ferror(r->out) ? -EIO : 0;
}

static int header(FILE *out, const char *head, const char *tail)
{
    fprintf(out, "%s%s%s\r\n", head, PERCENTILE_HEADER, tail);
    return ferror(out) ? -EIO : 0;
}

/* Decomposes the shortest round-tripping form of v > 0 into its digits and the position of
 * the decimal point relative to them (v = 0.DIGITS * 10^decpt), as Python's repr finds it. */
static void shortest_digits(double v, char *digits, int *decpt)
{
    char tmp[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    char *e = strchr(tmp, 'e');
    int n = 0;
    for (char *p = tmp; p < e; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *decpt = atoi(e + 1) + 1;
}

static char *put_zeros(char *p, int n)
{
    while (n-- > 0)
        *p++ = '0';
    return p;
}

char *ccd_csv_format_float(char *buf, size_t len, double v)
{
    if (isnan(v) || isinf(v)) {
        snprintf(buf, len, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return buf;
    }
    char out[64], d[24], *p = out;
    int decpt = 1;
    if (signbit(v))
        *p++ = '-';
    if (v == 0)
        strcpy(d, "0");
    else
        shortest_digits(fabs(v), d, &decpt);
    int nd = (int)strlen(d);
    if (decpt > -4 && decpt <= 16) { /* Python's repr switches to exponents outside this */
        if (decpt <= 0) {
            p = put_zeros(p, 1);
            *p++ = '.';
            p = put_zeros(p, -decpt);
            p = stpcpy(p, d);
        } else if (decpt >= nd) {
            p = put_zeros(stpcpy(p, d), decpt - nd);
            p = stpcpy(p, ".0");
        } else {
            p = stpcpy(mempcpy(p, d, (size_t)decpt), ".");
            p = stpcpy(p, d + decpt);
        }
        *p = '\0';
    } else {
        *p++ = d[0];
        if (nd > 1)
            p = stpcpy(stpcpy(p, "."), d + 1);
        snprintf(p, sizeof(out) - (size_t)(p - out), "e%c%02d", decpt > 0 ? '+' : '-',
                 abs(decpt - 1));
    }
    snprintf(buf, len, "%s", out);
    return buf;
}

static void percentile_fields(row_t *r, const ccd_stats_entry_t *e, const ccd_history_t *h,
                              bool current, double now)
{
    for (size_t i = 0; i < NPERCENTILES; i++) {
        double ms = 0;
        if (!e->num_requests)
            field_str(r, "N/A");
        else if (current) {
            ccd_history_current_percentile_ms(h, e, PERCENTILES[i], now, &ms);
            field_ms(r, ms); /* 0 without a window, as Locust's int(None or 0) */
        } else
            field_ms(r, ccd_stats_percentile_ms(e, PERCENTILES[i]));
    }
}

/* Median, average, min, max and average content size: the summary columns of both files. */
static void summary_fields(row_t *r, const ccd_stats_entry_t *e)
{
    bool any = e->num_requests > 0;
    field_ms(r, ccd_stats_percentile_ms(e, 0.5));
    field_float(r, ccd_stats_avg_ms(e));
    field_float_or_zero(r, ccd_stats_min_ms(e), any);
    field_float_or_zero(r, ccd_stats_max_ms(e), any);
    if (any) /* total / count: a float even when 0, unlike min and max */
        field_float(r, ccd_stats_avg_content_length(e));
    else
        field_u64(r, 0);
}

static int request_row(FILE *out, const ccd_stats_entry_t *e)
{
    row_t r = {out, 0};
    field_str(&r, e->method);
    field_str(&r, e->name);
    field_u64(&r, e->num_requests);
    field_u64(&r, e->num_failures);
    summary_fields(&r, e);
    field_float(&r, ccd_stats_total_rps(e));
    field_float(&r, ccd_stats_total_fail_per_sec(e));
    percentile_fields(&r, e, NULL, false, 0);
    return row_end(&r);
}

int ccd_csv_requests(FILE *out, const ccd_stats_t *s)
{
    int rc = header(out, REQUESTS_HEADER, "");
    for (size_t i = 0; rc == 0 && i < ccd_stats_count(s); i++)
        rc = request_row(out, ccd_stats_get(s, i));
    return rc ? rc : request_row(out, ccd_stats_total(s));
}

int ccd_csv_failures(FILE *out, const ccd_stats_t *s)
{
    fputs("Method,Name,Error,Occurrences\r\n", out);
    int rc = ferror(out) ? -EIO : 0;
    for (size_t i = 0; rc == 0 && i < ccd_stats_error_count(s); i++) {
        const ccd_stats_error_t *e = ccd_stats_error_get(s, i);
        row_t r = {out, 0};
        field_str(&r, e->method);
        field_str(&r, e->name);
        field_str(&r, e->error);
        field_u64(&r, e->occurrences);
        rc = row_end(&r);
    }
    return rc;
}

int ccd_csv_exceptions(FILE *out, const ccd_stats_t *s)
{
    fputs("Count,Message,Traceback,Nodes\r\n", out);
    int rc = ferror(out) ? -EIO : 0;
    for (size_t i = 0; rc == 0 && i < ccd_stats_exception_count(s); i++) {
        const ccd_stats_exception_t *x = ccd_stats_exception_get(s, i);
        row_t r = {out, 0};
        field_u64(&r, x->count);
        field_str(&r, x->message);
        field_str(&r, x->traceback);
        field_str(&r, "local");
        rc = row_end(&r);
    }
    return rc;
}

int ccd_csv_history_header(FILE *out)
{
    return header(out, HISTORY_HEADER, HISTORY_TOTALS);
}

static int history_row(FILE *out, const ccd_stats_entry_t *e, const ccd_history_t *h, bool current,
                       unsigned user_count, double now)
{
    row_t r = {out, 0};
    field_u64(&r, (uint64_t)floor(now));
    field_u64(&r, user_count);
    field_str(&r, e->method);
    field_str(&r, e->name);
    field_rate(&r, ccd_stats_current_rps(e, now));
    field_rate(&r, ccd_stats_current_fail_per_sec(e, now));
    percentile_fields(&r, e, h, current, now);
    field_u64(&r, e->num_requests);
    field_u64(&r, e->num_failures);
    summary_fields(&r, e);
    return row_end(&r);
}

int ccd_csv_history_rows(FILE *out, const ccd_stats_t *s, const ccd_history_t *h, bool full_history,
                         unsigned user_count, double now)
{
    int rc = 0;
    for (size_t i = 0; full_history && rc == 0 && i < ccd_stats_count(s); i++)
        rc = history_row(out, ccd_stats_get(s, i), h, true, user_count, now);
    return rc ? rc : history_row(out, ccd_stats_total(s), h, full_history, user_count, now);
}

static char *path_of(const char *prefix, const char *suffix)
{
    char *p;
    return asprintf(&p, "%s%s", prefix, suffix) < 0 ? NULL : p;
}

typedef struct {
    int (*fill)(FILE *, const ccd_stats_t *);
    const ccd_stats_t *s;
} table_t;

static int fill_table(FILE *f, const void *ud)
{
    const table_t *t = ud;
    return t->fill(f, t->s);
}

/* Rewrites PREFIX<suffix> whole (readers see the old file or the new one, never half). */
static int write_atomic(const char *prefix, const char *suffix,
                        int (*fill)(FILE *, const ccd_stats_t *), const ccd_stats_t *s)
{
    char *path = path_of(prefix, suffix);
    if (!path)
        return CCD_ENOMEM;
    table_t t = {fill, s};
    int rc = ccd_outfile_write(path, fill_table, &t);
    free(path);
    return rc;
}

int ccd_csv_arrivals(FILE *out, const ccd_stats_t *s)
{
    fputs("Class,Scheduled,Started,Dropped Iterations,Backlog Max,Late Starts,Lateness 50%,"
          "Lateness 99%,Lateness Max\r\n",
          out);
    if (ferror(out))
        return -EIO;
    for (size_t i = 0; i < ccd_stats_arrivals_count(s); i++) {
        const ccd_stats_arrivals_t *a = ccd_stats_arrivals_get(s, i);
        row_t r = {out, 0};
        field_str(&r, a->cls);
        field_u64(&r, a->scheduled);
        field_u64(&r, a->started);
        field_u64(&r, a->dropped);
        field_u64(&r, a->backlog_max);
        field_u64(&r, a->late);
        field_float(&r, (double)ccd_hist_value_at_quantile(&a->lateness, 0.5) / 1000.0);
        field_float(&r, (double)ccd_hist_value_at_quantile(&a->lateness, 0.99) / 1000.0);
        field_float(&r, (double)ccd_hist_value_at_quantile(&a->lateness, 1.0) / 1000.0);
        if (row_end(&r))
            return -EIO;
    }
    return 0;
}

int ccd_csv_write(ccd_csv_t *c, const ccd_stats_t *s)
{
    int rc = write_atomic(c->prefix, "_stats.csv", ccd_csv_requests, s);
    if (rc == 0)
        rc = write_atomic(c->prefix, "_failures.csv", ccd_csv_failures, s);
    if (rc == 0)
        rc = write_atomic(c->prefix, "_exceptions.csv", ccd_csv_exceptions, s);
    /* The open model's files, beside Locust's and only when it ran. */
    if (rc == 0 && ccd_stats_service_get(s))
        rc = write_atomic(c->prefix, "_service_stats.csv", ccd_csv_requests,
                          ccd_stats_service_get(s));
    if (rc == 0 && ccd_stats_arrivals_count(s))
        rc = write_atomic(c->prefix, "_arrivals.csv", ccd_csv_arrivals, s);
    return rc;
}

int ccd_csv_open(ccd_csv_t **out, const char *prefix, bool full_history, char *err, size_t errlen)
{
    ccd_csv_t *c = calloc(1, sizeof(*c));
    char *path = NULL;
    if (!c || !(c->prefix = strdup(prefix)) || !(path = path_of(prefix, "_stats_history.csv"))) {
        ccd_csv_close(c);
        return CCD_ENOMEM;
    }
    c->full_history = full_history;
    c->last_rows = -1;
    int rc = (c->history = fopen(path, "w")) ? 0 : -errno;
    if (rc == 0 && (rc = ccd_csv_history_header(c->history)) == 0 && fflush(c->history) != 0)
        rc = -errno;
    ccd_stats_t *empty = rc == 0 ? ccd_stats_new(0) : NULL;
    if (rc == 0 && !empty)
        rc = CCD_ENOMEM;
    if (rc == 0)
        rc = ccd_csv_write(c, empty);
    ccd_stats_free(empty);
    if (rc) {
        snprintf(err, errlen, "cannot write the CSV files %s_*.csv: %s", prefix, ccd_strerror(rc));
        free(path);
        ccd_csv_close(c);
        return rc;
    }
    free(path);
    *out = c;
    return 0;
}

int ccd_csv_append_history(ccd_csv_t *c, const ccd_stats_t *s, const ccd_history_t *h,
                           unsigned user_count, double now)
{
    c->last_rows = ftell(c->history);
    int rc = ccd_csv_history_rows(c->history, s, h, c->full_history, user_count, now);
    if (fflush(c->history) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

int ccd_csv_replace_history(ccd_csv_t *c, const ccd_stats_t *s, const ccd_history_t *h,
                            unsigned user_count, double now)
{
    if (c->last_rows < 0)
        return ccd_csv_append_history(c, s, h, user_count, now);
    if (fflush(c->history) != 0 || ftruncate(fileno(c->history), c->last_rows) != 0 ||
        fseek(c->history, c->last_rows, SEEK_SET) != 0)
        return -errno;
    return ccd_csv_append_history(c, s, h, user_count, now);
}

int ccd_csv_close(ccd_csv_t *c)
{
    if (!c)
        return 0;
    int rc = 0;
    if (c->history && fclose(c->history) != 0)
        rc = -errno;
    free(c->prefix);
    free(c);
    return rc;
}
