/* Output files written whole or not at all: readers of a report never see half of one. */
#ifndef CCD_OUTFILE_H
#define CCD_OUTFILE_H

#include <stdio.h>

/* Writes what fill(f, ud) writes into path.tmp.<pid>, then renames it over path (rename()
 * replaces atomically; no fsync: the point is what concurrent readers see, not surviving a
 * power cut). fill returns 0 or a negative code. Returns 0, CCD_ENOMEM or a negative errno;
 * on failure path is left as it was and the temporary file is removed. */
int ccd_outfile_write(const char *path, int (*fill)(FILE *f, const void *ud), const void *ud);

#endif
