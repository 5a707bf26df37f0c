/* config_admin.c - the top-level "name" and "state_dir" settings and the
 * "admin" group (the admin HTTP listener of control/admin.c).
 *
 * The bearer token is read from token_file here, when the file is loaded
 * (at start and at every reload), so a reload with a new token file takes
 * the new token, and a token file albd cannot use is a FILE:LINE error
 * like any other: albd -t reports it, a reload keeps the running config.
 */
#include "config_engine.h"

#include <grp.h>
#include <pwd.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#define LB_NAME_MAX 32
#define TOKEN_FILE_MAX 4096 /* bytes a token file may hold, white space included */

/* ------------------------------------------------------------ name */

/* ALB's rule for a load balancer name: 1..32 of [A-Za-z0-9-], not starting
 * or ending with '-'. */
static int valid_lb_name(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");

	return n > 0 && n <= LB_NAME_MAX && s[n] == '\0' && s[0] != '-' && s[n - 1] != '-';
}

int cfg_set_lb_name(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (!valid_lb_name(v))
		return cfg_fail(c, s,
				"invalid name \"%s\" (expected 1 to %d characters from A-Z a-z 0-9 -, "
				"not starting or ending with -)",
				v, LB_NAME_MAX);
	return cfg_replace_str(c, field, v);
}

/* The default name: the host name up to its first dot, with characters an
 * ALB name cannot have turned into '-', cut to 32 and trimmed of leading
 * and trailing '-'; "albd" when nothing is left. */
int cfg_def_lb_name(struct cfg_ctx *c, void *field, const char *text)
{
	char host[256] = "", name[LB_NAME_MAX + 1];
	size_t n = 0, start = 0;

	(void)text;
	if (gethostname(host, sizeof host - 1) < 0)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	for (size_t i = 0; host[i] && host[i] != '.' && n < LB_NAME_MAX; i++) {
		unsigned char ch = (unsigned char)host[i];

		name[n++] = (ch < 0x80 && (ch == '-' || (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
					   (ch >= 'a' && ch <= 'z')))
				    ? (char)ch
				    : '-';
	}
	while (n > 0 && name[n - 1] == '-')
		n--;
	name[n] = '\0';
	while (name[start] == '-')
		start++;
	return cfg_replace_str(c, field, name[start] ? name + start : "albd");
}

/* ------------------------------------------------------------ state_dir */

int cfg_set_state_dir(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (!*v)
		return cfg_fail(c, s, "expected a directory name");
	if (cfg_has_ctl(v))
		return cfg_fail(c, s, "control characters are not allowed in a directory name");
	/* it may not exist yet (albd makes it); something else there is an error */
	struct stat sb;
	if (stat(v, &sb) == 0 && !S_ISDIR(sb.st_mode))
		return cfg_fail(c, s, "%s is not a directory", v);
	return cfg_replace_str(c, field, v);
}

/* user = "albd"; group = "albd";: the names must exist when the config
 * is read (the ids are kept). */
int cfg_set_user(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct albd_config *cfg = c->cfg;
	const char *v = cfg_string_of(c, s);
	struct passwd *pw;

	if (!v)
		return -1;
	if (!*v || !(pw = getpwnam(v)))
		return cfg_fail(c, s, "unknown user \"%s\"", v);
	cfg->uid = pw->pw_uid;
	if (!config_setting_get_member(config_setting_parent(s), "group"))
		cfg->gid = pw->pw_gid;
	return cfg_replace_str(c, field, v);
}

int cfg_set_group(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct albd_config *cfg = c->cfg;
	const char *v = cfg_string_of(c, s);
	struct group *gr;

	if (!v)
		return -1;
	if (!*v || !(gr = getgrnam(v)))
		return cfg_fail(c, s, "unknown group \"%s\"", v);
	if (!config_setting_get_member(config_setting_parent(s), "user"))
		return cfg_fail(c, s, "group without user");
	cfg->gid = gr->gr_gid;
	return cfg_replace_str(c, field, v);
}

/* ------------------------------------------------------------ admin */

static int set_admin_listen(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	char msg[CONFIG_ERR_MAX];
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (config_parse_addr(v, 0, field, msg, sizeof msg) < 0)
		return cfg_fail(c, s, "%s", msg);
	return 0;
}

static int def_admin_listen(struct cfg_ctx *c, void *field, const char *text)
{
	char msg[CONFIG_ERR_MAX];

	if (config_parse_addr(text, 0, field, msg, sizeof msg) < 0)
		return cfg_fail(c, NULL, "default admin.listen: %s", msg);
	return 0;
}

/* Read the token file PATH: at most TOKEN_FILE_MAX bytes, white space
 * around the token ignored, the token itself printable ASCII without
 * spaces. Returns a new string, or NULL with the reason in WHY. */
static char *read_token(const char *path, char *why, size_t whylen)
{
	char buf[TOKEN_FILE_MAX + 2];
	size_t len = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		snprintf(why, whylen, "cannot read \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "cannot read \"%s\": not a regular file", path);
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "cannot read \"%s\": %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > TOKEN_FILE_MAX) {
			snprintf(why, whylen, "\"%s\" is larger than %d bytes", path, TOKEN_FILE_MAX);
			close(fd);
			return NULL;
		}
	}
	close(fd);
	buf[len] = '\0';

	char *b = buf, *e = buf + len;
	while (b < e && (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	if (b == e) {
		snprintf(why, whylen, "\"%s\" is empty (expected the token)", path);
		return NULL;
	}
	for (const char *p = b; p < e; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			snprintf(why, whylen,
				 "\"%s\": the token must be printable ASCII without spaces (byte %zu is 0x%02x)",
				 path, (size_t)(p - b) + 1, (unsigned char)*p);
			memset(buf, 0, sizeof buf);
			return NULL;
		}
	}
	*e = '\0';
	char *tok = strdup(b);
	memset(buf, 0, sizeof buf);
	if (!tok)
		snprintf(why, whylen, "out of memory");
	return tok;
}

