/* Custom messages' data between JSON text (jansson) and msgpack (msgpack-c). */
#include "dist/custom.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/error.h"

/* The same list as cicada.lua's (PROTOCOL_TYPES). */
static const char *const protocol_types[] = {
    "client_ready",      "ack",       "heartbeat",  "spawn",          "spawning",
    "spawning_complete", "stats",     "stop",       "client_stopped", "quit",
    "reconnect",         "exception", "locustfile", "logs",           "update_user_class"};

bool ccd_custom_type_ok(const char *type, size_t len)
{
    for (size_t i = 0; i < sizeof(protocol_types) / sizeof(protocol_types[0]); i++)
        if (strlen(protocol_types[i]) == len && memcmp(protocol_types[i], type, len) == 0)
            return false;
    return len > 0;
}

/* ---- JSON to msgpack ------------------------------------------------------------------------ */

/* The deepest nesting of arrays and objects under v (0 for a scalar), stopping once past
 * limit: the packer below then never recurses past it. */
static int depth_of(const json_t *v, int limit)
{
    int deepest = 0;
    const char *k;
    size_t i;
    json_t *c;
    if (!json_is_array(v) && !json_is_object(v))
        return 0;
    if (json_is_array(v)) {
        json_array_foreach(v, i, c)
        {
            int d = limit > 0 ? depth_of(c, limit - 1) : 0;
            deepest = d > deepest ? d : deepest;
        }
    } else {
        json_object_foreach((json_t *)v, k, c)
        {
            int d = limit > 0 ? depth_of(c, limit - 1) : 0;
            deepest = d > deepest ? d : deepest;
        }
    }
    return deepest + 1;
}

static void pack_value(msgpack_packer *pk, const json_t *v)
{
    const char *k;
    size_t kl, i;
    json_t *c;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        msgpack_pack_map(pk, json_object_size(v));
        json_object_keylen_foreach((json_t *)v, k, kl, c)
        {
            msgpack_pack_str(pk, kl);
            msgpack_pack_str_body(pk, k, kl);
            pack_value(pk, c);
        }
        break;
    case JSON_ARRAY:
        msgpack_pack_array(pk, json_array_size(v));
        json_array_foreach(v, i, c) pack_value(pk, c);
        break;
    case JSON_STRING:
        msgpack_pack_str(pk, json_string_length(v));
        msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(v)); break;
    case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); break;
    case JSON_TRUE: msgpack_pack_true(pk); break;
    case JSON_FALSE: msgpack_pack_false(pk); break;
    case JSON_NULL: msgpack_pack_nil(pk); break;
    }
}

int ccd_custom_pack(msgpack_packer *pk, const char *json)
{
    json_error_t jerr;
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return json_error_code(&jerr) == json_error_out_of_memory ? CCD_ENOMEM : CCD_EINVAL;
    int rc = depth_of(v, CCD_CUSTOM_MAX_DEPTH) > CCD_CUSTOM_MAX_DEPTH ? CCD_EINVAL : 0;
    if (rc == 0)
        pack_value(pk, v);
    json_decref(v);
    return rc;
}

int ccd_custom_frame(ccd_buf_t *out, const char *type, const char *json, const char *node_id)
{
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, out, type);
    int rc = ccd_custom_pack(&p.pk, json);
    if (rc == 0)
        rc = ccd_wire_end(&p, node_id);
    if (rc)
        out->len = 0;
    return rc;
}

/* ---- msgpack to JSON ------------------------------------------------------------------------ */

