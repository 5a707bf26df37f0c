/* health.c - see health.h */
#include "health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/shard.h"
#include "../net/conn.h"
#include "../net/http1.h"

#include <openssl/ssl.h>

#define TICK_MS 100           /* passive ejections, draining, fail-open are looked at this often */
#define FIRST_SPREAD_MS 200   /* first checks of new targets spread over this much */
#define FLAP_MAX 100          /* transitions remembered per target */
#define CHECK_MAX_HEADERS 64
#define CHECK_MAX_HEAD 16384

/* The clock the module reads: clock_ms() unless a test sets its own. */
static uint64_t real_clock(void)
{
	return clock_ms();
}

uint64_t (*health_clock)(void) = real_clock;

/* the state machine ------------------------------------------------------- */

int hc_machine_feed(struct hc_machine *m, enum hc_result r, unsigned healthy_threshold,
		    unsigned unhealthy_threshold)
{
	enum ts_health before = m->state;

	if (r == HC_PASS) {
		m->fails = 0;
		m->passes++;
		/* ALB: a new target must pass one check to be healthy */
		if (m->state == TS_INITIAL || (m->state == TS_UNHEALTHY && m->fast_recovery) ||
		    (m->state == TS_UNHEALTHY && m->passes >= healthy_threshold)) {
			m->state = TS_HEALTHY;
			m->fast_recovery = 0;
		}
	} else {
		m->passes = 0;
		m->fails++;
		/* the active check confirms the passive ejection: the usual
		 * healthy_threshold applies from now on */
		m->fast_recovery = 0;
		if ((m->state == TS_HEALTHY || m->state == TS_INITIAL) && m->fails >= unhealthy_threshold)
			m->state = TS_UNHEALTHY;
	}
	return m->state != before;
}

const char *hc_state_name(enum ts_health s)
{
	switch (s) {
	case TS_INITIAL: return "initial";
	case TS_HEALTHY: return "healthy";
	case TS_UNHEALTHY: return "unhealthy";
	case TS_DRAINING: return "draining";
	case TS_UNUSED: return "unused";
	}
	return "?";
}

const char *hc_reason_code(enum hc_result r)
{
	switch (r) {
	case HC_PASS: return "-";
	case HC_MISMATCH: return "Target.ResponseCodeMismatch";
	case HC_TIMEOUT: return "Target.Timeout";
	case HC_FAILED: return "Target.FailedHealthChecks";
	}
	return "?";
}

int hc_status_matches(const struct cfg_health_check *hc, int status)
{
	for (size_t i = 0; i < hc->nmatch; i++)
		if (status >= hc->match[i].lo && status <= hc->match[i].hi)
			return 1;
	return 0;
}

/* probes ------------------------------------------------------------------ */

struct hgroup {
	char *name;
	unsigned total;               /* its probes that are not draining (recount()) */
	unsigned up;                  /* of those, the ones up (routable, not passively out) */
	int fail_open;
	unsigned long fail_open_count;   /* times the group failed open */
	struct hgroup *next;
};

struct probe {
	struct target_state *ts;      /* one reference */
	struct hgroup *grp;
	struct cfg_health_check hc;   /* a copy (path and matcher strings owned) */
	unsigned slow_start_ms;
	unsigned dereg_delay_ms;
	struct albd_addr check_addr;
	struct hc_machine m;
	const char *reason;           /* ALB reason code of the current state */
	char desc[160];
	struct event *timer;          /* next check, or this check's timeout */
	struct conn *c;               /* the check under way */
	struct http1_scan scan;
	uint64_t trans[FLAP_MAX];     /* recent state changes (health_clock) */
	unsigned ntrans;
	uint64_t hold_until;          /* flapping: out of rotation until then */
	int draining;
	int unused;                   /* its group is in no listener's actions: not checked
	                               * (ALB's "unused", Target.NotInUse) */
	uint64_t drain_deadline;
	int seen;
	int counted;                  /* in grp->total */
	int counted_up;               /* in grp->up */
	uint64_t changed_ms;          /* wall clock (Unix ms) of the last change of state, 0 = none */
	struct probe *next;
};

static struct {
	struct event_base *base;
	struct event *tick;
	struct probe *probes;
	struct hgroup *groups;
	struct http1_header hdrs[CHECK_MAX_HEADERS];
	uint32_t rng;
	SSL_CTX *https;   /* HTTPS checks; like an ALB's, they do not verify the certificate */
} H;

