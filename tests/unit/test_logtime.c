/*
 * logtime: the hand-written fast path must agree with strptime + mktime,
 * in UTC and across daylight saving changes in local time.
 */
#include "../../src/logtime.c"

#include "unit.h"

#define S	INT64_C(1000000)

static int64_t
slow(const char *fmt, int utc, const char *s, int64_t now)
{
	struct logtime	 lt;
	char		*cause = NULL;
	int64_t		 t;

	assert_int_equal(logtime_init(&lt, fmt, utc, &cause), 0);
	lt.nops = 0;		/* strptime only */
	t = logtime_parse(&lt, s, strlen(s), now);
	logtime_clear(&lt);
	return t;
}

static int64_t
fast(const char *fmt, int utc, const char *s, int64_t now, int want_fast)
{
	struct logtime	 lt;
	char		*cause = NULL;
	int64_t		 t;

	assert_int_equal(logtime_init(&lt, fmt, utc, &cause), 0);
	if (want_fast)
		assert_true(lt.nops > 0);
	t = logtime_parse(&lt, s, strlen(s), now);
	logtime_clear(&lt);
	return t;
}

static void
test_formats(void **state)
{
	static const struct {
		const char	*fmt, *s;
		int		 utc;
		int64_t		 want;	/* 0: only compare with strptime */
	} c[] = {
		{ "%Y-%m-%d %H:%M:%S", "2026-11-29 04:00:01", 1,
		    INT64_C(1795924801) * S },
		{ "%Y-%m-%d %H:%M:%S%f", "2026-11-29 04:00:01.250", 1,
		    INT64_C(1795924801) * S + 250000 },
		{ "%Y-%m-%d %H:%M:%S%f", "2026-11-29 04:00:01,000007", 1,
		    INT64_C(1795924801) * S + 7 },
		/* Below a microsecond: dropped. */
		{ "%Y-%m-%d %H:%M:%S%f", "2026-11-29 04:00:01.123456789", 1,
		    INT64_C(1795924801) * S + 123456 },
		{ "%Y-%m-%d %H:%M:%S%f", "2026-11-29 04:00:01.9", 1,
		    INT64_C(1795924801) * S + 900000 },
		{ "%F %T", "2026-11-29 04:00:01", 1, INT64_C(1795924801) * S },
		{ "%b %d %H:%M:%S", "Nov 29 04:00:01", 1, 0 },
		{ "%b %e %H:%M:%S", "Nov  9 04:00:01", 1, 0 },
		{ "%a %b %d %H:%M:%S %Y", "Sun Nov 29 04:00:01 2026", 1,
		    INT64_C(1795924801) * S },
		{ "%a %b %d %H:%M:%S %Y", "sunday NOVEMBER 29 04:00:01 2026",
		    1, INT64_C(1795924801) * S },
		{ "%d/%b/%Y:%H:%M:%S", "29/Nov/2026:04:00:01", 1,
		    INT64_C(1795924801) * S },
		{ "%Y.%m.%d %H:%M:%S", "2026.11.29 04:00:01", 0, 0 },
		{ "%Y-%m-%d %H:%M:%S", "2026-02-31 00:00:00", 1, 0 },
	};
	int64_t	now = INT64_C(1795924800) * S;
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int64_t	f = fast(c[i].fmt, c[i].utc, c[i].s, now, 1);

		assert_int_equal(f, slow(c[i].fmt, c[i].utc, c[i].s, now));
		if (c[i].want != 0)
			assert_int_equal(f, c[i].want);
	}
}

static void
test_rejects(void **state)
{
	static const char *const bad[] = {
		"2026-13-01 00:00:00", "2026-11-29 24:00:00", "2026-11-29",
		"x026-11-29 04:00:00", "2026-11-29 04:60:00", "",
	};
	int64_t	now = INT64_C(1795924800) * S;
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fast("%Y-%m-%d %H:%M:%S", 1, bad[i], now, 1),
		    -1);
	/* No month of that name. */
	assert_int_equal(fast("%b %d %H:%M:%S", 1, "Foo 29 04:00:00", now, 1),
	    -1);
}

/* A year-less time more than a day ahead is last year's. */
static void
test_no_year(void **state)
{
	int64_t	jan1 = INT64_C(1798761600) * S;	/* 2027-01-01 00:00 UTC */

	(void)state;
	assert_int_equal(fast("%b %d %H:%M:%S", 1, "Dec 31 23:59:59", jan1,
	    1), jan1 - S);
	assert_int_equal(fast("%b %d %H:%M:%S", 1, "Jan 01 00:00:05", jan1,
	    1), jan1 + 5 * S);
}

