/* Test data files: an RFC 4180 CSV parser into one buffer plus offsets, and the process-wide
 * registry that lets every thread share one parsed copy of each file. */
#include "lua/dataset.h"
#include "base/buf.h"
#include "base/slice.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

struct ccd_dataset {
    char *data;  /* every field's bytes, unescaped, back to back */
    size_t *off; /* field i spans data[off[i], off[i + 1]); records * cols + 1 entries */
    size_t cols, records;
    bool header;                       /* record 0 names the columns */
    atomic_uint_least64_t round_robin; /* the next pick of each cursor */
    atomic_uint_least64_t each_once;
    /* The registry's fields, guarded by its lock. */
    char *key; /* canonical path */
    unsigned refs;
    ccd_dataset_t *next;
};

typedef struct {
    const char *p, *end;
    size_t line; /* of p */
    ccd_dataset_t *ds;
    size_t len;       /* bytes used in ds->data */
    size_t noff, cap; /* entries used and allocated in ds->off */
    ccd_dataset_error_t *err;
} parser_t;

static int fail(parser_t *ps, size_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ps->err->line = line;
    vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
    va_end(ap);
    return CCD_EINVAL;
}

/* The length of the line break at p (LF, CRLF or a lone CR), 0 when there is none. */
static size_t newline_len(const char *p, const char *end)
{
    if (p >= end)
        return 0;
    if (*p == '\n')
        return 1;
    if (*p == '\r')
        return p + 1 < end && p[1] == '\n' ? 2 : 1;
    return 0;
}

static size_t count_lines(const char *s, const char *end)
{
    size_t n = 0;
    while (s < end) {
        size_t k = newline_len(s, end);
        n += k != 0;
        s += k ? k : 1;
    }
    return n;
}

/* Ends the field whose bytes were just appended: records where the next one starts. */
static int end_field(parser_t *ps)
{
    size_t *off = ccd_array_grow(ps->ds->off, &ps->cap, ps->noff + 1, sizeof(*off), 64);
    if (!off)
        return CCD_ENOMEM;
    ps->ds->off = off;
    ps->ds->off[ps->noff++] = ps->len;
    return 0;
}

/* Appends n bytes to the field being read; the buffer holds the whole input, never less. */
static void append(parser_t *ps, const char *s, size_t n)
{
    memcpy(ps->ds->data + ps->len, s, n);
    ps->len += n;
}

/* An unquoted field runs to the next comma or line break; a quote inside it is kept as is. */
static int unquoted_field(parser_t *ps)
{
    const char *s = ps->p;
    while (ps->p < ps->end && *ps->p != ',' && !newline_len(ps->p, ps->end))
        ps->p++;
    append(ps, s, (size_t)(ps->p - s));
    return end_field(ps);
}

/* A quoted field: everything up to the closing quote, "" standing for one quote. The closing
 * quote must end the field. */
static int quoted_field(parser_t *ps)
{
    size_t open_line = ps->line;
    ps->p++;
    for (;;) {
        const char *q = memchr(ps->p, '"', (size_t)(ps->end - ps->p));
        if (!q)
            return fail(ps, open_line, "unterminated quoted field (its closing \" is missing)");
        append(ps, ps->p, (size_t)(q - ps->p));
        ps->line += count_lines(ps->p, q);
        ps->p = q + 1;
        if (ps->p < ps->end && *ps->p == '"') {
            append(ps, "\"", 1);
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p != ',' && !newline_len(ps->p, ps->end))
            return fail(ps, ps->line,
                        "unexpected character after the closing quote of a field (a quote "
                        "inside a quoted field is written \"\")");
        return end_field(ps);
    }
}

/* Reads one record, through its line break; *fields is how many fields it had. */
static int read_record(parser_t *ps, size_t *fields)
{
    *fields = 0;
    for (;;) {
        int rc = ps->p < ps->end && *ps->p == '"' ? quoted_field(ps) : unquoted_field(ps);
        if (rc)
            return rc;
        ++*fields;
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        size_t nl = newline_len(ps->p, ps->end);
        ps->p += nl;
        ps->line += nl != 0;
        return 0;
    }
}

