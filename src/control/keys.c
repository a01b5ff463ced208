/* Keyboard controls: stdin in non-canonical mode, one ev_io, and the terminal restored on
 * every way out. */
#include "control/keys.h"

#include <errno.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

/* The mode to restore: one terminal per process, so one saved copy. */
static struct termios saved;
static volatile int saved_valid;

void ccd_keys_restore_terminal(void)
{
    if (saved_valid) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        saved_valid = 0;
    }
}

static void on_input(struct ev_loop *loop, ev_io *w, int revents)
{
    ccd_keys_t *k = w->data;
    char buf[64];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            ccd_keys_stop(k); /* the terminal went away */
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        int delta = buf[i] == 'w'   ? 1
                    : buf[i] == 'W' ? 10
                    : buf[i] == 's' ? -1
                    : buf[i] == 'S' ? -10
                                    : 0;
        if (delta)
            k->_fn(k->_ud, delta);
    }
}

int ccd_keys_start(ccd_keys_t *k, struct ev_loop *loop, ccd_keys_fn fn, void *ud)
{
    /* A background job that changed its terminal's mode would be stopped by SIGTTOU. */
    if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp())
        return 1;
    struct termios raw;
    if (tcgetattr(STDIN_FILENO, &saved))
        return -errno;
    raw = saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw))
        return -errno;
    saved_valid = 1;
    static int registered;
    if (!registered++)
        atexit(ccd_keys_restore_terminal);
    k->_loop = loop;
    k->_fn = fn;
    k->_ud = ud;
    k->_on = true;
    ev_io_init(&k->_io, on_input, STDIN_FILENO, EV_READ);
    k->_io.data = k;
    ev_io_start(loop, &k->_io);
    return 0;
}

void ccd_keys_stop(ccd_keys_t *k)
{
    if (k->_on) {
        ev_io_stop(k->_loop, &k->_io);
        k->_on = false;
    }
    ccd_keys_restore_terminal();
}
