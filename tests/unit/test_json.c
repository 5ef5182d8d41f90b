/*
 * JSON output: escaping of control characters and quotes, invalid UTF-8
 * replaced (log lines are attacker bytes), times in RFC 3339.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/json.c"

static char *
json_of(const char *s)
{
	static char	 buf[1024];
	FILE		*fp;

	fp = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(fp);
	json_string(fp, s);
	fclose(fp);
	return buf;
}

static void
test_plain_and_escapes(void **state)
{
	(void)state;
	assert_string_equal(json_of("user@example.org"),
	    "\"user@example.org\"");
	assert_string_equal(json_of("a\"b\\c\nd\te\r"),
	    "\"a\\\"b\\\\c\\nd\\te\\r\"");
	assert_string_equal(json_of("\x01\x1f\x7f"),
	    "\"\\u0001\\u001f\\u007f\"");
	assert_string_equal(json_of(""), "\"\"");
}

static void
test_utf8(void **state)
{
	(void)state;
	/* Valid: 2, 3 and 4-byte sequences pass through. */
	assert_string_equal(json_of("\xc3\xa9t\xc3\xa9"), "\"\xc3\xa9t\xc3\xa9\"");
	assert_string_equal(json_of("\xe2\x82\xac"), "\"\xe2\x82\xac\"");
	assert_string_equal(json_of("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");
	/* Invalid: stray continuation, overlong, surrogate, truncated,
	 * beyond U+10FFFF. */
	assert_string_equal(json_of("\x80"), "\"\\ufffd\"");
	assert_string_equal(json_of("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	assert_string_equal(json_of("\xe0\x80\xaf"),
	    "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(json_of("\xed\xa0\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(json_of("\xe2\x82"), "\"\\ufffd\\ufffd\"");
	assert_string_equal(json_of("\xf4\x90\x80\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(json_of("ok\xffok"), "\"ok\\ufffdok\"");
}

static void
test_time(void **state)
{
	char	buf[40];

	(void)state;
	assert_string_equal(json_fmt_time(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00.000000Z");
	assert_string_equal(json_fmt_time(1795919301123456LL, buf,
	    sizeof(buf)), "2026-11-29T02:28:21.123456Z");
	assert_string_equal(json_fmt_time(-1, buf, sizeof(buf)),
	    "1969-12-31T23:59:59.999999Z");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_escapes),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
