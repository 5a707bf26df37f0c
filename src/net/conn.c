/* conn.c - see conn.h */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <linux/sockios.h>
#include <unistd.h>

#include <openssl/err.h>

#define READ_MIN 16384
#define READ_MAX_CHUNK 262144
#define CHAIN_SLACK 256   /* more than libevent's chain header (struct evbuffer_chain) */
#define SMALL_READ 32768
#define SEND_GATHER_MAX 4096  /* see do_write() */

static void park_now(struct conn *c);

/* Deliver one event; returns 0 if the conn is still alive after it. A
 * parked conn takes its buffers back first: the owner finds them in every
 * callback (or, out of memory, gets CONN_ERROR without them). */
static int deliver(struct conn *c, enum conn_event ev)
{
	c->park_want = 0;   /* the owner decides again in this callback */
	if (!c->in && conn_unpark(c) < 0)
		ev = CONN_ERROR;
	c->in_cb = 1;
	c->cb(c, ev, c->arg);
	c->in_cb = 0;
	if (c->dead) {
		conn_free(c);
		return -1;
	}
	if (c->park_want)
		park_now(c);   /* what follows in event_cb copes with a parked conn */
	return 0;
}

/* A read that found nothing leaves the chain it reserved in c->in, empty
 * (evbuffer_drain() does nothing to an empty buffer): 16 KiB that an idle
 * connection would keep, about 4 KiB of it resident. Give it back. */
static void drop_empty_chain(struct evbuffer *in)
{
	int e = errno;   /* the failed read's, which the caller reads next */
	if (evbuffer_get_length(in) == 0 && evbuffer_add(in, "", 1) == 0)
		evbuffer_drain(in, 1);   /* draining all of a buffer frees its chains */
	errno = e;
}

/* Bytes waiting in c->out (none while parked). */
static size_t out_len(const struct conn *c)
{
	return c->out ? evbuffer_get_length(c->out) : 0;
}

/* Room in P for K more buffers; -1 when memory is short. */
static int pool_room(struct conn_pool *p, unsigned k)
{
	if (p->n + k <= p->cap)
		return 0;
	unsigned cap = p->cap ? p->cap : 32;
	while (cap < p->n + k)
		cap *= 2;
	struct evbuffer **v = realloc(p->v, cap * sizeof(*v));
	if (!v)
		return -1;
	p->v = v;
	p->cap = cap;
	return 0;
}

/* Give C's buffers to its pool if it holds nothing and nothing is under
 * way that needs them. */
static void park_now(struct conn *c)
{
	c->park_want = 0;
	if (!c->in || !c->pool || c->dead || c->failed || c->connecting || c->handshaking ||
	    evbuffer_get_length(c->in))
		return;
	if (evbuffer_get_length(c->out)) {
		/* the end of a response the socket did not take yet: once a
		 * writable edge sends the rest, which may report nothing (no
		 * CONN_DRAINED when an earlier one came already) */
		c->park_want = 1;
		return;
	}
	if (pool_room(c->pool, 2) < 0)
		return;   /* keep them */
	/* both empty: no drain needed */
	c->pool->v[c->pool->n++] = c->in;
	c->pool->v[c->pool->n++] = c->out;
	c->in = c->out = NULL;
}

int conn_unpark(struct conn *c)
{
	if (c->in)
		return 0;
	struct evbuffer *in = conn_pool_get(c->pool), *out = in ? conn_pool_get(c->pool) : NULL;
	if (!out) {
		conn_pool_put(c->pool, in);
		c->failed = 1;
		c->error = ENOMEM;
		return -1;
	}
	c->in = in;
	c->out = out;
	return 0;
}

void conn_park(struct conn *c, struct conn_pool *pool)
{
	c->pool = pool;
	if (c->in_cb)
		c->park_want = 1;
	else
		park_now(c);
}

struct evbuffer *conn_pool_get(struct conn_pool *p)
{
	if (!p->n)
		return evbuffer_new();
	struct evbuffer *b = p->v[--p->n];
	if (p->n < p->low)
		p->low = p->n;
	return b;
}

void conn_pool_put(struct conn_pool *p, struct evbuffer *b)
{
	if (!b)
		return;
	if (pool_room(p, 1) < 0) {
		evbuffer_free(b);
		return;
	}
	evbuffer_drain(b, evbuffer_get_length(b));
	p->v[p->n++] = b;
}

