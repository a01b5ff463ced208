/* nginx on loopback for end-to-end tests: config, self-signed certificate, access-log counts. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NGINX_BIN   "/usr/sbin/nginx"
#define OPENSSL_BIN "/usr/bin/openssl"

static const char *proxy_location(int port);

/* The locations every server block has besides /hello and the catch-all. */
static const char *common_locations(const h_nginx_t *n)
{
    return h_strf("%s%s", proxy_location(n->proxy_port), n->locations ? n->locations : "");
}

/* The HTTPS server block, when the options ask for one (with HTTP/2 when they ask for it). */
static const char *tls_server(const h_nginx_t *n)
{
    const char *d = n->dir;
    if (!n->tls_port)
        return "";
    return h_strf("  server {\n"
                  "    listen %s:%d ssl%s;\n"
                  "    ssl_certificate %s/cert.pem;\n"
                  "    ssl_certificate_key %s/key.pem;\n"
                  "    access_log %s/tls.log e2e;\n"
                  "    location = /hello { return 200 \"%s\"; }\n"
                  "%s"
                  "    location / { return 200 \"ok\"; }\n"
                  "  }\n",
                  H_HOST, n->tls_port, n->h2c_port ? " http2" : "", d, d, d, H_HELLO,
                  common_locations(n));
}

/* HTTP/2 in the clear (prior knowledge), when the options ask for HTTP/2. */
static const char *h2c_server(const h_nginx_t *n)
{
    if (!n->h2c_port)
        return "";
    return h_strf("  server {\n"
                  "    listen %s:%d http2;\n"
                  "    access_log %s/h2c.log e2e;\n"
                  "    location = /hello { return 200 \"%s\"; }\n"
                  "%s"
                  "    location / { return 200 \"ok\"; }\n"
                  "  }\n",
                  H_HOST, n->h2c_port, n->dir, H_HELLO, common_locations(n));
}

/* /delay/MS passed to a cicada-target, when the options name one. */
static const char *proxy_location(int port)
{
    if (!port)
        return "";
    return h_strf("    location /delay/ { proxy_pass http://%s:%d; }\n", H_HOST, port);
}

/* One process (master_process off) so that the PID we hold is the server, unless the options
 * ask for a master (the PID we hold is then the master's); every path the compiled-in defaults
 * would put under /var lives in the temp dir. */
static const char *config_text(const h_nginx_t *n, int keepalive, int keepalive_timeout)
{
    const char *d = n->dir;
    return h_strf("master_process %s;\n"
                  "worker_processes 1;\n"
                  "pid %s/nginx.pid;\n"
                  "error_log %s/error.log warn;\n"
                  "events { worker_connections 1024; }\n"
                  "http {\n"
                  "  default_type text/plain;\n"
                  "  log_format e2e '$connection $status $request_uri $server_protocol';\n"
                  "  client_body_temp_path %s/tmp/body;\n"
                  "  proxy_temp_path %s/tmp/proxy;\n"
                  "  fastcgi_temp_path %s/tmp/fastcgi;\n"
                  "  uwsgi_temp_path %s/tmp/uwsgi;\n"
                  "  scgi_temp_path %s/tmp/scgi;\n"
                  "  keepalive_requests %d;\n"
                  "  keepalive_timeout %ds;\n"
                  "  server {\n"
                  "    listen %s:%d;\n"
                  "    access_log %s/access.log e2e;\n"
                  "    location = /hello { return 200 \"%s\"; }\n"
                  "    location /static/ { root %s/www; }\n"
                  "    location = /status/404 { return 404; }\n"
                  "%s"
                  "    location / { return 200 \"ok\"; }\n"
                  "  }\n"
                  "%s%s"
                  "}\n",
                  n->master ? "on" : "off", d, d, d, d, d, d, d, keepalive, keepalive_timeout,
                  H_HOST, n->port, d, H_HELLO, d, common_locations(n), tls_server(n),
                  h2c_server(n));
}

static int write_static_file(const char *dir)
{
    char data[H_STATIC_SIZE];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    if (mkdir(h_strf("%s/www", dir), 0755) < 0 || mkdir(h_strf("%s/www/static", dir), 0755) < 0)
        return -1;
    return h_write_file(h_strf("%s/www/static/file.txt", dir), data, sizeof data);
}

/* A fresh P-256 key and a self-signed certificate for 127.0.0.1, made by the openssl CLI. */
static int make_cert(const char *dir)
{
    char *argv[] = {OPENSSL_BIN,
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=" H_HOST,
                    "-addext",
                    "subjectAltName=IP:" H_HOST,
                    "-keyout",
                    (char *)h_strf("%s/key.pem", dir),
                    "-out",
                    (char *)h_strf("%s/cert.pem", dir),
                    NULL};
    h_run_opts_t o = {.timeout_s = 20};
    h_run_t r;
    if (h_exec(&r, &o, argv) < 0)
        return -1;
    int ok = r.exited && r.status == 0;
    if (!ok)
        fprintf(stderr, "openssl failed: %s\n", r.err);
    h_run_free(&r);
    return ok ? 0 : -1;
}

