/* The main thread's copy of the scenario: class selection, the plan's weights, thresholds,
 * events and listings, all through the cicada library's functions. */
#include "control/scenario.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "lua/lcore.h"
#include "base/log.h"
#include "http/url.h"

/* Resolves positional class names into the selection; every class when none is named. */
static int select_classes(ccd_scenario_t *s, const ccd_options_t *o, char *err, size_t errlen)
{
    size_t n = o->nclasses ? (size_t)o->nclasses : s->script.nclasses;
    if (!(s->sel = calloc(n ? n : 1, sizeof(*s->sel))))
        return CCD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int idx = o->nclasses ? ccd_script_find_class(&s->script, o->classes[i]) : (int)i;
        if (idx < 0) {
            snprintf(err, errlen, "unknown user class '%s' (see --list)", o->classes[i]);
            return CCD_EINVAL;
        }
        if (s->script.classes[idx].runnable)
            s->sel[s->nsel++] = idx;
    }
    if (s->nsel == 0) {
        snprintf(err, errlen, "%s",
                 o->tags || o->exclude_tags ? "no task matches the tags given with -T/-E"
                                            : "no user class to run");
        return CCD_EINVAL;
    }
    return 0;
}

static bool has_shape(ccd_scenario_t *s)
{
    if (ccd_scenario_call(s, "_has_shape", 0, 1))
        return false;
    bool yes = lua_toboolean(s->script.L, -1);
    lua_pop(s->script.L, 1);
    return yes;
}

/* This Lua state only describes the scenario: no engine, so user I/O raises. */
static void open_loading_only(lua_State *L, void *ud)
{
    ccd_lcore_open(L, NULL, ud);
}

/* Schemes other than http(s) that a scenario's own sockets speak (cicada.tcp(), the Redis
 * example): their hosts are the scenario's to read from self.host. */
static const char *const SOCKET_SCHEMES[] = {"tcp", "redis"};
#define SUPPORTED_SCHEMES "http and https (the HTTP client), tcp and redis (a scenario's sockets)"

static bool socket_scheme(const char *url)
{
    size_t n = (size_t)(strstr(url, "://") - url);
    for (size_t i = 0; i < sizeof(SOCKET_SCHEMES) / sizeof(SOCKET_SCHEMES[0]); i++)
        if (strlen(SOCKET_SCHEMES[i]) == n && strncasecmp(url, SOCKET_SCHEMES[i], n) == 0)
            return true;
    return false;
}

/* -H, else the selected classes' own hosts: requests to a URL that cannot be requested would
 * all fail, so the test does not start. */
static int check_host(const char *what, const char *host, char *err, size_t errlen)
{
    bool other;
    const char *why = ccd_url_base_problem(host, &other);
    if (!why || (other && socket_scheme(host)))
        return 0;
    if (other)
        snprintf(err, errlen, "%s '%s': unsupported scheme '%.*s': cicada supports %s", what, host,
                 (int)(strstr(host, "://") - host), host, SUPPORTED_SCHEMES);
    else
        snprintf(err, errlen, "%s '%s': %s", what, host, why);
    return CCD_EINVAL;
}

static int check_hosts(const ccd_scenario_t *s, const ccd_options_t *o, char *err, size_t errlen)
{
    if (o->host)
        return check_host("-H/--host", o->host, err, errlen);
    char what[300];
    for (size_t i = 0; i < s->nsel; i++) {
        const ccd_class_t *c = &s->script.classes[s->sel[i]];
        snprintf(what, sizeof(what), "class %s: host", c->name);
        if (c->host && check_host(what, c->host, err, errlen))
            return CCD_EINVAL;
    }
    return 0;
}

int ccd_scenario_open(ccd_scenario_t *s, const ccd_options_t *o, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    err[0] = '\0';
    ccd_script_files_t files;
    if (ccd_script_files(&files, o->scenario, err, errlen))
        return CCD_EINVAL;
    ccd_script_files_free(&files);
    ccd_lcore_config_t lcore = {.tags = o->tags,
                                .exclude_tags = o->exclude_tags,
                                .equal_weights = o->equal_weights,
                                .config_users = o->config_users,
                                .arrival_rate = o->arrival_rate,
                                .arrival_backlog = (double)o->arrival_backlog,
                                .sender = &s->_sender};
    ccd_script_env_t env = {.open = open_loading_only, .ud = &lcore, .seed = 1};
    /* The init event's listener errors are logged, yet ccd_script_open() also leaves their text
     * in err: it is emptied after a success, so that no later failure prints it. */
    int rc = ccd_script_open(&s->script, o->scenario, &env, err, errlen);
    if (rc == 0)
        err[0] = '\0';
    if (rc == 0 && (rc = select_classes(s, o, err, errlen)) == 0 &&
        (rc = check_hosts(s, o, err, errlen)) == 0)
        s->has_shape = has_shape(s);
    if (rc && !err[0])
        snprintf(err, errlen, "cannot load scenario file '%s': %s", o->scenario, ccd_strerror(rc));
    return rc;
}

