/* cicada-target: the bundled demo and test HTTP server — flags, threads and signals. */
#include "conn.h"
#include "net.h"
#include "routes.h"
#include "worker.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 256

typedef struct {
    const char *host;
    int port;
    int threads;
} options_t;

static void usage(FILE *f)
{
    fputs("usage: cicada-target [--host ADDR] [--port PORT] [--threads N]\n"
          "  --host ADDR    address to listen on (default 127.0.0.1)\n"
          "  --port PORT    port to listen on, 0 for any free one (default 8080)\n"
          "  --threads N    serving threads, each with its own loop (default 1)\n"
          "Endpoints: /hello, /json, /delay/{ms}, /status/{code}, ... (see /); /stats counts.\n"
          "  /stall?after=S&for=D  from S seconds from now, hold every reply of the server\n"
          "                        until D seconds later, as a target that freezes (for=0\n"
          "                        cancels); /stall and /stats themselves are never held\n",
          f);
}

static int number(const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* Returns 0, 1 when --help was asked, or -1 after printing what was wrong. */
static int parse_args(int argc, char **argv, options_t *o)
{
    static const struct option longs[] = {{"host", required_argument, NULL, 'H'},
                                          {"port", required_argument, NULL, 'p'},
                                          {"threads", required_argument, NULL, 't'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "H:p:t:h", longs, NULL)) != -1) {
        if (ch == 'H') {
            o->host = optarg;
        } else if (ch == 'p' && number(optarg, 0, 65535, &o->port) == 0) {
        } else if (ch == 't' && number(optarg, 1, MAX_THREADS, &o->threads) == 0) {
        } else if (ch == 'h') {
            return 1;
        } else {
            if (ch == 'p' || ch == 't')
                fprintf(stderr, "cicada-target: invalid value '%s'\n", optarg);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cicada-target: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

static int open_listener(const options_t *o, char *name, size_t namelen)
{
    int port = o->port;
    int fd = tgt_net_listen(o->host, &port, name, namelen);
    if (fd < 0)
        fprintf(stderr, "cicada-target: cannot listen on %s:%d: %s\n", o->host, o->port,
                fd == -EINVAL ? "unknown host" : strerror(-fd));
    return fd;
}

static int start_workers(const options_t *o, int fd, tgt_worker_t **workers)
{
    for (int i = 0; i < o->threads; i++) {
        int err = tgt_worker_start(&workers[i], fd);
        if (err < 0) {
            fprintf(stderr, "cicada-target: cannot start thread: %s\n", strerror(-err));
            return err;
        }
    }
    return 0;
}

/* SIGINT and SIGTERM are blocked in every thread and taken here with sigwait, so no handler
 * runs inside a loop; SIGPIPE is ignored (sends use MSG_NOSIGNAL anyway). */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int serve(const options_t *o)
{
    tgt_worker_t *workers[MAX_THREADS] = {0};
    char name[128];
    sigset_t set;
    int sig;
    block_signals(&set);
    int fd = open_listener(o, name, sizeof name);
    if (fd < 0)
        return 1;
    int err = start_workers(o, fd, workers);
    if (!err) {
        printf("listening on %s\n", name);
        fflush(stdout);
        sigwait(&set, &sig);
    }
    for (int i = 0; i < o->threads && workers[i]; i++)
        tgt_worker_stop(workers[i]);
    close(fd);
    return err ? 1 : 0;
}

int main(int argc, char **argv)
{
    options_t o = {.host = "127.0.0.1", .port = 8080, .threads = 1};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    tgt_conn_global_init();
    if (tgt_routes_init() < 0) {
        fprintf(stderr, "cicada-target: cannot prepare responses\n");
        return 1;
    }
    rc = serve(&o);
    tgt_routes_free();
    return rc;
}
