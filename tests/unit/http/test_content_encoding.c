/* Content decoding: round trips through zlib's encoders, gzip members, corruption, the bound. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "http/content_encoding.h"

enum { ZLIB = 15, GZIP = 31, RAW = -15 };

/* Text-like bytes: compressible but not trivially, so every block type shows up. */
static char *sample(size_t n)
{
    char *p = malloc(n ? n : 1);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245 + 12345;
        p[i] = (x >> 16) % 7 == 0 ? (char)(x >> 8) : "cicada load test "[i % 17];
    }
    return p;
}

/* Encodes with zlib's deflate in the wrapper windowBits asks for; appends to out. */
static void encode(const char *in, size_t n, int level, int wbits, ccd_buf_t *out)
{
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, level, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&z, n);
    cr_assert_eq(ccd_buf_reserve(out, bound), 0);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->base + out->len;
    z.avail_out = (uInt)bound;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    out->len += z.total_out;
    deflateEnd(&z);
}

static void assert_decodes(const char *ce, const ccd_buf_t *enc, const char *want, size_t n)
{
    ccd_buf_t out = {0};
    int rc = ccd_decode_body(ce, strlen(ce), enc->base, enc->len, &out);
    cr_assert_eq(rc, 0, "%s of %zu bytes: %d", ce, n, rc);
    cr_assert_eq(out.len, n, "%s: %zu bytes, want %zu", ce, out.len, n);
    cr_assert(n == 0 || memcmp(out.base, want, n) == 0, "%s: content differs", ce);
    ccd_buf_free(&out);
}

static void round_trip(size_t n, int level)
{
    char *data = sample(n);
    static const struct {
        const char *ce;
        int wbits;
    } cases[] = {{"gzip", GZIP}, {"x-gzip", GZIP}, {"deflate", ZLIB}, {"deflate", RAW}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        ccd_buf_t enc = {0};
        encode(data, n, level, cases[i].wbits, &enc);
        assert_decodes(cases[i].ce, &enc, data, n);
        ccd_buf_free(&enc);
    }
    free(data);
}

Test(decode, round_trips_at_several_levels_and_sizes)
{
    static const size_t sizes[] = {0, 1, 100, 65536};
    static const int levels[] = {0, 1, 6, 9};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
        for (size_t l = 0; l < sizeof(levels) / sizeof(*levels); l++)
            round_trip(sizes[s], levels[l]);
    round_trip(1 << 20, 1);
    round_trip(1 << 20, 9);
}

Test(decode, zlib_compress_output)
{
    char *data = sample(1 << 20);
    ccd_buf_t enc = {0};
    uLongf n = compressBound(1 << 20);
    cr_assert_eq(ccd_buf_reserve(&enc, n), 0);
    cr_assert_eq(compress2((Bytef *)enc.base, &n, (Bytef *)data, 1 << 20, 9), Z_OK);
    enc.len = n;
    assert_decodes("deflate", &enc, data, 1 << 20);
    ccd_buf_free(&enc);
    free(data);
}

Test(decode, concatenated_gzip_members)
{
    ccd_buf_t enc = {0};
    encode("hello, ", 7, 6, GZIP, &enc);
    encode("", 0, 6, GZIP, &enc);
    encode("world", 5, 1, GZIP, &enc);
    assert_decodes("gzip", &enc, "hello, world", 12);
    ccd_buf_free(&enc);
}

Test(decode, bytes_after_the_last_member_are_ignored)
{
    ccd_buf_t enc = {0};
    encode("abc", 3, 6, GZIP, &enc);
    cr_assert_eq(ccd_buf_append(&enc, "\0\0\0\0junk", 8), 0);
    assert_decodes("gzip", &enc, "abc", 3);
    ccd_buf_free(&enc);
}

Test(decode, encoding_names)
{
    ccd_buf_t enc = {0};
    encode("abc", 3, 6, GZIP, &enc);
    assert_decodes(" GZip ", &enc, "abc", 3);
    assert_decodes("identity, gzip", &enc, "abc", 3);
    assert_decodes("gzip,identity", &enc, "abc", 3);
    ccd_buf_free(&enc);
}

Test(decode, nothing_to_decode_returns_1)
{
    const char *ce[] = {"",         "identity",   " Identity ", "br", "zstd",
                        "gzip, br", "gzip, gzip", "gzipx",      ","};
    ccd_buf_t out = {0};
    for (size_t i = 0; i < sizeof(ce) / sizeof(*ce); i++)
        cr_assert_eq(ccd_decode_body(ce[i], strlen(ce[i]), "body", 4, &out), 1, "%s", ce[i]);
    cr_assert_eq(ccd_decode_body(NULL, 0, "body", 4, &out), 1);
    cr_assert_eq(out.len, 0);
    ccd_buf_free(&out);
}

Test(decode, empty_body_decodes_to_nothing)
{
    ccd_buf_t out = {0};
    cr_assert_eq(ccd_decode_body("gzip", 4, "", 0, &out), 0);
    cr_assert_eq(ccd_decode_body("deflate", 7, NULL, 0, &out), 0);
    cr_assert_eq(out.len, 0);
    ccd_buf_free(&out);
}

static void assert_corrupt(const char *ce, const char *body, size_t len)
{
    ccd_buf_t out = {0};
    cr_assert_eq(ccd_buf_append(&out, "keep", 4), 0);
    int rc = ccd_decode_body(ce, strlen(ce), body, len, &out);
    cr_assert_eq(rc, CCD_EPROTO, "%s of %zu bytes: %d", ce, len, rc);
    cr_assert_eq(out.len, 4);
    ccd_buf_free(&out);
}

