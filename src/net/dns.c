/* Name resolution: asynchronous c-ares lookups on a libev loop, with a per-thread cache. */
#include "net/dns.h"

#include "base/clock.h"
#include "base/error.h"

#include <ares.h>
#include <arpa/inet.h>
#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CACHE_SLOTS  64
#define POSITIVE_TTL 60.0
#define NEGATIVE_TTL 1.0

typedef struct {
    char *host;     /* NULL: free slot */
    double expires; /* monotonic_now() time */
    ccd_dns_addrs_t addrs;
} cache_entry_t;

/* One socket c-ares asked us to watch. */
typedef struct sock_watch {
    ev_io io;
    ccd_dns_t *d;
    struct sock_watch *next;
} sock_watch_t;

struct ccd_dns {
    struct ev_loop *loop;
    ares_channel channel;
    ev_timer timer; /* c-ares' retransmission timeouts */
    sock_watch_t *socks;
    struct lookup *lookups; /* in flight */
    unsigned pending;
    cache_entry_t cache[CACHE_SLOTS];
};

/* One c-ares lookup of a name, shared by every caller waiting for that name. */
typedef struct lookup {
    ccd_dns_t *d;
    struct lookup *next;
    ccd_dns_query_t *waiters;
    bool starting; /* inside ares_getaddrinfo(), which may answer at once (files) */
    bool answered;
    int err;
    ccd_dns_addrs_t addrs;
    char host[];
} lookup_t;

