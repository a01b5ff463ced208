/* cicada compare: options, the two runs, the table, the verdict and the exit code. */
#include "control/compare.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "report/compare.h"
#include "report/compare_html.h"

typedef struct {
    const char *base, *cur, *html;
    ccd_compare_tolerance_t tol;
    bool help;
} compare_opts_t;

void ccd_compare_usage(FILE *out)
{
    fputs("Usage: cicada compare BASE.json NEW.json [--max-regression SPEC]... [--html FILE]\n"
          "\n"
          "Compares two runs per request name: requests/s, failure ratio, p50, p95 and p99 of\n"
          "both and the change. Each file is a run document (--report-json) or Locust's --json\n"
          "array (from cicada or Locust).\n"
          "\n"
          "      --max-regression SPEC  tolerated change before a regression is reported:\n"
          "                             10% (rps, p50, p95, p99; the default), or one metric:\n"
          "                             p95=15%, rps=5%, fail-ratio=0.5% (percentage points;\n"
          "                             default 1%); may be repeated\n"
          "      --html FILE            also write the comparison with both runs' charts\n"
          "  -h, --help                 print this help and exit\n"
          "\n"
          "Exit codes: 0 no regression beyond the tolerances; 3 a regression; 2 a usage error or\n"
          "an unreadable file.\n",
          out);
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "cicada compare: %s (see cicada compare --help)\n", msg);
    return 2;
}

static int parse(compare_opts_t *o, int argc, char **argv)
{
    static const struct option opts[] = {{"max-regression", required_argument, NULL, 'm'},
                                         {"html", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char err[256];
    int c;
    optind = 1;
    opterr = 0;
    ccd_compare_tolerance_default(&o->tol);
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (ccd_compare_tolerance_parse(&o->tol, optarg, err, sizeof(err)))
                return usage_error(err);
            break;
        case 'o': o->html = optarg; break;
        case 'h': o->help = true; break;
        case ':': return usage_error("an option needs a value");
        default:
            snprintf(err, sizeof(err), "unknown option '%s'", argv[optind - 1]);
            return usage_error(err);
        }
    }
    if (o->help)
        return 0;
    if (argc - optind != 2)
        return usage_error("expected two files: BASE.json NEW.json");
    o->base = argv[optind];
    o->cur = argv[optind + 1];
    return 0;
}

static void print_verdict(int regressions, size_t rows)
{
    if (regressions)
        printf("\n%d of %zu request names regressed beyond the tolerance\n", regressions, rows);
    else
        printf("\nNo regression beyond the tolerance (%zu request names compared)\n", rows);
}

static int compare(const compare_opts_t *o, ccd_compare_run_t *base, ccd_compare_run_t *cur)
{
    char err[512] = "";
    int rc = ccd_compare_load(base, o->base, err, sizeof(err));
    if (rc == 0)
        rc = ccd_compare_load(cur, o->cur, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "cicada compare: %s\n", err[0] ? err : ccd_strerror(rc));
        return 2;
    }
    ccd_compare_row_t *rows;
    size_t n;
    int regressions = ccd_compare_rows(base, cur, &o->tol, &rows, &n);
    if (regressions < 0) {
        fprintf(stderr, "cicada compare: %s\n", ccd_strerror(regressions));
        return 2;
    }
    printf("Base: %s\nNew:  %s\n\n", o->base, o->cur);
    ccd_compare_print(stdout, rows, n, &o->tol);
    print_verdict(regressions, n);
    if (o->html && (rc = ccd_compare_html_write(o->html, base, cur, rows, n))) {
        fprintf(stderr, "cicada compare: cannot write %s: %s\n", o->html, ccd_strerror(rc));
        regressions = regressions ? regressions : -1;
    }
    free(rows);
    return regressions > 0 ? 3 : regressions < 0 ? 2 : 0;
}

int ccd_compare_command(int argc, char **argv)
{
    compare_opts_t o = {0};
    int code = parse(&o, argc, argv);
    if (code || o.help) {
        if (o.help)
            ccd_compare_usage(stdout);
        return code;
    }
    ccd_compare_run_t base = {0}, cur = {0};
    code = compare(&o, &base, &cur);
    ccd_compare_run_free(&base);
    ccd_compare_run_free(&cur);
    fflush(stdout);
    return code;
}
