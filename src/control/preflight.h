/* Checks made before the first user starts, so that a test does not run for nothing. */
#ifndef CCD_PREFLIGHT_H
#define CCD_PREFLIGHT_H

#include <stddef.h>

#include "control/cli.h"

/* Checks that every output file o asks for (--html, --json-file, --report-json, --csv, --junit,
 * --summary-md) can be created: its directory exists, is a directory and is writable, and the
 * path is not a directory. Returns 0, or CCD_EINVAL with a message naming the option, the path
 * and what is wrong in err. Nothing is created. */
int ccd_preflight_outputs(const ccd_options_t *o, char *err, size_t errlen);

/* Raises the soft open-files limit to the hard one (as Locust does) and warns, before the test,
 * when users connections plus a margin for the engines, DNS, the web UI and the reports cannot
 * fit: the connections beyond it would fail as generator errors. */
void ccd_preflight_fd_limit(unsigned users, unsigned engines);

#endif
