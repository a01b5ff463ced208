/* The local engine threads of a run, started, addressed and joined together. */
#ifndef CCD_ENGINES_H
#define CCD_ENGINES_H

#include <stddef.h>

#include "base/queue.h"
#include "control/cli.h"
#include "control/scenario.h"
#include "engine/engine.h"

typedef struct {
    ccd_engine_t **v; /* owned */
    unsigned n;       /* engines running */
} ccd_engines_t;

/* Starts n engines, each loading the scenario and running its classes against o->host (else
 * each class's own host), reporting to inbox. Their threads start with SIGINT and SIGTERM
 * blocked, so that only the calling thread handles them. On failure the engines already
 * started are stopped and joined, err holds a one-line reason (never left empty) and a negative
 * code is returned; free es with ccd_engines_join() in both cases. */
int ccd_engines_start(ccd_engines_t *es, unsigned n, const ccd_options_t *o,
                      const ccd_scenario_t *s, ccd_queue_t *inbox, char *err, size_t errlen);

/* Posts the message (type, a) to every engine. */
void ccd_engines_post_all(ccd_engines_t *es, int type, long a);

/* Waits for every engine's thread to end (after CCD_MSG_STOP) and frees them and es->v. */
void ccd_engines_join(ccd_engines_t *es);

#endif
