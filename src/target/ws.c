/* WebSocket endpoints of cicada-target: the upgrade handshake, then a frame loop that echoes
 * messages (/ws/echo) or drops the connection in the middle of its first reply (/ws/drop). */
#include "ws.h"

#include "counters.h"

#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3, out += 4) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[0] = abc[v >> 18 & 63];
        out[1] = abc[v >> 12 & 63];
        out[2] = i + 1 < n ? abc[v >> 6 & 63] : '=';
        out[3] = i + 2 < n ? abc[v & 63] : '=';
    }
}

/* Whether the comma-separated header value holds token, ignoring case. */
static int has_token(const tgt_str_t *v, const char *token)
{
    size_t n = strlen(token);
    for (size_t i = 0; v && i + n <= v->len; i++)
        if (strncasecmp(v->p + i, token, n) == 0)
            return 1;
    return 0;
}

tgt_ws_mode_t tgt_ws_accept(const tgt_request_t *req, tgt_str_t rest, tgt_buf_t *out, int *status)
{
    tgt_ws_mode_t mode = tgt_str_ieq(rest, "/echo")   ? TGT_WS_ECHO
                         : tgt_str_ieq(rest, "/drop") ? TGT_WS_DROP
                                                      : TGT_WS_NONE;
    const tgt_str_t *key = tgt_request_header(req, "sec-websocket-key");
    const tgt_str_t *version = tgt_request_header(req, "sec-websocket-version");
    *status = mode == TGT_WS_NONE ? 404 : 400;
    if (mode == TGT_WS_NONE || !key || key->len != 24 || !version || !tgt_str_ieq(*version, "13") ||
        !has_token(tgt_request_header(req, "upgrade"), "websocket") ||
        !has_token(tgt_request_header(req, "connection"), "upgrade"))
        return TGT_WS_NONE;
    char in[24 + sizeof GUID];
    memcpy(in, key->p, 24);
    memcpy(in + 24, GUID, sizeof GUID - 1);
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)in, 24 + sizeof GUID - 1, md);
    char accept[28];
    base64(md, sizeof md, accept);
    tgt_buf_puts(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    tgt_buf_add(out, accept, sizeof accept);
    tgt_buf_puts(out, "\r\n\r\n");
    *status = 101;
    return mode;
}

/* An unmasked server frame. */
static void frame(tgt_buf_t *out, int op, const char *p, size_t n, uint64_t announce)
{
    unsigned char h[10];
    size_t hl = 2;
    h[0] = (unsigned char)(0x80 | op);
    if (announce < 126) {
        h[1] = (unsigned char)announce;
    } else if (announce <= 0xFFFF) {
        h[1] = 126, h[2] = (unsigned char)(announce >> 8), h[3] = (unsigned char)announce;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)(announce >> (56 - 8 * i));
        hl = 10;
    }
    tgt_buf_add(out, h, hl);
    tgt_buf_add(out, p, n);
}

static void close_with(tgt_buf_t *out, int code, int *end)
{
    char p[2] = {(char)(code >> 8), (char)code};
    frame(out, 0x8, p, 2, 2);
    *end = TGT_WS_CLOSE;
}

/* A text message "close CODE [REASON]" asks the server to close with that code. */
static int close_request(const char *p, size_t n, tgt_buf_t *out, int *end)
{
    if (n < 7 || memcmp(p, "close ", 6) != 0)
        return 0;
    char payload[125];
    int code = atoi(p + 6 < p + n ? p + 6 : "0");
    const char *sp = memchr(p + 6, ' ', n - 6);
    size_t rl = sp ? n - (size_t)(sp + 1 - p) : 0;
    rl = rl > 123 ? 123 : rl;
    payload[0] = (char)(code >> 8), payload[1] = (char)code;
    if (rl)
        memcpy(payload + 2, sp + 1, rl);
    frame(out, 0x8, payload, 2 + rl, 2 + rl);
    *end = TGT_WS_CLOSE;
    return 1;
}

/* A whole message: echoed, or in drop mode its answer is cut short (the frame announces
 * 100 bytes more than it carries) and the connection closes. */
static void on_message(tgt_ws_t *ws, int op, const char *p, size_t n, tgt_buf_t *out, int *end)
{
    tgt_counters_ws_message();
    if (ws->mode == TGT_WS_DROP) {
        frame(out, op, p, n, n + 100);
        *end = TGT_WS_CLOSE;
        return;
    }
    if (op == 0x1 && close_request(p, n, out, end))
        return;
    frame(out, op, p, n, n);
}

static void on_frame(tgt_ws_t *ws, int fin, int op, const char *p, size_t n, tgt_buf_t *out,
                     int *end)
{
    if (op == 0x9) {
        frame(out, 0xA, p, n, n);
    } else if (op == 0x8) {
        frame(out, 0x8, p, n, n); /* the close handshake: the client's code back */
        *end = TGT_WS_CLOSE;
    } else if (op == 0xA) {
        return;
    } else if ((op == 0 && !ws->op) || (op != 0 && ws->op)) {
        close_with(out, 1002, end);
    } else if (fin && op != 0) {
        on_message(ws, op, p, n, out, end);
    } else if (ws->msg.len + n > TGT_WS_MESSAGE_MAX) {
        close_with(out, 1009, end);
    } else {
        if (op != 0)
            ws->op = op, ws->msg.len = 0;
        tgt_buf_add(&ws->msg, p, n);
        if (fin) {
            on_message(ws, ws->op, ws->msg.data, ws->msg.len, out, end);
            ws->op = 0;
        }
    }
}

size_t tgt_ws_serve(tgt_ws_t *ws, char *in, size_t len, tgt_buf_t *out, int *end)
{
    size_t pos = 0;
    *end = TGT_WS_GO_ON;
    while (*end == TGT_WS_GO_ON && len - pos >= 2) {
        unsigned char *h = (unsigned char *)in + pos;
        int fin = h[0] & 0x80, op = h[0] & 0x0F, len7 = h[1] & 0x7F;
        if ((h[0] & 0x70) || !(h[1] & 0x80)) { /* reserved bits, or a client frame unmasked */
            close_with(out, 1002, end);
            break;
        }
        size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0, hl = 2 + ext + 4;
        if (len - pos < hl)
            break;
        uint64_t n = (uint64_t)len7;
        if (ext) {
            n = 0;
            for (size_t i = 0; i < ext; i++)
                n = n << 8 | h[2 + i];
        }
        if (n > TGT_WS_FRAME_MAX - hl) {
            close_with(out, 1009, end);
            break;
        }
        if (len - pos < hl + n)
            break;
        char *p = in + pos + hl;
        for (size_t i = 0; i < n; i++)
            p[i] ^= (char)h[2 + ext + i % 4];
        on_frame(ws, fin, op, p, (size_t)n, out, end);
        pos += hl + (size_t)n;
    }
    return pos;
}

void tgt_ws_free(tgt_ws_t *ws)
{
    tgt_buf_free(&ws->msg);
}
