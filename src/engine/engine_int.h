/* The engine's insides, shared by its own files (engine.c, user.c) and nobody
 * else: bindings see only engine/binding.h. */
#ifndef CCD_ENGINE_INT_H
#define CCD_ENGINE_INT_H

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/queue.h"
#include "engine/binding.h"
#include "engine/engine.h"
#include "engine/script.h"
#include "http/client.h"

#include "stats/stats.h"

#define CCD_SPARE_THREADS 128 /* finished pieces' threads kept for the next pieces */

enum {
    CCD_USER_RUNNING, /* inside a Lua resume */
    CCD_USER_IO,      /* blocked by a binding (an HTTP response, a socket) */
    CCD_USER_SLEEP,   /* inside cicada.sleep() in a task */
    CCD_USER_WAIT,    /* waiting between tasks (wait_time) */
    CCD_USER_IDLE,    /* the open model: free, waiting for an arrival */
    CCD_USER_JOIN,    /* waiting for one of its pieces to end (ccd_user_join) */
};

struct ccd_user {
    ccd_engine_t *eng;
    lua_State *co;        /* the coroutine; kept alive by co_ref */
    int co_ref, self_ref; /* registry references (LUA_NOREF when unset) */
    int class_idx;
    uint8_t state;
    bool stopping;                /* finish the current task, then stop */
    bool in_stop;                 /* running on_stop: the coroutine's end frees the user */
    bool finish_on_stop;          /* what it is blocked on is a request that must be counted */
    bool finish_io;               /* stopped while blocked so: on_stop runs once it answers */
    bool halting;                 /* stopped at once, it awaits the answers of counted requests
                                   * in flight, its own (finish_io) or its pieces' */
    uint32_t yields, yields_mark; /* times the coroutine yielded; the count at the last wait */
    ev_timer timer;
    /* While a binding blocks the user, how to cancel what it waits for when the user is
     * stopped: called once, then cleared; waking the user clears it too. */
    ccd_cancel_fn cancel;
    void *cancel_ud;
    void *slots[CCD_USER_SLOTS]; /* the bindings' per-user state (ccd_engine_slot) */
    ccd_user_t *prev, *next;     /* the class's list of users, or the free list; for a piece,
                                  * its parent's list of pieces */
    /* Pieces (ccd_user_go): a piece is a ccd_user_t of its own (coroutine, timer, cancel hook,
     * slots) that is not a user of its class; it ends with its function, or with its root. */
    ccd_user_t *parent; /* the strand that started this piece; NULL for a user */
    ccd_user_t *root;   /* the user the piece belongs to; the user itself for a user */
    ccd_user_t *pieces; /* the pieces this strand started that have not ended */
    /* The open model, and paced wait times: whether the user's requests are measured from a
     * schedule, and how late its current iteration started (µs); recorded response times
     * then add the lag, and the service times go beside them. */
    bool scheduled;
    int64_t lag_us;
    ccd_user_t *idle_prev, *idle_next; /* the class's free users (CCD_USER_IDLE) */
};

/* The open model's schedule of one class on one engine: arrivals due every interval since
 * base, those waiting for a free user (their intended starts, oldest first, in a ring), the
 * free users, and what was counted since the last report. */
typedef struct {
    bool open;
    double interval_us; /* 0: no arrivals */
    int64_t base_us;    /* monotonic µs of arrival number 0 */
    uint64_t k;         /* the next arrival's number */
    int64_t *ring;
    unsigned cap, head, len, high;
    ccd_user_t *idle;
    uint64_t scheduled, started, dropped, late;
    ccd_hist_t lateness;
} ccd_arrivals_t;

typedef struct {
    ccd_user_t *head, *tail;
    unsigned count;
} ccd_user_list_t;

