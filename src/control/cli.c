/* Option parsing with Locust's option names, so users' habits carry over. Every source (the
 * configuration file, the environment, the command line) goes through the same table and the
 * same validation, so an option means the same thing wherever it is set. */
#include "control/cli.h"
#include "base/buf.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/duration.h"
#include "base/error.h"
#include "base/log.h"
#include "base/suggest.h"

enum {
    O_SCENARIO = 'f',
    O_HOST = 'H',
    O_USERS = 'u',
    O_RATE = 'r',
    O_RUN_TIME = 't',
    O_TAGS = 'T',
    O_EXCLUDE = 'E',
    O_LIST = 'l',
    O_LOGLEVEL = 'L',
    O_VERSION = 'V',
    O_HELP = 'h',
    O_HEADLESS = 256,
    O_THREADS,
    O_JSON,
    O_JSON_FILE,
    O_CSV,
    O_CSV_FULL,
    O_HTML,
    O_PRINT_STATS,
    O_ONLY_SUMMARY,
    O_RESET_STATS,
    O_EXIT_CODE,
    O_STOP_TIMEOUT,
    O_REQUEST_TIMEOUT,
    O_MAX_BODY,
    O_HTTP2_PRIOR,
    O_TASK_RATIO,
    O_LOGFILE,
    O_CONFIG,
    O_AUTOSTART,
    /* The web UI. */
    O_WEB_PORT = 'P',
    O_WEB_HOST = 300,
    O_WEB_LOGIN,
    O_TLS_CERT,
    O_TLS_KEY,
    O_AUTOQUIT,
    /* Reports for people and CI, and Locust's later options. */
    O_REPORT_JSON,
    O_JUNIT,
    O_SUMMARY_MD,
    O_BASELINE,
    O_PROFILE,
    O_EQUAL_WEIGHTS,
    O_TASK_RATIO_JSON,
    /* The user classes from later Locust versions. */
    O_CONFIG_USERS,
    /* The open model. */
    O_ARRIVAL_RATE,
    O_ARRIVAL_BACKLOG,
    O_ARRIVAL_LATE,
    /* Distributed runs. */
    O_PROCESSES = 'w',
    O_MASTER = 400,
    O_WORKER,
    O_MASTER_HOST,
    O_MASTER_PORT,
    O_MASTER_BIND_HOST,
    O_MASTER_BIND_PORT,
    O_EXPECT_WORKERS,
    O_EXPECT_WAIT,
    O_MASTER_TIMEOUT,
};