static int check_width(parser_t *ps, size_t fields, size_t line)
{
    ccd_dataset_t *ds = ps->ds;
    if (ds->records == 0)
        ds->cols = fields;
    else if (fields != ds->cols)
        return fail(ps, line, "row has %zu field%s, the %s has %zu", fields, fields == 1 ? "" : "s",
                    ds->header ? "header" : "first row", ds->cols);
    ds->records++;
    return 0;
}

/* Column names become table keys: two equal ones would hide a column. */
static int check_names(parser_t *ps, size_t line)
{
    const ccd_dataset_t *ds = ps->ds;
    for (size_t i = 1; i < ds->cols; i++) {
        size_t li, lj;
        const char *a = ccd_dataset_name(ds, i, &li);
        for (size_t j = 0; j < i; j++) {
            const char *b = ccd_dataset_name(ds, j, &lj);
            if (ccd_slice_eq((ccd_slice_t){a, li}, (ccd_slice_t){b, lj}))
                return fail(ps, line, "column name '%.*s' appears twice in the header",
                            (int)(li > 60 ? 60 : li), a);
        }
    }
    return 0;
}

static int parse_records(parser_t *ps)
{
    for (;;) {
        size_t nl, fields, line;
        while ((nl = newline_len(ps->p, ps->end)) != 0) { /* blank lines */
            ps->p += nl;
            ps->line++;
        }
        if (ps->p >= ps->end)
            return 0;
        line = ps->line;
        int rc = read_record(ps, &fields);
        if (rc || (rc = check_width(ps, fields, line)))
            return rc;
        if (ps->ds->header && ps->ds->records == 1 && (rc = check_names(ps, line)))
            return rc;
    }
}

static ccd_dataset_t *dataset_new(size_t len, bool header)
{
    ccd_dataset_t *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return NULL;
    ds->header = header;
    ds->data = malloc(len ? len : 1);
    ds->off = malloc(64 * sizeof(*ds->off));
    if (!ds->data || !ds->off) {
        ccd_dataset_free(ds);
        return NULL;
    }
    ds->off[0] = 0;
    atomic_init(&ds->round_robin, 0);
    atomic_init(&ds->each_once, 0);
    return ds;
}

