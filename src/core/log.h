/* log.h - leveled logging to stderr (the journal picks it up under systemd).
 *
 * One line per event: "2026-11-22T02:10:00.123Z albd[pid] LEVEL: message".
 * Thread: any; each line is written with one write(2), so lines from
 * different threads never interleave. Not for the per-request hot path.
 *
 * Rate-limited per thread: a message equal to the previous one of its
 * thread is counted, not written, and reported as "MESSAGE ... repeated N
 * times" when another message comes or every 5 s while it goes on; beyond
 * a burst of 500 lines, at most 100 lines a second get out, and the rest
 * is reported as "N log messages suppressed (rate limit)".
 */
#ifndef ALBD_LOG_H
#define ALBD_LOG_H

#include <stdint.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR };

/* Messages below this level are dropped (default LOG_LVL_INFO). Set once at
 * start, before threads exist; read-only afterwards. */
void log_set_level(enum log_level lvl);
extern enum log_level log_min_level;

/* Write what the calling thread's rate limits hold back: the "repeated N
 * times" of a line that stopped repeating at least a second ago (or 5 s
 * after its first repeat), and the count of suppressed lines once the
 * flood is over; everything when FORCE (at thread exit). Each thread that
 * logs calls it about once a second. Thread: any (its own state only). */
void log_flush(int force);

/* The monotonic millisecond clock the rate limits use (tests inject one;
 * NULL restores the real one). Set before threads exist. */
void log_set_clock(uint64_t (*clock)(void));

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Debug lines cost nothing when off: not even their arguments are
 * evaluated (some are written once per request). */
#define log_debug(...) ((void)(log_min_level <= LOG_LVL_DEBUG ? log_msg(LOG_LVL_DEBUG, __VA_ARGS__), 0 : 0))
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)

#endif
