/* cicada: parses the command line and hands the test to the runner. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "control/cli.h"
#include "base/log.h"
#include "control/compare.h"
#include "control/runner.h"
#include "dist/worker.h"
#include "web/web.h"

extern char **environ;

/* A worker, headless, or with the web UI (not for the listings, which print and exit). */
static int run(const ccd_options_t *o)
{
    if (o->worker && !o->list && !o->show_task_ratio)
        return ccd_worker_run(o);
    if (o->headless || o->list || o->show_task_ratio)
        return ccd_runner_run(o);
    char err[512];
    ccd_web_t *web;
    if (ccd_web_new(&web, o, err, sizeof(err))) {
        fprintf(stderr, "cicada: %s\n", err);
        return 2;
    }
    int code = ccd_runner_run_ui(o, ccd_web_ui(web));
    ccd_web_free(web);
    return code;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "compare") == 0)
        return ccd_compare_command(argc - 1, argv + 1);
    ccd_runner_catch_signals();
    ccd_options_t o;
    char err[512];
    if (ccd_cli_parse(argc, argv, environ, &o, err, sizeof(err))) {
        fprintf(stderr, "cicada: %s\n", err);
        ccd_cli_free(&o);
        return 2;
    }
    if (o.show_help || o.show_version) {
        if (o.show_help)
            ccd_cli_usage(stdout);
        else
            printf("cicada %s\n", CICADA_VERSION);
        ccd_cli_free(&o);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Tables are printed line by line: buffer them into one write each (log lines and the end
     * of every table flush). */
    static char errbuf[1 << 16];
    setvbuf(stderr, errbuf, _IOFBF, sizeof(errbuf));
    ccd_log_set_level(o.loglevel);
    int code = run(&o);
    ccd_cli_free(&o);
    return code;
}
