/*
 * Rollups: per address, service and hour, what reports need (new
 * connections, short-lived ones, bytes, the most live at once, verdicts,
 * failed logins, registrations),
 * summed in memory and written to the store's rollups table about once a
 * minute, so the report never scans raw connection rows.
 */
#ifndef ROLLUP_H
#define ROLLUP_H

#include <stdint.h>

struct conf;
struct event;
struct store;
struct verdict;
struct rollup;

struct rollup_stats {
	uint64_t	 entries;	/* in memory now */
	uint64_t	 capacity;
	uint64_t	 evictions;	/* written early to make room */
	uint64_t	 rows;		/* rows handed to the store */
};

/* A table for at most capacity (address, service) pairs. */
struct rollup	*rollup_new(uint32_t capacity, uint32_t seed);
/* Frees without writing (call rollup_flush first); NULL is a no-op. */
void		 rollup_free(struct rollup *);
/* Counts a connection event, a failed login or a registration (log events
 * count under "c2s"); other kinds are ignored.  When the table is
 * full the least recently used pair is written to store (if not NULL) and
 * its slot reused. */
void		 rollup_event(struct rollup *, const struct conf *,
		    const struct event *, struct store *);
/* Counts a verdict against its address (host verdicts only; one with no
 * service, auth or register, under "c2s"). */
void		 rollup_verdict(struct rollup *, const struct verdict *,
		    struct store *);
/* A connection of service refused at t by a kernel cap (cap: enum
 * store_cap) from a: counted against a's pair, written with its row. */
struct addr;
void		 rollup_refusal(struct rollup *, const struct addr *a,
		    const char *service, int cap, int64_t t, struct store *);
/* Appends a row for every pair that changed since the last flush. */
void		 rollup_flush(struct rollup *, struct store *);
/* The same in steps: begin notes the pairs changed by now; each step
 * writes some of them until the budget (NULL: none) is spent, and returns
 * 1 once the round is done, 0 if it must be called again.  Events between
 * steps are fine; the rows add up to what one rollup_flush would write. */
struct loop_budget;
void		 rollup_flush_begin(struct rollup *);
int		 rollup_flush_step(struct rollup *, struct store *,
		    struct loop_budget *);
void		 rollup_get_stats(const struct rollup *, struct rollup_stats *);

/* Status and metrics of the refusals (obj: the struct rollup): the
 * addresses refused this hour, and per service and cap since start. */
struct status_group;
extern const struct status_group rollup_refused_status_group;

#endif /* ROLLUP_H */
