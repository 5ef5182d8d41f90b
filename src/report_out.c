/*
 * The report as text: a table for a terminal, one JSON object, or CSV.
 *
 * The table computes each column's width from its cells (numbers right,
 * text left) and humanises counts (1.2k) and bytes (3.4 MB); control bytes
 * in stored text become '?', so a hostile reason cannot drive the terminal.
 * JSON strings go through json_string() (valid UTF-8 whatever the input).
 * CSV follows RFC 4180: CRLF line ends, a header row, fields holding a
 * comma, a quote, CR or LF quoted with inner quotes doubled; one table per
 * --section.  A report of several stores has one more column, or field,
 * last: the node (or nodes) that saw the row.  Nothing here allocates more than one table of at most
 * `top` rows (or the hours of the period).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "report_int.h"
#include "xmalloc.h"

#define REPORT_TAB_COLS		16
#define REPORT_TAB_WIDTH_MAX	60	/* text columns are cut there */

/*
 * A table for the terminal.
 */
struct report_tab {
	int		 ncols;
	const char	*hdr[REPORT_TAB_COLS];
	char		 align[REPORT_TAB_COLS];	/* 'l' or 'r' */
	char		**cells;
	int		 nrows, cap;
};

static void
report_tab_init(struct report_tab *t, const char *spec)
{
	char	*copy, *p, *tok;

	/* spec: "address:l score:r ..." (names are literals below). */
	memset(t, 0, sizeof(*t));
	copy = xstrdup(spec);
	for (p = copy; (tok = strsep(&p, " ")) != NULL &&
	    t->ncols < REPORT_TAB_COLS;) {
		t->align[t->ncols] = tok[strlen(tok) - 1];
		tok[strlen(tok) - 2] = '\0';
		t->hdr[t->ncols++] = xstrdup(tok);
	}
	free(copy);
}

/* The same, with a last column "node" for a report of several stores:
 * every row of such a table passes its node cell last, and a table of
 * one store ignores it. */
static void
report_tab_init_node(struct report_tab *t, const struct report *r,
    const char *spec)
{
	char	*s;

	if (r->nnodes <= 1) {
		report_tab_init(t, spec);
		return;
	}
	s = xasprintf("%s node:l", spec);
	report_tab_init(t, s);
	free(s);
}

/* The node cell of a row: the nodes of mask (in buf), or name. */
static const char *
report_node_cell(const struct report *r, uint32_t mask, const char *name,
    char *buf, size_t size)
{
	if (r->nnodes <= 1)
		return "";
	return name != NULL ? name : report_node_names(r, mask, buf, size);
}

/* Adds a row of ncols strings, copied with control bytes made '?'. */
static void
report_tab_row(struct report_tab *t, ...)
{
	va_list		 ap;
	const char	*s;
	char		*c, *q;
	int		 i;

	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 32 : t->cap * 2;
		t->cells = xreallocarray(t->cells, (size_t)t->cap * t->ncols,
		    sizeof(*t->cells));
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		s = va_arg(ap, const char *);
		c = xstrdup(s != NULL ? s : "");
		for (q = c; *q != '\0'; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = '?';
		t->cells[(size_t)t->nrows * t->ncols + i] = c;
	}
	va_end(ap);
	t->nrows++;
}

