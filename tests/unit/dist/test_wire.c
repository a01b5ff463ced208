/* Tests of Locust's message frames: packing, decoding, every refusal, the accessors. */
#include <criterion/criterion.h>
#include <string.h>

#include "base/error.h"
#include "dist/wire.h"

static ccd_buf_t pack_heartbeat(const char *node)
{
    ccd_buf_t b = {0};
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &b, "heartbeat");
    msgpack_pack_map(&p.pk, 3);
    ccd_wire_pack_key(&p.pk, "state");
    ccd_wire_pack_str(&p.pk, "running");
    ccd_wire_pack_key(&p.pk, "current_cpu_usage");
    msgpack_pack_double(&p.pk, 12.5);
    ccd_wire_pack_key(&p.pk, "current_memory_usage");
    msgpack_pack_uint64(&p.pk, 123456789);
    cr_assert_eq(ccd_wire_end(&p, node), 0);
    return b;
}

Test(wire, round_trip)
{
    ccd_buf_t b = pack_heartbeat("host_0123");
    ccd_wire_msg_t m;
    char err[128] = "";
    cr_assert_eq(ccd_wire_decode(&m, b.base, b.len, err, sizeof(err)), 0, "%s", err);
    cr_assert(ccd_wire_is(&m, "heartbeat"));
    cr_assert_not(ccd_wire_is(&m, "heartbea"));
    cr_assert_not(ccd_wire_is(&m, "heartbeats"));
    cr_assert_eq(m.node_id_len, 9);
    cr_assert_eq(memcmp(m.node_id, "host_0123", 9), 0);
    const char *s;
    size_t n;
    cr_assert(ccd_wire_str(ccd_wire_get(m.data, "state"), &s, &n));
    cr_assert_eq(n, 7);
    cr_assert_eq(memcmp(s, "running", 7), 0);
    double d;
    cr_assert(ccd_wire_num(ccd_wire_get(m.data, "current_cpu_usage"), &d));
    cr_assert_float_eq(d, 12.5, 1e-12);
    uint64_t u;
    cr_assert(ccd_wire_uint(ccd_wire_get(m.data, "current_memory_usage"), &u));
    cr_assert_eq(u, 123456789);
    cr_assert_null(ccd_wire_get(m.data, "missing"));
    char *dup = ccd_wire_strdup(ccd_wire_get(m.data, "state"));
    cr_assert_str_eq(dup, "running");
    free(dup);
    cr_assert_null(ccd_wire_strdup(ccd_wire_get(m.data, "current_cpu_usage")));
    ccd_wire_msg_free(&m);
    ccd_buf_free(&b);
}

Test(wire, nil_node_and_nil_data)
{
    ccd_buf_t b = {0};
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &b, "spawning");
    msgpack_pack_nil(&p.pk);
    cr_assert_eq(ccd_wire_end(&p, NULL), 0);
    ccd_wire_msg_t m;
    cr_assert_eq(ccd_wire_decode(&m, b.base, b.len, NULL, 0), 0);
    cr_assert(ccd_wire_is(&m, "spawning"));
    cr_assert_null(m.node_id);
    cr_assert_not_null(m.data);
    cr_assert_eq(m.data->type, MSGPACK_OBJECT_NIL);
    ccd_wire_msg_free(&m);
    ccd_buf_free(&b);
}

/* A reused buffer is written in place: no allocation once it has grown. */
Test(wire, reuse_allocates_nothing)
{
    ccd_buf_t b = pack_heartbeat("n");
    char *base = b.base;
    size_t cap = b.cap, len = b.len;
    ccd_wire_packer_t p;
    for (int i = 0; i < 3; i++) {
        ccd_wire_begin(&p, &b, "heartbeat");
        msgpack_pack_map(&p.pk, 3);
        ccd_wire_pack_key(&p.pk, "state");
        ccd_wire_pack_str(&p.pk, "running");
        ccd_wire_pack_key(&p.pk, "current_cpu_usage");
        msgpack_pack_double(&p.pk, 12.5);
        ccd_wire_pack_key(&p.pk, "current_memory_usage");
        msgpack_pack_uint64(&p.pk, 123456789);
        cr_assert_eq(ccd_wire_end(&p, "n"), 0);
        cr_assert_eq(b.base, base);
        cr_assert_eq(b.cap, cap);
        cr_assert_eq(b.len, len);
    }
    ccd_buf_free(&b);
}

static void expect_refused(const void *buf, size_t len, const char *reason)
{
    ccd_wire_msg_t m;
    char err[128] = "";
    cr_assert_eq(ccd_wire_decode(&m, buf, len, err, sizeof(err)), CCD_EPROTO, "%s", reason);
    cr_assert(strstr(err, reason), "\"%s\" does not say \"%s\"", err, reason);
    ccd_wire_msg_free(&m);
}

