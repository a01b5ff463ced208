/* Timestamped log lines, written with a single write(2) so threads never interleave them. */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"

static int min_level = CCD_LOG_INFO;
static int log_fd = STDERR_FILENO;

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
    line[n++] = '\n';
    if (log_fd == STDERR_FILENO)
        fflush(stderr); /* keep the order of tables and log lines */
    ssize_t w = write(log_fd, line, n);
    (void)w;
}
