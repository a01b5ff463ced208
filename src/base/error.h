/* The one error convention: functions return 0 on success or a negative ccd error code. */
#ifndef CCD_ERROR_H
#define CCD_ERROR_H

#include <errno.h>

/* System failures are reported as the negated errno (-ECONNREFUSED, -ETIMEDOUT, ...).
 * Codes of cicada's own live below -1000 so they never collide with an errno. */
enum {
    CCD_OK = 0,
    CCD_ENOMEM = -ENOMEM,
    CCD_EINVAL = -EINVAL,
    CCD_ETIMEDOUT = -ETIMEDOUT,
    CCD_ECONNREFUSED = -ECONNREFUSED,
    CCD_ECONNRESET = -ECONNRESET,

    CCD_EDNS = -1001,         /* name resolution failed */
    CCD_ETLS = -1002,         /* TLS handshake or certificate verification failed */
    CCD_EPROTO = -1003,       /* malformed response or message */
    CCD_ECLOSED = -1004,      /* peer closed the connection before the response completed */
    CCD_ETOOBIG = -1005,      /* response headers larger than the limit */
    CCD_EURL = -1006,         /* URL that cannot be requested */
    CCD_ECANCELED = -1007,    /* operation canceled by cicada (user stopped) */
    CCD_ESCRIPT = -1008,      /* scenario script error */
    CCD_ECONNTIMEOUT = -1009, /* connect timeout */
    CCD_EREPORT = -1010,      /* a report or output file could not be written */
};

/* Returns a static, human-readable description of an error code (never NULL). */
const char *ccd_strerror(int err);

#endif
