/* The shipped example scenarios run cleanly against cicada-target. */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(examples, .fini = h_cleanup, .timeout = 60);

Test(examples, basic_runs_without_failures_or_exceptions)
{
    h_target_t t;
    h_run_t r;
    cr_assert_eq(h_target_start(&t, 1), 0, "cicada-target did not start");
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", SOURCE_DIR "/examples/basic.lua", "-H",
                          h_strf("http://%s:%d", H_HOST, t.port), "-u", "20", "-r", "100", "-t",
                          "3s", "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    cr_expect_eq(h_total_failures(r.json), 0);
    cr_expect_eq(json_array_size(json_object_get(r.json, "exceptions")), 0);
    cr_expect_eq(h_requests(r.json, "GET", "/json"), 20, "on_start runs once per visitor");
    cr_expect_gt(h_requests(r.json, "GET", "/hello"), 0);
    cr_expect_gt(h_requests(r.json, "GET", "/bytes/[size]"), 0, "name= groups the item URLs");
    cr_expect_eq(h_target_requests(&t, h_total_requests(r.json)), h_total_requests(r.json));
    h_run_free(&r);
}

static h_target_t target;

static const char *host(void)
{
    if (target.port == 0)
        cr_assert_eq(h_target_start(&target, 1), 0, "cicada-target did not start");
    return h_strf("http://%s:%d", H_HOST, target.port);
}

/* Runs examples/NAME.lua with extra arguments (NULL-terminated); expects exit 0, no failure and
 * no exception. */
