/* worker.c - see worker.h */
#include "worker.h"

#include "../core/clock.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../net/conn.h"

#define ACCEPT_NOFD_PAUSE_MS 100  /* no accept for this long after EMFILE, ENFILE, ... */

enum { ACCEPT_FULL = 1, ACCEPT_NOFD = 2 };   /* why accepting is off (w->accept_paused) */

#define TRIM_MIN_CONNS 256        /* a worker's connections must have fallen from at least this */
#define TRIM_FRACTION 4           /* to a quarter of it or less */
#define TRIM_INTERVAL_MS 10000    /* and the process trimmed no more often than this */

static atomic_ullong last_trim_ms;   /* process-wide: the last malloc_trim() asked for */
static atomic_uint trim_wanted;      /* a worker asked for one: worker_trim_memory() does it */

/* generations ------------------------------------------------------------ */

struct wgen *worker_gen_acquire(struct worker *w)
{
	w->cur->users++;
	return w->cur;
}

void worker_gen_release(struct worker *w, struct wgen *wg)
{
	if (--wg->users == 0 && !wg->current) {
		gen_unref(wg->gen);
		free(wg);
	}
}

/* listeners -------------------------------------------------------------- */

static void accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg);

/* Accepting is off while either reason holds: max_connections reached
 * (ACCEPT_FULL) or no descriptor left (ACCEPT_NOFD). */
static void set_accepting(struct worker *w, unsigned reason, int on)
{
	unsigned was = w->accept_paused;

	if (on)
		w->accept_paused &= ~reason;
	else
		w->accept_paused |= reason;
	if (!was == !w->accept_paused)
		return;
	for (struct wlistener *l = w->listeners; l; l = l->next) {
		if (w->accept_paused)
			evconnlistener_disable(l->evl);
		else
			evconnlistener_enable(l->evl);
	}
}

static void nofd_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	set_accepting(arg, ACCEPT_NOFD, 1);
}

static void accept_error_cb(struct evconnlistener *evl, void *arg)
{
	struct worker *w = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* Out of descriptors or memory: the listening socket stays
		 * readable, so retrying at once would spin. Stop accepting, as
		 * nginx does, until a connection of this worker closes or a
		 * moment has passed; the clients wait in the backlog. */
		const struct timeval tv = { 0, ACCEPT_NOFD_PAUSE_MS * 1000 };
		log_warn("accept: %s; not accepting for up to %d ms", evutil_socket_error_to_string(err),
			 ACCEPT_NOFD_PAUSE_MS);
		set_accepting(w, ACCEPT_NOFD, 0);
		evtimer_add(w->ev_nofd, &tv);
		return;
	}
	log_warn("accept: %s", evutil_socket_error_to_string(err));
}

/* Stop listening on the worker's own socket of LS at once: with
 * SO_REUSEPORT each worker has its own, so closing it here (rather than
 * when the last session that came through it ends) makes the kernel refuse
 * new connections to a removed listener, or hand them to another worker's
 * socket while that one still listens. */
static void listener_close(struct worker *w, struct wlistener *l)
{
	evconnlistener_free(l->evl);
	if (w->id < l->ls->nfds && l->ls->fds[w->id] >= 0) {
		close(l->ls->fds[w->id]);
		l->ls->fds[w->id] = -1;
	}
	lsock_unref(l->ls);
	free(l);
}

/* Make the worker's listeners those of generation G: keep the ones that
 * stay, open the new ones, close the removed ones. */
