/* The WebSocket opening handshake (RFC 6455 section 4): ws:// and wss:// URLs, the upgrade
 * request, and the checks of the server's 101 answer: pure functions of the bytes. */
#include "http/ws_handshake.h"

#include "base/base64.h"
#include "base/error.h"
#include "http/request.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ccd_ws_url_parse(const char *s, size_t len, ccd_url_t *u, bool *tls)
{
    if (ccd_url_parse(s, len, u))
        return CCD_EURL;
    bool ws = ccd_slice_ieq_str(u->scheme, "ws"), wss = ccd_slice_ieq_str(u->scheme, "wss");
    if (!ws && !wss && u->scheme_kind == CCD_URL_OTHER)
        return CCD_EURL;
    *tls = wss || u->scheme_kind == CCD_URL_HTTPS;
    if (ws || wss) {
        uint16_t dflt = wss ? 443 : 80;
        u->default_port = u->port == 0 || u->port == dflt;
        if (u->port == 0)
            u->port = dflt;
    }
    return u->host.len ? 0 : CCD_EURL;
}

void ccd_ws_key(const unsigned char nonce[16], char out[CCD_WS_KEY_LEN])
{
    ccd_base64_encode(nonce, 16, out);
}

void ccd_ws_accept(const char *key, size_t key_len, char out[CCD_WS_ACCEPT_LEN])
{
    char in[64 + sizeof(GUID)];
    key_len = key_len < 64 ? key_len : 64; /* keys are 24 characters */
    memcpy(in, key, key_len);
    memcpy(in + key_len, GUID, sizeof(GUID) - 1);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)in, key_len + sizeof(GUID) - 1, md);
    ccd_base64_encode(md, sizeof(md), out);
}

#define MAX_EXTRA 64

static ccd_header_t hdr(const char *name, const char *value, size_t len)
{
    return (ccd_header_t){{name, strlen(name)}, {value, len}};
}

int ccd_ws_request(const ccd_ws_request_t *r, ccd_slice_t url, const ccd_url_t *u, ccd_buf_t *out)
{
    ccd_header_t h[MAX_EXTRA + 5];
    size_t n = 0;
    h[n++] = hdr("Upgrade", "websocket", 9);
    h[n++] = hdr("Connection", "Upgrade", 7);
    h[n++] = hdr("Sec-WebSocket-Key", r->key, CCD_WS_KEY_LEN);
    h[n++] = hdr("Sec-WebSocket-Version", "13", 2);
    if (r->protocols && *r->protocols)
        h[n++] = hdr("Sec-WebSocket-Protocol", r->protocols, strlen(r->protocols));
    for (size_t i = 0; i < r->nheaders && i < MAX_EXTRA; i++)
        h[n++] = r->headers[i];
    ccd_http_request_t req = {
        .method = {"GET", 3},
        .url = url,
        .parsed = u,
        .headers = h,
        .nheaders = n,
    };
    return ccd_http_request_serialise(&req, u, r->user_agent, out);
}

/* The first header called name, or an empty slice with a NULL base. */
static ccd_slice_t header(const ccd_http_parser_t *p, const char *name)
{
    for (size_t i = 0; i < p->nheaders; i++) {
        ccd_header_t h = ccd_http_parser_header(p, i);
        if (ccd_slice_ieq_str(h.name, name))
            return h.value;
    }
    return (ccd_slice_t){NULL, 0};
}

static ccd_slice_t trim(ccd_slice_t s)
{
    while (s.len && (s.base[0] == ' ' || s.base[0] == '\t'))
        s.base++, s.len--;
    while (s.len && (s.base[s.len - 1] == ' ' || s.base[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* Whether the comma-separated list holds token (ignoring ASCII case). */
static bool list_has(ccd_slice_t list, ccd_slice_t token)
{
    while (list.len) {
        const char *c = memchr(list.base, ',', list.len);
        size_t n = c ? (size_t)(c - list.base) : list.len;
        if (ccd_slice_ieq(trim((ccd_slice_t){list.base, n}), token))
            return true;
        list.base += c ? n + 1 : n;
        list.len -= c ? n + 1 : n;
    }
    return false;
}

static int refuse(char *buf, size_t size, const char *fmt, int len, const char *s)
{
    snprintf(buf, size, fmt, len, s);
    return CCD_EPROTO;
}

static int check_protocol(const ccd_http_parser_t *p, const char *protocols, ccd_slice_t *chosen,
                          char *why, size_t size)
{
    ccd_slice_t proto = trim(header(p, "Sec-WebSocket-Protocol"));
    *chosen = proto.base ? proto : (ccd_slice_t){"", 0};
    if (!proto.base)
        return 0;
    ccd_slice_t offered = {protocols ? protocols : "", protocols ? strlen(protocols) : 0};
    if (!list_has(offered, proto))
        return refuse(why, size, "the server chose a protocol not offered: %.*s", (int)proto.len,
                      proto.base);
    return 0;
}

int ccd_ws_check_response(const ccd_http_parser_t *p, const char *key, const char *protocols,
                          ccd_slice_t *protocol, char *why, size_t size)
{
    if (p->status != 101) {
        snprintf(why, size, "bad handshake: status %d %.*s (expected 101)", p->status,
                 (int)p->reason.len, p->reason.base);
        return CCD_EPROTO;
    }
    ccd_slice_t up = trim(header(p, "Upgrade"));
    if (!ccd_slice_ieq_str(up, "websocket"))
        return refuse(why, size, "bad handshake: Upgrade: %.*s (expected websocket)", (int)up.len,
                      up.base ? up.base : "");
    ccd_slice_t conn = header(p, "Connection");
    if (!list_has(conn, (ccd_slice_t){"upgrade", 7}))
        return refuse(why, size, "bad handshake: Connection: %.*s (expected upgrade)",
                      (int)conn.len, conn.base ? conn.base : "");
    char want[CCD_WS_ACCEPT_LEN];
    ccd_ws_accept(key, CCD_WS_KEY_LEN, want);
    ccd_slice_t acc = trim(header(p, "Sec-WebSocket-Accept"));
    if (!ccd_slice_eq(acc, (ccd_slice_t){want, sizeof(want)}))
        return refuse(why, size, "bad handshake: wrong Sec-WebSocket-Accept '%.*s'", (int)acc.len,
                      acc.base ? acc.base : "");
    ccd_slice_t ext = header(p, "Sec-WebSocket-Extensions");
    if (ext.base && trim(ext).len)
        return refuse(why, size, "bad handshake: an extension not offered: %.*s", (int)ext.len,
                      ext.base);
    return check_protocol(p, protocols, protocol, why, size);
}
