/* The snapshot: on the runner's thread, the view becomes the documents the server sends
 * (Locust's /stats/requests, /exceptions, /tasks and /worker-count, the UI's /config, /metrics)
 * and copies of the new history samples; the swap under the lock is the only time both threads
 * meet. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "report/report.h"
#include "web/web_int.h"

#define MAX_ROWS 500 /* Locust shows at most 500 rows (and the Aggregated one) */

static void set_int(json_t *o, const char *k, double v)
{
    json_object_set_new(o, k, json_integer((json_int_t)llround(v)));
}

/* A percentile as Locust gives it: a whole number of ms, 0 without requests. */
static double pct(const ccd_stats_entry_t *e, double q)
{
    return e->num_requests ? ccd_stats_percentile_ms(e, q) : 0;
}

/* One row of /stats/requests, with the names of Locust 2.12 and of later versions. */
static double exact_pct(const ccd_stats_entry_t *e, double q)
{
    return e->num_requests ? ccd_stats_percentile_ms(e, q) : 0.0;
}

static json_t *row(const ccd_stats_entry_t *e, double now)
{
    json_t *o = json_object();
    bool total = !e->method[0];
    json_object_set_new(o, "method", total ? json_null() : json_string(e->method));
    json_object_set_new(o, "name", json_string(e->name));
    json_object_set_new(o, "safe_name", json_string(e->name));
    set_int(o, "num_requests", (double)e->num_requests);
    set_int(o, "num_failures", (double)e->num_failures);
    json_object_set_new(o, "avg_response_time", json_real(ccd_stats_avg_ms(e)));
    set_int(o, "min_response_time", e->num_requests ? ccd_stats_min_ms(e) : 0);
    set_int(o, "max_response_time", e->num_requests ? ccd_stats_max_ms(e) : 0);
    json_object_set_new(o, "current_rps", json_real(ccd_stats_current_rps(e, now)));
    json_object_set_new(o, "current_fail_per_sec",
                        json_real(ccd_stats_current_fail_per_sec(e, now)));
    json_object_set_new(o, "total_rps", json_real(ccd_stats_total_rps(e)));
    json_object_set_new(o, "total_fail_per_sec", json_real(ccd_stats_total_fail_per_sec(e)));
    set_int(o, "median_response_time", pct(e, 0.5));
    set_int(o, "ninetieth_response_time", pct(e, 0.9));
    set_int(o, "ninety_ninth_response_time", pct(e, 0.99));
    set_int(o, "response_time_percentile_0.95", pct(e, 0.95));
    set_int(o, "response_time_percentile_0.99", pct(e, 0.99));
    json_object_set_new(o, "avg_content_length", json_real(ccd_stats_avg_content_length(e)));
    /* Locust's fields above are whole ms, as its tools expect; the UI shows these, exact. */
    bool any = e->num_requests > 0;
    json_object_set_new(o, "exact",
                        json_pack("{s:f,s:f,s:f,s:f,s:f,s:f}", "min_response_time",
                                  any ? ccd_stats_min_ms(e) : 0.0, "max_response_time",
                                  any ? ccd_stats_max_ms(e) : 0.0, "avg_response_time",
                                  ccd_stats_avg_ms(e), "median_response_time", exact_pct(e, 0.5),
                                  "response_time_percentile_0.95", exact_pct(e, 0.95),
                                  "response_time_percentile_0.99", exact_pct(e, 0.99)));
    return o;
}

/* The current percentile of the whole load, null while there is no window (as Locust). */
static json_t *current_pct(const ccd_ui_view_t *v, double q)
{
    double ms;
    if (!ccd_history_current_percentile_ms(v->history, ccd_stats_total(v->stats), q, v->now, &ms))
        return json_null();
    return json_integer((json_int_t)llround(ms));
}

/* Workers connected and answering: all but the missing ones (Locust's worker_count counts its
 * ready, spawning and running workers; a stopped one is as ready for the next test). */
