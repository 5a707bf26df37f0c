/* test_redirect.c - unit tests of src/proxy/redirect.c (a redirect's
 * Location: every placeholder, the defaults, replaced parts, queries,
 * hosts with ports and IPv6 literals, the bound) and of the redirect
 * settings in src/core/config_listeners.c (ALB's rules for each part, the
 * loop check, HTTPS to HTTP), with their exact FILE:LINE errors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/config.h"
#include "../../src/proxy/redirect.h"

/* ------------------------------------------------------------ Location */

/* A redirect as the config's defaults make it, with STATUS. */
static struct cfg_redirect rd_default(void)
{
	struct cfg_redirect rd = { .status = 301, .proto = -1, .port = 0, .host = "#{host}",
				   .path = "/#{path}", .query = "#{query}" };
	return rd;
}

/* A request on a plain listener of port 8080 for Host HOST (port
 * stripped as the proxy does) and the target TARGET (path?query). */
static struct redirect_req req(const char *host, const char *target, int https, unsigned port)
{
	const char *q = strchr(target, '?');
	struct redirect_req rq = {
		.https = https, .port = port, .host = host,
		.host_len = redirect_host_len(host, strlen(host)), .path = target,
		.path_len = q ? (size_t)(q - target) : strlen(target), .query = q ? q + 1 : "",
		.query_len = q ? strlen(q + 1) : 0,
	};
	return rq;
}

static void expect_loc(const struct cfg_redirect *rd, const struct redirect_req *rq, const char *want)
{
	char buf[REDIRECT_LOCATION_MAX];
	long n = redirect_location(rd, rq, buf, sizeof buf);

	ck_assert_msg(n >= 0, "did not fit, expected %s", want);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(n, (long)strlen(want));
}

START_TEST(test_defaults_keep_everything)
{
	struct cfg_redirect rd = rd_default();
	struct redirect_req rq = req("a.example", "/x/y?k=v&z", 0, 8080);

	expect_loc(&rd, &rq, "http://a.example:8080/x/y?k=v&z");
	rq.https = 1;
	expect_loc(&rd, &rq, "https://a.example:8080/x/y?k=v&z");
}
END_TEST

START_TEST(test_every_placeholder)
{
	struct cfg_redirect rd = rd_default();
	struct redirect_req rq = req("a.example:9", "/p/q?k=v", 0, 8080);

	rd.host = "#{host}.example.org";
	rd.path = "/#{host}/#{port}/#{path}/end";
	rd.query = "proto=#{protocol}&host=#{host}&port=#{port}&path=#{path}&#{query}";
	expect_loc(&rd, &rq,
		   "http://a.example.example.org:8080/a.example/8080/p/q/end"
		   "?proto=http&host=a.example&port=8080&path=p/q&k=v");
}
END_TEST

START_TEST(test_replaced_parts)
{
	struct cfg_redirect rd = rd_default();
	struct redirect_req rq = req("a.example", "/old/x?y=1", 0, 8080);

	rd.proto = 1;
	rd.port = 443;
	expect_loc(&rd, &rq, "https://a.example:443/old/x?y=1");
	rd.host = "b.example";
	rd.path = "/new/#{path}";
	rd.query = "v=2";
	expect_loc(&rd, &rq, "https://b.example:443/new/old/x?v=2");
	rd.proto = 0;   /* HTTP from a plain listener */
	rd.port = 80;   /* the scheme's default port is written too, as ALB does */
	expect_loc(&rd, &rq, "http://b.example:80/new/old/x?v=2");
}
END_TEST

