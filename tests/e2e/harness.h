/* End-to-end harness: cicada and real servers on loopback, bounded in time; result lookups. */
#ifndef H_HARNESS_H
#define H_HARNESS_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define H_HOST        "127.0.0.1"
#define H_STATIC_SIZE 4096 /* bytes of the static file nginx serves at /static/file.txt */
#define H_HELLO       "Hello, World!"
#define H_MAX_ARGS    64

/* Flags of every load run in the tests: no web UI, the run's JSON document on stdout, no periodic
 * tables. */
#define H_LOAD_FLAGS "--headless", "--report-json", "-", "--only-summary"

/* Assertions on a run, for test files (they expand to Criterion's cr_assert, which the test file
 * includes). On failure they print the run's exit and output first. */
#define H_ASSERT_EXIT(r, code)                                                                     \
    do {                                                                                           \
        const h_run_t *r_ = (r);                                                                   \
        bool ok_ = r_->exited && !r_->timed_out && r_->status == (code);                           \
        if (!ok_)                                                                                  \
            h_run_dump(r_);                                                                        \
        cr_assert(ok_, "expected exit code %d, got %s %d%s", (code),                               \
                  r_->exited ? "exit code" : "signal", r_->status,                                 \
                  r_->timed_out ? " (killed at the time limit)" : "");                             \
    } while (0)

#define H_ASSERT_JSON(r)                                                                           \
    do {                                                                                           \
        const h_run_t *r_ = (r);                                                                   \
        if (!r_->json)                                                                             \
            h_run_dump(r_);                                                                        \
        cr_assert(r_->json != NULL, "stdout is not exactly one JSON document: %s",                 \
                  r_->json_error);                                                                 \
    } while (0)

/* ---- Lifetime (harness.c) ------------------------------------------------------------------ */

/* Kills every process the harness started (by PID: SIGTERM, SIGKILL after 2 s), reaps them,
 * removes every temporary directory and frees harness-owned strings. Safe to call twice; also
 * registered with atexit. Use it as the Criterion .fini of every suite. */
void h_cleanup(void);

/* Creates a private temporary directory removed by h_cleanup(). The path is owned by the
 * harness and valid until h_cleanup(). Returns NULL on failure. */
const char *h_tmpdir(void);

/* printf into a string owned by the harness (freed by h_cleanup()). */
const char *h_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes len bytes of data to path (created or truncated, mode 0644). 0 or -1. */
int h_write_file(const char *path, const char *data, size_t len);

/* Reads a whole file into a NUL-terminated malloc'd buffer the caller frees; NULL on failure. */
char *h_read_file(const char *path, size_t *len);

/* Starts argv[0] (a path) with stdout and stderr appended to the given files (NULL: /dev/null)
 * and stdin from /dev/null. The process dies with the test (PR_SET_PDEATHSIG) and is registered
 * for h_cleanup(). Returns its PID or -1. */
pid_t h_spawn(char *const argv[], const char *out_path, const char *err_path);

/* Forks a helper process that dies with the test and is registered for h_cleanup(); the child
 * (return 0) must end with _exit(). Returns the child's PID in the parent, or -1. */
pid_t h_fork(void);

/* True while a process started by the harness has not exited (an exited one is reaped). */
bool h_alive(pid_t pid);

/* Stops one registered process by PID: SIGTERM, SIGKILL after grace_s, then reaps it. */
void h_stop(pid_t pid, double grace_s);

/* Seconds on the monotonic clock. */
double h_now(void);

/* Sleeps for s seconds. */
void h_sleep(double s);

/* ---- Running a program (harness.c) or cicada (harness_run.c), capturing output ------------- */

typedef struct {
    double timeout_s;      /* hard limit; the process is SIGKILLed at it (default 30 s) */
    double signal_after_s; /* send `signal` this long after the start (0: never) */
    int signal;            /* default SIGINT */
    const char *cwd;       /* working directory of the program (NULL: the test's) */
    const char **env;      /* "NAME=VALUE" strings added to its environment, NULL-terminated */
} h_run_opts_t;

