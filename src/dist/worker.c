/* The worker: one loop in the main thread holding the channel to the master, the engine threads
 * of the current test, the statistics gathered since the last report, and the timers of the
 * protocol (heartbeat every second, report every 3 s, client_ready every 5 s until acked). */
#include "dist/worker.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/log.h"
#include "control/engines.h"
#include "control/preflight.h"
#include "control/runner.h"
#include "control/scenario.h"
#include "dist/channel.h"
#include "dist/custom.h"
#include "dist/spread.h"
#include "dist/stats_wire.h"
#include "dist/wire.h"
#include "engine/engine.h"
#include "stats/stats.h"

#define HEARTBEAT_INTERVAL 1.0
#define REPORT_INTERVAL    3.0
#define READY_INTERVAL     5.0
#define RECONNECT_DELAY    1.0
#define EXIT_LINGER_MS     2000 /* time the last messages get to leave when the worker exits */

/* What the worker is doing, as its heartbeats tell the master (stopping reads as running, as
 * a Locust worker's state stays running until it is ready again). */
typedef enum { W_READY, W_SPAWNING, W_RUNNING, W_STOPPING } wstate_t;

/* Why the users stop, which decides what follows their last report; a later reason of a
 * higher value replaces an earlier one (a quit during a stop ends the process). */
typedef enum {
    END_STOP = 1, /* the master's stop: ready for its next test */
    END_QUIT,     /* the master's quit: exit 0 */
    END_SIGNAL,   /* SIGINT or SIGTERM: tell the master, exit 0 */
    END_SCENARIO, /* the scenario stopped the test: tell the master, exit 0 */
    END_FATAL,    /* the engines could not start: tell the master, exit 2 */
    END_GIVE_UP,  /* the master was silent too long: exit 1 */
} end_t;

typedef struct {
    const ccd_options_t *o;
    struct ev_loop *loop;
    ccd_scenario_t scenario; /* the classes the master may ask for */
    char node_id[128];
    ccd_channel_t *ch;
    ccd_buf_t out;        /* the message being packed */
    const char *out_type; /* its type, for the log */
    ccd_queue_t inbox;
    bool inbox_ready;
    /* The current test's engines and users. */
    ccd_engines_t engines;
    unsigned nengines, ndone;
    long *have;         /* users asked of each engine: [engine * nsel + selected class] */
    long *confirmed;    /* users the engines reported started, less those asked to stop */
    long *moved;        /* scratch: per engine */
    long *target;       /* scratch: per selected class */
    unsigned *counts;   /* users of each selected class, for the messages */
    const char **names; /* the selected classes' names (borrowed from the scenario) */
    unsigned pending;   /* SPAWN messages not yet answered */
    long stop_timeout;  /* ms: the latest spawn's stop_timeout */
    /* The open model as the master's latest spawn gave it (its parsed_options): this worker's
     * part of each selected class's arrivals per second (-1: none), the rates the engines were
     * sent (-1: none yet), its share of the backlogs, the run's --arrival-* options. */
    bool open;
    double *rates, *rates_sent;
    double arrival_share, arrival_rate, arrival_late;
    long arrival_backlog;
    ccd_stats_t *acc; /* the statistics since the last report */
    wstate_t state;
    end_t ending;
    int exit_code;
    bool done; /* the loop is to end */
    /* The protocol. */
    bool acked, ever_acked;
    bool has_spawn_ts;
    double spawn_ts; /* the newest spawn's timestamp */
    char *deferred;  /* a spawn that came while the users stopped (a copy of its frame) */
    size_t deferred_len;
    const void *frame; /* the frame being handled */
    size_t frame_len;
    char **warned; /* "kind:name" of what was warned about once */
    size_t nwarned, capwarned;
    /* The master's liveness. */
    bool master_heartbeats; /* it sent at least one heartbeat */
    double last_master;     /* monotonic seconds of its latest message */
    bool connected;         /* the channel's connection is up */
    double down_since;      /* monotonic seconds, while it is down */
    /* Usage for the heartbeat. */
    double cpu_last, cpu_wall_last, cpu_pct;
    int signals;
    ev_timer second_timer, report_timer, ready_timer, reconnect_timer;
    ev_signal sigint, sigterm;
} worker_t;

static void begin_stop(worker_t *w, end_t why, const char *what);
static void dispatch(worker_t *w, const ccd_wire_msg_t *m);

static double mono_now(void)
{
    return (double)ccd_clock_us() / 1e6;
}

/* ---- Node id, CPU and memory ----------------------------------------------------------- */

static void random_bytes(unsigned char *b, size_t n)
{
    if (getrandom(b, n, 0) == (ssize_t)n)
        return;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, n) != (ssize_t)n) {
        /* No entropy source: the clock and the PID still tell two workers apart. */
        uint64_t x = (uint64_t)ccd_clock_us() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < n; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            b[i] = (unsigned char)(x >> 56);
    }
    if (fd >= 0)
        close(fd);
}