START_TEST(test_query)
{
	struct cfg_redirect rd = rd_default();
	struct redirect_req rq;

	rd.path = "/n";
	rq = req("h", "/p", 0, 80);             /* none */
	expect_loc(&rd, &rq, "http://h:80/n");
	rq = req("h", "/p?", 0, 80);            /* an empty one: no '?' either */
	expect_loc(&rd, &rq, "http://h:80/n");
	rq = req("h", "/p?a=1&b=%20", 0, 80);   /* kept as received */
	expect_loc(&rd, &rq, "http://h:80/n?a=1&b=%20");
	rd.query = "";                          /* dropped */
	expect_loc(&rd, &rq, "http://h:80/n");
	rd.query = "#{query}&value=xyz";        /* ALB's example, with and without a query */
	expect_loc(&rd, &rq, "http://h:80/n?a=1&b=%20&value=xyz");
	rq = req("h", "/p", 0, 80);
	expect_loc(&rd, &rq, "http://h:80/n?&value=xyz");
	rd.query = "fixed";
	expect_loc(&rd, &rq, "http://h:80/n?fixed");
}
END_TEST

START_TEST(test_path)
{
	struct cfg_redirect rd = rd_default();
	struct redirect_req rq;

	rd.host = "x";
	rq = req("h", "/", 0, 80);              /* #{path} of "/" is empty */
	expect_loc(&rd, &rq, "http://x:80/");
	rd.path = "/new/#{path}";
	expect_loc(&rd, &rq, "http://x:80/new/");
	rq = req("h", "/a%2Fb/%7Ec", 0, 80);    /* percent-encoding as received */
	expect_loc(&rd, &rq, "http://x:80/new/a%2Fb/%7Ec");
	rq = req("h", "//double", 0, 80);       /* only one '/' is removed */
	expect_loc(&rd, &rq, "http://x:80/new//double");
	rd.path = "/fixed";
	expect_loc(&rd, &rq, "http://x:80/fixed");
}
END_TEST

START_TEST(test_hosts)
{
	struct cfg_redirect rd = rd_default();
	struct redirect_req rq;

	rd.proto = 1;
	rq = req("[2001:db8::1]:8080", "/p", 0, 8080);
	expect_loc(&rd, &rq, "https://[2001:db8::1]:8080/p");
	rq = req("[::1]", "/p", 0, 8080);
	expect_loc(&rd, &rq, "https://[::1]:8080/p");
	rq = req("Mixed.Example:1234", "/p", 0, 8080);  /* the listener's port, not Host's */
	expect_loc(&rd, &rq, "https://Mixed.Example:8080/p");
	rq = req("10.0.0.1:80", "/p", 0, 80);
	expect_loc(&rd, &rq, "https://10.0.0.1:80/p");
	ck_assert_uint_eq(redirect_host_len("a:1", 3), 1);
	ck_assert_uint_eq(redirect_host_len("a", 1), 1);
	ck_assert_uint_eq(redirect_host_len("[::1]:2", 7), 5);
	ck_assert_uint_eq(redirect_host_len("[::1", 4), 4);
	ck_assert_uint_eq(redirect_host_len("", 0), 0);
}
END_TEST

START_TEST(test_ports)
{
	struct cfg_redirect rd = rd_default();
	struct redirect_req rq = req("h", "/p", 1, 443);

	rd.host = "other";
	expect_loc(&rd, &rq, "https://other:443/p");
	rd.port = 1;
	expect_loc(&rd, &rq, "https://other:1/p");
	rd.port = 65535;
	expect_loc(&rd, &rq, "https://other:65535/p");
	rq.port = 65535;
	rd.port = 0;
	rd.path = "/#{port}";
	expect_loc(&rd, &rq, "https://other:65535/65535");
}
END_TEST

START_TEST(test_bound)
{
	struct cfg_redirect rd = rd_default();
	struct redirect_req rq = req("h", "/abc?q", 0, 80);
	char buf[64];
	const char *want = "http://h:80/abc?q";
	size_t n = strlen(want);

	ck_assert_int_eq(redirect_location(&rd, &rq, buf, n + 1), (long)n);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(redirect_location(&rd, &rq, buf, n), -1);
	ck_assert_int_eq(redirect_location(&rd, &rq, buf, 5), -1);
	ck_assert_int_eq(redirect_location(&rd, &rq, buf, 0), -1);

	/* a long path through a path template with #{path} three times */
	static char big[REDIRECT_LOCATION_MAX / 2];
	static char out[REDIRECT_LOCATION_MAX];
	memset(big, 'a', sizeof big - 1);
	big[0] = '/';
	rd.path = "/#{path}#{path}#{path}";
	rq = req("h", big, 0, 80);
	ck_assert_int_eq(redirect_location(&rd, &rq, out, sizeof out), -1);
	rd.path = "/#{path}";
	ck_assert_int_gt(redirect_location(&rd, &rq, out, sizeof out), 0);
}
END_TEST

