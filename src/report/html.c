/* The self-contained HTML report: our template, uPlot's assets and the run's data as JSON. */
#include "report/html.h"

#include "base/outfile.h"
#include "report/report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"

/* Embedded at build time (see ccd_embed in CMakeLists.txt). */
extern const unsigned char ccd_report_template[], ccd_uplot_js[], ccd_uplot_css[];
extern const size_t ccd_report_template_len, ccd_uplot_js_len, ccd_uplot_css_len;

static const double PERCENTILES[] = {0.5,  0.66, 0.75,  0.8,    0.9, 0.95,
                                     0.98, 0.99, 0.999, 0.9999, 1.0};
#define NPERCENTILES (sizeof(PERCENTILES) / sizeof(PERCENTILES[0]))
#define MARK         "<!--CCD:"

/* jansson's setters take ownership of the value; a NULL value (out of memory) fails the set,
 * which the final NULL check of each builder catches. */
static int put(json_t *o, const char *k, json_t *v)
{
    return json_object_set_new(o, k, v);
}

static json_t *entry_json(const ccd_stats_entry_t *e)
{
    json_t *o = json_object(), *p = json_array();
    if (!o || !p) {
        json_decref(o);
        json_decref(p);
        return NULL;
    }
    bool any = e->num_requests > 0;
    for (size_t i = 0; i < NPERCENTILES; i++)
        json_array_append_new(p, json_real(ccd_stats_percentile_ms(e, PERCENTILES[i])));
    int rc = put(o, "method", json_string(e->method)) | put(o, "name", json_string(e->name)) |
             put(o, "num_requests", json_integer((json_int_t)e->num_requests)) |
             put(o, "num_failures", json_integer((json_int_t)e->num_failures)) |
             put(o, "avg", json_real(ccd_stats_avg_ms(e))) |
             put(o, "min", json_real(any ? ccd_stats_min_ms(e) : 0)) |
             put(o, "max", json_real(any ? ccd_stats_max_ms(e) : 0)) |
             put(o, "avg_content_length", json_real(ccd_stats_avg_content_length(e))) |
             put(o, "rps", json_real(ccd_stats_total_rps(e))) |
             put(o, "fail_per_sec", json_real(ccd_stats_total_fail_per_sec(e))) |
             put(o, "percentiles", p);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *stats_json(const ccd_stats_t *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ccd_stats_count(s); i++)
        if (json_array_append_new(a, entry_json(ccd_stats_get(s, i))))
            return json_decref(a), NULL;
    if (a && json_array_append_new(a, entry_json(ccd_stats_total(s))))
        return json_decref(a), NULL;
    return a;
}

/* A value of a per-name column: null where the name had no request in the window. The
 * history keeps these as floats: rounding to the microsecond drops float noise (20.72800064). */
static json_t *maybe_ms(bool any, double ms)
{
    return any ? json_real(round(ms * 1000) / 1000) : json_null();
}

/* The sampled names' p50/p95/p99 columns, aligned with the history's time column:
 * [{"method", "name", "p50": [...], "p95": [...], "p99": [...]}] (at most CCD_HISTORY_NAMES). */
static json_t *names_json(const ccd_history_t *h)
{
    json_t *a = json_array();
    for (size_t i = 0; a && h && i < ccd_history_names(h); i++) {
        const char *method, *name;
        ccd_history_name(h, i, &method, &name);
        json_t *p[3] = {json_array(), json_array(), json_array()};
        for (size_t j = 0; p[0] && p[1] && p[2] && j < ccd_history_count(h); j++) {
            double ms[3];
            bool any = ccd_history_name_percentiles(h, i, j, ms);
            for (int k = 0; k < 3; k++)
                json_array_append_new(p[k], maybe_ms(any, ms[k]));
        }
        json_t *o = json_pack("{s:s, s:s, s:o*, s:o*, s:o*}", "method", method, "name", name, "p50",
                              p[0], "p95", p[1], "p99", p[2]);
        if (!o || json_array_append_new(a, o))
            return json_decref(a), NULL;
    }
    return a;
}

/* The history as columns (uPlot's data layout): time, users, rps, fail_per_sec, p50, p95,
 * p99, and "names", the same three percentiles per request name. */
static json_t *history_json(const ccd_history_t *h)
{
    static const char *const keys[] = {"time", "users", "rps", "fail_per_sec", "p50", "p95", "p99"};
    enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };
    json_t *o = json_object(), *col[NKEYS];
    for (int k = 0; k < NKEYS; k++)
        if (!(col[k] = json_array()) || put(o, keys[k], col[k]))
            return json_decref(o), NULL;
    for (size_t i = 0; h && i < ccd_history_count(h); i++) {
        const ccd_history_sample_t *x = ccd_history_get(h, i);
        double v[NKEYS] = {(double)x->timestamp,    x->user_count,     x->current_rps,
                           x->current_fail_per_sec, x->current_p50_ms, x->current_p95_ms,
                           x->current_p99_ms};
        for (int k = 0; k < NKEYS; k++)
            if (json_array_append_new(col[k], json_real(v[k])))
                return json_decref(o), NULL;
    }
    if (put(o, "names", names_json(h)))
        return json_decref(o), NULL;
    return o;
}

