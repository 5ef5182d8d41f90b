/*
 * What every part of the report spells the same way: the names of the sort
 * keys, the share of short-lived connections, counts and bytes for people
 * (1.2k, 3.4 MB) and times (UTC, to the minute).  The command (report.c)
 * and the writers (report_out.c, report_html.c) call in here; nothing here
 * calls them, so the report's files depend on each other one way only:
 * report.c -> report_out.c, report_html.c -> report_fmt.c.  Pure
 * functions on caller-owned buffers: no allocation, no state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "report_int.h"

const char *const report_sort_names[REPORT_SORT_MAX] = {
	[REPORT_SORT_SCORE] = "score",
	[REPORT_SORT_CONNS] = "conns",
	[REPORT_SORT_PEAK] = "peak",
	[REPORT_SORT_SHORT] = "short",
	[REPORT_SORT_BYTES] = "bytes",
	[REPORT_SORT_AUTH] = "auth",
	[REPORT_SORT_REGISTER] = "register",
	[REPORT_SORT_BANS] = "bans",
};

double
report_short_share(const struct report_counts *c)
{
	return c->conns == 0 ? 0.0 : (double)c->short_lived /
	    (double)c->conns;
}

char *
report_human(uint64_t v, char *buf, size_t size)
{
	static const char	 units[] = "kMGTPE";
	double			 d = (double)v;
	int			 u = -1;

	if (v < 1000) {
		snprintf(buf, size, "%" PRIu64, v);
		return buf;
	}
	while (d >= 999.95 && u < 5) {
		d /= 1000.0;
		u++;
	}
	snprintf(buf, size, d < 9.95 ? "%.1f%c" : "%.0f%c", d, units[u]);
	return buf;
}

char *
report_human_bytes(uint64_t v, char *buf, size_t size)
{
	static const char *const units[] = { "kB", "MB", "GB", "TB", "PB",
	    "EB" };
	double			 d = (double)v;
	int			 u = -1;

	if (v < 1000) {
		snprintf(buf, size, "%" PRIu64 " B", v);
		return buf;
	}
	while (d >= 999.95 && u < 5) {
		d /= 1000.0;
		u++;
	}
	snprintf(buf, size, d < 9.95 ? "%.1f %s" : "%.0f %s", d, units[u]);
	return buf;
}

char *
report_fmt_time(int64_t t, char *buf, size_t size)
{
	struct tm	tm;
	time_t		s = (time_t)(t / 1000000);

	if (t < 0 || gmtime_r(&s, &tm) == NULL)
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
	return buf;
}