static size_t worker_count(const ccd_ui_view_t *v)
{
    size_t n = 0;
    for (size_t i = 0; v->master && i < v->nworkers; i++)
        if (!v->workers[i].state || strcmp(v->workers[i].state, "missing") != 0)
            n++;
    return n;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A master's workers as Locust's /stats/requests lists them (web.py); empty elsewhere. */
static json_t *workers_json(const ccd_ui_view_t *v)
{
    json_t *list = json_array();
    for (size_t i = 0; list && v->master && i < v->nworkers; i++) {
        const ccd_fleet_worker_t *k = &v->workers[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", str_or_null(k->id));
        json_object_set_new(o, "state", str_or_null(k->state));
        json_object_set_new(o, "user_count", json_integer(k->users));
        json_object_set_new(o, "cpu_usage", json_real(k->cpu));
        json_object_set_new(o, "memory_usage", json_integer((json_int_t)k->memory));
        json_array_append_new(list, o);
    }
    return list;
}

/* The open model's figures of a run that uses it (NULL otherwise): the report's arrivals per
 * class (report/report.h: scheduled, started, dropped_iterations, backlog_max, late_starts,
 * lateness_ms), and the service times as rows of /stats/requests, the aggregated one last. */
static json_t *open_model_json(const ccd_ui_view_t *v)
{
    const ccd_stats_t *service = ccd_stats_service_get(v->stats);
    if (ccd_stats_arrivals_count(v->stats) == 0 && !service)
        return NULL;
    json_t *report = ccd_report_open_json(v->stats);
    json_t *classes = json_object_get(report, "classes");
    json_t *rows = json_array();
    size_t n = service ? ccd_stats_count(service) : 0;
    for (size_t i = 0; i < n && i < MAX_ROWS; i++)
        json_array_append_new(rows, row(ccd_stats_get(service, i), v->now));
    if (service)
        json_array_append_new(rows, row(ccd_stats_total(service), v->now));
    json_t *doc = json_pack("{s:o,s:o}", "classes", classes ? json_incref(classes) : json_array(),
                            "service_time", rows);
    json_decref(report);
    return doc;
}

static json_t *requests_doc(const ccd_ui_view_t *v)
{
    json_t *doc = json_object(), *rows = json_array();
    const ccd_stats_entry_t *t = ccd_stats_total(v->stats);
    size_t n = ccd_stats_count(v->stats);
    for (size_t i = 0; i < n && i < MAX_ROWS; i++)
        json_array_append_new(rows, row(ccd_stats_get(v->stats, i), v->now));
    json_array_append_new(rows, row(t, v->now));
    json_object_set_new(doc, "stats", rows);
    json_t *errors = ccd_report_errors_json(v->stats);
    while (errors && json_array_size(errors) > MAX_ROWS)
        json_array_remove(errors, MAX_ROWS);
    json_object_set_new(doc, "errors", errors ? errors : json_array());
    json_object_set_new(doc, "total_rps", json_real(ccd_stats_current_rps(t, v->now)));
    json_object_set_new(doc, "total_fail_per_sec",
                        json_real(ccd_stats_current_fail_per_sec(t, v->now)));
    double ratio = t->num_requests ? (double)t->num_failures / (double)t->num_requests
                                   : (t->num_failures ? 1.0 : 0.0);
    json_object_set_new(doc, "fail_ratio", json_real(ratio));
    json_object_set_new(doc, "total_avg_response_time", json_real(ccd_stats_avg_ms(t)));
    json_object_set_new(doc, "current_response_time_percentile_50", current_pct(v, 0.5));
    json_object_set_new(doc, "current_response_time_percentile_95", current_pct(v, 0.95));
    json_object_set_new(doc, "current_response_time_percentiles",
                        json_pack("{s:o,s:o}", "response_time_percentile_0.5", current_pct(v, 0.5),
                                  "response_time_percentile_0.95", current_pct(v, 0.95)));
    json_object_set_new(doc, "state", json_string(ccd_ui_state_name(v->state)));
    json_object_set_new(doc, "user_count", json_integer(v->user_count));
    json_object_set_new(doc, "workers", workers_json(v));
    json_object_set_new(doc, "worker_count", json_integer((json_int_t)worker_count(v)));
    json_t *open = open_model_json(v);
    if (open)
        json_object_set_new(doc, "open_model", open);
    return doc;
}

static json_t *exceptions_doc(const ccd_ui_view_t *v)
{
    json_t *list = json_array();
    for (size_t i = 0; i < ccd_stats_exception_count(v->stats); i++) {
        const ccd_stats_exception_t *x = ccd_stats_exception_get(v->stats, i);
        json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:s}", "count", (json_int_t)x->count,
                                              "msg", x->message, "traceback",
                                              x->traceback ? x->traceback : "", "nodes", "local"));
    }
    return json_pack("{s:o}", "exceptions", list);
}

