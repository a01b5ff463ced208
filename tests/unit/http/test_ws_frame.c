/* WebSocket framing and handshake: every length form, masking, fragments, control frames
 * between fragments, malformed frames, limits, UTF-8, close codes, the accept key. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "http/ws_frame.h"
#include "http/ws_handshake.h"

/* A server frame (unmasked) into out; returns its length. */
static size_t frame(char *out, bool fin, int op, const char *payload, size_t len)
{
    size_t hl = ccd_ws_frame_header(out, fin, op, len, NULL);
    memcpy(out + hl, payload, len);
    return hl + len;
}

static int read1(ccd_ws_reader_t *r, const char *buf, size_t len, size_t *used, ccd_ws_msg_t *m)
{
    const char *why = NULL;
    return ccd_ws_read(r, buf, len, used, m, &why);
}

static const char *why_of(const char *buf, size_t len, uint64_t max)
{
    ccd_ws_reader_t r;
    ccd_ws_reader_init(&r, max);
    size_t used, pos = 0;
    ccd_ws_msg_t m;
    const char *why = NULL;
    int rc;
    while ((rc = ccd_ws_read(&r, buf + pos, len - pos, &used, &m, &why)) > 0)
        pos += used;
    ccd_ws_reader_free(&r);
    return rc < 0 ? why : NULL;
}

Test(ws_frame, header_length_forms)
{
    static const struct {
        uint64_t len;
        size_t hl;
    } cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {1ULL << 40, 10}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char h[CCD_WS_MAX_HEADER];
        size_t hl = ccd_ws_frame_header(h, true, CCD_WS_BINARY, cases[i].len, NULL);
        cr_assert_eq(hl, cases[i].hl, "length %llu", (unsigned long long)cases[i].len);
        ccd_ws_frame_t f;
        const char *why;
        cr_assert_eq(ccd_ws_frame_parse(h, hl, &f, &why), (int)hl);
        cr_assert_eq(f.len, cases[i].len);
        cr_assert(f.fin && !f.masked && f.opcode == CCD_WS_BINARY);
        for (size_t k = 0; k < hl; k++) /* any prefix asks for more */
            cr_assert_eq(ccd_ws_frame_parse(h, k, &f, &why), 0);
    }
}

Test(ws_frame, exact_bytes_of_a_masked_client_frame)
{
    /* RFC 6455 5.7: a masked "Hello" with key 37 fa 21 3d. */
    const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    char buf[32];
    size_t hl = ccd_ws_frame_header(buf, true, CCD_WS_TEXT, 5, key);
    memcpy(buf + hl, "Hello", 5);
    ccd_ws_mask(buf + hl, 5, key, 0);
    const unsigned char want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    cr_assert_eq(hl + 5, sizeof(want));
    cr_assert_eq(memcmp(buf, want, sizeof(want)), 0);
}

Test(ws_frame, masking_at_any_offset_and_length)
{
    const uint8_t key[4] = {1, 2, 3, 0xff};
    char a[100], b[100];
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (char)(i * 7);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n < 40; n++) {
            memcpy(b, a, sizeof(a));
            ccd_ws_mask(b + 3, n, key, off);
            for (size_t i = 0; i < n; i++)
                cr_assert_eq((uint8_t)b[3 + i], (uint8_t)(a[3 + i] ^ key[(off + i) % 4]));
            cr_assert_eq(b[3 + n], a[3 + n], "no byte past the end");
        }
}

Test(ws_frame, reads_the_rfc_examples)
{
    ccd_ws_reader_t r;
    ccd_ws_reader_init(&r, 1 << 20);
    size_t used;
    ccd_ws_msg_t m;
    /* A single-frame unmasked text message, then "Hel" + "lo" in two fragments. */
    const char one[] = "\x81\x05Hello";
    cr_assert_eq(read1(&r, one, 7, &used, &m), 1);
    cr_assert_eq(used, 7);
    cr_assert_eq(m.type, CCD_WS_TEXT);
    cr_assert(ccd_slice_eq_str(m.data, "Hello"));
    const char frag[] = "\x01\x03Hel\x80\x02lo";
    cr_assert_eq(read1(&r, frag, 5, &used, &m), 2);
    cr_assert_eq(read1(&r, frag + 5, 4, &used, &m), 1);
    cr_assert_eq(m.type, CCD_WS_TEXT);
    cr_assert(ccd_slice_eq_str(m.data, "Hello"));
    /* An unmasked ping. */
    cr_assert_eq(read1(&r, "\x89\x05Hello", 7, &used, &m), 1);
    cr_assert_eq(m.type, CCD_WS_PING);
    cr_assert(ccd_slice_eq_str(m.data, "Hello"));
    /* 256 bytes of binary data in a single unmasked message. */
    char big[4 + 256];
    memcpy(big, "\x82\x7E\x01\x00", 4);
    memset(big + 4, 'x', 256);
    cr_assert_eq(read1(&r, big, 3, &used, &m), 0);
    cr_assert_eq(read1(&r, big, 100, &used, &m), 0);
    cr_assert_eq(r.need, sizeof(big), "the whole frame's size is known from its header");
    cr_assert_eq(read1(&r, big, sizeof(big), &used, &m), 1);
    cr_assert_eq(m.type, CCD_WS_BINARY);
    cr_assert_eq(m.data.len, 256);
    ccd_ws_reader_free(&r);
}

