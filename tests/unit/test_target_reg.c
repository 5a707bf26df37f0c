/* test_target_reg.c - src/control/target_reg.c without the API: the
 * registry file read (and refused when damaged), merged into a config
 * (after the file's targets, marked, never twice), and the registrations
 * of groups a config drops forgotten and the file rewritten. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int main(void)
{
	Suite *s = suite_create("target_reg");
	TCase *tc = tcase_create("target_reg");
	tcase_add_test(tc, test_merge_and_forget);
	tcase_add_test(tc, test_damaged_files);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
