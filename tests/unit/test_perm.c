/*
 * StrictModes (perm.c) on real files in a temporary directory, as root:
 * files and directories given away with chown and opened up with chmod,
 * links through a directory someone else may write, relative paths.
 */
#include "unit.h"

#include "../../src/perm.c"

#include <sys/mman.h>

#include <fcntl.h>
#include <ftw.h>

#define NOBODY	65534

struct fixture {
	char	 dir[64];
};

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture	*f;

	if (geteuid() != 0)
		skip();
	f = xcalloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_perm.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A root file of mode mode at dir/name; its path (caller frees). */
static char *
mkfile(const char *dir, const char *name, mode_t mode)
{
	char	*p = xasprintf("%s/%s", dir, name);
	int	 fd;

	assert_true((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

/* perm_check(path) refuses, its message holding want. */
static void
refused(const char *path, const char *want)
{
	char	*cause = NULL;

	assert_int_equal(perm_check(path, &cause), -1);
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", cause, want);
	free(cause);
}

static void
allowed(const char *path)
{
	char	*cause = NULL;

	if (perm_check(path, &cause) == -1)
		fail_msg("%s refused: %s", path, cause);
	assert_null(cause);
}

static void
test_file(void **state)
{
	struct fixture	*f = *state;
	char		*p = mkfile(f->dir, "xg.conf", 0644);
	char		 want[128];

	allowed(p);
	assert_int_equal(chmod(p, 0600), 0);
	allowed(p);
	assert_int_equal(chmod(p, 0664), 0);
	refused(p, "writable by group 'root' (mode 0664); refusing it when "
	    "running as root");
	assert_int_equal(chown(p, 0, NOBODY), 0);
	assert_int_equal(chmod(p, 0620), 0);
	refused(p, "writable by group 'nogroup' (mode 0620)");
	assert_int_equal(chmod(p, 0642), 0);
	refused(p, "writable by others (mode 0642)");
	assert_int_equal(chmod(p, 0644), 0);
	allowed(p);			/* a group that may only read */
	assert_int_equal(chown(p, NOBODY, 0), 0);
	refused(p, "owned by user 'nobody' (uid 65534), not root");
	assert_int_equal(chown(p, 54321, 0), 0);
	refused(p, "owned by uid 54321, not root");
	/* The whole message, as an operator reads it. */
	assert_int_equal(chown(p, 0, 0), 0);
	assert_int_equal(chmod(p, 0666), 0);
	snprintf(want, sizeof want, "writable by others (mode 0666); "
	    "refusing it when running as root");
	refused(p, want);
	free(p);

	refused("/nonexistent/xg.conf", "No such file or directory");
	allowed("/dev/null");
}

static void
test_dirs(void **state)
{
	struct fixture	*f = *state;
	char		*d = xasprintf("%s/etc", f->dir), *p, *want;

	assert_int_equal(mkdir(d, 0755), 0);
	p = mkfile(d, "xg.conf", 0644);
	allowed(p);

	assert_int_equal(chmod(d, 0775), 0);
	want = xasprintf("directory %s is writable by group 'root' (mode "
	    "0775); refusing it when running as root", d);
	refused(p, want);
	free(want);
	assert_int_equal(chmod(d, 0757), 0);
	refused(p, "is writable by others (mode 0757)");
	/* Sticky, as /tmp: others cannot replace root's file. */
	assert_int_equal(chmod(d, 01777), 0);
	allowed(p);
	assert_int_equal(chmod(d, 0755), 0);
	assert_int_equal(chown(d, NOBODY, NOBODY), 0);
	want = xasprintf("directory %s is owned by user 'nobody'", d);
	refused(p, want);
	free(want);
	assert_int_equal(chown(d, 0, 0), 0);

	/* Further up: the test's own directory. */
	assert_int_equal(chmod(f->dir, 0777), 0);
	want = xasprintf("directory %s is writable by others", f->dir);
	refused(p, want);
	free(want);
	assert_int_equal(chmod(f->dir, 0700), 0);
	allowed(p);
	free(p);
	free(d);
}

static void
test_links(void **state)
{
	struct fixture	*f = *state;
	char		*good = xasprintf("%s/good", f->dir);
	char		*bad = xasprintf("%s/bad", f->dir);
	char		*p, *link, *want;

	assert_int_equal(mkdir(good, 0755), 0);
	assert_int_equal(mkdir(bad, 0755), 0);
	p = mkfile(good, "xg.conf", 0644);

	/* A link in a directory others may write: it could point anywhere. */
	link = xasprintf("%s/xg.conf", bad);
	assert_int_equal(symlink(p, link), 0);
	allowed(link);
	assert_int_equal(chmod(bad, 0777), 0);
	want = xasprintf("directory %s is writable by others", bad);
	refused(link, want);
	free(want);
	free(link);
	assert_int_equal(chmod(bad, 0755), 0);

	/* A link from a good place to a file in a bad one. */
	free(p);
	p = mkfile(bad, "real.conf", 0644);
	link = xasprintf("%s/to-bad.conf", good);
	assert_int_equal(symlink(p, link), 0);
	allowed(link);
	assert_int_equal(chown(bad, NOBODY, 0), 0);
	want = xasprintf("directory %s is owned by user 'nobody'", bad);
	refused(link, want);
	free(want);
	/* The file a link names is checked, not the link. */
	assert_int_equal(chown(bad, 0, 0), 0);
	assert_int_equal(chmod(p, 0666), 0);
	refused(link, "writable by others (mode 0666)");
	free(link);
	free(p);
	free(good);
	free(bad);
}

static void
test_relative(void **state)
{
	struct fixture	*f = *state;
	char		 cwd[PATH_MAX], *p, *want;

	p = mkfile(f->dir, "xg.conf", 0644);
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(f->dir), 0);
	allowed("xg.conf");
	allowed("./xg.conf");
	assert_int_equal(chmod(f->dir, 0770), 0);
	want = xasprintf("directory %s is writable by group", f->dir);
	refused("xg.conf", want);
	free(want);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(chdir(cwd), 0);
	free(p);
}

/* A file with no name to resolve: a memfd (as fuzz_conf's), a pipe
 * (-c /dev/stdin, -c <(...)). */
static void
test_nameless(void **state)
{
	char	 path[64];
	int	 fd, p[2];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_true((fd = memfd_create("test_perm", MFD_CLOEXEC)) != -1);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	refused(path, "writable by others (mode 0777)");
	assert_int_equal(fchmod(fd, 0600), 0);
	allowed(path);
	close(fd);
	assert_int_equal(pipe(p), 0);
	snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
	allowed(path);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative, setup,
		    teardown),
		cmocka_unit_test(test_nameless),
	};

	return cmocka_run_group_tests_name("perm", tests, NULL, NULL);
}
