/* Process-wide request counters behind /stats: exact across threads, lock-free to update. */
#include "counters.h"

#include "json.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define KEY_MAX  48
#define SLOTS    256 /* power of two */
#define STATUSES 600

enum { SLOT_EMPTY, SLOT_WRITING, SLOT_READY };

/* A slot's key is written once, by the thread that moves it from EMPTY to WRITING, and
 * published by the release store of READY; readers acquire READY before reading the key. */
typedef struct {
    _Atomic int state;
    unsigned char klen;
    char key[KEY_MAX];
    _Atomic uint64_t count;
} slot_t;

static _Atomic uint64_t requests, connections, malformed, ws_messages;
static _Atomic uint64_t by_status[STATUSES];
static slot_t slots[SLOTS];
static slot_t other = {.state = SLOT_READY, .klen = 8, .key = "/(other)"};

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Returns the slot of key, claiming an empty one when it is new; linear probing bounded to
 * SLOTS / 2 steps keeps lookups short once the table fills up. */
static slot_t *slot_for(const char *key, size_t n)
{
    uint32_t h = hash(key, n);
    for (uint32_t i = 0; i < SLOTS / 2; i++) {
        slot_t *s = &slots[(h + i) & (SLOTS - 1)];
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == SLOT_EMPTY) {
            if (atomic_compare_exchange_strong(&s->state, &st, SLOT_WRITING)) {
                memcpy(s->key, key, n);
                s->klen = (unsigned char)n;
                atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
                return s;
            }
        }
        while (st == SLOT_WRITING) /* another thread is publishing this slot's key */
            st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (s->klen == n && memcmp(s->key, key, n) == 0)
            return s;
    }
    return &other;
}

void tgt_counters_connection(void)
{
    atomic_fetch_add_explicit(&connections, 1, memory_order_relaxed);
}

void tgt_counters_request(const char *key, size_t klen, int status)
{
    if (klen > KEY_MAX)
        klen = KEY_MAX;
    atomic_fetch_add_explicit(&requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&slot_for(key, klen)->count, 1, memory_order_relaxed);
    if (status > 0 && status < STATUSES)
        atomic_fetch_add_explicit(&by_status[status], 1, memory_order_relaxed);
}

void tgt_counters_ws_message(void)
{
    atomic_fetch_add_explicit(&ws_messages, 1, memory_order_relaxed);
}

void tgt_counters_malformed(int status)
{
    atomic_fetch_add_explicit(&requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&malformed, 1, memory_order_relaxed);
    if (status > 0 && status < STATUSES)
        atomic_fetch_add_explicit(&by_status[status], 1, memory_order_relaxed);
}

void tgt_counters_reset(void)
{
    atomic_store(&requests, 0);
    atomic_store(&connections, 0);
    atomic_store(&malformed, 0);
    atomic_store(&ws_messages, 0);
    for (int i = 0; i < STATUSES; i++)
        atomic_store(&by_status[i], 0);
    for (int i = 0; i < SLOTS; i++)
        atomic_store(&slots[i].count, 0);
    atomic_store(&other.count, 0);
}

static void slot_json(tgt_buf_t *out, slot_t *s, int *first)
{
    if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY)
        return;
    uint64_t n = atomic_load(&s->count);
    if (n == 0)
        return;
    tgt_buf_puts(out, *first ? "" : ", ");
    tgt_json_str(out, s->key, s->klen);
    tgt_buf_puts(out, ": ");
    tgt_buf_u64(out, n);
    *first = 0;
}

static void status_json(tgt_buf_t *out)
{
    int first = 1;
    for (int i = 0; i < STATUSES; i++) {
        uint64_t n = atomic_load(&by_status[i]);
        if (n == 0)
            continue;
        tgt_buf_printf(out, "%s\"%d\": ", first ? "" : ", ", i);
        tgt_buf_u64(out, n);
        first = 0;
    }
}

void tgt_counters_json(tgt_buf_t *out)
{
    tgt_buf_puts(out, "{\"requests\": ");
    tgt_buf_u64(out, atomic_load(&requests));
    tgt_buf_puts(out, ", \"connections\": ");
    tgt_buf_u64(out, atomic_load(&connections));
    tgt_buf_puts(out, ", \"malformed\": ");
    tgt_buf_u64(out, atomic_load(&malformed));
    tgt_buf_puts(out, ", \"ws_messages\": ");
    tgt_buf_u64(out, atomic_load(&ws_messages));
    tgt_buf_puts(out, ", \"by_path\": {");
    int first = 1;
    for (int i = 0; i < SLOTS; i++)
        slot_json(out, &slots[i], &first);
    slot_json(out, &other, &first);
    tgt_buf_puts(out, "}, \"by_status\": {");
    status_json(out);
    tgt_buf_puts(out, "}}\n");
}
