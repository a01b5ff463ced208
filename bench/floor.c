/* floor.c - the smallest HTTP/1.1 keep-alive load generator we can write: the kernel's floor.
 *
 * What it measures: the CPU one core spends per request when a client does nothing but the
 * system calls of HTTP keep-alive over loopback TCP, with no parser, no statistics, no timers and
 * no scripting. Whatever a real generator (cicada, wrk) spends above this figure is its own code;
 * the figure itself is the kernel's price for the socket work, and no client on this machine, with
 * the same I/O interface, can go below it. bench/floor runs it beside wrk (see that script).
 *
 * Why: on loopback the sender's send() also runs the TCP receive path of the peer's socket, so
 * about three quarters of a generator's CPU is kernel time that no user-space change removes.
 * Measuring the floor tells whether a target such as "0.85 x wrk" is reachable at all, and how
 * much of the kernel part io_uring (fewer system calls, no epoll) gives back.
 *
 * Usage: floor MODE CONNS SECONDS PORT
 *   MODE  epoll                  non-blocking sockets, level-triggered epoll, one send() and one
 *                                recv() per request (the pattern of cicada's loop)
 *         uring[+OPTION...]      io_uring: each loop iteration submits every pending send and
 *                                recv and waits for one completion, in one io_uring_submit_and_wait
 *     options: coop      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN
 *              defer     IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
 *              sqpoll    IORING_SETUP_SQPOLL, its kernel thread pinned to the caller's CPU
 *              mshot     one multishot recv per connection with a provided buffer ring, instead
 *                        of one recv SQE per response
 *              pollfirst recv SQEs arm poll at once (IORING_RECVSEND_POLL_FIRST) instead of
 *                        trying a recv that is bound to find nothing yet
 *              skipsend  no completion for a successful send (IOSQE_CQE_SKIP_SUCCESS)
 *
 * Each of CONNS connections to 127.0.0.1:PORT has one `GET /hello` in flight at a time. The
 * response's length is learnt once, from a first request on a separate connection (status line,
 * headers up to the blank line, Content-Length); nginx's answer to /hello always has the same
 * length, so a response is complete when that many bytes have arrived, and it is checked to start
 * with "HTTP/1.1 200". Any error, a closed connection or an unexpected byte count stops the run
 * with exit status 1: a floor measured on failing requests would mean nothing.
 *
 * Output: "connected" on stderr once every connection is open (the run's SECONDS start then), and
 * "requests=N seconds=S" on stdout at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Larger than one response; a response split over several reads is counted all the same. */
#define BUF_SIZE    512
#define BUF_GROUP   0
#define OP_SEND     0
#define OP_RECV     1
#define MAX_ENTRIES 32768 /* the kernel's limit for an SQ ring */

struct conn {
    int fd;
    unsigned got; /* bytes of the current response received so far */
    char buf[BUF_SIZE];
};

struct uring_opts {
    unsigned setup; /* IORING_SETUP_* */
    bool mshot, pollfirst, skipsend;
};

static char request[128];
static unsigned request_len, response_len;
static unsigned long long completed;
static struct conn *conns;
static int nconns;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("floor: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A blocking TCP connection to 127.0.0.1:port, Nagle off as in wrk and cicada. Closed by a reset
 * (linger 0) when the process exits: otherwise each run leaves CONNS ports in TIME_WAIT for a
 * minute, and the next runs' connects slow down as the ephemeral ports run out. */
static int connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("connect to 127.0.0.1:%d: %s", port, strerror(errno));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    return fd;
}

/* Learns response_len from one request on a connection of its own: the only parsing done. */
static void probe_response(int port)
{
    char buf[4096], *end, *cl;
    size_t have = 0;
    int fd = connect_to(port);
    if (write(fd, request, request_len) != (ssize_t)request_len)
        die("probe: write: %s", strerror(errno));
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            die("probe: no complete response");
        have += n;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        cl = strcasestr(buf, "\r\nContent-Length:");
        if (end && cl && cl < end)
            break;
    }
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0)
        die("probe: the server did not answer 200: %.40s", buf);
    response_len = (unsigned)(end + 4 - buf) + (unsigned)atoi(cl + 17);
    if (response_len > BUF_SIZE)
        die("probe: a %u-byte response is longer than a buffer (%d)", response_len, BUF_SIZE);
    close(fd);
}

