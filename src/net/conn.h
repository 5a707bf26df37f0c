/* conn.h - a non-blocking stream socket with input and output evbuffers,
 * driven by one edge-triggered libevent event.
 *
 * Why not bufferevents: a bufferevent re-arms its epoll interest every time
 * its output fills and drains and asks the kernel how much is readable
 * before every read, which is four epoll_ctl and two ioctl calls per
 * proxied request. A conn registers EPOLLIN|EPOLLOUT|EPOLLET once, writes
 * at once when told to flush (waiting for the writable edge only after
 * EAGAIN), and reads until a short read, as nginx does. Per exchange that
 * leaves one read and one write on each side.
 *
 * Callbacks always come from the event loop, never from inside a conn_*
 * call, so a caller never sees its own callback re-entered. A conn freed
 * inside its callback is released when the callback returns.
 * Thread: a conn belongs to the worker whose event_base it was made on.
 */
#ifndef ALBD_CONN_H
#define ALBD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/ssl.h>

/* What a callback reports (one at a time). */
enum conn_event {
	CONN_READ = 1,       /* new bytes in c->in */
	CONN_DRAINED,        /* the output fell to the low mark after waiting to write */
	CONN_CONNECTED,      /* an outgoing connection is established */
	CONN_EOF,            /* the peer closed its side (after any CONN_READ of the last bytes) */
	CONN_ERROR,          /* connect failure, reset, or a write error; c->error holds errno */
};

struct conn;
typedef void (*conn_cb)(struct conn *c, enum conn_event ev, void *arg);

struct conn {
	struct event ev;          /* first: the fields are ordered to keep the struct at 200
	                           * bytes (a 208-byte block; every client connection has one) */
	struct evbuffer *in;
	struct evbuffer *out;
	conn_cb cb;
	void *arg;
	SSL *ssl;                 /* NULL: plain TCP */
	struct conn_pool *pool;   /* where conn_park() gives in and out; while parked they are NULL */
	uint32_t read_max;        /* stop reading while c->in holds this much */
	uint32_t low_mark;        /* CONN_DRAINED when c->out falls to this */
	uint32_t read_size;       /* next read's size, grows with bulk transfers */
	int error;                /* errno of the failure */
	int fd;
	unsigned reading : 1;     /* the owner wants input */
	unsigned readable : 1;    /* the last read did not prove the socket empty */
	unsigned writable : 1;    /* no EAGAIN since the last writable edge */
	unsigned connecting : 1;
	unsigned eof : 1;
	unsigned rdhup : 1;       /* the peer closed its side (EPOLLRDHUP): read to the end */
	unsigned failed : 1;
	unsigned waiting_drain : 1; /* a write met EAGAIN: report CONN_DRAINED */
	unsigned in_cb : 1;
	unsigned dead : 1;
	unsigned pending : 1;     /* a deferred activation is queued */
	unsigned handshaking : 1; /* TLS handshake under way */
	unsigned tls_client : 1;  /* we connected: CONN_CONNECTED waits for the handshake */
	unsigned tls_failed : 1;  /* the TLS handshake failed (a negotiation error) */
	unsigned tls_rshort : 1;  /* TLS: the socket's last read came back short (it was empty) */
	unsigned park_want : 1;   /* conn_park() was called in a callback: park when it returns */
};

/* A free list of empty evbuffers, for a worker's conns while they are
 * parked (conn_park()) and for whatever else the worker wants an empty
 * buffer for a while. It grows to what is in use at the busiest moment and
 * conn_pool_trim() gives back what a whole interval did not need, so a
 * worker whose connections go idle all at once keeps its buffers no longer
 * than that. Thread: the worker's; one pool per thread. */
struct conn_pool {
	struct evbuffer **v;
	unsigned n, cap;
	unsigned low;             /* the fewest held since the last trim */
};

/* An empty evbuffer from P, or a new one; NULL when memory is short. */
struct evbuffer *conn_pool_get(struct conn_pool *p);

/* Give B (emptied here) back to P; freed when P cannot hold it. B may be
 * NULL. */
void conn_pool_put(struct conn_pool *p, struct evbuffer *b);

