/*
 * The report's shared spellings (report_fmt.c): counts and bytes for
 * people at each unit's edges, times in UTC (and "-" for none), the short
 * share of no connections, and a name for every sort key.
 */
#include "unit.h"

#include "../../src/report_fmt.c"

#include <string.h>

#define T0	(1795917600LL * 1000000LL)	/* 2026-11-29 02:00 UTC */

static void
test_human(void **state)
{
	char	b[24];

	(void)state;
	assert_string_equal(report_human(0, b, sizeof(b)), "0");
	assert_string_equal(report_human(999, b, sizeof(b)), "999");
	assert_string_equal(report_human(1000, b, sizeof(b)), "1.0k");
	assert_string_equal(report_human(1234, b, sizeof(b)), "1.2k");
	assert_string_equal(report_human(9949, b, sizeof(b)), "9.9k");
	assert_string_equal(report_human(9950, b, sizeof(b)), "10k");
	assert_string_equal(report_human(12345, b, sizeof(b)), "12k");
	assert_string_equal(report_human(999999, b, sizeof(b)), "1.0M");
	assert_string_equal(report_human(UINT64_MAX, b, sizeof(b)), "18E");
}

static void
test_human_bytes(void **state)
{
	char	b[24];

	(void)state;
	assert_string_equal(report_human_bytes(12, b, sizeof(b)), "12 B");
	assert_string_equal(report_human_bytes(999, b, sizeof(b)), "999 B");
	assert_string_equal(report_human_bytes(1000, b, sizeof(b)), "1.0 kB");
	assert_string_equal(report_human_bytes(3400000, b, sizeof(b)),
	    "3.4 MB");
	assert_string_equal(report_human_bytes(45000000000ULL, b, sizeof(b)),
	    "45 GB");
	assert_string_equal(report_human_bytes(UINT64_MAX, b, sizeof(b)),
	    "18 EB");
}

static void
test_time(void **state)
{
	char	b[24];

	(void)state;
	assert_string_equal(report_fmt_time(T0, b, sizeof(b)),
	    "2026-11-29 02:00");
	/* Seconds are cut, not rounded: 02:00:59 is still 02:00. */
	assert_string_equal(report_fmt_time(T0 + 59999999, b, sizeof(b)),
	    "2026-11-29 02:00");
	assert_string_equal(report_fmt_time(0, b, sizeof(b)),
	    "1970-01-01 00:00");
	assert_string_equal(report_fmt_time(-1, b, sizeof(b)), "-");
}

static void
test_short_share_names(void **state)
{
	struct report_counts	c;
	int			i, j;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.short_lived = 5;	/* impossible, but no division by zero */
	assert_true(report_short_share(&c) == 0.0);
	c.conns = 8;
	c.short_lived = 2;
	assert_true(report_short_share(&c) == 0.25);
	/* Every key has a name, and no two the same (--sort looks them up). */
	for (i = 0; i < REPORT_SORT_MAX; i++) {
		assert_non_null(report_sort_names[i]);
		for (j = 0; j < i; j++)
			assert_string_not_equal(report_sort_names[i],
			    report_sort_names[j]);
	}
	assert_string_equal(report_sort_names[REPORT_SORT_SCORE], "score");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_human),
		cmocka_unit_test(test_human_bytes),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_short_share_names),
	};

	return cmocka_run_group_tests_name("report_fmt", tests, NULL, NULL);
}
