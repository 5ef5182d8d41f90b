/*
 * Bans: what verdicts become.  The ban table in memory (what is in force),
 * escalation for repeat offenders, the never-a-weapon checks, persistence
 * in the store, and the batch of firewall operations each loop iteration
 * sends.
 */
#ifndef BAN_H
#define BAN_H

#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "fw.h"
#include "verdict.h"

struct conf;
struct store;
struct bans;

enum ban_source {
	BAN_SRC_RULE,		/* a verdict */
	BAN_SRC_CONTROL		/* an operator, through the control socket */
};

struct ban {
	struct prefix	 prefix;
	enum verdict_rule rule;
	enum ban_source	 source;
	int		 throttled;	/* karma = throttle */
	enum fw_scope	 scope;		/* the ports it drops: the services',
					 * or also the proxy's (a verdict
					 * through a proxy); only widens */
	const char	*ports;		/* those ports now, "5222,5269" or
					 * "all": the table's text for the
					 * scope, valid while the table is */
	int64_t		 since;		/* us */
	int64_t		 expires;	/* us */
	uint32_t	 count;		/* the nth ban of this prefix within
					 * [ban] memory: 1 is the first */
	int64_t		 id;		/* row in the store; 0: none */
	int		 unsaved;	/* the store may lack its row or last
					 * change: written again (ban.c) */
	char		 reason[VERDICT_REASON_MAX];
};

struct ban_stats {
	uint64_t	 active;	/* in the table now */
	uint64_t	 bans;		/* issued since start */
	uint64_t	 unbans;	/* lifted by an operator */
	uint64_t	 revoked;	/* ended because the rules now forbid
					 * them (an address made local, a
					 * reload) or the firewall refused */
	uint64_t	 expired;
	uint64_t	 extended;	/* a new verdict for a banned prefix
					 * that made the ban longer */
	uint64_t	 widened;	/* a verdict through a proxy for a
					 * prefix banned on the services'
					 * ports: now on the proxy's too */
	uint64_t	 refused;	/* never a weapon: loopback, own,
					 * allowlisted, ... */
	uint64_t	 restored;	/* found in the store at start */
	uint64_t	 readded;	/* of those, missing from the kernel */
	uint64_t	 unsaved;	/* in force, not known to be saved */
	uint64_t	 saved;		/* unsaved ones saved later */
	uint64_t	 adopted;	/* in the kernel at start, not in the
					 * store: kept */
	uint64_t	 fw_batches;
	uint64_t	 fw_failures;
	uint64_t	 killed;	/* prefixes whose live sessions were
					 * ended */
	uint64_t	 full;		/* refused: the table is full */
	uint64_t	 covered;	/* inside a banned network already */
	uint64_t	 narrowed;	/* the address alone: its widened
					 * prefix holds one never banned */
	uint64_t	 escalated;	/* of bans, repeats (count > 1) */
	uint64_t	 by_rule[VERDICT_RULE_MAX];	/* bans issued */
};

/* What happened to a ban, as bans_set_notify()'s callback hears it. */
enum ban_change {
	BAN_ISSUED,		/* a new ban (count > 1: an escalation) */
	BAN_EXTENDED,		/* a banned prefix's ban made longer */
	BAN_LIFTED,		/* by an operator */
	BAN_EXPIRED,		/* its time ran out */
	BAN_REVOKED		/* never banned now, or refused by the
				 * firewall: the ban's reason says why */
};

/* Told of a change after it is made (the ban is still valid, its expiry
 * the new one).  It must not call bans_* functions that change the table. */
typedef void	(*ban_notify_cb)(enum ban_change, const struct ban *,
		    int64_t now, void *arg);

/* Opens the ban table on store (may be NULL: nothing persists). */
struct bans	*bans_new(const struct conf *, struct store *);
void		 bans_free(struct bans *);
void		 bans_set_conf(struct bans *, const struct conf *);
/* Calls cb for each ban issued, extended, lifted or expired from now on
 * (alerts); never for the bans bans_load() restores.  NULL: nobody. */
void		 bans_set_notify(struct bans *, ban_notify_cb, void *arg);

/*
 * Without a store (replay), where earlier bans are counted for escalation:
 * cb returns how many bans of p began at or after since.  NULL (the
 * default): every ban is a first.  With a store, the store counts.
 */
typedef uint32_t (*ban_history_cb)(const struct prefix *, int64_t since,
		    void *arg);
void		 bans_set_history(struct bans *, ban_history_cb, void *arg);

/* The host's own addresses (ownaddr.h; not owned), never banned; NULL:
 * none known. */
struct ownaddr;
void		 bans_set_own(struct bans *, struct ownaddr *);

/*
 * A verdict at time now: bans its prefix (a host verdict is widened to
 * [ban] prefix4/prefix6) unless it is allowlisted, held or refused as
 * never-a-weapon; a prefix already banned gets the longer of its expiry
 * and the new one.  Returns 1 if a ban was issued or extended.
 */
int		 bans_verdict(struct bans *, const struct verdict *,
		    int64_t now);