void ccd_scenario_close(ccd_scenario_t *s)
{
    if (s->script.L)
        ccd_script_close(&s->script);
    free(s->sel);
    s->sel = NULL;
    s->nsel = 0;
}

const char *ccd_scenario_class_name(const ccd_scenario_t *s, size_t c)
{
    return s->script.classes[s->sel[c]].name;
}

int ccd_scenario_plan(const ccd_scenario_t *s, unsigned nengines, ccd_dispatch_t **out, char *err,
                      size_t errlen)
{
    double *w = calloc(s->nsel, sizeof(double)), total = 0;
    unsigned *f = calloc(s->nsel, sizeof(unsigned));
    for (size_t i = 0; w && f && i < s->nsel; i++) {
        w[i] = s->script.classes[s->sel[i]].weight;
        f[i] = s->script.classes[s->sel[i]].fixed_count;
        total += w[i] + f[i];
    }
    int rc = w && f ? 0 : CCD_ENOMEM;
    if (rc == 0 && total <= 0)
        rc = CCD_EINVAL;
    if (rc == 0 && !(*out = ccd_dispatch_new(s->nsel, w, f, nengines)))
        rc = CCD_ENOMEM;
    if (rc)
        snprintf(err, errlen, "%s",
                 rc == CCD_EINVAL ? "every selected user class has weight 0"
                                  : "out of memory planning the users");
    free(w);
    free(f);
    return rc;
}

int ccd_scenario_thresholds(ccd_scenario_t *s, ccd_thresholds_t *t, char *err, size_t errlen)
{
    lua_State *L = s->script.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->script.module_ref);
    err[0] = '\0';
    lua_getfield(L, -1, "_thresholds");
    int n = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : 0, rc = 0;
    for (int i = 1; i <= n && rc == 0; i++) {
        lua_rawgeti(L, -1, i);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        rc = ccd_thresholds_add(t, lua_tostring(L, -2), lua_tostring(L, -1), err, errlen);
        lua_pop(L, 3);
    }
    lua_pop(L, 2);
    if (rc && !err[0])
        snprintf(err, errlen, "cannot add the scenario's thresholds: %s", ccd_strerror(rc));
    return rc;
}

int ccd_scenario_call(ccd_scenario_t *s, const char *name, int nargs, int nresults)
{
    lua_State *L = s->script.L;
    char err[2048] = "";
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->script.module_ref);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    lua_insert(L, -1 - nargs);
    if (ccd_script_pcall(L, nargs, nresults, err, sizeof(err)) == 0)
        return 0;
    ccd_log(CCD_LOG_ERROR, "%s", err[0] ? err : "error in the cicada library");
    return CCD_ESCRIPT;
}

void ccd_scenario_fire(ccd_scenario_t *s, const char *event, const double *arg)
{
    lua_pushstring(s->script.L, event);
    if (arg)
        lua_pushnumber(s->script.L, *arg);
    ccd_scenario_call(s, "_fire", arg ? 2 : 1, 0);
}

void ccd_scenario_on_send(ccd_scenario_t *s,
                          int (*fn)(void *ud, const char *type, const char *json, const char *to),
                          void *ud)
{
    s->_sender.fn = fn;
    s->_sender.ud = ud;
}

int ccd_scenario_deliver(ccd_scenario_t *s, const char *type, const char *json, const char *from)
{
    lua_State *L = s->script.L;
    lua_pushstring(L, type);
    lua_pushstring(L, json);
    if (from)
        lua_pushstring(L, from);
    else
        lua_pushnil(L);
    if (ccd_scenario_call(s, "_message", 3, 1))
        return CCD_ESCRIPT;
    if (!lua_toboolean(L, -1))
        ccd_log(CCD_LOG_WARNING,
                "Unknown message type received%s%s: '%s' (no cicada.on_message handler)",
                from ? " from " : "", from ? from : "", type);
    lua_pop(L, 1);
    return 0;
}

/* Pushes the task ratios of the selected classes (a string: fn is _task_ratio for the table,
 * _task_ratio_json for Locust's JSON) on the stack. */
static int task_ratio(ccd_scenario_t *s, const char *fn)
{
    lua_State *L = s->script.L;
    lua_newtable(L);
    for (size_t i = 0; i < s->nsel; i++) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, ccd_scenario_class_name(s, i));
    }
    return ccd_scenario_call(s, fn, 1, 1);
}

bool ccd_scenario_list(ccd_scenario_t *s, const ccd_options_t *o, FILE *out)
{
    lua_State *L = s->script.L;
    if (!o->list && !o->show_task_ratio && !o->show_task_ratio_json)
        return false;
    int rc = o->list              ? ccd_scenario_call(s, "_list_classes", 0, 1)
             : o->show_task_ratio ? task_ratio(s, "_task_ratio")
                                  : task_ratio(s, "_task_ratio_json");
    if (rc)
        lua_pushnil(L); /* the error was logged: an empty line */
    fprintf(out, "%s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
    return true;
}