static int prepare_dir(h_nginx_t *n, const h_nginx_opts_t *o)
{
    const char *conf;
    if (mkdir(h_strf("%s/tmp", n->dir), 0755) < 0 || write_static_file(n->dir) < 0)
        return -1;
    if ((o->tls || o->http2) && make_cert(n->dir) < 0)
        return -1;
    conf = config_text(n, o->keepalive_requests > 0 ? o->keepalive_requests : 100000,
                       o->keepalive_timeout > 0 ? o->keepalive_timeout : 60);
    return h_write_file(h_strf("%s/nginx.conf", n->dir), conf, strlen(conf));
}

/* Waits until nginx accepts on its ports; false as soon as it has exited (a port was taken). */
static bool wait_ready(const h_nginx_t *n)
{
    double end = h_now() + 5;
    while (h_now() < end && h_alive(n->pid)) {
        if (h_wait_port(n->port, 0.05) == 0 &&
            (!n->tls_port || h_wait_port(n->tls_port, 0.05) == 0) &&
            (!n->h2c_port || h_wait_port(n->h2c_port, 0.05) == 0))
            return true;
    }
    return false;
}

static int try_start(h_nginx_t *n, const h_nginx_opts_t *o)
{
    n->dir = h_tmpdir();
    n->port = h_free_port();
    n->tls_port = o->tls || o->http2 ? h_free_port() : 0;
    n->h2c_port = o->http2 ? h_free_port() : 0;
    n->proxy_port = o->proxy_port;
    n->master = o->master;
    n->locations = o->locations;
    if (!n->dir || n->port < 0 || n->tls_port < 0 || n->h2c_port < 0 || prepare_dir(n, o) < 0)
        return -1;
    const char *conf = h_strf("%s/nginx.conf", n->dir), *log = h_strf("%s/error.log", n->dir);
    char *argv[] = {NGINX_BIN, "-p",        (char *)n->dir, "-c",          (char *)conf,
                    "-e",      (char *)log, "-g",           "daemon off;", NULL};
    n->pid = h_spawn(argv, h_strf("%s/stdout.log", n->dir), h_strf("%s/stderr.log", n->dir));
    if (n->pid > 0 && wait_ready(n))
        return 0;
    char *text = h_read_file(log, NULL);
    fprintf(stderr, "nginx did not start: %s\n", text ? text : "(no error log)");
    free(text);
    h_nginx_stop(n);
    return -1;
}

/* A port found free can be taken before nginx binds it; then it starts again on other ports. */
int h_nginx_start(h_nginx_t *n, const h_nginx_opts_t *opts)
{
    h_nginx_opts_t o = opts ? *opts : (h_nginx_opts_t){0};
    for (int attempt = 0; attempt < 3; attempt++) {
        memset(n, 0, sizeof *n);
        if (try_start(n, &o) == 0)
            return 0;
    }
    return -1;
}

void h_nginx_stop(h_nginx_t *n)
{
    h_stop(n->pid, 2.0);
    n->pid = 0;
}

/* Counts log lines "CONN STATUS URI" whose URI is uri (NULL: every line). */
static long count_lines(const h_nginx_t *n, const char *log, const char *uri)
{
    char *text = h_read_file(h_strf("%s/%s", n->dir, log), NULL);
    long count = 0;
    if (!text)
        return -1;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char u[4096];
        if (!uri || (sscanf(line, "%*s %*s %4095s", u) == 1 && strcmp(u, uri) == 0))
            count++;
    }
    free(text);
    return count;
}

long h_nginx_count(const h_nginx_t *n, const char *log, const char *uri, long want)
{
    double end = h_now() + 1.0;
    long v;
    while ((v = count_lines(n, log, uri)) != want && want >= 0 && v >= 0 && h_now() < end)
        h_sleep(0.05);
    return v;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

long h_nginx_connections(const h_nginx_t *n, const char *log)
{
    char *text = h_read_file(h_strf("%s/%s", n->dir, log), NULL);
    long *ids = NULL, count = 0, distinct = 0;
    size_t cap = 0;
    if (!text)
        return -1;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if ((size_t)count == cap) {
            long *ni = realloc(ids, (cap = cap * 2 + 1024) * sizeof *ids);
            if (!ni)
                break;
            ids = ni;
        }
        ids[count++] = atol(line);
    }
    qsort(ids, (size_t)count, sizeof *ids, cmp_long);
    for (long i = 0; i < count; i++)
        distinct += (i == 0 || ids[i] != ids[i - 1]);
    free(ids);
    free(text);
    return distinct;
}

long h_nginx_count_protocol(const h_nginx_t *n, const char *log, const char *protocol)
{
    char *text = h_read_file(h_strf("%s/%s", n->dir, log), NULL);
    long count = 0;
    if (!text)
        return -1;
    size_t plen = strlen(protocol);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(line);
        count +=
            len > plen && line[len - plen - 1] == ' ' && strcmp(line + len - plen, protocol) == 0;
    }
    free(text);
    return count;
}