struct ccd_engine {
    int index;
    pthread_t thread;
    struct ev_loop *loop;
    ccd_script_t script;
    ccd_queue_t inbox;
    ccd_queue_t *runner;
    ccd_http_ctx_t *http;
    ccd_stats_t *stats;  /* the delta being filled */
    ccd_stats_t *spare;  /* one recycled delta, ready to swap in */
    ccd_user_t *current; /* the user whose coroutine is running */
    ccd_user_list_t *classes;
    char **hosts;
    ccd_slot_free_fn slot_free[CCD_USER_SLOTS];
    int nslots;
    size_t nclasses;
    ccd_user_t *free_users;
    /* Threads of pieces whose function returned, ready to run the next piece, with their
     * registry references: a batch's pieces cost no lua_newthread nor stack growth each. */
    lua_State *spare_co[CCD_SPARE_THREADS];
    int spare_ref[CCD_SPARE_THREADS];
    int nspare;
    void **slabs;
    size_t nslabs, slabs_cap;
    unsigned users;
    bool stopping, finished;
    long generation;        /* of the statistics: reports from before a reset are dropped */
    double request_timeout; /* seconds, for classes without a timeout of their own; 0: none */
    int64_t max_body;       /* bytes, for classes without a max_body of their own; -1: all */
    int http2;              /* for classes without an http2 of their own */
    ev_timer report_timer, stop_timer, kill_timer, done_timer, flight_timer;
    ccd_arrivals_t *arrivals; /* one per class; NULL when no class is open */
    int64_t late_us;          /* a start later than this is late */
    ev_timer arrival_timer;   /* the next arrival of any class */
    ev_prepare prepare;
    ev_check check;
    double busy, last_wake, last_gc;
};

/* Starts a user of class class_idx: its coroutine runs until its first wait. Returns 0 or
 * CCD_ENOMEM. */
int ccd_user_spawn(ccd_engine_t *e, int class_idx);
/* Resumes u's coroutine with nargs values already pushed on it; frees u when it ends. */
void ccd_user_resume(ccd_user_t *u, int nargs);
/* Stops u: graceful lets a running task finish (a user waiting between tasks stops at once);
 * otherwise pending I/O is canceled and on_stop runs in a fresh coroutine — except a request
 * in flight, whose response is still awaited and counted (on_stop runs when it arrives, or
 * when ccd_user_abandon() gives up on it). */
void ccd_user_stop(ccd_user_t *u, bool graceful);
/* Gives up on the request in flight of a user stopped while waiting for it: it is canceled
 * and on_stop runs. Does nothing to other users. */
void ccd_user_abandon(ccd_user_t *u);
/* Frees every user at once without running on_stop (the engine is going away). */
void ccd_user_free_all(ccd_engine_t *e);

/* The open model (arrivals.c). ccd_arrivals_init() sets up the open classes of e's script
 * (returns 0 or CCD_ENOMEM); ccd_arrivals_rate() sets a class's arrivals per second on e;
 * ccd_arrivals_stop() ends the schedule, counting the arrivals still waiting as dropped;
 * ccd_arrivals_flush() adds what was counted to e's current delta; ccd_arrivals_free() frees
 * it all. ccd_arrivals_unidle() takes a free user off its class's list (it is being
 * stopped or freed). */
int ccd_arrivals_init(ccd_engine_t *e, double share, double late);
void ccd_arrivals_rate(ccd_engine_t *e, int class_idx, double rate);
void ccd_arrivals_stop(ccd_engine_t *e);
void ccd_arrivals_flush(ccd_engine_t *e);
void ccd_arrivals_reset(ccd_engine_t *e);
void ccd_arrivals_free(ccd_engine_t *e);
void ccd_arrivals_unidle(ccd_user_t *u);

/* Runs the scenario's handler of m's type on e's Lua state, outside any user; frees m. */
void ccd_engine_deliver(ccd_engine_t *e, ccd_custom_msg_t *m);

/* Called when a user is released: once stopping, the last one ends the engine (later, from
 * the loop, never inside the releasing call). */
void ccd_engine_user_gone(ccd_engine_t *e);

#endif
