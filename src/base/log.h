/* Log lines on stderr with a timestamp and a level, filtered by --loglevel. */
#ifndef CCD_LOG_H
#define CCD_LOG_H

#include <stddef.h>

enum { CCD_LOG_DEBUG, CCD_LOG_INFO, CCD_LOG_WARNING, CCD_LOG_ERROR, CCD_LOG_CRITICAL };

/* Sets the lowest level printed (default CCD_LOG_INFO). Call before threads start. */
void ccd_log_set_level(int level);
/* Sends log lines to the file at path (appended) instead of stderr. Returns 0 or a negative
 * errno. Call before threads start. */
int ccd_log_open(const char *path);
/* Prints one line "[YYYY-mm-dd HH:MM:SS,mmm] LEVEL/cicada: message" when level is enabled;
 * safe from any thread (one write per line). */
void ccd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keeps the last n lines printed (without their line end) for ccd_log_recent(), as the web
 * UI's log tab shows them; 0 keeps none (the default). Call before threads start. Returns 0 or
 * CCD_ENOMEM. */
int ccd_log_keep(size_t n);
/* Calls fn with each kept line, oldest first, holding the log's lock: fn must not log. */
void ccd_log_recent(void (*fn)(const char *line, void *ud), void *ud);

#endif
