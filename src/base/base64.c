/* Base64 encoding, three bytes to four characters. */
#include "base/base64.h"

void ccd_base64_encode(const unsigned char *in, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 3 <= n; i += 3, out += 4) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[0] = abc[v >> 18], out[1] = abc[v >> 12 & 63], out[2] = abc[v >> 6 & 63];
        out[3] = abc[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        out[0] = abc[v >> 18], out[1] = abc[v >> 12 & 63];
        out[2] = i + 1 < n ? abc[v >> 6 & 63] : '=';
        out[3] = '=';
    }
}
