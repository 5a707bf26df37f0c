/* sticky.h - sticky sessions: ALB's stickiness cookies, made and checked.
 *
 * Three cookies, as an ALB's:
 *   - AWSALB (a target group's "lb_cookie" stickiness; the name can be
 *     changed) and its twin AWSALBCORS (SameSite=None; Secure): the
 *     target, set on every response;
 *   - AWSALBAPP ("app_cookie" stickiness): the target, set when the target
 *     sets the application's cookie, and on every response to a request
 *     that carried it;
 *   - AWSALBTG and AWSALBTGCORS (a forward's group stickiness): the target
 *     group of a weighted forward.
 * A value is 40 characters of base64url over 30 bytes: a version, the
 * kind, the second it was issued (wall clock), a 64-bit id and the first
 * 16 bytes of an HMAC-SHA256 of all that and the scope (the target
 * group's name for a target; empty for a group) under a key of 32 random
 * bytes kept in state_dir/sticky.key (created once, mode 0600). The ids
 * are keyed too (HMAC of the group's name and the target's address), so a
 * cookie tells a client nothing of the addresses behind albd, and a
 * client cannot turn one cookie into another: a changed byte, an expired
 * or future issue time, or an id no target of this group has, and the
 * cookie is ignored (the balancer picks, and a new cookie goes out).
 *
 * Thread: sticky_key_init() / sticky_key_set() on the control thread
 * before any worker uses the key (the key never changes afterwards: a
 * reload cannot change state_dir); a struct sticky_mac belongs to one
 * thread; the rest is pure.
 */
#ifndef ALBD_STICKY_H
#define ALBD_STICKY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "../net/http1.h"

#define STICKY_KEY_LEN 32
#define STICKY_KEY_FILE "sticky.key"
#define STICKY_VALUE_LEN 40          /* base64url of 30 bytes */
#define STICKY_SKEW_S 300            /* an issue time this far ahead is still believed */

/* What a cookie names: its kind is part of what is signed, so a cookie of
 * one kind is never taken for another. */
enum sticky_kind {
	STICKY_LB = 'B',     /* AWSALB: a target */
	STICKY_APP = 'A',    /* AWSALBAPP: a target */
	STICKY_GROUP = 'G',  /* AWSALBTG: a target group */
};

/* Load DIR/sticky.key, or create it (DIR too, one level) with 32 bytes
 * from getrandom(2). Returns 0, or -1 with a message in ERR. Once loaded,
 * later calls do nothing and return 0. Thread: control, before workers
 * use the key. */
int sticky_key_init(const char *dir, char *err, size_t errlen);

/* Use KEY (tests, and albd -t which needs no file). Thread: as above. */
void sticky_key_set(const uint8_t key[STICKY_KEY_LEN]);

/* Does CFG use stickiness anywhere (a target group, or a forward)? */
int sticky_configured(const struct albd_config *cfg);

/* The id of target ADDR of group TG, or of group TG when ADDR is NULL:
 * 64 bits of HMAC-SHA256 under the key. Thread: any (allocates; for
 * building generations, not for the request path). */
uint64_t sticky_id(const char *tg, const struct albd_addr *addr);

/* A MAC context for one thread (a worker). NULL when out of memory. */
struct sticky_mac;
struct sticky_mac *sticky_mac_new(void);
void sticky_mac_free(struct sticky_mac *m);

/* Write the value of a cookie of KIND naming ID in SCOPE (SCOPE_LEN
 * bytes), issued at NOW (epoch seconds), into OUT: STICKY_VALUE_LEN
 * characters and a NUL. Returns 0, -1 if the MAC failed. */
int sticky_make(struct sticky_mac *m, enum sticky_kind kind, const char *scope, size_t scope_len, uint64_t id,
		uint32_t now, char out[STICKY_VALUE_LEN + 1]);

/* Is V[0..N) a cookie of KIND for SCOPE, issued within DURATION seconds
 * before NOW (and not more than STICKY_SKEW_S after)? Then *ID gets its id
 * and 1 is returned; else 0. Constant time in the MAC comparison. */
int sticky_check(struct sticky_mac *m, const char *v, size_t n, enum sticky_kind kind, const char *scope,
		 size_t scope_len, uint32_t now, unsigned duration, uint64_t *id);

/* The value of cookie NAME (NAME_LEN bytes, compared exactly) in the
 * request's Cookie fields HDRS[0..N): the first one, with surrounding
 * double quotes removed. Returns 1 and sets *V, *VLEN, or 0. */
int sticky_cookie_find(const struct http1_header *hdrs, size_t n, const char *name, size_t name_len, const char **v,
		       size_t *vlen);

/* Does response field F set cookie NAME (a Set-Cookie field whose cookie
 * name is NAME)? */
int sticky_sets_cookie(const struct http1_header *f, const char *name, size_t name_len);

/* Format EPOCH as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into
 * OUT (30 bytes with the NUL). */
void sticky_http_date(uint32_t epoch, char out[30]);

#endif
