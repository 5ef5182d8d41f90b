/*
 * Log time stamps.
 *
 * Every matched log line carries a time stamp, and a filter reading a
 * million lines a second cannot afford strptime(3) plus mktime(3) on each
 * one (together about a microsecond with glibc, most of it in mktime's
 * time zone work).  So a format is compiled once: if it uses only the
 * numeric fields and English month and day names (%Y %m %d %e %H %M %S %b
 * %a %T %F, literal bytes, blanks) it is parsed here by hand, with the
 * same leniency as glibc's strptime (a blank in the format matches any run
 * of blanks, numbers may carry leading blanks, names are case-insensitive
 * and may be abbreviated); anything else goes through strptime.  The
 * result is turned into seconds by arithmetic in UTC, and in local time
 * through a one-entry cache of the hour's start (mktime once per hour of
 * log, since offsets change only on hour or half-hour boundaries, and a
 * half-hour change still falls on the cached hour's own start).
 *
 * strptime has no fractions, so "%f" splits the format: fractional
 * seconds (".123", ",123456") are read where it stands, and also right
 * after the whole format.  A %z that ends the format is read here too, and
 * may be missing: "Z", "+HH:MM", "+HHMM" or "+HH" after the seconds (and
 * their fraction) is the line's offset, and a line without one is read in
 * the filter's zone, so one format reads ejabberd 20.x lines, which carry
 * "+00:00", and 17.x lines, which carry nothing.  A %z elsewhere is
 * strptime's, and required.  A format without a year takes the year of
 * 'now', or the one before if that puts the time more than a day ahead
 * (a December line read in January).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "logtime.h"
#include "xmalloc.h"


static const char *const logtime_months[12] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"
};
static const char *const logtime_days[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday"
};

/* logtime_init() of a format without its closing %z. */
static int
logtime_compile(struct logtime *lt, const char *fmt, char **cause)
{
	const char	*c, *split = NULL, *add;
	size_t		 n = 0, k;
	int		 fast = 1;

	for (c = fmt; *c != '\0'; c++) {
		if (*c != '%') {
			if (n + 2 > sizeof(lt->ops))
				fast = 0;
			else
				lt->ops[n++] = isspace((unsigned char)*c) ?
				    ' ' : *c;
			continue;
		}
		if (c[1] == 'E' || c[1] == 'O') {
			fast = 0;
			c++;
		}
		if (c[1] == '\0')
			break;
		c++;
		if (strchr("YysFDCG", *c) != NULL)
			lt->has_year = 1;
		if (*c == 'z')
			lt->tz = 1;
		if (*c == 'f') {
			if (split != NULL) {
				*cause = xstrdup("more than one %f");
				return -1;
			}
			split = c - 1;
			continue;
		}
		switch (*c) {
		case 'T':
			add = "%H:%M:%S";
			break;
		case 'F':
			add = "%Y-%m-%d";
			break;
		case 'e':
			add = "%d";
			break;
		case 'h':
		case 'B':
			add = "%b";
			break;
		case 'A':
			add = "%a";
			break;
		case 'Y': case 'm': case 'd': case 'H': case 'M': case 'S':
		case 'b': case 'a': case '%':
			add = NULL;
			break;
		default:
			add = "";
			fast = 0;
			break;
		}
		if (add == NULL) {
			if (n + 3 > sizeof(lt->ops)) {
				fast = 0;
				continue;
			}
			lt->ops[n++] = '%';
			lt->ops[n++] = *c;
			continue;
		}
		k = strlen(add);
		if (n + k + 1 > sizeof(lt->ops))
			fast = 0;
		else {
			memcpy(lt->ops + n, add, k);
			n += k;
		}
	}
	/* The fast path handles %f only at the end of the format. */
	if (split != NULL && split[2] != '\0')
		fast = 0;
	if (split == NULL)
		lt->fmt = xstrdup(fmt);
	else {
		lt->fmt = xstrndup(fmt, (size_t)(split - fmt));
		if (split[2] != '\0')
			lt->fmt2 = xstrdup(split + 2);
	}
	lt->ops[n] = '\0';
	lt->nops = fast && !lt->tz ? n : 0;
	return 0;
}

int
logtime_init(struct logtime *lt, const char *fmt0, int utc, char **cause)
{
	char		*fmt;
	size_t		 len = strlen(fmt0), pct;
	int		 rc;

	memset(lt, 0, sizeof(*lt));
	lt->utc = utc;
	lt->hour_key = lt->today_key = lt->last_key = -1;
	/* A closing %z (not a literal "%%z") is read by logtime_offset(). */
	fmt = xstrdup(fmt0);
	for (pct = 0; len >= 1 + pct + 1 && fmt[len - 2 - pct] == '%'; pct++)
		;
	if (len >= 2 && fmt[len - 1] == 'z' && pct % 2 == 1) {
		fmt[len - 2] = '\0';
		lt->tz_opt = 1;
	}
	rc = logtime_compile(lt, fmt, cause);
	free(fmt);
	return rc;
}

