/* The documents a publish renders, without a server: a master's workers in /stats/requests
 * (Locust's "workers" and "worker_count"), /config, /worker-count and /metrics; none on a
 * process that is not a master. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "web/web_int.h"

#define T0 1700000000.0

static ccd_options_t opts;
static ccd_web_t *web;
static ccd_stats_t *stats;
static ccd_history_t *history;

static void setup(void)
{
    memset(&opts, 0, sizeof(opts));
    opts.scenario = "scenario.lua";
    char err[256] = "";
    cr_assert_eq(ccd_web_new(&web, &opts, err, sizeof(err)), 0, "%s", err);
    stats = ccd_stats_new(T0);
    history = ccd_history_new(false);
    cr_assert(stats && history);
}

static void teardown(void)
{
    ccd_web_free(web);
    ccd_stats_free(stats);
    ccd_history_free(history);
}

TestSuite(snapshot, .init = setup, .fini = teardown);

static const ccd_fleet_worker_t three[] = {
    {.id = "node-a_0123456789abcdef0123456789abcdef",
     .state = "running",
     .users = 40,
     .cpu = 12.5,
     .memory = 52428800},
    {.id = "node-b_fedcba9876543210fedcba9876543210", .state = "missing", .users = 0},
    {.id = "node-c_00000000000000000000000000000000",
     .state = "spawning",
     .users = 7,
     .cpu = 0.25,
     .memory = 1},
};

/* Publishes a view (a master when workers is not NULL) and returns the document doc, parsed. */
static json_t *publish(const ccd_fleet_worker_t *workers, size_t n, bool master, int doc)
{
    static const char *classes[] = {"Visitor"};
    static const bool selected[] = {true};
    static const unsigned users[] = {47};
    ccd_ui_view_t v = {
        .state = CCD_STATE_RUNNING,
        .o = &opts,
        .stats = stats,
        .history = history,
        .now = T0 + 10,
        .test_start = T0,
        .user_count = 47,
        .target_users = 47,
        .spawn_rate = 1,
        .nclasses = 1,
        .classes = classes,
        .selected = selected,
        .users = users,
        .master = master,
        .nworkers = n,
        .workers = workers,
    };
    ccd_ui_t *ui = ccd_web_ui(web);
    ui->publish(ui, &v);
    cr_assert_not_null(web->docs[doc]);
    if (doc == DOC_METRICS)
        return json_string(web->docs[doc]);
    json_error_t e;
    json_t *j = json_loads(web->docs[doc], 0, &e);
    cr_assert_not_null(j, "%s: %s", e.text, web->docs[doc]);
    return j;
}

Test(snapshot, a_master_lists_its_workers_as_locust)
{
    json_t *d = publish(three, 3, true, DOC_REQUESTS);
    json_t *list = json_object_get(d, "workers");
    cr_assert_eq(json_array_size(list), 3);
    json_t *a = json_array_get(list, 0);
    cr_expect_eq(json_object_size(a), 5, "exactly Locust's five keys");
    cr_expect_str_eq(json_string_value(json_object_get(a, "id")), three[0].id);
    cr_expect_str_eq(json_string_value(json_object_get(a, "state")), "running");
    cr_expect_eq(json_integer_value(json_object_get(a, "user_count")), 40);
    cr_expect(json_is_real(json_object_get(a, "cpu_usage")));
    cr_expect_float_eq(json_real_value(json_object_get(a, "cpu_usage")), 12.5, 1e-9);
    cr_expect(json_is_integer(json_object_get(a, "memory_usage")));
    cr_expect_eq(json_integer_value(json_object_get(a, "memory_usage")), 52428800);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "state")),
                     "missing");
    cr_expect_eq(json_integer_value(json_object_get(d, "worker_count")), 2,
                 "the missing worker is not counted");
    json_decref(d);
}

Test(snapshot, the_config_says_distributed_with_the_worker_count)
{
    json_t *d = publish(three, 3, true, DOC_CONFIG);
    cr_expect(json_is_true(json_object_get(d, "is_distributed")));
    cr_expect_eq(json_integer_value(json_object_get(d, "worker_count")), 2);
    json_decref(d);
    d = publish(three, 3, true, DOC_WORKER_COUNT);
    cr_expect_eq(json_object_size(d), 1);
    cr_expect_eq(json_integer_value(json_object_get(d, "worker_count")), 2);
    json_decref(d);
}

Test(snapshot, a_master_without_workers_yet)
{
    json_t *d = publish(NULL, 0, true, DOC_REQUESTS);
    cr_expect(json_is_array(json_object_get(d, "workers")));
    cr_expect_eq(json_array_size(json_object_get(d, "workers")), 0);
    cr_expect_eq(json_integer_value(json_object_get(d, "worker_count")), 0);
    json_decref(d);
    d = publish(NULL, 0, true, DOC_CONFIG);
    cr_expect(json_is_true(json_object_get(d, "is_distributed")));
    json_decref(d);
}

