/* HTTPS against nginx with a self-signed certificate: verified by default, `insecure` skips it. */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(tls, .fini = h_cleanup, .timeout = 60);

#define TLS_RUN "-u", "4", "-r", "100", "-t", "2s", "--stop-timeout", "5", H_LOAD_FLAGS

static const char *verified = "local cicada = require \"cicada\"\n"
                              "local U = cicada.user(\"Secure\", {\n"
                              "  wait_time = cicada.constant(0.05),\n"
                              "  tasks = { hello = 1 },\n"
                              "})\n"
                              "function U:hello() self.client:get(\"/hello\") end\n";

static const char *insecure_request =
    "local cicada = require \"cicada\"\n"
    "local U = cicada.user(\"Trusting\", {\n"
    "  wait_time = cicada.constant(0.02),\n"
    "  tasks = { hello = 1 },\n"
    "})\n"
    "function U:hello() self.client:get(\"/hello\", { insecure = true }) end\n";

static const char *insecure_class = "local cicada = require \"cicada\"\n"
                                    "local U = cicada.user(\"Trusting\", {\n"
                                    "  insecure = true,\n"
                                    "  wait_time = cicada.constant(0.02),\n"
                                    "  tasks = { hello = 1 },\n"
                                    "})\n"
                                    "function U:hello() self.client:get(\"/hello\") end\n";

static void start_tls_nginx(h_nginx_t *n)
{
    h_nginx_opts_t o = {.tls = true};
    cr_assert_eq(h_nginx_start(n, &o), 0, "nginx with TLS did not start");
}

Test(tls, self_signed_certificate_fails_verification_by_default)
{
    h_nginx_t n;
    h_run_t r;
    start_tls_nginx(&n);
    cr_assert_eq(h_cicada(&r, NULL, verified, "-H", h_strf("https://%s:%d", H_HOST, n.tls_port),
                          TLS_RUN, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_JSON(&r);
    long n_req = h_requests(r.json, "GET", "/hello");
    cr_expect_gt(n_req, 0);
    cr_expect_eq(h_failures(r.json, "GET", "/hello"), n_req, "unverified certificate accepted");
    json_t *e = h_error(r.json, "GET", "/hello", NULL);
    const char *text = json_string_value(json_object_get(e, "error"));
    cr_expect(h_contains(text, "certificate"), "error does not mention the certificate: %s",
              text ? text : "(none)");
    cr_expect_eq(h_nginx_count(&n, "tls.log", NULL, 0), 0, "a request got past the handshake");
    h_run_free(&r);
}

/* With verification off, every request succeeds and nginx saw exactly as many. */
static void expect_insecure_works(const char *scenario)
{
    h_nginx_t n;
    h_run_t r;
    start_tls_nginx(&n);
    cr_assert_eq(h_cicada(&r, NULL, scenario, "-H", h_strf("https://%s:%d", H_HOST, n.tls_port),
                          TLS_RUN, NULL),
                 0);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_JSON(&r);
    long total = h_total_requests(r.json);
    cr_expect_gt(total, 20);
    cr_expect_eq(h_total_failures(r.json), 0);
    cr_expect_eq(h_nginx_count(&n, "tls.log", "/hello", total), total);
    json_t *e = h_entry(r.json, "GET", "/hello");
    cr_expect_eq(h_num(e, "avg_content_length"), 13, "body of /hello is \"Hello, World!\"");
    h_run_free(&r);
}

Test(tls, insecure_request_option_skips_verification)
{
    expect_insecure_works(insecure_request);
}

Test(tls, insecure_class_option_skips_verification)
{
    expect_insecure_works(insecure_class);
}
