/*
 * Conntrack: the kernel's view of every TCP connection to the watched
 * ports, turned into struct events.
 *
 * Two layers:
 *  - ctflow: a bounded table of the flows seen, and the state machine that
 *    turns conntrack messages (struct ct_msg) into connection events: SYN
 *    seen, handshake completed (open), first FIN/RST (close), counter
 *    deltas (bytes), DESTROY (end).  Pure: no I/O, time from the messages,
 *    so replay and tests drive exactly what the daemon runs.
 *  - ct: the live source.  libnetfilter_conntrack on a netlink socket in
 *    the event loop, a periodic filtered dump for the counters of live
 *    flows (karma), and a resync by dump after a netlink overrun.
 * ct_text_parse() reads the text that `conntrack -E -o timestamp,extended,id`
 * prints, for replay.
 */
#ifndef CT_H
#define CT_H

#include <stdint.h>

#include "addr.h"
#include "event.h"

struct conf;
struct event;
struct loop;
struct nfct_handle;

enum ct_msg_type {
	CT_MSG_NEW,
	CT_MSG_UPDATE,
	CT_MSG_DESTROY,
	CT_MSG_DUMP		/* an entry read from a table dump */
};

/* TCP states as the kernel numbers them (nf_conntrack_tcp.h). */
enum ct_tcp_state {
	CT_TCP_NONE = 0,
	CT_TCP_SYN_SENT,
	CT_TCP_SYN_RECV,
	CT_TCP_ESTABLISHED,
	CT_TCP_FIN_WAIT,
	CT_TCP_CLOSE_WAIT,
	CT_TCP_LAST_ACK,
	CT_TCP_TIME_WAIT,
	CT_TCP_CLOSE,
	CT_TCP_SYN_SENT2,
	CT_TCP_UNKNOWN = 0xff
};

#define CT_STATUS_SEEN_REPLY	0x02	/* IPS_SEEN_REPLY */
#define CT_STATUS_ASSURED	0x04	/* IPS_ASSURED */

/* One conntrack message, whatever produced it (netlink, text, a test). */
struct ct_msg {
	enum ct_msg_type type;
	int64_t		 time;		/* when reported, us since epoch */
	uint32_t	 id;		/* conntrack id; 0: unknown (then the
					 * tuple identifies the flow) */
	struct addr	 src;		/* original direction: the client */
	struct addr	 dst;		/* ... the server */
	uint16_t	 sport;
	uint16_t	 dport;		/* the service port */
	uint8_t		 tcp_state;	/* enum ct_tcp_state */
	uint32_t	 status;	/* CT_STATUS_* bits */
	int		 has_counters;	/* accounting attributes present */
	uint64_t	 bytes_orig;	/* client -> server */
	uint64_t	 pkts_orig;
	uint64_t	 bytes_reply;	/* server -> client */
	uint64_t	 pkts_reply;
	int64_t		 start;		/* ct timestamp start, us; 0: none */
	int64_t		 stop;		/* ct timestamp stop, us; 0: none */
};

/*
 * ctflow: the flow table and state machine.
 */
struct ctflow;

struct ctflow_stats {
	uint64_t	 msgs;		/* messages applied */
	uint64_t	 ignored;	/* not TCP to a watched port */
	uint64_t	 flows;		/* flows in the table now */
	uint64_t	 evicted;	/* flows dropped because it was full */
	uint64_t	 halfopen;	/* flows seen in SYN state, not open */
	uint64_t	 resync_closed;	/* flows a dump found gone */
	uint64_t	 resync_opened;	/* flows a dump found unknown */
	uint64_t	 unknown;	/* DESTROY of a flow not in the table
					 * (evicted, or lived inside a gap) */
	uint64_t	 local;		/* the host's own outgoing flows: not
					 * followed */
};

/* A table for at most capacity flows (the oldest idle are evicted). */
struct ctflow	*ctflow_new(uint32_t capacity, uint32_t seed);
void		 ctflow_free(struct ctflow *);
/* Applies one message; emits 0..n events through cb.  The configuration
 * says which ports are watched and to which service they belong. */
void		 ctflow_apply(struct ctflow *, const struct conf *,
		    const struct ct_msg *, event_cb, void *arg);
/* Whether applying a dump's message, of which only the tuple and id are
 * set, could do anything: its port is watched or its flow in the table.
 * If not, it is counted as ctflow_apply() would count it. */
int		 ctflow_wanted(struct ctflow *, const struct conf *,
		    const struct ct_msg *);
