/* Options: their defaults, the configuration file, CICADA_* environment variables and the
 * command line (in that order of precedence, lowest first), validation, and the usage text. */
#ifndef CCD_CLI_H
#define CCD_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report/threshold.h"

/* Seconds a request may take when neither --request-timeout, its class nor itself says (as
 * k6's default). */
#define CCD_DEFAULT_REQUEST_TIMEOUT 60.0

/* Seconds behind the schedule past which an iteration's start counts as late. */
#define CCD_DEFAULT_ARRIVAL_LATE 0.01

typedef struct {
    const char *scenario; /* -f: the scenario file */
    const char *host;     /* -H: overrides every class's host; NULL when not given */
    unsigned users;       /* -u: peak number of users */
    double spawn_rate;    /* -r: users started (or stopped) per second, in total */
    double run_time;      /* -t: seconds; 0 = until interrupted */
    bool users_given, spawn_rate_given, run_time_given;
    bool headless;
    unsigned threads;       /* 0 = one per online CPU */
    bool json;              /* --json: Locust's serialised entries on stdout */
    const char *json_file;  /* --json-file: the same written to json_file + ".json", as Locust */
    const char *csv_prefix; /* --csv */
    bool csv_full_history;
    const char *html; /* --html: file name, may hold {u} {r} {t} */
    bool print_stats, only_summary, reset_stats;
    bool http2_prior; /* --http2-prior-knowledge: HTTP/2 in the clear for classes without an
                       * http2 of their own */
    int exit_code_on_error;
    double stop_timeout;      /* seconds users get to finish their task when stopping */
    double request_timeout;   /* seconds before an unanswered request fails; 0: never */
    int64_t max_body;         /* --max-body: bytes kept of a response body, below a class's and a
                               * request's own max_body; -1: all */
    const char *tags;         /* -T: comma-separated, or NULL */
    const char *exclude_tags; /* -E */
    bool list, show_task_ratio;
    int loglevel; /* 0 debug, 1 info, 2 warning, 3 error, 4 critical */
    const char *logfile;
    const char *config; /* the configuration file read, or NULL */
    bool show_help, show_version;
    const char **classes; /* positional user class names */
    int nclasses;
    ccd_thresholds_t *thresholds; /* --check-* */
    /* The web UI (without --headless). */
    const char *web_host;  /* --web-host: the address it listens on (default "0.0.0.0") */
    unsigned web_port;     /* -P/--web-port (default 8089) */
    const char *web_login; /* --web-login user:pass: HTTP basic auth, or NULL */
    const char *tls_cert;  /* --tls-cert, --tls-key: HTTPS with this PEM pair */
    const char *tls_key;
    bool autostart;  /* --autostart: start the test at once, as headless, with the UI up */
    double autoquit; /* --autoquit N: quit N s after the test ended; -1: keep serving */
    /* Reports for people and CI, and Locust's later options. */
    const char *report_json; /* --report-json: the run document to this file, "-" for stdout */
    const char *junit;       /* --junit: JUnit XML of the thresholds */
    const char *summary_md;  /* --summary-md: a Markdown summary */
    const char *baseline;    /* --baseline: a run document compared with in the summary */
    const char *profile;     /* --profile: a label of the run shown in every report */
    bool equal_weights;      /* --equal-weights: every task of a class equally likely */
    bool show_task_ratio_json;
    const char *config_users; /* --config-users: JSON text (starts with [ or {) or a file */
    /* The open model. */
    double arrival_rate;  /* --arrival-rate: iterations started per second in total; 0: none */
    long arrival_backlog; /* --arrival-backlog: arrivals that may wait for a free user, in
                           * total (0: dropped at once, as k6); -1: not given */
    double arrival_late;  /* --arrival-late: seconds behind its schedule a start counts as
                           * late (default CCD_DEFAULT_ARRIVAL_LATE) */
    /* Distributed runs (Locust's option names and defaults). */
    bool master;                    /* --master: run no users, drive workers */
    bool worker;                    /* --worker: run the users a master asks for */
    const char *master_host;        /* --master-host (default 127.0.0.1) */
    unsigned master_port;           /* --master-port (default 5557) */
    const char *master_bind_host;   /* --master-bind-host (default "*": every address) */
    unsigned master_bind_port;      /* --master-bind-port (default 5557) */
    unsigned expect_workers;        /* --expect-workers: headless start waits for N (default 1) */
    double expect_workers_max_wait; /* seconds; 0: wait forever (default 60) */
    double master_timeout;          /* --master-timeout: a worker gives up on a master silent
                                     * for this long, seconds (default 60) */
    unsigned processes;             /* --processes/-w N: a local master and N worker processes;
                                     * 0: not asked */
    char **_owned;                  /* strings copied from the configuration file and environment */
    size_t _nowned, _capowned;
} ccd_options_t;

/* Fills o from the defaults, the configuration file (--config FILE, else ./cicada.conf when
 * it exists), CICADA_<OPTION> environment variables from envp, then argv. Returns 0, or
 * CCD_EINVAL with a one-line message in err naming where (file:line, variable or option),
 * the value and what is expected. Free o with ccd_cli_free in both cases. */
int ccd_cli_parse(int argc, char **argv, char **envp, ccd_options_t *o, char *err, size_t errlen);
void ccd_cli_free(ccd_options_t *o);

/* Writes the --help text. */
void ccd_cli_usage(FILE *out);

#endif
