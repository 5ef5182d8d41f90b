/*
 * Firewall backends: how bans reach the kernel (or someone else).
 *
 * A backend takes batches of operations, each "ban this prefix for this
 * long" or "lift the ban on this prefix", and applies a batch in one
 * transaction where the tool allows (nft -f -, ipset restore,
 * iptables-restore).  The caller (ban.c, through the privileged helper
 * priv.c for the kernel backends) has validated every operation: the
 * prefix parses, its length is in bounds, host bits are zero, it is not
 * loopback, link-local, the host's own, allowlisted or a proxy, and the
 * reason is printable ASCII (fw_apply() checks it all again).  A backend
 * still never hands anything to a shell: programs run by execve(2) with an
 * argv array, data on their standard input.
 *
 * Backends (enum conf_firewall): nftables (fw_nft.c), ipset and iptables
 * (fw_ipset.c, fw_iptables.c), command (fw_cmd.c: argv templates),
 * webhook (fw_webhook.c: POST JSON), none (in fw.c: logs only, for dry
 * runs).  This header is the callers' view: a struct fw is opaque, and
 * each backend keeps its own settings (nft_table, ban_command, webhook,
 * ...) in its private state, read from the configuration when it opens.
 */
#ifndef FW_H
#define FW_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"

struct conf;
struct loop;
struct ownaddr;

#define FW_REASON_MAX	160		/* with the NUL */
#define FW_RULE_MAX	16		/* "concurrency", with the NUL */

/*
 * Which ports a ban drops.  SERVICES: the services' ports ([ban] all_ports:
 * every port).  PROXY, for a client judged by lines that came through a
 * configured proxy: [allow] proxy_ports and the services' ports, or every
 * port when proxy_ports is all (the default), so that the door the client
 * used, the proxy's, is closed too.  PROXY holds every port SERVICES
 * holds: a ban's scope only ever widens.
 */
enum fw_scope {
	FW_SCOPE_SERVICES,
	FW_SCOPE_PROXY
};

/* The most ports a scope names: the services' and proxy_ports. */
#define FW_PORTS_MAX	(CONF_PORTS_TOTAL_MAX + CONF_PORTS_MAX)
/* "5222,5269,..." with the NUL, or "all". */
#define FW_PORTS_STRLEN	(FW_PORTS_MAX * 6)

enum fw_op_kind {
	FW_BAN,			/* drop the prefix for duration */
	FW_UNBAN,		/* lift it now */
	FW_THROTTLE		/* limit its rate (conf ban_throttle) for
				 * duration; backends without it ban */
};

struct fw_op {
	enum fw_op_kind	 kind;
	struct prefix	 prefix;		/* host bits zero */
	int64_t		 duration;		/* BAN, THROTTLE: us, > 0 */
	enum fw_scope	 scope;			/* the ports it drops; an
						 * UNBAN: those of the ban */
	char		 rule[FW_RULE_MAX];	/* "churn", "manual", ... */
	char		 reason[FW_REASON_MAX];	/* for people; validated */
};

/* One element a backend holds now, for reconciling at start. */
struct fw_entry {
	struct prefix	 prefix;
	int64_t		 remaining;	/* us until it expires by itself;
					 * 0: no timeout known */
	int		 throttled;	/* a throttle, not a ban */
	enum fw_scope	 scope;		/* where the backend can tell */
};

struct fw_stats {
	uint64_t	 batches;	/* fw_apply() calls that worked */
	uint64_t	 ops;		/* operations in them */
	uint64_t	 failures;	/* fw_apply() calls that failed */
	uint64_t	 killed;	/* live connections ended */
	uint64_t	 kill_tuples;	/* connections handed to the kernel to
					 * end, by tuple */
	uint64_t	 kill_queued;	/* tuples and prefixes waiting for
					 * the next pass */
	uint64_t	 kill_dropped;	/* tuples not queued: it was full */
	uint64_t	 rejected;	/* operations fw_apply() refused by its
					 * own checks (never a weapon) */
	int64_t		 last_us;	/* duration of the last batch */
	uint64_t	 restores;	/* the table restored whole after it
					 * was changed or a batch failed */
};

/*
 * An open firewall backend: opaque.  What the backends share of it, and
 * the interface each implements (struct fw_backend), are in fw_int.h,
 * which only fw*.c and priv.c include.
 */
struct fw;
struct fw_backend;

/*
 * Picks and opens the configured backend ([global] firewall; "none" for a
 * dry run).  loop may be NULL (backends that need one then fail to open).
 * Every service's port is kept, or it fails.  NULL and *cause on failure.
 */
struct fw	*fw_open(const struct conf *, struct loop *, char **cause);
/*
 * What fw_open() would refuse in the configured backend's own settings
 * (a command template and its programs, a table name, a URL), dry run or
 * not, touching nothing and running no program (the services' ports are
 * conf_load()'s to check).
 * 0, or -1 and *cause (caller frees) beginning with the directive's name
 * where one is to blame.
 */
