/* Client TCP (and TLS) sockets for any protocol: connect, send, and receive by size, line,
 * delimiter or until the peer closes, each bounded by an optional timeout, on a libev loop. */
#ifndef CCD_TCP_H
#define CCD_TCP_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "net/conn.h"
#include "net/connect.h"
#include "net/dns.h"
#include "net/tls.h"

/* Besides 0 (the operation ended inside the call), an operation may answer that it waits. */
enum { CCD_TCP_PENDING = 1 };

/* What a receive waits for. */
typedef enum {
    CCD_TCP_SIZE,  /* exactly `size` bytes */
    CCD_TCP_LINE,  /* a line ending in LF; the LF and a CR before it are consumed, not returned */
    CCD_TCP_UNTIL, /* the bytes before a delimiter; the delimiter is consumed, not returned */
    CCD_TCP_ALL,   /* everything until the peer closes */
} ccd_tcp_mode_t;

typedef struct {
    ccd_tcp_mode_t mode;
    size_t size;       /* CCD_TCP_SIZE */
    const char *delim; /* CCD_TCP_UNTIL: must stay valid until the receive ends */
    size_t delim_len;  /* > 0 */
} ccd_tcp_want_t;

typedef struct {
    double timeout;          /* seconds to resolve, connect and shake hands; <= 0: the
                              * socket's timeout (ccd_tcp_set_timeout) */
    bool tls;                /* TLS over the connection */
    bool insecure;           /* skip certificate and name verification */
    const char *server_name; /* name for SNI and verification; NULL: the host */
} ccd_tcp_connect_opts_t;

/* The outcome of an operation. Valid until the socket's next operation or ccd_tcp_free(). */
typedef struct {
    int err;          /* 0, or a negative ccd error code */
    const char *msg;  /* NUL-terminated when err != 0: "timeout", "closed", "connection
                       * refused", "certificate verify failed: ...", ...; else NULL */
    const char *data; /* receive: the bytes; on failure those that had arrived (consumed) */
    size_t len;       /* receive: their count; send: the bytes written */
    bool local;       /* connect: err is the generator's own (ccd_connect_local_failure()):
                       * no descriptor, port, buffer or memory for the connection */
} ccd_tcp_result_t;

/* Called once, from the loop, when a pending operation ends. The callback may start the
 * socket's next operation or free it. */
typedef void (*ccd_tcp_cb)(void *ud, const ccd_tcp_result_t *r);

/* A socket, embedded by its owner (one operation at a time). Fields with a leading underscore
 * are private. */
typedef struct {
    ev_io _io;
    ev_timer _timer;
    struct ev_loop *_loop;
    ccd_conn_t _conn;
    ccd_connect_t _connect; /* resolves, connects and shakes hands */
    ccd_tcp_cb _cb;
    void *_ud;
    double _timeout;
    uint8_t _state, _op;
    bool _in_call;
    const char *_wbuf; /* the caller's bytes being sent */
    size_t _wlen, _woff;
    ccd_tcp_want_t _want;
    ccd_buf_t _rb; /* received bytes: [_start, _rb.len) unread, searched up to _scan */
    size_t _start, _scan;
    ccd_tcp_result_t _res;
    char _host[256], _name[256]; /* to resolve; for SNI and verification */
} ccd_tcp_t;

/* Makes a closed socket on loop that resolves with dns and makes TLS connections from tls
 * (all three must outlive it). Allocates nothing; pair with ccd_tcp_free(). */
void ccd_tcp_init(ccd_tcp_t *t, struct ev_loop *loop, ccd_dns_t *dns, ccd_tls_t *tls);
/* Closes the socket (a pending operation is dropped without its callback) and frees its
 * receive buffer. The struct may then be released by its owner. Safe to call twice. */
void ccd_tcp_free(ccd_tcp_t *t);

/* Sets the time limit of each later connect, send and receive, in seconds (<= 0: none). */
void ccd_tcp_set_timeout(ccd_tcp_t *t, double seconds);
/* True while an operation waits for its callback. */
bool ccd_tcp_busy(const ccd_tcp_t *t);
/* True while connected (an operation has not yet found the connection closed or broken). */
bool ccd_tcp_is_open(const ccd_tcp_t *t);

/* Each operation below returns 0 when it ended within the call, its outcome in *now (the
 * callback is not called), or CCD_TCP_PENDING: cb(ud, result) is called later from the loop,
 * unless the socket is closed first. An operation on a busy socket ends at once with
 * CCD_EINVAL ("socket busy"); one on a closed socket with CCD_ECLOSED ("closed"). A failure
 * closes the connection, except a receive timeout: it returns the bytes that had arrived and
 * the connection stays usable. */

/* Connects to host (NUL-terminated name or IP literal) and port, closing any previous
 * connection first: resolves, tries each address, then shakes hands when o->tls. */
int ccd_tcp_connect(ccd_tcp_t *t, const char *host, uint16_t port, const ccd_tcp_connect_opts_t *o,
                    ccd_tcp_cb cb, void *ud, ccd_tcp_result_t *now);
/* Writes all len bytes of data, which the caller keeps valid and unchanged until the
 * operation ends (TLS retries a write with the same bytes). */
int ccd_tcp_send(ccd_tcp_t *t, const char *data, size_t len, ccd_tcp_cb cb, void *ud,
                 ccd_tcp_result_t *now);
/* Receives what *want describes (copied; its delimiter must stay valid until the end). */
int ccd_tcp_receive(ccd_tcp_t *t, const ccd_tcp_want_t *want, ccd_tcp_cb cb, void *ud,
                    ccd_tcp_result_t *now);

/* Closes the connection; a pending operation is dropped without its callback. The receive
 * buffer is kept for the next connection. */
void ccd_tcp_close(ccd_tcp_t *t);

#endif
