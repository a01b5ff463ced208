/* Which class each user is, and which engine runs it: a deterministic sequence (fixed_count
 * classes first, then smooth weighted round-robin over the weights), users dealt to engines in
 * turn, and removed newest first. Pure bookkeeping: the runner turns its answers into
 * messages. */
#ifndef CCD_DISPATCH_H
#define CCD_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ccd_dispatch ccd_dispatch_t;

/* Creates a plan for nclasses classes with the given weights and fixed counts (fixed > 0:
 * exactly that many users of the class, dispatched before any weighted one; its weight is then
 * ignored) over nengines engines. Returns NULL when out of memory. */
ccd_dispatch_t *ccd_dispatch_new(size_t nclasses, const double *weights, const unsigned *fixed,
                                 unsigned nengines);
void ccd_dispatch_free(ccd_dispatch_t *d);

/* Restricts the classes of users added from now on (allowed[c]; NULL: every class). */
void ccd_dispatch_allow(ccd_dispatch_t *d, const bool *allowed);

/* Adds up to n users; for each, increments batch[engine * nclasses + class]. Returns how many
 * were added: fewer than n when no class may take more (every class fixed and full, or none
 * allowed), or when out of memory. */
unsigned ccd_dispatch_add(ccd_dispatch_t *d, unsigned n, long *batch);

/* Removes up to n users, the newest first; for each, increments batch[engine * nclasses +
 * class]. Returns how many were removed. */
unsigned ccd_dispatch_remove(ccd_dispatch_t *d, unsigned n, long *batch);

/* Users dispatched now, in total and of one class. */
unsigned ccd_dispatch_count(const ccd_dispatch_t *d);
unsigned ccd_dispatch_class_count(const ccd_dispatch_t *d, size_t c);

#endif
