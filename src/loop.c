/*
 * The event loop.  Everything xmppguard waits for is a file descriptor in
 * one epoll set: the fds other modules register, one timerfd per timer, and
 * one signalfd for every signal handed to the loop.  A table indexed by fd
 * number holds each registration (struct loop_src); a timer is a source
 * whose fd is its own timerfd, so fds, timers and signals share one
 * dispatch path.  An iteration runs the before-sleep hooks, makes one
 * epoll_wait() for at most LOOP_MAX_EVENTS events, and dispatches them.
 * What a callback asks to run soon (loop_soon: a ban's batch) runs as it
 * returns, before the next one: a ban does not wait for every other
 * source ready in the same wakeup, nor, where the reader calls
 * loop_soon_run() between its batches, for the rest of a backlog.
 *
 * A batch from epoll_wait() may name a registration that an earlier
 * callback in the same batch deleted, or deleted and replaced with a new
 * one on the same, reused, fd number.  So each registration gets a
 * generation number, stored in its epoll data next to the fd, and an event
 * whose generation no longer matches the table's is stale and dropped.
 * That is what lets loop_fd_del() and loop_timer_del() free at once from
 * any callback (a timer's own included) with nothing deferred: the loop
 * never keeps a pointer to a source across a callback, only its fd and
 * generation, and looks the source up again afterwards.
 *
 * Invariants: srcs[fd] is NULL or the one live registration of fd, and every
 * live registration is in the epoll set under its (generation, fd) tag.
 * The loop owns timerfds and the signalfd; registered fds belong to their
 * owners, who must loop_fd_del() them before close().
 *
 * Time accounting.  A daemon whose loop stalls answers nothing, so the
 * loop measures itself: an iteration's busy time runs from epoll_wait()'s
 * return through the callbacks it dispatches and the before-sleep hooks
 * at the start of the next call, which flush what those callbacks queued
 * (the time between two loop_run_once() calls, outside the loop, is not
 * counted).  Each callback and hook is timed too, under the name it was
 * registered with, and the slowest one of an iteration is kept: an
 * iteration over LOOP_SLOW_MS is counted and logged with it, at most
 * every LOOP_SLOW_LOG_US at info level (the rest at debug), so that a
 * stall names its cause.  The longest iteration is kept since start and
 * per second over the last minute (a ring of LOOP_MINUTE slots, each the
 * longest of its second), which is what status shows.  Two clock reads a
 * callback: the monotonic clock is a vDSO call, tens of nanoseconds.
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "status.h"
#include "xmalloc.h"

#define LOOP_MAX_EVENTS		64	/* events taken per epoll_wait() */
#define LOOP_SIG_BATCH		16	/* siginfos read per signalfd wakeup */
#define LOOP_SRCS_MIN		64	/* first size of the fd table */
/* Longest timer delay (68 years): its seconds still fit a 32-bit time_t. */
#define LOOP_DELAY_MAX_MS	((int64_t)INT32_MAX * 1000)
#define LOOP_MINUTE		60	/* seconds of per-second maxima */
#define LOOP_SLOW_LOG_US	(10 * CLOCK_US_PER_SEC)

enum loop_kind {
	LOOP_KIND_FD,
	LOOP_KIND_TIMER,
	LOOP_KIND_SIGNAL
};

struct loop_src {
	enum loop_kind	 kind;
	int		 fd;
	uint32_t	 gen;		/* tags this registration's events */
	int		 events;	/* LOOP_READ|LOOP_WRITE (fd only) */
	loop_fd_cb	 cb;		/* fd only */
	void		*arg;
	const char	*name;		/* for the time accounting */
};

struct loop_timer {
	struct loop_src	 src;		/* first: a timer is a source */
	loop_timer_cb	 cb;
	int		 chore;		/* its runs are not work */
};

struct loop_hook {
	loop_hook_cb	 cb;
	void		*arg;
	const char	*name;
};

struct loop_sig {
	loop_signal_cb	 cb;
	void		*arg;
	const char	*name;
};

struct loop {
	int		  epfd;
	struct loop_src	**srcs;		/* indexed by fd */
	size_t		  nsrcs;
	uint32_t	  gen;		/* last generation handed out */