Test(decode, corrupt_data)
{
    char *data = sample(10000);
    ccd_buf_t gz = {0}, zl = {0};
    encode(data, 10000, 6, GZIP, &gz);
    encode(data, 10000, 6, ZLIB, &zl);
    assert_corrupt("gzip", "not gzip at all", 15);
    assert_corrupt("deflate", "\xff\xff\xff\xff", 4);
    assert_corrupt("gzip", gz.base, gz.len - 1);    /* truncated trailer */
    assert_corrupt("gzip", gz.base, gz.len / 2);    /* truncated data */
    assert_corrupt("deflate", zl.base, zl.len / 2); /* truncated, and not raw either */
    gz.base[gz.len - 6] ^= 1;                       /* CRC-32 mismatch */
    assert_corrupt("gzip", gz.base, gz.len);
    gz.base[gz.len - 6] ^= 1;
    gz.base[gz.len / 2] ^= 0x55;
    assert_corrupt("gzip", gz.base, gz.len);
    ccd_buf_t two = {0};
    encode("a", 1, 6, GZIP, &two);
    size_t first = two.len;
    encode("b", 1, 6, GZIP, &two);
    assert_corrupt("gzip", two.base, two.len - 3); /* a second member, truncated */
    cr_assert_gt(two.len, first);
    ccd_buf_free(&two);
    ccd_buf_free(&gz);
    ccd_buf_free(&zl);
    free(data);
}

Test(decode, appends_to_out)
{
    ccd_buf_t enc = {0}, out = {0};
    encode("abc", 3, 6, RAW, &enc);
    cr_assert_eq(ccd_buf_append(&out, "xy", 2), 0);
    cr_assert_eq(ccd_decode_body("deflate", 7, enc.base, enc.len, &out), 0);
    cr_assert_eq(out.len, 5);
    cr_assert(memcmp(out.base, "xyabc", 5) == 0);
    ccd_buf_free(&enc);
    ccd_buf_free(&out);
}

Test(decode, size_bound)
{
    char *zeros = calloc(1, 5000);
    ccd_buf_t enc = {0}, out = {0};
    encode(zeros, 5000, 9, GZIP, &enc);
    cr_assert_eq(ccd_decode_body_max("gzip", 4, enc.base, enc.len, 5000, &out), 0);
    cr_assert_eq(out.len, 5000);
    out.len = 0;
    cr_assert_eq(ccd_decode_body_max("gzip", 4, enc.base, enc.len, 4999, &out), CCD_ETOOBIG);
    cr_assert_eq(out.len, 0);
    cr_assert_eq(ccd_decode_body_max("gzip", 4, enc.base, enc.len, 0, &out), CCD_ETOOBIG);
    ccd_buf_free(&enc);
    encode(zeros, 5000, 9, RAW, &enc);
    cr_assert_eq(ccd_decode_body_max("deflate", 7, enc.base, enc.len, 4096, &out), CCD_ETOOBIG);
    cr_assert_eq(out.len, 0);
    ccd_buf_free(&enc);
    ccd_buf_free(&out);
    free(zeros);
}

/* The default bound, on a gzip bomb: 257 members of 1 MiB of zeros, about 260 KiB. */
Test(decode, default_bound_stops_a_gzip_bomb, .timeout = 60)
{
    char *zeros = calloc(1, 1 << 20);
    ccd_buf_t member = {0}, bomb = {0}, out = {0};
    encode(zeros, 1 << 20, 9, GZIP, &member);
    for (int i = 0; i < 257; i++)
        cr_assert_eq(ccd_buf_append(&bomb, member.base, member.len), 0);
    cr_assert_eq(ccd_decode_body("gzip", 4, bomb.base, bomb.len, &out), CCD_ETOOBIG);
    cr_assert_eq(out.len, 0);
    ccd_buf_free(&member);
    ccd_buf_free(&bomb);
    ccd_buf_free(&out);
    free(zeros);
}

/* Random damage anywhere must give a clean result or a clean error, never a crash. */
Test(decode, random_damage_is_handled)
{
    char *data = sample(4000);
    ccd_buf_t enc = {0}, out = {0};
    encode(data, 4000, 6, GZIP, &enc);
    uint32_t x = 99;
    for (int i = 0; i < 2000; i++) {
        char *copy = malloc(enc.len);
        memcpy(copy, enc.base, enc.len);
        for (int k = 0; k < 1 + i % 4; k++) {
            x = x * 1103515245 + 12345;
            copy[(x >> 8) % enc.len] ^= (char)(1 + (x >> 24) % 255);
        }
        size_t len = i % 3 == 0 ? (x >> 4) % enc.len : enc.len;
        const char *ce = i % 2 ? "gzip" : "deflate";
        out.len = 0;
        int rc = ccd_decode_body(ce, strlen(ce), copy, len, &out);
        cr_assert(rc == 0 || rc == CCD_EPROTO, "rc %d", rc);
        cr_assert(rc != 0 || out.len <= 64 * 4000);
        free(copy);
    }
    ccd_buf_free(&enc);
    ccd_buf_free(&out);
    free(data);
}

/* The fuzzer's driver, replayed over the checked-in corpus (a failure aborts). */
#include "../corpus.h"
#include "../../fuzz/fuzz_content_encoding.c"

Test(content_encoding_fuzz, corpus_replays)
{
    cr_assert_gt(replay_corpus("content_encoding", LLVMFuzzerTestOneInput), 10);
}
