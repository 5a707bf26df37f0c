/* wbuf.h - write a message head straight into an evbuffer's free space.
 *
 * A head written as thirty evbuffer_add() calls and a few
 * evbuffer_add_printf() ones cost about 6,000 instructions per proxied
 * request (a vsnprintf is 700 on its own). A writer reserves one
 * contiguous run of the buffer (evbuffer_reserve_space), copies into it
 * with bounds-checked memcpy and commits once. If the run proves too small
 * nothing is committed and the caller writes again into a larger one, so
 * an estimate that is short costs a retry, never a broken head.
 *
 *   struct wbuf b; struct evbuffer_iovec v;
 *   for (size_t want = estimate;; want *= 2) {
 *           if (wbuf_begin(&b, out, want, &v) < 0) break;      // no memory
 *           ... wbuf_add(&b, p, n); WBUF_LIT(&b, "\r\n"); wbuf_u64(&b, x); ...
 *           if (wbuf_end(&b, out, &v) == 0) break;             // committed
 *   }
 *
 * Nothing else may touch OUT between wbuf_begin() and wbuf_end().
 * Thread: the buffer's.
 */
#ifndef ALBD_WBUF_H
#define ALBD_WBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

struct wbuf {
	char *p;      /* next byte to write */
	char *end;    /* end of the reserved run */
	char *start;
	int over;     /* something did not fit */
};

/* Reserve WANT contiguous bytes at the end of OUT. -1: out of memory. */
static inline int wbuf_begin(struct wbuf *b, struct evbuffer *out, size_t want, struct evbuffer_iovec *v)
{
	if (evbuffer_reserve_space(out, (ev_ssize_t)want, v, 1) != 1 || v->iov_len < want)
		return -1;
	b->start = b->p = v->iov_base;
	b->end = b->start + v->iov_len;
	b->over = 0;
	return 0;
}

/* Commit what was written. -1 (nothing committed): it did not fit. */
static inline int wbuf_end(struct wbuf *b, struct evbuffer *out, struct evbuffer_iovec *v)
{
	v->iov_len = b->over ? 0 : (size_t)(b->p - b->start);
	if (evbuffer_commit_space(out, v, 1) < 0)
		b->over = 1;   /* refused (OUT changed since wbuf_begin): nothing written */
	return b->over ? -1 : 0;
}

/* A writer over a plain array (for the unit tests): BUF[0..CAP). */
static inline void wbuf_init(struct wbuf *b, char *buf, size_t cap)
{
	b->start = b->p = buf;
	b->end = buf + cap;
	b->over = 0;
}

static inline size_t wbuf_len(const struct wbuf *b)
{
	return (size_t)(b->p - b->start);
}

static inline void wbuf_add(struct wbuf *b, const void *s, size_t n)
{
	if (n == 0)
		return;   /* S may be NULL then, which memcpy() must not see */
	if ((size_t)(b->end - b->p) < n) {
		b->over = 1;
		b->p = b->end;
		return;
	}
	memcpy(b->p, s, n);
	b->p += n;
}

#define WBUF_LIT(b, s) wbuf_add((b), (s), sizeof(s) - 1)

static inline void wbuf_str(struct wbuf *b, const char *s)
{
	wbuf_add(b, s, strlen(s));
}

/* V in decimal. */
static inline void wbuf_u64(struct wbuf *b, uint64_t v)
{
	char t[20];
	int i = 20;
	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	wbuf_add(b, t + i, (size_t)(20 - i));
}

/* The IPv4 address A (4 bytes, network order) in dotted decimal: the
 * client's address in X-Forwarded-For, on every request (inet_ntop()
 * formats it with sprintf). */
static inline void wbuf_ipv4(struct wbuf *b, const unsigned char *a)
{
	char t[16], *p = t;
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100) {
			*p++ = (char)('0' + v / 100);
			v %= 100;
			*p++ = (char)('0' + v / 10);
		} else if (v >= 10) {
			*p++ = (char)('0' + v / 10);
		}
		*p++ = (char)('0' + v % 10);
		*p++ = '.';
	}
	wbuf_add(b, t, (size_t)(p - t - 1));
}

#endif
