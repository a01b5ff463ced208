/* WebSocket client connections (RFC 6455) on a libev loop: the connect machine, the opening
 * handshake, then messages sent and received one operation at a time, pings answered. */
#ifndef CCD_WEBSOCKET_H
#define CCD_WEBSOCKET_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "http/message.h"
#include "http/parse.h"
#include "http/ws_frame.h"
#include "http/ws_handshake.h"
#include "net/conn.h"
#include "net/connect.h"

/* Besides 0 (the operation ended inside the call), an operation may answer that it waits. */
enum { CCD_WS_PENDING = 1 };

/* The default limit of a received message's payload. */
#define CCD_WS_MAX_MESSAGE (16u * 1024 * 1024)

typedef struct {
    double timeout;              /* seconds to connect, shake hands and get the answer */
    bool insecure;               /* wss: skip certificate and name verification */
    const char *protocols;       /* offered subprotocols, "a, b"; NULL: none */
    const ccd_header_t *headers; /* extra request headers */
    size_t nheaders;
    const char *user_agent;
    uint64_t max_message; /* bytes; 0: CCD_WS_MAX_MESSAGE */
} ccd_ws_connect_opts_t;

/* The outcome of an operation; valid until the connection's next operation or free. */
typedef struct {
    int err;          /* 0, or a negative ccd error code */
    const char *msg;  /* NUL-terminated when err != 0, else NULL */
    bool local;       /* connect: err is the generator's own (ccd_connect_local_failure()) */
    int status;       /* connect: the HTTP status of the answer (0 when none came) */
    int type;         /* receive: CCD_WS_TEXT or CCD_WS_BINARY */
    ccd_slice_t data; /* receive: the payload; connect: the chosen subprotocol */
    int close_code;   /* err CCD_ECLOSED after the server's close frame, and close(): the
                       * server's code (CCD_WS_NO_STATUS without one); else 0 */
    ccd_slice_t close_reason;
} ccd_ws_result_t;

/* Called once, from the loop, when a pending operation ends; it may start the connection's
 * next operation or free it. */
typedef void (*ccd_ws_cb)(void *ud, const ccd_ws_result_t *r);

/* A connection, embedded by its owner. Fields with a leading underscore are private. */
typedef struct {
    ev_io _io;
    ev_timer _timer;
    struct ev_loop *_loop;
    ccd_conn_t _conn;
    ccd_connect_t _connect;
    ccd_http_parser_t _hp; /* the handshake's answer */
    ccd_ws_reader_t _reader;
    ccd_buf_t _in, _out, _stash; /* read bytes from _start; bytes to write from _sent;
                                  * messages that arrived while a ping waited */
    size_t _start, _sent, _stash_off;
    ccd_ws_cb _cb;
    void *_ud;
    uint8_t _state, _op;
    bool _in_call, _close_sent;
    uint64_t _rng; /* masking keys */
    char _key[CCD_WS_KEY_LEN + 1];
    char _protocols[256];
    char _ping[CCD_WS_MAX_CONTROL];
    size_t _ping_len;
    ccd_ws_result_t _res;
    char _reason[CCD_WS_MAX_CONTROL];
    char _host[256], _msg[320];
} ccd_ws_t;

/* The header fields of the server's answer to the last connect, whether it accepted the
 * upgrade or refused it (0 fields when no complete answer came: a connect whose result has
 * status 0); valid until the next connect or free. */
size_t ccd_ws_answer_fields(const ccd_ws_t *w);
ccd_header_t ccd_ws_answer_field(const ccd_ws_t *w, size_t i);

/* Makes a closed connection on loop that resolves with dns and makes TLS connections from tls
 * (all three must outlive it). Allocates nothing; pair with ccd_ws_free(). */
void ccd_ws_init(ccd_ws_t *w, struct ev_loop *loop, ccd_dns_t *dns, ccd_tls_t *tls);
/* Closes the connection (a pending operation is dropped without its callback) and frees its
 * buffers. Safe to call twice. */
void ccd_ws_free(ccd_ws_t *w);

/* True while an operation waits for its callback. */
bool ccd_ws_busy(const ccd_ws_t *w);
/* True once the handshake succeeded and until the connection closes. */
bool ccd_ws_is_open(const ccd_ws_t *w);

/* Each operation below returns 0 when it ended within the call, its outcome in *now (the
 * callback is not called), or CCD_WS_PENDING: cb(ud, result) is called later from the loop,
 * unless the connection is closed first. An operation on a busy connection ends at once with
 * CCD_EINVAL ("websocket busy"), one on a closed connection with CCD_ECLOSED ("closed"). A
 * failure closes the connection, except a receive or ping timeout. timeout <= 0: none. */

/* Opens url[0..len) (ws://, wss://): resolves, connects, shakes hands (TLS for wss), sends the
 * upgrade request and checks the answer. Failures: those of the connect machine, CCD_EURL,
 * CCD_EPROTO ("bad handshake: status 403 Forbidden (expected 101)", ...), CCD_ECLOSED,
 * CCD_ETIMEDOUT. */
int ccd_ws_connect(ccd_ws_t *w, const char *url, size_t len, const ccd_ws_connect_opts_t *o,
                   ccd_ws_cb cb, void *ud, ccd_ws_result_t *now);

/* Sends one message of type CCD_WS_TEXT or CCD_WS_BINARY (its len bytes are copied, masked,
 * into the connection's buffer) and ends when the bytes are written. */
int ccd_ws_send(ccd_ws_t *w, int type, const char *data, size_t len, double timeout, ccd_ws_cb cb,
                void *ud, ccd_ws_result_t *now);

/* Waits for the next text or binary message, answering pings meanwhile. Failures: CCD_ETIMEDOUT
 * (the connection stays usable), CCD_ECLOSED after the server's close frame (close_code says
 * which; the close is answered) or a close without one ("the server closed the connection in
 * the middle of a message (10 of 100 bytes)"), CCD_EPROTO (a protocol violation, "protocol
 * error: ..."; the server is sent a close frame with the code), CCD_ETOOBIG. */
int ccd_ws_receive(ccd_ws_t *w, double timeout, ccd_ws_cb cb, void *ud, ccd_ws_result_t *now);

/* Sends a ping carrying data (at most 125 bytes) and waits for its pong. Messages that arrive
 * meanwhile are kept for the next receives, in order. */
int ccd_ws_ping(ccd_ws_t *w, const char *data, size_t len, double timeout, ccd_ws_cb cb, void *ud,
                ccd_ws_result_t *now);

/* Sends a close frame with code (0: none) and reason (at most 123 bytes), waits for the
 * server's close frame (messages before it are dropped), then closes the connection; the
 * server's code is in close_code. */
int ccd_ws_close(ccd_ws_t *w, int code, const char *reason, size_t len, double timeout,
                 ccd_ws_cb cb, void *ud, ccd_ws_result_t *now);

/* Closes the connection at once, without a close frame; a pending operation is dropped
 * without its callback. Buffers are kept for the next connection. */
void ccd_ws_abort(ccd_ws_t *w);

#endif