void ccd_worker_node_id(char *buf, size_t len)
{
    char host[64] = "localhost";
    if (gethostname(host, sizeof(host)) != 0 || !host[0])
        strcpy(host, "localhost");
    host[sizeof(host) - 1] = '\0';
    unsigned char r[16];
    random_bytes(r, sizeof(r));
    char hex[33];
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    snprintf(buf, len, "%s_%s", host, hex);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Percent of one core used since the previous call (every engine thread included, so a busy
 * worker shows more than 100, as Locust's psutil figure does). */
static void sample_cpu(worker_t *w)
{
    double cpu = cpu_seconds(), now = mono_now();
    if (now > w->cpu_wall_last)
        w->cpu_pct = (cpu - w->cpu_last) * 100.0 / (now - w->cpu_wall_last);
    w->cpu_last = cpu;
    w->cpu_wall_last = now;
}

/* Resident bytes, from /proc/self/statm (0 when it cannot be read). */
static uint64_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

/* ---- Sending --------------------------------------------------------------------------- */

static msgpack_packer *begin_msg(worker_t *w, ccd_wire_packer_t *p, const char *type)
{
    ccd_wire_begin(p, &w->out, type);
    w->out_type = type;
    return &p->pk;
}

/* Ends the message and sends it; a message that cannot leave now is dropped (logged at debug
 * level: the master's liveness decides what a lost connection means). */
static void send_msg(worker_t *w, ccd_wire_packer_t *p)
{
    if (ccd_wire_end(p, w->node_id)) {
        ccd_log(CCD_LOG_ERROR, "out of memory packing a %s message for the master", w->out_type);
        return;
    }
    int rc = w->ch ? ccd_channel_send(w->ch, NULL, 0, w->out.base, w->out.len) : -EAGAIN;
    if (rc)
        ccd_log(CCD_LOG_DEBUG, "a %s message to the master was dropped: %s", w->out_type,
                ccd_strerror(rc));
}

/* A custom message of the scenario's (cicada.send_message) to the master; to is ignored. */
static int send_custom(void *ud, const char *type, const char *json, const char *to)
{
    worker_t *w = ud;
    ccd_wire_packer_t p;
    int rc = ccd_custom_pack(begin_msg(w, &p, type), json);
    if (rc == 0)
        send_msg(w, &p);
    return rc;
}

static void send_simple(worker_t *w, const char *type)
{
    ccd_wire_packer_t p;
    msgpack_pack_nil(begin_msg(w, &p, type));
    send_msg(w, &p);
}

static void send_ready(worker_t *w)
{
    ccd_wire_packer_t p;
    ccd_wire_pack_str(begin_msg(w, &p, "client_ready"), "cicada " CICADA_VERSION);
    send_msg(w, &p);
    w->acked = false;
    ev_timer_again(w->loop, &w->ready_timer);
}

static unsigned user_count(const worker_t *w)
{
    unsigned n = 0;
    for (size_t c = 0; c < w->scenario.nsel; c++)
        n += w->counts[c];
    return n;
}

/* The users of each class, from what each engine was asked to run. */
static void update_counts(worker_t *w)
{
    for (size_t c = 0; c < w->scenario.nsel; c++) {
        long n = ccd_spread_class_total(w->have, w->nengines, w->scenario.nsel, c);
        w->counts[c] = n > 0 ? (unsigned)n : 0;
    }
}

static void pack_class_counts(worker_t *w, msgpack_packer *pk)
{
    msgpack_pack_map(pk, w->scenario.nsel);
    for (size_t c = 0; c < w->scenario.nsel; c++) {
        ccd_wire_pack_key(pk, w->names[c]);
        msgpack_pack_unsigned_int(pk, w->counts[c]);
    }
}

static void send_spawning_complete(worker_t *w)
{
    ccd_wire_packer_t p;
    msgpack_packer *pk = begin_msg(w, &p, "spawning_complete");
    msgpack_pack_map(pk, 2);
    ccd_wire_pack_key(pk, "user_classes_count");
    pack_class_counts(w, pk);
    ccd_wire_pack_key(pk, "user_count");
    msgpack_pack_unsigned_int(pk, user_count(w));
    send_msg(w, &p);
}

static void send_heartbeat(worker_t *w)
{
    static const char *const states[] = {"ready", "spawning", "running", "running"};
    ccd_wire_packer_t p;
    msgpack_packer *pk = begin_msg(w, &p, "heartbeat");
    msgpack_pack_map(pk, 3);
    ccd_wire_pack_key(pk, "state");
    ccd_wire_pack_str(pk, states[w->state]);
    ccd_wire_pack_key(pk, "current_cpu_usage");
    msgpack_pack_double(pk, w->cpu_pct);
    ccd_wire_pack_key(pk, "current_memory_usage");
    msgpack_pack_uint64(pk, resident_bytes());
    send_msg(w, &p);
}

/* Each script exception of the report as one Locust `exception` message; "count" says how
 * many times it happened (a Locust master counts one per message). */
static void send_exceptions(worker_t *w)
{
    for (size_t i = 0; i < ccd_stats_exception_count(w->acc); i++) {
        const ccd_stats_exception_t *x = ccd_stats_exception_get(w->acc, i);
        ccd_wire_packer_t p;
        msgpack_packer *pk = begin_msg(w, &p, "exception");
        msgpack_pack_map(pk, 3);
        ccd_wire_pack_key(pk, "msg");
        ccd_wire_pack_str(pk, x->message ? x->message : "");
        ccd_wire_pack_key(pk, "traceback");
        ccd_wire_pack_str(pk, x->traceback ? x->traceback : "");
        ccd_wire_pack_key(pk, "count");
        msgpack_pack_uint64(pk, x->count);
        send_msg(w, &p);
    }
}

/* The statistics since the last report, then its exceptions; the accumulator starts over. */
static void send_stats(worker_t *w)
{
    ccd_stats_wire_users_t u = {.classes = w->names,
                                .counts = w->counts,
                                .nclasses = w->scenario.nsel,
                                .user_count = user_count(w)};
    ccd_wire_packer_t p;
    if (ccd_stats_wire_pack(begin_msg(w, &p, "stats"), w->acc, &u) || p.failed)
        ccd_log(CCD_LOG_ERROR, "out of memory packing the statistics: this report is lost");
    else
        send_msg(w, &p);
    send_exceptions(w);
    ccd_stats_reset(w->acc, ccd_clock_wall());
}

/* ---- Warnings given once ---------------------------------------------------------------- */

/* True the first time (kind, name) is seen, which the caller then warns about. */
static bool first_time(worker_t *w, const char *kind, const char *name, size_t len)
{
    char *key = NULL;
    if (asprintf(&key, "%s:%.*s", kind, (int)len, name) < 0)
        return false;
    for (size_t i = 0; i < w->nwarned; i++)
        if (strcmp(w->warned[i], key) == 0) {
            free(key);
            return false;
        }
    char **v = ccd_array_grow(w->warned, &w->capwarned, w->nwarned + 1, sizeof(*v), 8);
    if (!v) {
        free(key);
        return true;
    }
    w->warned = v;
    w->warned[w->nwarned++] = key;
    return true;
}

/* ---- Engines and users ----------------------------------------------------------------- */

static int class_by_name(const worker_t *w, const char *name, size_t len)
{
    for (size_t c = 0; c < w->scenario.nsel; c++)
        if (strlen(w->names[c]) == len && memcmp(w->names[c], name, len) == 0)
            return (int)c;
    return -1;
}

static int class_by_script_index(const worker_t *w, long idx)
{
    for (size_t c = 0; c < w->scenario.nsel; c++)
        if (w->scenario.sel[c] == idx)
            return (int)c;
    return -1;
}

/* The CPUs this process may run on (its affinity mask), else the online ones. */

/* The first spawn of a test starts the engines on the spawn's host (a non-empty string),
 * else -H, else each class's own. */
static int start_engines(worker_t *w, const char *host, unsigned users)
{
    char err[1024] = "";
    ccd_options_t o = *w->o; /* a shallow copy read during the call only */
    if (host && host[0])
        o.host = host;
    if (w->open) { /* the master's: the same classes are open, the backlogs split */
        o.arrival_rate = w->arrival_rate;
        o.arrival_backlog = w->arrival_backlog;
        o.arrival_late = w->arrival_late;
    }
    for (size_t c = 0; c < w->scenario.nsel; c++)
        w->rates_sent[c] = -1;
    ccd_preflight_fd_limit(users, w->nengines);
    int rc = ccd_engines_start(&w->engines, w->nengines, w->open ? w->arrival_share : 1, &o,
                               &w->scenario, &w->inbox, err, sizeof(err));
    if (rc) {
        ccd_engines_join(&w->engines);
        ccd_log(CCD_LOG_ERROR, "cannot start the users: %s", err[0] ? err : ccd_strerror(rc));
        return rc;
    }
    size_t cells = (size_t)w->nengines * w->scenario.nsel;
    memset(w->have, 0, cells * sizeof(*w->have));
    memset(w->confirmed, 0, cells * sizeof(*w->confirmed));
    w->pending = w->ndone = 0;
    ccd_stats_reset(w->acc, ccd_clock_wall());
    ccd_log(CCD_LOG_INFO, "Test starting: %u engine threads on %s", w->nengines,
            o.host ? o.host : "the classes' own hosts");
    return 0;
}

/* The open model: each class's part of the master's arrival rate, an equal part to each
 * engine, when it changed. */
static void post_rates(worker_t *w)
{
    for (size_t c = 0; w->open && c < w->scenario.nsel; c++) {
        if (w->rates[c] < 0 || w->rates[c] == w->rates_sent[c])
            continue;
        long part = lround(w->rates[c] * 1000.0 / w->engines.n);
        for (unsigned e = 0; e < w->engines.n; e++)
            ccd_engine_post(w->engines.v[e], CCD_MSG_RATE, w->scenario.sel[c], part, NULL);
        w->rates_sent[c] = w->rates[c];
        ccd_log(CCD_LOG_INFO, "Open model: %s starts %.2f iterations per second on this worker",
                w->names[c], w->rates[c]);
    }
}

/* Moves class c to target users: SPAWN or STOP_USERS to each engine concerned. */
static void move_class(worker_t *w, size_t c, long target)
{
    size_t nsel = w->scenario.nsel;
    if (ccd_spread_class(w->have, w->nengines, nsel, c, target, w->moved) == 0)
        return;
    for (unsigned e = 0; e < w->engines.n; e++) {
        long n = w->moved[e];
        int type = n > 0 ? CCD_MSG_SPAWN : CCD_MSG_STOP_USERS;
        if (n == 0)
            continue;
        if (ccd_engine_post(w->engines.v[e], type, w->scenario.sel[c], n > 0 ? n : -n, NULL)) {
            w->have[e * nsel + c] -= n; /* out of memory: the engine keeps its users */
            continue;
        }
        if (n > 0)
            w->pending++;
        else
            w->confirmed[e * nsel + c] += n;
    }
}

/* The users each engine confirmed become the counts (a class short of users on an engine that
 * could not start them all is then reported as it is). */
static void reconcile(worker_t *w)
{
    size_t cells = (size_t)w->nengines * w->scenario.nsel;
    for (size_t i = 0; i < cells; i++)
        w->have[i] = w->confirmed[i] > 0 ? w->confirmed[i] : 0;
    update_counts(w);
}

static void check_spawned(worker_t *w)
{
    if (w->state != W_SPAWNING || w->pending > 0)
        return;
    reconcile(w);
    w->state = W_RUNNING;
    send_spawning_complete(w);
    ccd_log(CCD_LOG_INFO, "All users spawned: %u users", user_count(w));
}

/* ---- The engines' messages ------------------------------------------------------------- */

static void all_stopped(worker_t *w);

static void take_report(worker_t *w, const ccd_msg_t *m)
{
    if (m->ptr && ccd_stats_merge(w->acc, m->ptr))
        ccd_log(CCD_LOG_ERROR, "out of memory merging a report: some statistics are lost");
    if (m->type == CCD_MSG_DONE) {
        if (m->ptr)
            ccd_stats_free(m->ptr);
        if (++w->ndone == w->engines.n)
            all_stopped(w);
        return;
    }
    /* A stopping engine may end before a recycled delta reaches it, which would lose it. */
    if (!m->ptr)
        return;
    if (w->state == W_STOPPING ||
        ccd_engine_post(w->engines.v[m->from], CCD_MSG_RECYCLE, 0, 0, m->ptr))
        ccd_stats_free(m->ptr);
}

static void take_spawned(worker_t *w, const ccd_msg_t *m)
{
    int c = class_by_script_index(w, m->b);
    if (c >= 0 && m->from >= 0 && (unsigned)m->from < w->nengines)
        w->confirmed[(size_t)m->from * w->scenario.nsel + (size_t)c] += m->a;
    if (w->pending > 0)
        w->pending--;
    check_spawned(w);
}

static void on_engine_message(ccd_queue_t *q, void *ud)
{
    worker_t *w = ud;
    ccd_msg_t m;
    while (ccd_queue_pop(q, &m) == 0) {
        switch (m.type) {
        case CCD_MSG_REPORT:
        case CCD_MSG_DONE: take_report(w, &m); break;
        case CCD_MSG_SPAWNED: take_spawned(w, &m); break;
        case CCD_MSG_LOG:
            ccd_log(CCD_LOG_WARNING, "%s", (char *)m.ptr);
            free(m.ptr);
            break;
        case CCD_MSG_QUIT:
            begin_stop(w, END_SCENARIO, m.ptr ? (char *)m.ptr : "stopped by the scenario");
            free(m.ptr);
            break;
        case CCD_MSG_CUSTOM_SEND: {
            ccd_custom_msg_t *cm = m.ptr;
            send_custom(w, cm->type, cm->json, NULL);
            ccd_custom_msg_free(cm);
            break;
        }
        }
    }
}

/* ---- Stopping ------------------------------------------------------------------------------ */

static void finish(worker_t *w, int code)
{
    w->exit_code = code;
    w->done = true;
    ev_break(w->loop, EVBREAK_ALL);
}

/* The spawn that came while the users stopped, handled now that they have. */
static void replay_deferred(worker_t *w)
{
    ccd_wire_msg_t m;
    char err[200];
    char *frame = w->deferred;
    if (!frame)
        return;
    w->deferred = NULL;
    w->frame = frame;
    w->frame_len = w->deferred_len;
    if (ccd_wire_decode(&m, frame, w->deferred_len, err, sizeof(err)) == 0)
        dispatch(w, &m);
    ccd_wire_msg_free(&m);
    free(frame);
}

/* Every engine reported its last delta (or none ran): the last report, then what the reason
 * for stopping asks for. */
static void all_stopped(worker_t *w)
{
    size_t cells = (size_t)w->nengines * w->scenario.nsel;
    memset(w->have, 0, cells * sizeof(*w->have));
    update_counts(w); /* the last report counts no user, as Locust's */
    if (w->ever_acked)
        send_stats(w);
    w->state = W_READY;
    switch (w->ending) {
    case END_STOP:
        send_simple(w, "client_stopped");
        ccd_engines_join(&w->engines);
        ccd_log(CCD_LOG_INFO, "Users stopped; ready for the next test");
        send_ready(w);
        break;
    case END_QUIT: finish(w, 0); break;
    case END_SIGNAL:
    case END_SCENARIO:
        send_simple(w, "quit");
        finish(w, 0);
        break;
    case END_FATAL:
        send_simple(w, "quit");
        finish(w, 2);
        break;
    case END_GIVE_UP: finish(w, 1); break;
    }
    if (w->ending == END_STOP)
        replay_deferred(w);
}

static void begin_stop(worker_t *w, end_t why, const char *what)
{
    if (w->state == W_STOPPING) {
        if (why > w->ending)
            w->ending = why;
        if (why != END_STOP)
            ccd_log(CCD_LOG_INFO, "%s while the users stop", what);
        return;
    }
    w->ending = why;
    if (w->engines.n == 0) {
        if (why != END_STOP)
            ccd_log(CCD_LOG_INFO, "%s", what);
        all_stopped(w);
        return;
    }
    ccd_log(CCD_LOG_INFO, "%s: stopping %u users", what, user_count(w));
    w->state = W_STOPPING;
    ccd_engines_post_all(&w->engines, CCD_MSG_STOP, w->stop_timeout);
}

/* ---- The master's messages --------------------------------------------------------------- */

static void on_ack(worker_t *w, const ccd_wire_msg_t *m)
{
    if (!w->ever_acked)
        ccd_log(CCD_LOG_INFO, "Connected to the master %s:%u as %s", w->o->master_host,
                w->o->master_port, w->node_id);
    w->acked = w->ever_acked = true;
    ev_timer_stop(w->loop, &w->ready_timer);
}

/* A spawn while the users stop for the master's stop comes into effect once they stopped (a
 * Locust worker reads its next message only then). */
static void defer_spawn(worker_t *w)
{
    char *copy = malloc(w->frame_len ? w->frame_len : 1);
    if (!copy)
        return;
    memcpy(copy, w->frame, w->frame_len);
    free(w->deferred);
    w->deferred = copy;
    w->deferred_len = w->frame_len;
}

/* A newer spawn than the last one, as Locust compares them. */
static bool spawn_is_new(worker_t *w, const msgpack_object *data)
{
    double ts;
    if (!ccd_wire_num(ccd_wire_get(data, "timestamp"), &ts))
        return true;
    if (w->has_spawn_ts && ts <= w->spawn_ts) {
        ccd_log(CCD_LOG_INFO, "A spawn message no newer than the previous one was discarded");
        return false;
    }
    w->has_spawn_ts = true;
    w->spawn_ts = ts;
    return true;
}

/* The target of each class named; -1 for the classes not named (they keep their users). */
static unsigned read_targets(worker_t *w, const msgpack_object *counts, long *target)
{
    unsigned total = 0;
    for (size_t c = 0; c < w->scenario.nsel; c++)
        target[c] = -1;
    for (uint32_t i = 0; i < counts->via.map.size; i++) {
        const msgpack_object_kv *kv = &counts->via.map.ptr[i];
        const char *name;
        size_t len;
        uint64_t n;
        if (!ccd_wire_str(&kv->key, &name, &len) || !ccd_wire_uint(&kv->val, &n))
            continue;
        int c = class_by_name(w, name, len);
        if (c < 0) {
            if (n > 0 && first_time(w, "class", name, len))
                ccd_log(CCD_LOG_WARNING,
                        "the master asks for users of class '%.*s', which this worker's scenario "
                        "does not run: ignored",
                        (int)len, name);
            continue;
        }
        target[c] = n > 100000000 ? 100000000 : (long)n;
        total += (unsigned)target[c];
    }
    return total;
}

/* Seconds a user gets to finish its task when stopped; nil means none (as Locust), a
 * spawn without it keeps the worker's own --stop-timeout. */
static void read_stop_timeout(worker_t *w, const msgpack_object *v)
{
    double st = 0;
    if (!v)
        return;
    if (v->type == MSGPACK_OBJECT_NIL || (ccd_wire_num(v, &st) && st <= 0))
        w->stop_timeout = 0;
    else if (ccd_wire_num(v, &st))
        w->stop_timeout = st > 1e6 ? 1000000000L : (long)(st * 1000);
}

/* A number of parsed_options, else dflt. */
static double option_num(const msgpack_object *po, const char *key, double dflt)
{
    double v;
    return ccd_wire_num(ccd_wire_get(po, key), &v) && isfinite(v) ? v : dflt;
}

/* The open model's part of a spawn from a cicada master (see pack_open_options in master.c):
 * absent from other masters' and from a closed test's spawns. */
static void read_open(worker_t *w, const msgpack_object *data)
{
    const msgpack_object *po = ccd_wire_get(data, "parsed_options");
    const msgpack_object *rates =
        po && po->type == MSGPACK_OBJECT_MAP ? ccd_wire_get(po, "cicada_arrival_rates") : NULL;
    w->open = rates && rates->type == MSGPACK_OBJECT_MAP;
    for (size_t c = 0; c < w->scenario.nsel; c++)
        w->rates[c] = -1;
    if (!w->open)
        return;
    for (uint32_t i = 0; i < rates->via.map.size; i++) {
        const msgpack_object_kv *kv = &rates->via.map.ptr[i];
        const char *name;
        size_t len;
        double v;
        int c = ccd_wire_str(&kv->key, &name, &len) ? class_by_name(w, name, len) : -1;
        if (c >= 0 && ccd_wire_num(&kv->val, &v) && v >= 0 && v < 1e9)
            w->rates[c] = v;
    }
    double share = option_num(po, "cicada_arrival_share", 1);
    w->arrival_share = share > 0 && share <= 1 ? share : 1;
    double rate = option_num(po, "cicada_arrival_rate", 0);
    w->arrival_rate = rate > 0 ? rate : 0;
    double backlog = option_num(po, "cicada_arrival_backlog", -1);
    w->arrival_backlog = backlog >= 0 && backlog < 1e12 ? (long)backlog : -1;
    double late = option_num(po, "cicada_arrival_late", w->o->arrival_late);
    w->arrival_late = late > 0 ? late : w->o->arrival_late;
}

static void on_spawn(worker_t *w, const ccd_wire_msg_t *m)
{
    const msgpack_object *counts = ccd_wire_get(m->data, "user_classes_count");
    if (w->state == W_STOPPING) {
        if (w->ending == END_STOP)
            defer_spawn(w);
        return;
    }
    if (!counts || counts->type != MSGPACK_OBJECT_MAP) {
        ccd_log(CCD_LOG_WARNING, "a spawn message without user_classes_count was ignored");
        return;
    }
    if (!spawn_is_new(w, m->data))
        return;
    read_stop_timeout(w, ccd_wire_get(m->data, "stop_timeout"));
    read_open(w, m->data);
    long *target = w->target;
    unsigned total = read_targets(w, counts, target);
    send_simple(w, "spawning");
    if (w->engines.n == 0) {
        char *host = ccd_wire_strdup(ccd_wire_get(m->data, "host"));
        int rc = start_engines(w, host, total);
        free(host);
        if (rc) {
            begin_stop(w, END_FATAL, "The users cannot start");
            return;
        }
    }
    w->state = W_SPAWNING;
    post_rates(w);
    for (size_t c = 0; c < w->scenario.nsel; c++)
        if (target[c] >= 0)
            move_class(w, c, target[c]);
    update_counts(w);
    ccd_log(CCD_LOG_INFO, "Spawning %u users", user_count(w));
    check_spawned(w);
}

static void on_stop(worker_t *w, const ccd_wire_msg_t *m)
{
    begin_stop(w, END_STOP, "Stopped by the master");
}

static void on_quit(worker_t *w, const ccd_wire_msg_t *m)
{
    begin_stop(w, END_QUIT, "The master said quit");
}

static void on_recv(void *ud, const char *peer, size_t peer_len, const void *data, size_t len);
static void on_state(void *ud, bool connected);

static int connect_master(worker_t *w, char *err, size_t errlen)
{
    if (w->connected || w->down_since == 0)
        w->down_since = mono_now(); /* a reconnect's gap counts as the same outage */
    w->connected = false;
    return ccd_channel_connect(&w->ch, w->loop, w->o->master_host, w->o->master_port, w->node_id,
                               on_recv, on_state, w, err, errlen);
}

/* A reconnect in two steps: the old connection closes at once, the new one opens a second
 * later. A ROUTER without ZMQ_ROUTER_HANDOVER (Locust's) refuses a peer whose identity is still
 * in use, and libzmq then never reads that peer's frames: the master must have seen the old
 * connection go before the same node id comes back. Messages meanwhile are dropped. */
static void on_reconnect_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    worker_t *w = t->data;
    char err[512] = "";
    if (w->ch) {
        ccd_channel_close(w->ch, 0);
        w->ch = NULL;
        w->connected = false;
        w->down_since = mono_now();
        ev_timer_set(t, RECONNECT_DELAY, 0);
        ev_timer_start(loop, t);
        return;
    }
    if (connect_master(w, err, sizeof(err))) {
        ccd_log(CCD_LOG_ERROR, "cannot reconnect to the master: %s", err);
        begin_stop(w, END_GIVE_UP, "No connection to the master");
        return;
    }
    send_ready(w);
}

static void on_reconnect(worker_t *w, const ccd_wire_msg_t *m)
{
    if (ev_is_active(&w->reconnect_timer))
        return;
    ccd_log(CCD_LOG_WARNING, "The master asked to reconnect: resetting the connection");
    ev_timer_set(&w->reconnect_timer, 0, 0);
    ev_timer_start(w->loop, &w->reconnect_timer);
}

static void on_master_heartbeat(worker_t *w, const ccd_wire_msg_t *m)
{
    w->master_heartbeats = true;
}

/* Newer Locust masters tell every worker when the whole ramp completed: nothing to do. */
static void on_ignored(worker_t *w, const ccd_wire_msg_t *m) {}

typedef void (*handler_fn)(worker_t *w, const ccd_wire_msg_t *m);

static const struct {
    const char *type;
    handler_fn fn;
} handlers[] = {
    {"ack", on_ack},
    {"spawn", on_spawn},
    {"stop", on_stop},
    {"quit", on_quit},
    {"reconnect", on_reconnect},
    {"heartbeat", on_master_heartbeat},
    {"spawning_complete", on_ignored},
};

/* The one place where a master's message is told apart by its type. */
static void dispatch(worker_t *w, const ccd_wire_msg_t *m)
{
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (ccd_wire_is(m, handlers[i].type)) {
            handlers[i].fn(w, m);
            return;
        }
    if (ccd_custom_type_ok(m->type, m->type_len)) {
        char err[256] = "";
        ccd_custom_msg_t *cm = ccd_custom_from_wire(m, err, sizeof(err));
        if (!cm)
            ccd_log(CCD_LOG_WARNING, "message '%.*s' from the master dropped: %s", (int)m->type_len,
                    m->type, err);
        else if (ccd_engines_post_custom(&w->engines, cm->type, cm->json, cm->node))
            ccd_log(CCD_LOG_WARNING, "out of memory delivering message '%s'", cm->type);
        ccd_custom_msg_free(cm);
        return;
    }
    if (first_time(w, "type", m->type, m->type_len))
        ccd_log(CCD_LOG_WARNING,
                "Unknown message type from the master: '%.*s' (ignored; warned once)",
                (int)m->type_len, m->type);
}

static void on_recv(void *ud, const char *peer, size_t peer_len, const void *data, size_t len)
{
    worker_t *w = ud;
    ccd_wire_msg_t m;
    char err[256] = "";
    w->last_master = mono_now();
    if (ccd_wire_decode(&m, data, len, err, sizeof(err)) == 0) {
        w->frame = data;
        w->frame_len = len;
        dispatch(w, &m);
    } else if (first_time(w, "undecodable", "", 0)) {
        ccd_log(CCD_LOG_WARNING, "a message from the master could not be read: %s", err);
    }
    ccd_wire_msg_free(&m);
}

static void on_state(void *ud, bool connected)
{
    worker_t *w = ud;
    if (connected == w->connected)
        return;
    w->connected = connected;
    if (!connected)
        w->down_since = mono_now();
    ccd_log(connected ? CCD_LOG_DEBUG : CCD_LOG_WARNING, "Connection to the master %s:%u %s",
            w->o->master_host, w->o->master_port, connected ? "up" : "lost");
}

/* ---- Timers and signals ---------------------------------------------------------------- */

/* The master is given up on after --master-timeout seconds of silence: without a message when
 * it sends heartbeats (cicada's, Locust >= 2.19), else without a connection (Locust 2.12 sends
 * nothing between tests, so only the connection tells that it is there). */
static void check_master(worker_t *w)
{
    double now = mono_now(), silent;
    if (w->state == W_STOPPING && w->ending == END_GIVE_UP)
        return;
    if (w->master_heartbeats)
        silent = now - w->last_master;
    else
        silent = w->connected ? 0 : now - w->down_since;
    if (silent < w->o->master_timeout)
        return;
    ccd_log(CCD_LOG_ERROR, "The master %s:%u was silent for %.0f s (--master-timeout %g): %s",
            w->o->master_host, w->o->master_port, silent, w->o->master_timeout,
            w->engines.n ? "stopping the users and exiting" : "exiting");
    begin_stop(w, END_GIVE_UP, "Master given up");
}

static void on_second(struct ev_loop *loop, ev_timer *t, int revents)
{
    worker_t *w = t->data;
    sample_cpu(w);
    if (w->ever_acked)
        send_heartbeat(w);
    check_master(w);
}

static void on_report_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    worker_t *w = t->data;
    if (w->ever_acked)
        send_stats(w);
}