	int		  sigfd;	/* -1 until the first loop_signal() */
	sigset_t	  sigmask;	/* what sigfd reads */
	sigset_t	  sigblocked;	/* blocked by us, unblocked on free */
	struct loop_sig	  sigs[NSIG];

	struct loop_hook *hooks;
	size_t		  nhooks;
	struct loop_hook  soon[LOOP_SOON_MAX];	/* loop_soon(), in order */
	size_t		  nsoon;

	int		  stop;
	uint64_t	  work;		/* iterations that ran more than
					 * chores (loop_work) */

	/* Time accounting, clock_monotonic() us (see the top). */
	int64_t		  busy_us;	/* this iteration's so far */
	int64_t		  top_us;	/* its slowest callback ... */
	const char	 *top_name;	/* ... and its name */
	int		  ncalls;	/* callbacks it ran */
	int		  pending;	/* it awaits its hooks */
	int64_t		  cpu0;		/* CPU time at its wakeup, us */
	struct loop_stats stats;
	int64_t		  sec_max[LOOP_MINUTE];	/* longest of second ... */
	int64_t		  sec_at[LOOP_MINUTE];	/* ... number sec_at[i] */
	struct log_ratelimit rl_slow;
};

static uint64_t
loop_tag(const struct loop_src *src)
{
	return (uint64_t)src->gen << 32 | (uint32_t)src->fd;
}

/* The live source an event's tag names, or NULL if the event is stale. */
static struct loop_src *
loop_src_find(struct loop *loop, uint64_t tag)
{
	struct loop_src	*src;
	int		 fd = (int)(uint32_t)tag;

	if (fd < 0 || (size_t)fd >= loop->nsrcs)
		return NULL;
	src = loop->srcs[fd];
	if (src == NULL || src->gen != (uint32_t)(tag >> 32))
		return NULL;
	return src;
}

static struct loop_src *
loop_src_get(struct loop *loop, int fd, enum loop_kind kind)
{
	if (fd < 0 || (size_t)fd >= loop->nsrcs || loop->srcs[fd] == NULL ||
	    loop->srcs[fd]->kind != kind)
		return NULL;
	return loop->srcs[fd];
}

static uint32_t
loop_epoll_events(int events)
{
	uint32_t	ev = 0;

	if (events & LOOP_READ)
		ev |= EPOLLIN;
	if (events & LOOP_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

/* Puts src in the table and the epoll set; -1 with errno if epoll refuses. */
static int
loop_src_add(struct loop *loop, struct loop_src *src, uint32_t epevents)
{
	struct epoll_event	 ev;
	size_t			 n;

	/* fd numbers are bounded by RLIMIT_NOFILE, and so is the table. */
	if ((size_t)src->fd >= loop->nsrcs) {
		n = loop->nsrcs != 0 ? loop->nsrcs : LOOP_SRCS_MIN;
		while (n <= (size_t)src->fd)
			n *= 2;
		loop->srcs = xreallocarray(loop->srcs, n, sizeof *loop->srcs);
		memset(loop->srcs + loop->nsrcs, 0,
		    (n - loop->nsrcs) * sizeof *loop->srcs);
		loop->nsrcs = n;
	}

	src->gen = ++loop->gen;
	memset(&ev, 0, sizeof ev);
	ev.events = epevents;
	ev.data.u64 = loop_tag(src);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, src->fd, &ev) == -1)
		return -1;
	loop->srcs[src->fd] = src;
	return 0;
}

/*
 * Takes src out of the table and the epoll set.  EPOLL_CTL_DEL fails only
 * if the fd was already closed, which took it out of the set anyway.
 */
static void
loop_src_remove(struct loop *loop, struct loop_src *src)
{
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	loop->srcs[src->fd] = NULL;
}

