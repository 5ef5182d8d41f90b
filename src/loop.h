/*
 * The event loop: the only place in xmppguard that waits.
 *
 * epoll for file descriptors, one timerfd per timer, signalfd for signals,
 * and before-sleep hooks run once per iteration just before epoll_wait():
 * that is where batched work (the SQLite transaction, the nftables batch,
 * coalesced alerts) is flushed, so per-event work only ever appends.
 *
 * Every registration is named after its callback (the macros below pass
 * the function's name along), and the loop times each callback and each
 * iteration: loop_get_stats() and loop_status_group show the longest, and
 * an iteration over LOOP_SLOW_MS is logged with the callback that took
 * the most of it.
 */
#ifndef LOOP_H
#define LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;

#define LOOP_READ	0x1
#define LOOP_WRITE	0x2

/* Returned by a timer callback: stop the timer (it is freed). */
#define LOOP_TIMER_DONE	(-1)

/* fd is ready; events is a mask of LOOP_READ, LOOP_WRITE (an error or hang
 * up is reported as LOOP_READ so the owner's read sees it). */
typedef void	(*loop_fd_cb)(struct loop *, int fd, int events, void *arg);
/* A timer fired; returns its next delay in ms, or LOOP_TIMER_DONE. */
typedef int64_t	(*loop_timer_cb)(struct loop *, struct loop_timer *, void *arg);
/* A signal arrived (delivered through signalfd, in loop context). */
typedef void	(*loop_signal_cb)(struct loop *, int signo, void *arg);
/* Runs once per iteration before the loop sleeps. */
typedef void	(*loop_hook_cb)(struct loop *, void *arg);

/* A new loop; NULL with *cause set if epoll cannot be had. */
struct loop	*loop_new(char **cause);
/* Frees the loop, its timers and its signal fd; registered fds are not
 * closed (their owners close them).  NULL is a no-op. */
void		 loop_free(struct loop *);

/* An iteration this long (from the wakeup to the next wait) is slow. */
#define LOOP_SLOW_MS	100

/*
 * The registrations below take a name for the time accounting (a static
 * string: not copied).  The macros name each after its callback, so every
 * caller is named without saying so.
 */
