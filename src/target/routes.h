/* The endpoints of cicada-target: dispatch on the first path segment, and the simple ones. */
#ifndef TGT_ROUTES_H
#define TGT_ROUTES_H

#include "conn.h"

/* Prepares the responses fixed at start-up (compressed bodies included) and the login
 * secret. Call once before serving. Returns 0 or a negative errno. */
int tgt_routes_init(void);

/* Releases what tgt_routes_init and the item store hold. */
void tgt_routes_free(void);

/* Answers req on c and counts it in the counters, except requests under /stats. */
void tgt_route(tgt_conn_t *c, const tgt_request_t *req);

/* Parses rest == "/<decimal>" with a value of at most max into *out. Returns 0 or -1. */
int tgt_route_number(tgt_str_t rest, uint64_t max, uint64_t *out);

#endif