static void on_ready_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    worker_t *w = t->data;
    if (w->acked) {
        ev_timer_stop(loop, t);
        return;
    }
    /* While the connection is down the first client_ready waits in the socket's queue, and
     * leaves when it comes up: more copies would only reach the master together. */
    if (!w->connected)
        return;
    ccd_log(CCD_LOG_DEBUG, "No ack from the master %s:%u yet: client_ready again",
            w->o->master_host, w->o->master_port);
    send_ready(w);
}

static void handle_signal(worker_t *w, int signum)
{
    if (++w->signals > 1) {
        ccd_log(CCD_LOG_WARNING, "Second signal: exiting without waiting for the users");
        fflush(stderr);
        _exit(128 + signum);
    }
    begin_stop(w, END_SIGNAL, signum == SIGINT ? "Interrupted (SIGINT)" : "Terminated (SIGTERM)");
}

static void on_signal(struct ev_loop *loop, ev_signal *s, int revents)
{
    handle_signal(s->data, s->signum);
}

static void start_watchers(worker_t *w)
{
    ev_timer_init(&w->second_timer, on_second, HEARTBEAT_INTERVAL, HEARTBEAT_INTERVAL);
    ev_timer_init(&w->report_timer, on_report_timer, REPORT_INTERVAL, REPORT_INTERVAL);
    ev_init(&w->ready_timer, on_ready_timer);
    w->ready_timer.repeat = READY_INTERVAL;
    ev_timer_init(&w->reconnect_timer, on_reconnect_timer, 0, 0);
    w->reconnect_timer.data = w;
    ev_signal_init(&w->sigint, on_signal, SIGINT);
    ev_signal_init(&w->sigterm, on_signal, SIGTERM);
    w->second_timer.data = w->report_timer.data = w->ready_timer.data = w;
    w->sigint.data = w->sigterm.data = w;
    ev_timer_start(w->loop, &w->second_timer);
    ev_timer_start(w->loop, &w->report_timer);
    ev_signal_start(w->loop, &w->sigint);
    ev_signal_start(w->loop, &w->sigterm);
}