/*
 * An operator's ban (duration 0: [ban] duration, escalated as for a
 * verdict; scope as for a verdict's, FW_SCOPE_PROXY widening a ban in
 * force) or unban.  0, or -1 and *cause: a refused prefix, not banned.
 */
int		 bans_manual(struct bans *, const struct prefix *,
		    int64_t duration, enum fw_scope, const char *reason,
		    int64_t now, char **cause);
int		 bans_lift(struct bans *, const struct prefix *, int64_t now,
		    char **cause);

/*
 * Lifts the bans in force that the never-a-weapon rules now forbid (after
 * a reload), or, a not NULL, those holding a, which has just become one
 * of the host's own addresses: unbans queued, the store's rows ended with
 * the reason ("lifted: ..."), one log line each.  How many.
 */
int		 bans_recheck(struct bans *, const struct addr *a,
		    int64_t now);
/*
 * The firewall layer refused p's ban (why): it leaves the table and its
 * row is ended with the reason, no unban queued.  0, or -1 if p is not
 * banned.
 */
int		 bans_drop(struct bans *, const struct prefix *,
		    const char *why, int64_t now);

/* Forgets bans whose time is up, soonest first; send_unban: queue an
 * unban (for backends without timeouts of their own).  O(log n) a ban. */
void		 bans_expire(struct bans *, int64_t now, int send_unban);
/* When the next ban runs out (us since the epoch); INT64_MAX: none. */
int64_t		 bans_next_expiry(const struct bans *);

/*
 * The firewall operations waiting since the last call, to be applied as
 * one batch; the array is the table's, valid until the next call.  kills
 * (may be NULL) gets the prefixes whose live sessions must end, each with
 * the scope of its ban (the ports whose sessions end).
 */
size_t		 bans_pending(struct bans *, const struct fw_op **ops,
		    const struct fw_op **kills, size_t *nkills);
/* Forgets every queued operation and kill. */
void		 bans_unqueue(struct bans *);
/* Forgets the queued operations, not the kills: a restore (bans_all()
 * applied with fw_replace()) has put the table in force. */
void		 bans_unqueue_ops(struct bans *);
/* The batch returned by bans_pending() failed: try it again next time. */
void		 bans_retry(struct bans *);

/*
 * At start: the bans the store says are in force go back into the table,
 * without being announced again (bans_load: how many).  Then, for a
 * backend that cannot replace its sets at once, its own list (entries, n;
 * NULL if it cannot list) is compared (bans_reconcile): bans missing
 * there are queued again with their remaining time, entries the store
 * does not know are queued for removal.
 */
int		 bans_load(struct bans *, int64_t now);
void		 bans_reconcile(struct bans *, int64_t now,
		    const struct fw_entry *entries, size_t n);
/*
 * Every ban in force as one batch (for fw_replace()), the queue left as it
 * is; the array is the table's, valid until the next call.
 */
size_t		 bans_all(struct bans *, int64_t now, struct fw_op **ops);
/*
 * At start, after bans_load(): the backend's elements (entries, n) that
 * no ban in force has become bans, with their remaining time, marked
 * unsaved (made while the store could not be written: the restore must
 * not take them out).  Those without a timeout, never-a-weapon or
 * overlapping a banned network are left out.  How many.
 */
int		 bans_adopt(struct bans *, const struct fw_entry *entries,
		    size_t n, int64_t now);
/*
 * After each commit of the store: the bans written since that it lost are
 * marked unsaved, and the unsaved ones are written again when their time
 * comes (see ban.c).  Returns when to call again (us, wall clock;
 * INT64_MAX: nothing waits).
 */
int64_t		 bans_persist(struct bans *, int64_t now);
/* Why the last attempt to save failed ("database or disk is full"); ""
 * if nothing waits. */
const char	*bans_save_error(const struct bans *);
/* How many bans in force entries (n) lacks, or holds on fewer ports. */
size_t		 bans_missing(struct bans *, const struct fw_entry *entries,
		    size_t n);
/*
 * For the firewall watcher: 1 if a ban in force with more than a moment
 * left is at a (interval 0: the address itself; 1: any prefix beginning
 * there).
 */
int		 bans_holds(struct bans *, const struct addr *a,
		    int interval, int64_t now);

/* Every ban in force, by expiry. */
void		 bans_walk(const struct bans *, void (*cb)(const struct ban *,
		    void *), void *arg);
const struct ban *bans_find(struct bans *, const struct prefix *);
/* 1 if the next flush ends p's sessions (a kill of p is queued). */
int		 bans_kill_queued(const struct bans *, const struct prefix *);
/* The narrowest ban in force that holds address a, or NULL. */
const struct ban *bans_covering(struct bans *, const struct addr *a,
		    int64_t now);
void		 bans_get_stats(const struct bans *, struct ban_stats *);

/* The time left of b at now, to the second, as "9m58s"; returns buf. */
char		*ban_fmt_left(const struct ban *, int64_t now, char *buf,
		    size_t size);

/* JSON for one ban: address (with /len), rule, reason, since, expires,
 * count, source, throttled, scope, ports. */
void		 ban_json(FILE *, const struct ban *);

/* Its counters, for status and metrics (obj: the struct bans). */
struct status_group;
extern const struct status_group bans_status_group;

#endif /* BAN_H */
