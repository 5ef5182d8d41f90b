/*
 * Internals of replay, shared by its files and by nothing else: replay.c
 * (the sources, their merge, the output), replay_ban.c (what the daemon's
 * bans would have done to the input that follows them), replay_kcap.c
 * (the kernel caps, raised by account levels) and replay_surge.c (surge
 * mode).
 */
#ifndef REPLAY_INT_H
#define REPLAY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ban.h"
#include "event.h"
#include "verdict.h"

struct conf;
struct replay_bans;

/* What a verdict came to. */
enum replay_outcome {
	REPLAY_BANNED,		/* a new ban */
	REPLAY_EXTENDED,	/* a ban in force made longer */
	REPLAY_UNBANNED,	/* never banned: allowlisted, held, refused */
	REPLAY_REPEAT		/* changed nothing: inside a ban in force
				 * already, for as long or longer */
};

struct replay_ban_stats {
	uint64_t	 bans;		/* issued */
	uint64_t	 escalated;	/* of them, repeats (count > 1) */
	uint64_t	 extended;
	uint64_t	 unbanned;	/* verdicts never enforced */
	uint64_t	 capped;	/* of them, at a limit the kernel
					 * caps refuse (no ban) */
	uint64_t	 repeats;	/* verdicts that changed nothing */
	uint64_t	 refused;	/* connections a ban kept out */
	uint64_t	 lines;		/* log events a ban kept out */
	uint64_t	 killed;	/* live flows a ban ended */
	uint64_t	 forgotten;	/* refused flows forgotten before their
					 * end, or prefixes' earlier bans:
					 * a table was full */
};

/* The daemon's ban table, without a store or a firewall; seed keys the
 * tables of refused flows and earlier bans. */
struct replay_bans *replay_bans_new(const struct conf *, uint32_t seed);
void		 replay_bans_free(struct replay_bans *);
/* a is one of the host's own addresses (never banned). */
void		 replay_bans_own(struct replay_bans *, const struct addr *);
/*
 * Before ev goes to the pipeline, at its time: the bans run out by then
 * are lifted, then 1 if the kernel would have kept ev out (a flow that
 * began inside a ban in force, a log line naming an address inside one).
 */
int		 replay_bans_drop(struct replay_bans *, const struct event *);
/*
 * The kernel's side of killing ([ban] kill_established): after a verdict,
 * each prefix whose live sessions the daemon would end, and when (0 when
 * none is left); each flow so ended (replay_bans_killed) has its later
 * messages in the capture dropped (replay_bans_msg_drop: 1, before the
 * flow machine; its DESTROY forgets it).
 */
int		 replay_bans_next_kill(struct replay_bans *, struct prefix *,
		    int64_t *when);
void		 replay_bans_killed(struct replay_bans *, const struct addr *,
		    uint16_t sport, uint32_t id);
struct ct_msg;
int		 replay_bans_msg_drop(struct replay_bans *,
		    const struct ct_msg *);
/* A verdict becomes a ban as in the daemon, at its time; *b is the ban
 * (for REPLAY_BANNED and REPLAY_EXTENDED). */
enum replay_outcome replay_bans_verdict(struct replay_bans *,
		    const struct verdict *, struct ban *b);
void		 replay_bans_get_stats(const struct replay_bans *,
		    struct replay_ban_stats *);

/*
 * Surge mode (replay_surge.c): the daemon's detection, and the kernel's
 * tight cap modelled.  Each event the pipeline judges goes to
 * replay_surge_event(), which says 1 if the cap would have refused it (a
 * handshake: it is still judged, as conntrack reports it); capped 0: the
 * connection never meets the surge's rule (the kernel caps refused it,
 * or sent it to a level's or an override's chain, or never cap it).  Surges are
 * printed as they start and end (json: as objects of their own).
 */
struct replay_surge;
struct replay_surge *replay_surge_new(const struct conf *, int json);
void		 replay_surge_free(struct replay_surge *);
int		 replay_surge_event(struct replay_surge *,
		    const struct event *, int capped);
void		 replay_surge_get_stats(const struct replay_surge *,
		    uint64_t *surges, uint64_t *refused, uint64_t *addresses);

/*
 * The kernel caps (replay_kcap.c): each handshake of the capture judged
 * by the per-source rules, the address's caps raised to the level its
 * logins earned.  REPLAY_KCAP_PASSED: the service's chain let it in (the
 * surge's rule comes next); LEVEL: a level's or an override's chain did;
 * OUTSIDE: not a capped connection (or not a handshake).
 */
enum replay_kcap_result {
	REPLAY_KCAP_OUTSIDE,
	REPLAY_KCAP_PASSED,
	REPLAY_KCAP_LEVEL,
	REPLAY_KCAP_REFUSED
};

struct replay_kcap_stats {
	uint64_t	 refused[4];	/* by kind: concurrency, churn, and
					 * the network's */
	uint64_t	 raised;	/* let in on a level's chain */
	uint64_t	 addresses;	/* hosts that held a level (while
					 * still in the table) */
	uint64_t	 evicted;	/* a table was full */
};

struct replay_kcap;
struct track;
struct replay_kcap *replay_kcap_new(const struct conf *, uint32_t seed);
void		 replay_kcap_free(struct replay_kcap *);
/* A connection event of the pipeline's (opens are judged, closes leave
 * their sets). */
enum replay_kcap_result replay_kcap_event(struct replay_kcap *,
		    const struct event *);
/* After REPLAY_KCAP_REFUSED: the prefix the refusing rule logs to nflog
 * ("xgcap SERVICE c", kcap.c), for kcap_refusal(), into buf. */
void		 replay_kcap_refusal(const struct replay_kcap *, char *buf,
		    size_t size);
/* After the pipeline took ev, a login (not through a proxy): the levels
 * its accounts in the tracker t earn, as pipeline_caps() says them. */
void		 replay_kcap_login(struct replay_kcap *, const struct track *,
		    const struct event *);
void		 replay_kcap_get_stats(const struct replay_kcap *,
		    struct replay_kcap_stats *);

#endif /* REPLAY_INT_H */
