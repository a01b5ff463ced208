/* Remote producers of users and statistics: a master's workers. The runner drives a fleet as it
 * drives its engine threads (users wanted per class, stop) and hears back through its inbox,
 * without knowing the transport: dist/master.c implements it over Locust's protocol. Every
 * call is made on the runner's thread, and the fleet's watchers run on the runner's loop. */
#ifndef CCD_FLEET_H
#define CCD_FLEET_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "base/queue.h"

/* A worker as the master sees it (for the UI's workers table and the JSON). */
typedef struct {
    const char *id;    /* node id: <hostname>_<hex> */
    const char *state; /* Locust's names: "ready", "spawning", "running", "stopped", "missing" */
    unsigned users;    /* users it reported running */
    double cpu;        /* percent of one core, as it reported */
    uint64_t memory;   /* resident bytes, as it reported */
} ccd_fleet_worker_t;

/* Events a fleet posts to the runner's inbox (the runner owns what ptr points to):
 *   CCD_MSG_REPORT   ptr = ccd_stats_t delta (freed by the runner), a = users the workers run,
 *                    c = -1 (counted in the current statistics generation), from = 0
 *   CCD_MSG_SPAWNED  a = change of the users running over all workers (may be negative)
 *   CCD_MSG_DONE     after stop(): every worker stopped or went missing; ptr = NULL
 *   CCD_MSG_LOG      ptr = malloc'd text
 *   CCD_MSG_QUIT     the last worker went away while a test ran; ptr = malloc'd reason
 *   CCD_MSG_WORKERS  the set of workers changed; a = workers ready now (not missing)
 *   CCD_MSG_CUSTOM   a worker's custom message for the runner's scenario (engine/engine.h);
 *                    ptr = ccd_custom_msg_t whose node is the worker's node id */
#define CCD_MSG_WORKERS 65

typedef struct ccd_fleet ccd_fleet_t;
struct ccd_fleet {
    /* Starts listening on loop; events go to inbox from now on. Returns 0, or a negative
     * code with a one-line reason in err. */
    int (*start)(ccd_fleet_t *f, struct ev_loop *loop, ccd_queue_t *inbox, char *err,
                 size_t errlen);
    /* Workers connected and not missing. */
    unsigned (*ready)(const ccd_fleet_t *f);
    /* The users wanted now: counts[i] of class classes[i], in total over the workers (the
     * fleet divides them evenly, again whenever a worker comes or goes). host is the target
     * (NULL: each class's own); stop_timeout in seconds. The first call after start or after
     * a stop begins a test on the workers. */
    void (*target)(ccd_fleet_t *f, const char *const *classes, const unsigned *counts, size_t n,
                   const char *host, double stop_timeout);
    /* The open model: iterations per second of each class, rates[i] of classes[i] (n of them),
     * in total over the workers; the fleet divides them evenly among the live workers, again
     * whenever one comes or goes, with the run's --arrival-rate, --arrival-backlog and
     * --arrival-late, and sends each worker its part (a new spawn to every worker of the test
     * when they change). All borrowed for the call. May be NULL: the fleet carries no rates. */
    void (*rates)(ccd_fleet_t *f, const char *const *classes, const double *rates, size_t n);
    /* Stops every worker's users; CCD_MSG_DONE follows once each one has stopped and sent its
     * last statistics, or went missing. */
    void (*stop)(ccd_fleet_t *f);
    /* The workers now, valid until the next call into f. */
    size_t (*workers)(const ccd_fleet_t *f, const ccd_fleet_worker_t **out);
    /* Sends a custom message of the runner's scenario (cicada.send_message): type, its data as
     * JSON text, to the worker whose node id is to, or to every worker (to NULL); all borrowed
     * for the call. Returns 0, or a negative code that the scenario's call raises (invalid
     * data; a worker that is not connected is only logged, as Locust). May be NULL: the
     * scenario's sends then fail. */
    int (*send)(ccd_fleet_t *f, const char *type, const char *json, const char *to);
    /* Tells the workers the test is over (quit), closes the socket and frees f. */
    void (*close)(ccd_fleet_t *f);
};

#endif
