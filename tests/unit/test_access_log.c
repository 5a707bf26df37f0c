/* test_access_log.c - src/proxy/access_log.c: ALB's line and the JSON
 * line (fields, "-", escaping, bounds), and the rings: lines handed over,
 * written in order, dropped (and said so) when the writer falls behind. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/access_log.h"

static struct alog_fields sample(void)
{
	struct alog_fields f;

	memset(&f, 0, sizeof f);
	f.type = "http";
	f.time_us = 1530570180186641ULL;     /* 2018-07-02T22:23:00.186641Z */
	f.created_us = 1530570168364000ULL;  /* 2018-07-02T22:22:48.364000Z */
	f.elb = "app/my-loadbalancer/50dc6c495c0c9188";
	f.client = "192.168.131.39:2817";
	f.target = "10.0.0.1:80";
	f.request_us = 0;
	f.target_us = 1000;
	f.response_us = 0;
	f.elb_status = 200;
	f.target_status = 200;
	f.received_bytes = 34;
	f.sent_bytes = 366;
	f.method = "GET";
	f.scheme = "http";
	f.host = "www.example.com:80";
	f.host_len = 15;
	f.port = 80;
	f.uri = "/";
	f.version = "HTTP/1.1";
	f.user_agent = "curl/7.46.0";
	f.user_agent_len = 11;
	f.tg_arn = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067";
	f.trace = "Root=1-58337262-36d228ad5d99923122bbe354";
	f.trace_len = strlen(f.trace);
	f.rule_priority = 0;
	f.actions = "forward";
	f.target_list = "10.0.0.1:80";
	f.target_status_list = "200";
	return f;
}

static const char *fmt(const struct alog_fields *f, enum cfg_log_format k, char *buf, size_t cap)
{
	size_t n = alog_format(buf, cap, f, k);

	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(buf[n - 1], '\n');
	ck_assert_ptr_null(memchr(buf, '\n', n - 1));
	buf[n] = 0;
	return buf;
}

START_TEST(test_alb_example)
{
	static char buf[ALOG_LINE_MAX + 1];
	struct alog_fields f = sample();

	/* ALB's documented HTTP example, with the fields added since */
	ck_assert_str_eq(fmt(&f, CFG_LOG_ALB, buf, sizeof buf),
			 "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
			 "192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "
			 "\"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - "
			 "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
			 "\"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" "
			 "0 2018-07-02T22:22:48.364000Z \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\"\n");
}
END_TEST

START_TEST(test_dashes_and_minus_one)
{
	static char buf[ALOG_LINE_MAX + 1];
	struct alog_fields f;

	memset(&f, 0, sizeof f);
	f.type = "http";
	f.scheme = "http";
	f.port = 8080;
	f.request_us = f.target_us = f.response_us = -1;
	f.elb_status = 400;
	f.rule_priority = -1;
	f.error_reason = "ClientBadRequest";
	ck_assert_str_eq(fmt(&f, CFG_LOG_ALB, buf, sizeof buf),
			 "http 1970-01-01T00:00:00.000000Z - - - -1 -1 -1 400 - 0 0 \"- http://-:8080- -\" \"-\" - - - "
			 "\"-\" \"-\" \"-\" - 1970-01-01T00:00:00.000000Z \"-\" \"-\" \"ClientBadRequest\" \"-\" \"-\" "
			 "\"-\" \"-\"\n");
	/* seconds with millisecond precision */
	f.request_us = 1234567;
	f.target_us = 999;
	f.response_us = 0;
	fmt(&f, CFG_LOG_ALB, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, " 1.234 0.000 0.000 400 "));
}
END_TEST

START_TEST(test_escaping)
{
	static char buf[ALOG_LINE_MAX + 1];
	struct alog_fields f = sample();
	const char ua[] = "a\"b\\c\td\xe9 e";

	f.user_agent = ua;
	f.user_agent_len = sizeof ua - 1;
	f.uri = "/p\"q";
	f.tg_arn = "has space";
	fmt(&f, CFG_LOG_ALB, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, " \"a\\\"b\\\\c\\x09d\\xe9 e\" "));
	ck_assert_ptr_nonnull(strstr(buf, "/p\\\"q HTTP/1.1\""));
	ck_assert_ptr_nonnull(strstr(buf, " has\\x20space "));
	fmt(&f, CFG_LOG_JSON, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "\"user_agent\":\"a\\\"b\\\\c\\u0009d\\u00e9 e\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"target_group_arn\":\"has space\""));
}
END_TEST

START_TEST(test_json)
{
	static char buf[ALOG_LINE_MAX + 1];
	struct alog_fields f = sample();

	fmt(&f, CFG_LOG_JSON, buf, sizeof buf);
	ck_assert_int_eq(buf[0], '{');
	ck_assert_ptr_nonnull(strstr(buf, "\"type\":\"http\",\"time\":\"2018-07-02T22:23:00.186641Z\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"request_processing_time\":0.000,\"target_processing_time\":0.001,"));
	ck_assert_ptr_nonnull(strstr(buf, "\"elb_status_code\":200,\"target_status_code\":200,"));
	ck_assert_ptr_nonnull(strstr(buf, "\"matched_rule_priority\":0,"));
	ck_assert_ptr_nonnull(strstr(buf, "\"classification_reason\":\"-\"}\n"));
	f.target_status = 0;
	f.rule_priority = -1;
	fmt(&f, CFG_LOG_JSON, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "\"target_status_code\":\"-\","));
	ck_assert_ptr_nonnull(strstr(buf, "\"matched_rule_priority\":\"-\","));
}
END_TEST

