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

/* Creates the fleet for options o (borrowed; must outlive it). Returns 0 or CCD_ENOMEM. */
int ccd_master_new(ccd_fleet_t **out, const ccd_options_t *o);

#endif
