/* The listening socket: resolve, bind, listen. */
#ifndef TGT_NET_H
#define TGT_NET_H

#include <stddef.h>

/* Opens a non-blocking listening TCP socket on host (a name or numeric address) and port
 * (0: any free port). *port receives the bound port and name (namelen bytes) the numeric
 * "address:port" ("[addr]:port" for IPv6). A port another socket listens on is refused
 * (SO_REUSEPORT is deliberately not used: two servers silently sharing a port would split
 * the counters tests compare). Returns the socket (the caller closes it) or a negative errno
 * (-EINVAL when host does not resolve). */
int tgt_net_listen(const char *host, int *port, char *name, size_t namelen);

#endif
