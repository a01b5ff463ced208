/* The thresholds as JUnit XML. */
#include "report/junit.h"

#include <errno.h>
#include <time.h>

/* Writes s escaped for an XML attribute or text; control characters other than tab, line
 * feed and carriage return cannot appear in XML 1.0 and are left out. */
static void put_xml(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        case '\n': fputs("&#10;", out); break;
        case '\r': fputs("&#13;", out); break;
        case '\t': fputs("&#9;", out); break;
        default:
            if (c >= 0x20)
                fputc(c, out);
        }
    }
}

/* "p95 GET /api/items" (the Aggregated row: "p95 Aggregated"). */
static void case_name(char *buf, size_t len, const ccd_threshold_result_t *r)
{
    const char *method = r->method ? r->method : "";
    snprintf(buf, len, "%s %s%s%s", r->threshold->metric, method, method[0] ? " " : "", r->name);
}

static void put_case(FILE *out, const ccd_threshold_result_t *r)
{
    char name[1024], measured[64], limit[64], text[1200];
    case_name(name, sizeof(name), r);
    ccd_thresholds_describe(r, measured, sizeof(measured), limit, sizeof(limit));
    snprintf(text, sizeof(text), "%s: measured %s, limit %s", name, measured, limit);
    fputs("    <testcase name=\"", out);
    put_xml(out, name);
    fputs("\" classname=\"cicada.thresholds\" time=\"0\">\n", out);
    if (r->pass) {
        fputs("      <system-out>", out);
        put_xml(out, text);
        fputs("</system-out>\n", out);
    } else {
        fputs("      <failure message=\"", out);
        put_xml(out, text);
        fputs("\" type=\"threshold\">", out);
        put_xml(out, text);
        fputs("</failure>\n", out);
    }
    fputs("    </testcase>\n", out);
}

int ccd_junit_write(FILE *out, const ccd_threshold_result_t *r, size_t n, const char *suite,
                    double start_time, double duration_s)
{
    size_t failures = 0;
    for (size_t i = 0; i < n; i++)
        failures += !r[i].pass;
    char stamp[32] = "1970-01-01T00:00:00";
    time_t t = (time_t)start_time;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"cicada\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
            "time=\"%.3f\">\n  <testsuite name=\"",
            n, failures, duration_s);
    put_xml(out, suite);
    fprintf(out,
            "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\" "
            "timestamp=\"%s\">\n",
            n, failures, duration_s, stamp);
    for (size_t i = 0; i < n; i++)
        put_case(out, &r[i]);
    fputs("  </testsuite>\n</testsuites>\n", out);
    return ferror(out) ? -EIO : 0;
}
