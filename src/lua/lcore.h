/* The bindings: the table of core functions the cicada Lua library (cicada.lua) is built on —
 * requests, sleeps, sockets, exceptions, time, JSON, data, randomness. */
#ifndef CCD_LCORE_H
#define CCD_LCORE_H

#include <lua.h>
#include <stdbool.h>

#include "engine/engine.h"

/* What the bindings need besides the engine: the -T/-E tag lists, comma-separated (NULL:
 * none), --equal-weights and --config-users. */
typedef struct {
    const char *tags;
    const char *exclude_tags;
    bool equal_weights;
    const char *config_users; /* --config-users: JSON text or a file name (NULL: none) */
} ccd_lcore_config_t;

/* Pushes the table of core functions bound to eng (NULL: a loading-only state in which the
 * functions that need a running user raise an error saying so). ud is a
 * const ccd_lcore_config_t * (or NULL). Has the type ccd_bindings_fn. */
void ccd_lcore_open(lua_State *L, ccd_engine_t *eng, void *ud);

/* For the core functions' own files: the engine a core function is bound to (its first
 * upvalue; NULL in the loading-only state). */
ccd_engine_t *ccd_lcore_engine(lua_State *L);

#endif
