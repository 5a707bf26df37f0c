/* sticky.c - sticky sessions: ALB's stickiness cookies. See sticky.h. */
#include "sticky.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../core/atomic_file.h"
#include "../core/log.h"

#define COOKIE_VERSION 2
#define TAG_LEN 16
#define HEAD_LEN (2 + TAG_LEN)        /* version, kind, tag */
#define ENTRY_LEN 20                  /* group 8, target 8, issued 4 */
#define RAW_MAX (HEAD_LEN + 1 + ENTRY_LEN * STICKY_ENTRIES_MAX)

static uint8_t key[STICKY_KEY_LEN];      /* the file's: ids */
static uint8_t key_mac[32], key_enc[32]; /* derived: the tag, the cipher */
static int key_loaded;

static void derive(const char *label, uint8_t out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, STICKY_KEY_LEN, (const unsigned char *)label, strlen(label), out, &len);
}

void sticky_key_set(const uint8_t k[STICKY_KEY_LEN])
{
	memcpy(key, k, STICKY_KEY_LEN);
	derive("albd sticky cookie tag", key_mac);
	derive("albd sticky cookie cipher", key_enc);
	key_loaded = 1;
}

/* Read PATH: exactly STICKY_KEY_LEN bytes. Returns 0, -1 (ERR set; errno
 * ENOENT when there is no file). */
static int read_key(const char *path, uint8_t k[STICKY_KEY_LEN + 1], char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	ssize_t n = read(fd, k, STICKY_KEY_LEN + 1);
	int e = errno;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		log_warn("%s can be read by others (mode %04o): anyone who reads it can forge sticky cookies",
			 path, (unsigned)(st.st_mode & 07777));
	close(fd);
	if (n != STICKY_KEY_LEN) {
		if (n < 0)
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
		else
			snprintf(err, errlen,
				 "%s: %zd bytes, expected %d (remove it to make a new key: sticky sessions "
				 "start over)",
				 path, n, STICKY_KEY_LEN);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int sticky_key_init(const char *dir, char *err, size_t errlen)
{
	char path[4096], tmp[4160];
	uint8_t k[STICKY_KEY_LEN + 1];

	if (key_loaded)
		return 0;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, STICKY_KEY_FILE) >= sizeof path) {
		snprintf(err, errlen, "state_dir \"%s\": path too long", dir);
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (read_key(path, k, err, errlen) == 0) {
			sticky_key_set(k);
			OPENSSL_cleanse(k, sizeof k);
			return 0;
		}
		if (errno != ENOENT)
			return -1;
		/* none yet: write a new one beside it, then link it into place.
		 * link() never replaces: of two albd starting at once, one
		 * key wins and the other reads it. */
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create state_dir %s: %s", dir, strerror(errno));
			return -1;
		}
		if (getrandom(k, STICKY_KEY_LEN, 0) != STICKY_KEY_LEN) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return -1;
		}
		snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		int ok = fd >= 0 && write(fd, k, STICKY_KEY_LEN) == STICKY_KEY_LEN && fsync(fd) == 0;
		int e = errno;
		if (fd >= 0)
			close(fd);
		OPENSSL_cleanse(k, sizeof k);
		if (!ok) {
			unlink(tmp);
			snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(e));
			return -1;
		}
		int linked = link(tmp, path);
		e = errno;
		unlink(tmp);
		if (linked < 0 && e != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(e));
			return -1;
		}
		atomic_fsync_dir(dir);
		/* read back what is there now: ours, or the other one's */
	}
	snprintf(err, errlen, "cannot create %s", path);
	return -1;
}

int sticky_key_check(const char *dir, char *err, size_t errlen)
{
	char path[4096], parent[4096];
	uint8_t k[STICKY_KEY_LEN + 1];

	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, STICKY_KEY_FILE) >= sizeof path) {
		snprintf(err, errlen, "state_dir \"%s\": path too long", dir);
		return -1;
	}
	if (read_key(path, k, err, errlen) == 0) {
		OPENSSL_cleanse(k, sizeof k);
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	const char *d = dir;
	if (access(dir, F_OK) != 0) {
		snprintf(parent, sizeof parent, "%s", dir);
		char *slash = strrchr(parent, '/');
		if (slash == parent)
			slash[1] = 0;
		else if (slash)
			*slash = 0;
		else
			snprintf(parent, sizeof parent, ".");
		d = parent;
	}
	if (access(d, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "state_dir %s: cannot create %s there for sticky sessions: %s", dir,
			 STICKY_KEY_FILE, strerror(errno));
		return -1;
	}
	return 0;
}

