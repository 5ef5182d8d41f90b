/*
 * The pipeline: the one path every event takes, whatever its source.
 *
 *	event -> store (connection rows, log events)
 *	      -> rollups (per address and hour, for reports)
 *	      -> tracker and rules -> verdicts -> store, log, verdict hook
 *
 * The daemon feeds it from conntrack and log files, replay from files,
 * tests from arrays; all of them get the same verdicts for the same
 * events.  Nothing here reads the clock: time comes from the events.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <stdint.h>

#include "event.h"
#include "verdict.h"

struct conf;
struct rollup;
struct store;
struct track;
struct pipeline;

struct pipeline_stats {
	uint64_t	 events;	/* events taken */
	uint64_t	 conns;		/* connections ended after a handshake
					 * (one row each in the store) */
	uint64_t	 verdicts;
	uint64_t	 allowlisted;	/* verdicts never to be enforced */
	uint64_t	 held;		/* auth verdicts held in an outage */
	uint64_t	 uncorroborated;	/* log events naming an address
					 * that never connected: not judged */
	uint64_t	 proxied;	/* log events judged as through a
					 * proxy */
	uint64_t	 kinds[EVENT_KIND_MAX];		/* events by kind */
	uint64_t	 rules[VERDICT_RULE_MAX];	/* verdicts by rule */
};

/*
 * A pipeline over a configuration and a store (NULL: record nothing, as
 * replay without --db).  seed keys the hash tables; the daemon passes a
 * random one so no attacker can aim at collisions.
 */
struct pipeline	*pipeline_new(const struct conf *, struct store *,
		    uint32_t seed);
void		 pipeline_free(struct pipeline *);
/*
 * Told, after each login from a host, of its level in each service whose
 * kernel caps rise with accounts (kcap_acct_on()), with the window as
 * duration: the caller moves it there (fw_caps()).  NULL: nobody.
 */
struct fw_cap;
typedef void	(*pipeline_caps_cb)(const struct fw_cap *, void *arg);
void		 pipeline_set_caps_cb(struct pipeline *, pipeline_caps_cb,
		    void *arg);
/* Switches to a reloaded configuration; state is kept. */
void		 pipeline_set_conf(struct pipeline *, const struct conf *);
/* A verdict from outside the tracker (kcap.c: a cap hammered), logged,
 * stored and passed on as the tracker's are (a verdict_cb; arg: the
 * pipeline). */
void		 pipeline_verdict_add(const struct verdict *, void *arg);
void		 pipeline_set_verdict_cb(struct pipeline *,
		    verdict_cb, void *arg);
/* Where the verdicts of authenticated federation peers go as well (never
 * banned, they are told: the alerts in the daemon). */
void		 pipeline_set_peer_cb(struct pipeline *, verdict_cb,
		    void *arg);
/* Told of each handshake conntrack reports (CONN_OPEN), before it is
 * judged: enforcement ends those of banned sources. */
void		 pipeline_set_open_cb(struct pipeline *, event_cb, void *arg);
/* Every event the pipeline judges (log lines once corroborated) also
 * goes to cb: surge mode's count (surge_event()).  NULL: none. */
void		 pipeline_set_tap_cb(struct pipeline *, event_cb, void *arg);
/*
 * Corroboration (on where conntrack is, off by default): a log event that
 * would be judged (a failed login, a registration) is judged only if its
 * address has a live connection or completed a handshake to a service port
 * within [auth] corroborate before it; else, if a configured proxy has,
 * it is judged as through the proxy (EVENT_F_PROXIED); else it is counted
 * as uncorroborated and dropped.  Conntrack events must come through the
 * same pipeline, in time order with the log events.
 */
void		 pipeline_set_corroborate(struct pipeline *, int on);
/* The kernel caps' reader (NULL: none): a concurrency verdict of an
 * address it let past its cap (kcap_exempt()) is enforced here. */
struct kcap;
void		 pipeline_set_kcap(struct pipeline *, struct kcap *);
/* Takes one event (an event_cb: arg is the pipeline). */
void		 pipeline_event(const struct event *, void *arg);
/* What pipeline_rebuild() did. */
struct pipeline_rebuild {
	uint64_t	 addresses;	/* hosts whose windows were refilled */
	uint64_t	 events;	/* rows read back and counted */
	uint64_t	 verdicts;	/* standing offences restored */
	int		 capped;	/* a kind had more than
					 * PIPELINE_REBUILD_MAX rows in its
					 * window: the newest were read */
};
#define PIPELINE_REBUILD_MAX	2000000		/* rows per kind */

/*
 * Refills the tracker's windows from the store's connections, failed
 * logins and registrations of each kind's longest window before now, so
 * that an attacker whose attempts straddle a restart is judged on all of
 * them; nothing is judged or recorded again (see track_rebuild_begin()).
 * At start (start = 1) every window is refilled and the verdicts of those
 * windows become standing offences again; at a reload (0), after
 * pipeline_set_conf(), only windows whose length changed.  0, or -1 with
 * *cause (the windows keep what was read).  No store: nothing to do.
 */
int		 pipeline_rebuild(struct pipeline *, int64_t now, int start,
		    struct pipeline_rebuild *, char **cause);
/* Writes what is summed in memory (rollups) to the store; the daemon
 * calls it every minute and at stop. */
void		 pipeline_flush(struct pipeline *);
/* The same in steps under a time budget (rollup_flush_step): 1 when the
 * round begun by the call with begin set is done. */
struct loop_budget;
int		 pipeline_flush_step(struct pipeline *, int begin,
		    struct loop_budget *);
struct track	*pipeline_track(struct pipeline *);
/* Its rollups (the kernel caps' refusals are counted there too). */
struct rollup	*pipeline_rollup(struct pipeline *);
/* The auth outage detector's state (alerts poll it for new episodes). */
struct outage_stats;
struct status_group;
void		 pipeline_outage_stats(const struct pipeline *,
		    struct outage_stats *);
void		 pipeline_get_stats(const struct pipeline *,
		    struct pipeline_stats *);

/* Its counters, for status and metrics (obj: the struct pipeline). */
extern const struct status_group pipeline_status_group;

#endif /* PIPELINE_H */
