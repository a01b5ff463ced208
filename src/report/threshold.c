/* Threshold specs, their evaluation against final statistics and the results table. */
#include "report/threshold.h"
#include "base/buf.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "report/format.h"

struct ccd_thresholds {
    ccd_threshold_t *v;
    size_t n, cap;
};

ccd_thresholds_t *ccd_thresholds_new(void)
{
    return calloc(1, sizeof(ccd_thresholds_t));
}

void ccd_thresholds_free(ccd_thresholds_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].metric);
        free(t->v[i].scope);
    }
    free(t->v);
    free(t);
}

static const char *bare_metric(const char *m)
{
    if (strncmp(m, "--", 2) == 0)
        m += 2;
    if (strncmp(m, "check-", 6) == 0)
        m += 6;
    return m;
}

/* Reads a number that must fill s up to the unit; returns the unit or NULL. */
static const char *read_number(const char *s, double *v)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return NULL;
    *v = strtod(s, &end);
    if (end == s || !isfinite(*v) || *v < 0)
        return NULL;
    return end;
}

/* "pNN[.N]": the percentile as a quantile in (0, 1]; -1 when m is not one. */
static double percentile_of(const char *m)
{
    double v;
    const char *end;
    if (m[0] != 'p' || !isdigit((unsigned char)m[1]) ||
        strspn(m + 1, "0123456789.") != strlen(m + 1) || !(end = read_number(m + 1, &v)) || *end)
        return -1;
    return v > 0 && v <= 100 ? v / 100 : -1;
}

static int parse_duration_ms(const char *s, double *ms)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"", 1}, {"ms", 1}, {"us", 1e-3}, {"s", 1e3}, {"m", 60e3}};
    double v;
    const char *u = read_number(s, &v);
    for (size_t i = 0; u && i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(u, units[i].unit) == 0) {
            *ms = v * units[i].ms;
            return 0;
        }
    }
    return CCD_EINVAL;
}

static int parse_ratio(const char *s, double *ratio)
{
    double v;
    const char *u = read_number(s, &v);
    if (!u || (*u && strcmp(u, "%") != 0))
        return CCD_EINVAL;
    *ratio = *u ? v / 100 : v;
    return *ratio <= 1 ? 0 : CCD_EINVAL;
}

static int parse_value(ccd_threshold_t *th, const char *value)
{
    double v;
    const char *u;
    switch (th->kind) {
    case CCD_CHECK_FAIL_RATIO: return parse_ratio(value, &th->limit);
    case CCD_CHECK_RPS:
    case CCD_CHECK_DROPPED:
        u = read_number(value, &v);
        if (!u || *u)
            return CCD_EINVAL;
        th->limit = v;
        return 0;
    default: return parse_duration_ms(value, &th->limit);
    }
}

static int parse_metric(ccd_threshold_t *th, const char *m)
{
    if (strcmp(m, "fail-ratio") == 0)
        th->kind = CCD_CHECK_FAIL_RATIO;
    else if (strcmp(m, "avg-response-time") == 0)
        th->kind = CCD_CHECK_AVG_RESPONSE_TIME;
    else if (strcmp(m, "rps") == 0)
        th->kind = CCD_CHECK_RPS;
    else if (strcmp(m, "dropped") == 0)
        th->kind = CCD_CHECK_DROPPED;
    else if ((th->q = percentile_of(m)) > 0)
        th->kind = CCD_CHECK_PERCENTILE;
    else if (strncmp(m, "service-", 8) == 0 && (th->q = percentile_of(m + 8)) > 0)
        th->kind = CCD_CHECK_PERCENTILE, th->service = true;
    else
        return CCD_EINVAL;
    return 0;
}

bool ccd_thresholds_is_option(const char *opt)
{
    ccd_threshold_t th;
    return strncmp(opt, "--check-", 8) == 0 && parse_metric(&th, opt + 8) == 0;
}

static const char *expected(ccd_check_kind_t k)
{
    switch (k) {
    case CCD_CHECK_FAIL_RATIO: return "a ratio in [0, 1] such as 0.01, or a percentage such as 1%";
    case CCD_CHECK_RPS: return "requests per second such as 1000";
    case CCD_CHECK_DROPPED: return "a number of iterations such as 0";
    default: return "a duration such as 200, 200ms or 1.5s";
    }
}

/* Splits "[SCOPE=]VALUE" at its last '=' and parses the pieces into th. */
static int parse_spec(ccd_threshold_t *th, const char *spec)
{
    const char *eq = strrchr(spec, '=');
    if (parse_value(th, eq ? eq + 1 : spec))
        return CCD_EINVAL;
    if (eq && eq == spec)
        return CCD_EINVAL;
    if (eq && !(th->scope = strndup(spec, (size_t)(eq - spec))))
        return CCD_ENOMEM;
    return 0;
}

