/*
 * Unit tests for conf_value.c: each value syntax at its edges and
 * overflows (a refused value must leave the result alone and say why), the
 * printers, and that whatever they print parses back to the same value.
 */
#include "unit.h"

#include "../../src/conf_value.c"

#define US_S	1000000LL
#define US_M	(60 * US_S)
#define US_H	(3600 * US_S)
#define US_D	(86400 * US_S)
#define US_W	(7 * US_D)

/* The printers pick the first unit that divides a value: largest first. */
static void
test_units(void **state)
{
	size_t	i;

	(void)state;
	for (i = 1; i < nitems(conf_time_units); i++) {
		assert_true(conf_time_units[i - 1].mult >
		    conf_time_units[i].mult);
		assert_int_equal(conf_time_units[i - 1].mult %
		    conf_time_units[i].mult, 0);
	}
	assert_int_equal(conf_time_units[nitems(conf_time_units) - 1].mult, 1);
	for (i = 1; i < nitems(conf_size_units); i++)
		assert_int_equal(conf_size_units[i - 1].mult,
		    conf_size_units[i].mult << 10);
}

static void
test_number(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		uint64_t	 v;
		size_t		 used;	/* characters read */
	} t[] = {
		{ "0", 1, 0, 1 },
		{ "007", 1, 7, 3 },
		{ "42k", 1, 42, 2 },
		{ "12 34", 1, 12, 2 },
		{ "18446744073709551615", 1, UINT64_MAX, 20 },
		{ "18446744073709551616", 0, 0, 0 },
		{ "99999999999999999999999", 0, 0, 0 },
		{ "", 0, 0, 0 },
		{ "k", 0, 0, 0 },
		{ " 1", 0, 0, 0 },
		{ "-1", 0, 0, 0 },
		{ "+1", 0, 0, 0 },
	};
	const char	*s, *why;
	uint64_t	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		s = t[i].in;
		why = NULL;
		v = 42;
		if (!t[i].ok) {
			if (conf_number(&s, &v, &why) != -1)
				fail_msg("'%s' accepted", t[i].in);
			assert_non_null(why);
			assert_ptr_equal(s, t[i].in);
			assert_int_equal(v, 42);
		} else {
			if (conf_number(&s, &v, &why) != 0)
				fail_msg("'%s' refused: %s", t[i].in, why);
			assert_int_equal(v, t[i].v);
			assert_ptr_equal(s, t[i].in + t[i].used);
		}
	}
	s = "18446744073709551616";
	assert_int_equal(conf_number(&s, &v, &why), -1);
	assert_string_equal(why, "number too large");
	s = "x";
	assert_int_equal(conf_number(&s, &v, &why), -1);
	assert_string_equal(why, "expected a number");
}

static void
test_parse_bool(void **state)
{
	static const char *const yes[] = {
		"yes", "true", "on", "1", "YES", "True", "oN"
	};
	static const char *const no[] = {
		"no", "false", "off", "0", "NO", "False", "OFF"
	};
	static const char *const bad[] = {
		"", "y", "n", "yess", "2", "01", " yes", "yes ", "enabled"
	};
	size_t	i;

	(void)state;
	for (i = 0; i < nitems(yes); i++)
		assert_int_equal(conf_parse_bool(yes[i]), 1);
	for (i = 0; i < nitems(no); i++)
		assert_int_equal(conf_parse_bool(no[i]), 0);
	for (i = 0; i < nitems(bad); i++) {
		if (conf_parse_bool(bad[i]) != -1)
			fail_msg("'%s' accepted", bad[i]);
	}
}

