/* Starting engines: a failure always comes with a reason, never with the text an earlier,
 * successful call left in the error buffer; the engines already started are stopped. The engine
 * calls are stubbed, so engines.c is included here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "engine/engine.h"

static int fail_at;           /* the engine whose start fails */
static const char *fail_text; /* what the failing start writes in err (NULL: nothing) */
static int started, stopped, joined;

static int stub_start(ccd_engine_t **out, const ccd_engine_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->index == fail_at) {
        if (fail_text)
            snprintf(err, errlen, "%s", fail_text);
        return CCD_ENOMEM;
    }
    snprintf(err, errlen, "init listener raised"); /* logged, yet left in err by a success */
    *out = (ccd_engine_t *)&started;
    started++;
    return 0;
}

static int stub_post(ccd_engine_t *e, int type, long a, long b, void *ptr)
{
    stopped += type == CCD_MSG_STOP;
    return 0;
}

static void stub_join(ccd_engine_t *e)
{
    joined++;
}

#define ccd_engine_start stub_start
#define ccd_engine_post  stub_post
#define ccd_engine_join  stub_join
#include "control/engines.c"

static int start(unsigned n, char *err, size_t errlen)
{
    ccd_options_t o = {.scenario = "scenario.lua"};
    ccd_scenario_t s = {0};
    ccd_engines_t es = {0};
    started = stopped = joined = 0;
    int rc = ccd_engines_start(&es, n, 1, &o, &s, NULL, err, errlen);
    cr_assert_eq(es.n, 0, "nothing is left running after a failure");
    cr_assert_null(es.v);
    return rc;
}

Test(engines, a_silent_failure_gets_a_generic_reason)
{
    char err[256];
    memset(err, 'x', sizeof(err) - 1); /* as an uninitialised buffer */
    err[sizeof(err) - 1] = '\0';
    fail_at = 0;
    fail_text = NULL;
    cr_assert_eq(start(2, err, sizeof(err)), CCD_ENOMEM);
    cr_assert_str_eq(err, "cannot start engine thread 0: Cannot allocate memory");
}

Test(engines, a_failure_never_reports_an_earlier_success_text)
{
    char err[256] = "";
    fail_at = 2;
    fail_text = NULL;
    cr_assert_eq(start(3, err, sizeof(err)), CCD_ENOMEM);
    cr_assert_str_eq(err, "cannot start engine thread 2: Cannot allocate memory");
    cr_assert_eq(stopped, 2, "the two started engines are stopped");
    cr_assert_eq(joined, 2, "and joined");
}

Test(engines, the_callees_reason_is_kept)
{
    char err[256] = "";
    fail_at = 1;
    fail_text = "scenario.lua:3: boom";
    cr_assert_eq(start(2, err, sizeof(err)), CCD_ENOMEM);
    cr_assert_str_eq(err, "scenario.lua:3: boom");
}

Test(engines, all_start)
{
    char err[256] = "";
    ccd_options_t o = {.scenario = "scenario.lua"};
    ccd_scenario_t s = {0};
    ccd_engines_t es = {0};
    fail_at = -1;
    started = joined = 0;
    cr_assert_eq(ccd_engines_start(&es, 3, 1, &o, &s, NULL, err, sizeof(err)), 0);
    cr_assert_eq(es.n, 3);
    ccd_engines_join(&es);
    cr_assert_eq(joined, 3);
    cr_assert_null(es.v);
}
