/* gen.c - see gen.h */
#include "gen.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "../core/inherit.h"
#include "../core/log.h"
#include "router.h"
#include "tls.h"

#define LISTEN_BACKLOG 4096

static atomic_ulong gen_counter;
static unsigned long build_counter;   /* control thread only */

void lsock_ref(struct lsock *ls)
{
	atomic_fetch_add(&ls->refs, 1);
}

void lsock_unref(struct lsock *ls)
{
	if (!ls || atomic_fetch_sub(&ls->refs, 1) != 1)
		return;
	for (unsigned i = 0; i < ls->nfds; i++)
		if (ls->fds[i] >= 0)
			close(ls->fds[i]);
	log_info("listener %s closed", ls->addr.text);
	free(ls->fds);
	free(ls);
}

static struct lsock *lsock_open(const struct albd_addr *addr, unsigned n, char *err, size_t errlen)
{
	struct lsock *ls = calloc(1, sizeof(*ls));
	int one = 1;

	if (!ls || !(ls->fds = calloc(n, sizeof(int)))) {
		free(ls);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&ls->refs, 1);
	ls->addr = *addr;
	for (unsigned i = 0; i < n; i++)
		ls->fds[i] = -1;
	ls->nfds = n;
	unsigned inherited = 0;
	for (unsigned i = 0; i < n; i++) {
		/* the sockets the previous albd handed over (binary upgrade),
		 * with their queues: none refused */
		int fd = inherit_take(addr);
		if (fd >= 0) {
			ls->fds[i] = fd;
			inherited++;
			/* see below: what the previous albd or systemd made may
			 * not have it */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			continue;
		}
		fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail;
		ls->fds[i] = fd;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
			goto fail;
		if (addr->ss.ss_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
			goto fail;
		/* Linux gives an accepted socket the listener's TCP_NODELAY
		 * (the child is a clone of it): one setsockopt here instead of
		 * one per connection */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			goto fail;
		if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 ||
		    listen(fd, LISTEN_BACKLOG) < 0)
			goto fail;
	}
	if (inherited)
		log_info("listening on %s (%u sockets, %u inherited)", addr->text, n, inherited);
	else
		log_info("listening on %s (%u sockets)", addr->text, n);
	return ls;
fail:
	snprintf(err, errlen, "cannot listen on %s: %s", addr->text, strerror(errno));
	lsock_unref(ls);
	return NULL;
}

static struct lsock *find_lsock(const struct albd_gen *g, const struct albd_addr *addr)
{
	if (!g)
		return NULL;
	for (size_t i = 0; i < g->cfg->nlisteners; i++) {
		if (config_addr_equal(&g->lsocks[i]->addr, addr))
			return g->lsocks[i];
	}
	return NULL;
}

/* A context of PREV that building listener L's again would only repeat. */
static struct tls_server *reusable_server(const struct albd_gen *prev, const struct cfg_listener *l)
{
	for (size_t j = 0; prev && j < prev->cfg->nlisteners; j++)
		if (prev->tls[j] && tls_server_matches(prev->tls[j], l->tls))
			return prev->tls[j];
	return NULL;
}

static struct tls_client *reusable_client(const struct albd_gen *prev, const struct cfg_target_group *tg)
{
	for (size_t j = 0; prev && j < prev->cfg->ntarget_groups; j++)
		if (prev->tgs[j].tls && tls_client_matches_group(prev->tgs[j].tls, tg))
			return prev->tgs[j].tls;
	return NULL;
}

/* Build the TLS contexts of CFG into TLS (per listener) and the target
 * groups' client contexts into TGS (may be NULL: only checked). A context
 * of PREV (may be NULL) built from the same settings and unchanged files
 * is shared (one more reference) instead of read and built again; a
 * renewed certificate is read again. */
static int build_tls(const struct albd_config *cfg, const struct albd_gen *prev, struct tls_server **tls,
		     struct target_group *tgs, char *err, size_t errlen)
{
	char setting[64];

	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct cfg_listener *l = &cfg->listeners[i];
		if (!l->tls)
			continue;
		struct tls_server *ts = tls ? reusable_server(prev, l) : NULL;
		if (ts) {
			tls_server_ref(ts);
			log_info("tls: listener %s: certificates unchanged, contexts kept", l->name);
		} else {
			snprintf(setting, sizeof(setting), "listeners.[%zu].tls", i);
			ts = tls_server_new(cfg, l, setting, err, errlen);
			if (!ts)
				return -1;
			if (tls)
				log_info("tls: listener %s: %zu certificates loaded", l->name, l->tls->ncerts);
		}
		if (tls)
			tls[i] = ts;
		else
			tls_server_free(ts);
	}
	for (size_t i = 0; i < cfg->ntarget_groups; i++) {
		const struct cfg_target_group *tg = &cfg->target_groups[i];
		if (!tg->protocol_https)
			continue;
		struct tls_client *tc = tgs ? reusable_client(prev, tg) : NULL;
		if (tc) {
			tls_client_ref(tc);
		} else {
			snprintf(setting, sizeof(setting), "target_groups.[%zu]", i);
			tc = tls_client_for_group(cfg, tg, setting, err, errlen);
			if (!tc)
				return -1;
		}
		if (tgs)
			tgs[i].tls = tc;
		else
			tls_client_free(tc);
	}
	return 0;
}

