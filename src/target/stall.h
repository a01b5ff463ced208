/* A stall of the whole server on request: for a while every reply is held, as a target that
 * freezes (a garbage collection, a lock, a failover) would hold them. */
#ifndef TGT_STALL_H
#define TGT_STALL_H

/* Schedules a stall of dur seconds starting after seconds from now (replacing any earlier
 * one); dur 0 cancels it. Callable from any serving thread. */
void tgt_stall_set(double after, double dur);

/* Seconds left of the stall in progress, 0 when none is: a reply made now is held that long. */
double tgt_stall_left(void);

#endif