/* Free the buffers P held all the time since the last trim, beyond a
 * reserve of 32. Call it every second or so. */
void conn_pool_trim(struct conn_pool *p);

/* Free every buffer P holds (the worker stops). */
void conn_pool_clear(struct conn_pool *p);

/* A new event_base for conns, or NULL with a message in ERR. conns need
 * edge-triggered events (epoll): a level-triggered back end would report a
 * quiet keep-alive socket as ready forever and spin a core, so a base
 * without EV_FEATURE_ET is refused (EVENT_NOEPOLL set, say). NOLOCK: only
 * one thread will ever use the base. Thread: any. */
struct event_base *conn_base_new(int nolock, char *err, size_t errlen);

/* Wrap the connected socket FD (non-blocking). Returns NULL (and closes FD)
 * on failure. Reading starts on; set callbacks with conn_setcb(). With a
 * POOL, the conn starts parked (conn_park()): its buffers come from POOL
 * when something arrives; NULL: it has them from the start. */
struct conn *conn_new(struct event_base *base, int fd, struct conn_pool *pool);

/* Start a non-blocking connect to SA. Returns NULL on failure (no socket).
 * The outcome arrives as CONN_CONNECTED or CONN_ERROR. */
struct conn *conn_connect(struct event_base *base, const struct sockaddr *sa, socklen_t salen);

void conn_setcb(struct conn *c, conn_cb cb, void *arg);

/* Speak TLS over C with SSL (which the conn then owns and frees), as the
 * server (accepted socket) or as the client (after conn_connect(): then
 * CONN_CONNECTED comes once the handshake is done). Plain and TLS conns
 * behave alike for their owner. */
void conn_tls(struct conn *c, SSL *ssl, int client);

/* Has the TLS peer of C sent a byte yet (over a server conn: its
 * ClientHello began)? A connection that closes or fails before that
 * initiated no negotiation. 0 for plain TCP. Thread: C's. */
int conn_tls_heard(const struct conn *c);

/* Want input or not. Turning it on (again) also reads, soon, what the
 * socket may still hold: call it whenever c->in was drained after the
 * owner had left it full. */
void conn_read(struct conn *c, int on);

/* Write what c->out holds now, as far as the socket takes it. Errors are
 * reported later as CONN_ERROR. */
void conn_flush(struct conn *c);

/* Bytes written to the socket that the kernel could not send yet (the
 * peer's receive window is closed: SIOCOUTQNSD), 0 when unknown. A peer
 * that reads keeps its window open and this near zero; a slow reader
 * leaves it full. (Unacknowledged bytes, SIOCOUTQ, would not tell: a fast
 * peer's delayed ACKs keep them high.) One ioctl: for occasional
 * decisions, not for every write. */
size_t conn_unsent(const struct conn *c);

/* Bytes of C's socket send queue not yet acknowledged by the peer
 * (SIOCOUTQ; 0 on error): while it falls, the peer is reading. Thread: the
 * connection's. */
size_t conn_outq(const struct conn *c);

/* Half-close: no more output (after conn_flush emptied c->out). */
void conn_shutdown_write(struct conn *c);

/* The owner waits for the peer (an idle keep-alive connection): when c->in
 * and c->out are both empty, give them to POOL until something happens,
 * so an idle connection holds no buffer. Inside C's callback it takes
 * effect when the callback returns. The conn takes its buffers back before
 * any callback and before it reads, so the owner finds c->in and c->out
 * as always in its callbacks; outside them, it must not touch them until
 * the next callback or conn_unpark(). POOL must outlive C. */
void conn_park(struct conn *c, struct conn_pool *pool);

/* Take C's buffers back if it is parked. -1 (C failed, ENOMEM) when
 * memory is short: then c->in and c->out stay NULL (and a callback that
 * found no memory to take them back is CONN_ERROR, without them). */
int conn_unpark(struct conn *c);

/* Close the socket and free the conn (deferred when inside its callback).
 * A conn that was given a pool (conn_new(), conn_park()) leaves its
 * buffers there, so the pool must outlive it. */
void conn_free(struct conn *c);

#endif
