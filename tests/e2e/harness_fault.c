/* The fault server: an HTTP server that breaks its replies on purpose, one path per fault, and
 * counts the requests it read by path in memory the test shares. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

static const char *const fault_paths[H_FAULT_N] = {
    [H_FAULT_OK] = "/ok",
    [H_FAULT_RESET] = "/reset",
    [H_FAULT_GARBAGE] = "/garbage",
    [H_FAULT_TRUNCATE] = "/truncate",
    [H_FAULT_BAD_CHUNK] = "/bad-chunk",
    [H_FAULT_BIG_HEADER] = "/big-header",
    [H_FAULT_NEVER] = "/never",
    [H_FAULT_CLOSE] = "/close",
    [H_FAULT_DRIP] = "/drip",
    [H_FAULT_BIG_BODY] = "/big",
    [H_FAULT_GZIP_BOMB] = "/gzip-bomb",
    [H_FAULT_OTHER] = "(other)",
};

const char *h_fault_path(h_fault_path_t p)
{
    return fault_paths[p];
}

/* The path of a request head ("GET /x HTTP/1.1"); an unknown one is H_FAULT_OTHER. */
static h_fault_path_t path_of(const char *head, size_t len)
{
    const char *sp = memchr(head, ' ', len);
    const char *end = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - head)) : NULL;
    if (!end)
        return H_FAULT_OTHER;
    size_t n = (size_t)(end - sp - 1);
    for (int p = 0; p < H_FAULT_OTHER; p++)
        if (strlen(fault_paths[p]) == n && memcmp(fault_paths[p], sp + 1, n) == 0)
            return (h_fault_path_t)p;
    return H_FAULT_OTHER;
}

static bool send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

static bool send_str(int fd, const char *s)
{
    return send_all(fd, s, strlen(s));
}

/* Waits until the client closes (reading whatever it sends). */
static void read_until_eof(int fd)
{
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0 || (n < 0 && errno == EINTR)) {
    }
}

