/* The load shape: once a second the scenario's shape function says how many users to run, at
 * which rate, of which classes, or that the test is over. */
#ifndef CCD_SHAPE_H
#define CCD_SHAPE_H

#include <stdbool.h>

#include "control/scenario.h"

/* The shape's word for one second. */
typedef struct {
    bool finished;       /* the shape returned nothing: the test is over (no other field is set) */
    unsigned users;      /* the target user count */
    double rate;         /* users started or stopped per second; always > 0 (1 when not given) */
    bool *allowed;       /* owned (free() it): allowed[c] for each selected class c; NULL: every
                          * class (none named, or out of memory) */
    int stage, stages;   /* the stage in progress and how many there are; 0 when unstaged */
    double arrival_rate; /* the open model's iterations per second in total; < 0: not given */
} ccd_shape_step_t;

/* Asks the scenario's shape for the second run_time (seconds since the test started), into
 * *step. Returns 0, or CCD_ESCRIPT when the shape raised (logged with its traceback). */
int ccd_shape_tick(ccd_scenario_t *s, double run_time, ccd_shape_step_t *step);

#endif
