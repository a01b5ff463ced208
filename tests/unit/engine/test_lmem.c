/* Tests of a Lua state's allocator: blocks keep their contents through every resize, a freed
 * small block serves the next block of its size, the blocks kept stay under the limit, and a
 * Lua state runs on it. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lmem.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31 + i);
}

static bool intact(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 31 + i))
            return false;
    return true;
}

Test(lmem, random_allocations_keep_their_contents)
{
    enum { SLOTS = 512, OPS = 200000 };
    static unsigned char *p[SLOTS];
    static size_t len[SLOTS];
    static unsigned seed[SLOTS];
    ccd_lmem_t *m = ccd_lmem_new(64 * 1024);
    cr_assert_not_null(m);
    srand(7);
    for (int op = 0; op < OPS; op++) {
        int i = rand() % SLOTS;
        /* mostly small sizes, some across the small/large boundary and some large */
        size_t n = rand() % 4 ? 1 + (size_t)rand() % 600 : 1 + (size_t)rand() % 5000;
        if (p[i])
            cr_assert(intact(p[i], len[i], seed[i]), "slot %d lost its contents", i);
        if (!p[i]) {
            p[i] = ccd_lmem_alloc(m, NULL, 0, n);
        } else if (rand() % 3 == 0) {
            cr_assert_null(ccd_lmem_alloc(m, p[i], len[i], 0));
            p[i] = NULL;
            continue;
        } else {
            unsigned char *q = ccd_lmem_alloc(m, p[i], len[i], n);
            cr_assert_not_null(q);
            size_t keep = len[i] < n ? len[i] : n;
            cr_assert(intact(q, keep, seed[i]), "a resize from %zu to %zu lost contents", len[i],
                      n);
            p[i] = q;
        }
        cr_assert_not_null(p[i]);
        cr_assert_eq((uintptr_t)p[i] % 16, 0, "block not aligned");
        len[i] = n;
        seed[i] = (unsigned)op;
        fill(p[i], n, seed[i]);
        cr_assert_leq(ccd_lmem_kept(m), 64 * 1024);
    }
    for (int i = 0; i < SLOTS; i++)
        if (p[i])
            ccd_lmem_alloc(m, p[i], len[i], 0);
    ccd_lmem_trim(m);
    cr_assert_eq(ccd_lmem_kept(m), 0);
    ccd_lmem_free(m);
}

Test(lmem, a_freed_small_block_serves_the_next_of_its_size)
{
    ccd_lmem_t *m = ccd_lmem_new(1 << 20);
    void *a = ccd_lmem_alloc(m, NULL, 0, 40);
    ccd_lmem_alloc(m, a, 40, 0);
    cr_assert_eq(ccd_lmem_kept(m), 40);
    void *b = ccd_lmem_alloc(m, NULL, 0, 25); /* the same class: 25 to 40 bytes */
    cr_assert_eq(b, a);
    cr_assert_eq(ccd_lmem_kept(m), 0);
    /* growing within the class keeps the block; a shrink never moves or fails */
    cr_assert_eq(ccd_lmem_alloc(m, b, 25, 40), b);
    cr_assert_eq(ccd_lmem_alloc(m, b, 40, 8), b);
    ccd_lmem_alloc(m, b, 8, 0); /* freed with its new size: it serves a smaller class */
    cr_assert_eq(ccd_lmem_alloc(m, NULL, 0, 5), b);
    /* growing past the class moves the block, with its bytes */
    memcpy(b, "abcde", 5);
    void *c = ccd_lmem_alloc(m, b, 5, 41);
    cr_assert_neq(c, b);
    cr_assert_eq(memcmp(c, "abcde", 5), 0);
    ccd_lmem_alloc(m, c, 41, 0);
    /* large blocks are malloc's */
    void *big = ccd_lmem_alloc(m, NULL, 0, 100000);
    size_t kept = ccd_lmem_kept(m);
    ccd_lmem_alloc(m, big, 100000, 0);
    cr_assert_eq(ccd_lmem_kept(m), kept);
    ccd_lmem_free(m);
}

Test(lmem, the_blocks_kept_stay_under_the_limit)
{
    enum { N = 100 };
    void *p[N];
    ccd_lmem_t *m = ccd_lmem_new(1024);
    for (int i = 0; i < N; i++)
        p[i] = ccd_lmem_alloc(m, NULL, 0, 64);
    for (int i = 0; i < N; i++)
        ccd_lmem_alloc(m, p[i], 64, 0);
    /* 64 bytes: a class of 72-byte blocks, 14 of which fit in 1,024 */
    cr_assert_eq(ccd_lmem_kept(m), 14 * 72);
    ccd_lmem_free(m);
}

Test(lmem, a_class_keeps_at_most_4096_blocks)
{
    enum { N = 5000 };
    static void *p[N];
    ccd_lmem_t *m = ccd_lmem_new(1 << 20);
    for (int i = 0; i < N; i++)
        p[i] = ccd_lmem_alloc(m, NULL, 0, 16);
    for (int i = 0; i < N; i++)
        ccd_lmem_alloc(m, p[i], 16, 0);
    cr_assert_eq(ccd_lmem_kept(m), 4096 * 24); /* 16 bytes: the class of 24-byte blocks */
    /* the last blocks freed come back first */
    cr_assert_eq(ccd_lmem_alloc(m, NULL, 0, 16), p[4095]);
    ccd_lmem_free(m);
}

Test(lmem, a_lua_state_runs_on_it)
{
    ccd_lmem_t *m = ccd_lmem_new(4 << 20);
    lua_State *L = lua_newstate(ccd_lmem_alloc, m);
    cr_assert_not_null(L);
    luaL_openlibs(L);
    const char *script =
        "local sum = 0\n"
        "for i = 1, 20000 do\n"
        "  local t = { id = i, name = 'n' .. i, tags = { i, i + 1 } }\n"
        "  local s = string.rep('x', i % 700)\n"
        "  sum = sum + t.tags[2] - t.id + #s\n"
        "end\n"
        "collectgarbage()\n"
        "local co = coroutine.wrap(function(n) for k = 1, n do coroutine.yield(k) end end)\n"
        "co(3)\n"
        "return sum, co(), co()\n";
    cr_assert_eq(luaL_dostring(L, script), 0, "%s", lua_tostring(L, -1));
    cr_assert_eq(lua_tointeger(L, -3), 6950400, "sum %ld", (long)lua_tointeger(L, -3));
    cr_assert_eq(lua_tointeger(L, -2), 2);
    cr_assert_eq(lua_tointeger(L, -1), 3);
    cr_assert_gt(ccd_lmem_kept(m), 0, "the collected garbage was not kept for reuse");
    lua_close(L);
    ccd_lmem_free(m);
}
