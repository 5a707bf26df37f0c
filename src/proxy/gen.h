/* gen.h - config generations (the data plane's view of a configuration).
 *
 * A generation is one validated config plus what is built from it: the
 * runtime target groups (with references to the target states that outlive
 * it), each listener's compiled rules (router_index) and the listening
 * sockets. The control thread builds a new generation
 * on start and on every reload and publishes it to the workers; each worker
 * moves to it between requests, while requests already running finish on
 * the generation they started on. A generation is freed when its last
 * reference goes: the control thread's (while current) and one per worker
 * that still has requests on it.
 *
 * Listening sockets (struct lsock) are shared by consecutive generations
 * that listen on the same address, so a reload never closes and reopens a
 * listener that stays: no connection is refused.
 */
#ifndef ALBD_GEN_H
#define ALBD_GEN_H

#include <stdatomic.h>

#include "../core/config.h"
#include "target_group.h"

struct tls_server;
struct router_index;

/* A listening address: one SO_REUSEPORT socket per worker. */
struct lsock {
	atomic_uint refs;
	struct albd_addr addr;
	int *fds;
	unsigned nfds;
};

struct albd_gen {
	atomic_uint refs;
	unsigned long id;             /* 1, 2, ... in build order */
	struct albd_config *cfg;      /* owned */
	struct target_group *tgs;     /* parallel to cfg->target_groups */
	struct lsock **lsocks;        /* parallel to cfg->listeners, one reference each */
	struct tls_server **tls;      /* parallel to cfg->listeners, NULL for plain HTTP */
	struct router_index **routers; /* parallel to cfg->listeners: the compiled rules, owned */
	unsigned nworkers;
	int published;                /* it served (worker_publish, worker_start_all): its release is
	                               * logged */
};

/* Build a generation from CFG for NWORKERS workers, reusing PREV's sockets
 * for addresses that stay (PREV may be NULL), and its TLS contexts where
 * settings and files are unchanged (tls_server_matches,
 * tls_client_matches); other certificates and keys are read. On success the generation owns CFG and has
 * one reference (the caller's); target states that PREV names and CFG does
 * not are marked retired. On failure returns NULL with "FILE[:LINE]:
 * SETTING: problem" in err, and CFG still belongs to the caller.
 * Thread: control. */
struct albd_gen *gen_build(struct albd_config *cfg, const struct albd_gen *prev,
				   unsigned nworkers, char *err, size_t errlen);

/* What `albd -t` checks beyond config_load(): that every certificate and
 * key loads, matches and is valid. Returns 0, or -1 with a message.
 * Thread: control. */
int gen_check(const struct albd_config *cfg, char *err, size_t errlen);

/* Warn about certificates of G that expire within 30 days. Thread: control. */
void gen_check_expiry(const struct albd_gen *g);

/* Take / drop a reference; the last drop frees the generation (and closes
 * sockets no longer used by any). Thread: any. */
void gen_ref(struct albd_gen *g);
void gen_unref(struct albd_gen *g);

/* The compiled rules of a listener L of G's config. */
static inline const struct router_index *gen_router(const struct albd_gen *g, const struct cfg_listener *l)
{
	return g->routers[l - g->cfg->listeners];
}

/* The runtime group of a cfg_target_group of the same generation. */
static inline struct target_group *gen_tg(const struct albd_gen *g, const struct cfg_target_group *c)
{
	return &g->tgs[c - g->cfg->target_groups];
}

/* The TLS contexts of listener L (one of G's), NULL for plain HTTP. */
static inline struct tls_server *gen_tls_of(const struct albd_gen *g, const struct cfg_listener *l)
{
	return g->tls ? g->tls[l - g->cfg->listeners] : NULL;
}

void lsock_ref(struct lsock *ls);
void lsock_unref(struct lsock *ls);

#endif
