/* Loading a scenario: a fresh LuaJIT state, the embedded cicada library, the user's file. */
#include "engine/script.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "engine/lmem.h"

#define LMEM_KEEP (4u << 20) /* free blocks a state's allocator keeps at most */

/* An error outside any protected call (luaL_newstate sets the same kind of handler). */
static int panic(lua_State *L)
{
    const char *s = lua_tostring(L, -1);
    fprintf(stderr, "cicada: unprotected error in call to Lua API (%s)\n", s ? s : "?");
    return 0;
}

extern const unsigned char ccd_lua_cicada[];
extern const size_t ccd_lua_cicada_len;

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    lua_getglobal(L, "debug");
    lua_getfield(L, -1, "traceback");
    lua_pushstring(L, msg);
    lua_pushinteger(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

int ccd_script_pcall(lua_State *L, int nargs, int nresults, char *err, size_t errlen)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    if (rc == 0)
        return 0;
    snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error");
    lua_pop(L, 1);
    return CCD_ESCRIPT;
}

/* Keeps the first line of a traceback-decorated message: what the user needs on one line. */
static void first_line(char *s)
{
    char *nl = strchr(s, '\n');
    if (nl)
        *nl = '\0';
}

/* Loads the embedded library with the core table as its argument; leaves the module on top. */
static int load_library(lua_State *L, const ccd_script_env_t *env, char *err, size_t errlen)
{
    if (luaL_loadbuffer(L, (const char *)ccd_lua_cicada, ccd_lua_cicada_len, "=cicada")) {
        snprintf(err, errlen, "cicada library: %s", lua_tostring(L, -1));
        return CCD_ESCRIPT;
    }
    env->open(L, env->ud);
    if (ccd_script_pcall(L, 1, 1, err, errlen))
        return CCD_ESCRIPT;
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "cicada");
    lua_pop(L, 2);
    return 0;
}

/* Lets a scenario require modules that sit next to it. */
static void set_package_path(lua_State *L, const char *path)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) : 1;
    const char *dir = slash ? path : ".";
    char buf[4096];
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    snprintf(buf, sizeof(buf), "%.*s/?.lua;%s", dirlen, dir, lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_pushstring(L, buf);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
}

/* Records the scenario's directory for the data files it names (see CCD_SCRIPT_DIR_KEY). */
static void set_scenario_dir(lua_State *L, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash)
        lua_pushlstring(L, path, (size_t)(slash - path));
    else
        lua_pushliteral(L, ".");
    lua_setfield(L, LUA_REGISTRYINDEX, CCD_SCRIPT_DIR_KEY);
}

static char *dup_field(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    char *v = lua_isstring(L, -1) ? strdup(lua_tostring(L, -1)) : NULL;
    lua_pop(L, 1);
    return v;
}

static double num_field(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static double opt_num_field(lua_State *L, int idx, const char *key, double absent)
{
    lua_getfield(L, idx, key);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : absent;
    lua_pop(L, 1);
    return v;
}

/* Reads the class descriptions returned by the library's _prepare (on top of the stack). */
static int read_classes(ccd_script_t *s, char *err, size_t errlen)
{
    lua_State *L = s->L;
    size_t n = lua_objlen(L, -1);
    s->classes = calloc(n ? n : 1, sizeof(*s->classes));
    if (!s->classes) {
        snprintf(err, errlen, "user classes: %s", ccd_strerror(CCD_ENOMEM));
        return CCD_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (int)i + 1);
        ccd_class_t *c = &s->classes[i];
        c->name = dup_field(L, -1, "name");
        c->host = dup_field(L, -1, "host");
        c->weight = num_field(L, -1, "weight");
        c->fixed_count = (unsigned)num_field(L, -1, "fixed_count");
        c->insecure = num_field(L, -1, "insecure") != 0;
        c->timeout = opt_num_field(L, -1, "timeout", -1);
        c->max_body = opt_num_field(L, -1, "max_body", -1);
        c->per_host = (unsigned)opt_num_field(L, -1, "per_host", CCD_PER_HOST_DEFAULT);
        c->http2 = (int)opt_num_field(L, -1, "http2", -1);
        c->runnable = num_field(L, -1, "runnable") != 0;
        c->open = num_field(L, -1, "open") != 0;
        c->arrival_rate = opt_num_field(L, -1, "arrival_rate", -1);
        c->arrival_backlog = opt_num_field(L, -1, "arrival_backlog", 0);
        lua_pop(L, 1);
        s->nclasses++;
    }
    lua_pop(L, 1);
    return 0;
}

