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
 * webhook (fw_webhook.c: POST JSON), none (fw_none.c: logs only, for
 * dry runs).
 */
#ifndef FW_H
#define FW_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct conf;
struct loop;

#define FW_REASON_MAX	160		/* with the NUL */
#define FW_RULE_MAX	16		/* "concurrency", with the NUL */

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
	char		 rule[FW_RULE_MAX];	/* "churn", "manual", ... */
	char		 reason[FW_REASON_MAX];	/* for people; validated */
};

/* One element a backend holds now, for reconciling at start. */
struct fw_entry {
	struct prefix	 prefix;
	int64_t		 remaining;	/* us until it expires by itself;
					 * 0: no timeout known */
	int		 throttled;	/* a throttle, not a ban */
};

struct fw_stats {
	uint64_t	 batches;	/* fw_apply() calls that worked */
	uint64_t	 ops;		/* operations in them */
	uint64_t	 failures;	/* fw_apply() calls that failed */
	uint64_t	 killed;	/* live connections ended */
	uint64_t	 rejected;	/* operations fw_apply() refused by its
					 * own checks (never a weapon) */
	int64_t		 last_us;	/* duration of the last batch */
};

struct fw;

/*
 * What every backend implements.  open makes its kernel state exist
 * (idempotent: a second start finds it there); apply runs one batch; list
 * (NULL if the backend cannot tell) says what is in force; kill ends the
 * live connections of a prefix to the services' ports (NULL: nothing to
 * do); close frees (it does not remove the kernel state: bans outlive the
 * daemon by design).  Failure: -1 and *cause (caller frees).
 */
struct fw_backend {
	const char	*name;
	int		(*open)(struct fw *, char **cause);
	int		(*apply)(struct fw *, const struct fw_op *, size_t,
			    char **cause);
	int		(*list)(struct fw *, struct fw_entry **, size_t *,
			    char **cause);
	int		(*kill)(struct fw *, const struct prefix *,
			    char **cause);
	void		(*close)(struct fw *);
	/* Optional: make what is in force exactly ops (all bans and
	 * throttles), atomically: the restore at start. */
	int		(*replace)(struct fw *, const struct fw_op *, size_t,
			    char **cause);
};

/*
 * The state every backend sees: a copy of what it needs from the
 * configuration (a reload makes a new struct fw), and a pointer of its own.
 */
struct fw {
	const struct fw_backend *be;
	void		*priv;		/* the backend's */
	struct loop	*loop;		/* for asynchronous backends; may be
					 * NULL in the privileged helper */
	uint16_t	 ports[64];	/* the services' ports, sorted, unique */
	int		 nports;
	int		 all_ports;	/* ban every port */
	int		 kill;		/* kill_established */
	int		 self_expiring;	/* the configured backend's bans end by
					 * themselves (kernel timeouts) */
	char		 table[33];	/* nft_table */
	uint64_t	 throttle;	/* bytes/s */
	char		*ban_command;	/* templates; "" if unset */
	char		*unban_command;
	char		*webhook;
	struct prefix	*never;		/* allowlist, proxies, own addresses:
					 * re-checked before every batch */
	size_t		 nnever;
	struct fw_stats	 stats;
};

/*
 * Picks and opens the configured backend.  loop may be NULL (backends that
 * need one then fail to open).  NULL and *cause on failure.
 */
struct fw	*fw_open(const struct conf *, struct loop *, char **cause);
/* The same with a backend of the caller's (priv.c's proxy), priv its. */
struct fw	*fw_open_backend(const struct conf *, struct loop *,
		    const struct fw_backend *, void *priv, char **cause);
/* 1 if the configured backend needs privileges (the kernel, a command):
 * under privilege separation it runs in the helper. */
int		 fw_in_kernel(const struct conf *);
void		 fw_close(struct fw *);
int		 fw_apply(struct fw *, const struct fw_op *, size_t,
		    char **cause);
/* -1 with *cause NULL: the backend cannot list. */
int		 fw_list(struct fw *, struct fw_entry **, size_t *,
		    char **cause);
int		 fw_kill(struct fw *, const struct prefix *, char **cause);
/* -1 with *cause NULL: the backend cannot replace (use fw_list). */
int		 fw_replace(struct fw *, const struct fw_op *, size_t,
		    char **cause);
/*
 * The kill of the kernel backends (fw_kill.c): deletes the prefix's
 * conntrack entries to the watched ports and destroys the matching local
 * sockets, so its live sessions end at once.
 */
int		 fw_kill_live(struct fw *, const struct prefix *, char **cause);
const char	*fw_name(const struct fw *);
/* 1 if the backend's bans expire by themselves (kernel timeouts), so the
 * daemon need not lift them. */
int		 fw_expires_itself(const struct fw *);
/* The counters of fw_apply() and the others, kept in fw (valid until
 * fw_close()). */
const struct fw_stats *fw_stats(const struct fw *);

/*
 * Runs argv[0] (an absolute path, or looked up in /usr/sbin, /sbin,
 * /usr/bin, /bin) with argv by execve(2), no shell, input (may be NULL)
 * written to its standard input, an empty environment but PATH, and its
 * standard output and error captured up to outmax bytes into *out (caller
 * frees; may be NULL).  Waits at most timeout_ms.  Returns its exit status
 * (0..255), or -1 and *cause if it could not run, was killed or timed out.
 */
int		 fw_exec(const char *const *argv, const char *input,
		    size_t inlen, char **out, size_t outmax, int timeout_ms,
		    char **cause);

#endif /* FW_H */
