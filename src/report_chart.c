/*
 * The HTML report's time pictures, inline SVG (no script, no external
 * resource): the charts of new connections and of bans over r->bins, with
 * every verdict (an orange dot above the plot) and ban (a red line across
 * it) marked at its time; and for --ip, the address's timeline: one bar
 * per connection from open to close, its shade the bytes it carried
 * (darker: more, on a log scale), under a lane of failed logins, verdicts
 * and bans on the same time axis.
 *
 * What is drawn is bounded by what report_span.c loaded (REPORT_BINS_MAX
 * bins, REPORT_MARKS_MAX marks, REPORT_CONNS_MAX bars), and whatever is
 * left out is said under the picture.  Every string from the store goes
 * through report_html_text().  Element classes (bin, verdict, ban, conn,
 * auth-fail) name what each shape is, for the tests and for a reader of
 * the source.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report_int.h"

#define REPORT_CHART_W		960	/* width, px */
#define REPORT_CHART_H		180	/* time chart plot height, px */
#define REPORT_CHART_LEFT	60	/* room for the axis labels */
#define REPORT_CHART_TOP	16	/* the marks' lane above the plot */
#define REPORT_CHART_ROW	6	/* --ip: px per connection */
#define REPORT_CHART_CONNS	"#1f77b4"
#define REPORT_CHART_BANS	"#d62728"
#define REPORT_CHART_VERDICT	"#e0a000"	/* not the top chart's orange */

/* Where t falls between t0 and t1, in px from the plot's left edge. */
static int
report_chart_x(int64_t t, int64_t t0, int64_t t1)
{
	double	w = REPORT_CHART_W - REPORT_CHART_LEFT;

	if (t < t0)
		t = t0;
	if (t > t1)
		t = t1;
	return REPORT_CHART_LEFT + (int)((double)(t - t0) / (double)(t1 -
	    t0) * w);
}

/* "5 minutes", "hour", "6 hours", "2 days": a bin's width for a title. */
static const char *
report_chart_step(int64_t step, char *buf, size_t size)
{
	if (step == REPORT_MIN_US)
		return "minute";
	if (step == REPORT_HOUR_US)
		return "hour";
	if (step == 24 * REPORT_HOUR_US)
		return "day";
	if (step < REPORT_HOUR_US)
		snprintf(buf, size, "%" PRId64 " minutes", (int64_t)(step /
		    REPORT_MIN_US));
	else if (step < 24 * REPORT_HOUR_US)
		snprintf(buf, size, "%" PRId64 " hours", (int64_t)(step /
		    REPORT_HOUR_US));
	else
		snprintf(buf, size, "%" PRId64 " days", (int64_t)(step /
		    (24 * REPORT_HOUR_US)));
	return buf;
}

/* A mark's hover text: "churn ban 203.0.113.0/24 at 2026-11-29 07:00". */
static void
report_chart_mark_title(FILE *f, const struct report_mark *m)
{
	char	t[24];

	fputs("<title>", f);
	report_html_text(f, m->rule);
	fprintf(f, " %s ", m->ban ? "ban" : "verdict");
	report_html_text(f, m->addr);
	fprintf(f, "/%d at %s</title>", m->prefixlen, report_fmt_time(m->time,
	    t, sizeof(t)));
}

/* The verdicts and bans on a plot from y0 to y1, over [t0, t1]. */
static void
report_chart_marks(FILE *f, const struct report *r, int64_t t0, int64_t t1,
    int y0, int y1)
{
	const struct report_mark	*m;
	int				 i, x;

	for (i = 0; i < r->nmarks; i++) {
		m = &r->marks[i];
		x = report_chart_x(m->time, t0, t1);
		if (m->ban)
			fprintf(f, "<line class=\"ban\" x1=\"%d\" y1=\"%d\" "
			    "x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
			    "stroke-width=\"1.5\">", x, y0 - 12, x, y1,
			    REPORT_CHART_BANS);
		else
			fprintf(f, "<circle class=\"verdict\" cx=\"%d\" "
			    "cy=\"%d\" r=\"4\" fill=\"%s\">", x, y0 - 8,
			    REPORT_CHART_VERDICT);
		report_chart_mark_title(f, m);
		fputs(m->ban ? "</line>\n" : "</circle>\n", f);
	}
}

/* The time axis under a plot whose bottom is y: its two ends. */
static void
report_chart_axis(FILE *f, int64_t t0, int64_t t1, int y)
{
	char	a[24], b[24];

	fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n"
	    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n",
	    REPORT_CHART_LEFT, y + 16, report_fmt_time(t0, a, sizeof(a)),
	    REPORT_CHART_W, y + 16, report_fmt_time(t1, b, sizeof(b)));
}

