/* redis-server on loopback for end-to-end tests, and its per-command call counts. */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define REDIS_BIN "/usr/bin/redis-server"

/* Nothing written to disk: no snapshots, no append-only file, the temp dir as working dir. */
static int try_start(h_redis_t *r)
{
    r->dir = h_tmpdir();
    r->port = h_free_port();
    if (!r->dir || r->port < 0)
        return -1;
    char *argv[] = {REDIS_BIN, "--port",       (char *)h_strf("%d", r->port),
                    "--bind",  H_HOST,         "--save",
                    "",        "--appendonly", "no",
                    "--dir",   (char *)r->dir, NULL};
    r->pid = h_spawn(argv, h_strf("%s/stdout.log", r->dir), h_strf("%s/stderr.log", r->dir));
    double end = h_now() + 5;
    while (r->pid > 0 && h_now() < end && h_alive(r->pid))
        if (h_wait_port(r->port, 0.05) == 0)
            return 0;
    h_redis_stop(r);
    return -1;
}

/* A port found free can be taken before redis binds it; then it starts again on another. */
int h_redis_start(h_redis_t *r)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        memset(r, 0, sizeof *r);
        if (try_start(r) == 0)
            return 0;
    }
    return -1;
}

void h_redis_stop(h_redis_t *r)
{
    if (r->pid > 0)
        h_stop(r->pid, 2.0);
    r->pid = 0;
}

static int connect_port(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one bulk-string reply ("$<len>\r\n<bytes>\r\n") into a malloc'd string, or NULL. */
static char *read_bulk(int fd)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    char *body = NULL;
    while (buf && len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *crlf = strstr(buf, "\r\n");
        if (buf[0] == '$' && crlf && len >= (size_t)(crlf + 2 - buf) + (size_t)atol(buf + 1)) {
            body = buf;
            break;
        }
    }
    if (!body)
        free(buf);
    return body;
}

/* INFO commandstats over a fresh connection. */
static char *commandstats(int port)
{
    static const char cmd[] = "*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n";
    int fd = connect_port(port);
    if (fd < 0)
        return NULL;
    char *text = write(fd, cmd, sizeof cmd - 1) == (ssize_t)(sizeof cmd - 1) ? read_bulk(fd) : NULL;
    close(fd);
    return text;
}

static long parse_calls(const char *text, const char *command)
{
    const char *key = h_strf("\ncmdstat_%s:calls=", command);
    const char *p = strstr(text, key);
    return p ? atol(p + strlen(key)) : 0;
}

long h_redis_calls(const h_redis_t *r, const char *command, long want)
{
    double end = h_now() + 1.0;
    for (;;) {
        char *text = commandstats(r->port);
        long v = text ? parse_calls(text, command) : -1;
        free(text);
        if (v == want || want < 0 || v < 0 || h_now() >= end)
            return v;
        h_sleep(0.05);
    }
}
