/*
 * Counters described once.
 *
 * Each module that keeps counters describes them in one table of fields
 * (name, type, where the value sits in its stats struct, metric family,
 * help, status text) wrapped in a group; the daemon registers the groups
 * of the modules it runs, and `xmppguard status` (text and JSON) and the
 * Prometheus metrics are all written from those tables.  Adding a counter
 * is one line in the module that keeps it.
 */
#ifndef STATUS_H
#define STATUS_H

#include <stddef.h>
#include <stdio.h>

struct metrics;

enum status_type {
	STATUS_U64,		/* uint64_t */
	STATUS_U32,		/* uint32_t */
	STATUS_INT,		/* int */
	STATUS_DOUBLE,		/* double */
	STATUS_BOOL,		/* int: JSON false/true, text off/on */
	STATUS_TRI,		/* int: -1 unknown (JSON null), 0, 1 */
	STATUS_US,		/* int64_t us: JSON ms, metric seconds */
	STATUS_TIME,		/* int64_t us since the epoch: JSON time,
				 * metric seconds */
	STATUS_STR		/* const char *: JSON string; as a metric,
				 * an info sample labelled with it */
};

enum status_kind {
	STATUS_INFO,		/* shown, not a metric */
	STATUS_COUNTER,
	STATUS_GAUGE
};

struct status_field {
	const char	*name;		/* JSON key; NULL ends a table */
	enum status_type type;
	size_t		 off;		/* offsetof() in the snapshot */
	enum status_kind kind;
	const char	*metric;	/* family; NULL: not exported */
	const char	*help;		/* its HELP text */
	const char	*label;		/* a fixed label on the sample ... */
	const char	*value;		/* ... and its value; NULL: none */
	const char	*text;		/* status text, '%' where the value
					 * goes ("% lines"); NULL: not shown */
	/* An array of n values, element i labelled by (by, by_name(i));
	 * elements whose name is NULL are left out. */
	int		 n;
	const char	*by;
	const char	*(*by_name)(int);
};

struct status_group {
	const char	*name;		/* JSON key; NULL: fields at the top */
	const char	*text;		/* text line head; NULL: no line */
	const struct status_field *fields;
	size_t		 size;		/* of the snapshot get() fills */
	/* Fills the snapshot of item i of obj (i is 0 for a single one). */
	void		(*get)(const void *obj, size_t i, void *snapshot);
	/* A list (NULL: one object): how many items, shown as a JSON array
	 * and one text line each; their metric samples are labelled
	 * (item, the item's "name" field). */
	size_t		(*count)(const void *obj);
	const char	*item;
	/* A list inside this (single) group's JSON object, under its own
	 * name, from the same obj; its lines and samples follow this
	 * group's.  NULL: none. */
	const struct status_group *sub;
};

struct status;

struct status	*status_new(void);
void		 status_free(struct status *);
/* Adds a group, shown after those added before; obj is get()'s. */
void		 status_add(struct status *, const struct status_group *,
		    const void *obj);
/* Replaces the object of a group added before (a reload's new one). */
void		 status_set(struct status *, const struct status_group *,
		    const void *obj);

/* One JSON object, newline-terminated. */
void		 status_json(const struct status *, FILE *);
/* A line per group (per item for lists). */
void		 status_text(const struct status *, FILE *);
/* Every exported field, family by family (a metrics_collect_cb's body). */
void		 status_metrics(const struct status *, struct metrics *);

#endif /* STATUS_H */
