/* What the engine offers the Lua bindings (lua/): the running user, blocking it and waking it
 * with values, a cancel hook, per-user slots for a binding's own state, pieces of a task run
 * concurrently, and the engine's statistics. The engine knows no binding: each one takes what
 * it needs through this header, which engine.c and user.c implement.
 *
 * Pieces. A user may run parts of its task concurrently: ccd_user_go() starts a piece, a
 * coroutine of its own that is a ccd_user_t too (its own timer, cancel hook and slots; the
 * user's class, host and statistics), but not a user of its class. Every function below that
 * takes a ccd_user_t takes a piece as well, and means the strand given: the running one
 * (ccd_engine_current, ccd_engine_blocking_user) is the piece whose coroutine runs, blocking
 * and waking act on that piece alone. What belongs to the whole user (stopping, the schedule
 * of its iterations, the state a binding shares between its strands) is reached through
 * ccd_user_root(). A piece ends when its function returns, or with its parent (a stop, the
 * parent's end): then its cancel hook runs as for a stopped user, and a binding's slot
 * release for it. A user stopped at once with counted requests in flight in its pieces awaits
 * their answers within the same grace as its own. */
#ifndef CCD_BINDING_H
#define CCD_BINDING_H

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/client.h"

typedef struct ccd_engine ccd_engine_t;
typedef struct ccd_user ccd_user_t;

/* Per-user slots a binding may register (ccd_engine_slot). */
#define CCD_USER_SLOTS 3

/* Called when a user whose slot holds p is released (p is never NULL). */
typedef void (*ccd_slot_free_fn)(void *p);
/* Called when a blocked user is stopped before it was woken: the binding drops what it waits
 * for and must not wake the user. */
typedef void (*ccd_cancel_fn)(void *ud);

/* The engine's loop and its thread's HTTP context (resolver and TLS contexts included), for
 * the I/O a binding starts. Both live as long as the engine. */
struct ev_loop *ccd_engine_loop(const ccd_engine_t *e);
ccd_http_ctx_t *ccd_engine_http(const ccd_engine_t *e);

/* The user whose coroutine runs on e at this moment, or NULL (also when e is NULL: the
 * loading-only state of the runner has no engine). */
ccd_user_t *ccd_engine_current(const ccd_engine_t *e);

/* The running user, for a call that blocks it (a request, a sleep, a socket operation).
 * Raises a Lua error naming `what` unless L is that user's own coroutine: outside a user,
 * and inside a coroutine the script made itself, there is nobody the engine could resume
 * at the right place. */
ccd_user_t *ccd_engine_blocking_user(lua_State *L, const ccd_engine_t *e, const char *what);

/* Registers a per-user slot whose non-NULL value is passed to release when a user is freed.
 * Returns the slot's index, or CCD_ENOMEM when all CCD_USER_SLOTS are taken. */
int ccd_engine_slot(ccd_engine_t *e, ccd_slot_free_fn release);
void *ccd_user_slot(const ccd_user_t *u, int slot);
void ccd_user_set_slot(ccd_user_t *u, int slot, void *p);

/* Starts a piece of u (the running strand, whose coroutine is L): the function below the nargs
 * values on top of L is called with them in a new coroutine, at once, until it first waits or
 * returns; the values are popped. The function must not raise (wrap it in a protected call):
 * an error would be counted as a bug of the library. Returns 0 or CCD_ENOMEM (nothing popped). */
int ccd_user_go(ccd_user_t *u, lua_State *L, int nargs);
/* Waits for one of u's pieces to end: false when u has none (no wait), else u is marked
 * waiting and the caller yields; u is resumed with no values once a piece has ended. */
bool ccd_user_join(ccd_user_t *u);
/* The user u is a piece of (u itself for a user). */
ccd_user_t *ccd_user_root(const ccd_user_t *u);

/* Marks u as waiting for I/O; the caller then yields u's coroutine. If u is stopped before
 * ccd_user_wake(), cancel(ud) is called once (cancel may be NULL). A request that must be
 * counted (counted: true) is not canceled at once by a stop: the engine waits a bounded
 * grace for its answer, then wakes nobody and runs on_stop. */
void ccd_user_block(ccd_user_t *u, ccd_cancel_fn cancel, void *ud, bool counted);
/* The coroutine of u: a waker pushes the values u is resumed with onto it. */
lua_State *ccd_user_thread(const ccd_user_t *u);
/* Resumes a blocked u with the nargs values on top of its coroutine; its cancel hook is
 * dropped first. A user stopped meanwhile drops the values and runs on_stop instead. u may be
 * released within the call: the caller must not use it afterwards. */
void ccd_user_wake(ccd_user_t *u, int nargs);
/* Whether u was stopped at once while its counted request was in flight (ccd_user_block), so
 * that its answer, counted, will wake nobody: a binding that tells the script of each answer
 * (the request event) does so for this one itself, before ccd_user_wake(). */
