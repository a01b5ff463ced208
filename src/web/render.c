/* Downloads rendered on the runner's thread, which owns the statistics: the handler posts a
 * call and waits; the job is shared by both sides and freed by whichever lets go last, so a
 * handler that gave up (timeout, server closing) leaves nothing dangling. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "report/csv.h"
#include "report/html.h"
#include "report/report.h"
#include "web/web_int.h"

#define RENDER_TIMEOUT_S 10

typedef struct {
    ccd_web_t *w;
    int what;
    int refs;   /* 2 while both the handler and the runner hold it; under w->lock */
    bool done;  /* under w->lock */
    int status; /* 200 or 503 */
    char *body;
    size_t len;
} job_t;

static int render_report(FILE *f, const ccd_ui_view_t *v)
{
    ccd_html_meta_t m = {.start_time = v->test_start ? v->test_start : v->now,
                         .end_time = v->test_end ? v->test_end : v->now,
                         .host = v->host,
                         .scenario = v->o->scenario,
                         .users = v->target_users,
                         .spawn_rate = v->spawn_rate,
                         .run_time = v->run_time};
    return ccd_html_render(f, &m, v->stats, v->history);
}

/* The run document, as a headless run writes it with --json-file. */
static int render_report_json(FILE *f, const ccd_ui_view_t *v)
{
    double start = v->test_start ? v->test_start : v->now;
    double end = v->test_end ? v->test_end : v->now;
    return ccd_report_json(f, v->stats, v->history, v->user_count, end - start);
}

static int render(job_t *j, const ccd_ui_view_t *v)
{
    FILE *f = open_memstream(&j->body, &j->len);
    if (!f)
        return -errno;
    int rc = 0;
    switch (j->what) {
    case RENDER_REQUESTS_CSV: rc = ccd_csv_requests(f, v->stats); break;
    case RENDER_FAILURES_CSV: rc = ccd_csv_failures(f, v->stats); break;
    case RENDER_EXCEPTIONS_CSV: rc = ccd_csv_exceptions(f, v->stats); break;
    case RENDER_REPORT: rc = render_report(f, v); break;
    case RENDER_REPORT_JSON: rc = render_report_json(f, v); break;
    }
    if (fclose(f) && rc == 0)
        rc = -EIO;
    return rc;
}

/* Lock held. */
static void release(job_t *j)
{
    if (--j->refs == 0) {
        free(j->body);
        free(j);
    }
}

/* The runner's side: render (or learn that the runner ends), then let go. */
static void on_call(void *arg, const ccd_ui_view_t *v)
{
    job_t *j = arg;
    int rc = v ? render(j, v) : -ECANCELED;
    pthread_mutex_lock(&j->w->lock);
    j->status = rc == 0 ? 200 : 503;
    j->done = true;
    pthread_cond_broadcast(&j->w->done);
    release(j);
    pthread_mutex_unlock(&j->w->lock);
}

int ccd_web_render(ccd_web_t *w, int what, char **body, size_t *len)
{
    job_t *j = calloc(1, sizeof(*j));
    ccd_ui_cmd_t *cmd = calloc(1, sizeof(*cmd));
    if (!j || !cmd) {
        free(j);
        free(cmd);
        return 503;
    }
    *j = (job_t){.w = w, .what = what, .refs = 2};
    *cmd = (ccd_ui_cmd_t){.kind = CCD_UI_CALL, .call = on_call, .arg = j};
    ccd_ui_post(w->inbox, cmd); /* on failure the call was made, with no view */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += RENDER_TIMEOUT_S;
    pthread_mutex_lock(&w->lock);
    while (!j->done && !w->closing)
        if (pthread_cond_timedwait(&w->done, &w->lock, &until) == ETIMEDOUT)
            break;
    int status = j->done ? j->status : 503;
    if (status == 200) {
        *body = j->body;
        *len = j->len;
        j->body = NULL;
    }
    release(j);
    pthread_mutex_unlock(&w->lock);
    return status;
}
