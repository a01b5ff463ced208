/* Minimal JSON writing: string escaping for bodies built by hand on the request path. */
#include "json.h"

#include <stdint.h>

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0 when invalid.
 * Overlong forms, surrogates and code points above U+10FFFF are rejected. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp, min;
    if (s[0] < 0xC2 || s[0] > 0xF4)
        return 0;
    if (s[0] < 0xE0) {
        len = 2, cp = s[0] & 0x1F, min = 0x80;
    } else if (s[0] < 0xF0) {
        len = 3, cp = s[0] & 0x0F, min = 0x800;
    } else {
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static void escape_ascii(tgt_buf_t *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 0, 0, 0, 0, 0};
    switch (c) {
    case '"': e[1] = '"'; break;
    case '\\': e[1] = '\\'; break;
    case '\n': e[1] = 'n'; break;
    case '\r': e[1] = 'r'; break;
    case '\t': e[1] = 't'; break;
    default:
        e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[c >> 4], e[5] = hex[c & 15];
        tgt_buf_add(b, e, 6);
        return;
    }
    tgt_buf_add(b, e, 2);
}

void tgt_json_escape(tgt_buf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t ulen = c >= 0x80 ? utf8_len(u + i, n - i) : 0;
        if (ulen) {
            i += ulen;
            continue;
        }
        tgt_buf_add(b, s + run, i - run);
        if (c >= 0x80)
            tgt_buf_puts(b, "\\ufffd");
        else
            escape_ascii(b, c);
        run = ++i;
    }
    tgt_buf_add(b, s + run, n - run);
}

void tgt_json_str(tgt_buf_t *b, const char *s, size_t n)
{
    tgt_buf_add(b, "\"", 1);
    tgt_json_escape(b, s, n);
    tgt_buf_add(b, "\"", 1);
}
