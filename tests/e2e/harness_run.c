/* Runs the cicada binary on a scenario written to a temp file and parses its JSON report. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CICADA_BIN
#define CICADA_BIN "cicada"
#endif

static const char *write_scenario(const char *lua)
{
    const char *dir = h_tmpdir();
    const char *path = dir ? h_strf("%s/scenario.lua", dir) : NULL;
    if (!path || h_write_file(path, lua, strlen(lua)) < 0)
        return NULL;
    return path;
}

/* Parses stdout as exactly one JSON document; jansson rejects anything after it. */
static void parse_json(h_run_t *r)
{
    json_error_t e;
    r->json = json_loadb(r->out, r->out_len, 0, &e);
    if (!r->json)
        snprintf(r->json_error, sizeof r->json_error, "line %d col %d: %s", e.line, e.column,
                 e.text);
}

int h_cicada_v(h_run_t *r, const h_run_opts_t *o, const char *scenario, const char *const *args)
{
    char *argv[H_MAX_ARGS + 4];
    const char *path = NULL;
    int n = 0;
    if (scenario && !(path = write_scenario(scenario)))
        return -1;
    argv[n++] = (char *)CICADA_BIN;
    if (path) {
        argv[n++] = (char *)"-f";
        argv[n++] = (char *)path;
    }
    for (; args && *args && n < H_MAX_ARGS + 3; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    if (h_exec(r, o, argv) < 0)
        return -1;
    r->scenario = path;
    parse_json(r);
    return 0;
}

int h_cicada(h_run_t *r, const h_run_opts_t *o, const char *scenario, ...)
{
    const char *args[H_MAX_ARGS + 1];
    int n = 0;
    va_list ap;
    va_start(ap, scenario);
    for (const char *a; n < H_MAX_ARGS && (a = va_arg(ap, const char *)) != NULL;)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return h_cicada_v(r, o, scenario, args);
}

void h_run_free(h_run_t *r)
{
    free(r->out);
    free(r->err);
    if (r->json)
        json_decref(r->json);
    r->out = r->err = NULL;
    r->json = NULL;
}

void h_run_dump(const h_run_t *r)
{
    size_t tail = r->err_len > 3000 ? r->err_len - 3000 : 0;
    fprintf(stderr, "--- cicada %s %d%s after %.2f s; json: %s\n",
            r->exited ? "exited with" : "killed by signal", r->status,
            r->timed_out ? " (timed out)" : "", r->elapsed_s, r->json ? "ok" : r->json_error);
    fprintf(stderr, "--- stderr (tail):\n%s\n", r->err ? r->err + tail : "");
    fprintf(stderr, "--- stdout (head):\n%.3000s\n", r->out ? r->out : "");
}
