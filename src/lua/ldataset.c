/* cicada.data.csv(path, opts): a handle on a shared, immutable data set whose next() builds a
 * Lua table for the one row it hands out; no user holds a copy of the file. */
#include "lua/ldataset.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "lua/dataset.h"
#include "lua/lrandom.h"
#include "engine/script.h"

#define HANDLE_META "cicada.data.csv"

/* The handle's userdata. Its environment table lists the column names as interned strings,
 * so that building a row hashes no key. */
typedef struct {
    ccd_dataset_t *ds; /* one reference; NULL once collected */
    ccd_dataset_mode_t mode;
    bool named; /* the file has a header: rows are keyed by column name */
} handle_t;

/* In the order of ccd_dataset_mode_t. */
static const char *const mode_names[] = {"round_robin", "random", "each_once", NULL};

static handle_t *check_handle(lua_State *L)
{
    handle_t *h = luaL_checkudata(L, 1, HANDLE_META);
    if (!h->ds)
        luaL_error(L, "this data set was closed");
    return h;
}

/* Pushes row as a table keyed by the column names (the handle's environment, at index 1). */
static void push_named_row(lua_State *L, const ccd_dataset_t *ds, size_t row)
{
    size_t cols = ccd_dataset_cols(ds), len;
    lua_createtable(L, 0, (int)cols);
    lua_getfenv(L, 1);
    for (size_t c = 0; c < cols; c++) {
        const char *v = ccd_dataset_field(ds, row, c, &len);
        lua_rawgeti(L, -1, (int)c + 1);
        lua_pushlstring(L, v, len);
        lua_rawset(L, -4);
    }
    lua_pop(L, 1);
}

static void push_array_row(lua_State *L, const ccd_dataset_t *ds, size_t row)
{
    size_t cols = ccd_dataset_cols(ds), len;
    lua_createtable(L, (int)cols, 0);
    for (size_t c = 0; c < cols; c++) {
        const char *v = ccd_dataset_field(ds, row, c, &len);
        lua_pushlstring(L, v, len);
        lua_rawseti(L, -2, (int)c + 1);
    }
}

/* handle:next() -> the next row (a table keyed by column name, or an array), or nil. */
static int l_next(lua_State *L)
{
    handle_t *h = check_handle(L);
    uint64_t rnd = h->mode == CCD_DATASET_RANDOM ? ccd_lrandom_next(L, lua_upvalueindex(1)) : 0;
    long row = ccd_dataset_pick(h->ds, h->mode, rnd);
    if (row < 0)
        lua_pushnil(L);
    else if (h->named)
        push_named_row(L, h->ds, (size_t)row);
    else
        push_array_row(L, h->ds, (size_t)row);
    return 1;
}

/* handle:count() -> the number of rows, the header excluded. */
static int l_count(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)ccd_dataset_rows(check_handle(L)->ds));
    return 1;
}

static int l_gc(lua_State *L)
{
    handle_t *h = luaL_checkudata(L, 1, HANDLE_META);
    if (h->ds)
        ccd_dataset_release(h->ds);
    h->ds = NULL;
    return 0;
}

static int l_tostring(lua_State *L)
{
    handle_t *h = luaL_checkudata(L, 1, HANDLE_META);
    lua_pushfstring(L, "cicada.data.csv (%s, %d rows)", mode_names[h->mode],
                    h->ds ? (int)ccd_dataset_rows(h->ds) : 0);
    return 1;
}

static ccd_dataset_mode_t check_mode(lua_State *L, int idx)
{
    const char *m = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "";
    for (int i = 0; mode_names[i]; i++)
        if (strcmp(m, mode_names[i]) == 0)
            return (ccd_dataset_mode_t)i;
    luaL_error(L,
               "cicada.data.csv: mode must be \"round_robin\", \"random\" or \"each_once\", "
               "not %s",
               m[0] ? m : luaL_typename(L, idx));
    return CCD_DATASET_ROUND_ROBIN;
}

/* Reads opts (at index 2, a table or nil) into *mode and *header, rejecting unknown keys so
 * that a misspelt option is not silently ignored. */
static void read_opts(lua_State *L, ccd_dataset_mode_t *mode, bool *header)
{
    *mode = CCD_DATASET_ROUND_ROBIN;
    *header = true;
    if (lua_isnoneornil(L, 2))
        return;
    luaL_checktype(L, 2, LUA_TTABLE);
    for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        if (strcmp(k, "mode") == 0) {
            *mode = check_mode(L, -1);
        } else if (strcmp(k, "header") == 0) {
            if (!lua_isboolean(L, -1))
                luaL_error(L, "cicada.data.csv: header must be true or false");
            *header = lua_toboolean(L, -1);
        } else {
            luaL_error(L, "cicada.data.csv: unknown option '%s' (the options are mode and header)",
                       k);
        }
    }
}

/* Pushes path resolved against the scenario's directory (when it is relative). */
static void push_resolved(lua_State *L, const char *path)
{
    if (path[0] == '/') {
        lua_pushstring(L, path);
        return;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, CCD_SCRIPT_DIR_KEY);
    const char *dir = lua_isstring(L, -1) ? lua_tostring(L, -1) : ".";
    lua_pushfstring(L, "%s/%s", dir, path);
    lua_remove(L, -2);
}

/* Pushes a table of the column names as Lua strings (empty without a header). */
static void push_names(lua_State *L, const ccd_dataset_t *ds)
{
    size_t cols = ccd_dataset_cols(ds), len;
    lua_createtable(L, (int)cols, 0);
    for (size_t c = 0; c < cols && ccd_dataset_name(ds, c, &len); c++) {
        lua_pushlstring(L, ccd_dataset_name(ds, c, &len), len);
        lua_rawseti(L, -2, (int)c + 1);
    }
}

/* csv(path [, opts]) -> a handle; a Lua error naming file:line when the file is malformed. */
static int l_csv(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    ccd_dataset_mode_t mode;
    bool header;
    read_opts(L, &mode, &header);
    push_resolved(L, path);
    handle_t *h = lua_newuserdata(L, sizeof(*h));
    h->ds = NULL;
    h->mode = mode;
    h->named = header;
    luaL_getmetatable(L, HANDLE_META);
    lua_setmetatable(L, -2);
    char err[512];
    if (ccd_dataset_acquire(lua_tostring(L, -2), header, &h->ds, err, sizeof(err)))
        return luaL_error(L, "%s", err);
    push_names(L, h->ds);
    lua_setfenv(L, -2);
    return 1;
}

/* The handles' metatable; its methods share the state's generator (for mode "random"). */
static void push_metatable(lua_State *L, int gen)
{
    static const luaL_Reg methods[] = {{"next", l_next}, {"count", l_count}, {NULL, NULL}};
    luaL_newmetatable(L, HANDLE_META);
    lua_newtable(L);
    for (const luaL_Reg *m = methods; m->name; m++) {
        lua_pushvalue(L, gen);
        lua_pushcclosure(L, m->func, 1);
        lua_setfield(L, -2, m->name);
    }
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "cicada.data.csv");
    lua_setfield(L, -2, "__metatable");
}

void ccd_ldataset_register(lua_State *L)
{
    ccd_lrandom_new(L);
    push_metatable(L, lua_gettop(L));
    lua_pop(L, 2);
    lua_newtable(L);
    lua_pushcfunction(L, l_csv);
    lua_setfield(L, -2, "csv");
    lua_setfield(L, -2, "data");
}
