/* metrics.h - the control thread's side of the metrics: once a second it
 * folds every worker's shard blocks (core/shard.h) into the store
 * (store.h), samples the gauges (healthy hosts, fail open, certificate
 * expiry), and keeps the running totals /metrics shows. It serves
 * GET /metrics (Prometheus text or OpenMetrics) through admin.h; the JSON
 * API over the store is in api_metrics.c.
 *
 * Thread: control, for every function.
 */
#ifndef ALBD_METRICS_CTL_H
#define ALBD_METRICS_CTL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct albd_gen;
struct store;
struct target_state;

/* Open the store in the state_dir of GEN's config and start the 1 s fold
 * on BASE. Call after shard_init() and before the workers start. Returns
 * 0, or -1 with a message (the state directory cannot be used). */
int metrics_init(struct event_base *base, const struct albd_gen *gen, char *err, size_t errlen);

/* Generation GEN is live (the load balancer's name, its target groups and
 * certificates). Takes a reference on GEN. */
void metrics_apply(const struct albd_gen *gen);

/* Fold what is left, write the store out and close it. After the workers
 * stopped. */
void metrics_shutdown(void);

/* Free the shard entities, last of all: after every generation and target
 * state that held one is gone. */
void metrics_free(void);

/* The store (for the API and, later, alarms); NULL before metrics_init(). */
struct store *metrics_store(void);

/* The LoadBalancer dimension's value now. */
const char *metrics_lb_name(void);

/* Now, in whole seconds since the epoch, as the store sees it. */
int64_t metrics_now(void);

/* Fold the shards into the store now (tests and shutdown use it; the
 * timer calls it once a second). */
void metrics_fold(void);

#endif