typedef struct {
    bool exited;      /* ended by exit(), not by a signal */
    int status;       /* exit code when exited, else the signal number */
    bool timed_out;   /* killed at the hard limit */
    double elapsed_s; /* from start to exit */
    char *out, *err;  /* captured stdout and stderr, NUL-terminated, never NULL after a run */
    size_t out_len, err_len;
    json_t *json; /* stdout parsed as exactly one JSON document, or NULL */
    char json_error[200];
    const char *scenario; /* path of the scenario file written for the run, or NULL */
} h_run_t;

/* Runs argv (argv[0] a path) to completion within the options' limits, capturing stdout and
 * stderr. Returns 0 when the program ran (whatever its exit), -1 if it could not be started.
 * The result's buffers are released by h_run_free(). */
int h_exec(h_run_t *r, const h_run_opts_t *o, char *const argv[]);

/* Writes `scenario` (Lua source; NULL: none) to a fresh temp file, then runs
 * `cicada -f FILE ARGS...` (ARGS NULL-terminated) like h_exec and parses stdout as JSON.
 * With scenario NULL no -f is added. */
int h_cicada(h_run_t *r, const h_run_opts_t *o, const char *scenario, ...);

/* Same as h_cicada with an argument vector (NULL-terminated). */
int h_cicada_v(h_run_t *r, const h_run_opts_t *o, const char *scenario, const char *const *args);

/* Releases the buffers and JSON of a run. */
void h_run_free(h_run_t *r);

/* Prints a run's exit, stderr tail and stdout head to stderr (for failing tests). */
void h_run_dump(const h_run_t *r);

/* ---- Network helpers and the demo target (harness_net.c) ----------------------------------- */

/* Returns a TCP port on 127.0.0.1 that was free a moment ago (bound to 0 then closed), or -1. */
int h_free_port(void);

/* Waits up to timeout_s until 127.0.0.1:port accepts a connection. 0 or -1. */
int h_wait_port(int port, double timeout_s);

/* GETs path from 127.0.0.1:port over a fresh connection with a 5 s deadline. Returns the body
 * (malloc'd, caller frees; chunked bodies decoded) and the status in *status, or NULL. */
char *h_http_get(int port, const char *path, int *status);

/* Starts a server process on a free port that accepts connections, reads what arrives and
 * answers with a TCP reset (SO_LINGER 0). Returns the port, or -1. */
int h_rst_server_start(void);

/* Starts a server process on a free port that answers the first `answers` requests of each
 * connection with 200 "ok" (keep-alive), then reads the next one and resets the connection.
 * When seen is not NULL (see h_shared_counter()), it counts every request the server read.
 * Returns the port, or -1. h_rst_server_start() is h_reset_server_start(0, NULL). */
int h_reset_server_start(int answers, long *seen);

/* A counter in memory shared with processes forked afterwards (read it with __atomic_load_n);
 * never freed. NULL on failure. */
long *h_shared_counter(void);

typedef struct {
    pid_t pid;
    int port;
    const char *dir; /* holds stdout.log and stderr.log */
} h_target_t;

/* Starts `cicada-target --port 0 [--threads N]` (threads 0: omitted) and waits up to 5 s for its
 * "listening on 127.0.0.1:PORT" line. 0 or -1. */
int h_target_start(h_target_t *t, int threads);

/* Stops the target by PID. */
void h_target_stop(h_target_t *t);

/* Returns the target's /stats document (caller json_decref) or NULL. */
json_t *h_target_stats(const h_target_t *t);

/* Returns the target's "requests" counter, re-read for up to 1 s until it equals want (the
 * server may count a response a moment after the client saw it); -1 on error. */
long h_target_requests(const h_target_t *t, long want);

/* Returns by_path[path] from the target's /stats, or -1. */
long h_target_path_count(const h_target_t *t, const char *path);

/* ---- The fault server (harness_fault.c) ------------------------------------------------- */

