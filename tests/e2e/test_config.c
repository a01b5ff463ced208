/* Configuration sources: cicada.conf in the working directory, --config, CICADA_* variables and
 * the command line, in that order of precedence; invalid values name their source. */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

TestSuite(config, .fini = h_cleanup, .timeout = 60);

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

static const char *scenario =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "function U:on_start() self.client:get('/hello', { name = 'start' }) end\n"
    "function U:t() self.client:get('/hello', { name = 't' }) end\n";

/* A fresh directory holding cicada.conf with `conf` (NULL: no file). */
static const char *dir_with_conf(const char *conf)
{
    const char *dir = h_tmpdir();
    cr_assert_not_null(dir);
    if (conf)
        cr_assert_eq(h_write_file(h_strf("%s/cicada.conf", dir), conf, strlen(conf)), 0);
    return dir;
}

/* Runs cicada in dir with env and args (NULL-terminated) after "-H host --report-json -
 * --only-summary". */
static void run_in(h_run_t *r, const char *dir, const char **env, const char *const *args)
{
    const char *argv[H_MAX_ARGS + 1];
    int n = 0;
    h_run_opts_t o = {.cwd = dir, .env = env, .timeout_s = 15};
    argv[n++] = "-H";
    argv[n++] = host();
    argv[n++] = "--report-json";
    argv[n++] = "-";
    argv[n++] = "--only-summary";
    for (; args && *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    cr_assert_eq(h_cicada_v(r, &o, scenario, argv), 0);
}

/* The run succeeded with `users` users, each started once. */
static void expect_users(h_run_t *r, long users)
{
    H_ASSERT_EXIT(r, 0);
    H_ASSERT_JSON(r);
    cr_expect_eq(json_integer_value(json_object_get(r->json, "user_count")), users);
    cr_expect_eq(h_requests(r->json, "GET", "start"), users);
    cr_expect_lt(r->elapsed_s, 6, "run-time not applied: %.1f s", r->elapsed_s);
}

#define BASE_CONF "spawn-rate = 100\nrun-time = 1s\nheadless = true\n"

Test(config, conf_file_in_the_working_directory_is_read)
{
    h_run_t r;
    run_in(&r, dir_with_conf("# users for the smoke run\nusers = 3\n" BASE_CONF), NULL, NULL);
    expect_users(&r, 3);
    h_run_free(&r);
}

Test(config, config_option_names_the_file)
{
    h_run_t r;
    const char *dir = dir_with_conf("users = 3\n" BASE_CONF);
    const char *other = h_strf("%s/other.conf", h_tmpdir());
    const char *conf = "users = 4\n" BASE_CONF;
    cr_assert_eq(h_write_file(other, conf, strlen(conf)), 0);
    const char *args[] = {"--config", other, NULL};
    run_in(&r, dir, NULL, args);
    expect_users(&r, 4);
    h_run_free(&r);
}

Test(config, environment_overrides_the_file)
{
    h_run_t r;
    const char *env[] = {"CICADA_USERS=5", NULL};
    run_in(&r, dir_with_conf("users = 3\n" BASE_CONF), env, NULL);
    expect_users(&r, 5);
    h_run_free(&r);
}

Test(config, command_line_overrides_the_environment)
{
    h_run_t r;
    const char *env[] = {"CICADA_USERS=5", NULL};
    const char *args[] = {"-u", "6", NULL};
    run_in(&r, dir_with_conf("users = 3\n" BASE_CONF), env, args);
    expect_users(&r, 6);
    h_run_free(&r);
}

Test(config, environment_alone_sets_options)
{
    h_run_t r;
    const char *env[] = {"CICADA_USERS=2", "CICADA_SPAWN_RATE=100", "CICADA_RUN_TIME=1s",
                         "CICADA_HEADLESS=true", NULL};
    run_in(&r, dir_with_conf(NULL), env, NULL);
    expect_users(&r, 2);
    h_run_free(&r);
}

/* Exit 2 with a one-line message holding every needle. */
static void expect_usage_error(h_run_t *r, const char *a, const char *b)
{
    H_ASSERT_EXIT(r, 2);
    cr_expect(h_contains(r->err, a) && h_contains(r->err, b),
              "the message should name \"%s\" and \"%s\": %s", a, b, r->err);
    cr_expect_eq(r->out_len, 0, "no report after a configuration error");
}

Test(config, invalid_file_value_names_file_line_and_value)
{
    h_run_t r;
    run_in(&r, dir_with_conf(BASE_CONF "users = many\n"), NULL, NULL);
    expect_usage_error(&r, "cicada.conf:4", "many");
    h_run_free(&r);
}

Test(config, unknown_file_key_is_an_error)
{
    h_run_t r;
    run_in(&r, dir_with_conf(BASE_CONF "userz = 3\n"), NULL, NULL);
    expect_usage_error(&r, "cicada.conf:4", "userz");
    h_run_free(&r);
}

Test(config, invalid_environment_value_names_the_variable)
{
    h_run_t r;
    const char *env[] = {"CICADA_USERS=lots", NULL};
    run_in(&r, dir_with_conf(BASE_CONF), env, NULL);
    expect_usage_error(&r, "CICADA_USERS", "lots");
    h_run_free(&r);
}

Test(config, invalid_environment_duration_names_the_variable)
{
    h_run_t r;
    const char *env[] = {"CICADA_RUN_TIME=soon", NULL};
    run_in(&r, dir_with_conf("users = 1\n"), env, NULL);
    expect_usage_error(&r, "CICADA_RUN_TIME", "soon");
    h_run_free(&r);
}

Test(config, invalid_command_line_value_names_the_option)
{
    h_run_t r;
    const char *args[] = {"-u", "bogus", NULL};
    run_in(&r, dir_with_conf(BASE_CONF), NULL, args);
    expect_usage_error(&r, "--users", "bogus");
    h_run_free(&r);
}

Test(config, missing_config_file_is_an_error)
{
    h_run_t r;
    const char *args[] = {"--config", "/nonexistent/cicada.conf", NULL};
    run_in(&r, dir_with_conf(NULL), NULL, args);
    expect_usage_error(&r, "/nonexistent/cicada.conf", "cannot");
    h_run_free(&r);
}

Test(config, thresholds_from_the_file_and_the_environment)
{
    h_run_t r;
    run_in(&r, dir_with_conf("users = 1\ncheck-rps = 1000000\n" BASE_CONF), NULL, NULL);
    H_ASSERT_EXIT(&r, 3);
    cr_expect(h_contains(r.err, "FAILED"), "no breach in the table");
    h_run_free(&r);
    const char *env[] = {"CICADA_CHECK_RPS=1000000", NULL};
    run_in(&r, dir_with_conf("users = 1\n" BASE_CONF), env, NULL);
    H_ASSERT_EXIT(&r, 3);
    h_run_free(&r);
    const char *pass[] = {"CICADA_CHECK_FAIL_RATIO=0", NULL};
    run_in(&r, dir_with_conf("users = 1\n" BASE_CONF), pass, NULL);
    H_ASSERT_EXIT(&r, 0);
    cr_expect(h_contains(r.err, "passed"), "no threshold table");
    h_run_free(&r);
}

Test(config, invalid_threshold_value_is_a_usage_error)
{
    h_run_t r;
    const char *args[] = {"--check-p95", "fast", NULL};
    run_in(&r, dir_with_conf(BASE_CONF), NULL, args);
    expect_usage_error(&r, "p95", "fast");
    h_run_free(&r);
    run_in(&r, dir_with_conf(BASE_CONF "check-fail-ratio = lots\n"), NULL, NULL);
    expect_usage_error(&r, "cicada.conf:4", "lots");
    h_run_free(&r);
}
