/* Task model: groups and interrupt(), sequences, tags, fixed counts, class inheritance and
 * selection, listing, stop_user(), stop_test() and reschedule(). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(tasks, .fini = h_cleanup, .timeout = 60);

#define LOAD(n, t) "-u", n, "-r", "100", "-t", t, "--stop-timeout", "0", H_LOAD_FLAGS

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

/* Runs a scenario against the target with extra arguments, expecting exit code `code` and JSON. */
static void run(h_run_t *r, const char *lua, int code, const char *const *args)
{
    const char *argv[H_MAX_ARGS + 1];
    int n = 0;
    argv[n++] = "-H";
    argv[n++] = host();
    for (; *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    cr_assert_eq(h_cicada_v(r, NULL, lua, argv), 0, "cicada did not start");
    H_ASSERT_EXIT(r, code);
    H_ASSERT_JSON(r);
}

#define RUN(r, lua, code, ...)                                                                     \
    do {                                                                                           \
        const char *args_[] = {__VA_ARGS__, NULL};                                                 \
        run(r, lua, code, args_);                                                                  \
    } while (0)

/* A request count, with an absent entry counting as zero. */
static long count(h_run_t *r, const char *name)
{
    long n = h_requests(r->json, "GET", name);
    return n < 0 ? 0 : n;
}

/* ---- Groups ------------------------------------------------------------------------------ */

/* The user's `level` says where it is; each task raises if it runs at the wrong level, so any
 * exception means a task ran outside its group or after interrupt() failed to return. */
static const char *nested =
    "local cicada = require 'cicada'\n"
    "local function at(self, want, what)\n"
    "  if (self.level or 0) ~= want then\n"
    "    error(what .. ' ran at level ' .. tostring(self.level) .. ', want ' .. want)\n"
    "  end\n"
    "  self.client:get('/hello', { name = what })\n"
    "end\n"
    "local Inner = cicada.group {\n"
    "  tasks = { deep = 2, up = 1 },\n"
    "  on_start = function(self) at(self, 1, 'inner-enter'); self.level = 2 end,\n"
    "}\n"
    "function Inner:deep() at(self, 2, 'deep') end\n"
    "function Inner:up() at(self, 2, 'up'); self.level = 1; self:interrupt() end\n"
    "local Outer = cicada.group {\n"
    "  tasks = { inner = Inner, mid = 2, leave = 1 },\n"
    "  on_start = function(self) at(self, 0, 'outer-enter'); self.level = 1 end,\n"
    "}\n"
    "function Outer:mid() at(self, 1, 'mid') end\n"
    "function Outer:leave() at(self, 1, 'leave'); self.level = 0; self:interrupt() end\n"
    "local U = cicada.user('Nester', { wait_time = cicada.constant(0.005),\n"
    "                                  tasks = { outer = Outer, top = 1 } })\n"
    "function U:top() at(self, 0, 'top') end\n";

Test(tasks, interrupt_returns_to_the_parent_in_nested_groups)
{
    h_run_t r;
    RUN(&r, nested, 0, LOAD("2", "3s"));
    H_EXPECT_NO_EXCEPTIONS(&r);
    const char *names[] = {"top", "outer-enter", "mid", "leave", "inner-enter", "deep", "up"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        cr_expect_gt(count(&r, names[i]), 2, "%s ran %ld times", names[i], count(&r, names[i]));
    /* Every entry into a group but the one in progress at the end left it through interrupt(). */
    long d = count(&r, "outer-enter") - count(&r, "leave");
    cr_expect(d >= 0 && d <= 2, "outer entered %ld times, left %ld", count(&r, "outer-enter"),
              count(&r, "leave"));
    d = count(&r, "inner-enter") - count(&r, "up");
    cr_expect(d >= 0 && d <= 2, "inner entered %ld times, left %ld", count(&r, "inner-enter"),
              count(&r, "up"));
    h_run_free(&r);
}

/* A sequence checks its own order: each step raises unless the previous one ran just before. */
static const char *sequence =
    "local cicada = require 'cicada'\n"
    "local S = cicada.sequence { tasks = { 'one', 'two', 'three' } }\n"
    "local function step(self, n)\n"
    "  local want = (self.last or 0) % 3 + 1\n"
    "  if n ~= want then error('sequence out of order: step ' .. n .. ' after ' ..\n"
    "                          tostring(self.last)) end\n"
    "  self.last = n\n"
    "  self.client:get('/status/200?step=' .. n, { name = 'step-' .. n })\n"
    "end\n"
    "function S:one() step(self, 1) end\n"
    "function S:two() step(self, 2) end\n"
    "function S:three() step(self, 3) end\n"
    "cicada.user('Stepper', { wait_time = cicada.constant(0.005), tasks = { seq = S } })\n";

Test(tasks, sequence_runs_its_tasks_in_declared_order)
{
    h_run_t r;
    RUN(&r, sequence, 0, LOAD("3", "1s"));
    H_EXPECT_NO_EXCEPTIONS(&r);
    long s1 = count(&r, "step-1"), s2 = count(&r, "step-2"), s3 = count(&r, "step-3");
    cr_expect_gt(s3, 10, "the sequence barely ran: %ld %ld %ld", s1, s2, s3);
    /* Per user, step 1 is at most one ahead of step 2, which is at most one ahead of step 3. */
    cr_expect(s1 >= s2 && s2 >= s3 && s1 - s3 <= 3, "step counts %ld %ld %ld", s1, s2, s3);
    h_run_free(&r);
}

/* interrupt(true) re-enters the parent without waiting; interrupt() waits the user's 0.25 s. */
static const char *interrupting =
    "local cicada = require 'cicada'\n"
    "local G = cicada.group { tasks = { leave = 1 } }\n"
    "function G:leave()\n"
    "  self.client:get('/hello', { name = 'leave' })\n"
    "  self:interrupt(os.getenv('RESCHEDULE') == '1')\n"
    "end\n"
    "cicada.user('Leaver', { wait_time = cicada.constant(0.25), tasks = { g = G } })\n";

static long leaves(const char *reschedule)
{
    h_run_t r;
    const char *env[] = {h_strf("RESCHEDULE=%s", reschedule), NULL};
    h_run_opts_t o = {.env = env};
    cr_assert_eq(h_cicada(&r, &o, interrupting, "-H", host(), LOAD("1", "2s"), NULL), 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    long n = count(&r, "leave");
    h_run_free(&r);
    return n;
}

Test(tasks, interrupt_with_reschedule_skips_the_wait)
{
    long waited = leaves("0"), immediate = leaves("1");
    /* 2 s at one task per 0.25 s is about 8; without the wait it is hundreds. */
    cr_expect(waited >= 4 && waited <= 10, "interrupt(): %ld tasks in 2 s", waited);
    cr_expect_gt(immediate, 40, "interrupt(true): %ld tasks in 2 s", immediate);
}

/* ---- Tags -------------------------------------------------------------------------------- */

static const char *tagged =
    "local cicada = require 'cicada'\n"
    "local G = cicada.group { tags = { 'grp' }, tasks = { in_group = 1, out = 1 } }\n"
    "function G:in_group() self.client:get('/hello', { name = 'in_group' }) end\n"
    "function G:out() self:interrupt() end\n"
    "local U = cicada.user('Tagged', {\n"
    "  wait_time = cicada.constant(0.005),\n"
    "  tasks = { red = { weight = 1, tags = { 'red' } }, blue = cicada.tag({ 'blue' }, 1),\n"
    "            both = { weight = 1, tags = { 'red', 'blue' } }, plain = 1, g = G },\n"
    "})\n"
    "for _, n in ipairs { 'red', 'blue', 'both', 'plain' } do\n"
    "  U[n] = function(self) self.client:get('/hello', { name = n }) end\n"
    "end\n"
    "local C = cicada.user('Classy', { tags = { 'cls' }, wait_time = cicada.constant(0.005),\n"
    "                                  tasks = { classy = 1 } })\n"
    "function C:classy() self.client:get('/hello', { name = 'classy' }) end\n";

/* Runs the tagged scenario with a tag option and checks which names ran. */
static void expect_tags(const char *opt, const char *tags, const char *ran, const char *not_ran)
{
    h_run_t r;
    RUN(&r, tagged, 0, opt, tags, LOAD("4", "1s"));
    H_EXPECT_NO_EXCEPTIONS(&r);
    const char *all[] = {"red", "blue", "both", "plain", "in_group", "classy"};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const char *n = all[i];
        bool want = strstr(h_strf(",%s,", ran), h_strf(",%s,", n)) != NULL;
        bool never = strstr(h_strf(",%s,", not_ran), h_strf(",%s,", n)) != NULL;
        if (want)
            cr_expect_gt(count(&r, n), 0, "%s %s: task %s did not run", opt, tags, n);
        if (never)
            cr_expect_eq(count(&r, n), 0, "%s %s: task %s ran %ld times", opt, tags, n,
                         count(&r, n));
    }
    h_run_free(&r);
}

Test(tasks, tags_option_runs_only_the_tagged_tasks)
{
    expect_tags("-T", "red", "red,both", "blue,plain,in_group,classy");
}

Test(tasks, tags_of_a_group_and_a_class_apply_to_their_tasks)
{
    expect_tags("--tags", "grp,cls", "in_group,classy", "red,blue,both,plain");
}

Test(tasks, exclude_tags_removes_the_tagged_tasks)
{
    expect_tags("-E", "red", "blue,plain,in_group,classy", "red,both");
}

Test(tasks, exclude_tags_of_a_group)
{
    expect_tags("--exclude-tags", "grp", "red,blue,both,plain,classy", "in_group");
}

/* ---- Classes ----------------------------------------------------------------------------- */

static const char *classes =
    "local cicada = require 'cicada'\n"
    "local function class(name, def)\n"
    "  def.wait_time = def.wait_time or cicada.constant(0.05)\n"
    "  def.tasks = def.tasks or { work = 1 }\n"
    "  local C = cicada.user(name, def)\n"
    "  function C:on_start() self.client:get('/hello', { name = name .. '-start' }) end\n"
    "  function C:work() self.client:get('/hello', { name = name }) end\n"
    "  return C\n"
    "end\n"
    "class('Fixed', { fixed_count = 3 })\n"
    "class('Alpha', { weight = 1 })\n"
    "class('Beta', { weight = 1 })\n";

Test(tasks, fixed_count_starts_exactly_that_many_users)
{
    h_run_t r;
    RUN(&r, classes, 0, LOAD("11", "2s"));
    cr_expect_eq(count(&r, "Fixed-start"), 3);
    cr_expect_eq(count(&r, "Alpha-start"), 4);
    cr_expect_eq(count(&r, "Beta-start"), 4);
    h_run_free(&r);
}

Test(tasks, positional_arguments_choose_the_classes)
{
    h_run_t r;
    RUN(&r, classes, 0, LOAD("6", "1s"), "Alpha", "Fixed");
    cr_expect_eq(count(&r, "Fixed-start"), 3);
    cr_expect_eq(count(&r, "Alpha-start"), 3);
    cr_expect_eq(count(&r, "Beta-start"), 0, "Beta was not chosen but ran");
    cr_expect_eq(count(&r, "Beta"), 0);
    h_run_free(&r);
}

Test(tasks, unknown_class_name_is_a_usage_error)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, classes, "-H", host(), LOAD("1", "1s"), "Gamma", NULL), 0);
    H_ASSERT_EXIT(&r, 2);
    cr_expect(h_contains(r.err, "Gamma"), "the message does not name the class: %s", r.err);
    h_run_free(&r);
}