/* The paths of the fault server, each a way for a reply to go wrong (or right). */
typedef enum {
    H_FAULT_OK,         /* 200 "ok", keep-alive */
    H_FAULT_RESET,      /* the request is read, then the connection reset (RST) */
    H_FAULT_GARBAGE,    /* bytes that are not HTTP, then close */
    H_FAULT_TRUNCATE,   /* Content-Length: 100, 10 body bytes, then close */
    H_FAULT_BAD_CHUNK,  /* a chunked body whose second chunk size is "zz", then close */
    H_FAULT_BIG_HEADER, /* a 70 KB header line (over cicada's 64 KB), then close */
    H_FAULT_NEVER,      /* the request is read, no reply; closed when the client closes */
    H_FAULT_CLOSE,      /* 200 without Content-Length: H_FAULT_CLOSE_BODY then close */
    H_FAULT_DRIP,       /* 200 "ok" (40 bytes) one byte every 100 ms, keep-alive */
    H_FAULT_BIG_BODY,   /* 200 with a body of H_FAULT_BIG_LEN bytes, keep-alive */
    H_FAULT_GZIP_BOMB,  /* 200, Content-Encoding: gzip, about 1 MB that inflates to
                         * H_FAULT_BOMB_LEN zero bytes (16 members), keep-alive */
    H_FAULT_OTHER,      /* any other path: 404 */
    H_FAULT_N
} h_fault_path_t;

#define H_FAULT_CLOSE_BODY "a body that ends when the connection does"
#define H_FAULT_BIG_LEN    (50L * 1024 * 1024)
#define H_FAULT_BOMB_LEN   (1024L * 1024 * 1024)

typedef struct {
    pid_t pid;
    int port;
    long *seen; /* requests read, by path (H_FAULT_N counters shared with the server) */
} h_fault_t;

/* The path of p, as requested ("/reset"). */
const char *h_fault_path(h_fault_path_t p);

/* Starts the fault server on 127.0.0.1:port (0: a free port, stored in f->port). A process
 * per connection, each dying with the server; the server dies with the test. Zero f first; on
 * a restart (f->seen kept) the counts go on from where they were. 0 or -1. */
int h_fault_start(h_fault_t *f, int port);

/* Kills the server (SIGKILL) and with it every connection it holds. */
void h_fault_kill(h_fault_t *f);

/* The count of requests read on path p, re-read for up to 1 s until it equals want. */
long h_fault_seen(const h_fault_t *f, h_fault_path_t p, long want);

/* ---- nginx (harness_nginx.c) --------------------------------------------------------------- */

typedef struct {
    int keepalive_requests; /* 0: 100000, so every user keeps one connection for the whole run */
    int keepalive_timeout;  /* seconds an idle connection stays open; 0: 60 */
    bool tls;               /* also serve HTTPS with a self-signed certificate */
    int proxy_port;         /* nonzero: /delay/MS is passed to a cicada-target on this port */
    bool http2;             /* HTTPS with HTTP/2 (ALPN "h2"), and HTTP/2 in the clear (prior
                             * knowledge) on h2c_port */
    bool master;            /* a master process with one worker, so that SIGHUP to pid reloads
                             * it (new worker, the old one ending its connections gracefully) */
    const char *locations;  /* more configuration for every server block, before the catch-all
                             * "location /" (a test's own locations), or NULL */
} h_nginx_opts_t;

typedef struct {
    pid_t pid;
    int port;     /* plain HTTP */
    int tls_port; /* HTTPS (0 without opts.tls or opts.http2) */
    int h2c_port; /* HTTP/2 in the clear (0 without opts.http2) */
    int proxy_port;
    bool master;
    const char *locations;
    const char *dir;
} h_nginx_t;

/* Writes a config to a temp dir and starts /usr/sbin/nginx in the foreground as one process.
 * Locations: = /hello (return 200 "Hello, World!"), /static/file.txt (H_STATIC_SIZE bytes),
 * /status/404, /delay/MS (with opts.proxy_port), opts.locations, and / (200 "ok"). Access logs:
 * "access.log" (HTTP), "tls.log" (HTTPS), "h2c.log" (HTTP/2 in the clear), one line per request:
 * "$connection $status $request_uri $server_protocol". 0 or -1. */
int h_nginx_start(h_nginx_t *n, const h_nginx_opts_t *o);

/* Stops nginx by PID. */
void h_nginx_stop(h_nginx_t *n);

/* Counts the lines of access log `log` ("access.log" or "tls.log") whose URI is uri (NULL: all),
 * re-reading for up to 1 s until the count equals want (-1: read once). -1 on error. */
long h_nginx_count(const h_nginx_t *n, const char *log, const char *uri, long want);

/* Counts the lines of access log `log` whose request came over protocol ("HTTP/2.0",
 * "HTTP/1.1"); -1 on error. */
long h_nginx_count_protocol(const h_nginx_t *n, const char *log, const char *protocol);

/* Counts the distinct connections (nginx's $connection serials) in access log `log`. */
long h_nginx_connections(const h_nginx_t *n, const char *log);