/* ---- Set-up and the run ---------------------------------------------------------------- */

static int prepare(worker_t *w, char *err, size_t errlen)
{
    const ccd_options_t *o = w->o;
    if (!o->master_host || !o->master_host[0]) {
        snprintf(err, errlen, "--master-host is empty: give the master's address");
        return CCD_EINVAL;
    }
    int rc = ccd_scenario_open(&w->scenario, o, err, errlen);
    if (rc)
        return rc;
    ccd_scenario_on_send(&w->scenario, send_custom, w);
    w->nengines = o->threads ? o->threads : ccd_engines_usable_cpus();
    size_t nsel = w->scenario.nsel, cells = (size_t)w->nengines * nsel;
    w->have = calloc(cells, sizeof(*w->have));
    w->confirmed = calloc(cells, sizeof(*w->confirmed));
    w->moved = calloc(w->nengines, sizeof(*w->moved));
    w->target = calloc(nsel, sizeof(*w->target));
    w->counts = calloc(nsel, sizeof(*w->counts));
    w->names = calloc(nsel, sizeof(*w->names));
    w->rates = calloc(nsel + 1, sizeof(*w->rates));
    w->rates_sent = calloc(nsel + 1, sizeof(*w->rates_sent));
    w->acc = ccd_stats_new(ccd_clock_wall());
    if (!w->have || !w->confirmed || !w->moved || !w->target || !w->counts || !w->names ||
        !w->rates || !w->rates_sent || !w->acc ||
        ccd_queue_init(&w->inbox, w->loop, on_engine_message, w)) {
        snprintf(err, errlen, "out of memory starting the worker");
        return CCD_ENOMEM;
    }
    w->inbox_ready = true;
    for (size_t c = 0; c < nsel; c++)
        w->names[c] = ccd_scenario_class_name(&w->scenario, c);
    ccd_worker_node_id(w->node_id, sizeof(w->node_id));
    return connect_master(w, err, errlen);
}

