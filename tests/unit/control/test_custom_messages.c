/* Custom messages in real engine threads and real Lua states: a delivery reaches the scenario's
 * handler in every engine (also when it came before they started), a handler's or a user's
 * send arrives at the runner's side as (type, JSON), and the runner's own scenario state sends
 * through the callback it was given and runs its handlers. A whole local run closes the loop. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "control/engines.h"
#include "control/runner.h"
#include "control/scenario.h"
#include "engine/engine.h"
#include "stats/stats.h"

static const char *scenario_text =
    "local cicada = require 'cicada'\n"
    "cicada.on_message('greet', function(data, from)\n"
    "  cicada.send_message('seen', { n = data.n, list = data.list, from = from })\n"
    "end)\n"
    "cicada.on_message('empty', function(data, from)\n"
    "  cicada.send_message('empty_seen', { was_nil = data == nil })\n"
    "end)\n"
    "cicada.on_message('boom', function() error('handler failed') end)\n"
    "cicada.on_message('replaced', function() cicada.send_message('old', 1) end)\n"
    "cicada.on_message('replaced', function() cicada.send_message('new', 2) end)\n"
    "cicada.user('U', { wait_time = cicada.constant(0.05), tasks = { function(self)\n"
    "  if not self.sent then\n"
    "    self.sent = true\n"
    "    cicada.send_message('from_user', { hello = 'world', n = 7 })\n"
    "  end\n"
    "end } })\n";

static char path[64];

static void write_scenario(const char *text)
{
    snprintf(path, sizeof(path), "/tmp/ccd_custom_XXXXXX.lua");
    int fd = mkstemps(path, 4);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* ---- Engines --------------------------------------------------------------------------- */

typedef struct {
    struct ev_loop *loop;
    ccd_queue_t inbox;
    ccd_engines_t es;
    ccd_scenario_t s;
    ccd_options_t o;
    /* What came back. */
    ccd_custom_msg_t *sent[16];
    int sent_from[16];
    int nsent;
    char *logs[16];
    int nlogs;
    size_t exceptions;
    unsigned done;
    ev_timer deadline;
} bench_t;

static bench_t b;
static const char *awaited; /* a type of message to stop the loop at (or "done", "exception") */
static int awaited_count;

static int count_sent(const char *type)
{
    int n = 0;
    for (int i = 0; i < b.nsent; i++)
        n += strcmp(b.sent[i]->type, type) == 0;
    return n;
}

static void on_inbox(ccd_queue_t *q, void *ud)
{
    ccd_msg_t m;
    while (ccd_queue_pop(q, &m) == 0) {
        switch (m.type) {
        case CCD_MSG_CUSTOM_SEND:
            cr_assert_lt(b.nsent, 16);
            b.sent_from[b.nsent] = m.from;
            b.sent[b.nsent++] = m.ptr;
            break;
        case CCD_MSG_LOG:
            if (b.nlogs < 16)
                b.logs[b.nlogs++] = m.ptr;
            else
                free(m.ptr);
            break;
        case CCD_MSG_REPORT:
        case CCD_MSG_DONE:
            if (m.ptr)
                b.exceptions += ccd_stats_exception_count(m.ptr);
            ccd_stats_free(m.ptr);
            b.done += m.type == CCD_MSG_DONE;
            break;
        case CCD_MSG_QUIT: free(m.ptr); break;
        }
    }
    bool met = strcmp(awaited, "done") == 0        ? b.done >= (unsigned)awaited_count
               : strcmp(awaited, "exception") == 0 ? b.exceptions >= (size_t)awaited_count
                                                   : count_sent(awaited) >= awaited_count;
    if (met)
        ev_break(b.loop, EVBREAK_ALL);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    cr_assert_fail("timed out waiting for %d '%s'", awaited_count, awaited);
}

/* Runs the loop until count messages of type came (or "done" engines, or "exception"s). */
static void await(const char *type, int count)
{
    awaited = type;
    awaited_count = count;
    ev_timer_init(&b.deadline, on_deadline, 10, 0);
    ev_timer_start(b.loop, &b.deadline);
    ccd_queue_t *q = &b.inbox;
    on_inbox(q, NULL); /* what came already */
    if (!(strcmp(type, "done") == 0 ? b.done >= (unsigned)count : count_sent(type) >= count))
        ev_run(b.loop, 0);
    ev_timer_stop(b.loop, &b.deadline);
}