void
report_chart_time(FILE *f, const struct report *r, int which)
{
	const struct report_bins	*b = &r->bins;
	const uint64_t			*v = which == 0 ? b->conns : b->bans;
	uint64_t			 max = 0;
	int64_t				 t1 = b->t0 + b->n * b->step;
	char				 s[24], t[24], hv[16];
	int				 i, x, w, h, y0 = REPORT_CHART_TOP;

	for (i = 0; i < b->n; i++)
		if (v[i] > max)
			max = v[i];
	fprintf(f, "<h2>%s per %s</h2>\n<svg id=\"%s\" class=\"time\" "
	    "data-bins=\"%d\" xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"%d\" height=\"%d\" role=\"img\">\n", which == 0 ?
	    "New connections" : "Bans", report_chart_step(b->step, s,
	    sizeof(s)), which == 0 ? "chart-conns" : "chart-bans", b->n,
	    REPORT_CHART_W, y0 + REPORT_CHART_H + 24);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
	    "fill=\"#f7f7f7\"/>\n", REPORT_CHART_LEFT, y0, REPORT_CHART_W -
	    REPORT_CHART_LEFT, REPORT_CHART_H);
	w = (REPORT_CHART_W - REPORT_CHART_LEFT) / (b->n > 0 ? b->n : 1);
	for (i = 0; i < b->n && max > 0; i++) {
		if (v[i] == 0)
			continue;
		h = (int)((double)v[i] / (double)max * (REPORT_CHART_H - 4));
		if (h < 2)
			h = 2;
		x = report_chart_x(b->t0 + i * b->step, b->t0, t1);
		fprintf(f, "<rect class=\"bin\" x=\"%d\" y=\"%d\" "
		    "width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s: %"
		    PRIu64 "</title></rect>\n", x, y0 + REPORT_CHART_H - h,
		    w > 2 ? w - 1 : w < 1 ? 1 : w, h, which == 0 ?
		    REPORT_CHART_CONNS : REPORT_CHART_BANS, report_fmt_time(
		    b->t0 + i * b->step, t, sizeof(t)), v[i]);
	}
	if (which == 0)
		report_chart_marks(f, r, b->t0, t1, y0, y0 + REPORT_CHART_H);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n"
	    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n",
	    REPORT_CHART_LEFT - 4, y0 + 12, report_human(max, hv,
	    sizeof(hv)), REPORT_CHART_LEFT - 4, y0 + REPORT_CHART_H);
	report_chart_axis(f, b->t0, t1, y0 + REPORT_CHART_H);
	fputs("</svg>\n", f);
	if (which == 0 && r->nmarks_total > (uint64_t)r->nmarks)
		fprintf(f, "<p>The first %d of %" PRIu64 " verdicts and bans "
		    "are marked.</p>\n", r->nmarks, r->nmarks_total);
}

/* Bits in v: 0 for 0, 1 for 1, 11 for 1024 (a log scale in integers). */
static int
report_chart_bits(uint64_t v)
{
	return v == 0 ? 0 : 64 - __builtin_clzll(v);
}

/* The --ip timeline's span: what it draws, within the period. */
static void
report_chart_ip_span(const struct report *r, int64_t *t0, int64_t *t1)
{
	int	i;

	*t0 = INT64_MAX;
	*t1 = INT64_MIN;
#define SPAN(a, b) do {							\
	if ((a) < *t0)							\
		*t0 = (a);						\
	if ((b) > *t1)							\
		*t1 = (b);						\
} while (0)
	for (i = 0; i < r->nconns; i++)
		SPAN(r->conns[i].opened, r->conns[i].closed);
	for (i = 0; i < r->nmarks; i++)
		SPAN(r->marks[i].time, r->marks[i].time);
	for (i = 0; i < r->nevents; i++)
		if (strcmp(r->events[i].kind, "auth_fail") == 0)
			SPAN(r->events[i].time, r->events[i].time);
#undef SPAN
	if (*t0 < r->now - r->since)
		*t0 = r->now - r->since;
	if (*t1 > r->now)
		*t1 = r->now;
	if (*t1 <= *t0) {
		*t0 -= 30 * CLOCK_US_PER_SEC;
		*t1 = *t0 + 60 * CLOCK_US_PER_SEC;
	}
}

