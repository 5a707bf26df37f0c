/* test_admin.c - unit tests of src/control/admin.c: the percent-decoding,
 * query splitting and route matching (statics, reached by including the
 * source), and whole exchanges with the server on a real socket: a forked
 * child is the client, the test's process runs the event loop. The
 * routes here (an echo of the request, a handler that forgets to answer,
 * one that answers twice) are the test's own; albd registers its routes
 * from main.c.
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/control/admin.c"

/* ------------------------------------------------------------ statics */

START_TEST(test_decode)
{
	char *s;

	ck_assert_str_eq((s = admin_decode("a%20b%2Fc", 9, 0)), "a b/c");
	free(s);
	ck_assert_str_eq((s = admin_decode("a+b", 3, 0)), "a+b");
	free(s);
	ck_assert_str_eq((s = admin_decode("a+b", 3, 1)), "a b");
	free(s);
	ck_assert_str_eq((s = admin_decode("%e2%82%AC", 9, 0)), "\xe2\x82\xac");
	free(s);
	ck_assert_str_eq((s = admin_decode("", 0, 0)), "");
	free(s);
	ck_assert_ptr_null(admin_decode("%", 1, 0));
	ck_assert_ptr_null(admin_decode("%2", 2, 0));
	ck_assert_ptr_null(admin_decode("a%2", 3, 0));
	ck_assert_ptr_null(admin_decode("%zz", 3, 0));
	ck_assert_ptr_null(admin_decode("%2g", 3, 0));
	ck_assert_ptr_null(admin_decode("a%00b", 5, 0));
	/* only LEN bytes are read */
	ck_assert_str_eq((s = admin_decode("ab%41", 2, 0)), "ab");
	free(s);
}
END_TEST

START_TEST(test_query)
{
	struct admin_req r = { 0 };
	const char *q = "a=1&b=x%20y+z&c&&d=&a=2&e=%3D%26";
	char big[2048] = "";

	ck_assert_int_eq(admin_parse_query(q, strlen(q), &r.params, &r.nparams), 0);
	ck_assert_uint_eq(r.nparams, 6);
	ck_assert_str_eq(admin_req_query(&r, "a"), "1"); /* the first */
	ck_assert_str_eq(admin_req_query(&r, "b"), "x y z");
	ck_assert_str_eq(admin_req_query(&r, "c"), "");
	ck_assert_str_eq(admin_req_query(&r, "d"), "");
	ck_assert_str_eq(admin_req_query(&r, "e"), "=&");
	ck_assert_ptr_null(admin_req_query(&r, "f"));
	ck_assert_str_eq(r.params[4].name, "a");
	ck_assert_str_eq(r.params[4].value, "2");
	admin_kv_free(r.params, r.nparams);
	r.params = NULL;
	r.nparams = 0;

	memset(&r, 0, sizeof r);
	ck_assert_int_eq(admin_parse_query("a=%zz", 5, &r.params, &r.nparams), -1);
	admin_kv_free(r.params, r.nparams);
	r.params = NULL;
	r.nparams = 0;

	/* 256 parameters are fine, 257 are not */
	memset(&r, 0, sizeof r);
	for (int i = 0; i < 256; i++)
		strcat(big, i ? "&x" : "x");
	ck_assert_int_eq(admin_parse_query(big, strlen(big), &r.params, &r.nparams), 0);
	ck_assert_uint_eq(r.nparams, 256);
	admin_kv_free(r.params, r.nparams);
	r.params = NULL;
	r.nparams = 0;
	memset(&r, 0, sizeof r);
	strcat(big, "&x");
	ck_assert_int_eq(admin_parse_query(big, strlen(big), &r.params, &r.nparams), -1);
	admin_kv_free(r.params, r.nparams);
	r.params = NULL;
	r.nparams = 0;
}
END_TEST

