/* Harness lifetime: temp dirs, owned strings, child processes bounded and killed by PID. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 64
#define MAX_DIRS  32

static pid_t procs[MAX_PROCS];
static int nprocs;
static char *dirs[MAX_DIRS];
static int ndirs;
static void **strs;
static size_t nstrs;
static bool registered;

static void register_atexit(void)
{
    if (!registered) {
        registered = true;
        atexit(h_cleanup);
    }
}

double h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void h_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void track(pid_t pid)
{
    register_atexit();
    if (nprocs < MAX_PROCS)
        procs[nprocs++] = pid;
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < nprocs; i++) {
        if (procs[i] == pid) {
            procs[i] = procs[--nprocs];
            return;
        }
    }
}

static bool tracked(pid_t pid)
{
    for (int i = 0; i < nprocs; i++)
        if (procs[i] == pid)
            return true;
    return false;
}

/* Waits for pid up to grace_s; returns true once it is reaped. */
static bool reap_within(pid_t pid, double grace_s, int *wstatus)
{
    double end = h_now() + grace_s;
    do {
        pid_t w = waitpid(pid, wstatus, WNOHANG);
        if (w == pid || (w < 0 && errno == ECHILD))
            return true;
        h_sleep(0.01);
    } while (h_now() < end);
    return false;
}

bool h_alive(pid_t pid)
{
    int st;
    if (pid <= 0 || !tracked(pid))
        return false;
    if (waitpid(pid, &st, WNOHANG) == 0)
        return true;
    untrack(pid);
    return false;
}

void h_stop(pid_t pid, double grace_s)
{
    int st;
    if (pid <= 0 || !tracked(pid))
        return;
    kill(pid, SIGTERM);
    if (!reap_within(pid, grace_s, &st)) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    untrack(pid);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void h_cleanup(void)
{
    while (nprocs > 0)
        h_stop(procs[nprocs - 1], 2.0);
    for (int i = 0; i < ndirs; i++) {
        nftw(dirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(dirs[i]);
    }
    ndirs = 0;
    for (size_t i = 0; i < nstrs; i++)
        free(strs[i]);
    free(strs);
    strs = NULL;
    nstrs = 0;
}

const char *h_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char path[PATH_MAX];
    if (ndirs == MAX_DIRS)
        return NULL;
    snprintf(path, sizeof path, "%s/cicada-e2e-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path))
        return NULL;
    register_atexit();
    dirs[ndirs] = strdup(path);
    return dirs[ndirs++];
}

static const char *own(char *s)
{
    void **n = realloc(strs, (nstrs + 1) * sizeof *strs);
    if (!s || !n) {
        free(s);
        return NULL;
    }
    register_atexit();
    strs = n;
    strs[nstrs++] = s;
    return s;
}

const char *h_strf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return own(s);
}

int h_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && n == len) ? 0 : -1;
}

char *h_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0, r;
    if (!f)
        return NULL;
    do {
        if (cap - n < 4096) {
            char *nb = realloc(buf, cap = cap * 2 + 8192);
            if (!nb)
                break;
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
    } while (r > 0);
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Runs in the child between fork and exec: die with the parent, default signal dispositions and
 * an empty mask (the test runner may block or ignore some), no inherited descriptors. */
static void child_setup(pid_t parent, int out, int err)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGCHLD, SIGALRM};
    sigset_t none;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        signal(sigs[i], SIG_DFL);
    int in = open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    close_range(3, ~0U, 0);
}

static int open_out(const char *path)
{
    return open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

pid_t h_spawn(char *const argv[], const char *out_path, const char *err_path)
{
    pid_t parent = getpid();
    int out = open_out(out_path), err = open_out(err_path);
    pid_t pid = (out < 0 || err < 0) ? -1 : fork();
    if (pid == 0) {
        child_setup(parent, out, err);
        execv(argv[0], argv);
        _exit(127);
    }
    if (out >= 0)
        close(out);
    if (err >= 0)
        close(err);
    if (pid > 0)
        track(pid);
    return pid;
}

pid_t h_fork(void)
{
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        signal(SIGTERM, SIG_DFL);
    } else if (pid > 0) {
        track(pid);
    }
    return pid;
}

