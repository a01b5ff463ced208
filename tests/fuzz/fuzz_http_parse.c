/* libFuzzer driver for the response parser: never crashes, and any split parses alike. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"

typedef struct {
    int rc;
    size_t consumed;
    int status;
    size_t nheaders, reason_len, body_len;
    bool keep_alive;
} fuzz_outcome_t;

static fuzz_outcome_t fuzz_run(ccd_http_parser_t *p, const char *d, size_t n, size_t cut, bool head)
{
    fuzz_outcome_t o = {0};
    size_t used = 0, pos = 0;
    ccd_http_parser_reset(p, head);
    int rc = ccd_http_parser_feed(p, d, cut, &used);
    pos = used;
    if (rc == CCD_HTTP_PARSE_MORE) {
        rc = ccd_http_parser_feed(p, d + cut, n - cut, &used);
        pos += used;
    }
    if (rc == CCD_HTTP_PARSE_MORE)
        rc = ccd_http_parser_finish(p);
    o.rc = rc;
    if (rc == CCD_HTTP_PARSE_DONE) {
        o.consumed = pos;
        o.status = p->status;
        o.nheaders = p->nheaders;
        o.reason_len = p->reason.len;
        o.body_len = p->body.len;
        o.keep_alive = p->keep_alive;
        for (size_t i = 0; i < p->nheaders; i++) /* touch every byte: ASan checks the slices */
            o.body_len += ccd_http_parser_header(p, i).name.len &&
                          ccd_http_parser_header(p, i).name.base[0] == 0;
    }
    return o;
}

/* Field by field: a struct's padding bytes are not part of its value. */
static bool fuzz_same(const fuzz_outcome_t *a, const fuzz_outcome_t *b)
{
    return a->rc == b->rc && a->consumed == b->consumed && a->status == b->status &&
           a->nheaders == b->nheaders && a->reason_len == b->reason_len &&
           a->body_len == b->body_len && a->keep_alive == b->keep_alive;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    bool head = data[0] & 1;
    size_t cut = data[1] % (size - 1);
    const char *d = (const char *)data + 2;
    size_t n = size - 2;
    cut = cut > n ? n : cut;
    ccd_http_parser_t p;
    ccd_http_parser_init(&p);
    fuzz_outcome_t whole = fuzz_run(&p, d, n, n, head);
    fuzz_outcome_t split = fuzz_run(&p, d, n, cut, head);
    if (whole.rc != split.rc || (whole.rc == CCD_HTTP_PARSE_DONE && !fuzz_same(&whole, &split)))
        abort();
    ccd_http_parser_free(&p);
    return 0;
}
