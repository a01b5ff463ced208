/* TLS for client connections: per-thread OpenSSL contexts, verification, session reuse. */
#ifndef CCD_TLS_H
#define CCD_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Besides 0 and negative errors, ccd_tls_handshake() asks to wait for the socket. */
enum { CCD_TLS_WANT_READ = 1, CCD_TLS_WANT_WRITE = 2 };

/* The TLS contexts of one thread: verifying (system trust store or a CA file) and insecure
 * (no verification), each made on first use, except that a CA file is loaded at creation.
 * Not thread-safe. */
typedef struct ccd_tls ccd_tls_t;

/* Creates the contexts; ca_file NULL means the system's trust store, loaded only when the
 * first verifying connection needs it. Returns 0 or CCD_ETLS (e.g. an unreadable ca_file) or
 * CCD_ENOMEM; *out is set on success. */
int ccd_tls_create(ccd_tls_t **out, const char *ca_file);

/* Makes the context a connection (insecure or not) will use, if not made yet: loading the
 * system's trust store takes tens of milliseconds, which a caller timing its requests does
 * before starting the clock. ccd_tls_new() does it too. Returns 0 or CCD_ETLS. */
int ccd_tls_prepare(ccd_tls_t *t, bool insecure);
/* Destroys the contexts; SSL objects made from them must have been closed. */
void ccd_tls_destroy(ccd_tls_t *t);

/* Makes a client SSL on connected socket fd for host (NUL-terminated; SNI and, unless
 * insecure, name verification). resume, when not NULL, is offered for resumption (the caller
 * keeps its reference). Returns the SSL, owned by the caller until ccd_tls_close(), or NULL. */
SSL *ccd_tls_new(ccd_tls_t *t, int fd, const char *host, bool insecure, SSL_SESSION *resume);

/* Offers HTTP/2 ("h2", then "http/1.1") by ALPN on an SSL before its handshake. */
void ccd_tls_offer_h2(SSL *ssl);
/* Whether the server chose "h2" in the handshake. */
bool ccd_tls_is_h2(const SSL *ssl);

/* Advances the handshake. Returns 0 when done, CCD_TLS_WANT_READ/WRITE to wait for the socket,
 * or CCD_ETLS with a readable reason in msg ("certificate verify failed: ..."). */
int ccd_tls_handshake(SSL *ssl, char *msg, size_t size);

/* Reads decrypted bytes: n > 0, 0 at end of stream, -EAGAIN to wait for the socket, or a
 * negative error (CCD_ECONNRESET, CCD_ETLS). */
ssize_t ccd_tls_read(SSL *ssl, void *buf, size_t len);
/* Writes: bytes written (> 0), -EAGAIN to wait, or a negative error. A write that returned
 * -EAGAIN must be repeated with the same bytes. */
ssize_t ccd_tls_write(SSL *ssl, const void *buf, size_t len);

/* Frees ssl (the socket is the caller's to close). When clean (the connection served its
 * requests), its session replaces *keep for resumption on the next connection. */
void ccd_tls_close(SSL *ssl, SSL_SESSION **keep, bool clean);

#endif
