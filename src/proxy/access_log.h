/* access_log.h - ALB's access log: one line per request, buffered per
 * worker, written to the file by the control thread.
 *
 * A worker formats a line at the end of each request (proxy.c's
 * exchange_end(), alog_format()) into its own ring of ALOG_CHUNKS chunks of
 * ALOG_CHUNK bytes (alog_append()): no lock, no system call. A chunk is
 * handed over when it is full, and once a second (alog_publish(), from the
 * worker's tick) when it holds anything. The control thread writes what
 * was handed over every ALOG_FLUSH_MS (alog_flush()) with write(2) and
 * gives the chunks back. When every chunk of a worker waits for the writer
 * (the disk is slow or full), new lines are dropped and counted
 * (AccessLogDroppedLineCount): traffic never waits for the log. A line the
 * file refused (ENOSPC, EIO) is counted the same way.
 *
 * The fields are ALB's, in ALB's order (see alog_format()); "json" writes
 * the same fields as one JSON object a line.
 *
 * Thread: alog_format() any; alog_append() and alog_publish() the worker
 * whose ring it is; alog_apply(), alog_reopen(), alog_flush() and
 * alog_shutdown() the control thread.
 */
#ifndef ALBD_ACCESS_LOG_H
#define ALBD_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/config.h"

#define ALOG_CHUNK (64 * 1024)
#define ALOG_CHUNKS 16
#define ALOG_LINE_MAX 32768        /* the longest line: each field has a budget that fits */
#define ALOG_FLUSH_MS 100
#define ALOG_UA_MAX 8192           /* ALB truncates the user agent at 8 KB */

/* One line's values, prepared by the proxy. Strings may be NULL ("-");
 * those with a length are not NUL-terminated. Times are microseconds. */
struct alog_fields {
	const char *type;               /* "http", "https", "ws", "wss" */
	uint64_t time_us;               /* wall clock: the response was complete */
	uint64_t created_us;            /* wall clock: the request head was complete */
	const char *elb;                /* "app/NAME/ID" */
	const char *client;             /* "ip:port" */
	const char *target;             /* "ip:port" of the target that answered, or NULL */
	int64_t request_us;             /* request_processing_time, -1: not dispatched */
	int64_t target_us;              /* target_processing_time, -1: no response head */
	int64_t response_us;            /* response_processing_time, -1: no response head */
	int elb_status;                 /* 0: none ("-") */
	int target_status;              /* 0: none ("-") */
	uint64_t received_bytes;
	uint64_t sent_bytes;
	const char *method;             /* NULL: the head could not be read ("-") */
	const char *scheme;             /* "http" or "https" */
	const char *host; size_t host_len;  /* without the port; NULL: none */
	unsigned port;                  /* the listener's */
	const char *uri;                /* origin-form path and query */
	const char *version;            /* "HTTP/1.1" */
	const char *user_agent; size_t user_agent_len;
	const char *ssl_cipher;
	const char *ssl_protocol;
	const char *tg_arn;
	const char *trace; size_t trace_len; /* the X-Amzn-Trace-Id value forwarded (or that
	                                      * would have been, for a request albd answered) */
	const char *domain;             /* SNI */
	const char *cert;               /* the certificate presented (its file), "session-reused" */
	int rule_priority;              /* > 0 a rule, 0 the default action, -1 none ("-") */
	const char *actions;            /* "forward", "fixed-response", "redirect", or NULL */
	const char *redirect_url; size_t redirect_url_len;
	const char *error_reason;       /* NULL: "-" */
	const char *target_list;        /* "ip:port ip:port", the targets tried in order */
	const char *target_status_list; /* their statuses, "-" where none */
	const char *classification;     /* desync mitigation: NULL "-" (Compliant, as ALB logs it) */
	const char *classification_reason;
};

/* Format F as one line ending in '\n' into BUF (CAP bytes, at least 1024):
 * ALB's space-separated fields, quoted fields escaped ('"', '\' and bytes
 * outside printable ASCII as \xHH), or a JSON object. Returns the length.
 * Thread: any; no allocation. */
size_t alog_format(char *buf, size_t cap, const struct alog_fields *f, enum cfg_log_format fmt);

/* Append LINE (LEN bytes, a whole line) to WORKER's ring. Returns 1, or 0
 * when it was dropped (every chunk waits for the writer, or no memory).
 * Thread: that worker. */
int alog_append(unsigned worker, const char *line, size_t len);

/* Hand WORKER's partly filled chunk to the writer. Thread: that worker. */
void alog_publish(unsigned worker);

/* Open CFG's access log file when it is not the one open (a new path, or
 * logging turned on); close it when logging is off. Returns 0, or -1 with
 * a message in ERR (the file that was open stays). Thread: control. */
int alog_apply(const struct albd_config *cfg, char *err, size_t errlen);

/* Give the open file to UID:GID (albd is about to become that user, who
 * must be able to reopen and replace it). Returns 0 or -1 (errno).
 * Thread: control. */
int alog_chown(uid_t uid, gid_t gid);

/* Reopen the file at the same path (SIGUSR1, after logrotate renamed it).
 * Lines already handed to the writer go to the old file; lines a worker
 * has not handed over yet (up to a second's) go to the new one.
 * Thread: control. */
void alog_reopen(void);

/* Write every chunk handed over, and give the chunks back. Returns the
 * lines that could not be written (the file refused them). Thread:
 * control. */
uint64_t alog_flush(void);

/* Flush, close the file and free the rings (the workers have stopped).
 * Thread: control. */
void alog_shutdown(void);

#endif
