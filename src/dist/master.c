/* The master's side of Locust's protocol: who the workers are and how they are doing
 * (client_ready, heartbeats counted down once a second, missing, rejoined, quit), which users
 * each one runs (absolute per-class targets, divided evenly among the live workers, again
 * whenever one comes or goes; in the open model, their parts of the arrival rates with them), and
 * their statistics, decoded into deltas for the runner. */
#include "dist/master.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "dist/channel.h"
#include "dist/custom.h"
#include "dist/processes.h"
#include "dist/stats_wire.h"
#include "dist/wire.h"
#include "engine/engine.h"
#include "stats/stats.h"

#define HEARTBEAT_LIVENESS  3   /* seconds without a heartbeat before a worker is missing */
#define MISSING_REMOVE      60  /* seconds missing before a worker is forgotten */
#define LOCUST_FINAL_GRACE  3.5 /* seconds a Locust worker's last stats may follow its stop */
#define MAX_EXCEPTION_COUNT 1000000

typedef enum { W_READY, W_SPAWNING, W_RUNNING, W_STOPPED, W_MISSING } wstate_t;

static const char *const state_names[] = {"ready", "spawning", "running", "stopped", "missing"};

typedef struct {
    char *id; /* the DEALER's identity (the node id), as bytes */
    size_t id_len;
    char *shown; /* the same, printable */
    wstate_t state;
    int liveness; /* heartbeat countdown */
    int missing_for;
    bool cicada;       /* a cicada worker: its last stats come before client_stopped */
    bool heartbeats;   /* it takes the master's heartbeats (cicada, Locust >= 2.19) */
    bool in_test;      /* it was sent the current test's users */
    bool stopping;     /* told to stop, client_stopped not yet heard */
    double stopped_at; /* monotonic seconds of its client_stopped; 0: none */
    bool final_stats;  /* a stats message came after client_stopped */
    bool cpu_warned;
    unsigned users; /* as it reported */
    double cpu;
    uint64_t memory;
    unsigned *target; /* users of each class it was sent; nclasses */
    unsigned split;   /* the open model: cicada workers sharing the rates it was last sent */
} worker_t;

typedef struct {
    ccd_fleet_t f;
    const ccd_options_t *o;
    char *const *worker_argv;
    struct ev_loop *loop;
    ccd_queue_t *inbox;
    ccd_channel_t *ch;
    worker_t *w;
    size_t n, cap;
    ccd_fleet_worker_t *view;
    size_t view_cap;
    worker_t **order; /* distribute()'s scratch */
    unsigned *total;
    bool *changed;
    size_t order_cap, total_cap, changed_cap;
    /* The test. */
    bool testing, stopping;
    size_t nclasses;
    char **classes;
    unsigned *counts;
    size_t classes_cap;
    char *host;
    double stop_timeout;
    /* The open model: each open class's arrivals per second in total (rate_names[i],
     * rates[i]); none while nrates is 0. Divided evenly among the live cicada workers. */
    char **rate_names;
    double *rates;
    size_t nrates;
    bool locust_warned;    /* a Locust worker in an open-model test was named once */
    double last_spawn_ts;  /* spawn timestamps only grow (workers drop older ones) */
    unsigned users_posted; /* the users total last posted to the runner */
    unsigned last_ready;   /* the ready count last posted */
    ccd_buf_t out;
    ev_timer tick;  /* once a second: heartbeats in both directions */
    ev_timer check; /* while stopping: the Locust workers' grace */
    /* Workers' reports are merged here as they come and handed to the runner a few times a
     * second: one delta per interval, whatever the number of workers. */
    ccd_stats_t *pending;
    bool pending_used;
    ev_timer flush;
    char **warned; /* message types already warned about */
    size_t nwarned, capwarned;
    unsigned malformed;
    ccd_processes_t local; /* --processes */
} master_t;

static double mono(void)
{
    return (double)ccd_clock_us() / 1e6;
}

static void post(master_t *m, int type, long a, void *ptr)
{
    ccd_msg_t msg = {.type = type, .from = 0, .a = a, .c = -1, .ptr = ptr};
    if (ccd_queue_push(m->inbox, &msg)) {
        if (type == CCD_MSG_REPORT)
            ccd_stats_free(ptr);
        else
            free(ptr);
    }
}

static void post_text(master_t *m, int type, const char *text)
{
    char *t = strdup(text);
    if (t || type != CCD_MSG_LOG)
        post(m, type, 0, t);
}

