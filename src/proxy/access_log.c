/* access_log.c - ALB's access log. See access_log.h. */
#include "access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"

/* ------------------------------------------------------------ formatting */

/* Each value has a budget of output bytes (FIELD_MAX, the user agent
 * UA_OUT_MAX): a line is then never longer than ALOG_LINE_MAX, whatever
 * the escaping, and never cut in the middle of an escape, a field or the
 * JSON object. */
#define FIELD_MAX 512
#define URL_OUT_MAX 2048    /* "request" and "redirect_url" */
#define TRACE_OUT_MAX 2048  /* "trace_id": an application's fields may make it long */
#define UA_OUT_MAX 8192
/* 26 fields of FIELD_MAX, two URLs, the trace id, the user agent and the
 * JSON names fit */
_Static_assert(26 * FIELD_MAX + 2 * URL_OUT_MAX + TRACE_OUT_MAX + UA_OUT_MAX + 1024 <= ALOG_LINE_MAX,
	       "ALOG_LINE_MAX");

struct out {
	char *p;
	size_t len;
	size_t lim;    /* where the current value must stop */
};

/* Write N bytes if they fit within the budget; 0 when they do not. */
static int put(struct out *o, const char *s, size_t n)
{
	if (n > o->lim - o->len)
		return 0;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return 1;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static int putc_(struct out *o, char c)
{
	return put(o, &c, 1);
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static const char hexd[] = "0123456789abcdef";

/* S[0..N) escaped for ALB's format: '"' and '\' get a backslash, a space
 * (in an unquoted field), controls and bytes past ASCII become \xHH. */
static void put_esc(struct out *o, const char *s, size_t n, int quoted)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char x[4] = { '\\', (char)c, 0, 0 };
		size_t k = 1;

		if (c == '"' || c == '\\') {
			k = 2;
		} else if (c < 0x20 || c >= 0x7f || (!quoted && c == ' ')) {
			x[1] = 'x';
			x[2] = hexd[c >> 4];
			x[3] = hexd[c & 15];
			k = 4;
		} else {
			x[0] = (char)c;
		}
		if (!put(o, x, k))
			return;
	}
}

/* S[0..N) as the inside of a JSON string: always valid UTF-8 (bytes past
 * ASCII are written as \u00HH, as if Latin-1). */
static void put_json(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char x[6] = { '\\', (char)c, '0', '0', hexd[c >> 4], hexd[c & 15] };
		size_t k = 1;

		if (c == '"' || c == '\\') {
			k = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			x[1] = 'u';
			k = 6;
		} else {
			x[0] = (char)c;
		}
		if (!put(o, x, k))
			return;
	}
}

/* ISO 8601 with microseconds, as ALB's: 2018-07-02T22:23:00.186641Z */
static void put_time(struct out *o, uint64_t us)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	putf(o, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday,
	     tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(us % 1000000));
}

/* Seconds with millisecond precision, or -1. */
static void put_secs(struct out *o, int64_t us)
{
	if (us < 0)
		puts_(o, "-1");
	else
		putf(o, "%" PRId64 ".%03" PRId64, us / 1000000, us / 1000 % 1000);
}

static void put_json_q(struct out *o, const char *s, size_t n, int quoted)
{
	(void)quoted;
	put_json(o, s, n);
}

/* The fields, in ALB's order. A field is written by one function for
 * both formats: K is its name, the value goes through one of these. */
enum fkind { F_TOKEN, F_QUOTED, F_NUM };

struct fw {
	struct out *o;
	enum cfg_log_format fmt;
	int n;           /* fields written */
};

static void begin(struct fw *w, const char *name, enum fkind k)
{
	if (w->fmt == CFG_LOG_JSON) {
		puts_(w->o, w->n ? ",\"" : "{\"");
		puts_(w->o, name);
		puts_(w->o, k == F_NUM ? "\":" : "\":\"");
	} else {
		if (w->n)
			putc_(w->o, ' ');
		if (k == F_QUOTED)
			putc_(w->o, '"');
	}
	w->n++;
}

static void end(struct fw *w, enum fkind k)
{
	if (k != F_NUM && (w->fmt == CFG_LOG_JSON || k == F_QUOTED))
		putc_(w->o, '"');
}

