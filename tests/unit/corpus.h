/* Replays a checked-in fuzz corpus through its libFuzzer driver (a failure aborts the test). */
#ifndef CCD_TEST_CORPUS_H
#define CCD_TEST_CORPUS_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>

/* Feeds every file of SOURCE_DIR/tests/fuzz/corpus/<name> to fn; returns how many. */
static int replay_corpus(const char *name, int (*fn)(const uint8_t *, size_t))
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", SOURCE_DIR, name);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "%s", path);
        static uint8_t buf[1 << 16];
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        fn(buf, len);
        n++;
    }
    closedir(d);
    return n;
}

#endif