static uint32_t rnd(void)
{
	uint32_t x = H.rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return H.rng = x ? x : 2463534242u;
}

static void set_timer(struct probe *p, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_add(p->timer, &tv);
}

static int is_up(const struct probe *p)
{
	return atomic_load_explicit(&p->ts->routable, memory_order_relaxed) &&
	       !atomic_load_explicit(&p->ts->passive_down, memory_order_relaxed);
}

/* Log when GRP starts or stops failing open (no target up). */
static void update_group(struct hgroup *grp)
{
	int open = grp->total > 0 && grp->up == 0;

	if (open == grp->fail_open)
		return;
	grp->fail_open = open;
	if (open)
		grp->fail_open_count++;
	log_msg(open ? LOG_LVL_WARN : LOG_LVL_INFO, "health: target_group=%s fail_open=%s healthy=%u total=%u",
		grp->name, open ? "on" : "off", grp->up, grp->total);
}

/* Bring P's share of its group's counts up to date: O(1), so that a mass
 * failure of n targets costs O(n), not O(n^2) (every change used to
 * recount the whole group). Call after anything that may change whether P
 * is draining or up; what workers change by themselves (passive ejection)
 * is caught by the tick, which recounts every probe. */
static void recount(struct probe *p)
{
	int in = !p->draining && !p->unused;
	int up = in && is_up(p);

	p->grp->total += (unsigned)in - (unsigned)p->counted;
	p->grp->up += (unsigned)up - (unsigned)p->counted_up;
	p->counted = in;
	p->counted_up = up;
}

static void publish(struct probe *p, enum ts_health st, uint64_t now)
{
	enum ts_health old = (enum ts_health)atomic_load(&p->ts->health);

	atomic_store(&p->ts->health, st);
	int routable = st == TS_HEALTHY && now >= p->hold_until;
	if (st == TS_HEALTHY && old != TS_HEALTHY) {
		atomic_store(&p->ts->passive_fails, 0);
		atomic_store(&p->ts->passive_down, 0);
		/* slow start: on registration and on recovery alike */
		atomic_store(&p->ts->ramp_start, p->slow_start_ms ? (now ? now : 1) : 0);
	}
	atomic_store(&p->ts->routable, routable);
}

/* Log a change of state in one greppable line. */
static void log_change(struct probe *p, enum ts_health old, enum ts_health st)
{
	struct timespec now;

	/* every change of state passes here: the dashboard shows when */
	if (clock_gettime(CLOCK_REALTIME, &now) == 0)
		p->changed_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	log_msg(st == TS_UNHEALTHY || st == TS_DRAINING ? LOG_LVL_WARN : LOG_LVL_INFO,
		"health: target_group=%s target=%s state=%s previous=%s reason=%s description=\"%s\"",
		p->ts->tg_name, p->ts->addr.text, hc_state_name(st), hc_state_name(old), p->reason, p->desc);
}

/* Log a new reason for a state that did not change (a flapping target held
 * out, an unhealthy one failing another way): the same line without
 * "previous=", which only a transition has. */
static void log_reason(const struct probe *p)
{
	log_msg(LOG_LVL_WARN, "health: target_group=%s target=%s state=%s reason=%s description=\"%s\"",
		p->ts->tg_name, p->ts->addr.text, hc_state_name(p->m.state), p->reason, p->desc);
}

static void transition(struct probe *p, enum ts_health st, const char *reason, const char *desc)
{
	enum ts_health old = (enum ts_health)atomic_load(&p->ts->health);
	uint64_t now = health_clock();

	p->reason = reason;
	snprintf(p->desc, sizeof(p->desc), "%s", desc);
	if (p->ntrans < FLAP_MAX)
		p->trans[p->ntrans++] = now;
	else {
		memmove(p->trans, p->trans + 1, (FLAP_MAX - 1) * sizeof(p->trans[0]));
		p->trans[FLAP_MAX - 1] = now;
	}
	publish(p, st, now);
	log_change(p, old, st);
	recount(p);
	update_group(p->grp);
}

/* Would turning healthy now make P a flapping target? Counts the changes
 * within the window, this one included. */
static int flapping(struct probe *p, uint64_t now)
{
	unsigned n = 1;

	if (!p->hc.flap_transitions)
		return 0;
	for (unsigned i = 0; i < p->ntrans; i++)
		if (p->trans[i] + p->hc.flap_window_ms > now)
			n++;
	return n >= p->hc.flap_transitions;
}