static const char *inheritance =
    "local cicada = require 'cicada'\n"
    "local Base = cicada.user('Base', { abstract = true, wait_time = cicada.constant(0.5),\n"
    "  headers = { ['X-Base'] = 'yes' }, tasks = { inherited = 1 } })\n"
    "function Base:on_start() self.client:get('/hello', { name = 'start-' .. self.kind }) end\n"
    "function Base:inherited()\n"
    "  local r = self.client:get('/echo', { name = 'inherited-' .. self.kind })\n"
    "  local h = r:json().headers\n"
    "  if h['X-Base'] ~= 'yes' and h['x-base'] ~= 'yes' then error('class headers not inherited') "
    "end\n"
    "end\n"
    "local Child = cicada.user('Child', { extends = Base })\n"
    "Child.kind = 'child'\n"
    "Base.kind = 'base'\n";

Test(tasks, abstract_class_never_runs_and_extends_inherits)
{
    h_run_t r;
    RUN(&r, inheritance, 0, LOAD("3", "2s"));
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect_eq(count(&r, "start-base") + count(&r, "inherited-base"), 0,
                 "the abstract class ran");
    cr_expect_eq(count(&r, "start-child"), 3, "on_start inherited by every Child user");
    long n = count(&r, "inherited-child");
    /* wait_time inherited: 3 users, 2 s, one task per 0.5 s: about 12, never 100s. */
    cr_expect(n >= 6 && n <= 18, "inherited task ran %ld times", n);
    cr_expect(!h_contains(r.err, "Base:"), "spawn log mentions the abstract class");
    h_run_free(&r);
}

