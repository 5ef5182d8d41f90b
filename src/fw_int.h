/*
 * The firewall backends' side of fw.h, for fw*.c and priv.c only: the
 * interface a backend implements, and struct fw as every backend sees it.
 *
 * struct fw holds what all backends share: the services' ports, whether
 * to kill, the never-a-weapon list, the counters.  A setting only one
 * backend uses (nft_table, throttle, ban_command, webhook) is not here:
 * that backend's open reads it from the configuration into its private
 * state (fw->priv), so a reload, which opens a new struct fw beside the
 * running one, gives it the new value.
 */
#ifndef FW_INT_H
#define FW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "fw.h"

/* A live connection to end, by its tuple (fw_kill.c). */
#define FW_KILL_CT	0x01	/* delete its conntrack entry */
#define FW_KILL_SOCK	0x02	/* destroy its local socket */

struct fw_kill_tuple {
	struct addr	 src;		/* the client */
	struct addr	 dst;		/* this host's end */
	uint16_t	 sport;		/* host order */
	uint16_t	 dport;		/* the port its ban's scope drops */
	uint32_t	 id;		/* conntrack id; 0: any */
	uint8_t		 scope;		/* enum fw_scope of its ban */
	uint8_t		 what;		/* FW_KILL_* */
};

/*
 * What every backend implements.  open reads its settings from conf (not
 * kept: the configuration may be freed once fw_open() returns), sets
 * fw->priv and makes its kernel state exist (idempotent: a second start
 * finds it there); apply runs one batch; list (NULL if the backend cannot
 * tell) says what is in force; kill ends the live connections of a prefix
 * to the services' ports (NULL: nothing to do); close frees fw->priv (it
 * does not remove the kernel state: bans outlive the daemon by design).
 * open and close may be NULL.  Failure: -1 and *cause (caller frees).
 * check (may be NULL) refuses what open would in conf alone, touching
 * nothing: check-config calls it through fw_check(), and open calls it
 * first, so the two cannot disagree.
 */
struct fw_backend {
	const char	*name;
	int		(*check)(const struct conf *, char **cause);
	int		(*open)(struct fw *, const struct conf *,
			    char **cause);
	int		(*apply)(struct fw *, const struct fw_op *, size_t,
			    char **cause);
	int		(*list)(struct fw *, struct fw_entry **, size_t *,
			    char **cause);
	int		(*kill)(struct fw *, const struct prefix *,
			    enum fw_scope, char **cause);
	/* Optional, where the kill runs elsewhere (the helper's proxy):
	 * fw_kill_tuples() and fw_kill_scan() (NULL: those, here). */
	int		(*kill_tuples)(struct fw *,
			    const struct fw_kill_tuple *, size_t,
			    uint64_t *killed, char **cause);
	int		(*kill_scan)(struct fw *, const struct fw_op *, size_t,
			    uint64_t *killed, char **cause);
	void		(*close)(struct fw *);
	/* Optional: the kernel caps' account levels (fw_caps()). */
	int		(*caps)(struct fw *, const struct fw_cap *, size_t,
			    char **cause);
	/* Optional: make what is in force exactly ops (all bans and
	 * throttles), atomically: the restore at start. */
	int		(*replace)(struct fw *, const struct fw_op *, size_t,
			    char **cause);
};

/* What every backend sees; fw_open() fills it before the backend opens. */
struct fw {
	const struct fw_backend *be;
	void		*priv;		/* the backend's */
	struct loop	*loop;		/* for asynchronous backends; may be
					 * NULL in the privileged helper */
	uint16_t	 ports[CONF_PORTS_TOTAL_MAX]; /* the services' ports,
					 * sorted, unique */
	int		 nports;
	uint16_t	 pports[FW_PORTS_MAX]; /* a proxy-scope ban's: these
					 * and [allow] proxy_ports */
	int		 npports;	/* 0: every port */
	int		 all_ports;	/* ban every port */
	int		 kill;		/* kill_established */
	int		 self_expiring;	/* the configured backend's bans end by
					 * themselves (kernel timeouts) */
	struct prefix	*never;		/* allowlist, proxies: re-checked
					 * before every batch */
	size_t		 nnever;
	const struct ownaddr *own;	/* the host's addresses, live; NULL:
					 * none known */
	fw_refused_cb	 refused;	/* told of each refusal; NULL: none */
	void		*refused_arg;
	struct fw_stats	 stats;
};

