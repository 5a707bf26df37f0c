/* config_tls.c - a listener's "tls" group: certificates, policy, protocol
 * versions, ciphers and ALPN. The files are only named here; proxy/gen.c
 * loads them (and albd -t checks them) when a generation is built.
 */
#include "config_engine.h"

#include <stdlib.h>
#include <string.h>

/* clang-format off */
static const struct cfg_key cert_keys[] = {
	FN("cert", struct cfg_certificate, cert, cfg_set_file, KEY_REQUIRED),
	FN("key", struct cfg_certificate, key, cfg_set_file, KEY_REQUIRED),
	KEY_END
};
/* clang-format on */

static int parse_certs(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_tls *t = obj;
	int n = cfg_list_length(c, s);

	if (n < 0)
		return -1;
	if (n == 0)
		return cfg_fail(c, s, "expected at least one certificate");
	if (!(t->certs = cfg_zalloc(c, (size_t)n, sizeof *t->certs)))
		return -1;
	t->ncerts = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i);
		t->certs[i].line = (int)cfg_line_of(e);
		if (!config_setting_is_group(e))
			return cfg_fail(c, e,
					"expected a group { cert = \"...\"; key = \"...\"; }");
		if (cfg_parse_group(c, e, cert_keys, &t->certs[i]) < 0)
			return -1;
	}
	return 0;
}

static int set_policy(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "intermediate") != 0 && strcmp(v, "modern") != 0)
		return cfg_fail(
			c, s, "unknown policy \"%s\" (expected \"intermediate\" or \"modern\")", v);
	return cfg_replace_str(c, field, v);
}

static int set_min_version(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (strcmp(v, "TLSv1.2") == 0)
		*(int *)field = 0x0303; /* TLS1_2_VERSION */
	else if (strcmp(v, "TLSv1.3") == 0)
		*(int *)field = 0x0304; /* TLS1_3_VERSION */
	else
		return cfg_fail(
			c, s,
			"unsupported min_version \"%s\" (expected \"TLSv1.2\" or \"TLSv1.3\"; "
			"older versions stay off)",
			v);
	return 0;
}

static int check_alpn(struct cfg_ctx *c, const config_setting_t *s, char *v)
{
	if (strcmp(v, "http/1.1") != 0 && strcmp(v, "http/1.0") != 0)
		return cfg_fail(c, s, "unsupported ALPN protocol \"%s\" (albd speaks \"http/1.1\")",
				v);
	return 0;
}

static int set_alpn(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_tls *t = obj;

	cfg_free_strings(t->alpn, t->nalpn); /* the default */
	t->alpn = NULL;
	t->nalpn = 0;
	return cfg_set_strings(c, s, &t->alpn, &t->nalpn, check_alpn);
}

/* The default: a list of one protocol. */
static int def_alpn(struct cfg_ctx *c, void *obj, const char *text)
{
	struct cfg_tls *t = obj;

	if (!(t->alpn = cfg_zalloc(c, 1, sizeof *t->alpn)) || !(t->alpn[0] = cfg_strdup(c, text)))
		return -1;
	t->nalpn = 1;
	return 0;
}

/* clang-format off */
static const struct cfg_key tls_keys[] = {
	FN_OBJ("certificates", parse_certs, KEY_REQUIRED),
	FN_STR("policy", struct cfg_tls, policy, set_policy, "intermediate", 0),
	FN_INT("min_version", struct cfg_tls, min_version, set_min_version, 0, 0),
	FN("ciphers", struct cfg_tls, ciphers, cfg_set_str, 0),
	FN("ciphersuites", struct cfg_tls, ciphersuites, cfg_set_str, 0),
	FN_OBJ_DEF("alpn", set_alpn, "http/1.1", def_alpn, 0),
	KEY_END
};
/* clang-format on */

/* tls = { certificates = ( ... ); ... } on a listener. */
int cfg_parse_tls(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_tls *t = cfg_zalloc(c, 1, sizeof *t);

	if (!t)
		return -1;
	*(struct cfg_tls **)field = t;
	t->line = (int)cfg_line_of(s);
	if (!config_setting_is_group(s))
		return cfg_fail(c, s, "expected a group { ... }");
	if (cfg_apply_defaults(c, tls_keys, t) < 0)
		return -1;
	return cfg_parse_group(c, s, tls_keys, t);
}

/* A tls group from cfg_parse_tls(), partly built ones too. NULL is ignored. */
void cfg_free_tls(struct cfg_tls *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->certs && i < t->ncerts; i++) {
		free(t->certs[i].cert);
		free(t->certs[i].key);
	}
	free(t->certs);
	free(t->policy);
	free(t->ciphers);
	free(t->ciphersuites);
	cfg_free_strings(t->alpn, t->nalpn);
	free(t);
}