static const char *listed =
    "local cicada = require 'cicada'\n"
    "local B = cicada.user('Hidden', { abstract = true, tasks = { x = 1 } })\n"
    "local U = cicada.user('Shopper', { weight = 3, tasks = { browse = 3, buy = 1 } })\n"
    "local A = cicada.user('Admin', { weight = 1, tasks = { audit = 1 } })\n"
    "function B:x() end\n"
    "function U:browse() end\n"
    "function U:buy() end\n"
    "function A:audit() end\n";

Test(tasks, list_prints_the_classes_and_their_tasks)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, listed, "-l", NULL), 0);
    H_ASSERT_EXIT(&r, 0);
    const char *all = h_strf("%s%s", r.out, r.err);
    cr_expect(h_contains(all, "Shopper") && h_contains(all, "Admin"), "%s", all);
    cr_expect(h_contains(all, "browse") && h_contains(all, "buy") && h_contains(all, "audit"), "%s",
              all);
    cr_expect(!h_contains(all, "Hidden"), "abstract class listed: %s", all);
    h_run_free(&r);
}

/* Expects a line of text holding both a and b. */
static void expect_line(const char *text, const char *a, const char *b)
{
    char *line = h_line_with(text, a);
    while (line && !strstr(line, b)) {
        const char *next = strstr(text, line) + strlen(line);
        free(line);
        text = next;
        line = h_line_with(text, a);
    }
    cr_expect_not_null(line, "no line with \"%s\" and \"%s\"", a, b);
    free(line);
}

