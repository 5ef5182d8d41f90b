/*
 * The cluster's push queue, kept in the store (table cluster_queue): bans
 * and unbans waiting for the Local API, taken oldest first in batches.
 */
#ifndef CQUEUE_H
#define CQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "lapi.h"

#define CQUEUE_BATCH_MAX	100	/* rows a batch takes at most */
#define CQUEUE_TRIES_MAX	20	/* refusals before a batch is dropped */

struct store;
struct cqueue;

enum cqueue_op {
	CQUEUE_BAN,
	CQUEUE_UNBAN
};

/* A batch: either up to CQUEUE_BATCH_MAX bans or one unban, the oldest
 * rows of the queue, ids first..last. */
struct cqueue_batch {
	enum cqueue_op	 op;
	int64_t		 first;
	int64_t		 last;
	size_t		 n;		/* usable rows, in bans[] */
	size_t		 rows;		/* rows first..last */
	int		 tries;		/* the most of its rows */
	struct lapi_ban	 bans[CQUEUE_BATCH_MAX];
	char		*text;		/* the strings bans[] point into */
	size_t		 textlen;
	size_t		 textcap;
};

/* On store (which must outlive it), holding at most max rows. */
struct cqueue	*cqueue_open(struct store *, uint32_t max, char **cause);
void		 cqueue_close(struct cqueue *);

/* Appends a ban or an unban of p; 0, or -1 (full: counted as dropped, or
 * the store failed: *cause). */
int		 cqueue_ban(struct cqueue *, const struct lapi_ban *,
		    int64_t now, char **cause);
int		 cqueue_unban(struct cqueue *, const struct prefix *,
		    int64_t now, char **cause);

/* The oldest batch into b; 1, 0 if the queue is empty, -1 and *cause. */
int		 cqueue_peek(struct cqueue *, struct cqueue_batch *,
		    char **cause);
/* The batch was taken: its rows go. */
int		 cqueue_done(struct cqueue *, const struct cqueue_batch *,
		    char **cause);
/* The batch was refused once more: its rows' tries go up. */
int		 cqueue_refused(struct cqueue *, const struct cqueue_batch *,
		    char **cause);
void		 cqueue_batch_free(struct cqueue_batch *);

uint64_t	 cqueue_length(const struct cqueue *);
uint64_t	 cqueue_dropped(const struct cqueue *);

#endif /* CQUEUE_H */
