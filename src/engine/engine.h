/* An engine thread: one libev loop, one Lua state with the scenario, its users, connections and
 * statistics. The runner talks to it only through messages. */
#ifndef CCD_ENGINE_H
#define CCD_ENGINE_H

#include <lua.h>
#include <stddef.h>

#include "http/client.h"
#include "base/queue.h"

typedef struct ccd_engine ccd_engine_t;

/* Installs the bindings into a Lua state before the scenario library loads: pushes the table
 * of core functions the library is built on (see lua/lcore.h). eng is the engine the state
 * belongs to, NULL for a loading-only state; ud is the caller's. */
typedef void (*ccd_bindings_fn)(lua_State *L, ccd_engine_t *eng, void *ud);

/* Messages runner -> engine. */
enum {
    CCD_MSG_SPAWN = 1,  /* a = class index, b = number of users to start */
    CCD_MSG_STOP_USERS, /* a = class index, b = number of users to stop (newest first) */
    CCD_MSG_STOP,       /* stop every user; a = stop timeout in ms; then report and exit */
    CCD_MSG_RECYCLE,    /* ptr = a ccd_stats_t report returned for reuse */
    CCD_MSG_RESET,      /* empty the statistics; a = the new generation its reports carry */
    CCD_MSG_RATE,       /* a = class index, b = its arrivals per second on this engine, in
                         * thousandths (the open model; 0: none) */
    CCD_MSG_CUSTOM,     /* ptr = ccd_custom_msg_t for the scenario's cicada.on_message handler
                         * (ownership to the engine); its node is the sender */
};

/* Messages engine -> runner; `from` is the engine's index. */
enum {
    CCD_MSG_REPORT = 16, /* ptr = ccd_stats_t delta (ownership to the runner, which returns it
                          * with CCD_MSG_RECYCLE); a = running users; b = busy per mille;
                          * c = the statistics generation it belongs to (see CCD_MSG_RESET) */
    CCD_MSG_SPAWNED,     /* a = users started by the SPAWN just handled */
    CCD_MSG_DONE,        /* the engine's users are all stopped; ptr = its last delta report */
    CCD_MSG_LOG,         /* ptr = malloc'd message text for the log (ownership to the runner) */
    CCD_MSG_QUIT,        /* the scenario asked to stop the test; ptr = malloc'd reason */
    CCD_MSG_CUSTOM_SEND, /* the scenario's cicada.send_message; ptr = ccd_custom_msg_t (ownership
                          * to the runner) whose node is the addressee (NULL: the master, or
                          * every worker) */
};

/* A custom message between the scenario code of a master and of its workers (Locust's
 * runner.send_message and register_message): its type, its data as JSON text, and a node id
 * (the sender of a delivery, the addressee of a send). One allocation holds it all; next is
 * free for whoever keeps a list of them. */
typedef struct ccd_custom_msg {
    const char *type;
    const char *json;
    const char *node; /* NULL: none */
    struct ccd_custom_msg *next;
} ccd_custom_msg_t;

/* Levels of arrays and objects a message's data may hold: msgpack-c, with which cicada decodes
 * the frames that carry messages between processes, reads at most 32 levels, and the frame's
 * own array is one of them. Checked at every send, so that a local run refuses what a
 * distributed one would. */
#define CCD_CUSTOM_MAX_DEPTH 31

/* Copies type, json and node (NULL allowed) into a new message. Returns NULL when out of
 * memory. Free it with ccd_custom_msg_free(). */
ccd_custom_msg_t *ccd_custom_msg_new(const char *type, const char *json, const char *node);
void ccd_custom_msg_free(ccd_custom_msg_t *m);

typedef struct {
    const char *scenario;     /* path of the scenario file */
    int index;                /* the engine's number, 0-based */
    const char *const *hosts; /* the effective host of each class (copied) */
    size_t nclasses;
    ccd_queue_t *runner;      /* where reports go */
    ccd_bindings_fn bindings; /* what the scenario's Lua state gets */
    void *bindings_ud;
    ccd_http_config_t http;
    double request_timeout; /* seconds: the requests' default timeout, below a class's own
                             * `timeout` and a request's; 0: none */
    double share;           /* the engine's part of the open model's arrivals and backlogs */
    double arrival_late;    /* seconds behind the schedule past which a start counts as late */
    int64_t max_body;       /* bytes kept of a response body, below a class's own `max_body`
                             * and a request's; -1: all */
    int http2;              /* how requests use HTTP/2 unless their class or they say (0 by
                             * ALPN over TLS, 2 also in the clear: --http2-prior-knowledge) */
} ccd_engine_config_t;

/* Creates an engine, loads the scenario into its Lua state and starts its thread.
 * Returns 0, or a negative code with the reason in err. */
int ccd_engine_start(ccd_engine_t **out, const ccd_engine_config_t *cfg, char *err, size_t errlen);
/* Posts a message to the engine; callable from any thread. Returns 0 or CCD_ENOMEM. */
int ccd_engine_post(ccd_engine_t *e, int type, long a, long b, void *ptr);
/* Waits for the engine's thread to end (after CCD_MSG_STOP) and frees the engine. */
void ccd_engine_join(ccd_engine_t *e);

#endif