static void reset(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* One byte every 100 ms: a complete response that takes 4 s to arrive. */
static bool drip(int fd)
{
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for (; *r; r++) {
        if (!send_all(fd, r, 1))
            return false;
        h_sleep(0.1);
    }
    return true;
}

static bool big_header(int fd)
{
    static char value[70 * 1024];
    memset(value, 'a', sizeof value - 1);
    return send_str(fd, "HTTP/1.1 200 OK\r\nX-Big: ") && send_str(fd, value) &&
           send_str(fd, "\r\nContent-Length: 2\r\n\r\nok");
}

static bool big_body(int fd)
{
    static char block[64 * 1024];
    memset(block, 'x', sizeof block);
    char head[128];
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %ld\r\n\r\n", H_FAULT_BIG_LEN);
    if (!send_str(fd, head))
        return false;
    for (long left = H_FAULT_BIG_LEN; left > 0; left -= (long)sizeof block)
        if (!send_all(fd, block, left < (long)sizeof block ? (size_t)left : sizeof block))
            return false;
    return true;
}

/* The bomb's body, made on its first request in each connection's process: one gzip member of
 * H_FAULT_BOMB_LEN / 16 zero bytes, repeated 16 times (a gzip reader inflates every member). */
static bool gzip_bomb(int fd)
{
    enum { MEMBERS = 16, CHUNK = 1 << 20 };
    static unsigned char *member;
    static size_t member_len;
    if (!member) {
        static unsigned char zeros[CHUNK];
        size_t cap = H_FAULT_BOMB_LEN / MEMBERS / 512;
        z_stream z = {0};
        if (!(member = malloc(cap)) ||
            deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
            return false;
        z.next_out = member;
        z.avail_out = (uInt)cap;
        int rc = Z_OK;
        for (long left = H_FAULT_BOMB_LEN / MEMBERS; left > 0 && rc == Z_OK; left -= CHUNK) {
            z.next_in = zeros;
            z.avail_in = CHUNK;
            rc = deflate(&z, left > CHUNK ? Z_NO_FLUSH : Z_FINISH);
        }
        member_len = z.total_out;
        deflateEnd(&z);
        if (rc != Z_STREAM_END) /* out of room: the bound above is wrong */
            return false;
    }
    char head[160];
    snprintf(head, sizeof head,
             "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
             member_len * MEMBERS);
    if (!send_str(fd, head))
        return false;
    for (int i = 0; i < MEMBERS; i++)
        if (!send_all(fd, (const char *)member, member_len))
            return false;
    return true;
}

/* Replies to one request on path p; returns whether the connection stays open for another. */
static bool reply(int fd, h_fault_path_t p)
{
    switch (p) {
    case H_FAULT_OK: return send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    case H_FAULT_RESET: reset(fd); return false;
    case H_FAULT_GARBAGE: send_str(fd, "this is not HTTP at all\r\n\r\n"); return false;
    case H_FAULT_TRUNCATE: /* 10 of the 100 body bytes announced */
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
        return false;
    case H_FAULT_BAD_CHUNK:
        send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\nzz\r\nbad\r\n0\r\n\r\n");
        return false;
    case H_FAULT_BIG_HEADER: big_header(fd); return false;
    case H_FAULT_NEVER: read_until_eof(fd); return false;
    case H_FAULT_CLOSE: /* no Content-Length: the body ends with the connection */
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" H_FAULT_CLOSE_BODY);
        return false;
    case H_FAULT_DRIP: return drip(fd);
    case H_FAULT_BIG_BODY: return big_body(fd);
    case H_FAULT_GZIP_BOMB: return gzip_bomb(fd);
    default: return send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
}

/* Serves the requests of one connection in order (their bodies, which GETs do not have, are
 * not read); each is counted as soon as its head is read, before the reply. */
static void serve_conn(int fd, long *seen)
{
    char buf[8192];
    size_t len = 0;
    for (;;) {
        char *end;
        while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
            ssize_t n = len < sizeof buf ? recv(fd, buf + len, sizeof buf - len, 0) : 0;
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return;
            len += (size_t)n;
        }
        size_t used = (size_t)(end + 4 - buf);
        h_fault_path_t p = path_of(buf, used);
        __atomic_fetch_add(&seen[p], 1, __ATOMIC_SEQ_CST);
        memmove(buf, buf + used, len - used);
        len -= used;
        if (!reply(fd, p))
            return;
    }
}

/* The server's loop: a process per connection, so that a connection that sleeps or never
 * replies holds up no other. Each dies with the server, which dies with the test. */
static void serve(int lfd, long *seen)
{
    signal(SIGCHLD, SIG_IGN); /* children are reaped by the kernel */
    pid_t server = getpid();
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != server)
                _exit(0);
            close(lfd);
            serve_conn(fd, seen);
            close(fd);
            _exit(0);
        }
        close(fd);
    }
}

/* Listens on 127.0.0.1:port (0: any free port), which may have served just before. */
static int listen_on(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    socklen_t len = sizeof a;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int h_fault_start(h_fault_t *f, int port)
{
    if (!f->seen) {
        f->seen = mmap(NULL, H_FAULT_N * sizeof(long), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (f->seen == MAP_FAILED) {
            f->seen = NULL;
            return -1;
        }
    }
    f->port = port;
    int lfd = listen_on(&f->port);
    if (lfd < 0)
        return -1;
    f->pid = h_fork();
    if (f->pid == 0) {
        serve(lfd, f->seen);
        _exit(0);
    }
    close(lfd);
    return f->pid > 0 ? 0 : -1;
}

void h_fault_kill(h_fault_t *f)
{
    if (f->pid > 0)
        kill(f->pid, SIGKILL);
    h_stop(f->pid, 2.0);
    f->pid = 0;
}

long h_fault_seen(const h_fault_t *f, h_fault_path_t p, long want)
{
    double end = h_now() + 1.0;
    long v;
    while ((v = __atomic_load_n(&f->seen[p], __ATOMIC_SEQ_CST)) != want && h_now() < end)
        h_sleep(0.02);
    return v;
}
