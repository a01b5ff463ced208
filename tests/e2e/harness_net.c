/* Loopback network helpers: free ports, a tiny HTTP GET, a resetting server, the demo target. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef TARGET_BIN
#define TARGET_BIN "cicada-target"
#endif

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* Binds a listening socket to 127.0.0.1:0 and stores the port chosen by the kernel. */
static int listen_any(int *port)
{
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int h_free_port(void)
{
    int port = -1;
    int fd = listen_any(&port);
    if (fd < 0)
        return -1;
    close(fd);
    return port;
}

static void set_timeouts(int fd, double s)
{
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (time_t)s) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int connect_port(int port)
{
    struct sockaddr_in a = loopback(port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    set_timeouts(fd, 5);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int h_wait_port(int port, double timeout_s)
{
    double end = h_now() + timeout_s;
    do {
        int fd = connect_port(port);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        h_sleep(0.02);
    } while (h_now() < end);
    return -1;
}

/* Reads until EOF, an error or the deadline; returns a NUL-terminated malloc'd buffer. */
static char *read_all(int fd, double deadline, size_t *len)
{
    size_t n = 0, cap = 16384;
    char *buf = malloc(cap);
    while (buf && h_now() < deadline) {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                break;
            buf = nb;
        }
        ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
        if (r <= 0 && !(r < 0 && errno == EINTR))
            break;
        if (r > 0)
            n += (size_t)r;
    }
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

/* Decodes a chunked body in place; returns its length. */
static size_t dechunk(char *body, size_t len)
{
    char *in = body, *end = body + len, *out = body;
    while (in < end) {
        char *next;
        unsigned long size = strtoul(in, &next, 16);
        char *data = strstr(next, "\r\n");
        if (!data || size == 0 || data + 2 + size > end)
            break;
        memmove(out, data + 2, size);
        out += size;
        in = data + 2 + size + 2;
    }
    *out = '\0';
    return (size_t)(out - body);
}

/* Splits a raw response: status code, then the body moved to the front of the buffer. */
static int parse_response(char *raw, size_t len)
{
    int status = 0;
    char *body = strstr(raw, "\r\n\r\n");
    if (!body || sscanf(raw, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    *body = '\0';
    bool chunked = strcasestr(raw, "\ntransfer-encoding: chunked") != NULL;
    body += 4;
    len -= (size_t)(body - raw);
    memmove(raw, body, len + 1);
    if (chunked)
        dechunk(raw, len);
    return status;
}

char *h_http_get(int port, const char *path, int *status)
{
    int fd = connect_port(port);
    size_t len = 0;
    if (fd < 0)
        return NULL;
    dprintf(fd, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", path, H_HOST, port);
    char *raw = read_all(fd, h_now() + 5, &len);
    close(fd);
    int st = raw ? parse_response(raw, len) : -1;
    if (st < 0) {
        free(raw);
        return NULL;
    }
    if (status)
        *status = st;
    return raw;
}

#define RST_CONNS 64

/* One connection of the resetting server: the bytes of the request being read, and how many
 * requests it has answered. */
typedef struct {
    int fd;
    int answered;
    size_t len;
    char buf[4096];
} rst_conn_t;

static void rst_drop(rst_conn_t *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c->fd);
    c->fd = -1;
}

/* Reads what arrived; each complete request head (requests here have no body) is counted,
 * then answered while the connection has answers left, else the connection is reset. */
static void rst_readable(rst_conn_t *c, int answers, long *seen)
{
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    c->len += (size_t)n;
    char *end;
    while (c->fd >= 0 && (end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
        if (seen)
            __atomic_fetch_add(seen, 1, __ATOMIC_SEQ_CST);
        size_t used = (size_t)(end + 4 - c->buf);
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        if (c->answered++ >= answers) {
            rst_drop(c);
            return;
        }
        const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (send(c->fd, ok, strlen(ok), MSG_NOSIGNAL) < 0)
            rst_drop(c);
    }
    if (c->fd >= 0 && c->len == sizeof c->buf)
        rst_drop(c);
}

/* The resetting server's loop: one process, poll() over the listening socket and up to
 * RST_CONNS connections. */
static void rst_serve(int lfd, int answers, long *seen)
{
    static rst_conn_t conns[RST_CONNS];
    struct pollfd pfd[RST_CONNS + 1];
    for (int i = 0; i < RST_CONNS; i++)
        conns[i].fd = -1;
    for (;;) {
        pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < RST_CONNS; i++)
            pfd[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(pfd, RST_CONNS + 1, -1) <= 0)
            continue;
        for (int i = 0; i < RST_CONNS; i++)
            if (conns[i].fd >= 0 && pfd[i + 1].revents)
                rst_readable(&conns[i], answers, seen);
        if (!(pfd[0].revents & POLLIN))
            continue;
        int fd = accept(lfd, NULL, NULL);
        int i = 0;
        while (i < RST_CONNS && conns[i].fd >= 0)
            i++;
        if (fd >= 0 && i == RST_CONNS)
            close(fd);
        else if (fd >= 0)
            conns[i] = (rst_conn_t){.fd = fd};
    }
}

long *h_shared_counter(void)
{
    long *p = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *p = 0;
    return p;
}

int h_reset_server_start(int answers, long *seen)
{
    int port = -1;
    int lfd = listen_any(&port);
    if (lfd < 0)
        return -1;
    pid_t pid = h_fork();
    if (pid == 0) {
        rst_serve(lfd, answers, seen);
        _exit(0);
    }
    close(lfd);
    return pid > 0 ? port : -1;
}

int h_rst_server_start(void)
{
    return h_reset_server_start(0, NULL);
}

/* ---- cicada-target ------------------------------------------------------------------------ */

/* Polls the target's stdout file for its "listening on 127.0.0.1:PORT" line. */
static int read_listen_port(const char *path, double timeout_s)
{
    double end = h_now() + timeout_s;
    do {
        char *text = h_read_file(path, NULL);
        char *line = text ? strstr(text, "listening on " H_HOST ":") : NULL;
        int port = line ? atoi(line + strlen("listening on " H_HOST ":")) : 0;
        free(text);
        if (port > 0)
            return port;
        h_sleep(0.02);
    } while (h_now() < end);
    return -1;
}

int h_target_start(h_target_t *t, int threads)
{
    char nthreads[16];
    char *argv[] = {(char *)TARGET_BIN, "--port", "0", "--threads", nthreads, NULL};
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    if (threads <= 0)
        argv[3] = NULL;
    memset(t, 0, sizeof *t);
    if (access(TARGET_BIN, X_OK) < 0) {
        fprintf(stderr, "%s is not built\n", TARGET_BIN);
        return -1;
    }
    if (!(t->dir = h_tmpdir()))
        return -1;
    const char *out = h_strf("%s/stdout.log", t->dir);
    t->pid = h_spawn(argv, out, h_strf("%s/stderr.log", t->dir));
    if (t->pid < 0)
        return -1;
    t->port = read_listen_port(out, 5);
    if (t->port < 0 || h_wait_port(t->port, 2) < 0) {
        h_target_stop(t);
        return -1;
    }
    return 0;
}

void h_target_stop(h_target_t *t)
{
    h_stop(t->pid, 2.0);
    t->pid = 0;
}

json_t *h_target_stats(const h_target_t *t)
{
    int status = 0;
    char *body = h_http_get(t->port, "/stats", &status);
    json_t *doc = (body && status == 200) ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return doc;
}

static long stats_requests(const h_target_t *t)
{
    json_t *doc = h_target_stats(t);
    json_t *n = doc ? json_object_get(doc, "requests") : NULL;
    long v = json_is_integer(n) ? (long)json_integer_value(n) : -1;
    if (doc)
        json_decref(doc);
    return v;
}

long h_target_requests(const h_target_t *t, long want)
{
    double end = h_now() + 1.0;
    long v;
    while ((v = stats_requests(t)) != want && v >= 0 && h_now() < end)
        h_sleep(0.05);
    return v;
}

long h_target_path_count(const h_target_t *t, const char *path)
{
    json_t *doc = h_target_stats(t);
    json_t *by = doc ? json_object_get(doc, "by_path") : NULL;
    json_t *n = json_is_object(by) ? json_object_get(by, path) : NULL;
    if (json_is_object(n)) /* {"requests": N} rather than a bare count */
        n = json_object_get(n, "requests");
    long v = json_is_integer(n) ? (long)json_integer_value(n) : -1;
    if (doc)
        json_decref(doc);
    return v;
}
