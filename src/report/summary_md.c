/* The Markdown summary of a run. */
#include "report/summary_md.h"

#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "report/format.h"

/* A table cell: '|' escaped, line ends as spaces, backticks kept out of code spans. */
static void cell(FILE *out, const char *s)
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

static void ms_cell(FILE *out, double ms)
{
    char buf[CCD_FORMAT_MS_SIZE];
    cell(out, ccd_format_ms(buf, sizeof(buf), ms));
}

static size_t breaches(const ccd_summary_md_t *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nresults; i++)
        n += !m->results[i].pass;
    return n;
}

static void verdict(FILE *out, const ccd_stats_t *s, const ccd_summary_md_t *m)
{
    const ccd_stats_entry_t *t = ccd_stats_total(s);
    size_t b = breaches(m);
    if (b)
        fprintf(out, "**Result: %zu of %zu thresholds breached.**", b, m->nresults);
    else if (m->nresults)
        fprintf(out, "**Result: all %zu thresholds passed.**", m->nresults);
    else
        fputs("**Result: no thresholds set.**", out);
    if (t->num_failures || ccd_stats_exception_count(s))
        fprintf(out, " %" PRIu64 " requests failed, %zu script errors.", t->num_failures,
                ccd_stats_exception_count(s));
    if (m->baseline)
        fprintf(out, " %d request names regressed against the baseline.", m->regressions);
    fputs("\n\n", out);
}

static void totals(FILE *out, const ccd_stats_t *s, const ccd_summary_md_t *m)
{
    const ccd_stats_entry_t *t = ccd_stats_total(s);
    char start[32] = "-", num[64];
    time_t st = (time_t)m->start_time;
    struct tm tm;
    if (m->start_time > 0 && gmtime_r(&st, &tm))
        strftime(start, sizeof(start), "%Y-%m-%d %H:%M:%S UTC", &tm);
    fputs("| Requests | Failures | Requests/s | Peak users | Duration | Start |\n"
          "| ---: | ---: | ---: | ---: | ---: | --- |\n",
          out);
    snprintf(num, sizeof(num), "%" PRIu64, t->num_requests);
    cell(out, num);
    snprintf(num, sizeof(num), "%" PRIu64 " (%.2f%%)", t->num_failures,
             t->num_requests ? 100.0 * (double)t->num_failures / (double)t->num_requests : 0);
    cell(out, num);
    snprintf(num, sizeof(num), "%.2f", ccd_stats_total_rps(t));
    cell(out, num);
    snprintf(num, sizeof(num), "%u", m->peak_users);
    cell(out, num);
    snprintf(num, sizeof(num), "%.1f s", m->duration_s);
    cell(out, num);
    cell(out, start);
    fputs("|\n\n", out);
}

static void entry_row(FILE *out, const ccd_stats_entry_t *e)
{
    char num[64];
    cell(out, e->method);
    cell(out, e->name);
    snprintf(num, sizeof(num), "%" PRIu64, e->num_requests);
    cell(out, num);
    snprintf(num, sizeof(num), "%" PRIu64, e->num_failures);
    cell(out, num);
    ms_cell(out, ccd_stats_avg_ms(e));
    ms_cell(out, ccd_stats_min_ms(e));
    ms_cell(out, ccd_stats_percentile_ms(e, 0.5));
    ms_cell(out, ccd_stats_percentile_ms(e, 0.95));
    ms_cell(out, ccd_stats_percentile_ms(e, 0.99));
    ms_cell(out, ccd_stats_max_ms(e));
    snprintf(num, sizeof(num), "%.2f", ccd_stats_total_rps(e));
    cell(out, num);
    fputs("|\n", out);
}

static void requests(FILE *out, const ccd_stats_t *s)
{
    fputs("### Requests (times in ms)\n\n"
          "| Type | Name | # reqs | # fails | Avg | Min | p50 | p95 | p99 | Max | req/s |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
          out);
    for (size_t i = 0; i < ccd_stats_count(s); i++)
        if (ccd_stats_get(s, i)->num_requests)
            entry_row(out, ccd_stats_get(s, i));
    entry_row(out, ccd_stats_total(s));
    fputc('\n', out);
}

static void thresholds(FILE *out, const ccd_summary_md_t *m)
{
    if (!m->nresults)
        return;
    fputs("### Thresholds\n\n| Threshold | Type | Name | Measured | Limit | Result |\n"
          "| --- | --- | --- | ---: | ---: | --- |\n",
          out);
    for (size_t i = 0; i < m->nresults; i++) {
        const ccd_threshold_result_t *r = &m->results[i];
        char measured[64], limit[64];
        ccd_thresholds_describe(r, measured, sizeof(measured), limit, sizeof(limit));
        cell(out, r->threshold->metric);
        cell(out, r->method ? r->method : "");
        cell(out, r->name);
        cell(out, measured);
        cell(out, limit);
        cell(out, r->pass ? "passed" : "**FAILED**");
        fputs("|\n", out);
    }
    fputc('\n', out);
}

int ccd_summary_md_write(FILE *out, const ccd_stats_t *s, const ccd_summary_md_t *m)
{
    fputs("## cicada load test", out);
    if (m->profile)
        fprintf(out, ": %s", m->profile);
    if (m->host)
        fprintf(out, " (%s)", m->host);
    fputs("\n\n", out);
    verdict(out, s, m);
    totals(out, s, m);
    requests(out, s);
    thresholds(out, m);
    if (m->baseline) {
        fprintf(out, "### Compared with %s (base → new)\n\n", m->baseline);
        ccd_compare_markdown(out, m->rows, m->nrows);
        fputc('\n', out);
    }
    return ferror(out) ? -EIO : 0;
}
