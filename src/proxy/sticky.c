/* sticky.c - sticky sessions: ALB's stickiness cookies. See sticky.h. */
#include "sticky.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../core/atomic_file.h"

#define RAW_LEN 30        /* version, kind, issued (4), id (8), MAC (16) */
#define SIGNED_LEN 14     /* what the MAC covers of it, before the scope */
#define MAC_LEN 16
#define COOKIE_VERSION 1

static uint8_t key[STICKY_KEY_LEN];
static int key_loaded;

void sticky_key_set(const uint8_t k[STICKY_KEY_LEN])
{
	memcpy(key, k, STICKY_KEY_LEN);
	key_loaded = 1;
}

int sticky_key_init(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	uint8_t k[STICKY_KEY_LEN + 1];

	if (key_loaded)
		return 0;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, STICKY_KEY_FILE) >= sizeof path) {
		snprintf(err, errlen, "state_dir \"%s\": path too long", dir);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, k, sizeof k);
		int e = errno;

		close(fd);
		if (n != STICKY_KEY_LEN) {
			if (n < 0)
				snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
			else
				snprintf(err, errlen,
					 "%s: %zd bytes, expected %d (remove it to make a new key: sticky "
					 "sessions start over)",
					 path, n, STICKY_KEY_LEN);
			return -1;
		}
		sticky_key_set(k);
		OPENSSL_cleanse(k, sizeof k);
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create state_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (getrandom(k, STICKY_KEY_LEN, 0) != STICKY_KEY_LEN) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	if (atomic_write(dir, STICKY_KEY_FILE, k, STICKY_KEY_LEN, 0600, err, errlen) < 0) {
		OPENSSL_cleanse(k, sizeof k);
		return -1;
	}
	sticky_key_set(k);
	OPENSSL_cleanse(k, sizeof k);
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
	return id;
}

struct sticky_mac {
	EVP_MAC_CTX *ctx;
};

struct sticky_mac *sticky_mac_new(void)
{
	struct sticky_mac *m = calloc(1, sizeof *m);
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (!m || !mac || !(m->ctx = EVP_MAC_CTX_new(mac)) || !EVP_MAC_init(m->ctx, key, STICKY_KEY_LEN, params)) {
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
	EVP_MAC_CTX_free(m->ctx);
	free(m);
}

/* The MAC of RAW's signed part and SCOPE into OUT (MAC_LEN bytes). */
static int mac_of(struct sticky_mac *m, const uint8_t *raw, const char *scope, size_t scope_len,
		  uint8_t out[MAC_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;

	/* a NULL key reuses the one set at creation (OpenSSL 3) */
	if (!EVP_MAC_init(m->ctx, NULL, 0, NULL) || !EVP_MAC_update(m->ctx, raw, SIGNED_LEN) ||
	    (scope_len && !EVP_MAC_update(m->ctx, (const unsigned char *)scope, scope_len)) ||
	    !EVP_MAC_final(m->ctx, md, &mdlen, sizeof md) || mdlen < MAC_LEN)
		return -1;
	memcpy(out, md, MAC_LEN);
	return 0;
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

int sticky_make(struct sticky_mac *m, enum sticky_kind kind, const char *scope, size_t scope_len, uint64_t id,
		uint32_t now, char out[STICKY_VALUE_LEN + 1])
{
	uint8_t raw[RAW_LEN];

	raw[0] = COOKIE_VERSION;
	raw[1] = (uint8_t)kind;
	for (int i = 0; i < 4; i++)
		raw[2 + i] = (uint8_t)(now >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		raw[6 + i] = (uint8_t)(id >> (56 - 8 * i));
	if (mac_of(m, raw, scope, scope_len, raw + SIGNED_LEN) < 0)
		return -1;
	/* 30 bytes, 10 groups of 3: 40 characters, no padding */
	for (int i = 0, o = 0; i < RAW_LEN; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	out[STICKY_VALUE_LEN] = 0;
	return 0;
}

int sticky_check(struct sticky_mac *m, const char *v, size_t n, enum sticky_kind kind, const char *scope,
		 size_t scope_len, uint32_t now, unsigned duration, uint64_t *id)
{
	uint8_t raw[RAW_LEN], mac[MAC_LEN];
	uint32_t issued = 0;
	uint64_t x = 0;

	if (n != STICKY_VALUE_LEN)
		return 0;
	for (size_t i = 0, o = 0; i < n; i += 4) {
		int a = b64url_val((unsigned char)v[i]), b = b64url_val((unsigned char)v[i + 1]),
		    c = b64url_val((unsigned char)v[i + 2]), d = b64url_val((unsigned char)v[i + 3]);
		if ((a | b | c | d) < 0)
			return 0;
		uint32_t w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		raw[o++] = (uint8_t)(w >> 16);
		raw[o++] = (uint8_t)(w >> 8);
		raw[o++] = (uint8_t)w;
	}
	if (raw[0] != COOKIE_VERSION || raw[1] != (uint8_t)kind)
		return 0;
	if (mac_of(m, raw, scope, scope_len, mac) < 0 || CRYPTO_memcmp(mac, raw + SIGNED_LEN, MAC_LEN) != 0)
		return 0;
	for (int i = 0; i < 4; i++)
		issued = issued << 8 | raw[2 + i];
	/* stale, or issued in the future beyond a clock step */
	if ((uint64_t)issued > (uint64_t)now + STICKY_SKEW_S || (now > issued && now - issued >= duration))
		return 0;
	for (int i = 0; i < 8; i++)
		x = x << 8 | raw[6 + i];
	*id = x;
	return 1;
}

static int is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* One Cookie field's value: "a=1; b=2" (RFC 6265 5.4; lenient about the
 * spaces). */
static int find_in(const char *p, const char *end, const char *name, size_t name_len, const char **v, size_t *vlen)
{
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
				return 1;
			}
		}
		p = semi ? semi + 1 : end;
	}
	return 0;
}

int sticky_cookie_find(const struct http1_header *hdrs, size_t n, const char *name, size_t name_len, const char **v,
		       size_t *vlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct http1_header *f = &hdrs[i];

		if (f->name_len == 6 && http1_name_is(f, "cookie") &&
		    find_in(f->value, f->value + f->value_len, name, name_len, v, vlen))
			return 1;
	}
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
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)epoch;
	struct tm tm;

	gmtime_r(&t, &tm);
	/* years past 9999 do not fit: the cookies' dates stay far below */
	snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday % 100,
		 months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100);
}