/* ---- redis-server (harness_redis.c) ------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int port;
    const char *dir; /* working dir; holds stdout.log and stderr.log */
} h_redis_t;

/* Starts /usr/bin/redis-server on a free port of 127.0.0.1 (no persistence, a temp dir as its
 * working dir) and waits until it accepts connections. 0 or -1. */
int h_redis_start(h_redis_t *r);

/* Stops redis by PID. */
void h_redis_stop(h_redis_t *r);

/* Returns how many times redis ran `command` (lower case: "get") according to INFO
 * commandstats (0 when never), re-reading for up to 1 s until it equals want (-1: read once);
 * -1 on error. */
long h_redis_calls(const h_redis_t *r, const char *command, long want);

/* ---- cicada's JSON report (harness_json.c) ------------------------------------------------- */

/* Returns the stats[] entry for (method, name) or NULL (borrowed reference). */
json_t *h_entry(json_t *doc, const char *method, const char *name);

/* Returns a numeric field of an entry (integer or real) or NAN when missing. */
double h_num(json_t *entry, const char *field);

/* Returns entry.response_time_percentiles[key] (key like "0.95") or NAN. */
double h_pct(json_t *entry, const char *key);

/* num_requests / num_failures of (method, name), or -1 when there is no such entry. */
long h_requests(json_t *doc, const char *method, const char *name);
long h_failures(json_t *doc, const char *method, const char *name);

/* total.num_requests / total.num_failures, or -1. */
long h_total_requests(json_t *doc);
long h_total_failures(json_t *doc);

/* Returns the first errors[] item for name (method ignored when NULL) whose error text starts
 * with prefix, case-insensitively (NULL: any), or NULL (borrowed reference). */
json_t *h_error(json_t *doc, const char *method, const char *name, const char *prefix);

/* Sum of generator_errors.errors[].occurrences for (method, name) whose error text starts with
 * prefix, case-insensitively (NULL: any); -1 when the document has no generator_errors. */
long h_generator_errors(json_t *doc, const char *method, const char *name, const char *prefix);

/* in_flight_at_stop.total, or -1. */
long h_in_flight_total(json_t *doc);

/* Sum of errors[].occurrences for name. */
long h_error_occurrences(json_t *doc, const char *name);

/* Sum of exceptions[].count over exceptions whose message contains needle; -1 if no list. */
long h_exception_count(json_t *doc, const char *needle);

/* Returns the first exception whose message contains needle, or NULL (borrowed reference). */
json_t *h_exception(json_t *doc, const char *needle);

/* Case-insensitive substring test. */
bool h_contains(const char *haystack, const char *needle);

/* ---- Text, CSV and log helpers (harness_text.c) ------------------------------------------ */

/* Number of (non-overlapping) occurrences of needle in haystack. */
long h_count(const char *haystack, const char *needle);

/* Returns a malloc'd copy (caller frees) of the first line of text containing needle, without
 * its line end, or NULL. */
char *h_line_with(const char *text, const char *needle);

/* A CSV file parsed as Python's csv module writes it (CRLF or LF line ends, quoted fields with
 * doubled quotes). rows[i][j] is field j of row i; ncols[i] its field count. */
typedef struct {
    size_t nrows;
    size_t *ncols;
    char ***rows;
    char **lines; /* each row's raw text, line end excluded */
} h_csv_t;

/* Parses the file at path into c. 0, or -1 when it cannot be read. Free with h_csv_free(). */
int h_csv_read(h_csv_t *c, const char *path);
void h_csv_free(h_csv_t *c);

/* The messages of a report's exceptions[] joined by " | " (harness-owned string; "" for none). */
const char *h_exceptions_text(json_t *doc);

/* Expects no exception in a run's JSON report, naming those found. */
#define H_EXPECT_NO_EXCEPTIONS(r)                                                                  \
    cr_expect_eq(json_array_size(json_object_get((r)->json, "exceptions")), 0,                     \
                 "unexpected script errors: %s", h_exceptions_text((r)->json))

/* Index of the column named name in row 0 (the header), or -1. */
int h_csv_col(const h_csv_t *c, const char *name);

/* Returns the first row whose column col equals value, or -1. */
long h_csv_find(const h_csv_t *c, int col, const char *value);

#endif
