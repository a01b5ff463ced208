/* JUnit XML of the threshold results (--junit FILE), the format CI systems show in their test
 * views: one test case per threshold result, a breach being a failure. */
#ifndef CCD_JUNIT_H
#define CCD_JUNIT_H

#include <stdio.h>

#include "report/threshold.h"

/* Writes <testsuites> holding one <testsuite name=suite> with tests, failures, errors (0),
 * skipped (0), time (duration_s) and timestamp (start_time, ISO 8601 UTC) attributes, and one
 * <testcase name="METRIC METHOD NAME" classname="cicada.thresholds"> per result: a breach has
 * a <failure message="..." type="threshold">, a pass a <system-out>; both texts give the
 * measured value and the limit. Text is escaped for XML (characters XML 1.0 cannot hold are
 * dropped). Returns 0 or -EIO. */
int ccd_junit_write(FILE *out, const ccd_threshold_result_t *r, size_t n, const char *suite,
                    double start_time, double duration_s);

#endif