/* A caller waiting for a lookup. */
struct ccd_dns_query {
    ccd_dns_query_t *next;
    ccd_dns_cb cb;
    void *ud;
    bool canceled;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status;

static void lib_init(void)
{
    lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static void update_timer(ccd_dns_t *d)
{
    ev_timer_stop(d->loop, &d->timer);
    if (d->pending == 0)
        return;
    struct timeval tv;
    if (!ares_timeout(d->channel, NULL, &tv))
        return;
    ev_timer_set(&d->timer, (double)tv.tv_sec + tv.tv_usec / 1e6, 0.);
    ev_timer_start(d->loop, &d->timer);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    ccd_dns_t *d = w->data;
    ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    update_timer(d);
}

static void on_sock(struct ev_loop *loop, ev_io *w, int revents)
{
    sock_watch_t *sw = (sock_watch_t *)w;
    ccd_dns_t *d = sw->d;
    int fd = w->fd;
    ares_process_fd(d->channel, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
                    (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
    update_timer(d);
}

static sock_watch_t **find_watch(ccd_dns_t *d, int fd)
{
    sock_watch_t **pp = &d->socks;
    while (*pp && (*pp)->io.fd != fd)
        pp = &(*pp)->next;
    return pp;
}

/* c-ares tells which sockets to watch for what; none of either means the socket is gone. */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    ccd_dns_t *d = data;
    sock_watch_t **pp = find_watch(d, fd);
    sock_watch_t *sw = *pp;
    if (!readable && !writable) {
        if (sw) {
            ev_io_stop(d->loop, &sw->io);
            *pp = sw->next;
            free(sw);
        }
        return;
    }
    if (!sw) {
        sw = calloc(1, sizeof(*sw));
        if (!sw)
            return; /* c-ares' own timeout will fail the query */
        sw->d = d;
        sw->next = d->socks;
        d->socks = sw;
        ev_io_init(&sw->io, on_sock, fd, 0);
    }
    ev_io_stop(d->loop, &sw->io);
    ev_io_set(&sw->io, fd, (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
    ev_io_start(d->loop, &sw->io);
}

int ccd_dns_create(ccd_dns_t **out, struct ev_loop *loop)
{
    pthread_once(&lib_once, lib_init);
    if (lib_status != ARES_SUCCESS)
        return CCD_EDNS;
    ccd_dns_t *d = calloc(1, sizeof(*d));
    if (!d)
        return CCD_ENOMEM;
    d->loop = loop;
    struct ares_options o = {0};
    o.sock_state_cb = sock_state_cb;
    o.sock_state_cb_data = d;
    o.lookups = (char *)"fb";
    o.timeout = 2000;
    o.tries = 2;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if (ares_init_options(&d->channel, &o, mask) != ARES_SUCCESS) {
        free(d);
        return CCD_EDNS;
    }
    ev_timer_init(&d->timer, on_timer, 0., 0.);
    d->timer.data = d;
    *out = d;
    return 0;
}

void ccd_dns_destroy(ccd_dns_t *d)
{
    if (!d)
        return;
    ev_timer_stop(d->loop, &d->timer);
    ares_destroy(d->channel); /* calls back every pending query with ARES_EDESTRUCTION */
    while (d->socks) {
        sock_watch_t *sw = d->socks;
        ev_io_stop(d->loop, &sw->io);
        d->socks = sw->next;
        free(sw);
    }
    for (int i = 0; i < CACHE_SLOTS; i++)
        free(d->cache[i].host);
    free(d);
}

int ccd_dns_set_servers(ccd_dns_t *d, const char *csv)
{
    return ares_set_servers_ports_csv(d->channel, csv) == ARES_SUCCESS ? 0 : CCD_EINVAL;
}

static bool parse_literal(const char *host, ccd_dns_addrs_t *out)
{
    ccd_dns_addr_t *a = &out->addr[0];
    if (inet_pton(AF_INET, host, a->bytes) == 1)
        a->family = AF_INET;
    else if (inet_pton(AF_INET6, host, a->bytes) == 1)
        a->family = AF_INET6;
    else
        return false;
    out->n = 1;
    out->detail = "";
    return true;
}

/* Seconds on the monotonic clock: ev_now() follows the wall clock, which may jump. */
static double monotonic_now(void)
{
    return (double)ccd_clock_us() / 1e6;
}

static cache_entry_t *cache_find(ccd_dns_t *d, const char *host)
{
    double now = monotonic_now();
    for (int i = 0; i < CACHE_SLOTS; i++) {
        cache_entry_t *e = &d->cache[i];
        if (e->host && e->expires > now && strcasecmp(e->host, host) == 0)
            return e;
    }
    return NULL;
}

/* Stores an answer in the slot of the same host, else a free or expired slot, else the one
 * that expires first. Failing to copy the name only means not caching. */
static void cache_store(ccd_dns_t *d, const char *host, const ccd_dns_addrs_t *addrs)
{
    double now = monotonic_now();
    cache_entry_t *victim = &d->cache[0];
    for (int i = 0; i < CACHE_SLOTS; i++) {
        cache_entry_t *e = &d->cache[i];
        if (e->host && strcasecmp(e->host, host) == 0) {
            victim = e;
            break;
        }
        if (!e->host || e->expires <= now || e->expires < victim->expires)
            victim = e;
    }
    if (!victim->host || strcasecmp(victim->host, host) != 0) {
        free(victim->host);
        victim->host = strdup(host);
        if (!victim->host)
            return;
    }
    victim->addrs = *addrs;
    victim->expires = now + (addrs->n ? POSITIVE_TTL : NEGATIVE_TTL);
}

static void collect(const struct ares_addrinfo *ai, ccd_dns_addrs_t *out)
{
    out->n = 0;
    out->detail = "";
    for (const struct ares_addrinfo_node *nd = ai ? ai->nodes : NULL;
         nd && out->n < CCD_DNS_MAX_ADDRS; nd = nd->ai_next) {
        ccd_dns_addr_t *a = &out->addr[out->n];
        if (nd->ai_family == AF_INET) {
            memcpy(a->bytes, &((struct sockaddr_in *)nd->ai_addr)->sin_addr, 4);
        } else if (nd->ai_family == AF_INET6) {
            memcpy(a->bytes, &((struct sockaddr_in6 *)nd->ai_addr)->sin6_addr, 16);
        } else {
            continue;
        }
        a->family = (sa_family_t)nd->ai_family;
        out->n++;
    }
    if (out->n == 0)
        out->detail = "no address";
}

static void unlink_lookup(lookup_t *l)
{
    lookup_t **pp = &l->d->lookups;
    while (*pp && *pp != l)
        pp = &(*pp)->next;
    if (*pp)
        *pp = l->next;
}

/* Calls every waiter not canceled (a callback may cancel a later one), freeing them all. */
static void notify(lookup_t *l, bool call)
{
    while (l->waiters) {
        ccd_dns_query_t *q = l->waiters;
        l->waiters = q->next;
        if (call && !q->canceled)
            q->cb(q->ud, l->err, &l->addrs);
        free(q);
    }
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    lookup_t *l = arg;
    ccd_dns_t *d = l->d;
    d->pending--;
    unlink_lookup(l);
    collect(status == ARES_SUCCESS ? ai : NULL, &l->addrs);
    ares_freeaddrinfo(ai);
    if (status != ARES_SUCCESS)
        l->addrs.detail = ares_strerror(status);
    l->err = l->addrs.n ? 0 : CCD_EDNS;
    if (status == ARES_EDESTRUCTION) {
        notify(l, false);
        free(l);
        return;
    }
    cache_store(d, l->host, &l->addrs);
    if (l->starting) {
        l->answered = true;
        return;
    }
    notify(l, true);
    free(l);
}

static ccd_dns_query_t *waiter_new(lookup_t *l, ccd_dns_cb cb, void *ud)
{
    ccd_dns_query_t *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->cb = cb;
    q->ud = ud;
    q->next = l->waiters;
    l->waiters = q;
    return q;
}

static lookup_t *lookup_find(ccd_dns_t *d, const char *host)
{
    for (lookup_t *l = d->lookups; l; l = l->next)
        if (strcasecmp(l->host, host) == 0)
            return l;
    return NULL;
}

/* Starts a lookup; returns it with its first waiter, or NULL when answered at once (*out,
 * *rc set) or out of memory (*rc). */
static lookup_t *lookup_start(ccd_dns_t *d, const char *host, ccd_dns_addrs_t *out, int *rc)
{
    size_t len = strlen(host);
    lookup_t *l = calloc(1, sizeof(*l) + len + 1);
    *rc = CCD_ENOMEM;
    if (!l)
        return NULL;
    l->d = d;
    l->starting = true;
    memcpy(l->host, host, len + 1);
    struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC};
    d->pending++;
    ares_getaddrinfo(d->channel, l->host, NULL, &hints, on_addrinfo, l);
    l->starting = false;
    if (l->answered) {
        *rc = l->err;
        *out = l->addrs;
        free(l);
        return NULL;
    }
    l->next = d->lookups;
    d->lookups = l;
    update_timer(d);
    return l;
}

int ccd_dns_resolve(ccd_dns_t *d, const char *host, ccd_dns_addrs_t *out, ccd_dns_cb cb, void *ud,
                    ccd_dns_query_t **qout)
{
    if (parse_literal(host, out))
        return 0;
    cache_entry_t *e = cache_find(d, host);
    if (e) {
        *out = e->addrs;
        return out->n ? 0 : CCD_EDNS;
    }
    int rc = 0;
    lookup_t *l = lookup_find(d, host);
    if (!l && !(l = lookup_start(d, host, out, &rc)))
        return rc;
    *qout = waiter_new(l, cb, ud);
    return *qout ? 1 : CCD_ENOMEM;
}

void ccd_dns_cancel(ccd_dns_query_t *q)
{
    if (q)
        q->canceled = true;
}

socklen_t ccd_dns_sockaddr(const ccd_dns_addr_t *addr, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (addr->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr, addr->bytes, 4);
        return sizeof(*in);
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    memcpy(&in6->sin6_addr, addr->bytes, 16);
    return sizeof(*in6);
}

void ccd_dns_format(const ccd_dns_addr_t *addr, uint16_t port, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(addr->family, addr->bytes, ip, sizeof(ip));
    if (addr->family == AF_INET6)
        snprintf(buf, size, "[%s]:%u", ip, port);
    else
        snprintf(buf, size, "%s:%u", ip, port);
}
