/* Simulated users: a coroutine each, pooled structs, started and stopped by the engine. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "http/cookie.h"
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
    void **slabs = realloc(e->slabs, (e->nslabs + 1) * sizeof(*slabs));
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
    u->co_ref = u->self_ref = LUA_NOREF;
    ev_init(&u->timer, on_timer);
    u->timer.data = u;
    return u;
}

/* Cancels whatever u waits for (timer, HTTP request, other I/O). */
static void cancel_waits(ccd_user_t *u)
{
    ev_timer_stop(u->eng->loop, &u->timer);
    if (u->http)
        ccd_http_cancel(u->http);
    if (u->cancel) {
        void (*cancel)(void *) = u->cancel;
        u->cancel = NULL;
        cancel(u->cancel_ud);
    }
}

static void user_release(ccd_user_t *u)
{
    ccd_engine_t *e = u->eng;
    lua_State *L = e->script.L;
    cancel_waits(u);
    if (u->http)
        ccd_http_session_free(u->http);
    ccd_cookie_jar_free(u->cookies);
    luaL_unref(L, LUA_REGISTRYINDEX, u->co_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, u->self_ref);
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

void ccd_user_stop(ccd_user_t *u, bool graceful)
{
    if (u->in_stop)
        return;
    u->stopping = true;
    if (u->state == CCD_USER_WAIT) {
        /* Between tasks: wake it; its loop sees `stopping` and runs on_stop itself. */
        ev_timer_stop(u->eng->loop, &u->timer);
        ccd_user_resume(u, 0);
        return;
    }
    if (!graceful)
        run_on_stop(u);
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
    e->nslabs = 0;
    e->free_users = NULL;
}
