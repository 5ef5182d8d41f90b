/*
 * Unit tests for the event loop, on real fds, real timers and real signals.
 * Delays are short and every wait is bounded: each test arms alarm() so a
 * loop that never wakes kills the test (and fails it) instead of hanging.
 */
#include "unit.h"

#include "../../src/loop.c"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fcntl.h>
#include <stdio.h>

#include "clock.h"

#define GUARD_SECONDS	10
#define SLOW_US		(2 * CLOCK_US_PER_SEC)	/* generous upper bound */

static int
guard_setup(void **state)
{
	(void)state;
	alarm(GUARD_SECONDS);
	return 0;
}

static int
guard_teardown(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

static struct loop *
new_loop(void)
{
	struct loop	*loop;
	char		*cause = NULL;

	loop = loop_new(&cause);
	assert_non_null(loop);
	assert_null(cause);
	return loop;
}

/* Registrations in the table: fds, timers and the signalfd. */
static int
live_sources(const struct loop *loop)
{
	size_t	i;
	int	n = 0;

	for (i = 0; i < loop->nsrcs; i++)
		n += loop->srcs[i] != NULL;
	return n;
}

static void
sleep_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

static void
make_pipe(int p[2])
{
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

/* What an fd callback saw. */
struct fd_seen {
	int	calls;
	int	fd;
	int	events;
	ssize_t	nread;
	int	del_self;		/* loop_fd_del() from the callback */
	char	buf[64];
};

static void
fd_read_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct fd_seen	*seen = arg;

	seen->calls++;
	seen->fd = fd;
	seen->events = events;
	if (events & LOOP_READ)
		seen->nread = read(fd, seen->buf, sizeof seen->buf);
	if (seen->del_self)
		assert_int_equal(loop_fd_del(loop, fd), 0);
}

static void
test_loop_new_free(void **state)
{
	struct loop	*loop;

	(void)state;
	loop_free(NULL);
	loop = new_loop();
	assert_int_equal(loop_stopped(loop), 0);
	/* Nothing registered: a bounded wait times out with 0 dispatched. */
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(loop_run_once(loop, 10), 0);
	loop_free(loop);
}

static void
test_loop_new_cause(void **state)
{
	struct rlimit	 saved, low;
	struct loop	*loop;
	char		*cause = NULL;
	int		 lowest;

	(void)state;
	/* Allow no fd beyond those open now, so epoll_create1() fails. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_true((lowest = open("/dev/null", O_RDONLY)) >= 0);
	close(lowest);
	low = saved;
	low.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	loop = loop_new(&cause);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);

	assert_null(loop);
	assert_non_null(cause);
	assert_string_equal(cause, "epoll_create1: Too many open files");
	free(cause);
}

static void
test_loop_fd_read(void **state)
{
	struct loop	*loop = new_loop();
	struct fd_seen	 seen = { 0 };
	int		 p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, fd_read_cb, &seen),
	    0);
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(seen.calls, 0);

	assert_int_equal(write(p[1], "hello", 5), 5);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.fd, p[0]);
	assert_int_equal(seen.events, LOOP_READ);
	assert_int_equal(seen.nread, 5);
	assert_memory_equal(seen.buf, "hello", 5);

	/* Drained: level-triggered, so nothing more until more is written. */
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(seen.calls, 1);

	assert_int_equal(loop_fd_del(loop, p[0]), 0);
	loop_free(loop);
	close(p[0]);
	close(p[1]);
}

static void
test_loop_fd_hangup(void **state)
{
	struct loop	*loop = new_loop();
	struct fd_seen	 seen = { 0 };
	int		 p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, fd_read_cb, &seen),
	    0);
	close(p[1]);
	/* A hang-up is reported as LOOP_READ; the read sees end of file. */
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.events, LOOP_READ);
	assert_int_equal(seen.nread, 0);
	loop_free(loop);
	close(p[0]);
}

static void
test_loop_fd_del_self(void **state)
{
	struct loop	*loop = new_loop();
	struct fd_seen	 seen = { .del_self = 1 };
	int		 p[2];

	(void)state;
	make_pipe(p);
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, fd_read_cb, &seen),
	    0);
	assert_int_equal(write(p[1], "a", 1), 1);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls, 1);

	/* No longer watched: more data wakes nothing. */
	assert_int_equal(write(p[1], "b", 1), 1);
	assert_int_equal(loop_run_once(loop, 30), 0);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(loop_fd_del(loop, p[0]), -1);
	assert_int_equal(errno, ENOENT);

	/* And it can be added again. */
	seen.del_self = 0;
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, fd_read_cb, &seen),
	    0);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls, 2);
	loop_free(loop);
	close(p[0]);
	close(p[1]);
}

/*
 * Two readable pipes in one batch: whichever callback runs first deletes
 * and closes the other pipe, opens a new one (which reuses the closed fd
 * numbers) and registers it.  The other's event, already in the batch, must
 * reach neither the old callback nor the new registration.
 */
struct rival {
	struct rival	*other;
	int		 p[2];
	int		 calls;
	int		 replaced;	/* this one's pipe was replaced */
	int		 new_calls;	/* calls for the replacement */
};

static void
rival_new_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct rival	*r = arg;

	(void)loop;
	(void)fd;
	(void)events;
	r->new_calls++;
}

