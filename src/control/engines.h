/* The local engine threads of a run, started, addressed and joined together. */
#ifndef CCD_ENGINES_H
#define CCD_ENGINES_H

#include <stddef.h>

#include "base/queue.h"
#include "control/cli.h"
#include "control/scenario.h"
#include "engine/engine.h"

/* Zero-filled before its first use; then started and joined any number of times. */
typedef struct {
    ccd_engine_t **v; /* owned */
    unsigned n;       /* engines running */
    /* Custom messages that came while no engine ran, for the next ones (oldest first). */
    ccd_custom_msg_t *_held, *_held_last;
    unsigned _nheld;
} ccd_engines_t;

/* Custom messages held for engines yet to start, at most; later ones are dropped (logged). */
#define CCD_ENGINES_HELD_MAX 1024

/* Starts n engines, each loading the scenario and running its classes against o->host (else
 * each class's own host), reporting to inbox. share is the part of the run's open-model
 * arrivals these engines run together (1, but in a worker of a master: its part of the
 * fleet's), each engine share / n of every class's backlog. Their threads start with SIGINT and
 * SIGTERM blocked, so that only the calling thread handles them. On failure the engines already
 * started are stopped and joined, err holds a one-line reason (never left empty) and a negative
 * code is returned; free es with ccd_engines_join() in both cases. */
int ccd_engines_start(ccd_engines_t *es, unsigned n, double share, const ccd_options_t *o,
                      const ccd_scenario_t *s, ccd_queue_t *inbox, char *err, size_t errlen);

/* Posts the message (type, a) to every engine. */
void ccd_engines_post_all(ccd_engines_t *es, int type, long a);

/* Delivers a custom message to the scenario's cicada.on_message handler in every engine's Lua
 * state (CCD_MSG_CUSTOM, a copy each): data as JSON text, from the sender's node id (NULL:
 * none). While no engine runs the message is held, and delivered to the engines of the next
 * ccd_engines_start() before anything else reaches them; when CCD_ENGINES_HELD_MAX are held
 * already it is dropped. Everything is copied. Returns 0, or CCD_ENOMEM (some engines may then
 * miss it). */
int ccd_engines_post_custom(ccd_engines_t *es, const char *type, const char *json,
                            const char *from);

/* The CPUs this process may run on (its affinity mask, as taskset or a container's cpuset set
 * it), else the online ones: one engine thread each by default, since two engines sharing a
 * core only add switches. */
unsigned ccd_engines_usable_cpus(void);

/* Waits for every engine's thread to end (after CCD_MSG_STOP) and frees them and es->v. Called
 * while no engine runs, it frees the messages held for the next ones (only while no engine runs
 * are messages held: a join, a hold, then a start delivers them). */
void ccd_engines_join(ccd_engines_t *es);

#endif
