/* Log lines on stderr with a timestamp and a level, filtered by --loglevel. */
#ifndef CCD_LOG_H
#define CCD_LOG_H

enum { CCD_LOG_DEBUG, CCD_LOG_INFO, CCD_LOG_WARNING, CCD_LOG_ERROR, CCD_LOG_CRITICAL };

/* Sets the lowest level printed (default CCD_LOG_INFO). Call before threads start. */
void ccd_log_set_level(int level);
/* Sends log lines to the file at path (appended) instead of stderr. Returns 0 or a negative
 * errno. Call before threads start. */
int ccd_log_open(const char *path);
/* Prints one line "[YYYY-mm-dd HH:MM:SS,mmm] LEVEL/cicada: message" when level is enabled;
 * safe from any thread (one write per line). */
void ccd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