int		 fw_check(const struct conf *, char **cause);
/* The same with a backend of the caller's (priv.c's proxy), priv its. */
struct fw	*fw_open_backend(const struct conf *, struct loop *,
		    const struct fw_backend *, void *priv, char **cause);
/* 1 if the configured backend needs privileges (the kernel, a command):
 * under privilege separation it runs in the helper. */
int		 fw_in_kernel(const struct conf *);
/* The host's own addresses, for the never-a-weapon checks (ownaddr.h;
 * not owned, must outlive fw); NULL, as after fw_open(): none known. */
void		 fw_set_own(struct fw *, const struct ownaddr *);
/*
 * Told of each operation fw_apply() or fw_replace() refuses by the
 * never-a-weapon checks (here, or in the privileged helper), with why, as
 * it is dropped: the caller ends the ban it stood for.  NULL: nobody.
 */
typedef void	(*fw_refused_cb)(const struct fw_op *, const char *why,
		    void *arg);
void		 fw_set_refused_cb(struct fw *, fw_refused_cb, void *arg);
/* Frees fw (NULL: nothing); the bans in force stay where they are. */
void		 fw_close(struct fw *);
/* Applies a batch, after dropping (and counting) what the never-a-weapon
 * checks refuse.  0, or -1 and *cause (caller frees). */
int		 fw_apply(struct fw *, const struct fw_op *, size_t,
		    char **cause);
/* What is in force, into *entries (caller frees).  -1 with *cause NULL:
 * the backend cannot list. */
int		 fw_list(struct fw *, struct fw_entry **, size_t *,
		    char **cause);
/* Ends the live sessions of a prefix to the ports a ban of scope drops,
 * if kill_established is on and the backend can (the kernel ones); 0
 * otherwise.  -1 and *cause. */
int		 fw_kill(struct fw *, const struct prefix *, enum fw_scope,
		    char **cause);
/*
 * Ending live sessions without stalling the loop (fw_kill.c).  The bans
 * of a loop iteration are added once their batch is in the kernel: a
 * prefix's connections by their tuples from the conntrack flow table
 * (flows, NULL: conntrack off), else a prefix to scan for; each run
 * (once an iteration) ends at most FW_KILL_BUDGET tuples and scans for at
 * most FW_KILL_SCAN_MAX prefixes, through fw (the helper's proxy or the
 * kernel backend itself), and returns 1 while work is left.
 */
#define FW_KILL_BUDGET		256
#define FW_KILL_SCAN_MAX	64
struct ctflow;
struct fw_killq;
struct fw_killq	*fw_killq_new(void);
void		 fw_killq_free(struct fw_killq *);
void		 fw_killq_add(struct fw_killq *, const struct fw *,
		    const struct ctflow *flows, const struct prefix *,
		    enum fw_scope);
/*
 * One flow of src (its ports: the remote's, the service's), from flows:
 * for a session that completed its handshake before its source's ban was
 * in the kernel, and whose open conntrack reported after the ban's own
 * kill had listed the prefix's flows.
 */
void		 fw_killq_add_flow(struct fw_killq *, const struct fw *,
		    const struct ctflow *flows, const struct addr *src,
		    uint16_t sport, uint16_t dport, enum fw_scope);
int		 fw_killq_run(struct fw_killq *, struct fw *);
/* Tuples and prefixes waiting. */
size_t		 fw_killq_pending(const struct fw_killq *);
/* Makes ops exactly what is in force, atomically.  -1 with *cause NULL:
 * the backend cannot replace (use fw_list). */
int		 fw_replace(struct fw *, const struct fw_op *, size_t,
		    char **cause);
/*
 * The ports a ban of scope drops under conf, sorted, each once, into ports
 * (room for FW_PORTS_MAX): how many; 0 means every port (all_ports, no
 * service port, proxy_ports all); -1 if the services name more than
 * CONF_PORTS_TOTAL_MAX (fw_open() refuses that).
 */
int		 fw_ports_conf(const struct conf *, enum fw_scope,
		    uint16_t *ports);
/* ports[0..n-1] as "5222,5269", or "all" if n is 0; returns buf. */
char		*fw_ports_fmt(const uint16_t *ports, int n, char *buf,
		    size_t size);
/* "services" or "proxy". */
const char	*fw_scope_name(enum fw_scope);
/* The backend's name ("nftables", "helper", ...): static storage. */
const char	*fw_name(const struct fw *);
/* 1 if the backend's bans expire by themselves (kernel timeouts), so the
 * daemon need not lift them. */
int		 fw_expires_itself(const struct fw *);
/* A restore of the whole table (fw_replace() at run time), counted. */
void		 fw_count_restore(struct fw *);
/* The counters of fw_apply() and the others, kept in fw (valid until
 * fw_close()). */
const struct fw_stats *fw_stats(const struct fw *);
/* The same for status and metrics (obj: the struct fw). */
struct status_group;
extern const struct status_group fw_status_group;

#endif /* FW_H */
