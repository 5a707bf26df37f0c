/* config_limits.c - the "timeouts" and "limits" groups: plain numbers,
 * read by the engine from these tables alone.
 */
#include "config_engine.h"

/* clang-format off */
const struct cfg_key cfg_timeout_keys[] = {
	NUM("client_header", K_MS, struct cfg_timeouts, client_header_ms, 0.001, 3600, 10, 0),
	NUM("client_keepalive", K_MS, struct cfg_timeouts, client_keepalive_ms, 0.001, 3600, 60, 0),
	NUM("idle", K_MS, struct cfg_timeouts, idle_ms, 0.001, 3600, 60, 0),
	NUM("drain", K_MS, struct cfg_timeouts, drain_ms, 0, 3600, 30, 0),
	KEY_END
};
/* clang-format on */

/* A request line longer than max_header_size is refused as a head too
 * large (431) before it can be refused as too long (414): the two limits
 * need not be ordered. */
/* clang-format off */
static const struct cfg_key per_client_keys[] = {
	NUM("max_connections", K_UINT, struct cfg_per_client, max_connections, 0, 1000000, 0, 0),
	NUM("requests_per_second", K_UINT, struct cfg_per_client, requests_per_second, 0, 1000, 0, 0),
	NUM("burst", K_UINT, struct cfg_per_client, burst, 0, 100000, 0, 0),
	KEY_END
};

const struct cfg_key cfg_limit_keys[] = {
	NUM("max_request_line", K_UINT, struct cfg_limits, max_request_line, 256, 1048576, 8192, 0),
	NUM("max_header_size", K_UINT, struct cfg_limits, max_header_size, 1024, 1048576, 65536, 0),
	NUM("max_headers", K_UINT, struct cfg_limits, max_headers, 1, 1000, 100, 0),
	NUM("max_body_size", K_U64, struct cfg_limits, max_body_size, 0, CFG_I64_LIMIT, 0, 0),
	NUM("max_connections", K_UINT, struct cfg_limits, max_connections, 1, 1000000, 10000, 0),
	NUM("buffer_size", K_UINT, struct cfg_limits, buffer_size, 4096, 16777216, 65536, 0),
	NUM("retry_budget", K_RATIO, struct cfg_limits, retry_budget_ratio, 0, 1, 0.2, 0),
	GROUP("per_client", struct cfg_limits, per_client, per_client_keys, NULL),
	KEY_END
};
/* clang-format on */
