/* test_ui.c - unit tests of src/control/ui.c (statics reached by including
 * the source): If-None-Match against an ETag, and the embedded files
 * (scripts/embed-ui.sh -> ui_assets.c) that ui_init() serves: every route
 * has its file, the ETags have their shape, the page loads nothing from
 * elsewhere.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/control/ui.c"

START_TEST(test_etag_matches)
{
	const char *tag = "\"0123456789abcdef\"";

	ck_assert_int_eq(etag_matches("\"0123456789abcdef\"", tag), 1);
	ck_assert_int_eq(etag_matches("W/\"0123456789abcdef\"", tag), 1);
	ck_assert_int_eq(etag_matches("\"x\", \"0123456789abcdef\"", tag), 1);
	ck_assert_int_eq(etag_matches("\"x\",W/\"0123456789abcdef\" ", tag), 1);
	ck_assert_int_eq(etag_matches("*", tag), 1);
	ck_assert_int_eq(etag_matches("", tag), 0);
	ck_assert_int_eq(etag_matches("\"0123456789abcdee\"", tag), 0);
	ck_assert_int_eq(etag_matches("\"0123456789abcdef", tag), 0);
	ck_assert_int_eq(etag_matches("\"0123456789abcdef\"x", tag), 0);
	ck_assert_int_eq(etag_matches("0123456789abcdef", tag), 0);
}
END_TEST

static const struct ui_asset *asset(const char *name)
{
	for (size_t i = 0; i < ui_nassets; i++)
		if (strcmp(ui_assets[i].name, name) == 0)
			return &ui_assets[i];
	return NULL;
}

START_TEST(test_embedded)
{
	ui_init();
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		const struct ui_file *f = &files[i];

		ck_assert_msg(f->a != NULL, "%s is embedded", f->name);
		ck_assert_uint_gt(f->a->len, 100);
		ck_assert_uint_eq(strlen((const char *)f->a->data), f->a->len); /* text, NUL after it */
		ck_assert_uint_eq(strlen(f->etag), 18);
		ck_assert_int_eq(f->etag[0], '"');
		ck_assert_int_eq(f->etag[17], '"');
		/* only the login page and its parts go without the token */
		int open = strcmp(f->name, "app.js") != 0 && strcmp(f->name, "vendor/uPlot.iife.min.js") != 0;
		ck_assert_int_eq(!!(f->flags & ADMIN_OPEN), open);
	}
	const char *page = (const char *)asset("index.html")->data;
	ck_assert_ptr_nonnull(strstr(page, "id=\"login-form\""));
	ck_assert_ptr_nonnull(strstr(page, "src=\"/ui/boot.js\""));
	/* offline: nothing from another origin, no inline script */
	ck_assert_ptr_null(strstr(page, "http:"));
	ck_assert_ptr_null(strstr(page, "https:"));
	ck_assert_ptr_null(strstr(page, "<script>"));
	ck_assert_ptr_null(strstr(page, "style=\""));
	ck_assert_ptr_nonnull(strstr((const char *)asset("vendor/uPlot.iife.min.js")->data, "(v1.6.32)"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ui");
	TCase *tc = tcase_create("ui");
	tcase_add_test(tc, test_etag_matches);
	tcase_add_test(tc, test_embedded);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
