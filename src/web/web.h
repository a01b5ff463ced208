/* The web UI: an HTTP(S) server in its own thread (libmicrohttpd) serving the embedded page and
 * Locust's JSON API, plus Prometheus metrics, on top of the runner's ui hooks (control/ui.h). */
#ifndef CCD_WEB_H
#define CCD_WEB_H

#include <stddef.h>

#include "control/cli.h"
#include "control/ui.h"

typedef struct ccd_web ccd_web_t;

/* Creates the web UI for o (borrowed: it must outlive the web UI), reading the --tls-cert and
 * --tls-key files now. It listens once the runner calls its start hook. Returns 0, or a
 * negative code with a one-line reason in err. */
int ccd_web_new(ccd_web_t **out, const ccd_options_t *o, char *err, size_t errlen);

/* The hooks to hand to ccd_runner_run_ui(); valid until ccd_web_free(). */
ccd_ui_t *ccd_web_ui(ccd_web_t *w);

/* Stops the server if it still runs and frees w (NULL is ignored). */
void ccd_web_free(ccd_web_t *w);

#endif
