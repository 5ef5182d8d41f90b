/*
 * The running daemon: what `xmppguard run` holds, and the steps of its
 * life that main.c's daemon_run() puts in order (daemon.c), with the
 * control commands it answers (control.c).
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdint.h>
#include <stdio.h>

#include "fw.h"
#include "log.h"

struct alerts;
struct conf;
struct ct;
struct ctl;
struct enforce;
struct kcap;
struct logsrc;
struct loop;
struct loop_timer;
struct metrics_server;
struct ownaddr;
struct pipeline;
struct priv;
struct losses;
struct status;
struct store;
struct surge;

#define DAEMON_SURGE_OPS	16	/* surge switches an iteration */

struct daemon {
	struct conf	*conf;
	struct loop	*loop;
	struct store	*store;
	struct pipeline	*pipeline;	/* detection */
	struct ct	*ct;		/* NULL: [conntrack] enabled = no */
	struct logsrc	*logs;		/* the [log] sections */
	struct priv	*priv;		/* the helper; NULL: none */
	struct ownaddr	*own;		/* the host's addresses, live */
	struct enforce	*enforce;	/* bans and the firewall */
	struct kcap	*kcap;		/* kernel caps' refusals */
	struct surge	*surge;		/* surge mode's detection */
	struct loop_timer *surge_timer;	/* its tick; NULL: no service in
					 * surge mode yet */
	int64_t		 surge_renewed;	/* the flags' leases, last */
	int64_t		 surge_began;	/* a surge's start, until its switch
					 * is in the kernel; 0: none */
	struct fw_op	 surge_ops[DAEMON_SURGE_OPS]; /* switches queued */
	size_t		 surge_nops;
	struct log_ratelimit surge_rl;	/* known addresses' warnings */
	struct ctl	*ctl;		/* the control socket */
	struct alerts	*alerts;	/* the [alert] sinks */
	struct cluster	*cluster;	/* [cluster]; NULL: none */
	struct status	*status;	/* every module's counters */
	struct losses	*losses;	/* what was lost, into the store */
	struct log_ratelimit losses_rl;	/* its write warnings */
	uint64_t	 outages;	/* auth outages announced */
	uint64_t	 cluster_downs;	/* cluster links down announced */
	int64_t		 cluster_down;	/* since when (wall us); 0: up */
	struct metrics_server *metrics;	/* [metrics] listen; NULL: none */
	char		 metrics_listen[72];	/* what it listens on */
	struct log_ratelimit metrics_rl;	/* file write warnings */
	int		 lock_fd;
	int		 ready_fd;	/* pipe to the waiting parent; -1 */
	int		 dry_run;	/* from the command line */
	char		*state_dir;	/* from the command line; NULL */
	char		*socket;	/* from the command line; NULL */
	int64_t		 started;	/* monotonic us */
	int64_t		 started_wall;	/* us since epoch */
	uint64_t	 rate_events;	/* events at the last rate sample */
	double		 rate;		/* events per second, last interval */
	struct loop_timer *rate_timer;	/* NULL: no events, rate 0 */
	struct loop_timer *rollup_timer; /* NULL: the loop was idle */
	struct loop_timer *metrics_timer; /* NULL: no [metrics] file */
	uint64_t	 rollup_work;	/* loop_work() as the last round
					 * began */
	uint64_t	 rollup_begin;	/* ... and as this one began */
	int		 rollup_step;	/* a rollup flush is under way */
	int		 purge_step;	/* a retention purge is under way */
	int64_t		 purge_before;	/* ... of rows older than this */
	int64_t		 purged;	/* ... rows so far */
};

/* `run`'s options and configuration: 0, or -1 (usage) or 1 (errors
 * printed); *foreground from -f. */
int	daemon_init(struct daemon *, int argc, char **argv, int *foreground);
/* A random seed for the detection's hash tables. */
uint32_t daemon_seed(void);
/* Command-line overrides (--dry-run, --socket, --state-dir) on conf. */
void	daemon_apply_overrides(struct daemon *, struct conf *);

/* Process life (daemon.c): the state directory's lock, the fork that
 * waits for readiness, readiness, and the drop to [global] user. */
int	daemon_lock(struct daemon *, char **cause);
void	daemon_detach(struct daemon *);
void	daemon_ready(struct daemon *);
void	daemon_drop(struct daemon *);

/* The loop's signals, before-sleep hook and periodic timers. */
void	daemon_loop_init(struct daemon *);
/* The tracker's windows from the store: at start (1) or a reload (0). */
void	daemon_rebuild(struct daemon *, int start);
/* Every module's counters registered for status and metrics. */
void	daemon_status_init(struct daemon *);
/* The [metrics] endpoint and file. */
void	daemon_metrics_start(struct daemon *);
/* Alerts: the sinks, told of bans once the restored ones are in force;
 * the stop message and what is queued sent at the end (bounded). */
void	daemon_alerts_open(struct daemon *);
void	daemon_alerts_start(struct daemon *);
void	daemon_cluster_start(struct daemon *);
void	daemon_alerts_stop(struct daemon *);
/* Once per loop iteration: logs' positions, the store, the firewall. */
void	daemon_flush(struct daemon *);
/* What the loss counters gained, into the store (each minute, at exit). */
void	daemon_losses_flush(struct daemon *);

/* Surge mode (daemon_surge.c): detection and the known addresses from
 * the store, after enforcement started; a reload; the switches and known
 * addresses to the kernel (the before-sleep hook); the end. */
void	daemon_surge_start(struct daemon *);
void	daemon_surge_arm(struct daemon *);
void	daemon_surge_reload(struct daemon *, const struct conf *);
void	daemon_surge_flush(struct daemon *);
void	daemon_surge_stop(struct daemon *);
/* A kernel cap's refusal (a kcap_refusal_cb; arg: the daemon): counted
 * per address in the rollups, and in a surge's end. */
struct addr;
void	daemon_refusal_cb(const struct addr *, const char *service,
	    const char *cap, int64_t now, void *arg);

/*
 * A new configuration swapped in only if it loaded cleanly; out (may be
 * NULL: SIGHUP) hears why not.  0, or -1 with the old one kept.
 */
int	daemon_reload(struct daemon *, FILE *out);

/* The control socket's requests (control.c; arg: the struct daemon). */
int	control_request_cb(int argc, char **argv, int level, FILE *out,
	    void *arg);
/* status, bans, ban, unban, reload from the command line: one request
 * on the control socket, the answer printed. */
int	control_main(int argc, char **argv);

#endif /* DAEMON_H */
