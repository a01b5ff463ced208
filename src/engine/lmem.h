/* The allocator of a Lua state: size-class stacks of free blocks in front of malloc, kept by
 * the state.
 *
 * Each response makes a few small Lua objects (its table, its headers, decoded JSON) that the
 * collector frees a moment later; LuaJIT's own allocator coalesces on every free, which cost
 * about a hundred instructions a block. Lua tells the allocator the size of each block it
 * frees, so small blocks go to a stack by size, without a header, and the next object of
 * that size takes them back. (http/h2_mem.c is the same idea for nghttp2, which does not say the
 * size it frees: its blocks carry a header, and its cache is per thread.) A state is used by one
 * thread at a time: no locks. */
#ifndef CCD_LMEM_H
#define CCD_LMEM_H

#include <stddef.h>

typedef struct ccd_lmem ccd_lmem_t;

/* A new allocator that keeps at most keep bytes of free blocks; NULL when out of memory. */
ccd_lmem_t *ccd_lmem_new(size_t keep);

/* Frees the allocator and the blocks it keeps; after lua_close() of its state. */
void ccd_lmem_free(ccd_lmem_t *m);

/* The lua_Alloc function, with the allocator as ud (lua_newstate(ccd_lmem_alloc, m)). */
void *ccd_lmem_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* Gives the free blocks kept, and the stacks that held them, back to malloc (an idle state
 * need not hold them). */
void ccd_lmem_trim(ccd_lmem_t *m);

/* The bytes of free blocks kept now. */
size_t ccd_lmem_kept(const ccd_lmem_t *m);

#endif