#define CONN_POOL_RESERVE 32

void conn_pool_trim(struct conn_pool *p)
{
	unsigned k = p->low;
	if (p->n - k < CONN_POOL_RESERVE)
		k = p->n > CONN_POOL_RESERVE ? p->n - CONN_POOL_RESERVE : 0;
	while (k--)
		evbuffer_free(p->v[--p->n]);
	p->low = p->n;
	/* the array too, after a burst (it grows again when needed) */
	if (p->cap > 2 * CONN_POOL_RESERVE && p->n <= p->cap / 4) {
		struct evbuffer **v = realloc(p->v, p->cap / 2 * sizeof(*v));
		if (v) {
			p->v = v;
			p->cap /= 2;
		}
	}
}

void conn_pool_clear(struct conn_pool *p)
{
	while (p->n)
		evbuffer_free(p->v[--p->n]);
	free(p->v);
	p->v = NULL;
	p->cap = p->low = 0;
}

#define TLS_WRITE_MAX 16384   /* one TLS record's worth per SSL_write */

static void tls_write(struct conn *c)
{
	while (evbuffer_get_length(c->out)) {
		size_t n = evbuffer_get_length(c->out);
		if (n > TLS_WRITE_MAX)
			n = TLS_WRITE_MAX;
		const unsigned char *p = evbuffer_pullup(c->out, (ssize_t)n);
		ERR_clear_error();
		int r = SSL_write(c->ssl, p, (int)n);
		if (r > 0) {
			evbuffer_drain(c->out, (size_t)r);
			continue;
		}
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			c->writable = 0;
			c->waiting_drain = 1;
			return;
		}
		c->failed = 1;
		c->error = e == SSL_ERROR_SYSCALL && errno ? errno : EPROTO;
		evbuffer_drain(c->out, evbuffer_get_length(c->out));
		return;
	}
}

static void do_write(struct conn *c)
{
	if (c->ssl) {
		tls_write(c);
		return;
	}
	while (evbuffer_get_length(c->out)) {
		/* what one chain holds goes out with send(): a writev() of one
		 * vector costs more in the kernel (the iovec's import and the
		 * VFS layer): a loopback ping-pong of 200-byte messages took
		 * 13.9 us of CPU per four send()/recv() calls against 15.1 us
		 * with writev()/readv() */
		struct evbuffer_iovec one;
		ssize_t n;
		size_t len = evbuffer_get_length(c->out);
		/* a small answer in several chains (albd's head, the target's
		 * body) is gathered first: copying a few hundred bytes costs
		 * less than the writev() */
		if (len <= SEND_GATHER_MAX)
			evbuffer_pullup(c->out, -1);
		if (evbuffer_peek(c->out, -1, NULL, &one, 1) == 1 && one.iov_len == len) {
			n = send(c->fd, one.iov_base, one.iov_len, MSG_NOSIGNAL);
			if (n > 0) {
				evbuffer_drain(c->out, (size_t)n);
				continue;
			}
		} else {
			n = evbuffer_write(c->out, c->fd);
			if (n > 0)
				continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->writable = 0;
			c->waiting_drain = 1;
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		c->failed = 1;
		c->error = n < 0 ? errno : EPIPE;
		evbuffer_drain(c->out, evbuffer_get_length(c->out));
		return;
	}
}

/* TLS: read until OpenSSL wants more from the socket (it may hold
 * decrypted bytes the socket no longer shows). */
static size_t tls_read(struct conn *c)
{
	size_t total = 0;

	while (c->readable && c->reading && !c->eof && !c->failed) {
		size_t have = evbuffer_get_length(c->in);
		if (have >= c->read_max)
			break;
		struct evbuffer_iovec v[1];
		if (evbuffer_reserve_space(c->in, 16384, v, 1) != 1) {
			c->failed = 1;
			c->error = ENOMEM;
			break;
		}
		ERR_clear_error();
		/* the flag must describe a read this SSL_read() made: one served
		 * from OpenSSL's buffer proves nothing about the socket */
		c->tls_rshort = 0;
		int n = SSL_read(c->ssl, v[0].iov_base, (int)v[0].iov_len);
		if (n > 0) {
			v[0].iov_len = (size_t)n;
			evbuffer_commit_space(c->in, v, 1);
			total += (size_t)n;
			if (c->tls_rshort && !c->rdhup && !SSL_has_pending(c->ssl)) {
				/* this read emptied the socket and OpenSSL holds
				 * nothing: whatever comes next brings a new edge */
				c->readable = 0;
				break;
			}
			continue;
		}
		evbuffer_commit_space(c->in, v, 0);
		drop_empty_chain(c->in);
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			c->readable = 0;
		} else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) {
			c->eof = 1;   /* close_notify, or a plain close */
			c->readable = 0;
		} else {
			c->failed = 1;
			c->error = e == SSL_ERROR_SYSCALL && errno ? errno : EPROTO;
		}
		ERR_clear_error();
		break;
	}
	return total;
}