int ccd_thresholds_add(ccd_thresholds_t *t, const char *metric, const char *spec, char *err,
                       size_t errlen)
{
    ccd_threshold_t th = {0};
    const char *m = bare_metric(metric);
    if (parse_metric(&th, m)) {
        snprintf(err, errlen,
                 "--check-%s: unknown threshold (expected fail-ratio, avg-response-time, rps, "
                 "dropped, pNN such as p95 or service-pNN)",
                 m);
        return CCD_EINVAL;
    }
    int rc = parse_spec(&th, spec);
    if (rc == CCD_EINVAL)
        snprintf(err, errlen, "--check-%s: invalid value '%s' (expected [NAME=]VALUE, VALUE %s)", m,
                 spec, expected(th.kind));
    if (rc == 0) {
        ccd_threshold_t *p = ccd_array_grow(t->v, &t->cap, t->n + 1, sizeof(*p), 4);
        rc = p ? 0 : CCD_ENOMEM;
        if (p)
            t->v = p;
    }
    if (rc == 0 && !(th.metric = strdup(m)))
        rc = CCD_ENOMEM;
    if (rc) {
        free(th.scope);
        return rc;
    }
    t->v[t->n++] = th;
    return 0;
}

size_t ccd_thresholds_count(const ccd_thresholds_t *t)
{
    return t->n;
}

const ccd_threshold_t *ccd_thresholds_get(const ccd_thresholds_t *t, size_t i)
{
    return i < t->n ? &t->v[i] : NULL;
}

static double measure(const ccd_threshold_t *th, const ccd_stats_entry_t *e)
{
    switch (th->kind) {
    case CCD_CHECK_FAIL_RATIO:
        if (e->num_requests == 0)
            return e->num_failures ? 1.0 : 0.0;
        return (double)e->num_failures / (double)e->num_requests;
    case CCD_CHECK_AVG_RESPONSE_TIME: return ccd_stats_avg_ms(e);
    case CCD_CHECK_PERCENTILE: return ccd_stats_percentile_ms(e, th->q);
    case CCD_CHECK_RPS: return ccd_stats_total_rps(e);
    case CCD_CHECK_DROPPED: return 0;
    }
    return 0;
}

static ccd_threshold_result_t result_of(const ccd_threshold_t *th, const ccd_stats_entry_t *e)
{
    double v = measure(th, e);
    bool pass = th->kind == CCD_CHECK_RPS ? v >= th->limit : v <= th->limit;
    return (ccd_threshold_result_t){th, e->method, e->name, v, pass};
}

/* Does entry e fall in the scope? by_method: the scope is read as "METHOD NAME". */
static bool in_scope(const ccd_stats_entry_t *e, const char *scope, bool by_method)
{
    if (!by_method)
        return strcmp(e->name, scope) == 0;
    const char *sp = strchr(scope, ' ');
    size_t mlen = sp ? (size_t)(sp - scope) : 0;
    return sp && strlen(e->method) == mlen && strncmp(e->method, scope, mlen) == 0 &&
           strcmp(e->name, sp + 1) == 0;
}

typedef struct {
    ccd_threshold_result_t *v;
    size_t n, cap;
} results_t;

static int push(results_t *r, ccd_threshold_result_t x)
{
    ccd_threshold_result_t *p = ccd_array_grow(r->v, &r->cap, r->n + 1, sizeof(*p), 8);
    if (!p)
        return CCD_ENOMEM;
    r->v = p;
    r->v[r->n++] = x;
    return 0;
}

/* Dropped iterations of every class, or of the class named by the scope (no such class: none
 * were dropped, as a class with no arrivals drops none). */
static int evaluate_dropped(const ccd_threshold_t *th, const ccd_stats_t *s, results_t *r)
{
    uint64_t dropped = 0;
    for (size_t i = 0; i < ccd_stats_arrivals_count(s); i++) {
        const ccd_stats_arrivals_t *a = ccd_stats_arrivals_get(s, i);
        if (!th->scope || strcmp(th->scope, a->cls) == 0)
            dropped += a->dropped;
    }
    double v = (double)dropped;
    return push(r, (ccd_threshold_result_t){th, "", th->scope ? th->scope : "Aggregated", v,
                                            v <= th->limit});
}

