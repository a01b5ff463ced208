/* The scenario as the main thread holds it: a Lua state of its own (it never runs users), the
 * user classes the command line selected, the thresholds it declares, the events fired on the
 * main thread, and the -l / --show-task-ratio listings. */
#ifndef CCD_SCENARIO_H
#define CCD_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "control/cli.h"
#include "control/dispatch.h"
#include "engine/script.h"
#include "lua/lcore.h"

typedef struct {
    ccd_script_t script;
    int *sel;    /* owned: the classes to run, as indices into script.classes */
    size_t nsel; /* at least 1 once opened */
    bool has_shape;
    ccd_lcore_sender_t _sender; /* where the state's cicada.send_message goes */
} ccd_scenario_t;

/* Loads o->scenario and selects the classes to run: those named on the command line, else
 * every class; classes left without tasks by -T/-E are skipped. Returns 0, or a negative code
 * with a one-line reason in err. Call ccd_scenario_close() in both cases. */
int ccd_scenario_open(ccd_scenario_t *s, const ccd_options_t *o, char *err, size_t errlen);
/* Frees what s holds; s may be zero-filled or partly opened. */
void ccd_scenario_close(ccd_scenario_t *s);

/* The name of the c-th selected class. */
const char *ccd_scenario_class_name(const ccd_scenario_t *s, size_t c);

/* Creates the dispatch plan of the selected classes over nengines engines (the caller frees it
 * with ccd_dispatch_free). Returns 0, or a negative code with a one-line reason in err. */
int ccd_scenario_plan(const ccd_scenario_t *s, unsigned nengines, ccd_dispatch_t **out, char *err,
                      size_t errlen);

/* Adds the thresholds the scenario declared with cicada.threshold() to t. Returns 0, or a
 * negative code with a one-line reason in err. */
int ccd_scenario_thresholds(ccd_scenario_t *s, ccd_thresholds_t *t, char *err, size_t errlen);

/* Calls the cicada library's function name with the nargs values on top of the stack, leaving
 * nresults values. A Lua error is logged with its traceback, never fatal: returns 0 or
 * CCD_ESCRIPT (the results are then missing). */
int ccd_scenario_call(ccd_scenario_t *s, const char *name, int nargs, int nresults);

/* Fires a library event (test_start, spawning_complete...) with an optional number argument. */
void ccd_scenario_fire(ccd_scenario_t *s, const char *event, const double *arg);

/* Where the cicada.send_message calls of this state go from now on (call it after
 * ccd_scenario_open(), which starts without any): fn(ud, type, json, to) on
 * this thread, with the data as JSON text and the node id it is for (NULL: every worker, or the
 * master), all borrowed for the call; fn returns 0 or a negative code (the scenario's call then
 * raises an error naming it). fn NULL: sending raises an error (the default). */
void ccd_scenario_on_send(ccd_scenario_t *s,
                          int (*fn)(void *ud, const char *type, const char *json, const char *to),
                          void *ud);

/* Runs the scenario's cicada.on_message handler of type with the data of the JSON text json,
 * from the node id from (NULL: nil). A handler's error is reported as the scenario's
 * exceptions are; a type without a handler is logged as a warning. Returns 0, or CCD_ESCRIPT
 * when the message could not be delivered (invalid JSON; logged). */
int ccd_scenario_deliver(ccd_scenario_t *s, const char *type, const char *json, const char *from);

/* With -l or --show-task-ratio, prints the classes or the task ratios to out and returns true;
 * returns false when neither was asked. */
bool ccd_scenario_list(ccd_scenario_t *s, const ccd_options_t *o, FILE *out);

#endif
