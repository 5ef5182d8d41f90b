/*
 * Status and metrics, written from the modules' descriptions of their
 * counters (status.h).
 *
 * The registry is an array of (group, object) in the order the daemon
 * added them, which is the order of the JSON keys, the text lines and the
 * metric families.  Each writer takes a fresh snapshot of every group
 * (get() into a buffer of the group's size), so what one answer shows is
 * consistent within a group and nothing is cached between requests.
 *
 * Metrics are written family by family, as the exposition format wants:
 * for each field, the samples of every item of its group; two fields that
 * share a family (the same metric name with a different fixed label) sit
 * next to each other in their table, so the family stays whole.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "xmalloc.h"

#define STATUS_GROUPS_MAX	32
#define STATUS_TEXT_HEAD	12	/* columns before the values */

struct status_reg {
	const struct status_group *g;
	const void	*obj;
};

struct status {
	struct status_reg r[STATUS_GROUPS_MAX];
	size_t		 n;
};

struct status *
status_new(void)
{
	return xcalloc(1, sizeof(struct status));
}

void
status_free(struct status *st)
{
	free(st);
}

void
status_add(struct status *st, const struct status_group *g, const void *obj)
{
	if (st->n == STATUS_GROUPS_MAX)
		fatalx("status: more than %d groups", STATUS_GROUPS_MAX);
	st->r[st->n].g = g;
	st->r[st->n].obj = obj;
	st->n++;
}

void
status_set(struct status *st, const struct status_group *g, const void *obj)
{
	size_t	i;

	for (i = 0; i < st->n; i++)
		if (st->r[i].g == g)
			st->r[i].obj = obj;
}

static size_t
status_count(const struct status_group *g, const void *obj)
{
	return g->count != NULL ? g->count(obj) : 1;
}

/* A snapshot of item i (caller frees). */
static void *
status_snap(const struct status_group *g, const void *obj, size_t i)
{
	void	*snap = xcalloc(1, g->size);

	g->get(obj, i, snap);
	return snap;
}

/* The value of element k of field f as a number (strings: 1, for an info
 * sample). */
static double
status_number(const struct status_field *f, const void *snap, int k)
{
	const char	*p = (const char *)snap + f->off;

	switch (f->type) {
	case STATUS_U64:
		return (double)((const uint64_t *)(const void *)p)[k];
	case STATUS_U32:
		return (double)((const uint32_t *)(const void *)p)[k];
	case STATUS_INT:
	case STATUS_BOOL:
	case STATUS_TRI:
		return (double)((const int *)(const void *)p)[k];
	case STATUS_DOUBLE:
		return ((const double *)(const void *)p)[k];
	case STATUS_US:
	case STATUS_TIME:
		return (double)((const int64_t *)(const void *)p)[k] /
		    (double)CLOCK_US_PER_SEC;
	case STATUS_STR:
		return 1;
	}
	return 0;
}

static const char *
status_str(const struct status_field *f, const void *snap)
{
	const char	*s;

	memcpy(&s, (const char *)snap + f->off, sizeof(s));
	return s;
}

/* Writes element k of f as JSON (text: as words, for people). */
static void
status_value(FILE *out, const struct status_field *f, const void *snap,
    int k, int text)
{
	const char	*p = (const char *)snap + f->off, *s;
	char		 t[40];
	int		 v;

	switch (f->type) {
	case STATUS_U64:
	case STATUS_U32:
	case STATUS_INT:
		fprintf(out, "%.0f", status_number(f, snap, k));
		break;
	case STATUS_DOUBLE:
		fprintf(out, "%.1f", status_number(f, snap, k));
		break;
	case STATUS_BOOL:
	case STATUS_TRI:
		v = ((const int *)(const void *)p)[k];
		if (text)
			fputs(v > 0 ? "on" : v == 0 ? "off" : "unknown", out);
		else
			fputs(v > 0 ? "true" : v == 0 ? "false" : "null", out);
		break;
	case STATUS_US:
		fprintf(out, "%.3f", status_number(f, snap, k) * 1e3);
		break;
	case STATUS_TIME:
		if (text)
			fputs(json_fmt_time(((const int64_t *)(const void *)
			    p)[0], t, sizeof(t)), out);
		else
			json_time(out, ((const int64_t *)(const void *)p)[0]);
		break;
	case STATUS_STR:
		s = status_str(f, snap);
		if (text)
			fputs(s != NULL ? s : "-", out);
		else if (s != NULL)
			json_string(out, s);
		else
			fputs("null", out);
		break;
	}
}

