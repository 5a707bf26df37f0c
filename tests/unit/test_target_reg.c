/* test_target_reg.c - src/control/target_reg.c without the HTTP API: the
 * registry file read (and refused when damaged), merged into a config
 * (after the file's targets, marked, never twice), and the registrations
 * of groups a config drops forgotten and the file rewritten; the calls
 * both APIs make (treg_register(), treg_deregister()) with a stand-in for
 * main.c's rebuild. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "control/target_reg.h"
#include "core/config.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_target_reg_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *name)
{
	static char buf[4096];
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static struct albd_config *load(const char *groups)
{
	char text[2048], err[512];
	snprintf(text, sizeof text,
		 "listeners = ( { name = \"l\"; listen = \"127.0.0.1:8080\"; default_fixed_response = { status = 200; }; } );\n"
		 "target_groups = ( %s );\n",
		 groups);
	write_file("albd.conf", text);
	char path[256];
	snprintf(path, sizeof path, "%s/albd.conf", dir);
	struct albd_config *cfg = config_load(path, err, sizeof err);
	ck_assert_msg(cfg != NULL, "%s", err);
	return cfg;
}

START_TEST(test_merge_and_forget)
{
	char err[512];

	make_dir();
	/* no file: no registrations */
	ck_assert_int_eq(treg_init(dir, err, sizeof err), 0);
	write_file(TREG_FILE, "{\"Version\": 1, \"TargetGroups\": {"
			      "\"web\": [{\"Id\": \"10.0.0.5\", \"Port\": 8080, \"Weight\": 3},"
			      "          {\"Id\": \"10.0.0.1\", \"Port\": 80, \"Weight\": 1},"
			      "          {\"Id\": \"2001:db8::1\", \"Port\": 443, \"Weight\": 1}],"
			      "\"gone\": [{\"Id\": \"10.0.0.6\", \"Port\": 8080, \"Weight\": 1}]}}");
	ck_assert_int_eq(treg_init(dir, err, sizeof err), 0);
	struct albd_config *cfg = load("{ name = \"web\"; targets = ( { address = \"10.0.0.1:80\"; } ); }");
	ck_assert_int_eq(treg_merge(cfg, err, sizeof err), 0);
	const struct cfg_target_group *tg = &cfg->target_groups[0];
	/* the file's first, then the registered ones; 10.0.0.1:80 once */
	ck_assert_uint_eq(tg->ntargets, 3);
	ck_assert_str_eq(tg->targets[0].address, "10.0.0.1:80");
	ck_assert_int_eq(tg->targets[0].registered, 0);
	ck_assert_str_eq(tg->targets[1].address, "10.0.0.5:8080");
	ck_assert_int_eq(tg->targets[1].registered, 1);
	ck_assert_uint_eq(tg->targets[1].weight, 3);
	ck_assert_str_eq(tg->targets[2].address, "[2001:db8::1]:443");
	/* live: "gone" and the one the file names are forgotten, the file rewritten */
	treg_forget_unknown(cfg);
	const char *saved = read_file(TREG_FILE);
	ck_assert_ptr_null(strstr(saved, "gone"));
	ck_assert_ptr_null(strstr(saved, "10.0.0.1\""));
	ck_assert_ptr_nonnull(strstr(saved, "10.0.0.5"));
	ck_assert_ptr_nonnull(strstr(saved, "2001:db8::1"));
	config_free(cfg);
	/* read back as written */
	ck_assert_int_eq(treg_init(dir, err, sizeof err), 0);
	cfg = load("{ name = \"web\"; }");
	ck_assert_int_eq(treg_merge(cfg, err, sizeof err), 0);
	ck_assert_uint_eq(cfg->target_groups[0].ntargets, 2);
	config_free(cfg);
}
END_TEST

START_TEST(test_damaged_files)
{
	static const char *bad[] = {
		"{",
		"[]",
		"{\"Version\": 2, \"TargetGroups\": {}}",
		"{\"Version\": 1, \"TargetGroups\": []}",
		"{\"Version\": 1, \"TargetGroups\": {\"web\": [{\"Id\": \"host.example\", \"Port\": 80, \"Weight\": 1}]}}",
		"{\"Version\": 1, \"TargetGroups\": {\"web\": [{\"Id\": \"10.0.0.1\", \"Port\": 0, \"Weight\": 1}]}}",
		"{\"Version\": 1, \"TargetGroups\": {\"web\": [{\"Id\": \"10.0.0.1\", \"Port\": 80, \"Weight\": 1000}]}}",
		"{\"Version\": 1, \"TargetGroups\": {\"web\": [{\"Port\": 80, \"Weight\": 1}]}}",
	};
	char err[512];

	make_dir();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(TREG_FILE, bad[i]);
		err[0] = 0;
		ck_assert_msg(treg_init(dir, err, sizeof err) == -1, "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, TREG_FILE));
	}
}
END_TEST

/* main.c's rebuild: counted, failing with FAIL's message when set. */
static int rebuilds;
static const char *fail;

static int rebuild(void *arg, char *err, size_t errlen)
{
	(void)arg;
	rebuilds++;
	if (fail) {
		snprintf(err, errlen, "%s", fail);
		return -1;
	}
	return 0;
}

static struct treg_target target(const char *id, long port, unsigned weight)
{
	struct treg_target t;
	char err[256];

	ck_assert_msg(treg_parse_target(id, port, &t.addr, err, sizeof err) == 0, "%s", err);
	t.weight = weight;
	return t;
}

