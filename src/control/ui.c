/* ui.c - see ui.h. */
#include "ui.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../core/log.h"
#include "admin.h"
#include "ui_asset.h"

/* What the browser may do with the page: only albd's own scripts (and the
 * blob: URLs boot.js makes of them), styles, fetches and images (data: for
 * the empty favicon); no frames, no plugins, no forms elsewhere. */
#define CSP                                                                                              \
	"Content-Security-Policy: default-src 'self'; script-src 'self' blob:; style-src 'self'; "       \
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "                 \
	"form-action 'self'; frame-ancestors 'none'\r\n"

struct ui_file {
	const char *path;             /* on the admin listener */
	const char *name;             /* in ui_assets[] */
	const char *ctype;
	unsigned flags;               /* ADMIN_OPEN: served without the token */
	const struct ui_asset *a;     /* found by ui_init() */
	char etag[20];                /* "\"" 16 hex digits of SHA-256 "\"" */
};

static struct ui_file files[] = {
	{ "/", "index.html", "text/html; charset=utf-8", ADMIN_OPEN, NULL, "" },
	{ "/ui/boot.js", "boot.js", "text/javascript; charset=utf-8", ADMIN_OPEN, NULL, "" },
	{ "/ui/style.css", "style.css", "text/css; charset=utf-8", ADMIN_OPEN, NULL, "" },
	{ "/ui/uplot.css", "vendor/uPlot.min.css", "text/css; charset=utf-8", ADMIN_OPEN, NULL, "" },
	{ "/ui/app.js", "app.js", "text/javascript; charset=utf-8", 0, NULL, "" },
	{ "/ui/uplot.js", "vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8", 0, NULL, "" },
};

/* Does If-None-Match (a list of entity tags, or "*") name TAG? Weak
 * comparison (RFC 9110, 13.1.2): a W/ prefix is ignored. */
static int etag_matches(const char *inm, const char *tag)
{
	size_t n = strlen(tag);

	for (const char *p = inm; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, tag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

static void serve(struct admin_req *r, void *arg)
{
	const struct ui_file *f = arg;
	const char *inm = admin_req_header(r, "If-None-Match");
	char hdrs[640];

	snprintf(hdrs, sizeof hdrs,
		 "ETag: %s\r\nCache-Control: no-cache, private\r\n" CSP
		 "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n",
		 f->etag);
	if (inm && etag_matches(inm, f->etag))
		admin_reply_hdrs(r, 304, NULL, hdrs, NULL, 0);
	else
		admin_reply_hdrs(r, 200, f->ctype, hdrs, (const char *)f->a->data, f->a->len);
}

/* GET /ui/session: whether the login form must ask for a token, so that a
 * browser without one is not sent for a 401 first. */
static void session(struct admin_req *r, void *arg)
{
	(void)arg;
	admin_reply_json(r, 200, json_pack("{s:b}", "TokenRequired", admin_token_required()));
}

void ui_init(void)
{
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		struct ui_file *f = &files[i];
		unsigned char md[32];
		unsigned int mdlen = sizeof md;

		for (size_t k = 0; k < ui_nassets && !f->a; k++)
			if (strcmp(ui_assets[k].name, f->name) == 0)
				f->a = &ui_assets[k];
		if (!f->a) {
			log_err("ui: %s is not embedded (bug): %s not served", f->name, f->path);
			continue;
		}
		if (EVP_Digest(f->a->data, f->a->len, md, &mdlen, EVP_sha256(), NULL) != 1)
			memset(md, 0, sizeof md);
		snprintf(f->etag, sizeof f->etag, "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0], md[1], md[2], md[3],
			 md[4], md[5], md[6], md[7]);
		admin_route("GET", f->path, f->flags, serve, f);
	}
	admin_route("GET", "/ui/session", ADMIN_OPEN, session, NULL);
}