/* Hands the merged reports to the runner. */
static void flush(master_t *m)
{
    if (!m->pending_used)
        return;
    ccd_stats_t *s = m->pending;
    m->pending = ccd_stats_new(ccd_clock_wall());
    m->pending_used = false;
    post(m, CCD_MSG_REPORT, m->users_posted, s);
}

static void on_flush(struct ev_loop *loop, ev_timer *t, int revents)
{
    flush(t->data);
}

/* ---- Sending ---------------------------------------------------------------------------- */

static void send_to(master_t *m, worker_t *w, ccd_wire_packer_t *p)
{
    if (ccd_wire_end(p, w->shown)) {
        ccd_log(CCD_LOG_ERROR, "out of memory packing a message for worker %s", w->shown);
        return;
    }
    int rc = ccd_channel_send(m->ch, w->id, w->id_len, m->out.base, m->out.len);
    if (rc)
        ccd_log(CCD_LOG_DEBUG, "message to worker %s not sent: %s", w->shown,
                rc == -ENOENT ? "not connected" : "its queue is full");
}

/* A message whose data is nil. */
static void send_simple(master_t *m, worker_t *w, const char *type)
{
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &m->out, type);
    msgpack_pack_nil(&p.pk);
    send_to(m, w, &p);
}

/* cicada's own options of a spawn, for a cicada worker of an open-model test split ways:
 * its part of each class's rate ("cicada_arrival_rates"), its share of the backlogs
 * ("cicada_arrival_share"), and the run's --arrival-rate (which makes every class open),
 * --arrival-backlog and --arrival-late. A Locust worker gets none. */
static void pack_open_options(master_t *m, worker_t *w, msgpack_packer *pk, unsigned split)
{
    bool open = m->nrates > 0 && w->cicada && split > 0;
    msgpack_pack_map(pk, open ? 5 : 0);
    if (!open)
        return;
    size_t n = 0;
    for (size_t i = 0; i < m->nrates; i++)
        n += m->rates[i] >= 0;
    ccd_wire_pack_key(pk, "cicada_arrival_rates");
    msgpack_pack_map(pk, (uint32_t)n);
    for (size_t i = 0; i < m->nrates; i++)
        if (m->rates[i] >= 0) {
            ccd_wire_pack_key(pk, m->rate_names[i]);
            msgpack_pack_double(pk, m->rates[i] / split);
        }
    ccd_wire_pack_key(pk, "cicada_arrival_share");
    msgpack_pack_double(pk, 1.0 / split);
    ccd_wire_pack_key(pk, "cicada_arrival_rate");
    msgpack_pack_double(pk, m->o->arrival_rate);
    ccd_wire_pack_key(pk, "cicada_arrival_backlog");
    msgpack_pack_int64(pk, m->o->arrival_backlog);
    ccd_wire_pack_key(pk, "cicada_arrival_late");
    msgpack_pack_double(pk, m->o->arrival_late);
}

static void send_spawn(master_t *m, worker_t *w, unsigned split)
{
    double ts = ccd_clock_wall();
    if (ts <= m->last_spawn_ts)
        ts = m->last_spawn_ts + 1e-6;
    m->last_spawn_ts = ts;
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &m->out, "spawn");
    msgpack_pack_map(&p.pk, 5);
    ccd_wire_pack_key(&p.pk, "timestamp");
    msgpack_pack_double(&p.pk, ts);
    ccd_wire_pack_key(&p.pk, "user_classes_count");
    msgpack_pack_map(&p.pk, (uint32_t)m->nclasses);
    for (size_t c = 0; c < m->nclasses; c++) {
        ccd_wire_pack_key(&p.pk, m->classes[c]);
        msgpack_pack_unsigned_int(&p.pk, w->target[c]);
    }
    ccd_wire_pack_key(&p.pk, "host");
    ccd_wire_pack_str(&p.pk, m->host);
    ccd_wire_pack_key(&p.pk, "stop_timeout");
    msgpack_pack_double(&p.pk, m->stop_timeout);
    ccd_wire_pack_key(&p.pk, "parsed_options");
    pack_open_options(m, w, &p.pk, split);
    w->split = split;
    send_to(m, w, &p);
}

/* ---- Workers ---------------------------------------------------------------------------- */

static bool live(const worker_t *w)
{
    return w->state != W_MISSING;
}

static unsigned count_ready(const master_t *m)
{
    unsigned n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += live(&m->w[i]);
    return n;
}

static worker_t *find(master_t *m, const char *id, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->w[i].id_len == len && memcmp(m->w[i].id, id, len) == 0)
            return &m->w[i];
    return NULL;
}

