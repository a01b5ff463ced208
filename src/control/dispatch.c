/* The dispatch plan: a stack of (class) per dispatched user; user i runs on engine i % n. */
#include "control/dispatch.h"
#include "base/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ccd_dispatch {
    size_t nclasses;
    unsigned nengines;
    double *weight, *cw; /* smooth weighted round-robin: static and current weights */
    unsigned *fixed, *count;
    bool *allowed;
    uint16_t *seq; /* class of each dispatched user, oldest first */
    unsigned len;
    size_t cap;
};

ccd_dispatch_t *ccd_dispatch_new(size_t nclasses, const double *weights, const unsigned *fixed,
                                 unsigned nengines)
{
    ccd_dispatch_t *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->nclasses = nclasses;
    d->nengines = nengines ? nengines : 1;
    d->weight = calloc(nclasses, sizeof(double));
    d->cw = calloc(nclasses, sizeof(double));
    d->fixed = calloc(nclasses, sizeof(unsigned));
    d->count = calloc(nclasses, sizeof(unsigned));
    d->allowed = calloc(nclasses, sizeof(bool));
    if (!d->weight || !d->cw || !d->fixed || !d->count || !d->allowed) {
        ccd_dispatch_free(d);
        return NULL;
    }
    memcpy(d->weight, weights, nclasses * sizeof(double));
    memcpy(d->fixed, fixed, nclasses * sizeof(unsigned));
    ccd_dispatch_allow(d, NULL);
    return d;
}

void ccd_dispatch_free(ccd_dispatch_t *d)
{
    if (!d)
        return;
    free(d->weight);
    free(d->cw);
    free(d->fixed);
    free(d->count);
    free(d->allowed);
    free(d->seq);
    free(d);
}

void ccd_dispatch_allow(ccd_dispatch_t *d, const bool *allowed)
{
    for (size_t c = 0; c < d->nclasses; c++) {
        d->allowed[c] = allowed ? allowed[c] : true;
        d->cw[c] = 0;
    }
}

/* The next class by smooth weighted round-robin among the eligible classes (fixed ones with
 * room when fixed is set, else weighted ones), or -1. Deterministic: the same weights give the
 * same order, and at every step each count is within one of its exact share. */
static int pick(ccd_dispatch_t *d, bool fixed)
{
    double total = 0;
    int best = -1;
    for (size_t c = 0; c < d->nclasses; c++) {
        bool eligible = d->allowed[c] &&
                        (fixed ? d->fixed[c] > d->count[c] : d->fixed[c] == 0 && d->weight[c] > 0);
        if (!eligible)
            continue;
        double w = fixed ? d->fixed[c] : d->weight[c];
        d->cw[c] += w;
        total += w;
        if (best < 0 || d->cw[c] > d->cw[best])
            best = (int)c;
    }
    if (best >= 0)
        d->cw[best] -= total;
    return best;
}

static int grow(ccd_dispatch_t *d)
{
    uint16_t *seq = ccd_array_grow(d->seq, &d->cap, (size_t)d->len + 1, sizeof(*seq), 1024);
    if (!seq)
        return -1;
    d->seq = seq;
    return 0;
}

unsigned ccd_dispatch_add(ccd_dispatch_t *d, unsigned n, long *batch)
{
    unsigned added = 0;
    for (; added < n; added++) {
        int c = pick(d, true);
        if (c < 0)
            c = pick(d, false);
        if (c < 0 || (d->len == d->cap && grow(d)))
            break;
        batch[(d->len % d->nengines) * d->nclasses + (size_t)c]++;
        d->seq[d->len++] = (uint16_t)c;
        d->count[c]++;
    }
    return added;
}

unsigned ccd_dispatch_remove(ccd_dispatch_t *d, unsigned n, long *batch)
{
    unsigned removed = 0;
    for (; removed < n && d->len > 0; removed++) {
        unsigned i = --d->len;
        uint16_t c = d->seq[i];
        batch[(i % d->nengines) * d->nclasses + c]++;
        d->count[c]--;
    }
    return removed;
}

unsigned ccd_dispatch_count(const ccd_dispatch_t *d)
{
    return d->len;
}

unsigned ccd_dispatch_class_count(const ccd_dispatch_t *d, size_t c)
{
    return d->count[c];
}
