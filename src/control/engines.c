/* Starting the engine threads, and stopping those already started when another fails. */
#include "control/engines.h"

#include <sched.h>
#include <unistd.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "lua/lcore.h"

/* Starts engine number es->n. A callee may fail without a word, or leave the text of an
 * earlier, harmless error in err: err is emptied first and a generic reason filled in. */
static int start_one(ccd_engines_t *es, ccd_engine_config_t *cfg, char *err, size_t errlen)
{
    cfg->index = (int)es->n;
    err[0] = '\0';
    int rc = ccd_engine_start(&es->v[es->n], cfg, err, errlen);
    if (rc && !err[0])
        snprintf(err, errlen, "cannot start engine thread %d: %s", cfg->index, ccd_strerror(rc));
    if (rc == 0)
        es->n++;
    return rc;
}

static int start_all(ccd_engines_t *es, unsigned n, ccd_engine_config_t *cfg, char *err,
                     size_t errlen)
{
    int rc = 0;
    if (!(es->v = calloc(n ? n : 1, sizeof(*es->v)))) {
        snprintf(err, errlen, "out of memory starting the engines");
        return CCD_ENOMEM;
    }
    while (rc == 0 && es->n < n)
        rc = start_one(es, cfg, err, errlen);
    if (rc) {
        ccd_engines_post_all(es, CCD_MSG_STOP, 0);
        ccd_engines_join(es);
    }
    return rc;
}

static int post_copies(ccd_engines_t *es, const char *type, const char *json, const char *from)
{
    int rc = 0;
    for (unsigned i = 0; i < es->n; i++) {
        ccd_custom_msg_t *m = ccd_custom_msg_new(type, json, from);
        if (!m || ccd_engine_post(es->v[i], CCD_MSG_CUSTOM, 0, 0, m)) {
            ccd_custom_msg_free(m);
            rc = CCD_ENOMEM;
        }
    }
    return rc;
}

static void drop_held(ccd_engines_t *es)
{
    for (ccd_custom_msg_t *m = es->_held, *next; m; m = next) {
        next = m->next;
        ccd_custom_msg_free(m);
    }
    es->_held = es->_held_last = NULL;
    es->_nheld = 0;
}

/* The messages held while no engine ran reach the new ones first, in their order. */
static void post_held(ccd_engines_t *es)
{
    for (ccd_custom_msg_t *m = es->_held; m; m = m->next)
        if (post_copies(es, m->type, m->json, m->node))
            ccd_log(CCD_LOG_WARNING, "out of memory: message '%s' missed some engines", m->type);
    drop_held(es);
}

int ccd_engines_post_custom(ccd_engines_t *es, const char *type, const char *json, const char *from)
{
    if (es->n > 0)
        return post_copies(es, type, json, from);
    if (es->_nheld >= CCD_ENGINES_HELD_MAX) {
        ccd_log(CCD_LOG_WARNING,
                "message '%s' dropped: %u messages already wait for the users to start", type,
                es->_nheld);
        return 0;
    }
    ccd_custom_msg_t *m = ccd_custom_msg_new(type, json, from);
    if (!m)
        return CCD_ENOMEM;
    if (es->_held_last)
        es->_held_last->next = m;
    else
        es->_held = m;
    es->_held_last = m;
    es->_nheld++;
    return 0;
}

int ccd_engines_start(ccd_engines_t *es, unsigned n, double share, const ccd_options_t *o,
                      const ccd_scenario_t *s, ccd_queue_t *inbox, char *err, size_t errlen)
{
    const char **hosts = calloc(s->script.nclasses ? s->script.nclasses : 1, sizeof(*hosts));
    es->v = NULL;
    es->n = 0;
    if (!hosts) {
        snprintf(err, errlen, "out of memory starting the engines");
        return CCD_ENOMEM;
    }
    for (size_t i = 0; i < s->script.nclasses; i++)
        hosts[i] = o->host ? o->host : s->script.classes[i].host;
    /* The bindings are opened while each engine starts: the tag lists are copied then. */
    ccd_lcore_config_t lcore = {.tags = o->tags,
                                .exclude_tags = o->exclude_tags,
                                .equal_weights = o->equal_weights,
                                .config_users = o->config_users,
                                .arrival_rate = o->arrival_rate,
                                .arrival_backlog = (double)o->arrival_backlog};
    ccd_engine_config_t cfg = {.scenario = o->scenario,
                               .hosts = hosts,
                               .nclasses = s->script.nclasses,
                               .runner = inbox,
                               .bindings = ccd_lcore_open,
                               .bindings_ud = &lcore,
                               .request_timeout = o->request_timeout,
                               .share = share / n,
                               .arrival_late = o->arrival_late,
                               .max_body = o->max_body,
                               .http2 = o->http2_prior ? 2 : 0};
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int rc = start_all(es, n, &cfg, err, errlen);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(hosts);
    if (rc == 0)
        post_held(es);
    return rc;
}

void ccd_engines_post_all(ccd_engines_t *es, int type, long a)
{
    for (unsigned i = 0; i < es->n; i++)
        ccd_engine_post(es->v[i], type, a, 0, NULL);
}

void ccd_engines_join(ccd_engines_t *es)
{
    if (es->n == 0)
        drop_held(es);
    for (unsigned i = 0; i < es->n; i++)
        ccd_engine_join(es->v[i]);
    free(es->v);
    es->v = NULL;
    es->n = 0;
}

unsigned ccd_engines_usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 0 ? (unsigned)cpus : 1;
}
