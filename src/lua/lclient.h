/* The HTTP client as seen from Lua: building requests from Lua options, delivering responses
 * back to the waiting user's coroutine. */
#ifndef CCD_LCLIENT_H
#define CCD_LCLIENT_H

#include <lua.h>

struct ccd_engine;

/* Adds send, parse_headers and full_url, bound to eng, to the table on top of L's stack. */
void ccd_lclient_register(lua_State *L, struct ccd_engine *eng);

#endif
