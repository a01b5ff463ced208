/* Custom messages' data between JSON text and msgpack: round trips, Locust's non-string keys,
 * binaries, what JSON cannot hold, the nesting limit, and random bytes. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "dist/custom.h"
#include "dist/wire.h"

/* JSON text -> msgpack -> decoded object -> JSON text. */
static char *round_trip(const char *json, int *rc)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    *rc = ccd_custom_pack(&pk, json);
    char *out = NULL;
    if (*rc == 0) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        cr_assert_eq(msgpack_unpack_next(&up, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
        cr_assert_eq(off, sb.size);
        char err[256];
        out = ccd_custom_to_json(&up.data, err, sizeof(err));
        cr_assert_not_null(out, "%s: %s", json, err);
        msgpack_unpacked_destroy(&up);
    } else
        cr_assert_eq(sb.size, 0, "nothing is packed on failure");
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void assert_round_trip(const char *json)
{
    int rc;
    char *out = round_trip(json, &rc);
    cr_assert_eq(rc, 0, "%s", json);
    cr_assert_str_eq(out, json);
    free(out);
}

Test(custom, scalars_round_trip)
{
    assert_round_trip("null");
    assert_round_trip("true");
    assert_round_trip("false");
    assert_round_trip("42");
    assert_round_trip("-7");
    assert_round_trip("1.5");
    assert_round_trip("\"h\xc3\xa9llo \\\"quoted\\\" \xf0\x9f\x98\x80\"");
    assert_round_trip("\"\"");
    assert_round_trip("9223372036854775807");
    assert_round_trip("-9223372036854775808");
}

Test(custom, nested_tables_round_trip)
{
    assert_round_trip("{\"a\":1,\"b\":[1,2.5,\"x\",true,false,null],\"c\":{\"d\":{},\"e\":[]}}");
    assert_round_trip("[[[[\"deep\"]]],{\"k\":[{\"x\":-1}]}]");
    assert_round_trip("{\"control\":\"\\u0001\\n\",\"nul\":\"a\\u0000b\"}");
}

Test(custom, invalid_json_is_refused)
{
    int rc;
    cr_assert_null(round_trip("{\"a\":", &rc));
    cr_assert_eq(rc, CCD_EINVAL);
    cr_assert_null(round_trip("", &rc));
    cr_assert_eq(rc, CCD_EINVAL);
    cr_assert_null(round_trip("[1] 2", &rc));
    cr_assert_eq(rc, CCD_EINVAL);
}

static char *nested(int levels)
{
    char *s = malloc((size_t)levels * 2 + 2);
    memset(s, '[', (size_t)levels);
    s[levels] = '1';
    memset(s + levels + 1, ']', (size_t)levels);
    s[2 * levels + 1] = '\0';
    return s;
}

Test(custom, nesting_up_to_the_limit_is_packed_and_no_further)
{
    int rc;
    char *ok = nested(CCD_CUSTOM_MAX_DEPTH), *deep = nested(CCD_CUSTOM_MAX_DEPTH + 1);
    assert_round_trip(ok);
    cr_assert_null(round_trip(deep, &rc));
    cr_assert_eq(rc, CCD_EINVAL);
    char *very = nested(5000);
    cr_assert_null(round_trip(very, &rc));
    cr_assert_eq(rc, CCD_EINVAL);
    free(ok);
    free(deep);
    free(very);
}

/* The limit is what a frame can carry: data at the limit survives a whole frame's decoding. */
Test(custom, a_frame_at_the_limit_decodes)
{
    ccd_buf_t buf = {0};
    char *ok = nested(CCD_CUSTOM_MAX_DEPTH);
    cr_assert_eq(ccd_custom_frame(&buf, "deep", ok, "node_1"), 0);
    ccd_wire_msg_t m;
    char err[256] = "";
    cr_assert_eq(ccd_wire_decode(&m, buf.base, buf.len, err, sizeof(err)), 0, "%s", err);
    ccd_custom_msg_t *cm = ccd_custom_from_wire(&m, err, sizeof(err));
    cr_assert_not_null(cm, "%s", err);
    cr_assert_str_eq(cm->json, ok);
    ccd_custom_msg_free(cm);
    ccd_wire_msg_free(&m);
    free(ok);
    ccd_buf_free(&buf);
}

Test(custom, frame_round_trip)
{
    ccd_buf_t buf = {0};
    cr_assert_eq(ccd_custom_frame(&buf, "greeting", "{\"n\":3,\"who\":[\"a\",\"b\"]}", "host_abc"),
                 0);
    ccd_wire_msg_t m;
    char err[256] = "";
    cr_assert_eq(ccd_wire_decode(&m, buf.base, buf.len, err, sizeof(err)), 0, "%s", err);
    cr_assert(ccd_wire_is(&m, "greeting"));
    ccd_custom_msg_t *cm = ccd_custom_from_wire(&m, err, sizeof(err));
    cr_assert_not_null(cm, "%s", err);
    cr_assert_str_eq(cm->type, "greeting");
    cr_assert_str_eq(cm->json, "{\"n\":3,\"who\":[\"a\",\"b\"]}");
    cr_assert_str_eq(cm->node, "host_abc");
    ccd_custom_msg_free(cm);
    ccd_wire_msg_free(&m);

    cr_assert_eq(ccd_custom_frame(&buf, "empty", "null", NULL), 0);
    cr_assert_eq(ccd_wire_decode(&m, buf.base, buf.len, err, sizeof(err)), 0, "%s", err);
    cm = ccd_custom_from_wire(&m, err, sizeof(err));
    cr_assert_not_null(cm);
    cr_assert_str_eq(cm->json, "null");
    cr_assert_null(cm->node);
    ccd_custom_msg_free(cm);
    ccd_wire_msg_free(&m);

    cr_assert_eq(ccd_custom_frame(&buf, "bad", "{", NULL), CCD_EINVAL);
    cr_assert_eq(buf.len, 0);
    ccd_buf_free(&buf);
}

/* Packs with fn, decodes, converts: the JSON text, or NULL with the reason in err. */
static char *convert(void (*fn)(msgpack_packer *pk), char *err, size_t errlen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    fn(&pk);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    cr_assert_eq(msgpack_unpack_next(&up, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    char *out = ccd_custom_to_json(&up.data, err, errlen);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

static void pack_s(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

/* As Locust's stats: response_times with integer keys, and 2.12's float keys. */
static void keys_of_every_kind(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 8);
    pack_s(pk, "");
    msgpack_pack_int(pk, 0);
    msgpack_pack_uint64(pk, 120);
    pack_s(pk, "a");
    msgpack_pack_int64(pk, -2);
    pack_s(pk, "b");
    msgpack_pack_double(pk, 150.0);
    msgpack_pack_int(pk, 3);
    msgpack_pack_double(pk, 0.25);
    msgpack_pack_int(pk, 4);
    msgpack_pack_true(pk);
    msgpack_pack_int(pk, 5);
    msgpack_pack_nil(pk);
    msgpack_pack_int(pk, 6);
    pack_s(pk, "s");
    msgpack_pack_int(pk, 7);
}

Test(custom, non_string_keys_become_their_text)
{
    char err[256] = "";
    char *out = convert(keys_of_every_kind, err, sizeof(err));
    cr_assert_not_null(out, "%s", err);
    cr_assert_str_eq(out, "{\"\":0,\"120\":\"a\",\"-2\":\"b\",\"150.0\":3,\"0.25\":4,\"true\":5,"
                          "\"null\":6,\"s\":7}");
    free(out);
}

static void array_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_int(pk, 2);
}

static void binary(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_bin(pk, 5);
    msgpack_pack_bin_body(pk, "\x00\xffhi!", 5);
    msgpack_pack_bin(pk, 0);
}

static void extension(msgpack_packer *pk)
{
    msgpack_pack_ext(pk, 4, -1); /* a msgpack timestamp */
    msgpack_pack_ext_body(pk, "\0\0\0\1", 4);
}

static void not_a_number(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_double(pk, NAN);
}

static void not_utf8(msgpack_packer *pk)
{
    msgpack_pack_str(pk, 2);
    msgpack_pack_str_body(pk, "\xc3\x28", 2);
}

static void huge_unsigned(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, UINT64_MAX);
}

Test(custom, what_json_cannot_hold)
{
    char err[256] = "";
    cr_assert_null(convert(array_key, err, sizeof(err)));
    cr_assert_str_eq(err, "a map key of a type JSON has no text for");
    cr_assert_null(convert(extension, err, sizeof(err)));
    cr_assert(strstr(err, "extension"), "%s", err);
    cr_assert_null(convert(not_a_number, err, sizeof(err)));
    cr_assert(strstr(err, "NaN"), "%s", err);
    cr_assert_null(convert(not_utf8, err, sizeof(err)));
    cr_assert(strstr(err, "UTF-8"), "%s", err);
    cr_assert_null(convert(not_utf8, NULL, 0), "no reason asked for");
}

Test(custom, binaries_become_base64)
{
    char err[256] = "";
    char *out = convert(binary, err, sizeof(err));
    cr_assert_not_null(out, "%s", err);
    cr_assert_str_eq(out, "[\"AP9oaSE=\",\"\"]");
    free(out);
}

Test(custom, integers_beyond_int64_become_floats)
{
    char err[256] = "";
    char *out = convert(huge_unsigned, err, sizeof(err));
    cr_assert_not_null(out, "%s", err);
    json_t *v = json_loads(out, JSON_DECODE_ANY, NULL);
    cr_assert(json_is_real(v));
    cr_assert_float_eq(json_real_value(v), 18446744073709551615.0, 1e4);
    json_decref(v);
    free(out);
}

/* Objects nested far deeper than any frame can carry (built by hand: msgpack-c would not
 * decode them) are refused without recursing through them. */
Test(custom, hand_built_deep_objects_are_refused)
{
    enum { N = 100000 };
    msgpack_object *chain = calloc(N, sizeof(*chain));
    for (int i = 0; i < N - 1; i++) {
        chain[i].type = i % 2 ? MSGPACK_OBJECT_ARRAY : MSGPACK_OBJECT_MAP;
        if (i % 2) {
            chain[i].via.array.size = 1;
            chain[i].via.array.ptr = &chain[i + 1];
        } else {
            msgpack_object_kv *kv = calloc(1, sizeof(*kv));
            kv->key.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            kv->val = chain[i + 1]; /* filled below: copy after the next is built */
            chain[i].via.map.size = 1;
            chain[i].via.map.ptr = kv;
        }
    }
    chain[N - 1].type = MSGPACK_OBJECT_NIL;
    /* A map's value is a copy of the next object: refresh them from the end. */
    for (int i = N - 2; i >= 0; i -= 1)
        if (i % 2 == 0)
            chain[i].via.map.ptr->val = chain[i + 1];
    char err[256] = "";
    cr_assert_null(ccd_custom_to_json(&chain[0], err, sizeof(err)));
    cr_assert(strstr(err, "deeper than 31"), "%s", err);
    for (int i = 0; i < N - 1; i += 2)
        free(chain[i].via.map.ptr);
    free(chain);
}

/* A frame nested one level past the limit is refused by the decoder itself: the limit is
 * exactly what travels. */
Test(custom, frames_nested_too_deep_do_not_decode)
{
    ccd_buf_t buf = {0};
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &buf, "deep");
    for (int i = 0; i < CCD_CUSTOM_MAX_DEPTH + 1; i++)
        msgpack_pack_array(&p.pk, 1);
    msgpack_pack_nil(&p.pk);
    cr_assert_eq(ccd_wire_end(&p, NULL), 0);
    ccd_wire_msg_t m;
    char err[256] = "";
    cr_assert_neq(ccd_wire_decode(&m, buf.base, buf.len, err, sizeof(err)), 0);
    ccd_wire_msg_free(&m);
    ccd_buf_free(&buf);
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* Whatever converts is valid JSON that packs again. */
static void check_converted(const msgpack_object *o)
{
    char *out = ccd_custom_to_json(o, NULL, 0);
    if (!out)
        return;
    json_t *v = json_loads(out, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    cr_assert_not_null(v, "not JSON: %s", out);
    json_decref(v);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    cr_assert_eq(ccd_custom_pack(&pk, out), 0, "%s", out);
    msgpack_sbuffer_destroy(&sb);
    free(out);
}

/* Random bytes, biased towards msgpack's container and string headers so that many decode, as
 * the data of a frame: a frame is what arrives, and ccd_wire_decode() refuses the counts that
 * announce more than the bytes hold before msgpack-c allocates for them. */
Test(custom, random_bytes_through_decode_and_to_json)
{
    static const unsigned char headers[] = {0x91, 0x92, 0x93, 0x81, 0x82, 0xa1, 0xa3, 0xc4,
                                            0xcb, 0xca, 0xcc, 0xd0, 0xc0, 0xc2, 0xc3, 0xd4,
                                            0xdc, 0xde, 0xd9, 0xc7, 0x7f, 0xe0, 0xff, 0x00};
    unsigned char buf[100] = {0x93, 0xa1, 'x'};
    unsigned decoded = 0, converted = 0;
    for (int iter = 0; iter < 300000; iter++) {
        size_t len = 3 + 1 + next_random() % (sizeof(buf) - 4);
        for (size_t i = 3; i < len; i++) {
            uint32_t r = next_random();
            buf[i] = r % 3 ? headers[(r >> 8) % sizeof(headers)] : (unsigned char)(r >> 8);
        }
        ccd_wire_msg_t m;
        /* the node id: nil, where the random object's end lands */
        for (size_t end = 4; end <= len; end++) {
            unsigned char save = buf[end - 1];
            buf[end - 1] = 0xc0;
            if (ccd_wire_decode(&m, buf, end, NULL, 0) == 0) {
                decoded++;
                char *out = ccd_custom_to_json(m.data, NULL, 0);
                converted += out != NULL;
                free(out);
                if (iter % 16 == 0)
                    check_converted(m.data);
            }
            ccd_wire_msg_free(&m);
            buf[end - 1] = save;
        }
    }
    cr_assert_gt(decoded, 1000, "the biased bytes decode often (%u)", decoded);
    cr_assert_gt(converted, 100, "and many convert (%u)", converted);
}

/* Random frames through the whole path a worker's or master's receive takes. */
Test(custom, random_frames_through_from_wire)
{
    unsigned char buf[64];
    for (int iter = 0; iter < 100000; iter++) {
        size_t len = 4 + next_random() % (sizeof(buf) - 4);
        buf[0] = 0x93;
        buf[1] = 0xa1;
        buf[2] = 'x';
        for (size_t i = 3; i < len; i++)
            buf[i] = (unsigned char)next_random();
        ccd_wire_msg_t m;
        char err[256];
        if (ccd_wire_decode(&m, buf, len, err, sizeof(err)) == 0) {
            ccd_custom_msg_t *cm = ccd_custom_from_wire(&m, err, sizeof(err));
            if (cm) {
                cr_assert_str_eq(cm->type, "x");
                ccd_custom_msg_free(cm);
            }
        }
        ccd_wire_msg_free(&m);
    }
}

Test(custom, protocol_types_are_not_custom)
{
    cr_assert_not(ccd_custom_type_ok("heartbeat", 9));
    cr_assert_not(ccd_custom_type_ok("stats", 5));
    cr_assert_not(ccd_custom_type_ok("update_user_class", 17));
    cr_assert_not(ccd_custom_type_ok("", 0));
    cr_assert(ccd_custom_type_ok("heartbeats", 10));
    cr_assert(ccd_custom_type_ok("stat", 4));
    cr_assert(ccd_custom_type_ok("accounts", 8));
}