static void sync_listeners(struct worker *w, const struct albd_gen *g)
{
	struct wlistener **pp, *l;

	for (pp = &w->listeners; (l = *pp);) {
		int keep = 0;
		for (size_t i = 0; i < g->cfg->nlisteners && !keep; i++)
			keep = g->lsocks[i] == l->ls;
		if (keep) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		listener_close(w, l);
	}
	for (size_t i = 0; i < g->cfg->nlisteners; i++) {
		struct lsock *ls = g->lsocks[i];
		for (l = w->listeners; l && l->ls != ls; l = l->next)
			;
		if (l)
			continue;
		l = calloc(1, sizeof(*l));
		/* backlog 0: the socket is already listening (gen.c) and
		 * belongs to the lsock, so no LEV_OPT_CLOSE_ON_FREE */
		if (!l || !(l->evl = evconnlistener_new(w->base, accept_cb, w, 0, 0, ls->fds[w->id]))) {
			/* a socket nobody accepts on would take its share of
			 * new connections and leave them hanging: close it */
			log_err("worker %u: cannot add listener %s (out of memory)", w->id, ls->addr.text);
			free(l);
			if (w->id < ls->nfds && ls->fds[w->id] >= 0) {
				close(ls->fds[w->id]);
				ls->fds[w->id] = -1;
			}
			continue;
		}
		evconnlistener_set_error_cb(l->evl, accept_error_cb);
		if (w->accept_paused)
			evconnlistener_disable(l->evl);
		l->ls = ls;
		lsock_ref(ls);
		l->next = w->listeners;
		w->listeners = l;
	}
}

static void close_listeners(struct worker *w)
{
	struct wlistener *l, *next;

	for (l = w->listeners; l; l = next) {
		next = l->next;
		listener_close(w, l);
	}
	w->listeners = NULL;
}

static void accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct worker *w = arg;
	struct wlistener *l;

	for (l = w->listeners; l && l->evl != evl; l = l->next)
		;
	if (!l || w->stopping) {
		evutil_closesocket(fd);
		return;
	}
	/* evconnlistener accepts with SOCK_NONBLOCK already */
	w->handler->accept(w->hstate, l->ls, fd, sa, (socklen_t)salen);
}

void worker_conn_open(struct worker *w)
{
	w->nconns++;
	if (w->nconns > w->conns_high)
		w->conns_high = w->nconns;
	if (w->nconns >= w->cur->gen->cfg->limits.max_connections)
		set_accepting(w, ACCEPT_FULL, 0);
}

void worker_conn_closed(struct worker *w)
{
	w->nconns--;
	if (w->stopping) {
		if (w->nconns == 0)
			event_base_loopexit(w->base, NULL);
		return;
	}
	/* a descriptor came free: try accepting again */
	set_accepting(w, ACCEPT_NOFD, 1);
	if (w->nconns < w->cur->gen->cfg->limits.max_connections)
		set_accepting(w, ACCEPT_FULL, 1);
}

/* messages from the control thread ---------------------------------------- */

static void adopt(struct worker *w, struct albd_gen *g)
{
	struct wgen *wg = calloc(1, sizeof(*wg));

	if (!wg) {
		log_err("worker %u: out of memory, staying on generation %lu", w->id, w->cur->gen->id);
		gen_unref(g);
		return;
	}
	if (w->hstate && w->handler->adopt(w->hstate, g) < 0) {
		log_err("worker %u: out of memory, staying on generation %lu", w->id,
			w->cur ? w->cur->gen->id : 0ul);
		free(wg);
		gen_unref(g);
		return;
	}
	wg->gen = g;             /* the mailbox reference becomes ours */
	wg->current = 1;
	if (w->cur) {
		struct wgen *old = w->cur;
		old->current = 0;
		if (old->users == 0) {
			gen_unref(old->gen);
			free(old);
		}
	}
	w->cur = wg;
	if (!w->stopping)
		sync_listeners(w, g);
	if (w->nconns < g->cfg->limits.max_connections)
		set_accepting(w, ACCEPT_FULL, 1);
}

static void drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	log_warn("worker %u: drain timeout, closing %u connections", w->id, w->nconns);
	w->handler->close_all(w->hstate);
	event_base_loopexit(w->base, NULL);
}

static void begin_stop(struct worker *w)
{
	unsigned ms = w->cur->gen->cfg->timeouts.drain_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	w->stopping = 1;
	close_listeners(w);
	w->handler->drain(w->hstate);
	event_del(w->ev_tick);
	if (w->nconns == 0) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	w->drain_timer = evtimer_new(w->base, drain_timeout_cb, w);
	if (w->drain_timer)
		evtimer_add(w->drain_timer, &tv);
}

