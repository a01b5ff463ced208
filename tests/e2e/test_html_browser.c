/* The HTML report in a real browser: headless Chromium renders it and the charts' canvases are
 * drawn (the screenshot holds the charts' line colours). Skipped without Chromium. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"

TestSuite(html_browser, .fini = h_cleanup, .timeout = 120);

static const char *browsers[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                 "/usr/bin/google-chrome", NULL};

static const char *find_browser(void)
{
    for (const char **b = browsers; *b; b++)
        if (access(*b, X_OK) == 0)
            return *b;
    return NULL;
}

/* ---- A minimal PNG decoder: 8-bit RGB or RGBA, not interlaced ---------------------------- */

typedef struct {
    uint32_t w, h;
    int channels;
    uint8_t *px; /* w * h * channels bytes */
} image_t;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
}

/* Reverses the per-row filters of raw (h rows of 1 + stride bytes) into img->px. */
static int unfilter(image_t *img, const uint8_t *raw)
{
    size_t stride = (size_t)img->w * (size_t)img->channels;
    int bpp = img->channels;
    for (uint32_t y = 0; y < img->h; y++) {
        const uint8_t *in = raw + y * (stride + 1) + 1;
        uint8_t *out = img->px + y * stride, *prev = y ? out - stride : NULL;
        int filter = in[-1];
        for (size_t x = 0; x < stride; x++) {
            int a = x >= (size_t)bpp ? out[x - bpp] : 0, b = prev ? prev[x] : 0;
            int c = (prev && x >= (size_t)bpp) ? prev[x - bpp] : 0;
            int add = filter == 0   ? 0
                      : filter == 1 ? a
                      : filter == 2 ? b
                      : filter == 3 ? (a + b) / 2
                      : filter == 4 ? paeth(a, b, c)
                                    : -1;
            if (add < 0)
                return -1;
            out[x] = (uint8_t)(in[x] + add);
        }
    }
    return 0;
}

static int png_decode(image_t *img, const uint8_t *p, size_t len)
{
    memset(img, 0, sizeof *img);
    if (len < 8 || memcmp(p, "\x89PNG\r\n\x1a\n", 8) != 0)
        return -1;
    uint8_t *idat = NULL;
    size_t ilen = 0;
    for (size_t off = 8; off + 12 <= len;) {
        uint32_t n = be32(p + off);
        const uint8_t *type = p + off + 4, *data = p + off + 8;
        if (off + 12 + n > len)
            break;
        if (memcmp(type, "IHDR", 4) == 0) {
            img->w = be32(data), img->h = be32(data + 4);
            if (data[8] != 8 || (data[9] != 2 && data[9] != 6) || data[12] != 0)
                return -1;
            img->channels = data[9] == 6 ? 4 : 3;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            uint8_t *ni = realloc(idat, ilen + n);
            if (!ni)
                break;
            memcpy(ni + ilen, data, n);
            idat = ni, ilen += n;
        }
        off += 12 + n;
    }
    size_t stride = (size_t)img->w * (size_t)img->channels;
    uLongf rawlen = (uLongf)((stride + 1) * img->h);
    uint8_t *raw = malloc(rawlen ? rawlen : 1);
    img->px = malloc(stride * img->h + 1);
    int rc =
        (idat && raw && img->px && img->channels &&
         uncompress(raw, &rawlen, idat, (uLong)ilen) == Z_OK && rawlen == (stride + 1) * img->h)
            ? unfilter(img, raw)
            : -1;
    free(idat);
    free(raw);
    return rc;
}