extern const struct fw_backend fw_nft_backend;
extern const struct fw_backend fw_ipset_backend;
extern const struct fw_backend fw_iptables_backend;
extern const struct fw_backend fw_cmd_backend;
extern const struct fw_backend fw_webhook_backend;

/*
 * The ports a ban of scope drops (fw_ports.c): how many, *ports pointing
 * into fw; 0 means every port.
 */
int		 fw_scope_ports(const struct fw *, enum fw_scope,
		    const uint16_t **ports);
/* The services' ports under conf, sorted, each once, whatever all_ports
 * says: how many, or -1 if more than CONF_PORTS_TOTAL_MAX. */
int		 fw_ports_services(const struct conf *, uint16_t *ports);

/*
 * The kill of the kernel backends (fw_kill.c): deletes the prefix's
 * conntrack entries to the ports a ban of that scope drops and destroys the matching local
 * sockets, so its live sessions end at once.
 */
int		 fw_kill_live(struct fw *, const struct prefix *, enum fw_scope,
		    char **cause);
/*
 * Ends t[0..n) by their tuples (conntrack DELETEs, socket lookups and
 * SOCK_DESTROYs, in batches, no dump), or the connections of ops' prefixes
 * by one scan of each table; *killed: connections ended.  Here, with
 * CAP_NET_ADMIN; fw_kill_conns() and fw_kill_prefixes() (fw.c) check
 * first and call these or the backend's.  0, or -1 and *cause.
 */
int		 fw_kill_tuples(struct fw *, const struct fw_kill_tuple *,
		    size_t n, uint64_t *killed, char **cause);
int		 fw_kill_scan(struct fw *, const struct fw_op *ops, size_t n,
		    uint64_t *killed, char **cause);
/*
 * The checked entries, for the queue (fw_killq_run()) and the helper:
 * each tuple whose source the never-a-weapon rules would not ban, or
 * whose port its scope does not drop, is refused (counted in rejected,
 * the rest goes on); so is each prefix they would not ban.  Nothing
 * without kill_established or a kernel backend.  The connections ended
 * are counted in killed.  0, or -1 and *cause.
 */
int		 fw_kill_conns(struct fw *, const struct fw_kill_tuple *,
		    size_t n, char **cause);
int		 fw_kill_prefixes(struct fw *, const struct fw_op *ops,
		    size_t n, char **cause);
/* The queue's counters, kept in fw's stats for status. */
void		 fw_set_kill_stats(struct fw *, uint64_t tuples,
		    uint64_t queued, uint64_t dropped);
/* 1 if a ban of scope drops port (fw_scope_ports(); none: every port). */
int		 fw_kill_port_ok(const struct fw *, enum fw_scope, uint16_t);

/*
 * The nftables backend's sets, for the watcher (fw_watch.c): of a set's
 * name, -1 if it is none of the bans' sets, 0 for a set of addresses, 1
 * for an interval set; its index (-1: none); the name of an index.
 */
int		 fw_nft_set_kind(const char *name);
int		 fw_nft_set_index(const char *name);
const char	*fw_nft_set_name(int index);
/* A duration (us) in whole seconds, rounded up: a ban never ends early;
 * at least 1 (fw_nft.c and fw_nftnl.c). */
int64_t		 fw_nft_seconds(int64_t us);

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

#endif /* FW_INT_H */
