/* Simulated users: a coroutine each (and one per piece of a task run concurrently), pooled
 * structs, started and stopped by the engine. */
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/buf.h"
#include "engine/engine_int.h"

#define SLAB_USERS 1024

static void list_remove(ccd_user_list_t *l, ccd_user_t *u)
{
    if (u->prev)
        u->prev->next = u->next;
    else
        l->head = u->next;
    if (u->next)
        u->next->prev = u->prev;
    else
        l->tail = u->prev;
    u->prev = u->next = NULL;
    l->count--;
}

static void list_append(ccd_user_list_t *l, ccd_user_t *u)
{
    u->prev = l->tail;
    u->next = NULL;
    if (l->tail)
        l->tail->next = u;
    else
        l->head = u;
    l->tail = u;
    l->count++;
}

/* Users come from slabs so that tens of thousands of them cost one allocation per thousand. */
static int grow_pool(ccd_engine_t *e)
{
    void **slabs = ccd_array_grow(e->slabs, &e->slabs_cap, e->nslabs + 1, sizeof(*slabs), 4);
    if (!slabs)
        return CCD_ENOMEM;
    e->slabs = slabs;
    ccd_user_t *slab = calloc(SLAB_USERS, sizeof(*slab));
    if (!slab)
        return CCD_ENOMEM;
    e->slabs[e->nslabs++] = slab;
    for (int i = SLAB_USERS - 1; i >= 0; i--) {
        slab[i].next = e->free_users;
        e->free_users = &slab[i];
    }
    return 0;
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_user_resume(w->data, 0);
}

static ccd_user_t *user_alloc(ccd_engine_t *e)
{
    if (!e->free_users && grow_pool(e))
        return NULL;
    ccd_user_t *u = e->free_users;
    e->free_users = u->next;
    memset(u, 0, sizeof(*u));
    u->eng = e;
    u->root = u;
    u->co_ref = u->self_ref = LUA_NOREF;
    ev_init(&u->timer, on_timer);
    u->timer.data = u;
    return u;
}

static void piece_release(ccd_user_t *p);

/* Cancels whatever u waits for (its timer, or the I/O of a binding that blocked it), its
 * pieces' waits first: the pieces end. */
static void cancel_waits(ccd_user_t *u)
{
    while (u->pieces)
        piece_release(u->pieces);
    ev_timer_stop(u->eng->loop, &u->timer);
    if (u->cancel) {
        void (*cancel)(void *) = u->cancel;
        u->cancel = NULL;
        cancel(u->cancel_ud);
    }
}

/* Frees what a user or a piece holds: its waits are canceled, its pieces end. */
static void strand_free(ccd_user_t *u)
{
    ccd_engine_t *e = u->eng;
    lua_State *L = e->script.L;
    cancel_waits(u);
    for (int i = 0; i < e->nslots; i++)
        if (u->slots[i])
            e->slot_free[i](u->slots[i]);
    luaL_unref(L, LUA_REGISTRYINDEX, u->co_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, u->self_ref);
}

/* Ends piece p without resuming it: it leaves its parent's list and returns to the pool. */
static void piece_release(ccd_user_t *p)
{
    ccd_user_t *parent = p->parent;
    strand_free(p);
    if (p->prev)
        p->prev->next = p->next;
    else
        parent->pieces = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->co = NULL;
    p->next = p->eng->free_users;
    p->eng->free_users = p;
}

static void user_release(ccd_user_t *u)
{
    ccd_engine_t *e = u->eng;
    if (u->state == CCD_USER_IDLE)
        ccd_arrivals_unidle(u);
    strand_free(u);
    list_remove(&e->classes[u->class_idx], u);
    e->users--;
    u->co = NULL;
    u->next = e->free_users;
    e->free_users = u;
    ccd_engine_user_gone(e);
}

/* Gives u a fresh coroutine holding fn_ref's function; the previous one becomes garbage. */
static void new_coroutine(ccd_user_t *u, int fn_ref)
{
    lua_State *L = u->eng->script.L;
    luaL_unref(L, LUA_REGISTRYINDEX, u->co_ref);
    u->co = lua_newthread(L);
    u->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_rawgeti(u->co, LUA_REGISTRYINDEX, fn_ref);
}

int ccd_user_spawn(ccd_engine_t *e, int class_idx)
{
    ccd_user_t *u = user_alloc(e);
    if (!u)
        return CCD_ENOMEM;
    u->class_idx = class_idx;
    list_append(&e->classes[class_idx], u);
    e->users++;
    new_coroutine(u, e->script.run_ref);
    lua_pushinteger(u->co, class_idx + 1);
    ccd_user_resume(u, 1);
    return 0;
}

