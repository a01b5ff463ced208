/* A scenario loaded into a LuaJIT state: the cicada library installed, the file run, its user
 * classes validated and described. */
#ifndef CCD_SCRIPT_H
#define CCD_SCRIPT_H

#include <lua.h>
#include <stddef.h>

/* The field of the Lua registry holding the scenario's directory ("." when its path has no
 * slash), against which the files a scenario names are resolved. */
#define CCD_SCRIPT_DIR_KEY "cicada.scenario_dir"

typedef struct {
    char *name; /* owned */
    double weight;
    unsigned fixed_count;
    char *host;     /* owned; the class's own `host`, NULL when it has none */
    int insecure;   /* the class skips TLS verification */
    double timeout; /* the class's request timeout in seconds, 0 for none; < 0: not set */
    int runnable;   /* it has tasks left once -T/-E filtered them */
} ccd_class_t;

typedef struct {
    lua_State *L;
    ccd_class_t *classes; /* owned, in declaration order */
    size_t nclasses;
    int module_ref; /* registry refs: the cicada module, its _run and _stop */
    int run_ref, stop_ref;
} ccd_script_t;

/* Where a scenario is loaded. */
typedef struct {
    /* Pushes the table of core functions the library is built on (the bindings). */
    void (*open)(lua_State *L, void *ud);
    void *ud;
    double seed; /* for math.random */
} ccd_script_env_t;

/* Opens a Lua state, installs the cicada library for env and runs the scenario at path. On
 * failure returns CCD_ESCRIPT with the reason in err ("file:line: message" for script errors)
 * and leaves nothing to close. */
int ccd_script_open(ccd_script_t *s, const char *path, const ccd_script_env_t *env, char *err,
                    size_t errlen);
/* Closes the state and frees the class descriptions. */
void ccd_script_close(ccd_script_t *s);

/* Calls the function on top of L's stack (below it nargs arguments) with a traceback handler.
 * Returns 0, or CCD_ESCRIPT with "message\ntraceback" in err. */
int ccd_script_pcall(lua_State *L, int nargs, int nresults, char *err, size_t errlen);

/* Returns the index of the class called name, or -1. */
int ccd_script_find_class(const ccd_script_t *s, const char *name);

#endif
