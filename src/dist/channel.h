/* A ZeroMQ socket on a libev loop, as Locust's rpc/zmqrpc.py uses them: the master binds a
 * ROUTER, each worker connects a DEALER whose identity is its node id. A message is one frame
 * (the ROUTER's identity frame is handled here). Sending never blocks. One thread owns a
 * channel (the loop's). */
#ifndef CCD_CHANNEL_H
#define CCD_CHANNEL_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct ccd_channel ccd_channel_t;

/* A frame arrived. peer is the sender's identity on a ROUTER (not NUL-terminated), NULL on a
 * DEALER. The bytes are valid for the call only. */
typedef void (*ccd_channel_recv_fn)(void *ud, const char *peer, size_t peer_len, const void *data,
                                    size_t len);
/* A DEALER's connection to its peer came up (true) or went down (false): from libzmq's socket
 * monitor, with ZMTP heartbeats so that a peer that vanished without closing is noticed. */
typedef void (*ccd_channel_state_fn)(void *ud, bool connected);

/* Binds a ROUTER on tcp://host:port (host "*" or "0.0.0.0": every address; port 0: any free
 * port, see ccd_channel_port()). Returns 0, or a negative code with a one-line reason naming
 * the address in err. */
int ccd_channel_bind(ccd_channel_t **out, struct ev_loop *loop, const char *host, unsigned port,
                     ccd_channel_recv_fn on_recv, void *ud, char *err, size_t errlen);

/* Connects a DEALER with the given identity to tcp://host:port (host may be a name; libzmq
 * reconnects by itself until closed). on_state may be NULL. Returns 0, or a negative code
 * with a one-line reason in err. */
int ccd_channel_connect(ccd_channel_t **out, struct ev_loop *loop, const char *host, unsigned port,
                        const char *identity, ccd_channel_recv_fn on_recv,
                        ccd_channel_state_fn on_state, void *ud, char *err, size_t errlen);

/* Sends one frame: to peer on a ROUTER, to the connected peer on a DEALER (peer ignored).
 * Returns 0; -EAGAIN when it cannot be queued now (the peer is gone or its queue is full:
 * the frame is dropped); -ENOENT on a ROUTER that knows no such peer. */
int ccd_channel_send(ccd_channel_t *ch, const char *peer, size_t peer_len, const void *data,
                     size_t len);

/* The port a ROUTER listens on (the one chosen when bound to port 0). */
unsigned ccd_channel_port(const ccd_channel_t *ch);

/* Closes the socket, giving queued frames up to linger_ms to leave (0: drop them), and frees
 * ch (NULL is ignored). Each channel has its own ZeroMQ context, so the call returns once the
 * frames left or linger_ms passed (it blocks the loop's thread that long at most). Called from
 * the channel's own callback, it takes effect when the callback returns. */
void ccd_channel_close(ccd_channel_t *ch, int linger_ms);

#endif