static void piece_end(ccd_user_t *p);

void ccd_user_resume(ccd_user_t *u, int nargs)
{
    ccd_engine_t *e = u->eng;
    ccd_user_t *prev = e->current;
    e->current = u;
    u->state = CCD_USER_RUNNING;
    int rc = lua_resume(u->co, nargs);
    e->current = prev;
    if (rc == LUA_YIELD) {
        u->yields++;
        return;
    }
    if (rc != 0) {
        /* The library protects every call into user code; an error here is a bug in it or an
         * error object it could not handle. It is still counted, never fatal. */
        const char *msg = lua_tostring(u->co, -1);
        ccd_engine_exception(e, msg ? msg : "user coroutine failed", "");
    }
    if (u->parent)
        piece_end(u);
    else
        user_release(u);
}

/* Runs on_stop in a fresh coroutine; its end releases the user. */
static void run_on_stop(ccd_user_t *u)
{
    ccd_engine_t *e = u->eng;
    cancel_waits(u);
    if (u->self_ref == LUA_NOREF) {
        user_release(u);
        return;
    }
    u->in_stop = true;
    new_coroutine(u, e->script.stop_ref);
    lua_pushinteger(u->co, u->class_idx + 1);
    lua_rawgeti(u->co, LUA_REGISTRYINDEX, u->self_ref);
    ccd_user_resume(u, 2);
}

/* Stops strand s at once but for the counted requests in flight, its own and its pieces',
 * whose answers are awaited (halting); the pieces that await none end now. Returns whether s
 * awaits an answer. */
static bool halt(ccd_user_t *s)
{
    for (ccd_user_t *p = s->pieces, *next; p; p = next) {
        next = p->next;
        if (!halt(p))
            piece_release(p);
    }
    s->finish_io = s->state == CCD_USER_IO && s->finish_on_stop;
    s->halting = s->finish_io || s->pieces;
    return s->halting;
}

/* An answer a halting strand awaited came (its own, or a piece ended): once none is awaited,
 * a piece ends and a user runs on_stop. */
static void halt_step(ccd_user_t *s)
{
    if (s->finish_io || s->pieces)
        return;
    s->halting = false;
    ccd_user_t *parent = s->parent;
    if (!parent) {
        run_on_stop(s);
        return;
    }
    piece_release(s);
    halt_step(parent);
}

/* Keeps the thread of piece p, whose function returned, for the next piece (a thread that
 * ended in an error cannot run again). */
static void keep_thread(ccd_user_t *p)
{
    ccd_engine_t *e = p->eng;
    if (e->nspare == CCD_SPARE_THREADS || lua_status(p->co) != 0)
        return;
    lua_settop(p->co, 0);
    e->spare_co[e->nspare] = p->co;
    e->spare_ref[e->nspare++] = p->co_ref;
    p->co_ref = LUA_NOREF;
}

/* A piece's function returned: its parent learns it if it waits for one (ccd_user_join). */
static void piece_end(ccd_user_t *p)
{
    ccd_user_t *parent = p->parent;
    keep_thread(p);
    piece_release(p);
    if (parent->halting)
        halt_step(parent);
    else if (parent->state == CCD_USER_JOIN)
        ccd_user_resume(parent, 0);
}

void ccd_user_stop(ccd_user_t *u, bool graceful)
{
    if (u->in_stop)
        return;
    u->stopping = true;
    if (u->state == CCD_USER_WAIT || u->state == CCD_USER_IDLE) {
        /* Between tasks: wake it; its loop sees `stopping` and runs on_stop itself. */
        if (u->state == CCD_USER_IDLE)
            ccd_arrivals_unidle(u);
        ev_timer_stop(u->eng->loop, &u->timer);
        ccd_user_resume(u, 0);
        return;
    }
    if (graceful)
        return;
    if (halt(u))
        return; /* the engine's in-flight grace bounds the wait */
    run_on_stop(u);
}

void ccd_user_abandon(ccd_user_t *u)
{
    if (!u->halting)
        return;
    u->halting = u->finish_io = false;
    run_on_stop(u); /* the requests still in flight, its pieces' too, are canceled */
}

void ccd_user_free_all(ccd_engine_t *e)
{
    for (size_t c = 0; c < e->nclasses; c++)
        while (e->classes[c].head)
            user_release(e->classes[c].head);
    for (size_t i = 0; i < e->nslabs; i++)
        free(e->slabs[i]);
    free(e->slabs);
    e->slabs = NULL;
    e->nslabs = e->slabs_cap = 0;
    e->free_users = NULL;
}

