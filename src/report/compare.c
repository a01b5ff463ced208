/* Two runs side by side: loading either document form, pairing entries, the change, the
 * regressions, and the console and Markdown tables. */
#include "report/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "report/format.h"

static const char *const METRIC_NAMES[CCD_CMP_METRICS] = {"rps", "fail-ratio", "p50", "p95", "p99"};
static const char *const METRIC_LABELS[CCD_CMP_METRICS] = {"req/s", "fail ratio", "p50 (ms)",
                                                           "p95 (ms)", "p99 (ms)"};
static const char *const PCT_KEYS[3] = {"0.5", "0.95", "0.99"};
static const double PCT_Q[3] = {0.5, 0.95, 0.99};

const char *ccd_compare_metric_name(ccd_compare_metric_t m)
{
    return METRIC_NAMES[m];
}

/* ---- loading ---- */

static int fail(char *err, size_t errlen, const char *path, const char *what)
{
    snprintf(err, errlen, "%s: %s", path, what);
    return CCD_EINVAL;
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static ccd_compare_entry_t *push(ccd_compare_run_t *run, const char *method, const char *name)
{
    ccd_compare_entry_t *v = ccd_array_grow(run->v, &run->cap, run->n + 1, sizeof(*v), 16);
    if (!v)
        return NULL;
    run->v = v;
    ccd_compare_entry_t *e = memset(&v[run->n], 0, sizeof(*e));
    e->method = strdup(method);
    e->name = strdup(name);
    run->n++;
    return e->method && e->name ? e : NULL;
}

/* An entry of the run document: counts, total_rps and exact percentiles. */
static int doc_entry(ccd_compare_run_t *run, const json_t *o, const char *where, char *err,
                     size_t errlen)
{
    const char *method = json_string_value(json_object_get(o, "method"));
    const char *name = json_string_value(json_object_get(o, "name"));
    const json_t *pct = json_object_get(o, "response_time_percentiles");
    double reqs = num(o, "num_requests"), fails = num(o, "num_failures"), rps = num(o, "total_rps");
    char what[160];
    if (!method || !name || isnan(reqs) || isnan(fails) || isnan(rps) || !json_is_object(pct)) {
        snprintf(what, sizeof(what),
                 "%s lacks method, name, num_requests, num_failures, "
                 "total_rps or response_time_percentiles",
                 where);
        return fail(err, errlen, run->path, what);
    }
    ccd_compare_entry_t *e = push(run, method, name);
    if (!e)
        return CCD_ENOMEM;
    e->num_requests = reqs;
    e->rps = rps;
    e->fail_ratio = reqs > 0 ? fails / reqs : 0;
    for (int i = 0; i < 3; i++)
        e->p[i] = num(pct, PCT_KEYS[i]);
    return 0;
}

static int load_doc(ccd_compare_run_t *run, const json_t *doc, char *err, size_t errlen)
{
    const json_t *stats = json_object_get(doc, "stats"), *total = json_object_get(doc, "total");
    if (!json_is_array(stats) || !json_is_object(total))
        return fail(err, errlen, run->path,
                    "not a cicada run document (no \"stats\" array and \"total\" object; "
                    "write one with --report-json) nor Locust's --json array");
    size_t i;
    const json_t *o;
    char where[64];
    json_array_foreach(stats, i, o)
    {
        snprintf(where, sizeof(where), "stats[%zu]", i);
        int rc = doc_entry(run, o, where, err, errlen);
        if (rc)
            return rc;
    }
    int rc = doc_entry(run, total, "total", err, errlen);
    if (rc)
        return rc;
    run->v[run->n - 1].method[0] = '\0';
    run->history = json_incref(json_object_get(doc, "history"));
    run->start_time =
        json_is_number(json_object_get(doc, "start_time")) ? num(doc, "start_time") : 0;
    const char *profile = json_string_value(json_object_get(doc, "profile"));
    run->profile = profile ? strdup(profile) : NULL;
    return 0;
}

/* Locust's bucketed response times, merged across entries for the Aggregated row. */
typedef struct {
    double *ms;
    double *count;
    size_t n, cap_ms, cap_count;
} buckets_t;

static int buckets_add(buckets_t *b, double ms, double count)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->ms[i] == ms)
            return b->count[i] += count, 0;
    double *m = ccd_array_grow(b->ms, &b->cap_ms, b->n + 1, sizeof(*m), 64);
    if (m)
        b->ms = m;
    double *c = m ? ccd_array_grow(b->count, &b->cap_count, b->n + 1, sizeof(*c), 64) : NULL;
    if (!c)
        return CCD_ENOMEM;
    b->count = c;
    b->ms[b->n] = ms;
    b->count[b->n++] = count;
    return 0;
}

