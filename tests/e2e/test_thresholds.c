/* Thresholds against known delays: a pass exits 0, a breach exits 3 and the table names it. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(thresholds, .fini = h_cleanup, .timeout = 60);

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

/* Two users, 50 ms responses and 10 ms waits: about 33 requests/s, p95 a little above 50 ms.
 * One in four requests is a 404 (failure) unless FAILS=0. */
static const char *delayed =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.01), tasks = { slow = 3, bad = 1 } "
    "})\n"
    "function U:slow() self.client:get('/delay/50') end\n"
    "function U:bad()\n"
    "  if os.getenv('FAILS') == '0' then self.client:get('/delay/50') return end\n"
    "  self.client:get('/status/404')\n"
    "end\n"
    "THRESHOLDS\n";

/* Runs the scenario (THRESHOLDS replaced by lua) with options; returns the run. */
static void run(h_run_t *r, const char *fails, const char *lua, const char *const *args)
{
    const char *argv[H_MAX_ARGS + 1];
    int n = 0;
    const char *env[] = {h_strf("FAILS=%s", fails), NULL};
    h_run_opts_t o = {.env = env};
    const char *at = strstr(delayed, "THRESHOLDS");
    const char *scenario = h_strf("%.*s%s\n", (int)(at - delayed), delayed, lua ? lua : "");
    for (const char *a[] = {"-H", host(), "-u", "2", "-r", "100", "-t", "1s",
                            "--exit-code-on-error", "0", H_LOAD_FLAGS};
         n < (int)(sizeof a / sizeof *a); n++)
        argv[n] = a[n];
    for (; *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    cr_assert_eq(h_cicada_v(r, &o, scenario, argv), 0);
    H_ASSERT_JSON(r);
}

#define RUN(r, fails, lua, ...)                                                                    \
    do {                                                                                           \
        const char *args_[] = {__VA_ARGS__, NULL};                                                 \
        run(r, fails, lua, args_);                                                                 \
    } while (0)

/* Expects the threshold table to have a line naming metric (and name) with the result. */
static void expect_row(h_run_t *r, const char *metric, const char *name, const char *result)
{
    const char *text = r->err;
    char *line;
    while ((line = h_line_with(text, result)) != NULL) {
        bool ok = strncmp(line, metric, strlen(metric)) == 0 && strstr(line, name);
        text = strstr(text, line) + strlen(line);
        free(line);
        if (ok)
            return;
    }
    h_run_dump(r);
    cr_expect_fail("no threshold row \"%s ... %s ... %s\"", metric, name, result);
}

Test(thresholds, p95_passes_above_the_delay_and_breaches_below)
{
    h_run_t r;
    RUN(&r, "0", NULL, "--check-p95", "500ms");
    H_ASSERT_EXIT(&r, 0);
    expect_row(&r, "p95", "Aggregated", "passed");
    h_run_free(&r);
    RUN(&r, "0", NULL, "--check-p95", "40ms");
    H_ASSERT_EXIT(&r, 3);
    expect_row(&r, "p95", "Aggregated", "FAILED");
    h_run_free(&r);
}

Test(thresholds, p95_of_one_request_name)
{
    h_run_t r;
    RUN(&r, "1", NULL, "--check-p95", "/delay/50=45ms", "--check-p95", "/status/404=45ms");
    H_ASSERT_EXIT(&r, 3);
    expect_row(&r, "p95", "/delay/50", "FAILED");
    expect_row(&r, "p95", "/status/404", "passed");
    h_run_free(&r);
}

Test(thresholds, fail_ratio_passes_and_breaches)
{
    h_run_t r;
    RUN(&r, "1", NULL, "--check-fail-ratio", "0.5");
    H_ASSERT_EXIT(&r, 0);
    expect_row(&r, "fail-ratio", "Aggregated", "passed");
    h_run_free(&r);
    RUN(&r, "1", NULL, "--check-fail-ratio", "5%");
    H_ASSERT_EXIT(&r, 3);
    expect_row(&r, "fail-ratio", "Aggregated", "FAILED");
    h_run_free(&r);
}

Test(thresholds, rps_is_a_minimum)
{
    h_run_t r;
    RUN(&r, "0", NULL, "--check-rps", "5");
    H_ASSERT_EXIT(&r, 0);
    expect_row(&r, "rps", "Aggregated", "passed");
    h_run_free(&r);
    RUN(&r, "0", NULL, "--check-rps", "1000");
    H_ASSERT_EXIT(&r, 3);
    expect_row(&r, "rps", "Aggregated", "FAILED");
    h_run_free(&r);
}

Test(thresholds, scenario_thresholds_are_checked)
{
    h_run_t r;
    const char *none[] = {NULL};
    run(&r, "0", "cicada.threshold('p95', '/delay/50=1s')\ncicada.threshold('fail-ratio', '1%')",
        none);
    H_ASSERT_EXIT(&r, 0);
    expect_row(&r, "p95", "/delay/50", "passed");
    expect_row(&r, "fail-ratio", "Aggregated", "passed");
    h_run_free(&r);
    run(&r, "0", "cicada.threshold('p95', '/delay/50=20ms')", none);
    H_ASSERT_EXIT(&r, 3);
    expect_row(&r, "p95", "/delay/50", "FAILED");
    h_run_free(&r);
}

Test(thresholds, a_scope_matching_nothing_is_a_breach)
{
    h_run_t r;
    RUN(&r, "0", NULL, "--check-p95", "/renamed=10s");
    H_ASSERT_EXIT(&r, 3);
    expect_row(&r, "p95", "/renamed", "FAILED");
    h_run_free(&r);
}

Test(thresholds, breach_wins_over_request_failures)
{
    h_run_t r;
    const char *env[] = {"FAILS=1", NULL};
    h_run_opts_t o = {.env = env};
    const char *at = strstr(delayed, "THRESHOLDS");
    cr_assert_eq(h_cicada(&r, &o, h_strf("%.*s", (int)(at - delayed), delayed), "-H", host(), "-u",
                          "2", "-r", "100", "-t", "1s", "--check-fail-ratio", "1%", H_LOAD_FLAGS,
                          NULL),
                 0);
    H_ASSERT_EXIT(&r, 3);
    h_run_free(&r);
}