static int module_ref(lua_State *L, const char *field)
{
    lua_getfield(L, -1, field);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Runs one scenario file; the library's _file names it for the classes it defines (so that a
 * class defined twice names both files). */
static int run_file(ccd_script_t *s, const char *file, char *err, size_t errlen)
{
    lua_State *L = s->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->module_ref);
    lua_pushstring(L, file);
    lua_setfield(L, -2, "_file");
    lua_pop(L, 1);
    if (luaL_loadfile(L, file)) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return CCD_ESCRIPT;
    }
    if (ccd_script_pcall(L, 0, 0, err, errlen)) {
        first_line(err);
        return CCD_ESCRIPT;
    }
    return 0;
}

static int run_scenario(ccd_script_t *s, const char *path, const ccd_script_files_t *files,
                        char *err, size_t errlen)
{
    lua_State *L = s->L;
    for (size_t i = 0; i < files->n; i++)
        if (run_file(s, files->paths[i], err, errlen))
            return CCD_ESCRIPT;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->module_ref);
    lua_getfield(L, -1, "_prepare");
    lua_remove(L, -2);
    if (ccd_script_pcall(L, 0, 1, err, errlen)) {
        first_line(err);
        char tmp[1024];
        snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
        snprintf(err, errlen, "%s", tmp);
        return CCD_ESCRIPT;
    }
    int rc = read_classes(s, err, errlen);
    if (rc == 0) { /* the init event: once per Lua state, after the scenario loaded */
        lua_rawgeti(L, LUA_REGISTRYINDEX, s->module_ref);
        lua_getfield(L, -1, "_fire");
        lua_remove(L, -2);
        lua_pushliteral(L, "init");
        ccd_script_pcall(L, 1, 0, err, errlen); /* listener errors are reported by _fire */
    }
    return rc;
}

int ccd_script_open(ccd_script_t *s, const char *path, const ccd_script_env_t *env, char *err,
                    size_t errlen)
{
    memset(s, 0, sizeof(*s));
    ccd_script_files_t files;
    int rc = ccd_script_files(&files, path, err, errlen);
    if (rc)
        return CCD_ESCRIPT;
    s->mem = ccd_lmem_new(LMEM_KEEP);
    s->L = s->mem ? lua_newstate(ccd_lmem_alloc, s->mem) : NULL;
    if (s->L)
        lua_atpanic(s->L, panic);
    if (!s->L) {
        ccd_lmem_free(s->mem);
        ccd_script_files_free(&files);
        snprintf(err, errlen, "out of memory creating the Lua state");
        return CCD_ENOMEM;
    }
    luaL_openlibs(s->L);
    lua_getglobal(s->L, "math");
    lua_getfield(s->L, -1, "randomseed");
    lua_pushnumber(s->L, env->seed);
    lua_call(s->L, 1, 0);
    lua_pop(s->L, 1);
    /* The last file's folder is searched first: it was prepended last. Data files resolve
     * against the first file's folder. */
    for (size_t i = 0; i < files.n; i++)
        set_package_path(s->L, files.paths[i]);
    set_scenario_dir(s->L, files.paths[0]);
    rc = load_library(s->L, env, err, errlen);
    if (rc == 0) {
        s->run_ref = module_ref(s->L, "_run");
        s->stop_ref = module_ref(s->L, "_stop");
        s->module_ref = luaL_ref(s->L, LUA_REGISTRYINDEX);
        rc = run_scenario(s, path, &files, err, errlen);
    }
    ccd_script_files_free(&files);
    if (rc)
        ccd_script_close(s);
    return rc ? CCD_ESCRIPT : 0;
}

void ccd_script_close(ccd_script_t *s)
{
    for (size_t i = 0; i < s->nclasses; i++) {
        free(s->classes[i].name);
        free(s->classes[i].host);
    }
    free(s->classes);
    if (s->L)
        lua_close(s->L);
    ccd_lmem_free(s->mem);
    memset(s, 0, sizeof(*s));
}

int ccd_script_find_class(const ccd_script_t *s, const char *name)
{
    for (size_t i = 0; i < s->nclasses; i++)
        if (strcmp(s->classes[i].name, name) == 0)
            return (int)i;
    return -1;
}
