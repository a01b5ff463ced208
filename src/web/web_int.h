/* The web UI's shared state, private to src/web/: the snapshot the runner publishes and the
 * server's handlers read, under one lock. */
#ifndef CCD_WEB_INT_H
#define CCD_WEB_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>

#include "control/ui.h"
#include "web/web.h"

/* The documents served as they are, rebuilt by each publish. */
enum {
    DOC_REQUESTS,
    DOC_EXCEPTIONS,
    DOC_TASKS,
    DOC_CONFIG,
    DOC_METRICS,
    DOC_WORKER_COUNT,
    DOC_COUNT
};

struct ccd_web {
    ccd_ui_t ui; /* first: the hooks' ui pointer is the web UI */
    const ccd_options_t *o;
    struct MHD_Daemon *daemon;
    ccd_queue_t *inbox;   /* the runner's; set before the server starts */
    char *user, *pass;    /* --web-login, or NULL */
    char *cert, *key;     /* PEM text of --tls-cert and --tls-key, or NULL */
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t done;  /* a render finished, or the server is closing */
    bool closing;
    char *docs[DOC_COUNT];         /* NULL until the first publish */
    ccd_history_sample_t *samples; /* copies of the run's history, oldest first */
    size_t nsamples, capsamples;
    double test_start; /* epoch seconds of the current test; 0 before any */
    char **classes;    /* runnable class names, for /swarm's checks */
    size_t nclasses;
    char *host; /* the host shown, or NULL */
    bool has_shape;
};

/* Runner's thread (snapshot.c): builds the documents of v and swaps them in. */
void ccd_web_publish(ccd_ui_t *ui, const ccd_ui_view_t *v);

/* The Prometheus text of v (metrics.c); malloc'd, NULL when out of memory. */
char *ccd_web_metrics(const ccd_ui_view_t *v);

/* What a download asks the runner to render (render.c). */
enum {
    RENDER_REQUESTS_CSV,
    RENDER_FAILURES_CSV,
    RENDER_EXCEPTIONS_CSV,
    RENDER_REPORT,
    RENDER_REPORT_JSON,
};

/* Renders a download on the runner's thread and waits for it (up to 10 s, or until the server
 * closes). Returns the HTTP status: 200 with the body in *body (malloc'd) and its length, or
 * 503. */
int ccd_web_render(ccd_web_t *w, int what, char **body, size_t *len);

/* GET /stats/history JSON (snapshot.c): samples of the current test after `since` (epoch
 * seconds; 0: all). Lock held by the caller. malloc'd, NULL when out of memory. */
char *ccd_web_history_json(ccd_web_t *w, double since);

#endif
