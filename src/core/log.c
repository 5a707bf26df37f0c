/* log.c - see log.h
 *
 * Rate limiting, per thread (no lock, no shared state): a message equal to
 * the one before it on the same thread is not written but counted; the
 * count comes out as "<message> ... repeated N times" when a different
 * message follows, or, while the same one goes on, once every
 * LOG_REPEAT_MS. Different messages share a token bucket of LOG_BURST lines
 * refilled at LOG_RATE a second; what it refuses is counted and reported
 * as "N log messages suppressed" once tokens are back. Each thread calls
 * log_flush() once a second, so the counts come out soon after a burst
 * ends, not only with the thread's next line. So a loop that logs
 * the same failure a million times a second writes a line every few
 * seconds, and a flood of varied lines is capped, instead of filling the
 * disk (syslogd and h2o's error reporter do the same).
 */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_REPEAT_MS 5000   /* a repeated message is summarised this often */
#define LOG_RATE 100         /* lines a second, per thread, in the long run */
#define LOG_BURST 500        /* lines at once, per thread */
#define LOG_MSG_MAX 1536     /* message text (without the prefix) compared */
#define LOG_QUIET_MS 1000    /* log_flush(): a repetition this long over is summarised */

enum log_level log_min_level = LOG_LVL_INFO;
static const char *const names[] = { "debug", "info", "warn", "error" };

static uint64_t real_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t (*log_clock)(void) = real_clock_ms;

struct log_state {
	char last[LOG_MSG_MAX];       /* the last message written or counted */
	size_t last_len;
	enum log_level last_lvl;
	unsigned long repeats;        /* times LAST came again, not yet reported */
	uint64_t repeat_since;        /* when the first of those came */
	uint64_t repeat_last;         /* when the latest came */
	double tokens;
	uint64_t refilled;            /* ms of the last refill; 0: never */
	unsigned long suppressed;     /* lines refused by the bucket, not yet reported */
};

static _Thread_local struct log_state T;

void log_set_level(enum log_level lvl)
{
	log_min_level = lvl;
}

void log_set_clock(uint64_t (*clock)(void))
{
	log_clock = clock ? clock : real_clock_ms;
}

/* Write one line: the prefix, then TEXT of LEN bytes. */
static void emit(enum log_level lvl, const char *text, size_t len)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03dZ albd[%d] %s: ", (int)(tv.tv_usec / 1000),
			      (int)getpid(), names[lvl]);
	if (len > sizeof(line) - n - 1)
		len = sizeof(line) - n - 1;
	memcpy(line + n, text, len);
	n += len;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

/* Report and reset what was counted of the last message. */
static void flush_repeats(void)
{
	char msg[LOG_MSG_MAX + 64];

	if (!T.repeats)
		return;
	int n = snprintf(msg, sizeof(msg), "%.*s ... repeated %lu times", (int)T.last_len, T.last, T.repeats);
	emit(T.last_lvl, msg, n < 0 ? 0 : (size_t)n);
	T.repeats = 0;
}

/* Report and reset the count of lines the rate limit refused. */
static void flush_suppressed(void)
{
	char msg[64];

	if (!T.suppressed)
		return;
	int n = snprintf(msg, sizeof(msg), "%lu log messages suppressed (rate limit)", T.suppressed);
	emit(LOG_LVL_WARN, msg, (size_t)n);
	T.suppressed = 0;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char text[LOG_MSG_MAX];
	va_list ap;

	if (lvl < log_min_level)
		return;
	va_start(ap, fmt);
	int m = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	size_t len = m < 0 ? 0 : (size_t)m < sizeof(text) ? (size_t)m : sizeof(text) - 1;
	uint64_t now = log_clock();

	/* the same message again: count it */
	if (len == T.last_len && lvl == T.last_lvl && memcmp(text, T.last, len) == 0 && T.refilled) {
		if (!T.repeats++)
			T.repeat_since = now;
		T.repeat_last = now;
		if (now - T.repeat_since >= LOG_REPEAT_MS)
			flush_repeats();
		return;
	}
	flush_repeats();

	/* a different one: within the rate? */
	if (!T.refilled) {
		T.tokens = LOG_BURST;
	} else if (now > T.refilled) {
		T.tokens += (double)(now - T.refilled) * LOG_RATE / 1000.0;
		if (T.tokens > LOG_BURST)
			T.tokens = LOG_BURST;
	}
	T.refilled = now ? now : 1;
	if (T.tokens < 1.0) {
		/* not written: not the line later ones repeat either */
		T.suppressed++;
		return;
	}
	T.tokens -= 1.0;
	memcpy(T.last, text, len);
	T.last_len = len;
	T.last_lvl = lvl;
	flush_suppressed();
	emit(lvl, text, len);
}

void log_flush(int force)
{
	uint64_t now = log_clock();

	if (T.repeats && (force || now - T.repeat_last >= LOG_QUIET_MS || now - T.repeat_since >= LOG_REPEAT_MS))
		flush_repeats();
	if (force || (T.refilled && now > T.refilled && now - T.refilled >= LOG_QUIET_MS))
		flush_suppressed();
}
