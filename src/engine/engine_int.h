/* The engine's insides, shared by its own files (engine.c, user.c, lcore.c) and nobody else. */
#ifndef CCD_ENGINE_INT_H
#define CCD_ENGINE_INT_H

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "http/client.h"
#include "base/queue.h"
#include "base/buf.h"
#include "engine/script.h"
#include "stats/stats.h"

typedef struct ccd_user ccd_user_t;

enum {
    CCD_USER_RUNNING, /* inside a Lua resume */
    CCD_USER_IO,      /* waiting for an HTTP response */
    CCD_USER_SLEEP,   /* inside cicada.sleep() in a task */
    CCD_USER_WAIT,    /* waiting between tasks (wait_time) */
};

struct ccd_user {
    ccd_engine_t *eng;
    lua_State *co;        /* the coroutine; kept alive by co_ref */
    int co_ref, self_ref; /* registry references (LUA_NOREF when unset) */
    int class_idx;
    uint8_t state;
    bool stopping;                /* finish the current task, then stop */
    bool in_stop;                 /* running on_stop: the coroutine's end frees the user */
    bool catch_response;          /* the request in flight is recorded by the script's decision */
    bool follow;                  /* the request in flight follows redirects */
    uint8_t hops_left;            /* redirects it may still follow */
    int64_t elapsed_acc;          /* time spent in the redirects followed so far */
    uint32_t yields, yields_mark; /* times the coroutine yielded; the count at the last wait */
    ev_timer timer;
    ccd_http_session_t *http;       /* created on the first request */
    struct ccd_cookie_jar *cookies; /* created on the first Set-Cookie */
    /* While the user waits on some other I/O (a socket), how to cancel it when the user is
     * stopped: called once, then cleared. Whoever arms it clears it on completion. */
    void (*cancel)(void *cancel_ud);
    void *cancel_ud;
    const char *req_method, *req_name; /* Lua strings the yielded frame keeps alive */
    size_t req_method_len, req_name_len;
    ccd_user_t *prev, *next; /* the class's list of users, or the free list */
};

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
    size_t nclasses;
    ccd_user_t *free_users;
    void **slabs;
    size_t nslabs;
    unsigned users;
    bool stopping, finished;
    long generation; /* of the statistics: reports from before a reset are dropped */
    ev_timer report_timer, stop_timer, kill_timer, done_timer;
    ev_prepare prepare;
    ev_check check;
    double busy, last_wake, last_gc;
    ccd_buf_t url, body, text, auth, cookie, decoded;
    ccd_header_t *hdrs;
    size_t hdrs_cap;
};

/* Starts a user of class class_idx: its coroutine runs until its first wait. Returns 0 or
 * CCD_ENOMEM. */
int ccd_user_spawn(ccd_engine_t *e, int class_idx);
/* Resumes u's coroutine with nargs values already pushed on it; frees u when it ends. */
void ccd_user_resume(ccd_user_t *u, int nargs);
/* Stops u: graceful lets a running task finish (a user waiting between tasks stops at once);
 * otherwise pending I/O is canceled and on_stop runs in a fresh coroutine. */
void ccd_user_stop(ccd_user_t *u, bool graceful);
/* Frees every user at once without running on_stop (the engine is going away). */
void ccd_user_free_all(ccd_engine_t *e);

/* Called when a user is released: once stopping, the last one ends the engine (later, from
 * the loop, never inside the releasing call). */
void ccd_engine_user_gone(ccd_engine_t *e);

/* Asks the runner to stop the test (from a scenario's stop_test()). */
void ccd_engine_stop_test(ccd_engine_t *e, const char *reason);

/* Records a script exception into the engine's statistics. */
void ccd_engine_exception(ccd_engine_t *e, const char *msg, const char *tb);

#endif