static json_t *refuse(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static json_t *refuse(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* A float as Python's repr writes the common cases: integral values keep a ".0". */
static void float_text(double d, char *buf, size_t len)
{
    if (d == floor(d) && fabs(d) < 1e16)
        snprintf(buf, len, "%.1f", d);
    else
        snprintf(buf, len, "%.17g", d);
}

/* A non-string map key as text (buf holds at least 32 bytes); NULL for keys that have none. */
static const char *key_text(const msgpack_object *k, char *buf, size_t len, size_t *n)
{
    switch (k->type) {
    case MSGPACK_OBJECT_STR: *n = k->via.str.size; return k->via.str.size ? k->via.str.ptr : "";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: snprintf(buf, len, "%" PRIu64, k->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: snprintf(buf, len, "%" PRId64, k->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(k->via.f64))
            return NULL;
        float_text(k->via.f64, buf, len);
        break;
    case MSGPACK_OBJECT_BOOLEAN: snprintf(buf, len, "%s", k->via.boolean ? "true" : "false"); break;
    case MSGPACK_OBJECT_NIL: snprintf(buf, len, "null"); break;
    default: return NULL;
    }
    *n = strlen(buf);
    return buf;
}

static json_t *to_json(const msgpack_object *o, int depth, char *err, size_t errlen);

static json_t *map_to_json(const msgpack_object *o, int depth, char *err, size_t errlen)
{
    json_t *obj = json_object();
    char buf[64];
    size_t n;
    for (uint32_t i = 0; obj && i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        const char *k = key_text(&kv->key, buf, sizeof(buf), &n);
        /* jansson reads no NUL in a key: what converts must pack again. */
        bool nul = k && memchr(k, '\0', n);
        json_t *v = k && !nul ? to_json(&kv->val, depth + 1, err, errlen) : NULL;
        if (!k || nul)
            refuse(err, errlen, "%s",
                   nul ? "a map key holding a NUL byte"
                       : "a map key of a type JSON has no text for");
        if (!v || json_object_setn_new(obj, k, n, v)) {
            json_decref(obj);
            return v ? refuse(err, errlen, "a map key is not UTF-8") : NULL;
        }
    }
    return obj ? obj : refuse(err, errlen, "out of memory");
}

static json_t *array_to_json(const msgpack_object *o, int depth, char *err, size_t errlen)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < o->via.array.size; i++) {
        json_t *v = to_json(&o->via.array.ptr[i], depth + 1, err, errlen);
        if (!v || json_array_append_new(arr, v)) {
            json_decref(arr);
            return v ? refuse(err, errlen, "out of memory") : NULL;
        }
    }
    return arr ? arr : refuse(err, errlen, "out of memory");
}

static json_t *bin_to_json(const msgpack_object *o, char *err, size_t errlen)
{
    size_t n = ccd_base64_len(o->via.bin.size);
    char *b = malloc(n ? n : 1);
    if (!b)
        return refuse(err, errlen, "out of memory");
    ccd_base64_encode((const unsigned char *)o->via.bin.ptr, o->via.bin.size, b);
    json_t *v = json_stringn(b, n);
    free(b);
    return v ? v : refuse(err, errlen, "out of memory");
}

static json_t *to_json(const msgpack_object *o, int depth, char *err, size_t errlen)
{
    json_t *v;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 <= INT64_MAX ? json_integer((json_int_t)o->via.u64)
                                       : json_real((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer(o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64))
            return refuse(err, errlen, "JSON has no infinite or NaN numbers");
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        /* msgpack-c leaves no pointer to an empty string */
        v = json_stringn(o->via.str.size ? o->via.str.ptr : "", o->via.str.size);
        return v ? v : refuse(err, errlen, "a string is not UTF-8");
    case MSGPACK_OBJECT_BIN: return bin_to_json(o, err, errlen);
    case MSGPACK_OBJECT_ARRAY:
    case MSGPACK_OBJECT_MAP:
        if (depth >= CCD_CUSTOM_MAX_DEPTH)
            return refuse(err, errlen, "data nested deeper than %d levels", CCD_CUSTOM_MAX_DEPTH);
        return o->type == MSGPACK_OBJECT_MAP ? map_to_json(o, depth, err, errlen)
                                             : array_to_json(o, depth, err, errlen);
    default: return refuse(err, errlen, "a msgpack extension value (JSON has no such type)");
    }
}

char *ccd_custom_to_json(const msgpack_object *o, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    json_t *v = to_json(o, 0, err, errlen);
    if (!v)
        return NULL;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (!text)
        refuse(err, errlen, "out of memory");
    return text;
}

ccd_custom_msg_t *ccd_custom_from_wire(const ccd_wire_msg_t *m, char *err, size_t errlen)
{
    if (memchr(m->type, '\0', m->type_len) ||
        (m->node_id && memchr(m->node_id, '\0', m->node_id_len))) {
        refuse(err, errlen, "a message type or node id holding a NUL byte");
        return NULL;
    }
    char *json = ccd_custom_to_json(m->data, err, errlen);
    if (!json)
        return NULL;
    char *type = strndup(m->type, m->type_len);
    char *node = m->node_id ? strndup(m->node_id, m->node_id_len) : NULL;
    ccd_custom_msg_t *cm = NULL;
    if (type && (node || !m->node_id))
        cm = ccd_custom_msg_new(type, json, node);
    if (!cm)
        refuse(err, errlen, "out of memory");
    free(json);
    free(type);
    free(node);
    return cm;
}
