/* Opening a client connection on a libev loop: resolve the name, try each address with a
 * non-blocking connect, then shake hands when TLS is wanted. One machine for every client. */
#ifndef CCD_CONNECT_H
#define CCD_CONNECT_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/conn.h"
#include "net/dns.h"
#include "net/tls.h"

/* What to open. The strings must stay valid until the machine completes or is canceled. */
typedef struct {
    const char *host;        /* NUL-terminated name or IP literal, IPv6 without brackets */
    const char *server_name; /* name for SNI and verification; NULL: host */
    uint16_t port;
    bool tls;            /* shake hands over the connection */
    bool insecure;       /* skip certificate and name verification */
    bool name_address;   /* failure messages name the address: "connection refused
                          * (127.0.0.1:1)" rather than "connection refused" */
    bool alpn_h2;        /* offer "h2" before "http/1.1" by ALPN (see ccd_tls_is_h2()) */
    SSL_SESSION *resume; /* offered for TLS resumption (the caller keeps its reference) */
    double timeout;      /* seconds to resolve, connect and shake hands; <= 0: none */
} ccd_connect_opts_t;

/* Called once when the connection is open (err 0) or cannot be (err < 0, msg says why). msg
 * is NUL-terminated and stays valid until the machine's next start. The callback may free
 * the machine's owner. Failures: CCD_EDNS "cannot resolve HOST: ..."; CCD_ENOMEM; a negated
 * errno such as CCD_ECONNREFUSED when every address failed (a local one, see
 * ccd_connect_local_failure(), says what to do: "too many open files (raise the ...)"); CCD_ETLS
 * with the handshake's reason; CCD_ECONNTIMEOUT "connect timeout after 0.3s (ADDRESS or resolving
 * HOST)". */
typedef void (*ccd_connect_cb)(void *ud, int err, const char *msg);

/* True when err, as the callback reports it, is a failure of the machine running cicada rather
 * than of the target: no descriptor (EMFILE, ENFILE), kernel buffer or memory (ENOBUFS,
 * ENOMEM) or local port (EADDRNOTAVAIL) for the connection. Nothing was sent to the target. */
bool ccd_connect_local_failure(int err);

/* The machine, embedded by its owner. Fields with a leading underscore are private. */
typedef struct {
    ev_io _io;
    ev_timer _timer;
    struct ev_loop *_loop;
    ccd_dns_t *_dns;
    ccd_tls_t *_tls;
    ccd_conn_t *_conn;
    ccd_dns_query_t *_dq;
    ccd_connect_cb _cb;
    void *_ud;
    ccd_connect_opts_t _o;
    uint8_t _state;
    unsigned _ai; /* the address being tried */
    ccd_dns_addrs_t _addrs;
    char _msg[256];
} ccd_connect_t;

/* Makes an idle machine on loop that resolves with dns and shakes hands with tls (all three
 * must outlive it). Allocates nothing, and the machine holds nothing to free. */
void ccd_connect_init(ccd_connect_t *m, struct ev_loop *loop, ccd_dns_t *dns, ccd_tls_t *tls);

/* Opens a connection into *conn (closed on entry; it must outlive the attempt) as *o says,
 * then calls cb(ud, ...). cb may be called before this returns (an IP literal refused at
 * once, a cached name that fails). On success *conn is connected (with its SSL when o->tls)
 * and the caller's to use and close; on failure it is closed. The machine must be idle. */
void ccd_connect_start(ccd_connect_t *m, ccd_conn_t *conn, const ccd_connect_opts_t *o,
                       ccd_connect_cb cb, void *ud);

/* Stops an attempt in progress without its callback; the socket in *conn, if one was made,
 * stays open for the caller to close. Does nothing on an idle machine. */
void ccd_connect_cancel(ccd_connect_t *m);

/* True while an attempt is in progress. */
bool ccd_connect_busy(const ccd_connect_t *m);

#endif
