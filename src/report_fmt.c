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

#include "clock.h"
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
	[REPORT_SORT_REFUSED] = "refused",
};

double
report_short_share(const struct report_counts *c)
{
	return c->conns == 0 ? 0.0 : (double)c->short_lived /
	    (double)c->conns;
}

/*
 * v for people: as it is under 1000, followed by one; else in thousands,
 * with units[0] ("k") to units[5] ("E").  From 999.95 on, a mantissa
 * would print as "1000": it goes up a unit instead.
 */
static char *
report_scaled(uint64_t v, const char *const units[6], const char *one,
    char *buf, size_t size)
{
	double	d = (double)v;
	int	u = -1;

	if (v < 1000) {
		snprintf(buf, size, "%" PRIu64 "%s", v, one);
		return buf;
	}
	while (d >= 999.95 && u < 5) {
		d /= 1000.0;
		u++;
	}
	snprintf(buf, size, d < 9.95 ? "%.1f%s" : "%.0f%s", d, units[u]);
	return buf;
}

char *
report_human(uint64_t v, char *buf, size_t size)
{
	static const char *const units[6] = { "k", "M", "G", "T", "P", "E" };

	return report_scaled(v, units, "", buf, size);
}

char *
report_human_bytes(uint64_t v, char *buf, size_t size)
{
	static const char *const units[6] = { " kB", " MB", " GB", " TB",
	    " PB", " EB" };

	return report_scaled(v, units, " B", buf, size);
}

char *
report_fmt_time(int64_t t, char *buf, size_t size)
{
	struct tm	tm;
	time_t		s = (time_t)(t / CLOCK_US_PER_SEC);

	if (t < 0 || gmtime_r(&s, &tm) == NULL)
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
	return buf;
}

char *
report_node_names(const struct report *r, uint32_t mask, char *buf,
    size_t size)
{
	size_t	off = 0;
	int	i, n;

	buf[0] = '\0';
	for (i = 0; i < r->nnodes && i < REPORT_NODES_MAX; i++) {
		if ((mask & (1U << i)) == 0)
			continue;
		n = snprintf(buf + off, size - off, "%s%s", off > 0 ? "," : "",
		    r->nodes[i]);
		if (n < 0 || (size_t)n >= size - off)
			break;	/* cut: the names are capped, the list too */
		off += (size_t)n;
	}
	return buf;
}
