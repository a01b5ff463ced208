/* Process-wide request counters behind /stats: exact across threads, lock-free to update. */
#ifndef TGT_COUNTERS_H
#define TGT_COUNTERS_H

#include "buf.h"

#include <stddef.h>

/* Counts one accepted connection. */
void tgt_counters_connection(void);

/* Counts one answered request under the first segment of its path (key, e.g. "/status",
 * of klen bytes; longer keys are truncated, and once the table of distinct keys is full new
 * keys count under "/(other)") and under its response status. */
void tgt_counters_request(const char *key, size_t klen, int status);

/* Counts one malformed request answered with an error status before it could be routed. */
void tgt_counters_malformed(int status);

/* Counts one WebSocket message (text or binary, fragments joined) the server received. */
void tgt_counters_ws_message(void);

/* Zeroes every counter. Concurrent updates land either before or after the reset. */
void tgt_counters_reset(void);

/* Appends the counters as a JSON object: {"requests": N, "connections": C, "malformed": M,
 * "ws_messages": W, "by_path": {...}, "by_status": {...}}; keys with a zero count are left out.
 * requests includes malformed requests. */
void tgt_counters_json(tgt_buf_t *out);

#endif
