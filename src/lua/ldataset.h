/* cicada.data as seen from Lua: CSV test data loaded once per process, shared by every user. */
#ifndef CCD_LDATASET_H
#define CCD_LDATASET_H

#include <lua.h>

/* Adds `data` (a table with csv(path [, opts])) to the table on top of L's stack. Relative
 * paths resolve against the scenario's directory, which the script stored in the registry
 * (CCD_SCRIPT_DIR_KEY; the current directory when it is absent). Each handle holds a reference
 * to the shared data set, given back when the handle is collected or the state closed. */
void ccd_ldataset_register(lua_State *L);

#endif
