/* Late answers: an answer to a request that was in flight when its user was stopped at once.
 * The engine awaits it within its grace and the binding counts it, but resumes nobody
 * (ccd_user_halted), so the script hears of it here: cicada.lua's function fires the request
 * event for it, as the user would have after its request returned. */
#ifndef CCD_LLATE_H
#define CCD_LLATE_H

#include <lua.h>

struct ccd_user;

/* Adds set_late(fn) to the table on top of L's stack: fn(protocol, ...) is the function
 * ccd_llate_fire() calls. */
void ccd_llate_register(lua_State *L);

/* Passes the nargs values on top of u's coroutine (popped; the first names the protocol, the
 * others are the protocol's) to the function given to set_late, if any. It runs in a thread of
 * its own, u's coroutine staying suspended; its errors are counted as exceptions. */
void ccd_llate_fire(struct ccd_user *u, int nargs);

#endif