/* Display width: UTF-8 continuation bytes take no column. */
static int
report_tab_width(const char *s)
{
	int	w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
report_tab_print(FILE *f, struct report_tab *t, const char *title)
{
	int		 w[REPORT_TAB_COLS], i, j, cw, pad;
	const char	*s;

	fprintf(f, "\n%s\n", title);
	if (t->nrows == 0) {
		fprintf(f, "  (none)\n");
		goto done;
	}
	for (j = 0; j < t->ncols; j++) {
		w[j] = report_tab_width(t->hdr[j]);
		for (i = 0; i < t->nrows; i++) {
			cw = report_tab_width(t->cells[(size_t)i * t->ncols +
			    j]);
			if (cw > w[j])
				w[j] = cw;
		}
		if (w[j] > REPORT_TAB_WIDTH_MAX)
			w[j] = REPORT_TAB_WIDTH_MAX;
	}
	for (i = -1; i < t->nrows; i++) {
		fputs(" ", f);
		for (j = 0; j < t->ncols; j++) {
			s = i < 0 ? t->hdr[j] :
			    t->cells[(size_t)i * t->ncols + j];
			cw = report_tab_width(s);
			pad = cw < w[j] ? w[j] - cw : 0;
			fputc(' ', f);
			if (t->align[j] == 'r')
				fprintf(f, "%*s%s", pad, "", s);
			else if (j == t->ncols - 1)
				fputs(s, f);	/* no trailing blanks */
			else
				fprintf(f, "%s%*s", s, pad, "");
			if (j < t->ncols - 1)
				fputc(' ', f);
		}
		fputc('\n', f);
	}
done:
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	for (j = 0; j < t->ncols; j++)
		free((char *)(uintptr_t)t->hdr[j]);
}

static const char *
report_pct(double share, char *buf, size_t size)
{
	snprintf(buf, size, "%.0f%%", share * 100.0);
	return buf;
}

static void
report_table_counts(FILE *f, const struct report *r)
{
	char	a[16], b[16], c[16], d[16], e[16];

	fprintf(f, "  %s new connections (%s short-lived, %.0f%%), %s "
	    "half-open; %s in, %s out; most live at once %" PRIu64 "\n",
	    report_human(r->total.conns, a, sizeof(a)),
	    report_human(r->total.short_lived, b, sizeof(b)),
	    report_short_share(&r->total) * 100.0,
	    report_human(r->total.halfopen, c, sizeof(c)),
	    report_human_bytes(r->total.bytes_in, d, sizeof(d)),
	    report_human_bytes(r->total.bytes_out, e, sizeof(e)),
	    r->total.peak_live);
	fprintf(f, "  %" PRIu64 " failed logins, %" PRIu64 " registrations, "
	    "%" PRIu64 " verdicts, %" PRIu64 " bans, %" PRIu64 " refused by "
	    "cap\n", r->total.auth_fail, r->total.registered,
	    r->nverdicts_total, r->nbans_total, r->total.refused);
}

static void
report_table_bans(FILE *f, const struct report *r)
{
	struct report_tab	 t;
	char			 since[24], until[24], pfx[REPORT_ADDR_MAX + 8];
	int			 i;

	report_tab_init_node(&t, r, "since:l address:l rule:l until:l "
	    "reason:l");
	for (i = 0; i < r->nbans; i++) {
		snprintf(pfx, sizeof(pfx), "%s/%d", r->bans[i].addr,
		    r->bans[i].prefixlen);
		if (r->bans[i].lifted != 0)
			report_fmt_time(r->bans[i].lifted, until,
			    sizeof(until));
		else if (r->bans[i].expires != 0)
			report_fmt_time(r->bans[i].expires, until,
			    sizeof(until));
		else
			snprintf(until, sizeof(until), "lifted");
		report_tab_row(&t, report_fmt_time(r->bans[i].since, since,
		    sizeof(since)), pfx, r->bans[i].rule, until,
		    r->bans[i].reason, r->bans[i].node);
	}
	report_tab_print(f, &t, r->ip != NULL ? "Bans" : "Newest bans");
}

static void
report_table_ip(FILE *f, const struct report *r)
{
	struct report_tab	 t;
	char			 h[24], n[9][16], pfx[REPORT_ADDR_MAX + 8];
	int			 i;

	report_tab_init_node(&t, r, "hour:l service:l new:r short:r peak:r "
	    "in:r out:r auth:r register:r verdicts:r refused:r");
	for (i = 0; i < r->ntl; i++) {
		report_tab_row(&t, report_fmt_time(r->tl[i].hour, h,
		    sizeof(h)), r->tl[i].service,
		    report_human(r->tl[i].c.conns, n[0], sizeof(n[0])),
		    report_human(r->tl[i].c.short_lived, n[1], sizeof(n[1])),
		    report_human(r->tl[i].c.peak_live, n[2], sizeof(n[2])),
		    report_human_bytes(r->tl[i].c.bytes_in, n[3],
		    sizeof(n[3])),
		    report_human_bytes(r->tl[i].c.bytes_out, n[4],
		    sizeof(n[4])),
		    report_human(r->tl[i].c.auth_fail, n[5], sizeof(n[5])),
		    report_human(r->tl[i].c.registered, n[6], sizeof(n[6])),
		    report_human(r->tl[i].c.verdicts, n[7], sizeof(n[7])),
		    report_human(r->tl[i].c.refused, n[8], sizeof(n[8])),
		    r->tl[i].node);
	}
	report_tab_print(f, &t, "Hour by hour");

	report_tab_init_node(&t, r, "time:l prefix:l rule:l service:l "
	    "observed:r limit:r reason:l");
	for (i = 0; i < r->nverdicts; i++) {
		snprintf(pfx, sizeof(pfx), "%s/%d", r->verdicts[i].addr,
		    r->verdicts[i].prefixlen);
		report_tab_row(&t, report_fmt_time(r->verdicts[i].time, h,
		    sizeof(h)), pfx, r->verdicts[i].rule,
		    r->verdicts[i].service, report_human(
		    r->verdicts[i].observed, n[0], sizeof(n[0])),
		    report_human(r->verdicts[i].limit, n[1], sizeof(n[1])),
		    r->verdicts[i].reason, r->verdicts[i].node);
	}
	report_tab_print(f, &t, "Verdicts");
	report_table_bans(f, r);

	report_tab_init_node(&t, r, "time:l kind:l service:l source:l "
	    "origin:l user:l");
	for (i = 0; i < r->nevents; i++)
		report_tab_row(&t, report_fmt_time(r->events[i].time, h,
		    sizeof(h)), r->events[i].kind, r->events[i].service,
		    r->events[i].source, r->events[i].origin,
		    r->events[i].user, r->events[i].node);
	report_tab_print(f, &t, "Newest log events");
}

/* What the daemon lost: said even when nothing was. */
static void
report_table_losses(FILE *f, const struct report *r)
{
	struct report_tab	 t;
	const char		*text;
	char			 n[16];
	int			 i;

	if (r->nlosses == 0) {
		fputs("\nData lost: none (no conntrack message dropped, no "
		    "log byte or line lost, no store row or alert lost)\n",
		    f);
		return;
	}
	report_tab_init(&t, "lost:r what:l labels:l");
	for (i = 0; i < r->nlosses; i++) {
		text = losses_text(r->losses[i].what);
		report_tab_row(&t, report_human(r->losses[i].count, n,
		    sizeof(n)), text != NULL ? text : r->losses[i].what,
		    r->losses[i].labels[0] != '\0' ? r->losses[i].labels :
		    "-");
	}
	report_tab_print(f, &t, "Data lost");
}

void
report_table(FILE *f, const struct report *r)
{
	struct report_tab	 t;
	char			 from[24], to[24], n[13][16], title[128];
	char			 nb[REPORT_NODES_MAX * REPORT_NODE_MAX];
	const struct report_addr *a;
	int			 i;

	fprintf(f, "xmppguard report%s%s, %s to %s UTC%s%s\n",
	    r->ip != NULL ? " for " : "", r->ip != NULL ? r->ipn : "",
	    report_fmt_time(r->from, from, sizeof(from)),
	    report_fmt_time(r->now, to, sizeof(to)),
	    r->service != NULL ? ", service " : "",
	    r->service != NULL ? r->service : "");
	if (r->nnodes > 1)
		fprintf(f, "  %d nodes: %s\n", r->nnodes, report_node_names(r,
		    UINT32_MAX, nb, sizeof(nb)));
	report_table_counts(f, r);
	if (r->ip != NULL) {
		report_table_ip(f, r);
		return;
	}
	fprintf(f, "  %" PRIu64 " addresses\n", r->addresses);

	report_tab_init_node(&t, r, "service:l addresses:r new:r short:r "
	    "half-open:r in:r out:r peak:r auth:r register:r verdicts:r "
	    "refused:r");
	for (i = 0; i < r->nservices; i++) {
		const struct report_service *s = &r->services[i];

		report_tab_row(&t, s->name,
		    report_human(s->addresses, n[0], sizeof(n[0])),
		    report_human(s->c.conns, n[1], sizeof(n[1])),
		    report_human(s->c.short_lived, n[2], sizeof(n[2])),
		    report_human(s->c.halfopen, n[3], sizeof(n[3])),
		    report_human_bytes(s->c.bytes_in, n[4], sizeof(n[4])),
		    report_human_bytes(s->c.bytes_out, n[5], sizeof(n[5])),
		    report_human(s->c.peak_live, n[6], sizeof(n[6])),
		    report_human(s->c.auth_fail, n[7], sizeof(n[7])),
		    report_human(s->c.registered, n[8], sizeof(n[8])),
		    report_human(s->c.verdicts, n[9], sizeof(n[9])),
		    report_human(s->c.refused, n[10], sizeof(n[10])),
		    report_node_cell(r, s->nodes, NULL, nb, sizeof(nb)));
	}
	report_tab_print(f, &t, "Services");

	report_tab_init_node(&t, r, "address:l score:r new:r peak:r short:r "
	    "in:r out:r auth:r register:r verdicts:r bans:r refused:r "
	    "closest-limit:l");
	for (i = 0; i < r->ntops; i++) {
		char	lim[96];

		a = &r->tops[i];
		if (a->lim.name != NULL)
			snprintf(lim, sizeof(lim), "%s %s %" PRIu64 "/%"
			    PRIu64, a->lim.service, a->lim.name,
			    a->lim.observed, a->lim.limit);
		else
			snprintf(lim, sizeof(lim), "-");
		snprintf(n[0], sizeof(n[0]), "%.0f", a->score);
		report_tab_row(&t, a->addr, n[0],
		    report_human(a->c.conns, n[1], sizeof(n[1])),
		    report_human(a->c.peak_live, n[2], sizeof(n[2])),
		    report_pct(report_short_share(&a->c), n[3], sizeof(n[3])),
		    report_human_bytes(a->c.bytes_in, n[4], sizeof(n[4])),
		    report_human_bytes(a->c.bytes_out, n[5], sizeof(n[5])),
		    report_human(a->c.auth_fail, n[6], sizeof(n[6])),
		    report_human(a->c.registered, n[7], sizeof(n[7])),
		    report_human(a->c.verdicts, n[8], sizeof(n[8])),
		    report_human(a->bans, n[9], sizeof(n[9])),
		    report_human(a->c.refused, n[10], sizeof(n[10])), lim,
		    report_node_cell(r, a->nodes, NULL, nb, sizeof(nb)));
	}
	snprintf(title, sizeof(title), "Top %d addresses by %s", r->top,
	    report_sort_names[r->sort]);
	report_tab_print(f, &t, title);

	report_tab_init_node(&t, r, "address:l service:l limit:l "
	    "busiest-hour:r limit:r share:r");
	for (i = 0; i < r->nnear; i++) {
		a = &r->near[i];
		snprintf(n[0], sizeof(n[0]), "%" PRIu64, a->lim.observed);
		snprintf(n[1], sizeof(n[1]), "%" PRIu64, a->lim.limit);
		report_tab_row(&t, a->addr, a->lim.service, a->lim.name, n[0],
		    n[1], report_pct(a->lim.share, n[2], sizeof(n[2])),
		    report_node_cell(r, a->nodes, NULL, nb, sizeof(nb)));
	}
	report_tab_print(f, &t, "Near a limit (70% or more in one hour, "
	    "not banned)");
	report_table_bans(f, r);
	report_table_losses(f, r);
}

/*
 * JSON: one object.
 */
static void
report_json_counts(FILE *f, const struct report_counts *c)
{
	fprintf(f, "\"conns\":%" PRIu64 ",\"short_lived\":%" PRIu64
	    ",\"halfopen\":%" PRIu64 ",\"bytes_in\":%" PRIu64
	    ",\"bytes_out\":%" PRIu64 ",\"peak_live\":%" PRIu64
	    ",\"auth_fail\":%" PRIu64 ",\"register\":%" PRIu64
	    ",\"verdicts\":%" PRIu64 ",\"refused\":%" PRIu64, c->conns,
	    c->short_lived, c->halfopen, c->bytes_in, c->bytes_out,
	    c->peak_live, c->auth_fail, c->registered, c->verdicts,
	    c->refused);
}

/* With several stores: ,"node":name or ,"nodes":[the names of mask]. */
static void
report_json_node(FILE *f, const struct report *r, uint32_t mask,
    const char *name)
{
	int	i, n = 0;

	if (r->nnodes <= 1)
		return;
	if (name != NULL) {
		fputs(",\"node\":", f);
		json_string(f, name);
		return;
	}
	fputs(",\"nodes\":[", f);
	for (i = 0; i < r->nnodes; i++) {
		if ((mask & (1U << i)) == 0)
			continue;
		if (n++ > 0)
			fputc(',', f);
		json_string(f, r->nodes[i]);
	}
	fputc(']', f);
}

static void
report_json_bans(FILE *f, const struct report *r)
{
	const struct report_ban	*b;
	int			 i;

	fputs(",\"bans\":[", f);
	for (i = 0; i < r->nbans; i++) {
		b = &r->bans[i];
		fprintf(f, "%s{\"since\":", i > 0 ? "," : "");
		json_time(f, b->since);
		fputs(",\"address\":", f);
		json_string(f, b->addr);
		fprintf(f, ",\"prefixlen\":%d,\"rule\":", b->prefixlen);
		json_string(f, b->rule);
		fputs(",\"reason\":", f);
		json_string(f, b->reason);
		fputs(",\"expires\":", f);
		if (b->expires != 0)
			json_time(f, b->expires);
		else
			fputs("null", f);
		fputs(",\"lifted\":", f);
		if (b->lifted != 0)
			json_time(f, b->lifted);
		else
			fputs("null", f);
		fprintf(f, ",\"count\":%" PRId64 ",\"throttled\":%s",
		    b->count, b->throttled ? "true" : "false");
		report_json_node(f, r, 0, b->node);
		fputc('}', f);
	}
	fputc(']', f);
}

static void
report_json_addr(FILE *f, const struct report *r, const struct report_addr *a)
{
	fputs("{\"address\":", f);
	json_string(f, a->addr);
	fprintf(f, ",\"score\":%.1f,", a->score);
	report_json_counts(f, &a->c);
	fprintf(f, ",\"short_share\":%.3f,\"bans\":%" PRIu64 ",\"limit\":",
	    report_short_share(&a->c), a->bans);
	if (a->lim.name == NULL)
		fputs("null", f);
	else {
		fputs("{\"name\":", f);
		json_string(f, a->lim.name);
		fputs(",\"service\":", f);
		json_string(f, a->lim.service);
		fprintf(f, ",\"observed\":%" PRIu64 ",\"limit\":%" PRIu64
		    ",\"share\":%.3f}", a->lim.observed, a->lim.limit,
		    a->lim.share);
	}
	report_json_node(f, r, a->nodes, NULL);
	fputc('}', f);
}

void
report_json(FILE *f, const struct report *r)
{
	int	i;

	fputs("{\"from\":", f);
	json_time(f, r->from);
	fputs(",\"to\":", f);
	json_time(f, r->now);
	fputs(",\"service\":", f);
	if (r->service != NULL)
		json_string(f, r->service);
	else
		fputs("null", f);
	if (r->ip != NULL) {
		fputs(",\"address\":", f);
		json_string(f, r->ipn);
	}
	report_json_node(f, r, UINT32_MAX, NULL);
	fputs(",\"totals\":{", f);
	report_json_counts(f, &r->total);
	fprintf(f, ",\"addresses\":%" PRIu64 ",\"verdicts_all\":%" PRIu64
	    ",\"bans\":%" PRIu64 "}", r->addresses, r->nverdicts_total,
	    r->nbans_total);
	fputs(",\"services\":[", f);
	for (i = 0; i < r->nservices; i++) {
		fputs(i > 0 ? ",{\"service\":" : "{\"service\":", f);
		json_string(f, r->services[i].name);
		fprintf(f, ",\"addresses\":%" PRIu64 ",",
		    r->services[i].addresses);
		report_json_counts(f, &r->services[i].c);
		report_json_node(f, r, r->services[i].nodes, NULL);
		fputc('}', f);
	}
	fputs("],\"hours\":[", f);
	for (i = 0; i < r->nhours; i++) {
		fputs(i > 0 ? ",{\"hour\":" : "{\"hour\":", f);
		json_time(f, r->from + (int64_t)i * REPORT_HOUR_US);
		fprintf(f, ",\"conns\":%" PRIu64 ",\"halfopen\":%" PRIu64
		    ",\"auth_fail\":%" PRIu64 ",\"register\":%" PRIu64
		    ",\"verdicts\":%" PRIu64 ",\"bans\":%" PRIu64
		    ",\"refused\":%" PRIu64 "}",
		    r->hours[i].conns, r->hours[i].halfopen,
		    r->hours[i].auth_fail, r->hours[i].registered,
		    r->hours[i].verdicts, r->hours[i].bans,
		    r->hours[i].refused);
	}
	fputc(']', f);
	if (r->ip == NULL) {
		fprintf(f, ",\"sort\":\"%s\",\"top\":[",
		    report_sort_names[r->sort]);
		for (i = 0; i < r->ntops; i++) {
			if (i > 0)
				fputc(',', f);
			report_json_addr(f, r, &r->tops[i]);
		}
		fputs("],\"near\":[", f);
		for (i = 0; i < r->nnear; i++) {
			if (i > 0)
				fputc(',', f);
			report_json_addr(f, r, &r->near[i]);
		}
		fputc(']', f);
		report_json_bans(f, r);
		fputs(",\"losses\":[", f);
		for (i = 0; i < r->nlosses; i++) {
			fputs(i > 0 ? ",{\"what\":" : "{\"what\":", f);
			json_string(f, r->losses[i].what);
			fputs(",\"labels\":", f);
			json_string(f, r->losses[i].labels);
			fprintf(f, ",\"count\":%" PRIu64 "}",
			    r->losses[i].count);
		}
		fputs("]}\n", f);
		return;
	}
	fputs(",\"timeline\":[", f);
	for (i = 0; i < r->ntl; i++) {
		fputs(i > 0 ? ",{\"hour\":" : "{\"hour\":", f);
		json_time(f, r->tl[i].hour);
		fputs(",\"service\":", f);
		json_string(f, r->tl[i].service);
		fputc(',', f);
		report_json_counts(f, &r->tl[i].c);
		report_json_node(f, r, 0, r->tl[i].node);
		fputc('}', f);
	}
	fputs("],\"verdicts\":[", f);
	for (i = 0; i < r->nverdicts; i++) {
		const struct report_verdict *v = &r->verdicts[i];

		fputs(i > 0 ? ",{\"time\":" : "{\"time\":", f);
		json_time(f, v->time);
		fputs(",\"address\":", f);
		json_string(f, v->addr);
		fprintf(f, ",\"prefixlen\":%d,\"rule\":", v->prefixlen);
		json_string(f, v->rule);
		fputs(",\"service\":", f);
		json_string(f, v->service);
		fprintf(f, ",\"observed\":%" PRIu64 ",\"limit\":%" PRIu64
		    ",\"allowlisted\":%s,\"held\":%s,\"reason\":", v->observed,
		    v->limit, v->allowlisted ? "true" : "false",
		    v->held ? "true" : "false");
		json_string(f, v->reason);
		report_json_node(f, r, 0, v->node);
		fputc('}', f);
	}
	fputc(']', f);
	report_json_bans(f, r);
	fputs(",\"events\":[", f);
	for (i = 0; i < r->nevents; i++) {
		const struct report_event *e = &r->events[i];

		fputs(i > 0 ? ",{\"time\":" : "{\"time\":", f);
		json_time(f, e->time);
		fputs(",\"kind\":", f);
		json_string(f, e->kind);
		fputs(",\"service\":", f);
		json_string(f, e->service);
		fputs(",\"source\":", f);
		json_string(f, e->source);
		fputs(",\"origin\":", f);
		json_string(f, e->origin);
		fputs(",\"user\":", f);
		json_string(f, e->user);
		report_json_node(f, r, 0, e->node);
		fputc('}', f);
	}
	fputs("]}\n", f);
}

/*
 * CSV (RFC 4180).
 */
static void
report_csv_field(FILE *f, const char *s, int last)
{
	const char	*p;

	if (strpbrk(s, ",\"\r\n") == NULL)
		fputs(s, f);
	else {
		fputc('"', f);
		for (p = s; *p != '\0'; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	}
	fputs(last ? "\r\n" : ",", f);
}

/* A row of n fields. */
static void
report_csv_row(FILE *f, int n, ...)
{
	va_list	ap;
	int	i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		report_csv_field(f, va_arg(ap, const char *), i == n - 1);
	va_end(ap);
}

#define REPORT_CSV_COUNTS \
	"conns,short_lived,halfopen,bytes_in,bytes_out,peak_live,auth_fail," \
	"register,verdicts,refused"

static void
report_csv_counts(FILE *f, const struct report_counts *c, int last)
{
	fprintf(f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
	    ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "%s",
	    c->conns, c->short_lived, c->halfopen, c->bytes_in, c->bytes_out,
	    c->peak_live, c->auth_fail, c->registered, c->verdicts,
	    c->refused, last ? "\r\n" : ",");
}

static void
report_csv_addrs(FILE *f, const struct report *r,
    const struct report_addr *v, int n)
{
	const struct report_addr	*a;
	char				 t[64];
	char				 nb[REPORT_NODES_MAX *
					    REPORT_NODE_MAX];
	int				 i;

	fputs("address,score," REPORT_CSV_COUNTS ",short_share,bans,"
	    "limit_service,limit_name,limit_observed,limit,limit_share", f);
	fputs(r->nnodes > 1 ? ",node\r\n" : "\r\n", f);
	for (i = 0; i < n; i++) {
		a = &v[i];
		report_csv_field(f, a->addr, 0);
		fprintf(f, "%.1f,", a->score);
		report_csv_counts(f, &a->c, 0);
		fprintf(f, "%.3f,%" PRIu64 ",", report_short_share(&a->c),
		    a->bans);
		report_csv_field(f, a->lim.name != NULL ? a->lim.service : "",
		    0);
		report_csv_field(f, a->lim.name != NULL ? a->lim.name : "", 0);
		if (a->lim.name != NULL)
			snprintf(t, sizeof(t), "%" PRIu64 ",%" PRIu64 ",%.3f",
			    a->lim.observed, a->lim.limit, a->lim.share);
		else
			snprintf(t, sizeof(t), ",,");
		if (r->nnodes <= 1) {
			fprintf(f, "%s\r\n", t);
			continue;
		}
		fprintf(f, "%s,", t);
		report_csv_field(f, report_node_names(r, a->nodes, nb,
		    sizeof(nb)), 1);
	}
}

static void
report_csv_bans(FILE *f, const struct report *r)
{
	char	since[32], exp[32], lifted[32], len[16], count[24];
	int	i, m = r->nnodes > 1;

	report_csv_row(f, 9 + m, "since", "address", "prefixlen", "rule",
	    "reason", "expires", "lifted", "count", "throttled", "node");
	for (i = 0; i < r->nbans; i++) {
		const struct report_ban *b = &r->bans[i];

		json_fmt_time(b->since, since, sizeof(since));
		if (b->expires != 0)
			json_fmt_time(b->expires, exp, sizeof(exp));
		else
			exp[0] = '\0';
		if (b->lifted != 0)
			json_fmt_time(b->lifted, lifted, sizeof(lifted));
		else
			lifted[0] = '\0';
		snprintf(len, sizeof(len), "%d", b->prefixlen);
		snprintf(count, sizeof(count), "%" PRId64, b->count);
		report_csv_row(f, 9 + m, since, b->addr, len, b->rule,
		    b->reason, exp, lifted, count, b->throttled ? "1" : "0",
		    b->node);
	}
}

int
report_csv(FILE *f, const struct report *r, char **cause)
{
	const char	*sec = r->section;
	char		 t[32], n[4][24];
	char		 nb[REPORT_NODES_MAX * REPORT_NODE_MAX];
	int		 i, m = r->nnodes > 1;

	if (sec == NULL)
		sec = r->ip != NULL ? "timeline" : "top";
	if (strcmp(sec, "hours") == 0) {
		fputs("hour,conns,halfopen,auth_fail,register,verdicts,"
		    "bans,refused\r\n", f);
		for (i = 0; i < r->nhours; i++)
			fprintf(f, "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%"
			    PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\r\n",
			    json_fmt_time(r->from + (int64_t)i *
			    REPORT_HOUR_US, t, sizeof(t)), r->hours[i].conns,
			    r->hours[i].halfopen, r->hours[i].auth_fail,
			    r->hours[i].registered, r->hours[i].verdicts,
			    r->hours[i].bans, r->hours[i].refused);
	} else if (strcmp(sec, "bans") == 0)
		report_csv_bans(f, r);
	else if (r->ip == NULL && strcmp(sec, "losses") == 0) {
		fputs("what,labels,count\r\n", f);
		for (i = 0; i < r->nlosses; i++) {
			snprintf(n[0], sizeof(n[0]), "%" PRIu64,
			    r->losses[i].count);
			report_csv_row(f, 3, r->losses[i].what,
			    r->losses[i].labels, n[0]);
		}
	}
	else if (strcmp(sec, "services") == 0) {
		fputs(m ? "service,addresses," REPORT_CSV_COUNTS ",node\r\n" :
		    "service,addresses," REPORT_CSV_COUNTS "\r\n", f);
		for (i = 0; i < r->nservices; i++) {
			report_csv_field(f, r->services[i].name, 0);
			fprintf(f, "%" PRIu64 ",", r->services[i].addresses);
			report_csv_counts(f, &r->services[i].c, !m);
			if (m)
				report_csv_field(f, report_node_names(r,
				    r->services[i].nodes, nb, sizeof(nb)), 1);
		}
	} else if (r->ip == NULL && strcmp(sec, "top") == 0)
		report_csv_addrs(f, r, r->tops, r->ntops);
	else if (r->ip == NULL && strcmp(sec, "near") == 0)
		report_csv_addrs(f, r, r->near, r->nnear);
	else if (r->ip != NULL && strcmp(sec, "timeline") == 0) {
		fputs(m ? "hour,service," REPORT_CSV_COUNTS ",node\r\n" :
		    "hour,service," REPORT_CSV_COUNTS "\r\n", f);
		for (i = 0; i < r->ntl; i++) {
			report_csv_field(f, json_fmt_time(r->tl[i].hour, t,
			    sizeof(t)), 0);
			report_csv_field(f, r->tl[i].service, 0);
			report_csv_counts(f, &r->tl[i].c, !m);
			if (m)
				report_csv_field(f, r->tl[i].node, 1);
		}
	} else if (r->ip != NULL && strcmp(sec, "verdicts") == 0) {
		report_csv_row(f, 9 + m, "time", "address", "prefixlen",
		    "rule", "service", "observed", "limit", "flags", "reason",
		    "node");
		for (i = 0; i < r->nverdicts; i++) {
			const struct report_verdict *v = &r->verdicts[i];

			snprintf(n[0], sizeof(n[0]), "%d", v->prefixlen);
			snprintf(n[1], sizeof(n[1]), "%" PRIu64, v->observed);
			snprintf(n[2], sizeof(n[2]), "%" PRIu64, v->limit);
			report_csv_row(f, 9 + m, json_fmt_time(v->time, t,
			    sizeof(t)), v->addr, n[0], v->rule, v->service,
			    n[1], n[2], v->allowlisted ? "allowlisted" :
			    v->held ? "held" : "", v->reason, v->node);
		}
	} else if (r->ip != NULL && strcmp(sec, "events") == 0) {
		report_csv_row(f, 6 + m, "time", "kind", "service", "source",
		    "origin", "user", "node");
		for (i = 0; i < r->nevents; i++)
			report_csv_row(f, 6 + m, json_fmt_time(
			    r->events[i].time, t, sizeof(t)), r->events[i].kind,
			    r->events[i].service, r->events[i].source,
			    r->events[i].origin, r->events[i].user,
			    r->events[i].node);
	} else {
		*cause = xasprintf("--section %s: one of %s", sec,
		    r->ip != NULL ? "timeline, verdicts, bans, events, hours, "
		    "services" : "top, near, services, hours, bans, losses");
		return -1;
	}
	return 0;
}
