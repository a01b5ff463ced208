/* Allocation-failure tests of the Lua HTTP binding (lclient.c), as test_alloc_fail.c does for
 * the client: malloc, calloc, realloc and strdup fail at their Nth call, N = 1, 2, ... until a
 * run makes fewer calls than N. A run is one user making two requests through the binding's
 * send (a user-agent and a header of its own, a query, a cookie stored and sent back, a gzip
 * body decoded) to a server on loopback. Every run must end cleanly: no crash, no leak (under
 * ASan), each request either answered in full, failed with its error text (counted as a
 * failure or a generator error), or the Lua call raising "out of memory". The engine is
 * replaced by the stubs below (lclient.c is included, so that no engine thread runs): the test
 * is one thread, and the same N fails at the same call in every run. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <lualib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "../alloc_fail.h"
#include "stats/stats.h"

#include "lua/lclient.c"

/* ---- the engine, as the binding sees it: one user, its slot, statistics ---- */

struct ccd_user {
    lua_State *co;
    void *slots[CCD_USER_SLOTS];
    bool blocked, woken;
    int nargs;
};

struct ccd_engine {
    struct ev_loop *loop;
    ccd_http_ctx_t *http;
    ccd_slot_free_fn release[CCD_USER_SLOTS];
    int nslots;
    ccd_stats_t *stats;
    ccd_user_t user;
};

struct ev_loop *ccd_engine_loop(const ccd_engine_t *e)
{
    return e->loop;
}

ccd_http_ctx_t *ccd_engine_http(const ccd_engine_t *e)
{
    return e->http;
}

ccd_user_t *ccd_engine_current(const ccd_engine_t *e)
{
    return e ? (ccd_user_t *)&e->user : NULL;
}

ccd_user_t *ccd_engine_blocking_user(lua_State *L, const ccd_engine_t *e, const char *what)
{
    cr_assert_eq(L, e->user.co, "%s outside the user's coroutine", what);
    return (ccd_user_t *)&e->user;
}

int ccd_engine_slot(ccd_engine_t *e, ccd_slot_free_fn release)
{
    cr_assert_lt(e->nslots, CCD_USER_SLOTS);
    e->release[e->nslots] = release;
    return e->nslots++;
}

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
    u->blocked = true;
}

lua_State *ccd_user_thread(const ccd_user_t *u)
{
    return u->co;
}

void ccd_user_wake(ccd_user_t *u, int nargs)
{
    cr_assert(u->blocked, "a user woken without waiting");
    u->blocked = false;
    u->woken = true;
    u->nargs = nargs;
}

/* The stubbed engine never stops its user. */
bool ccd_user_halted(const ccd_user_t *u)
{
    return false;
}

void ccd_llate_fire(struct ccd_user *u, int nargs)
{
    cr_assert_fail("no answer comes after a stop here");
}

static char host[64];

const char *ccd_user_host(const ccd_user_t *u)
{
    return host;
}

bool ccd_user_insecure(const ccd_user_t *u)
{
    return false;
}

double ccd_user_timeout(const ccd_user_t *u)
{
    return 5;
}

int64_t ccd_user_max_body(const ccd_user_t *u)
{
    return -1;
}

unsigned ccd_user_per_host(const ccd_user_t *u)
{
    return 6;
}

int ccd_user_http2(const ccd_user_t *u)
{
    return 0;
}

/* The stubbed engine runs one user and no piece. */
ccd_user_t *ccd_user_root(const ccd_user_t *u)
{
    return (ccd_user_t *)u;
}

static ccd_engine_t eng;

void ccd_engine_record(ccd_engine_t *e, const char *type, size_t type_len, const char *name,
                       size_t name_len, int64_t us, uint64_t bytes, const char *err, size_t err_len)
{
    ccd_stats_record(e->stats, type, type_len, name, name_len, us, bytes, err, err_len, 1.7e9);
}