/* GET /metrics' offers: 0 text, 1 OpenMetrics; -1 none acceptable */
static int om_pick(const char *accept)
{
	static const struct admin_offer offers[] = {
		{ "text/plain", "0.0.4" },
		{ "application/openmetrics-text", "1.0.0" },
	};

	return admin_negotiate(accept, offers, 2);
}

START_TEST(test_negotiate)
{
	/* no header, or nothing readable: the first offer */
	ck_assert_int_eq(om_pick(NULL), 0);
	ck_assert_int_eq(om_pick(""), 0);
	ck_assert_int_eq(om_pick(" , ,"), 0);
	/* Prometheus 2.x's and 3.x's scrape headers */
	ck_assert_int_eq(om_pick("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
				 "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), 1);
	ck_assert_int_eq(om_pick("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
				 "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
				 "escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"), 1);
	ck_assert_int_eq(om_pick("application/openmetrics-text"), 1);
	/* q=0: not acceptable */
	ck_assert_int_eq(om_pick("application/openmetrics-text; version=1.0.0; q=0"), -1);
	ck_assert_int_eq(om_pick("application/openmetrics-text; version=1.0.0; q=0, */*"), 0);
	ck_assert_int_eq(om_pick("application/openmetrics-text;q=0.000, text/plain;q=0.001"), 0);
	/* the higher weight wins, wherever it is listed */
	ck_assert_int_eq(om_pick("text/plain;q=1, application/openmetrics-text;version=1.0.0;q=0.5"), 0);
	ck_assert_int_eq(om_pick("text/plain;q=0.5, application/openmetrics-text;q=0.6"), 1);
	ck_assert_int_eq(om_pick("text/plain;q=0.5, application/openmetrics-text;Q=1.000"), 1);
	/* types and parameter names are case-insensitive */
	ck_assert_int_eq(om_pick("Application/OpenMetrics-Text"), 1);
	ck_assert_int_eq(om_pick("APPLICATION/OPENMETRICS-TEXT; VERSION=1.0.0"), 1);
	ck_assert_int_eq(om_pick("application/openmetrics-text; version=\"1.0.0\""), 1);
	/* another version of a type does not name the offer */
	ck_assert_int_eq(om_pick("application/openmetrics-text; version=0.0.1"), -1);
	ck_assert_int_eq(om_pick("application/openmetrics-text; version=2.0.0, text/plain;q=0.1"), 0);
	/* the most specific range decides an offer's weight */
	ck_assert_int_eq(om_pick("application/*;q=0.9, application/openmetrics-text;q=0, text/plain;q=0.1"), 0);
	ck_assert_int_eq(om_pick("*/*;q=0.1, application/*"), 1);
	ck_assert_int_eq(om_pick("text/*;q=0.3, application/openmetrics-text;version=1.0.0;q=0.2"), 0);
	ck_assert_int_eq(om_pick("application/openmetrics-text;q=0, application/openmetrics-text;version=1.0.0"),
			 1);
	/* ties: the more specific range, then the first listed, then the
	 * first offer */
	ck_assert_int_eq(om_pick("*/*, application/openmetrics-text"), 1);
	ck_assert_int_eq(om_pick("application/openmetrics-text, text/plain"), 1);
	ck_assert_int_eq(om_pick("text/plain, application/openmetrics-text"), 0);
	ck_assert_int_eq(om_pick("*/*"), 0);
	/* neither: -1 (the caller falls back) */
	ck_assert_int_eq(om_pick("application/json"), -1);
	/* malformed elements are skipped, not the others */
	ck_assert_int_eq(om_pick("text/plain;q=2, application/openmetrics-text;q=0.5"), 1);
	ck_assert_int_eq(om_pick("text/plain;q=0.5000, application/openmetrics-text;q=0.4"), 1);
	ck_assert_int_eq(om_pick("*/plain, application/openmetrics-text;q=0.4"), 1);
	ck_assert_int_eq(om_pick("text/plain;charset=\"a,b\";q=0.1, application/openmetrics-text;q=0.2"), 1);
	ck_assert_int_eq(om_pick("text/plain;q=0.5;, application/openmetrics-text;version=\"1.0.0;q=0.9"), 0);
	ck_assert_int_eq(om_pick("application/openmetrics-text ; version = 1.0.0, text/plain;q=0.1"), 0);
}
END_TEST

static void nop(struct admin_req *r, void *arg)
{
}

START_TEST(test_routes)
{
	size_t level;
	char allow[256];
	const struct route *rt;

	admin_route("GET", "/metrics", ADMIN_PUBLIC, nop, NULL);
	admin_route("GET", "/api/", ADMIN_PREFIX, nop, (void *)1);
	admin_route("POST", "/api/", ADMIN_PREFIX, nop, (void *)2);
	admin_route("GET", "/api/v1/", ADMIN_PREFIX, nop, (void *)3);
	admin_route("DELETE", "/api/v1/x", 0, nop, (void *)4);

	rt = route_find("GET", "/metrics", &level);
	ck_assert_ptr_nonnull(rt);
	ck_assert_uint_eq(rt->flags, ADMIN_PUBLIC);
	/* HEAD is GET's */
	ck_assert_ptr_eq(route_find("HEAD", "/metrics", &level), rt);
	ck_assert_ptr_null(route_find("POST", "/metrics", &level));
	ck_assert_uint_eq(level, (size_t)-1);
	allow_header("/metrics", level, allow, sizeof allow);
	ck_assert_str_eq(allow, "Allow: GET, HEAD\r\n");
	/* no prefix match without ADMIN_PREFIX; a path is not its own prefix */
	ck_assert_ptr_null(route_find("GET", "/metrics/x", &level));
	ck_assert_uint_eq(level, 0);
	ck_assert_ptr_null(route_find("GET", "/api", &level));
	ck_assert_uint_eq(level, 0);
	/* the longest prefix wins */
	ck_assert_ptr_eq(route_find("GET", "/api/x", &level)->arg, (void *)1);
	ck_assert_ptr_eq(route_find("POST", "/api/v1/y", &level), NULL); /* /api/v1/ has GET only */
	allow_header("/api/v1/y", level, allow, sizeof allow);
	ck_assert_str_eq(allow, "Allow: GET, HEAD\r\n");
	ck_assert_ptr_eq(route_find("GET", "/api/v1/y", &level)->arg, (void *)3);
	ck_assert_ptr_eq(route_find("POST", "/api/z", &level)->arg, (void *)2);
	allow_header("/api/z", level, allow, sizeof allow);
	ck_assert_str_eq(allow, "Allow: GET, HEAD, POST\r\n");
	/* an exact path beats every prefix */
	ck_assert_ptr_eq(route_find("DELETE", "/api/v1/x", &level)->arg, (void *)4);
	ck_assert_ptr_null(route_find("GET", "/api/v1/x", &level));
	allow_header("/api/v1/x", level, allow, sizeof allow);
	ck_assert_str_eq(allow, "Allow: DELETE\r\n");
	admin_shutdown();
	ck_assert_ptr_null(A.routes);
}
END_TEST

/* ------------------------------------------------------------ exchanges */

static void count_param(const char *name, const char *value, void *arg)
{
	(*(int *)arg)++;
}

/* Echo the request as JSON. */
static void echo(struct admin_req *r, void *arg)
{
	size_t len;
	const char *body = admin_req_body(r, &len);
	int nparams = 0;

	admin_req_query_each(r, count_param, &nparams);
	admin_reply_json(r, 200,
			 json_pack("{s:s, s:s, s:s?, s:s?, s:I, s:s%, s:i}", "method", admin_req_method(r), "path",
				   admin_req_path(r), "q", admin_req_query(r, "q"), "h", admin_req_header(r, "x-test"),
				   "len", (json_int_t)len, "body", len > 64 ? "..." : body, len > 64 ? (size_t)3 : len,
				   "nparams", nparams));
}

static void silent(struct admin_req *r, void *arg)
{
}

static void twice(struct admin_req *r, void *arg)
{
	admin_reply(r, 200, "text/plain", "a", 1);
	admin_reply(r, 201, "text/plain", "bb", 2);
}

static void exact(struct admin_req *r, void *arg)
{
	admin_reply(r, 200, "text/plain", "exact", 5);
}

/* A free port on 127.0.0.1 (bound once, then released). */
static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static int client_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read until the peer closes (or BUF is full, or 5 s pass). */
static size_t read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < len && (n = recv(fd, buf + got, len - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

/* Send REQ on a new connection, read the answer to its end: does it hold
 * every one of the NULL-terminated WANT strings? */
static int exchange(int port, const char *req, const char *const *want)
{
	static char resp[65536];
	int fd = client_connect(port);

	if (fd < 0 || send_all(fd, req, strlen(req)) < 0) {
		fprintf(stderr, "cannot send %s\n", req);
		return -1;
	}
	read_all(fd, resp, sizeof resp);
	close(fd);
	for (; *want; want++) {
		if (!strstr(resp, *want)) {
			fprintf(stderr, "request:\n%s\nwanted \"%s\" in:\n%s\n", req, *want, resp);
			return -1;
		}
	}
	return 0;
}

#define WANT(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* The client side, in the child: 0 when every exchange went as expected,
 * else the number of the one that did not. */
static int client(int port)
{
	int step = 0;

	step++;
	if (exchange(port,
		     "POST /echo?q=a%20b&x=1&y HTTP/1.1\r\nHost: a\r\nX-Test: hi\r\nContent-Length: 5\r\n"
		     "Connection: close\r\n\r\nhello",
		     WANT("HTTP/1.1 200 OK\r\n", "Content-Type: application/json\r\n", "Connection: close\r\n",
			  "\"method\":\"POST\"", "\"path\":\"/echo\"", "\"q\":\"a b\"", "\"h\":\"hi\"", "\"len\":5",
			  "\"body\":\"hello\"", "\"nparams\":3")) < 0)
		return step;
	step++; /* a chunked body */
	if (exchange(port,
		     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
		     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		     WANT("HTTP/1.1 200 OK\r\n", "\"len\":11", "\"body\":\"hello world\"", "\"nparams\":0")) < 0)
		return step;
	step++; /* a percent-encoded path, decoded */
	if (exchange(port, "GET /%65cho HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 200 OK\r\n", "\"path\":\"/echo\"", "\"len\":0", "\"body\":\"\"")) < 0)
		return step;
	step++; /* a handler that forgets to answer */
	if (exchange(port, "GET /silent HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 500 ", "\"Code\":\"InternalFailure\"")) < 0)
		return step;
	step++; /* one that answers twice: the first answer only */
	if (exchange(port, "GET /twice HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n")) < 0)
		return step;
	step++; /* prefix and exact routes */
	if (exchange(port, "GET /pre/a/b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 200 OK\r\n", "\"path\":\"/pre/a/b\"")) < 0 ||
	    exchange(port, "GET /pre/exact HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 200 OK\r\n", "\r\n\r\nexact")) < 0 ||
	    exchange(port, "GET /pre HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 404 Not Found\r\n", "\"Code\":\"NotFound\"")) < 0)
		return step;
	step++; /* 405 with Allow */
	if (exchange(port, "PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 405 Method Not Allowed\r\n", "Allow: GET, HEAD, POST\r\n",
			  "\"Code\":\"MethodNotAllowed\"")) < 0)
		return step;
	step++; /* HEAD: the head of GET's answer */
	if (exchange(port, "HEAD /twice HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 200 OK\r\n", "Content-Length: 1\r\n")) < 0)
		return step;

	step++; /* a chunked body beyond 2 MiB: 413 */
	{
		static char chunk[65536 + 16];
		char resp[4096];
		int fd = client_connect(port);
		const char *head = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
		int n = snprintf(chunk, sizeof chunk, "10000\r\n");

		memset(chunk + n, 'x', 65536);
		memcpy(chunk + n + 65536, "\r\n", 2);
		if (fd < 0 || send_all(fd, head, strlen(head)) < 0)
			return step;
		for (int i = 0; i < 40; i++)
			if (send_all(fd, chunk, (size_t)n + 65536 + 2) < 0)
				break;
		read_all(fd, resp, sizeof resp);
		close(fd);
		if (!strstr(resp, "HTTP/1.1 413 Content Too Large\r\n") || !strstr(resp, "\"Code\":\"PayloadTooLarge\"")) {
			fprintf(stderr, "no 413: %s\n", resp);
			return step;
		}
	}

	step++; /* Expect: 100-continue, then keep-alive */
	{
		char resp[4096];
		int fd = client_connect(port);
		const char *head = "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
		ssize_t n;

		if (fd < 0 || send_all(fd, head, strlen(head)) < 0)
			return step;
		n = recv(fd, resp, sizeof resp - 1, 0);
		/* with a Date (RFC 9110 6.6.1 allows one in a 1xx) */
		static const char c100[] = "HTTP/1.1 100 Continue\r\nDate: ";
		const size_t l100 = sizeof c100 - 1;
		if (n <= 0 || (resp[n] = '\0', strncmp(resp, c100, l100) != 0) || strlen(resp) != l100 + 29 + 4 ||
		    strcmp(resp + l100 + 25, " GMT\r\n\r\n") != 0) {
			fprintf(stderr, "no 100 Continue: %s\n", n > 0 ? resp : "(nothing)");
			return step;
		}
		if (send_all(fd, "abc", 3) < 0)
			return step;
		n = recv(fd, resp, sizeof resp - 1, 0);
		if (n <= 0 || (resp[n] = '\0', !strstr(resp, "\"body\":\"abc\"")) || strstr(resp, "Connection: close")) {
			fprintf(stderr, "bad answer after 100 Continue: %s\n", n > 0 ? resp : "(nothing)");
			return step;
		}
		/* the same connection, a second request */
		const char *req2 = "GET /twice HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
		if (send_all(fd, req2, strlen(req2)) < 0)
			return step;
		read_all(fd, resp, sizeof resp);
		close(fd);
		if (!strstr(resp, "HTTP/1.1 200 OK\r\n")) {
			fprintf(stderr, "no second answer: %s\n", resp);
			return step;
		}
	}
	return 0;
}