/* The identity as text: itself when printable, else in hex. */
static char *shown_id(const char *id, size_t len)
{
    bool printable = len > 0;
    for (size_t i = 0; i < len && printable; i++)
        printable = id[i] >= 0x20 && id[i] < 0x7f;
    char *s = malloc(len * 2 + 3);
    if (!s)
        return NULL;
    if (printable) {
        memcpy(s, id, len);
        s[len] = '\0';
        return s;
    }
    strcpy(s, "0x");
    for (size_t i = 0; i < len; i++)
        sprintf(s + 2 + i * 2, "%02x", (unsigned char)id[i]);
    return s;
}

static int grow_targets(master_t *m, worker_t *w)
{
    unsigned *t = realloc(w->target, (m->classes_cap + 1) * sizeof(*t));
    if (!t)
        return CCD_ENOMEM;
    w->target = t;
    memset(t, 0, (m->classes_cap + 1) * sizeof(*t));
    return 0;
}

static worker_t *add_worker(master_t *m, const char *id, size_t len)
{
    worker_t *v = ccd_array_grow(m->w, &m->cap, m->n + 1, sizeof(*v), 8);
    if (!v)
        return NULL;
    m->w = v;
    worker_t *w = &m->w[m->n];
    memset(w, 0, sizeof(*w));
    w->id = malloc(len ? len : 1);
    w->shown = shown_id(id, len);
    if (!w->id || !w->shown || grow_targets(m, w)) {
        free(w->id);
        free(w->shown);
        free(w->target);
        return NULL;
    }
    memcpy(w->id, id, len);
    w->id_len = len;
    m->n++;
    return w;
}

static void remove_worker(master_t *m, worker_t *w)
{
    free(w->id);
    free(w->shown);
    free(w->target);
    size_t i = (size_t)(w - m->w);
    memmove(&m->w[i], &m->w[i + 1], (m->n - i - 1) * sizeof(*w));
    m->n--;
}

/* Posts the change of the users the workers run, and of the workers ready. */
static void sync_counts(master_t *m)
{
    unsigned users = 0;
    for (size_t i = 0; i < m->n; i++)
        if (live(&m->w[i]))
            users += m->w[i].users;
    if (users != m->users_posted) {
        post(m, CCD_MSG_SPAWNED, (long)users - (long)m->users_posted, NULL);
        m->users_posted = users;
    }
    unsigned ready = count_ready(m);
    if (ready != m->last_ready) {
        m->last_ready = ready;
        post(m, CCD_MSG_WORKERS, ready, NULL);
    }
}

/* Divides each class's users among the live workers (ordered by id, as Locust): everyone
 * gets the quotient, the remainder goes to the workers with the fewest users so far, so
 * totals differ by one at most. Sends a spawn to every live worker whose share changed, and
 * to those new to the test. */
