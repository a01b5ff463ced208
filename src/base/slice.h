/* Byte slices: a pointer and a length, passed by value, and their comparisons. */
#ifndef CCD_SLICE_H
#define CCD_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* A byte slice; never NUL-terminated unless stated. */
typedef struct {
    const char *base;
    size_t len;
} ccd_slice_t;

/* Whether a and b hold the same bytes. */
static inline bool ccd_slice_eq(ccd_slice_t a, ccd_slice_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0);
}

/* Whether the n bytes at a and b are equal ignoring ASCII case. Inline: header names and
 * hosts are short, and a call to strncasecmp cost more than the comparison. */
static inline bool ccd_ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x != y && ((x | 0x20) != (y | 0x20) || (unsigned)((x | 0x20) - 'a') > 'z' - 'a'))
            return false;
    }
    return true;
}

/* Whether a and b are equal ignoring ASCII case. */
static inline bool ccd_slice_ieq(ccd_slice_t a, ccd_slice_t b)
{
    return a.len == b.len && ccd_ascii_ieq(a.base, b.base, a.len);
}

/* Whether s holds exactly the NUL-terminated string lit. */
static inline bool ccd_slice_eq_str(ccd_slice_t s, const char *lit)
{
    return ccd_slice_eq(s, (ccd_slice_t){lit, strlen(lit)});
}

/* Whether s is lit ignoring ASCII case. */
static inline bool ccd_slice_ieq_str(ccd_slice_t s, const char *lit)
{
    return ccd_slice_ieq(s, (ccd_slice_t){lit, strlen(lit)});
}

/* Whether s starts with the C string lit, ignoring ASCII case. */
static inline bool ccd_slice_istarts(ccd_slice_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len >= n && ccd_ascii_ieq(s.base, lit, n);
}

#endif
