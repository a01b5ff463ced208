/* The HTTP client as seen from Lua: building requests from Lua options, delivering responses
 * back to the waiting user's coroutine. */
#ifndef CCD_LCLIENT_H
#define CCD_LCLIENT_H

#include <lua.h>
#include <stdbool.h>

#include "engine/engine.h"

/* Adds send, parse_headers, full_url, resolve_url, cookies and clear_cookies, bound to eng
 * (NULL: a loading-only state), to the table on top of L's stack. Takes one of eng's per-user
 * slots for each user's session and cookie jar. */
void ccd_lclient_register(lua_State *L, ccd_engine_t *eng);

struct ccd_cookie_jar;
struct ccd_user;

/* The cookie jar of u's user, the one its HTTP requests send and fill, for the other ways a
 * user talks HTTP (WebSocket's upgrade). NULL when the user has none yet and create is false,
 * outside an engine, or out of memory; never raises. The jar belongs to the user's HTTP state
 * and is freed with the user. */
struct ccd_cookie_jar *ccd_lclient_jar(lua_State *L, struct ccd_user *u, bool create);

#endif
