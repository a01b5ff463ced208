/* Text helpers for the end-to-end tests: counting in logs, reading CSV files. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

long h_count(const char *haystack, const char *needle)
{
    long n = 0;
    size_t len = strlen(needle);
    if (!haystack || len == 0)
        return 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += len)
        n++;
    return n;
}

char *h_line_with(const char *text, const char *needle)
{
    const char *p = text ? strstr(text, needle) : NULL;
    if (!p)
        return NULL;
    const char *start = p, *end = p;
    while (start > text && start[-1] != '\n')
        start--;
    while (*end && *end != '\n' && *end != '\r')
        end++;
    return strndup(start, (size_t)(end - start));
}

typedef struct {
    char **v;
    size_t n, cap;
} vec_t;

static int vec_push(vec_t *v, char *s)
{
    if (v->n == v->cap) {
        size_t cap = v->cap * 2 + 8;
        char **nv = realloc(v->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        v->v = nv, v->cap = cap;
    }
    v->v[v->n++] = s;
    return 0;
}

/* Parses one field starting at *pp, leaving *pp after it (on the separator or line end). */
static char *parse_field(const char **pp)
{
    const char *p = *pp;
    size_t cap = 64, n = 0;
    char *out = malloc(cap);
    bool quoted = *p == '"';
    if (quoted)
        p++;
    while (out && *p) {
        if (quoted && *p == '"' && p[1] == '"')
            p++;
        else if (quoted && *p == '"') {
            quoted = false, p++;
            continue;
        } else if (!quoted && (*p == ',' || *p == '\r' || *p == '\n'))
            break;
        if (n + 2 > cap) {
            char *o = realloc(out, cap *= 2);
            if (!o) {
                free(out);
                return NULL;
            }
            out = o;
        }
        out[n++] = *p++;
    }
    if (out)
        out[n] = '\0';
    *pp = p;
    return out;
}

/* Parses one row starting at *pp; leaves *pp at the start of the next row. */
static int parse_row(h_csv_t *c, const char **pp)
{
    vec_t f = {0};
    const char *start = *pp, *p = *pp;
    for (;;) {
        char *s = parse_field(&p);
        if (!s || vec_push(&f, s) < 0)
            return -1;
        if (*p != ',')
            break;
        p++;
    }
    size_t i = c->nrows;
    c->rows[i] = f.v;
    c->ncols[i] = f.n;
    c->lines[i] = strndup(start, (size_t)(p - start));
    c->nrows++;
    if (*p == '\r')
        p++;
    if (*p == '\n')
        p++;
    *pp = p;
    return 0;
}

int h_csv_read(h_csv_t *c, const char *path)
{
    memset(c, 0, sizeof *c);
    char *text = h_read_file(path, NULL);
    if (!text)
        return -1;
    size_t max = (size_t)h_count(text, "\n") + 2;
    c->rows = calloc(max, sizeof *c->rows);
    c->ncols = calloc(max, sizeof *c->ncols);
    c->lines = calloc(max, sizeof *c->lines);
    const char *p = text;
    int rc = c->rows && c->ncols && c->lines ? 0 : -1;
    while (rc == 0 && *p && c->nrows < max)
        rc = parse_row(c, &p);
    free(text);
    return rc;
}

void h_csv_free(h_csv_t *c)
{
    for (size_t i = 0; i < c->nrows; i++) {
        for (size_t j = 0; j < c->ncols[i]; j++)
            free(c->rows[i][j]);
        free(c->rows[i]);
        free(c->lines[i]);
    }
    free(c->rows);
    free(c->ncols);
    free(c->lines);
    memset(c, 0, sizeof *c);
}

int h_csv_col(const h_csv_t *c, const char *name)
{
    for (size_t j = 0; c->nrows > 0 && j < c->ncols[0]; j++)
        if (strcmp(c->rows[0][j], name) == 0)
            return (int)j;
    return -1;
}

long h_csv_find(const h_csv_t *c, int col, const char *value)
{
    for (size_t i = 1; col >= 0 && i < c->nrows; i++)
        if ((size_t)col < c->ncols[i] && strcmp(c->rows[i][col], value) == 0)
            return (long)i;
    return -1;
}

const char *h_exceptions_text(json_t *doc)
{
    json_t *list = json_object_get(doc, "exceptions"), *e;
    size_t i;
    const char *s = "";
    json_array_foreach(list, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "msg"));
        if (!m)
            m = json_string_value(json_object_get(e, "message"));
        s = h_strf("%s%s%s", s, *s ? " | " : "", m ? m : "?");
    }
    return s;
}