static int by_ms_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Locust's calculate_response_time_percentile(): walking the buckets from the slowest, the
 * first at which at most int(n * q) requests remain below. */
static double bucket_percentile(const buckets_t *b, double n, double q)
{
    double *order = malloc((b->n ? b->n : 1) * 2 * sizeof(double));
    if (!order)
        return NAN;
    for (size_t i = 0; i < b->n; i++) {
        order[2 * i] = b->ms[i];
        order[2 * i + 1] = b->count[i];
    }
    qsort(order, b->n, 2 * sizeof(double), by_ms_desc);
    double below = floor(n * q), seen = 0, r = 0;
    for (size_t i = 0; i < b->n; i++) {
        seen += order[2 * i + 1];
        if (n - seen <= below) {
            r = order[2 * i];
            break;
        }
    }
    free(order);
    return r;
}

static int read_buckets(const json_t *rt, buckets_t *one, buckets_t *all)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)rt, key, v)
    {
        char *end;
        double ms = strtod(key, &end);
        if (*end || !json_is_number(v))
            return CCD_EINVAL;
        if (buckets_add(one, ms, json_number_value(v)) ||
            buckets_add(all, ms, json_number_value(v)))
            return CCD_ENOMEM;
    }
    return 0;
}

typedef struct {
    buckets_t all;
    double reqs, fails, first, last;
} locust_total_t;

static int locust_entry(ccd_compare_run_t *run, const json_t *o, size_t i, locust_total_t *t,
                        char *err, size_t errlen)
{
    const char *method = json_string_value(json_object_get(o, "method"));
    const char *name = json_string_value(json_object_get(o, "name"));
    const json_t *rt = json_object_get(o, "response_times");
    double reqs = num(o, "num_requests"), fails = num(o, "num_failures");
    double start = num(o, "start_time"), last = num(o, "last_request_timestamp");
    char what[200];
    snprintf(what, sizeof(what),
             "entry %zu lacks name, method, num_requests, num_failures, "
             "start_time or response_times (is it Locust's --json output?)",
             i);
    if (!method || !name || isnan(reqs) || isnan(fails) || isnan(start) || !json_is_object(rt))
        return fail(err, errlen, run->path, what);
    buckets_t b = {0};
    int rc = read_buckets(rt, &b, &t->all);
    ccd_compare_entry_t *e = rc ? NULL : push(run, method, name);
    if (e) {
        const json_t *pct = json_object_get(o, "response_time_percentiles");
        e->num_requests = reqs;
        e->fail_ratio = reqs > 0 ? fails / reqs : 0;
        e->rps = !isnan(last) && last > start ? reqs / (last - start) : 0;
        for (int k = 0; k < 3; k++)
            e->p[k] =
                json_is_object(pct) ? num(pct, PCT_KEYS[k]) : bucket_percentile(&b, reqs, PCT_Q[k]);
        t->reqs += reqs;
        t->fails += fails;
        t->first = t->first == 0 || start < t->first ? start : t->first;
        t->last = !isnan(last) && last > t->last ? last : t->last;
    }
    free(b.ms);
    free(b.count);
    if (rc == CCD_EINVAL) {
        snprintf(what, sizeof(what), "entry %zu: response_times is not {\"ms\": count}", i);
        return fail(err, errlen, run->path, what);
    }
    return rc ? rc : e ? 0 : CCD_ENOMEM;
}

static int load_locust(ccd_compare_run_t *run, const json_t *a, char *err, size_t errlen)
{
    locust_total_t t = {0};
    size_t i;
    const json_t *o;
    int rc = 0;
    json_array_foreach(a, i, o)
    {
        if ((rc = locust_entry(run, o, i, &t, err, errlen)))
            break;
    }
    ccd_compare_entry_t *e = rc ? NULL : push(run, "", "Aggregated");
    if (e) {
        e->num_requests = t.reqs;
        e->fail_ratio = t.reqs > 0 ? t.fails / t.reqs : 0;
        e->rps = t.last > t.first ? t.reqs / (t.last - t.first) : 0;
        for (int k = 0; k < 3; k++)
            e->p[k] = bucket_percentile(&t.all, t.reqs, PCT_Q[k]);
        run->start_time = t.first;
    }
    free(t.all.ms);
    free(t.all.count);
    return rc ? rc : e ? 0 : CCD_ENOMEM;
}

int ccd_compare_from_json(ccd_compare_run_t *run, const json_t *doc, const char *label, char *err,
                          size_t errlen)
{
    memset(run, 0, sizeof(*run));
    if (!(run->path = strdup(label)))
        return CCD_ENOMEM;
    return json_is_array(doc) ? load_locust(run, doc, err, errlen)
                              : load_doc(run, doc, err, errlen);
}

