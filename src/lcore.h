/* The engine's core functions as seen from Lua: requests, sleeps, exceptions, time, JSON. */
#ifndef CCD_LCORE_H
#define CCD_LCORE_H

#include <lua.h>

struct ccd_engine;

/* Pushes the table of core functions bound to eng (NULL: a loading-only state in which the
 * functions that need a running user raise an error saying so). */
void ccd_lcore_push(lua_State *L, struct ccd_engine *eng);

#endif