Test(ws_frame, control_frames_between_fragments)
{
    char buf[256];
    size_t n = frame(buf, false, CCD_WS_BINARY, "ab", 2);
    n += frame(buf + n, true, CCD_WS_PING, "p", 1);
    n += frame(buf + n, false, CCD_WS_CONT, "cd", 2);
    n += frame(buf + n, true, CCD_WS_PONG, "", 0);
    n += frame(buf + n, true, CCD_WS_CONT, "ef", 2);
    ccd_ws_reader_t r;
    ccd_ws_reader_init(&r, 100);
    size_t used, pos = 0;
    ccd_ws_msg_t m;
    int seen[8], k = 0, rc;
    while ((rc = read1(&r, buf + pos, n - pos, &used, &m)) > 0) {
        pos += used;
        if (rc == 1)
            seen[k++] = m.type;
    }
    cr_assert_eq(rc, 0);
    cr_assert_eq(pos, n);
    cr_assert_eq(k, 3);
    cr_assert_eq(seen[0], CCD_WS_PING);
    cr_assert_eq(seen[1], CCD_WS_PONG);
    cr_assert_eq(seen[2], CCD_WS_BINARY);
    cr_assert(ccd_slice_eq_str(m.data, "abcdef"));
    ccd_ws_reader_free(&r);
}

Test(ws_frame, close_frames)
{
    ccd_ws_reader_t r;
    ccd_ws_reader_init(&r, 100);
    size_t used;
    ccd_ws_msg_t m;
    cr_assert_eq(read1(&r, "\x88\x00", 2, &used, &m), 1);
    cr_assert_eq(m.close_code, CCD_WS_NO_STATUS);
    cr_assert_eq(read1(&r,
                       "\x88\x05\x03\xe8"
                       "bye",
                       7, &used, &m),
                 1);
    cr_assert_eq(m.close_code, 1000);
    cr_assert(ccd_slice_eq_str(m.reason, "bye"));
    cr_assert_eq(read1(&r, "\x88\x02\x0f\xa0", 4, &used, &m), 1, "4000 is an application code");
    cr_assert_eq(m.close_code, 4000);
    ccd_ws_reader_free(&r);
    cr_assert_str_eq(why_of("\x88\x01\x03", 3, 100), "a close frame of one byte");
    cr_assert_str_eq(why_of("\x88\x02\x03\xed", 4, 100), "an invalid close code"); /* 1005 */
    cr_assert_str_eq(why_of("\x88\x02\x03\xee", 4, 100), "an invalid close code"); /* 1006 */
    cr_assert_str_eq(why_of("\x88\x02\x13\x88", 4, 100), "an invalid close code"); /* 5000 */
    cr_assert_str_eq(why_of("\x88\x03\x03\xe8\xff", 5, 100), "a close reason that is not UTF-8");
    cr_assert(ccd_ws_close_code_valid(1000) && ccd_ws_close_code_valid(1011));
    cr_assert(!ccd_ws_close_code_valid(999) && !ccd_ws_close_code_valid(1004));
    cr_assert(!ccd_ws_close_code_valid(1015) && !ccd_ws_close_code_valid(2999));
}

