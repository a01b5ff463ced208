/* --processes: fork and exec of the local workers, and their end. */
#include "dist/processes.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"

void ccd_processes_start(ccd_processes_t *p, unsigned n, char *const *argv, unsigned port)
{
    size_t argc = 0;
    while (argv[argc])
        argc++;
    char portbuf[16];
    snprintf(portbuf, sizeof(portbuf), "%u", port);
    char **args = calloc(argc + 3, sizeof(*args));
    p->pids = calloc(n, sizeof(*p->pids));
    if (!args || !p->pids) {
        free(args);
        ccd_log(CCD_LOG_ERROR, "out of memory starting the worker processes");
        return;
    }
    memcpy(args, argv, argc * sizeof(*args));
    args[argc] = "--master-port";
    args[argc + 1] = portbuf;
    pid_t parent = getpid();
    fflush(NULL);
    for (unsigned i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent) /* the master died before the line above */
                _exit(1);
            signal(SIGINT, SIG_IGN);
            execv("/proc/self/exe", args);
            fprintf(stderr, "cicada: cannot start a worker process: %s\n", strerror(errno));
            _exit(127);
        }
        if (pid < 0) {
            ccd_log(CCD_LOG_ERROR, "cannot start worker process %u: %s", i + 1, strerror(errno));
            break;
        }
        p->pids[p->n++] = pid;
    }
    free(args);
    ccd_log(CCD_LOG_INFO, "Started %u worker processes", p->n);
}

void ccd_processes_reap(ccd_processes_t *p)
{
    unsigned left = p->n;
    for (int tries = 0; left > 0 && tries < 100; tries++) {
        for (unsigned i = 0; i < p->n; i++)
            if (p->pids[i] > 0 && waitpid(p->pids[i], NULL, WNOHANG) == p->pids[i]) {
                p->pids[i] = 0;
                left--;
            }
        if (left > 0)
            usleep(50000);
    }
    for (unsigned i = 0; i < p->n; i++)
        if (p->pids[i] > 0) {
            ccd_log(CCD_LOG_WARNING, "Worker process %d did not quit: ending it", (int)p->pids[i]);
            kill(p->pids[i], SIGKILL);
            waitpid(p->pids[i], NULL, 0);
        }
    free(p->pids);
    p->pids = NULL;
    p->n = 0;
}
