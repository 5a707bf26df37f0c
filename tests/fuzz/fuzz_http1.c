/* fuzz_http1.c - libFuzzer target for the HTTP/1 code that reads untrusted
 * bytes: head scanning and parsing (as a request and as a response) and
 * the body decoders, fed in the arbitrary pieces a socket may deliver; a
 * request head also through the desync classifier and, rewritten as the
 * desync policy would forward it, through the parser again.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *     tests/fuzz/fuzz_http1.c src/net/http1.c src/net/desync.c -levent_core -lhttp_parser -o /tmp/fuzz_http1
 *   /tmp/fuzz_http1 -max_total_time=120
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "net/desync.h"
#include "net/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, int is_request, size_t piece)
{
	const struct http1_limits lim = { 1024, 4096, 32, 0, 1 };   /* as the proxy scans */
	struct http1_header hdrs[32];
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct http1_scan sc;
	struct http1_head h;
	size_t off = 0, head_len = 0;
	enum http1_status st = HTTP1_INCOMPLETE;

	http1_scan_reset(&sc);
	/* the head arrives in pieces */
	while (off < size && st == HTTP1_INCOMPLETE) {
		size_t n = size - off < piece ? size - off : piece;
		evbuffer_add(in, data + off, n);
		off += n;
		st = http1_scan_head(in, is_request, &lim, &sc, &head_len);
	}
	if (st == HTTP1_OK && is_request) {
		const struct http1_limits lenient = { 1024, 4096, 32, 1, 0 };
		size_t cap = 3 * head_len + 16;   /* exactly the bound, for ASan */
		char *norm = malloc(cap);
		struct desync_verdict v;
		const char *p = (const char *)evbuffer_pullup(in, (ssize_t)head_len);
		desync_classify(p, head_len, &v);
		(void)desync_class_name(v.cls);
		(void)desync_reason_name(v.reason);
		size_t n = norm ? http1_normalize_request(p, head_len, norm, cap) : 0;
		h.hdrs = hdrs;
		if (n)
			(void)http1_parse_head(norm, n, 1, 0, &lenient, &h);
		free(norm);
	}
	if (st == HTTP1_OK) {
		h.hdrs = hdrs;
		const char *p = (const char *)evbuffer_pullup(in, (ssize_t)head_len);
		if (http1_parse_head(p, head_len, is_request, 0, &lim, &h) == HTTP1_OK) {
			for (size_t i = 0; i < h.nhdrs; i++)
				(void)http1_is_hop_by_hop(&h, &h.hdrs[i]);
			evbuffer_drain(in, head_len);
			struct http1_body b;
			http1_body_init(&b, h.body, h.content_length, piece & 1);
			/* then the body, in pieces too */
			int bad = 0;
			while (!bad && !b.done) {
				if (http1_body_move(&b, in, out, piece * 3) < 0)
					bad = 1;
				if (off >= size)
					break;
				size_t n = size - off < piece ? size - off : piece;
				evbuffer_add(in, data + off, n);
				off += n;
			}
			if (!bad && !b.done)
				http1_body_eof(&b, out);
		}
	}
	evbuffer_free(in);
	evbuffer_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (data[0] % 64) + 1;
	one(data + 1, size - 1, 1, piece);
	one(data + 1, size - 1, 0, piece);
	return 0;
}