static void msg_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t v;

	if (read(w->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker %u: eventfd read: %s", w->id, strerror(errno));
	struct albd_gen *g = atomic_exchange(&w->mailbox, NULL);
	if (g)
		adopt(w, g);
	if (atomic_load(&w->stop) && !w->stopping)
		begin_stop(w);
}

/* Give the memory freed by many closed connections back to the system.
 * glibc keeps freed chunks in its arenas (one per thread that allocates),
 * so after a crowd of connections (a slow-read attack, a burst of
 * downloads) leaves, the RSS would stay at its peak: malloc_trim() returns
 * the free pages of every arena (madvise) and the top of the heaps. It
 * takes each arena's lock in turn and walks its free lists, so it is asked
 * for only when this worker's connections fell from TRIM_MIN_CONNS or more
 * to a TRIM_FRACTION of their high-water mark, at most once every
 * TRIM_INTERVAL_MS in the whole process, and done by the control thread
 * (worker_trim_memory), so that no worker's loop waits for the walk.
 * Thread: the worker W. */
static void maybe_trim(struct worker *w, uint64_t now)
{
#ifdef __GLIBC__
	if (w->conns_high < TRIM_MIN_CONNS || w->nconns > w->conns_high / TRIM_FRACTION)
		return;
	unsigned long long last = atomic_load_explicit(&last_trim_ms, memory_order_relaxed);
	if (last && now - last < TRIM_INTERVAL_MS)
		return;
	if (!atomic_compare_exchange_strong(&last_trim_ms, &last, now))
		return;   /* another worker trims now */
	atomic_store_explicit(&trim_wanted, 1, memory_order_relaxed);
	log_debug("worker %u: connections fell from %u to %u: memory to be trimmed", w->id, w->conns_high,
		  w->nconns);
#endif
	w->conns_high = w->nconns;
}

void worker_trim_memory(void)
{
#ifdef __GLIBC__
	if (atomic_exchange_explicit(&trim_wanted, 0, memory_order_relaxed))
		malloc_trim(0);
#endif
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t now = clock_ms();

	atomic_store_explicit(&w->alive_ms, now, memory_order_relaxed);
	w->handler->tick(w->hstate);
	maybe_trim(w, now);
	log_flush(0);
}

static void wake(struct worker *w)
{
	uint64_t one = 1;
	if (write(w->evfd, &one, sizeof(one)) < 0)
		log_warn("worker %u: eventfd write: %s", w->id, strerror(errno));
}

/* threads ------------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	event_del(w->ev_tick);
	w->handler->close_all(w->hstate);
	close_listeners(w);
	log_flush(1);
	return NULL;
}

uint32_t worker_rand(struct worker *w)
{
	uint32_t x = w->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return w->rng = x;
}

static int worker_init(struct worker *w, unsigned id, struct albd_gen *g, char *err, size_t errlen)
{
	w->id = id;
	atomic_init(&w->mailbox, NULL);
	atomic_init(&w->stop, 0);
	atomic_init(&w->alive_ms, clock_ms());
	w->rng = (uint32_t)time(NULL) * 2654435761u + id * 40503u + 1u;
	if (!w->rng)
		w->rng = 1;
	/* one thread per base: no locking inside libevent */
	w->base = conn_base_new(1, err, errlen);
	if (!w->base)
		return -1;
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->evfd < 0)
		return -1;
	w->ev_msg = event_new(w->base, w->evfd, EV_READ | EV_PERSIST, msg_cb, w);
	if (!w->ev_msg || event_add(w->ev_msg, NULL) < 0)
		return -1;
	const struct timeval second = { 1, 0 };
	w->ev_tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
	if (!w->ev_tick || event_add(w->ev_tick, &second) < 0)
		return -1;
	w->ev_nofd = evtimer_new(w->base, nofd_timer_cb, w);
	if (!w->ev_nofd)
		return -1;
	worker_clock_tick(w);
	if (!(w->hstate = w->handler->start(w))) {
		snprintf(err, errlen, "worker %u: out of memory", id);
		return -1;
	}
	gen_ref(g);
	adopt(w, g);
	return w->cur ? 0 : -1;
}