/* A text field; NULL is "-". Its value gets at most BUDGET bytes. */
static void field_cut(struct fw *w, const char *name, enum fkind k, const char *s, size_t n, size_t budget)
{
	size_t lim = w->o->lim;

	begin(w, name, k);
	if (w->o->len + budget < lim)
		w->o->lim = w->o->len + budget;
	if (!s)
		puts_(w->o, "-");
	else if (w->fmt == CFG_LOG_JSON)
		put_json(w->o, s, n);
	else
		put_esc(w->o, s, n, k == F_QUOTED);
	w->o->lim = lim;
	end(w, k);
}

static void field_str(struct fw *w, const char *name, enum fkind k, const char *s, size_t n)
{
	field_cut(w, name, k, s, n, FIELD_MAX);
}

static void field(struct fw *w, const char *name, enum fkind k, const char *s)
{
	field_str(w, name, k, s, s ? strlen(s) : 0);
}

/* A status: a number, or "-" (a string in JSON) when there is none. */
static void field_status(struct fw *w, const char *name, int status)
{
	if (!status) {
		field(w, name, F_TOKEN, NULL);
		return;
	}
	begin(w, name, F_NUM);
	putf(w->o, "%d", status);
}

size_t alog_format(char *buf, size_t cap, const struct alog_fields *f, enum cfg_log_format fmt)
{
	struct out o = { buf, 0, cap - 1 };
	struct fw w = { &o, fmt, 0 };

	field(&w, "type", F_TOKEN, f->type);
	begin(&w, "time", F_TOKEN);
	put_time(&o, f->time_us);
	end(&w, F_TOKEN);
	field(&w, "elb", F_TOKEN, f->elb);
	field(&w, "client:port", F_TOKEN, f->client);
	field(&w, "target:port", F_TOKEN, f->target);
	begin(&w, "request_processing_time", F_NUM);
	put_secs(&o, f->request_us);
	begin(&w, "target_processing_time", F_NUM);
	put_secs(&o, f->target_us);
	begin(&w, "response_processing_time", F_NUM);
	put_secs(&o, f->response_us);
	field_status(&w, "elb_status_code", f->elb_status);
	field_status(&w, "target_status_code", f->target_status);
	begin(&w, "received_bytes", F_NUM);
	putf(&o, "%" PRIu64, f->received_bytes);
	begin(&w, "sent_bytes", F_NUM);
	putf(&o, "%" PRIu64, f->sent_bytes);

	/* "GET http://host:port/uri HTTP/1.1"; "- http://host:port- -" when
	 * the request could not be read */
	begin(&w, "request", F_QUOTED);
	{
		void (*esc)(struct out *, const char *, size_t, int) = fmt == CFG_LOG_JSON ? put_json_q : put_esc;
		size_t lim = o.lim;
		char hp[300];
		size_t hl = f->host ? (f->host_len > 255 ? 255 : f->host_len) : 1;
		int n = snprintf(hp, sizeof hp, "%s://%.*s:%u%s", f->scheme ? f->scheme : "http", (int)hl,
				 f->host ? f->host : "-", f->port, f->method ? "" : "-");

		if (o.len + URL_OUT_MAX < lim)
			o.lim = o.len + URL_OUT_MAX;
		if (n < 0)
			n = 0;
		if ((size_t)n >= sizeof hp)
			n = sizeof hp - 1;
		if (f->method) {
			esc(&o, f->method, strlen(f->method), 1);
			putc_(&o, ' ');
			esc(&o, hp, (size_t)n, 1);
			esc(&o, f->uri ? f->uri : "", f->uri ? strlen(f->uri) : 0, 1);
			putc_(&o, ' ');
			esc(&o, f->version ? f->version : "-", f->version ? strlen(f->version) : 1, 1);
		} else {
			puts_(&o, "- ");
			esc(&o, hp, (size_t)n, 1);
			puts_(&o, " -");
		}
		o.lim = lim;
	}
	end(&w, F_QUOTED);
	field_cut(&w, "user_agent", F_QUOTED, f->user_agent,
		  f->user_agent_len > ALOG_UA_MAX ? ALOG_UA_MAX : f->user_agent_len, UA_OUT_MAX);
	field(&w, "ssl_cipher", F_TOKEN, f->ssl_cipher);
	field(&w, "ssl_protocol", F_TOKEN, f->ssl_protocol);
	field(&w, "target_group_arn", F_TOKEN, f->tg_arn);
	field_cut(&w, "trace_id", F_QUOTED, f->trace, f->trace_len, TRACE_OUT_MAX);
	field(&w, "domain_name", F_QUOTED, f->domain);
	field(&w, "chosen_cert_arn", F_QUOTED, f->cert);
	if (f->rule_priority < 0) {
		field(&w, "matched_rule_priority", F_TOKEN, NULL);
	} else {
		begin(&w, "matched_rule_priority", F_NUM);
		putf(&o, "%d", f->rule_priority);
	}
	begin(&w, "request_creation_time", F_TOKEN);
	put_time(&o, f->created_us);
	end(&w, F_TOKEN);
	field(&w, "actions_executed", F_QUOTED, f->actions);
	field_cut(&w, "redirect_url", F_QUOTED, f->redirect_url, f->redirect_url_len, URL_OUT_MAX);
	field(&w, "error_reason", F_QUOTED, f->error_reason);
	field(&w, "target:port_list", F_QUOTED, f->target_list);
	field(&w, "target_status_code_list", F_QUOTED, f->target_status_list);
	field(&w, "classification", F_QUOTED, f->classification);
	field(&w, "classification_reason", F_QUOTED, f->classification_reason);
	if (fmt == CFG_LOG_JSON)
		putc_(&o, '}');
	buf[o.len++] = '\n';
	return o.len;
}

