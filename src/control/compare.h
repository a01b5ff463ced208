/* The compare subcommand: cicada compare BASE.json NEW.json [--max-regression SPEC]...
 * [--html FILE], a performance gate for CI (see report/compare.h). */
#ifndef CCD_CONTROL_COMPARE_H
#define CCD_CONTROL_COMPARE_H

#include <stdio.h>

/* Runs the subcommand; argv[0] is "compare". Prints the comparison on stdout and problems on
 * stderr. Returns the exit code: 0 no regression beyond the tolerances, 3 one or more, 2 a
 * usage error or an unreadable file (the message names the file and the problem). */
int ccd_compare_command(int argc, char **argv);

/* Writes the subcommand's --help text. */
void ccd_compare_usage(FILE *out);

#endif
