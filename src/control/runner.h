/* The runner: the main thread that starts the engines, spawns users over them, merges their
 * statistics, prints progress and the final report, and decides the exit code. */
#ifndef CCD_RUNNER_H
#define CCD_RUNNER_H

#include "control/cli.h"
#include "control/fleet.h"
#include "control/ui.h"

/* Runs a whole test as o describes. Returns the process exit code: 0 success,
 * o->exit_code_on_error when a request failed or a task raised, 2 for configuration errors
 * (with a one-line message already printed). */
int ccd_runner_run(const ccd_options_t *o);

/* Installs handlers for SIGINT and SIGTERM that only remember the signal until the runner's
 * loop takes them over: a Ctrl-C while the scenario loads then ends the run cleanly (no user
 * starts, the reports are written) instead of killing the process. A second signal meanwhile
 * exits at once (130 or 143) after a message. Call first thing in main(). */
void ccd_runner_catch_signals(void);

/* The signal those handlers remembered (SIGINT or SIGTERM), 0 when none came: another loop
 * than the runner's (a worker's) handles it as if it came once that loop ran. */
int ccd_runner_early_signal(void);

/* The same with a user interface (NULL: none): without --autostart the runner waits in state
 * ready for the UI's first test, and after a test ends keeps running until a signal or
 * --autoquit. ui must stay valid until the call returns; its stop() has returned by then. */
int ccd_runner_run_ui(const ccd_options_t *o, ccd_ui_t *ui);

/* The same for a master: the users run on the fleet's workers (ui may be NULL: headless). A
 * headless master (or one with --autostart) starts the test once --expect-workers are
 * connected, and exits with 1 when they do not come within --expect-workers-max-wait. The
 * runner starts the fleet and closes it before returning, in every case. */
int ccd_runner_run_master(const ccd_options_t *o, ccd_ui_t *ui, ccd_fleet_t *fleet);

#endif
