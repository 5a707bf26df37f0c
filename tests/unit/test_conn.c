/* test_conn.c - src/net/conn.c's parked buffers and their pool: an idle
 * conn gives c->in and c->out to its pool and takes them back before any
 * callback and before it reads; a spurious edge leaves it parked; parking
 * inside a callback waits for the callback to end; a conn with something
 * in its buffers stays as it is; the pool keeps what an interval used. */
#include <check.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/conn.h"

struct fx {
	struct event_base *base;
	struct conn *c;
	int peer;
	struct conn_pool pool;
	int reads, eofs, errors;
	size_t got;             /* bytes seen in c->in at the last CONN_READ */
	int had_buffers;        /* every callback found c->in and c->out */
	int park_in_cb;         /* park from inside the callback */
	int drain;              /* empty c->in in the callback */
};

static void cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct fx *f = arg;

	if (!c->in || !c->out)
		f->had_buffers = 0;
	switch (ev) {
	case CONN_READ:
		f->reads++;
		f->got = evbuffer_get_length(c->in);
		if (f->drain)
			evbuffer_drain(c->in, f->got);
		if (f->park_in_cb) {
			conn_park(c, &f->pool);
			/* deferred: the callback may still use them */
			ck_assert_ptr_nonnull(c->in);
			ck_assert_ptr_nonnull(c->out);
		}
		break;
	case CONN_EOF:
		f->eofs++;
		break;
	case CONN_ERROR:
		f->errors++;
		break;
	default:
		break;
	}
}

static void setup_pooled(struct fx *f, int pooled)
{
	int sv[2];
	char err[128];

	memset(f, 0, sizeof(*f));
	f->had_buffers = 1;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	f->base = conn_base_new(1, err, sizeof(err));
	ck_assert_ptr_nonnull(f->base);
	f->c = conn_new(f->base, sv[0], pooled ? &f->pool : NULL);
	ck_assert_ptr_nonnull(f->c);
	conn_setcb(f->c, cb, f);
	f->peer = sv[1];
	event_base_loop(f->base, EVLOOP_NONBLOCK);   /* the first edge: nothing there */
}

static void setup(struct fx *f)
{
	setup_pooled(f, 0);
}

static void teardown(struct fx *f)
{
	if (f->c)
		conn_free(f->c);
	close(f->peer);
	conn_pool_clear(&f->pool);
	event_base_free(f->base);
}