void
logtime_clear(struct logtime *lt)
{
	free(lt->fmt);
	free(lt->fmt2);
	memset(lt, 0, sizeof(*lt));
}

/* Reads up to max digits after optional blanks; NULL if none. */
static const char *
logtime_num(const char *p, const char *end, int max, int *v)
{
	int	n = 0;

	while (p < end && *p == ' ')
		p++;
	for (*v = 0; p < end && n < max && isdigit((unsigned char)*p); p++) {
		*v = *v * 10 + (*p - '0');
		n++;
	}
	return n > 0 ? p : NULL;
}

/* Matches a name or its three-letter abbreviation; NULL if neither. */
static const char *
logtime_name(const char *p, const char *end, const char *const *names,
    int count, int *v)
{
	size_t	len, have = (size_t)(end - p);
	int	i;

	for (i = 0; i < count; i++) {
		len = strlen(names[i]);
		if (have >= len && strncasecmp(p, names[i], len) == 0) {
			*v = i;
			return p + len;
		}
		if (have >= 3 && strncasecmp(p, names[i], 3) == 0) {
			*v = i;
			return p + 3;
		}
	}
	return NULL;
}

/*
 * The fast path: fills tm's fields from s as the compiled ops say and
 * returns the end of what it read, or NULL.
 */
static const char *
logtime_fast(const struct logtime *lt, const char *p, const char *end,
    struct tm *tm)
{
	const char	*op;
	int		 v;

