/* Open-addressing index from a hash to item numbers; callers own the items and their keys. */
#ifndef CCD_HTAB_H
#define CCD_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t hash; /* low 32 bits of the key's hash */
    uint32_t item; /* item number + 1; 0 marks an empty slot */
} ccd_htab_slot_t;

/* Embed by value; zero-initialised (or ccd_htab_init) it is an empty index. Items are never
 * removed one by one, only all at once with ccd_htab_clear(). */
typedef struct {
    ccd_htab_slot_t *_slots;
    size_t _cap; /* 0 or a power of two */
    size_t _n;
} ccd_htab_t;

/* Tells whether item number `item` has the key the caller is looking for. */
typedef bool (*ccd_htab_eq_fn)(const void *ctx, uint32_t item);

/* Hashes len bytes, continuing from seed (0 to start); chain calls to hash several fields. */
uint64_t ccd_htab_hash(const void *data, size_t len, uint64_t seed);

void ccd_htab_init(ccd_htab_t *t);

/* Frees the slots; t is an empty index afterwards. */
void ccd_htab_destroy(ccd_htab_t *t);

/* Returns the number of the item with the given hash for which eq(ctx, item) holds, or -1.
 * Allocates nothing. */
int64_t ccd_htab_find(const ccd_htab_t *t, uint64_t hash, ccd_htab_eq_fn eq, const void *ctx);

/* Adds an item the caller knows is absent, growing the slots when 3/4 full.
 * Returns 0 or CCD_ENOMEM (t unchanged). */
int ccd_htab_insert(ccd_htab_t *t, uint64_t hash, uint32_t item);

/* Forgets every item, keeping the slots. */
void ccd_htab_clear(ccd_htab_t *t);

#endif