static void
rival_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct rival	*r = arg, *o = r->other;
	int		 old0 = o->p[0];

	(void)fd;
	(void)events;
	r->calls++;
	assert_int_equal(loop_fd_del(loop, o->p[0]), 0);
	close(o->p[0]);
	close(o->p[1]);
	make_pipe(o->p);
	assert_int_equal(o->p[0], old0);	/* the number was reused */
	assert_int_equal(loop_fd_add(loop, o->p[0], LOOP_READ, rival_new_cb,
	    o), 0);
	o->replaced = 1;
}

static void
test_loop_fd_del_batch(void **state)
{
	struct loop	*loop = new_loop();
	struct rival	 a = { 0 }, b = { 0 }, *r;

	(void)state;
	a.other = &b;
	b.other = &a;
	make_pipe(a.p);
	make_pipe(b.p);
	assert_int_equal(loop_fd_add(loop, a.p[0], LOOP_READ, rival_cb, &a), 0);
	assert_int_equal(loop_fd_add(loop, b.p[0], LOOP_READ, rival_cb, &b), 0);
	assert_int_equal(write(a.p[1], "x", 1), 1);
	assert_int_equal(write(b.p[1], "x", 1), 1);

	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(a.replaced + b.replaced, 1);
	assert_int_equal(a.new_calls + b.new_calls, 0);

	/* The replacement is live: data on it reaches the new callback. */
	r = a.replaced ? &a : &b;
	assert_int_equal(loop_fd_del(loop, r->other->p[0]), 0);
	assert_int_equal(write(r->p[1], "y", 1), 1);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(r->new_calls, 1);

	loop_free(loop);
	close(a.p[0]);
	close(a.p[1]);
	close(b.p[0]);
	close(b.p[1]);
}

static void
test_loop_fd_write(void **state)
{
	struct loop	*loop = new_loop();
	struct fd_seen	 seen = { 0 };
	int		 sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	assert_int_equal(loop_fd_add(loop, sv[0], LOOP_WRITE, fd_read_cb,
	    &seen), 0);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.events, LOOP_WRITE);
	assert_int_equal(seen.fd, sv[0]);

	/* Watching read only: writable no longer wakes, data does. */
	assert_int_equal(loop_fd_mod(loop, sv[0], LOOP_READ), 0);
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(write(sv[1], "ping", 4), 4);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls, 2);
	assert_int_equal(seen.events, LOOP_READ);
	assert_int_equal(seen.nread, 4);

	/* Both at once come as one call with both bits. */
	assert_int_equal(loop_fd_mod(loop, sv[0], LOOP_READ | LOOP_WRITE), 0);
	assert_int_equal(write(sv[1], "pong", 4), 4);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.events, LOOP_READ | LOOP_WRITE);

	/* Nothing watched: nothing reported. */
	assert_int_equal(loop_fd_mod(loop, sv[0], 0), 0);
	assert_int_equal(loop_run_once(loop, 20), 0);
	assert_int_equal(seen.calls, 3);

	loop_free(loop);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Two writable sockets in one batch, each callback narrowing the other to
 * LOOP_READ (with nothing to read): the other's LOOP_WRITE, already in the
 * batch, is no longer wanted and must not be reported.
 */
struct narrow {
	int	fd;
	int	other;
	int	calls;
};

static void
narrow_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct narrow	*n = arg;

	assert_int_equal(fd, n->fd);
	assert_int_equal(events, LOOP_WRITE);
	n->calls++;
	assert_int_equal(loop_fd_mod(loop, n->other, LOOP_READ), 0);
}

static void
test_loop_fd_mod_batch(void **state)
{
	struct loop	*loop = new_loop();
	struct narrow	 a, b;
	int		 sa[2], sb[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	a = (struct narrow){ .fd = sa[0], .other = sb[0] };
	b = (struct narrow){ .fd = sb[0], .other = sa[0] };
	assert_int_equal(loop_fd_add(loop, sa[0], LOOP_WRITE, narrow_cb, &a),
	    0);
	assert_int_equal(loop_fd_add(loop, sb[0], LOOP_WRITE, narrow_cb, &b),
	    0);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(a.calls + b.calls, 1);
	loop_free(loop);
	close(sa[0]);
	close(sa[1]);
	close(sb[0]);
	close(sb[1]);
}

static int64_t
never_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	(void)arg;
	fail_msg("timer fired");
	return LOOP_TIMER_DONE;
}

