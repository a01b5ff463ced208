/* Locust's [type, data, node_id] frames: decoding with msgpack-c, packing into a ccd_buf_t. */
#include "dist/wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

int ccd_wire_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return CCD_EPROTO;
}

/* Reads a big-endian unsigned integer of n bytes at p. */
static uint64_t be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The size of the header of the object starting with byte b (type byte included) and what it
 * announces: *payload bytes that follow the header (strings, binaries, extensions, numbers),
 * *children objects that follow it (2 per map entry). *lenbytes is how many bytes after the
 * type byte hold the length (0 when the length is fixed or in the type byte). Returns false
 * for the unused byte 0xc1. */
static bool header(unsigned char b, size_t *lenbytes, uint64_t *payload, uint64_t *children,
                   int *kind)
{
    *lenbytes = 0;
    *payload = 0;
    *children = 0;
    *kind = 0; /* 0: fixed payload; 1: length-prefixed payload; 2: array; 3: map */
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return true;
    if (b >= 0x80 && b <= 0x8f)
        return *children = 2u * (b & 0x0f), true;
    if (b >= 0x90 && b <= 0x9f)
        return *children = b & 0x0f, true;
    if (b >= 0xa0 && b <= 0xbf)
        return *payload = b & 0x1f, true;
    switch (b) {
    case 0xc4:
    case 0xd9:
        *lenbytes = 1;
        *kind = 1;
        return true; /* bin 8, str 8 */
    case 0xc5:
    case 0xda:
        *lenbytes = 2;
        *kind = 1;
        return true;
    case 0xc6:
    case 0xdb:
        *lenbytes = 4;
        *kind = 1;
        return true;
    case 0xc7:
        *lenbytes = 1;
        *kind = 1;
        *payload = 1;
        return true; /* ext: + type byte */
    case 0xc8:
        *lenbytes = 2;
        *kind = 1;
        *payload = 1;
        return true;
    case 0xc9:
        *lenbytes = 4;
        *kind = 1;
        *payload = 1;
        return true;
    case 0xca: *payload = 4; return true;
    case 0xcb: *payload = 8; return true;
    case 0xcc:
    case 0xd0: *payload = 1; return true;
    case 0xcd:
    case 0xd1: *payload = 2; return true;
    case 0xce:
    case 0xd2: *payload = 4; return true;
    case 0xcf:
    case 0xd3: *payload = 8; return true;
    case 0xd4: *payload = 2; return true; /* fixext: type byte + data */
    case 0xd5: *payload = 3; return true;
    case 0xd6: *payload = 5; return true;
    case 0xd7: *payload = 9; return true;
    case 0xd8: *payload = 17; return true;
    case 0xdc:
        *lenbytes = 2;
        *kind = 2;
        return true;
    case 0xdd:
        *lenbytes = 4;
        *kind = 2;
        return true;
    case 0xde:
        *lenbytes = 2;
        *kind = 3;
        return true;
    case 0xdf:
        *lenbytes = 4;
        *kind = 3;
        return true;
    default: return false;
    }
}

/* Containers nested deeper than this are refused (Locust's messages nest a few levels). */
#define MAX_DEPTH 64

/* Walks the encoding once without building anything, so that a frame announcing more
 * objects or bytes than it holds, or nesting without end, is refused before msgpack-c
 * allocates for it (it sizes a container's array from the announced count, and its parse
 * stack from the depth). Every object takes at least one byte, so the objects still owed can
 * never exceed the bytes left. left[d] counts the objects still to read at depth d. */
static int check_shape(const unsigned char *p, size_t len, char *err, size_t errlen)
{
    uint64_t left[MAX_DEPTH + 1], owed = 1;
    int depth = 0;
    size_t pos = 0;
    left[0] = 1;
    while (depth >= 0) {
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        if (pos >= len)
            return ccd_wire_fail(err, errlen, "truncated message");
        size_t lenbytes;
        uint64_t payload, children;
        int kind;
        if (!header(p[pos], &lenbytes, &payload, &children, &kind))
            return ccd_wire_fail(err, errlen, "not msgpack (byte 0x%02x at %zu)", p[pos], pos);
        pos++;
        owed--;
        left[depth]--;
        if (lenbytes > len - pos)
            return ccd_wire_fail(err, errlen, "truncated message");
        uint64_t n = be(p + pos, lenbytes);
        pos += lenbytes;
        if (kind == 1)
            payload += n;
        else if (kind == 2)
            children = n;
        else if (kind == 3)
            children = 2 * n;
        if (payload > len - pos)
            return ccd_wire_fail(err, errlen, "truncated message");
        pos += (size_t)payload;
        owed += children;
        if (owed > len - pos)
            return ccd_wire_fail(err, errlen, "truncated message");
        if (children) {
            if (depth == MAX_DEPTH)
                return ccd_wire_fail(err, errlen, "not msgpack (nested deeper than %d)", MAX_DEPTH);
            left[++depth] = children;
        }
    }
    if (pos != len)
        return ccd_wire_fail(err, errlen, "%zu trailing bytes after the message", len - pos);
    return 0;
}

static bool is_str(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_STR;
}