/* ------------------------------------------------------------ config */

static char *write_tmp(const char *text)
{
	char tmpl[] = "/tmp/albd_test_redirect_XXXXXX";
	size_t len = strlen(text);
	int fd = mkstemp(tmpl);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return strdup(tmpl);
}

static struct albd_config *load(const char *text, char *err, size_t errlen, char **path)
{
	*path = write_tmp(text);
	struct albd_config *cfg = config_load(*path, err, errlen);
	unlink(*path);
	return cfg;
}

static struct albd_config *load_ok(const char *text)
{
	char err[CONFIG_ERR_MAX] = "", *path;
	struct albd_config *cfg = load(text, err, sizeof err, &path);

	free(path);
	ck_assert_msg(cfg != NULL, "config_load failed: %s", err);
	return cfg;
}

/* Expect exactly PATH + WANT. */
static void expect_error(const char *text, const char *want)
{
	char err[CONFIG_ERR_MAX] = "", full[CONFIG_ERR_MAX + 64], *path;
	struct albd_config *cfg = load(text, err, sizeof err, &path);

	snprintf(full, sizeof full, "%s%s", path, want);
	free(path);
	if (cfg)
		config_free(cfg);
	ck_assert_msg(cfg == NULL, "loaded, expected the error \"%s\"", want);
	ck_assert_str_eq(err, full);
}

#define L_HEAD "listeners = (\n  { name = \"a\"; listen = \"127.0.0.1:8080\";\n"
/* a listener whose default is redirect RD (a group's members), line 3 */
#define DEFAULT_RD(rd) L_HEAD "    default_redirect = { " rd " }; }\n);\n"
/* a listener with one rule of redirect RD, line 4 */
#define RULE_RD(rd)                                                                          \
	L_HEAD "    default_fixed_response = { status = 404; };\n"                                 \
	       "    rules = ( { priority = 5; path = \"/x\";\n"                                    \
	       "                redirect = { " rd " }; } ); }\n);\n"