/* ------------------------------------------------------------ the rings */

struct chunk {
	size_t len;
	unsigned lines;
	char data[ALOG_CHUNK];
};

/* One worker's ring. PUB counts chunks handed over (written by the
 * worker), DONE chunks written out (by the control thread); chunk
 * PUB % ALOG_CHUNKS is the one being filled while PUB - DONE < ALOG_CHUNKS. */
struct ring {
	_Atomic unsigned pub;
	char _pad1[60];
	_Atomic unsigned done;
	char _pad2[60];
	struct chunk *chunks[ALOG_CHUNKS];
};

#define RINGS_MAX 1024
static _Atomic(struct ring *) rings[RINGS_MAX];

/* WORKER's ring, made at its first line. Thread: that worker. */
static struct ring *ring_of(unsigned worker)
{
	struct ring *r;

	if (worker >= RINGS_MAX)
		return NULL;
	r = atomic_load_explicit(&rings[worker], memory_order_relaxed);
	if (r)
		return r;
	r = aligned_alloc(64, sizeof *r);
	if (!r)
		return NULL;
	memset(r, 0, sizeof *r);
	for (int i = 0; i < ALOG_CHUNKS; i++)
		if (!(r->chunks[i] = malloc(sizeof(struct chunk)))) {
			while (i--)
				free(r->chunks[i]);
			free(r);
			return NULL;
		}
	r->chunks[0]->len = 0;
	r->chunks[0]->lines = 0;
	atomic_store_explicit(&rings[worker], r, memory_order_release);
	return r;
}

/* The chunk being filled, or NULL when every chunk waits for the writer. */
static struct chunk *filling(struct ring *r)
{
	unsigned pub = atomic_load_explicit(&r->pub, memory_order_relaxed);
	unsigned done = atomic_load_explicit(&r->done, memory_order_acquire);

	return pub - done < ALOG_CHUNKS ? r->chunks[pub % ALOG_CHUNKS] : NULL;
}

/* Hand the chunk being filled over; the next one starts empty. */
static void hand_over(struct ring *r)
{
	unsigned pub = atomic_load_explicit(&r->pub, memory_order_relaxed);
	unsigned done = atomic_load_explicit(&r->done, memory_order_acquire);

	atomic_store_explicit(&r->pub, pub + 1, memory_order_release);
	if (pub + 1 - done < ALOG_CHUNKS) {
		struct chunk *c = r->chunks[(pub + 1) % ALOG_CHUNKS];
		c->len = 0;
		c->lines = 0;
	}
}

int alog_append(unsigned worker, const char *line, size_t len)
{
	struct ring *r = ring_of(worker);
	struct chunk *c;

	if (!r || len > ALOG_CHUNK || !(c = filling(r)))
		return 0;
	if (c->len + len > ALOG_CHUNK) {
		hand_over(r);
		if (!(c = filling(r)))
			return 0;
	}
	memcpy(c->data + c->len, line, len);
	c->len += len;
	c->lines++;
	return 1;
}