/* Accounts n bytes just received on c: 1 when they complete a response, 0 when more are due.
 * With one request in flight there can never be more than one response's worth of bytes. */
static int consume(struct conn *c, const char *data, unsigned n)
{
    if (c->got == 0 && n >= 12 && memcmp(data, "HTTP/1.1 200", 12) != 0)
        die("unexpected response: %.40s", data);
    c->got += n;
    if (c->got < response_len)
        return 0;
    if (c->got > response_len)
        die("%u bytes received for a %u-byte response", c->got, response_len);
    c->got = 0;
    completed++;
    return 1;
}

/* ---- epoll ---------------------------------------------------------------------------------- */

static void send_request(struct conn *c)
{
    if (send(c->fd, request, request_len, 0) != (ssize_t)request_len)
        die("send: %s", errno ? strerror(errno) : "short write");
}

/* The read interest is registered once and never changed: two system calls per request
 * (recv, send) plus one epoll_wait per batch of ready sockets. */
static void run_epoll(double deadline)
{
    struct epoll_event *events = calloc(nconns, sizeof *events);
    int ep = epoll_create1(0);
    if (!events || ep < 0)
        die("epoll: %s", strerror(errno));
    for (int i = 0; i < nconns; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0)
            die("epoll_ctl: %s", strerror(errno));
        send_request(&conns[i]);
    }
    while (now() < deadline) {
        int ready = epoll_wait(ep, events, nconns, 100);
        for (int k = 0; k < ready; k++) {
            struct conn *c = &conns[events[k].data.u32];
            ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
            if (n < 0 && errno == EAGAIN)
                continue;
            if (n <= 0)
                die("recv: %s", n ? strerror(errno) : "connection closed");
            if (consume(c, c->buf, n))
                send_request(c);
        }
    }
}

/* ---- io_uring ------------------------------------------------------------------------------- */

static struct io_uring ring;
static struct uring_opts uo;
static struct io_uring_buf_ring *br; /* provided buffers of the multishot receives */
static char *br_bufs;
static unsigned br_mask, br_returned;

static struct io_uring_sqe *get_sqe(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) { /* the SQ ring is full: hand it to the kernel and go on */
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    if (!sqe)
        die("io_uring: no free SQE");
    return sqe;
}

static void queue_send(int i)
{
    struct io_uring_sqe *sqe = get_sqe();
    io_uring_prep_send(sqe, conns[i].fd, request, request_len, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)i << 1 | OP_SEND);
    if (uo.skipsend)
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

static void queue_recv(int i)
{
    struct io_uring_sqe *sqe = get_sqe();
    if (uo.mshot) {
        io_uring_prep_recv_multishot(sqe, conns[i].fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BUF_GROUP;
    } else {
        io_uring_prep_recv(sqe, conns[i].fd, conns[i].buf, BUF_SIZE, 0);
        if (uo.pollfirst)
            sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)i << 1 | OP_RECV);
}

/* One buffer per connection is enough (one response in flight each); the ring's size must be a
 * power of two. */