static void distribute(master_t *m)
{
    if (!m->testing || m->stopping)
        return;
    worker_t **order = ccd_array_grow(m->order, &m->order_cap, m->n, sizeof(*order), 8);
    if (!order)
        goto nomem;
    m->order = order;
    unsigned *total = ccd_array_grow(m->total, &m->total_cap, m->n, sizeof(*total), 8);
    if (!total)
        goto nomem;
    m->total = total;
    bool *changed = ccd_array_grow(m->changed, &m->changed_cap, m->n, sizeof(*changed), 8);
    if (!changed)
        goto nomem;
    m->changed = changed;
    size_t nl = 0;
    for (size_t i = 0; i < m->n; i++)
        if (live(&m->w[i]))
            order[nl++] = &m->w[i];
    if (nl == 0)
        return;
    for (size_t i = 1; i < nl; i++) /* by id (insertion sort: it is already, mostly) */
        for (size_t j = i; j > 0 && strcmp(order[j - 1]->shown, order[j]->shown) > 0; j--) {
            worker_t *t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    memset(total, 0, nl * sizeof(*total));
    memset(changed, 0, nl * sizeof(*changed));
    unsigned split = 0; /* the cicada workers that share the open model's rates */
    for (size_t k = 0; k < nl; k++)
        split += order[k]->cicada;
    for (size_t k = 0; m->nrates > 0 && k < nl; k++) {
        changed[k] |= order[k]->cicada && order[k]->split != split;
        if (!order[k]->cicada && !m->locust_warned) {
            m->locust_warned = true;
            ccd_log(CCD_LOG_WARNING,
                    "worker %s is a Locust worker: it runs its users in the closed model; the "
                    "arrival rates are divided among the cicada workers only",
                    order[k]->shown);
        }
    }
    for (size_t c = 0; c < m->nclasses; c++) {
        unsigned base = m->counts[c] / (unsigned)nl, rem = m->counts[c] % (unsigned)nl;
        for (size_t k = 0; k < nl; k++) {
            changed[k] |= order[k]->target[c] != base;
            order[k]->target[c] = base;
            total[k] += base;
        }
        for (; rem > 0; rem--) { /* the fewest users first, then by id */
            size_t best = 0;
            for (size_t k = 1; k < nl; k++)
                if (total[k] < total[best] ||
                    (total[k] == total[best] && order[k]->target[c] < order[best]->target[c]))
                    best = k;
            order[best]->target[c]++;
            total[best]++;
            changed[best] = true;
        }
    }
    for (size_t k = 0; k < nl; k++)
        if (changed[k] || !order[k]->in_test) {
            order[k]->in_test = true;
            order[k]->stopping = false;
            order[k]->stopped_at = 0;
            send_spawn(m, order[k], split);
        }
    return;
nomem:
    ccd_log(CCD_LOG_ERROR, "out of memory dividing the users among the workers");
}

/* After stop: done once every worker of the test stopped (a Locust worker's last stats may
 * follow its client_stopped: it gets a short grace) or went missing. */
static void check_done(master_t *m)
{
    if (!m->stopping)
        return;
    double now = mono();
    for (size_t i = 0; i < m->n; i++) {
        worker_t *w = &m->w[i];
        if (!live(w) || !w->in_test)
            continue;
        if (!w->stopped_at)
            return;
        if (!w->cicada && !w->final_stats && now - w->stopped_at < LOCUST_FINAL_GRACE)
            return;
    }
    m->stopping = m->testing = false;
    for (size_t i = 0; i < m->n; i++) {
        m->w[i].in_test = m->w[i].stopping = false;
        memset(m->w[i].target, 0, (m->classes_cap + 1) * sizeof(unsigned));
    }
    ev_timer_stop(m->loop, &m->check);
    flush(m);
    post(m, CCD_MSG_DONE, 0, NULL);
}

static void on_check(struct ev_loop *loop, ev_timer *t, int revents)
{
    check_done(t->data);
}

/* A worker is gone for this test (missing or quit): its users go to the others; without any
 * left a running test ends. */
static void lost_worker(master_t *m)
{
    sync_counts(m);
    if (!m->testing)
        return;
    if (m->stopping) {
        check_done(m);
        return;
    }
    if (count_ready(m) == 0) {
        flush(m);
        post_text(m, CCD_MSG_QUIT, "The last worker went away");
        return;
    }
    distribute(m);
}

static void on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
    master_t *m = t->data;
    bool lost = false;
    for (size_t i = 0; i < m->n; i++) {
        worker_t *w = &m->w[i];
        if (w->state == W_MISSING) {
            if (++w->missing_for >= MISSING_REMOVE) {
                ccd_log(CCD_LOG_INFO, "Worker %s removed: missing for %d s", w->shown,
                        MISSING_REMOVE);
                remove_worker(m, w);
                i--;
            }
            continue;
        }
        if (--w->liveness < 0) {
            ccd_log(CCD_LOG_WARNING,
                    "Worker %s missing: no heartbeat for %d s; its %u users go to the others",
                    w->shown, HEARTBEAT_LIVENESS, w->users);
            w->state = W_MISSING;
            w->missing_for = 0;
            w->users = 0;
            w->in_test = false;
            lost = true;
            continue;
        }
        if (w->heartbeats)
            send_simple(m, w, "heartbeat");
    }
    if (lost)
        lost_worker(m);
    sync_counts(m);
}

/* ---- Receiving -------------------------------------------------------------------------- */

/* The version a worker sent: cicada's ("cicada 0.1.0"), Locust's ("2.12.1"), or nothing
 * (Debian's Locust 2.12 reports an empty version). */
static void take_version(master_t *m, worker_t *w, const msgpack_object *data)
{
    const char *v = NULL;
    size_t len = 0;
    ccd_wire_str(data, &v, &len);
    if (len == 0) {
        ccd_log(CCD_LOG_WARNING,
                "Worker %s reports no version (Debian's Locust 2.12 does): accepted, as "
                "a Locust 2.x worker",
                w->shown);
        return;
    }
    w->cicada = len >= 6 && memcmp(v, "cicada", 6) == 0;
    int major = 0, minor = 0;
    char text[32];
    snprintf(text, sizeof(text), "%.*s", (int)(len < 31 ? len : 31), v);
    w->heartbeats = w->cicada || (sscanf(text, "%d.%d", &major, &minor) == 2 &&
                                  (major > 2 || (major == 2 && minor >= 19)));
    if (!w->cicada)
        ccd_log(CCD_LOG_INFO, "Worker %s runs Locust %s", w->shown, text);
}

