/*
 * The cluster link: bans shared with other nodes through a CrowdSec Local
 * API ([cluster]).  This node's bans and unbans are pushed (as a machine:
 * alerts carrying a decision, decision deletions) from a queue in the
 * store; the LAPI's decision stream is pulled (as a bouncer) and becomes
 * local bans, through the same checks as an operator's ban.
 */
#ifndef CLUSTER_H
#define CLUSTER_H

#include <stdint.h>

#include "ban.h"

struct conf;
struct enforce;
struct loop;
struct store;
struct cluster;

struct cluster_stats {
	int		 up;		/* the last request worked */
	int64_t		 last_push;	/* us since the epoch; 0: never */
	int64_t		 last_pull;
	uint64_t	 queue;		/* waiting to be pushed */
	uint64_t	 pushed;	/* bans the LAPI took */
	uint64_t	 unbans;	/* unbans the LAPI took */
	uint64_t	 pulled;	/* ban decisions applied here */
	uint64_t	 lifted;	/* pulled bans lifted by a deletion */
	uint64_t	 refused;	/* pulled decisions never a weapon */
	uint64_t	 own;		/* pulled decisions for bans made here */
	uint64_t	 skipped;	/* not a ban on an Ip or a Range, or an
					 * origin not accepted */
	uint64_t	 errors;	/* failed requests and bad answers */
	uint64_t	 dropped;	/* not queued (full) or given up on */
	uint64_t	 logins;
	uint64_t	 resyncs;	/* full pulls */
	uint64_t	 downs;		/* links down longer than down_alert */
	int64_t		 down_since;	/* us since the epoch: failing since
					 * then; 0: up */
	const char	*last_error;	/* "" if none */
};

/*
 * Starts the link if [cluster] lapi_url is set (NULL otherwise: nothing
 * to do), its settings copied (a reload does not change them).  e's bans
 * are where pulled decisions go; the caller passes each ban change to
 * cluster_ban_cb().  NULL and *cause if the queue cannot be opened.
 */
struct cluster	*cluster_start(struct loop *, const struct conf *,
		    struct store *, struct enforce *, char **cause);
/* A reloaded configuration's [cluster] in force at once (its lapi_url
 * not empty: adding or removing the section takes a restart); the queue
 * and the pulled bans kept.  NULL: no-op. */
void		 cluster_reload(struct cluster *, const struct conf *);
/* Cancels what is in flight (the queue stays in the store); NULL: no-op. */
void		 cluster_stop(struct cluster *);

/* A ban_notify_cb (arg: the struct cluster; NULL: ignored): bans and
 * unbans decided here are queued for the LAPI, those applied from it are
 * not sent back. */
void		 cluster_ban_cb(enum ban_change, const struct ban *,
		    int64_t now, void *arg);

void		 cluster_get_stats(const struct cluster *,
		    struct cluster_stats *);

/* Its counters, for status and metrics (obj: the struct cluster). */
struct status_group;
extern const struct status_group cluster_status_group;

#endif /* CLUSTER_H */