/* With a token: ADMIN_PUBLIC routes are open unless metrics_token. */
static int client_token(int port, int metrics_token)
{
	int step = 0;

	step++;
	if (exchange(port, "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 401 ", "WWW-Authenticate: Bearer realm=\"albd\"\r\n", "\"Code\":\"Unauthorized\"")) < 0)
		return step;
	step++;
	if (exchange(port,
		     "GET /echo HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t0ken\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 200 OK\r\n", "\r\nDate: ", " GMT\r\n", "\"path\":\"/echo\"")) < 0)
		return step;
	step++;
	if (exchange(port,
		     "GET /echo HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t0keN\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 401 ", "error=\"invalid_token\"")) < 0)
		return step;
	step++; /* the public route */
	if (exchange(port, "GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		     metrics_token ? WANT("HTTP/1.1 401 ", "\"Code\":\"Unauthorized\"")
				   : WANT("HTTP/1.1 200 OK\r\n", "\"path\":\"/metrics\"")) < 0)
		return step;
	step++;
	if (exchange(port,
		     "GET /metrics HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t0ken\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 200 OK\r\n", "\"path\":\"/metrics\"")) < 0)
		return step;
	step++; /* public is per method: another method on the path needs the token */
	if (exchange(port, "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		     WANT("HTTP/1.1 401 ")) < 0)
		return step;
	return 0;
}

static int client_public(int port)
{
	return client_token(port, 0);
}

static int client_private(int port)
{
	return client_token(port, 1);
}

struct waiter {
	pid_t pid;
	int status;
	int done;
	struct event_base *base;
};

static void wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;

	if (waitpid(w->pid, &w->status, WNOHANG) == w->pid) {
		w->done = 1;
		event_base_loopbreak(w->base);
	}
}

