/* test_state_lock.c - src/core/state_lock.c: one holder per state_dir
 * (a second open of the lock file is refused, told the holder's pid), the
 * state_dir made when missing, the descriptor an upgrade hands over kept
 * when it is this state_dir's lock and closed when it is another's. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/state_lock.h"

static char base[64], dir[128], other[128];

static void setup(void)
{
	snprintf(base, sizeof base, "/tmp/albd-test-lock-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof dir, "%s/state", base);   /* made by state_lock_take */
	snprintf(other, sizeof other, "%s/other", base);
}

static void teardown(void)
{
	char p[256];
	const char *dirs[] = { dir, other };
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", dirs[i], STATE_LOCK_FILE);
		unlink(p);
		rmdir(dirs[i]);
	}
	rmdir(base);
}

static long pid_in(const char *d)
{
	char p[256], buf[32] = "";
	snprintf(p, sizeof p, "%s/%s", d, STATE_LOCK_FILE);
	FILE *f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	fclose(f);
	return atol(buf);
}

START_TEST(test_one_holder)
{
	char err[512], want[64];
	int fd = state_lock_take(dir, -1, err, sizeof err);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pid_in(dir), (long)getpid());
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	/* another open of the file (another albd): refused, the holder named */
	ck_assert_int_eq(state_lock_take(dir, -1, err, sizeof err), -1);
	snprintf(want, sizeof want, "in use by another albd (pid %ld holds", (long)getpid());
	ck_assert_msg(strstr(err, want), "%s", err);
	/* released with the descriptor */
	close(fd);
	fd = state_lock_take(dir, -1, err, sizeof err);
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

START_TEST(test_inherited)
{
	char err[512];
	int fd = state_lock_take(dir, -1, err, sizeof err);
	ck_assert_int_ge(fd, 0);
	/* the new binary of an upgrade: the same open file description, kept */
	int child = dup(fd);
	ck_assert_int_ge(child, 0);
	fcntl(child, F_SETFD, 0);   /* as exec inherits it */
	ck_assert_int_eq(state_lock_take(dir, child, err, sizeof err), child);
	ck_assert_int_ne(fcntl(child, F_GETFD) & FD_CLOEXEC, 0);
	/* the old process exits: the lock stays with the new one */
	close(fd);
	ck_assert_int_eq(state_lock_take(dir, -1, err, sizeof err), -1);
	/* a new configuration with another state_dir: the new directory is
	 * locked (the old lock's descriptor closed, its number reused) */
	int again = dup(child);
	int fd2 = state_lock_take(other, again, err, sizeof err);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(pid_in(other), (long)getpid());
	close(fd2);
	close(child);
	/* an inherited descriptor that is not a file is left alone */
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	fd = state_lock_take(dir, p[0], err, sizeof err);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(fcntl(p[0], F_GETFD), -1);
	close(fd);
	close(p[0]);
	close(p[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state_lock");
	TCase *tc = tcase_create("lock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_one_holder);
	tcase_add_test(tc, test_inherited);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