static void
test_parse_duration(void **state)
{
	static const struct {
		const char	*in;
		int64_t		 us;		/* -1: refused */
	} t[] = {
		{ "0", 0 },
		{ "30", 30 * US_S },
		{ "30s", 30 * US_S },
		{ "500ms", 500000 },
		{ "250us", 250 },
		{ "10m", 10 * US_M },
		{ "1h", US_H },
		{ "1d", US_D },
		{ "1w", US_W },
		{ "007s", 7 * US_S },
		{ "9223372036854775807us", INT64_MAX },
		{ "9223372036854775808us", -1 },
		{ "15250284w", 15250284 * US_W },
		{ "15250285w", -1 },
		{ "99999999999999w", -1 },
		{ "99999999999999999999999999", -1 },
		{ "", -1 },
		{ "s", -1 },
		{ "-1s", -1 },
		{ "+1s", -1 },
		{ "1 s", -1 },
		{ "1H", -1 },
		{ "1x", -1 },
		{ "1hh", -1 },
		{ "1.5h", -1 },
		{ "1h30m", -1 },
		{ "0x10", -1 },
	};
	const char	*why;
	int64_t		 us;
	size_t		 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		why = NULL;
		us = -42;
		if (t[i].us == -1) {
			if (conf_parse_duration(t[i].in, &us, &why) != -1)
				fail_msg("'%s' accepted", t[i].in);
			assert_non_null(why);
			assert_int_equal(us, -42);
		} else {
			if (conf_parse_duration(t[i].in, &us, &why) != 0)
				fail_msg("'%s' refused: %s", t[i].in, why);
			assert_int_equal(us, t[i].us);
		}
	}
	assert_int_equal(conf_parse_duration("1x", &us, &why), -1);
	assert_non_null(strstr(why, "unknown unit"));
	assert_int_equal(conf_parse_duration("99999999999999w", &us, &why),
	    -1);
	assert_non_null(strstr(why, "too long"));
}

static void
test_parse_size(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		uint64_t	 bytes;
	} t[] = {
		{ "0", 1, 0 },
		{ "512", 1, 512 },
		{ "10k", 1, 10240 },
		{ "10K", 1, 10240 },
		{ "1M", 1, 1048576 },
		{ "1m", 1, 1048576 },
		{ "2G", 1, 2147483648ULL },
		{ "1T", 1, 1099511627776ULL },
		{ "18446744073709551615", 1, UINT64_MAX },
		{ "16777215T", 1, 16777215ULL << 40 },
		{ "18446744073709551616", 0, 0 },
		{ "16777216T", 0, 0 },
		{ "99999999999999999999k", 0, 0 },
		{ "", 0, 0 },
		{ "k", 0, 0 },
		{ "10kb", 0, 0 },
		{ "10 k", 0, 0 },
		{ "10x", 0, 0 },
		{ "-1", 0, 0 },
	};
	const char	*why;
	uint64_t	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		why = NULL;
		v = 42;
		if (!t[i].ok) {
			if (conf_parse_size(t[i].in, &v, &why) != -1)
				fail_msg("'%s' accepted", t[i].in);
			assert_non_null(why);
			assert_int_equal(v, 42);
		} else {
			if (conf_parse_size(t[i].in, &v, &why) != 0)
				fail_msg("'%s' refused: %s", t[i].in, why);
			assert_int_equal(v, t[i].bytes);
		}
	}
}

static void
test_parse_rate(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		uint32_t	 count;
		int64_t		 window;
	} t[] = {
		{ "120/1h", 1, 120, US_H },
		{ "60/10m", 1, 60, 10 * US_M },
		{ "3000/1h", 1, 3000, US_H },
		{ "5/s", 1, 5, US_S },
		{ "5/h", 1, 5, US_H },
		{ "5 / 1h", 1, 5, US_H },
		{ "5/3600", 1, 5, US_H },
		{ "1/1w", 1, 1, US_W },
		{ "4294967295/1h", 1, UINT32_MAX, US_H },
		{ "0", 1, 0, 0 },
		{ "none", 1, 0, 0 },
		{ "0/1h", 1, 0, 0 },
		{ "4294967296/1h", 0, 0, 0 },
		{ "99999999999999999999999/1h", 0, 0, 0 },
		{ "1/99999999999999w", 0, 0, 0 },
		{ "5/500ms", 0, 0, 0 },
		{ "5/ms", 0, 0, 0 },
		{ "5/2w", 0, 0, 0 },
		{ "5/0", 0, 0, 0 },
		{ "5", 0, 0, 0 },
		{ "5/", 0, 0, 0 },
		{ "/1h", 0, 0, 0 },
		{ "5/1x", 0, 0, 0 },
		{ "5/1h/2", 0, 0, 0 },
		{ "", 0, 0, 0 },
		{ "unlimited", 0, 0, 0 },
	};
	struct conf_rate	 r;
	const char		*why;
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		why = NULL;
		r.count = 42;
		r.window = 42;
		if (!t[i].ok) {
			if (conf_parse_rate(t[i].in, &r, &why) != -1)
				fail_msg("'%s' accepted", t[i].in);
			assert_non_null(why);
			assert_int_equal(r.count, 42);
		} else {
			if (conf_parse_rate(t[i].in, &r, &why) != 0)
				fail_msg("'%s' refused: %s", t[i].in, why);
			assert_int_equal(r.count, t[i].count);
			assert_int_equal(r.window, t[i].window);
		}
	}
}