/* Serve with CONFIG's admin settings while a forked client runs CLIENT. */
static void serve_for(const char *config_text, int (*client_fn)(int port), int port)
{
	char err[CONFIG_ERR_MAX], path[] = "/tmp/albd_test_admin_XXXXXX";
	int fd = mkstemp(path);
	struct albd_config *cfg;
	struct event_base *base;
	struct albd_gen g = { 0 };
	struct waiter w = { 0 };
	const struct timeval tick = { 0, 10000 };
	struct event *ev;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, config_text, strlen(config_text)), (ssize_t)strlen(config_text));
	close(fd);
	cfg = config_load(path, err, sizeof err);
	unlink(path);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_ptr_nonnull(base = conn_base_new(1, err, sizeof err));
	ck_assert_int_eq(admin_init(base), 0);
	admin_route("GET", "/echo", 0, echo, NULL);
	admin_route("POST", "/echo", 0, echo, NULL);
	admin_route("GET", "/silent", 0, silent, NULL);
	admin_route("GET", "/twice", 0, twice, NULL);
	admin_route("GET", "/pre/", ADMIN_PREFIX, echo, NULL);
	admin_route("GET", "/pre/exact", 0, exact, NULL);
	admin_route("GET", "/metrics", ADMIN_PUBLIC, echo, NULL);
	/* a generation of the test's own: never freed (many references) */
	atomic_init(&g.refs, 1000);
	g.cfg = cfg;
	ck_assert_msg(admin_apply(&g, err, sizeof err) == 0, "%s", err);
	ck_assert_ptr_eq(admin_gen(), &g);

	w.base = base;
	w.pid = fork();
	ck_assert_int_ge(w.pid, 0);
	if (w.pid == 0)
		_exit(client_fn(port));
	ev = event_new(base, -1, EV_PERSIST, wait_cb, &w);
	event_add(ev, &tick);
	event_base_dispatch(base);
	event_free(ev);
	ck_assert(w.done);
	ck_assert_msg(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 0, "the client failed at step %d",
		      WIFEXITED(w.status) ? WEXITSTATUS(w.status) : -1);
	admin_shutdown();
	ck_assert_uint_eq(A.nconns, 0);
	event_base_free(base);
	config_free(cfg);
}