struct loop *
loop_new(char **cause)
{
	struct loop	*loop;
	int		 fd;

	if ((fd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		if (cause != NULL)
			*cause = xasprintf("epoll_create1: %s",
			    strerror(errno));
		return NULL;
	}
	loop = xcalloc(1, sizeof *loop);
	loop->epfd = fd;
	loop->sigfd = -1;
	loop->rl_slow.interval_us = LOOP_SLOW_LOG_US;
	sigemptyset(&loop->sigmask);
	sigemptyset(&loop->sigblocked);
	return loop;
}

/*
 * Hands the loop's signals back to the process.  Whatever is still pending
 * is read and dropped first: unblocked, a pending SIGTERM would otherwise
 * kill the process with its default action on the way out.
 */
static void
loop_signal_close(struct loop *loop)
{
	struct signalfd_siginfo	 si[LOOP_SIG_BATCH];
	int			 save = errno;

	while (read(loop->sigfd, si, sizeof si) > 0)
		continue;
	close(loop->sigfd);
	loop->sigfd = -1;

	(void)pthread_sigmask(SIG_UNBLOCK, &loop->sigblocked, NULL);
	errno = save;
}

void
loop_free(struct loop *loop)
{
	struct loop_src	*src;
	size_t		 fd;

	if (loop == NULL)
		return;
	for (fd = 0; fd < loop->nsrcs; fd++) {
		if ((src = loop->srcs[fd]) == NULL)
			continue;
		switch (src->kind) {
		case LOOP_KIND_FD:
			break;
		case LOOP_KIND_TIMER:
			close(src->fd);
			break;
		case LOOP_KIND_SIGNAL:
			loop_signal_close(loop);
			break;
		}
		free(src);
	}
	close(loop->epfd);
	free(loop->srcs);
	free(loop->hooks);
	free(loop);
}

int
loop_fd_add_named(struct loop *loop, int fd, int events, loop_fd_cb cb,
    void *arg, const char *name)
{
	struct loop_src	*src;
	int		 save;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if ((events & ~(LOOP_READ | LOOP_WRITE)) != 0 || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)fd < loop->nsrcs && loop->srcs[fd] != NULL) {
		errno = EEXIST;
		return -1;
	}

	src = xcalloc(1, sizeof *src);
	src->kind = LOOP_KIND_FD;
	src->fd = fd;
	src->events = events;
	src->cb = cb;
	src->arg = arg;
	src->name = name;
	if (loop_src_add(loop, src, loop_epoll_events(events)) == -1) {
		save = errno;
		free(src);
		errno = save;
		return -1;
	}
	return 0;
}

int
loop_fd_mod(struct loop *loop, int fd, int events)
{
	struct loop_src		*src;
	struct epoll_event	 ev;

	if ((src = loop_src_get(loop, fd, LOOP_KIND_FD)) == NULL) {
		errno = ENOENT;
		return -1;
	}
	if ((events & ~(LOOP_READ | LOOP_WRITE)) != 0) {
		errno = EINVAL;
		return -1;
	}
	memset(&ev, 0, sizeof ev);
	ev.events = loop_epoll_events(events);
	ev.data.u64 = loop_tag(src);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == -1)
		return -1;
	src->events = events;
	return 0;
}

int
loop_fd_del(struct loop *loop, int fd)
{
	struct loop_src	*src;

	if ((src = loop_src_get(loop, fd, LOOP_KIND_FD)) == NULL) {
		errno = ENOENT;
		return -1;
	}
	loop_src_remove(loop, src);
	free(src);
	return 0;
}

/*
 * A zero it_value disarms a timerfd, so "as soon as possible" is 1ns: due
 * at the next epoll_wait().  Re-arming also discards an expiration not yet
 * read, which is why a timer re-armed earlier in a batch does not fire.
 */
static int
loop_timer_arm(struct loop_timer *t, int64_t delay_ms)
{
	struct itimerspec	its;

	if (delay_ms > LOOP_DELAY_MAX_MS)
		delay_ms = LOOP_DELAY_MAX_MS;
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = (time_t)(delay_ms / 1000);
	its.it_value.tv_nsec = (long)(delay_ms % 1000) * 1000000L;
	if (delay_ms == 0)
		its.it_value.tv_nsec = 1;
	return timerfd_settime(t->src.fd, 0, &its, NULL);
}

