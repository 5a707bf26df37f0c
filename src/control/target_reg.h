/* target_reg.h - targets registered at run time through the admin API, as
 * ELBv2's RegisterTargets and DeregisterTargets:
 *
 *   POST   /api/v1/target-groups/NAME/targets   {"Targets": [{"Id": "10.0.0.5", "Port": 8080, "Weight": 1}]}
 *   DELETE /api/v1/target-groups/NAME/targets   {"Targets": [{"Id": "10.0.0.5", "Port": 8080}]}
 *
 * (token-protected like every admin endpoint but /metrics). A registration
 * is kept in state_dir/targets.json (written whole, atomically, before the
 * answer), so reloads and restarts keep it, and joins its group in every
 * configuration built afterwards (treg_merge(): the file's targets first,
 * the registered ones after them). Registering or deregistering builds a
 * new generation from the running configuration's text (config_reparse())
 * at once: a new target's health checks start, a removed one drains for
 * its group's deregistration_delay, as after a reload. A target in the
 * file is never registered twice, and cannot be deregistered by the API
 * (the file would bring it back). A reload that removes a group drops its
 * registrations with a log line.
 *
 * treg_register() and treg_deregister() are the two calls themselves: the
 * JSON API above and ELBv2's RegisterTargets and DeregisterTargets over
 * AWS's wire (aws_elb.c) both make them.
 *
 * Thread: control, every function.
 */
#ifndef ALBD_TARGET_REG_H
#define ALBD_TARGET_REG_H

#include <stddef.h>

#include "core/config.h"

#define TREG_FILE "targets.json"
#define TREG_MAX_PER_CALL 1000    /* targets in one request */
#define TREG_MAX 100000           /* registrations in all */

/* Load STATE_DIR/targets.json (none: no registrations). Returns 0, or -1
 * with a message in ERR (a file that is not what albd wrote is an error:
 * albd does not start rather than forget registrations). */
int treg_init(const char *state_dir, char *err, size_t errlen);

/* Append the registered targets to their groups in CFG (a fresh config,
 * not yet in a generation), marked registered; those of groups CFG does
 * not have are skipped (treg_forget_unknown() drops them once CFG is
 * live). Returns 0, or -1 with a message (out of memory). */
int treg_merge(struct albd_config *cfg, char *err, size_t errlen);

/* CFG is live: drop (and log) the registrations of groups it does not
 * have, and of targets its file now names itself. */
void treg_forget_unknown(const struct albd_config *cfg);

/* One target of a call: its address (Id and Port) and weight
 * (treg_register() only: 1..999, or 0 for a registered target's own weight
 * and 1 for a new one: ELBv2's RegisterTargets has no weight). */
struct treg_target {
	struct albd_addr addr;
	unsigned weight;
};

/* Why a call failed: the HTTP status, AWS's error code ("InvalidTarget",
 * "TooManyTargets", "InternalFailure", "ServiceUnavailable") and a
 * message. */
struct treg_error {
	int status;
	char code[64];
	char message[1024];
};

/* Target ID (an IP address, no name) and PORT (1..65535) into A: 0, or -1
 * with a message in ERR. */
int treg_parse_target(const char *id, long port, struct albd_addr *a, char *err, size_t errlen);

/* RegisterTargets: register the N targets V (any number of them listed
 * twice is harmless) in group TG of the live generation (admin_gen()),
 * make a new generation and keep them in state_dir. A target registered
 * already gets the weight given; one the file names is skipped. Returns 0,
 * or -1 with E filled in (then nothing changed). TG may be freed by the
 * time it returns (a new generation): the caller does not use it again. */
int treg_register(const struct cfg_target_group *tg, const struct treg_target *v, size_t n,
		  struct treg_error *e);

/* DeregisterTargets: as treg_register(), all or nothing: every target must
 * be one the API registered in TG (else 400 InvalidTarget); they drain
 * for the group's deregistration_delay. */
int treg_deregister(const struct cfg_target_group *tg, const struct treg_target *v, size_t n,
		    struct treg_error *e);

/* Route the endpoints (after admin_init()); REBUILD makes a new generation
 * with the registrations as they are (main.c): 0, or -1 with a message. */
void treg_api_init(int (*rebuild)(void *arg, char *err, size_t errlen), void *arg);

#endif
