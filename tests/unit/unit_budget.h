/*
 * For unit tests of a source's time budget (loop_budget_*): a clock that
 * runs ahead of the system's by what the test says its work cost (the
 * callback adds to unit_budget_ahead_us), so a wake-up's budget runs out
 * after a known amount of work however fast or slow the machine is, and a
 * run of the loop that notes the most work done in one iteration.
 */
#ifndef UNIT_BUDGET_H
#define UNIT_BUDGET_H

#include <stdint.h>
#include <time.h>

#include "clock.h"
#include "loop.h"

static int64_t	unit_budget_ahead_us;	/* monotonic time's lead */

static int64_t
unit_budget_clock(enum clock_kind kind, void *arg)
{
	struct timespec	ts;

	(void)arg;
	clock_gettime(kind == CLOCK_KIND_MONOTONIC ? CLOCK_MONOTONIC :
	    CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * CLOCK_US_PER_SEC + ts.tv_nsec / 1000 +
	    (kind == CLOCK_KIND_MONOTONIC ? unit_budget_ahead_us : 0);
}

/* Units (LOOP_BUDGET_US / cost_us) rounded up to the next look at the
 * clock (every): the most one wake-up may do. */
static __attribute__((unused)) uint64_t
unit_budget_allowed(int64_t cost_us, unsigned every)
{
	uint64_t	n = (uint64_t)(LOOP_BUDGET_US / cost_us);

	return (n + every - 1) / every * every;
}

/*
 * Runs the loop on the ahead clock until *done reaches want or max_iters
 * iterations have run; the most *done grew in one iteration in *most.
 * Returns the iterations run.
 */
static __attribute__((unused)) int
unit_budget_run(struct loop *loop, const uint64_t *done, uint64_t want,
    int max_iters, uint64_t *most)
{
	uint64_t	before;
	int		iters = 0;

	*most = 0;
	unit_budget_ahead_us = 0;
	clock_set_source(unit_budget_clock, NULL);
	while (*done < want && iters < max_iters) {
		before = *done;
		loop_run_once(loop, 100);
		iters++;
		if (*done - before > *most)
			*most = *done - before;
	}
	clock_set_source(NULL, NULL);
	return iters;
}

#endif /* UNIT_BUDGET_H */