/* Whatever the inputs' lengths and escaping, a line fits ALOG_LINE_MAX
 * and stays whole: every field, the JSON object closed. */
START_TEST(test_bounds)
{
	static char buf[ALOG_LINE_MAX + 1];
	static char big[64 * 1024];
	struct alog_fields f = sample();

	memset(big, '"', sizeof big);           /* escapes double each byte ... */
	for (size_t i = 0; i < sizeof big; i += 3)
		big[i] = (char)0x80;                /* ... or more */
	f.user_agent = big;
	f.user_agent_len = sizeof big;
	f.redirect_url = big;
	f.redirect_url_len = sizeof big;
	for (int k = 0; k < 2; k++) {
		size_t n = alog_format(buf, sizeof buf, &f, k ? CFG_LOG_JSON : CFG_LOG_ALB);
		ck_assert_uint_le(n, ALOG_LINE_MAX);
		ck_assert_int_eq(buf[n - 1], '\n');
		buf[n] = 0;
		ck_assert_ptr_nonnull(strstr(buf, k ? "\"classification_reason\":\"-\"}\n" : " \"-\" \"-\"\n"));
		/* an escape is never cut: the user agent ends on a whole one */
		if (!k)
			ck_assert_ptr_nonnull(strstr(buf, "\" - - arn:"));
	}
}
END_TEST

START_TEST(test_rings)
{
	char path[] = "/tmp/test_access_log_XXXXXX", err[256], line[128];
	int fd = mkstemp(path);
	struct albd_config cfg;

	ck_assert_int_ge(fd, 0);
	close(fd);
	memset(&cfg, 0, sizeof cfg);
	cfg.access_log.enabled = 1;
	cfg.access_log.path = path;
	ck_assert_int_eq(alog_apply(&cfg, err, sizeof err), 0);

	/* two workers, interleaved; each one's lines stay in its order */
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(line, sizeof line, "w%d line %04d\n", i % 2, i);
		ck_assert_int_eq(alog_append((unsigned)(i % 2), line, (size_t)n), 1);
	}
	/* nothing is written before it is handed over */
	ck_assert_uint_eq(alog_flush(), 0);
	FILE *in = fopen(path, "r");
	fseek(in, 0, SEEK_END);
	ck_assert_int_eq(ftell(in), 0);
	alog_publish(0);
	alog_publish(1);
	ck_assert_uint_eq(alog_flush(), 0);
	rewind(in);
	int last[2] = { -1, -1 }, count = 0, w, i;
	while (fscanf(in, "w%d line %d\n", &w, &i) == 2) {
		ck_assert_int_gt(i, last[w]);
		last[w] = i;
		count++;
	}
	ck_assert_int_eq(count, 1000);

	/* the writer falls behind: once every chunk waits, lines are dropped */
	static char big[ALOG_CHUNK / 2 + 1];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 2] = '\n';
	int kept = 0, dropped = 0;
	for (int k = 0; k < ALOG_CHUNKS * 2 + 8; k++)
		alog_append(0, big, sizeof big - 1) ? kept++ : dropped++;
	ck_assert_int_gt(dropped, 0);
	ck_assert_int_ge(kept, ALOG_CHUNKS);
	/* a line longer than a chunk is never taken */
	static char huge[ALOG_CHUNK + 2];
	ck_assert_int_eq(alog_append(1, huge, sizeof huge), 0);
	/* written out, the ring takes lines again */
	alog_publish(0);
	ck_assert_uint_eq(alog_flush(), 0);
	ck_assert_int_eq(alog_append(0, "again\n", 6), 1);
	alog_publish(0);
	ck_assert_uint_eq(alog_flush(), 0);
	/* ... and every line is in the file once: a chunk written before the
	 * ring wrapped is not written again */
	fclose(in);
	in = fopen(path, "r");
	static char buf[ALOG_CHUNK];
	int xs = 0, agains = 0;
	while (fgets(buf, sizeof buf, in)) {
		xs += buf[0] == 'x';
		agains += strcmp(buf, "again\n") == 0;
	}
	ck_assert_int_eq(xs, kept);
	ck_assert_int_eq(agains, 1);
	fclose(in);

	/* a file that refuses them: the lines are reported lost */
	cfg.access_log.path = "/dev/full";
	ck_assert_int_eq(alog_apply(&cfg, err, sizeof err), 0);
	for (int k = 0; k < 10; k++)
		ck_assert_int_eq(alog_append(1, "lost\n", 5), 1);
	alog_publish(1);
	ck_assert_uint_eq(alog_flush(), 10);

	/* off: the file is closed */
	cfg.access_log.enabled = 0;
	ck_assert_int_eq(alog_apply(&cfg, err, sizeof err), 0);
	cfg.access_log.enabled = 1;
	cfg.access_log.path = "/nonexistent-dir/x.log";
	ck_assert_int_eq(alog_apply(&cfg, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot open /nonexistent-dir/x.log"));
	alog_shutdown();
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("access_log");
	TCase *tc = tcase_create("access_log");
	tcase_add_test(tc, test_alb_example);
	tcase_add_test(tc, test_dashes_and_minus_one);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_rings);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
