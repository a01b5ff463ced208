/* The HTTP server: libmicrohttpd with one internal thread, basic auth on every path, optional
 * TLS, and the routes: the page's files, Locust's API, downloads and /metrics. Handlers never
 * touch the runner's data: they read the published snapshot under the lock, post commands, or
 * wait for a render (downloads only). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/log.h"
#include "web/web_int.h"

#define LOG_LINES      500
#define MAX_FORM_VALUE 4096

extern const unsigned char ccd_web_index_html[], ccd_web_app_js[], ccd_web_app_css[];
extern const size_t ccd_web_index_html_len, ccd_web_app_js_len, ccd_web_app_css_len;
extern const unsigned char ccd_uplot_js[], ccd_uplot_css[];
extern const size_t ccd_uplot_js_len, ccd_uplot_css_len;

#define JSON_TYPE "application/json"
#define HTML_TYPE "text/html; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"
#define CSV_TYPE  "text/csv"

/* ---- Responses ---------------------------------------------------------------------------- */

/* Queues a response; mode says who owns body (MHD_RESPMEM_MUST_FREE: it is freed with free()).
 * disposition, when not NULL, is the Content-Disposition header. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const void *body, size_t len, enum MHD_ResponseMemoryMode mode,
                             const char *disposition)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free((void *)body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*"); /* as Locust's flask_cors */
    if (mode != MHD_RESPMEM_PERSISTENT)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (disposition)
        MHD_add_response_header(r, "Content-Disposition", disposition);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *type,
                                  const char *text)
{
    return reply(c, status, type, text, strlen(text), MHD_RESPMEM_MUST_COPY, NULL);
}

/* A malloc'd JSON document (NULL: out of memory). */
static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(doc);
    if (!s)
        return reply_text(c, 500, TEXT_TYPE, "out of memory\n");
    return reply(c, status, JSON_TYPE, s, strlen(s), MHD_RESPMEM_MUST_FREE, NULL);
}

/* A published document, copied under the lock. */
static enum MHD_Result reply_doc(ccd_web_t *w, struct MHD_Connection *c, int doc, const char *type)
{
    pthread_mutex_lock(&w->lock);
    char *s = w->docs[doc] ? strdup(w->docs[doc]) : NULL;
    pthread_mutex_unlock(&w->lock);
    if (!s)
        return reply_text(c, 503, TEXT_TYPE, "starting\n");
    return reply(c, 200, type, s, strlen(s), MHD_RESPMEM_MUST_FREE, NULL);
}

/* ---- Commands ----------------------------------------------------------------------------- */

static bool post_cmd(ccd_web_t *w, ccd_ui_cmd_t *cmd)
{
    return cmd && ccd_ui_post(w->inbox, cmd) == 0;
}

static enum MHD_Result simple_cmd(ccd_web_t *w, struct MHD_Connection *c, int kind)
{
    ccd_ui_cmd_t *cmd = calloc(1, sizeof(*cmd));
    if (cmd)
        cmd->kind = kind;
    if (!post_cmd(w, cmd))
        return reply_text(c, 500, TEXT_TYPE, "out of memory\n");
    if (kind == CCD_UI_RESET)
        return reply_text(c, 200, HTML_TYPE, "ok");
    return reply_json(c, 200, json_pack("{s:b,s:s}", "success", 1, "message", "Test stopped"));
}

/* ---- POST /swarm -------------------------------------------------------------------------- */

enum { F_USERS, F_RATE, F_HOST, F_RUN_TIME, F_COUNT };

/* One request's state between the calls of the handler (a form arrives in pieces). */
typedef struct {
    struct MHD_PostProcessor *pp;
    char *fields[F_COUNT];
    char **classes;
    size_t nclasses, capclasses;
    bool too_long;
} form_t;

static void form_free(form_t *f)
{
    if (f->pp)
        MHD_destroy_post_processor(f->pp);
    for (int i = 0; i < F_COUNT; i++)
        free(f->fields[i]);
    for (size_t i = 0; i < f->nclasses; i++)
        free(f->classes[i]);
    free(f->classes);
    free(f);
}