int ccd_compare_load(ccd_compare_run_t *run, const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc) {
        memset(run, 0, sizeof(*run));
        if (je.line > 0)
            snprintf(err, errlen, "%s: not valid JSON (line %d, column %d): %s", path, je.line,
                     je.column, je.text);
        else
            snprintf(err, errlen, "%s: %s", path, je.text);
        return CCD_EINVAL;
    }
    int rc = ccd_compare_from_json(run, doc, path, err, errlen);
    json_decref(doc);
    return rc;
}

void ccd_compare_run_free(ccd_compare_run_t *run)
{
    for (size_t i = 0; i < run->n; i++) {
        free(run->v[i].method);
        free(run->v[i].name);
    }
    free(run->v);
    free(run->path);
    free(run->profile);
    json_decref(run->history);
    memset(run, 0, sizeof(*run));
}

/* ---- tolerances ---- */

void ccd_compare_tolerance_default(ccd_compare_tolerance_t *t)
{
    for (int m = 0; m < CCD_CMP_METRICS; m++)
        t->tol[m] = m == CCD_CMP_FAIL_RATIO ? 0.01 : 0.10;
}

static int parse_fraction(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return CCD_EINVAL;
    if (strcmp(end, "%") == 0)
        v /= 100;
    else if (*end)
        return CCD_EINVAL;
    *out = v;
    return 0;
}

int ccd_compare_tolerance_parse(ccd_compare_tolerance_t *t, const char *spec, char *err,
                                size_t errlen)
{
    const char *eq = strchr(spec, '=');
    double v;
    if (parse_fraction(eq ? eq + 1 : spec, &v)) {
        snprintf(err, errlen,
                 "invalid value '%s' for --max-regression: expected a percentage such as 10%% "
                 "or 0.1, optionally after METRIC= (rps, fail-ratio, p50, p95, p99)",
                 spec);
        return CCD_EINVAL;
    }
    if (!eq) {
        for (int m = 0; m < CCD_CMP_METRICS; m++)
            if (m != CCD_CMP_FAIL_RATIO)
                t->tol[m] = v;
        return 0;
    }
    for (int m = 0; m < CCD_CMP_METRICS; m++) {
        if (strlen(METRIC_NAMES[m]) == (size_t)(eq - spec) &&
            strncmp(spec, METRIC_NAMES[m], (size_t)(eq - spec)) == 0) {
            t->tol[m] = v;
            return 0;
        }
    }
    snprintf(err, errlen,
             "invalid metric in --max-regression '%s': expected rps, fail-ratio, p50, p95 or p99",
             spec);
    return CCD_EINVAL;
}

/* ---- pairing and judging ---- */

static double metric(const ccd_compare_entry_t *e, int m)
{
    switch (m) {
    case CCD_CMP_RPS: return e->rps;
    case CCD_CMP_FAIL_RATIO: return e->fail_ratio;
    default: return e->p[m - CCD_CMP_P50];
    }
}

static void judge(ccd_compare_row_t *r, const ccd_compare_tolerance_t *t)
{
    for (int m = 0; m < CCD_CMP_METRICS; m++) {
        r->change[m] = NAN;
        if (!r->base || !r->cur || r->base->num_requests <= 0 || r->cur->num_requests <= 0)
            continue;
        double b = metric(r->base, m), c = metric(r->cur, m);
        if (m == CCD_CMP_FAIL_RATIO) {
            r->change[m] = (c - b) * 100;
            r->regressed[m] = c - b > t->tol[m] + 1e-12;
        } else if (b > 0) {
            r->change[m] = (c - b) / b * 100;
            r->regressed[m] = m == CCD_CMP_RPS ? c < b * (1 - t->tol[m]) : c > b * (1 + t->tol[m]);
        }
        r->any |= r->regressed[m];
    }
}

static const ccd_compare_entry_t *find(const ccd_compare_run_t *run, const ccd_compare_entry_t *e)
{
    for (size_t i = 0; i < run->n; i++)
        if (strcmp(run->v[i].method, e->method) == 0 && strcmp(run->v[i].name, e->name) == 0)
            return &run->v[i];
    return NULL;
}

