/*
 * The conntrack source's insides, shared by its two halves: ct.c (the
 * event stream, the socket's buffer and sysctls, open and close) and
 * ct_dump.c (table dumps, the periodic poll and the resync after an
 * overrun).  Nothing outside them includes this.
 */
#ifndef XG_CT_INT_H
#define XG_CT_INT_H

#include <sys/socket.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ct.h"
#include "ctflow.h"
#include "loop.h"
#include "log.h"
#include "nldrop.h"

#define CT_READ_BUDGET		4096	/* event datagrams per wakeup ... */
#define CT_READ_SLICE_US	LOOP_BUDGET_US	/* ... or this long */
#define CT_BATCH		64	/* datagrams per recvmmsg() */
#define CT_DGRAM_MAX		8192	/* an event is ~300 bytes */
#define CT_RESYNC_DELAY_MS	250	/* let a burst pass before a dump */
#define CT_WARN_INTERVAL_US	(60 * CLOCK_US_PER_SEC)
#define CT_DRAIN_BUDGET		16384	/* ... before and after a dump */
#define CT_DRAIN_MS		1000	/* events after a dump, at most */
#define CT_POLL_GRACE		5	/* dumps of an empty table, then
					 * the poll sleeps */
#define CT_DUMP_BUF		65536	/* a dump's datagrams are <= 32k */
#define CT_DUMP_SLICE_US	LOOP_BUDGET_US	/* per wakeup */
#define CT_SYSCTL_DIR		"/proc/sys/net/netfilter/"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

enum ct_dump_state {
	CT_DUMP_IDLE,
	CT_DUMP_READING,		/* the answer, a slice per wakeup */
	CT_DUMP_DRAINING		/* the events queued meanwhile */
};

struct ct {
	struct loop		*loop;
	const struct conf	*conf;
	event_cb		 cb;
	void			*arg;

	struct nfct_handle	*ev;		/* event subscription */
	int			 fd;
	struct nfct_handle	*dump;		/* table dumps */
	ct_priv_fn		 priv;		/* privilege separation: asks */
	void			*priv_arg;	/* the privileged helper */
	struct ctflow		*flows;
	struct nldrop		 drops;		/* the event socket's */
	const struct ownaddr	*own;		/* its socket's drops too */

	struct loop_timer	*poll;		/* periodic dump; NULL: no
						 * flow wants one */
	int64_t			 poll_ms;
	int			 started;	/* ct_start() done */
	int			 poll_idle;	/* dumps of an empty table */
	struct loop_timer	*resync;	/* dump after an overrun */

	/* One dump in progress. */
	int			 dumping;	/* CT_DUMP_* */
	int			 dump_resync;	/* after an overrun */
	int64_t			 dump_t0;	/* monotonic, us */
	int64_t			 drain_until;	/* ... CT_DUMP_DRAINING */
	uint64_t		 dump_overruns;	/* overruns when it began */
	uint8_t			*dump_buf;	/* CT_DUMP_BUF */
	int64_t			 dump_mark;	/* skip flows younger */
	uint64_t		 dump_seen;	/* entries, all protocols */
	uint64_t		 dump_tcp;

	uint8_t			(*bufs)[CT_DGRAM_MAX];
	struct mmsghdr		*hdrs;
	struct iovec		*iovs;
	struct sockaddr_nl	*addrs;

	struct log_ratelimit	 rl_overrun;
	struct log_ratelimit	 rl_error;
	struct ct_stats		 stats;
};

/* ct.c */
int		 ct_msg_from_nfct(const struct nf_conntrack *,
		    enum ct_msg_type, int64_t, struct ct_msg *);
int		 ct_read(struct ct *, int, int64_t);

/* ct_dump.c */
struct nfct_handle *ct_dump_open(struct ct *);
int		 ct_dump(struct ct *, int, char **);
void		 ct_dump_done(struct ct *);
int64_t		 ct_poll_ms(const struct conf *);
int64_t		 ct_poll_cb(struct loop *, struct loop_timer *, void *);
int64_t		 ct_resync_cb(struct loop *, struct loop_timer *, void *);
int		 ct_poll_wanted(const struct ct *);
void		 ct_poll_arm(struct ct *);

#endif
