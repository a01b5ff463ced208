/* cicada's CSV files begin with the same header rows, byte for byte, as those Debian's Locust
 * (python3-locust) writes for the same kind of run. Skipped when Locust is not installed. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(locust_csv, .fini = h_cleanup, .timeout = 90);

#define PYTHON "/usr/bin/python3"

static const char *locustfile = "from locust import HttpUser, task, constant\n"
                                "class U(HttpUser):\n"
                                "    wait_time = constant(0.1)\n"
                                "    @task\n"
                                "    def t(self):\n"
                                "        self.client.get('/hello')\n"
                                "        self.client.get('/status/404')\n";

static const char *scenario =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('U', { wait_time = cicada.constant(0.1), tasks = { t = 1 } })\n"
    "function U:t() self.client:get('/hello'); self.client:get('/status/404') end\n";

static bool locust_installed(void)
{
    h_run_t r;
    char *argv[] = {(char *)PYTHON, (char *)"-c", (char *)"import locust", NULL};
    if (access(PYTHON, X_OK) != 0 || h_exec(&r, NULL, argv) != 0)
        return false;
    bool ok = r.exited && r.status == 0;
    h_run_free(&r);
    return ok;
}

/* The first line of a file, CRLF included (harness-owned), or NULL. */
static const char *header_row(const char *path)
{
    char *text = h_read_file(path, NULL);
    if (!text)
        return NULL;
    char *nl = strchr(text, '\n');
    const char *line = h_strf("%.*s", nl ? (int)(nl - text + 1) : (int)strlen(text), text);
    free(text);
    return line;
}

Test(locust_csv, header_rows_equal_locusts)
{
    if (!locust_installed()) {
        cr_skip_test("Locust is not installed (apt-get install -y python3-locust)");
        return;
    }
    h_target_t t;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *url = h_strf("http://%s:%d", H_HOST, t.port);
    const char *dir = h_tmpdir(), *lf = h_strf("%s/locustfile.py", dir);
    cr_assert_eq(h_write_file(lf, locustfile, strlen(locustfile)), 0);
    const char *lprefix = h_strf("%s/locust", dir), *cprefix = h_strf("%s/cicada", dir);
    char *argv[] = {
        (char *)PYTHON,       (char *)"-m", (char *)"locust", (char *)"-f",    (char *)lf,
        (char *)"--headless", (char *)"-u", (char *)"2",      (char *)"-r",    (char *)"2",
        (char *)"-t",         (char *)"3s", (char *)"--csv",  (char *)lprefix, (char *)"-H",
        (char *)url,          NULL};
    h_run_t lr, cr;
    h_run_opts_t o = {.timeout_s = 60};
    cr_assert_eq(h_exec(&lr, &o, argv), 0);
    cr_assert(lr.exited, "Locust did not finish");
    cr_assert_eq(h_cicada(&cr, NULL, scenario, "-H", url, "-u", "2", "-r", "2", "-t", "2s", "--csv",
                          cprefix, H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&cr, 1);
    const char *files[] = {"stats", "stats_history", "failures", "exceptions"};
    for (size_t i = 0; i < 4; i++) {
        const char *l = header_row(h_strf("%s_%s.csv", lprefix, files[i]));
        const char *c = header_row(h_strf("%s_%s.csv", cprefix, files[i]));
        cr_assert_not_null(l, "Locust wrote no %s file", files[i]);
        cr_expect_not_null(c, "cicada wrote no %s file", files[i]);
        if (c)
            cr_expect_str_eq(c, l, "%s header row differs from Locust's", files[i]);
    }
    h_run_free(&lr);
    h_run_free(&cr);
}