static int sticky_type_used(const struct albd_config *cfg)
{
	for (size_t i = 0; i < cfg->ntarget_groups; i++)
		if (cfg->target_groups[i].stickiness.type != CFG_STICKY_NONE)
			return 1;
	return 0;
}

static int action_sticky(const struct cfg_action *a)
{
	return a->type == CFG_ACT_FORWARD && a->u.forward.stickiness_s;
}

int sticky_configured(const struct albd_config *cfg)
{
	if (sticky_type_used(cfg))
		return 1;
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct cfg_listener *l = &cfg->listeners[i];

		if (action_sticky(&l->default_action))
			return 1;
		for (size_t j = 0; j < l->nrules; j++)
			if (action_sticky(&l->rules[j].action))
				return 1;
	}
	return 0;
}

uint64_t sticky_id(const char *tg, const struct albd_addr *addr)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[600];
	size_t n = 0;
	uint64_t id = 0;

	/* "target" NUL group NUL address, or "group" NUL group: no two
	 * inputs alike (a group name has no NUL) */
	const char *parts[3] = { addr ? "target" : "group", tg, addr ? addr->text : NULL };
	for (int i = 0; i < 3 && parts[i]; i++) {
		size_t len = strlen(parts[i]);

		if (n + len + 1 > sizeof buf)
			len = sizeof buf - n - 1;
		memcpy(buf + n, parts[i], len);
		n += len;
		buf[n++] = 0;
	}
	if (!HMAC(EVP_sha256(), key, STICKY_KEY_LEN, (const unsigned char *)buf, n, md, &mdlen) || mdlen < 8)
		return 0;
	for (int i = 0; i < 8; i++)
		id = id << 8 | md[i];
	return id ? id : 1;   /* 0 means none */
}

struct sticky_mac {
	EVP_MAC_CTX *mac;      /* HMAC-SHA256 under key_mac */
	EVP_CIPHER_CTX *enc;   /* AES-256-CTR under key_enc */
};

struct sticky_mac *sticky_mac_new(void)
{
	struct sticky_mac *m;
	EVP_MAC *mac;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (!key_loaded || !(m = calloc(1, sizeof *m)))
		return NULL;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac || !(m->mac = EVP_MAC_CTX_new(mac)) || !EVP_MAC_init(m->mac, key_mac, sizeof key_mac, params) ||
	    !(m->enc = EVP_CIPHER_CTX_new()) || !EVP_EncryptInit_ex(m->enc, EVP_aes_256_ctr(), NULL, key_enc, NULL)) {
		EVP_MAC_free(mac);
		sticky_mac_free(m);
		return NULL;
	}
	EVP_MAC_free(mac);   /* the context keeps its own reference */
	return m;
}

void sticky_mac_free(struct sticky_mac *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->mac);
	EVP_CIPHER_CTX_free(m->enc);
	free(m);
}

