/* A serving thread: its own libev loop, listening socket and connections. */
#ifndef TGT_WORKER_H
#define TGT_WORKER_H

typedef struct tgt_worker tgt_worker_t;

/* Starts a thread that accepts on listen_fd (taking ownership of it) and serves the
 * connections. Returns 0 and sets *out, or a negative errno (listen_fd is closed then). */
int tgt_worker_start(tgt_worker_t **out, int listen_fd);

/* Stops the thread, waits for it, closes its connections and listening socket, and frees
 * w. Callable from any thread. */
void tgt_worker_stop(tgt_worker_t *w);

#endif
