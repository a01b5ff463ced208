/* The WebSocket opening handshake (RFC 6455 section 4): ws:// and wss:// URLs, the upgrade
 * request, and the checks of the server's 101 answer: pure functions of the bytes. */
#ifndef CCD_WS_HANDSHAKE_H
#define CCD_WS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "http/message.h"
#include "http/parse.h"
#include "http/url.h"

#define CCD_WS_KEY_LEN    24 /* base64 of 16 bytes */
#define CCD_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */

/* Parses a ws:// or wss:// URL (http:// and https:// are taken as their equivalents) into
 * *u, with the port 80 or 443 when none is written, and *tls for wss and https. The slices
 * point into s. Returns 0 or CCD_EURL. */
int ccd_ws_url_parse(const char *s, size_t len, ccd_url_t *u, bool *tls);

/* The Sec-WebSocket-Key of the 16 bytes of nonce, into out (CCD_WS_KEY_LEN bytes, no NUL). */
void ccd_ws_key(const unsigned char nonce[16], char out[CCD_WS_KEY_LEN]);

/* The Sec-WebSocket-Accept a server must answer key with: base64(SHA-1(key GUID)), into out
 * (CCD_WS_ACCEPT_LEN bytes, no NUL). */
void ccd_ws_accept(const char *key, size_t key_len, char out[CCD_WS_ACCEPT_LEN]);

/* What the upgrade request carries. The pointers need only live during the call. */
typedef struct {
    const char *key;             /* CCD_WS_KEY_LEN characters */
    const char *protocols;       /* Sec-WebSocket-Protocol: "chat, superchat"; NULL: none */
    const ccd_header_t *headers; /* extra headers (Origin, Authorization, cookies, ...) */
    size_t nheaders;
    const char *user_agent;
} ccd_ws_request_t;

/* Writes the upgrade request for url (parsed into *u) into *out, replacing its contents:
 * GET with Host, Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version 13, the
 * protocols and the extra headers. Returns 0 or CCD_ENOMEM. */
int ccd_ws_request(const ccd_ws_request_t *r, ccd_slice_t url, const ccd_url_t *u, ccd_buf_t *out);

/* Checks the server's complete answer p to a request with key and protocols: status 101,
 * "Upgrade: websocket", a Connection header with the "upgrade" token, the right
 * Sec-WebSocket-Accept, no extension (none was offered) and, when the server chose a
 * protocol, one of those offered (*protocol: the chosen one, empty when none). Returns 0, or
 * CCD_EPROTO with *why a NUL-terminated text written into why_buf (why_size bytes). */
int ccd_ws_check_response(const ccd_http_parser_t *p, const char *key, const char *protocols,
                          ccd_slice_t *protocol, char *why_buf, size_t why_size);

#endif
