/* JSON for Lua values: encoding tables into a buffer, decoding text into tables. */
#ifndef CCD_LJSON_H
#define CCD_LJSON_H

#include <lua.h>

#include "base/buf.h"

/* Appends the JSON text of the value at idx to out. A table with keys 1..n only is an array,
 * an empty table is an object, cicada.json.null encodes null. Returns 0, or CCD_EINVAL with a
 * message pushed on L's stack (cycles, functions, non-finite numbers, mixed keys). */
int ccd_ljson_encode(lua_State *L, int idx, ccd_buf_t *out);

/* Pushes the Lua value of the JSON text; returns 0, or CCD_EINVAL with a message pushed
 * ("line L, column C: reason"). JSON null becomes cicada.json.null (a light userdata NULL)
 * wherever it appears, so arrays keep their length and keys their presence. */
int ccd_ljson_decode(lua_State *L, const char *text, size_t len);

/* The same with a caller's buffer for unescaped strings (kept and reused across calls). */
int ccd_ljson_decode_into(lua_State *L, const char *text, size_t len, ccd_buf_t *buf);

/* Lua-facing functions: encode(value) -> string and decode(string) -> value; both raise a
 * Lua error on bad input. ccd_ljson_push_ldecode pushes decode, with the buffer it keeps. */
int ccd_ljson_lencode(lua_State *L);
void ccd_ljson_push_ldecode(lua_State *L);

#endif