static void
test_loop_fd_errors(void **state)
{
	struct loop		*loop = new_loop();
	struct fd_seen		 seen = { 0 };
	struct loop_timer	*t;
	char			 path[] = "/tmp/test_loop.XXXXXX";
	int			 p[2], file;

	(void)state;
	make_pipe(p);
	assert_int_equal(loop_fd_add(loop, -1, LOOP_READ, fd_read_cb, &seen),
	    -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(loop_fd_add(loop, p[0], 0x4, fd_read_cb, &seen), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, NULL, &seen), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, fd_read_cb, &seen),
	    0);
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, fd_read_cb, &seen),
	    -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(loop_fd_mod(loop, p[0], 0x8), -1);
	assert_int_equal(errno, EINVAL);

	/* epoll refuses regular files; nothing is left registered. */
	assert_true((file = mkstemp(path)) >= 0);
	unlink(path);
	assert_int_equal(loop_fd_add(loop, file, LOOP_READ, fd_read_cb, &seen),
	    -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(loop_fd_del(loop, file), -1);
	assert_int_equal(errno, ENOENT);
	close(file);

	assert_int_equal(loop_fd_mod(loop, p[1], LOOP_WRITE), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_fd_del(loop, p[1]), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_fd_del(loop, 100000), -1);
	assert_int_equal(errno, ENOENT);

	/* A timer's fd is not the fd API's to change. */
	assert_non_null(t = loop_timer_add(loop, 60000, never_cb, NULL));
	assert_int_equal(loop_fd_del(loop, t->src.fd), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_fd_mod(loop, t->src.fd, LOOP_READ), -1);
	assert_int_equal(loop_fd_add(loop, t->src.fd, LOOP_READ, fd_read_cb,
	    &seen), -1);
	assert_int_equal(errno, EEXIST);

	/* Deleting after the owner closed the fd is tolerated. */
	close(p[0]);
	assert_int_equal(loop_fd_del(loop, p[0]), 0);
	close(p[1]);
	loop_free(loop);
}

/* What a timer callback saw; it returns next[] in turn, then DONE. */
struct timer_seen {
	int		 calls;
	int64_t		 at[8];		/* clock_monotonic() at each call */
	int64_t		 next[8];
	int		 nnext;
	int		 stop;		/* loop_stop() on the last call */
};

static int64_t
timer_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct timer_seen	*seen = arg;
	int			 i = seen->calls++;

	(void)t;
	if (i < 8)
		seen->at[i] = clock_monotonic();
	if (i < seen->nnext)
		return seen->next[i];
	if (seen->stop)
		loop_stop(loop);
	return LOOP_TIMER_DONE;
}

static void
test_loop_timer_once(void **state)
{
	struct loop		*loop = new_loop();
	struct timer_seen	 seen = { .stop = 1 };
	int64_t			 start;

	(void)state;
	start = clock_monotonic();
	assert_non_null(loop_timer_add(loop, 50, timer_cb, &seen));
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(seen.calls, 1);
	/* A timerfd never fires early; late only by scheduling noise. */
	assert_true(seen.at[0] - start >= 50 * CLOCK_US_PER_MS);
	assert_true(seen.at[0] - start < SLOW_US);

	/* Done means freed: it does not fire again. */
	assert_int_equal(live_sources(loop), 0);
	assert_int_equal(loop_run_once(loop, 100), 0);
	assert_int_equal(seen.calls, 1);
	loop_free(loop);
}

static void
work_fd_cb(struct loop *loop, int fd, int events, void *arg)
{
	char	c;

	(void)loop;
	(void)events;
	if (read(fd, &c, 1) == 1)
		(*(int *)arg)++;
}

/*
 * loop_work() counts the iterations that ran anything but chores: a chore
 * timer firing (even one that frees itself) leaves it alone, an ordinary
 * timer or an fd moves it on, once per iteration.
 */
static void
test_loop_work(void **state)
{
	struct loop		*loop = new_loop();
	struct timer_seen	 chore = { .nnext = 1, .next = { 0 } };
	struct timer_seen	 work = { 0 };
	struct loop_timer	*t;
	int			 sv[2];
	uint64_t		 w;

	(void)state;
	w = loop_work(loop);
	assert_non_null(t = loop_timer_add(loop, 0, timer_cb, &chore));
	loop_timer_chore(t);
	loop_timer_chore(NULL);			/* a no-op */
	assert_int_equal(loop_run_once(loop, 1000), 1);	/* re-armed */
	assert_int_equal(loop_run_once(loop, 1000), 1);	/* freed */
	assert_int_equal(chore.calls, 2);
	assert_int_equal(loop_work(loop), w);

	/* Two callbacks in one iteration: one more. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(loop_fd_add(loop, sv[0], LOOP_READ, work_fd_cb,
	    &work.calls), 0);
	assert_int_equal(write(sv[1], "x", 1), 1);
	assert_non_null(loop_timer_add(loop, 0, timer_cb, &work));
	assert_true(loop_run_once(loop, 1000) >= 1);
	while (work.calls < 2)
		assert_true(loop_run_once(loop, 1000) >= 1);
	assert_true(loop_work(loop) >= w + 1);
	assert_true(loop_work(loop) <= w + 2);
	assert_int_equal(loop_fd_del(loop, sv[0]), 0);
	close(sv[0]);
	close(sv[1]);
	loop_free(loop);
}

static void
test_loop_timer_zero(void **state)
{
	struct loop		*loop = new_loop();
	struct timer_seen	 seen = { .nnext = 1, .next = { 0 } };
	int64_t			 start;

	(void)state;
	start = clock_monotonic();
	assert_non_null(loop_timer_add(loop, 0, timer_cb, &seen));
	assert_int_equal(loop_run_once(loop, 1000), 1);
	/* Returned 0: due again at once, on the next iteration. */
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls, 2);
	assert_true(clock_monotonic() - start < SLOW_US);
	loop_free(loop);
}