static const struct option long_opts[] = {
    {"scenario", required_argument, NULL, O_SCENARIO},
    {"locustfile", required_argument, NULL, O_SCENARIO},
    {"host", required_argument, NULL, O_HOST},
    {"users", required_argument, NULL, O_USERS},
    {"spawn-rate", required_argument, NULL, O_RATE},
    {"run-time", required_argument, NULL, O_RUN_TIME},
    {"headless", no_argument, NULL, O_HEADLESS},
    {"autostart", no_argument, NULL, O_AUTOSTART},
    {"threads", required_argument, NULL, O_THREADS},
    {"json", no_argument, NULL, O_JSON},
    {"json-file", required_argument, NULL, O_JSON_FILE},
    {"csv", required_argument, NULL, O_CSV},
    {"csv-full-history", no_argument, NULL, O_CSV_FULL},
    {"html", required_argument, NULL, O_HTML},
    {"print-stats", no_argument, NULL, O_PRINT_STATS},
    {"only-summary", no_argument, NULL, O_ONLY_SUMMARY},
    {"reset-stats", no_argument, NULL, O_RESET_STATS},
    {"exit-code-on-error", required_argument, NULL, O_EXIT_CODE},
    {"stop-timeout", required_argument, NULL, O_STOP_TIMEOUT},
    {"request-timeout", required_argument, NULL, O_REQUEST_TIMEOUT},
    {"max-body", required_argument, NULL, O_MAX_BODY},
    {"http2-prior-knowledge", no_argument, NULL, O_HTTP2_PRIOR},
    {"tags", required_argument, NULL, O_TAGS},
    {"exclude-tags", required_argument, NULL, O_EXCLUDE},
    {"list", no_argument, NULL, O_LIST},
    {"show-task-ratio", no_argument, NULL, O_TASK_RATIO},
    {"loglevel", required_argument, NULL, O_LOGLEVEL},
    {"logfile", required_argument, NULL, O_LOGFILE},
    {"config", required_argument, NULL, O_CONFIG},
    {"version", no_argument, NULL, O_VERSION},
    {"help", no_argument, NULL, O_HELP},
    {"web-host", required_argument, NULL, O_WEB_HOST},
    {"web-port", required_argument, NULL, O_WEB_PORT},
    {"web-login", required_argument, NULL, O_WEB_LOGIN},
    {"web-auth", required_argument, NULL, O_WEB_LOGIN},
    {"tls-cert", required_argument, NULL, O_TLS_CERT},
    {"tls-key", required_argument, NULL, O_TLS_KEY},
    {"autoquit", required_argument, NULL, O_AUTOQUIT},
    {"report-json", required_argument, NULL, O_REPORT_JSON},
    {"junit", required_argument, NULL, O_JUNIT},
    {"summary-md", required_argument, NULL, O_SUMMARY_MD},
    {"baseline", required_argument, NULL, O_BASELINE},
    {"profile", required_argument, NULL, O_PROFILE},
    {"equal-weights", no_argument, NULL, O_EQUAL_WEIGHTS},
    {"show-task-ratio-json", no_argument, NULL, O_TASK_RATIO_JSON},
    {"config-users", required_argument, NULL, O_CONFIG_USERS},
    {"arrival-rate", required_argument, NULL, O_ARRIVAL_RATE},
    {"arrival-backlog", required_argument, NULL, O_ARRIVAL_BACKLOG},
    {"arrival-late", required_argument, NULL, O_ARRIVAL_LATE},
    {"master", no_argument, NULL, O_MASTER},
    {"worker", no_argument, NULL, O_WORKER},
    {"master-host", required_argument, NULL, O_MASTER_HOST},
    {"master-port", required_argument, NULL, O_MASTER_PORT},
    {"master-bind-host", required_argument, NULL, O_MASTER_BIND_HOST},
    {"master-bind-port", required_argument, NULL, O_MASTER_BIND_PORT},
    {"expect-workers", required_argument, NULL, O_EXPECT_WORKERS},
    {"expect-workers-max-wait", required_argument, NULL, O_EXPECT_WAIT},
    {"master-timeout", required_argument, NULL, O_MASTER_TIMEOUT},
    {"processes", required_argument, NULL, O_PROCESSES},
    {NULL, 0, NULL, 0},
};

/* Where a value came from, for messages: "-u/--users", "cicada.conf:3: users", ... */
typedef struct {
    char *err;
    size_t errlen;
    const char *where;
} origin_t;

static int bad(const origin_t *from, const char *val, const char *expected)
{
    snprintf(from->err, from->errlen, "invalid value '%s' for %s: expected %s", val, from->where,
             expected);
    return CCD_EINVAL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return CCD_EINVAL;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v > max)
        return CCD_EINVAL;
    *out = v;
    return 0;
}

