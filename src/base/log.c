/* Timestamped log lines, written with a single write(2) so threads never interleave them. */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"

static int min_level = CCD_LOG_INFO;
static int log_fd = STDERR_FILENO;

/* The last lines, for the web UI: a ring of copies under a lock (log lines are rare). */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static char **ring;
static size_t ring_cap, ring_next, ring_len;

int ccd_log_keep(size_t n)
{
    if (n && !(ring = calloc(n, sizeof(*ring))))
        return CCD_ENOMEM;
    ring_cap = n;
    return 0;
}

void ccd_log_recent(void (*fn)(const char *line, void *ud), void *ud)
{
    pthread_mutex_lock(&ring_lock);
    for (size_t i = 0; i < ring_len; i++)
        fn(ring[(ring_next + ring_cap - ring_len + i) % ring_cap], ud);
    pthread_mutex_unlock(&ring_lock);
}

static void keep(const char *line, size_t len)
{
    char *copy = strndup(line, len);
    if (!copy)
        return;
    pthread_mutex_lock(&ring_lock);
    free(ring[ring_next]);
    ring[ring_next] = copy;
    ring_next = (ring_next + 1) % ring_cap;
    ring_len += ring_len < ring_cap;
    pthread_mutex_unlock(&ring_lock);
}

int ccd_log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    log_fd = fd;
    return 0;
}

void ccd_log_set_level(int level)
{
    min_level = level;
}

void ccd_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
    if (level < min_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "[%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ",%03ld] %s/cicada: ", ts.tv_nsec / 1000000,
                          names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : (n + (size_t)m < sizeof(line) - 1 ? n + (size_t)m : sizeof(line) - 2);
    if (ring_cap)
        keep(line, n);
    line[n++] = '\n';
    if (log_fd == STDERR_FILENO)
        fflush(stderr); /* keep the order of tables and log lines */
    ssize_t w = write(log_fd, line, n);
    (void)w;
}
