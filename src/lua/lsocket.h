/* The Lua binding of TCP (and TLS) sockets: `cicada.tcp()` objects for any protocol. */
#ifndef CCD_LSOCKET_H
#define CCD_LSOCKET_H

#include <lua.h>

#include "engine/engine.h"

/* Sets field `tcp` of the table on top of L's stack to the socket constructor bound to eng
 * (NULL: a loading-only state, in which creating a socket raises an error), and registers
 * the sockets' metatable in L. */
void ccd_lsocket_register(lua_State *L, ccd_engine_t *eng);

#endif