static int parse_loglevel(const char *s)
{
    static const char *names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int set_uint(const origin_t *from, const char *v, unsigned long min, unsigned long max,
                    unsigned *out)
{
    unsigned long n;
    char expected[64];
    if (parse_uint(v, max, &n) || n < min) {
        snprintf(expected, sizeof(expected), "a whole number from %lu to %lu", min, max);
        return bad(from, v, expected);
    }
    *out = (unsigned)n;
    return 0;
}

static int set_duration(const origin_t *from, const char *v, double *out)
{
    return ccd_duration_parse(v, out) ? bad(from, v, "a duration such as 90, 90s, 5m, 1h30m") : 0;
}

static int set_timeout(const origin_t *from, const char *v, double *out)
{
    if (ccd_duration_parse(v, out) || !isfinite(*out))
        return bad(from, v, "a duration >= 0 such as 60, 0.5s, 1m30s (0: no timeout)");
    return 0;
}

/* A size in bytes: a whole number, optionally followed by k, M or G (powers of 1024), up to
 * 1 PiB. */
static int set_size(const origin_t *from, const char *v, int64_t *out)
{
    static const char units[] = "kKmMgG";
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    const char *unit = *end ? strchr(units, *end) : NULL;
    int shift = unit ? 10 * (1 + (int)(unit - units) / 2) : 0;
    bool ok = isdigit((unsigned char)v[0]) && errno == 0 && (!*end || (unit && !end[1])) &&
              n <= (1ULL << 50) >> shift;
    if (!ok)
        return bad(from, v, "a size in bytes such as 0, 65536, 64k, 10M, 1G");
    *out = (int64_t)(n << shift);
    return 0;
}

static int set_rate(const origin_t *from, const char *v, double *out)
{
    char *end;
    *out = strtod(v, &end);
    if (*end || end == v || !(*out > 0) || !isfinite(*out))
        return bad(from, v, "a number of users per second > 0");
    return 0;
}

/* Applies an option of the open model. */
static int apply_open(ccd_options_t *o, int id, const char *v, const origin_t *from)
{
    unsigned n;
    char *end;
    switch (id) {
    case O_ARRIVAL_RATE:
        o->arrival_rate = strtod(v, &end);
        if (*end || end == v || !(o->arrival_rate > 0) || !isfinite(o->arrival_rate))
            return bad(from, v, "a number of iterations per second > 0");
        return 0;
    case O_ARRIVAL_BACKLOG:
        if (set_uint(from, v, 0, 100000000, &n))
            return CCD_EINVAL;
        o->arrival_backlog = n;
        return 0;
    case O_ARRIVAL_LATE:
        if (set_timeout(from, v, &o->arrival_late) || o->arrival_late <= 0)
            return bad(from, v, "a duration > 0 such as 0.01, 0.05s");
        return 0;
    }
    return CCD_EINVAL;
}

/* Applies an option of the web UI. */
static int apply_web(ccd_options_t *o, int id, const char *v, const origin_t *from)
{
    unsigned n;
    switch (id) {
    case O_WEB_HOST: o->web_host = v; return 0;
    case O_WEB_PORT: return set_uint(from, v, 1, 65535, &o->web_port);
    case O_WEB_LOGIN:
        if (!strchr(v, ':') || strchr(strchr(v, ':') + 1, ':'))
            return bad(from, v, "user:pass");
        o->web_login = v;
        return 0;
    case O_TLS_CERT: o->tls_cert = v; return 0;
    case O_TLS_KEY: o->tls_key = v; return 0;
    case O_AUTOQUIT:
        if (set_uint(from, v, 0, 31536000, &n))
            return CCD_EINVAL;
        o->autoquit = n;
        return 0;
    }
    return CCD_EINVAL;
}

/* Applies an option of distributed runs. */
static int apply_dist(ccd_options_t *o, int id, const char *v, const origin_t *from)
{
    switch (id) {
    case O_MASTER_HOST: o->master_host = v; return 0;
    case O_MASTER_PORT: return set_uint(from, v, 1, 65535, &o->master_port);
    case O_MASTER_BIND_HOST: o->master_bind_host = v; return 0;
    case O_MASTER_BIND_PORT: return set_uint(from, v, 1, 65535, &o->master_bind_port);
    case O_EXPECT_WORKERS: return set_uint(from, v, 1, 100000, &o->expect_workers);
    case O_EXPECT_WAIT: return set_timeout(from, v, &o->expect_workers_max_wait);
    case O_MASTER_TIMEOUT:
        if (set_timeout(from, v, &o->master_timeout) || o->master_timeout <= 0)
            return bad(from, v, "a duration > 0 such as 60, 10s, 2m");
        return 0;
    case O_PROCESSES: return set_uint(from, v, 1, 1024, &o->processes);
    }
    return CCD_EINVAL;
}

/* The report options and Locust's later ones, kept together. */
static int apply_report_value(ccd_options_t *o, int id, const char *v)
{
    switch (id) {
    case O_REPORT_JSON: o->report_json = v; return 0;
    case O_JUNIT: o->junit = v; return 0;
    case O_SUMMARY_MD: o->summary_md = v; return 0;
    case O_BASELINE: o->baseline = v; return 0;
    case O_PROFILE: o->profile = v; return 0;
    case O_CONFIG_USERS: o->config_users = v; return 0;
    }
    return CCD_EINVAL;
}

static int apply_report_flag(ccd_options_t *o, int id, bool on)
{
    switch (id) {
    case O_EQUAL_WEIGHTS: o->equal_weights = on; return 0;
    case O_TASK_RATIO_JSON: o->show_task_ratio_json = on; return 0;
    }
    return CCD_EINVAL;
}

/* stdout holds one document: Locust's entries (--json) or the run's (--report-json -). */
static int check_reports(const ccd_options_t *o, char *err, size_t errlen)
{
    if (o->json && o->report_json && strcmp(o->report_json, "-") == 0) {
        snprintf(err, errlen,
                 "--json and --report-json - both write to stdout: give "
                 "--report-json a file name");
        return CCD_EINVAL;
    }
    return 0;
}

/* Applies an option that takes a value. */
static int apply_value(ccd_options_t *o, int id, const char *v, const origin_t *from)
{
    unsigned n;
    switch (id) {
    case O_SCENARIO: o->scenario = v; return 0;
    case O_HOST: o->host = v; return 0;
    case O_USERS: o->users_given = true; return set_uint(from, v, 0, 10000000, &o->users);
    case O_RATE: o->spawn_rate_given = true; return set_rate(from, v, &o->spawn_rate);
    case O_RUN_TIME: o->run_time_given = true; return set_duration(from, v, &o->run_time);
    case O_THREADS: return set_uint(from, v, 1, 1024, &o->threads);
    case O_JSON_FILE: o->json_file = v; return 0;
    case O_CSV: o->csv_prefix = v; return 0;
    case O_HTML: o->html = v; return 0;
    case O_EXIT_CODE:
        if (set_uint(from, v, 0, 255, &n))
            return CCD_EINVAL;
        o->exit_code_on_error = (int)n;
        return 0;
    case O_STOP_TIMEOUT: return set_duration(from, v, &o->stop_timeout);
    case O_REQUEST_TIMEOUT: return set_timeout(from, v, &o->request_timeout);
    case O_MAX_BODY: return set_size(from, v, &o->max_body);
    case O_TAGS: o->tags = v; return 0;
    case O_EXCLUDE: o->exclude_tags = v; return 0;
    case O_LOGLEVEL:
        if ((o->loglevel = parse_loglevel(v)) < 0)
            return bad(from, v, "one of DEBUG, INFO, WARNING, ERROR, CRITICAL");
        return 0;
    case O_LOGFILE: o->logfile = v; return 0;
    case O_CONFIG: return 0; /* read before everything else */
    }
    if (apply_web(o, id, v, from) == 0 || apply_dist(o, id, v, from) == 0 ||
        apply_open(o, id, v, from) == 0)
        return 0;
    return apply_report_value(o, id, v);
}

/* Applies a switch (on, or off when a configuration says false). */
static int apply_flag(ccd_options_t *o, int id, bool on)
{
    switch (id) {
    case O_HEADLESS: o->headless = on; return 0;
    case O_AUTOSTART: o->autostart = on; return 0;
    case O_JSON: o->json = on; return 0;
    case O_CSV_FULL: o->csv_full_history = on; return 0;
    case O_PRINT_STATS: o->print_stats = on; return 0;
    case O_ONLY_SUMMARY: o->only_summary = on; return 0;
    case O_HTTP2_PRIOR: o->http2_prior = on; return 0;
    case O_RESET_STATS: o->reset_stats = on; return 0;
    case O_LIST: o->list = on; return 0;
    case O_TASK_RATIO: o->show_task_ratio = on; return 0;
    case O_VERSION: o->show_version = on; return 0;
    case O_HELP: o->show_help = on; return 0;
    case O_MASTER: o->master = on; return 0;
    case O_WORKER: o->worker = on; return 0;
    }
    return apply_report_flag(o, id, on);
}

static int parse_bool(const char *v, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = false, 0;
    }
    return CCD_EINVAL;
}