/* Plain TCP: read while the socket may hold more and c->in has room.
 * Returns the number of bytes read; sets eof/failed. */
static size_t tcp_read(struct conn *c)
{
	size_t total = 0;

	while (c->readable && c->reading && !c->eof && !c->failed) {
		size_t have = evbuffer_get_length(c->in);
		if (have >= c->read_max)
			break;
		size_t want = c->read_size;
		if (want > c->read_max - have)
			want = c->read_max - have;
		if (want < 4096)
			want = 4096;
		/* libevent allocates a chain as its header plus the space asked
		 * for, rounded up to a power of two: 8 KiB asked would cost a
		 * 16 KiB block. Asking for a little less than a power of two
		 * keeps the block at it, and what a slow peer's queue holds
		 * close to the bytes queued. Only for small reads: bulk ones are
		 * brief, and a 64 KiB read would become two. */
		if (want <= SMALL_READ)
			want -= CHAIN_SLACK;
		struct evbuffer_iovec v[2];
		int nv = evbuffer_reserve_space(c->in, (ev_ssize_t)want, v, 2);
		if (nv <= 0) {
			c->failed = 1;
			c->error = ENOMEM;
			break;
		}
		struct iovec iov[2];
		size_t space = 0;
		for (int i = 0; i < nv; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len;
			space += v[i].iov_len;
		}
		/* recv() for one vector: cheaper in the kernel than readv() */
		ssize_t n = nv == 1 ? recv(c->fd, iov[0].iov_base, iov[0].iov_len, 0) : readv(c->fd, iov, nv);
		if (n > 0) {
			size_t left = (size_t)n;
			for (int i = 0; i < nv; i++) {
				size_t k = left < v[i].iov_len ? left : v[i].iov_len;
				v[i].iov_len = k;
				left -= k;
			}
			evbuffer_commit_space(c->in, v, nv);
			total += (size_t)n;
			if ((size_t)n < space && !c->rdhup) {
				/* a short read: the socket is empty now; the next
				 * arrival brings a new edge. Unless the peer has
				 * closed (EPOLLRDHUP): then its FIN may have come
				 * with the data, and only reading finds it. */
				c->readable = 0;
				break;
			}
			if (c->read_size < READ_MAX_CHUNK)
				c->read_size *= 2;
			continue;
		}
		evbuffer_commit_space(c->in, v, 0);
		drop_empty_chain(c->in);
		if (n == 0) {
			c->eof = 1;
			c->readable = 0;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->readable = 0;
		} else if (errno != EINTR) {
			c->failed = 1;
			c->error = errno;
		}
	}
	return total;
}

/* Read (TLS or plain) into c->in; a parked conn takes its buffers back
 * for it, and parks them again when nothing came. */
static size_t do_read(struct conn *c)
{
	int parked = !c->in;
	if (parked && conn_unpark(c) < 0)
		return 0;
	size_t total = c->ssl ? tls_read(c) : tcp_read(c);
	if (parked && !total)
		park_now(c);   /* a spurious edge, or the end: nothing to hold */
	return total;
}

