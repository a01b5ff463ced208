/* Test data files (CSV) parsed once per process and shared, immutable, by every thread. */
#ifndef CCD_DATASET_H
#define CCD_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A parsed CSV file: every field's bytes back to back in one buffer, found through offsets.
 * Immutable once parsed, except for its cursors (atomics). */
typedef struct ccd_dataset ccd_dataset_t;

/* How rows are handed out. */
typedef enum {
    CCD_DATASET_ROUND_ROBIN, /* in file order, across every thread, starting over at the end */
    CCD_DATASET_RANDOM,      /* uniformly at random */
    CCD_DATASET_EACH_ONCE,   /* in file order, each row once in the whole process, then none */
} ccd_dataset_mode_t;

/* Where and why a file is malformed. */
typedef struct {
    size_t line; /* 1-based line of the file */
    char msg[160];
} ccd_dataset_error_t;

/* Parses CSV text as RFC 4180 describes it: fields separated by commas, records by CRLF or LF
 * (a final one may lack it), fields in double quotes may hold commas, line breaks and doubled
 * quotes; a leading UTF-8 BOM is skipped and blank lines are ignored. With header the first
 * record names the columns. Every record must have as many fields as the first. A pure
 * function of (buf, len): buf is not kept. On success *out is a new data set the caller frees
 * with ccd_dataset_free(); otherwise returns CCD_EINVAL (with the line and reason in *err) or
 * CCD_ENOMEM. */
int ccd_dataset_parse(const char *buf, size_t len, bool header, ccd_dataset_t **out,
                      ccd_dataset_error_t *err);

/* Frees a data set made by ccd_dataset_parse() (never one from ccd_dataset_acquire()). */
void ccd_dataset_free(ccd_dataset_t *ds);

/* Number of data rows (the header excluded) and of columns. */
size_t ccd_dataset_rows(const ccd_dataset_t *ds);
size_t ccd_dataset_cols(const ccd_dataset_t *ds);

/* The bytes of field col of data row row (both 0-based, in range), *len of them, not
 * NUL-terminated; valid as long as the data set. */
const char *ccd_dataset_field(const ccd_dataset_t *ds, size_t row, size_t col, size_t *len);

/* The name of column col, as ccd_dataset_field(); NULL when the data set has no header. */
const char *ccd_dataset_name(const ccd_dataset_t *ds, size_t col, size_t *len);

/* Picks the next row to hand out in mode: ROUND_ROBIN and EACH_ONCE share one cursor per mode
 * and data set, advanced atomically, so rows go out in file order across every thread that
 * holds the data set. rnd is a uniform 64-bit random value, used by RANDOM only. Returns the
 * row index, or -1 when there is none (no rows, or EACH_ONCE has handed out every row).
 * Thread-safe. */
long ccd_dataset_pick(ccd_dataset_t *ds, ccd_dataset_mode_t mode, uint64_t rnd);

/* The process-wide registry. Returns in *out the data set of the file at path: the first call
 * for a file (by its canonical path) and header flag reads and parses it; later calls, from
 * any thread, take another reference to the same data and cursors. Every success must be
 * paired with one ccd_dataset_release(). On failure returns CCD_EINVAL (file unreadable or
 * malformed) or CCD_ENOMEM with the reason in err ("path:line: reason" when malformed). */
int ccd_dataset_acquire(const char *path, bool header, ccd_dataset_t **out, char *err,
                        size_t errlen);

/* Gives back a reference taken by ccd_dataset_acquire(); the last one frees the data set. */
void ccd_dataset_release(ccd_dataset_t *ds);

#endif
