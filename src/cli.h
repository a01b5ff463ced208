/* Command-line options: their defaults, parsing and validation, and the usage text. */
#ifndef CCD_CLI_H
#define CCD_CLI_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
    const char *scenario; /* -f: the scenario file */
    const char *host;     /* -H: overrides every class's host; NULL when not given */
    unsigned users;       /* -u: peak number of users */
    double spawn_rate;    /* -r: users started per second, in total */
    double run_time;      /* -t: seconds; 0 = until interrupted */
    bool headless;
    unsigned threads; /* 0 = one per online CPU */
    bool json;
    int exit_code_on_error;
    double stop_timeout; /* seconds users get to finish their task when stopping */
    bool only_summary;
    int loglevel; /* 0 debug, 1 info, 2 warning, 3 error, 4 critical */
    bool show_help, show_version;
    const char **classes; /* positional user class names (pointers into argv) */
    int nclasses;
} ccd_options_t;

/* Parses argv into o (starting from the defaults). Returns 0, or CCD_EINVAL with a one-line
 * message in err that names the option, the value and what is expected. o->classes is
 * allocated; free it with ccd_cli_free. */
int ccd_cli_parse(int argc, char **argv, ccd_options_t *o, char *err, size_t errlen);
void ccd_cli_free(ccd_options_t *o);

/* Parses a duration: "90", "90s", "5m", "1h30m", "1h2m3s". Returns 0 or CCD_EINVAL. */
int ccd_cli_duration(const char *s, double *seconds);

/* Writes the --help text. */
void ccd_cli_usage(FILE *out);

#endif
