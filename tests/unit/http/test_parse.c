/* Tests of HTTP response parsing: every response split at every byte boundary parses alike. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "http/parse.h"

/* A flattened result, so runs with different splits can be compared byte for byte. */
typedef struct {
    int rc;
    int status;
    bool keep_alive;
    size_t consumed;
    char text[8192];
} outcome_t;

static void flatten(const ccd_http_parser_t *p, outcome_t *o)
{
    int n = snprintf(o->text, sizeof(o->text), "%d [%.*s]\n", p->status, (int)p->reason.len,
                     p->reason.base);
    for (size_t i = 0; i < p->nheaders; i++) {
        ccd_header_t h = ccd_http_parser_header(p, i);
        n += snprintf(o->text + n, sizeof(o->text) - (size_t)n, "%.*s=%.*s\n", (int)h.name.len,
                      h.name.base, (int)h.value.len, h.value.base);
    }
    n += snprintf(o->text + n, sizeof(o->text) - (size_t)n, "body(%zu)=%.*s", p->body.len,
                  (int)p->body.len, p->body.base);
    for (size_t i = p->nheaders; i < p->nheaders + p->ntrailers; i++) {
        ccd_header_t h = ccd_http_parser_header(p, i);
        n += snprintf(o->text + n, sizeof(o->text) - (size_t)n, "\ntrailer %.*s=%.*s",
                      (int)h.name.len, h.name.base, (int)h.value.len, h.value.base);
    }
    o->status = p->status;
    o->keep_alive = p->keep_alive;
}

/* Feeds msg in pieces cut at the given offsets (ascending), then EOF when eof is set. */
static outcome_t run(ccd_http_parser_t *p, const char *msg, size_t len, const size_t *cuts,
                     size_t ncuts, bool head, bool eof)
{
    outcome_t o = {0};
    ccd_http_parser_reset(p, head);
    size_t pos = 0;
    int rc = CCD_HTTP_PARSE_MORE;
    for (size_t i = 0; i <= ncuts && rc == CCD_HTTP_PARSE_MORE; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        size_t used;
        rc = ccd_http_parser_feed(p, msg + pos, end - pos, &used);
        pos += used;
    }
    if (rc == CCD_HTTP_PARSE_MORE && eof)
        rc = ccd_http_parser_finish(p);
    o.rc = rc;
    o.consumed = pos;
    if (rc == CCD_HTTP_PARSE_DONE)
        flatten(p, &o);
    return o;
}

/* Parses msg whole, then split in two at every offset, then one byte at a time: all alike. */
static outcome_t check_splits(const char *msg, bool head, bool eof)
{
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    size_t len = strlen(msg);
    outcome_t whole = run(&p, msg, len, NULL, 0, head, eof);
    for (size_t k = 1; k < len; k++) {
        outcome_t o = run(&p, msg, len, &k, 1, head, eof);
        cr_assert_eq(o.rc, whole.rc, "split at %zu: rc %d vs %d", k, o.rc, whole.rc);
        cr_assert(o.rc < 0 || o.consumed == whole.consumed, "split at %zu: consumed %zu vs %zu", k,
                  o.consumed, whole.consumed);
        cr_assert_eq(o.keep_alive, whole.keep_alive, "split at %zu", k);
        cr_assert_str_eq(o.text, whole.text, "split at %zu", k);
    }
    size_t *cuts = malloc(len * sizeof(*cuts));
    for (size_t k = 0; k + 1 < len; k++)
        cuts[k] = k + 1;
    outcome_t bytes = run(&p, msg, len, cuts, len ? len - 1 : 0, head, eof);
    free(cuts);
    cr_assert_eq(bytes.rc, whole.rc);
    cr_assert_str_eq(bytes.text, whole.text);
    ccd_http_parser_free(&p);
    return whole;
}

Test(http_parse, content_length)
{
    outcome_t o = check_splits("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b c \t \r\n"
                               "X-Empty:\r\n\r\nhello",
                               false, false);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_str_eq(o.text, "200 [OK]\nContent-Length=5\nX-A=b c\nX-Empty=\nbody(5)=hello");
    cr_assert(o.keep_alive);
}

/* llhttp 8.1 accepts one name=value chunk extension (not a list, nor quoted values). Trailers
 * are kept apart from the headers. */
