/* GET /metrics: Prometheus text exposition (version 0.0.4) of the statistics: per request name,
 * counters of requests and failures and a histogram of response times in seconds; the users
 * and the current rates as gauges. Counters restart at 0 after a reset or a new test, which
 * Prometheus reads as a counter reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/web_int.h"

/* Upper bounds of the buckets, in seconds (Prometheus' defaults, widened both ways). */
static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                0.5,   1,      2.5,   5,    10,    30,   60};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

/* A label value with \ " and newline escaped. */
static void label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void labels(FILE *f, const ccd_stats_entry_t *e)
{
    fputs("{method=\"", f);
    label(f, e->method);
    fputs("\",name=\"", f);
    label(f, e->name);
    fputc('"', f);
}

static void counter(FILE *f, const char *metric, const ccd_stats_entry_t *e, uint64_t v)
{
    fputs(metric, f);
    labels(f, e);
    fprintf(f, "} %llu\n", (unsigned long long)v);
}

/* Cumulative counts per bound: a bucket counts under a bound when its lowest value does (the
 * histogram's buckets are at most 1/1024 of their values wide). */
static void histogram(FILE *f, const ccd_stats_entry_t *e)
{
    uint64_t cum[NBOUNDS] = {0}, total = 0;
    ccd_hist_iter_t it;
    ccd_hist_iter_init(&it, &e->hist);
    while (ccd_hist_iter_next(&it)) {
        total += it.count;
        for (size_t b = 0; b < NBOUNDS; b++)
            if ((double)it.value <= bounds[b] * 1e6)
                cum[b] += it.count;
    }
    for (size_t b = 0; b < NBOUNDS; b++) {
        fputs("cicada_response_time_seconds_bucket", f);
        labels(f, e);
        fprintf(f, ",le=\"%g\"} %llu\n", bounds[b], (unsigned long long)cum[b]);
    }
    fputs("cicada_response_time_seconds_bucket", f);
    labels(f, e);
    fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)total);
    fputs("cicada_response_time_seconds_sum", f);
    labels(f, e);
    fprintf(f, "} %.6f\n", (double)e->total_response_time_us / 1e6);
    counter(f, "cicada_response_time_seconds_count", e, total);
}

/* One family: its HELP and TYPE lines, then one sample per entry. */
static void family(FILE *f, const ccd_stats_t *s, const char *name, const char *type,
                   const char *help, int which)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    for (size_t i = 0; i < ccd_stats_count(s); i++) {
        const ccd_stats_entry_t *e = ccd_stats_get(s, i);
        if (which == 0)
            counter(f, name, e, e->num_requests);
        else if (which == 1)
            counter(f, name, e, e->num_failures);
        else
            histogram(f, e);
    }
}

static uint64_t exceptions(const ccd_stats_t *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < ccd_stats_exception_count(s); i++)
        n += ccd_stats_exception_get(s, i)->count;
    return n;
}

/* A master's workers by state (the states a fleet reports; another one is counted apart). */
static void workers(FILE *f, const ccd_ui_view_t *v)
{
    static const char *const states[] = {"ready", "spawning", "running", "stopped", "missing"};
    enum { NSTATES = sizeof(states) / sizeof(states[0]) };
    size_t n[NSTATES + 1] = {0};
    for (size_t i = 0; i < v->nworkers; i++) {
        size_t j = 0;
        while (j < NSTATES && !(v->workers[i].state && strcmp(v->workers[i].state, states[j]) == 0))
            j++;
        n[j]++;
    }
    fputs("# HELP cicada_workers Workers of this master, by state.\n"
          "# TYPE cicada_workers gauge\n",
          f);
    for (size_t j = 0; j <= NSTATES; j++)
        fprintf(f, "cicada_workers{state=\"%s\"} %zu\n", j < NSTATES ? states[j] : "other", n[j]);
}

char *ccd_web_metrics(const ccd_ui_view_t *v)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    const ccd_stats_t *s = v->stats;
    const ccd_stats_entry_t *t = ccd_stats_total(s);
    family(f, s, "cicada_requests_total", "counter",
           "Requests made, failures included, by method and name.", 0);
    family(f, s, "cicada_failures_total", "counter", "Requests that failed, by method and name.",
           1);
    family(f, s, "cicada_response_time_seconds", "histogram", "Response times, by method and name.",
           2);
    fprintf(f,
            "# HELP cicada_users Users running.\n# TYPE cicada_users gauge\ncicada_users %u\n"
            "# HELP cicada_target_users Users the test moves towards.\n"
            "# TYPE cicada_target_users gauge\ncicada_target_users %u\n"
            "# HELP cicada_current_rps Requests per second, over the last seconds.\n"
            "# TYPE cicada_current_rps gauge\ncicada_current_rps %.3f\n"
            "# HELP cicada_current_fail_per_sec Failures per second, over the last seconds.\n"
            "# TYPE cicada_current_fail_per_sec gauge\ncicada_current_fail_per_sec %.3f\n"
            "# HELP cicada_exceptions_total Errors raised by tasks.\n"
            "# TYPE cicada_exceptions_total counter\ncicada_exceptions_total %llu\n",
            v->user_count, v->target_users, ccd_stats_current_rps(t, v->now),
            ccd_stats_current_fail_per_sec(t, v->now), (unsigned long long)exceptions(s));
    if (v->master)
        workers(f, v);
    if (fclose(f)) {
        free(text);
        return NULL;
    }
    return text;
}