bool ccd_user_halted(const ccd_user_t *u);

/* Arms u's timer for cicada.sleep(seconds) inside a task; the caller then yields. */
void ccd_user_sleep(ccd_user_t *u, double seconds);
/* Arms the wait between two tasks and tells whether the caller must yield: a zero wait is
 * skipped when the task yielded, and taken (one turn of the loop) when it never did, so that
 * a task that never waits cannot starve the other users. */
bool ccd_user_wait(ccd_user_t *u, double seconds);

/* The open model's step between two iterations of u: 0 when an arrival waited in the backlog
 * (it starts now), 1 when u is now free and must yield until an arrival resumes it (or a
 * stop: it then checks ccd_user_stopping()), 2 when u must stop. */
int ccd_user_arrival(ccd_user_t *u);
/* Says that u's task now starting is `seconds` behind a paced schedule (constant_pacing):
 * from now on u's requests are measured from the schedule, with their service times beside. */
void ccd_user_set_lag(ccd_user_t *u, double seconds);

/* Whether u (its root) was told to stop (it finishes its task, then runs on_stop). */
bool ccd_user_stopping(const ccd_user_t *u);
/* The engine u runs on. */
ccd_engine_t *ccd_user_engine(const ccd_user_t *u);
/* u's effective host (-H, else its class's host; NULL: none) and whether its class skips TLS
 * verification. */
const char *ccd_user_host(const ccd_user_t *u);
bool ccd_user_insecure(const ccd_user_t *u);
/* u's default request timeout in seconds (0: none): its class's `timeout`, else the run's
 * (--request-timeout). A request's own timeout overrides it. */
double ccd_user_timeout(const ccd_user_t *u);
/* u's default limit on the response body bytes kept: its class's `max_body`, else the run's
 * (--max-body); -1: none. A request's own max_body overrides it. */
int64_t ccd_user_max_body(const ccd_user_t *u);
/* How many connections u may use at once to one host (its class's `connections_per_host`). */
unsigned ccd_user_per_host(const ccd_user_t *u);
/* How u's requests may use HTTP/2 (its class's `http2`, else the run's): 0 by ALPN over TLS, 1
 * never, 2 also in the clear by prior knowledge (the values of http/message.h's CCD_HTTP2_*). */
int ccd_user_http2(const ccd_user_t *u);
/* Keeps the value at idx of L as u's `self` (the table on_stop receives). */
void ccd_user_set_self(ccd_user_t *u, lua_State *L, int idx);

/* Records one request into the engine's statistics: type (method) and name as stats keys,
 * its response time in µs and length, and the failure text (NULL: a success). */
void ccd_engine_record(ccd_engine_t *e, const char *type, size_t type_len, const char *name,
                       size_t name_len, int64_t us, uint64_t bytes, const char *err,
                       size_t err_len);
/* Records one of u's requests, as ccd_engine_record(); when u runs on a schedule (the open
 * model, a paced wait) the response time recorded is counted from the intended start of the
 * iteration (us plus how late it started), and us itself goes into the service times. */
void ccd_user_record(ccd_user_t *u, const char *type, size_t type_len, const char *name,
                     size_t name_len, int64_t us, uint64_t bytes, const char *err, size_t err_len);
/* Records a request whose user was stopped for good while it was in flight (its cancel hook
 * ran): reported apart, never as a request or a failure. type and name as ccd_engine_record. */
void ccd_engine_record_abandoned(ccd_engine_t *e, const char *type, size_t type_len,
                                 const char *name, size_t name_len);
/* Records a generator error: a request of type and name that could not be sent for a reason
 * local to this machine (see ccd_stats_generator_error()), with its error text. Reported apart,
 * never as a request or a failure of the target. */
void ccd_engine_record_generator_error(ccd_engine_t *e, const char *type, size_t type_len,
                                       const char *name, size_t name_len, const char *err,
                                       size_t err_len);
/* Records a script exception (message and traceback) into the engine's statistics. */
void ccd_engine_exception(ccd_engine_t *e, const char *msg, const char *tb);
/* Asks the runner to stop the whole test (a scenario's stop_test()). */
void ccd_engine_stop_test(ccd_engine_t *e, const char *reason);
/* Hands a custom message of the scenario's (cicada.send_message) to the runner, which passes it
 * on: a worker's goes to its master, a local run's to the runner's own scenario state. type
 * and json (the data as JSON text) are copied; to names the worker it is for (NULL: the master,
 * or every worker). Returns 0 or CCD_ENOMEM (nothing was sent). */
int ccd_engine_send_message(ccd_engine_t *e, const char *type, const char *json, const char *to);

#endif
