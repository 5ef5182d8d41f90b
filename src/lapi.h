/*
 * CrowdSec Local API messages: the bodies xmppguard sends (a watcher's
 * login, alerts carrying a ban decision each) and the answers it reads
 * (the login's token, the decision stream), with Go's duration syntax.
 * Pure functions on memory, no I/O: cluster.c sends and receives, the
 * unit tests and the fuzz target call these directly.
 */
#ifndef LAPI_H
#define LAPI_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define LAPI_DECISIONS_MAX	500000	/* per array of a stream answer */
#define LAPI_ANSWER_MAX		(64 * 1024 * 1024)	/* bytes */
#define LAPI_ORIGIN_MAX		32
#define LAPI_SCENARIO_MAX	128
#define LAPI_DURATION_MAX	((int64_t)10 * 366 * 86400 * 1000000)

/* A ban to push: one alert with one decision. */
struct lapi_ban {
	struct prefix	 prefix;
	const char	*rule;		/* "churn", "manual", ... */
	const char	*reason;	/* the alert's message */
	uint32_t	 count;		/* events_count */
	int64_t		 since;		/* us since the epoch */
	int64_t		 expires;	/* us since the epoch */
};

/* A decision as the stream gives it, kept only if it is a ban on an Ip
 * or a Range. */
struct lapi_decision {
	int64_t		 id;
	struct prefix	 prefix;
	int64_t		 duration;	/* us left; <= 0: over */
	char		 origin[LAPI_ORIGIN_MAX];
	char		 scenario[LAPI_SCENARIO_MAX];
};

/* An answer of GET /v1/decisions/stream. */
struct lapi_stream {
	struct lapi_decision *added;	/* "new" */
	size_t		 nadded;
	struct lapi_decision *deleted;
	size_t		 ndeleted;
	size_t		 skipped;	/* not a ban on an Ip or a Range, or
					 * malformed: left out */
};

/* The login body (caller frees). */
char	*lapi_login_body(const char *machine_id, const char *password,
	    size_t *lenp);
/* The token of a login answer (caller frees), or NULL and *cause. */
char	*lapi_login_token(const char *body, size_t len, char **cause);

/* An array of n alerts, one ban decision each, the scenario being
 * prefix followed by the rule, the duration what is left at now (bans
 * already over are left out; *nlive says how many remain).  Caller
 * frees. */
char	*lapi_alerts_body(const struct lapi_ban *, size_t n,
	    const char *scenario_prefix, const char *origin, int64_t now,
	    size_t *lenp, size_t *nlive);

/* Parses a stream answer into s (lapi_stream_free() it after).  0, or -1
 * and *cause: not JSON, not an object, wrong types, too many decisions;
 * a single odd decision is skipped and counted instead. */
int	 lapi_stream_parse(const char *body, size_t len, struct lapi_stream *,
	    char **cause);
void	 lapi_stream_free(struct lapi_stream *);

/* Go's time.Duration text ("3h59m58.5s", "-1.2s", "15m") in us; -1 if
 * it is not one or is beyond LAPI_DURATION_MAX (a negative one is 0). */
int64_t	 lapi_duration_parse(const char *);
/* "Ip" or "Range" and the value, from a scope and value as the LAPI
 * spells them (case aside); -1 if neither or the value is bad. */
int	 lapi_scope_parse(const char *scope, const char *value,
	    struct prefix *);
/* RFC 3339 UTC, second precision, into buf (at least 21 bytes). */
char	*lapi_fmt_time(int64_t t, char *buf, size_t size);

#endif /* LAPI_H */
