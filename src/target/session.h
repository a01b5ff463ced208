/* Cookies and the login form: /cookie/set, /cookie/check, /login with its CSRF token. */
#ifndef TGT_SESSION_H
#define TGT_SESSION_H

#include "conn.h"

/* Draws the secret CSRF tokens are derived from. Returns 0 or a negative errno. */
int tgt_session_init(void);

/* /cookie/set?name=value[&...]: one Set-Cookie per pair, then 200; 400 for a missing or
 * malformed pair. */
void tgt_session_cookie_set(tgt_conn_t *c, const tgt_request_t *req);

/* /cookie/check: 200 echoing the Cookie header as the body, 401 without one. */
void tgt_session_cookie_check(tgt_conn_t *c, const tgt_request_t *req);

/* /login: GET answers a form with a hidden csrf_token and a new session cookie; POST
 * (form-urlencoded username, password, csrf_token) redirects to / with a fresh session
 * cookie when the token belongs to the request's session, else answers 403. */
void tgt_session_login(tgt_conn_t *c, const tgt_request_t *req);

#endif