Test(snapshot, a_process_that_is_no_master_has_no_workers)
{
    /* Workers handed with master false are not shown: only a master has any. */
    json_t *d = publish(three, 3, false, DOC_REQUESTS);
    cr_expect_eq(json_array_size(json_object_get(d, "workers")), 0);
    cr_expect_eq(json_integer_value(json_object_get(d, "worker_count")), 0);
    json_decref(d);
    d = publish(three, 3, false, DOC_CONFIG);
    cr_expect(json_is_false(json_object_get(d, "is_distributed")));
    json_decref(d);
    d = publish(three, 3, false, DOC_METRICS);
    cr_expect_null(strstr(json_string_value(d), "cicada_workers"));
    json_decref(d);
}

Test(snapshot, a_worker_without_a_state_yet_is_counted_and_shown_as_null)
{
    const ccd_fleet_worker_t w[] = {{.id = "n_1", .state = NULL}};
    json_t *d = publish(w, 1, true, DOC_REQUESTS);
    cr_expect(
        json_is_null(json_object_get(json_array_get(json_object_get(d, "workers"), 0), "state")));
    cr_expect_eq(json_integer_value(json_object_get(d, "worker_count")), 1);
    json_decref(d);
}

Test(snapshot, the_metrics_count_a_masters_workers_by_state)
{
    json_t *d = publish(three, 3, true, DOC_METRICS);
    const char *m = json_string_value(d);
    cr_expect_not_null(strstr(m, "# TYPE cicada_workers gauge\n"));
    cr_expect_not_null(strstr(m, "cicada_workers{state=\"running\"} 1\n"));
    cr_expect_not_null(strstr(m, "cicada_workers{state=\"spawning\"} 1\n"));
    cr_expect_not_null(strstr(m, "cicada_workers{state=\"missing\"} 1\n"));
    cr_expect_not_null(strstr(m, "cicada_workers{state=\"ready\"} 0\n"));
    json_decref(d);
}

/* An open-model run: one class's arrivals (lateness 1 ms to 9 ms) and one request recorded
 * 2 ms from its schedule, 0.5 ms of it service. */
static void record_open_run(void)
{
    ccd_stats_arrivals_t *a = ccd_stats_arrivals(stats, "Visitor");
    cr_assert_not_null(a);
    a->scheduled = 1000;
    a->started = 990;
    a->dropped = 10;
    a->late = 3;
    a->backlog_max = 25;
    for (int64_t us = 1000; us <= 9000; us += 1000)
        cr_assert_eq(ccd_hist_record(&a->lateness, us), 0);
    cr_assert_eq(ccd_stats_record(stats, "GET", 3, "/", 1, 2000, 5, NULL, 0, T0 + 1), 0);
    ccd_stats_t *service = ccd_stats_service(stats);
    cr_assert_not_null(service);
    cr_assert_eq(ccd_stats_record(service, "GET", 3, "/", 1, 500, 5, NULL, 0, T0 + 1), 0);
}

Test(snapshot, an_open_model_run_shows_its_arrivals_and_service_times)
{
    record_open_run();
    json_t *d = publish(NULL, 0, false, DOC_REQUESTS);
    json_t *om = json_object_get(d, "open_model");
    cr_assert(json_is_object(om), "the open model's section is there");
    json_t *c = json_array_get(json_object_get(om, "classes"), 0);
    cr_assert_not_null(c);
    cr_expect_str_eq(json_string_value(json_object_get(c, "class")), "Visitor");
    cr_expect_eq(json_integer_value(json_object_get(c, "scheduled")), 1000);
    cr_expect_eq(json_integer_value(json_object_get(c, "started")), 990);
    cr_expect_eq(json_integer_value(json_object_get(c, "dropped_iterations")), 10);
    cr_expect_eq(json_integer_value(json_object_get(c, "backlog_max")), 25);
    cr_expect_eq(json_integer_value(json_object_get(c, "late_starts")), 3);
    json_t *late = json_object_get(c, "lateness_ms");
    cr_expect_float_eq(json_real_value(json_object_get(late, "p50")), 5.0, 0.01);
    cr_expect_float_eq(json_real_value(json_object_get(late, "p99")), 9.0, 0.01);
    cr_expect_float_eq(json_real_value(json_object_get(late, "max")), 9.0, 0.01);
    json_t *svc = json_object_get(om, "service_time");
    cr_assert_eq(json_array_size(svc), 2, "the entry and the aggregated row");
    json_t *get = json_array_get(svc, 0), *total = json_array_get(svc, 1);
    cr_expect_str_eq(json_string_value(json_object_get(get, "name")), "/");
    cr_expect_str_eq(json_string_value(json_object_get(get, "method")), "GET");
    cr_expect_str_eq(json_string_value(json_object_get(total, "name")), "Aggregated");
    cr_expect_float_eq(
        json_real_value(json_object_get(json_object_get(get, "exact"), "median_response_time")),
        0.5, 0.001, "the service time, beside the 2 ms from the schedule");
    json_t *row0 = json_array_get(json_object_get(d, "stats"), 0);
    cr_expect_float_eq(
        json_real_value(json_object_get(json_object_get(row0, "exact"), "median_response_time")),
        2.0, 0.001);
    json_decref(d);
}

Test(snapshot, a_closed_model_run_has_no_open_model_section)
{
    cr_assert_eq(ccd_stats_record(stats, "GET", 3, "/", 1, 2000, 5, NULL, 0, T0 + 1), 0);
    json_t *d = publish(NULL, 0, false, DOC_REQUESTS);
    cr_expect_null(json_object_get(d, "open_model"));
    json_decref(d);
}