static void worker_fini(struct worker *w)
{
	close_listeners(w);   /* a worker set up but never run still has them */
	if (w->cur) {
		w->cur->current = 0;
		if (w->cur->users == 0) {
			gen_unref(w->cur->gen);
			free(w->cur);
		}
		w->cur = NULL;
	}
	struct albd_gen *g = atomic_exchange(&w->mailbox, NULL);
	gen_unref(g);
	if (w->drain_timer)
		event_free(w->drain_timer);
	if (w->ev_msg)
		event_free(w->ev_msg);
	if (w->ev_tick)
		event_free(w->ev_tick);
	if (w->ev_nofd)
		event_free(w->ev_nofd);
	if (w->evfd >= 0)
		close(w->evfd);
	if (w->hstate)
		w->handler->stop(w->hstate);
	w->hstate = NULL;
	if (w->base)
		event_base_free(w->base);
}

struct worker *worker_start_all(unsigned n, struct albd_gen *g, const struct worker_handler *h, char *err,
				size_t errlen)
{
	struct worker *ws = calloc(n, sizeof(*ws));
	unsigned started = 0;

	g->published = 1;
	if (!ws) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* before any can fail: worker_fini() must not close fd 0 of a worker
	 * that was never set up */
	for (unsigned i = 0; i < n; i++) {
		ws[i].evfd = -1;
		ws[i].handler = h;
	}
	for (unsigned i = 0; i < n; i++) {
		err[0] = 0;
		if (worker_init(&ws[i], i, g, err, errlen) < 0) {
			if (!err[0])
				snprintf(err, errlen, "cannot set up worker %u", i);
			goto fail;
		}
	}
	for (; started < n; started++) {
		int e = pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]);
		if (e) {
			snprintf(err, errlen, "cannot start worker thread: %s", strerror(e));
			goto fail;
		}
	}
	return ws;
fail:
	for (unsigned i = 0; i < started; i++) {
		atomic_store(&ws[i].stop, 1);
		wake(&ws[i]);
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(ws[i].thread, NULL);
	for (unsigned i = 0; i < n; i++)
		worker_fini(&ws[i]);
	free(ws);
	return NULL;
}

void worker_publish(struct worker *ws, unsigned n, struct albd_gen *g)
{
	g->published = 1;
	for (unsigned i = 0; i < n; i++) {
		gen_ref(g);
		struct albd_gen *old = atomic_exchange(&ws[i].mailbox, g);
		/* a generation the worker never picked up is simply dropped */
		gen_unref(old);
		wake(&ws[i]);
	}
}

int worker_all_alive(const struct worker *ws, unsigned n, uint64_t max_age_ms)
{
	uint64_t now = clock_ms();

	for (unsigned i = 0; i < n; i++) {
		uint64_t t = atomic_load_explicit(&ws[i].alive_ms, memory_order_relaxed);
		if (now > t && now - t > max_age_ms)
			return 0;
	}
	return 1;
}

void worker_stop_all(struct worker *ws, unsigned n, void (*idle)(void *arg), void *arg)
{
	for (unsigned i = 0; i < n; i++) {
		atomic_store(&ws[i].stop, 1);
		wake(&ws[i]);
	}
	/* while they drain, the caller's IDLE runs every 100 ms */
	for (unsigned i = 0; i < n;) {
		if (!idle) {
			pthread_join(ws[i].thread, NULL);
			i++;
			continue;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(ws[i].thread, NULL, &until) == 0)
			i++;
		else
			idle(arg);
	}
	for (unsigned i = 0; i < n; i++)
		worker_fini(&ws[i]);
	free(ws);
}