struct loop_timer *
loop_timer_add_named(struct loop *loop, int64_t delay_ms, loop_timer_cb cb,
    void *arg, const char *name)
{
	struct loop_timer	*t;
	int			 fd, save;

	if (delay_ms < 0 || cb == NULL) {
		errno = EINVAL;
		return NULL;
	}
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd == -1)
		return NULL;

	t = xcalloc(1, sizeof *t);
	t->src.kind = LOOP_KIND_TIMER;
	t->src.fd = fd;
	t->src.arg = arg;
	t->src.name = name;
	t->cb = cb;
	if (loop_timer_arm(t, delay_ms) == -1 ||
	    loop_src_add(loop, &t->src, EPOLLIN) == -1) {
		save = errno;
		close(fd);
		free(t);
		errno = save;
		return NULL;
	}
	return t;
}

int
loop_timer_set(struct loop *loop, struct loop_timer *t, int64_t delay_ms)
{
	(void)loop;
	if (delay_ms < 0) {
		errno = EINVAL;
		return -1;
	}
	return loop_timer_arm(t, delay_ms);
}

void
loop_timer_del(struct loop *loop, struct loop_timer *t)
{
	if (t == NULL)
		return;
	loop_src_remove(loop, &t->src);
	close(t->src.fd);
	free(t);
}

/*
 * Takes signo over: blocked for the process, read from the signalfd.  Its
 * disposition is left alone: Linux queues a blocked signal even when it is
 * SIG_IGN (SIGHUP under nohup, say), so the signalfd still sees it.
 */