static void
test_parse_karma(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		uint64_t	 rate, burst;
	} t[] = {
		{ "10k/s burst 256k", 1, 10240, 262144 },
		{ "50k/s burst 1M", 1, 51200, 1048576 },
		{ "10k/1s burst 10k", 1, 10240, 10240 },
		{ "100/s \t burst  100", 1, 100, 100 },
		{ "off", 1, 0, 0 },
		{ "0", 1, 0, 0 },
		{ "10k/s", 0, 0, 0 },
		{ "10k/s burst", 0, 0, 0 },
		{ "10k/s burst 1k", 0, 0, 0 },
		{ "0/s burst 1k", 0, 0, 0 },
		{ "10k/m burst 1M", 0, 0, 0 },
		{ "10k/s burstx 256k", 0, 0, 0 },
		{ "10k/sburst 256k", 0, 0, 0 },
		{ "10k/s burst 256k x", 0, 0, 0 },
		{ "10q/s burst 1k", 0, 0, 0 },
		{ "99999999999999999999k/s burst 1k", 0, 0, 0 },
		{ "1k/s burst 99999999999999999999k", 0, 0, 0 },
		{ "", 0, 0, 0 },
		{ "none", 0, 0, 0 },
	};
	struct conf_karma	 k;
	const char		*why;
	size_t			 i;

	(void)state;
	for (i = 0; i < nitems(t); i++) {
		why = NULL;
		k.rate = 42;
		k.burst = 42;
		if (!t[i].ok) {
			if (conf_parse_karma(t[i].in, &k, &why) != -1)
				fail_msg("'%s' accepted", t[i].in);
			assert_non_null(why);
			assert_int_equal(k.rate, 42);
		} else {
			if (conf_parse_karma(t[i].in, &k, &why) != 0)
				fail_msg("'%s' refused: %s", t[i].in, why);
			assert_int_equal(k.rate, t[i].rate);
			assert_int_equal(k.burst, t[i].burst);
		}
	}
	assert_int_equal(conf_parse_karma("10k/s burst 1k", &k, &why), -1);
	assert_non_null(strstr(why, "at least the rate"));
}