/* A dump (at start or after an overrun) is applied as CT_MSG_DUMP messages
 * between these two calls; resync_end closes every flow the dump did not
 * contain (events flagged EVENT_F_RESYNC).  first: the dump at start, whose
 * flows count as EVENT_F_PREEXISTING, not new. */
void		 ctflow_resync_begin(struct ctflow *, int first);
void		 ctflow_resync_end(struct ctflow *, const struct conf *,
		    int64_t now, event_cb, void *arg);
void		 ctflow_get_stats(const struct ctflow *, struct ctflow_stats *);
/* The host's own addresses (ownaddr.h, the live list; not owned; NULL:
 * none).  A new flow from one of them to an address that is not is not
 * followed: it is the server's own outgoing connection (s2s to a remote
 * 5269), not a client. */
struct ownaddr;
void		 ctflow_set_own(struct ctflow *, const struct ownaddr *);

/*
 * ct_text_parse: one line of `conntrack -E -o timestamp,extended[,id]`
 * output ("[1732848000.123456]  [NEW] ipv4 2 tcp 6 120 SYN_SENT src=...").
 * 0 and *msg filled; 1 for a line that is valid but not a TCP event (UDP,
 * a summary line); -1 for a malformed line.  Every conntrack output
 * format parses: msg->time is 0 without -o timestamp, msg->id 0 without
 * -o id, and a `conntrack -L` line (no [TYPE]) is a CT_MSG_DUMP.
 */
int		 ct_text_parse(const char *line, struct ct_msg *msg);

/*
 * ct: the live netlink source.
 */
struct ct;

struct ct_stats {
	struct ctflow_stats flow;
	uint64_t	 msgs;		/* netlink messages received */
	uint64_t	 dropped;	/* messages the kernel dropped on the
					 * event socket (its own count) */
	uint64_t	 dropped_ownaddr; /* ... on ownaddr's socket */
	uint64_t	 overruns;	/* ENOBUFS: events were lost (one for
					 * every run of drops) */
	uint64_t	 resyncs;	/* table dumps after an overrun */
	uint64_t	 dumps;		/* periodic dumps (counters, drift) */
	uint64_t	 last_dump_us;	/* how long the last dump blocked */
	uint64_t	 last_dump_flows; /* entries it read, all protocols */
	uint64_t	 rcvbuf;	/* socket receive buffer now, bytes */
	int		 acct;		/* byte counters: 1 on, 0 off, -1 ? */
	int		 events_sysctl;	/* nf_conntrack_events: 0/1/2, -1 ? */
};

/*
 * Opens the netlink sockets (subscribed from here on: nothing falls
 * between this and the first dump) and sizes the receive buffer; events
 * will go to cb.  NULL with *cause if conntrack cannot be reached (no
 * CAP_NET_ADMIN, no nf_conntrack_netlink).
 */
struct ct	*ct_open(struct loop *, const struct conf *, event_cb,
		    void *arg, char **cause);
/*
 * Reads the current table (so live connections count from the start) and
 * registers with the loop.  0, or -1 and *cause.
 */
int		 ct_start(struct ct *, char **cause);
/* Takes a new configuration (watched ports, intervals) after a reload. */
void		 ct_set_conf(struct ct *, const struct conf *);
/* The host's own addresses, for the flow table (see ctflow_set_own). */
void		 ct_set_own(struct ct *, const struct ownaddr *);

/*
 * Privilege separation.  Unprivileged, the daemon can read netlink but
 * not send conntrack requests (CAP_NET_ADMIN is checked on each), so it
 * asks the helper, which holds the same sockets: CT_PRIV_DUMP (val: the
 * family) sends a dump request on the dump socket, CT_PRIV_RCVBUF (val:
 * bytes) forces the event socket's buffer.  fn returns 0 or -1.
 */
#define CT_PRIV_DUMP	1
#define CT_PRIV_RCVBUF	2
typedef int	(*ct_priv_fn)(void *arg, int what, uint64_t val);
void		 ct_set_priv(struct ct *, ct_priv_fn, void *arg);
/* The sockets the helper must hold (the dump one opened now). */
struct nfct_handle *ct_dump_handle(struct ct *);
int		 ct_event_fd(const struct ct *);
/* The flow table, for ending a ban's sessions (ctflow.h); freed by
 * ct_close(). */
const struct ctflow *ct_flows(const struct ct *);
void		 ct_close(struct ct *);
void		 ct_get_stats(const struct ct *, struct ct_stats *);

/* Its counters, for status and metrics (obj: the struct ct); without
 * conntrack, the off group (obj NULL) says so. */
struct status_group;
extern const struct status_group ct_status_group;
extern const struct status_group ct_status_off_group;

#endif /* CT_H */