void
report_chart_ip(FILE *f, const struct report *r)
{
	const struct report_conn	*c;
	int64_t				 t0, t1, end;
	uint64_t			 maxb = 0;
	char				 a[24], b[24], hb[16];
	int				 i, x, x1, y, y0 = REPORT_CHART_TOP + 12;
	int				 h, nb, bits;

	fputs("<h2>Connections, failed logins, verdicts and bans</h2>\n", f);
	if (r->nconns == 0 && r->nmarks == 0 && r->nevents == 0) {
		fputs("<p>None in the period.</p>\n", f);
		return;
	}
	report_chart_ip_span(r, &t0, &t1);
	for (i = 0; i < r->nconns; i++)
		if (r->conns[i].bytes > maxb)
			maxb = r->conns[i].bytes;
	nb = report_chart_bits(maxb);
	/* Room for the bans' bands even without a connection to draw. */
	h = r->nconns > 2 ? r->nconns * REPORT_CHART_ROW : 3 * REPORT_CHART_ROW;
	fprintf(f, "<svg id=\"chart-ip\" class=\"time\" data-conns=\"%d\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	    "role=\"img\">\n", r->nconns, REPORT_CHART_W, y0 + h + 24);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
	    "fill=\"#f7f7f7\"/>\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\">"
	    "events</text>\n", REPORT_CHART_LEFT, y0, REPORT_CHART_W -
	    REPORT_CHART_LEFT, h, REPORT_CHART_LEFT - 4, y0 - 4);
	/* Bans first, as bands under the bars: the time they were in force
	 * within the picture. */
	for (i = 0; i < r->nmarks; i++) {
		if (!r->marks[i].ban)
			continue;
		end = r->marks[i].until != 0 ? r->marks[i].until : t1;
		x = report_chart_x(r->marks[i].time, t0, t1);
		x1 = report_chart_x(end, t0, t1);
		fprintf(f, "<rect class=\"ban-span\" x=\"%d\" y=\"%d\" "
		    "width=\"%d\" height=\"%d\" fill=\"%s\" "
		    "fill-opacity=\"0.12\"/>\n", x, y0, x1 > x ? x1 - x : 1,
		    h, REPORT_CHART_BANS);
	}
	/* Oldest at the top: the array is newest first. */
	for (i = 0; i < r->nconns; i++) {
		c = &r->conns[r->nconns - 1 - i];
		x = report_chart_x(c->opened, t0, t1);
		x1 = report_chart_x(c->closed, t0, t1);
		y = y0 + i * REPORT_CHART_ROW;
		bits = report_chart_bits(c->bytes);
		fprintf(f, "<rect class=\"conn\" x=\"%d\" y=\"%d\" "
		    "width=\"%d\" height=\"%d\" fill=\"%s\" "
		    "fill-opacity=\"%.2f\"><title>", x, y, x1 > x ? x1 - x : 1,
		    REPORT_CHART_ROW - 1, REPORT_CHART_CONNS, 0.2 + 0.8 *
		    (nb > 0 ? (double)bits / nb : 0.0));
		report_html_text(f, c->service);
		fprintf(f, " %s to %s, %s", report_fmt_time(c->opened, a,
		    sizeof(a)), report_fmt_time(c->closed, b, sizeof(b)),
		    report_human_bytes(c->bytes, hb, sizeof(hb)));
		if (r->nnodes > 1) {
			fputs(", ", f);
			report_html_text(f, c->node);
		}
		fputs("</title></rect>\n", f);
	}
	for (i = 0; i < r->nevents; i++) {
		if (strcmp(r->events[i].kind, "auth_fail") != 0)
			continue;
		x = report_chart_x(r->events[i].time, t0, t1);
		fprintf(f, "<rect class=\"auth-fail\" x=\"%d\" y=\"%d\" "
		    "width=\"2\" height=\"8\" fill=\"#9467bd\"><title>failed "
		    "login ", x, y0 - 22);
		report_html_text(f, r->events[i].user);
		fprintf(f, " at %s</title></rect>\n", report_fmt_time(
		    r->events[i].time, a, sizeof(a)));
	}
	report_chart_marks(f, r, t0, t1, y0, y0 + h);
	report_chart_axis(f, t0, t1, y0 + h);
	fputs("</svg>\n", f);
	if (r->nconns_total > (uint64_t)r->nconns)
		fprintf(f, "<p>The newest %d of its %" PRIu64 " connections "
		    "are drawn.</p>\n", r->nconns, r->nconns_total);
	if (r->nmarks_total > (uint64_t)r->nmarks)
		fprintf(f, "<p>The first %d of %" PRIu64 " verdicts and bans "
		    "are marked.</p>\n", r->nmarks, r->nmarks_total);
	fprintf(f, "<p>Connections as recorded when they ended, among the "
	    "store's newest %d rows of the period; failed logins among the "
	    "newest %d log events.</p>\n", REPORT_EVENTS_SCAN, r->top);
}