static void
test_fmt(void **state)
{
	static const int64_t durs[] = {
		0, 1, 999, 1000, 1500, 500000, US_S, 90 * US_S, 10 * US_M,
		US_H, 36 * US_H, US_D, 2 * US_D, US_W, 3 * US_W + US_S,
		INT64_MAX
	};
	static const uint64_t sizes[] = {
		0, 1, 1000, 1023, 1024, 1536, 10240, 1 << 20, 3ULL << 30,
		5ULL << 40, UINT64_MAX
	};
	char		 buf[32];
	const char	*why;
	int64_t		 us;
	uint64_t	 b;
	size_t		 i;

	(void)state;
	assert_string_equal(conf_fmt_duration(0, buf, sizeof(buf)), "0");
	assert_string_equal(conf_fmt_duration(90 * US_S, buf, sizeof(buf)),
	    "90s");
	assert_string_equal(conf_fmt_duration(US_H, buf, sizeof(buf)), "1h");
	assert_string_equal(conf_fmt_duration(120 * US_M, buf, sizeof(buf)),
	    "2h");
	assert_string_equal(conf_fmt_duration(14 * US_D, buf, sizeof(buf)),
	    "2w");
	assert_string_equal(conf_fmt_duration(500000, buf, sizeof(buf)),
	    "500ms");
	assert_string_equal(conf_fmt_duration(1500, buf, sizeof(buf)),
	    "1500us");
	assert_string_equal(conf_fmt_size(10240, buf, sizeof(buf)), "10k");
	assert_string_equal(conf_fmt_size(1 << 20, buf, sizeof(buf)), "1M");
	assert_string_equal(conf_fmt_size(1536, buf, sizeof(buf)), "1536");
	assert_string_equal(conf_fmt_size(0, buf, sizeof(buf)), "0");
	/* A short buffer is cut, never overrun. */
	assert_string_equal(conf_fmt_duration(INT64_MAX, buf, 4), "922");

	for (i = 0; i < nitems(durs); i++) {
		conf_fmt_duration(durs[i], buf, sizeof(buf));
		assert_int_equal(conf_parse_duration(buf, &us, &why), 0);
		assert_int_equal(us, durs[i]);
	}
	for (i = 0; i < nitems(sizes); i++) {
		conf_fmt_size(sizes[i], buf, sizeof(buf));
		assert_int_equal(conf_parse_size(buf, &b, &why), 0);
		assert_int_equal(b, sizes[i]);
	}
}


static void
test_fmt_rate_karma(void **state)
{
	static const char *const rates[] = {
		"120/1h", "5/1s", "60/10m", "7/1w", "4294967295/90s", "1/3601s",
		"none"
	};
	static const char *const karmas[] = {
		"10k/s burst 256k", "50k/s burst 1M", "100/s burst 1536",
		"1/s burst 16777215T", "off"
	};
	struct conf_rate	 r, r2;
	struct conf_karma	 k, k2;
	char			 buf[64];
	const char		*why;
	size_t			 i;

	(void)state;
	r.count = 120;
	r.window = US_H;
	assert_string_equal(conf_fmt_rate(&r, buf, sizeof(buf)), "120/1h");
	r.count = 0;
	assert_string_equal(conf_fmt_rate(&r, buf, sizeof(buf)), "none");
	k.rate = 10240;
	k.burst = 262144;
	assert_string_equal(conf_fmt_karma(&k, buf, sizeof(buf)),
	    "10k/s burst 256k");
	k.rate = 0;
	assert_string_equal(conf_fmt_karma(&k, buf, sizeof(buf)), "off");
	/* A short buffer is cut, never overrun. */
	k.rate = 1;
	k.burst = UINT64_MAX;
	assert_string_equal(conf_fmt_karma(&k, buf, 8), "1/s bur");

	/* Each canonical spelling prints as itself and parses back. */
	for (i = 0; i < nitems(rates); i++) {
		assert_int_equal(conf_parse_rate(rates[i], &r, &why), 0);
		assert_string_equal(conf_fmt_rate(&r, buf, sizeof(buf)),
		    rates[i]);
		assert_int_equal(conf_parse_rate(buf, &r2, &why), 0);
		assert_int_equal(r2.count, r.count);
		assert_int_equal(r2.window, r.window);
	}
	for (i = 0; i < nitems(karmas); i++) {
		assert_int_equal(conf_parse_karma(karmas[i], &k, &why), 0);
		assert_string_equal(conf_fmt_karma(&k, buf, sizeof(buf)),
		    karmas[i]);
		assert_int_equal(conf_parse_karma(buf, &k2, &why), 0);
		assert_int_equal(k2.rate, k.rate);
		assert_int_equal(k2.burst, k.burst);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_rate),
		cmocka_unit_test(test_parse_karma),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_fmt_rate_karma),
	};

	return cmocka_run_group_tests_name("conf_value", tests, NULL, NULL);
}