static void schedule_next(struct probe *p)
{
	unsigned iv = p->hc.interval_ms;
	/* up to 10% early, so that targets drift apart rather than bunch */
	unsigned j = iv / 10 ? rnd() % (iv / 10) : 0;
	set_timer(p, iv - j);
}

static void finish_check(struct probe *p, enum hc_result r, const char *desc)
{
	uint64_t now = health_clock();

	if (p->c) {
		conn_free(p->c);
		p->c = NULL;
	}
	event_del(p->timer);
	if (p->draining || p->unused)
		return;
	if (p->ts->ms) {   /* HealthCheckCount, HealthCheckFailedCount: the control thread's block */
		struct shard_block *b = shard_block(p->ts->ms, shard_control());
		shard_add(b, M_HEALTH_CHECK_COUNT, 1);
		if (r != HC_PASS)
			shard_add(b, M_HEALTH_CHECK_FAILED_COUNT, 1);
	}
	enum ts_health before = p->m.state;
	if (r == HC_PASS && atomic_load(&p->ts->passive_down) && p->m.state == TS_HEALTHY) {
		/* a pass after a passive ejection that the tick has not
		 * logged yet: nothing to undo but the flag */
		atomic_store(&p->ts->passive_down, 0);
		atomic_store(&p->ts->passive_fails, 0);
	}
	int changed = hc_machine_feed(&p->m, r, p->hc.healthy_threshold, p->hc.unhealthy_threshold);
	if (changed && p->m.state == TS_HEALTHY) {
		if (now < p->hold_until) {
			/* still held down for flapping: stay out */
			p->m.state = before;
		} else if (flapping(p, now)) {
			p->m.state = before;
			p->hold_until = now + p->hc.flap_hold_ms;
			p->ntrans = 0;
			char d[160];
			snprintf(d, sizeof(d), "flapping: %u state changes within %u s, held out for %u s",
				 p->hc.flap_transitions, p->hc.flap_window_ms / 1000, p->hc.flap_hold_ms / 1000);
			p->reason = "Target.FailedHealthChecks";
			snprintf(p->desc, sizeof(p->desc), "%s", d);
			log_reason(p);
		} else {
			transition(p, TS_HEALTHY, "-", "");
		}
	} else if (changed) {
		transition(p, p->m.state, hc_reason_code(r), desc);
	} else if (r != HC_PASS && p->m.state == TS_UNHEALTHY && strcmp(p->reason, hc_reason_code(r)) != 0 &&
		   now >= p->hold_until) {
		/* still unhealthy, for another reason now */
		p->reason = hc_reason_code(r);
		snprintf(p->desc, sizeof(p->desc), "%s", desc);
		log_reason(p);
	}
	recount(p);   /* a pass may have cleared a passive ejection */
	update_group(p->grp);
	schedule_next(p);
}

static void check_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct probe *p = arg;
	char desc[160];

	switch (ev) {
	case CONN_CONNECTED:
	case CONN_DRAINED:
		return;
	case CONN_READ: {
		const struct http1_limits lim = { CHECK_MAX_HEAD, CHECK_MAX_HEAD, CHECK_MAX_HEADERS, 0, 0 };
		size_t head_len;
		struct http1_head h;
		enum http1_status st = http1_scan_head(c->in, 0, &lim, &p->scan, &head_len);
		if (st == HTTP1_INCOMPLETE)
			return;
		h.hdrs = H.hdrs;
		if (st == HTTP1_OK)
			st = http1_parse_head((const char *)evbuffer_pullup(c->in, (ssize_t)head_len), head_len, 0, 0,
					      &lim, &h);
		if (st != HTTP1_OK) {
			finish_check(p, HC_FAILED, "The health check response was malformed");
			return;
		}
		if (h.status < 200) {     /* an interim response: wait for the final one */
			evbuffer_drain(c->in, head_len);
			http1_scan_reset(&p->scan);
			return;
		}
		if (hc_status_matches(&p->hc, h.status)) {
			finish_check(p, HC_PASS, "");
		} else {
			snprintf(desc, sizeof(desc), "Health checks failed with these codes: [%d]", h.status);
			finish_check(p, HC_MISMATCH, desc);
		}
		return;
	}
	case CONN_EOF:
		finish_check(p, HC_FAILED, "Health checks failed: the connection closed before a response");
		return;
	case CONN_ERROR:
		snprintf(desc, sizeof(desc), "Health checks failed: %s", strerror(c->error ? c->error : EIO));
		finish_check(p, HC_FAILED, desc);
		return;
	}
}

