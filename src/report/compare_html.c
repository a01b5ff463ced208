/* The comparison page: both runs' numbers and histories as one JSON document in a template. */
#include "report/compare_html.h"

#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/outfile.h"
#include "report/html.h"

/* Embedded at build time (see ccd_embed_file in CMakeLists.txt). */
extern const unsigned char ccd_compare_template[];
extern const size_t ccd_compare_template_len;

/* A number, or null where none exists (NaN: no change computable; a missing run). */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *side_json(const ccd_compare_entry_t *e)
{
    if (!e)
        return json_null();
    return json_pack("{s:f, s:f, s:f, s:o, s:o, s:o}", "num_requests", e->num_requests, "rps",
                     e->rps, "fail_ratio", e->fail_ratio, "p50", jnum(e->p[0]), "p95",
                     jnum(e->p[1]), "p99", jnum(e->p[2]));
}

static json_t *row_json(const ccd_compare_row_t *r)
{
    const ccd_compare_entry_t *e = r->base ? r->base : r->cur;
    json_t *change = json_array(), *regressed = json_array();
    for (int m = 0; change && regressed && m < CCD_CMP_METRICS; m++) {
        json_array_append_new(change, jnum(r->change[m]));
        json_array_append_new(regressed, json_boolean(r->regressed[m]));
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "method", e->method, "name", e->name, "base",
                     side_json(r->base), "new", side_json(r->cur), "change", change, "regressed",
                     regressed);
}

static json_t *run_json(const ccd_compare_run_t *run)
{
    return json_pack("{s:s, s:s?, s:f, s:O?}", "path", run->path, "profile", run->profile,
                     "start_time", run->start_time, "history", run->history);
}

static char *data_json(const ccd_compare_run_t *base, const ccd_compare_run_t *cur,
                       const ccd_compare_row_t *rows, size_t n)
{
    json_t *a = json_array(), *metrics = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, row_json(&rows[i])))
            return json_decref(a), json_decref(metrics), NULL;
    for (int m = 0; metrics && m < CCD_CMP_METRICS; m++)
        json_array_append_new(metrics, json_string(ccd_compare_metric_name(m)));
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:s}", "base", run_json(base), "new", run_json(cur),
                          "rows", a, "metrics", metrics, "version", CICADA_VERSION);
    if (!o)
        return NULL;
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    return text;
}

int ccd_compare_html_render(FILE *out, const ccd_compare_run_t *base, const ccd_compare_run_t *cur,
                            const ccd_compare_row_t *rows, size_t n)
{
    char *data = data_json(base, cur, rows, n);
    if (!data)
        return CCD_ENOMEM;
    int rc = ccd_html_fill(out, ccd_compare_template, ccd_compare_template_len, data);
    free(data);
    return rc;
}

typedef struct {
    const ccd_compare_run_t *base, *cur;
    const ccd_compare_row_t *rows;
    size_t n;
} page_t;

static int fill_page(FILE *f, const void *ud)
{
    const page_t *p = ud;
    return ccd_compare_html_render(f, p->base, p->cur, p->rows, p->n);
}

int ccd_compare_html_write(const char *path, const ccd_compare_run_t *base,
                           const ccd_compare_run_t *cur, const ccd_compare_row_t *rows, size_t n)
{
    page_t p = {base, cur, rows, n};
    return ccd_outfile_write(path, fill_page, &p);
}