static void
test_loop_timer_repeat(void **state)
{
	struct loop		*loop = new_loop();
	struct timer_seen	 seen = {
		.next = { 10, 10, 10, 10 }, .nnext = 4, .stop = 1
	};
	int64_t			 start;
	int			 i;

	(void)state;
	start = clock_monotonic();
	assert_non_null(loop_timer_add(loop, 10, timer_cb, &seen));
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(seen.calls, 5);
	assert_true(seen.at[0] - start >= 10 * CLOCK_US_PER_MS);
	for (i = 1; i < 5; i++)
		assert_true(seen.at[i] - seen.at[i - 1] >=
		    10 * CLOCK_US_PER_MS - 1000);
	assert_true(seen.at[4] - start < SLOW_US);
	assert_int_equal(live_sources(loop), 0);
	assert_int_equal(loop_run_once(loop, 50), 0);
	assert_int_equal(seen.calls, 5);
	loop_free(loop);
}

/*
 * Two timers due in the same batch, each deleting (or re-arming) the other
 * from its callback: exactly one fires.
 */
struct duel {
	struct loop_timer	*self;
	struct duel		*other;
	int			 calls;
	int			 rearm;	/* re-arm the other instead of del */
};

static int64_t
duel_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct duel	*d = arg;

	assert_ptr_equal(t, d->self);
	d->calls++;
	if (d->rearm)
		assert_int_equal(loop_timer_set(loop, d->other->self, 60000),
		    0);
	else {
		loop_timer_del(loop, d->other->self);
		d->other->self = NULL;
	}
	return LOOP_TIMER_DONE;
}

static void
duel(int rearm)
{
	struct loop	*loop = new_loop();
	struct duel	 a = { .rearm = rearm }, b = { .rearm = rearm };

	a.other = &b;
	b.other = &a;
	assert_non_null(a.self = loop_timer_add(loop, 1, duel_cb, &a));
	assert_non_null(b.self = loop_timer_add(loop, 1, duel_cb, &b));
	sleep_ms(30);	/* both due before the loop looks */
	assert_int_equal(loop_run_once(loop, 0), 1);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(loop_run_once(loop, 30), 0);
	assert_int_equal(a.calls + b.calls, 1);
	/* Deleted, or re-armed and freed by loop_free(). */
	assert_int_equal(live_sources(loop), rearm ? 1 : 0);
	loop_free(loop);
}

static void
test_loop_timer_del_batch(void **state)
{
	(void)state;
	duel(0);
}

static void
test_loop_timer_set_batch(void **state)
{
	(void)state;
	duel(1);
}

/* Deletes its own timer, then starts another (reusing the fd number). */
struct phoenix {
	struct timer_seen	 child;
	int			 calls;
};

static int64_t
phoenix_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct phoenix		*ph = arg;
	struct loop_timer	*child;
	int			 fd = t->src.fd;

	ph->calls++;
	loop_timer_del(loop, t);
	child = loop_timer_add(loop, 5, timer_cb, &ph->child);
	assert_non_null(child);
	assert_int_equal(child->src.fd, fd);	/* the number was reused */
	return 5;	/* ignored: the timer is gone */
}

static void
test_loop_timer_del_self(void **state)
{
	struct loop	*loop = new_loop();
	struct phoenix	 ph = { .child = { .stop = 1 } };

	(void)state;
	assert_non_null(loop_timer_add(loop, 1, phoenix_cb, &ph));
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(ph.calls, 1);
	/* The new timer fires, the old one does not come back. */
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(ph.calls, 1);
	assert_int_equal(ph.child.calls, 1);
	loop_free(loop);
}

static void
test_loop_timer_set(void **state)
{
	struct loop		*loop = new_loop();
	struct timer_seen	 seen = { .calls = 0 };
	struct loop_timer	*t;
	int64_t			 start;

	(void)state;
	/* Brought forward: from a minute to 20ms. */
	start = clock_monotonic();
	assert_non_null(t = loop_timer_add(loop, 60000, timer_cb, &seen));
	assert_int_equal(loop_timer_set(loop, t, 20), 0);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls, 1);
	assert_true(seen.at[0] - start >= 20 * CLOCK_US_PER_MS);
	assert_true(seen.at[0] - start < SLOW_US);

	/* Put off: due in 1ms, moved to 150ms, so quiet for 50ms. */
	memset(&seen, 0, sizeof seen);
	start = clock_monotonic();
	assert_non_null(t = loop_timer_add(loop, 1, timer_cb, &seen));
	assert_int_equal(loop_timer_set(loop, t, 150), 0);
	assert_int_equal(loop_run_once(loop, 50), 0);
	assert_int_equal(seen.calls, 0);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls, 1);
	assert_true(seen.at[0] - start >= 150 * CLOCK_US_PER_MS);

	/* Huge delays are clamped, not rejected. */
	assert_non_null(t = loop_timer_add(loop, INT64_MAX, never_cb, NULL));
	assert_int_equal(loop_timer_set(loop, t, INT64_MAX / 2), 0);
	assert_int_equal(loop_run_once(loop, 0), 0);
	loop_timer_del(loop, t);
	loop_free(loop);
}

