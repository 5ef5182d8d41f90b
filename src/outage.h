/*
 * Auth backend outages: when every login fails from every address at
 * once, the failures are the server's fault, not the clients'.  This
 * module recognises that shape in the stream of log events and says when
 * auth verdicts must be held rather than enforced.  Pure: time comes from
 * the events.
 */
#ifndef OUTAGE_H
#define OUTAGE_H

#include <stdint.h>

struct conf;
struct event;
struct outage;

/* What outage_event() saw change. */
enum outage_change {
	OUTAGE_SAME,
	OUTAGE_BEGAN,		/* the shape appeared: warn loudly */
	OUTAGE_ENDED		/* the hold ran out: say so */
};

struct outage_stats {
	int		 active;	/* holding auth verdicts now */
	uint64_t	 episodes;	/* outages seen */
	int64_t		 since;		/* us, start of the current one */
	uint64_t	 fails;		/* in the (sliding) window that began it */
	uint64_t	 oks;
	uint64_t	 addresses;	/* distinct, estimated */
	double		 baseline;	/* usual failures per window */
};

struct outage	*outage_new(uint32_t seed);
void		 outage_free(struct outage *);

/* Takes one event (auth_fail and auth_ok count; others only move time). */
enum outage_change outage_event(struct outage *, const struct conf *,
		    const struct event *);

/* 1 if auth verdicts at time now are to be held. */
int		 outage_holding(const struct outage *, int64_t now);

void		 outage_get_stats(const struct outage *, struct outage_stats *);

#endif /* OUTAGE_H */