/* The tag of HEAD (version, kind) and PLAIN[0..LEN) into OUT. */
static int tag_of(struct sticky_mac *m, const uint8_t *head, const uint8_t *plain, size_t len, uint8_t out[TAG_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;

	/* a NULL key reuses the one set at creation (OpenSSL 3) */
	if (!EVP_MAC_init(m->mac, NULL, 0, NULL) || !EVP_MAC_update(m->mac, head, 2) ||
	    !EVP_MAC_update(m->mac, plain, len) || !EVP_MAC_final(m->mac, md, &mdlen, sizeof md) || mdlen < TAG_LEN)
		return -1;
	memcpy(out, md, TAG_LEN);
	return 0;
}

/* AES-256-CTR of IN[0..LEN) into OUT with IV (both directions). */
static int ctr(struct sticky_mac *m, const uint8_t iv[TAG_LEN], const uint8_t *in, size_t len, uint8_t *out)
{
	int outl = 0;

	return EVP_EncryptInit_ex(m->enc, NULL, NULL, NULL, iv) && EVP_EncryptUpdate(m->enc, out, &outl, in, (int)len) &&
			       (size_t)outl == len
		       ? 0
		       : -1;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* base64url without padding of IN[0..N) into OUT; returns the length. */
static size_t b64_enc(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	return o;
}

/* Decode S[0..N) (base64url, no padding, canonical: unused bits zero)
 * into OUT (CAP bytes); returns the length, or -1. */
static long b64_dec(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc)   /* leftover bits must be zero: one value, one spelling */
		return -1;
	return (long)o;
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

size_t sticky_seal(struct sticky_mac *m, enum sticky_kind kind, const struct sticky_set *set,
		   char out[STICKY_VALUE_MAX])
{
	uint8_t raw[RAW_MAX], plain[1 + ENTRY_LEN * STICKY_ENTRIES_MAX];
	unsigned n = set->n > STICKY_ENTRIES_MAX ? STICKY_ENTRIES_MAX : set->n;
	size_t len = 1 + (size_t)n * ENTRY_LEN;

	plain[0] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = plain + 1 + i * ENTRY_LEN;
		put_be(e, set->e[i].group, 8);
		put_be(e + 8, set->e[i].target, 8);
		put_be(e + 16, set->e[i].issued, 4);
	}
	raw[0] = COOKIE_VERSION;
	raw[1] = (uint8_t)kind;
	if (tag_of(m, raw, plain, len, raw + 2) < 0 || ctr(m, raw + 2, plain, len, raw + HEAD_LEN) < 0)
		return 0;
	size_t o = b64_enc(raw, HEAD_LEN + len, out);
	out[o] = 0;
	return o;
}

int sticky_open(struct sticky_mac *m, const char *v, size_t n, enum sticky_kind kind, struct sticky_set *set)
{
	uint8_t raw[RAW_MAX + 1], plain[sizeof raw], tag[TAG_LEN];
	long len;

	set->n = 0;
	if (n > STICKY_VALUE_MAX || (len = b64_dec(v, n, raw, sizeof raw)) < HEAD_LEN + 1 ||
	    raw[0] != COOKIE_VERSION || raw[1] != (uint8_t)kind)
		return 0;
	size_t plen = (size_t)len - HEAD_LEN;
	if (ctr(m, raw + 2, raw + HEAD_LEN, plen, plain) < 0 || tag_of(m, raw, plain, plen, tag) < 0 ||
	    CRYPTO_memcmp(tag, raw + 2, TAG_LEN) != 0)
		return 0;
	if (plain[0] > STICKY_ENTRIES_MAX || plen != 1 + (size_t)plain[0] * ENTRY_LEN)
		return 0;
	for (unsigned i = 0; i < plain[0]; i++) {
		const uint8_t *e = plain + 1 + i * ENTRY_LEN;
		set->e[i].group = get_be(e, 8);
		set->e[i].target = get_be(e + 8, 8);
		set->e[i].issued = (uint32_t)get_be(e + 16, 4);
	}
	set->n = plain[0];
	return 1;
}

const struct sticky_entry *sticky_find(const struct sticky_set *set, uint64_t group, uint32_t now,
				       unsigned duration)
{
	for (unsigned i = 0; i < set->n; i++) {
		const struct sticky_entry *e = &set->e[i];

		if (e->group != group)
			continue;
		/* stale, or issued in the future beyond a clock step */
		if ((uint64_t)e->issued > (uint64_t)now + STICKY_SKEW_S || (now > e->issued && now - e->issued >= duration))
			return NULL;
		return e;
	}
	return NULL;
}

void sticky_remove(struct sticky_set *set, uint64_t group)
{
	for (unsigned i = 0; i < set->n; i++)
		if (set->e[i].group == group) {
			set->e[i] = set->e[--set->n];
			return;
		}
}

void sticky_put(struct sticky_set *set, uint64_t group, uint64_t target, uint32_t now)
{
	sticky_remove(set, group);
	/* entries no duration can keep alive any more */
	for (unsigned i = 0; i < set->n;) {
		const struct sticky_entry *e = &set->e[i];
		if ((now > e->issued && now - e->issued >= STICKY_MAX_AGE_S) || (uint64_t)e->issued > (uint64_t)now + STICKY_SKEW_S)
			set->e[i] = set->e[--set->n];
		else
			i++;
	}
	if (set->n == STICKY_ENTRIES_MAX) {
		unsigned old = 0;
		for (unsigned i = 1; i < set->n; i++)
			if (set->e[i].issued < set->e[old].issued)
				old = i;
		set->e[old] = set->e[--set->n];
	}
	set->e[set->n++] = (struct sticky_entry){ group, target, now };
}

static int is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* The next pair named NAME in a Cookie field's value from *PP to END
 * ("a=1; b=2", RFC 6265 5.4; lenient about the spaces): 1 with *V, *VLEN
 * set and *PP past it, or 0 at the end. */
static int find_in(const char **pp, const char *end, const char *name, size_t name_len, const char **v,
		   size_t *vlen)
{
	const char *p = *pp;

	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *pe = semi ? semi : end;
		const char *eq;

		while (p < pe && is_ows((unsigned char)*p))
			p++;
		eq = memchr(p, '=', (size_t)(pe - p));
		if (eq) {
			const char *ne = eq;
			while (ne > p && is_ows((unsigned char)ne[-1]))
				ne--;
			if ((size_t)(ne - p) == name_len && memcmp(p, name, name_len) == 0) {
				const char *vs = eq + 1, *ve = pe;
				while (vs < ve && is_ows((unsigned char)*vs))
					vs++;
				while (ve > vs && is_ows((unsigned char)ve[-1]))
					ve--;
				if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
					vs++;
					ve--;
				}
				*v = vs;
				*vlen = (size_t)(ve - vs);
				*pp = semi ? semi + 1 : end;
				return 1;
			}
		}
		p = semi ? semi + 1 : end;
	}
	*pp = end;
	return 0;
}