/* ---- h_exec: run to completion, capturing output ---------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_read(buf_t *b, int *fd)
{
    if (b->cap - b->len < 65536) {
        size_t cap = b->cap * 2 + 65536;
        char *p = realloc(b->p, cap);
        if (!p) { /* Out of memory: stop reading rather than overrun. */
            close(*fd);
            *fd = -1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    ssize_t n = read(*fd, b->p + b->len, b->cap - b->len - 1);
    if (n > 0)
        b->len += (size_t)n;
    else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

static char *buf_take(buf_t *b, size_t *len)
{
    char *p = b->p ? b->p : malloc(1);
    if (p)
        p[b->len] = '\0';
    *len = b->len;
    return p;
}

/* Polls both pipes for up to 20 ms and reads what is there. */
static void pump(int fds[2], buf_t bufs[2])
{
    struct pollfd p[2];
    int n = 0;
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            p[n++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    if (poll(p, (nfds_t)n, 20) <= 0)
        return;
    for (int i = 0, k = 0; i < 2; i++) {
        if (fds[i] < 0)
            continue;
        if (p[k++].revents)
            buf_read(&bufs[i], &fds[i]);
    }
}

static void set_status(h_run_t *r, int st)
{
    r->exited = WIFEXITED(st);
    r->status = r->exited ? WEXITSTATUS(st) : (WIFSIGNALED(st) ? WTERMSIG(st) : -1);
}

/* The supervision loop: signal at signal_after_s, SIGKILL at timeout_s, stop reading 1 s after
 * the exit in case a descendant still holds the pipes. */
static void supervise(h_run_t *r, const h_run_opts_t *o, pid_t pid, int fds[2], buf_t bufs[2])
{
    double start = h_now(), stop_reading = 0;
    bool reaped = false, signaled = o->signal_after_s <= 0;
    int st = 0;
    while ((fds[0] >= 0 || fds[1] >= 0 || !reaped) && !(reaped && h_now() > stop_reading)) {
        double t = h_now();
        if (!reaped && !signaled && t - start >= o->signal_after_s) {
            kill(pid, o->signal ? o->signal : SIGINT);
            signaled = true;
        }
        if (!reaped && t - start >= o->timeout_s) {
            kill(pid, SIGKILL);
            r->timed_out = true;
        }
        if (!reaped && waitpid(pid, &st, WNOHANG) == pid) {
            reaped = true;
            r->elapsed_s = h_now() - start;
            stop_reading = h_now() + 1.0;
            set_status(r, st);
            untrack(pid);
        }
        pump(fds, bufs);
    }
}

int h_exec(h_run_t *r, const h_run_opts_t *opts, char *const argv[])
{
    h_run_opts_t o = opts ? *opts : (h_run_opts_t){0};
    int po[2], pe[2];
    buf_t bufs[2] = {{0}, {0}};
    memset(r, 0, sizeof *r);
    if (o.timeout_s <= 0)
        o.timeout_s = 30;
    if (pipe2(po, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(pe, O_CLOEXEC) < 0) {
        close(po[0]), close(po[1]);
        return -1;
    }
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        child_setup(parent, po[1], pe[1]);
        for (const char **e = o.env; e && *e; e++)
            putenv((char *)*e);
        if (o.cwd && chdir(o.cwd) < 0) {
            dprintf(2, "chdir %s: %s\n", o.cwd, strerror(errno));
            _exit(127);
        }
        execv(argv[0], argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]), close(pe[1]);
    if (pid < 0) {
        close(po[0]), close(pe[0]);
        return -1;
    }
    track(pid);
    int fds[2] = {po[0], pe[0]};
    supervise(r, &o, pid, fds, bufs);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    r->out = buf_take(&bufs[0], &r->out_len);
    r->err = buf_take(&bufs[1], &r->err_len);
    return 0;
}