int ccd_dataset_parse(const char *buf, size_t len, bool header, ccd_dataset_t **out,
                      ccd_dataset_error_t *err)
{
    static const char bom[] = "\xEF\xBB\xBF";
    if (!buf)
        buf = "";
    ccd_dataset_t *ds = dataset_new(len, header);
    if (!ds)
        return CCD_ENOMEM;
    parser_t ps = {.p = buf, .end = buf + len, .line = 1, .ds = ds, .noff = 1, .cap = 64};
    ps.err = err;
    if (len >= 3 && memcmp(buf, bom, 3) == 0)
        ps.p += 3;
    int rc = parse_records(&ps);
    if (rc) {
        if (rc == CCD_ENOMEM)
            fail(&ps, ps.line, "out of memory");
        ccd_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

void ccd_dataset_free(ccd_dataset_t *ds)
{
    if (!ds)
        return;
    free(ds->data);
    free(ds->off);
    free(ds->key);
    free(ds);
}

size_t ccd_dataset_rows(const ccd_dataset_t *ds)
{
    return ds->records - (ds->header && ds->records > 0);
}

size_t ccd_dataset_cols(const ccd_dataset_t *ds)
{
    return ds->cols;
}

static const char *field_at(const ccd_dataset_t *ds, size_t i, size_t *len)
{
    *len = ds->off[i + 1] - ds->off[i];
    return ds->data + ds->off[i];
}

const char *ccd_dataset_field(const ccd_dataset_t *ds, size_t row, size_t col, size_t *len)
{
    return field_at(ds, (row + ds->header) * ds->cols + col, len);
}

const char *ccd_dataset_name(const ccd_dataset_t *ds, size_t col, size_t *len)
{
    return ds->header ? field_at(ds, col, len) : NULL;
}

long ccd_dataset_pick(ccd_dataset_t *ds, ccd_dataset_mode_t mode, uint64_t rnd)
{
    uint64_t n = ccd_dataset_rows(ds), i;
    if (n == 0)
        return -1;
    switch (mode) {
    case CCD_DATASET_RANDOM: return (long)(rnd % n); /* bias n / 2^64: none that shows */
    case CCD_DATASET_ROUND_ROBIN:
        i = atomic_fetch_add_explicit(&ds->round_robin, 1, memory_order_relaxed);
        return (long)(i % n);
    case CCD_DATASET_EACH_ONCE:
        /* The cursor goes on past n, harmlessly: 2^64 picks are out of reach. */
        i = atomic_fetch_add_explicit(&ds->each_once, 1, memory_order_relaxed);
        return i < n ? (long)i : -1;
    }
    return -1;
}

/* ---- The registry -------------------------------------------------------------------------- */

/* Data sets in use by anyone in the process; the lock also orders a data set's parsing before
 * its use by the threads that find it here. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static ccd_dataset_t *loaded;

static ccd_dataset_t *find(const char *key, bool header)
{
    for (ccd_dataset_t *ds = loaded; ds; ds = ds->next)
        if (ds->header == header && strcmp(ds->key, key) == 0)
            return ds;
    return NULL;
}

/* Reads the whole regular file at path into a malloc'd buffer. */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return CCD_EINVAL;
    }
    size_t n = 0, size = (size_t)st.st_size;
    char *b = malloc(size ? size : 1);
    ssize_t k = 1;
    while (b && n < size && (k = read(fd, b + n, size - n)) > 0)
        n += (size_t)k;
    close(fd);
    if (!b || k < 0) {
        snprintf(err, errlen, "%s: %s", path, b ? strerror(errno) : "out of memory");
        free(b);
        return b ? CCD_EINVAL : CCD_ENOMEM;
    }
    *buf = b;
    *len = n; /* a file that shrank meanwhile is read as it now is */
    return 0;
}

static int load(const char *path, bool header, ccd_dataset_t **out, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    int rc = read_file(path, &buf, &len, err, errlen);
    if (rc)
        return rc;
    ccd_dataset_error_t perr;
    rc = ccd_dataset_parse(buf, len, header, out, &perr);
    free(buf);
    if (rc)
        snprintf(err, errlen, "%s:%zu: %s", path, perr.line, perr.msg);
    return rc;
}

int ccd_dataset_acquire(const char *path, bool header, ccd_dataset_t **out, char *err,
                        size_t errlen)
{
    char *key = realpath(path, NULL);
    if (!key) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOMEM ? CCD_ENOMEM : CCD_EINVAL;
    }
    int rc = 0;
    pthread_mutex_lock(&lock);
    ccd_dataset_t *ds = find(key, header);
    if (ds) {
        ds->refs++;
    } else if ((rc = load(path, header, &ds, err, errlen)) == 0) {
        ds->key = key;
        key = NULL;
        ds->refs = 1;
        ds->next = loaded;
        loaded = ds;
    }
    pthread_mutex_unlock(&lock);
    free(key);
    if (rc == 0)
        *out = ds;
    return rc;
}

void ccd_dataset_release(ccd_dataset_t *ds)
{
    pthread_mutex_lock(&lock);
    bool last = --ds->refs == 0;
    if (last) {
        ccd_dataset_t **p = &loaded;
        while (*p != ds)
            p = &(*p)->next;
        *p = ds->next;
    }
    pthread_mutex_unlock(&lock);
    if (last)
        ccd_dataset_free(ds);
}