Test(wire, refusals)
{
    /* ["a", nil, nil] is 93 a1 61 c0 c0. */
    expect_refused("\xc1", 1, "not msgpack");
    expect_refused("", 0, "truncated");
    expect_refused("\x93\xa1\x61\xc0", 4, "truncated");
    expect_refused("\x93\xa2\x61", 3, "truncated");
    expect_refused("\x93\xa1\x61\xc0\xc0\xc0", 6, "trailing bytes");
    expect_refused("\x92\xa1\x61\xc0", 4, "not an array of 3");
    expect_refused("\x81\xa1\x61\xc0", 4, "not an array of 3");
    expect_refused("\x93\x01\xc0\xc0", 4, "type is not a string");
    expect_refused("\x93\xa1\x61\xc0\x05", 5, "node id");
    /* An array announcing 2^32-1 elements in a few bytes is refused before any allocation. */
    expect_refused("\x93\xa1\x61\xdd\xff\xff\xff\xff\xc0", 9, "truncated");
    expect_refused("\x93\xa1\x61\xdf\xff\xff\xff\xff\xc0", 9, "truncated");
    expect_refused("\x93\xa1\x61\xc6\xff\xff\xff\xff\xc0", 9, "truncated");
    ccd_wire_msg_t m;
    cr_assert_eq(ccd_wire_decode(&m, "\x93\xa1\x61\xc0\xc0", 5, NULL, 0), 0);
    ccd_wire_msg_free(&m);
}

/* Nesting deeper than msgpack-c's parser stack is refused, not a crash. */
Test(wire, deep_nesting)
{
    unsigned char buf[4096];
    size_t n = 0;
    buf[n++] = 0x93;
    buf[n++] = 0xa1;
    buf[n++] = 'a';
    for (int i = 0; i < 2000; i++)
        buf[n++] = 0x91;
    buf[n++] = 0xc0;
    buf[n++] = 0xc0;
    ccd_wire_msg_t m;
    char err[128];
    cr_assert_eq(ccd_wire_decode(&m, buf, n, err, sizeof(err)), CCD_EPROTO);
    cr_assert(strstr(err, "nested"), "%s", err);
    ccd_wire_msg_free(&m);
}

/* Maps keyed by integers and floats, as Locust's response_times (2.12 sends 150.0). */
Test(wire, numbers_and_keys)
{
    ccd_buf_t b = {0};
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &b, "t");
    msgpack_pack_array(&p.pk, 10);
    msgpack_pack_int64(&p.pk, -5);
    msgpack_pack_double(&p.pk, 150.0);
    msgpack_pack_double(&p.pk, 1.5);
    msgpack_pack_float(&p.pk, 2.0f);
    ccd_wire_pack_str(&p.pk, "150");
    ccd_wire_pack_str(&p.pk, "1e3");
    ccd_wire_pack_str(&p.pk, "0x10");
    ccd_wire_pack_str(&p.pk, "nan");
    msgpack_pack_double(&p.pk, -1.0);
    msgpack_pack_true(&p.pk);
    cr_assert_eq(ccd_wire_end(&p, "x"), 0);
    ccd_wire_msg_t m;
    cr_assert_eq(ccd_wire_decode(&m, b.base, b.len, NULL, 0), 0);
    const msgpack_object *a = m.data->via.array.ptr;
    double d;
    uint64_t u;
    cr_assert(ccd_wire_num(&a[0], &d));
    cr_assert_float_eq(d, -5, 0);
    cr_assert_not(ccd_wire_uint(&a[0], &u));
    cr_assert(ccd_wire_uint(&a[1], &u));
    cr_assert_eq(u, 150);
    cr_assert_not(ccd_wire_uint(&a[2], &u));
    cr_assert(ccd_wire_uint(&a[3], &u));
    cr_assert_eq(u, 2);
    cr_assert(ccd_wire_key_num(&a[4], &d));
    cr_assert_float_eq(d, 150, 0);
    cr_assert(ccd_wire_key_num(&a[5], &d));
    cr_assert_float_eq(d, 1000, 0);
    cr_assert_not(ccd_wire_key_num(&a[6], &d));
    cr_assert_not(ccd_wire_key_num(&a[7], &d));
    cr_assert_not(ccd_wire_uint(&a[8], &u));
    cr_assert_not(ccd_wire_num(&a[9], &d));
    cr_assert_not(ccd_wire_str(&a[9], &(const char *){0}, &(size_t){0}));
    cr_assert_null(ccd_wire_get(&a[0], "x"));
    cr_assert_not(ccd_wire_num(NULL, &d));
    cr_assert_not(ccd_wire_uint(NULL, &u));
    cr_assert_not(ccd_wire_key_num(NULL, &d));
    ccd_wire_msg_free(&m);
    ccd_buf_free(&b);
}
