/*
 * struct event: the one contract between sources (conntrack, log files,
 * replay, tests) and everything downstream (tracker, rules, store).  Nothing
 * after a source knows or cares where an event came from, beyond the
 * 'source' tag kept for reports.
 *
 * An event is a small plain value: it owns no memory.  Strings point into
 * buffers the source keeps alive for the duration of the dispatch call;
 * whoever needs them longer copies them.
 */
#ifndef EVENT_H
#define EVENT_H

#include <stdint.h>
#include <stdio.h>

#include "addr.h"

enum event_kind {
	EVENT_NONE = 0,
	/* connections, from conntrack */
	EVENT_CONN_SYN,		/* a SYN was seen: proves nothing about src */
	EVENT_CONN_OPEN,	/* handshake completed (ESTABLISHED/ASSURED) */
	EVENT_CONN_CLOSE,	/* first FIN/RST state change */
	EVENT_CONN_END,		/* conntrack DESTROY: final byte counters */
	EVENT_CONN_BYTES,	/* periodic counter delta of a live flow */
	/* from XMPP server logs (a log may also report conn_open/close) */
	EVENT_AUTH_FAIL,
	EVENT_AUTH_OK,
	EVENT_REGISTER,
	EVENT_REGISTER_FAIL,
	EVENT_LIMIT_HIT,	/* the server's own rate limiter fired */
	EVENT_S2S_FAIL,
	EVENT_S2S_OK,		/* a remote server authenticated its s2s
				 * stream (dialback, SASL EXTERNAL); user:
				 * its domain */
	EVENT_KIND_MAX
};

enum event_source {
	EVENT_SRC_NONE = 0,
	EVENT_SRC_CONNTRACK,
	EVENT_SRC_LOG,
	EVENT_SRC_REPLAY,
	EVENT_SRC_CONTROL,	/* an operator, through the control socket */
	EVENT_SRC_MAX
};

struct event {
	int64_t		 time;		/* when it happened, us since epoch */
	struct addr	 addr;		/* the remote (client) address */
	uint16_t	 port;		/* local (service) port; 0 if unknown */
	uint16_t	 sport;		/* remote port; 0 if unknown */
	const char	*service;	/* "c2s", "s2s", ...; NULL if unknown */
	enum event_kind	 kind;
	enum event_source source;
	uint64_t	 bytes_in;	/* bytes from the client */
	uint64_t	 bytes_out;	/* bytes to the client */
	uint64_t	 pkts_in;
	uint64_t	 pkts_out;
	int64_t		 start;		/* conn_close/conn_end: when the
					 * handshake completed, us; 0 if n/a */
	int64_t		 duration;	/* open until close, us; 0 if n/a */
	const char	*user;		/* account (log events); may be NULL */
	const char	*origin;	/* log name or "conntrack"; may be NULL */
	uint64_t	 flow;		/* conntrack id or join key; 0 if none */
	uint32_t	 flags;		/* EVENT_F_* */
};

/*
 * Flags on connection events.  They let the tracker keep exact counts
 * without a flow table of its own: ct emits CONN_CLOSE only for flows it
 * reported open, and says on CONN_OPEN/CONN_END whether a CONN_SYN came
 * first, so half-open and live counts never drift.
 */
#define EVENT_F_HANDSHAKE	0x01	/* the flow completed its handshake */
#define EVENT_F_WAS_SYN		0x02	/* a CONN_SYN was emitted for it */
#define EVENT_F_PREEXISTING	0x04	/* found live at start (not "new") */
#define EVENT_F_RESYNC		0x08	/* made up from a table dump after a
					 * gap, not observed as it happened */
#define EVENT_F_PROXIED		0x10	/* a log line whose address never
					 * connected itself, corroborated by
					 * a configured proxy's connection */

/* Where events go, from every source (conntrack, logs, replay) to the
 * pipeline; ev lives for the call only. */
typedef void	(*event_cb)(const struct event *ev, void *arg);

/* Stable lower-case names ("auth_fail", "conn_open", ...) used in
 * configuration, SQL, JSON and logs; NULL for an out-of-range kind. */
const char	*event_kind_name(enum event_kind);
/* The same for a counter's label by index: NULL for EVENT_NONE too (a
 * status_field's by_name). */
const char	*event_kind_label(int);
/* The kind for a name, or EVENT_NONE. */
enum event_kind	 event_kind_parse(const char *);
const char	*event_source_name(enum event_source);

/* Counts per kind, the non-zero ones: {"auth_fail":3,...} in JSON, or
 * "auth_fail 3, register 1" as text. */
void		 event_counts_json(FILE *, const uint64_t counts[EVENT_KIND_MAX]);
void		 event_counts_text(FILE *, const uint64_t counts[EVENT_KIND_MAX]);

#endif /* EVENT_H */
