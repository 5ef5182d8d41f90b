/*
 * The outage shape: many addresses failing at once, far above the usual
 * rate, with no success, holds auth verdicts, also when it straddles two
 * windows; a botnet on a live server, a busy server's normal failures, or
 * a disabled detector do not.
 */
#include "../../src/outage.c"

#include "unit.h"

#define S	INT64_C(1000000)
#define T0	(INT64_C(1795924800) * S)	/* on a minute */

static struct conf *
conf_new(void)
{
	struct conf	*conf;
	char		*cause = NULL;

	assert_int_equal(conf_load(NULL, &conf, &cause), 0);
	return conf;	/* 25 addresses, x10, 1m window, 15m hold */
}

static enum outage_change
ev(struct outage *o, const struct conf *conf, enum event_kind kind,
    int host, int64_t t)
{
	struct event	e;
	char		a[32];

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.time = t;
	snprintf(a, sizeof(a), "198.51.%d.%d", host / 250, host % 250 + 1);
	assert_int_equal(addr_parse(a, &e.addr, NULL), 0);
	return outage_event(o, conf, &e);
}

/* An hour of ordinary traffic: 3 failures and 20 logins a minute. */
static void
ordinary(struct outage *o, const struct conf *conf, int64_t from)
{
	int	m, i;

	for (m = 0; m < 60; m++) {
		for (i = 0; i < 20; i++)
			assert_int_equal(ev(o, conf, EVENT_AUTH_OK, i,
			    from + m * 60 * S + i * S), OUTAGE_SAME);
		for (i = 0; i < 3; i++)
			assert_int_equal(ev(o, conf, EVENT_AUTH_FAIL, 100 + i,
			    from + m * 60 * S + 30 * S + i), OUTAGE_SAME);
	}
}

static void
test_backend_down(void **state)
{
	struct conf		*conf = conf_new();
	struct outage		*o = outage_new(1);
	struct outage_stats	 st;
	int64_t			 t = T0 + 3600 * S;
	int			 i, began = 0;

	(void)state;
	ordinary(o, conf, T0);
	assert_false(outage_holding(o, t));
	/* Every client fails, retries, fails: 200 addresses in a minute. */
	for (i = 0; i < 200; i++)
		if (ev(o, conf, EVENT_AUTH_FAIL, i, t + i * 250000) ==
		    OUTAGE_BEGAN)
			began++;
	assert_int_equal(began, 1);
	assert_true(outage_holding(o, t + 50 * S));
	outage_get_stats(o, &st);
	assert_int_equal(st.episodes, 1);
	assert_true(st.addresses >= 25 && st.addresses <= 40);
	assert_int_equal(st.oks, 0);
	assert_true(st.baseline > 1 && st.baseline < 4);
	/* Held for 15m after the shape was last seen, then it ends. */
	assert_true(outage_holding(o, t + 50 * S + 14 * 60 * S));
	assert_int_equal(ev(o, conf, EVENT_AUTH_OK, 1, t + 17 * 60 * S),
	    OUTAGE_ENDED);
	assert_false(outage_holding(o, t + 17 * 60 * S));
	outage_free(o);
	conf_free(conf);
}

/* A botnet guessing passwords while real users log in: not an outage. */
static void
test_botnet_on_live_server(void **state)
{
	struct conf	*conf = conf_new();
	struct outage	*o = outage_new(2);
	int64_t		 t = T0 + 3600 * S;
	int		 i;

	(void)state;
	ordinary(o, conf, T0);
	for (i = 0; i < 200; i++) {
		assert_int_equal(ev(o, conf, EVENT_AUTH_FAIL, 300 + i,
		    t + i * 250000), OUTAGE_SAME);
		if (i % 40 == 0)	/* 5 good logins meanwhile */
			ev(o, conf, EVENT_AUTH_OK, i, t + i * 250000 + 1);
	}
	assert_false(outage_holding(o, t + 55 * S));
	outage_free(o);
	conf_free(conf);
}

/* One IPv6 host with 200 addresses of its /64, failing in a minute: one
 * source, not a crowd; 200 hosts of 200 /64s are an outage. */