void alog_publish(unsigned worker)
{
	struct ring *r = worker < RINGS_MAX ? atomic_load_explicit(&rings[worker], memory_order_relaxed) : NULL;
	struct chunk *c;

	if (r && (c = filling(r)) && c->len)
		hand_over(r);
}

/* ------------------------------------------------------------ the file */

static int log_fd = -1;
static char *log_path;
static int mid_line;   /* a failed write stopped inside a line: end it first */

static int open_log(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

	if (fd < 0)
		snprintf(err, errlen, "access_log: cannot open %s: %s", path, strerror(errno));
	return fd;
}

int alog_apply(const struct albd_config *cfg, char *err, size_t errlen)
{
	const struct cfg_access_log *al = &cfg->access_log;

	if (!al->enabled) {
		if (log_fd >= 0) {
			alog_flush();
			close(log_fd);
			log_fd = -1;
		}
		free(log_path);
		log_path = NULL;
		return 0;
	}
	if (log_fd >= 0 && log_path && strcmp(log_path, al->path) == 0)
		return 0;
	int fd = open_log(al->path, err, errlen);
	char *p = fd >= 0 ? strdup(al->path) : NULL;
	if (fd < 0 || !p) {
		if (fd >= 0) {
			close(fd);
			snprintf(err, errlen, "access_log: out of memory");
		}
		return -1;
	}
	if (log_fd >= 0) {
		alog_flush();    /* what the old file was promised goes there */
		close(log_fd);
	}
	log_fd = fd;
	free(log_path);
	log_path = p;
	return 0;
}

int alog_chown(uid_t uid, gid_t gid)
{
	return log_fd >= 0 ? fchown(log_fd, uid, gid) : 0;
}

void alog_reopen(void)
{
	char err[512];

	if (!log_path)
		return;
	alog_flush();
	int fd = open_log(log_path, err, sizeof err);
	if (fd < 0) {
		log_err("%s; writing on to the file that was open", err);
		return;
	}
	close(log_fd);
	log_fd = fd;
	mid_line = 0;
	log_info("access_log: reopened %s", log_path);
}

/* Write C whole; returns the lines that did not make it. */
static unsigned write_chunk(const struct chunk *c)
{
	size_t off = 0;

	if (log_fd < 0)
		return c->lines;
	/* the file ends inside a line a failed write cut: end it, so that
	 * the next line starts on its own (JSON lines stay parseable) */
	if (mid_line) {
		if (write(log_fd, "\n", 1) != 1) {
			log_warn("access_log: cannot write %s: %s; %u lines dropped", log_path ? log_path : "?",
				 strerror(errno), c->lines);
			return c->lines;
		}
		mid_line = 0;
	}
	while (off < c->len) {
		ssize_t n = write(log_fd, c->data + off, c->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			unsigned lost = 0;
			for (size_t i = off; i < c->len; i++)
				lost += c->data[i] == '\n';
			log_warn("access_log: cannot write %s: %s; %u lines dropped", log_path ? log_path : "?",
				 n < 0 ? strerror(errno) : "nothing written", lost);
			mid_line = off > 0 && c->data[off - 1] != '\n';
			return lost;
		}
		off += (size_t)n;
	}
	return 0;
}

uint64_t alog_flush(void)
{
	uint64_t lost = 0;

	for (unsigned w = 0; w < RINGS_MAX; w++) {
		struct ring *r = atomic_load_explicit(&rings[w], memory_order_acquire);

		if (!r)
			continue;
		unsigned pub = atomic_load_explicit(&r->pub, memory_order_acquire);
		unsigned done = atomic_load_explicit(&r->done, memory_order_relaxed);
		for (; done != pub; done++) {
			struct chunk *c = r->chunks[done % ALOG_CHUNKS];
			lost += write_chunk(c);
			/* empty again before the worker may fill it (the release
			 * store below publishes this) */
			c->len = 0;
			c->lines = 0;
		}
		atomic_store_explicit(&r->done, done, memory_order_release);
	}
	return lost;
}

void alog_shutdown(void)
{
	alog_flush();
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	free(log_path);
	log_path = NULL;
	for (unsigned w = 0; w < RINGS_MAX; w++) {
		struct ring *r = atomic_exchange(&rings[w], NULL);

		if (!r)
			continue;
		for (int i = 0; i < ALOG_CHUNKS; i++)
			free(r->chunks[i]);
		free(r);
	}
}
