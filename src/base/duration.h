/* Durations as people write them on the command line, in configuration files and scenarios. */
#ifndef CCD_DURATION_H
#define CCD_DURATION_H

#include <stddef.h>

/* Parses "90", "90s", "5m", "1h30m", "1h2m3s", "1.5s" (units in the order h, m, s) into
 * seconds. Returns 0 or CCD_EINVAL. */
int ccd_duration_parse(const char *s, double *seconds);

/* Writes seconds for messages into buf and returns buf: "5.0s", "0.3s", but "0.001s" rather
 * than "0.0s". */
const char *ccd_duration_format(double seconds, char *buf, size_t size);

#endif