static void event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	c->pending = 0;
	if (c->connecting && (what & (EV_WRITE | EV_READ | EV_CLOSED))) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (!c->failed && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (c->failed || err) {
			c->connecting = 0;
			c->failed = 1;
			if (!c->error)
				c->error = err;
			deliver(c, CONN_ERROR);
			return;
		}
		if (!(what & EV_WRITE))
			return;           /* not decided yet */
		c->connecting = 0;
		if (c->ssl) {
			c->handshaking = 1;   /* CONN_CONNECTED once it is done */
		} else {
			/* whatever was queued while connecting goes out now; the
			 * owner may have paused its source on it, so report the
			 * drain too */
			c->waiting_drain = 1;
			if (deliver(c, CONN_CONNECTED) < 0)
				return;
			what |= EV_WRITE;
		}
	}
	if (c->handshaking) {
		ERR_clear_error();
		int r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;   /* the next edge goes on with it */
			ERR_clear_error();
			c->handshaking = 0;
			c->failed = 1;
			c->tls_failed = 1;
			c->error = e == SSL_ERROR_SYSCALL && errno ? errno : EPROTO;
			deliver(c, CONN_ERROR);
			return;
		}
		c->handshaking = 0;
		c->readable = 1;     /* application data may have come with it */
		c->writable = 1;
		if (c->tls_client) {
			c->waiting_drain = 1;
			if (deliver(c, CONN_CONNECTED) < 0)
				return;
		}
		what |= EV_WRITE | EV_READ;
	}
	if ((what & EV_READ) && c->ssl && c->waiting_drain && out_len(c))
		what |= EV_WRITE;    /* an SSL_write that wanted to read first */
	if (what & EV_WRITE) {
		c->writable = 1;
		/* every writable edge flushes what is pending */
		if (out_len(c))
			do_write(c);
		if (c->waiting_drain && !c->failed && out_len(c) <= c->low_mark) {
			c->waiting_drain = 0;
			if (deliver(c, CONN_DRAINED) < 0)
				return;
		}
		if (c->park_want && !out_len(c))
			park_now(c);   /* the owner asked while output was left */
	}
	if (what & EV_CLOSED)
		c->rdhup = 1;
	if (what & (EV_READ | EV_CLOSED))
		c->readable = 1;
	if (c->failed) {
		deliver(c, CONN_ERROR);
		return;
	}
	/* Read and deliver until the socket is empty, the owner stops
	 * reading, or c->in is full and the owner leaves it so. */
	while (c->readable && c->reading) {
		if (do_read(c) == 0)
			break;
		if (deliver(c, CONN_READ) < 0)
			return;
	}
	if (c->failed) {
		deliver(c, CONN_ERROR);
		return;
	}
	if (c->eof && c->reading) {
		c->reading = 0;
		deliver(c, CONN_EOF);
	}
}

/* Run event_cb from the loop soon, with WHAT. */
static void defer(struct conn *c, short what)
{
	if (c->pending)
		return;
	c->pending = 1;
	event_active(&c->ev, what, 1);
}

static struct conn *conn_alloc(struct event_base *base, int fd, struct conn_pool *pool)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->pool = pool;
	if (!pool) {
		c->in = evbuffer_new();
		c->out = evbuffer_new();
	}
	if (!pool && (!c->in || !c->out)) {
		if (c->in)
			evbuffer_free(c->in);
		if (c->out)
			evbuffer_free(c->out);
		free(c);
		return NULL;
	}
	c->read_max = 65536;
	c->read_size = READ_MIN;
	c->reading = 1;
	event_assign(&c->ev, base, fd, EV_READ | EV_WRITE | EV_CLOSED | EV_ET | EV_PERSIST, event_cb, c);
	if (event_add(&c->ev, NULL) < 0) {
		if (c->in) {
			evbuffer_free(c->in);
			evbuffer_free(c->out);
		}
		free(c);
		return NULL;
	}
	return c;
}

struct event_base *conn_base_new(int nolock, char *err, size_t errlen)
{
	struct event_config *ec = event_config_new();
	struct event_base *base = NULL;

	if (!ec) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (nolock)
		event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
	event_config_require_features(ec, EV_FEATURE_ET);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (!base)
		snprintf(err, errlen, "libevent offers no edge-triggered back end (epoll), which albd needs;"
				      " is EVENT_NOEPOLL set in the environment?");
	return base;
}

struct conn *conn_new(struct event_base *base, int fd, struct conn_pool *pool)
{
	struct conn *c = conn_alloc(base, fd, pool);

	if (!c) {
		close(fd);
		return NULL;
	}
	c->writable = 1;
	c->readable = 1;   /* data may have arrived with the handshake */
	return c;
}

