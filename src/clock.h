/*
 * Time.  No module reads the system clock directly: they ask this module,
 * and tests replace its source to run in simulated time.
 *
 * All times are microseconds (int64_t): wall-clock time since the Unix epoch
 * for what is recorded and shown, monotonic time for intervals and timers.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

#define CLOCK_US_PER_SEC	1000000LL
#define CLOCK_US_PER_MS		1000LL

enum clock_kind {
	CLOCK_KIND_REALTIME,
	CLOCK_KIND_MONOTONIC
};

/* A replacement source: returns the time of the given kind, in us. */
typedef int64_t (*clock_source_fn)(enum clock_kind, void *arg);

/* Wall-clock time, us since the epoch. */
int64_t	clock_realtime(void);
/* Monotonic time, us since an arbitrary point; never goes back. */
int64_t	clock_monotonic(void);

/* Replaces the time source (NULL restores the system clock). */
void	clock_set_source(clock_source_fn, void *arg);

/*
 * A ready-made fake: after clock_fake_start(t), both kinds read t until
 * clock_fake_advance() moves them on.  For tests and replay.
 */
void	clock_fake_start(int64_t realtime_us);
void	clock_fake_advance(int64_t us);

#endif /* CLOCK_H */
