/*
 * Rules: the limit checks behind the tracker's verdicts, as pure
 * functions.  The tracker (track.c) owns the state and decides when a
 * verdict is new; this module only answers "which limits apply to this
 * host or network" and "does this state break them", and writes the
 * verdict a person reads.  No I/O, no clock, no state of its own.
 */
#ifndef RULE_H
#define RULE_H

#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "verdict.h"

struct verdict;

/*
 * The limits in force for one host or network under one service.  The
 * account-aware part raises max_concurrent and max_new (when they are
 * on) by an allowance per established account, accounts being at most
 * the service's account_max (net_account_max); with accounts 0 the
 * limits are the base ones.
 */
struct rule_limits {
	uint32_t	 max_concurrent;	/* live connections; 0: none */
	struct conf_rate max_new;		/* count 0: none */
	struct conf_karma karma;		/* rate 0: off (networks: off) */
	uint32_t	 accounts;		/* established accounts, capped */
	uint32_t	 account_concurrent;	/* allowance per account */
	uint32_t	 account_new;		/* allowance per account */
};

/* Who is judged, for which service, at the time of which event. */
struct rule_subject {
	const struct conf		*conf;
	const struct conf_service	*svc;
	const struct prefix		*prefix; /* a host, or a network */
	int64_t				 time;	 /* us, of the event */
};

/*
 * The limits for prefix (a host when its length is the family's full
 * length, else a network) under svc: the service's own (net_max_* for a
 * network), replaced by those of the most specific [override] network
 * that contains prefix, where the override sets them.
 */
void	 rule_limits(const struct conf *, const struct conf_service *,
	    const struct prefix *, struct rule_limits *);
/* The most specific [override] containing prefix (the first in the file
 * among equals), or NULL. */
const struct conf_override *rule_override(const struct conf *,
	    const struct prefix *);
/*
 * Raises lim (from rule_limits()) for accounts distinct accounts seen
 * logging in from prefix: the allowances of svc, accounts capped at its
 * account_max (net_account_max for a network).
 */
void	 rule_limits_accounts(const struct conf_service *,
	    const struct prefix *, uint32_t accounts, struct rule_limits *);
/* The limits with the accounts' allowances added, saturating: what
 * rule_concurrency() and rule_churn() compare with.  0 stays 0 (off). */
uint64_t rule_max_concurrent(const struct rule_limits *);
uint64_t rule_max_new(const struct rule_limits *);
/* 1 if verdicts about prefix must never be enforced: it overlaps an
 * [allow] network or loopback. */
int	 rule_allowlisted(const struct conf *, const struct prefix *);

/*
 * The checks.  Each returns 1 and fills *v when the state breaks the
 * limit, 0 when it does not (or the limit is off) and leaves *v alone.
 */
int	 rule_concurrency(const struct rule_subject *,
	    const struct rule_limits *, uint32_t live, struct verdict *v);
/* count: new connections seen within the max_new window. */
int	 rule_churn(const struct rule_subject *, const struct rule_limits *,
	    uint64_t count, struct verdict *v);
/* credit: bytes left (negative: over budget); spent: bytes taken in the
 * span (us) since the budget was last full. */
int	 rule_karma(const struct rule_subject *, const struct rule_limits *,
	    int64_t credit, uint64_t spent, int64_t span, struct verdict *v);

/*
 * Failed logins (VERDICT_AUTH) or registrations (VERDICT_REGISTER) of an
 * address or network over a window, from the server's log: count against
 * lim.  s->svc may be NULL.  1 and *v filled if the limit is broken.
 */
int	 rule_log(const struct rule_subject *, enum verdict_rule,
	    const struct conf_rate *lim, uint64_t count, struct verdict *v);

#endif /* RULE_H */
