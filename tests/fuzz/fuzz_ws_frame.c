/* libFuzzer driver for the WebSocket reader: never crashes, any split of the input reads
 * alike, and a header written then read comes back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws_frame.h"

typedef struct {
    int rc;
    size_t pos, messages, bytes;
    unsigned types; /* a checksum of the types, in order */
} fuzz_ws_outcome_t;

/* Reads the frames of d[0..n), seeing only the first cut bytes until they run out. */
static fuzz_ws_outcome_t fuzz_ws_run(const char *d, size_t n, size_t cut)
{
    fuzz_ws_outcome_t o = {0};
    ccd_ws_reader_t r;
    ccd_ws_reader_init(&r, 4096);
    size_t visible = cut;
    for (;;) {
        size_t used;
        ccd_ws_msg_t m;
        const char *why;
        int rc = ccd_ws_read(&r, d + o.pos, visible - o.pos, &used, &m, &why);
        if (rc == 0 && visible < n) {
            visible = n;
            continue;
        }
        o.rc = rc;
        if (rc <= 0)
            break;
        o.pos += used;
        if (rc == 1) {
            o.messages++;
            o.bytes += m.data.len;
            o.types = o.types * 31 + (unsigned)m.type;
            for (size_t i = 0; i < m.data.len; i++) /* ASan checks the slice */
                o.bytes += m.data.base[i] == 0x7f;
        }
    }
    ccd_ws_reader_free(&r);
    return o;
}

/* Writes a header from the first bytes' choices, masks a payload, and reads both back. */
static void fuzz_ws_roundtrip(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t len = (uint64_t)data[0] << 16 | (uint64_t)data[1] << 8 | data[2];
    len >>= data[3] % 24;
    int op = data[3] & 1 ? CCD_WS_TEXT : CCD_WS_BINARY;
    uint8_t mask[4] = {data[4], data[5], data[6], data[7]};
    char h[CCD_WS_MAX_HEADER];
    size_t hl = ccd_ws_frame_header(h, true, op, len, mask);
    ccd_ws_frame_t f;
    const char *why;
    if (ccd_ws_frame_parse(h, hl, &f, &why) != (int)hl || f.len != len || !f.masked ||
        memcmp(f.mask, mask, 4) != 0 || f.opcode != op || !f.fin)
        abort();
    size_t n = size - 8, off = data[0] % 4;
    char *p = malloc(n + 1);
    memcpy(p, data + 8, n);
    ccd_ws_mask(p, n, mask, off);
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)p[i] != (data[8 + i] ^ mask[(off + i) % 4]))
            abort();
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *d = (const char *)data + 1;
    size_t n = size - 1;
    size_t cut = n ? data[0] % (n + 1) : 0;
    fuzz_ws_outcome_t whole = fuzz_ws_run(d, n, n);
    fuzz_ws_outcome_t split = fuzz_ws_run(d, n, cut);
    if (whole.rc != split.rc || whole.pos != split.pos || whole.messages != split.messages ||
        whole.bytes != split.bytes || whole.types != split.types)
        abort();
    ccd_ws_utf8_valid(d, n);
    fuzz_ws_roundtrip(data, size);
    return 0;
}