static void on_ready(master_t *m, const char *peer, size_t plen, const msgpack_object *data)
{
    worker_t *w = find(m, peer, plen);
    bool known = w != NULL;
    if (!w && !(w = add_worker(m, peer, plen))) {
        ccd_log(CCD_LOG_ERROR, "out of memory adding a worker");
        return;
    }
    take_version(m, w, data);
    w->liveness = HEARTBEAT_LIVENESS;
    ccd_wire_packer_t p;
    ccd_wire_begin(&p, &m->out, "ack");
    msgpack_pack_map(&p.pk, 1);
    ccd_wire_pack_key(&p.pk, "index");
    msgpack_pack_unsigned_long(&p.pk, (unsigned long)(w - m->w));
    send_to(m, w, &p);
    /* A worker repeating client_ready while it runs users (it had not seen the ack) keeps
     * them; one that stopped is ready for the next test. */
    if (known && w->in_test && (w->state == W_SPAWNING || w->state == W_RUNNING))
        return;
    bool was_test = w->in_test;
    w->state = W_READY;
    w->users = 0;
    w->in_test = false;
    w->missing_for = 0;
    if (!known)
        ccd_log(CCD_LOG_INFO, "Worker %s connected (%u ready)", w->shown, count_ready(m));
    if (was_test && m->stopping) {
        w->stopped_at = w->stopped_at ? w->stopped_at : mono();
        w->in_test = true;
        check_done(m);
    } else
        distribute(m);
    sync_counts(m);
}

static void on_heartbeat(master_t *m, worker_t *w, const msgpack_object *data)
{
    w->liveness = HEARTBEAT_LIVENESS;
    double cpu;
    uint64_t mem;
    if (ccd_wire_num(ccd_wire_get(data, "current_cpu_usage"), &cpu))
        w->cpu = cpu;
    if (ccd_wire_uint(ccd_wire_get(data, "current_memory_usage"), &mem))
        w->memory = mem;
    if (w->cpu > 90 && !w->cpu_warned) {
        w->cpu_warned = true;
        ccd_log(CCD_LOG_WARNING,
                "Worker %s is using %.0f%% CPU: its response times include its own delays "
                "(given once per worker)",
                w->shown, w->cpu);
    }
    if (w->state != W_MISSING)
        return;
    ccd_log(CCD_LOG_INFO, "Worker %s is back (heartbeat after %d s missing)", w->shown,
            w->missing_for + HEARTBEAT_LIVENESS);
    w->state = W_READY;
    const char *s;
    size_t len;
    if (ccd_wire_str(ccd_wire_get(data, "state"), &s, &len) && len == 7 &&
        memcmp(s, "running", 7) == 0)
        w->state = W_RUNNING;
    /* Whatever users it still runs, its share is sent again. */
    w->in_test = false;
    distribute(m);
    sync_counts(m);
}

static void on_stats(master_t *m, worker_t *w, const msgpack_object *data)
{
    if (!m->pending && !(m->pending = ccd_stats_new(ccd_clock_wall()))) {
        ccd_log(CCD_LOG_ERROR, "out of memory: statistics from worker %s lost", w->shown);
        return;
    }
    long users = -1;
    char err[256] = "";
    int rc = ccd_stats_wire_merge(m->pending, data, &users, err, sizeof(err));
    m->pending_used = true; /* a faulty payload may have been merged in part */
    if (rc) {
        ccd_log(CCD_LOG_WARNING, "Statistics from worker %s ignored%s: %s", w->shown,
                rc == CCD_EPROTO ? " (from the faulty entry on)" : "",
                err[0] ? err : ccd_strerror(rc));
        return;
    }
    if (users >= 0 && w->state != W_MISSING && !w->stopped_at)
        w->users = (unsigned)users;
    if (w->stopped_at)
        w->final_stats = true;
    sync_counts(m);
    if (!ev_is_active(&m->flush)) { /* set again: an expired timer's start would be now */
        ev_timer_set(&m->flush, 0.2, 0);
        ev_timer_start(m->loop, &m->flush);
    }
    check_done(m);
}