static void start_check(struct probe *p)
{
	p->c = conn_connect(H.base, (const struct sockaddr *)&p->check_addr.ss, p->check_addr.len);
	if (!p->c) {
		char desc[160];
		snprintf(desc, sizeof(desc), "Health checks failed: %s", strerror(errno));
		finish_check(p, HC_FAILED, desc);
		return;
	}
	conn_setcb(p->c, check_cb, p);
	if (p->hc.protocol_https) {
		SSL *ssl = H.https ? SSL_new(H.https) : NULL;
		if (!ssl) {
			finish_check(p, HC_FAILED, "Health checks failed: no TLS context");
			return;
		}
		SSL_set_connect_state(ssl);
		conn_tls(p->c, ssl, 1);
	}
	p->c->read_max = CHECK_MAX_HEAD + 1;
	http1_scan_reset(&p->scan);
	evbuffer_add_printf(p->c->out,
			    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: albd-HealthChecker/1.0\r\n"
			    "Accept: */*\r\nConnection: close\r\n\r\n",
			    p->hc.path, p->check_addr.text);
	set_timer(p, p->hc.timeout_ms);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	if (p->draining || p->unused)
		return;
	if (p->c)
		finish_check(p, HC_TIMEOUT, "Request timed out");
	else
		start_check(p);
}

static void probe_free(struct probe *p)
{
	if (p->c)
		conn_free(p->c);
	if (p->timer)
		event_free(p->timer);
	free(p->hc.path);
	free(p->hc.matcher);
	if (p->ts->hc_probe == p)
		p->ts->hc_probe = NULL;
	ts_unref(p->ts);
	free(p);
}

/* Copy what P needs from the target group's config (which may go away
 * with its generation). */
static int probe_configure(struct probe *p, const struct cfg_target_group *tgc)
{
	char *path = strdup(tgc->health_check.path);
	char *matcher = strdup(tgc->health_check.matcher);

	if (!path || !matcher) {
		free(path);
		free(matcher);
		return -1;
	}
	free(p->hc.path);
	free(p->hc.matcher);
	p->hc = tgc->health_check;
	p->hc.path = path;
	p->hc.matcher = matcher;
	p->slow_start_ms = tgc->slow_start_ms;
	p->dereg_delay_ms = tgc->deregistration_delay_ms;
	p->check_addr = p->ts->addr;
	if (p->hc.port) {
		p->check_addr.port = (uint16_t)p->hc.port;
		if (p->check_addr.ss.ss_family == AF_INET)
			((struct sockaddr_in *)&p->check_addr.ss)->sin_port = htons((uint16_t)p->hc.port);
		else
			((struct sockaddr_in6 *)&p->check_addr.ss)->sin6_port = htons((uint16_t)p->hc.port);
		char ip[INET6_ADDRSTRLEN] = "";
		config_addr_ip(&p->check_addr, ip, sizeof(ip));
		snprintf(p->check_addr.text, sizeof(p->check_addr.text),
			 p->check_addr.ss.ss_family == AF_INET ? "%s:%d" : "[%s]:%d", ip, p->hc.port);
	}
	return 0;
}

static struct hgroup *group_get(const char *name)
{
	struct hgroup *g;

	for (g = H.groups; g; g = g->next)
		if (strcmp(g->name, name) == 0)
			return g;
	g = calloc(1, sizeof(*g));
	if (!g || !(g->name = strdup(name))) {
		free(g);
		return NULL;
	}
	g->next = H.groups;
	H.groups = g;
	return g;
}

/* O(1): health_apply() looks up every target of a generation. */
static struct probe *probe_find(const struct target_state *ts)
{
	return ts->hc_probe;
}

