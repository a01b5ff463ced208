/* The worker processes of --processes: copies of this program started as workers of a master
 * on this machine, ended with it. */
#ifndef CCD_PROCESSES_H
#define CCD_PROCESSES_H

#include <sys/types.h>

typedef struct {
    pid_t *pids; /* 0 once reaped */
    unsigned n;
} ccd_processes_t;

/* Starts n processes of /proc/self/exe with argv (NULL-terminated; argv[0] is their name)
 * followed by "--master-port PORT". Each dies with this process (PR_SET_PDEATHSIG, even when
 * this one is killed outright) and ignores SIGINT, which its master handles for it. Failures
 * are logged; p holds the processes that started. p must be zeroed first. */
void ccd_processes_start(ccd_processes_t *p, unsigned n, char *const *argv, unsigned port);

/* Waits up to about 5 s for the processes to exit (their master told them to quit), ends those
 * left with SIGKILL, reaps them all and empties p. */
void ccd_processes_reap(ccd_processes_t *p);

#endif
