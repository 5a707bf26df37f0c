/* redirect.h - the Location of a redirect action, expanded per request
 * from the templates of its struct cfg_redirect (ALB's
 * RedirectActionConfig; the parts and their placeholders are checked by
 * config_listeners.c).
 *
 * The URL is protocol://host:port/path?query:
 *   protocol  "http" or "https": the listener's own for #{protocol}
 *   host      the template, #{host} being the request's host (the Host
 *             field or the absolute-form authority, without its port, an
 *             IPv6 literal with its brackets), as received
 *   port      always written; the listener's own port for #{port} (what the
 *             client connected to, not the Host field's port)
 *   path      the template, #{path} being the request's path without its
 *             leading '/', percent-encoding as received; #{host}, #{port}
 *   query     the template, #{query} being the request's query without
 *             '?', as received; the '?' is written only when the expanded
 *             query is not empty
 * #{protocol} inside the query is "http" or "https" as well.
 *
 * Pure functions: any thread, no allocation.
 */
#ifndef ALBD_REDIRECT_H
#define ALBD_REDIRECT_H

#include <stddef.h>

#include "../core/config.h"

/* The longest Location albd writes; a longer one is a 500. */
#define REDIRECT_LOCATION_MAX 16384

/* What a redirect's placeholders stand for in one request. */
struct redirect_req {
	int https;                              /* the listener has tls */
	unsigned port;                          /* the listener's port */
	const char *host; size_t host_len;      /* without its port (redirect_host_len()) */
	const char *path; size_t path_len;      /* starts with '/' */
	const char *query; size_t query_len;    /* without '?'; may be empty */
};

/* The length of the host part of a Host value V of N bytes: up to a ":port"
 * ("[::1]:8080" gives "[::1]", "a.example:80" "a.example"). */
size_t redirect_host_len(const char *v, size_t n);

/* Write RD's Location for RQ into BUF of SIZE bytes (NUL-terminated).
 * Returns its length, or -1 when it does not fit. */
long redirect_location(const struct cfg_redirect *rd, const struct redirect_req *rq, char *buf,
		       size_t size);

#endif
