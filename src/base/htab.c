/* Open-addressing hash index with linear probing. */
#include "base/htab.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

#define MIX UINT64_C(0x9e3779b97f4a7c15)

static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * MIX;
    return h ^ (h >> 29);
}

uint64_t ccd_htab_hash(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    /* The length goes in first so that ("ab", "c") and ("a", "bc") hash apart. */
    uint64_t h = mix(seed, len);
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix(h, w);
    }
    /* The last 0-7 bytes in at most two fixed-size loads (a memcpy of a variable length is a
     * library call costing more than the rest of a short key's hash). Both forms read every
     * byte, so that keys of one length that differ anywhere give different tails. */
    uint64_t tail = 0;
    if (len >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + len - 4, 4);
        tail = lo | (uint64_t)hi << 32;
    } else if (len > 0) {
        tail = p[0] | (uint64_t)p[len / 2] << 8 | (uint64_t)p[len - 1] << 16;
    }
    return mix(h, tail);
}

void ccd_htab_init(ccd_htab_t *t)
{
    memset(t, 0, sizeof(*t));
}

void ccd_htab_destroy(ccd_htab_t *t)
{
    free(t->_slots);
    ccd_htab_init(t);
}

int64_t ccd_htab_find(const ccd_htab_t *t, uint64_t hash, ccd_htab_eq_fn eq, const void *ctx)
{
    if (t->_cap == 0)
        return -1;
    size_t mask = t->_cap - 1;
    for (size_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
        const ccd_htab_slot_t *s = &t->_slots[i];
        if (s->item == 0)
            return -1;
        if (s->hash == (uint32_t)hash && eq(ctx, s->item - 1))
            return s->item - 1;
    }
}

static void place(ccd_htab_slot_t *slots, size_t cap, ccd_htab_slot_t s)
{
    size_t i = s.hash & (cap - 1);
    while (slots[i].item)
        i = (i + 1) & (cap - 1);
    slots[i] = s;
}

static int grow(ccd_htab_t *t)
{
    size_t cap = t->_cap ? t->_cap * 2 : 16;
    ccd_htab_slot_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return CCD_ENOMEM;
    for (size_t i = 0; i < t->_cap; i++) {
        if (t->_slots[i].item)
            place(slots, cap, t->_slots[i]);
    }
    free(t->_slots);
    t->_slots = slots;
    t->_cap = cap;
    return 0;
}

int ccd_htab_insert(ccd_htab_t *t, uint64_t hash, uint32_t item)
{
    if ((t->_n + 1) * 4 > t->_cap * 3) {
        int rc = grow(t);
        if (rc)
            return rc;
    }
    place(t->_slots, t->_cap, (ccd_htab_slot_t){(uint32_t)hash, item + 1});
    t->_n++;
    return 0;
}

void ccd_htab_clear(ccd_htab_t *t)
{
    if (t->_slots)
        memset(t->_slots, 0, t->_cap * sizeof(*t->_slots));
    t->_n = 0;
}