/* Looks an option up by long name, with '-' or '_' between words. */
static const struct option *find_long(const char *name)
{
    char norm[64];
    size_t n = strlen(name);
    if (n >= sizeof(norm))
        return NULL;
    for (size_t i = 0; i <= n; i++)
        norm[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
    for (const struct option *opt = long_opts; opt->name; opt++)
        if (strcmp(opt->name, norm) == 0)
            return opt;
    return NULL;
}

/* The long option nearest to a misspelled name (dashes, no "--"), or NULL. */
static const char *nearest_option(const char *name)
{
    const char *names[sizeof(long_opts) / sizeof(long_opts[0])];
    size_t n = 0;
    for (const struct option *opt = long_opts; opt->name; opt++)
        names[n++] = opt->name;
    return ccd_suggest(name, names, n);
}

/* "; did you mean --users?" for a misspelled option name in the style of its source: "--"
 * for flags and configuration keys, "CICADA_" in capitals for the environment; "" when no
 * option is near. */
static const char *did_you_mean(const char *name, bool env, char *buf, size_t len)
{
    char norm[64];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof(norm); i++)
        norm[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
    norm[i] = '\0';
    const struct option *exact = find_long(norm);
    const char *near = exact ? exact->name : nearest_option(norm);
    if (!near)
        return "";
    char shown[64];
    for (i = 0; near[i] && i + 1 < sizeof(shown); i++)
        shown[i] = env ? (near[i] == '-' ? '_' : (char)toupper((unsigned char)near[i])) : near[i];
    shown[i] = '\0';
    snprintf(buf, len, "; did you mean %s%s?", env ? "CICADA_" : "--", shown);
    return buf;
}

/* Keeps a copy of a string from a source that does not outlive parsing. */
static const char *own(ccd_options_t *o, const char *s)
{
    char **v = ccd_array_grow(o->_owned, &o->_capowned, o->_nowned + 1, sizeof(*v), 8);
    if (!v)
        return NULL;
    o->_owned = v;
    return v[o->_nowned++] = strdup(s);
}

/* Applies "name = value" from the configuration file or the environment. */
static int apply_named(ccd_options_t *o, const char *name, const char *value, const origin_t *from,
                       bool ignore_unknown)
{
    char opt_name[80] = "--";
    for (size_t i = 0; name[i] && i + 3 < sizeof(opt_name); i++)
        opt_name[i + 2] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
    if (ccd_thresholds_is_option(opt_name)) {
        char why[512];
        int rc = ccd_thresholds_add(o->thresholds, opt_name, value, why, sizeof(why));
        if (rc)
            snprintf(from->err, from->errlen, "%s: %s", from->where, why);
        return rc;
    }
    const struct option *opt = find_long(name);
    char hint[96];
    if (!opt && ignore_unknown) {
        /* Other programs may own CICADA_ variables: only a near miss of an option is ours. */
        if (*did_you_mean(name, true, hint, sizeof(hint)))
            ccd_log(CCD_LOG_WARNING, "%s is not an option of cicada and is ignored%s", from->where,
                    hint);
        return 0;
    }
    if (!opt) {
        snprintf(from->err, from->errlen, "%s: unknown option '%s'%s", from->where, name,
                 did_you_mean(name, false, hint, sizeof(hint)));
        return CCD_EINVAL;
    }
    if (opt->has_arg == no_argument) {
        bool on;
        if (parse_bool(value, &on))
            return bad(from, value, "true or false");
        return apply_flag(o, opt->val, on);
    }
    const char *v = own(o, value);
    return v ? apply_value(o, opt->val, v, from) : CCD_ENOMEM;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    if (end - s >= 2 && (*s == '"' || *s == '\'') && end[-1] == *s) {
        end[-1] = '\0';
        s++;
    }
    return s;
}

/* Reads "key = value" lines ('#' and ';' start comments, [sections] are ignored). */
static int read_config(ccd_options_t *o, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read configuration file '%s': %s", path, strerror(errno));
        return CCD_EINVAL;
    }
    char line[4096], where[4200];
    int rc = 0;
    for (int no = 1; rc == 0 && fgets(line, sizeof(line), f); no++) {
        char *s = trim(line), *eq = strchr(s, '=');
        if (!*s || *s == '#' || *s == ';' || *s == '[')
            continue;
        snprintf(where, sizeof(where), "%s:%d", path, no);
        origin_t from = {err, errlen, where};
        if (!eq) {
            snprintf(err, errlen, "%s: expected 'option = value'", where);
            rc = CCD_EINVAL;
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        snprintf(where, sizeof(where), "%s:%d: %s", path, no, key);
        rc = apply_named(o, key, trim(eq + 1), &from, false);
    }
    fclose(f);
    return rc;
}

/* CICADA_USERS=10 is --users 10; unknown CICADA_ variables are not ours to judge. */
static int read_env(ccd_options_t *o, char **envp, char *err, size_t errlen)
{
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, "CICADA_", 7) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        char name[64], where[80];
        size_t n = eq ? (size_t)(eq - *e - 7) : 0;
        if (!eq || n == 0 || n >= sizeof(name))
            continue;
        memcpy(name, *e + 7, n);
        name[n] = '\0';
        snprintf(where, sizeof(where), "CICADA_%s", name);
        origin_t from = {err, errlen, where};
        if (strcmp(name, "CONFIG") != 0 && apply_named(o, name, eq + 1, &from, true))
            return CCD_EINVAL;
    }
    return 0;
}

