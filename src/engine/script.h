/* A scenario loaded into a LuaJIT state: the cicada library installed, the file run, its user
 * classes validated and described. */
#ifndef CCD_SCRIPT_H
#define CCD_SCRIPT_H

#include <lua.h>
#include <stddef.h>

/* The field of the Lua registry holding the scenario's directory ("." when its path has no
 * slash), against which the files a scenario names are resolved. */
#define CCD_SCRIPT_DIR_KEY "cicada.scenario_dir"

/* Connections a user opens at most to one host for concurrent requests, unless its class
 * says otherwise (`connections_per_host`): as browsers do over HTTP/1.1. */
#define CCD_PER_HOST_DEFAULT 6

typedef struct {
    char *name; /* owned */
    double weight;
    unsigned fixed_count;
    char *host;        /* owned; the class's own `host`, NULL when it has none */
    int insecure;      /* the class skips TLS verification */
    double timeout;    /* the class's request timeout in seconds, 0 for none; < 0: not set */
    double max_body;   /* bytes kept of a response body; infinity: all (max_body = false);
                        * < 0: not set */
    unsigned per_host; /* connections a user may use at once to one host (concurrent
                        * requests: batches, pieces) */
    int http2;         /* the class's `http2`: 0 offered by ALPN over TLS (true), 1 never
                        * (false), 2 also in the clear by prior knowledge; < 0: not set */
    int runnable;      /* it has tasks left once -T/-E filtered them */
    /* The open model: whether the class's users run iterations on arrivals rather than loop,
     * its own arrivals per second (< 0: none; its share of the run's rate then), and how
     * many arrivals in total may wait for a free user (0: dropped at once). */
    int open;
    double arrival_rate;
    double arrival_backlog;
} ccd_class_t;

typedef struct {
    lua_State *L;
    struct ccd_lmem *mem; /* L's allocator (engine/lmem.h) */
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

/* The scenario files of a -f value, as Locust 2.31 reads -f: comma-separated paths, a
 * directory standing for the *.lua files directly in it (sorted by name; names starting with
 * '_' or '.' are skipped, so helper modules can sit beside scenarios). */
typedef struct {
    char **paths; /* owned */
    size_t n;     /* at least 1 once listed */
} ccd_script_files_t;

/* Lists the files of spec into f, checking that each can be read. Returns 0, or CCD_EINVAL /
 * CCD_ENOMEM with a one-line reason in err (f is then empty). Free f with
 * ccd_script_files_free(). */
int ccd_script_files(ccd_script_files_t *f, const char *spec, char *err, size_t errlen);
void ccd_script_files_free(ccd_script_files_t *f);

/* Opens a Lua state, installs the cicada library for env and runs the scenario at path (a -f
 * value: its files run in order in the same state, their user classes merged; a class name
 * defined in two files is an error naming both). On
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
