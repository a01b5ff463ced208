/* Numbers as people read them in reports: response times to three significant digits. */
#ifndef CCD_FORMAT_H
#define CCD_FORMAT_H

#include <stddef.h>

/* The largest text ccd_format_ms() writes, its NUL included. */
#define CCD_FORMAT_MS_SIZE 32

/* Writes ms (milliseconds) with three significant digits — 0.213, 4.56, 13.7, 137, 1370 — and
 * at most three decimals (the statistics' resolution is one microsecond): "0" for zero, "-"
 * for a negative or not-a-number value. Returns buf. */
char *ccd_format_ms(char *buf, size_t size, double ms);

/* ms rounded to three significant digits (the value ccd_format_ms() prints). */
double ccd_round3(double ms);

#endif