/* The configuration file named by --config (or CICADA_CONFIG), else ./cicada.conf if any. */
static const char *config_path(int argc, char **argv, char **envp)
{
    const char *path = NULL;
    for (char **e = envp; e && *e; e++)
        if (strncmp(*e, "CICADA_CONFIG=", 14) == 0)
            path = *e + 14;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    if (!path && access("cicada.conf", F_OK) == 0)
        path = "cicada.conf";
    return path;
}

static void defaults(ccd_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->users = 1;
    o->spawn_rate = 1;
    o->exit_code_on_error = 1;
    o->loglevel = 1;
    o->request_timeout = CCD_DEFAULT_REQUEST_TIMEOUT;
    o->arrival_backlog = -1;
    o->arrival_late = CCD_DEFAULT_ARRIVAL_LATE;
    o->max_body = -1;
    o->web_host = "0.0.0.0";
    o->web_port = 8089;
    o->autoquit = -1;
    o->master_host = "127.0.0.1";
    o->master_port = 5557;
    o->master_bind_host = "*";
    o->master_bind_port = 5557;
    o->expect_workers = 1;
    o->expect_workers_max_wait = 60;
    o->master_timeout = 60;
}

/* getopt's own messages are off: every error is reported once, in our words. */
static int unknown(char **argv, char *err, size_t errlen)
{
    const char *arg = argv[optind - 1];
    char name[64], hint[96] = "";
    if (optopt && optopt < 256) {
        snprintf(err, errlen, "unknown option '-%c' (see --help)", optopt);
        return CCD_EINVAL;
    }
    if (strncmp(arg, "--", 2) == 0) {
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
        did_you_mean(name, false, hint, sizeof(hint));
    }
    snprintf(err, errlen, "unknown option '%s'%s (see --help)", arg, hint);
    return CCD_EINVAL;
}