static void run_example(h_run_t *r, const char *name, const char *const *extra)
{
    const char *argv[H_MAX_ARGS + 1];
    int n = 0;
    const char *base[] = {"-f",
                          h_strf("%s/examples/%s.lua", SOURCE_DIR, name),
                          "-H",
                          host(),
                          "--stop-timeout",
                          "5",
                          H_LOAD_FLAGS};
    for (size_t i = 0; i < sizeof base / sizeof *base; i++)
        argv[n++] = base[i];
    for (; *extra; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    cr_assert_eq(h_cicada_v(r, NULL, NULL, argv), 0);
    H_ASSERT_EXIT(r, 0);
    H_ASSERT_JSON(r);
    cr_expect_eq(h_total_failures(r->json), 0, "%s: failures", name);
    H_EXPECT_NO_EXCEPTIONS(r);
}

#define RUN_EXAMPLE(r, name, ...)                                                                  \
    do {                                                                                           \
        const char *extra_[] = {__VA_ARGS__, NULL};                                                \
        run_example(r, name, extra_);                                                              \
    } while (0)

static long count(h_run_t *r, const char *method, const char *name)
{
    long n = h_requests(r->json, method, name);
    return n < 0 ? 0 : n;
}

Test(examples, login_logs_every_user_in_with_csrf_and_cookie)
{
    h_run_t r;
    RUN_EXAMPLE(&r, "login", "-u", "6", "-r", "50", "-t", "3s");
    cr_expect_eq(count(&r, "GET", "/login (form)"), 6);
    cr_expect_eq(count(&r, "POST", "/login"), 6, "one accepted login per user");
    cr_expect_gt(count(&r, "GET", "/cookie/check"), 0, "the session cookie is sent");
    cr_expect_gt(count(&r, "GET", "/"), 0);
    h_run_free(&r);
}

Test(examples, crud_runs_the_whole_item_life_cycle)
{
    h_run_t r;
    RUN_EXAMPLE(&r, "crud", "-u", "5", "-r", "50", "-t", "2s");
    long created = count(&r, "POST", "/items");
    cr_expect_gt(created, 5);
    cr_expect_eq(count(&r, "GET", "/items/[id]"), created, "each item read back");
    cr_expect_eq(count(&r, "PUT", "/items/[id]"), created, "each item replaced");
    cr_expect_eq(count(&r, "DELETE", "/items/[id]"), created, "each item deleted");
    cr_expect_eq(count(&r, "GET", "/items/[id] (deleted)"), created, "404 caught as success");
    cr_expect_gt(count(&r, "GET", "/items"), 0);
    h_run_free(&r);
}

Test(examples, groups_enter_leave_and_keep_the_sequence_order)
{
    h_run_t r;
    RUN_EXAMPLE(&r, "groups", "-u", "5", "-r", "50", "-t", "3s");
    const char *names[] = {"/hello", "forum: enter", "forum: read", "reply: open"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        cr_expect_gt(count(&r, "GET", names[i]), 0, "%s", names[i]);
    long open = count(&r, "GET", "reply: open"), sent = count(&r, "POST", "reply: send");
    cr_expect(sent <= open && sent >= open - 5, "opened %ld, sent %ld", open, sent);
    h_run_free(&r);
}

Test(examples, tags_select_tasks)
{
    h_run_t r;
    RUN_EXAMPLE(&r, "tags", "-u", "4", "-r", "50", "-t", "2s");
    cr_expect_gt(count(&r, "GET", "home"), 0);
    cr_expect_gt(count(&r, "GET", "search"), 0);
    cr_expect_gt(count(&r, "POST", "buy"), 0);
    cr_expect_gt(count(&r, "GET", "audit"), 0);
    h_run_free(&r);
    RUN_EXAMPLE(&r, "tags", "-u", "4", "-r", "50", "-t", "1s", "-T", "smoke");
    cr_expect_gt(count(&r, "GET", "home"), 0);
    cr_expect_eq(count(&r, "GET", "search") + count(&r, "POST", "buy") + count(&r, "GET", "audit"),
                 0, "-T smoke ran untagged tasks");
    h_run_free(&r);
    RUN_EXAMPLE(&r, "tags", "-u", "4", "-r", "50", "-t", "1s", "-E", "write,admin");
    cr_expect_gt(count(&r, "GET", "home") + count(&r, "GET", "search"), 0);
    cr_expect_eq(count(&r, "POST", "buy") + count(&r, "GET", "audit"), 0,
                 "-E write,admin ran excluded tasks");
    h_run_free(&r);
}

Test(examples, shape_runs_its_stages_and_ends_by_itself)
{
    h_run_t r;
    RUN_EXAMPLE(&r, "shape", "-t", "30s");
    cr_expect_lt(r.elapsed_s, 9, "the stages last 4 s; the run took %.1f s", r.elapsed_s);
    cr_expect(h_contains(r.err, "Load shape: 20 users"), "no peak stage in the log");
    cr_expect_gt(count(&r, "GET", "/hello"), 0);
    cr_expect_gt(count(&r, "GET", "/json"), 0);
    h_run_free(&r);
}

Test(examples, websocket_chat_echoes_every_message)
{
    h_run_t r;
    RUN_EXAMPLE(&r, "websocket_chat", "-u", "10", "-r", "10", "-t", "3s");
    cr_expect_eq(count(&r, "WS", "chat"), 10, "one connection per chatter");
    long say = count(&r, "WS", "say");
    cr_expect_gt(say, 0);
    long sent = count(&r, "WSS", "chat"), received = count(&r, "WSR", "chat");
    cr_expect_geq(sent, say);
    /* A receive is cut short by the stop (at most one per chatter); a round trip is not. */
    cr_expect(sent >= received && sent - received <= 10, "sent %ld, received %ld", sent, received);
    h_run_free(&r);
}

Test(examples, page_load_fetches_each_page_and_its_assets_concurrently)
{
    h_run_t r;
    RUN_EXAMPLE(&r, "page_load", "-u", "5", "-r", "50", "-t", "3s");
    long pages = count(&r, "GET", "page");
    cr_assert_gt(pages, 0);
    cr_expect_eq(count(&r, "GET", "image"), 3 * pages, "each page's three images");
    cr_expect_eq(count(&r, "GET", "style.css"), pages);
    cr_expect_eq(count(&r, "GET", "app.js"), pages);
    cr_expect_eq(count(&r, "GET", "font"), pages);
    cr_expect_eq(count(&r, "GET", "vendor.css"), pages);
    cr_expect_eq(count(&r, "GET", "api: data"), pages);
    cr_expect_eq(count(&r, "GET", "api: greeting"), pages);
    long total = h_total_requests(r.json);
    cr_expect_eq(total, 10 * pages);
    cr_expect_eq(h_target_requests(&target, total), total);
    h_run_free(&r);
}

/* nginx's HTTP/2 port in the clear, passing /delay/ to the target: every call a stream on one
 * connection per user, each one in nginx's log. */
Test(examples, http2_api_sends_every_call_as_a_stream)
{
    h_nginx_t n;
    h_run_t r;
    host(); /* the target behind nginx */
    h_nginx_opts_t o = {.http2 = true, .proxy_port = target.port};
    cr_assert_eq(h_nginx_start(&n, &o), 0, "nginx with HTTP/2 did not start");
    cr_assert_eq(h_cicada(&r, NULL, NULL, "-f", SOURCE_DIR "/examples/http2_api.lua", "-H",
                          h_strf("http://%s:%d", H_HOST, n.h2c_port), "-u", "5", "-r", "50", "-t",
                          "3s", "--stop-timeout", "5", H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    H_EXPECT_NO_EXCEPTIONS(&r);
    cr_expect_eq(h_total_failures(r.json), 0);
    long hello = count(&r, "GET", "hello"), calls = count(&r, "GET", "burst call");
    long bursts = count(&r, "BATCH", "ten calls");
    cr_expect_gt(hello, 0);
    cr_expect_gt(bursts, 0);
    cr_expect_eq(calls, 10 * bursts);
    cr_expect_eq(h_nginx_count(&n, "h2c.log", NULL, hello + calls), hello + calls);
    cr_expect_eq(h_nginx_count_protocol(&n, "h2c.log", "HTTP/2.0"), hello + calls);
    cr_expect_eq(h_nginx_connections(&n, "h2c.log"), 5, "one connection per user");
    /* Ten calls of 50 ms at once: well under ten times one. */
    cr_expect_lt(h_num(h_entry(r.json, "BATCH", "ten calls"), "avg_response_time"), 300);
    h_nginx_stop(&n);
    h_run_free(&r);
}
