/* Custom messages on the wire (Locust's runner.send_message): their data between the JSON text
 * that cicada's scenario states exchange and the msgpack object inside a [type, data, node_id]
 * frame. Pure functions; nothing here does I/O. */
#ifndef CCD_CUSTOM_H
#define CCD_CUSTOM_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "dist/wire.h"
#include "engine/engine.h"

/* Whether a received message of this type is a custom one (for the scenario's handlers): false
 * for the types of Locust's own protocol, which cicada.send_message refuses too. */
bool ccd_custom_type_ok(const char *type, size_t len);

/* Packs the data object of a custom message from its JSON text (any JSON value; "null" packs
 * nil): objects become maps with string keys, arrays arrays, integers integers, other numbers
 * 64-bit floats. Returns 0; CCD_EINVAL for text that is not JSON or nests deeper than
 * CCD_CUSTOM_MAX_DEPTH (nothing is packed then); CCD_ENOMEM. */
int ccd_custom_pack(msgpack_packer *pk, const char *json);

/* The JSON text of a decoded data object, malloc'd (the caller frees it); NULL when it cannot
 * be JSON or out of memory, with a one-line reason in err when err is not NULL. Map keys that
 * are not strings become their text: integers in decimal, floats as Python writes them (150.0),
 * true, false and null; array, map, binary and extension keys are refused. Binary values
 * become base64 strings (RFC 4648, padded); extension values (msgpack timestamps included),
 * infinite and NaN floats, strings that are not UTF-8 and nesting deeper than
 * CCD_CUSTOM_MAX_DEPTH are refused. */
char *ccd_custom_to_json(const msgpack_object *o, char *err, size_t errlen);

/* Packs a whole custom message frame [type, data from json, node_id] into out (cleared
 * first; node_id NULL: nil). Returns 0, CCD_EINVAL (see ccd_custom_pack) or CCD_ENOMEM. */
int ccd_custom_frame(ccd_buf_t *out, const char *type, const char *json, const char *node_id);

/* A decoded frame of a type that is not the protocol's as a custom message for the scenario:
 * its type, its data as JSON text and its node id (the sender, or NULL). Returns a new message
 * (free it with ccd_custom_msg_free()), or NULL with a one-line reason in err. */
ccd_custom_msg_t *ccd_custom_from_wire(const ccd_wire_msg_t *m, char *err, size_t errlen);

#endif