/* Takes the --check-* options out of argv (getopt cannot know their open-ended names). */
static int take_thresholds(ccd_options_t *o, int *argc, char **argv, char *err, size_t errlen)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        char *a = argv[i], *eq = strchr(a, '=');
        char name[128];
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        if (strcmp(a, "--") == 0 || n >= sizeof(name) || strncmp(a, "--check-", 8) != 0) {
            argv[out++] = a;
            continue;
        }
        memcpy(name, a, n);
        name[n] = '\0';
        if (!ccd_thresholds_is_option(name)) {
            snprintf(err, errlen, "unknown option '%s' (see --help for the --check-* options)",
                     name);
            return CCD_EINVAL;
        }
        const char *value = eq ? eq + 1 : (i + 1 < *argc ? argv[++i] : NULL);
        if (!value) {
            snprintf(err, errlen, "option '%s' needs a value", name);
            return CCD_EINVAL;
        }
        if (ccd_thresholds_add(o->thresholds, name, value, err, errlen))
            return CCD_EINVAL;
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

static int parse_argv(ccd_options_t *o, int argc, char **argv, char *err, size_t errlen)
{
    /* 0, not 1: glibc then forgets a short-option cluster a previous parse stopped inside,
     * which would otherwise be read from that parse's argv, perhaps freed. */
    optind = 0;
    opterr = 0;
    int c, idx = -1;
    while ((c = getopt_long(argc, argv, ":f:H:u:r:t:T:E:L:P:w:lVh", long_opts, &idx)) != -1) {
        if (c == '?')
            return unknown(argv, err, errlen);
        if (c == ':') {
            snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
            return CCD_EINVAL;
        }
        char where[64];
        const struct option *opt = NULL;
        for (const struct option *p = long_opts; p->name && !opt; p++)
            if (p->val == c)
                opt = p;
        if (c < 256)
            snprintf(where, sizeof(where), "-%c/--%s", c, opt ? opt->name : "");
        else
            snprintf(where, sizeof(where), "--%s", opt ? opt->name : "");
        origin_t from = {err, errlen, where};
        int rc = opt && opt->has_arg == no_argument ? apply_flag(o, c, true)
                                                    : apply_value(o, c, optarg, &from);
        if (rc)
            return rc;
    }
    o->nclasses = argc - optind;
    o->classes = calloc((size_t)o->nclasses + 1, sizeof(*o->classes));
    if (!o->classes)
        return CCD_ENOMEM;
    for (int i = 0; i < o->nclasses; i++)
        o->classes[i] = argv[optind + i];
    return 0;
}

