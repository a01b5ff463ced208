/* Name resolution: asynchronous c-ares lookups on a libev loop, with a per-thread cache. */
#ifndef CCD_DNS_H
#define CCD_DNS_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

struct ev_loop;

#define CCD_DNS_MAX_ADDRS 8

typedef struct {
    sa_family_t family; /* AF_INET or AF_INET6 */
    uint8_t bytes[16];  /* 4 bytes for AF_INET */
} ccd_dns_addr_t;

/* The addresses of a name, to be tried in order; detail says why when there are none. */
typedef struct {
    unsigned n;
    ccd_dns_addr_t addr[CCD_DNS_MAX_ADDRS];
    const char *detail; /* static text; "" when n > 0 */
} ccd_dns_addrs_t;

/* A resolver for one thread (one loop); not thread-safe. */
typedef struct ccd_dns ccd_dns_t;
/* A lookup in flight; owned by the resolver, a handle only for ccd_dns_cancel(). */
typedef struct ccd_dns_query ccd_dns_query_t;

/* Called once with err 0 and the addresses, or CCD_EDNS (addrs->detail tells why). addrs is
 * valid only during the call. */
typedef void (*ccd_dns_cb)(void *ud, int err, const ccd_dns_addrs_t *addrs);

/* Creates a resolver on loop (c-ares channel, "files then DNS" lookups). Returns 0 or a
 * negative error; *out is set on success. */
int ccd_dns_create(ccd_dns_t **out, struct ev_loop *loop);
/* Destroys a resolver; queries still in flight are dropped without their callbacks. */
void ccd_dns_destroy(ccd_dns_t *d);

/* Replaces the name servers of /etc/resolv.conf with csv ("127.0.0.1:5353,[::1]:53").
 * Returns 0 or CCD_EINVAL. */
int ccd_dns_set_servers(ccd_dns_t *d, const char *csv);

/* Resolves host (NUL-terminated; an IP literal is parsed without c-ares). Returns 0 when the
 * answer is known now (literal or cached) with *out filled; CCD_EDNS when it is known to fail
 * (out->detail says why); 1 when a lookup started: cb will be called later from the loop and
 * *q is the handle to cancel it; CCD_ENOMEM. */
int ccd_dns_resolve(ccd_dns_t *d, const char *host, ccd_dns_addrs_t *out, ccd_dns_cb cb, void *ud,
                    ccd_dns_query_t **q);
/* Cancels a lookup started by ccd_dns_resolve(): its callback will not be called. */
void ccd_dns_cancel(ccd_dns_query_t *q);

/* Fills a socket address for addr and port; returns its length. */
socklen_t ccd_dns_sockaddr(const ccd_dns_addr_t *addr, uint16_t port, struct sockaddr_storage *ss);
/* Writes "1.2.3.4:80" or "[::1]:80" into buf (NUL-terminated, truncated to size). */
void ccd_dns_format(const ccd_dns_addr_t *addr, uint16_t port, char *buf, size_t size);

#endif