Test(ws_frame, malformed_frames)
{
    cr_assert_str_eq(why_of("\xc1\x00", 2, 100),
                     "reserved bits set in a frame (no extension was agreed)");
    cr_assert_str_eq(why_of("\x83\x00", 2, 100), "a frame with an unknown opcode");
    cr_assert_str_eq(why_of("\x8b\x00", 2, 100), "a frame with an unknown opcode");
    cr_assert_str_eq(why_of("\x09\x00", 2, 100), "a fragmented control frame");
    cr_assert_str_eq(why_of("\x89\x7e\x00\x7e", 4, 1000), "a control frame over 125 bytes");
    cr_assert_str_eq(why_of("\x82\x7e\x00\x7d", 4, 1000), "a 16-bit frame length under 126");
    cr_assert_str_eq(why_of("\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff", 10, 1000),
                     "a 64-bit frame length under 65536");
    cr_assert_str_eq(why_of("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, 1000),
                     "a 64-bit frame length with its top bit set");
    cr_assert_str_eq(why_of("\x81\x81\x01\x02\x03\x04x", 7, 100), "a masked frame from the server");
    cr_assert_str_eq(why_of("\x80\x01x", 3, 100),
                     "a continuation frame outside a fragmented message");
    cr_assert_str_eq(why_of("\x01\x01x\x81\x01y", 6, 100), "a new message inside a fragmented one");
    cr_assert_str_eq(why_of("\x81\x02\xc3\x28", 4, 100), "a text message that is not UTF-8");
    cr_assert_null(why_of("\x82\x02\xc3\x28", 4, 100), "binary is not checked");
}

Test(ws_frame, message_size_limit)
{
    char buf[512];
    memset(buf, 'a', sizeof(buf));
    size_t n = frame(buf, true, CCD_WS_TEXT, buf + 300, 101);
    cr_assert_null(why_of(buf, n, 101));
    cr_assert_str_eq(why_of(buf, n, 100), "a message over the size limit");
    /* Fragments that add up past the limit, refused at the header of the one that crosses. */
    n = frame(buf, false, CCD_WS_TEXT, buf + 300, 60);
    size_t n2 = n + ccd_ws_frame_header(buf + n, true, CCD_WS_CONT, 60, NULL);
    ccd_ws_reader_t r;
    ccd_ws_reader_init(&r, 100);
    size_t used;
    ccd_ws_msg_t m;
    const char *why;
    cr_assert_eq(ccd_ws_read(&r, buf, n, &used, &m, &why), 2);
    cr_assert_eq(ccd_ws_read(&r, buf + n, n2 - n, &used, &m, &why), CCD_ETOOBIG,
                 "before the payload arrives");
    cr_assert_eq(r.error_code, CCD_WS_TOO_BIG);
    ccd_ws_reader_free(&r);
}

Test(ws_frame, utf8)
{
    cr_assert(ccd_ws_utf8_valid("", 0));
    cr_assert(ccd_ws_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
    cr_assert(ccd_ws_utf8_valid("\xf4\x8f\xbf\xbf", 4), "U+10FFFF");
    cr_assert(!ccd_ws_utf8_valid("\xc0\xaf", 2), "overlong");
    cr_assert(!ccd_ws_utf8_valid("\xe0\x80\xaf", 3), "overlong");
    cr_assert(!ccd_ws_utf8_valid("\xed\xa0\x80", 3), "surrogate");
    cr_assert(!ccd_ws_utf8_valid("\xf4\x90\x80\x80", 4), "over U+10FFFF");
    cr_assert(!ccd_ws_utf8_valid("\xe2\x82", 2), "truncated");
    cr_assert(!ccd_ws_utf8_valid("\x80", 1), "a lone continuation byte");
    cr_assert(!ccd_ws_utf8_valid("\xe2\x28\xa1", 3));
}

Test(ws_frame, text_split_inside_a_character_across_fragments)
{
    char buf[64];
    size_t n = frame(buf, false, CCD_WS_TEXT, "\xe2\x82", 2);
    n += frame(buf + n, true, CCD_WS_CONT, "\xac", 1);
    cr_assert_null(why_of(buf, n, 100));
}

/* ---- the handshake ---- */

Test(ws_handshake, accept_key_of_the_rfc)
{
    char acc[CCD_WS_ACCEPT_LEN];
    ccd_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, acc);
    cr_assert_eq(memcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28), 0);
    const unsigned char nonce[16] = "the sample nonce";
    char key[CCD_WS_KEY_LEN];
    ccd_ws_key(nonce, key);
    cr_assert_eq(memcmp(key, "dGhlIHNhbXBsZSBub25jZQ==", 24), 0);
}

Test(ws_handshake, urls)
{
    ccd_url_t u;
    bool tls;
    const char *s = "ws://127.0.0.1/chat?room=1";
    cr_assert_eq(ccd_ws_url_parse(s, strlen(s), &u, &tls), 0);
    cr_assert(!tls && u.port == 80 && u.default_port);
    cr_assert(ccd_slice_eq_str(u.path, "/chat") && ccd_slice_eq_str(u.query, "?room=1"));
    s = "wss://example.com:8443/";
    cr_assert_eq(ccd_ws_url_parse(s, strlen(s), &u, &tls), 0);
    cr_assert(tls && u.port == 8443 && !u.default_port);
    s = "wss://example.com";
    cr_assert_eq(ccd_ws_url_parse(s, strlen(s), &u, &tls), 0);
    cr_assert(tls && u.port == 443 && u.default_port);
    s = "ftp://example.com/";
    cr_assert_eq(ccd_ws_url_parse(s, strlen(s), &u, &tls), CCD_EURL);
}