int ccd_cli_parse(int argc, char **argv, char **envp, ccd_options_t *o, char *err, size_t errlen)
{
    defaults(o);
    o->thresholds = ccd_thresholds_new();
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    if (!o->thresholds || !args) {
        free(args);
        return CCD_ENOMEM;
    }
    memcpy(args, argv, (size_t)argc * sizeof(*args));
    o->config = config_path(argc, argv, envp);
    int rc = o->config ? read_config(o, o->config, err, errlen) : 0;
    if (rc == 0)
        rc = read_env(o, envp, err, errlen);
    if (rc == 0)
        rc = take_thresholds(o, &argc, args, err, errlen);
    if (rc == 0)
        rc = parse_argv(o, argc, args, err, errlen);
    free(args);
    if (rc == 0 && !o->tls_cert != !o->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together: give both, or neither");
        rc = CCD_EINVAL;
    }
    if (o->worker)
        o->processes = 0; /* a worker process of --processes inherits its configuration */
    if (rc == 0 && o->master && (o->worker || o->processes > 0)) {
        snprintf(err, errlen,
                 "--master goes with neither --worker nor --processes (which "
                 "starts its own master)");
        rc = CCD_EINVAL;
    }
    if (rc == 0 && !o->scenario && !o->show_help && !o->show_version) {
        snprintf(err, errlen, "no scenario given: use -f FILE (see --help)");
        rc = CCD_EINVAL;
    }
    return rc ? rc : check_reports(o, err, errlen);
}

void ccd_cli_free(ccd_options_t *o)
{
    for (size_t i = 0; i < o->_nowned; i++)
        free(o->_owned[i]);
    free(o->_owned);
    free(o->classes);
    ccd_thresholds_free(o->thresholds);
    o->_owned = NULL;
    o->_capowned = 0;
    o->classes = NULL;
    o->thresholds = NULL;
}