static void drain_inbox(worker_t *w)
{
    ccd_msg_t m;
    while (ccd_queue_pop(&w->inbox, &m) == 0) {
        if ((m.type == CCD_MSG_REPORT || m.type == CCD_MSG_DONE) && m.ptr)
            ccd_stats_free(m.ptr);
        else if (m.type == CCD_MSG_LOG || m.type == CCD_MSG_QUIT || m.type == CCD_MSG_CUSTOM_SEND)
            free(m.ptr);
    }
}

static void worker_free(worker_t *w)
{
    ccd_channel_close(w->ch, EXIT_LINGER_MS);
    if (w->inbox_ready) {
        drain_inbox(w);
        ccd_queue_destroy(&w->inbox);
    }
    for (size_t i = 0; i < w->nwarned; i++)
        free(w->warned[i]);
    free(w->warned);
    free(w->deferred);
    free(w->have);
    free(w->confirmed);
    free(w->moved);
    free(w->target);
    free(w->counts);
    free(w->names);
    free(w->rates);
    free(w->rates_sent);
    ccd_stats_free(w->acc);
    ccd_buf_free(&w->out);
    ccd_scenario_close(&w->scenario);
}

static void note_ignored_options(const ccd_options_t *o)
{
    if (o->users_given || o->spawn_rate_given || o->run_time_given)
        ccd_log(CCD_LOG_INFO, "-u, -r and -t are ignored by a worker: its master decides");
}