/* This test's users run no schedule: their requests go to the engine's statistics as they are. */
void ccd_user_record(ccd_user_t *u, const char *type, size_t type_len, const char *name,
                     size_t name_len, int64_t us, uint64_t bytes, const char *err, size_t err_len)
{
    ccd_engine_record(&eng, type, type_len, name, name_len, us, bytes, err, err_len);
}

void ccd_engine_record_abandoned(ccd_engine_t *e, const char *type, size_t type_len,
                                 const char *name, size_t name_len)
{
    cr_assert_fail("no request is abandoned here");
}

void ccd_engine_record_generator_error(ccd_engine_t *e, const char *type, size_t type_len,
                                       const char *name, size_t name_len, const char *err,
                                       size_t err_len)
{
    ccd_stats_generator_error(e->stats, type, type_len, name, name_len, err, err_len, 1);
}

/* ---- a server on loopback: a gzip body and a cookie for every request, keep-alive ---- */

#define BODY_LEN 100000

static struct {
    int lfd, port;
    atomic_int stop;
    pthread_t th;
    char response[2048];
    size_t response_len;
} srv;

/* The response, made before the allocator is armed: zlib's own calls would count too. */
static void make_response(void)
{
    static char zeros[BODY_LEN];
    static unsigned char gz[1024];
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)zeros, z.avail_in = sizeof(zeros);
    z.next_out = gz, z.avail_out = sizeof(gz);
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = sizeof(gz) - z.avail_out;
    deflateEnd(&z);
    int n = snprintf(srv.response, sizeof(srv.response),
                     "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nSet-Cookie: sid=abc; Path=/\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     len);
    memcpy(srv.response + n, gz, len);
    srv.response_len = (size_t)n + len;
}

static void serve(int fd)
{
    char buf[8192];
    size_t len = 0;
    for (ssize_t n; (n = recv(fd, buf + len, sizeof(buf) - len, 0)) > 0;) {
        len += (size_t)n;
        char *end;
        while ((end = memmem(buf, len, "\r\n\r\n", 4))) {
            size_t used = (size_t)(end + 4 - buf);
            send(fd, srv.response, srv.response_len, MSG_NOSIGNAL);
            memmove(buf, buf + used, len - used);
            len -= used;
        }
        if (len == sizeof(buf))
            break;
    }
    close(fd);
}

static void *srv_main(void *arg)
{
    while (!atomic_load(&srv.stop)) {
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd >= 0)
            serve(fd);
    }
    return NULL;
}

static void srv_start(void)
{
    make_response();
    srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(a);
    cr_assert_eq(bind(srv.lfd, (struct sockaddr *)&a, sl), 0);
    cr_assert_eq(listen(srv.lfd, 64), 0);
    getsockname(srv.lfd, (struct sockaddr *)&a, &sl);
    srv.port = ntohs(a.sin_port);
    snprintf(host, sizeof(host), "http://127.0.0.1:%d", srv.port);
    pthread_create(&srv.th, NULL, srv_main, NULL);
}

static void srv_stop(void)
{
    atomic_store(&srv.stop, 1);
    shutdown(srv.lfd, SHUT_RDWR);
    pthread_join(srv.th, NULL);
    close(srv.lfd);
}

/* ---- the user's requests ---- */

/* What cicada.lua does with send: a request, the yield until the response. Returns status,
 * body length, failure text and whether it was a generator error. */
static const char USER[] =
    "local send = core.send\n"
    "function request(i)\n"
    "  local name, unsent, gen = send('GET', '/x', { params = { q = 'a b', i = i },\n"
    "      headers = { ['X-Try'] = tostring(i) } }, { ['User-Agent'] = 'torture' })\n"
    "  if unsent then return 0, 0, unsent, gen or false end\n"
    "  local status, body, elapsed, failure, raw, location, g = coroutine.yield()\n"
    "  return status, #body, failure, g\n"
    "end\n";

typedef struct {
    int answered, failed, generator, raised;
} tally_t;

