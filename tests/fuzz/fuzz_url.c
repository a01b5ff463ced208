/* libFuzzer driver for URL parsing: never reads outside the input, slices stay inside it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/url.h"

static void check_inside(ccd_slice_t s, const char *base, size_t size)
{
    if (s.len && (s.base < base || s.base + s.len > base + size) && s.base[0] != '/')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1); /* exact size: ASan catches any overread */
    memcpy(copy, data, size);
    ccd_url_t u;
    if (ccd_url_parse(copy, size, &u) == 0) {
        check_inside(u.host, copy, size);
        check_inside(u.path, copy, size);
        check_inside(u.query, copy, size);
        if (u.host.len == 0 || u.path.len == 0 || u.path.base[0] != '/')
            abort();
    }
    free(copy);
    return 0;
}
