/* Log-linear histogram of microsecond values: bucket geometry, lazy bands, quantiles. */
#include "stats/hist.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static unsigned band_size(unsigned band)
{
    return band ? CCD_HIST_HALF : CCD_HIST_BAND0;
}

static uint64_t clamp_value(int64_t v)
{
    if (v < 0)
        return 0;
    return (uint64_t)v > CCD_HIST_MAX ? CCD_HIST_MAX : (uint64_t)v;
}

/* Band b >= 1 holds [1024 << b, 2048 << b): its values have their top bit at b + 10. */
static void locate(int64_t v_us, unsigned *band, unsigned *idx)
{
    uint64_t v = clamp_value(v_us);
    if (v < CCD_HIST_BAND0) {
        *band = 0;
        *idx = (unsigned)v;
        return;
    }
    unsigned b = (unsigned)(63 - __builtin_clzll(v)) - CCD_HIST_SUB_BITS;
    *band = b;
    *idx = (unsigned)(v >> b) - CCD_HIST_HALF;
}

static uint64_t bucket_lowest(unsigned band, unsigned idx)
{
    if (band == 0)
        return idx;
    return (uint64_t)(CCD_HIST_HALF + idx) << band;
}

static uint64_t bucket_width(unsigned band)
{
    return band ? UINT64_C(1) << band : 1;
}

static int ensure_band(ccd_hist_t *h, unsigned band)
{
    if (h->_bands[band])
        return 0;
    h->_bands[band] = calloc(band_size(band), sizeof(uint64_t));
    return h->_bands[band] ? 0 : CCD_ENOMEM;
}

void ccd_hist_init(ccd_hist_t *h)
{
    memset(h, 0, sizeof(*h));
}

void ccd_hist_destroy(ccd_hist_t *h)
{
    for (unsigned b = 0; b < CCD_HIST_BANDS; b++)
        free(h->_bands[b]);
    ccd_hist_init(h);
}

int ccd_hist_reserve(ccd_hist_t *h, int64_t v_us)
{
    unsigned band, idx;
    locate(v_us, &band, &idx);
    return ensure_band(h, band);
}

int ccd_hist_record_n(ccd_hist_t *h, int64_t v_us, uint64_t n)
{
    unsigned band, idx;
    if (n == 0)
        return 0;
    locate(v_us, &band, &idx);
    int rc = ensure_band(h, band);
    if (rc)
        return rc;
    h->_bands[band][idx] += n;
    h->_band_count[band] += n;
    h->_count += n;
    return 0;
}

int ccd_hist_record(ccd_hist_t *h, int64_t v_us)
{
    return ccd_hist_record_n(h, v_us, 1);
}

int ccd_hist_merge(ccd_hist_t *dst, const ccd_hist_t *src)
{
    /* Allocate first so that a failure leaves dst as it was. */
    for (unsigned b = 0; b < CCD_HIST_BANDS; b++) {
        if (src->_bands[b] && ensure_band(dst, b))
            return CCD_ENOMEM;
    }
    for (unsigned b = 0; b < CCD_HIST_BANDS; b++) {
        if (!src->_bands[b] || !src->_band_count[b]) /* an empty band adds nothing */
            continue;
        for (unsigned i = 0; i < band_size(b); i++)
            dst->_bands[b][i] += src->_bands[b][i];
        dst->_band_count[b] += src->_band_count[b];
    }
    dst->_count += src->_count;
    return 0;
}

void ccd_hist_reset(ccd_hist_t *h)
{
    for (unsigned b = 0; b < CCD_HIST_BANDS; b++) {
        if (h->_bands[b] && h->_band_count[b]) /* an empty band is zero already */
            memset(h->_bands[b], 0, band_size(b) * sizeof(uint64_t));
        h->_band_count[b] = 0;
    }
    h->_count = 0;
}

uint64_t ccd_hist_count(const ccd_hist_t *h)
{
    return h->_count;
}

uint64_t ccd_hist_lowest_equivalent(int64_t v_us)
{
    unsigned band, idx;
    locate(v_us, &band, &idx);
    return bucket_lowest(band, idx);
}

uint64_t ccd_hist_bucket_width(int64_t v_us)
{
    unsigned band, idx;
    locate(v_us, &band, &idx);
    return bucket_width(band);
}

/* The 1-based rank ceil(q * count), tolerant of the rounding error of q * count (0.07 * 100
 * is 7.000000000000001 in binary, which must still select the 7th sample). */
static uint64_t quantile_rank(double q, uint64_t count)
{
    if (!(q > 0))
        return 1;
    if (q >= 1)
        return count;
    double x = q * (double)count;
    uint64_t r = (uint64_t)x;
    if (x - (double)r > x * 1e-12)
        r++;
    if (r < 1)
        r = 1;
    return r > count ? count : r;
}

int64_t ccd_hist_value_at_quantile(const ccd_hist_t *h, double q)
{
    if (h->_count == 0)
        return 0;
    uint64_t rank = quantile_rank(q, h->_count), seen = 0;
    unsigned b = 0;
    while (b < CCD_HIST_BANDS - 1 && seen + h->_band_count[b] < rank)
        seen += h->_band_count[b++];
    const uint64_t *counts = h->_bands[b];
    for (unsigned i = 0; counts && i < band_size(b); i++) {
        seen += counts[i];
        if (seen >= rank)
            return (int64_t)(bucket_lowest(b, i) + bucket_width(b) / 2);
    }
    return 0; /* unreachable while the band counts match the buckets */
}

void ccd_hist_iter_init(ccd_hist_iter_t *it, const ccd_hist_t *h)
{
    memset(it, 0, sizeof(*it));
    it->_h = h;
}

bool ccd_hist_iter_next(ccd_hist_iter_t *it)
{
    for (; it->_band < CCD_HIST_BANDS; it->_band++, it->_idx = 0) {
        const uint64_t *counts = it->_h->_bands[it->_band];
        if (!counts || it->_h->_band_count[it->_band] == 0)
            continue;
        for (unsigned i = it->_idx; i < band_size(it->_band); i++) {
            if (counts[i]) {
                it->value = bucket_lowest(it->_band, i);
                it->count = counts[i];
                it->_idx = i + 1;
                return true;
            }
        }
    }
    return false;
}