/* token_file = "..."; obj is the struct cfg_admin. */
static int set_token_file(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_admin *a = obj;
	char why[CONFIG_ERR_MAX];
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if (!*v)
		return cfg_fail(c, s, "expected a file name");
	if (cfg_replace_str(c, &a->token_file, v) < 0)
		return -1;
	if (!(a->token = read_token(v, why, sizeof why)))
		return cfg_fail(c, s, "%s", why);
	return 0;
}

/* public_url = "https://lb.example.com:9100": an http(s) URL without a
 * query; a trailing '/' is dropped. */
static int set_public_url(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);
	char **out = field;
	size_t n;

	if (!v)
		return -1;
	if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) || cfg_has_space_or_ctl(v) ||
	    strpbrk(v, "?#"))
		return cfg_fail(c, s, "invalid URL \"%s\" (expected http://host[:port] or https://host[:port])", v);
	if (cfg_replace_str(c, out, v) < 0)
		return -1;
	n = strlen(*out);
	while (n > 8 && (*out)[n - 1] == '/')
		(*out)[--n] = '\0';
	return 0;
}

static int set_cert_url(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	const char *v = cfg_string_of(c, s);

	if (!v)
		return -1;
	if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) || cfg_has_space_or_ctl(v))
		return cfg_fail(c, s, "invalid URL \"%s\" (expected an https:// URL ending in .pem)", v);
	return cfg_replace_str(c, field, v);
}

/* aws_credentials = ( { access_key_id = "..."; secret_access_key_file = "..."; }, ... );
 * obj is the struct cfg_admin. The secret file is read as the token file is
 * (printable ASCII, surrounding white space dropped). */
static int set_aws_credentials(struct cfg_ctx *c, const config_setting_t *s, void *obj)
{
	struct cfg_admin *a = obj;
	int n = cfg_list_length(c, s);

	if (n <= 0)
		return n;
	if (!(a->aws_creds = cfg_zalloc(c, (size_t)n, sizeof *a->aws_creds)))
		return -1;
	a->naws_creds = (size_t)n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = cfg_elem(s, i), *k, *f;
		struct cfg_aws_credential *cr = &a->aws_creds[i];
		char why[CONFIG_ERR_MAX];
		const char *v;
		size_t len;

		cr->line = (int)cfg_line_of(e);
		if (!config_setting_is_group(e))
			return cfg_fail(c, e, "expected a group { access_key_id = \"...\"; secret_access_key_file = \"...\"; }");
		for (int j = 0; j < config_setting_length(e); j++) {
			const char *name = config_setting_name(config_setting_get_elem(e, (unsigned)j));

			if (strcmp(name, "access_key_id") != 0 && strcmp(name, "secret_access_key_file") != 0)
				return cfg_fail(c, config_setting_get_elem(e, (unsigned)j),
						"unknown setting \"%s\" (expected access_key_id, secret_access_key_file)",
						name);
		}
		if (!(k = config_setting_get_member(e, "access_key_id")))
			return cfg_fail(c, e, "access_key_id is required");
		if (!(f = config_setting_get_member(e, "secret_access_key_file")))
			return cfg_fail(c, e, "secret_access_key_file is required");
		if (!(v = cfg_string_of(c, k)))
			return -1;
		len = strlen(v);
		if (len < 16 || len > 128 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != len)
			return cfg_fail(c, k, "\"%s\" is not an access key id (16 to 128 letters and digits)", v);
		for (int j = 0; j < i; j++)
			if (strcmp(a->aws_creds[j].access_key_id, v) == 0)
				return cfg_fail(c, k, "access key id \"%s\" is given twice (line %d)", v,
						a->aws_creds[j].line);
		if (cfg_replace_str(c, &cr->access_key_id, v) < 0)
			return -1;
		if (!(v = cfg_string_of(c, f)))
			return -1;
		if (!*v)
			return cfg_fail(c, f, "expected a file name");
		if (cfg_replace_str(c, &cr->secret_file, v) < 0)
			return -1;
		if (!(cr->secret = read_token(v, why, sizeof why)))
			return cfg_fail(c, f, "%s", why);
	}
	return 0;
}

