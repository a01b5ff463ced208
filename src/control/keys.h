/* Locust's keyboard controls for a headless run on a terminal: w/W add 1/10 users, s/S remove
 * 1/10. Stdin is put in non-canonical mode without echo (Ctrl-C still interrupts) and restored
 * when the keys stop, at exit, and before a forced exit. */
#ifndef CCD_KEYS_H
#define CCD_KEYS_H

#include <ev.h>
#include <stdbool.h>

/* Called on the loop's thread with +1, +10, -1 or -10 users. */
typedef void (*ccd_keys_fn)(void *ud, int delta);

/* Embedded by its owner; zero-filled means not started. */
typedef struct {
    ev_io _io;
    struct ev_loop *_loop;
    ccd_keys_fn _fn;
    void *_ud;
    bool _on;
} ccd_keys_t;

/* Starts reading keys from stdin when it is a terminal this process has in the foreground.
 * Returns 0 when started, 1 when stdin is no such terminal (nothing is done), or a negative
 * errno. */
int ccd_keys_start(ccd_keys_t *k, struct ev_loop *loop, ccd_keys_fn fn, void *ud);

/* Stops reading and restores the terminal; safe on a zero-filled or stopped k. */
void ccd_keys_stop(ccd_keys_t *k);

/* Restores the terminal's saved mode, if any; async-signal-safe (for a forced exit). */
void ccd_keys_restore_terminal(void);

#endif
