/* HTTP/1.1 response heads on the wire: status line, framing and connection headers. */
#include "wire.h"

#include <errno.h>
#include <string.h>

typedef struct {
    short code;
    const char *reason;
} reason_t;

static const reason_t reasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {102, "Processing"},
    {103, "Early Hints"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {207, "Multi-Status"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {418, "I'm a teapot"},
    {422, "Unprocessable Content"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {507, "Insufficient Storage"},
    {511, "Network Authentication Required"},
};

const char *tgt_wire_reason(int status)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == status)
            return reasons[i].reason;
    return "Unknown";
}

int tgt_wire_bodiless(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

static void status_line(tgt_buf_t *out, int status)
{
    char line[16] = "HTTP/1.1 000 ";
    line[9] = (char)('0' + status / 100 % 10);
    line[10] = (char)('0' + status / 10 % 10);
    line[11] = (char)('0' + status % 10);
    tgt_buf_add(out, line, 13);
    tgt_buf_puts(out, tgt_wire_reason(status));
    tgt_buf_add(out, "\r\n", 2);
}

static void framing(tgt_buf_t *out, int64_t length)
{
    if (length == TGT_LEN_CHUNKED) {
        tgt_buf_puts(out, "Transfer-Encoding: chunked\r\n");
    } else if (length >= 0) {
        tgt_buf_puts(out, "Content-Length: ");
        tgt_buf_u64(out, (uint64_t)length);
        tgt_buf_add(out, "\r\n", 2);
    }
}

void tgt_wire_head(tgt_buf_t *out, int status, const char *ctype, const char *extra, int64_t length,
                   tgt_conn_mode_t mode)
{
    status_line(out, status);
    if (ctype) {
        tgt_buf_puts(out, "Content-Type: ");
        tgt_buf_puts(out, ctype);
        tgt_buf_add(out, "\r\n", 2);
    }
    if (extra)
        tgt_buf_puts(out, extra);
    framing(out, length);
    if (mode == TGT_CONN_CLOSE)
        tgt_buf_puts(out, "Connection: close\r\n");
    else if (mode == TGT_CONN_KEEP10)
        tgt_buf_puts(out, "Connection: keep-alive\r\n");
    tgt_buf_add(out, "\r\n", 2);
}

int tgt_wire_can(tgt_canned_t *r)
{
    tgt_buf_free(&r->wire);
    tgt_wire_head(&r->wire, r->status, r->ctype, r->extra, (int64_t)r->len, TGT_CONN_KEEP);
    tgt_buf_add(&r->wire, r->body, r->len);
    return r->wire.failed ? -ENOMEM : 0;
}
