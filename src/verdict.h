/*
 * struct verdict: what a rule decided about an address or a network.
 * Rules (rule.c, through the tracker) produce verdicts; the pipeline
 * records and logs them and hands them to its verdict callback, which in
 * the daemon is enforcement (enforce.c), in replay the printer.  A verdict
 * is a plain value that owns no memory beyond its own fields.
 */
#ifndef VERDICT_H
#define VERDICT_H

#include <stdint.h>

#include "addr.h"

enum verdict_rule {
	VERDICT_CONCURRENCY,	/* too many live connections */
	VERDICT_CHURN,		/* too many new connections per window */
	VERDICT_KARMA,		/* byte budget exhausted */
	VERDICT_AUTH,		/* authentication failures */
	VERDICT_REGISTER,	/* registrations */
	VERDICT_MANUAL,		/* an operator's ban */
	VERDICT_RULE_MAX
};

#define VERDICT_REASON_MAX	160

struct verdict {
	int64_t		 time;		/* time of the event that tipped it */
	struct prefix	 prefix;	/* a host (/32, /128) or a network */
	enum verdict_rule rule;
	const char	*service;	/* service name; NULL if none; points
					 * into the configuration */
	uint64_t	 observed;	/* the count or bytes that broke it */
	uint64_t	 limit;		/* the limit in force */
	int64_t		 window;	/* us, for rate rules; 0 otherwise */
	int		 allowlisted;	/* matched [allow]: record, never ban */
	int		 held;		/* an auth verdict during an auth
					 * backend outage: record, never ban */
	int		 capped;	/* a limit the kernel refuses itself
					 * (kcap.c): record, never ban */
	int		 peer;		/* an s2s limit broken by a federation
					 * peer that authenticated its stream:
					 * alerted about, never banned (set
					 * with allowlisted) */
	int		 proxied;	/* from log lines that came through a
					 * configured proxy: the ban drops
					 * [allow] proxy_ports (every port by
					 * default), not the services' */
	char		 reason[VERDICT_REASON_MAX];	/* for people, e.g.
			 * "churn: 131 new c2s connections in 1h (limit 120)" */
};

/* Where verdicts go (arg: the receiver's). */
typedef void	(*verdict_cb)(const struct verdict *, void *arg);

/* "concurrency", "churn", "karma", "auth", "register", "manual"; NULL for
 * an out-of-range rule. */
const char	*verdict_rule_name(enum verdict_rule);
/* The same by index, for a counter's label (a status_field's by_name). */
const char	*verdict_rule_label(int);
/* The rule of that name; -1 if there is none. */
int		 verdict_rule_parse(const char *);

#endif /* VERDICT_H */
