/*
 * The clock: the system source moves forward; a fake one is what every
 * reader sees until it is advanced, and removing it restores the system's.
 */
#include "unit.h"

#include "../../src/clock.c"

static void
test_system_clock(void **state)
{
	int64_t	a, b;

	(void)state;
	clock_set_source(NULL, NULL);
	a = clock_monotonic();
	b = clock_monotonic();
	assert_true(b >= a);
	/* After 2020-01-01 and before 2100: seconds, not ms or ns. */
	assert_true(clock_realtime() > 1577836800LL * CLOCK_US_PER_SEC);
	assert_true(clock_realtime() < 4102444800LL * CLOCK_US_PER_SEC);
}

static void
test_fake_clock(void **state)
{
	(void)state;
	clock_fake_start(1000 * CLOCK_US_PER_SEC);
	assert_int_equal(clock_realtime(), 1000 * CLOCK_US_PER_SEC);
	assert_int_equal(clock_monotonic(), 1000 * CLOCK_US_PER_SEC);
	clock_fake_advance(3600 * CLOCK_US_PER_SEC);
	assert_int_equal(clock_realtime(), 4600 * CLOCK_US_PER_SEC);
	clock_set_source(NULL, NULL);
	assert_true(clock_realtime() > 1577836800LL * CLOCK_US_PER_SEC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_clock),
		cmocka_unit_test(test_fake_clock),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
