/* libFuzzer driver for Locust's message frames: decoding never crashes and every refusal has
 * a reason; a `stats` message's data merges into a delta without crash or leak, and a delta
 * that merged packs into a frame that decodes and merges to the same counts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "dist/stats_wire.h"
#include "dist/wire.h"

/* Merges the data of a `stats` frame into a new delta; NULL when it is refused. */
static ccd_stats_t *merge_frame(const void *buf, size_t len)
{
    ccd_wire_msg_t m;
    char err[160] = "";
    ccd_stats_t *s = NULL;
    int rc = ccd_wire_decode(&m, buf, len, err, sizeof(err));
    if (rc == CCD_EPROTO && !err[0])
        abort();
    if (rc == 0 && ccd_wire_is(&m, "stats")) {
        s = ccd_stats_new(1700000000.0);
        long users;
        rc = ccd_stats_wire_merge(s, m.data, &users, err, sizeof(err));
        if (rc == CCD_EPROTO && !err[0])
            abort();
        const ccd_stats_entry_t *t = ccd_stats_total(s);
        if (t->num_requests && ccd_stats_percentile_ms(t, 0.5) > ccd_stats_max_ms(t))
            abort();
        if (rc) {
            ccd_stats_free(s);
            s = NULL;
        }
    }
    ccd_wire_msg_free(&m);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ccd_stats_t *s = merge_frame(data, size);
    if (!s)
        return 0;
    ccd_buf_t b = {0};
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &b, "stats");
    if (ccd_stats_wire_pack(&p.pk, s, NULL) || ccd_wire_end(&p, "node"))
        abort();
    ccd_stats_t *again = merge_frame(b.base, b.len);
    if (!again || ccd_stats_count(again) != ccd_stats_count(s) ||
        ccd_stats_error_count(again) != ccd_stats_error_count(s))
        abort();
    for (size_t i = 0; i < ccd_stats_count(s); i++)
        if (ccd_stats_get(s, i)->num_requests != ccd_stats_get(again, i)->num_requests ||
            ccd_stats_get(s, i)->num_failures != ccd_stats_get(again, i)->num_failures)
            abort();
    ccd_stats_free(again);
    ccd_stats_free(s);
    ccd_buf_free(&b);
    return 0;
}
