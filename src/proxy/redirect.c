/* redirect.c - see redirect.h. */
#include "redirect.h"

#include <stdio.h>
#include <string.h>

/* A bounded writer: ovf is set, and nothing more written, once full. */
struct out {
	char *p;
	size_t len, size;
	int ovf;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->ovf || n >= o->size - o->len) {
		o->ovf = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_port(struct out *o, unsigned port)
{
	char b[8];
	int n = snprintf(b, sizeof b, "%u", port);

	put(o, b, (size_t)n);
}

/* Template TPL with its placeholders replaced (config_listeners.c let
 * through only those the part may hold). */
static void expand(struct out *o, const char *tpl, const struct redirect_req *rq)
{
	while (*tpl) {
		const char *h = strstr(tpl, "#{");

		if (!h) {
			put(o, tpl, strlen(tpl));
			return;
		}
		put(o, tpl, (size_t)(h - tpl));
		if (strncmp(h, "#{protocol}", 11) == 0) {
			put(o, rq->https ? "https" : "http", rq->https ? 5 : 4);
			tpl = h + 11;
		} else if (strncmp(h, "#{host}", 7) == 0) {
			put(o, rq->host, rq->host_len);
			tpl = h + 7;
		} else if (strncmp(h, "#{port}", 7) == 0) {
			put_port(o, rq->port);
			tpl = h + 7;
		} else if (strncmp(h, "#{path}", 7) == 0) {
			/* ALB: "the leading "/" is removed" */
			if (rq->path_len > 1)
				put(o, rq->path + 1, rq->path_len - 1);
			tpl = h + 7;
		} else if (strncmp(h, "#{query}", 8) == 0) {
			put(o, rq->query, rq->query_len);
			tpl = h + 8;
		} else {
			put(o, "#{", 2);
			tpl = h + 2;
		}
	}
}

size_t redirect_host_len(const char *v, size_t n)
{
	if (n && v[0] == '[') {
		const char *e = memchr(v, ']', n);

		return e ? (size_t)(e - v) + 1 : n;
	}
	const char *colon = memchr(v, ':', n);

	return colon ? (size_t)(colon - v) : n;
}

long redirect_location(const struct cfg_redirect *rd, const struct redirect_req *rq, char *buf,
		       size_t size)
{
	struct out o = { buf, 0, size, size == 0 };
	int https = rd->proto < 0 ? rq->https : rd->proto;

	put(&o, https ? "https://" : "http://", https ? 8 : 7);
	expand(&o, rd->host, rq);
	put(&o, ":", 1);
	put_port(&o, rd->port ? (unsigned)rd->port : rq->port);
	expand(&o, rd->path, rq);
	size_t before = o.len;
	put(&o, "?", 1);
	expand(&o, rd->query, rq);
	if (!o.ovf && o.len == before + 1)
		o.len = before;         /* an empty query: no '?' */
	if (o.ovf)
		return -1;
	buf[o.len] = 0;
	return (long)o.len;
}
