/* Custom messages in an engine: the scenario's sends go to the runner, and the runner's
 * deliveries reach the scenario's cicada.on_message handler. */
#include "engine/engine_int.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

ccd_custom_msg_t *ccd_custom_msg_new(const char *type, const char *json, const char *node)
{
    size_t tl = strlen(type) + 1, jl = strlen(json) + 1, nl = node ? strlen(node) + 1 : 0;
    ccd_custom_msg_t *m = malloc(sizeof(*m) + tl + jl + nl);
    if (!m)
        return NULL;
    char *p = (char *)(m + 1);
    m->type = memcpy(p, type, tl);
    m->json = memcpy(p + tl, json, jl);
    m->node = node ? memcpy(p + tl + jl, node, nl) : NULL;
    m->next = NULL;
    return m;
}

void ccd_custom_msg_free(ccd_custom_msg_t *m)
{
    free(m);
}

int ccd_engine_send_message(ccd_engine_t *e, const char *type, const char *json, const char *to)
{
    ccd_custom_msg_t *m = ccd_custom_msg_new(type, json, to);
    ccd_msg_t msg = {.type = CCD_MSG_CUSTOM_SEND, .from = e->index, .c = e->generation, .ptr = m};
    if (!m || ccd_queue_push(e->runner, &msg)) {
        free(m);
        return CCD_ENOMEM;
    }
    return 0;
}

static void post_log(ccd_engine_t *e, char *text)
{
    ccd_msg_t msg = {.type = CCD_MSG_LOG, .from = e->index, .ptr = text};
    if (text && ccd_queue_push(e->runner, &msg))
        free(text);
}

/* The library's _message(type, json, from) runs the handler, reporting its errors as the
 * scenario's exceptions; it returns false when no handler takes the type. Every engine gets
 * each message, so only the first one says that nobody took it. */
void ccd_engine_deliver(ccd_engine_t *e, ccd_custom_msg_t *m)
{
    lua_State *L = e->script.L;
    char err[2048] = "", *text = NULL;
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->script.module_ref);
    lua_getfield(L, -1, "_message");
    lua_remove(L, -2);
    lua_pushstring(L, m->type);
    lua_pushstring(L, m->json);
    if (m->node)
        lua_pushstring(L, m->node);
    else
        lua_pushnil(L);
    if (ccd_script_pcall(L, 3, 1, err, sizeof(err))) {
        if (asprintf(&text, "message '%s' not delivered: %s", m->type, err) < 0)
            text = NULL;
        post_log(e, text);
    } else {
        if (!lua_toboolean(L, -1) && e->index == 0 &&
            asprintf(&text, "Unknown message type received: '%s' (no cicada.on_message handler)",
                     m->type) >= 0)
            post_log(e, text);
        lua_pop(L, 1);
    }
    free(m);
}
