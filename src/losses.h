/*
 * What the daemon lost, kept in the store hour by hour so that `report`
 * can say it: the kernel's conntrack drops, overruns, log bytes that could
 * not be read, lines skipped unread, rows the store could not write,
 * alerts dropped.  See losses.c.
 */
#ifndef LOSSES_H
#define LOSSES_H

#include <stdint.h>

struct status;
struct store;
struct sqlite3;

#define LOSSES_WHAT_MAX		32	/* "conntrack_dropped" */
#define LOSSES_LABELS_MAX	96	/* "source=events", "log=x,how=y" */

struct losses;

/* Reads the counters of the groups in st (status.h), writes to s. */
struct losses	*losses_new(const struct status *st, struct store *s);
void		 losses_free(struct losses *);

/*
 * Adds to the store, under the hour of now, what each loss counter gained
 * since the last flush that succeeded (everything since the start, the
 * first time).  A flush that cannot write keeps the gains for the next
 * one.  0, or -1 with *cause set.
 */
int		 losses_flush(struct losses *, int64_t now, char **cause);

/* Deletes the hours wholly before `before`; the rows removed, or -1. */
int64_t		 losses_purge(struct store *, int64_t before, char **cause);

/* One row summed over a period (report.c). */
struct losses_row {
	char		 what[LOSSES_WHAT_MAX];
	char		 labels[LOSSES_LABELS_MAX];
	uint64_t	 count;
};

/*
 * The sums of the hours from `from` on, at most max rows (ordered by what,
 * then labels) into rows; a store from before the table existed has none.
 * The number of rows, or -1 with *cause set.
 */
int		 losses_load(struct sqlite3 *, int64_t from,
		    struct losses_row *rows, int max, char **cause);

/* For people: "conntrack messages the kernel dropped" (NULL: unknown). */
const char	*losses_text(const char *what);

#endif /* LOSSES_H */