START_TEST(test_config_defaults)
{
	struct albd_config *cfg = load_ok(DEFAULT_RD("status = 301; protocol = \"HTTPS\";"));
	const struct cfg_action *a = &cfg->listeners[0].default_action;

	ck_assert_int_eq(a->type, CFG_ACT_REDIRECT);
	ck_assert_int_eq(a->u.redirect->status, 301);
	ck_assert_int_eq(a->u.redirect->proto, 1);
	ck_assert_int_eq(a->u.redirect->port, 0);
	ck_assert_str_eq(a->u.redirect->host, "#{host}");
	ck_assert_str_eq(a->u.redirect->path, "/#{path}");
	ck_assert_str_eq(a->u.redirect->query, "#{query}");
	ck_assert_int_eq(a->u.redirect->line, 3);
	config_free(cfg);

	cfg = load_ok(RULE_RD("status = 302; protocol = \"https\"; port = \"443\"; "
			      "path = \"/new/#{path}\"; host = \"#{host}\"; query = \"\";"));
	const struct cfg_redirect *rd = cfg->listeners[0].rules[0].action.u.redirect;
	ck_assert_int_eq(cfg->listeners[0].rules[0].action.type, CFG_ACT_REDIRECT);
	ck_assert_int_eq(rd->status, 302);
	ck_assert_int_eq(rd->proto, 1);
	ck_assert_int_eq(rd->port, 443);
	ck_assert_str_eq(rd->path, "/new/#{path}");
	ck_assert_str_eq(rd->query, "");
	config_free(cfg);

	/* an integer port, a replaced host; #{protocol} kept */
	cfg = load_ok(DEFAULT_RD("status = 301; port = 8443; host = \"www.#{host}\"; protocol = \"#{protocol}\";"));
	rd = cfg->listeners[0].default_action.u.redirect;
	ck_assert_int_eq(rd->port, 8443);
	ck_assert_int_eq(rd->proto, -1);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_loop)
{
	/* everything kept */
	expect_error(DEFAULT_RD("status = 301;"),
		     ":3: listeners.[0].default_redirect: redirect loop: protocol, host, port and path "
		     "all stay the same (change at least one of them)");
	/* kept by value: the listener's own protocol and port */
	expect_error(RULE_RD("status = 302; protocol = \"HTTP\"; port = \"8080\";"),
		     ":5: listeners.[0].rules.[0].redirect: redirect loop: protocol, host, port and "
		     "path all stay the same (change at least one of them)");
	/* ALB: the query does not count */
	expect_error(RULE_RD("status = 302; query = \"#{query}&x=1\";"),
		     ":5: listeners.[0].rules.[0].redirect: redirect loop: protocol, host, port and "
		     "path all stay the same (change at least one of them)");
	/* any one of them changed is no loop */
	config_free(load_ok(DEFAULT_RD("status = 301; protocol = \"HTTPS\";")));
	config_free(load_ok(DEFAULT_RD("status = 301; port = 8081;")));
	config_free(load_ok(DEFAULT_RD("status = 301; host = \"b.example\";")));
	config_free(load_ok(DEFAULT_RD("status = 301; path = \"/new/#{path}\";")));
	/* the second rule's, in file order, though rules are sorted by priority */
	expect_error(L_HEAD "    default_fixed_response = { status = 404; };\n"
			    "    rules = ( { priority = 9; path = \"/a\"; redirect = { status = 301; path = \"/b\"; }; },\n"
			    "              { priority = 2; path = \"/x\";\n"
			    "                redirect = { status = 301; }; } ); }\n);\n",
		     ":6: listeners.[0].rules.[1].redirect: redirect loop: protocol, host, port and "
		     "path all stay the same (change at least one of them)");
}
END_TEST