/* (Re)start checking P from the initial state. */
static void probe_begin(struct probe *p, unsigned spread_ms)
{
	uint64_t now = health_clock();

	p->m = (struct hc_machine){ .state = TS_INITIAL };
	p->draining = 0;
	p->unused = 0;
	p->hold_until = 0;
	atomic_store(&p->ts->drain_expired, 0);
	if (!p->hc.enabled) {
		/* no checks: the target takes requests as a healthy one
		 * (passive detection is off too, since nothing would bring it
		 * back); DescribeTargetHealth says "unavailable", as ALB's */
		p->m.state = TS_HEALTHY;
		p->reason = "Target.HealthCheckDisabled";
		snprintf(p->desc, sizeof(p->desc), "Health checks are disabled for the target group");
		publish(p, TS_HEALTHY, now);
		recount(p);
		return;
	}
	p->reason = "Elb.InitialHealthChecking";
	snprintf(p->desc, sizeof(p->desc), "Initial health checks in progress");
	publish(p, TS_INITIAL, now);
	recount(p);
	log_change(p, TS_UNUSED, TS_INITIAL);
	set_timer(p, spread_ms ? rnd() % spread_ms : 0);
}

/* Stop checking P: its group is in no listener's actions (ALB's "unused",
 * Target.NotInUse; ALB does not check such a group's targets). A reload
 * that uses the group again starts it from initial (probe_begin()). LOG:
 * it was in use (a new target of an unused group logs nothing). */
static void probe_unuse(struct probe *p, int log)
{
	enum ts_health old = (enum ts_health)atomic_load(&p->ts->health);

	if (p->c) {
		conn_free(p->c);
		p->c = NULL;
	}
	event_del(p->timer);
	p->m = (struct hc_machine){ .state = TS_UNUSED };
	p->draining = 0;
	p->unused = 1;
	p->hold_until = 0;
	p->reason = "Target.NotInUse";
	snprintf(p->desc, sizeof(p->desc), "Target group is not configured to receive traffic from the load balancer");
	atomic_store(&p->ts->drain_expired, 0);
	atomic_store(&p->ts->health, TS_UNUSED);
	atomic_store(&p->ts->routable, 0);
	if (log)
		log_change(p, old, TS_UNUSED);
	recount(p);
}

static void start_draining(struct probe *p)
{
	if (p->c) {
		conn_free(p->c);
		p->c = NULL;
	}
	event_del(p->timer);
	enum ts_health old = (enum ts_health)atomic_load(&p->ts->health);
	p->draining = 1;
	p->drain_deadline = health_clock() + p->dereg_delay_ms;
	p->reason = "Target.DeregistrationInProgress";
	snprintf(p->desc, sizeof(p->desc), "Target deregistration is in progress");
	atomic_store(&p->ts->health, TS_DRAINING);
	atomic_store(&p->ts->routable, 0);
	log_change(p, old, TS_DRAINING);
	recount(p);
}

/* Once every TICK_MS: passive ejections, draining, hold-down ends. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = health_clock();
	struct probe **pp = &H.probes, *p;

	while ((p = *pp)) {
		if (p->draining) {
			unsigned inflight = atomic_load(&p->ts->inflight);
			if (inflight == 0 || now >= p->drain_deadline) {
				if (inflight)
					atomic_store(&p->ts->drain_expired, 1);
				p->reason = "Target.NotRegistered";
				snprintf(p->desc, sizeof(p->desc),
					 inflight ? "Target is not registered to the target group (%u requests cut at "
						    "the deregistration delay)"
						  : "Target is not registered to the target group",
					 inflight);
				atomic_store(&p->ts->health, TS_UNUSED);
				log_change(p, TS_DRAINING, TS_UNUSED);
				struct hgroup *g = p->grp;
				*pp = p->next;
				recount(p);   /* draining: counted in nothing any more */
				probe_free(p);
				update_group(g);
				continue;
			}
		} else if (p->hc.enabled && p->m.state == TS_HEALTHY && atomic_load(&p->ts->passive_down)) {
			unsigned n = atomic_load(&p->ts->passive_fails);
			char d[160];
			snprintf(d, sizeof(d), "%u consecutive connection failures on traffic", n);
			p->m.state = TS_UNHEALTHY;
			p->m.passes = 0;
			p->m.fails = 0;
			p->m.fast_recovery = 1;
			transition(p, TS_UNHEALTHY, "Target.FailedHealthChecks", d);
			/* check it now rather than after a whole interval */
			if (!p->c)
				set_timer(p, 0);
		} else if (p->hold_until && now >= p->hold_until) {
			p->hold_until = 0;   /* the next passing check brings it back */
		}
		recount(p);
		pp = &p->next;
	}
	for (struct hgroup *g = H.groups; g; g = g->next)
		update_group(g);
}