/* Every half hour over two years, in zones with DST, both ways. */
static void
test_local_round_trip(void **state)
{
	static const char *const zones[] = {
		"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
		"Asia/Kolkata", "UTC",
	};
	struct logtime	 lt;
	struct tm	 tm;
	char		 buf[64], *cause = NULL;
	time_t		 t, t0 = 1767225600;	/* 2026-01-01 UTC */
	size_t		 z;
	int64_t		 got;

	(void)state;
	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		assert_int_equal(logtime_init(&lt, "%Y-%m-%d %H:%M:%S", 0,
		    &cause), 0);
		for (t = t0; t < t0 + 2 * 365 * 86400; t += 1800 + 7) {
			localtime_r(&t, &tm);
			strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
			got = logtime_parse(&lt, buf, strlen(buf), 0);
			/* The repeated hour at a DST end is ambiguous: the
			 * text names two instants; accept either, as mktime
			 * does. */
			if (got != (int64_t)t * S)
				assert_int_equal(got, slow("%Y-%m-%d %H:%M:%S",
				    0, buf, 0));
		}
		logtime_clear(&lt);
	}
	unsetenv("TZ");
	tzset();
}

static void
test_errors(void **state)
{
	struct logtime	 lt;
	char		*cause = NULL;

	(void)state;
	assert_int_equal(logtime_init(&lt, "%f %f", 1, &cause), -1);
	assert_string_equal(cause, "more than one %f");
	free(cause);
	/* A closing %z has the fast path; %j has none but still works. */
	assert_int_equal(logtime_init(&lt, "%Y-%m-%dT%H:%M:%S%f%z", 1,
	    &cause), 0);
	assert_true(lt.nops > 0);
	assert_int_equal(logtime_parse(&lt, "2026-11-29T05:00:01.5+0100",
	    26, 0), INT64_C(1795924801) * S + 500000);
	logtime_clear(&lt);
	assert_int_equal(logtime_init(&lt, "%Y %j %H:%M:%S", 1, &cause), 0);
	assert_int_equal(lt.nops, 0);
	assert_int_equal(logtime_parse(&lt, "2026 333 04:00:01", 17, 0),
	    INT64_C(1795924801) * S);
	logtime_clear(&lt);
}

/*
 * A closing %z: the line's offset when it has one (ejabberd 20.x
 * "+00:00"), the filter's zone when it has none (17.x), in the fast path
 * and through strptime alike.
 */
static void
test_offset(void **state)
{
	static const struct {
		const char	*s;
		int64_t		 want;	/* -1: local time, see below */
	} c[] = {
		{ "2026-11-29 04:00:01.326435+00:00",
		    INT64_C(1795924801) * S + 326435 },
		{ "2026-11-29 05:00:01.326435+01:00",
		    INT64_C(1795924801) * S + 326435 },
		{ "2026-11-29 05:00:01+0100", INT64_C(1795924801) * S },
		{ "2026-11-28 22:30:01-0530", INT64_C(1795924801) * S },
		{ "2026-11-29 06:00:01+02", INT64_C(1795924801) * S },
		{ "2026-11-29 04:00:01.5Z", INT64_C(1795924801) * S + 500000 },
		{ "2026-11-29 04:00:01.250", -1 },
		{ "2026-11-29 04:00:01", -1 },
		{ "2026-11-29 04:00:01+99:00", -1 },	/* no offset */
	};
	static const char *const fmt = "%Y-%m-%d %H:%M:%S%f%z";
	struct logtime	 lt;
	char		*cause = NULL;
	int64_t		 want, local, now = INT64_C(1795924800) * S;
	size_t		 i;

	(void)state;
	setenv("TZ", "Europe/Berlin", 1);	/* UTC+1 in November */
	tzset();
	local = (INT64_C(1795924801) - 3600) * S;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		want = c[i].want;
		if (want == -1)
			want = local + (strstr(c[i].s, ".250") ? 250000 : 0);
		assert_int_equal(fast(fmt, 0, c[i].s, now, 1), want);
		assert_int_equal(slow(fmt, 0, c[i].s, now), want);
		/* timezone = utc: only lines without an offset change. */
		if (c[i].want != -1)
			assert_int_equal(fast(fmt, 1, c[i].s, now, 1), want);
	}
	/* The one-second cache: same text up to the fraction, another
	 * offset (an hour repeated at a DST end) is another instant. */
	assert_int_equal(logtime_init(&lt, fmt, 0, &cause), 0);
	assert_int_equal(logtime_parse(&lt, "2026-10-25 02:30:00.1+02:00",
	    27, now), INT64_C(1792888200) * S + 100000);
	assert_int_equal(logtime_parse(&lt, "2026-10-25 02:30:00.2+02:00",
	    27, now), INT64_C(1792888200) * S + 200000);
	assert_int_equal(logtime_parse(&lt, "2026-10-25 02:30:00.3+01:00",
	    27, now), INT64_C(1792891800) * S + 300000);
	logtime_clear(&lt);
	/* "%%z" is a literal "%z", not an offset. */
	assert_int_equal(logtime_init(&lt, "%H:%M:%S %%z", 1, &cause), 0);
	assert_int_equal(lt.tz_opt, 0);
	logtime_clear(&lt);
	unsetenv("TZ");
	tzset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_no_year),
		cmocka_unit_test(test_local_round_trip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
