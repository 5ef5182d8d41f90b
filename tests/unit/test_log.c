/*
 * log_escape() and the rate limiter: what reaches a log from the outside is
 * printable, bounded, and visibly cut.  On the journal's stream (stderr a
 * temporary file that JOURNAL_STREAM names) each line carries its syslog
 * priority; anywhere else it reads as on a terminal.
 */
#include "unit.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/log.c"

/* An error line without fatal()'s exit. */
static void
log_vwrite_err(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, 0, fmt, ap);
	va_end(ap);
}

static void
test_escape_printable(void **state)
{
	char	buf[64];

	(void)state;
	assert_string_equal(log_escape(buf, sizeof(buf), "user@host", 9),
	    "user@host");
}

static void
test_escape_controls_and_binary(void **state)
{
	char		 buf[64];
	const char	 in[] = "a\nb\x1b[31m\\\xff\0z";

	(void)state;
	log_escape(buf, sizeof(buf), in, sizeof(in) - 1);
	assert_string_equal(buf, "a\\x0ab\\x1b[31m\\x5c\\xff\\x00z");
}

static void
test_escape_cut(void **state)
{
	char	buf[8];

	(void)state;
	log_escape(buf, sizeof(buf), "0123456789", 10);
	assert_true(strlen(buf) < sizeof(buf));
	assert_string_equal(buf, "0123...");
	/* An escape sequence is never cut in half. */
	log_escape(buf, sizeof(buf), "ab\x01\x02\x03", 5);
	assert_true(strlen(buf) < sizeof(buf));
	assert_null(strchr(buf, '\x01'));
	assert_non_null(strstr(buf, "..."));
}

static void
test_escape_tiny_buffers(void **state)
{
	char	buf[4];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	log_escape(buf, 1, "abc", 3);
	assert_int_equal(buf[0], '\0');
	log_escape(buf, 2, "abc", 3);
	assert_true(strlen(buf) <= 1);
	log_escape(buf, 4, "abcdef", 6);
	assert_string_equal(buf, "...");
}

static void
test_ratelimit(void **state)
{
	struct log_ratelimit	rl = { .interval_us = 1000000 };

	(void)state;
	assert_true(log_ratelimit_ok(&rl, 5000000));
	assert_false(log_ratelimit_ok(&rl, 5000001));
	assert_false(log_ratelimit_ok(&rl, 5999999));
	assert_int_equal(rl.suppressed, 2);
	assert_true(log_ratelimit_ok(&rl, 6000000));
}

static void
test_level_names(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("warn"), LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("loud"), -1);
	assert_string_equal(log_level_name(LOG_LEVEL_INFO), "info");
}

/*
 * What the four levels write to stderr, with JOURNAL_STREAM set to env
 * ("match": stderr's own device and inode), into out.  Without init, as
 * a command that never calls log_init(): looked at the first line.
 */
static void
log_capture(const char *env, int init, char *out, size_t size)
{
	char		 path[] = "/tmp/xg-log.XXXXXX", js[64];
	struct stat	 sb;
	int		 fd, saved;
	ssize_t		 n;

	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	fflush(stderr);
	assert_true((saved = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	assert_int_equal(fstat(fd, &sb), 0);
	if (env == NULL)
		unsetenv("JOURNAL_STREAM");
	else if (strcmp(env, "match") == 0) {
		snprintf(js, sizeof(js), "%llu:%llu",
		    (unsigned long long)sb.st_dev,
		    (unsigned long long)sb.st_ino);
		setenv("JOURNAL_STREAM", js, 1);
	} else
		setenv("JOURNAL_STREAM", env, 1);
	log_init(1, LOG_LEVEL_DEBUG);
	if (!init)
		log_journal = -1;
	errno = ENOENT;
	log_warn("w %d", 1);
	log_info("i");
	log_debug("d");
	log_vwrite_err("e");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	log_init(1, LOG_LEVEL_INFO);
	n = pread(fd, out, size - 1, 0);
	close(fd);
	assert_true(n >= 0);
	out[n] = '\0';
}

static void
test_journal_priorities(void **state)
{
	const char	*want = "<4>warning: w 1: No such file or directory\n"
	    "<6>i\n"
	    "<7>debug: d\n"
	    "<3>error: e\n";
	char		 buf[512];

	(void)state;
	log_capture("match", 1, buf, sizeof(buf));
	assert_string_equal(buf, want);
	log_capture("match", 0, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* Not the journal: as on a terminal, whatever JOURNAL_STREAM says. */
static void
test_journal_not_stderr(void **state)
{
	static const char *const envs[] = {
		NULL, "", "1:2", "garbage", "12:", ":34", "1:2:3", "-1:-1"
	};
	const char	*plain = "xmppguard: warning: w 1: No such file or "
	    "directory\nxmppguard: i\nxmppguard: debug: d\n"
	    "xmppguard: error: e\n";
	char		 buf[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		log_capture(envs[i], 1, buf, sizeof(buf));
		assert_string_equal(buf, plain);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_printable),
		cmocka_unit_test(test_escape_controls_and_binary),
		cmocka_unit_test(test_escape_cut),
		cmocka_unit_test(test_escape_tiny_buffers),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_level_names),
		cmocka_unit_test(test_journal_priorities),
		cmocka_unit_test(test_journal_not_stderr),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