void sticky_cookie_iter_init(struct sticky_cookie_iter *it, const struct http1_header *hdrs, size_t n)
{
	it->hdrs = hdrs;
	it->n = n;
	it->i = 0;
	it->p = NULL;
}

int sticky_cookie_next(struct sticky_cookie_iter *it, const char *name, size_t name_len, const char **v,
		       size_t *vlen)
{
	for (; it->i < it->n; it->i++, it->p = NULL) {
		const struct http1_header *f = &it->hdrs[it->i];
		const char *end = f->value + f->value_len;

		if (f->name_len != 6 || !http1_name_is(f, "cookie"))
			continue;
		if (!it->p)
			it->p = f->value;
		/* find_in() leaves it->p past the pair it returns, so the
		 * next call goes on from there */
		if (it->p < end && find_in(&it->p, end, name, name_len, v, vlen))
			return 1;
	}
	return 0;
}

int sticky_cookie_find(const struct http1_header *hdrs, size_t n, const char *name, size_t name_len,
		       unsigned nth, const char **v, size_t *vlen)
{
	struct sticky_cookie_iter it;

	sticky_cookie_iter_init(&it, hdrs, n);
	while (sticky_cookie_next(&it, name, name_len, v, vlen))
		if (nth-- == 0)
			return 1;
	return 0;
}

int sticky_sets_cookie(const struct http1_header *f, const char *name, size_t name_len)
{
	const char *p = f->value, *end = f->value + f->value_len;

	if (f->name_len != 10 || !http1_name_is(f, "set-cookie"))
		return 0;
	while (p < end && is_ows((unsigned char)*p))
		p++;
	if ((size_t)(end - p) <= name_len || memcmp(p, name, name_len) != 0)
		return 0;
	p += name_len;
	while (p < end && is_ows((unsigned char)*p))
		p++;
	return p < end && *p == '=';
}

void sticky_http_date(uint32_t epoch, char out[30])
{
	http1_format_date(epoch, out);
}