/* Appends a piece of a value to *dst (a new value when off is 0). */
static int append(char **dst, const char *data, uint64_t off, size_t size)
{
    size_t have = off && *dst ? strlen(*dst) : 0;
    if (have + size > MAX_FORM_VALUE)
        return -1;
    char *s = realloc(off ? *dst : NULL, have + size + 1);
    if (!s)
        return -1;
    if (!off)
        free(*dst);
    memcpy(s + have, data, size);
    s[have + size] = '\0';
    *dst = s;
    return 0;
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
    static const char *names[F_COUNT] = {"user_count", "spawn_rate", "host", "run_time"};
    form_t *f = cls;
    for (int i = 0; i < F_COUNT; i++)
        if (strcmp(key, names[i]) == 0) {
            f->too_long |= append(&f->fields[i], data, off, size) != 0;
            return MHD_YES;
        }
    if (strcmp(key, "user_classes") == 0 || strcmp(key, "user_classes[]") == 0) {
        if (off == 0) {
            char **v = ccd_array_grow(f->classes, &f->capclasses, f->nclasses + 1, sizeof(*v), 8);
            if (!v)
                return MHD_NO;
            f->classes = v;
            f->classes[f->nclasses++] = NULL;
        }
        f->too_long |= append(&f->classes[f->nclasses - 1], data, off, size) != 0;
    }
    return MHD_YES;
}

static enum MHD_Result swarm_error(struct MHD_Connection *c, unsigned status, const char *msg,
                                   const char *host)
{
    return reply_json(c, status,
                      json_pack("{s:b,s:s,s:o}", "success", 0, "message", msg, "host",
                                host ? json_string(host) : json_null()));
}

/* Locust's host field loses its < and > (an XSS guard). */
static void strip_angles(char *s)
{
    char *o = s;
    for (; *s; s++)
        if (*s != '<' && *s != '>')
            *o++ = *s;
    *o = '\0';
}

static bool known_class(ccd_web_t *w, const char *name)
{
    for (size_t i = 0; i < w->nclasses; i++)
        if (strcmp(w->classes[i], name) == 0)
            return true;
    return false;
}

/* The form's values, checked; NULL with a message in msg when one is wrong. */
static ccd_ui_cmd_t *swarm_cmd(ccd_web_t *w, form_t *f, char *msg, size_t msglen, unsigned *status)
{
    ccd_ui_cmd_t *cmd = calloc(1, sizeof(*cmd));
    char *end;
    if (!cmd)
        return NULL;
    *cmd =
        (ccd_ui_cmd_t){.kind = CCD_UI_SWARM, .users = w->o->users, .spawn_rate = w->o->spawn_rate};
    const char *u = f->fields[F_USERS], *r = f->fields[F_RATE], *t = f->fields[F_RUN_TIME];
    *status = 400;
    if (u) {
        unsigned long n = strtoul(u, &end, 10);
        if (!isdigit((unsigned char)*u) || *end || n > 10000000)
            snprintf(msg, msglen, "invalid user_count '%s': expected a whole number", u);
        cmd->users = (unsigned)n;
    }
    if (r && !msg[0] && (!(cmd->spawn_rate = strtod(r, &end)) || *end || cmd->spawn_rate <= 0))
        snprintf(msg, msglen, "invalid spawn_rate '%s': expected a number > 0", r);
    if (t && t[0] && !msg[0] && ccd_duration_parse(t, &cmd->run_time)) {
        *status = 200; /* as Locust */
        snprintf(msg, msglen,
                 "Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc.");
    }
    for (size_t i = 0; i < f->nclasses && !msg[0]; i++)
        if (!f->classes[i] || !known_class(w, f->classes[i])) {
            *status = 200;
            snprintf(msg, msglen, "unknown user class '%s'", f->classes[i] ? f->classes[i] : "");
        }
    if (msg[0]) {
        ccd_ui_cmd_free(cmd);
        return NULL;
    }
    if (f->fields[F_HOST]) {
        strip_angles(f->fields[F_HOST]);
        cmd->host = f->fields[F_HOST];
        f->fields[F_HOST] = NULL;
    }
    cmd->classes = f->classes;
    cmd->nclasses = f->nclasses;
    f->classes = NULL;
    f->nclasses = 0;
    return cmd;
}