#define loop_fd_add(l, fd, ev, cb, arg) \
	loop_fd_add_named((l), (fd), (ev), (cb), (arg), #cb)
#define loop_timer_add(l, ms, cb, arg) \
	loop_timer_add_named((l), (ms), (cb), (arg), #cb)
#define loop_signal(l, signo, cb, arg) \
	loop_signal_named((l), (signo), (cb), (arg), #cb)
#define loop_hook_add(l, cb, arg) \
	loop_hook_add_named((l), (cb), (arg), #cb)
#define loop_soon(l, cb, arg) \
	loop_soon_named((l), (cb), (arg), #cb)

/* Watches fd for events (LOOP_READ/LOOP_WRITE).  0, or -1 with errno. */
int		 loop_fd_add_named(struct loop *, int fd, int events,
		     loop_fd_cb, void *arg, const char *name);
/* Changes the events watched on fd; 0 or -1. */
int		 loop_fd_mod(struct loop *, int fd, int events);
/* Stops watching fd (safe from inside its own callback); 0 or -1. */
int		 loop_fd_del(struct loop *, int fd);

/* Starts a timer firing after delay_ms (0: on the next iteration).  The
 * handle stays valid until the callback returns LOOP_TIMER_DONE or
 * loop_timer_del() is called.  NULL with errno on failure. */
struct loop_timer *loop_timer_add_named(struct loop *, int64_t delay_ms,
		     loop_timer_cb, void *arg, const char *name);
/* Re-arms a timer to fire after delay_ms from now. */
int		 loop_timer_set(struct loop *, struct loop_timer *,
		     int64_t delay_ms);
/* Cancels and frees a timer (safe from inside any callback). */
void		 loop_timer_del(struct loop *, struct loop_timer *);

/*
 * Marks t (NULL: nothing) as a chore: a timer whose runs are bookkeeping
 * (a rollup round, a status line), not work.  loop_work() counts the
 * iterations that ran anything else, so that what sleeps until there is
 * work does not wake for another chore: an idle daemon stays asleep.
 */
void		 loop_timer_chore(struct loop_timer *);
uint64_t	 loop_work(const struct loop *);

/*
 * The delay in ms from now (wall clock, us) to the next multiple of period
 * (us, > 0) since the epoch, at least 1 ms: a periodic job that waits for
 * its own boundary (the minute's rollups, the hour's purge) instead of
 * counting from whenever it was armed, so jobs of the same period wake
 * together and an idle daemon wakes once for all of them.
 */
int64_t		 loop_align_ms(int64_t now, int64_t period);

/* Delivers signo through the loop instead of asynchronously; the signal is
 * blocked for the process.  0 or -1 with errno. */
int		 loop_signal_named(struct loop *, int signo, loop_signal_cb,
		     void *arg, const char *name);

/* Adds a before-sleep hook; hooks run in the order added. */
void		 loop_hook_add_named(struct loop *, loop_hook_cb, void *arg,
		     const char *name);

/*
 * Runs cb once, as soon as the callback running now returns, ahead of the
 * rest of the iteration's batch (the hooks still run before the loop
 * sleeps): for work whose delay shows, a ban on its way to the kernel.  A
 * source reading a backlog calls loop_soon_run() between its batches, so
 * that such work does not wait for the whole backlog.  A request for a cb
 * and arg already pending is that one; at most LOOP_SOON_MAX are pending
 * (more is our bug: fatal).  Safe from any callback, a hook's too (then
 * it runs after the hooks).
 */
#define LOOP_SOON_MAX	4
void		 loop_soon_named(struct loop *, loop_hook_cb, void *arg,
		     const char *name);
/* Runs the pending loop_soon() requests now, in the order asked. */
void		 loop_soon_run(struct loop *);

/* Runs until loop_stop().  0, or -1 if epoll_wait failed for good. */
int		 loop_run(struct loop *);
/* One iteration: hooks, wait at most timeout_ms (-1: forever), dispatch.
 * Returns the number of callbacks dispatched, or -1. */
int		 loop_run_once(struct loop *, int timeout_ms);
/* Makes loop_run() return after the current iteration. */
void		 loop_stop(struct loop *);
int		 loop_stopped(const struct loop *);

/* How long iterations take: their busy time, from epoll_wait()'s return
 * through the callbacks and the next before-sleep hooks. */
struct loop_stats {
	uint64_t	 iterations;	/* measured so far */
	uint64_t	 slow;		/* of them over LOOP_SLOW_MS */
	int64_t		 max_us;	/* the longest since start */
	int64_t		 max_minute_us;	/* ... in the last minute */
	int64_t		 last_us;	/* the last one */
	const char	*max_name;	/* the callback that took most of the
					 * longest (static; NULL: none yet) */
};

void		 loop_get_stats(const struct loop *, struct loop_stats *);

/*
 * A time budget for one wake-up's work, so that a source with a backlog
 * leaves the loop to the others (the owner continues with a 0 ms timer).
 * Asked after each unit of work, it reads the clock only every `every`
 * units; once spent it stays spent.  The default, LOOP_BUDGET_US, is what
 * ct.c gives its event socket.
 */
#define LOOP_BUDGET_US	5000

struct loop_budget {
	int64_t		 end;		/* clock_monotonic(), us */
	unsigned	 every;
	unsigned	 left;		/* units until the next look */
	int		 spent;
};

void		 loop_budget_start(struct loop_budget *, int64_t us,
		     unsigned every);
/* Counts one unit done; 1 if the budget is spent. */
int		 loop_budget_spent(struct loop_budget *);

/* Status and metrics: the loop line. */
struct status_group;
extern const struct status_group loop_status_group;

#endif /* LOOP_H */