int gen_check(const struct albd_config *cfg, char *err, size_t errlen)
{
	return build_tls(cfg, NULL, NULL, NULL, err, errlen);
}

void gen_check_expiry(const struct albd_gen *g)
{
	for (size_t i = 0; i < g->cfg->nlisteners; i++)
		if (g->tls[i])
			tls_server_check_expiry(g->tls[i]);
}

static void free_parts(struct albd_gen *g, const struct albd_config *cfg)
{
	if (g->tgs) {
		for (size_t i = 0; i < cfg->ntarget_groups; i++) {
			tls_client_free(g->tgs[i].tls);
			tg_destroy(&g->tgs[i]);
		}
		free(g->tgs);
	}
	if (g->tls) {
		for (size_t i = 0; i < cfg->nlisteners; i++)
			tls_server_free(g->tls[i]);
		free(g->tls);
	}
	if (g->lsocks) {
		for (size_t i = 0; i < cfg->nlisteners; i++)
			lsock_unref(g->lsocks[i]);
		free(g->lsocks);
	}
	if (g->routers) {
		for (size_t i = 0; i < cfg->nlisteners; i++)
			router_index_free(g->routers[i]);
		free(g->routers);
	}
}

static void gen_free(struct albd_gen *g)
{
	/* the last reference: a reload's generation goes when its last
	 * connection ends (the first built has none but albd's own) */
	if (g->published)
		log_info("configuration generation %lu released", g->id);
	free_parts(g, g->cfg);
	config_free(g->cfg);
	free(g);
}

struct albd_gen *gen_build(struct albd_config *cfg, const struct albd_gen *prev,
				   unsigned nworkers, char *err, size_t errlen)
{
	struct albd_gen *g = calloc(1, sizeof(*g));

	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&g->refs, 1);
	g->cfg = cfg;
	g->nworkers = nworkers;
	g->tgs = calloc(cfg->ntarget_groups ? cfg->ntarget_groups : 1, sizeof(*g->tgs));
	g->lsocks = calloc(cfg->nlisteners ? cfg->nlisteners : 1, sizeof(*g->lsocks));
	g->tls = calloc(cfg->nlisteners ? cfg->nlisteners : 1, sizeof(*g->tls));
	g->routers = calloc(cfg->nlisteners ? cfg->nlisteners : 1, sizeof(*g->routers));
	if (!g->tgs || !g->lsocks || !g->tls || !g->routers) {
		snprintf(err, errlen, "%s: out of memory", cfg->path);
		goto fail;
	}
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		struct lsock *ls = find_lsock(prev, &cfg->listeners[i].addr);
		if (ls) {
			lsock_ref(ls);
		} else {
			char why[256];
			ls = lsock_open(&cfg->listeners[i].addr, nworkers, why, sizeof(why));
			if (!ls) {
				snprintf(err, errlen, "%s:%d: listeners.[%zu].listen: %s", cfg->path,
					 cfg->listeners[i].line, i, why);
				goto fail;
			}
		}
		g->lsocks[i] = ls;
	}
	/* rules are compiled once per generation, never per request */
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		g->routers[i] = router_index_build(&cfg->listeners[i]);
		if (!g->routers[i]) {
			snprintf(err, errlen, "%s: listeners.[%zu].rules: out of memory", cfg->path, i);
			goto fail;
		}
	}
	for (size_t i = 0; i < cfg->ntarget_groups; i++) {
		if (tg_init(&g->tgs[i], &cfg->target_groups[i], nworkers) < 0) {
			tg_destroy(&g->tgs[i]);
			snprintf(err, errlen, "%s: target_groups.[%zu]: out of memory", cfg->path, i);
			goto fail;
		}
	}
	/* certificates and keys are read again unless PREV has contexts built
	 * from the same settings and unchanged files: SIGHUP picks up renewed
	 * ones */
	if (build_tls(cfg, prev, g->tls, g->tgs, err, errlen) < 0)
		goto fail;
	/* Targets that only PREV names are retired; tg_init() above cleared
	 * the flag of every target this generation names. A stamp per build
	 * marks those, so this is linear in the targets of both. */
	if (prev) {
		unsigned long mark = ++build_counter;
		for (size_t j = 0; j < cfg->ntarget_groups; j++)
			for (size_t m = 0; m < g->tgs[j].ntargets; m++)
				g->tgs[j].targets[m].st->build_mark = mark;
		for (size_t i = 0; i < prev->cfg->ntarget_groups; i++) {
			const struct target_group *ptg = &prev->tgs[i];
			for (size_t k = 0; k < ptg->ntargets; k++)
				if (ptg->targets[k].st->build_mark != mark)
					atomic_store(&ptg->targets[k].st->retired, 1);
		}
	}
	g->id = atomic_fetch_add(&gen_counter, 1) + 1;
	return g;
fail:
	free_parts(g, cfg);
	free(g);
	return NULL;
}

void gen_ref(struct albd_gen *g)
{
	atomic_fetch_add(&g->refs, 1);
}

void gen_unref(struct albd_gen *g)
{
	if (g && atomic_fetch_sub(&g->refs, 1) == 1)
		gen_free(g);
}