int ccd_worker_run(const ccd_options_t *o)
{
    if (o->logfile && ccd_log_open(o->logfile)) {
        fprintf(stderr, "cicada: --logfile %s: cannot open it: %s\n", o->logfile, strerror(errno));
        return 2;
    }
    worker_t w = {.o = o, .loop = EV_DEFAULT, .stop_timeout = (long)(o->stop_timeout * 1000)};
    char err[1024] = "";
    int rc = prepare(&w, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "cicada: %s\n", err[0] ? err : ccd_strerror(rc));
        fflush(stderr);
        worker_free(&w);
        return 2;
    }
    note_ignored_options(o);
    ccd_log(CCD_LOG_INFO, "Worker %s connecting to the master %s:%u (%u engine threads)", w.node_id,
            o->master_host, o->master_port, w.nengines);
    start_watchers(&w);
    sample_cpu(&w);
    send_ready(&w);
    int early = ccd_runner_early_signal();
    if (early)
        handle_signal(&w, early);
    if (!w.done)
        ev_run(w.loop, 0);
    bool forced = w.engines.n > 0 && w.ndone < w.engines.n;
    ccd_log(CCD_LOG_INFO, "Worker shutting down (exit code %d)", w.exit_code);
    fflush(stderr);
    if (forced)
        _exit(w.exit_code); /* engines may still be stopping: do not wait for them */
    ccd_engines_join(&w.engines);
    int code = w.exit_code;
    worker_free(&w);
    return code;
}