/* One request of the user, run to its end. */
static void request(lua_State *L, int i, tally_t *t)
{
    lua_State *co = lua_newthread(L);
    eng.user.co = co;
    lua_getglobal(co, "request");
    lua_pushinteger(co, i);
    int st = lua_resume(co, 1);
    while (st == LUA_YIELD) {
        cr_assert(eng.user.blocked, "the coroutine yielded without a request in flight");
        while (!eng.user.woken)
            ev_run(eng.loop, EVRUN_ONCE);
        eng.user.woken = false;
        st = lua_resume(co, eng.user.nargs);
    }
    if (st != 0) {
        const char *m = lua_tostring(co, -1);
        cr_assert(m && (strstr(m, "out of memory") || strstr(m, "not enough memory")),
                  "request %d raised: %s", i, m ? m : "(no message)");
        t->raised++;
    } else if (lua_isnil(co, 3)) {
        cr_assert_eq(lua_tointeger(co, 1), 200);
        cr_assert_eq(lua_tointeger(co, 2), BODY_LEN, "a short body passed for a success");
        t->answered++;
    } else {
        const char *failure = lua_tostring(co, 3);
        cr_assert(failure && failure[0], "request %d failed without a text", i);
        cr_assert(strcasestr(failure, "memory"), "request %d: the text does not say why: %s", i,
                  failure);
        t->failed++;
        t->generator += lua_toboolean(co, 4);
    }
    lua_pop(L, 1);
    eng.user.co = NULL;
}

/* A fresh Lua state and user making two requests; the user's HTTP state is freed as the
 * engine frees it, then the state is closed. */
static tally_t user_run(void)
{
    tally_t t = {0};
    lua_State *L = luaL_newstate();
    cr_assert_not_null(L);
    luaL_openlibs(L);
    lua_newtable(L);
    ccd_lclient_register(L, &eng);
    lua_setglobal(L, "core");
    cr_assert_eq(luaL_dostring(L, USER), 0, "%s", lua_tostring(L, -1));
    request(L, 1, &t);
    request(L, 2, &t);
    for (int i = 0; i < eng.nslots; i++) {
        if (eng.user.slots[i])
            eng.release[i](eng.user.slots[i]);
        eng.user.slots[i] = NULL;
    }
    eng.nslots = 0; /* the next Lua state registers the binding again */
    lua_close(L);
    return t;
}

Test(lclient_alloc_fail, two_requests_through_the_binding, .timeout = 120)
{
    signal(SIGPIPE, SIG_IGN);
    srv_start();
    eng.loop = ev_loop_new(EVFLAG_AUTO);
    cr_assert_eq(ccd_http_ctx_create(&eng.http, eng.loop, NULL), 0);
    long n = 1;
    int raised = 0, failed = 0, generator = 0;
    for (;; n++) {
        eng.stats = ccd_stats_new(1.7e9);
        arm(n);
        tally_t t = user_run();
        bool hit = disarm();
        raised += t.raised;
        failed += t.failed;
        generator += t.generator;
        if (!hit) {
            cr_assert_eq(t.answered, 2, "a run without a failed allocation answers both");
            const ccd_stats_entry_t *e = ccd_stats_total(eng.stats);
            cr_assert_eq(e->num_requests, 2);
            cr_assert_eq(e->num_failures, 0);
            cr_assert_eq(e->total_content_length, 2 * BODY_LEN);
            ccd_stats_free(eng.stats);
            break;
        }
        ccd_stats_free(eng.stats);
    }
    cr_assert_gt(n, 10, "the runs went through some allocations");
    cr_assert_gt(raised + failed, 0, "no failure was ever seen");
    cr_log_info("binding: %ld allocations, each failed once (%d raised, %d failed requests, %d "
                "of them generator errors)",
                n - 1, raised, failed, generator);
    ccd_http_ctx_destroy(eng.http);
    ev_loop_destroy(eng.loop);
    srv_stop();
}
