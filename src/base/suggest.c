/* "Did you mean": Levenshtein distance over a list of words. */
#include "base/suggest.h"

#include <ctype.h>
#include <string.h>

#define MAX_WORD 64

/* The classic two-row dynamic programme; a and b shorter than MAX_WORD. */
static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t prev[MAX_WORD], cur[MAX_WORD];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] +
                         (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(*prev));
    }
    return prev[lb];
}

const char *ccd_suggest(const char *word, const char *const *words, size_t n)
{
    size_t len = strlen(word);
    if (len == 0 || len >= MAX_WORD)
        return NULL;
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3, best_d = limit + 1;
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t lw = strlen(words[i]);
        if (lw >= MAX_WORD)
            continue;
        size_t d = distance(word, len, words[i], lw);
        if (d < best_d) {
            best_d = d;
            best = words[i];
        }
    }
    return best_d == 0 ? NULL : best;
}
