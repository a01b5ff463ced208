/* The Lua binding of WebSocket connections: `cicada.websocket(url, opts)` objects. */
#ifndef CCD_LWEBSOCKET_H
#define CCD_LWEBSOCKET_H

#include <lua.h>

#include "engine/engine.h"

/* Sets field `websocket` of the table on top of L's stack to the connection constructor bound
 * to eng (NULL: a loading-only state, in which connecting raises an error), and registers the
 * connections' metatable in L. */
void ccd_lwebsocket_register(lua_State *L, ccd_engine_t *eng);

#endif
