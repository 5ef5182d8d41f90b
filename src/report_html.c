/*
 * The report as one self-contained HTML file: inline CSS, inline SVG
 * charts (new connections and bans over time with the verdicts and bans
 * marked, and for --ip a bar per connection: report_chart.c; the top
 * offenders here), and the tables of the text report.  No script, no
 * external resource; a Content-Security-Policy forbids both, so even a
 * mistake in escaping could not run anything.
 *
 * Every string from the store (addresses, services, rules, reasons, users)
 * is written through report_html_text(), which escapes the five HTML
 * specials and turns control bytes into '?': reasons and users come from
 * logs and operators, and an address column holds whatever was stored.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report_int.h"

#define REPORT_HTML_W		960	/* chart width, px */
#define REPORT_HTML_TOP		"#ff7f0e"

void
report_html_text(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

/* Horizontal bars: the top list by score. */
static void
report_html_top_chart(FILE *f, const struct report *r)
{
	double	 max = 0.0;
	int	 i, n = r->ntops < 20 ? r->ntops : 20, w, left = 300;

	for (i = 0; i < n; i++)
		if (r->tops[i].score > max)
			max = r->tops[i].score;
	fprintf(f, "<h2>Top offenders (score)</h2>\n<svg id=\"chart-top\" "
	    "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	    "role=\"img\">\n", REPORT_HTML_W, n * 22 + 8);
	for (i = 0; i < n; i++) {
		w = max > 0.0 ? (int)(r->tops[i].score / max *
		    (REPORT_HTML_W - left - 80)) : 0;
		if (w < 2)
			w = 2;
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
		    left - 6, i * 22 + 17);
		report_html_text(f, r->tops[i].addr);
		fprintf(f, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" "
		    "height=\"18\" fill=\"%s\"><title>", left, i * 22 + 4, w,
		    REPORT_HTML_TOP);
		report_html_text(f, r->tops[i].addr);
		fprintf(f, "</title></rect><text x=\"%d\" y=\"%d\">%.0f</text>"
		    "\n", left + w + 4, i * 22 + 17, r->tops[i].score);
	}
	fputs("</svg>\n", f);
}

/* A table: header cells from spec (blank-separated), and a last one,
 * "node", if node (a report of several stores). */
static void
report_html_thead(FILE *f, const char *title, const char *cols, int node)
{
	const char	*p;

	fputs("<h2>", f);
	report_html_text(f, title);
	fputs("</h2>\n<table>\n<tr><th>", f);
	for (p = cols; *p != '\0'; p++) {
		if (*p == ' ')
			fputs("</th><th>", f);
		else
			fputc(*p, f);
	}
	fputs(node ? "</th><th>node</th></tr>\n" : "</th></tr>\n", f);
}

static void
report_html_td(FILE *f, const char *s)
{
	fputs("<td>", f);
	report_html_text(f, s);
	fputs("</td>", f);
}

/* The node cell, with several stores: the nodes of mask, or name. */
static void
report_html_node(FILE *f, const struct report *r, uint32_t mask,
    const char *name)
{
	char	b[REPORT_NODES_MAX * REPORT_NODE_MAX];

	if (r->nnodes > 1)
		report_html_td(f, name != NULL ? name :
		    report_node_names(r, mask, b, sizeof(b)));
}

static void
report_html_num(FILE *f, uint64_t v)
{
	char	b[16];

	fprintf(f, "<td class=\"n\" title=\"%" PRIu64 "\">%s</td>", v,
	    report_human(v, b, sizeof(b)));
}

static void
report_html_bytes(FILE *f, uint64_t v)
{
	char	b[16];

	fprintf(f, "<td class=\"n\" title=\"%" PRIu64 "\">%s</td>", v,
	    report_human_bytes(v, b, sizeof(b)));
}

