/*
 * Alerts: what matters told to the operators' chats ([alert NAME]
 * sections: Slack, Mattermost, Rocket.Chat, Matrix, Discord, generic JSON)
 * through http.c on the daemon's loop, so a slow or dead chat never delays
 * a ban.  Bans during a storm are summed up in digests.
 */
#ifndef ALERT_H
#define ALERT_H

#include <stdint.h>
#include <stdio.h>

#include "ban.h"

struct alerts;
struct conf;
struct loop;
struct metrics;
struct outage_stats;

/* Totals over every sink (status, metrics). */
struct alert_stats {
	uint64_t	 events;	/* events that passed a sink's filter */
	uint64_t	 sent;		/* messages the chat took (2xx) */
	uint64_t	 failed;	/* given up on after retries */
	uint64_t	 dropped;	/* refused: the sink's queue was full */
	uint64_t	 cancelled;	/* still pending at a stop or reload */
	uint64_t	 digests;	/* digest messages */
	uint64_t	 digested;	/* events summed into them, not sent one
					 * by one */
	unsigned int	 pending;	/* messages not finished */
	unsigned int	 sinks;
};

/*
 * The sinks of conf's [alert] sections on loop (none is fine).  NULL and
 * *cause (caller frees) if libcurl cannot be set up.
 */
struct alerts	*alerts_new(struct loop *, const struct conf *, char **cause);
/* Cancels what is still pending and frees.  NULL is a no-op. */
void		 alerts_free(struct alerts *);
/*
 * A reloaded configuration: a sink whose section is unchanged keeps its
 * queue, digest and counters; others start afresh (what the old ones had
 * pending is cancelled).  A sink that cannot be set up is logged, left out.
 */
void		 alerts_reload(struct alerts *, const struct conf *);

/* A ban_notify_cb: arg is the struct alerts. */
void		 alerts_ban(enum ban_change, const struct ban *, int64_t now,
		    void *arg);
/* The conntrack overrun counter, polled: a rise is an overrun event
 * (at most one message a minute, with the count since the last). */
void		 alerts_overrun(struct alerts *, uint64_t overruns,
		    int64_t now);
/* An authentication backend outage began; auth bans are held for hold
 * (us) after it is gone. */
void		 alerts_outage(struct alerts *, const struct outage_stats *,
		    int64_t window, int64_t hold, int64_t now);
/* Bans the store could not record (unsaved, polled; why: SQLite's
 * words): a store-error event when they appear, again every 10 minutes
 * while they stay. */
void		 alerts_store_error(struct alerts *, uint64_t unsaved,
		    const char *why, int64_t now);
/* The [cluster] link to url: down (for span us, why: the last error)
 * for longer than its down_alert, or back (down for span). */
void		 alerts_cluster(struct alerts *, int down, const char *url,
		    int64_t span, const char *why, int64_t now);
/* A verdict_cb (arg: the struct alerts): an authenticated federation
 * peer broke an s2s limit; it is not banned, the operators are told. */
struct verdict;
void		 alerts_peer(const struct verdict *, void *arg);
/* A surge began or ended (surge.h; arg: the struct alerts): a
 * surge_change_cb. */
struct surge_change;
void		 alerts_surge(const struct surge_change *, void *arg);
/* The daemon is up (restored: bans back from the store, not announced
 * again; firewall: its backend's name). */
void		 alerts_start(struct alerts *, uint64_t restored,
		    const char *firewall, int64_t now);
/* The daemon stops: pending digests go out, then the stop message.  The
 * caller runs the loop until alerts_busy() is 0, or for a bounded time. */
void		 alerts_stop(struct alerts *, int64_t uptime, uint64_t active,
		    int64_t now);
/* Closes the digest intervals that are over by now (a 1 s timer of its
 * own calls it with the wall clock; tests call it with theirs). */
void		 alerts_tick(struct alerts *, int64_t now);

/* Messages not finished yet, over every sink. */
unsigned int	 alerts_busy(const struct alerts *);
void		 alerts_get_stats(const struct alerts *, struct alert_stats *);
/* Status and metrics: the totals, and each sink's counters; URLs shown
 * by scheme and host only (obj: the struct alerts). */
struct status_group;
extern const struct status_group alerts_status_group;

/* 0 if a json template holds only known placeholders, else -1 and *why
 * (a static string). */
int		 alert_template_check(const char *, const char **why);

#endif /* ALERT_H */