/* What the start form and the header need. */
static json_t *config_doc(const ccd_ui_view_t *v)
{
    const ccd_options_t *o = v->o;
    json_t *classes = json_array(), *selected = json_array(), *users = json_object();
    for (size_t i = 0; i < v->nclasses; i++) {
        json_array_append_new(classes, json_string(v->classes[i]));
        if (v->selected[i])
            json_array_append_new(selected, json_string(v->classes[i]));
        json_object_set_new(users, v->classes[i], json_integer(v->users[i]));
    }
    json_t *doc = json_object();
    json_object_set_new(doc, "version", json_string(CICADA_VERSION));
    json_object_set_new(doc, "scenario", json_string(o->scenario));
    json_object_set_new(doc, "host", v->host ? json_string(v->host) : json_null());
    json_object_set_new(doc, "state", json_string(ccd_ui_state_name(v->state)));
    json_object_set_new(doc, "user_count", json_integer(v->user_count));
    json_object_set_new(doc, "num_users", json_integer(v->target_users));
    json_object_set_new(doc, "spawn_rate", json_real(v->spawn_rate));
    json_object_set_new(doc, "run_time", json_real(v->run_time));
    json_object_set_new(doc, "user_classes", classes);
    json_object_set_new(doc, "selected_user_classes", selected);
    json_object_set_new(doc, "users_per_class", users);
    json_object_set_new(doc, "is_shape", json_boolean(v->has_shape));
    json_object_set_new(doc, "is_distributed", json_boolean(v->master));
    json_object_set_new(doc, "worker_count", json_integer((json_int_t)worker_count(v)));
    json_object_set_new(doc, "stats_history_enabled",
                        json_boolean(o->csv_prefix && o->csv_full_history));
    json_object_set_new(doc, "test_start", json_real(v->test_start));
    json_object_set_new(doc, "test_end", json_real(v->test_end));
    json_object_set_new(doc, "time", json_real(v->now));
    return doc;
}

static char *dump(json_t *doc)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(doc);
    return s;
}

/* Copies the samples the web UI does not have yet; the last one it has is copied again, since
 * a tick in the same second replaces it. Lock held. */
static void copy_history(ccd_web_t *w, const ccd_history_t *h)
{
    size_t n = ccd_history_count(h), from = w->nsamples ? w->nsamples - 1 : 0;
    if (n < w->nsamples)
        from = 0;
    if (n > 0) {
        ccd_history_sample_t *s = ccd_array_grow(w->samples, &w->capsamples, n, sizeof(*s), 256);
        if (!s)
            return;
        w->samples = s;
    }
    for (size_t i = from; i < n; i++)
        w->samples[i] = *ccd_history_get(h, i);
    w->nsamples = n;
}

/* The class names, copied at the first publish (they never change). Lock held. */
static void copy_classes(ccd_web_t *w, const ccd_ui_view_t *v)
{
    if (w->classes || !(w->classes = calloc(v->nclasses + 1, sizeof(*w->classes))))
        return;
    for (size_t i = 0; i < v->nclasses; i++)
        if ((w->classes[w->nclasses] = strdup(v->classes[i])))
            w->nclasses++;
}

void ccd_web_publish(ccd_ui_t *ui, const ccd_ui_view_t *v)
{
    ccd_web_t *w = (ccd_web_t *)ui;
    char *docs[DOC_COUNT] = {
        [DOC_REQUESTS] = dump(requests_doc(v)),
        [DOC_EXCEPTIONS] = dump(exceptions_doc(v)),
        [DOC_TASKS] = strdup(v->tasks ? v->tasks : "{\"per_class\": {}, \"total\": {}}"),
        [DOC_CONFIG] = dump(config_doc(v)),
        [DOC_METRICS] = ccd_web_metrics(v),
        [DOC_WORKER_COUNT] = dump(json_pack("{s:I}", "worker_count", (json_int_t)worker_count(v))),
    };
    char *host = v->host ? strdup(v->host) : NULL;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < DOC_COUNT; i++) {
        char *old = w->docs[i];
        w->docs[i] = docs[i] ? docs[i] : old; /* out of memory: keep the older document */
        docs[i] = docs[i] ? old : NULL;
    }
    char *old_host = w->host;
    w->host = host;
    w->test_start = v->test_start;
    w->has_shape = v->has_shape;
    copy_history(w, v->history);
    copy_classes(w, v);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < DOC_COUNT; i++)
        free(docs[i]);
    free(old_host);
}

char *ccd_web_history_json(ccd_web_t *w, double since)
{
    json_t *list = json_array();
    double from = floor(w->test_start);
    for (size_t i = 0; list && i < w->nsamples; i++) {
        const ccd_history_sample_t *s = &w->samples[i];
        if ((double)s->timestamp < from || (double)s->timestamp <= since)
            continue;
        json_array_append_new(
            list,
            json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:I,s:I}", "timestamp",
                      (json_int_t)s->timestamp, "user_count", (json_int_t)s->user_count,
                      "current_rps", s->current_rps, "current_fail_per_sec",
                      s->current_fail_per_sec, "response_time_percentile_50", s->current_p50_ms,
                      "response_time_percentile_95", s->current_p95_ms,
                      "response_time_percentile_99", s->current_p99_ms, "num_requests",
                      (json_int_t)s->num_requests, "num_failures", (json_int_t)s->num_failures));
    }
    return dump(json_pack("{s:f,s:o}", "test_start", w->test_start, "history", list));
}
