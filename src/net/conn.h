/* Client sockets: non-blocking TCP connect, then reads and writes in the clear or over TLS. */
#ifndef CCD_CONN_H
#define CCD_CONN_H

#include "net/dns.h"
#include "net/tls.h"

#include <stdbool.h>
#include <sys/types.h>

/* A socket and, once TLS is set up, its SSL. fd is -1 when closed. */
typedef struct {
    int fd;
    SSL *ssl;
} ccd_conn_t;

/* Starts a non-blocking connect to addr:port (TCP_NODELAY set). Returns 0 with c->fd set (wait
 * for it to be writable, then call ccd_conn_connected()) or a negative errno. */
int ccd_conn_connect(ccd_conn_t *c, const ccd_dns_addr_t *addr, uint16_t port);
/* Tells how the connect ended: 0, or a negative errno (e.g. -ECONNREFUSED). */
int ccd_conn_connected(const ccd_conn_t *c);

/* Reads up to len bytes: n > 0, 0 at end of stream, -EAGAIN to wait for the socket, or a
 * negative error (CCD_ECONNRESET for a reset). */
ssize_t ccd_conn_read(ccd_conn_t *c, char *buf, size_t len);
/* Writes up to len bytes: n > 0, -EAGAIN to wait (then repeat with the same bytes), or a
 * negative error (CCD_ECONNRESET for a reset or a broken pipe). Never raises SIGPIPE. */
ssize_t ccd_conn_write(ccd_conn_t *c, const char *buf, size_t len);

/* Whether decrypted bytes wait inside the TLS layer (where the socket's readiness cannot
 * tell); always false in the clear. */
bool ccd_conn_pending(const ccd_conn_t *c);

/* Frees the SSL (see ccd_tls_close() for keep and clean) and closes the socket; c->fd becomes
 * -1. Does nothing on a closed connection. */
void ccd_conn_close(ccd_conn_t *c, SSL_SESSION **keep, bool clean);

#endif
