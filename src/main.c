/* cicada: parses the command line and hands the test to the runner. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/cli.h"
#include "base/log.h"
#include "control/compare.h"
#include "control/engines.h"
#include "control/runner.h"
#include "dist/master.h"
#include "dist/worker.h"
#include "web/web.h"

extern char **environ;

/* The arguments of each worker process of --processes: this command's own, without
 * --processes, as a worker of the local master (which adds --master-port), each with its
 * share of the CPUs unless --threads says. Returns a NULL-terminated malloc'd array of
 * borrowed and static strings, or NULL when out of memory. */
static char **worker_args(const ccd_options_t *o, int argc, char **argv, char *threads, size_t len)
{
    char **v = calloc((size_t)argc + 8, sizeof(*v));
    if (!v)
        return NULL;
    int n = 0;
    v[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--processes") == 0 || strcmp(a, "-w") == 0) {
            i++; /* and its value */
            continue;
        }
        if (strncmp(a, "--processes=", 12) == 0 || (strncmp(a, "-w", 2) == 0 && a[2]))
            continue;
        if (strcmp(a, "--") == 0)
            break;
        v[n++] = argv[i];
    }
    v[n++] = "--worker";
    v[n++] = "--master-host";
    v[n++] = "127.0.0.1";
    if (!o->threads) {
        unsigned cpus = ccd_engines_usable_cpus();
        snprintf(threads, len, "%u", cpus > o->processes ? cpus / o->processes : 1);
        v[n++] = "--threads";
        v[n++] = threads;
    }
    return v;
}

/* A master (--master, or --processes with its local workers), headless or with the UI. */
static int run_master(const ccd_options_t *o, int argc, char **argv)
{
    ccd_options_t mo = *o; /* shallow: the strings stay o's */
    char threads[32];
    char **wargv = NULL;
    if (o->processes) {
        if (!(wargv = worker_args(o, argc, argv, threads, sizeof(threads)))) {
            fprintf(stderr, "cicada: out of memory\n");
            return 2;
        }
        mo.master = true;
        mo.expect_workers = o->processes;
    }
    ccd_fleet_t *fleet;
    if (ccd_master_new(&fleet, &mo, wargv)) {
        free(wargv);
        fprintf(stderr, "cicada: out of memory\n");
        return 2;
    }
    ccd_web_t *web = NULL;
    char err[512];
    if (!mo.headless && ccd_web_new(&web, &mo, err, sizeof(err))) {
        fleet->close(fleet);
        free(wargv);
        fprintf(stderr, "cicada: %s\n", err);
        return 2;
    }
    int code = ccd_runner_run_master(&mo, web ? ccd_web_ui(web) : NULL, fleet);
    ccd_web_free(web);
    free(wargv);
    return code;
}

/* Headless, or with the web UI (not for the listings, which print and exit). */
static int run(const ccd_options_t *o, int argc, char **argv)
{
    if (o->list || o->show_task_ratio)
        return ccd_runner_run(o);
    if (o->worker)
        return ccd_worker_run(o);
    if (o->master || o->processes)
        return run_master(o, argc, argv);
    if (o->headless)
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
    int code = run(&o, argc, argv);
    ccd_cli_free(&o);
    return code;
}
