/* Minimal JSON writing: string escaping for bodies built by hand on the request path. */
#ifndef TGT_JSON_H
#define TGT_JSON_H

#include "buf.h"

/* Appends s[0..n) escaped for use inside a JSON string, without the quotes. Control
 * characters become \u00XX; bytes that are not valid UTF-8 become U+FFFD, so the output is
 * always valid JSON whatever the client sent. */
void tgt_json_escape(tgt_buf_t *b, const char *s, size_t n);

/* Appends s[0..n) as a quoted JSON string. */
void tgt_json_str(tgt_buf_t *b, const char *s, size_t n);

#endif