static void
test_loop_timer_errors(void **state)
{
	struct loop		*loop = new_loop();
	struct loop_timer	*t;

	(void)state;
	assert_null(loop_timer_add(loop, -1, never_cb, NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(loop_timer_add(loop, 10, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	assert_non_null(t = loop_timer_add(loop, 60000, never_cb, NULL));
	assert_int_equal(loop_timer_set(loop, t, -5), -1);
	assert_int_equal(errno, EINVAL);
	loop_timer_del(loop, NULL);
	loop_timer_del(loop, t);
	assert_int_equal(loop_run_once(loop, 0), 0);
	loop_free(loop);
}

#define MANY	200

struct many {
	int	fired[MANY];
	int	total;
};

struct many_one {
	struct many	*m;
	int		 i;
};

static int64_t
many_one_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct many_one	*one = arg;

	(void)t;
	one->m->fired[one->i]++;
	if (++one->m->total == MANY)
		loop_stop(loop);
	return LOOP_TIMER_DONE;
}

static void
test_loop_timer_many(void **state)
{
	struct loop		*loop = new_loop();
	struct many		 m = { { 0 }, 0 };
	struct many_one		 ones[MANY];
	int			 i;

	(void)state;
	for (i = 0; i < MANY; i++) {
		ones[i].m = &m;
		ones[i].i = i;
		assert_non_null(loop_timer_add(loop, i % 25, many_one_cb,
		    &ones[i]));
	}
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(m.total, MANY);
	for (i = 0; i < MANY; i++)
		assert_int_equal(m.fired[i], 1);
	assert_int_equal(loop_run_once(loop, 40), 0);
	loop_free(loop);
}

/* Signals. */
static volatile sig_atomic_t	async_delivered;

static void
async_handler(int signo)
{
	(void)signo;
	async_delivered = 1;
}

struct sig_seen {
	int	calls[NSIG];
	int	total;
	void	*arg;
};

static void
sig_cb(struct loop *loop, int signo, void *arg)
{
	struct sig_seen	*seen = arg;

	(void)loop;
	assert_true(signo > 0 && signo < NSIG);
	seen->calls[signo]++;
	seen->total++;
	seen->arg = arg;
}

static int
is_blocked(int signo)
{
	sigset_t	cur;

	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	return sigismember(&cur, signo);
}

static void
test_loop_signal(void **state)
{
	struct loop		*loop = new_loop();
	struct sig_seen		 seen = { { 0 }, 0, NULL };
	struct sigaction	 sa, old;

	(void)state;
	/* A handler that must not run: the loop takes SIGUSR1 over. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = async_handler;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	async_delivered = 0;

	assert_int_equal(loop_signal(loop, SIGUSR1, sig_cb, &seen), 0);
	assert_int_equal(loop_signal(loop, SIGHUP, sig_cb, &seen), 0);
	assert_int_equal(loop_signal(loop, SIGTERM, sig_cb, &seen), 0);
	assert_true(is_blocked(SIGUSR1));
	assert_true(is_blocked(SIGTERM));

	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(async_delivered, 0);
	assert_int_equal(seen.total, 0);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls[SIGUSR1], 1);
	assert_ptr_equal(seen.arg, &seen);

	/* Several pending at once are all dispatched. */
	assert_int_equal(kill(getpid(), SIGHUP), 0);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(loop_run_once(loop, 1000), 3);
	assert_int_equal(seen.calls[SIGHUP], 1);
	assert_int_equal(seen.calls[SIGTERM], 1);
	assert_int_equal(seen.calls[SIGUSR1], 2);
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(async_delivered, 0);

	/*
	 * Pending when the loop is freed: dropped, so the SIGTERM does not
	 * kill this process once unblocked.
	 */
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	loop_free(loop);
	assert_false(is_blocked(SIGUSR1));
	assert_false(is_blocked(SIGHUP));
	assert_false(is_blocked(SIGTERM));
	assert_int_equal(async_delivered, 0);
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
}

static void
test_loop_signal_blocked_before(void **state)
{
	struct loop	*loop = new_loop();
	struct sig_seen	 seen = { { 0 }, 0, NULL };
	sigset_t	 set;

	(void)state;
	/* Blocked before the loop took it: still blocked after. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	assert_int_equal(loop_signal(loop, SIGUSR2, sig_cb, &seen), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls[SIGUSR2], 1);
	loop_free(loop);
	assert_true(is_blocked(SIGUSR2));
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
}

static void
test_loop_signal_ignored(void **state)
{
	struct loop		*loop = new_loop();
	struct sig_seen		 seen = { { 0 }, 0, NULL };
	struct sigaction	 sa;

	(void)state;
	/*
	 * As under nohup.  Linux keeps a blocked signal even if ignored, so
	 * the loop needs no change of disposition, and makes none.
	 */
	assert_true(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
	assert_int_equal(loop_signal(loop, SIGUSR2, sig_cb, &seen), 0);
	assert_int_equal(raise(SIGUSR2), 0);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(seen.calls[SIGUSR2], 1);
	loop_free(loop);
	assert_int_equal(sigaction(SIGUSR2, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_IGN);
	assert_false(is_blocked(SIGUSR2));
	assert_true(signal(SIGUSR2, SIG_DFL) != SIG_ERR);
}

static void
test_loop_signal_errors(void **state)
{
	struct loop	*loop = new_loop();
	struct sig_seen	 seen = { { 0 }, 0, NULL };

	(void)state;
	assert_int_equal(loop_signal(loop, 0, sig_cb, &seen), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(loop_signal(loop, NSIG, sig_cb, &seen), -1);
	assert_int_equal(loop_signal(loop, -3, sig_cb, &seen), -1);
	assert_int_equal(loop_signal(loop, SIGKILL, sig_cb, &seen), -1);
	assert_int_equal(loop_signal(loop, SIGSTOP, sig_cb, &seen), -1);
	assert_int_equal(loop_signal(loop, SIGUSR1, NULL, &seen), -1);
	/* Reserved by glibc for its threads. */
	assert_int_equal(loop_signal(loop, SIGRTMIN - 1, sig_cb, &seen), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(loop->sigfd, -1);
	assert_false(is_blocked(SIGUSR1));
	loop_free(loop);
}

/* Hooks. */
struct hook_log {
	char	 s[32];
	size_t	 len;
	int	 wfd;		/* written to by hook 'w' */
	int	 stop_at;	/* hook 's' stops the loop on this call */
	int	 calls;
};

static void
hook_a(struct loop *loop, void *arg)
{
	struct hook_log	*h = arg;

	(void)loop;
	if (h->len < sizeof h->s - 1)
		h->s[h->len++] = 'a';
}

static void
hook_b(struct loop *loop, void *arg)
{
	struct hook_log	*h = arg;

	(void)loop;
	if (h->len < sizeof h->s - 1)
		h->s[h->len++] = 'b';
}

static void
hook_write(struct loop *loop, void *arg)
{
	struct hook_log	*h = arg;

	(void)loop;
	assert_int_equal(write(h->wfd, "h", 1), 1);
}

static void
hook_stop(struct loop *loop, void *arg)
{
	struct hook_log	*h = arg;

	if (++h->calls == h->stop_at)
		loop_stop(loop);
}

static void
test_loop_hooks(void **state)
{
	struct loop	*loop = new_loop();
	struct hook_log	 h = { .len = 0 };
	struct fd_seen	 seen = { 0 };
	int		 p[2];

	(void)state;
	loop_hook_add(loop, hook_a, &h);
	loop_hook_add(loop, hook_b, &h);
	assert_string_equal(h.s, "");
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_string_equal(h.s, "ab");
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_string_equal(h.s, "ababab");

	/* Before the sleep: what a hook makes ready is seen the same turn. */
	make_pipe(p);
	h.wfd = p[1];
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, fd_read_cb, &seen),
	    0);
	loop_hook_add(loop, hook_write, &h);
	assert_int_equal(loop_run_once(loop, 0), 1);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(h.s, "abababab");

	loop_free(loop);
	close(p[0]);
	close(p[1]);
}

/* Soon: a callback's request runs before the next callback of the batch. */
static void
soon_fd_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct hook_log	*h = arg;
	char		 c;

	(void)events;
	assert_int_equal(read(fd, &c, 1), 1);
	if (h->len < sizeof h->s - 1)
		h->s[h->len++] = c;
	if (c == 'x') {
		loop_soon(loop, hook_a, h);
		loop_soon(loop, hook_a, h);	/* the same request */
		loop_soon(loop, hook_b, h);
	}
}

/* A request made while the soon work runs runs in the same turn. */
static void
soon_again(struct loop *loop, void *arg)
{
	loop_soon(loop, hook_b, arg);
}

static void
test_loop_soon(void **state)
{
	struct loop	*loop = new_loop();
	struct hook_log	 h = { .len = 0 };
	int		 p[2], q[2];

	(void)state;
	make_pipe(p);
	make_pipe(q);
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, soon_fd_cb, &h),
	    0);
	assert_int_equal(loop_fd_add(loop, q[0], LOOP_READ, soon_fd_cb, &h),
	    0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(write(q[1], "y", 1), 1);
	assert_int_equal(loop_run_once(loop, 1000), 2);
	/* Each fd once, in epoll's order; the requests once each, in the
	 * order asked, right after the callback that asked. */
	if (h.s[0] == 'x')
		assert_string_equal(h.s, "xaby");
	else
		assert_string_equal(h.s, "yxab");
	assert_int_equal(loop->nsoon, 0);

	/* Asked from outside a callback: run by the next iteration, after
	 * its hooks; and by loop_soon_run() at once. */
	h.len = 0;
	memset(h.s, 0, sizeof h.s);
	loop_hook_add(loop, hook_b, &h);
	loop_soon(loop, hook_a, &h);
	assert_int_equal(loop_run_once(loop, 0), 0);
	assert_string_equal(h.s, "ba");
	loop_soon(loop, soon_again, &h);
	loop_soon(loop, hook_a, &h);
	loop_soon_run(loop);
	assert_string_equal(h.s, "baab");
	loop_soon_run(loop);
	assert_string_equal(h.s, "baab");

	loop_free(loop);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static int64_t
count_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	int	*n = arg;

	(void)t;
	if (++*n == 3)
		loop_stop(loop);
	return 5;
}

static void
test_loop_stop(void **state)
{
	struct loop	*loop = new_loop();
	struct hook_log	 h = { .len = 0 };
	int		 n = 0, calls;

	(void)state;
	loop_hook_add(loop, hook_stop, &h);
	assert_non_null(loop_timer_add(loop, 5, count_cb, &n));
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(loop_stopped(loop), 1);
	assert_int_equal(n, 3);
	/* Returned right after the stopping iteration, without hooks again. */
	assert_true(h.calls >= 3);
	calls = h.calls;
	assert_int_equal(loop_run(loop), 0);	/* still stopped */
	assert_int_equal(h.calls, calls);
	loop_free(loop);
}

static void
test_loop_stop_from_hook(void **state)
{
	struct loop	*loop = new_loop();
	struct hook_log	 h = { .stop_at = 1 };

	(void)state;
	/*
	 * Nothing registered, so the first epoll_wait() would sleep forever:
	 * loop_run() returns only because a stopped iteration does not sleep.
	 */
	loop_hook_add(loop, hook_stop, &h);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(h.calls, 1);
	loop_free(loop);
}

static void
noop_handler(int signo)
{
	(void)signo;
}

static void
test_loop_eintr(void **state)
{
	struct loop		*loop = new_loop();
	struct sigaction	 sa;
	struct itimerval	 it = { { 0, 0 }, { 0, 30000 } };
	int64_t			 start;

	(void)state;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	start = clock_monotonic();
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(loop_run_once(loop, 3000), 0);
	assert_true(clock_monotonic() - start < SLOW_US);
	signal(SIGALRM, SIG_DFL);
	alarm(GUARD_SECONDS);
	loop_free(loop);
}

static void
test_loop_epoll_error(void **state)
{
	struct loop	*loop = new_loop();
	int		 p[2], epfd;

	(void)state;
	/* epoll_wait() on a pipe fails for good: EINVAL. */
	make_pipe(p);
	epfd = loop->epfd;
	loop->epfd = p[0];
	assert_int_equal(loop_run_once(loop, 0), -1);
	assert_int_equal(loop_run(loop), -1);
	assert_int_equal(loop_stopped(loop), 0);
	loop->epfd = epfd;
	loop_free(loop);
	close(p[0]);
	close(p[1]);
}

/*
 * Time accounting, in fake time: a callback "takes" what it advances the
 * clock by.  The iteration that wakes for the pipe ends with the hooks of
 * the next loop_run_once(), whose own wakeup (a timeout, nothing done)
 * ends with the hooks of the call after: each one_iteration() accounts
 * two, an empty one and the pipe's.
 */
static int64_t	 slow_fd_us, slow_hook_us;
static int	 slow_fd_fired;		/* the hook's time follows it */

static void
slow_fd_cb(struct loop *loop, int fd, int events, void *arg)
{
	char	 c;

	(void)loop;
	(void)events;
	(void)arg;
	assert_int_equal(read(fd, &c, 1), 1);
	clock_fake_advance(slow_fd_us);
	slow_fd_fired = 1;
}

static void
slow_hook_cb(struct loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
	if (slow_fd_fired)
		clock_fake_advance(slow_hook_us);
	slow_fd_fired = 0;
}

/* One measured iteration: a byte wakes slow_fd_cb, the hooks close it. */
static void
one_iteration(struct loop *loop, int wfd)
{
	assert_int_equal(write(wfd, "x", 1), 1);
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(loop_run_once(loop, 0), 0);
}

static void
test_loop_accounting(void **state)
{
	struct loop		*loop = new_loop();
	struct loop_stats	 st;
	int			 p[2];

	(void)state;
	clock_fake_start(1000 * CLOCK_US_PER_SEC);
	make_pipe(p);
	assert_int_equal(loop_fd_add(loop, p[0], LOOP_READ, slow_fd_cb, NULL),
	    0);
	loop_hook_add(loop, slow_hook_cb, NULL);

	/* Nothing woke yet: the first hooks end no iteration. */
	slow_hook_us = 500 * CLOCK_US_PER_MS;
	slow_fd_fired = 1;
	assert_int_equal(loop_run_once(loop, 0), 0);
	loop_get_stats(loop, &st);
	assert_int_equal(st.iterations, 0);
	assert_int_equal(st.max_us, 0);
	assert_null(st.max_name);

	/* 40 ms in the callback, 30 in the hook: 70, not slow. */
	slow_fd_us = 40 * CLOCK_US_PER_MS;
	slow_hook_us = 30 * CLOCK_US_PER_MS;
	one_iteration(loop, p[1]);
	loop_get_stats(loop, &st);
	assert_int_equal(st.iterations, 2);
	assert_int_equal(st.slow, 0);
	assert_int_equal(st.max_us, 70 * CLOCK_US_PER_MS);
	assert_int_equal(st.last_us, 70 * CLOCK_US_PER_MS);
	assert_string_equal(st.max_name, "slow_fd_cb");

	/* 80 + 30 = 110 ms: slow, the hook's share the smaller. */
	slow_fd_us = 80 * CLOCK_US_PER_MS;
	one_iteration(loop, p[1]);
	loop_get_stats(loop, &st);
	assert_int_equal(st.iterations, 4);
	assert_int_equal(st.slow, 1);
	assert_int_equal(st.max_us, 110 * CLOCK_US_PER_MS);
	assert_int_equal(st.max_minute_us, 110 * CLOCK_US_PER_MS);
	assert_string_equal(st.max_name, "slow_fd_cb");

	/* The hook the slowest: named as such. */
	slow_fd_us = 0;
	slow_hook_us = 200 * CLOCK_US_PER_MS;
	one_iteration(loop, p[1]);
	loop_get_stats(loop, &st);
	assert_int_equal(st.slow, 2);
	assert_int_equal(st.max_us, 200 * CLOCK_US_PER_MS);
	assert_string_equal(st.max_name, "slow_hook_cb");

	/* A minute on, the minute's maximum has gone, not the start's; a
	 * short iteration is the minute's new one. */
	slow_hook_us = 0;
	clock_fake_advance(61 * CLOCK_US_PER_SEC);
	loop_get_stats(loop, &st);
	assert_int_equal(st.max_minute_us, 0);
	assert_int_equal(st.max_us, 200 * CLOCK_US_PER_MS);
	slow_fd_us = 5 * CLOCK_US_PER_MS;
	one_iteration(loop, p[1]);
	loop_get_stats(loop, &st);
	assert_int_equal(st.max_minute_us, 5 * CLOCK_US_PER_MS);
	assert_int_equal(st.slow, 2);

	/* Time between two calls, outside the loop, is not the loop's. */
	clock_fake_advance(10 * CLOCK_US_PER_SEC);
	assert_int_equal(loop_run_once(loop, 0), 0);
	loop_get_stats(loop, &st);
	assert_int_equal(st.slow, 2);
	assert_int_equal(st.last_us, 0);

	loop_free(loop);
	close(p[0]);
	close(p[1]);
	clock_set_source(NULL, NULL);
}

/* A timer and a signal are named after their callbacks too. */
static int64_t
slow_timer_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	(void)arg;
	clock_fake_advance(300 * CLOCK_US_PER_MS);
	return LOOP_TIMER_DONE;
}

static void
test_loop_accounting_timer(void **state)
{
	struct loop		*loop = new_loop();
	struct loop_stats	 st;

	(void)state;
	clock_fake_start(1000 * CLOCK_US_PER_SEC);
	assert_non_null(loop_timer_add(loop, 0, slow_timer_cb, NULL));
	assert_int_equal(loop_run_once(loop, 1000), 1);
	assert_int_equal(loop_run_once(loop, 0), 0);
	loop_get_stats(loop, &st);
	assert_int_equal(st.slow, 1);
	assert_int_equal(st.max_us, 300 * CLOCK_US_PER_MS);
	assert_string_equal(st.max_name, "slow_timer_cb");
	loop_free(loop);
	clock_set_source(NULL, NULL);
}

/* Aligned deadlines: to the next boundary, never 0, from any clock. */
static void
test_loop_align(void **state)
{
	int64_t	min = 60 * CLOCK_US_PER_SEC;

	(void)state;
	/* 12:00:00.000: a whole minute to the next boundary. */
	assert_int_equal(loop_align_ms(1765108800LL * CLOCK_US_PER_SEC, min),
	    60000);
	/* 12:00:59.9995: rounded up to 1 ms. */
	assert_int_equal(loop_align_ms(1765108800LL * CLOCK_US_PER_SEC +
	    min - 500, min), 1);
	/* 12:00:59.99999 still waits (at least 1 ms, never a busy 0). */
	assert_int_equal(loop_align_ms(1765108800LL * CLOCK_US_PER_SEC +
	    min - 1, min), 1);
	/* 12:00:17.250 to 12:01:00. */
	assert_int_equal(loop_align_ms(1765108800LL * CLOCK_US_PER_SEC +
	    17250 * CLOCK_US_PER_MS, min), 42750);
	/* The hour, from 12:59:00. */
	assert_int_equal(loop_align_ms(1765108800LL * CLOCK_US_PER_SEC +
	    59 * min, 60 * min), 60000);
	/* Before the epoch, and a period of nothing. */
	assert_int_equal(loop_align_ms(-10 * CLOCK_US_PER_SEC, min), 10000);
	assert_int_equal(loop_align_ms(123, 0), 1);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, guard_setup, guard_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_loop_new_free),
		T(test_loop_align),
		T(test_loop_work),
		T(test_loop_new_cause),
		T(test_loop_fd_read),
		T(test_loop_fd_hangup),
		T(test_loop_fd_del_self),
		T(test_loop_fd_del_batch),
		T(test_loop_fd_write),
		T(test_loop_fd_mod_batch),
		T(test_loop_fd_errors),
		T(test_loop_timer_once),
		T(test_loop_timer_zero),
		T(test_loop_timer_repeat),
		T(test_loop_timer_del_batch),
		T(test_loop_timer_set_batch),
		T(test_loop_timer_del_self),
		T(test_loop_timer_set),
		T(test_loop_timer_errors),
		T(test_loop_timer_many),
		T(test_loop_signal),
		T(test_loop_signal_blocked_before),
		T(test_loop_signal_ignored),
		T(test_loop_signal_errors),
		T(test_loop_hooks),
		T(test_loop_soon),
		T(test_loop_stop),
		T(test_loop_stop_from_hook),
		T(test_loop_eintr),
		T(test_loop_epoll_error),
		T(test_loop_accounting),
		T(test_loop_accounting_timer),
	};

	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}

