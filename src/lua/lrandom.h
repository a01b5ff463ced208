/* Random numbers for scenarios: a fast generator per Lua state and cicada.random. */
#ifndef CCD_LRANDOM_H
#define CCD_LRANDOM_H

#include <lua.h>
#include <stdint.h>

/* Pushes a new generator (a userdata, collected with its last reference) seeded from the
 * state's math.random, so that it follows the seed the state was opened with. */
void ccd_lrandom_new(lua_State *L);

/* The next uniform 64-bit value of the generator at index idx. */
uint64_t ccd_lrandom_next(lua_State *L, int idx);

/* Adds `random` to the table on top of L's stack: int(a, b), choice(list) and
 * string(n [, alphabet]), drawing from a generator of their own. */
void ccd_lrandom_register(lua_State *L);

#endif
