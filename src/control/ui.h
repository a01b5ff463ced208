/* The runner's side of a user interface that lives in threads of its own (the web UI): the
 * runner publishes what it shows (a view, once a second and on every change of state) and takes
 * its commands from its inbox; the two never wait for each other. */
#ifndef CCD_UI_H
#define CCD_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "base/queue.h"
#include "control/cli.h"
#include "control/fleet.h"
#include "stats/history.h"
#include "stats/stats.h"

/* A test's states, with Locust's names (ccd_ui_state_name()). */
typedef enum {
    CCD_STATE_READY,    /* no test has started yet */
    CCD_STATE_SPAWNING, /* users are being started or stopped towards a new count */
    CCD_STATE_RUNNING,  /* every user wanted runs */
    CCD_STATE_STOPPING, /* users are finishing */
    CCD_STATE_STOPPED,  /* the test ended; a new one may start */
} ccd_ui_state_t;

/* "ready", "spawning", "running", "stopping" or "stopped". */
const char *ccd_ui_state_name(ccd_ui_state_t s);

/* What the runner shows. Everything is borrowed for the duration of the publish call, made on
 * the runner's thread: a UI copies or renders what it needs before returning. */
typedef struct {
    ccd_ui_state_t state;
    const ccd_options_t *o;
    const ccd_stats_t *stats;
    const ccd_history_t *history;
    double now;          /* epoch seconds */
    double test_start;   /* epoch seconds when the current (or last) test started; 0: none yet */
    double test_end;     /* epoch seconds when it ended; 0 while it runs or before any */
    unsigned user_count; /* users running */
    unsigned target_users;
    double spawn_rate;
    double run_time;       /* of the current test, seconds; 0: until stopped */
    const char *host;      /* -H or the form's host; else the classes' host when they agree */
    size_t nclasses;       /* the scenario's runnable classes */
    const char **classes;  /* their names */
    const bool *selected;  /* the classes the current (or next) test runs */
    const unsigned *users; /* users of each class now */
    const char *tasks;     /* Locust's /tasks document (JSON text), or NULL */
    bool has_shape;        /* a load shape drives the users: /swarm's counts are ignored */
    bool master;           /* a master: users run on workers */
    size_t nworkers;       /* the master's workers */
    const ccd_fleet_worker_t *workers;
} ccd_ui_view_t;

enum { CCD_UI_SWARM = 1, CCD_UI_STOP, CCD_UI_RESET, CCD_UI_CALL };

/* A command to the runner. */
typedef struct {
    int kind;
    /* CCD_UI_SWARM: start a test, or change the running one's users and rate. */
    unsigned users;
    double spawn_rate;
    double run_time; /* seconds from now; 0: unlimited */
    char *host;      /* owned; NULL: unchanged */
    char **classes;  /* owned, nclasses names; none: unchanged */
    size_t nclasses;
    /* CCD_UI_CALL: call(arg, view) runs once on the runner's thread with the current view, or
     * call(arg, NULL) when the runner ends before it could: either way it releases arg. */
    void (*call)(void *arg, const ccd_ui_view_t *v);
    void *arg;
} ccd_ui_cmd_t;

/* The message type of a command in the runner's inbox; ptr is the ccd_ui_cmd_t. */
#define CCD_MSG_UI 64

/* Posts cmd (malloc'd; ownership passes to the runner in every case) to the runner's inbox.
 * Callable from any thread. Returns 0, or CCD_ENOMEM (cmd is then freed). */
int ccd_ui_post(ccd_queue_t *inbox, ccd_ui_cmd_t *cmd);

/* Frees a command; a CALL not yet made is made with a NULL view. */
void ccd_ui_cmd_free(ccd_ui_cmd_t *cmd);

/* A user interface, as the runner drives it. The UI embeds this in its own struct. */
typedef struct ccd_ui ccd_ui_t;
struct ccd_ui {
    /* Runner's thread, before any publish: commands go to inbox from now until stop() returns.
     * Returns 0, or a negative code with a one-line reason in err (the run then ends). */
    int (*start)(ccd_ui_t *ui, ccd_queue_t *inbox, char *err, size_t errlen);
    /* Runner's thread: the view, once a second and after every change. Must not block. */
    void (*publish)(ccd_ui_t *ui, const ccd_ui_view_t *v);
    /* Runner's thread, at the end of the run: no command is posted once it returns. */
    void (*stop)(ccd_ui_t *ui);
};

#endif
