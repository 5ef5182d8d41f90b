/*
 * The alerts' private parts, shared by the sinks and their queues
 * (alert.c) and the messages' formatting (alert_fmt.c): the message every
 * sink is handed, a sink with its digest window, and the set of sinks.
 * alert.c calls alert_fmt.c, never the other way round: formatting only
 * reads a sink (its configuration, its digest's counts) and writes text.
 */
#ifndef ALERT_INT_H
#define ALERT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "conf.h"
#include "fw.h"
#include "log.h"
#include "verdict.h"

struct alert_xmpp;
struct http;
struct loop;
struct loop_timer;

#define ALERT_TEXT_MAX		3072	/* a message's text, bytes */
#define ALERT_BODY_MAX		(16 * 1024)
#define ALERT_TOP		32	/* prefixes counted in a digest */
#define ALERT_TOP_SHOWN		5	/* ... and named in it */
#define ALERT_HOST_MAX		64
#define ALERT_SHOWN_MAX		160	/* a URL as status shows it */

/* Kinds of ban-like events a digest counts. */
enum alert_kind {
	ALERT_K_BAN,
	ALERT_K_ESCALATION,
	ALERT_K_EXTENDED,
	ALERT_K_UNBAN,
	ALERT_K_EXPIRED,
	ALERT_K_MAX
};

/* One event, ready for every sink. */
struct alert_msg {
	enum conf_alert_event	 ev;
	int			 sev;		/* enum conf_severity */
	const char		*name;		/* "ban", "digest", ... */
	int64_t			 time;		/* us since epoch */
	int			 has_ban;
	struct prefix		 prefix;
	const char		*rule;
	char			 reason[VERDICT_REASON_MAX];
	const char		*scope;		/* "services", "proxy" */
	char			 ports[FW_PORTS_STRLEN]; /* the ban drops */
	int64_t			 duration;	/* us; 0: none */
	int64_t			 expires;	/* us; 0: none */
	uint64_t		 count;		/* nth ban; digest: bans */
	const struct alert_sink	*digest;	/* a digest of this sink */
	char			 text[ALERT_TEXT_MAX];
};

struct alert_top {
	struct prefix	 prefix;
	uint32_t	 count;		/* at most this many ... */
	uint32_t	 err;		/* ... of which this many may be
					 * another's (the slot's count when
					 * taken over): count - err is sure */
	enum verdict_rule rule;		/* of the latest */
	char		 reason[VERDICT_REASON_MAX];
};

struct alert_sink {
	struct alerts		*alerts;
	const struct conf_alert	*ca;
	struct http		*http;		/* NULL for xmpp */
	struct alert_xmpp	*xmpp;		/* type xmpp, else NULL */
	char			 shown[ALERT_SHOWN_MAX]; /* scheme://host/... */
	char			*matrix_base;	/* url without a final '/' */
	uint64_t		 txn;		/* Matrix transaction ids */

	/* The digest window. */
	int64_t			 win_start;	/* us; 0: none open */
	int			 storm;		/* hold everything */
	uint32_t		 win_events;
	uint32_t		 win_held;
	uint32_t		 kinds[ALERT_K_MAX];
	uint32_t		 rules[VERDICT_RULE_MAX];
	struct alert_top	 top[ALERT_TOP];
	int			 ntop;
	int64_t			 win_end;	/* of the digest being sent */

	uint64_t		 events, sent, failed, dropped, cancelled;
	uint64_t		 digests, digested;
	struct log_ratelimit	 rl_fail;	/* warnings: not delivered */
	struct log_ratelimit	 rl_drop;	/* ... dropped */
	char			 last_error[128];
};

struct alerts {
	struct loop		*loop;
	struct loop_timer	*timer;
	struct alert_sink	**sinks;
	int			 nsinks;
	char			 host[ALERT_HOST_MAX];
	int64_t			 started;	/* us, for Matrix txn ids */

	uint64_t		 overruns_seen;	/* counter last polled */
	uint64_t		 overruns_new;	/* not told yet */
	int64_t			 overrun_sent;	/* when last told */
	int			 overrun_primed;
	int64_t			 store_err_sent; /* when last told; 0: the
					 * bans are saved */
};

/*
 * alert_fmt.c.  Text helpers write into the caller's buffer of size bytes,
 * cut to fit, and return it.
 */
/* "2nd", "11th", "23rd". */
const char	*alert_ordinal(uint64_t n, char *buf, size_t size);
/* A span for people in its two largest units: "10m", "1h30m", "45s". */
const char	*alert_span(int64_t us, char *buf, size_t size);
/* "12:34 UTC" on now's day, else "2026-11-30 12:34 UTC". */
const char	*alert_clock(int64_t t, int64_t now, char *buf, size_t size);
/* Appends to a fixed buffer, cutting (never overrunning) at its end. */
void		 alert_cat(char *buf, size_t size, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* Replaces each occurrence of secret (3 bytes or more) in s by "***". */
void		 alert_scrub(char *s, const char *secret);
/* The URL as status and logs show it: scheme and host, no path. */
void		 alert_url_shown(const char *url, char *buf, size_t size);
/* m as sk's dialect wants it (Slack, Discord, Matrix, JSON, a template),
 * written to fp; the caller checks the stream and the length. */
void		 alert_body(FILE *fp, const struct alert_sink *sk,
		    const struct alert_msg *m);

#endif /* ALERT_INT_H */
