/* notify_http.c - see notify_http.h */
#include "control/notify_http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "net/conn.h"
#include "net/http1.h"
#include "net/tls_client.h"

#define NH_MAX_HEADERS 100

struct nh_req {
	struct conn *c;
	struct event *timer;
	struct http1_scan scan;
	nh_done_fn done;
	void *arg;
	unsigned timeout_ms;
	int finished;
	int connected;       /* CONN_CONNECTED came (for TLS: after the handshake) */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int nh_url_parse(const char *url, struct nh_url *u, char *err, size_t errlen)
{
	const char *p, *hs, *he, *ps;

	memset(u, 0, sizeof *u);
	if (!strncasecmp(url, "http://", 7)) {
		p = url + 7;
	} else if (!strncasecmp(url, "https://", 8)) {
		p = url + 8;
		u->https = 1;
	} else {
		seterr(err, errlen, "%s", "the scheme must be http:// or https://");
		return -1;
	}
	for (const char *q = url; *q; q++) {
		if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
			seterr(err, errlen, "%s", "white space or a control character in the URL");
			return -1;
		}
	}
	if (strcspn(p, "/?#") > strcspn(p, "@")) {
		seterr(err, errlen, "%s", "user information (user@) is not supported");
		return -1;
	}
	if (*p == '[') {
		hs = p + 1;
		he = strchr(hs, ']');
		if (!he) {
			seterr(err, errlen, "%s", "an IPv6 address without its closing ]");
			return -1;
		}
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/?#");
		p = he;
	}
	if (he == hs || (size_t)(he - hs) >= sizeof u->host) {
		seterr(err, errlen, "%s", "no host, or a host name too long");
		return -1;
	}
	memcpy(u->host, hs, (size_t)(he - hs));
	u->host[he - hs] = 0;
	if (hs[-1] == '[') {
		struct in6_addr a6;
		if (inet_pton(AF_INET6, u->host, &a6) != 1) {
			seterr(err, errlen, "%s", "not an IPv6 address between [ and ]");
			return -1;
		}
	} else {
		for (const char *q = u->host; *q; q++) {
			if (!isalnum((unsigned char)*q) && *q != '-' && *q != '.' && *q != '_') {
				seterr(err, errlen, "%s", "the host is not a name or an IP address");
				return -1;
			}
		}
	}
	u->port = u->https ? 443 : 80;
	if (*p == ':') {
		char *end;
		p++;
		errno = 0;
		unsigned long port = strtoul(p, &end, 10);
		if (end == p || !isdigit((unsigned char)*p) || errno || port < 1 || port > 65535 ||
		    (*end && *end != '/' && *end != '?' && *end != '#')) {
			seterr(err, errlen, "%s", "the port must be a number from 1 to 65535");
			return -1;
		}
		u->port = (unsigned)port;
		p = end;
	} else if (*p && *p != '/' && *p != '?' && *p != '#') {
		seterr(err, errlen, "%s", "unexpected characters after the host");
		return -1;
	}
	ps = p;
	size_t plen = strcspn(ps, "#");
	u->path = malloc(plen + 2);
	if (!u->path) {
		seterr(err, errlen, "%s", "out of memory");
		return -1;
	}
	if (plen == 0 || ps[0] == '?') {
		u->path[0] = '/';
		memcpy(u->path + 1, ps, plen);
		u->path[plen + 1] = 0;
	} else {
		memcpy(u->path, ps, plen);
		u->path[plen] = 0;
	}
	if (hs[-1] == '[')
		snprintf(u->hostport, sizeof u->hostport, "[%s]:%u", u->host, u->port);
	else
		snprintf(u->hostport, sizeof u->hostport, "%s:%u", u->host, u->port);
	return 0;
}

void nh_url_free(struct nh_url *u)
{
	free(u->path);
	u->path = NULL;
}

static void req_free(struct nh_req *r)
{
	if (r->c)
		conn_free(r->c);
	if (r->timer)
		event_free(r->timer);
	free(r);
}

static void finish(struct nh_req *r, int status, const char *why)
{
	if (r->finished)
		return;
	r->finished = 1;
	r->done(status, why, r->connected || (r->c && r->c->tls_failed), r->arg);
	req_free(r);
}

