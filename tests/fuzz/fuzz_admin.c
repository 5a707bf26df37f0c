/* fuzz_admin.c - libFuzzer target for the admin listener's parsing
 * (src/control/admin_parse.c): the request target is split at '?', its
 * path percent-decoded, its query split into decoded parameters, and the
 * path matched against routes like albd's (exact and prefix). Checks:
 * nothing crashes or leaks, a decoded string holds no NUL, a query never
 * yields more than ADMIN_MAX_PARAMS parameters, and a route matches a path
 * exactly only when they are equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/admin_parse.h"

static const struct {
	const char *path;
	int prefix;
} routes[] = {
	{ "/metrics", 0 },
	{ "/api/v1/target-groups", 0 },
	{ "/api/v1/target-groups/", 1 },
	{ "/api/v1/metrics", 0 },
	{ "/api/v1/metrics/statistics", 0 },
	{ "/api/v1/alarms/", 1 },
	{ "/sns/", 1 },
	{ "/", 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	const char *q = memchr(t, '?', size);
	size_t plen = q ? (size_t)(q - t) : size;
	char *path = admin_decode(t, plen, 0);

	if (path) {
		size_t len = strlen(path);
		if (len > plen)
			abort();
		for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
			size_t m = admin_route_match(routes[i].path, routes[i].prefix, path);
			if (m == (size_t)-1 && strcmp(routes[i].path, path) != 0)
				abort();
			if (m && m != (size_t)-1 && (!routes[i].prefix || strncmp(routes[i].path, path, m) != 0))
				abort();
		}
		free(path);
	}
	if (q) {
		struct admin_kv *kv;
		size_t n;
		int rc = admin_parse_query(q + 1, size - plen - 1, &kv, &n);
		if (n > ADMIN_MAX_PARAMS)
			abort();
		for (size_t i = 0; rc == 0 && i < n; i++)
			if (!kv[i].name || !kv[i].value || strlen(kv[i].name) > size || strlen(kv[i].value) > size)
				abort();
		admin_kv_free(kv, n);
	}
	/* the whole input as an Accept header (admin_negotiate) */
	char *accept = malloc(size + 1);
	if (accept) {
		static const struct admin_offer offers[] = {
			{ "text/plain", "0.0.4" },
			{ "application/openmetrics-text", "1.0.0" },
		};
		memcpy(accept, data, size);
		accept[size] = 0;
		int k = admin_negotiate(accept, offers, 2);
		if (k < -1 || k > 1)
			abort();
		free(accept);
	}
	return 0;
}