START_TEST(test_config_bad)
{
	expect_error(DEFAULT_RD("status = 303; path = \"/n\";"),
		     ":3: listeners.[0].default_redirect.status: 303: must be 301 or 302 (ALB's HTTP_301, HTTP_302)");
	expect_error(DEFAULT_RD("path = \"/n\";"),
		     ":3: listeners.[0].default_redirect: missing required setting \"status\"");
	expect_error(DEFAULT_RD("status = 301; path = \"new\";"),
		     ":3: listeners.[0].default_redirect.path: \"new\": must start with '/'");
	expect_error(DEFAULT_RD("status = 301; path = \"/a?b\";"),
		     ":3: listeners.[0].default_redirect.path: \"/a?b\": '?' is not allowed here");
	expect_error(DEFAULT_RD("status = 301; path = \"/#{query}\";"),
		     ":3: listeners.[0].default_redirect.path: \"/#{query}\": only #{host}, #{port}, "
		     "#{path} may be used here");
	expect_error(DEFAULT_RD("status = 301; host = \"#{path}.x\";"),
		     ":3: listeners.[0].default_redirect.host: \"#{path}.x\": only #{host} may be used here");
	expect_error(DEFAULT_RD("status = 301; host = \"\";"),
		     ":3: listeners.[0].default_redirect.host: must be 1 to 128 characters long");
	expect_error(DEFAULT_RD("status = 301; host = \"a b\";"),
		     ":3: listeners.[0].default_redirect.host: \"a b\": spaces and control characters are not allowed");
	expect_error(DEFAULT_RD("status = 301; host = \"a/b\";"),
		     ":3: listeners.[0].default_redirect.host: \"a/b\": '/' is not allowed here");
	expect_error(DEFAULT_RD("status = 301; host = \"b.example:81\";"),
		     ":3: listeners.[0].default_redirect.host: \"b.example:81\": a port goes in port, not in host");
	config_free(load_ok(DEFAULT_RD("status = 301; host = \"[2001:db8::1]\";")));
	expect_error(DEFAULT_RD("status = 301; query = \"?a=1\";"),
		     ":3: listeners.[0].default_redirect.query: \"?a=1\": without the leading '?' (albd adds it)");
	expect_error(DEFAULT_RD("status = 301; query = \"a=#{nope}\";"),
		     ":3: listeners.[0].default_redirect.query: \"a=#{nope}\": only #{protocol}, #{host}, "
		     "#{port}, #{path}, #{query} may be used here");
	expect_error(DEFAULT_RD("status = 301; query = \"a#b\";"),
		     ":3: listeners.[0].default_redirect.query: \"a#b\": '#' is not allowed here "
		     "(placeholders are #{...})");
	expect_error(DEFAULT_RD("status = 301; port = \"0\";"),
		     ":3: listeners.[0].default_redirect.port: \"0\": expected 1 to 65535 or \"#{port}\"");
	expect_error(DEFAULT_RD("status = 301; port = \"65536\";"),
		     ":3: listeners.[0].default_redirect.port: \"65536\": expected 1 to 65535 or \"#{port}\"");
	expect_error(DEFAULT_RD("status = 301; port = \"80x\";"),
		     ":3: listeners.[0].default_redirect.port: \"80x\": expected 1 to 65535 or \"#{port}\"");
	expect_error(DEFAULT_RD("status = 301; port = 70000;"),
		     ":3: listeners.[0].default_redirect.port: 70000: expected 1 to 65535 or \"#{port}\"");
	expect_error(DEFAULT_RD("status = 301; protocol = \"ftp\";"),
		     ":3: listeners.[0].default_redirect.protocol: \"ftp\": expected \"HTTP\", \"HTTPS\" or \"#{protocol}\"");
	expect_error(DEFAULT_RD("status = 301; color = 1;"),
		     ":3: listeners.[0].default_redirect.color: unknown setting \"color\"");
	/* one action only */
	expect_error(L_HEAD "    default_fixed_response = { status = 404; };\n"
			    "    default_redirect = { status = 301; port = 1; }; }\n);\n",
		     ":2: listeners.[0]: needs only one of default_forward, default_fixed_response and "
		     "default_redirect");
	expect_error(L_HEAD "    default_fixed_response = { status = 404; };\n"
			    "    rules = ( { priority = 5; path = \"/x\"; fixed_response = { status = 200; };\n"
			    "                redirect = { status = 301; port = 1; }; } ); }\n);\n",
		     ":4: listeners.[0].rules.[0]: needs only one of forward, fixed_response and redirect");
}
END_TEST

START_TEST(test_config_https_to_http)
{
	expect_error("listeners = (\n  { name = \"a\"; listen = \"127.0.0.1:8443\";\n"
		     "    tls = { certificates = ( { cert = \"a.pem\"; key = \"a.key\"; } ); };\n"
		     "    default_redirect = { status = 301;\n"
		     "      protocol = \"HTTP\"; port = 80; }; }\n);\n",
		     ":5: listeners.[0].default_redirect.protocol: an HTTPS listener cannot redirect to "
		     "HTTP (as ALB)");
	/* on an HTTPS listener, #{protocol} kept and all else kept is a loop */
	expect_error("listeners = (\n  { name = \"a\"; listen = \"127.0.0.1:8443\";\n"
		     "    tls = { certificates = ( { cert = \"a.pem\"; key = \"a.key\"; } ); };\n"
		     "    default_redirect = { status = 301; protocol = \"HTTPS\"; }; }\n);\n",
		     ":4: listeners.[0].default_redirect: redirect loop: protocol, host, port and path "
		     "all stay the same (change at least one of them)");
}
END_TEST

static Suite *redirect_suite(void)
{
	Suite *s = suite_create("redirect");
	TCase *tc = tcase_create("location");

	tcase_add_test(tc, test_defaults_keep_everything);
	tcase_add_test(tc, test_every_placeholder);
	tcase_add_test(tc, test_replaced_parts);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_path);
	tcase_add_test(tc, test_hosts);
	tcase_add_test(tc, test_ports);
	tcase_add_test(tc, test_bound);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_config_loop);
	tcase_add_test(tc, test_config_bad);
	tcase_add_test(tc, test_config_https_to_http);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(redirect_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
