/* Atomic replacement of report files through a temporary name in the same directory. */
#include "base/outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/error.h"

int ccd_outfile_write(const char *path, int (*fill)(FILE *f, const void *ud), const void *ud)
{
    char *tmp;
    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
        return CCD_ENOMEM;
    int rc = 0;
    FILE *f = fopen(tmp, "w");
    if (!f)
        rc = -errno;
    if (f && (rc = fill(f, ud)) == 0 && fflush(f) != 0)
        rc = -errno;
    if (f && fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc && f)
        unlink(tmp);
    free(tmp);
    return rc;
}