static void setup_buf_ring(void)
{
    unsigned entries = 64;
    while (entries < (unsigned)nconns)
        entries <<= 1;
    br = mmap(NULL, entries * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    br_bufs = malloc((size_t)entries * BUF_SIZE);
    if (br == MAP_FAILED || !br_bufs)
        die("buffer ring: out of memory");
    struct io_uring_buf_reg reg = {
        .ring_addr = (uintptr_t)br, .ring_entries = entries, .bgid = BUF_GROUP};
    int ret = io_uring_register_buf_ring(&ring, &reg, 0);
    if (ret < 0)
        die("io_uring_register_buf_ring: %s", strerror(-ret));
    io_uring_buf_ring_init(br);
    br_mask = io_uring_buf_ring_mask(entries);
    for (unsigned b = 0; b < entries; b++)
        io_uring_buf_ring_add(br, br_bufs + (size_t)b * BUF_SIZE, BUF_SIZE, b, br_mask, b);
    io_uring_buf_ring_advance(br, entries);
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
    int i = cqe->user_data >> 1;
    const char *data = conns[i].buf;
    if ((cqe->user_data & 1) == OP_SEND) {
        if (cqe->res != (int)request_len)
            die("send: %s", cqe->res < 0 ? strerror(-cqe->res) : "short write");
        return;
    }
    if (cqe->res <= 0)
        die("recv: %s", cqe->res ? strerror(-cqe->res) : "connection closed");
    if (uo.mshot) { /* the data is in a provided buffer, handed back once counted */
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        data = br_bufs + (size_t)bid * BUF_SIZE;
        io_uring_buf_ring_add(br, (void *)data, BUF_SIZE, bid, br_mask, br_returned++);
    }
    bool done = consume(&conns[i], data, cqe->res);
    if (done)
        queue_send(i);
    if (!uo.mshot || !(cqe->flags & IORING_CQE_F_MORE))
        queue_recv(i); /* the next response's (or, multishot, re-armed after it stopped) */
}

/* Under SQPOLL the kernel thread submits; entering the kernel is only needed to wait. */
static void submit_and_wait(void)
{
    int ret;
    if ((uo.setup & IORING_SETUP_SQPOLL) && io_uring_cq_ready(&ring))
        ret = io_uring_submit(&ring);
    else
        ret = io_uring_submit_and_wait(&ring, 1);
    if (ret < 0 && ret != -EINTR)
        die("io_uring_submit_and_wait: %s", strerror(-ret));
}

static void run_uring(double deadline)
{
    unsigned entries = 64;
    while (entries < 2u * nconns && entries < MAX_ENTRIES)
        entries <<= 1;
    struct io_uring_params p = {.flags = uo.setup};
    if (uo.setup & IORING_SETUP_SQPOLL) {
        p.flags |= IORING_SETUP_SQ_AFF;
        p.sq_thread_cpu = sched_getcpu();
        p.sq_thread_idle = 1000;
    }
    int ret = io_uring_queue_init_params(entries, &ring, &p);
    if (ret < 0)
        die("io_uring_queue_init_params: %s", strerror(-ret));
    if (uo.mshot)
        setup_buf_ring();
    for (int i = 0; i < nconns; i++) {
        queue_send(i);
        queue_recv(i);
    }
    while (now() < deadline) {
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        submit_and_wait();
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            on_cqe(cqe);
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
        if (br_returned) {
            io_uring_buf_ring_advance(br, br_returned);
            br_returned = 0;
        }
    }
}

static void parse_uring_mode(char *mode)
{
    for (char *opt = strtok(mode + strlen("uring"), "+"); opt; opt = strtok(NULL, "+")) {
        if (strcmp(opt, "coop") == 0)
            uo.setup |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
        else if (strcmp(opt, "defer") == 0)
            uo.setup |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        else if (strcmp(opt, "sqpoll") == 0)
            uo.setup |= IORING_SETUP_SQPOLL;
        else if (strcmp(opt, "mshot") == 0)
            uo.mshot = true;
        else if (strcmp(opt, "pollfirst") == 0)
            uo.pollfirst = true;
        else if (strcmp(opt, "skipsend") == 0)
            uo.skipsend = true;
        else
            die("unknown io_uring option '%s'", opt);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5)
        die("usage: floor epoll|uring[+coop|+defer|+sqpoll][+mshot][+pollfirst][+skipsend] "
            "CONNS SECONDS PORT");
    char *mode = argv[1];
    nconns = atoi(argv[2]);
    double secs = atof(argv[3]);
    int port = atoi(argv[4]);
    bool uring = strncmp(mode, "uring", 5) == 0;
    if (!uring && strcmp(mode, "epoll") != 0)
        die("unknown mode '%s'", mode);
    if (uring)
        parse_uring_mode(mode);
    if (nconns <= 0 || secs <= 0 || port <= 0 || port > 65535)
        die("CONNS, SECONDS and PORT must be positive");

    request_len = snprintf(request, sizeof request,
                           "GET /hello HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    probe_response(port);
    conns = calloc(nconns, sizeof *conns);
    if (!conns)
        die("out of memory");
    for (int i = 0; i < nconns; i++)
        conns[i].fd = connect_to(port);

    fputs("connected\n", stderr);
    double start = now();
    if (uring)
        run_uring(start + secs);
    else
        run_epoll(start + secs);
    printf("requests=%llu seconds=%.3f\n", completed, now() - start);
    return 0;
}
