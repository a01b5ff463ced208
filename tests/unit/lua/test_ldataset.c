/* Tests of cicada.data from Lua: rows as tables or arrays, the three modes, paths resolved
 * against the scenario's directory, option checks and load errors naming file:line. */
#include <criterion/criterion.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua/ldataset.h"
#include "lua/lcore.h"
#include "engine/script.h"

static char dir[] = "/tmp/ccd-ldataset-XXXXXX";

/* A loading-only state's bindings (no engine), as the runner opens them. */
static void open_bindings(lua_State *L, void *ud)
{
    ccd_lcore_open(L, NULL, ud);
}

static void make_dir(void)
{
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(ldataset, .init = make_dir, .fini = remove_dir);

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* A state with the global `data` = core.data, the scenario directory set to dir. */
static lua_State *new_state(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_pushstring(L, dir);
    lua_setfield(L, LUA_REGISTRYINDEX, CCD_SCRIPT_DIR_KEY);
    lua_newtable(L);
    ccd_ldataset_register(L);
    lua_getfield(L, -1, "data");
    lua_setglobal(L, "data");
    lua_pop(L, 1);
    return L;
}

/* Runs code in L; returns NULL or the error message (valid until L is closed). */
static const char *run(lua_State *L, const char *code)
{
    if (luaL_loadbuffer(L, code, strlen(code), "=test") || lua_pcall(L, 0, 0, 0))
        return lua_tostring(L, -1);
    return NULL;
}

static void expect_ok(lua_State *L, const char *code)
{
    const char *err = run(L, code);
    cr_expect_null(err, "%s", err);
}

Test(ldataset, rows_are_tables_keyed_by_column_name)
{
    write_file("accounts.csv", "username,password\nalice,\"p,1\"\nbob,p2\n");
    lua_State *L = new_state();
    expect_ok(L, "local d = data.csv('accounts.csv')\n"
                 "assert(d:count() == 2)\n"
                 "local r = d:next()\n"
                 "assert(r.username == 'alice' and r.password == 'p,1', r.username)\n"
                 "assert(d:next().username == 'bob')\n"
                 "assert(d:next().username == 'alice', 'round robin by default')\n"
                 "r.username = 'changed'\n"
                 "assert(d:next().username == 'bob' and d:next().username == 'alice',\n"
                 "       'each row a fresh table')\n");
    lua_close(L);
}

Test(ldataset, without_header_rows_are_arrays)
{
    write_file("ids.csv", "7,a\n8,b\n");
    lua_State *L = new_state();
    expect_ok(L, "local d = data.csv('ids.csv', { header = false })\n"
                 "assert(d:count() == 2)\n"
                 "local r = d:next()\n"
                 "assert(#r == 2 and r[1] == '7' and r[2] == 'a')\n");
    lua_close(L);
}

Test(ldataset, each_once_ends_with_nil_and_handles_share_the_cursor)
{
    write_file("once.csv", "id\n1\n2\n3\n");
    lua_State *L = new_state();
    expect_ok(L, "local a = data.csv('once.csv', { mode = 'each_once' })\n"
                 "local b = data.csv('./once.csv', { mode = 'each_once' })\n"
                 "assert(a:next().id == '1' and b:next().id == '2' and a:next().id == '3')\n"
                 "assert(a:next() == nil and b:next() == nil and a:next() == nil)\n"
                 "assert(a:count() == 3)\n");
    lua_close(L);
}

Test(ldataset, random_covers_every_row)
{
    write_file("r.csv", "id\na\nb\nc\nd\n");
    lua_State *L = new_state();
    expect_ok(L, "local d = data.csv('r.csv', { mode = 'random' })\n"
                 "local seen, n = {}, 0\n"
                 "for i = 1, 400 do\n"
                 "  local id = d:next().id\n"
                 "  if not seen[id] then seen[id] = 0; n = n + 1 end\n"
                 "  seen[id] = seen[id] + 1\n"
                 "end\n"
                 "assert(n == 4, 'rows seen: ' .. n)\n"
                 "for id, c in pairs(seen) do assert(c > 50, id .. ': ' .. c) end\n");
    lua_close(L);
}

Test(ldataset, absolute_paths_are_used_as_given)
{
    write_file("abs.csv", "x\n1\n");
    lua_State *L = new_state();
    lua_pushfstring(L, "%s/abs.csv", dir);
    lua_setglobal(L, "path");
    expect_ok(L, "assert(data.csv(path):next().x == '1')\n");
    lua_close(L);
}

Test(ldataset, malformed_file_is_an_error_with_file_and_line)
{
    write_file("bad.csv", "a,b\n1,2\n\"3,4\n");
    lua_State *L = new_state();
    const char *err = run(L, "data.csv('bad.csv')");
    char want[256];
    snprintf(want, sizeof(want), "%s/bad.csv:3: unterminated quoted field", dir);
    cr_assert_not_null(err);
    cr_expect(strstr(err, want) != NULL, "%s", err);
    err = run(L, "data.csv('missing.csv')");
    cr_expect(err && strstr(err, "missing.csv: No such file or directory"), "%s", err);
    lua_close(L);
}

Test(ldataset, options_are_checked)
{
    write_file("o.csv", "x\n1\n");
    lua_State *L = new_state();
    const char *err = run(L, "data.csv('o.csv', { mode = 'sequential' })");
    cr_expect(err && strstr(err, "mode must be"), "%s", err);
    err = run(L, "data.csv('o.csv', { headers = true })");
    cr_expect(err && strstr(err, "unknown option 'headers'"), "%s", err);
    err = run(L, "data.csv('o.csv', { header = 'yes' })");
    cr_expect(err && strstr(err, "header must be true or false"), "%s", err);
    err = run(L, "data.csv('o.csv', 5)");
    cr_expect(err != NULL);
    err = run(L, "data.csv()");
    cr_expect(err != NULL);
    expect_ok(L, "assert(tostring(data.csv('o.csv')):find('round_robin, 1 rows'))");
    lua_close(L);
}

Test(ldataset, handles_release_the_data_when_collected)
{
    write_file("gc.csv", "x\nold\n");
    lua_State *L = new_state();
    expect_ok(L, "local d = data.csv('gc.csv'); d = nil; collectgarbage(); collectgarbage()");
    write_file("gc.csv", "x\nnew\n");
    expect_ok(L, "assert(data.csv('gc.csv'):next().x == 'new', 'the old data set was kept')");
    lua_close(L);
}

/* The whole path: the scenario's directory recorded by the script loader, the library's
 * cicada.data, and a malformed file failing the load with both positions. */
Test(ldataset, scenario_files_resolve_next_to_the_scenario)
{
    write_file("rows.csv", "name\nfirst\n");
    write_file("bad2.csv", "a,b\n1\n");
    write_file("good.lua", "local cicada = require 'cicada'\n"
                           "local d = cicada.data.csv('rows.csv', { mode = 'each_once' })\n"
                           "assert(d:next().name == 'first')\n"
                           "cicada.user('U', { tasks = { t = function() end } })\n");
    write_file("bad.lua", "local cicada = require 'cicada'\n"
                          "\n"
                          "cicada.data.csv('bad2.csv')\n");
    char path[256], err[1024], want[512];
    ccd_script_t s;
    ccd_script_env_t env = {.open = open_bindings, .seed = 1};
    snprintf(path, sizeof(path), "%s/good.lua", dir);
    cr_expect_eq(ccd_script_open(&s, path, &env, err, sizeof(err)), 0, "%s", err);
    ccd_script_close(&s);
    snprintf(path, sizeof(path), "%s/bad.lua", dir);
    cr_assert_neq(ccd_script_open(&s, path, &env, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s/bad.lua:3: %s/bad2.csv:2: row has 1 field, the header has 2",
             dir, dir);
    cr_expect_str_eq(err, want);
}