static int evaluate_one(const ccd_threshold_t *th, const ccd_stats_t *s, results_t *r)
{
    if (th->kind == CCD_CHECK_DROPPED)
        return evaluate_dropped(th, s, r);
    if (th->service && ccd_stats_service_get(s))
        s = ccd_stats_service_get(s);
    if (!th->scope)
        return push(r, result_of(th, ccd_stats_total(s)));
    size_t before = r->n;
    for (int by_method = 0; by_method < 2 && r->n == before; by_method++) {
        for (size_t i = 0; i < ccd_stats_count(s); i++) {
            const ccd_stats_entry_t *e = ccd_stats_get(s, i);
            if (in_scope(e, th->scope, by_method) && push(r, result_of(th, e)))
                return CCD_ENOMEM;
        }
    }
    if (r->n > before)
        return 0;
    return push(r, (ccd_threshold_result_t){th, NULL, th->scope, 0, false});
}

int ccd_thresholds_evaluate(const ccd_thresholds_t *t, const ccd_stats_t *s,
                            ccd_threshold_result_t **results, size_t *n)
{
    results_t r = {0};
    for (size_t i = 0; i < t->n; i++) {
        if (evaluate_one(&t->v[i], s, &r)) {
            free(r.v);
            return CCD_ENOMEM;
        }
    }
    *results = r.v;
    *n = r.n;
    return 0;
}

/* Formats a value in the threshold's unit. */
static void format_value(char *buf, size_t len, ccd_check_kind_t k, double v)
{
    switch (k) {
    case CCD_CHECK_FAIL_RATIO: snprintf(buf, len, "%.2f%%", v * 100); break;
    case CCD_CHECK_RPS: snprintf(buf, len, "%.2f/s", v); break;
    case CCD_CHECK_DROPPED: snprintf(buf, len, "%.0f", v); break;
    default: {
        char ms[CCD_FORMAT_MS_SIZE];
        snprintf(buf, len, "%s ms", ccd_format_ms(ms, sizeof(ms), v));
        break;
    }
    }
}

void ccd_thresholds_describe(const ccd_threshold_result_t *r, char *measured, size_t mlen,
                             char *limit, size_t llen)
{
    const ccd_threshold_t *th = r->threshold;
    char lim[32];
    snprintf(measured, mlen, "no requests");
    if (r->method)
        format_value(measured, mlen, th->kind, r->measured);
    format_value(lim, sizeof(lim), th->kind, th->limit);
    snprintf(limit, llen, "%s %s", th->kind == CCD_CHECK_RPS ? ">=" : "<=", lim);
}

static const char *unit_of(ccd_check_kind_t k)
{
    return k == CCD_CHECK_FAIL_RATIO ? "ratio"
           : k == CCD_CHECK_RPS      ? "req/s"
           : k == CCD_CHECK_DROPPED  ? "iterations"
                                     : "ms";
}

json_t *ccd_thresholds_results_json(const ccd_threshold_result_t *r, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const ccd_threshold_t *th = r[i].threshold;
        json_t *o = json_pack("{s:s, s:s?, s:s, s:o, s:f, s:s, s:b}", "metric", th->metric,
                              "method", r[i].method, "name", r[i].name, "measured",
                              r[i].method ? json_real(r[i].measured) : json_null(), "limit",
                              th->limit, "unit", unit_of(th->kind), "passed", r[i].pass);
        if (json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

void ccd_thresholds_print(FILE *out, const ccd_threshold_result_t *r, size_t n)
{
    fprintf(out, "%-20s %-8s %-40s %14s %16s  %s\n", "Threshold", "Type", "Name", "Measured",
            "Limit", "Result");
    for (size_t i = 0; i < n; i++) {
        const ccd_threshold_t *th = r[i].threshold;
        char measured[32], limit[40];
        ccd_thresholds_describe(&r[i], measured, sizeof(measured), limit, sizeof(limit));
        fprintf(out, "%-20s %-8s %-40s %14s %16s  %s\n", th->metric, r[i].method ? r[i].method : "",
                r[i].name, measured, limit, r[i].pass ? "passed" : "FAILED");
    }
}

int ccd_thresholds_check(const ccd_thresholds_t *t, const ccd_stats_t *s, FILE *out)
{
    ccd_threshold_result_t *r;
    size_t n, breaches = 0;
    if (t->n == 0)
        return 0;
    if (ccd_thresholds_evaluate(t, s, &r, &n))
        return CCD_ENOMEM;
    ccd_thresholds_print(out, r, n);
    for (size_t i = 0; i < n; i++)
        breaches += !r[i].pass;
    if (breaches)
        fprintf(out, "%zu of %zu threshold checks FAILED\n", breaches, n);
    else
        fprintf(out, "All %zu threshold checks passed\n", n);
    free(r);
    return (int)breaches;
}
