/* Durations as people write them on the command line, in configuration files and scenarios. */
#ifndef CCD_DURATION_H
#define CCD_DURATION_H

/* Parses "90", "90s", "5m", "1h30m", "1h2m3s", "1.5s" (units in the order h, m, s) into
 * seconds. Returns 0 or CCD_EINVAL. */
int ccd_duration_parse(const char *s, double *seconds);

#endif
