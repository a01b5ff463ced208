/* "Did you mean": the nearest of a list of words to a misspelled one. */
#ifndef CCD_SUGGEST_H
#define CCD_SUGGEST_H

#include <stddef.h>

/* Returns the word of words[0..n) nearest to word by Levenshtein distance (insertions,
 * deletions and substitutions, case-insensitive), when that distance is small for the word's
 * length (1 up to 4 characters, 2 up to 8, else 3) and not 0; else NULL. The result is one of
 * the words (borrowed). Words longer than 63 characters are skipped. */
const char *ccd_suggest(const char *word, const char *const *words, size_t n);

#endif