/* The fields of one snapshot as JSON members (no braces). */
static void
status_json_fields(FILE *out, const struct status_field *fields,
    const void *snap, int *first)
{
	const struct status_field	*f;
	const char			*name;
	int				 k, inner;

	for (f = fields; f->name != NULL; f++) {
		fprintf(out, "%s\"%s\":", *first ? "" : ",", f->name);
		*first = 0;
		if (f->n == 0) {
			status_value(out, f, snap, 0, 0);
			continue;
		}
		/* An array: an object by label, zeros left out. */
		fputc('{', out);
		for (k = 0, inner = 1; k < f->n; k++) {
			if ((name = f->by_name(k)) == NULL ||
			    status_number(f, snap, k) == 0)
				continue;
			fprintf(out, "%s\"%s\":", inner ? "" : ",", name);
			status_value(out, f, snap, k, 0);
			inner = 0;
		}
		fputc('}', out);
	}
}

/* A group's value: an object, or an array of objects for a list; a
 * sub-list goes inside the object, under its own name. */
static void
status_json_group(FILE *out, const struct status_group *g, const void *obj)
{
	void	*snap;
	size_t	 i, n;
	int	 first;

	if (g->count != NULL)
		fputc('[', out);
	for (i = 0, n = status_count(g, obj); i < n; i++) {
		snap = status_snap(g, obj, i);
		fprintf(out, "%s{", i > 0 ? "," : "");
		first = 1;
		status_json_fields(out, g->fields, snap, &first);
		free(snap);
		if (g->sub != NULL) {
			fprintf(out, "%s\"%s\":", first ? "" : ",",
			    g->sub->name);
			status_json_group(out, g->sub, obj);
		}
		fputc('}', out);
	}
	if (g->count != NULL)
		fputc(']', out);
}

void
status_json(const struct status *st, FILE *out)
{
	const struct status_reg	*r;
	void			*snap;
	int			 first = 1;

	fputc('{', out);
	for (r = st->r; r < st->r + st->n; r++) {
		if (r->g->name == NULL) {
			/* Fields at the top: one item, no sub-list. */
			snap = status_snap(r->g, r->obj, 0);
			status_json_fields(out, r->g->fields, snap, &first);
			free(snap);
			continue;
		}
		fprintf(out, "%s\"%s\":", first ? "" : ",", r->g->name);
		status_json_group(out, r->g, r->obj);
		first = 0;
	}
	fputs("}\n", out);
}

/* One line: the head, then each shown field, its value at the '%'. */
static void
status_text_line(FILE *out, const struct status_group *g, const void *snap,
    const char *item)
{
	const struct status_field	*f;
	const char			*pct;
	int				 len, sep = 0;

	len = fprintf(out, "%s%s%s", g->text, item != NULL ? " " : "",
	    item != NULL ? item : "");
	fprintf(out, "%*s", len < STATUS_TEXT_HEAD ? STATUS_TEXT_HEAD - len :
	    1, "");
	for (f = g->fields; f->name != NULL; f++) {
		if (f->text == NULL || f->n != 0)
			continue;
		/* An empty string says nothing (a last error that is not). */
		if (f->type == STATUS_STR && (status_str(f, snap) == NULL ||
		    *status_str(f, snap) == '\0'))
			continue;
		/* A text opening a bracket follows the one before closely:
		 * "5 dropped (2 overruns, 1 resyncs)". */
		fputs(!sep ? "" : f->text[0] == '(' ? " " : ", ", out);
		sep = 1;
		if ((pct = strchr(f->text, '%')) == NULL) {
			fputs(f->text, out);
			continue;
		}
		fprintf(out, "%.*s", (int)(pct - f->text), f->text);
		status_value(out, f, snap, 0, 1);
		fputs(pct + 1, out);
	}
	fputc('\n', out);
}

