/* WebSocket endpoints of cicada-target: the upgrade handshake, then a frame loop that echoes
 * messages (/ws/echo) or drops the connection in the middle of its first reply (/ws/drop). */
#ifndef TGT_WS_H
#define TGT_WS_H

#include "buf.h"
#include "request.h"

#include <stddef.h>

typedef enum { TGT_WS_NONE, TGT_WS_ECHO, TGT_WS_DROP } tgt_ws_mode_t;

/* Largest frame (header included) the server reads: the connection's input buffer. */
#define TGT_WS_FRAME_MAX (16 * 1024)
/* Largest message, fragments joined. */
#define TGT_WS_MESSAGE_MAX (1024 * 1024)

/* A connection's WebSocket state, inside the connection. */
typedef struct {
    tgt_ws_mode_t mode; /* TGT_WS_NONE until the upgrade */
    int op;             /* opcode of the fragmented message in progress, 0: none */
    tgt_buf_t msg;      /* its payload so far */
} tgt_ws_t;

/* Checks an upgrade request to path rest ("/echo", "/drop") and writes the 101 answer into
 * out. Returns the mode to switch to, or TGT_WS_NONE with *status the refusal (400 for a
 * request that is not a WebSocket upgrade, 404 for another path). */
tgt_ws_mode_t tgt_ws_accept(const tgt_request_t *req, tgt_str_t rest, tgt_buf_t *out, int *status);

/* What the frame loop asks of the connection. */
enum { TGT_WS_GO_ON, TGT_WS_CLOSE };

/* Serves the client frames in in[0..len) (unmasked in place), appending the answers to out.
 * Returns the bytes consumed (whole frames only); *end becomes TGT_WS_CLOSE when the
 * connection must close once out is written (a close handshake, a protocol error, a drop). */
size_t tgt_ws_serve(tgt_ws_t *ws, char *in, size_t len, tgt_buf_t *out, int *end);

/* Frees the state's buffer. */
void tgt_ws_free(tgt_ws_t *ws);

#endif
