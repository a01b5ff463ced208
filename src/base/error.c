/* Error codes to text. */
#include "base/error.h"

#include <string.h>

const char *ccd_strerror(int err)
{
    switch (err) {
    case CCD_OK: return "success";
    case CCD_EDNS: return "name resolution failed";
    case CCD_ETLS: return "TLS error";
    case CCD_EPROTO: return "malformed HTTP response";
    case CCD_ECLOSED: return "connection closed by server before the response completed";
    case CCD_ETOOBIG: return "response headers too large";
    case CCD_EURL: return "invalid URL";
    case CCD_ECANCELED: return "canceled";
    case CCD_ESCRIPT: return "script error";
    case CCD_ECONNTIMEOUT: return "connect timeout";
    case CCD_EREPORT: return "a report could not be written";
    case CCD_ETIMEDOUT: return "timeout";
    case CCD_ECONNREFUSED: return "connection refused";
    case CCD_ECONNRESET: return "connection reset by peer";
    }
    if (err < 0 && err > -1000)
        return strerror(-err);
    return "unknown error";
}
