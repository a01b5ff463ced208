/* The merged statistics of a run: deltas in, generations, history and CSV files every second,
 * the console table, and the final outputs (written by final_report.c). */
#include "control/collector.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "control/final_report.h"
#include "report/csv.h"
#include "report/report.h"

struct ccd_collector {
    const ccd_options_t *o;
    ccd_stats_t *stats;
    ccd_history_t *history;
    ccd_csv_t *csv;     /* NULL without --csv, and once finished */
    int64_t csv_second; /* the second of the last history rows written */
    long generation;    /* of the statistics, raised by each reset */
    unsigned *users;    /* the last user count of each producer */
    unsigned nproducers;
};

int ccd_collector_new(ccd_collector_t **out, const ccd_options_t *o, unsigned nproducers,
                      double start_time, char *err, size_t errlen)
{
    ccd_collector_t *c = calloc(1, sizeof(*c));
    err[0] = '\0';
    if (c) {
        c->o = o;
        c->nproducers = nproducers;
        c->csv_second = -1;
        c->users = calloc(nproducers ? nproducers : 1, sizeof(*c->users));
        c->stats = ccd_stats_new(start_time);
        c->history = ccd_history_new(o->csv_full_history);
    }
    if (!c || !c->users || !c->stats || !c->history) {
        snprintf(err, errlen, "out of memory creating the statistics");
        ccd_collector_free(c);
        return CCD_ENOMEM;
    }
    int rc =
        o->csv_prefix ? ccd_csv_open(&c->csv, o->csv_prefix, o->csv_full_history, err, errlen) : 0;
    if (rc) {
        if (!err[0])
            snprintf(err, errlen, "cannot create the CSV files %s_*.csv: %s", o->csv_prefix,
                     ccd_strerror(rc));
        ccd_collector_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void ccd_collector_free(ccd_collector_t *c)
{
    if (!c)
        return;
    ccd_csv_close(c->csv);
    if (c->stats)
        ccd_stats_free(c->stats);
    ccd_history_free(c->history);
    free(c->users);
    free(c);
}

int ccd_collector_add(ccd_collector_t *c, const ccd_collector_delta_t *d)
{
    if (d->from >= 0 && (unsigned)d->from < c->nproducers)
        c->users[d->from] = d->user_count;
    if (d->generation != c->generation)
        return 1;
    if (d->stats && ccd_stats_merge(c->stats, d->stats)) {
        ccd_log(CCD_LOG_ERROR, "out of memory merging statistics");
        return CCD_ENOMEM;
    }
    return 0;
}

long ccd_collector_reset(ccd_collector_t *c, double now)
{
    ccd_stats_reset(c->stats, now);
    ccd_history_reset_window(c->history);
    return ++c->generation;
}

long ccd_collector_generation(const ccd_collector_t *c)
{
    return c->generation;
}

unsigned ccd_collector_user_count(const ccd_collector_t *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < c->nproducers; i++)
        n += c->users[i];
    return n;
}

/* One history row a second: when the final rows fall in the second of the last regular ones,
 * they replace them. */
static int append_history(ccd_collector_t *c, unsigned users, double now)
{
    if ((int64_t)now == c->csv_second)
        return ccd_csv_replace_history(c->csv, c->stats, c->history, users, now);
    c->csv_second = (int64_t)now;
    return ccd_csv_append_history(c->csv, c->stats, c->history, users, now);
}

static int write_csv(ccd_collector_t *c, unsigned users, double now)
{
    return ccd_csv_write(c->csv, c->stats) || append_history(c, users, now);
}

void ccd_collector_tick(ccd_collector_t *c, unsigned user_count, double now)
{
    if (ccd_history_tick(c->history, c->stats, user_count, now))
        ccd_log(CCD_LOG_ERROR, "out of memory recording the history");
    if (c->csv && write_csv(c, user_count, now))
        ccd_log(CCD_LOG_ERROR, "cannot write the CSV files (%s_*.csv)", c->o->csv_prefix);
}

void ccd_collector_print(const ccd_collector_t *c, FILE *out, double now)
{
    ccd_report_table(out, c->stats, now);
}

int ccd_collector_finish(ccd_collector_t *c, const ccd_run_summary_t *run)
{
    ccd_history_tick(c->history, c->stats, 0, run->end_time);
    int lost = 0;
    if (c->csv) { /* the final rows are written even when the statistics files were not */
        lost = ccd_csv_write(c->csv, c->stats) != 0;
        lost |= append_history(c, 0, run->end_time) != 0;
        lost |= ccd_csv_close(c->csv) != 0;
        c->csv = NULL;
        if (lost)
            ccd_log(CCD_LOG_ERROR, "cannot write the CSV files (%s_*.csv)", c->o->csv_prefix);
    }
    return ccd_final_report_write(c->o, c->stats, c->history, run, lost);
}

const ccd_stats_t *ccd_collector_stats(const ccd_collector_t *c)
{
    return c->stats;
}

const ccd_history_t *ccd_collector_history(const ccd_collector_t *c)
{
    return c->history;
}