Test(ws_handshake, request_bytes)
{
    ccd_url_t u;
    bool tls;
    const char *s = "ws://localhost:9000/chat";
    cr_assert_eq(ccd_ws_url_parse(s, strlen(s), &u, &tls), 0);
    ccd_header_t h[] = {{{"Origin", 6}, {"http://x", 8}}};
    ccd_ws_request_t r = {.key = "dGhlIHNhbXBsZSBub25jZQ==",
                          .protocols = "chat, superchat",
                          .headers = h,
                          .nheaders = 1,
                          .user_agent = "cicada/test"};
    ccd_buf_t b = {0};
    cr_assert_eq(ccd_ws_request(&r, (ccd_slice_t){s, strlen(s)}, &u, &b), 0);
    char *text = strndup(b.base, b.len);
    cr_assert_str_eq(text, "GET /chat HTTP/1.1\r\n"
                           "Host: localhost:9000\r\n"
                           "User-Agent: cicada/test\r\n"
                           "Upgrade: websocket\r\n"
                           "Connection: Upgrade\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Protocol: chat, superchat\r\n"
                           "Origin: http://x\r\n"
                           "\r\n");
    free(text);
    ccd_buf_free(&b);
}

/* The protocol the last check() saw chosen (a copy: the parser's memory is gone by then). */
static char chosen_text[64];

/* Parses a whole response and checks it as the answer to the RFC's sample key. */
static int check(const char *resp, const char *protocols, ccd_slice_t *chosen, char *why)
{
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    size_t used;
    cr_assert_eq(ccd_http_parser_feed(&p, resp, strlen(resp), &used), CCD_HTTP_PARSE_DONE);
    cr_assert_eq(used, strlen(resp) - 2, "%zu of %s", used, resp);
    int rc = ccd_ws_check_response(&p, "dGhlIHNhbXBsZSBub25jZQ==", protocols, chosen, why, 200);
    snprintf(chosen_text, sizeof(chosen_text), "%.*s", rc ? 0 : (int)chosen->len,
             rc ? "" : chosen->base);
    chosen->base = chosen_text;
    ccd_http_parser_free(&p);
    return rc;
}

#define OK_HEAD                                                                                    \
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, "           \
    "Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"

Test(ws_handshake, answers)
{
    ccd_slice_t chosen;
    char why[200];
    cr_assert_eq(check(OK_HEAD "\r\nxx", NULL, &chosen, why), 0, "%s", why);
    cr_assert_eq(chosen.len, 0);
    cr_assert_eq(check(OK_HEAD "Sec-WebSocket-Protocol: superchat\r\n\r\nxx", "chat, superchat",
                       &chosen, why),
                 0, "%s", why);
    cr_assert(ccd_slice_eq_str(chosen, "superchat"));
    cr_assert_eq(check(OK_HEAD "Sec-WebSocket-Protocol: other\r\n\r\nxx", "chat", &chosen, why),
                 CCD_EPROTO);
    cr_assert_str_eq(why, "the server chose a protocol not offered: other");
    cr_assert_eq(
        check(OK_HEAD "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\nxx", NULL, &chosen, why),
        CCD_EPROTO);
    cr_assert_str_eq(why, "bad handshake: an extension not offered: permessage-deflate");
    cr_assert_eq(check("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                       "Sec-WebSocket-Accept: AAAA\r\n\r\nxx",
                       NULL, &chosen, why),
                 CCD_EPROTO);
    cr_assert_str_eq(why, "bad handshake: wrong Sec-WebSocket-Accept 'AAAA'");
    cr_assert_eq(check("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nxx", NULL, &chosen, why),
                 CCD_EPROTO);
    cr_assert_str_eq(why, "bad handshake: status 404 Not Found (expected 101)");
}

/* The fuzzer's driver, replayed over the checked-in corpus (a failure aborts). */
#include "../corpus.h"
#include "../../fuzz/fuzz_ws_frame.c"

Test(ws_frame, fuzz_corpus_replays)
{
    cr_assert_gt(replay_corpus("ws_frame", LLVMFuzzerTestOneInput), 0);
}