int
loop_signal_named(struct loop *loop, int signo, loop_signal_cb cb,
    void *arg, const char *name)
{
	struct loop_src		*src;
	sigset_t		 mask, one, old;
	int			 fd, error;

	if (signo <= 0 || signo >= NSIG || signo == SIGKILL ||
	    signo == SIGSTOP || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	mask = loop->sigmask;
	if (sigaddset(&mask, signo) == -1)	/* glibc-reserved signals */
		return -1;

	if (loop->sigfd == -1) {
		fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
		if (fd == -1)
			return -1;
		src = xcalloc(1, sizeof *src);
		src->kind = LOOP_KIND_SIGNAL;
		src->fd = fd;
		if (loop_src_add(loop, src, EPOLLIN) == -1) {
			error = errno;
			close(fd);
			free(src);
			errno = error;
			return -1;
		}
		loop->sigfd = fd;
	} else if (signalfd(loop->sigfd, &mask, 0) == -1)
		return -1;
	loop->sigmask = mask;

	sigemptyset(&one);
	sigaddset(&one, signo);
	if ((error = pthread_sigmask(SIG_BLOCK, &one, &old)) != 0) {
		errno = error;
		return -1;
	}
	if (sigismember(&old, signo) == 0)
		sigaddset(&loop->sigblocked, signo);

	loop->sigs[signo].cb = cb;
	loop->sigs[signo].arg = arg;
	loop->sigs[signo].name = name;
	return 0;
}

void
loop_hook_add_named(struct loop *loop, loop_hook_cb cb, void *arg,
    const char *name)
{
	loop->hooks = xreallocarray(loop->hooks, loop->nhooks + 1,
	    sizeof *loop->hooks);
	loop->hooks[loop->nhooks].cb = cb;
	loop->hooks[loop->nhooks].arg = arg;
	loop->hooks[loop->nhooks].name = name;
	loop->nhooks++;
}

static void
loop_iteration_reset(struct loop *loop)
{
	loop->busy_us = loop->top_us = 0;
	loop->top_name = NULL;
	loop->ncalls = 0;
}

/*
 * The thread's CPU time, us: a slow iteration that used little of it was
 * waiting for a CPU (or the disk), not working.  A system call, not vDSO:
 * read twice an iteration.
 */
static int64_t
loop_cpu_us(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * CLOCK_US_PER_SEC + ts.tv_nsec / 1000;
}

void
loop_budget_start(struct loop_budget *b, int64_t us, unsigned every)
{
	b->end = clock_monotonic() + us;
	b->every = every > 0 ? every : 1;
	b->left = b->every;
	b->spent = 0;
}

void
loop_timer_chore(struct loop_timer *t)
{
	if (t != NULL)
		t->chore = 1;
}

uint64_t
loop_work(const struct loop *loop)
{
	return loop->work;
}

int64_t
loop_align_ms(int64_t now, int64_t period)
{
	int64_t	 left;

	if (period <= 0)
		return 1;
	/* C's % keeps the dividend's sign: a clock before 1970 still
	 * counts up to the next boundary. */
	left = period - now % period;
	if (left > period)
		left -= period;
	left = (left + CLOCK_US_PER_MS - 1) / CLOCK_US_PER_MS;
	return left < 1 ? 1 : left;
}

int
loop_budget_spent(struct loop_budget *b)
{
	if (b->spent)
		return 1;
	if (--b->left > 0)
		return 0;
	b->left = b->every;
	b->spent = clock_monotonic() >= b->end;
	return b->spent;
}

/* Callback name ran from t0 until now: the iteration's slowest yet? */
static void
loop_timed(struct loop *loop, const char *name, int64_t t0)
{
	int64_t	 us = clock_monotonic() - t0;

	loop->ncalls++;
	if (us > loop->top_us || loop->top_name == NULL) {
		loop->top_us = us;
		loop->top_name = name;
	}
}

/*
 * An iteration of busy_us ended at now: into the maxima, and counted and
 * logged if slow.  Then the next one starts from nothing.
 */
static void
loop_account(struct loop *loop, int64_t busy_us, int64_t now)
{
	struct loop_stats	*st = &loop->stats;
	int64_t			 sec = now / CLOCK_US_PER_SEC;
	size_t			 k = (size_t)(sec % LOOP_MINUTE);
	const char		*name;
	int64_t			 cpu = loop_cpu_us() - loop->cpu0;

	st->iterations++;
	st->last_us = busy_us;
	if (busy_us > st->max_us) {
		st->max_us = busy_us;
		st->max_name = loop->top_name;
	}
	if (loop->sec_at[k] != sec) {
		loop->sec_at[k] = sec;
		loop->sec_max[k] = 0;
	}
	if (busy_us > loop->sec_max[k])
		loop->sec_max[k] = busy_us;
	if (busy_us > LOOP_SLOW_MS * CLOCK_US_PER_MS) {
		st->slow++;
		name = loop->top_name != NULL ? loop->top_name : "?";
		if (log_ratelimit_ok(&loop->rl_slow, now))
			log_info("loop: an iteration took %lld ms (%lld ms on "
			    "CPU), %lld ms of it in %s (callbacks run: %d; "
			    "slow iterations not logged so far: %lu)",
			    (long long)(busy_us / CLOCK_US_PER_MS),
			    (long long)(cpu / CLOCK_US_PER_MS),
			    (long long)(loop->top_us / CLOCK_US_PER_MS), name,
			    loop->ncalls, loop->rl_slow.suppressed);
		else
			log_debug("loop: an iteration took %lld ms (%lld ms on "
			    "CPU), %lld ms of it in %s (callbacks run: %d)",
			    (long long)(busy_us / CLOCK_US_PER_MS),
			    (long long)(cpu / CLOCK_US_PER_MS),
			    (long long)(loop->top_us / CLOCK_US_PER_MS), name,
			    loop->ncalls);
	}
	loop_iteration_reset(loop);
}

void
loop_get_stats(const struct loop *loop, struct loop_stats *st)
{
	int64_t	 sec = clock_monotonic() / CLOCK_US_PER_SEC;
	size_t	 k;

	*st = loop->stats;
	st->max_minute_us = 0;
	for (k = 0; k < LOOP_MINUTE; k++)
		if (loop->sec_at[k] > sec - LOOP_MINUTE &&
		    loop->sec_at[k] <= sec &&
		    loop->sec_max[k] > st->max_minute_us)
			st->max_minute_us = loop->sec_max[k];
}

void
loop_soon_named(struct loop *loop, loop_hook_cb cb, void *arg,
    const char *name)
{
	size_t	i;

	for (i = 0; i < loop->nsoon; i++)
		if (loop->soon[i].cb == cb && loop->soon[i].arg == arg)
			return;
	if (loop->nsoon == LOOP_SOON_MAX)
		fatalx("loop: more than %d loop_soon() pending", LOOP_SOON_MAX);
	loop->soon[loop->nsoon].cb = cb;
	loop->soon[loop->nsoon].arg = arg;
	loop->soon[loop->nsoon].name = name;
	loop->nsoon++;
}

/*
 * Each request is taken off before it runs, so that one made while it runs
 * (by it, or by what it calls) is a new one, run in this same call.
 */
void
loop_soon_run(struct loop *loop)
{
	struct loop_hook	 h;
	int64_t			 t0;

	while (loop->nsoon > 0) {
		h = loop->soon[0];
		loop->nsoon--;
		memmove(&loop->soon[0], &loop->soon[1],
		    loop->nsoon * sizeof(loop->soon[0]));
		t0 = clock_monotonic();
		h.cb(loop, h.arg);
		loop_timed(loop, h.name, t0);
	}
}

static int
loop_dispatch_fd(struct loop *loop, struct loop_src *src, uint32_t epevents)
{
	const char	*name;
	int64_t		 t0;
	int		 events = 0;

	/*
	 * Masked with what is watched now: an earlier callback in this batch
	 * may have narrowed it with loop_fd_mod().  Errors and hang-ups are
	 * always reported, as LOOP_READ, whose read(2) shows what happened.
	 */
	if ((epevents & EPOLLIN) && (src->events & LOOP_READ))
		events |= LOOP_READ;
	if (epevents & (EPOLLERR | EPOLLHUP))
		events |= LOOP_READ;
	if ((epevents & EPOLLOUT) && (src->events & LOOP_WRITE))
		events |= LOOP_WRITE;
	if (events == 0)
		return 0;
	/* The name, not src: the callback may free its registration. */
	name = src->name;
	t0 = clock_monotonic();
	src->cb(loop, src->fd, events, src->arg);
	loop_timed(loop, name, t0);
	return 1;
}

static int
loop_dispatch_timer(struct loop *loop, struct loop_timer *t)
{
	uint64_t	 expirations, tag = loop_tag(&t->src);
	const char	*name = t->src.name;
	int64_t		 next, t0;

	/* Nothing to read: re-armed by an earlier callback in this batch. */
	if (read(t->src.fd, &expirations, sizeof expirations) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("loop: timerfd read");
		return 0;
	}

	/* Its return value decides, even over a loop_timer_set() of its own. */
	t0 = clock_monotonic();
	next = t->cb(loop, t, t->src.arg);
	loop_timed(loop, name, t0);

	/* The callback may have deleted its own timer: look it up again. */
	if (loop_src_find(loop, tag) == NULL)
		return 1;
	if (next < 0)
		loop_timer_del(loop, t);
	else if (loop_timer_arm(t, next) == -1)
		log_warn("loop: timerfd_settime");
	return 1;
}

/*
 * One read per wakeup, of at most LOOP_SIG_BATCH signals: a flood of
 * queued real-time signals then shares the loop with everything else, the
 * rest waiting (level-triggered) for the next iteration.
 */
static int
loop_dispatch_signal(struct loop *loop)
{
	struct signalfd_siginfo	 si[LOOP_SIG_BATCH];
	struct loop_sig		*sig;
	ssize_t			 n;
	size_t			 i;
	int64_t			 t0;
	int			 dispatched = 0;

	if ((n = read(loop->sigfd, si, sizeof si)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("loop: signalfd read");
		return 0;
	}
	for (i = 0; i < (size_t)n / sizeof si[0]; i++) {
		if (si[i].ssi_signo == 0 || si[i].ssi_signo >= NSIG)
			continue;
		sig = &loop->sigs[si[i].ssi_signo];
		if (sig->cb == NULL)
			continue;
		t0 = clock_monotonic();
		sig->cb(loop, (int)si[i].ssi_signo, sig->arg);
		loop_timed(loop, sig->name, t0);
		dispatched++;
	}
	return dispatched;
}

int
loop_run_once(struct loop *loop, int timeout_ms)
{
	struct epoll_event	 evs[LOOP_MAX_EVENTS];
	struct loop_src		*src;
	size_t			 i;
	int64_t			 t0, t1;
	int			 n, d, chore, dispatched = 0, worked = 0;

	/* Indexed afresh each time: a hook may add another (it runs too). */
	t0 = t1 = clock_monotonic();
	for (i = 0; i < loop->nhooks; i++) {
		loop->hooks[i].cb(loop, loop->hooks[i].arg);
		loop_timed(loop, loop->hooks[i].name, t1);
		t1 = clock_monotonic();
	}
	if (loop->nsoon > 0) {
		loop_soon_run(loop);
		t1 = clock_monotonic();
	}
	/* The hooks end the iteration that woke last (if one did). */
	if (loop->pending) {
		loop_account(loop, loop->busy_us + (t1 - t0), t1);
		loop->pending = 0;
	} else
		loop_iteration_reset(loop);

	/* A hook stopped the loop: dispatch what is ready, do not sleep. */
	if (loop->stop)
		timeout_ms = 0;

	if ((n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS,
	    timeout_ms)) == -1) {
		if (errno == EINTR)
			return 0;
		log_warn("loop: epoll_wait");
		return -1;
	}

	t0 = clock_monotonic();
	loop->cpu0 = loop_cpu_us();
	for (i = 0; i < (size_t)n; i++) {
		if ((src = loop_src_find(loop, evs[i].data.u64)) == NULL)
			continue;	/* deleted earlier in this batch */
		/* Read before the call: a timer may free itself. */
		chore = src->kind == LOOP_KIND_TIMER &&
		    ((struct loop_timer *)src)->chore;
		switch (src->kind) {
		case LOOP_KIND_FD:
			d = loop_dispatch_fd(loop, src, evs[i].events);
			break;
		case LOOP_KIND_TIMER:
			d = loop_dispatch_timer(loop, (struct loop_timer *)src);
			break;
		case LOOP_KIND_SIGNAL:
		default:
			d = loop_dispatch_signal(loop);
			break;
		}
		dispatched += d;
		worked |= d > 0 && !chore;
		/* What it asked to run soon goes before the rest. */
		loop_soon_run(loop);
	}
	if (worked)
		loop->work++;
	loop->busy_us = clock_monotonic() - t0;
	loop->pending = 1;
	return dispatched;
}

/*
 * Returns right after the iteration in which loop_stop() was called: the
 * hooks do not run again, so the caller flushes what they would have.  A
 * loop stopped before loop_run() returns at once; the stop is never reset.
 */
int
loop_run(struct loop *loop)
{
	while (!loop->stop)
		if (loop_run_once(loop, -1) == -1)
			return -1;
	return 0;
}

void
loop_stop(struct loop *loop)
{
	loop->stop = 1;
}

int
loop_stopped(const struct loop *loop)
{
	return loop->stop;
}

/*
 * Status: how long iterations take.
 */
#define LS(f)	offsetof(struct loop_stats, f)
static const struct status_field loop_status_fields[] = {
	{ .name = "iteration_max_ms", .type = STATUS_US, .off = LS(max_us),
	  .kind = STATUS_GAUGE,
	  .metric = "xmppguard_loop_iteration_max_seconds",
	  .help = "The longest loop iteration (busy time): since start, "
	  "in the last minute.", .label = "window", .value = "start",
	  .text = "longest iteration % ms" },
	{ .name = "iteration_max_minute_ms", .type = STATUS_US,
	  .off = LS(max_minute_us), .kind = STATUS_GAUGE,
	  .metric = "xmppguard_loop_iteration_max_seconds",
	  .help = "The longest loop iteration (busy time): since start, "
	  "in the last minute.", .label = "window", .value = "minute",
	  .text = "(% ms in the last minute)" },
	{ .name = "slow_iterations", .type = STATUS_U64, .off = LS(slow),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_loop_slow_iterations_total",
	  .help = "Loop iterations longer than 100 ms.",
	  .text = "% over 100 ms" },
	{ .name = "iterations", .type = STATUS_U64, .off = LS(iterations),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_loop_iterations_total",
	  .help = "Loop iterations." },
	{ .name = "last_iteration_ms", .type = STATUS_US, .off = LS(last_us) },
	{ .name = "slowest", .type = STATUS_STR, .off = LS(max_name) },
	{ .name = NULL }
};
#undef LS

static void
loop_status_get(const void *obj, size_t i, void *snap)
{
	(void)i;
	loop_get_stats(obj, snap);
}

const struct status_group loop_status_group = {
	.name = "loop",
	.text = "loop",
	.fields = loop_status_fields,
	.size = sizeof(struct loop_stats),
	.get = loop_status_get,
};
