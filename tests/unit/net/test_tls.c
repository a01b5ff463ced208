/* Tests of HTTPS through the client against `openssl s_server` with a certificate made here. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "http/client.h"

static char dir[64];
static char cert[128], key[128];
static int port;
static pid_t server_pid;
static struct ev_loop *loop;
static ccd_http_ctx_t *ctx;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static bool can_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void make_certificate(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ccd-tls-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
             "-keyout %s -out %s 2>/dev/null",
             key, cert);
    cr_assert_eq(system(cmd), 0, "openssl req failed");
}

/* `openssl s_server -www` answers each GET with an HTTP/1.0 status page (body read until
 * close) that says whether the TLS session was new or reused. */
static void start_server(void)
{
    port = free_port();
    char accept_arg[32];
    snprintf(accept_arg, sizeof(accept_arg), "127.0.0.1:%d", port);
    server_pid = fork();
    cr_assert_neq(server_pid, -1);
    if (server_pid == 0) {
        int null = open("/dev/null", 0);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execlp("openssl", "openssl", "s_server", "-accept", accept_arg, "-cert", cert, "-key", key,
               "-www", "-quiet", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !can_connect(); i++)
        usleep(20000);
    cr_assert(can_connect(), "openssl s_server did not start");
}

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN);
    make_certificate();
    start_server();
    loop = ev_loop_new(EVFLAG_AUTO);
}

static void teardown(void)
{
    if (ctx)
        ccd_http_ctx_destroy(ctx);
    ev_loop_destroy(loop);
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

TestSuite(tls, .init = setup, .fini = teardown, .timeout = 60);

typedef struct {
    bool done;
    int err;
    int status;
    char errmsg[256];
    char body[8192];
} result_t;

static void on_response(void *ud, const ccd_http_response_t *res)
{
    result_t *r = ud;
    r->done = true;
    r->err = res->err;
    r->status = res->status;
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", res->errmsg);
    size_t n = res->body.len < sizeof(r->body) - 1 ? res->body.len : sizeof(r->body) - 1;
    memcpy(r->body, res->body.base, n);
    r->body[n] = '\0';
}

static result_t get(ccd_http_session_t *s, const char *host, bool insecure)
{
    char url[128];
    snprintf(url, sizeof(url), "https://%s:%d/", host, port);
    ccd_http_request_t req = {
        .method = {"GET", 3}, .url = {url, strlen(url)}, .timeout = 10, .insecure = insecure};
    result_t r = {0};
    cr_assert_eq(ccd_http_send(s, &req, on_response, &r), 0);
    while (!r.done)
        ev_run(loop, EVRUN_ONCE);
    return r;
}

Test(tls, self_signed_fails_verification_by_default)
{
    cr_assert_eq(ccd_http_ctx_create(&ctx, loop, NULL), 0);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    result_t r = get(s, "localhost", false);
    cr_assert_eq(r.err, CCD_ETLS, "err %d: %s", r.err, r.errmsg);
    cr_assert_str_eq(r.errmsg, "certificate verify failed: self-signed certificate");
    cr_assert_eq(r.status, 0);
    ccd_http_session_free(s);
}

Test(tls, insecure_succeeds_and_resumes_the_session)
{
    cr_assert_eq(ccd_http_ctx_create(&ctx, loop, NULL), 0);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    result_t r = get(s, "localhost", true);
    cr_assert_eq(r.err, 0, "%s", r.errmsg);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "New, "), "first handshake is new: %s", r.body);
    r = get(s, "localhost", true);
    cr_assert_eq(r.err, 0, "%s", r.errmsg);
    cr_assert(strstr(r.body, "Reused, "), "second handshake resumes: %s", r.body);
    ccd_http_session_free(s);
}

Test(tls, ca_file_verifies_name)
{
    ccd_http_config_t cfg = {.ca_file = cert};
    cr_assert_eq(ccd_http_ctx_create(&ctx, loop, &cfg), 0);
    ccd_http_session_t *s = ccd_http_session_new(ctx);
    result_t r = get(s, "localhost", false);
    cr_assert_eq(r.err, 0, "%s", r.errmsg);
    cr_assert_eq(r.status, 200);
    r = get(s, "127.0.0.1", false);
    cr_assert_eq(r.err, CCD_ETLS);
    cr_assert_str_eq(r.errmsg, "certificate verify failed: IP address mismatch");
    ccd_http_session_free(s);
}

Test(tls, unreadable_ca_file)
{
    ccd_http_config_t cfg = {.ca_file = "/nonexistent/ca.pem"};
    cr_assert_eq(ccd_http_ctx_create(&ctx, loop, &cfg), CCD_ETLS);
    ctx = NULL;
}

/* The request may complete before the test gets to cancel it; never after. */
typedef struct {
    bool canceled;
    bool called;
} probe_t;

static void probe(void *ud, const ccd_http_response_t *res)
{
    probe_t *p = ud;
    cr_assert_not(p->canceled, "callback of a canceled request");
    p->called = true;
}

Test(tls, cancel_and_free_during_the_handshake)
{
    cr_assert_eq(ccd_http_ctx_create(&ctx, loop, NULL), 0);
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/", port);
    for (int turns = 0; turns < 8; turns++) {
        ccd_http_session_t *s = ccd_http_session_new(ctx);
        ccd_http_request_t req = {
            .method = {"GET", 3}, .url = {url, strlen(url)}, .insecure = true};
        probe_t p = {0};
        cr_assert_eq(ccd_http_send(s, &req, probe, &p), 0);
        for (int i = 0; i < turns && !p.called; i++)
            ev_run(loop, EVRUN_NOWAIT);
        p.canceled = !p.called;
        if (turns % 2)
            ccd_http_cancel(s);
        ccd_http_session_free(s);
        for (int i = 0; i < 3; i++)
            ev_run(loop, EVRUN_NOWAIT);
    }
}