static enum MHD_Result swarm(ccd_web_t *w, struct MHD_Connection *c, form_t *f)
{
    char msg[256] = "";
    unsigned status = 400;
    pthread_mutex_lock(&w->lock);
    ccd_ui_cmd_t *cmd = f->too_long ? NULL : swarm_cmd(w, f, msg, sizeof(msg), &status);
    char *host = w->host ? strdup(w->host) : NULL;
    bool shape = w->has_shape;
    pthread_mutex_unlock(&w->lock);
    if (!cmd) {
        enum MHD_Result ret =
            swarm_error(c, status, msg[0] ? msg : "form value too long, or out of memory", host);
        free(host);
        return ret;
    }
    json_t *doc = json_pack("{s:b,s:s}", "success", 1, "message",
                            shape ? "Swarming started using shape class" : "Swarming started");
    const char *h = cmd->host ? cmd->host : host;
    json_object_set_new(doc, "host", h ? json_string(h) : json_null());
    if (cmd->run_time > 0)
        json_object_set_new(doc, "run_time", json_real(cmd->run_time));
    if (cmd->nclasses) {
        json_t *names = json_array();
        for (size_t i = 0; i < cmd->nclasses; i++)
            json_array_append_new(names, json_string(cmd->classes[i]));
        json_object_set_new(doc, "user_classes", names);
    }
    free(host);
    if (!post_cmd(w, cmd)) {
        json_decref(doc);
        return reply_text(c, 500, TEXT_TYPE, "out of memory\n");
    }
    return reply_json(c, 200, doc);
}

/* ---- GET routes --------------------------------------------------------------------------- */

static void add_line(const char *line, void *ud)
{
    json_array_append_new(ud, json_string(line));
}

static enum MHD_Result logs(struct MHD_Connection *c)
{
    json_t *lines = json_array();
    ccd_log_recent(add_line, lines);
    return reply_json(c, 200, json_pack("{s:o,s:{}}", "master", lines, "workers"));
}

static enum MHD_Result history(ccd_web_t *w, struct MHD_Connection *c)
{
    const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
    pthread_mutex_lock(&w->lock);
    char *s = ccd_web_history_json(w, since ? strtod(since, NULL) : 0);
    pthread_mutex_unlock(&w->lock);
    if (!s)
        return reply_text(c, 500, TEXT_TYPE, "out of memory\n");
    return reply(c, 200, JSON_TYPE, s, strlen(s), MHD_RESPMEM_MUST_FREE, NULL);
}

/* A download rendered by the runner; prefix names the suggested file (Locust's names). */
static enum MHD_Result download(ccd_web_t *w, struct MHD_Connection *c, int what,
                                const char *prefix)
{
    char *body = NULL, disposition[128];
    size_t len = 0;
    if (ccd_web_render(w, what, &body, &len) != 200)
        return reply_text(c, 503, TEXT_TYPE, "the runner did not answer\n");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    bool page = what == RENDER_REPORT || what == RENDER_REPORT_JSON;
    bool attach = !page || MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "download");
    const char *ext = what == RENDER_REPORT ? "html" : what == RENDER_REPORT_JSON ? "json" : "csv";
    const char *type = what == RENDER_REPORT        ? HTML_TYPE
                       : what == RENDER_REPORT_JSON ? JSON_TYPE
                                                    : CSV_TYPE;
    snprintf(disposition, sizeof(disposition), "attachment;filename=%s_%.6f.%s", prefix, now, ext);
    return reply(c, 200, type, body, len, MHD_RESPMEM_MUST_FREE, attach ? disposition : NULL);
}

/* Locust serves the full history only when it writes it (--csv with --csv-full-history). */
static enum MHD_Result full_history(ccd_web_t *w, struct MHD_Connection *c)
{
    const ccd_options_t *o = w->o;
    if (!o->csv_prefix || !o->csv_full_history)
        return reply_text(c, 404, HTML_TYPE,
                          "Error: Server was not started with option to generate full history.");
    char path[4096], *body = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s_stats_history.csv", o->csv_prefix);
    FILE *in = fopen(path, "rb"), *out = open_memstream(&body, &len);
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    if (!in || !out) {
        free(body);
        return reply_text(c, 404, TEXT_TYPE, "the history file cannot be read\n");
    }
    return reply(c, 200, CSV_TYPE, body, len, MHD_RESPMEM_MUST_FREE,
                 "attachment;filename=requests_full_history.csv");
}

typedef struct {
    const char *path;
    const unsigned char *data;
    const size_t *len;
    const char *type;
} asset_t;

static const asset_t assets[] = {
    {"/", ccd_web_index_html, &ccd_web_index_html_len, HTML_TYPE},
    {"/app.js", ccd_web_app_js, &ccd_web_app_js_len, "application/javascript; charset=utf-8"},
    {"/app.css", ccd_web_app_css, &ccd_web_app_css_len, "text/css; charset=utf-8"},
    {"/uplot.js", ccd_uplot_js, &ccd_uplot_js_len, "application/javascript; charset=utf-8"},
    {"/uplot.css", ccd_uplot_css, &ccd_uplot_css_len, "text/css; charset=utf-8"},
};

