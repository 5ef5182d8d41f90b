/*
 * The clock: the system's, or one a test or replay installs.  Keeping every
 * read behind this module is what lets detection run in simulated time and
 * replay produce the same verdicts as the live daemon.
 */
#include <stddef.h>
#include <time.h>

#include "clock.h"
#include "log.h"

static clock_source_fn	 clock_source;
static void		*clock_source_arg;
static int64_t		 clock_fake_now;

static int64_t
clock_system(clockid_t id)
{
	struct timespec	ts;

	if (clock_gettime(id, &ts) == -1)
		fatal("clock_gettime");
	return (int64_t)ts.tv_sec * CLOCK_US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t
clock_realtime(void)
{
	if (clock_source != NULL)
		return clock_source(CLOCK_KIND_REALTIME, clock_source_arg);
	return clock_system(CLOCK_REALTIME);
}

int64_t
clock_monotonic(void)
{
	if (clock_source != NULL)
		return clock_source(CLOCK_KIND_MONOTONIC, clock_source_arg);
	return clock_system(CLOCK_MONOTONIC);
}

void
clock_set_source(clock_source_fn fn, void *arg)
{
	clock_source = fn;
	clock_source_arg = arg;
}

static int64_t
clock_fake_read(enum clock_kind kind, void *arg)
{
	(void)kind;
	(void)arg;
	return clock_fake_now;
}

void
clock_fake_start(int64_t realtime_us)
{
	clock_fake_now = realtime_us;
	clock_set_source(clock_fake_read, NULL);
}

void
clock_fake_advance(int64_t us)
{
	clock_fake_now += us;
}