static void
report_html_bans(FILE *f, const struct report *r)
{
	char	t[24];
	int	i;

	report_html_thead(f, "Bans", "since address rule until reason",
	    r->nnodes > 1);
	for (i = 0; i < r->nbans; i++) {
		const struct report_ban *b = &r->bans[i];

		fputs("<tr>", f);
		report_html_td(f, report_fmt_time(b->since, t, sizeof(t)));
		fputs("<td>", f);
		report_html_text(f, b->addr);
		fprintf(f, "/%d</td>", b->prefixlen);
		report_html_td(f, b->rule);
		report_html_td(f, b->lifted != 0 ? report_fmt_time(b->lifted,
		    t, sizeof(t)) : b->expires != 0 ? report_fmt_time(
		    b->expires, t, sizeof(t)) : "lifted");
		report_html_td(f, b->reason);
		report_html_node(f, r, 0, b->node);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void
report_html_overview(FILE *f, const struct report *r)
{
	const struct report_addr	*a;
	char				 t[96];
	int				 i;

	report_html_top_chart(f, r);
	report_html_thead(f, "Services", "service addresses new short-lived "
	    "half-open in out peak auth register verdicts refused",
	    r->nnodes > 1);
	for (i = 0; i < r->nservices; i++) {
		const struct report_service *s = &r->services[i];

		fputs("<tr>", f);
		report_html_td(f, s->name);
		report_html_num(f, s->addresses);
		report_html_num(f, s->c.conns);
		report_html_num(f, s->c.short_lived);
		report_html_num(f, s->c.halfopen);
		report_html_bytes(f, s->c.bytes_in);
		report_html_bytes(f, s->c.bytes_out);
		report_html_num(f, s->c.peak_live);
		report_html_num(f, s->c.auth_fail);
		report_html_num(f, s->c.registered);
		report_html_num(f, s->c.verdicts);
		report_html_num(f, s->c.refused);
		report_html_node(f, r, s->nodes, NULL);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);

	snprintf(t, sizeof(t), "Top addresses by %s",
	    report_sort_names[r->sort]);
	report_html_thead(f, t, "address score new peak short-lived in out "
	    "auth register verdicts bans refused closest&nbsp;limit",
	    r->nnodes > 1);
	for (i = 0; i < r->ntops; i++) {
		a = &r->tops[i];
		fputs("<tr>", f);
		report_html_td(f, a->addr);
		fprintf(f, "<td class=\"n\">%.0f</td>", a->score);
		report_html_num(f, a->c.conns);
		report_html_num(f, a->c.peak_live);
		fprintf(f, "<td class=\"n\">%.0f%%</td>",
		    report_short_share(&a->c) * 100.0);
		report_html_bytes(f, a->c.bytes_in);
		report_html_bytes(f, a->c.bytes_out);
		report_html_num(f, a->c.auth_fail);
		report_html_num(f, a->c.registered);
		report_html_num(f, a->c.verdicts);
		report_html_num(f, a->bans);
		report_html_num(f, a->c.refused);
		if (a->lim.name != NULL) {
			snprintf(t, sizeof(t), "%s %s %" PRIu64 "/%" PRIu64,
			    a->lim.service, a->lim.name, a->lim.observed,
			    a->lim.limit);
			report_html_td(f, t);
		} else
			report_html_td(f, "-");
		report_html_node(f, r, a->nodes, NULL);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);

	report_html_thead(f, "Near a limit (70% or more in one hour, not "
	    "banned)", "address service limit busiest&nbsp;hour limit share",
	    r->nnodes > 1);
	for (i = 0; i < r->nnear; i++) {
		a = &r->near[i];
		fputs("<tr>", f);
		report_html_td(f, a->addr);
		report_html_td(f, a->lim.service);
		report_html_td(f, a->lim.name);
		report_html_num(f, a->lim.observed);
		report_html_num(f, a->lim.limit);
		fprintf(f, "<td class=\"n\">%.0f%%</td>",
		    a->lim.share * 100.0);
		report_html_node(f, r, a->nodes, NULL);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	report_html_bans(f, r);
	report_html_thead(f, "Data lost", "lost what labels", 0);
	for (i = 0; i < r->nlosses; i++) {
		const char	*text = losses_text(r->losses[i].what);

		fputs("<tr>", f);
		report_html_num(f, r->losses[i].count);
		report_html_td(f, text != NULL ? text : r->losses[i].what);
		report_html_td(f, r->losses[i].labels);
		fputs("</tr>\n", f);
	}
	if (r->nlosses == 0)
		fputs("<tr><td colspan=\"3\">none</td></tr>\n", f);
	fputs("</table>\n", f);
}

static void
report_html_ip(FILE *f, const struct report *r)
{
	char	t[24];
	int	i;

	report_chart_ip(f, r);
	report_html_thead(f, "Hour by hour", "hour service new short-lived "
	    "peak in out auth register verdicts refused", r->nnodes > 1);
	for (i = 0; i < r->ntl; i++) {
		const struct report_tl *l = &r->tl[i];

		fputs("<tr>", f);
		report_html_td(f, report_fmt_time(l->hour, t, sizeof(t)));
		report_html_td(f, l->service);
		report_html_num(f, l->c.conns);
		report_html_num(f, l->c.short_lived);
		report_html_num(f, l->c.peak_live);
		report_html_bytes(f, l->c.bytes_in);
		report_html_bytes(f, l->c.bytes_out);
		report_html_num(f, l->c.auth_fail);
		report_html_num(f, l->c.registered);
		report_html_num(f, l->c.verdicts);
		report_html_num(f, l->c.refused);
		report_html_node(f, r, 0, l->node);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	report_html_thead(f, "Verdicts", "time prefix rule service observed "
	    "limit reason", r->nnodes > 1);
	for (i = 0; i < r->nverdicts; i++) {
		const struct report_verdict *v = &r->verdicts[i];

		fputs("<tr>", f);
		report_html_td(f, report_fmt_time(v->time, t, sizeof(t)));
		fputs("<td>", f);
		report_html_text(f, v->addr);
		fprintf(f, "/%d</td>", v->prefixlen);
		report_html_td(f, v->rule);
		report_html_td(f, v->service);
		report_html_num(f, v->observed);
		report_html_num(f, v->limit);
		report_html_td(f, v->reason);
		report_html_node(f, r, 0, v->node);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	report_html_bans(f, r);
	report_html_thead(f, "Newest log events", "time kind service source "
	    "origin user", r->nnodes > 1);
	for (i = 0; i < r->nevents; i++) {
		const struct report_event *e = &r->events[i];

		fputs("<tr>", f);
		report_html_td(f, report_fmt_time(e->time, t, sizeof(t)));
		report_html_td(f, e->kind);
		report_html_td(f, e->service);
		report_html_td(f, e->source);
		report_html_td(f, e->origin);
		report_html_td(f, e->user);
		report_html_node(f, r, 0, e->node);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

void
report_html(FILE *f, const struct report *r)
{
	char	from[24], to[24], a[16], b[16], c[16], d[16], e[16];
	char	nodes[REPORT_NODES_MAX * REPORT_NODE_MAX];

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src 'none'; style-src 'unsafe-inline'\">\n"
	    "<title>xmppguard report</title>\n<style>\n"
	    "body{font-family:sans-serif;margin:1.5em;color:#222}\n"
	    "table{border-collapse:collapse;margin-bottom:1em}\n"
	    "th,td{border-bottom:1px solid #ddd;padding:2px 8px;"
	    "text-align:left;white-space:nowrap}\n"
	    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	    "svg text{font-size:11px;fill:#444}\n"
	    "h2{font-size:1.1em;margin-top:1.5em}\n"
	    "</style>\n</head>\n<body>\n<h1>xmppguard report", f);
	if (r->ip != NULL) {
		fputs(" for ", f);
		report_html_text(f, r->ipn);
	}
	fprintf(f, "</h1>\n<p>%s to %s UTC", report_fmt_time(r->from, from,
	    sizeof(from)), report_fmt_time(r->now, to, sizeof(to)));
	if (r->service != NULL) {
		fputs(", service ", f);
		report_html_text(f, r->service);
	}
	fprintf(f, ".</p>\n<p>%s new connections (%s short-lived), %s "
	    "half-open, %s in, %s out; %" PRIu64 " failed logins, %" PRIu64
	    " registrations, %" PRIu64 " verdicts, %" PRIu64 " bans, %" PRIu64
	    " refused by cap",
	    report_human(r->total.conns, a, sizeof(a)),
	    report_human(r->total.short_lived, b, sizeof(b)),
	    report_human(r->total.halfopen, c, sizeof(c)),
	    report_human_bytes(r->total.bytes_in, d, sizeof(d)),
	    report_human_bytes(r->total.bytes_out, e, sizeof(e)),
	    r->total.auth_fail, r->total.registered, r->nverdicts_total,
	    r->nbans_total, r->total.refused);
	if (r->ip == NULL)
		fprintf(f, "; %" PRIu64 " addresses", r->addresses);
	fputs(".</p>\n", f);
	if (r->nnodes > 1) {
		fprintf(f, "<p>%d nodes: ", r->nnodes);
		report_html_text(f, report_node_names(r, UINT32_MAX, nodes,
		    sizeof(nodes)));
		fputs(".</p>\n", f);
	}
	report_chart_time(f, r, 0);
	report_chart_time(f, r, 1);
	if (r->ip == NULL)
		report_html_overview(f, r);
	else
		report_html_ip(f, r);
	fputs("</body>\n</html>\n", f);
}
