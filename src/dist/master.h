/* A master's fleet (control/fleet.h) over Locust's protocol: a ROUTER on --master-bind-host:
 * --master-bind-port; workers (cicada's or Locust's) join with client_ready, are counted
 * missing after 3 s without a heartbeat (their users go to the others) and rejoin with the next
 * one; the users wanted are divided evenly and sent as absolute per-class targets (spawn); each
 * stats message is decoded into a delta for the runner. */
#ifndef CCD_MASTER_H
#define CCD_MASTER_H

#include <stddef.h>

#include "control/cli.h"
#include "control/fleet.h"

/* Creates the fleet for options o (borrowed; must outlive it). worker_argv (NULL-terminated,
 * borrowed until start) asks for local worker processes (--processes): o->processes copies
 * of worker_argv[0] are started once the master listens, each with worker_argv's arguments
 * followed by "--master-port PORT"; they die with the master (PR_SET_PDEATHSIG), are told to
 * quit at close and waited for. NULL: workers connect on their own. Returns 0 or
 * CCD_ENOMEM. */
int ccd_master_new(ccd_fleet_t **out, const ccd_options_t *o, char *const *worker_argv);

#endif
