/*
 * log_escape() and the rate limiter: what reaches a log from the outside is
 * printable, bounded, and visibly cut.
 */
#include "unit.h"

#include <string.h>

#include "../../src/log.c"

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
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