Test(tasks, show_task_ratio_prints_each_share)
{
    h_run_t r;
    cr_assert_eq(h_cicada(&r, NULL, listed, "--show-task-ratio", NULL), 0);
    H_ASSERT_EXIT(&r, 0);
    const char *all = h_strf("%s%s", r.out, r.err);
    expect_line(all, "75.0%", "Shopper");
    expect_line(all, "25.0%", "Admin");
    expect_line(all, "75.0%", "browse");
    expect_line(all, "25.0%", "buy");
    expect_line(all, "100.0%", "audit");
    cr_expect(!h_contains(all, "Hidden"), "abstract class shown: %s", all);
    h_run_free(&r);
}

/* ---- Stopping and rescheduling ----------------------------------------------------------- */

static const char *stopping =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('Quitter', { wait_time = cicada.constant(0.01), tasks = { once = 1 } "
    "})\n"
    "function U:on_stop() self.client:get('/hello', { name = 'on_stop' }) end\n"
    "function U:once()\n"
    "  self.client:get('/hello', { name = 'before' })\n"
    "  if os.getenv('STOP_METHOD') == '1' then self:stop() else cicada.stop_user() end\n"
    "  self.client:get('/hello', { name = 'after' })\n"
    "end\n";

static void expect_stop_user(const char *method)
{
    h_run_t r;
    const char *env[] = {h_strf("STOP_METHOD=%s", method), NULL};
    h_run_opts_t o = {.env = env};
    cr_assert_eq(h_cicada(&r, &o, stopping, "-H", host(), LOAD("4", "2s"), NULL), 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect_eq(count(&r, "before"), 4, "each user ran its task once");
    cr_expect_eq(count(&r, "after"), 0, "the user went on after stopping");
    cr_expect_eq(count(&r, "on_stop"), 4, "on_stop runs once per stopped user");
    h_run_free(&r);
}

Test(tasks, stop_user_ends_the_user_and_runs_on_stop)
{
    expect_stop_user("0");
}

Test(tasks, self_stop_ends_the_user_and_runs_on_stop)
{
    expect_stop_user("1");
}

static const char *stop_test =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('Stopper', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get('/hello', { name = 't' })\n"
    "  self.n = (self.n or 0) + 1\n"
    "  if self.n == 5 then cicada.stop_test('enough requests') end\n"
    "end\n";

Test(tasks, stop_test_ends_the_run_with_the_final_report)
{
    h_run_t r;
    RUN(&r, stop_test, 0, LOAD("1", "20s"));
    cr_expect_lt(r.elapsed_s, 5, "the run went on for %.1f s", r.elapsed_s);
    cr_expect(count(&r, "t") >= 5 && count(&r, "t") <= 6, "%ld requests", count(&r, "t"));
    cr_expect(h_contains(r.err, "enough requests"), "the reason is not logged");
    cr_expect(h_contains(r.err, "Aggregated"), "no final table on stderr");
    h_run_free(&r);
}

static const char *rescheduling =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('Hurried', { wait_time = cicada.constant(0.5), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get('/hello', { name = 'r' })\n"
    "  cicada.reschedule()\n"
    "  self.client:get('/hello', { name = 'never' })\n"
    "end\n";

Test(tasks, reschedule_ends_the_task_and_skips_the_wait)
{
    h_run_t r;
    RUN(&r, rescheduling, 0, LOAD("1", "2s"));
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect_eq(count(&r, "never"), 0, "the task went on after reschedule()");
    cr_expect_gt(count(&r, "r"), 40, "%ld tasks in 2 s: the wait was not skipped", count(&r, "r"));
    h_run_free(&r);
}

/* ---- Task forms, group weights and waits, wait-time functions ---------------------------- */

static const char *forms =
    "local cicada = require 'cicada'\n"
    "local G = cicada.group { weight = 3, tasks = { inside = 1 } }\n"
    "function G:inside() self.client:get('/hello', { name = 'group' }); self:interrupt(true) end\n"
    "local U = cicada.user('Forms', { wait_time = cicada.constant(0.002),\n"
    "  tasks = { g = G, inline = function(self) self.client:get('/hello', { name = 'inline' }) "
    "end } })\n"
    "local L = cicada.user('Listed', { wait_time = cicada.constant(0.002), tasks = { 'a', 'b' } "
    "})\n"
    "function L:a() self.client:get('/hello', { name = 'a' }) end\n"
    "function L:b() self.client:get('/hello', { name = 'b' }) end\n";

Test(tasks, group_weight_inline_functions_and_task_lists)
{
    h_run_t r;
    RUN(&r, forms, 0, LOAD("2", "2s"));
    H_EXPECT_NO_EXCEPTIONS(&r);
    double g = (double)count(&r, "group"), i = (double)count(&r, "inline");
    double a = (double)count(&r, "a"), b = (double)count(&r, "b");
    cr_expect_gt(i, 50, "inline task: %.0f", i);
    cr_expect_gt(a, 50, "listed tasks: %.0f %.0f", a, b);
    /* A group's weight: P(group) = 3/4. Binomial, within 6 sigma (compared squared). */
    double n = g + i, d = g - 0.75 * n;
    cr_expect(d * d <= 36 * n * 0.75 * 0.25, "group %.0f of %.0f, want 75%%", g, n);
    n = a + b, d = a - 0.5 * n;
    cr_expect(d * d <= 36 * n * 0.25, "listed a %.0f of %.0f, want 50%%", a, n);
    h_run_free(&r);
}

static const char *group_wait =
    "local cicada = require 'cicada'\n"
    "local G = cicada.group { wait_time = cicada.constant(0.01), tasks = { fast = 1 } }\n"
    "function G:fast() self.client:get('/hello', { name = 'in-group' }) end\n"
    "cicada.user('Slow', { wait_time = cicada.constant(1), tasks = { g = G } })\n";

Test(tasks, group_wait_time_overrides_the_users)
{
    h_run_t r;
    RUN(&r, group_wait, 0, LOAD("1", "2s"));
    /* 2 s at 10 ms a task: ~150+; with the user's 1 s wait it would be 2 or 3. */
    cr_expect_gt(count(&r, "in-group"), 40, "%ld tasks", count(&r, "in-group"));
    h_run_free(&r);
}

static const char *waits =
    "local cicada = require 'cicada'\n"
    "local function class(name, wait)\n"
    "  local C = cicada.user(name, { wait_time = wait, tasks = { t = 1 } })\n"
    "  function C:t() self.client:get('/delay/100', { name = name }) end\n"
    "end\n"
    "class('Pacing', cicada.constant_pacing(0.25))\n"
    "class('Throughput', cicada.constant_throughput(2))\n"
    "class('Between', cicada.between(0.1, 0.3))\n"
    "class('Custom', function(self) return 0.4 end)\n";

Test(tasks, wait_time_functions_set_the_pace)
{
    h_run_t r;
    RUN(&r, waits, 0, "-u", "4", "-r", "100", "-t", "3s", "--stop-timeout", "0", "--report-json",
        "-", "--headless", "--only-summary");
    /* 3 s per user: pacing 0.25 s -> 12; throughput 2/s -> 6; between: 0.1 + 0.2 avg wait ->
     * 7.5; custom 0.1 + 0.4 -> 6. Bounds leave a task of slack either way. */
    long p = count(&r, "Pacing"), t = count(&r, "Throughput"), b = count(&r, "Between"),
         c = count(&r, "Custom");
    cr_expect(p >= 10 && p <= 13, "constant_pacing(0.25): %ld tasks in 3 s", p);
    cr_expect(t >= 5 && t <= 7, "constant_throughput(2): %ld tasks in 3 s", t);
    cr_expect(b >= 6 && b <= 15, "between(0.1, 0.3): %ld tasks in 3 s", b);
    cr_expect(c >= 5 && c <= 7, "function: %ld tasks in 3 s", c);
    h_run_free(&r);
}

static const char *stop_failed =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('Stopper', { wait_time = cicada.constant(0.05), tasks = { t = 1 } })\n"
    "function U:t()\n"
    "  self.client:get('/status/500', { name = 'bad' })\n"
    "  cicada.stop_test()\n"
    "end\n";

Test(tasks, stop_test_after_a_failure_exits_with_the_error_code)
{
    h_run_t r;
    RUN(&r, stop_failed, 1, LOAD("1", "20s"));
    cr_expect_lt(r.elapsed_s, 5, "the run went on for %.1f s", r.elapsed_s);
    cr_expect_eq(h_failures(r.json, "GET", "bad"), 1);
    h_run_free(&r);
}

/* ---- Blocking calls inside a coroutine of the script's own ------------------------------- */

/* A request or a sleep inside a coroutine the script made cannot block the user (the engine
 * would resume the user at the wrong yield): each is refused with a clear error, counted as
 * the task's exception, and the user goes on with its next task. */
static void expect_refused_inside_coroutine(const char *call, const char *message)
{
    h_run_t r;
    const char *lua =
        h_strf("local cicada = require 'cicada'\n"
               "local U = cicada.user('U', { wait_time = cicada.constant(0.05),\n"
               "                             tasks = { t = 1, after = 1 } })\n"
               "function U:t()\n"
               "  local co = coroutine.create(function() %s end)\n"
               "  local ok, err = coroutine.resume(co)\n"
               "  if not ok then error(err, 0) end\n"
               "end\n"
               "function U:after() self.client:get('/hello', { name = 'after' }) end\n",
               call);
    RUN(&r, lua, 1, LOAD("1", "1s"));
    cr_expect_gt(h_exception_count(r.json, message), 0, "no exception says: %s", message);
    cr_expect_gt(count(&r, "after"), 2, "the user did not go on with its next tasks");
    cr_expect_lt(count(&r, "/hello"), 1, "the request inside the coroutine was sent");
    h_run_free(&r);
}

Test(tasks, a_request_inside_a_coroutine_of_the_script_is_refused)
{
    expect_refused_inside_coroutine("self.client:get('/hello')",
                                    "an HTTP request cannot wait inside a coroutine of the "
                                    "script's own");
}

Test(tasks, a_sleep_inside_a_coroutine_of_the_script_is_refused)
{
    expect_refused_inside_coroutine("cicada.sleep(0.01)",
                                    "cicada.sleep() cannot wait inside a coroutine of the "
                                    "script's own");
}
