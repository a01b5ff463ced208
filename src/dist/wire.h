/* Locust's master/worker messages on the wire: one ZeroMQ frame holding the msgpack array
 * [type, data, node_id] (Locust's rpc/protocol.py). Decoding and packing are pure functions of
 * bytes; nothing here does I/O. */
#ifndef CCD_WIRE_H
#define CCD_WIRE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* A decoded message. type and node_id point into the decoded tree, which the message owns. */
typedef struct {
    msgpack_unpacked _up;
    const char *type; /* never NULL after a successful decode; not NUL-terminated */
    size_t type_len;
    const msgpack_object *data; /* never NULL after a successful decode (may be NIL) */
    const char *node_id;        /* NULL when nil */
    size_t node_id_len;
} ccd_wire_msg_t;

/* Decodes one frame. Map keys of any type are accepted (response_times has integer keys, and
 * float keys in Locust 2.12). Returns 0, or CCD_EPROTO with a one-line reason in err (not
 * msgpack, truncated, trailing bytes, not an array of 3, type not a string, node id neither a
 * string nor nil). Free m with ccd_wire_msg_free() in both cases. */
int ccd_wire_decode(ccd_wire_msg_t *m, const void *buf, size_t len, char *err, size_t errlen);
void ccd_wire_msg_free(ccd_wire_msg_t *m);

/* True when the message's type is t. */
bool ccd_wire_is(const ccd_wire_msg_t *m, const char *t);

/* Packing a message into out (cleared first):
 *     ccd_wire_packer_t p;
 *     ccd_wire_begin(&p, &buf, "heartbeat");
 *     msgpack_pack_map(&p.pk, 3); ...   -- exactly one data object (msgpack_pack_nil for none)
 *     if (ccd_wire_end(&p, node_id)) -> out of memory
 * The packer writes into the ccd_buf_t, so a reused buffer allocates nothing once grown. */
typedef struct {
    msgpack_packer pk;
    ccd_buf_t *out;
    int failed; /* a write ran out of memory */
} ccd_wire_packer_t;

void ccd_wire_begin(ccd_wire_packer_t *p, ccd_buf_t *out, const char *type);
/* Packs the node id (NULL: nil) that ends the message. Returns 0 or CCD_ENOMEM. */
int ccd_wire_end(ccd_wire_packer_t *p, const char *node_id);

/* Packs a NUL-terminated string, or nil for NULL. */
void ccd_wire_pack_str(msgpack_packer *pk, const char *s);
/* Packs a string key (for maps). */
void ccd_wire_pack_key(msgpack_packer *pk, const char *key);

/* Writes a one-line reason into err (when not NULL) and returns CCD_EPROTO: the refusal of
 * every decoder of the wire. */
int ccd_wire_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reading decoded data. Each returns false / NULL when o is NULL or of another type. */
/* The value under a string key of a map; NULL when o is not a map or has no such key. */
const msgpack_object *ccd_wire_get(const msgpack_object *map, const char *key);
/* A string (not NUL-terminated). */
bool ccd_wire_str(const msgpack_object *o, const char **s, size_t *len);
/* A malloc'd NUL-terminated copy of a string; NULL when not a string or out of memory. */
char *ccd_wire_strdup(const msgpack_object *o);
/* A number: positive or negative integer, or float. */
bool ccd_wire_num(const msgpack_object *o, double *v);
/* A non-negative integer (a float with an integral value is accepted). */
bool ccd_wire_uint(const msgpack_object *o, uint64_t *v);
/* A map key as a number (integer, float, or a string holding a decimal number: JSON-encoded
 * keys). */
bool ccd_wire_key_num(const msgpack_object *k, double *v);

#endif
