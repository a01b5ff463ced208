/* Checks made before the first user starts: the output paths. */
#include "control/preflight.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "report/html.h"

/* The directory part of path ("." when it has none), into dir. */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Files are written to a temporary name in their directory, then renamed over the path (see
 * base/outfile.h): the directory must be writable, whatever the file's own mode. */
static int check_path(const char *option, const char *path, char *err, size_t errlen)
{
    char dir[4096];
    struct stat st;
    dir_of(path, dir, sizeof(dir));
    const char *why = NULL;
    if (stat(dir, &st) != 0)
        why = errno == ENOENT ? "the directory does not exist" : strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = "its directory is not a directory";
    else if (access(dir, W_OK | X_OK) != 0)
        why = "the directory is not writable";
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        why = "it is a directory";
    if (!why)
        return 0;
    snprintf(err, errlen, "%s %s: cannot write there: %s (%s)", option, path, why, dir);
    return CCD_EINVAL;
}

/* --html's name may hold {u}, {r}, {t}: checked as it will be expanded. */
static int check_html(const ccd_options_t *o, char *err, size_t errlen)
{
    char *path = NULL;
    if (ccd_html_expand_name(o->html, o->users, o->spawn_rate, o->run_time, &path))
        return check_path("--html", o->html, err, errlen);
    int rc = check_path("--html", path, err, errlen);
    free(path);
    return rc;
}

int ccd_preflight_outputs(const ccd_options_t *o, char *err, size_t errlen)
{
    char path[4096];
    int rc = 0;
    if (o->html)
        rc = check_html(o, err, errlen);
    if (!rc && o->json_file) {
        snprintf(path, sizeof(path), "%s.json", o->json_file);
        rc = check_path("--json-file", path, err, errlen);
    }
    if (!rc && o->report_json && strcmp(o->report_json, "-") != 0)
        rc = check_path("--report-json", o->report_json, err, errlen);
    if (!rc && o->csv_prefix) {
        snprintf(path, sizeof(path), "%s_stats.csv", o->csv_prefix);
        rc = check_path("--csv", path, err, errlen);
    }
    if (!rc && o->junit)
        rc = check_path("--junit", o->junit, err, errlen);
    if (!rc && o->summary_md)
        rc = check_path("--summary-md", o->summary_md, err, errlen);
    return rc;
}

/* Descriptors besides the users' connections: per engine its loop, wake-up and DNS sockets,
 * plus the process's own (logs, reports, the web UI's listener and clients). */
#define FD_MARGIN_BASE       64
#define FD_MARGIN_PER_ENGINE 8

void ccd_preflight_fd_limit(unsigned users, unsigned engines)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit raised = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    rlim_t need = (rlim_t)users + FD_MARGIN_BASE + (rlim_t)engines * FD_MARGIN_PER_ENGINE;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return;
    ccd_log(CCD_LOG_WARNING,
            "the open-files limit is %llu, but %u users need about %llu (one connection each, "
            "plus cicada's own): connections beyond it will fail as generator errors, not the "
            "target's; raise the limit (ulimit -n, or LimitNOFILE in a systemd unit) or lower -u",
            (unsigned long long)rl.rlim_cur, users, (unsigned long long)need);
}
