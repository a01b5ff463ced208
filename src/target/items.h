/* The /items REST resource: JSON objects in a store shared by all threads. */
#ifndef TGT_ITEMS_H
#define TGT_ITEMS_H

#include "conn.h"

/* Answers a request under /items; rest is the path after "/items". POST /items stores the
 * JSON object of the body under a new id (201, the object with "id" first); GET /items
 * lists them; GET, PUT (replace) and DELETE /items/{id} act on one (404 when absent). */
void tgt_items(tgt_conn_t *c, const tgt_request_t *req, tgt_str_t rest);

/* Releases every stored item. */
void tgt_items_free(void);

#endif