static void setup(void)
{
    memset(&b, 0, sizeof(b));
    write_scenario(scenario_text);
    b.o.scenario = path;
    b.loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_eq(ccd_queue_init(&b.inbox, b.loop, on_inbox, NULL), 0);
    char err[1024] = "";
    cr_assert_eq(ccd_scenario_open(&b.s, &b.o, err, sizeof(err)), 0, "%s", err);
}

static void start_engines(unsigned n)
{
    char err[1024] = "";
    cr_assert_eq(ccd_engines_start(&b.es, n, 1, &b.o, &b.s, &b.inbox, err, sizeof(err)), 0, "%s",
                 err);
}

static void teardown(void)
{
    unsigned n = b.es.n;
    ccd_engines_post_all(&b.es, CCD_MSG_STOP, 0);
    if (n)
        await("done", (int)n);
    ccd_engines_join(&b.es);
    for (int i = 0; i < b.nsent; i++)
        ccd_custom_msg_free(b.sent[i]);
    for (int i = 0; i < b.nlogs; i++)
        free(b.logs[i]);
    ccd_msg_t m;
    while (ccd_queue_pop(&b.inbox, &m) == 0)
        if (m.type == CCD_MSG_REPORT || m.type == CCD_MSG_DONE)
            ccd_stats_free(m.ptr);
        else
            free(m.ptr);
    ccd_queue_destroy(&b.inbox);
    ccd_scenario_close(&b.s);
    ev_loop_destroy(b.loop);
    unlink(path);
}

TestSuite(custom_engines, .init = setup, .fini = teardown, .timeout = 30);

static json_t *data_of(const ccd_custom_msg_t *m)
{
    json_error_t e;
    json_t *v = json_loads(m->json, JSON_DECODE_ANY, &e);
    cr_assert_not_null(v, "%s: %s", m->json, e.text);
    return v;
}

Test(custom_engines, every_engine_runs_the_handler_and_its_reply_reaches_the_runner)
{
    start_engines(2);
    cr_assert_eq(ccd_engines_post_custom(&b.es, "greet", "{\"n\":1,\"list\":[\"a\",{\"b\":null}]}",
                                         "master_1"),
                 0);
    await("seen", 2);
    cr_assert_eq(b.sent_from[0] + b.sent_from[1], 1, "one reply from each engine (0 and 1)");
    for (int i = 0; i < 2; i++) {
        cr_assert_null(b.sent[i]->node, "a handler's send has no addressee");
        json_t *v = data_of(b.sent[i]);
        cr_assert_eq(json_integer_value(json_object_get(v, "n")), 1);
        cr_assert_str_eq(json_string_value(json_object_get(v, "from")), "master_1");
        json_t *list = json_object_get(v, "list");
        cr_assert_eq(json_array_size(list), 2);
        cr_assert_str_eq(json_string_value(json_array_get(list, 0)), "a");
        cr_assert(json_is_null(json_object_get(json_array_get(list, 1), "b")),
                  "a nested null stays null: %s", b.sent[i]->json);
        json_decref(v);
    }
}

Test(custom_engines, null_data_reaches_the_handler_as_nil_and_from_may_be_absent)
{
    start_engines(1);
    cr_assert_eq(ccd_engines_post_custom(&b.es, "empty", "null", NULL), 0);
    await("empty_seen", 1);
    cr_assert_str_eq(b.sent[0]->json, "{\"was_nil\":true}");
}

Test(custom_engines, messages_before_the_engines_start_are_held_for_them)
{
    cr_assert_eq(ccd_engines_post_custom(&b.es, "greet", "{\"n\":5}", "m"), 0);
    cr_assert_eq(ccd_engines_post_custom(&b.es, "empty", "null", "m"), 0);
    start_engines(2);
    await("empty_seen", 2);
    cr_assert_eq(count_sent("seen"), 2);
    cr_assert_str_eq(b.sent[0]->type, "seen", "in the order they came");
}

Test(custom_engines, held_messages_are_freed_when_no_engine_starts)
{
    cr_assert_eq(ccd_engines_post_custom(&b.es, "greet", "{\"n\":5}", "m"), 0);
    /* teardown joins without engines: the held message is freed (checked by ASan builds) */
}

Test(custom_engines, a_users_send_arrives_at_the_runner)
{
    start_engines(1);
    cr_assert_eq(ccd_engine_post(b.es.v[0], CCD_MSG_SPAWN, b.s.sel[0], 1, NULL), 0);
    await("from_user", 1);
    json_t *v = data_of(b.sent[0]);
    cr_assert_str_eq(json_string_value(json_object_get(v, "hello")), "world");
    cr_assert_eq(json_integer_value(json_object_get(v, "n")), 7);
    json_decref(v);
}

