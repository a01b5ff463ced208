/* libFuzzer driver for the CSV parser: never reads outside its input, reports errors with a
 * line inside it, and what it parses survives a round trip (written back fully quoted, then
 * parsed again, every field is the same). The first byte chooses the header flag. Build and
 * run it (clang, from the repository root):
 *   clang -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_dataset.c src/dataset.c src/error.c -o /tmp/fuzz_dataset
 *   mkdir -p /tmp/corpus && /tmp/fuzz_dataset -max_total_time=300 /tmp/corpus \
 *     tests/fuzz/corpus/dataset
 * The unit tests replay tests/fuzz/corpus/dataset through it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua/dataset.h"
#include "base/error.h"

#define HEADER_ROW SIZE_MAX

/* Field c of row r, or the name of column c for HEADER_ROW. */
static const char *field(const ccd_dataset_t *ds, size_t r, size_t c, size_t *len)
{
    return r == HEADER_ROW ? ccd_dataset_name(ds, c, len) : ccd_dataset_field(ds, r, c, len);
}

/* Appends record r, every field quoted, to out at *n. */
static void put_record(const ccd_dataset_t *ds, size_t r, char *out, size_t *n)
{
    size_t len;
    for (size_t c = 0; c < ccd_dataset_cols(ds); c++) {
        const char *f = field(ds, r, c, &len);
        if (c)
            out[(*n)++] = ',';
        out[(*n)++] = '"';
        for (size_t i = 0; i < len; i++) {
            if (f[i] == '"')
                out[(*n)++] = '"';
            out[(*n)++] = f[i];
        }
        out[(*n)++] = '"';
    }
    out[(*n)++] = '\r';
    out[(*n)++] = '\n';
}

/* Writes ds back as CSV with every field quoted; the caller frees the result. The header
 * comes first: HEADER_ROW + 1 wraps to row 0. */
static char *write_quoted(const ccd_dataset_t *ds, size_t *len)
{
    size_t rows = ccd_dataset_rows(ds), cols = ccd_dataset_cols(ds), flen, cap = 0, n = 0;
    bool named = ccd_dataset_name(ds, 0, &flen) != NULL;
    for (size_t r = named ? HEADER_ROW : 0; r == HEADER_ROW || r < rows; r++) {
        for (size_t c = 0; c < cols; c++)
            cap += 2 * (field(ds, r, c, &flen), flen) + 3;
        cap += 2;
    }
    char *out = malloc(cap ? cap : 1);
    for (size_t r = named ? HEADER_ROW : 0; r == HEADER_ROW || r < rows; r++)
        put_record(ds, r, out, &n);
    *len = n;
    return out;
}

static void check_same(const ccd_dataset_t *a, const ccd_dataset_t *b)
{
    size_t la, lb;
    if (ccd_dataset_rows(a) != ccd_dataset_rows(b) || ccd_dataset_cols(a) != ccd_dataset_cols(b))
        abort();
    for (size_t r = 0; r < ccd_dataset_rows(a); r++)
        for (size_t c = 0; c < ccd_dataset_cols(a); c++) {
            const char *fa = ccd_dataset_field(a, r, c, &la);
            const char *fb = ccd_dataset_field(b, r, c, &lb);
            if (la != lb || memcmp(fa, fb, la) != 0)
                abort();
        }
}

static void round_trip(const ccd_dataset_t *ds, bool header)
{
    if (ccd_dataset_cols(ds) == 0)
        return;
    size_t len;
    char *text = write_quoted(ds, &len);
    ccd_dataset_t *again;
    ccd_dataset_error_t err;
    if (ccd_dataset_parse(text, len, header, &again, &err) != 0)
        abort();
    check_same(ds, again);
    ccd_dataset_free(again);
    free(text);
}

static size_t lines_in(const uint8_t *data, size_t size)
{
    size_t n = 1;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n' || data[i] == '\r';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool header = data[0] & 1;
    char *copy = malloc(size - 1 ? size - 1 : 1); /* exact size: ASan catches any overread */
    memcpy(copy, data + 1, size - 1);
    ccd_dataset_t *ds;
    ccd_dataset_error_t err = {0};
    int rc = ccd_dataset_parse(copy, size - 1, header, &ds, &err);
    if (rc == 0) {
        round_trip(ds, header);
        ccd_dataset_free(ds);
    } else if (rc != CCD_EINVAL || err.line == 0 || err.line > lines_in(data + 1, size - 1) ||
               err.msg[0] == '\0') {
        abort();
    }
    free(copy);
    return 0;
}
