/*
 * The rules' names: every rule has one, each name parses back to its
 * rule, and what is not a rule's name is refused.
 */
#include "../../src/verdict.c"

#include "unit.h"

static void
test_names(void **state)
{
	int	r;

	(void)state;
	for (r = 0; r < VERDICT_RULE_MAX; r++) {
		assert_non_null(verdict_rule_name((enum verdict_rule)r));
		assert_int_equal(verdict_rule_parse(verdict_rule_name(
		    (enum verdict_rule)r)), r);
	}
	assert_string_equal(verdict_rule_name(VERDICT_CHURN), "churn");
	assert_null(verdict_rule_name(VERDICT_RULE_MAX));
	assert_null(verdict_rule_name((enum verdict_rule)-1));
	assert_string_equal(verdict_rule_label(VERDICT_AUTH), "auth");
	assert_null(verdict_rule_label(VERDICT_RULE_MAX));
	assert_int_equal(verdict_rule_parse("Churn"), -1);
	assert_int_equal(verdict_rule_parse(""), -1);
	assert_int_equal(verdict_rule_parse(NULL), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
