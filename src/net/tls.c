/* TLS for client connections: per-thread OpenSSL contexts, verification, session reuse. */
#include "net/tls.h"

#include "base/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

/* Loading the system's trust store costs about 250 million instructions (tens of
 * milliseconds), so the verifying context is made when the first TLS connection needs it:
 * plain-HTTP runs never pay for it. A CA file given by the user is loaded at once instead,
 * so that a bad one is reported before the test starts. */
struct ccd_tls {
    SSL_CTX *verify;   /* made on first use unless a CA file was given */
    SSL_CTX *insecure; /* made on first use */
    BIO_METHOD *bio;   /* the socket BIO, writing without raising SIGPIPE */
};

/* OpenSSL's socket BIO writes with write(2), which raises SIGPIPE on a connection the peer
 * closed; a load generator must see EPIPE instead, whatever the process does with signals. */
static int bio_write(BIO *b, const char *buf, int len)
{
    int fd = (int)BIO_get_fd(b, NULL);
    ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
    BIO_clear_retry_flags(b);
    if (n <= 0 && BIO_sock_should_retry((int)n))
        BIO_set_retry_write(b);
    return (int)n;
}

/* Everything but writing is BIO_s_socket()'s own. */
static BIO_METHOD *bio_method_new(void)
{
    const BIO_METHOD *s = BIO_s_socket();
    BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOCKET, "cicada socket");
    if (!m)
        return NULL;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, BIO_meth_get_read(s));
    BIO_meth_set_puts(m, BIO_meth_get_puts(s));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(s));
    BIO_meth_set_create(m, BIO_meth_get_create(s));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(s));
    return m;
}

/* Small idle connections (buffers released between records) and no error for a peer that
 * closes without close_notify, as plenty of servers do after a body read until close. */
static SSL_CTX *ctx_new(bool verify)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    return ctx;
}

/* The verifying context with ca_file, or the system's trust store when NULL. */
static SSL_CTX *verify_ctx_new(const char *ca_file)
{
    SSL_CTX *ctx = ctx_new(true);
    int ok = ctx && (ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                             : SSL_CTX_set_default_verify_paths(ctx));
    if (!ok) {
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int ccd_tls_create(ccd_tls_t **out, const char *ca_file)
{
    ccd_tls_t *t = calloc(1, sizeof(*t));
    if (!t)
        return CCD_ENOMEM;
    t->bio = bio_method_new();
    if (t->bio && ca_file)
        t->verify = verify_ctx_new(ca_file);
    if (!t->bio || (ca_file && !t->verify)) {
        ccd_tls_destroy(t);
        return CCD_ETLS;
    }
    *out = t;
    return 0;
}

int ccd_tls_prepare(ccd_tls_t *t, bool insecure)
{
    if (insecure && !t->insecure)
        t->insecure = ctx_new(false);
    else if (!insecure && !t->verify)
        t->verify = verify_ctx_new(NULL);
    return (insecure ? t->insecure : t->verify) ? 0 : CCD_ETLS;
}

void ccd_tls_destroy(ccd_tls_t *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->verify);
    SSL_CTX_free(t->insecure);
    BIO_meth_free(t->bio);
    free(t);
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* SNI carries names only; an IP literal is verified against the certificate's IP entries. */
static int set_peer_name(SSL *ssl, const char *host, bool insecure)
{
    bool ip = is_ip_literal(host);
    if (!ip && !SSL_set_tlsext_host_name(ssl, host))
        return -1;
    if (insecure)
        return 0;
    if (ip)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) ? 0 : -1;
    return SSL_set1_host(ssl, host) ? 0 : -1;
}

SSL *ccd_tls_new(ccd_tls_t *t, int fd, const char *host, bool insecure, SSL_SESSION *resume)
{
    SSL *ssl = ccd_tls_prepare(t, insecure) ? NULL : SSL_new(insecure ? t->insecure : t->verify);
    if (!ssl)
        goto fail;
    BIO *bio = BIO_new(t->bio);
    if (!bio)
        goto fail;
    BIO_set_fd(bio, fd, BIO_NOCLOSE);
    SSL_set_bio(ssl, bio, bio);
    if (set_peer_name(ssl, host, insecure))
        goto fail;
    if (resume)
        SSL_set_session(ssl, resume);
    SSL_set_connect_state(ssl);
    return ssl;
fail:
    SSL_free(ssl);
    ERR_clear_error();
    return NULL;
}

void ccd_tls_offer_h2(SSL *ssl)
{
    static const unsigned char protos[] = "\x02h2\x08http/1.1";
    SSL_set_alpn_protos(ssl, protos, sizeof(protos) - 1);
}

bool ccd_tls_is_h2(const SSL *ssl)
{
    const unsigned char *p = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl, &p, &len);
    return len == 2 && memcmp(p, "h2", 2) == 0;
}

static void describe_failure(SSL *ssl, int sslerr, char *msg, size_t size)
{
    /* Without verification the result is still computed, and beside the point. */
    long v = SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = ERR_peek_last_error();
    if (v != X509_V_OK) {
        snprintf(msg, size, "certificate verify failed: %s", X509_verify_cert_error_string(v));
    } else if (e) {
        const char *reason = ERR_reason_error_string(e);
        snprintf(msg, size, "TLS handshake failed: %s", reason ? reason : "unknown error");
    } else if (sslerr == SSL_ERROR_SYSCALL && errno) {
        snprintf(msg, size, "TLS handshake failed: %s", strerror(errno));
    } else {
        snprintf(msg, size, "TLS handshake failed: connection closed by peer");
    }
    ERR_clear_error();
}

int ccd_tls_handshake(SSL *ssl, char *msg, size_t size)
{
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(ssl);
    if (rc == 1)
        return 0;
    int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ)
        return CCD_TLS_WANT_READ;
    if (e == SSL_ERROR_WANT_WRITE)
        return CCD_TLS_WANT_WRITE;
    describe_failure(ssl, e, msg, size);
    return CCD_ETLS;
}

/* Maps an SSL_read/SSL_write failure to -EAGAIN, 0 (end of stream) or an error. */
static ssize_t io_result(SSL *ssl, int rc)
{
    int e = SSL_get_error(ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (errno == 0)
            return 0;
        return errno == ECONNRESET || errno == EPIPE ? CCD_ECONNRESET : -errno;
    default: ERR_clear_error(); return CCD_ETLS;
    }
}

ssize_t ccd_tls_read(SSL *ssl, void *buf, size_t len)
{
    ERR_clear_error();
    errno = 0;
    int rc = SSL_read(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return rc > 0 ? rc : io_result(ssl, rc);
}

ssize_t ccd_tls_write(SSL *ssl, const void *buf, size_t len)
{
    ERR_clear_error();
    errno = 0;
    int rc = SSL_write(ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return rc > 0 ? rc : io_result(ssl, rc);
}

/* Marking the shutdown done keeps OpenSSL from flagging the session as not resumable when
 * the SSL is freed without a close_notify exchange (which a load generator skips). */
void ccd_tls_close(SSL *ssl, SSL_SESSION **keep, bool clean)
{
    if (!ssl)
        return;
    if (clean) {
        SSL_SESSION *sess = SSL_get1_session(ssl);
        if (sess && SSL_SESSION_is_resumable(sess)) {
            SSL_SESSION_free(*keep);
            *keep = sess;
        } else {
            SSL_SESSION_free(sess);
        }
        SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
    SSL_free(ssl);
    ERR_clear_error();
}
