/* Log-linear (HDR-style) histogram of response times in microseconds, 3 significant digits. */
#ifndef CCD_HIST_H
#define CCD_HIST_H

#include <stdbool.h>
#include <stdint.h>

/* Layout: band 0 counts the values 0..2047 exactly (one bucket per microsecond); band b >= 1
 * covers [1024 << b, 2048 << b) with 1024 buckets of width 1 << b, so a bucket is never wider
 * than 1/1024 of the values it holds. 23 bands reach 2^33 us (about 2.4 hours); larger values
 * are counted in the top bucket (callers keep the exact maximum themselves). */
#define CCD_HIST_SUB_BITS 10
#define CCD_HIST_HALF     (1u << CCD_HIST_SUB_BITS) /* buckets in bands >= 1 */
#define CCD_HIST_BAND0    (2u * CCD_HIST_HALF)      /* buckets in band 0 */
#define CCD_HIST_BANDS    23
#define CCD_HIST_MAX      ((UINT64_C(2048) << (CCD_HIST_BANDS - 1)) - 1) /* top of the range */

/* Embed by value. Each band's counts are allocated on its first value and kept until
 * ccd_hist_destroy(), so memory is bounded (at most 196 KiB besides the struct) and recording
 * allocates nothing once the bands in use exist. Not thread-safe: one owner at a time. */
typedef struct {
    uint64_t *_bands[CCD_HIST_BANDS];     /* NULL until the band's first value */
    uint64_t _band_count[CCD_HIST_BANDS]; /* samples per band: lookups skip whole bands */
    uint64_t _count;
} ccd_hist_t;

/* Walks the non-empty buckets in increasing value order. */
typedef struct {
    const ccd_hist_t *_h;
    unsigned _band, _idx;
    uint64_t value; /* the bucket's lowest value; ccd_hist_record_n(value) refills that bucket */
    uint64_t count; /* samples in the bucket */
} ccd_hist_iter_t;

/* Makes h empty; allocates nothing. */
void ccd_hist_init(ccd_hist_t *h);

/* Frees the bands; h is empty afterwards and may be reused. */
void ccd_hist_destroy(ccd_hist_t *h);

/* Counts one value (microseconds; negative values count as 0, values above CCD_HIST_MAX in
 * the top bucket). The hot path: allocates only the first time a band is used. Returns 0, or
 * CCD_ENOMEM with h unchanged. */
int ccd_hist_record(ccd_hist_t *h, int64_t v_us);

/* Counts n samples of one value, as ccd_hist_record(); n == 0 changes nothing. */
int ccd_hist_record_n(ccd_hist_t *h, int64_t v_us, uint64_t n);

/* Allocates the band that v_us falls in, so that a following record of v_us cannot fail.
 * Returns 0 or CCD_ENOMEM. */
int ccd_hist_reserve(ccd_hist_t *h, int64_t v_us);

/* Adds src's buckets to dst's; src is unchanged. Returns 0, or CCD_ENOMEM with dst unchanged. */
int ccd_hist_merge(ccd_hist_t *dst, const ccd_hist_t *src);

/* Zeroes every count, keeping the bands allocated for reuse. */
void ccd_hist_reset(ccd_hist_t *h);

/* Samples counted since init or reset. */
uint64_t ccd_hist_count(const ccd_hist_t *h);

/* The value of the ceil(q * count)-th smallest sample, exact to its bucket: returns the
 * bucket's midpoint (its lowest value plus half its width, the exact value in band 0), so the
 * error is at most 1/2048 of the value. q <= 0 selects the first sample, q >= 1 the last.
 * Returns 0 when h is empty. */
int64_t ccd_hist_value_at_quantile(const ccd_hist_t *h, double q);

/* Bucket geometry of a value: its bucket's lowest value and width (1 in band 0). */
uint64_t ccd_hist_lowest_equivalent(int64_t v_us);
uint64_t ccd_hist_bucket_width(int64_t v_us);

/* Starts a walk over h's non-empty buckets; h must not change during the walk. */
void ccd_hist_iter_init(ccd_hist_iter_t *it, const ccd_hist_t *h);

/* Moves to the next non-empty bucket, filling value and count; false at the end. */
bool ccd_hist_iter_next(ccd_hist_iter_t *it);

#endif