static void on_exception(master_t *m, worker_t *w, const msgpack_object *data)
{
    char *msg = ccd_wire_strdup(ccd_wire_get(data, "msg"));
    char *tb = ccd_wire_strdup(ccd_wire_get(data, "traceback"));
    uint64_t count = 1;
    ccd_wire_uint(ccd_wire_get(data, "count"), &count);
    if (count > MAX_EXCEPTION_COUNT)
        count = MAX_EXCEPTION_COUNT;
    ccd_stats_t *s = msg ? ccd_stats_new(ccd_clock_wall()) : NULL;
    for (uint64_t i = 0; s && i < count; i++)
        if (ccd_stats_exception(s, msg, tb ? tb : "")) {
            ccd_stats_free(s);
            s = NULL;
        }
    if (s)
        post(m, CCD_MSG_REPORT, m->users_posted, s);
    else
        ccd_log(CCD_LOG_WARNING, "An exception message from worker %s was ignored%s", w->shown,
                msg ? " (out of memory)" : ": no \"msg\"");
    free(msg);
    free(tb);
}

static void on_stopped(master_t *m, worker_t *w)
{
    w->state = W_STOPPED;
    w->users = 0;
    w->stopping = false;
    if (!w->stopped_at)
        w->stopped_at = mono();
    sync_counts(m);
    check_done(m);
}

static void on_quit(master_t *m, worker_t *w)
{
    ccd_log(CCD_LOG_INFO, "Worker %s quit", w->shown);
    remove_worker(m, w);
    lost_worker(m);
}

/* A type nobody here handles: said once per type. */
static void unknown_type(master_t *m, const ccd_wire_msg_t *msg, const worker_t *w)
{
    for (size_t i = 0; i < m->nwarned; i++)
        if (strlen(m->warned[i]) == msg->type_len &&
            memcmp(m->warned[i], msg->type, msg->type_len) == 0)
            return;
    char **v = ccd_array_grow(m->warned, &m->capwarned, m->nwarned + 1, sizeof(*v), 8);
    if (v && (v[m->nwarned] = strndup(msg->type, msg->type_len))) {
        m->warned = v;
        m->nwarned++;
    } else if (v)
        m->warned = v;
    ccd_log(CCD_LOG_WARNING, "Unknown message type '%.*s' from worker %s ignored (said once)",
            (int)msg->type_len, msg->type, w->shown);
}

/* A worker's custom message, for the runner's scenario. */
static void take_custom(master_t *m, worker_t *w, const ccd_wire_msg_t *msg)
{
    char err[256] = "";
    ccd_custom_msg_t *cm = ccd_custom_from_wire(msg, err, sizeof(err));
    if (cm)
        post(m, CCD_MSG_CUSTOM, 0, cm);
    else
        ccd_log(CCD_LOG_WARNING, "message '%.*s' from worker %s dropped: %s", (int)msg->type_len,
                msg->type, w->shown, err);
}

/* The runner's scenario sends: to the worker whose node id is to, or to every one. */
static int m_send(ccd_fleet_t *f, const char *type, const char *json, const char *to)
{
    master_t *m = (master_t *)f;
    worker_t *only = to ? find(m, to, strlen(to)) : NULL;
    if (to && !only) {
        ccd_log(CCD_LOG_WARNING, "message '%s' not sent: no worker '%s'", type, to);
        return 0;
    }
    for (size_t i = 0; i < m->n; i++) {
        if ((only && &m->w[i] != only) || !live(&m->w[i]))
            continue;
        ccd_wire_packer_t p;
        ccd_wire_begin(&p, &m->out, type);
        int rc = ccd_custom_pack(&p.pk, json);
        if (rc)
            return rc;
        send_to(m, &m->w[i], &p);
    }
    return 0;
}