/* targets.json's group "web" as "ID:PORT/WEIGHT ..." */
static const char *saved(void)
{
	static char out[512];
	char path[256];
	json_error_t je;
	json_t *root, *t;
	size_t i, n = 0;

	snprintf(path, sizeof path, "%s/%s", dir, TREG_FILE);
	root = json_load_file(path, 0, &je);
	ck_assert_msg(root != NULL, "%s", je.text);
	out[0] = 0;
	json_array_foreach(json_object_get(json_object_get(root, "TargetGroups"), "web"), i, t)
		n += (size_t)snprintf(out + n, sizeof out - n, "%s%s:%lld/%lld", i ? " " : "",
				      json_string_value(json_object_get(t, "Id")),
				      (long long)json_integer_value(json_object_get(t, "Port")),
				      (long long)json_integer_value(json_object_get(t, "Weight")));
	json_decref(root);
	return out;
}

START_TEST(test_parse_target)
{
	struct albd_addr a;
	char err[256];

	ck_assert_int_eq(treg_parse_target("10.0.0.5", 8080, &a, err, sizeof err), 0);
	ck_assert_str_eq(a.text, "10.0.0.5:8080");
	ck_assert_int_eq(treg_parse_target("2001:db8::1", 443, &a, err, sizeof err), 0);
	ck_assert_str_eq(a.text, "[2001:db8::1]:443");
	ck_assert_int_eq(treg_parse_target("host.example", 80, &a, err, sizeof err), -1);
	ck_assert_int_eq(treg_parse_target("i-0123456789abcdef0", 80, &a, err, sizeof err), -1);
	ck_assert_int_eq(treg_parse_target("224.0.0.1", 80, &a, err, sizeof err), -1);
	ck_assert_int_eq(treg_parse_target("0.0.0.0", 80, &a, err, sizeof err), -1);
	ck_assert_int_eq(treg_parse_target("ff02::1", 80, &a, err, sizeof err), -1);
	ck_assert_int_eq(treg_parse_target("10.0.0.5", 0, &a, err, sizeof err), -1);
	ck_assert_int_eq(treg_parse_target("10.0.0.5", 65536, &a, err, sizeof err), -1);
}
END_TEST

START_TEST(test_register_and_deregister)
{
	char err[512];
	struct treg_error e;

	make_dir();
	ck_assert_int_eq(treg_init(dir, err, sizeof err), 0);
	treg_api_init(rebuild, NULL);
	struct albd_config *cfg = load("{ name = \"web\"; targets = ( { address = \"10.0.0.1:80\"; } ); }");
	const struct cfg_target_group *tg = &cfg->target_groups[0];

	/* the file's target is skipped; the other: one new generation, kept */
	struct treg_target two[] = { target("10.0.0.1", 80, 0), target("10.0.0.5", 8080, 0) };
	rebuilds = 0;
	ck_assert_int_eq(treg_register(tg, two, 2, &e), 0);
	ck_assert_int_eq(rebuilds, 1);
	ck_assert_str_eq(saved(), "10.0.0.5:8080/1");
	/* again: nothing to do, no new generation */
	ck_assert_int_eq(treg_register(tg, two, 2, &e), 0);
	ck_assert_int_eq(rebuilds, 1);
	/* a weight is the new weight; none (0, ELBv2's) keeps it */
	struct treg_target w = target("10.0.0.5", 8080, 7);
	ck_assert_int_eq(treg_register(tg, &w, 1, &e), 0);
	ck_assert_str_eq(saved(), "10.0.0.5:8080/7");
	w.weight = 0;
	ck_assert_int_eq(treg_register(tg, &w, 1, &e), 0);
	ck_assert_int_eq(rebuilds, 2);
	ck_assert_str_eq(saved(), "10.0.0.5:8080/7");

	/* the new generation cannot be made: nothing changes */
	struct treg_target more = target("10.0.0.6", 80, 0);
	fail = "a binary upgrade is under way";
	ck_assert_int_eq(treg_register(tg, &more, 1, &e), -1);
	ck_assert_int_eq(e.status, 503);
	ck_assert_str_eq(e.code, "ServiceUnavailable");
	fail = "out of memory";
	ck_assert_int_eq(treg_register(tg, &more, 1, &e), -1);
	ck_assert_int_eq(e.status, 500);
	ck_assert_str_eq(e.code, "InternalFailure");
	ck_assert_str_eq(e.message, "out of memory");
	fail = NULL;
	ck_assert_str_eq(saved(), "10.0.0.5:8080/7");
	/* ... and the registrations were put back: 10.0.0.6 is not one */
	ck_assert_int_eq(treg_deregister(tg, &more, 1, &e), -1);
	ck_assert_str_eq(e.code, "InvalidTarget");

	/* deregistering: all or nothing, only what the API registered */
	struct treg_target d[] = { target("10.0.0.5", 8080, 0), target("10.0.0.9", 80, 0) };
	rebuilds = 0;
	ck_assert_int_eq(treg_deregister(tg, d, 2, &e), -1);
	ck_assert_int_eq(e.status, 400);
	ck_assert_str_eq(e.code, "InvalidTarget");
	ck_assert_ptr_nonnull(strstr(e.message, "10.0.0.9:80"));
	ck_assert_int_eq(treg_deregister(tg, two, 1, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.message, "configuration file"));
	ck_assert_int_eq(rebuilds, 0);
	ck_assert_str_eq(saved(), "10.0.0.5:8080/7");
	/* the same target twice is that target */
	d[1] = d[0];
	ck_assert_int_eq(treg_deregister(tg, d, 2, &e), 0);
	ck_assert_int_eq(rebuilds, 1);
	ck_assert_str_eq(saved(), "");
	config_free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("target_reg");
	TCase *tc = tcase_create("target_reg");
	tcase_add_test(tc, test_merge_and_forget);
	tcase_add_test(tc, test_damaged_files);
	tcase_add_test(tc, test_parse_target);
	tcase_add_test(tc, test_register_and_deregister);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
