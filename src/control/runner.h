/* The runner: the main thread that starts the engines, spawns users over them, merges their
 * statistics, prints progress and the final report, and decides the exit code. */
#ifndef CCD_RUNNER_H
#define CCD_RUNNER_H

#include "control/cli.h"
#include "control/ui.h"

/* Runs a whole test as o describes. Returns the process exit code: 0 success,
 * o->exit_code_on_error when a request failed or a task raised, 2 for configuration errors
 * (with a one-line message already printed). */
int ccd_runner_run(const ccd_options_t *o);

/* The same with a user interface (NULL: none): without --autostart the runner waits in state
 * ready for the UI's first test, and after a test ends keeps running until a signal or
 * --autoquit. ui must stay valid until the call returns; its stop() has returned by then. */
int ccd_runner_run_ui(const ccd_options_t *o, ccd_ui_t *ui);

#endif
