/* HTTP/1.1 request serialisation: the bytes a request puts on the wire. */
#ifndef CCD_HTTP_REQUEST_H
#define CCD_HTTP_REQUEST_H

#include "base/buf.h"
#include "http/message.h"
#include "http/url.h"

#include <stddef.h>

/* Serialises r, whose URL parsed into *u, as HTTP/1.1: the request line (path and query), Host
 * (with the port unless it is the scheme's default), User-Agent user_agent, r's headers (a
 * Host, User-Agent or Content-Length among them replaces the default one), Content-Length when
 * there is a body or the method is POST, PUT or PATCH, then the body. The bytes replace the
 * contents of *out, which grows when needed and stays the caller's. Returns 0 or CCD_ENOMEM
 * (*out is then unchanged). */
int ccd_http_request_serialise(const ccd_http_request_t *r, const ccd_url_t *u,
                               const char *user_agent, ccd_buf_t *out);

#endif
