/* A worker's users over its engine threads: the master sends an absolute number of users per
 * class, and each class's users are kept evenly spread, so that every engine carries about the
 * same load and the same mix. Pure bookkeeping: the worker turns the moves into messages. */
#ifndef CCD_SPREAD_H
#define CCD_SPREAD_H

#include <stddef.h>

/* have[e * nclasses + c] holds the users of class c on engine e (nengines >= 1). Brings class
 * c to target users: each user added goes to the engine with the fewest users of all classes
 * (ties: the lowest index), each user removed comes from the engine with the most users of
 * class c (ties: the highest index). have is updated, and moved[e] (nengines values, set, not
 * added to) gets the users to start (> 0) or stop (< 0) on engine e. Returns target minus the
 * users class c had. */
long ccd_spread_class(long *have, unsigned nengines, size_t nclasses, size_t c, long target,
                      long *moved);

/* The users of class c over every engine. */
long ccd_spread_class_total(const long *have, unsigned nengines, size_t nclasses, size_t c);

#endif