int health_init(struct event_base *base)
{
	const struct timeval tv = { 0, TICK_MS * 1000 };

	H.base = base;
	H.rng = (uint32_t)health_clock() | 1u;
	H.https = SSL_CTX_new(TLS_client_method());
	if (H.https) {
		SSL_CTX_set_min_proto_version(H.https, TLS1_2_VERSION);
		SSL_CTX_set_verify(H.https, SSL_VERIFY_NONE, NULL);
	}
	H.tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	if (!H.tick || event_add(H.tick, &tv) < 0)
		return -1;
	return 0;
}

void health_apply(const struct albd_gen *gen)
{
	struct probe *p;

	for (p = H.probes; p; p = p->next)
		p->seen = 0;
	for (size_t i = 0; i < gen->cfg->ntarget_groups; i++) {
		const struct target_group *tg = &gen->tgs[i];
		struct hgroup *grp = group_get(tg->cfg->name);
		if (!grp) {
			log_err("health: out of memory");
			continue;
		}
		for (size_t k = 0; k < tg->ntargets; k++) {
			struct target_state *ts = tg->targets[k].st;
			p = probe_find(ts);
			if (!p) {
				p = calloc(1, sizeof(*p));
				if (!p || !(p->timer = event_new(H.base, -1, 0, timer_cb, p))) {
					free(p);
					log_err("health: out of memory adding %s", ts->addr.text);
					continue;
				}
				p->ts = ts;
				ts_ref(ts);
				ts->hc_probe = p;
				p->grp = grp;
				if (probe_configure(p, tg->cfg) < 0) {
					probe_free(p);
					continue;
				}
				p->next = H.probes;
				H.probes = p;
				if (tg->cfg->in_use)
					probe_begin(p, FIRST_SPREAD_MS);
				else
					probe_unuse(p, 0);
			} else {
				int was_enabled = p->hc.enabled;
				probe_configure(p, tg->cfg);
				if (!tg->cfg->in_use) {
					/* no listener uses its group (any more) */
					if (!p->unused || p->draining)
						probe_unuse(p, 1);
				} else if (p->draining || p->unused || was_enabled != p->hc.enabled) {
					/* registered again, its group used again, or
					 * checks switched on/off */
					event_del(p->timer);
					if (p->c) {
						conn_free(p->c);
						p->c = NULL;
					}
					probe_begin(p, FIRST_SPREAD_MS);
				}
			}
			p->seen = 1;
		}
	}
	for (p = H.probes; p; p = p->next)
		if (!p->seen && !p->draining)
			start_draining(p);
	for (struct hgroup *g = H.groups; g; g = g->next)
		update_group(g);
}

void health_shutdown(void)
{
	while (H.probes) {
		struct probe *p = H.probes;
		H.probes = p->next;
		probe_free(p);
	}
	while (H.groups) {
		struct hgroup *g = H.groups;
		H.groups = g->next;
		free(g->name);
		free(g);
	}
	if (H.tick)
		event_free(H.tick);
	H.tick = NULL;
	SSL_CTX_free(H.https);
	H.https = NULL;
}

/* reading ----------------------------------------------------------------- */

int health_describe(const struct target_state *ts, const char **reason, const char **description)
{
	const struct probe *p = probe_find(ts);

	*reason = *description = NULL;
	if (!p)
		return -1;
	if (p->reason && strcmp(p->reason, "-") != 0) {
		*reason = p->reason;
		*description = p->desc[0] ? p->desc : NULL;
	}
	return 0;
}

const char *health_state_name(const struct target_state *ts)
{
	const struct probe *p = probe_find(ts);

	if (p && !p->draining && !p->unused && !p->hc.enabled)
		return "unavailable";
	return hc_state_name((enum ts_health)atomic_load_explicit(&ts->health, memory_order_relaxed));
}

uint64_t health_changed_ms(const struct target_state *ts)
{
	const struct probe *p = probe_find(ts);

	return p ? p->changed_ms : 0;
}

void health_each_draining(const char *tg_name, void (*fn)(const struct target_state *ts, void *arg), void *arg)
{
	for (struct probe *p = H.probes; p; p = p->next)
		if (p->draining && strcmp(p->ts->tg_name, tg_name) == 0)
			fn(p->ts, arg);
}

/* test hooks -------------------------------------------------------------- */

void health_feed(const struct target_state *ts, enum hc_result r, const char *desc)
{
	struct probe *p = probe_find(ts);

	if (p && !p->draining && !p->unused)
		finish_check(p, r, desc ? desc : "");
}

void health_tick(void)
{
	tick_cb(-1, 0, NULL);
}