START_TEST(test_exchanges)
{
	char text[512];
	int port = free_port();

	snprintf(text, sizeof text,
		 "listeners = ( { name = \"l\"; listen = \"127.0.0.1:%d\"; default_fixed_response = { status = 200; }; } );\n"
		 "admin = { listen = \"127.0.0.1:%d\"; };\n",
		 port == 65535 ? 1 : port + 1, port);
	serve_for(text, client, port);
}
END_TEST

START_TEST(test_token_and_public_routes)
{
	char text[1024], tok[] = "/tmp/albd_test_admin_token_XXXXXX";
	int port = free_port(), fd = mkstemp(tok);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, " t0ken\n", 7), 7);
	close(fd);
	snprintf(text, sizeof text,
		 "listeners = ( { name = \"l\"; listen = \"127.0.0.1:%d\"; default_fixed_response = { status = 200; }; } );\n"
		 "admin = { listen = \"127.0.0.1:%d\"; token_file = \"%s\"; metrics_token = %s; };\n",
		 port == 65535 ? 1 : port + 1, port, tok, _i ? "true" : "false");
	serve_for(text, _i ? client_private : client_public, port);
	unlink(tok);
}
END_TEST

static Suite *admin_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("admin");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_negotiate);
	tcase_add_test(tc, test_exchanges);
	tcase_add_loop_test(tc, test_token_and_public_routes, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(admin_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