int ccd_compare_rows(const ccd_compare_run_t *base, const ccd_compare_run_t *cur,
                     const ccd_compare_tolerance_t *t, ccd_compare_row_t **rows, size_t *n)
{
    ccd_compare_row_t *v = calloc(base->n + cur->n + 1, sizeof(*v));
    if (!v)
        return CCD_ENOMEM;
    size_t k = 0;
    /* Entries (not Aggregated, which each run lists last), then the Aggregated row. */
    for (size_t i = 0; i + 1 < base->n; i++)
        v[k++] = (ccd_compare_row_t){.base = &base->v[i], .cur = find(cur, &base->v[i])};
    for (size_t i = 0; i + 1 < cur->n; i++)
        if (!find(base, &cur->v[i]))
            v[k++] = (ccd_compare_row_t){.cur = &cur->v[i]};
    if (base->n && cur->n)
        v[k++] = (ccd_compare_row_t){.base = &base->v[base->n - 1], .cur = &cur->v[cur->n - 1]};
    int regressions = 0;
    for (size_t i = 0; i < k; i++) {
        judge(&v[i], t);
        regressions += v[i].any;
    }
    *rows = v;
    *n = k;
    return regressions;
}

/* ---- tables ---- */

static const ccd_compare_entry_t *either(const ccd_compare_row_t *r)
{
    return r->base ? r->base : r->cur;
}

static void format_value(char *buf, size_t len, int m, const ccd_compare_entry_t *e)
{
    if (!e) {
        snprintf(buf, len, "-");
        return;
    }
    double v = metric(e, m);
    if (m == CCD_CMP_RPS)
        snprintf(buf, len, "%.2f", v);
    else if (m == CCD_CMP_FAIL_RATIO)
        snprintf(buf, len, "%.2f%%", v * 100);
    else
        ccd_format_ms(buf, len, v);
}

static void format_change(char *buf, size_t len, const ccd_compare_row_t *r, int m)
{
    if (!r->base || !r->cur)
        snprintf(buf, len, "only in %s", r->base ? "base" : "new");
    else if (isnan(r->change[m]))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, m == CCD_CMP_FAIL_RATIO ? "%+.2f pt" : "%+.1f%%", r->change[m]);
}

static void format_limit(char *buf, size_t len, int m, const ccd_compare_tolerance_t *t)
{
    if (m == CCD_CMP_FAIL_RATIO)
        snprintf(buf, len, "> +%g pt", t->tol[m] * 100);
    else
        snprintf(buf, len, "%s %s%g%%", m == CCD_CMP_RPS ? "<" : ">", m == CCD_CMP_RPS ? "-" : "+",
                 t->tol[m] * 100);
}

void ccd_compare_print(FILE *out, const ccd_compare_row_t *rows, size_t n,
                       const ccd_compare_tolerance_t *t)
{
    fprintf(out, "%-8s %-40s %-10s %12s %12s %12s\n", "Type", "Name", "Metric", "Base", "New",
            "Change");
    for (size_t i = 0; i < n; i++) {
        const ccd_compare_row_t *r = &rows[i];
        for (int m = 0; m < CCD_CMP_METRICS; m++) {
            char b[32], c[32], ch[32], lim[32];
            format_value(b, sizeof(b), m, r->base);
            format_value(c, sizeof(c), m, r->cur);
            format_change(ch, sizeof(ch), r, m);
            fprintf(out, "%-8s %-40s %-10s %12s %12s %12s", either(r)->method, either(r)->name,
                    METRIC_LABELS[m], b, c, ch);
            if (r->regressed[m]) {
                format_limit(lim, sizeof(lim), m, t);
                fprintf(out, "  REGRESSION (%s)", lim);
            }
            fputc('\n', out);
        }
    }
}

/* A Markdown table cell: '|' escaped, line ends as spaces. */
static void md_cell(FILE *out, const char *s)
{
    fputs("| ", out);
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
    }
    fputc(' ', out);
}

void ccd_compare_markdown(FILE *out, const ccd_compare_row_t *rows, size_t n)
{
    fputs("| Type | Name", out);
    for (int m = 0; m < CCD_CMP_METRICS; m++)
        fprintf(out, " | %s", METRIC_LABELS[m]);
    fputs(" |\n| --- | ---", out);
    for (int m = 0; m < CCD_CMP_METRICS; m++)
        fputs(" | ---:", out);
    fputs(" |\n", out);
    for (size_t i = 0; i < n; i++) {
        const ccd_compare_row_t *r = &rows[i];
        md_cell(out, either(r)->method);
        md_cell(out, either(r)->name);
        for (int m = 0; m < CCD_CMP_METRICS; m++) {
            char b[32], c[32], ch[32], cell[128];
            format_value(b, sizeof(b), m, r->base);
            format_value(c, sizeof(c), m, r->cur);
            format_change(ch, sizeof(ch), r, m);
            snprintf(cell, sizeof(cell), r->regressed[m] ? "%s → %s (**%s**)" : "%s → %s (%s)", b,
                     c, ch);
            md_cell(out, cell);
        }
        fputs("|\n", out);
    }
}