/* Users as the bindings see them (engine/binding.h). */

void *ccd_user_slot(const ccd_user_t *u, int slot)
{
    return u->slots[slot];
}

void ccd_user_set_slot(ccd_user_t *u, int slot, void *p)
{
    u->slots[slot] = p;
}

void ccd_user_block(ccd_user_t *u, ccd_cancel_fn cancel, void *ud, bool counted)
{
    u->cancel = cancel;
    u->cancel_ud = ud;
    u->finish_on_stop = counted;
    u->state = CCD_USER_IO;
}

lua_State *ccd_user_thread(const ccd_user_t *u)
{
    return u->co;
}

void ccd_user_wake(ccd_user_t *u, int nargs)
{
    u->cancel = NULL;
    u->cancel_ud = NULL;
    if (u->finish_io) { /* stopped while its request was in flight, now counted */
        u->finish_io = false;
        lua_pop(u->co, nargs);
        halt_step(u);
        return;
    }
    ccd_user_resume(u, nargs);
}

bool ccd_user_halted(const ccd_user_t *u)
{
    return u->finish_io;
}

int ccd_user_go(ccd_user_t *u, lua_State *L, int nargs)
{
    ccd_engine_t *e = u->eng;
    ccd_user_t *p = user_alloc(e);
    if (!p)
        return CCD_ENOMEM;
    p->parent = u;
    p->root = u->root;
    p->class_idx = u->class_idx;
    p->next = u->pieces;
    if (u->pieces)
        u->pieces->prev = p;
    u->pieces = p;
    if (e->nspare) {
        e->nspare--;
        p->co = e->spare_co[e->nspare];
        p->co_ref = e->spare_ref[e->nspare];
    } else {
        p->co = lua_newthread(e->script.L);
        p->co_ref = luaL_ref(e->script.L, LUA_REGISTRYINDEX);
    }
    lua_xmove(L, p->co, nargs + 1);
    ccd_user_resume(p, nargs);
    return 0;
}

bool ccd_user_join(ccd_user_t *u)
{
    if (!u->pieces)
        return false;
    u->state = CCD_USER_JOIN;
    return true;
}

ccd_user_t *ccd_user_root(const ccd_user_t *u)
{
    return u->root;
}

static void arm_timer(ccd_user_t *u, double seconds, int state)
{
    ev_timer_set(&u->timer, seconds, 0);
    ev_timer_start(u->eng->loop, &u->timer);
    u->state = (uint8_t)state;
}

void ccd_user_sleep(ccd_user_t *u, double seconds)
{
    arm_timer(u, seconds, CCD_USER_SLEEP);
}

bool ccd_user_wait(ccd_user_t *u, double seconds)
{
    bool yielded = u->yields != u->yields_mark;
    u->yields_mark = u->yields;
    if (seconds <= 0 && yielded)
        return false;
    arm_timer(u, seconds > 0 ? seconds : 0, CCD_USER_WAIT);
    return true;
}

bool ccd_user_stopping(const ccd_user_t *u)
{
    return u->root->stopping;
}

ccd_engine_t *ccd_user_engine(const ccd_user_t *u)
{
    return u->eng;
}

const char *ccd_user_host(const ccd_user_t *u)
{
    return u->eng->hosts[u->class_idx];
}

bool ccd_user_insecure(const ccd_user_t *u)
{
    return u->eng->script.classes[u->class_idx].insecure;
}

double ccd_user_timeout(const ccd_user_t *u)
{
    double t = u->eng->script.classes[u->class_idx].timeout;
    return t >= 0 ? t : u->eng->request_timeout;
}

int64_t ccd_user_max_body(const ccd_user_t *u)
{
    double m = u->eng->script.classes[u->class_idx].max_body;
    if (m < 0)
        return u->eng->max_body;
    return isinf(m) ? -1 : (int64_t)m;
}

unsigned ccd_user_per_host(const ccd_user_t *u)
{
    return u->eng->script.classes[u->class_idx].per_host;
}

int ccd_user_http2(const ccd_user_t *u)
{
    int h = u->eng->script.classes[u->class_idx].http2;
    return h >= 0 ? h : u->eng->http2;
}

void ccd_user_set_self(ccd_user_t *u, lua_State *L, int idx)
{
    luaL_unref(L, LUA_REGISTRYINDEX, u->self_ref);
    lua_pushvalue(L, idx);
    u->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}