struct conn *conn_connect(struct event_base *base, const struct sockaddr *sa, socklen_t salen)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int r = connect(fd, sa, salen);
	int err = r < 0 ? errno : 0;
	struct conn *c = conn_alloc(base, fd, NULL);
	if (!c) {
		close(fd);
		return NULL;
	}
	c->connecting = 1;
	if (r == 0) {
		defer(c, EV_WRITE);
	} else if (err != EINPROGRESS) {
		c->failed = 1;
		c->error = err;
		defer(c, EV_WRITE);
	}
	return c;
}

/* The socket BIO's reads, watched: with read-ahead (tls.c) OpenSSL asks
 * for all the room its buffer has, so a read that came back short found
 * the socket empty. tls_read() then stops without one more read() that
 * could only meet EAGAIN, as do_read() does after a short read. */
static long tls_bio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
		       size_t *processed)
{
	(void)argp;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
		struct conn *c = (struct conn *)BIO_get_callback_arg(b);
		if (c)
			c->tls_rshort = ret > 0 && processed && *processed < len;
	}
	return ret;
}

void conn_tls(struct conn *c, SSL *ssl, int client)
{
	c->ssl = ssl;
	SSL_set_fd(ssl, c->fd);
	BIO *rb = SSL_get_rbio(ssl);
	if (rb) {
		BIO_set_callback_arg(rb, (char *)c);
		BIO_set_callback_ex(rb, tls_bio_cb);
	}
	c->tls_client = client;
	if (!client) {
		c->handshaking = 1;
		defer(c, EV_READ);   /* the ClientHello may be here already */
	}
	/* a client starts its handshake once the TCP connection is made */
}

int conn_tls_heard(const struct conn *c)
{
	BIO *rb = c->ssl ? SSL_get_rbio(c->ssl) : NULL;

	return rb && BIO_number_read(rb) > 0;
}

void conn_setcb(struct conn *c, conn_cb cb, void *arg)
{
	c->cb = cb;
	c->arg = arg;
}

void conn_read(struct conn *c, int on)
{
	c->reading = on;
	/* the edge may be spent: read what the socket still holds */
	if (on && (c->readable || c->eof))
		defer(c, EV_READ);
}

void conn_flush(struct conn *c)
{
	if (c->connecting || c->handshaking || c->failed || !out_len(c))
		return;
	if (c->writable)
		do_write(c);
	else
		c->waiting_drain = 1;   /* the next edge writes it: report CONN_DRAINED then, even if
		                         * the last edge already reported one (its EAGAIN left bytes
		                         * below low_mark), or a caller that paused on this output
		                         * waits forever */
	if (c->failed)
		defer(c, EV_WRITE);
}

/* One of the socket's send queue counts (SIOCOUTQ, SIOCOUTQNSD); 0 when unknown. */
static size_t send_queue(const struct conn *c, unsigned long req)
{
	int n = 0;

	if (ioctl(c->fd, req, &n) < 0 || n < 0)
		return 0;
	return (size_t)n;
}

size_t conn_outq(const struct conn *c)
{
	return send_queue(c, SIOCOUTQ);
}

size_t conn_unsent(const struct conn *c)
{
	return send_queue(c, SIOCOUTQNSD);
}

void conn_shutdown_write(struct conn *c)
{
	if (c->ssl && !c->handshaking && !c->failed)
		SSL_shutdown(c->ssl);   /* close_notify first */
	shutdown(c->fd, SHUT_WR);
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	if (c->in_cb) {
		c->dead = 1;
		c->reading = 0;
		return;
	}
	event_del(&c->ev);
	if (c->ssl) {
		/* a close_notify if it can go now; never wait for the peer's */
		if (!c->handshaking && !c->failed && !c->eof)
			SSL_shutdown(c->ssl);
		ERR_clear_error();
		SSL_free(c->ssl);
	}
	close(c->fd);
	if (c->in && c->pool) {
		/* for the next connection (emptied there) */
		conn_pool_put(c->pool, c->in);
		conn_pool_put(c->pool, c->out);
	} else if (c->in) {
		evbuffer_free(c->in);
		evbuffer_free(c->out);
	}   /* else parked: its pool has them */
	free(c);
}