	for (op = lt->ops; *op != '\0'; op++) {
		if (*op == ' ') {
			while (p < end && isspace((unsigned char)*p))
				p++;
			continue;
		}
		if (*op != '%' || op[1] == '%') {
			if (*op == '%')
				op++;
			if (p == end || *p != *op)
				return NULL;
			p++;
			continue;
		}
		switch (*++op) {
		case 'Y':
			if ((p = logtime_num(p, end, 4, &v)) == NULL)
				return NULL;
			tm->tm_year = v - 1900;
			break;
		case 'm':
			if ((p = logtime_num(p, end, 2, &v)) == NULL ||
			    v < 1 || v > 12)
				return NULL;
			tm->tm_mon = v - 1;
			break;
		case 'd':
			if ((p = logtime_num(p, end, 2, &v)) == NULL ||
			    v < 1 || v > 31)
				return NULL;
			tm->tm_mday = v;
			break;
		case 'H':
			if ((p = logtime_num(p, end, 2, &v)) == NULL ||
			    v > 23)
				return NULL;
			tm->tm_hour = v;
			break;
		case 'M':
			if ((p = logtime_num(p, end, 2, &v)) == NULL ||
			    v > 59)
				return NULL;
			tm->tm_min = v;
			break;
		case 'S':
			if ((p = logtime_num(p, end, 2, &v)) == NULL ||
			    v > 61)
				return NULL;
			tm->tm_sec = v;
			break;
		case 'b':
			if ((p = logtime_name(p, end, logtime_months, 12,
			    &v)) == NULL)
				return NULL;
			tm->tm_mon = v;
			break;
		case 'a':
			if ((p = logtime_name(p, end, logtime_days, 7,
			    &v)) == NULL)
				return NULL;
			break;
		default:
			return NULL;
		}
	}
	return p;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static int64_t
logtime_days_from_civil(int64_t y, int m, int d)
{
	int64_t		era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Reads an offset at p: "Z", or a sign, two digits of hours and
 * optionally two of minutes, with or without a colon.  1 and *off (seconds
 * east of UTC) if there is one, else 0.
 */
static int
logtime_offset(const char *p, const char *end, long *off)
{
	int	h, m = 0, sign;

	if (p < end && *p == 'Z') {
		*off = 0;
		return 1;
	}
	if (end - p < 3 || (*p != '+' && *p != '-') ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
		return 0;
	sign = *p == '-' ? -1 : 1;
	h = (p[1] - '0') * 10 + (p[2] - '0');
	p += 3;
	if (p < end && *p == ':')
		p++;
	if (end - p >= 2 && isdigit((unsigned char)p[0]) &&
	    isdigit((unsigned char)p[1]))
		m = (p[0] - '0') * 10 + (p[1] - '0');
	if (h > 23 || m > 59)
		return 0;
	*off = sign * (h * 3600L + m * 60L);
	return 1;
}

/*
 * Seconds since the epoch of tm's fields, in UTC or local time, or at
 * the offset a closing %z read (has_off).
 */
static time_t
logtime_seconds(struct logtime *lt, struct tm *tm, int has_off, long loff)
{
	struct tm	hour;
	int64_t		key;
	long		off;
	time_t		t;

	if (has_off)
		return (time_t)(logtime_days_from_civil(tm->tm_year + 1900,
		    tm->tm_mon + 1, tm->tm_mday) * 86400 + tm->tm_hour * 3600 +
		    tm->tm_min * 60 + tm->tm_sec) - loff;
	if (lt->tz) {	/* the line's own offset */
		off = tm->tm_gmtoff;
		if ((t = timegm(tm)) == (time_t)-1)
			return t;
		return t - off;
	}
	if (lt->utc)
		return (time_t)(logtime_days_from_civil(tm->tm_year + 1900,
		    tm->tm_mon + 1, tm->tm_mday) * 86400 + tm->tm_hour * 3600 +
		    tm->tm_min * 60 + tm->tm_sec);
	key = (((int64_t)tm->tm_year * 16 + tm->tm_mon) * 32 + tm->tm_mday) *
	    32 + tm->tm_hour;
	if (key != lt->hour_key) {
		hour = *tm;
		hour.tm_min = hour.tm_sec = 0;
		hour.tm_isdst = -1;
		if ((t = mktime(&hour)) == (time_t)-1)
			return t;
		lt->hour_key = key;
		lt->hour_base = t;
	}
	return lt->hour_base + tm->tm_min * 60 + tm->tm_sec;
}

/* The date of now in the log's zone, cached per hour of now. */
static const struct tm *
logtime_today(struct logtime *lt, time_t nows)
{
	if (nows / 3600 != lt->today_key) {
		if (lt->utc)
			gmtime_r(&nows, &lt->today);
		else
			localtime_r(&nows, &lt->today);
		lt->today_key = nows / 3600;
	}
	return &lt->today;
}

/*
 * Moves past fractional seconds (".123", ",123456") and adds them in us.
 * The digits are summed first and scaled once: a division per digit was
 * 2% of test-filter's time on a log with six of them to every line.
 */
static const char *
logtime_frac(const char *p, const char *end, int64_t *frac)
{
	static const int64_t	scale[7] = {
		1000000, 100000, 10000, 1000, 100, 10, 1
	};
	int64_t			v = 0;
	int			n = 0;

	if (end - p < 2 || (*p != '.' && *p != ',') ||
	    !isdigit((unsigned char)p[1]))
		return p;
	for (p++; p < end && (unsigned char)(*p - '0') < 10; p++) {
		if (n < 6) {	/* below a microsecond: dropped */
			v = v * 10 + (*p - '0');
			n++;
		}
	}
	*frac += v * scale[n];
	return p;
}

int64_t
logtime_parse(struct logtime *lt, const char *s, size_t n, int64_t now)
{
	char		 buf[128];
	const char	*end;
	struct tm	 tm;
	const struct tm	*today;
	time_t		 t, nows = (time_t)(now / CLOCK_US_PER_SEC);
	int64_t		 frac = 0;
	size_t		 lastlen = 0;
	long		 off = 0;
	int		 has_off = 0;

	if (n >= sizeof(buf))
		return -1;
	/* Log lines come in bursts within one second: the same text as
	 * last time means the same second; only the fraction differs (and
	 * the offset must not). */
	if (lt->lastlen > 0 && n >= lt->lastlen &&
	    lt->last_key == nows / 3600 &&
	    memcmp(s, lt->last, lt->lastlen) == 0) {
		end = logtime_frac(s + lt->lastlen, s + n, &frac);
		if (lt->tz_opt)
			has_off = logtime_offset(end, s + n, &off);
		if (has_off == lt->last_has_off && off == lt->last_off)
			return (int64_t)lt->last_t * CLOCK_US_PER_SEC + frac;
		frac = 0;
		has_off = 0;
		off = 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (lt->nops > 0) {
		/* Fields the format lacks: the date of now. */
		if (!lt->has_year) {
			today = logtime_today(lt, nows);
			tm.tm_year = today->tm_year;
			tm.tm_mon = today->tm_mon;
			tm.tm_mday = today->tm_mday;
		} else
			tm.tm_mday = 1;
		if ((end = logtime_fast(lt, s, s + n, &tm)) == NULL)
			return -1;
		lt->lastlen = 0;
		if ((size_t)(end - s) <= sizeof(lt->last)) {
			memcpy(lt->last, s, (size_t)(end - s));
			lastlen = (size_t)(end - s);
		}
		end = logtime_frac(end, s + n, &frac);
		if (lt->tz_opt)
			has_off = logtime_offset(end, s + n, &off);
	} else {
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (lt->utc || lt->tz)
			gmtime_r(&nows, &tm);
		else
			localtime_r(&nows, &tm);
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_gmtoff = 0;
		if ((end = strptime(buf, lt->fmt, &tm)) == NULL)
			return -1;
		end = logtime_frac(end, buf + n, &frac);
		if (lt->fmt2 != NULL &&
		    (end = strptime(end, lt->fmt2, &tm)) == NULL)
			return -1;
		if (lt->tz_opt)
			has_off = logtime_offset(end, buf + n, &off);
	}
	t = logtime_seconds(lt, &tm, has_off, off);
	if (t != (time_t)-1 && !lt->has_year && t > nows + 86400) {
		tm.tm_year--;
		t = logtime_seconds(lt, &tm, has_off, off);
	}
	if (t == (time_t)-1)
		return -1;
	if (lastlen > 0) {
		lt->lastlen = lastlen;
		lt->last_key = nows / 3600;
		lt->last_t = t;
		lt->last_off = off;
		lt->last_has_off = has_off;
	}
	return (int64_t)t * CLOCK_US_PER_SEC + frac;
}
