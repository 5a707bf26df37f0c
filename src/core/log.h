/* log.h - leveled logging to stderr (the journal picks it up under systemd).
 *
 * One line per event: "2026-11-22T02:10:00.123Z albd[pid] LEVEL: message".
 * Thread: any; each line is written with one write(2), so lines from
 * different threads never interleave. Not for the per-request hot path.
 */
#ifndef ALBD_LOG_H
#define ALBD_LOG_H

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR };

/* Messages below this level are dropped (default LOG_LVL_INFO). Set once at
 * start, before threads exist. */
void log_set_level(enum log_level lvl);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)

#endif