static void req_cb(struct conn *c, enum conn_event ev, void *arg)
{
	struct nh_req *r = arg;
	char why[160];

	switch (ev) {
	case CONN_CONNECTED:
		r->connected = 1;
		return;
	case CONN_DRAINED:
		return;
	case CONN_READ: {
		static struct http1_header hdrs[NH_MAX_HEADERS];
		const struct http1_limits lim = { NH_MAX_HEAD, NH_MAX_HEAD, NH_MAX_HEADERS, 0, 0 };
		/* interim (1xx) answers are skipped; the final one may be in
		 * the same read: parse again while data remains */
		while (evbuffer_get_length(c->in) > 0) {
			size_t head_len;
			struct http1_head h;
			enum http1_status st = http1_scan_head(c->in, 0, &lim, &r->scan, &head_len);
			if (st == HTTP1_INCOMPLETE) {
				if (evbuffer_get_length(c->in) > NH_MAX_HEAD)
					finish(r, 0, "the response head is too large");
				return;
			}
			h.hdrs = hdrs;
			if (st == HTTP1_OK)
				st = http1_parse_head((const char *)evbuffer_pullup(c->in, (ssize_t)head_len), head_len,
						      0, 0, &lim, &h);
			if (st != HTTP1_OK) {
				finish(r, 0, st == HTTP1_HEAD_TOO_LARGE ? "the response head is too large"
								       : "the response is not HTTP/1.x");
				return;
			}
			if (h.status >= 200) {
				finish(r, h.status, "");
				return;
			}
			evbuffer_drain(c->in, head_len);  /* interim: wait for the final answer */
			http1_scan_reset(&r->scan);
		}
		return;
	}
	case CONN_EOF:
		finish(r, 0, "the connection closed before a response");
		return;
	case CONN_ERROR:
		if (c->tls_failed)
			snprintf(why, sizeof why, "TLS handshake failed");
		else
			snprintf(why, sizeof why, "%s", strerror(c->error ? c->error : EIO));
		finish(r, 0, why);
		return;
	}
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nh_req *r = arg;
	char why[64];
	(void)fd;
	(void)what;
	snprintf(why, sizeof why, "timed out after %u ms", r->timeout_ms);
	finish(r, 0, why);
}

struct nh_req *nh_post(struct event_base *base, const struct nh_url *u, const struct sockaddr *sa, socklen_t salen,
		       struct tls_client *tc, const char *headers, const char *body, size_t len, unsigned timeout_ms,
		       nh_done_fn done, void *arg, char *err, size_t errlen)
{
	struct nh_req *r = calloc(1, sizeof *r);

	if (!r) {
		seterr(err, errlen, "%s", "out of memory");
		return NULL;
	}
	r->done = done;
	r->arg = arg;
	r->timeout_ms = timeout_ms;
	r->timer = evtimer_new(base, timer_cb, r);
	if (!r->timer) {
		seterr(err, errlen, "%s", "out of memory");
		goto fail;
	}
	r->c = conn_connect(base, sa, salen);
	if (!r->c) {
		seterr(err, errlen, "cannot connect: %s", strerror(errno));
		goto fail;
	}
	conn_setcb(r->c, req_cb, r);
	if (u->https) {
		SSL *ssl = tc ? tls_client_ssl(tc, u->hostport) : NULL;
		if (!ssl) {
			seterr(err, errlen, "%s", "no TLS context");
			goto fail;
		}
		conn_tls(r->c, ssl, 1);
	}
	r->c->read_max = NH_MAX_HEAD + 1;
	http1_scan_reset(&r->scan);
	/* Host: the port only when it is not the scheme's */
	int dflt = u->port == (u->https ? 443u : 80u);
	const char *hp = u->hostport;
	char hbuf[272];
	if (dflt) {
		snprintf(hbuf, sizeof hbuf, "%.*s", (int)(strrchr(hp, ':') - hp), hp);
		hp = hbuf;
	}
	if (evbuffer_add_printf(r->c->out,
				"POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
				u->path, hp, headers ? headers : "", len) < 0 ||
	    evbuffer_add(r->c->out, body, len) < 0) {
		seterr(err, errlen, "%s", "out of memory");
		goto fail;
	}
	conn_flush(r->c);
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	evtimer_add(r->timer, &tv);
	return r;
fail:
	req_free(r);
	return NULL;
}

void nh_cancel(struct nh_req *r)
{
	if (r && !r->finished) {
		r->finished = 1;
		req_free(r);
	}
}

int nh_literal(const struct nh_url *u, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, u->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)u->port);
		*len = sizeof *s4;
		return 1;
	}
	if (inet_pton(AF_INET6, u->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)u->port);
		*len = sizeof *s6;
		return 1;
	}
	return 0;
}