int ccd_wire_decode(ccd_wire_msg_t *m, const void *buf, size_t len, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    msgpack_unpacked_init(&m->_up);
    int rc = check_shape(buf, len, err, errlen);
    if (rc)
        return rc;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&m->_up, buf, len, &off);
    if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        return CCD_ENOMEM;
    if (r != MSGPACK_UNPACK_SUCCESS)
        return ccd_wire_fail(err, errlen, "not msgpack (nested too deeply or malformed)");
    if (off != len)
        return ccd_wire_fail(err, errlen, "%zu trailing bytes after the message", len - off);
    const msgpack_object *o = &m->_up.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 3)
        return ccd_wire_fail(err, errlen, "not an array of 3 (type, data, node id)");
    const msgpack_object *a = o->via.array.ptr;
    if (!is_str(&a[0]))
        return ccd_wire_fail(err, errlen, "message type is not a string");
    if (a[2].type != MSGPACK_OBJECT_NIL && !is_str(&a[2]))
        return ccd_wire_fail(err, errlen, "node id is neither a string nor nil");
    m->type = a[0].via.str.ptr;
    m->type_len = a[0].via.str.size;
    m->data = &a[1];
    if (is_str(&a[2])) {
        m->node_id = a[2].via.str.ptr;
        m->node_id_len = a[2].via.str.size;
    }
    return 0;
}

void ccd_wire_msg_free(ccd_wire_msg_t *m)
{
    msgpack_unpacked_destroy(&m->_up);
    memset(m, 0, sizeof(*m));
}

bool ccd_wire_is(const ccd_wire_msg_t *m, const char *t)
{
    size_t n = strlen(t);
    return m->type && m->type_len == n && memcmp(m->type, t, n) == 0;
}

/* msgpack-c's write callback: appends to the buffer, remembering a failure for
 * ccd_wire_end() (msgpack-c's pack functions' results are not checked by callers). */
static int write_buf(void *data, const char *buf, size_t len)
{
    ccd_wire_packer_t *p = data;
    if (p->failed)
        return -1;
    if (ccd_buf_append(p->out, buf, len)) {
        p->failed = 1;
        return -1;
    }
    return 0;
}

void ccd_wire_begin(ccd_wire_packer_t *p, ccd_buf_t *out, const char *type)
{
    p->out = out;
    p->failed = 0;
    out->len = 0;
    msgpack_packer_init(&p->pk, p, write_buf);
    msgpack_pack_array(&p->pk, 3);
    ccd_wire_pack_str(&p->pk, type);
}

int ccd_wire_end(ccd_wire_packer_t *p, const char *node_id)
{
    ccd_wire_pack_str(&p->pk, node_id);
    return p->failed ? CCD_ENOMEM : 0;
}

void ccd_wire_pack_str(msgpack_packer *pk, const char *s)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void ccd_wire_pack_key(msgpack_packer *pk, const char *key)
{
    ccd_wire_pack_str(pk, key);
}

const msgpack_object *ccd_wire_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (is_str(&kv->key) && kv->key.via.str.size == n &&
            memcmp(kv->key.via.str.ptr, key, n) == 0)
            return &kv->val;
    }
    return NULL;
}

bool ccd_wire_str(const msgpack_object *o, const char **s, size_t *len)
{
    if (!is_str(o))
        return false;
    *s = o->via.str.ptr;
    *len = o->via.str.size;
    return true;
}

char *ccd_wire_strdup(const msgpack_object *o)
{
    if (!is_str(o))
        return NULL;
    char *s = malloc((size_t)o->via.str.size + 1);
    if (s) {
        memcpy(s, o->via.str.ptr, o->via.str.size);
        s[o->via.str.size] = '\0';
    }
    return s;
}

bool ccd_wire_num(const msgpack_object *o, double *v)
{
    if (!o)
        return false;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return !isnan(*v);
    default: return false;
    }
}

bool ccd_wire_uint(const msgpack_object *o, uint64_t *v)
{
    if (!o)
        return false;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *v = o->via.u64;
        return true;
    }
    if (o->type != MSGPACK_OBJECT_FLOAT32 && o->type != MSGPACK_OBJECT_FLOAT64)
        return false;
    double d = o->via.f64;
    /* 2^64 is the first double above UINT64_MAX. */
    if (!(d >= 0 && d < 18446744073709551616.0) || d != floor(d))
        return false;
    *v = (uint64_t)d;
    return true;
}

bool ccd_wire_key_num(const msgpack_object *k, double *v)
{
    if (!k)
        return false;
    if (!is_str(k))
        return ccd_wire_num(k, v);
    char tmp[64];
    size_t n = k->via.str.size;
    if (n == 0 || n >= sizeof(tmp))
        return false;
    memcpy(tmp, k->via.str.ptr, n);
    tmp[n] = '\0';
    /* Decimal only: strtod would also take hex, "inf" and "nan". */
    if (strspn(tmp, "0123456789+-.eE") != n)
        return false;
    char *end;
    double d = strtod(tmp, &end);
    if (*end || !isfinite(d))
        return false;
    *v = d;
    return true;
}
