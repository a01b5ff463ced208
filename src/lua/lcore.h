/* The bindings: the table of core functions the cicada Lua library (cicada.lua) is built on —
 * requests, sleeps, sockets, exceptions, time, JSON, data, randomness. */
#ifndef CCD_LCORE_H
#define CCD_LCORE_H

#include <lua.h>
#include <stdbool.h>

#include "engine/engine.h"

/* Where cicada.send_message goes from a state without an engine (the runner's): fn(ud, type,
 * json, to) runs on the state's thread with the message's type, its data as JSON text and the
 * node id it is for (NULL: every worker, or the master), all borrowed for the call. fn may be
 * set or changed after the state opened; while it is NULL a send raises an error. fn returns
 * 0, or a negative code that raises an error naming it. */
typedef struct {
    int (*fn)(void *ud, const char *type, const char *json, const char *to);
    void *ud;
} ccd_lcore_sender_t;

/* What the bindings need besides the engine: the -T/-E tag lists, comma-separated (NULL:
 * none), --equal-weights, --config-users, the open model's options, and the sender of a state
 * without an engine. */
typedef struct {
    const char *tags;
    const char *exclude_tags;
    bool equal_weights;
    const char *config_users;         /* --config-users: JSON text or a file name (NULL: none) */
    double arrival_rate;              /* --arrival-rate (0: none) */
    double arrival_backlog;           /* --arrival-backlog (< 0: not given) */
    const ccd_lcore_sender_t *sender; /* borrowed, must outlive the state (NULL: none) */
} ccd_lcore_config_t;

/* Pushes the table of core functions bound to eng (NULL: a loading-only state in which the
 * functions that need a running user raise an error saying so). ud is a
 * const ccd_lcore_config_t * (or NULL). Has the type ccd_bindings_fn. */
void ccd_lcore_open(lua_State *L, ccd_engine_t *eng, void *ud);

/* For the core functions' own files: the engine a core function is bound to (its first
 * upvalue; NULL in the loading-only state). */
ccd_engine_t *ccd_lcore_engine(lua_State *L);

#endif
