/* The files a -f value names: comma-separated paths, each a file or a directory of them. */
#include "engine/script.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

static int add(ccd_script_files_t *f, const char *path, size_t len)
{
    char **grown = realloc(f->paths, (f->n + 1) * sizeof(*grown));
    if (!grown)
        return CCD_ENOMEM;
    f->paths = grown;
    if (!(f->paths[f->n] = strndup(path, len)))
        return CCD_ENOMEM;
    f->n++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name a directory contributes: *.lua, not starting with '_' (helper modules that scenario
 * files require, and that must not run on their own, start with one). */
static bool scenario_name(const char *name)
{
    size_t len = strlen(name);
    return name[0] != '_' && name[0] != '.' && len > 4 && strcmp(name + len - 4, ".lua") == 0;
}

/* Adds the scenario files of dir, sorted by name so that every Lua state loads them alike. */
static int add_dir(ccd_script_files_t *f, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read scenario directory '%s': %s", dir, strerror(errno));
        return CCD_EINVAL;
    }
    size_t first = f->n, dirlen = strlen(dir);
    while (dirlen > 1 && dir[dirlen - 1] == '/')
        dirlen--;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (!scenario_name(e->d_name))
            continue;
        char path[4096];
        int n = snprintf(path, sizeof(path), "%.*s/%s", (int)dirlen, dir, e->d_name);
        rc = n > 0 && (size_t)n < sizeof(path) ? add(f, path, (size_t)n) : CCD_EINVAL;
    }
    closedir(d);
    if (rc == 0 && f->n == first) {
        snprintf(err, errlen, "scenario directory '%s' holds no *.lua file", dir);
        return CCD_EINVAL;
    }
    qsort(f->paths + first, f->n - first, sizeof(*f->paths), by_name);
    return rc;
}

static int add_one(ccd_script_files_t *f, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return add_dir(f, path, err, errlen);
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "cannot read scenario file '%s': %s", path, strerror(errno));
        return CCD_EINVAL;
    }
    return add(f, path, strlen(path));
}

int ccd_script_files(ccd_script_files_t *f, const char *spec, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    int rc = 0;
    for (const char *p = spec; rc == 0 && *p;) {
        size_t len = strcspn(p, ",");
        char one[4096];
        if (len > 0 && len < sizeof(one)) {
            memcpy(one, p, len);
            one[len] = '\0';
            rc = add_one(f, one, err, errlen);
        }
        p += len + (p[len] == ',');
    }
    if (rc == 0 && f->n == 0) {
        snprintf(err, errlen, "no scenario file given");
        rc = CCD_EINVAL;
    }
    if (rc == CCD_ENOMEM)
        snprintf(err, errlen, "out of memory listing the scenario files");
    if (rc)
        ccd_script_files_free(f);
    return rc;
}

void ccd_script_files_free(ccd_script_files_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->paths[i]);
    free(f->paths);
    memset(f, 0, sizeof(*f));
}
