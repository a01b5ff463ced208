/* The engine's core functions as seen from Lua: requests, sleeps, exceptions, time, JSON. */
#ifndef CCD_LCORE_H
#define CCD_LCORE_H

#include <lua.h>

struct ccd_engine;
struct ccd_user;

/* Pushes the table of core functions bound to eng (NULL: a loading-only state in which the
 * functions that need a running user raise an error saying so). tags and exclude_tags are the
 * -T/-E lists, comma-separated (NULL: none). */
void ccd_lcore_push(lua_State *L, struct ccd_engine *eng, const char *tags,
                    const char *exclude_tags);

/* For the core functions' own files: the engine a core function is bound to (its first
 * upvalue; NULL in the loading-only state), and the running user or a Lua error saying that
 * what was attempted needs one. */
struct ccd_engine *ccd_lcore_engine(lua_State *L);
struct ccd_user *ccd_lcore_user(lua_State *L, const char *what);

#endif