static void on_recv(void *ud, const char *peer, size_t plen, const void *data, size_t len)
{
    master_t *m = ud;
    ccd_wire_msg_t msg;
    char err[256] = "";
    if (ccd_wire_decode(&msg, data, len, err, sizeof(err))) {
        if (m->malformed++ < 10 || m->malformed % 1000 == 0)
            ccd_log(CCD_LOG_WARNING,
                    "Ignored a malformed message (%zu bytes) on the master port: %s", len, err);
        ccd_wire_msg_free(&msg);
        return;
    }
    worker_t *w = find(m, peer, plen);
    if (ccd_wire_is(&msg, "client_ready"))
        on_ready(m, peer, plen, msg.data);
    else if (!w) {
        /* Heartbeats from a worker of an earlier master: it is asked to join again. */
        if (ccd_wire_is(&msg, "heartbeat")) {
            worker_t tmp = {.id = (char *)peer, .id_len = plen, .shown = "unknown"};
            send_simple(m, &tmp, "reconnect");
        }
        ccd_log(CCD_LOG_DEBUG, "'%.*s' from an unknown worker ignored", (int)msg.type_len,
                msg.type);
    } else if (ccd_wire_is(&msg, "heartbeat"))
        on_heartbeat(m, w, msg.data);
    else if (ccd_wire_is(&msg, "stats"))
        on_stats(m, w, msg.data);
    else if (ccd_wire_is(&msg, "spawning")) {
        if (w->state != W_MISSING)
            w->state = W_SPAWNING;
    } else if (ccd_wire_is(&msg, "spawning_complete")) {
        uint64_t users;
        if (w->state != W_MISSING)
            w->state = W_RUNNING;
        if (ccd_wire_uint(ccd_wire_get(msg.data, "user_count"), &users))
            w->users = (unsigned)users;
        sync_counts(m);
    } else if (ccd_wire_is(&msg, "client_stopped"))
        on_stopped(m, w);
    else if (ccd_wire_is(&msg, "quit"))
        on_quit(m, w);
    else if (ccd_wire_is(&msg, "exception"))
        on_exception(m, w, msg.data);
    else if (ccd_custom_type_ok(msg.type, msg.type_len))
        take_custom(m, w, &msg);
    else
        unknown_type(m, &msg, w);
    ccd_wire_msg_free(&msg);
}

/* ---- The fleet -------------------------------------------------------------------------- */

static int m_start(ccd_fleet_t *f, struct ev_loop *loop, ccd_queue_t *inbox, char *err,
                   size_t errlen)
{
    master_t *m = (master_t *)f;
    m->loop = loop;
    m->inbox = inbox;
    bool local = m->worker_argv != NULL;
    const char *host = local ? "127.0.0.1" : m->o->master_bind_host;
    unsigned port = local ? 0 : m->o->master_bind_port;
    int rc = ccd_channel_bind(&m->ch, loop, host, port, on_recv, m, err, errlen);
    if (rc)
        return rc;
    ccd_log(CCD_LOG_INFO, "Master listening for workers on %s:%u", host, ccd_channel_port(m->ch));
    ev_timer_init(&m->tick, on_tick, 1, 1);
    ev_timer_init(&m->check, on_check, 0.25, 0.25);
    ev_timer_init(&m->flush, on_flush, 0.2, 0);
    m->tick.data = m->check.data = m->flush.data = m;
    ev_timer_start(loop, &m->tick);
    if (local)
        ccd_processes_start(&m->local, m->o->processes, m->worker_argv, ccd_channel_port(m->ch));
    return 0;
}

static unsigned m_ready(const ccd_fleet_t *f)
{
    return count_ready((const master_t *)f);
}

/* Keeps a copy of the classes; every worker's targets get room for them. */
static int set_classes(master_t *m, const char *const *classes, size_t n)
{
    bool same = n == m->nclasses;
    for (size_t c = 0; same && c < n; c++)
        same = strcmp(classes[c], m->classes[c]) == 0;
    if (same)
        return 0;
    if (n > m->classes_cap) {
        char **cl = realloc(m->classes, n * sizeof(*cl));
        if (cl)
            m->classes = cl;
        unsigned *co = realloc(m->counts, n * sizeof(*co));
        if (co)
            m->counts = co;
        if (!cl || !co)
            return CCD_ENOMEM;
        for (size_t c = m->classes_cap; c < n; c++)
            m->classes[c] = NULL;
        size_t old = m->classes_cap;
        m->classes_cap = n;
        for (size_t i = 0; i < m->n; i++)
            if (grow_targets(m, &m->w[i])) {
                m->classes_cap = old;
                return CCD_ENOMEM;
            }
    }
    for (size_t c = 0; c < n; c++) {
        free(m->classes[c]);
        m->classes[c] = strdup(classes[c]);
        if (!m->classes[c])
            return CCD_ENOMEM;
    }
    for (size_t c = n; c < m->nclasses; c++) {
        free(m->classes[c]);
        m->classes[c] = NULL;
    }
    m->nclasses = n;
    for (size_t i = 0; i < m->n; i++)
        memset(m->w[i].target, 0, (m->classes_cap + 1) * sizeof(unsigned));
    return 0;
}