static enum MHD_Result get(ccd_web_t *w, struct MHD_Connection *c, const char *url)
{
    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
        if (strcmp(url, assets[i].path) == 0)
            return reply(c, 200, assets[i].type, assets[i].data, *assets[i].len,
                         MHD_RESPMEM_PERSISTENT, NULL);
    static const struct {
        const char *path;
        int doc;
        const char *type;
    } docs[] = {
        {"/stats/requests", DOC_REQUESTS, JSON_TYPE},
        {"/exceptions", DOC_EXCEPTIONS, JSON_TYPE},
        {"/tasks", DOC_TASKS, JSON_TYPE},
        {"/config", DOC_CONFIG, JSON_TYPE},
        {"/worker-count", DOC_WORKER_COUNT, JSON_TYPE},
        {"/metrics", DOC_METRICS, "text/plain; version=0.0.4; charset=utf-8"},
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        if (strcmp(url, docs[i].path) == 0)
            return reply_doc(w, c, docs[i].doc, docs[i].type);
    static const struct {
        const char *path;
        int what;
        const char *prefix;
    } downloads[] = {
        {"/stats/requests/csv", RENDER_REQUESTS_CSV, "requests"},
        {"/stats/failures/csv", RENDER_FAILURES_CSV, "failures"},
        {"/exceptions/csv", RENDER_EXCEPTIONS_CSV, "exceptions"},
        {"/stats/report", RENDER_REPORT, "report"},
        {"/stats/report.json", RENDER_REPORT_JSON, "report"},
    };
    for (size_t i = 0; i < sizeof(downloads) / sizeof(downloads[0]); i++)
        if (strcmp(url, downloads[i].path) == 0)
            return download(w, c, downloads[i].what, downloads[i].prefix);
    if (strcmp(url, "/stop") == 0)
        return simple_cmd(w, c, CCD_UI_STOP);
    if (strcmp(url, "/stats/reset") == 0)
        return simple_cmd(w, c, CCD_UI_RESET);
    if (strcmp(url, "/stats/history") == 0)
        return history(w, c);
    if (strcmp(url, "/logs") == 0)
        return logs(c);
    if (strcmp(url, "/stats/requests_full_history/csv") == 0)
        return full_history(w, c);
    if (strcmp(url, "/swarm") == 0)
        return reply_text(c, 405, HTML_TYPE, "Method Not Allowed");
    return reply_text(c, 404, HTML_TYPE, "Not Found");
}

/* ---- The handler -------------------------------------------------------------------------- */

/* Constant-time comparison of a credential, so timing does not tell how much matched. */
static bool same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static bool authorized(ccd_web_t *w, struct MHD_Connection *c)
{
    if (!w->user)
        return true;
    char *pass = NULL, *user = MHD_basic_auth_get_username_password(c, &pass);
    /* Both compared whatever the first gives (not &&), so timing does not tell which failed. */
    bool ok = user && pass && ((int)same(user, w->user) & (int)same(pass, w->pass));
    MHD_free(user);
    MHD_free(pass);
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    ccd_web_t *w = cls;
    bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (!*state) { /* the headers are in: check them before any body */
        if (!authorized(w, c)) {
            struct MHD_Response *r =
                MHD_create_response_from_buffer(12, (void *)"Unauthorized", MHD_RESPMEM_PERSISTENT);
            enum MHD_Result ret = MHD_queue_basic_auth_fail_response(c, "cicada", r);
            MHD_destroy_response(r);
            return ret;
        }
        if (is_post && strcmp(url, "/swarm") == 0) {
            form_t *f = calloc(1, sizeof(*f));
            if (!f)
                return MHD_NO;
            f->pp = MHD_create_post_processor(c, 16384, on_field, f);
            *state = f;
            return MHD_YES;
        }
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return reply_text(c, 405, HTML_TYPE, "Method Not Allowed");
        return get(w, c, url);
    }
    form_t *f = *state;
    if (*upload_size) {
        if (f->pp && MHD_post_process(f->pp, upload, *upload_size) != MHD_YES)
            f->too_long = true;
        *upload_size = 0;
        return MHD_YES;
    }
    return swarm(w, c, f);
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode toe)
{
    if (*state)
        form_free(*state);
    *state = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    ccd_log(CCD_LOG_DEBUG, "web: %s", line);
}

/* ---- Lifetime ----------------------------------------------------------------------------- */

static int resolve(const ccd_options_t *o, struct sockaddr_storage *addr, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%u", o->web_port);
    const char *host =
        o->web_host && o->web_host[0] && strcmp(o->web_host, "*") != 0 ? o->web_host : NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "invalid value '%s' for --web-host: %s", o->web_host,
                 gai_strerror(rc));
        return CCD_EINVAL;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static int web_start(ccd_ui_t *ui, ccd_queue_t *inbox, char *err, size_t errlen)
{
    ccd_web_t *w = (ccd_web_t *)ui;
    struct sockaddr_storage addr;
    int rc = resolve(w->o, &addr, err, errlen);
    if (rc)
        return rc;
    w->inbox = inbox;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_KEY, 0, w->key},
        {MHD_OPTION_HTTPS_MEM_CERT, 0, w->cert},
        {MHD_OPTION_END, 0, NULL},
    };
    if (w->cert)
        flags |= MHD_USE_TLS;
    /* Its thread inherits this mask: SIGINT and SIGTERM stay the runner's. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    errno = 0;
    w->daemon =
        MHD_start_daemon(flags, (uint16_t)w->o->web_port, NULL, NULL, handle, w,
                         MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_NOTIFY_COMPLETED, completed, w,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, w,
                         MHD_OPTION_ARRAY, w->cert ? tls : tls + 2, MHD_OPTION_END);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!w->daemon) {
        snprintf(err, errlen, "cannot serve the web UI on %s:%u: %s", w->o->web_host,
                 w->o->web_port, saved ? strerror(saved) : "libmicrohttpd refused to start");
        return CCD_EINVAL;
    }
    ccd_log(CCD_LOG_INFO, "Starting web interface at %s://%s:%u%s", w->cert ? "https" : "http",
            w->o->web_host, w->o->web_port,
            strcmp(w->o->web_host, "0.0.0.0") == 0
                ? " (accepting connections from all network interfaces)"
                : "");
    return 0;
}

static void web_stop(ccd_ui_t *ui)
{
    ccd_web_t *w = (ccd_web_t *)ui;
    pthread_mutex_lock(&w->lock);
    w->closing = true;
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->lock);
    if (w->daemon)
        MHD_stop_daemon(w->daemon);
    w->daemon = NULL;
}

static char *read_pem(const char *path, const char *option, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    FILE *out = f ? open_memstream(&text, &len) : NULL;
    char buf[8192];
    size_t n;
    while (out && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, out);
    if (out)
        fclose(out);
    if (!f || !text || !len)
        snprintf(err, errlen, "cannot read %s '%s': %s", option, path,
                 f ? "empty file" : strerror(errno));
    if (f)
        fclose(f);
    if (text && !len) {
        free(text);
        text = NULL;
    }
    return text;
}

static int set_login(ccd_web_t *w, const char *login)
{
    const char *colon = strchr(login, ':');
    w->user = strndup(login, (size_t)(colon - login));
    w->pass = strdup(colon + 1);
    return w->user && w->pass ? 0 : CCD_ENOMEM;
}

int ccd_web_new(ccd_web_t **out, const ccd_options_t *o, char *err, size_t errlen)
{
    ccd_web_t *w = calloc(1, sizeof(*w));
    if (!w || ccd_log_keep(LOG_LINES)) {
        free(w);
        snprintf(err, errlen, "out of memory starting the web UI");
        return CCD_ENOMEM;
    }
    w->o = o;
    w->ui = (ccd_ui_t){.start = web_start, .publish = ccd_web_publish, .stop = web_stop};
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->done, NULL);
    int rc = o->web_login ? set_login(w, o->web_login) : 0;
    if (rc)
        snprintf(err, errlen, "out of memory starting the web UI");
    if (rc == 0 && o->tls_cert && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        snprintf(err, errlen, "--tls-cert: this libmicrohttpd was built without TLS support");
        rc = CCD_EINVAL;
    }
    if (rc == 0 && o->tls_cert &&
        (!(w->cert = read_pem(o->tls_cert, "--tls-cert", err, errlen)) ||
         !(w->key = read_pem(o->tls_key, "--tls-key", err, errlen))))
        rc = CCD_EINVAL;
    if (rc) {
        ccd_web_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

ccd_ui_t *ccd_web_ui(ccd_web_t *w)
{
    return &w->ui;
}

void ccd_web_free(ccd_web_t *w)
{
    if (!w)
        return;
    web_stop(&w->ui);
    for (int i = 0; i < DOC_COUNT; i++)
        free(w->docs[i]);
    for (size_t i = 0; i < w->nclasses; i++)
        free(w->classes[i]);
    free(w->classes);
    free(w->samples);
    free(w->host);
    free(w->user);
    free(w->pass);
    free(w->cert);
    free(w->key);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->done);
    free(w);
}
