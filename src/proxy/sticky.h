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
 * One cookie serves every target group that uses it (ALB's AWSALB and
 * AWSALBAPP do): its value is a set of up to STICKY_ENTRIES_MAX entries,
 * (group id, target id, second issued), one per target group, so a client
 * that goes from one sticky group to another keeps both.
 *
 * A value is base64url (no padding) of: version, kind (part of what is
 * authenticated, so one kind is never taken for another), a 16-byte tag
 * (HMAC-SHA256 of version, kind and the entries) and the entries encrypted
 * with AES-256-CTR under the tag as IV (a synthetic IV: the same entries
 * give the same value, different ones nothing in common). Keys for both are
 * derived from 32 random bytes kept in state_dir/sticky.key (created once,
 * mode 0600). Ids are keyed too (HMAC of the group's name and the target's
 * address): a cookie tells a client nothing of the targets behind albd,
 * not even whether two clients share one, and a client cannot make one
 * that albd accepts: a changed byte, an expired or future issue time, or
 * an id no target of this group has, and the entry is ignored (the
 * balancer picks, and a new cookie goes out).
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
#define STICKY_ENTRIES_MAX 8            /* target groups one cookie remembers */
#define STICKY_MAX_AGE_S 604800         /* the longest duration: older entries go */
#define STICKY_VALUE_MAX 240            /* base64url of 19 + 20 * 8 bytes, and a NUL */
#define STICKY_SKEW_S 300               /* an issue time this far ahead is still believed */

/* What a cookie names: its kind is authenticated with it, so a cookie of
 * one kind is never taken for another. */
enum sticky_kind {
	STICKY_LB = 'B',     /* AWSALB: targets */
	STICKY_APP = 'A',    /* AWSALBAPP: targets */
	STICKY_GROUP = 'G',  /* AWSALBTG: target groups (target 0) */
};

struct sticky_entry {
	uint64_t group;      /* sticky_id(group, NULL) */
	uint64_t target;     /* sticky_id(group, address), 0 in AWSALBTG */
	uint32_t issued;     /* epoch seconds */
};

struct sticky_set {
	unsigned n;
	struct sticky_entry e[STICKY_ENTRIES_MAX];
};

/* Load DIR/sticky.key, or create it (DIR too, one level) with 32 bytes
 * from getrandom(2); two albd starting at once agree on one key (the file
 * is linked into place, never renamed over). A key file others may read
 * is warned about. Returns 0, or -1 with a message in ERR. Once loaded,
 * later calls do nothing and return 0. Thread: control, before workers
 * use the key. */
int sticky_key_init(const char *dir, char *err, size_t errlen);

/* What albd -t checks, creating nothing: DIR/sticky.key is a readable
 * 32-byte file, or it does not exist and DIR (or, when DIR does not
 * exist, its parent) is a writable directory. Returns 0, or -1 with a
 * message in ERR. Thread: any. */
int sticky_key_check(const char *dir, char *err, size_t errlen);

/* Use KEY (tests). Thread: as sticky_key_init(). */
void sticky_key_set(const uint8_t key[STICKY_KEY_LEN]);

/* Does CFG use stickiness anywhere (a target group, or a forward)? */
int sticky_configured(const struct albd_config *cfg);

/* The id of target ADDR of group TG, or of group TG when ADDR is NULL:
 * 64 bits of HMAC-SHA256 under the key, never 0. Thread: any (for
 * building generations, not for the request path). */
uint64_t sticky_id(const char *tg, const struct albd_addr *addr);

/* A MAC and cipher context for one thread (a worker). NULL when out of
 * memory or when no key is loaded yet. */
struct sticky_mac;
struct sticky_mac *sticky_mac_new(void);
void sticky_mac_free(struct sticky_mac *m);

/* Write the value of a cookie of KIND holding SET into OUT (a NUL after
 * it). Returns its length, 0 if the MAC or the cipher failed. */
size_t sticky_seal(struct sticky_mac *m, enum sticky_kind kind, const struct sticky_set *set,
		   char out[STICKY_VALUE_MAX]);

/* Is V[0..N) a value of KIND that albd made? Then *SET gets its entries
 * (whatever their age) and 1 is returned; else 0, *SET empty. The tag is
 * compared in constant time. */
int sticky_open(struct sticky_mac *m, const char *v, size_t n, enum sticky_kind kind, struct sticky_set *set);

/* SET's entry for GROUP issued within DURATION seconds before NOW (and
 * not more than STICKY_SKEW_S after), or NULL. */
const struct sticky_entry *sticky_find(const struct sticky_set *set, uint64_t group, uint32_t now,
				       unsigned duration);

/* Put (GROUP, TARGET, NOW) into SET in place of GROUP's entry, dropping
 * entries older than STICKY_MAX_AGE_S and, when full, the oldest. */
void sticky_put(struct sticky_set *set, uint64_t group, uint64_t target, uint32_t now);

/* Remove GROUP's entry from SET, if any. */
void sticky_remove(struct sticky_set *set, uint64_t group);

/* A walk over the values of one cookie in a request's Cookie fields, in
 * field and then position order, each byte looked at once (a client may
 * send a name thousands of times: it must not cost it more than once).
 * Set up with sticky_cookie_iter_init(); the fields must outlive it. */
struct sticky_cookie_iter {
	const struct http1_header *hdrs;   /* the request's fields */
	size_t n;
	size_t i;                          /* the field being read */
	const char *p;                     /* where the next search in field i starts, or NULL
	                                    * (its start: field i not reached yet) */
};

/* Start a walk over HDRS[0..N). Thread: the caller's. */
void sticky_cookie_iter_init(struct sticky_cookie_iter *it, const struct http1_header *hdrs, size_t n);

/* The next value of cookie NAME (NAME_LEN bytes, compared exactly), with
 * surrounding double quotes removed: 1 with *V, *VLEN set (pointing into
 * the fields), or 0 when there is no other. One walk serves one NAME. */
int sticky_cookie_next(struct sticky_cookie_iter *it, const char *name, size_t name_len, const char **v,
		       size_t *vlen);

/* The Nth value of cookie NAME (NAME_LEN bytes, compared exactly) in the
 * request's Cookie fields HDRS[0..N), counting from 0 in field and then
 * position order, with surrounding double quotes removed: a client may
 * send a name several times (other paths, a target's own). Returns 1 and
 * sets *V, *VLEN, or 0 when there are fewer. Costs a walk up to the Nth:
 * to visit them all, use sticky_cookie_next(). */
int sticky_cookie_find(const struct http1_header *hdrs, size_t n, const char *name, size_t name_len,
		       unsigned nth, const char **v, size_t *vlen);

/* Does response field F set cookie NAME (a Set-Cookie field whose cookie
 * name is NAME)? */
int sticky_sets_cookie(const struct http1_header *f, const char *name, size_t name_len);

/* Format EPOCH as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into
 * OUT (30 bytes with the NUL): http1_format_date(), without a lock. */
void sticky_http_date(uint32_t epoch, char out[30]);

#endif