static void m_target(ccd_fleet_t *f, const char *const *classes, const unsigned *counts, size_t n,
                     const char *host, double stop_timeout)
{
    master_t *m = (master_t *)f;
    if (set_classes(m, classes, n)) {
        ccd_log(CCD_LOG_ERROR, "out of memory dividing the users among the workers");
        return;
    }
    memcpy(m->counts, counts, n * sizeof(*counts));
    if (!host != !m->host || (host && strcmp(host, m->host) != 0)) {
        free(m->host);
        m->host = host ? strdup(host) : NULL;
    }
    m->stop_timeout = stop_timeout;
    if (!m->testing) {
        m->testing = true;
        m->stopping = false;
        for (size_t i = 0; i < m->n; i++) {
            m->w[i].in_test = false;
            m->w[i].final_stats = false;
            m->w[i].stopped_at = 0;
        }
    }
    distribute(m);
}

static void m_rates(ccd_fleet_t *f, const char *const *classes, const double *rates, size_t n)
{
    master_t *m = (master_t *)f;
    for (size_t i = 0; i < m->nrates; i++)
        free(m->rate_names[i]);
    free(m->rate_names);
    free(m->rates);
    m->nrates = 0;
    m->rate_names = calloc(n + 1, sizeof(*m->rate_names));
    m->rates = calloc(n + 1, sizeof(*m->rates));
    for (size_t i = 0; m->rate_names && m->rates && i < n; i++) {
        if (!(m->rate_names[i] = strdup(classes[i])))
            break;
        m->rates[i] = rates[i];
        m->nrates++;
    }
    if (m->nrates < n)
        ccd_log(CCD_LOG_ERROR, "out of memory dividing the arrival rates among the workers");
    /* Every worker of the test gets the new rates: a spawn with its users as they are. */
    for (size_t i = 0; i < m->n; i++)
        m->w[i].split = 0;
    distribute(m);
}

static void m_stop(ccd_fleet_t *f)
{
    master_t *m = (master_t *)f;
    if (!m->testing) {
        post(m, CCD_MSG_DONE, 0, NULL);
        return;
    }
    m->stopping = true;
    for (size_t i = 0; i < m->n; i++) {
        worker_t *w = &m->w[i];
        if (live(w) && w->in_test && !w->stopped_at) {
            w->stopping = true;
            send_simple(m, w, "stop");
        }
    }
    ev_timer_start(m->loop, &m->check);
    check_done(m);
}

static size_t m_workers(const ccd_fleet_t *f, const ccd_fleet_worker_t **out)
{
    master_t *m = (master_t *)f;
    ccd_fleet_worker_t *v = ccd_array_grow(m->view, &m->view_cap, m->n, sizeof(*v), 8);
    if (!v) {
        *out = NULL;
        return 0;
    }
    m->view = v;
    for (size_t i = 0; i < m->n; i++)
        v[i] = (ccd_fleet_worker_t){.id = m->w[i].shown,
                                    .state = state_names[m->w[i].state],
                                    .users = m->w[i].users,
                                    .cpu = m->w[i].cpu,
                                    .memory = m->w[i].memory};
    *out = v;
    return m->n;
}

static void m_close(ccd_fleet_t *f)
{
    master_t *m = (master_t *)f;
    if (m->ch) {
        for (size_t i = 0; i < m->n; i++)
            if (live(&m->w[i]))
                send_simple(m, &m->w[i], "quit");
        ev_timer_stop(m->loop, &m->tick);
        ev_timer_stop(m->loop, &m->check);
        ev_timer_stop(m->loop, &m->flush);
        ccd_channel_close(m->ch, 1000);
    }
    ccd_processes_reap(&m->local);
    while (m->n > 0)
        remove_worker(m, &m->w[m->n - 1]);
    free(m->w);
    free(m->view);
    free(m->order);
    free(m->total);
    free(m->changed);
    for (size_t c = 0; c < m->classes_cap; c++)
        free(m->classes[c]);
    free(m->classes);
    free(m->counts);
    free(m->host);
    for (size_t i = 0; i < m->nrates; i++)
        free(m->rate_names[i]);
    free(m->rate_names);
    free(m->rates);
    for (size_t i = 0; i < m->nwarned; i++)
        free(m->warned[i]);
    free(m->warned);
    ccd_buf_free(&m->out);
    ccd_stats_free(m->pending);
    free(m);
}

int ccd_master_new(ccd_fleet_t **out, const ccd_options_t *o, char *const *worker_argv)
{
    master_t *m = calloc(1, sizeof(*m));
    if (!m)
        return CCD_ENOMEM;
    m->o = o;
    m->worker_argv = worker_argv;
    m->f = (ccd_fleet_t){.send = m_send,
                         .start = m_start,
                         .ready = m_ready,
                         .target = m_target,
                         .rates = m_rates,
                         .stop = m_stop,
                         .workers = m_workers,
                         .close = m_close};
    *out = &m->f;
    return 0;
}