/* See config_engine.h. */
int cfg_admin_group(struct cfg_ctx *c, const config_setting_t *s, void *field)
{
	struct cfg_admin *a = field;

	a->line = (int)cfg_line_of(s);
	return 0;
}

/* clang-format off */
const struct cfg_key cfg_admin_keys[] = {
	NUM("enabled", K_BOOL, struct cfg_admin, enabled, 0, 1, 1, 0),
	FN_DEF("listen", struct cfg_admin, addr, set_admin_listen, "127.0.0.1:9100", def_admin_listen, 0),
	FN_OBJ("token_file", set_token_file, 0),
	NUM("metrics_token", K_BOOL, struct cfg_admin, metrics_token, 0, 1, 0, 0),
	FN("tls", struct cfg_admin, tls, cfg_parse_tls, 0),
	NUM("max_custom_series", K_UINT, struct cfg_admin, max_custom_series, 1, 1000000, 10000, 0),
	FN("public_url", struct cfg_admin, public_url, set_public_url, 0),
	FN("signing_cert_url", struct cfg_admin, signing_cert_url, set_cert_url, 0),
	FN_OBJ("aws_credentials", set_aws_credentials, 0),
	KEY_END
};
/* clang-format on */

/* Can sockets on A and B not both be bound: the same address, or the same
 * port and family with one of them the wildcard address? */
static int addr_clash(const struct albd_addr *a, const struct albd_addr *b)
{
	if (config_addr_equal(a, b))
		return 1;
	if (a->port != b->port || a->ss.ss_family != b->ss.ss_family)
		return 0;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return x->sin_addr.s_addr == htonl(INADDR_ANY) || y->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return IN6_IS_ADDR_UNSPECIFIED(&x->sin6_addr) || IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr);
	}
	return 0;
}

/* See config_engine.h. */
int cfg_check_admin(struct cfg_ctx *c, const config_setting_t *root)
{
	const struct albd_config *cfg = c->cfg;
	const config_setting_t *g = config_setting_get_member(root, "admin");
	const config_setting_t *listen = g ? config_setting_get_member(g, "listen") : NULL;
	const config_setting_t *ls = config_setting_get_member(root, "listeners");

	if (!cfg->admin.enabled)
		return 0;
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		const struct cfg_listener *l = &cfg->listeners[i];

		if (!addr_clash(&cfg->admin.addr, &l->addr))
			continue;
		if (listen)
			return cfg_fail(c, listen,
					"\"%s\" clashes with the address of listener \"%s\" (%s, line %d)",
					cfg->admin.addr.text, l->name, l->addr.text, l->line);
		return cfg_fail(c, ls ? cfg_member_or(cfg_elem(ls, (int)i), "listen") : root,
				"\"%s\" clashes with the admin listener's default address %s (set admin.listen, "
				"or admin.enabled = false)",
				l->addr.text, cfg->admin.addr.text);
	}
	return 0;
}

/* See config_engine.h. */
void cfg_free_admin(struct cfg_admin *a)
{
	free(a->token_file);
	if (a->token) {
		memset(a->token, 0, strlen(a->token));
		free(a->token);
	}
	cfg_free_tls(a->tls);
	free(a->public_url);
	free(a->signing_cert_url);
	for (size_t i = 0; i < a->naws_creds; i++) {
		struct cfg_aws_credential *cr = &a->aws_creds[i];

		free(cr->access_key_id);
		free(cr->secret_file);
		if (cr->secret) {
			memset(cr->secret, 0, strlen(cr->secret));
			free(cr->secret);
		}
	}
	free(a->aws_creds);
	a->public_url = a->signing_cert_url = NULL;
	a->token_file = a->token = NULL;
	a->tls = NULL;
}
