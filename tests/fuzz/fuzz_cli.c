/* libFuzzer driver for the options: the configuration file, CICADA_* variables and argv go
 * through ccd_cli_parse() without crashing or leaking, and every refusal comes with a message.
 * The input is the configuration file's text, then NUL-separated arguments; those starting
 * with CICADA_ are environment variables. The file is a memfd, so nothing touches the disk;
 * --config and CICADA_CONFIG from the input are dropped (they could name a FIFO and block). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control/cli.h"
#include "base/error.h"

#define MAX_ARGS 64

static int config_fd(const uint8_t *data, size_t len)
{
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("cicada.conf", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, len, 0) != (ssize_t)len)
        abort();
    return fd;
}

static bool dropped(const char *s)
{
    return strncmp(s, "--config", 8) == 0 || strncmp(s, "CICADA_CONFIG", 13) == 0;
}

/* Splits the NUL-separated strings of copy[0..len) into argv and envp. */
static void split(char *copy, size_t len, char **argv, int *argc, char **envp)
{
    int nenv = 0;
    for (char *s = copy; s < copy + len && *argc < MAX_ARGS - 1; s += strlen(s) + 1) {
        if (dropped(s))
            continue;
        if (strncmp(s, "CICADA_", 7) == 0)
            envp[nenv++] = s;
        else
            argv[(*argc)++] = s;
    }
    argv[*argc] = envp[nenv] = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t conf_len = nul ? (size_t)(nul - data) : size, rest = nul ? size - conf_len - 1 : 0;
    char config[64], *argv[MAX_ARGS + 2], *envp[MAX_ARGS], err[512] = "";
    snprintf(config, sizeof(config), "--config=/proc/self/fd/%d", config_fd(data, conf_len));
    char *copy = malloc(rest + 1); /* NUL-terminated: the last argument may lack its NUL */
    memcpy(copy, nul ? nul + 1 : data, rest);
    copy[rest] = '\0';
    int argc = 2;
    argv[0] = "cicada";
    argv[1] = config;
    split(copy, rest, argv, &argc, envp);
    ccd_options_t o;
    int rc = ccd_cli_parse(argc, argv, envp, &o, err, sizeof(err));
    if (rc != 0 && (err[0] == '\0' || (rc != CCD_EINVAL && rc != CCD_ENOMEM)))
        abort();
    if (rc == 0 && !o.scenario && !o.show_help && !o.show_version)
        abort();
    ccd_cli_free(&o);
    free(copy);
    return 0;
}