static void
test_one_network(void **state)
{
	struct conf	*conf = conf_new();
	struct outage	*o = outage_new(3), *o2 = outage_new(3);
	struct event	 e;
	int64_t		 t = T0 + 3600 * S;
	char		 a[64];
	int		 i, began = 0;

	(void)state;
	ordinary(o, conf, T0);
	ordinary(o2, conf, T0);
	for (i = 0; i < 200; i++) {
		memset(&e, 0, sizeof(e));
		e.kind = EVENT_AUTH_FAIL;
		e.time = t + i * 250000;
		snprintf(a, sizeof(a), "2001:db8:5:5::%x", i + 1);
		assert_int_equal(addr_parse(a, &e.addr, NULL), 0);
		assert_int_equal(outage_event(o, conf, &e), OUTAGE_SAME);
		snprintf(a, sizeof(a), "2001:db8:5:%x::1", i + 1);
		assert_int_equal(addr_parse(a, &e.addr, NULL), 0);
		if (outage_event(o2, conf, &e) == OUTAGE_BEGAN)
			began++;
	}
	assert_false(outage_holding(o, t + 55 * S));
	assert_int_equal(began, 1);
	assert_true(outage_holding(o2, t + 55 * S));
	outage_free(o);
	outage_free(o2);
	conf_free(conf);
}

/* Few addresses, however many failures: per-address rules handle it. */
static void
test_few_addresses(void **state)
{
	struct conf	*conf = conf_new();
	struct outage	*o = outage_new(3);
	int		 i;

	(void)state;
	for (i = 0; i < 1000; i++)
		ev(o, conf, EVENT_AUTH_FAIL, i % 10, T0 + i * 50000);
	assert_false(outage_holding(o, T0 + 50 * S));
	outage_free(o);
	conf_free(conf);
}

/* A busy server's usual failure rate raises the bar. */
static void
test_busy_baseline(void **state)
{
	struct conf	*conf = conf_new();
	struct outage	*o = outage_new(4);
	int		 m, i;

	(void)state;
	for (m = 0; m < 60; m++)
		for (i = 0; i < 100; i++)
			ev(o, conf, EVENT_AUTH_FAIL, i,
			    T0 + m * 60 * S + i * 100000);
	/* 300 failures from 300 addresses: 3x the usual, not 10x. */
	for (i = 0; i < 300; i++)
		ev(o, conf, EVENT_AUTH_FAIL, i, T0 + 3600 * S + i * 100000);
	assert_false(outage_holding(o, T0 + 3600 * S + 31 * S));
	outage_free(o);
	conf_free(conf);
}

/*
 * A burst that straddles a minute: 40 addresses fail once each between
 * 45 s and 75 s past a minute, 20 in either window.  Neither window alone
 * has the shape (25 addresses, 10 x the usual 3 failures), the sliding
 * window does.  The same burst while real users log in is no outage.
 */
static void
test_straddle(void **state)
{
	struct conf	*conf = conf_new();
	struct outage	*o = outage_new(6), *live = outage_new(7);
	int64_t		 t = T0 + 3600 * S + 45 * S;
	int		 i, began = 0;

	(void)state;
	ordinary(o, conf, T0);
	ordinary(live, conf, T0);
	for (i = 0; i < 40; i++) {
		if (ev(o, conf, EVENT_AUTH_FAIL, 300 + i, t + i * 750000) ==
		    OUTAGE_BEGAN)
			began++;
		assert_int_equal(ev(live, conf, EVENT_AUTH_FAIL, 300 + i,
		    t + i * 750000), OUTAGE_SAME);
		if (i % 8 == 0)		/* 5 good logins meanwhile */
			ev(live, conf, EVENT_AUTH_OK, i, t + i * 750000 + 1);
	}
	assert_int_equal(began, 1);
	assert_true(outage_holding(o, t + 31 * S));
	assert_false(outage_holding(live, t + 31 * S));
	outage_free(o);
	outage_free(live);
	conf_free(conf);
}

static void
test_disabled(void **state)
{
	struct conf	*conf = conf_new();
	struct outage	*o = outage_new(5);
	int		 i;

	(void)state;
	conf->auth_outage_addresses = 0;
	for (i = 0; i < 500; i++)
		ev(o, conf, EVENT_AUTH_FAIL, i, T0 + i * 100000);
	assert_false(outage_holding(o, T0 + 50 * S));
	outage_free(o);
	conf_free(conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_down),
		cmocka_unit_test(test_botnet_on_live_server),
		cmocka_unit_test(test_one_network),
		cmocka_unit_test(test_few_addresses),
		cmocka_unit_test(test_busy_baseline),
		cmocka_unit_test(test_straddle),
		cmocka_unit_test(test_disabled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
