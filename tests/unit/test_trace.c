/* test_trace.c - src/proxy/trace.c: the id's format, which incoming
 * X-Amzn-Trace-Id values are kept, and the field albd forwards. */
#include <check.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "net/wbuf.h"
#include "proxy/trace.h"

#define ID_A "1-67891233-abcdef012345678912345678"

static int is_id(const char *s)
{
	return strlen(s) == TRACE_ID_LEN && trace_id_valid(s, strlen(s));
}

/* the forwarded field for IN (NULL: none) and albd's ID, NUL-terminated in OUT */
static const char *fwd(const char *in, const char *id, char *out, size_t cap)
{
	struct wbuf b;
	int keep = in && trace_header_valid(in, strlen(in), NULL);
	size_t inlen = in ? strlen(in) : 0;

	/* what trace.h promises fits */
	ck_assert_uint_lt(inlen + TRACE_FIELD_EXTRA, cap);
	wbuf_init(&b, out, inlen + TRACE_FIELD_EXTRA);
	trace_write_header(&b, in, inlen, keep, id);
	ck_assert_int_eq(b.over, 0);
	out[wbuf_len(&b)] = 0;
	return out;
}

START_TEST(test_make_id)
{
	struct trace_rng r;
	char a[TRACE_ID_LEN + 1], b[TRACE_ID_LEN + 1];

	trace_rng_seed(&r, 1);
	trace_make_id(&r, 0x67891233u, a);
	ck_assert(is_id(a));
	ck_assert_int_eq(strncmp(a, "1-67891233-", 11), 0);
	for (int i = 11; i < TRACE_ID_LEN; i++) /* lowercase hex, as ALB writes it */
		ck_assert(strchr("0123456789abcdef", a[i]) != NULL);
	trace_make_id(&r, 0, b);
	ck_assert_int_eq(strncmp(b, "1-00000000-", 11), 0);
	ck_assert_str_ne(a + 11, b + 11);
	trace_make_id(&r, 0xffffffffu, b);
	ck_assert_int_eq(strncmp(b, "1-ffffffff-", 11), 0);

	/* no repeats over many ids, and every digit position varies */
	enum { N = 4096 };
	static char ids[N][TRACE_ID_LEN + 1];
	unsigned seen[TRACE_ID_LEN] = { 0 };
	for (int i = 0; i < N; i++) {
		trace_make_id(&r, 1, ids[i]);
		for (int k = 11; k < TRACE_ID_LEN; k++)
			seen[k] |= 1u << (ids[i][k] <= '9' ? ids[i][k] - '0' : ids[i][k] - 'a' + 10);
	}
	for (int k = 11; k < TRACE_ID_LEN; k++)
		ck_assert_uint_eq(seen[k], 0xffffu);
	qsort(ids, N, sizeof ids[0], (int (*)(const void *, const void *))strcmp);
	for (int i = 1; i < N; i++)
		ck_assert_str_ne(ids[i - 1], ids[i]);

	/* two workers' generators differ */
	struct trace_rng r2;
	trace_rng_seed(&r, 1);
	trace_rng_seed(&r2, 2);
	trace_make_id(&r, 5, a);
	trace_make_id(&r2, 5, b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_id_valid)
{
	ck_assert(trace_id_valid(ID_A, 35));
	ck_assert(trace_id_valid("1-ABCDEF01-ABCDEF012345678912345678", 35));
	ck_assert(!trace_id_valid(ID_A, 34));
	ck_assert(!trace_id_valid("2-67891233-abcdef012345678912345678", 35)); /* version */
	ck_assert(!trace_id_valid("1-6789123-abcdef0123456789123456789", 35)); /* 7 + 25 digits */
	ck_assert(!trace_id_valid("1-67891233_abcdef012345678912345678", 35));
	ck_assert(!trace_id_valid("1-6789123g-abcdef012345678912345678", 35));
	ck_assert(!trace_id_valid("1-67891233-abcdef01234567891234567z", 35));
	ck_assert(!trace_id_valid("1-67891233-abcdef01234567891234567", 34));
	ck_assert(!trace_id_valid("", 0));
}
END_TEST

START_TEST(test_header_valid)
{
	char root[TRACE_ID_LEN + 1];

	ck_assert(trace_header_valid("Root=" ID_A, 40, root));
	ck_assert_str_eq(root, ID_A);
	static const char *const good[] = {
		"Root=" ID_A,
		"Self=1-67891233-12456789abcdef012345678;Root=" ID_A, /* Self's value is not checked */
		"Root=" ID_A ";CalledFrom=app",
		"CalledFrom=app;Root=" ID_A,
		" Root=" ID_A " ; Parent=53995c3f42cd8ad8; Sampled=1 ",
		"Root=" ID_A ";",
		"Root=" ID_A ";Empty=",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		memset(root, 0, sizeof root);
		ck_assert_msg(trace_header_valid(good[i], strlen(good[i]), root), "%s", good[i]);
		ck_assert_str_eq(root, ID_A);
	}
	/* well-formed without a Root: kept, albd's id will be the Root */
	static const char *const no_root[] = {
		"",
		";",
		"Self=" ID_A,
		"CalledFrom=app",
		"Sampled=1; Parent=53995c3f42cd8ad8",
		"root=" ID_A, /* names are case-sensitive: not a Root */
		"Self=x;CalledFrom=app",
	};
	for (size_t i = 0; i < sizeof no_root / sizeof no_root[0]; i++) {
		memset(root, 'x', sizeof root);
		ck_assert_msg(trace_header_valid(no_root[i], strlen(no_root[i]), root), "%s", no_root[i]);
		ck_assert_str_eq(root, "");
	}
	static const char *const bad[] = {
		"garbage",
		"Root=1-67891233-abcdef01234567891234567", /* short id */
		"Root=2-67891233-abcdef012345678912345678",
		"Root=" ID_A ";Root=" ID_A, /* two Roots */
		"Self=a;Self=b;Root=" ID_A, /* two Selfs */
		"Root=" ID_A ";junk",       /* a field without '=' */
		"Root=" ID_A ";=x",         /* no name */
		"Root " ID_A,
		"Root=" ID_A ", Root=" ID_A, /* two fields joined by a proxy */
		"Ro ot=" ID_A,
		"Self=a;Self=b",             /* two Selfs, no Root */
		"CalledFrom=app;junk",
		"Root=;CalledFrom=app",      /* an empty Root is not an id */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(root, 0, sizeof root);
		ck_assert_msg(!trace_header_valid(bad[i], strlen(bad[i]), root), "%s", bad[i]);
		ck_assert_str_eq(root, ""); /* untouched */
	}
	ck_assert(trace_header_valid("Root=" ID_A, 40, NULL));
}
END_TEST

START_TEST(test_write_header)
{
	const char *id = "1-6b0ce2d9-0123456789abcdef01234567";
	char out[512];

	ck_assert_str_eq(fwd(NULL, id, out, sizeof out), "X-Amzn-Trace-Id: Root=1-6b0ce2d9-0123456789abcdef01234567\r\n");
	ck_assert_str_eq(fwd("garbage", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=1-6b0ce2d9-0123456789abcdef01234567\r\n");
	/* ALB's own examples: Self goes in front, the rest stays */
	ck_assert_str_eq(fwd("Root=" ID_A, id, out, sizeof out),
			 "X-Amzn-Trace-Id: Self=1-6b0ce2d9-0123456789abcdef01234567;Root=" ID_A "\r\n");
	ck_assert_str_eq(fwd("Root=" ID_A ";CalledFrom=app", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Self=1-6b0ce2d9-0123456789abcdef01234567;Root=" ID_A ";CalledFrom=app\r\n");
	/* an existing Self is updated where it stands */
	ck_assert_str_eq(fwd("Root=" ID_A ";Self=1-67891233-12456789abcdef012345678;CalledFrom=app", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=" ID_A ";Self=1-6b0ce2d9-0123456789abcdef01234567;CalledFrom=app\r\n");
	ck_assert_str_eq(fwd("Self= old ;Root=" ID_A, id, out, sizeof out),
			 "X-Amzn-Trace-Id: Self=1-6b0ce2d9-0123456789abcdef01234567 ;Root=" ID_A "\r\n");
	ck_assert_str_eq(fwd("Root=" ID_A ";Self=", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=" ID_A ";Self=1-6b0ce2d9-0123456789abcdef01234567\r\n");
	/* no Root: albd's id is the Root, in front; the fields stay, in their
	 * order, a Self updated where it stands; no Self is added */
	ck_assert_str_eq(fwd("CalledFrom=app;Sampled=1", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=1-6b0ce2d9-0123456789abcdef01234567;CalledFrom=app;Sampled=1\r\n");
	ck_assert_str_eq(fwd("Sampled=1;Self=" ID_A ";Parent=x", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=1-6b0ce2d9-0123456789abcdef01234567;Sampled=1;"
			 "Self=1-6b0ce2d9-0123456789abcdef01234567;Parent=x\r\n");
	ck_assert_str_eq(fwd("Self=", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=1-6b0ce2d9-0123456789abcdef01234567;"
			 "Self=1-6b0ce2d9-0123456789abcdef01234567\r\n");
	ck_assert_str_eq(fwd("", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=1-6b0ce2d9-0123456789abcdef01234567\r\n");
	ck_assert_str_eq(fwd(" ; ", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=1-6b0ce2d9-0123456789abcdef01234567\r\n");
	/* malformed: replaced whole */
	ck_assert_str_eq(fwd("CalledFrom=app;junk", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=1-6b0ce2d9-0123456789abcdef01234567\r\n");
	ck_assert_str_eq(fwd("Root=2-67891233-abcdef012345678912345678;CalledFrom=app", id, out, sizeof out),
			 "X-Amzn-Trace-Id: Root=1-6b0ce2d9-0123456789abcdef01234567\r\n");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("trace");
	tcase_add_test(tc, test_make_id);
	tcase_add_test(tc, test_id_valid);
	tcase_add_test(tc, test_header_valid);
	tcase_add_test(tc, test_write_header);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
