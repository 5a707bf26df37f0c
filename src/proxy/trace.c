/* trace.c - request ids in ALB's X-Amzn-Trace-Id format (see trace.h). */
#include "trace.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../net/wbuf.h"

void trace_rng_seed(struct trace_rng *r, uint64_t salt)
{
	uint64_t s;

	if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	r->s = s ^ (salt * 0x9e3779b97f4a7c15u);
}

/* splitmix64 (Steele, Lea, Flood 2014): a few multiplies, full period */
static uint64_t next64(struct trace_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Write V as 8 lowercase hex digits, all at once: each nibble spread into
 * its own byte, then '0' or 'a' - 10 added (SWAR: a dozen instructions
 * where a loop over digits took ten times as many). */
static void hex8(char *out, uint32_t v)
{
	uint64_t x = v;

	x = ((x & 0xffff0000u) << 16) | (x & 0xffffu);
	x = ((x & 0x0000ff000000ff00u) << 8) | (x & 0x000000ff000000ffu);
	x = ((x & 0x00f000f000f000f0u) << 4) | (x & 0x000f000f000f000fu);
	/* x holds a nibble a byte, the most significant one in the top byte */
	uint64_t letter = ((x + 0x0606060606060606u) >> 4) & 0x0101010101010101u; /* 1: nibble > 9 */
	x += 0x3030303030303030u + letter * ('a' - '0' - 10);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	memcpy(out, &x, 8);
}

void trace_make_id(struct trace_rng *r, uint32_t epoch, char out[TRACE_ID_LEN + 1])
{
	uint64_t a = next64(r), b = next64(r);

	out[0] = '1';
	out[1] = '-';
	hex8(out + 2, epoch);
	out[10] = '-';
	hex8(out + 11, (uint32_t)(a >> 32));
	hex8(out + 19, (uint32_t)a);
	hex8(out + 27, (uint32_t)b);
	out[TRACE_ID_LEN] = 0;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int all_hex(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex(v[i]))
			return 0;
	return 1;
}

int trace_id_valid(const char *v, size_t n)
{
	return n == TRACE_ID_LEN && v[0] == '1' && v[1] == '-' && all_hex(v + 2, 8) && v[10] == '-' &&
	       all_hex(v + 11, 24);
}

/* RFC 9110 5.6.2 tchar */
static int is_tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

struct scan {
	size_t root, root_len; /* offset and length of the Root value */
	size_t self, self_len; /* the Self value's (when nself) */
	int nroot, nself;
	int nfields;           /* fields, empty ones not counted */
};

/* Split V[0..N) into ";"-separated fields, each "Name=value" with optional
 * white space around; empty fields are allowed (a trailing ";"). Returns 0
 * when every field has that shape, -1 otherwise. */
static int scan_fields(const char *v, size_t n, struct scan *sc)
{
	size_t i = 0;

	memset(sc, 0, sizeof *sc);
	while (i <= n) {
		size_t end = i;
		while (end < n && v[end] != ';')
			end++;
		size_t a = i, b = end;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		if (a < b) {
			size_t eq = a;
			while (eq < b && is_tchar(v[eq]))
				eq++;
			if (eq == a || eq == b || v[eq] != '=')
				return -1;
			size_t nl = eq - a;
			sc->nfields++;
			if (nl == 4 && memcmp(v + a, "Root", 4) == 0) {
				sc->nroot++;
				sc->root = eq + 1;
				sc->root_len = b - eq - 1;
			} else if (nl == 4 && memcmp(v + a, "Self", 4) == 0) {
				sc->nself++;
				sc->self = eq + 1;
				sc->self_len = b - eq - 1;
			}
		}
		i = end + 1;
	}
	return 0;
}

int trace_header_valid(const char *v, size_t n, char root[TRACE_ID_LEN + 1])
{
	struct scan sc;

	if (scan_fields(v, n, &sc) < 0 || sc.nroot > 1 || sc.nself > 1 ||
	    (sc.nroot && !trace_id_valid(v + sc.root, sc.root_len)))
		return 0;
	if (root) {
		memcpy(root, sc.nroot ? v + sc.root : "", sc.nroot ? TRACE_ID_LEN : 0);
		root[sc.nroot ? TRACE_ID_LEN : 0] = 0;
	}
	return 1;
}

void trace_write_header(struct wbuf *b, const char *in, size_t inlen, int keep,
			const char id[TRACE_ID_LEN + 1])
{
	struct scan sc;

	if (!keep || scan_fields(in, inlen, &sc) < 0) {
		WBUF_LIT(b, "X-Amzn-Trace-Id: Root=");
		wbuf_add(b, id, TRACE_ID_LEN);
	} else if (!sc.nroot) {
		/* a Root of albd's own, first (as for a request without the
		 * header), then the fields that came, a Self among them
		 * updated where it stands (ALB); none is added: the Root
		 * is this hop's id */
		WBUF_LIT(b, "X-Amzn-Trace-Id: Root=");
		wbuf_add(b, id, TRACE_ID_LEN);
		if (sc.nfields) {
			WBUF_LIT(b, ";");
			if (sc.nself) {
				wbuf_add(b, in, sc.self);
				wbuf_add(b, id, TRACE_ID_LEN);
				wbuf_add(b, in + sc.self + sc.self_len, inlen - sc.self - sc.self_len);
			} else {
				wbuf_add(b, in, inlen);
			}
		}
	} else if (sc.nself) {
		/* ALB: "updates the value of the Self field", where it stands */
		WBUF_LIT(b, "X-Amzn-Trace-Id: ");
		wbuf_add(b, in, sc.self);
		wbuf_add(b, id, TRACE_ID_LEN);
		wbuf_add(b, in + sc.self + sc.self_len, inlen - sc.self - sc.self_len);
	} else {
		WBUF_LIT(b, "X-Amzn-Trace-Id: Self=");
		wbuf_add(b, id, TRACE_ID_LEN);
		WBUF_LIT(b, ";");
		wbuf_add(b, in, inlen);
	}
	WBUF_LIT(b, "\r\n");
}
