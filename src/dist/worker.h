/* A worker (--worker): connects to a master, cicada's or Locust's (2.x, 2.12 included), and
 * runs the users it is told to in every engine thread; reports statistics deltas every 3 s and
 * once more when its users stopped; sends a heartbeat with its CPU and memory every second;
 * gives up on a master silent for --master-timeout (its users stop, its last report is sent
 * if the master comes back); reconnects when the master says `reconnect`. */
#ifndef CCD_WORKER_H
#define CCD_WORKER_H

#include "control/cli.h"

/* Runs a worker until the master says quit, a signal, the scenario stops the test, or the
 * master is given up on. Returns the process exit code: 0; 1 when the master was given up on
 * (as Locust's worker, so that a supervisor restarts it); 2 (with a one-line message printed)
 * when the scenario cannot load or the master's address is wrong, or when the engines cannot
 * start at the master's first spawn (logged, and the master is told with `quit`). */
int ccd_worker_run(const ccd_options_t *o);

/* Writes a node id, "<hostname>_<32 hex digits>" as Locust's, into buf (at least 128 bytes). */
void ccd_worker_node_id(char *buf, size_t len);

#endif
