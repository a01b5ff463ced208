/* Command-line parsing with Locust's option names, so users' habits carry over. */
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

enum {
    OPT_HEADLESS = 256,
    OPT_THREADS,
    OPT_JSON,
    OPT_EXIT_CODE,
    OPT_STOP_TIMEOUT,
    OPT_ONLY_SUMMARY,
    OPT_VERSION,
};

static const struct option long_opts[] = {
    {"scenario", required_argument, NULL, 'f'},
    {"host", required_argument, NULL, 'H'},
    {"users", required_argument, NULL, 'u'},
    {"spawn-rate", required_argument, NULL, 'r'},
    {"run-time", required_argument, NULL, 't'},
    {"headless", no_argument, NULL, OPT_HEADLESS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"json", no_argument, NULL, OPT_JSON},
    {"exit-code-on-error", required_argument, NULL, OPT_EXIT_CODE},
    {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
    {"only-summary", no_argument, NULL, OPT_ONLY_SUMMARY},
    {"loglevel", required_argument, NULL, 'L'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int ccd_cli_duration(const char *s, double *seconds)
{
    double total = 0;
    const char *p = s;
    int last_unit = 4; /* units must come in the order h, m, s */
    if (!*p)
        return CCD_EINVAL;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return CCD_EINVAL;
        char *end;
        double v = strtod(p, &end);
        int unit = *end == 'h' ? 3 : *end == 'm' ? 2 : *end == 's' ? 1 : *end == 0 ? 0 : -1;
        if (unit < 0 || (unit == 0 && p != s) || (unit > 0 && unit >= last_unit))
            return CCD_EINVAL;
        total += v * (unit == 3 ? 3600 : unit == 2 ? 60 : 1);
        last_unit = unit;
        p = unit ? end + 1 : end;
    }
    *seconds = total;
    return 0;
}

static int bad(char *err, size_t errlen, const char *opt, const char *val, const char *expected)
{
    snprintf(err, errlen, "invalid value '%s' for %s: expected %s", val, opt, expected);
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

/* Applies one option; returns 0 or CCD_EINVAL with the message in err. */
static int apply(ccd_options_t *o, int c, const char *v, char *err, size_t errlen)
{
    unsigned long n;
    char *end;
    switch (c) {
    case 'f': o->scenario = v; return 0;
    case 'H': o->host = v; return 0;
    case 'u':
        return parse_uint(v, 10000000, &n) ? bad(err, errlen, "-u/--users", v, "a whole number")
                                           : (o->users = (unsigned)n, 0);
    case 'r':
        o->spawn_rate = strtod(v, &end);
        if (*end || end == v || !(o->spawn_rate > 0) || !isfinite(o->spawn_rate))
            return bad(err, errlen, "-r/--spawn-rate", v, "a number of users per second > 0");
        return 0;
    case 't':
        return ccd_cli_duration(v, &o->run_time)
                   ? bad(err, errlen, "-t/--run-time", v, "a duration such as 90, 90s, 5m, 1h30m")
                   : 0;
    case OPT_HEADLESS: o->headless = true; return 0;
    case OPT_THREADS:
        return parse_uint(v, 1024, &n) || n == 0
                   ? bad(err, errlen, "--threads", v, "a whole number from 1 to 1024")
                   : (o->threads = (unsigned)n, 0);
    case OPT_JSON: o->json = true; return 0;
    case OPT_EXIT_CODE:
        return parse_uint(v, 255, &n)
                   ? bad(err, errlen, "--exit-code-on-error", v, "a whole number from 0 to 255")
                   : (o->exit_code_on_error = (int)n, 0);
    case OPT_STOP_TIMEOUT:
        return ccd_cli_duration(v, &o->stop_timeout)
                   ? bad(err, errlen, "--stop-timeout", v, "a duration such as 10, 10s, 1m")
                   : 0;
    case OPT_ONLY_SUMMARY: o->only_summary = true; return 0;
    case 'L':
        return (o->loglevel = parse_loglevel(v)) < 0
                   ? bad(err, errlen, "-L/--loglevel", v,
                         "one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
                   : 0;
    case 'V': o->show_version = true; return 0;
    case 'h': o->show_help = true; return 0;
    }
    return CCD_EINVAL;
}

static void defaults(ccd_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->users = 1;
    o->spawn_rate = 1;
    o->exit_code_on_error = 1;
    o->loglevel = 1;
}

/* getopt's own messages are off: every error is reported once, in our words. */
static int unknown(char **argv, char *err, size_t errlen)
{
    const char *arg = argv[optind - 1];
    if (optopt && optopt < 256)
        snprintf(err, errlen, "unknown option '-%c' (see --help)", optopt);
    else
        snprintf(err, errlen, "unknown option '%s' (see --help)", arg);
    return CCD_EINVAL;
}

int ccd_cli_parse(int argc, char **argv, ccd_options_t *o, char *err, size_t errlen)
{
    defaults(o);
    optind = 1;
    opterr = 0;
    int c, idx;
    while ((c = getopt_long(argc, argv, ":f:H:u:r:t:L:Vh", long_opts, &idx)) != -1) {
        if (c == '?')
            return unknown(argv, err, errlen);
        if (c == ':') {
            snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
            return CCD_EINVAL;
        }
        if (apply(o, c, optarg, err, errlen))
            return CCD_EINVAL;
    }
    o->nclasses = argc - optind;
    o->classes = calloc((size_t)o->nclasses + 1, sizeof(*o->classes));
    if (!o->classes)
        return CCD_ENOMEM;
    for (int i = 0; i < o->nclasses; i++)
        o->classes[i] = argv[optind + i];
    if (!o->scenario && !o->show_help && !o->show_version) {
        snprintf(err, errlen, "no scenario given: use -f FILE (see --help)");
        return CCD_EINVAL;
    }
    return 0;
}

void ccd_cli_free(ccd_options_t *o)
{
    free(o->classes);
    o->classes = NULL;
}

void ccd_cli_usage(FILE *out)
{
    fputs("Usage: cicada -f SCENARIO.lua [options] [UserClass ...]\n"
          "\n"
          "Runs a load test whose users are written in Lua. Option names follow Locust's.\n"
          "\n"
          "Scenario and target:\n"
          "  -f, --scenario FILE       the Lua scenario to run\n"
          "  -H, --host URL            host to load test (overrides the classes' host)\n"
          "  UserClass ...             run only these user classes\n"
          "\n"
          "Load:\n"
          "  -u, --users N             peak number of concurrent users (default 1)\n"
          "  -r, --spawn-rate R        users started per second, in total (default 1)\n"
          "  -t, --run-time DURATION   stop after DURATION (90, 90s, 5m, 1h30m); default: until\n"
          "                            Ctrl-C\n"
          "      --stop-timeout S      let running tasks finish for up to S seconds at stop\n"
          "      --threads N           engine threads (default: one per online CPU)\n"
          "\n"
          "Running and output:\n"
          "      --headless            run without the web UI, starting at once\n"
          "      --only-summary        print only the final statistics\n"
          "      --json                print the final statistics as JSON on stdout\n"
          "      --exit-code-on-error N  exit code when any request failed or a task raised\n"
          "                            (default 1)\n"
          "  -L, --loglevel LEVEL      DEBUG, INFO, WARNING, ERROR or CRITICAL (default INFO)\n"
          "  -V, --version             print the version and exit\n"
          "  -h, --help                print this help and exit\n"
          "\n"
          "Exit codes: 0 success; 1 (--exit-code-on-error) a request failed or a task raised;\n"
          "2 usage or configuration error.\n"
          "\n"
          "Example:\n"
          "  cicada -f examples/basic.lua -H http://127.0.0.1:8080 -u 100 -r 10 -t 1m --headless\n",
          out);
}