/* Counts strongly coloured pixels by hue sextant (red, yellow, green, cyan, blue, magenta). */
static void hue_counts(const image_t *img, long counts[6])
{
    memset(counts, 0, 6 * sizeof *counts);
    for (size_t i = 0; i < (size_t)img->w * img->h; i++) {
        const uint8_t *q = img->px + i * (size_t)img->channels;
        int r = q[0], g = q[1], b = q[2];
        int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
        int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
        if (mx - mn < 80)
            continue; /* grey, white, black, pale: text, tables, grid */
        double h;
        if (mx == r)
            h = 60.0 * (double)(g - b) / (mx - mn);
        else if (mx == g)
            h = 120 + 60.0 * (double)(b - r) / (mx - mn);
        else
            h = 240 + 60.0 * (double)(r - g) / (mx - mn);
        if (h < 0)
            h += 360;
        counts[((int)((h + 30) / 60)) % 6]++;
    }
}

/* ---- The test -------------------------------------------------------------------------- */

static const char *scenario =
    "local cicada = require 'cicada'\n"
    "local U = cicada.user('Browser', { wait_time = cicada.between(0.01, 0.05),\n"
    "                                   tasks = { delay = 4, hello = 1, missing = 1 } })\n"
    "function U:delay()\n"
    "  self.client:get('/delay/' .. math.random(1, 20), { name = '/delay/[ms]' })\n"
    "end\n"
    "function U:hello() self.client:get('/hello') end\n"
    "function U:missing() self.client:get('/status/404') end\n";

Test(html_browser, chromium_draws_the_charts)
{
    const char *browser = find_browser();
    if (!browser) {
        cr_skip_test("Chromium is not installed (scripts/install-deps installs Debian's chromium)");
        return;
    }
    h_target_t t;
    h_run_t r, b;
    cr_assert_eq(h_target_start(&t, 1), 0);
    const char *dir = h_tmpdir(), *html = h_strf("%s/report.html", dir);
    const char *png = h_strf("%s/report.png", dir);
    cr_assert_eq(h_cicada(&r, NULL, scenario, "-H", h_strf("http://%s:%d", H_HOST, t.port), "-u",
                          "10", "-r", "5", "-t", "5s", "--html", html, H_LOAD_FLAGS, NULL),
                 0);
    H_ASSERT_EXIT(&r, 1);
    char *argv[] = {(char *)browser,
                    (char *)"--headless",
                    (char *)"--no-sandbox",
                    (char *)"--disable-gpu",
                    (char *)"--disable-background-networking",
                    (char *)"--disable-component-update",
                    (char *)"--disable-sync",
                    (char *)"--no-first-run",
                    (char *)h_strf("--user-data-dir=%s/profile", dir),
                    (char *)h_strf("--screenshot=%s", png),
                    (char *)"--window-size=1280,2000",
                    (char *)h_strf("file://%s", html),
                    NULL};
    h_run_opts_t o = {.timeout_s = 90};
    cr_assert_eq(h_exec(&b, &o, argv), 0, "cannot start %s", browser);
    size_t len = 0;
    uint8_t *data = (uint8_t *)h_read_file(png, &len);
    if (!data)
        h_run_dump(&b);
    cr_assert_not_null(data, "Chromium wrote no screenshot");
    image_t img;
    cr_assert_eq(png_decode(&img, data, len), 0, "cannot decode the screenshot");
    cr_expect_eq(img.w, 1280);
    long c[6];
    hue_counts(&img, c);
    /* The charts draw in blue (RPS), red (failures/s), green (p50), orange (p95), purple
     * (users): lines of thousands of pixels. Legend swatches alone are tens of pixels. */
    int hues = 0;
    for (int i = 0; i < 6; i++)
        hues += c[i] > 400;
    cr_expect_geq(hues, 3,
                  "few chart colours: red %ld yellow %ld green %ld cyan %ld blue %ld "
                  "magenta %ld",
                  c[0], c[1], c[2], c[3], c[4], c[5]);
    const char *keep = getenv("CICADA_REPORT_PNG");
    if (keep)
        h_write_file(keep, (const char *)data, len);
    free(img.px);
    free(data);
    h_run_free(&r);
    h_run_free(&b);
}
