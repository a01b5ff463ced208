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

#endif
