/* A serving thread: its own libev loop and connections, accepting from a shared socket. */
#ifndef TGT_WORKER_H
#define TGT_WORKER_H

typedef struct tgt_worker tgt_worker_t;

/* Starts a thread that accepts on listen_fd, which several workers may share (it stays the
 * caller's), and serves the connections. Returns 0 and sets *out, or a negative errno. */
int tgt_worker_start(tgt_worker_t **out, int listen_fd);

/* Stops the thread, waits for it, closes its connections and frees w. Callable from any
 * thread. */
void tgt_worker_stop(tgt_worker_t *w);

#endif