Test(custom_engines, a_second_registration_replaces_the_first)
{
    start_engines(1);
    cr_assert_eq(ccd_engines_post_custom(&b.es, "replaced", "null", NULL), 0);
    await("new", 1);
    cr_assert_eq(count_sent("old"), 0);
}

Test(custom_engines, an_unknown_type_is_logged_once_and_a_failing_handler_counted)
{
    start_engines(2);
    cr_assert_eq(ccd_engines_post_custom(&b.es, "nobody", "{}", "m"), 0);
    cr_assert_eq(ccd_engines_post_custom(&b.es, "boom", "{}", "m"), 0);
    await("exception", 2); /* the reports carry one exception per engine */
    cr_assert_eq(b.nlogs, 1, "only the first engine says it");
    cr_assert(strstr(b.logs[0], "Unknown message type received: 'nobody'"), "%s", b.logs[0]);
}

/* ---- The runner's scenario state --------------------------------------------------------- */

static const char *runner_text =
    "local cicada = require 'cicada'\n"
    "cicada.events.test_start:add(function()\n"
    "  cicada.send_message('config', { rows = { 1, 2, 3 }, name = 'x' })\n"
    "  cicada.send_message('only_b', 'hi', 'worker_b')\n"
    "end)\n"
    "cicada.on_message('done', function(data, from)\n"
    "  cicada.send_message('thanks', { k = data.k }, from)\n"
    "end)\n"
    "cicada.on_message('boom', function() error('handler failed') end)\n"
    "cicada.user('U', { tasks = { function() end } })\n";

typedef struct {
    char type[64], json[256], to[64];
    bool has_to;
} sent_t;

static sent_t got[8];
static int ngot, send_rc;

static int capture(void *ud, const char *type, const char *json, const char *to)
{
    cr_assert_eq(ud, &got);
    cr_assert_lt(ngot, 8);
    snprintf(got[ngot].type, sizeof(got[ngot].type), "%s", type);
    snprintf(got[ngot].json, sizeof(got[ngot].json), "%s", json);
    got[ngot].has_to = to != NULL;
    snprintf(got[ngot].to, sizeof(got[ngot].to), "%s", to ? to : "");
    ngot++;
    return send_rc;
}

static ccd_scenario_t rs;

static void runner_setup(void)
{
    write_scenario(runner_text);
    ccd_options_t o = {.scenario = path};
    char err[1024] = "";
    ngot = send_rc = 0;
    cr_assert_eq(ccd_scenario_open(&rs, &o, err, sizeof(err)), 0, "%s", err);
}

static void runner_teardown(void)
{
    ccd_scenario_close(&rs);
    unlink(path);
}

TestSuite(custom_runner, .init = runner_setup, .fini = runner_teardown, .timeout = 30);

/* Runs code in the runner's state: NULL, or the error it raised (static). */
static const char *run(const char *code)
{
    static char msg[512];
    lua_State *L = rs.script.L;
    if (luaL_dostring(L, code) == 0)
        return NULL;
    snprintf(msg, sizeof(msg), "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return msg;
}

Test(custom_runner, event_listeners_send_through_the_callback)
{
    ccd_scenario_on_send(&rs, capture, &got);
    ccd_scenario_fire(&rs, "test_start", NULL);
    cr_assert_eq(ngot, 2);
    cr_assert_str_eq(got[0].type, "config");
    cr_assert_not(got[0].has_to, "to every worker");
    json_t *v = json_loads(got[0].json, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(v, "name")), "x");
    cr_assert_eq(json_array_size(json_object_get(v, "rows")), 3);
    json_decref(v);
    cr_assert_str_eq(got[1].type, "only_b");
    cr_assert_str_eq(got[1].json, "\"hi\"");
    cr_assert_str_eq(got[1].to, "worker_b");
}

Test(custom_runner, a_delivered_message_runs_the_handler_which_can_answer_its_sender)
{
    ccd_scenario_on_send(&rs, capture, &got);
    cr_assert_eq(ccd_scenario_deliver(&rs, "done", "{\"k\":[1,2]}", "worker_a"), 0);
    cr_assert_eq(ngot, 1);
    cr_assert_str_eq(got[0].type, "thanks");
    cr_assert_str_eq(got[0].json, "{\"k\":[1,2]}");
    cr_assert_str_eq(got[0].to, "worker_a");
    cr_assert_eq(ccd_scenario_deliver(&rs, "nobody", "{}", "worker_a"), 0, "only logged");
    cr_assert_eq(ccd_scenario_deliver(&rs, "boom", "{}", "worker_a"), 0, "reported, not fatal");
    cr_assert_eq(ccd_scenario_deliver(&rs, "done", "{not json", "worker_a"), CCD_ESCRIPT);
}