static void turn(struct fx *f)
{
	for (int i = 0; i < 3; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

START_TEST(test_park_and_wake)
{
	struct fx f;
	setup(&f);
	conn_park(f.c, &f.pool);
	ck_assert_ptr_null(f.c->in);
	ck_assert_ptr_null(f.c->out);
	ck_assert_uint_eq(f.pool.n, 2);
	conn_flush(f.c);   /* nothing to write: harmless while parked */

	ck_assert_int_eq(write(f.peer, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	turn(&f);
	ck_assert_int_eq(f.reads, 1);
	ck_assert_uint_eq(f.got, 18);
	ck_assert_int_eq(f.had_buffers, 1);
	ck_assert_ptr_nonnull(f.c->in);
	ck_assert_uint_eq(f.pool.n, 0);   /* it took the same two back */

	/* an answer goes out, then the owner parks again */
	evbuffer_drain(f.c->in, 18);
	evbuffer_add(f.c->out, "HTTP/1.1 200 OK\r\n\r\n", 19);
	conn_flush(f.c);
	ck_assert_uint_eq(evbuffer_get_length(f.c->out), 0);
	conn_park(f.c, &f.pool);
	ck_assert_ptr_null(f.c->in);
	char buf[64];
	ck_assert_int_eq(read(f.peer, buf, sizeof buf), 19);
	turn(&f);   /* the writable edge of the read: no callback, still parked */
	ck_assert_ptr_null(f.c->in);
	ck_assert_int_eq(f.reads, 1);

	/* the peer closes: CONN_EOF, with the buffers back */
	shutdown(f.peer, SHUT_WR);
	turn(&f);
	ck_assert_int_eq(f.eofs, 1);
	ck_assert_int_eq(f.had_buffers, 1);
	teardown(&f);
}
END_TEST

START_TEST(test_park_refused_when_holding)
{
	struct fx f;
	setup(&f);
	ck_assert_int_eq(write(f.peer, "abc", 3), 3);
	turn(&f);
	ck_assert_int_eq(f.reads, 1);
	conn_park(f.c, &f.pool);   /* c->in holds 3 bytes */
	ck_assert_ptr_nonnull(f.c->in);
	ck_assert_uint_eq(evbuffer_get_length(f.c->in), 3);
	evbuffer_drain(f.c->in, 3);
	evbuffer_add(f.c->out, "x", 1);   /* not flushed */
	conn_park(f.c, &f.pool);
	ck_assert_ptr_nonnull(f.c->out);
	ck_assert_uint_eq(f.pool.n, 0);
	/* freed with its buffers: they go to the pool, emptied */
	conn_free(f.c);
	f.c = NULL;
	ck_assert_uint_eq(f.pool.n, 2);
	ck_assert_uint_eq(evbuffer_get_length(f.pool.v[0]), 0);
	ck_assert_uint_eq(evbuffer_get_length(f.pool.v[1]), 0);
	teardown(&f);
}
END_TEST

START_TEST(test_park_inside_callback)
{
	struct fx f;
	setup(&f);
	f.park_in_cb = 1;
	f.drain = 1;
	ck_assert_int_eq(write(f.peer, "ping", 4), 4);
	turn(&f);
	ck_assert_int_eq(f.reads, 1);
	ck_assert_ptr_null(f.c->in);   /* parked when the callback returned */
	ck_assert_uint_eq(f.pool.n, 2);
	/* again, with the conn parked already */
	ck_assert_int_eq(write(f.peer, "pong", 4), 4);
	turn(&f);
	ck_assert_int_eq(f.reads, 2);
	ck_assert_uint_eq(f.got, 4);
	ck_assert_ptr_null(f.c->in);
	ck_assert_int_eq(f.had_buffers, 1);
	/* not drained: what the callback left stays in a conn that keeps its
	 * buffers */
	f.drain = 0;
	ck_assert_int_eq(write(f.peer, "left", 4), 4);
	turn(&f);
	ck_assert_int_eq(f.reads, 3);
	ck_assert_ptr_nonnull(f.c->in);
	ck_assert_uint_eq(evbuffer_get_length(f.c->in), 4);
	teardown(&f);
}
END_TEST

START_TEST(test_free_while_parked)
{
	struct fx f;
	setup(&f);
	conn_park(f.c, &f.pool);
	ck_assert_ptr_null(f.c->in);
	conn_free(f.c);   /* its buffers are the pool's: nothing to free twice */
	f.c = NULL;
	ck_assert_uint_eq(f.pool.n, 2);
	teardown(&f);
}
END_TEST

START_TEST(test_new_parked)
{
	struct fx f;
	setup_pooled(&f, 1);
	/* its first read found nothing: the buffers it took for it are back */
	ck_assert_ptr_null(f.c->in);
	ck_assert_uint_eq(f.pool.n, 2);
	ck_assert_int_eq(write(f.peer, "hello", 5), 5);
	turn(&f);
	ck_assert_int_eq(f.reads, 1);
	ck_assert_uint_eq(f.got, 5);
	ck_assert_int_eq(f.had_buffers, 1);
	ck_assert_ptr_nonnull(f.c->in);
	/* the owner answers outside a callback after conn_unpark() */
	evbuffer_drain(f.c->in, 5);
	conn_park(f.c, &f.pool);
	ck_assert_int_eq(conn_unpark(f.c), 0);
	evbuffer_add(f.c->out, "bye", 3);
	conn_flush(f.c);
	char buf[8];
	ck_assert_int_eq(read(f.peer, buf, sizeof buf), 3);
	teardown(&f);
}
END_TEST

/* The end of a response the socket takes in several edges, the owner
 * asking to park in every callback (as proxy.c's idle_park() does):
 * CONN_DRAINED may come while bytes (under the low mark) are still queued,
 * and the edge that writes the rest reports nothing. It parks then. */
static void park_always(struct conn *c, enum conn_event ev, void *arg)
{
	struct fx *f = arg;
	if (ev == CONN_DRAINED)
		f->reads++;
	conn_park(c, &f->pool);
}

START_TEST(test_park_after_last_write)
{
	struct fx f;
	setup_pooled(&f, 1);
	int sz = 4096;
	ck_assert_int_eq(setsockopt(f.c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz), 0);
	ck_assert_int_eq(setsockopt(f.peer, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz), 0);
	conn_setcb(f.c, park_always, &f);
	f.c->low_mark = 32768;
	ck_assert_int_eq(conn_unpark(f.c), 0);
	static char big[200000], buf[4096];
	memset(big, 'x', sizeof big);
	evbuffer_add(f.c->out, big, sizeof big);
	conn_flush(f.c);   /* partial: EAGAIN */
	ck_assert_uint_gt(evbuffer_get_length(f.c->out), 0);
	conn_park(f.c, &f.pool);   /* refused for now: bytes queued */
	ck_assert_ptr_nonnull(f.c->in);
	size_t got = 0;
	for (int i = 0; got < sizeof big && i < 1000000; i++) {
		ssize_t n = read(f.peer, buf, sizeof buf);
		if (n > 0)
			got += (size_t)n;
		event_base_loop(f.base, EVLOOP_NONBLOCK);
	}
	ck_assert_uint_eq(got, sizeof big);
	turn(&f);
	ck_assert_int_ge(f.reads, 1);   /* CONN_DRAINED came */
	ck_assert_ptr_null(f.c->in);    /* and it is parked */
	ck_assert_uint_eq(f.pool.n, 2);
	teardown(&f);
}
END_TEST

START_TEST(test_pool_trim)
{
	struct conn_pool p = { 0 };
	struct evbuffer *b[100];

	for (int i = 0; i < 100; i++)
		b[i] = conn_pool_get(&p);
	for (int i = 0; i < 100; i++)
		conn_pool_put(&p, b[i]);
	ck_assert_uint_eq(p.n, 100);
	conn_pool_trim(&p);   /* the interval began with none: all were used */
	ck_assert_uint_eq(p.n, 100);
	for (int i = 0; i < 10; i++)
		b[i] = conn_pool_get(&p);
	for (int i = 0; i < 10; i++)
		conn_pool_put(&p, b[i]);
	ck_assert_uint_eq(p.cap, 128);
	conn_pool_trim(&p);   /* 90 were never taken: freed, but for the reserve of 32 */
	ck_assert_uint_eq(p.n, 32);
	ck_assert_uint_eq(p.cap, 64);   /* the array shrank too */
	conn_pool_trim(&p);
	ck_assert_uint_eq(p.n, 32);
	/* an emptied buffer comes back empty */
	struct evbuffer *x = conn_pool_get(&p);
	evbuffer_add(x, "data", 4);
	conn_pool_put(&p, x);
	ck_assert_uint_eq(evbuffer_get_length(conn_pool_get(&p)), 0);
	conn_pool_put(&p, NULL);
	conn_pool_clear(&p);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_ptr_null(p.v);
	evbuffer_free(x);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("conn");
	TCase *t = tcase_create("park");
	tcase_add_test(t, test_park_and_wake);
	tcase_add_test(t, test_park_refused_when_holding);
	tcase_add_test(t, test_park_inside_callback);
	tcase_add_test(t, test_free_while_parked);
	tcase_add_test(t, test_new_parked);
	tcase_add_test(t, test_park_after_last_write);
	tcase_add_test(t, test_pool_trim);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
