/*
 * Event kind names are the vocabulary of configuration, SQL and JSON: every
 * kind has one, and each name parses back to its kind.
 */
#include "unit.h"

#include <string.h>

#include "../../src/event.c"

static void
test_kind_names_round_trip(void **state)
{
	int	i, j;

	(void)state;
	for (i = 1; i < EVENT_KIND_MAX; i++) {
		assert_non_null(event_kind_name((enum event_kind)i));
		assert_int_equal(event_kind_parse(
		    event_kind_name((enum event_kind)i)), i);
		for (j = 1; j < i; j++)
			assert_string_not_equal(
			    event_kind_name((enum event_kind)i),
			    event_kind_name((enum event_kind)j));
	}
	assert_null(event_kind_name(EVENT_KIND_MAX));
	/* As a label: EVENT_NONE is none. */
	assert_null(event_kind_label(EVENT_NONE));
	assert_string_equal(event_kind_label(EVENT_AUTH_FAIL), "auth_fail");
	assert_null(event_kind_label(EVENT_KIND_MAX));
	assert_int_equal(event_kind_parse("auth_fail"), EVENT_AUTH_FAIL);
	assert_int_equal(event_kind_parse("AUTH_FAIL"), EVENT_NONE);
	assert_int_equal(event_kind_parse(""), EVENT_NONE);
}

static void
test_source_names(void **state)
{
	int	i;

	(void)state;
	for (i = 0; i < EVENT_SRC_MAX; i++)
		assert_non_null(event_source_name((enum event_source)i));
	assert_string_equal(event_source_name(EVENT_SRC_CONNTRACK),
	    "conntrack");
	assert_null(event_source_name(EVENT_SRC_MAX));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names_round_trip),
		cmocka_unit_test(test_source_names),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
