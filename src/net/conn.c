/* Client sockets: non-blocking TCP connect, then reads and writes in the clear or over TLS. */
#include "net/conn.h"

#include "base/error.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

int ccd_conn_connect(ccd_conn_t *c, const ccd_dns_addr_t *addr, uint16_t port)
{
    int fd = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_storage ss;
    socklen_t sl = ccd_dns_sockaddr(addr, port, &ss);
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        return -err;
    }
    c->fd = fd;
    c->ssl = NULL;
    return 0;
}

int ccd_conn_connected(const ccd_conn_t *c)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return -errno;
    return -soerr;
}

static ssize_t sys_error(void)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return -EAGAIN;
    return errno == ECONNRESET || errno == EPIPE ? CCD_ECONNRESET : -errno;
}

ssize_t ccd_conn_read(ccd_conn_t *c, char *buf, size_t len)
{
    if (c->ssl)
        return ccd_tls_read(c->ssl, buf, len);
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return sys_error();
    }
}

ssize_t ccd_conn_write(ccd_conn_t *c, const char *buf, size_t len)
{
    if (c->ssl)
        return ccd_tls_write(c->ssl, buf, len);
    for (;;) {
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return sys_error();
    }
}

bool ccd_conn_pending(const ccd_conn_t *c)
{
    return c->ssl && SSL_pending(c->ssl) > 0;
}

void ccd_conn_close(ccd_conn_t *c, SSL_SESSION **keep, bool clean)
{
    if (c->fd < 0)
        return;
    ccd_tls_close(c->ssl, keep, clean);
    c->ssl = NULL;
    close(c->fd);
    c->fd = -1;
}
