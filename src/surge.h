/*
 * Surge mode against many-address attacks: the server-wide rate of new
 * connections that never log in, per service, against its usual rate at
 * this hour of the day; while it is a surge, the addresses not known (no
 * login within [track] known_days) meet a tight kernel cap.  Detection
 * only (surge.c, pure: events and times in, changes out); the daemon
 * turns the changes into the kernel's switch and alerts.
 */
#ifndef SURGE_H
#define SURGE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct conf;
struct event;
struct surge;

/* A login within this long of a connection takes it out of the count. */
#define SURGE_AUTH_WAIT		(30 * 1000000LL)

/* A surge began (on) or ended, in service. */
struct surge_change {
	const char	*service;	/* valid for the call */
	int		 on;
	int64_t		 time;		/* us since the epoch */
	uint64_t	 rate;		/* strangers' connections in the last
					 * window (at the end: the peak) */
	double		 baseline;	/* usual for this hour, per window */
	uint64_t	 threshold;	/* what the rate exceeded */
	int64_t		 window;	/* us: surge_min_rate's */
	uint32_t	 factor;
	uint64_t	 addresses;	/* distinct strangers in the window (at
					 * the end: over the surge, at most the
					 * table's size) */
	int64_t		 duration;	/* us, at the end */
	uint64_t	 conns;		/* at the end: strangers' connections
					 * during the surge */
	uint64_t	 refused;	/* at the end: connections the surge
					 * cap refused (surge_refused()) */
};
typedef void	(*surge_change_cb)(const struct surge_change *, void *arg);

/* Detection for conf's services (those with surge on), known addresses
 * and strangers bounded by [track] capacity.  Never fails. */
struct surge	*surge_new(const struct conf *);
void		 surge_free(struct surge *);
/* A reloaded configuration: a service keeps its baseline and its surge
 * by name; conf must outlive the next reload. */
void		 surge_reload(struct surge *, const struct conf *);
void		 surge_set_change_cb(struct surge *, surge_change_cb,
		    void *arg);
/* 1 if service's surge mode is on in conf: surge, kernel caps, logs. */
int		 surge_service_on(const struct conf *, const char *service);
/*
 * An event (a pipeline tap): a conntrack CONN_OPEN counts for its service
 * if its address is not known; a log's AUTH_OK or S2S_OK makes its
 * address known and takes its connections of the last SURGE_AUTH_WAIT
 * out of the count.  Time is the event's.
 */
void		 surge_event(struct surge *, const struct event *);
/* Starts and ends surges (the end after surge_end below), rolls the
 * hourly baseline; call again after surge_next_tick() us. */
void		 surge_tick(struct surge *, int64_t now);
int64_t		 surge_next_tick(const struct surge *, int64_t now);
/* A connection of service the kernel's surge cap refused: counted in
 * the surge's end (surge_change.refused) while one is on. */
void		 surge_refused(struct surge *, const char *service);

/*
 * The baseline across restarts (sql/013_cap_refusals.sql).  take: the
 * hours of the day learnt since the last call, at most max into out;
 * how many.  seed: an hour learnt before (a row of the store), taken
 * only by a service of that name in surge mode whose window is the same.
 */
struct surge_learnt {
	const char	*service;	/* valid until the next reload */
	int		 hour;		/* of the day, 0-23 UTC */
	int64_t		 window;	/* us */
	double		 base;		/* strangers per window */
};
size_t		 surge_learnt_take(struct surge *,
		    struct surge_learnt *out, size_t max);
void		 surge_baseline_seed(struct surge *, const char *service,
		    int hour, int64_t window, double base);

/* A login recorded in the store (at start): a from the store's rows. */
void		 surge_known_add(struct surge *, const struct addr *,
		    int64_t when);
/*
 * Known addresses the kernel's set must learn (new, or their element to
 * be renewed), at most max into a (and until each: us since the epoch);
 * how many.  Those handed out are counted as in the kernel.
 */
size_t		 surge_known_take(struct surge *, struct addr *a,
		    int64_t *until, size_t max, int64_t now);
/* Known addresses the kernel has yet to learn; known addresses. */
size_t		 surge_known_pending(const struct surge *);
size_t		 surge_known_count(const struct surge *);
/* 1 if a is known at now (a login within known_days). */
int		 surge_known(const struct surge *, const struct addr *,
		    int64_t now);
/* 1 if a surge is on in service. */
int		 surge_active(const struct surge *, const char *service);

struct status_group;
extern const struct status_group surge_status_group;

#endif /* SURGE_H */