Test(http_parse, chunked_with_extensions_and_trailers)
{
    outcome_t o = check_splits("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n"
                               "Trailer-A: t\r\nSet-Cookie: a=1  \r\n\r\n",
                               false, false);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_str_eq(o.text, "201 [Created]\nTransfer-Encoding=chunked\nbody(12)=hello, world\n"
                             "trailer Trailer-A=t\ntrailer Set-Cookie=a=1");
    cr_assert(o.keep_alive);
}

/* Headers and trailers share the limit on the number of fields. */
Test(http_parse, trailers_count_toward_the_field_limit)
{
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    char msg[8192];
    int n = snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n");
    for (int i = 1; i < CCD_HTTP_MAX_HEADERS; i++)
        n += snprintf(msg + n, sizeof(msg) - (size_t)n, "H%d: v\r\n", i);
    n += snprintf(msg + n, sizeof(msg) - (size_t)n, "\r\n2\r\nok\r\n0\r\nT: t\r\n\r\n");
    outcome_t o = run(&p, msg, (size_t)n, NULL, 0, false, false);
    cr_assert_eq(o.rc, CCD_ETOOBIG);
    ccd_http_parser_free(&p);
}

Test(http_parse, head_has_no_body)
{
    outcome_t o = check_splits("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true, false);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_str_eq(o.text, "200 [OK]\nContent-Length=1000\nbody(0)=");
    cr_assert(o.keep_alive);
}

Test(http_parse, no_body_for_204_and_304)
{
    outcome_t o = check_splits("HTTP/1.1 204 No Content\r\nX: y\r\n\r\n", false, false);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_str_eq(o.text, "204 [No Content]\nX=y\nbody(0)=");
    o = check_splits("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, false);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_str_eq(o.text, "304 [Not Modified]\nContent-Length=10\nbody(0)=");
}

Test(http_parse, interim_1xx_is_skipped)
{
    outcome_t o = check_splits("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                               "Link: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                               false, false);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_str_eq(o.text, "200 [OK]\nContent-Length=2\nbody(2)=ok");
}

Test(http_parse, read_until_close)
{
    outcome_t o = check_splits("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nall of this", false, true);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_str_eq(o.text, "200 [OK]\nServer=x\nbody(11)=all of this");
    cr_assert_not(o.keep_alive);
}

Test(http_parse, connection_close)
{
    outcome_t o = check_splits(
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", false, false);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_not(o.keep_alive);
}

Test(http_parse, http10)
{
    outcome_t o = check_splits("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", false, false);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_not(o.keep_alive);
    o = check_splits("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi",
                     false, false);
    cr_assert(o.keep_alive);
    o = check_splits("HTTP/1.0 200 OK\r\n\r\nuntil close", false, true);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    cr_assert_str_eq(o.text, "200 [OK]\nbody(11)=until close");
}

Test(http_parse, truncated_response_is_closed_early)
{
    outcome_t o = check_splits("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, true);
    cr_assert_eq(o.rc, CCD_ECLOSED);
    o = check_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", false, true);
    cr_assert_eq(o.rc, CCD_ECLOSED);
    o = check_splits("HTTP/1.1 200", false, true);
    cr_assert_eq(o.rc, CCD_ECLOSED);
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    cr_assert_eq(ccd_http_parser_finish(&p), CCD_ECLOSED, "EOF before any byte");
    ccd_http_parser_free(&p);
}

/* Feeds msg whole (then EOF when eof) and returns where the parser stopped. */
static const char *stopped_in(const char *msg, bool eof)
{
    ccd_http_parser_t p;
    size_t used;
    ccd_http_parser_init(&p);
    int rc = ccd_http_parser_feed(&p, msg, strlen(msg), &used);
    if (rc == CCD_HTTP_PARSE_MORE && eof)
        rc = ccd_http_parser_finish(&p);
    cr_assert(rc < 0, "%s: rc %d", msg, rc);
    const char *where = ccd_http_parser_where(&p);
    ccd_http_parser_free(&p);
    return where;
}

Test(http_parse, errors_say_where_the_response_broke)
{
    cr_assert_str_eq(stopped_in("HTTP/1.1 20", true), "the status line");
    cr_assert_str_eq(stopped_in("nonsense\r\n", false), "the status line");
    cr_assert_str_eq(stopped_in("HTTP/1.1 200 OK\r\nX-A: b", true), "the headers");
    cr_assert_str_eq(stopped_in("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", true),
                     "the body");
    cr_assert_str_eq(
        stopped_in("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false),
        "the chunked body");
}

/* Past max_body the body is counted, not kept, however it is split and framed. */
Test(http_parse, max_body_keeps_the_start_and_counts_the_rest)
{
    const char *msgs[] = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3\r\n012\r\n7\r\n3456789\r\n0\r\n\r\n"};
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    for (size_t m = 0; m < 2; m++) {
        for (size_t max = 0; max <= 12; max++) {
            size_t len = strlen(msgs[m]), used = 0;
            ccd_http_parser_reset(&p, false);
            p.max_body = max;
            int rc = CCD_HTTP_PARSE_MORE;
            for (size_t i = 0; i < len && rc == CCD_HTTP_PARSE_MORE; i++)
                rc = ccd_http_parser_feed(&p, msgs[m] + i, 1, &used);
            cr_assert_eq(rc, CCD_HTTP_PARSE_DONE);
            cr_assert_eq(p.body_bytes, 10);
            cr_assert_eq(p.body.len, max < 10 ? max : 10);
            cr_assert(memcmp(p.body.base, "0123456789", p.body.len) == 0);
        }
    }
    ccd_http_parser_reset(&p, false);
    cr_assert_eq(p.max_body, SIZE_MAX, "a reset keeps the whole body again");
    ccd_http_parser_free(&p);
}

Test(http_parse, two_responses_in_one_buffer)
{
    const char *two =
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n";
    size_t len = strlen(two), used;
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    cr_assert_eq(ccd_http_parser_feed(&p, two, len, &used), CCD_HTTP_PARSE_DONE);
    cr_assert_eq(used, strlen("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"));
    cr_assert_eq(p.status, 200);
    cr_assert_eq(p.body.len, 3);
    cr_assert(memcmp(p.body.base, "one", 3) == 0);
    ccd_http_parser_reset(&p, false);
    size_t used2;
    cr_assert_eq(ccd_http_parser_feed(&p, two + used, len - used, &used2), CCD_HTTP_PARSE_DONE);
    cr_assert_eq(used + used2, len);
    cr_assert_eq(p.status, 404);
    cr_assert_eq(p.body.len, 3);
    cr_assert(memcmp(p.body.base, "two", 3) == 0);
    ccd_http_parser_free(&p);
}

Test(http_parse, garbage_is_an_error)
{
    const char *bad[] = {"HTTP/1.1 abc OK\r\n\r\n", "SSH-2.0-OpenSSH_9.2\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                         "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        outcome_t o = check_splits(bad[i], false, true);
        cr_assert_eq(o.rc, CCD_EPROTO, "\"%s\" gave %d", bad[i], o.rc);
    }
}

Test(http_parse, oversized_headers)
{
    size_t big = CCD_HTTP_MAX_HEADER_BYTES + 100;
    char *msg = malloc(big + 64);
    int n = sprintf(msg, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(msg + n, 'a', big);
    strcpy(msg + n + big, "\r\n\r\n");
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    outcome_t o = run(&p, msg, strlen(msg), NULL, 0, false, false);
    cr_assert_eq(o.rc, CCD_ETOOBIG);
    ccd_http_parser_free(&p);
    free(msg);
}

Test(http_parse, too_many_headers)
{
    char msg[8192];
    int n = sprintf(msg, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i <= CCD_HTTP_MAX_HEADERS; i++)
        n += sprintf(msg + n, "H%d: v\r\n", i);
    sprintf(msg + n, "\r\n");
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    outcome_t o = run(&p, msg, strlen(msg), NULL, 0, false, false);
    cr_assert_eq(o.rc, CCD_ETOOBIG);
    ccd_http_parser_free(&p);
}

#define OK_HI "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"

Test(http_parse, buffers_are_reused_and_trimmed)
{
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    outcome_t o = run(&p, OK_HI, strlen(OK_HI), NULL, 0, false, false);
    cr_assert_eq(o.rc, CCD_HTTP_PARSE_DONE);
    char *hbuf = p._h.base;
    o = run(&p, OK_HI, strlen(OK_HI), NULL, 0, false, false);
    cr_assert_eq(p._h.base, hbuf, "the header buffer is reused");
    ccd_http_parser_trim(&p, 0);
    cr_assert_null(p._h.base);
    cr_assert_null(p._b.base);
    ccd_http_parser_free(&p);
}

/* The fuzzer's driver, replayed over the checked-in corpus (a failure aborts). */
#include "../corpus.h"
#include "../../fuzz/fuzz_http_parse.c"

Test(http_parse, fuzz_corpus_replays)
{
    cr_assert_gt(replay_corpus("http_parse", LLVMFuzzerTestOneInput), 0);
}
