/* Reads the load shape's answer from the cicada library's _shape_tick: users, rate, classes,
 * stage, stages, arrival rate. */
#include "control/shape.h"

#include <stdlib.h>
#include <string.h>

/* The selected classes named in the table at idx, or NULL when out of memory. */
static bool *allowed_classes(ccd_scenario_t *s, int idx)
{
    lua_State *L = s->script.L;
    bool *allowed = calloc(s->nsel, sizeof(bool));
    int n = (int)lua_objlen(L, idx);
    for (size_t c = 0; allowed && c < s->nsel; c++)
        for (int i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            const char *name = lua_tostring(L, -1);
            allowed[c] |= name && strcmp(name, ccd_scenario_class_name(s, c)) == 0;
            lua_pop(L, 1);
        }
    return allowed;
}

int ccd_shape_tick(ccd_scenario_t *s, double run_time, ccd_shape_step_t *step)
{
    lua_State *L = s->script.L;
    memset(step, 0, sizeof(*step));
    lua_pushnumber(L, run_time);
    int rc = ccd_scenario_call(s, "_shape_tick", 1, 6);
    if (rc)
        return rc;
    step->finished = lua_isnil(L, -6);
    if (!step->finished) {
        double users = lua_tonumber(L, -6), rate = lua_tonumber(L, -5);
        step->users = users > 0 ? (unsigned)users : 0;
        step->rate = rate > 0 ? rate : 1;
        step->allowed = lua_istable(L, -4) ? allowed_classes(s, lua_gettop(L) - 3) : NULL;
        step->stage = (int)lua_tonumber(L, -3);
        step->stages = (int)lua_tonumber(L, -2);
        step->arrival_rate = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : -1;
    }
    lua_pop(L, 6);
    return 0;
}