/* The value of an item's "name" field, for its line and its label. */
static const char *
status_item_name(const struct status_group *g, const void *snap)
{
	const struct status_field	*f;

	for (f = g->fields; f->name != NULL; f++)
		if (f->type == STATUS_STR && strcmp(f->name, "name") == 0)
			return status_str(f, snap);
	return NULL;
}

/* A line for each item that has a head; then the sub-list's. */
static void
status_text_group(FILE *out, const struct status_group *g, const void *obj)
{
	void	*snap;
	size_t	 i, n;

	for (i = 0, n = g->text != NULL ? status_count(g, obj) : 0; i < n;
	    i++) {
		snap = status_snap(g, obj, i);
		status_text_line(out, g, snap, g->count != NULL ?
		    status_item_name(g, snap) : NULL);
		free(snap);
	}
	if (g->sub != NULL)
		status_text_group(out, g->sub, obj);
}

void
status_text(const struct status *st, FILE *out)
{
	const struct status_reg	*r;

	for (r = st->r; r < st->r + st->n; r++)
		status_text_group(out, r->g, r->obj);
}

/* The samples of field f for one snapshot. */
static void
status_samples(struct metrics *m, const struct status_field *f,
    const void *snap, const char *item, const char *iname)
{
	enum metrics_type	 type = f->kind == STATUS_COUNTER ?
	    METRICS_COUNTER : METRICS_GAUGE;
	const char		*l1 = item, *v1 = iname, *l2 = NULL, *v2 = NULL;
	const char		*name;
	int			 k;

	if (f->type == STATUS_STR) {
		l2 = f->name;
		v2 = status_str(f, snap);
		if (v2 == NULL)
			return;
	} else if (f->label != NULL) {
		l2 = f->label;
		v2 = f->value;
	}
	if (l1 == NULL) {
		l1 = l2;
		v1 = v2;
		l2 = v2 = NULL;
	}
	if (f->n == 0) {
		metrics_sample(m, type, f->metric, f->help, l1, v1, l2, v2,
		    status_number(f, snap, 0));
		return;
	}
	for (k = 0; k < f->n; k++)
		if ((name = f->by_name(k)) != NULL)
			metrics_sample(m, type, f->metric, f->help, l1 != NULL ?
			    l1 : f->by, l1 != NULL ? v1 : name,
			    l1 != NULL ? f->by : NULL,
			    l1 != NULL ? name : NULL,
			    status_number(f, snap, k));
}

/* Family by family: each field's samples for every item. */
static void
status_metrics_group(struct metrics *m, const struct status_group *g,
    const void *obj)
{
	const struct status_field	*f;
	void				**snaps;
	size_t				  i, n = status_count(g, obj);

	snaps = n > 0 ? xcalloc(n, sizeof(*snaps)) : NULL;
	for (i = 0; i < n; i++)
		snaps[i] = status_snap(g, obj, i);
	for (f = g->fields; n > 0 && f->name != NULL; f++) {
		if (f->metric == NULL || f->kind == STATUS_INFO)
			continue;
		for (i = 0; i < n; i++)
			status_samples(m, f, snaps[i], g->count != NULL ?
			    g->item : NULL, g->count != NULL ?
			    status_item_name(g, snaps[i]) : NULL);
	}
	for (i = 0; i < n; i++)
		free(snaps[i]);
	free(snaps);
	if (g->sub != NULL)
		status_metrics_group(m, g->sub, obj);
}

void
status_metrics(const struct status *st, struct metrics *m)
{
	const struct status_reg	*r;

	for (r = st->r; r < st->r + st->n; r++)
		status_metrics_group(m, r->g, r->obj);
}
