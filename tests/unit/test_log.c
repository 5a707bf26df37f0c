/* test_log.c - the rate limits of src/core/log.c, with an injected clock:
 * repeated messages are counted and summarised, floods are capped. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static uint64_t fake_now = 1000;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static char capture_path[64];
static int saved_stderr = -1;

/* Send stderr to a fresh file; returns nothing, see captured(). */
static void capture_start(void)
{
	snprintf(capture_path, sizeof(capture_path), "/tmp/albd-test-log-XXXXXX");
	int fd = mkstemp(capture_path);
	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	log_set_clock(fake_clock);
	log_set_level(LOG_LVL_DEBUG);
}

/* What was written since capture_start(), as one string (caller frees). */
static char *captured(void)
{
	FILE *f = fopen(capture_path, "r");
	ck_assert_ptr_nonnull(f);
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void capture_stop(void)
{
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	unlink(capture_path);
	log_set_clock(NULL);
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;
	for (const char *l = s; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		if (!needle || memmem(l, len, needle, strlen(needle)))
			n++;
		l += len + (e ? 1 : 0);
	}
	return n;
}

START_TEST(test_repeats_counted)
{
	capture_start();
	log_warn("accept: %s", "Too many open files");
	for (int i = 0; i < 100000; i++)
		log_warn("accept: %s", "Too many open files");
	/* all within the same instant: one line only */
	char *out = captured();
	ck_assert_int_eq(count_lines(out, NULL), 1);
	free(out);

	/* a different message reports the count first */
	log_info("something else");
	out = captured();
	ck_assert_int_eq(count_lines(out, NULL), 3);
	ck_assert_ptr_nonnull(strstr(out, "accept: Too many open files ... repeated 100000 times"));
	ck_assert(strstr(out, "repeated 100000") < strstr(out, "something else"));
	free(out);
	capture_stop();
}
END_TEST

START_TEST(test_repeats_summarised_while_going_on)
{
	capture_start();
	fake_now = 50000;
	log_err("target 10.0.0.1:80: connection refused");
	/* the same message for 12 s, 1000 times a second: a summary every 5 s */
	for (int ms = 0; ms < 12000; ms++) {
		fake_now++;
		log_err("target 10.0.0.1:80: connection refused");
	}
	char *out = captured();
	ck_assert_int_eq(count_lines(out, "repeated"), 2);
	ck_assert_int_eq(count_lines(out, NULL), 3);
	free(out);
	capture_stop();
}
END_TEST

START_TEST(test_flood_capped)
{
	capture_start();
	fake_now = 100000;
	/* 2000 different messages at once: the burst of 500 gets out */
	for (int i = 0; i < 2000; i++)
		log_info("client 10.0.%d.%d: bad request", i / 256, i % 256);
	char *out = captured();
	ck_assert_int_eq(count_lines(out, "bad request"), 500);
	free(out);
	/* a second later, 100 more tokens: the first line says what was lost */
	fake_now += 1000;
	log_info("after the flood");
	out = captured();
	ck_assert_ptr_nonnull(strstr(out, "1500 log messages suppressed"));
	ck_assert_ptr_nonnull(strstr(out, "after the flood"));
	free(out);
	capture_stop();
}
END_TEST

/* log_flush(): a repetition that stopped is summarised a second later,
 * not only with the thread's next line; nothing while it goes on */
START_TEST(test_flush_after_quiet)
{
	capture_start();
	fake_now = 200000;
	for (int i = 0; i < 50; i++)
		log_warn("accept: Too many open files");
	log_flush(0);   /* still going on */
	char *out = captured();
	ck_assert_int_eq(count_lines(out, "repeated"), 0);
	free(out);
	fake_now += 999;
	log_flush(0);
	out = captured();
	ck_assert_int_eq(count_lines(out, "repeated"), 0);
	free(out);
	fake_now += 1;
	log_flush(0);
	out = captured();
	ck_assert_ptr_nonnull(strstr(out, "accept: Too many open files ... repeated 49 times"));
	free(out);
	log_flush(0);   /* once only */
	out = captured();
	ck_assert_int_eq(count_lines(out, "repeated"), 1);
	free(out);
	/* FORCE (thread exit): at once */
	log_warn("x");
	log_warn("x");
	log_flush(1);
	out = captured();
	ck_assert_ptr_nonnull(strstr(out, "x ... repeated 1 times"));
	free(out);
	capture_stop();
}
END_TEST

/* a line the rate limit refused is never reported as repeated: it was
 * not written, and the suppressed count says so */
START_TEST(test_refused_line_not_repeated)
{
	capture_start();
	fake_now = 300000;
	for (int i = 0; i < 500; i++)
		log_info("burst %d", i);
	for (int i = 0; i < 10; i++)
		log_info("refused");
	char *out = captured();
	ck_assert_ptr_null(strstr(out, "refused"));
	free(out);
	fake_now += 2000;
	log_flush(0);
	out = captured();
	ck_assert_ptr_null(strstr(out, "repeated"));
	ck_assert_ptr_nonnull(strstr(out, "10 log messages suppressed"));
	free(out);
	capture_stop();
}
END_TEST

START_TEST(test_level_filter)
{
	capture_start();
	log_set_level(LOG_LVL_WARN);
	log_info("hidden");
	log_warn("shown");
	char *out = captured();
	ck_assert_ptr_null(strstr(out, "hidden"));
	ck_assert_ptr_nonnull(strstr(out, "warn: shown"));
	free(out);
	capture_stop();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("rate_limits");

	tcase_add_test(tc, test_repeats_counted);
	tcase_add_test(tc, test_repeats_summarised_while_going_on);
	tcase_add_test(tc, test_flood_capped);
	tcase_add_test(tc, test_flush_after_quiet);
	tcase_add_test(tc, test_refused_line_not_repeated);
	tcase_add_test(tc, test_level_filter);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