Test(custom_runner, sending_before_a_callback_is_installed_is_an_error)
{
    const char *e = run("require('cicada').send_message('x', 1)");
    cr_assert_not_null(e);
    cr_assert(strstr(e, "send_message is not possible while the scenario loads"), "%s", e);
}

Test(custom_runner, a_failing_callback_raises_its_reason)
{
    ccd_scenario_on_send(&rs, capture, &got);
    send_rc = CCD_EINVAL;
    const char *e = run("require('cicada').send_message('x', 1)");
    cr_assert_not_null(e);
    cr_assert(strstr(e, "send_message('x'): Invalid argument"), "%s", e);
}

Test(custom_runner, misuse_is_refused_with_a_clear_error)
{
    ccd_scenario_on_send(&rs, capture, &got);
    static const struct {
        const char *code, *error;
    } cases[] = {
        {"c.send_message('stats', {})", "'stats' is a message type of Locust's protocol"},
        {"c.on_message('heartbeat', print)", "'heartbeat' is a message type of Locust's protocol"},
        {"c.send_message('', {})", "the message type must be a non-empty string"},
        {"c.send_message(3, {})", "the message type must be a non-empty string"},
        {"c.on_message('x', 'not a function')", "fn must be a function"},
        {"c.send_message('x', {}, 12)", "to must be a worker's node id"},
        {"c.send_message('x', { f = print })", "data cannot travel as JSON"},
        {"local t = {} t.self = t c.send_message('x', t)", "data cannot travel as JSON"},
        {"local t = 1 for i = 1, 32 do t = { t } end c.send_message('x', t)",
         "data nests deeper than 31 levels"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char code[512];
        snprintf(code, sizeof(code), "local c = require('cicada') %s", cases[i].code);
        const char *e = run(code);
        cr_assert_not_null(e, "%s raised nothing", cases[i].code);
        cr_assert(strstr(e, cases[i].error), "%s: %s", cases[i].code, e);
    }
    cr_assert_eq(ngot, 0);
    cr_assert_null(run("local c = require('cicada') local t = 1 for i = 1, 31 do t = { t } end "
                       "c.send_message('x', t)"),
                   "31 levels travel");
    cr_assert_eq(ngot, 1);
}

/* ---- A whole local run -------------------------------------------------------------------- */

/* The runner sends at test_start to its engines; every user reads what came and answers; the
 * runner's handler counts the answers, as a Locust script written for a distributed run
 * behaves locally. */
static const char *local_text =
    "local cicada = require 'cicada'\n"
    "local out = os.getenv('CCD_CUSTOM_OUT')\n"
    "local config\n"
    "cicada.events.test_start:add(function() cicada.send_message('config', { tag = 'T42' }) end)\n"
    "cicada.on_message('config', function(data, from) config = data.tag .. '@' .. from end)\n"
    "cicada.on_message('hello', function(data, from)\n"
    "  local f = io.open(out, 'a') f:write(data.config, ' ', from, '\\n') f:close()\n"
    "end)\n"
    "cicada.user('U', { wait_time = cicada.constant(0.05), tasks = { function(self)\n"
    "  if not self.said then self.said = true cicada.send_message('hello', { config = config }) "
    "end\n"
    "end } })\n";

Test(custom_local, a_local_run_is_a_master_with_one_worker_named_local, .timeout = 60)
{
    write_scenario(local_text);
    char out[] = "/tmp/ccd_custom_out_XXXXXX";
    close(mkstemp(out));
    setenv("CCD_CUSTOM_OUT", out, 1);
    char *argv[] = {"cicada", "-f",        path, "--headless",     "-u", "3", "-r", "100", "-t",
                    "1.5s",   "--threads", "2",  "--only-summary", NULL};
    char *envp[] = {NULL};
    ccd_options_t o;
    char err[1024] = "";
    cr_assert_eq(ccd_cli_parse(13, argv, envp, &o, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ccd_runner_run(&o), 0);
    ccd_cli_free(&o);
    FILE *f = fopen(out, "r");
    char line[256];
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        cr_assert_str_eq(line, "T42@local local\n");
        n++;
    }
    fclose(f);
    cr_assert_eq(n, 3, "one answer per user");
    unlink(out);
    unlink(path);
}
