/*
 * The tracker: per-address and per-network state in a bounded table, and
 * the rules that turn it into verdicts.
 *
 * track_event() is the detection step of the pipeline: it takes one event,
 * updates the state of the event's address and of its aggregated network
 * (IPv4 /24, IPv6 /64 by default), and checks the limits of the event's
 * service (max_concurrent, max_new, karma), with [override] networks
 * raising them and [allow] networks marking verdicts as never to be
 * enforced.  Pure: no I/O, no clock; time comes from the event.
 *
 * Memory is a setting: when the table is full the least recently seen
 * entry is evicted and counted, so a flood of spoofed sources cannot grow
 * it.
 */
#ifndef TRACK_H
#define TRACK_H

#include <stdint.h>

#include "addr.h"
#include "event.h"
#include "verdict.h"

struct conf;
struct track;

struct track_stats {
	uint64_t	 entries;	/* in use now */
	uint64_t	 capacity;
	uint64_t	 evictions;
	uint64_t	 events;	/* events applied */
	uint64_t	 ignored;	/* not for the tracker: log kinds, no
					 * address, no service or no slot */
	uint64_t	 verdicts;
	uint64_t	 entry_bytes;	/* memory per entry */
	uint64_t	 account_sets_taken;	/* account sets taken back from
					 * an entry, the pool being full */
};

/* A snapshot of one entry, for status and reports ("who is near a limit"). */
struct track_view {
	struct prefix	 prefix;
	const char	*service;
	uint32_t	 live;		/* connections open now */
	uint32_t	 halfopen;	/* SYN seen, handshake not completed */
	uint64_t	 new_in_window;	/* for max_new */
	uint32_t	 short_lived;	/* closes sooner than short_lived */
	uint32_t	 max_concurrent;	/* limits in force */
	uint32_t	 max_new;
	int64_t		 karma_credit;	/* bytes left; may be negative */
	int64_t		 last_seen;	/* us */
};

struct track	*track_new(uint32_t capacity, uint32_t seed);
void		 track_free(struct track *);
/* Applies ev; calls cb for every limit it makes an entry break (cb must
 * not call back into the tracker; the verdict lives for the call). */
void		 track_event(struct track *, const struct conf *,
		    const struct event *ev, verdict_cb, void *arg);
/*
 * Whether address a proved itself by conntrack: a live connection to a
 * service now, or a completed handshake to one no earlier than window
 * before time (us).  Nothing later is too late: a flow found by a table
 * dump after an overrun is newer than the line it corroborates.
 */
int		 track_connected(const struct track *, const struct addr *a,
		    int64_t time, int64_t window);
/*
 * The distinct accounts that logged in from host address a in svc's
 * window (into *window, us) as the detection counts them
 * (rule_limits_accounts()), at now; read only.  0 if none or unknown.
 */
struct conf_service;
uint32_t	 track_accounts(const struct track *, const struct conf *,
		    const struct conf_service *, const struct addr *a,
		    int64_t now, int64_t *window);
/* Calls cb for each entry and service with any state (status, reports). */
void		 track_walk(struct track *, const struct conf *, int64_t now,
		    void (*cb)(const struct track_view *, void *), void *arg);
void		 track_get_stats(const struct track *, struct track_stats *);

/*
 * Rebuilding windows from events that happened before now (the store's,
 * at a start or a reload): the windows of new connections, failed logins
 * and registrations are refilled, nothing is judged.
 *
 * track_rebuild_begin() restarts, empty, every window in use whose length
 * under conf differs from its own (a reload changed it) and returns which
 * kinds of events those windows need (TRACK_REBUILD_*; 0 for a fresh
 * tracker).  track_rebuild_event() counts ev (CONN_OPEN not found live at
 * start, AUTH_FAIL, REGISTER; others are ignored) in the windows of its
 * host and network that are being refilled: one restarted by begin or
 * not in use yet; a window in use already holds what the store has and is
 * left alone, so nothing counts twice.  Live and half-open counts and
 * karma are never touched (conntrack's table gives them at start).  Events
 * may come in any order.  track_rebuild_verdict() makes v, a verdict
 * issued before now, a standing offence again, so that a limit still
 * broken issues no second verdict before its cool-down, as if there had
 * been no restart.  track_rebuild_end() ends the rebuild and returns how
 * many hosts had windows refilled.
 */
#define TRACK_REBUILD_CONNS	0x1
#define TRACK_REBUILD_AUTH	0x2
#define TRACK_REBUILD_REGISTER	0x4
#define TRACK_REBUILD_ACCOUNTS	0x8	/* AUTH_OK: at start only (a set
					 * keeps its accounts at a reload) */
unsigned int	 track_rebuild_begin(struct track *, const struct conf *,
		    int64_t now);
void		 track_rebuild_event(struct track *, const struct conf *,
		    const struct event *ev);
void		 track_rebuild_verdict(struct track *, const struct conf *,
		    const struct verdict *v);
uint64_t	 track_rebuild_end(struct track *);

/* Its counters, for status and metrics (obj: the struct track). */
struct status_group;
extern const struct status_group track_status_group;

#endif /* TRACK_H */
