/* The HTTP client as seen from Lua: building requests from Lua options, delivering responses
 * back to the waiting user's coroutine. */
#ifndef CCD_LCLIENT_H
#define CCD_LCLIENT_H

#include <lua.h>

#include "engine/engine.h"

/* Adds send, parse_headers, full_url, resolve_url, cookies and clear_cookies, bound to eng
 * (NULL: a loading-only state), to the table on top of L's stack. Takes one of eng's per-user
 * slots for each user's session and cookie jar. */
void ccd_lclient_register(lua_State *L, ccd_engine_t *eng);

#endif