static json_t *meta_json(const ccd_html_meta_t *m)
{
    return json_pack("{s:f, s:f, s:f, s:s, s:s, s:I, s:f, s:f, s:s, s:s?}", "start_time",
                     m->start_time, "end_time", m->end_time, "duration",
                     m->end_time - m->start_time, "host", m->host ? m->host : "", "scenario",
                     m->scenario ? m->scenario : "", "users", (json_int_t)m->users, "spawn_rate",
                     m->spawn_rate, "run_time", m->run_time, "version", CICADA_VERSION, "profile",
                     m->profile);
}

static char *data_json(const ccd_html_meta_t *m, const ccd_stats_t *s, const ccd_history_t *h)
{
    static const char *const labels = "[\"50%\",\"66%\",\"75%\",\"80%\",\"90%\",\"95%\",\"98%\","
                                      "\"99%\",\"99.9%\",\"99.99%\",\"100%\"]";
    json_t *o = json_object();
    if (!o || put(o, "meta", meta_json(m)) || put(o, "stats", stats_json(s)) ||
        put(o, "errors", ccd_report_errors_json(s)) ||
        put(o, "exceptions", ccd_report_exceptions_json(s)) ||
        put(o, "generator_errors", ccd_report_generator_errors_json(s)) ||
        put(o, "history", history_json(h)) ||
        put(o, "percentile_labels", json_loads(labels, 0, NULL)) ||
        put(o, "open_model", ccd_report_open_json(s)) ||
        put(o, "service",
            ccd_stats_service_get(s) ? stats_json(ccd_stats_service_get(s)) : json_null())) {
        json_decref(o);
        return NULL;
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    return text;
}

/* Writes JSON text into a script element: a '<' only occurs inside JSON strings, where
 * \u003c means the same, and without it no "</script" or "<!--" can end the element. */
static void put_json(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '<')
            fputs("\\u003c", out);
        else
            fputc(*p, out);
    }
}

/* uPlot's build starts with a comment naming its home page; the report must name no external
 * URL, so that banner is replaced by one without the address. */
static void put_uplot_js(FILE *out)
{
    const char *js = (const char *)ccd_uplot_js, *end = js + ccd_uplot_js_len;
    if (ccd_uplot_js_len > 3 && memcmp(js, "/*!", 3) == 0) {
        const char *close = memmem(js, ccd_uplot_js_len, "*/", 2);
        if (close)
            js = close + 2;
    }
    fputs("/* uPlot (MIT licence, (c) Leon Sorokin) */", out);
    fwrite(js, 1, (size_t)(end - js), out);
}

int ccd_html_fill(FILE *out, const unsigned char *template, size_t template_len, const char *data)
{
    const char *t = (const char *)template, *end = t + template_len;
    while (t < end) {
        const char *mark = memmem(t, (size_t)(end - t), MARK, strlen(MARK));
        const char *stop = mark ? mark : end;
        fwrite(t, 1, (size_t)(stop - t), out);
        if (!mark)
            break;
        const char *name = mark + strlen(MARK),
                   *close = memmem(name, (size_t)(end - name), "-->", 3);
        if (!close)
            break;
        size_t len = (size_t)(close - name);
        if (len == 9 && memcmp(name, "UPLOT_CSS", 9) == 0)
            fwrite(ccd_uplot_css, 1, ccd_uplot_css_len, out);
        else if (len == 8 && memcmp(name, "UPLOT_JS", 8) == 0)
            put_uplot_js(out);
        else if (len == 4 && memcmp(name, "DATA", 4) == 0)
            put_json(out, data);
        t = close + 3;
    }
    return ferror(out) ? -EIO : 0;
}

int ccd_html_render(FILE *out, const ccd_html_meta_t *m, const ccd_stats_t *s,
                    const ccd_history_t *h)
{
    char *data = data_json(m, s, h);
    if (!data)
        return CCD_ENOMEM;
    int rc = ccd_html_fill(out, ccd_report_template, ccd_report_template_len, data);
    free(data);
    return rc;
}

typedef struct {
    const ccd_html_meta_t *m;
    const ccd_stats_t *s;
    const ccd_history_t *h;
} report_t;

static int fill_report(FILE *f, const void *ud)
{
    const report_t *r = ud;
    return ccd_html_render(f, r->m, r->s, r->h);
}

int ccd_html_write(const char *path, const ccd_html_meta_t *m, const ccd_stats_t *s,
                   const ccd_history_t *h)
{
    report_t r = {m, s, h};
    return ccd_outfile_write(path, fill_report, &r);
}

int ccd_html_expand_name(const char *pattern, unsigned users, double spawn_rate, double run_time,
                         char **out)
{
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return CCD_ENOMEM;
    for (const char *p = pattern; *p; p++) {
        bool t = strncmp(p, "{t}", 3) == 0 && run_time > 0;
        if (strncmp(p, "{u}", 3) == 0)
            fprintf(f, "%u", users);
        else if (strncmp(p, "{r}", 3) == 0)
            fprintf(f, "%lld", (long long)spawn_rate); /* Locust's str(int(value)) */
        else if (t)
            fprintf(f, "%lld", (long long)run_time);
        else {
            fputc(*p, f);
            continue;
        }
        p += 2;
    }
    if (fclose(f) != 0) {
        free(buf);
        return CCD_ENOMEM;
    }
    *out = buf;
    return 0;
}