void ccd_cli_usage(FILE *out)
{
    fputs("Usage: cicada -f SCENARIO.lua [options] [UserClass ...]\n"
          "       cicada compare BASE.json NEW.json [options]  (see cicada compare --help)\n"
          "\n"
          "Runs a load test whose users are written in Lua. Option names follow Locust's.\n"
          "\n"
          "Common options:\n"
          "  -f, --scenario FILE       the Lua scenario to run (also --locustfile); several\n"
          "                            files comma-separated, or a directory of *.lua files\n"
          "  -H, --host URL            host to load test (overrides the classes' host)\n"
          "  -u, --users N             peak number of concurrent users (default 1)\n"
          "  -r, --spawn-rate R        users started per second, in total (default 1)\n"
          "  -t, --run-time DURATION   stop after DURATION (90, 90s, 5m, 1h30m); default: until\n"
          "                            Ctrl-C\n"
          "  -l, --list                list the user classes and their tasks, then exit\n"
          "      --show-task-ratio     print each task's share of the load, then exit\n"
          "      --show-task-ratio-json  the same as Locust's JSON (per_class and total)\n"
          "      --equal-weights       every task of a class equally likely (groups dissolved)\n"
          "                            and every class weight 1, as Locust\n"
          "      --config-users JSON   per-class settings, as Locust: a JSON object or array of\n"
          "                            {\"user_class_name\", \"fixed_count\", \"weight\",\n"
          "                            \"tasks\": [names], \"host\"}, or a file holding it\n"
          "      --config FILE         read options from FILE (default: ./cicada.conf if present)\n"
          "  UserClass ...             run only these user classes\n"
          "\n"
          "Running:\n"
          "      --headless            run without the web UI, starting at once\n"
          "      --threads N           engine threads (default: one per usable CPU)\n"
          "      --stop-timeout S      let running tasks finish for up to S seconds at stop\n"
          "      --request-timeout S   a request unanswered after S seconds fails (default 60;\n"
          "                            0: no limit); a class's or a request's timeout wins\n"
          "      --arrival-rate R      the open model: start R iterations (one task each) per\n"
          "                            second in total, on free users of a pool of -u users\n"
          "      --arrival-backlog N   arrivals that may wait for a free user (default 100000;\n"
          "                            0: drop at once, as k6); more are dropped and counted\n"
          "      --arrival-late S      a start more than S behind its schedule is late\n"
          "                            (default 0.01s)\n"
          "      --max-body SIZE       keep at most SIZE bytes of each response body (64k, 10M;\n"
          "                            default: all): the rest is read, counted and dropped, and\n"
          "                            a compressed body inflating past it fails; a class's or a\n"
          "                            request's max_body wins\n"
          "      --http2-prior-knowledge  speak HTTP/2 from the first byte over http:// too\n"
          "                            (a server known to expect it); a class's or a\n"
          "                            request's http2 wins\n"
          "  -T, --tags TAG,...        run only the tasks with one of these tags\n"
          "  -E, --exclude-tags TAG,.. do not run the tasks with any of these tags\n"
          "\n"
          "Web UI (without --headless):\n"
          "      --web-host ADDR       address the web UI listens on (default 0.0.0.0)\n"
          "  -P, --web-port PORT       port of the web UI (default 8089)\n"
          "      --web-login USER:PASS protect the web UI with HTTP basic auth\n"
          "      --tls-cert FILE       serve the web UI over HTTPS with this certificate (PEM)\n"
          "      --tls-key FILE        and this private key (PEM)\n"
          "      --autostart           start the test at once, as headless, with the UI up\n"
          "      --autoquit N          quit N seconds after the test ended (default: keep\n"
          "                            serving until Ctrl-C)\n"
          "\n"
          "Distributed runs (Locust's protocol: cicada and Locust nodes mix):\n"
          "      --master              run no users: drive the workers that connect, merge\n"
          "                            their statistics\n"
          "      --master-bind-host A  address the master listens on (default *: all)\n"
          "      --master-bind-port P  port the master listens on (default 5557)\n"
          "      --expect-workers N    headless: start once N workers connected (default 1)\n"
          "      --expect-workers-max-wait S  give up waiting after S seconds (default 60;\n"
          "                            0: forever)\n"
          "      --worker              run the users a master asks for\n"
          "      --master-host HOST    the master to connect to (default 127.0.0.1)\n"
          "      --master-port PORT    its port (default 5557)\n"
          "      --master-timeout S    stop the users when the master is silent for S seconds\n"
          "                            (default 60)\n"
          "  -w, --processes N         a master and N worker processes on this machine, in one\n"
          "                            command\n"
          "\n"
          "Statistics and reports:\n"
          "      --print-stats         print the statistics table every 2 s (default headless)\n"
          "      --only-summary        print only the final statistics\n"
          "      --reset-stats         reset the statistics once every user is spawned\n"
          "      --csv PREFIX          write PREFIX_stats.csv, PREFIX_stats_history.csv,\n"
          "                            PREFIX_failures.csv and PREFIX_exceptions.csv\n"
          "      --csv-full-history    history rows for every entry, not only the total\n"
          "      --html FILE           write a self-contained HTML report ({u} {r} {t} expand)\n"
          "      --json                print the final statistics on stdout as Locust does (a\n"
          "                            JSON array of its serialised entries)\n"
          "      --json-file NAME      write the same to NAME.json, as Locust\n"
          "      --report-json FILE    write the whole run (statistics, errors, exceptions,\n"
          "                            history, thresholds) as one JSON document; - for stdout\n"
          "      --junit FILE          write the thresholds as JUnit XML (a breach is a failure)\n"
          "      --summary-md FILE     write a Markdown summary (for a CI job's summary page)\n"
          "      --baseline FILE       compare with this run document in --summary-md\n"
          "      --profile NAME        label the run with NAME in every report\n"
          "\n"
          "Thresholds (checked at the end; any breach exits with code 3):\n"
          "      --check-fail-ratio R          failures / requests at most R (0.01 or 1%)\n"
          "      --check-avg-response-time T   average response time at most T (200, 200ms, 1s)\n"
          "      --check-pNN T                 NN-th percentile at most T (--check-p95 200ms)\n"
          "      --check-rps N                 at least N requests per second\n"
          "      --check-service-pNN T         the same of the service times (open model: from\n"
          "                                    the actual send; --check-pNN: from the schedule)\n"
          "      --check-dropped N             at most N dropped iterations (open model;\n"
          "                                    NAME: a user class)\n"
          "                            each takes [NAME=]VALUE to check one request name\n"
          "\n"
          "Logging and exit:\n"
          "      --exit-code-on-error N  exit code when any request failed or a task raised\n"
          "                            (default 1)\n"
          "  -L, --loglevel LEVEL      DEBUG, INFO, WARNING, ERROR or CRITICAL (default INFO)\n"
          "      --logfile FILE        write log lines to FILE instead of stderr\n"
          "  -V, --version             print the version and exit\n"
          "  -h, --help                print this help and exit\n"
          "\n"
          "Every option can also be set in the configuration file (users = 100) or as an\n"
          "environment variable (CICADA_USERS=100); the command line wins over the environment,\n"
          "which wins over the file.\n"
          "\n"
          "Exit codes: 0 success; 1 (--exit-code-on-error) a request failed or a task raised;\n"
          "2 usage or configuration error; 3 a threshold was breached; 4 a report could not\n"
          "be written at the end of the run.\n"
          "\n"
          "Examples:\n"
          "  cicada -f examples/basic.lua -H http://127.0.0.1:8080 -u 100 -r 10 -t 1m --headless\n"
          "  cicada -f api.lua -u 500 -r 50 -t 5m --headless --csv out/run --html report.html \\\n"
          "         --check-fail-ratio 1% --check-p95 300ms\n",
          out);
}
