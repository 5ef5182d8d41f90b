/*
 * The nftables backend (the default): bans live in timeout sets of a table
 * xmppguard owns, `inet <table>`, so every ban expires in the kernel even
 * if the daemon is gone, and a restart finds them there.
 *
 * Sets: ban4/ban6 hold single addresses (/32, /128) in hash sets; net4/net6
 * hold shorter prefixes in interval sets, apart because nft checks an
 * interval set for overlaps on every add, which makes single adds slow as
 * the set grows; thr4/thr6 (interval: throttles are rare, and may cover a
 * prefix) hold throttled sources, whose packets to the watched ports pass
 * a per-address byte meter (the dynamic sets rate4/rate6).  The bans of
 * the proxy scope (fw.h: a client judged through a configured proxy) have
 * sets of their own, proxy4/proxy6 and proxynet4/proxynet6, whose rule
 * drops [allow] proxy_ports and the services' ports, or every port; a ban
 * widened to that scope leaves ban4 (or net4) for proxy4 (proxynet4) in
 * the same transaction, and its unban clears both.
 *
 * One base chain, on prerouting at priority -150: after conntrack (-200),
 * so the `ct state` rule there keeps the kernel tracking connections in a
 * namespace with no other stateful rule (the conntrack source needs it);
 * before destination NAT (-100), so the port matched is the one the
 * client connected to, also for servers in containers behind this host,
 * whose packets are forwarded and never see the input hook.  Its drop
 * needs no early priority to win: in nftables an accept ends only the base
 * chain it is in, a packet still meets every other base chain on the hook,
 * and a drop anywhere is final (tests/system/20-nft-backend.sh shows it
 * with a `ct state established accept` chain at priority 0).  Early only
 * saves the work of the chains after it.
 *
 * open adds the table, sets and chain with `add` (idempotent, and it never
 * touches set elements: bans survive restarts and reloads) and replaces
 * the chain's rules (flush + add, in the same transaction), so the ports
 * follow the configuration.  apply sends a whole batch as one `nft -f -`
 * transaction.  A ban must leave the prefix with the new timeout; recent
 * kernels set it when an element is added again, Linux 6.1 (Debian 12)
 * keeps the old one, so open tries the kernel on a probe set and a ban is
 * a plain add where that works, else a replacement (remove, then add).
 * Removals (unbans, replacements) may not fail on an element that is not
 * there, but nft aborts a transaction on a missing element: so each is
 * `destroy element` when the installed nft and kernel have it (nft 1.0.8
 * and Linux 6.3; probed once at open), else "add with a 1 s timeout, then
 * delete" in the same transaction, which cannot fail on a missing element
 * and leaves nothing behind.  Removals are dear with nft 1.0.6 (a delete
 * makes it read the ruleset first: 16 ms a run instead of 3), one more
 * reason to avoid them on the ban path.  A batch
 * names each prefix once: the last operation on it wins.
 *
 * kill is fw_kill_live() (fw_kill.c): conntrack entries and sockets.
 *
 * Nothing goes through a shell: nft runs by fw_exec() (execve, argv array),
 * the commands on its standard input.  Every address in them was printed
 * by addr_ntop() from a validated struct prefix; nothing else varies but
 * numbers and the table name, which the configuration restricts to
 * [A-Za-z0-9_-].
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "fw.h"
#include "fw_int.h"
#include "kcap.h"
#include "log.h"
#include "xmalloc.h"

#define FW_NFT_TIMEOUT_MS	30000		/* one nft run */
#define FW_NFT_OUT_MAX		(8 * 1024)	/* its messages */
#define FW_NFT_LIST_MAX		(256 * 1024 * 1024) /* JSON of one set */
#define FW_NFT_CAUSE_MAX	512		/* nft's words in *cause */
#define FW_NFT_CHUNK		4096		/* elements per statement */
#define FW_NFT_RATE_SIZE	65536		/* throttled sources metered */
/* "tcp dport { " 12, ", 65535" 7 a port, " } " 3, the NUL. */
#define FW_NFT_PORTS_LEN	(12 + FW_PORTS_MAX * 7 + 4)

/* The sets, in the order of fw_nft_set_names. */
enum fw_nft_set {
	FW_NFT_BAN4,
	FW_NFT_BAN6,
	FW_NFT_NET4,
	FW_NFT_NET6,
	FW_NFT_THR4,
	FW_NFT_THR6,
	FW_NFT_PRX4,		/* the proxy scope: hosts */
	FW_NFT_PRX6,
	FW_NFT_PNET4,		/* and networks */
	FW_NFT_PNET6,
	FW_NFT_NSETS
};

static const char *const fw_nft_set_names[FW_NFT_NSETS] = {
	"ban4", "ban6", "net4", "net6", "thr4", "thr6", "proxy4", "proxy6",
	"proxynet4", "proxynet6"
};

int
fw_nft_set_index(const char *name)
{
	int	 s;

	for (s = 0; s < FW_NFT_NSETS; s++)
		if (strcmp(name, fw_nft_set_names[s]) == 0)
			return s;
	return -1;
}

int
fw_nft_set_kind(const char *name)
{
	int	 s;

	if ((s = fw_nft_set_index(name)) == -1)
		return -1;
	return !(s == FW_NFT_BAN4 || s == FW_NFT_BAN6 || s == FW_NFT_PRX4 ||
	    s == FW_NFT_PRX6);
}

const char *
fw_nft_set_name(int s)
{
	return s >= 0 && s < FW_NFT_NSETS ? fw_nft_set_names[s] : NULL;
}

/* The backend's state (fw->priv): its settings and what open probed. */
struct fw_nft {
	char		 table[33];	/* [ban] nft_table: inet <table> */
	uint64_t	 throttle;	/* [ban] throttle, bytes/s; 0: none */
	int		 destroy;	/* nft and kernel: destroy element */
	int		 update;	/* a re-add sets the new timeout */
	char		*caps;		/* kcap_text() for the configuration,
					 * stale caps removed first; NULL:
					 * none */
};

/* What a batch does to one set: prefixes to remove, prefixes to add. */
struct fw_nft_plan {
	const struct fw_op	**del[FW_NFT_NSETS];
	size_t			 ndel[FW_NFT_NSETS];
	const struct fw_op	**add[FW_NFT_NSETS];
	size_t			 nadd[FW_NFT_NSETS];
};


static int	fw_nft_run(const char *, size_t, const char *const *, char **,
		    size_t, char **);
static char	*fw_nft_open_text(const struct fw *, const struct fw_nft *,
		    size_t *);
static int	fw_nft_set_of(const struct prefix *, int, enum fw_scope);
static char	*fw_nft_caps(const struct fw_nft *, const struct conf *);
static char	*fw_nft_caps_stale(const struct fw_nft *, char *, size_t *);
static void	fw_nft_ports(const struct fw *, enum fw_scope, char *, size_t);
static int64_t	fw_nft_seconds(int64_t);
static int	fw_nft_op_cmp(const void *, const void *);
static int	fw_nft_op_same(const struct fw_op *, const struct fw_op *);
static void	fw_nft_plan(const struct fw_nft *, int, const struct fw_op *,
		    size_t, struct fw_nft_plan *);
static void	fw_nft_plan_free(struct fw_nft_plan *);
static void	fw_nft_elements(FILE *, const char *, const char *,
		    const struct fw_op *const *, size_t, int64_t);
static char	*fw_nft_apply_text(const struct fw_nft *, int, int,
		    const struct fw_op *, size_t, size_t *);
static int	fw_nft_probe_update(const struct fw_nft *);

/* The JSON reader for `nft -j list set`. */
struct fw_nft_json {
	const char	*p;
	const char	*end;
};

static void	fw_nft_json_ws(struct fw_nft_json *);
static int	fw_nft_json_lit(struct fw_nft_json *, char);
static int	fw_nft_json_str(struct fw_nft_json *, char *, size_t);
static int	fw_nft_json_num(struct fw_nft_json *, int64_t *);
static int	fw_nft_json_skip(struct fw_nft_json *, int);
static int	fw_nft_json_key(struct fw_nft_json *, int *, char *, size_t);
static int	fw_nft_json_val(struct fw_nft_json *, struct prefix *);
static int	fw_nft_json_elem(struct fw_nft_json *, struct fw_entry *);
static int	fw_nft_parse_set(const char *, size_t, int,
		    struct fw_entry **, size_t *, size_t *);

static int	fw_nft_table_ok(const char *);
static int	fw_nft_check(const struct conf *, char **);
static int	fw_nft_open(struct fw *, const struct conf *, char **);
static int	fw_nft_apply(struct fw *, const struct fw_op *, size_t,
		    char **);
static int	fw_nft_list(struct fw *, struct fw_entry **, size_t *,
		    char **);
static void	fw_nft_close(struct fw *);
static int	fw_nft_replace(struct fw *, const struct fw_op *, size_t,
		    char **);

const struct fw_backend fw_nft_backend = {
	.name = "nftables",
	.check = fw_nft_check,
	.open = fw_nft_open,
	.apply = fw_nft_apply,
	.list = fw_nft_list,
	.kill = fw_kill_live,
	.close = fw_nft_close,
	.replace = fw_nft_replace
};

/*
 * Runs nft with argv (after "nft") and input on its standard input.  0 if
 * it exited 0 (its output in *out if out is not NULL), else -1 and *cause
 * with what nft said, escaped and cut.
 */
static int
fw_nft_run(const char *input, size_t len, const char *const *args,
    char **out, size_t outmax, char **cause)
{
	const char	*argv[8];
	char		*buf = NULL, esc[FW_NFT_CAUSE_MAX], *nl;
	int		 i, r;

	argv[0] = "nft";
	for (i = 0; args[i] != NULL && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	r = fw_exec(argv, input, len, &buf, outmax, FW_NFT_TIMEOUT_MS, cause);
	if (r == -1) {
		free(buf);
		return -1;
	}
	if (r != 0) {
		if (buf == NULL)
			buf = xstrdup("");
		/* nft repeats the line and marks the column: keep one line
		 * of each kind, joined. */
		while ((nl = strchr(buf, '\n')) != NULL)
			*nl = ' ';
		log_escape(esc, sizeof esc, buf, strlen(buf));
		*cause = xasprintf("nft exited %d: %s", r, esc);
		free(buf);
		return -1;
	}
	if (out != NULL)
		*out = buf != NULL ? buf : xstrdup("");
	else
		free(buf);
	return 0;
}

/* The set for a prefix: its family and length, ban or throttle, and the
 * ban's scope (a throttle keeps to the services'); -1 if none. */
static int
fw_nft_set_of(const struct prefix *p, int throttle, enum fw_scope scope)
{
	int	 v6;

	if (p->addr.family == AF_INET)
		v6 = 0;
	else if (p->addr.family == AF_INET6)
		v6 = 1;
	else
		return -1;
	if (p->len > addr_maxlen(&p->addr))
		return -1;
	if (throttle)
		return v6 ? FW_NFT_THR6 : FW_NFT_THR4;
	if (scope == FW_SCOPE_PROXY) {
		if (p->len == addr_maxlen(&p->addr))
			return v6 ? FW_NFT_PRX6 : FW_NFT_PRX4;
		return v6 ? FW_NFT_PNET6 : FW_NFT_PNET4;
	}
	if (p->len == addr_maxlen(&p->addr))
		return v6 ? FW_NFT_BAN6 : FW_NFT_BAN4;
	return v6 ? FW_NFT_NET6 : FW_NFT_NET4;
}

/*
 * The port match of a scope's rules, "tcp dport { 5222, 5269 } ", or ""
 * for every port.  size: at least FW_NFT_PORTS_LEN.
 */
static void
fw_nft_ports(const struct fw *fw, enum fw_scope scope, char *buf,
    size_t size)
{
	const uint16_t	*ports;
	size_t		 off;
	int		 i, n;

	buf[0] = '\0';
	if ((n = fw_scope_ports(fw, scope, &ports)) == 0)
		return;
	off = (size_t)snprintf(buf, size, "tcp dport { ");
	for (i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%u",
		    i ? ", " : "", ports[i]);
	if (off < size)
		snprintf(buf + off, size - off, " } ");
}

/* A duration in whole seconds, rounded up: a ban never ends early. */
static int64_t
fw_nft_seconds(int64_t us)
{
	int64_t	 s;

	if (us <= 0)
		return 1;
	s = us / CLOCK_US_PER_SEC + (us % CLOCK_US_PER_SEC != 0);
	return s;
}

/*
 * The table, sets and chain; the rules replaced, for fw's ports.  The
 * caller frees.
 */
static char *
fw_nft_open_text(const struct fw *fw, const struct fw_nft *nft,
    size_t *lenp)
{
	static const char *const types[FW_NFT_NSETS] = {
		"ipv4_addr", "ipv6_addr", "ipv4_addr", "ipv6_addr",
		"ipv4_addr", "ipv6_addr", "ipv4_addr", "ipv6_addr",
		"ipv4_addr", "ipv6_addr"
	};
	static const char *const flags[FW_NFT_NSETS] = {
		"timeout", "timeout", "interval, timeout", "interval, timeout",
		"interval, timeout", "interval, timeout", "timeout", "timeout",
		"interval, timeout", "interval, timeout"
	};
	static const char *const bans[] = { "ban4", "net4", "ban6", "net6",
	    "proxy4", "proxynet4", "proxy6", "proxynet6" };
	FILE		*f;
	char		*buf = NULL, ports[FW_NFT_PORTS_LEN];
	char		 pports[FW_NFT_PORTS_LEN];
	const char	*t = nft->table, *ip;
	size_t		 len = 0;
	int		 i;

	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	/* No ports configured: nothing to scope the ban to, so every port. */
	fw_nft_ports(fw, FW_SCOPE_SERVICES, ports, sizeof ports);
	fw_nft_ports(fw, FW_SCOPE_PROXY, pports, sizeof pports);

	fprintf(f, "add table inet %s\n", t);
	for (i = 0; i < FW_NFT_NSETS; i++)
		fprintf(f, "add set inet %s %s { type %s; flags %s; }\n", t,
		    fw_nft_set_names[i], types[i], flags[i]);
	/* Never in a rule: fw_nft_probe_update() tries the kernel on it. */
	fprintf(f, "add set inet %s probe { type ipv4_addr; flags timeout; "
	    "}\n", t);
	fprintf(f, "add set inet %s rate4 { type ipv4_addr; flags dynamic, "
	    "timeout; timeout 1m; size %d; }\n", t, FW_NFT_RATE_SIZE);
	fprintf(f, "add set inet %s rate6 { type ipv6_addr; flags dynamic, "
	    "timeout; timeout 1m; size %d; }\n", t, FW_NFT_RATE_SIZE);
	fprintf(f, "add chain inet %s filter { type filter hook prerouting "
	    "priority -150; policy accept; }\n", t);
	fprintf(f, "flush chain inet %s filter\n", t);
	/* Any ct expression makes the kernel track this namespace. */
	fprintf(f, "add rule inet %s filter ct state new counter comment "
	    "\"conntrack on\"\n", t);
	for (i = 0; i < 8; i++) {
		ip = i % 4 < 2 ? "ip" : "ip6";
		fprintf(f, "add rule inet %s filter %s saddr @%s %sdrop\n", t,
		    ip, bans[i], i < 4 ? ports : pports);
	}
	if (nft->throttle > 0) {
		fprintf(f, "add rule inet %s filter ip saddr @thr4 %supdate "
		    "@rate4 { ip saddr limit rate over %" PRIu64
		    " bytes/second } drop\n", t, ports, nft->throttle);
		fprintf(f, "add rule inet %s filter ip6 saddr @thr6 %supdate "
		    "@rate6 { ip6 saddr limit rate over %" PRIu64
		    " bytes/second } drop\n", t, ports, nft->throttle);
	}
	/* The kernel caps (kcap.c), last: after the bans' drops. */
	if (nft->caps != NULL)
		fputs(nft->caps, f);
	if (fclose(f) != 0)
		fatal("open_memstream");
	*lenp = len;
	return buf;
}

/* Orders ops by prefix, then by position, so the last of a prefix is the
 * last of its run. */
static int
fw_nft_op_cmp(const void *a, const void *b)
{
	const struct fw_op *const	*x = a, *const *y = b;
	int				 r;

	if ((r = addr_cmp(&(*x)->prefix.addr, &(*y)->prefix.addr)) != 0)
		return r;
	if ((*x)->prefix.len != (*y)->prefix.len)
		return (*x)->prefix.len < (*y)->prefix.len ? -1 : 1;
	return *x < *y ? -1 : *x > *y;
}

static int
fw_nft_op_same(const struct fw_op *a, const struct fw_op *b)
{
	return a->prefix.len == b->prefix.len &&
	    addr_eq(&a->prefix.addr, &b->prefix.addr);
}

/*
 * Sorts a batch into removals and additions per set, one operation per
 * prefix (the last).  A ban or throttle first removes the prefix from its
 * own set (a replacement, so the new timeout holds); an unban removes it
 * from its ban and its throttle set.  A ban of the proxy scope also
 * leaves the services' set (it may be a ban widened), and its unban
 * clears both.  A throttle without a configured rate is a ban.  Prefixes
 * that fit no set are dropped (the caller validated them).
 */
static void
fw_nft_plan(const struct fw_nft *nft, int update, const struct fw_op *ops,
    size_t n, struct fw_nft_plan *pl)
{
	const struct fw_op	**v;
	size_t			 i;
	int			 s, t, thr;

	memset(pl, 0, sizeof *pl);
	if (n == 0)
		return;
	v = xreallocarray(NULL, n, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = &ops[i];
	qsort(v, n, sizeof *v, fw_nft_op_cmp);
	for (s = 0; s < FW_NFT_NSETS; s++) {
		pl->del[s] = xreallocarray(NULL, n, sizeof *pl->del[s]);
		pl->add[s] = xreallocarray(NULL, n, sizeof *pl->add[s]);
	}
	for (i = 0; i < n; i++) {
		if (i + 1 < n && fw_nft_op_same(v[i], v[i + 1]))
			continue;
		switch (v[i]->kind) {
		case FW_BAN:
		case FW_THROTTLE:
			thr = v[i]->kind == FW_THROTTLE && nft->throttle > 0;
			s = fw_nft_set_of(&v[i]->prefix, thr, v[i]->scope);
			if (s == -1)
				break;
			if (!update)
				pl->del[s][pl->ndel[s]++] = v[i];
			pl->add[s][pl->nadd[s]++] = v[i];
			if (!thr && v[i]->scope == FW_SCOPE_PROXY) {
				t = fw_nft_set_of(&v[i]->prefix, 0,
				    FW_SCOPE_SERVICES);
				pl->del[t][pl->ndel[t]++] = v[i];
			}
			break;
		case FW_UNBAN:
			s = fw_nft_set_of(&v[i]->prefix, 0, v[i]->scope);
			t = fw_nft_set_of(&v[i]->prefix, v[i]->scope !=
			    FW_SCOPE_PROXY, FW_SCOPE_SERVICES);
			if (s == -1)
				break;
			pl->del[s][pl->ndel[s]++] = v[i];
			pl->del[t][pl->ndel[t]++] = v[i];
			break;
		}
	}
	free(v);
}

static void
fw_nft_plan_free(struct fw_nft_plan *pl)
{
	int	 s;

	for (s = 0; s < FW_NFT_NSETS; s++) {
		free(pl->del[s]);
		free(pl->add[s]);
	}
}

/*
 * Writes `VERB element inet T SET { ... }` statements for n prefixes, at
 * most FW_NFT_CHUNK a statement; each with a timeout of its op's duration
 * if timeout is -1, of timeout seconds if > 0, none if 0.
 */
static void
fw_nft_elements(FILE *f, const char *verb, const char *head,
    const struct fw_op *const *v, size_t n, int64_t timeout)
{
	char	 a[ADDR_PREFIX_STRLEN];
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (i % FW_NFT_CHUNK == 0)
			fprintf(f, "%s%s element %s { ", i ? " }\n" : "", verb,
			    head);
		else
			fputs(", ", f);
		if (v[i]->prefix.len == addr_maxlen(&v[i]->prefix.addr))
			addr_ntop(&v[i]->prefix.addr, a, sizeof a);
		else
			addr_prefix_ntop(&v[i]->prefix, a, sizeof a);
		fputs(a, f);
		if (timeout == -1)
			fprintf(f, " timeout %" PRId64 "s",
			    fw_nft_seconds(v[i]->duration));
		else if (timeout > 0)
			fprintf(f, " timeout %" PRId64 "s", timeout);
	}
	if (n > 0)
		fputs(" }\n", f);
}

/*
 * The transaction for a batch (see the top of the file); NULL if it does
 * nothing.  The caller frees.
 */
static char *
fw_nft_apply_text(const struct fw_nft *nft, int destroy, int update,
    const struct fw_op *ops, size_t n, size_t *lenp)
{
	struct fw_nft_plan	 pl;
	FILE			*f;
	char			*buf = NULL, head[64];
	size_t			 len = 0;
	int			 s, any = 0;

	fw_nft_plan(nft, update, ops, n, &pl);
	if ((f = open_memstream(&buf, &len)) == NULL)
		fatal("open_memstream");
	for (s = 0; s < FW_NFT_NSETS; s++) {
		snprintf(head, sizeof head, "inet %s %s", nft->table,
		    fw_nft_set_names[s]);
		if (destroy)
			fw_nft_elements(f, "destroy", head, pl.del[s],
			    pl.ndel[s], 0);
		else {
			fw_nft_elements(f, "add", head, pl.del[s], pl.ndel[s],
			    1);
			fw_nft_elements(f, "delete", head, pl.del[s],
			    pl.ndel[s], 0);
		}
		fw_nft_elements(f, "add", head, pl.add[s], pl.nadd[s], -1);
		any |= pl.ndel[s] > 0 || pl.nadd[s] > 0;
	}
	fw_nft_plan_free(&pl);
	if (fclose(f) != 0)
		fatal("open_memstream");
	if (!any) {
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}

/* 1 if name can be written into nft's input as a table name. */
static int
fw_nft_table_ok(const char *name)
{
	const char	*p;

	if (!((*name >= 'a' && *name <= 'z') ||
	    (*name >= 'A' && *name <= 'Z')))
		return 0;
	for (p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return 0;
	return p - name < 33;
}

/* The table's name goes into nft's input: a name, nothing else. */
static int
fw_nft_check(const struct conf *conf, char **cause)
{
	if (fw_nft_table_ok(conf->ban_table))
		return 0;
	*cause = xasprintf("nft_table \"%s\": letters, digits, _ and - only, "
	    "a letter first", conf->ban_table);
	return -1;
}

/*
 * The kernel caps' text for conf (kcap.c); NULL if no service is capped.
 */
static char *
fw_nft_caps(const struct fw_nft *nft, const struct conf *conf)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	kcap_text(f, conf, nft->table);
	if (fclose(f) != 0)
		fatal("open_memstream");
	if (len == 0) {
		free(text);
		return NULL;
	}
	return text;
}

/*
 * Appends to text the removal of the caps' sets and chains that the
 * caps in force no longer name (a limit changed, a service or override
 * gone), read from the table as it is (nothing at a first start): after
 * the caps' own text, which no longer jumps to them.
 */
static char *
fw_nft_caps_stale(const struct fw_nft *nft, char *text, size_t *lenp)
{
	const char	*list[] = { "-t", "list", "table", "inet", NULL, NULL };
	char		*out = NULL, *why = NULL, *all = NULL;
	FILE		*f;

	list[4] = nft->table;
	if (fw_nft_run(NULL, 0, list, &out, FW_NFT_LIST_MAX, &why) == -1) {
		free(why);
		return text;
	}
	if ((f = open_memstream(&all, lenp)) == NULL)
		fatal("open_memstream");
	fputs(text, f);
	kcap_stale_text(f, nft->table, out, nft->caps);
	if (fclose(f) != 0)
		fatal("open_memstream");
	free(out);
	free(text);
	return all;
}

static int
fw_nft_open(struct fw *fw, const struct conf *conf, char **cause)
{
	static const char *const args[] = { "-f", "-", NULL };
	static const char *const check[] = { "-c", "-f", "-", NULL };
	struct fw_nft	*nft;
	char		*text, *probe, *why = NULL;
	size_t		 len;
	int		 r;

	if (fw_nft_check(conf, cause) == -1)
		return -1;
	nft = xcalloc(1, sizeof *nft);
	snprintf(nft->table, sizeof nft->table, "%s", conf->ban_table);
	nft->throttle = conf->ban_throttle;
	nft->caps = fw_nft_caps(nft, conf);
	text = fw_nft_open_text(fw, nft, &len);
	text = fw_nft_caps_stale(nft, text, &len);
	r = fw_nft_run(text, len, args, NULL, FW_NFT_OUT_MAX, cause);
	free(text);
	if (r == -1) {
		free(nft->caps);
		free(nft);
		return -1;
	}
	/* A check-only transaction: nothing changes either way. */
	probe = xasprintf("destroy element inet %s ban4 { 192.0.2.0 }\n",
	    nft->table);
	nft->destroy = fw_nft_run(probe, strlen(probe), check, NULL,
	    FW_NFT_OUT_MAX, &why) == 0;
	free(probe);
	free(why);
	nft->update = fw_nft_probe_update(nft);
	log_debug("fw: nftables table inet %s ready (%s, %s)", nft->table,
	    nft->destroy ? "destroy element" : "add and delete",
	    nft->update ? "re-add updates" : "re-add replaces");
	fw->priv = nft;
	return 0;
}

/*
 * 1 if the kernel sets a new timeout when an element is added again
 * (recent kernels; Linux 6.1 keeps the old one), tried on the probe set;
 * then a ban is a plain add.  Otherwise a ban replaces the element, which
 * costs a delete: with nft 1.0.6 that makes each run about 3 times slower
 * (it reads the ruleset first).
 */
static int
fw_nft_probe_update(const struct fw_nft *nft)
{
	static const char *const args[] = { "-f", "-", NULL };
	const char	*list[] = { "-j", "list", "set", "inet", NULL, "probe",
			    NULL };
	struct fw_entry	*v = NULL;
	size_t		 n = 0, cap = 0;
	char		*text, *out = NULL, *why = NULL;
	int		 ok = 0;

	list[4] = nft->table;
	text = xasprintf("add element inet %s probe { 192.0.2.0 timeout 1s "
	    "}\n", nft->table);
	if (fw_nft_run(text, strlen(text), args, NULL, FW_NFT_OUT_MAX,
	    &why) == -1)
		goto done;
	free(text);
	text = xasprintf("add element inet %s probe { 192.0.2.0 timeout "
	    "3600s }\n", nft->table);
	if (fw_nft_run(text, strlen(text), args, NULL, FW_NFT_OUT_MAX,
	    &why) == -1 || fw_nft_run(NULL, 0, list, &out, FW_NFT_OUT_MAX,
	    &why) == -1)
		goto done;
	ok = fw_nft_parse_set(out, strlen(out), 0, &v, &n, &cap) == 0 &&
	    n == 1 && v[0].remaining > 60 * CLOCK_US_PER_SEC;
done:
	free(text);
	free(out);
	free(v);
	free(why);
	why = NULL;
	text = xasprintf("flush set inet %s probe\n", nft->table);
	(void)fw_nft_run(text, strlen(text), args, NULL, FW_NFT_OUT_MAX, &why);
	free(text);
	free(why);
	return ok;
}

static int
fw_nft_apply(struct fw *fw, const struct fw_op *ops, size_t n, char **cause)
{
	static const char *const args[] = { "-f", "-", NULL };
	struct fw_nft	*nft = fw->priv;
	char		*text;
	size_t		 len;
	int		 r;

	if ((text = fw_nft_apply_text(nft, nft->destroy, nft->update, ops, n,
	    &len)) == NULL)
		return 0;
	r = fw_nft_run(text, len, args, NULL, FW_NFT_OUT_MAX, cause);
	free(text);
	return r;
}

/*
 * The restore (at start, after the table was flushed or deleted by someone
 * else, after a failed batch, at reload): the table, its sets and chain
 * made to exist again as open makes them, every set flushed and filled
 * with ops (bans and throttles only), all in one transaction, so the
 * kernel holds exactly the bans in force, with nothing to list first and
 * no moment without them, whatever was left of the table.  Adds into
 * empty sets need no delete, whatever the kernel.
 */
static int
fw_nft_replace(struct fw *fw, const struct fw_op *ops, size_t n,
    char **cause)
{
	static const char *const args[] = { "-f", "-", NULL };
	const struct fw_nft *nft = fw->priv;
	char		*text, *all = NULL;
	size_t		 len = 0, alen = 0;
	FILE		*f;
	int		 s, r;

	if ((f = open_memstream(&all, &alen)) == NULL)
		fatal("open_memstream");
	text = fw_nft_open_text(fw, nft, &len);
	fwrite(text, 1, len, f);
	free(text);
	for (s = 0; s < FW_NFT_NSETS; s++)
		fprintf(f, "flush set inet %s %s\n", nft->table,
		    fw_nft_set_names[s]);
	if ((text = fw_nft_apply_text(nft, 0, 1, ops, n, &len)) != NULL) {
		fwrite(text, 1, len, f);
		free(text);
	}
	if (fclose(f) != 0)
		fatal("open_memstream");
	r = fw_nft_run(all, alen, args, NULL, FW_NFT_OUT_MAX, cause);
	free(all);
	return r;
}

/* JSON: skips blanks. */
static void
fw_nft_json_ws(struct fw_nft_json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' ||
	    *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

/* JSON: consumes c (after blanks); 0, or -1 if it is not next. */
static int
fw_nft_json_lit(struct fw_nft_json *j, char c)
{
	fw_nft_json_ws(j);
	if (j->p >= j->end || *j->p != c)
		return -1;
	j->p++;
	return 0;
}

/*
 * JSON: a string into buf (cut to size, escapes kept as they are: nft's
 * names and addresses have none).  0 or -1.
 */
static int
fw_nft_json_str(struct fw_nft_json *j, char *buf, size_t size)
{
	size_t	 n = 0;

	if (fw_nft_json_lit(j, '"') == -1)
		return -1;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p == '\\' && ++j->p >= j->end)
			return -1;
		if (buf != NULL && n + 1 < size)
			buf[n++] = *j->p;
		j->p++;
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	if (buf != NULL && size > 0)
		buf[n] = '\0';
	return 0;
}

/* JSON: a non-negative integer (a fraction is cut). */
static int
fw_nft_json_num(struct fw_nft_json *j, int64_t *v)
{
	int64_t	 x = 0;
	int	 digits = 0;

	fw_nft_json_ws(j);
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		if (x > (INT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (*j->p++ - '0');
		digits++;
	}
	if (digits == 0)
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	*v = x;
	return 0;
}

/* JSON: skips one value of any kind, nested at most depth deep. */
static int
fw_nft_json_skip(struct fw_nft_json *j, int depth)
{
	char	 close;
	int	 first = 1;

	fw_nft_json_ws(j);
	if (j->p >= j->end || depth <= 0)
		return -1;
	switch (*j->p) {
	case '"':
		return fw_nft_json_str(j, NULL, 0);
	case '{':
	case '[':
		close = *j->p == '{' ? '}' : ']';
		j->p++;
		for (;;) {
			if (fw_nft_json_lit(j, close) == 0)
				return 0;
			if (!first && fw_nft_json_lit(j, ',') == -1)
				return -1;
			first = 0;
			if (close == '}' && (fw_nft_json_str(j, NULL, 0) ==
			    -1 || fw_nft_json_lit(j, ':') == -1))
				return -1;
			if (fw_nft_json_skip(j, depth - 1) == -1)
				return -1;
		}
	default:
		/* A number, true, false or null. */
		if (!((*j->p >= '0' && *j->p <= '9') || *j->p == '-' ||
		    (*j->p >= 'a' && *j->p <= 'z')))
			return -1;
		while (j->p < j->end && ((*j->p >= '0' && *j->p <= '9') ||
		    (*j->p >= 'a' && *j->p <= 'z') || *j->p == '.' ||
		    *j->p == '-' || *j->p == '+' || *j->p == 'E'))
			j->p++;
		return 0;
	}
}

/*
 * JSON: the next key of an object whose '{' is consumed.  1 with the key
 * in buf (its ':' consumed), 0 at the closing '}', -1 on a syntax error.
 * *first starts at 1.
 */
static int
fw_nft_json_key(struct fw_nft_json *j, int *first, char *buf, size_t size)
{
	if (fw_nft_json_lit(j, '}') == 0)
		return 0;
	if (!*first && fw_nft_json_lit(j, ',') == -1)
		return -1;
	*first = 0;
	if (fw_nft_json_str(j, buf, size) == -1 ||
	    fw_nft_json_lit(j, ':') == -1)
		return -1;
	return 1;
}

/*
 * JSON: an element's value: "ADDR" or {"prefix": {"addr": "ADDR", "len":
 * N}}.  0; 1 for what is neither (a range someone else added); -1 on a
 * syntax error.
 */
static int
fw_nft_json_val(struct fw_nft_json *j, struct prefix *p)
{
	char	 key[16], a[ADDR_STRLEN + 1];
	int64_t	 len = -1;
	int	 first = 1, first2, r, other = 0;

	fw_nft_json_ws(j);
	if (j->p < j->end && *j->p == '"') {
		if (fw_nft_json_str(j, a, sizeof a) == -1)
			return -1;
		return addr_prefix_parse(a, p, 0) == 0 ? 0 : 1;
	}
	if (fw_nft_json_lit(j, '{') == -1)
		return fw_nft_json_skip(j, 8) == -1 ? -1 : 1;
	a[0] = '\0';
	while ((r = fw_nft_json_key(j, &first, key, sizeof key)) == 1) {
		if (strcmp(key, "prefix") != 0 ||
		    fw_nft_json_lit(j, '{') == -1) {
			other = 1;
			if (fw_nft_json_skip(j, 8) == -1)
				return -1;
			continue;
		}
		first2 = 1;
		while ((r = fw_nft_json_key(j, &first2, key, sizeof key)) ==
		    1) {
			if (strcmp(key, "addr") == 0)
				r = fw_nft_json_str(j, a, sizeof a);
			else if (strcmp(key, "len") == 0)
				r = fw_nft_json_num(j, &len);
			else
				r = fw_nft_json_skip(j, 8);
			if (r == -1)
				return -1;
		}
		if (r == -1)
			return -1;
	}
	if (r == -1)
		return -1;
	if (other || a[0] == '\0' || len < 0 || addr_parse(a, &p->addr,
	    NULL) == -1 || len > addr_maxlen(&p->addr))
		return 1;
	p->len = (uint8_t)len;
	/* Host bits: nft prints what it stores, but be sure. */
	addr_mask(&p->addr, p->len, p);
	return 0;
}

/*
 * JSON: one member of a set's "elem" array, "ADDR" or {"elem": {"val":
 * ..., "timeout": S, "expires": S}}.  0, 1 to skip, -1 on a syntax error.
 */
static int
fw_nft_json_elem(struct fw_nft_json *j, struct fw_entry *e)
{
	char	 key[16];
	int64_t	 timeout = 0, expires = -1, v;
	int	 first = 1, first2, r, skip = 1;

	memset(e, 0, sizeof *e);
	fw_nft_json_ws(j);
	if (j->p < j->end && *j->p == '"')
		return fw_nft_json_val(j, &e->prefix);
	if (fw_nft_json_lit(j, '{') == -1)
		return -1;
	while ((r = fw_nft_json_key(j, &first, key, sizeof key)) == 1) {
		if (strcmp(key, "elem") != 0) {
			if ((r = fw_nft_json_val(j, &e->prefix)) == -1)
				return -1;
			skip = r;
			continue;
		}
		if (fw_nft_json_lit(j, '{') == -1)
			return -1;
		first2 = 1;
		while ((r = fw_nft_json_key(j, &first2, key, sizeof key)) ==
		    1) {
			if (strcmp(key, "val") == 0) {
				if ((r = fw_nft_json_val(j, &e->prefix)) ==
				    -1)
					return -1;
				skip = r;
			} else if (strcmp(key, "timeout") == 0 ||
			    strcmp(key, "expires") == 0) {
				if (fw_nft_json_num(j, &v) == -1)
					return -1;
				if (key[0] == 't')
					timeout = v;
				else
					expires = v;
			} else if (fw_nft_json_skip(j, 8) == -1)
				return -1;
		}
		if (r == -1)
			return -1;
	}
	if (r == -1)
		return -1;
	/*
	 * nft gives whole seconds, cut: an element in its last second says
	 * 0 and is still there.  Say 1 us rather than "no timeout".
	 */
	if (expires > 0)
		e->remaining = expires * CLOCK_US_PER_SEC;
	else if (expires == 0 || timeout > 0)
		e->remaining = 1;
	return skip;
}

/*
 * Parses the output of `nft -j list set inet T S` and appends its elements
 * to *v (*n of them, room for *cap).  0, or -1 if it is not what nft
 * writes.  Elements that are not addresses or prefixes are skipped.
 */
static int
fw_nft_parse_set(const char *text, size_t len, int throttled,
    struct fw_entry **v, size_t *n, size_t *cap)
{
	struct fw_nft_json	 j;
	struct fw_entry		 e;
	char			 key[16];
	int			 first, first2, first3, r, found = 0;

	j.p = text;
	j.end = text + len;
	if (fw_nft_json_lit(&j, '{') == -1)
		return -1;
	first = 1;
	while ((r = fw_nft_json_key(&j, &first, key, sizeof key)) == 1) {
		if (strcmp(key, "nftables") != 0) {
			if (fw_nft_json_skip(&j, 16) == -1)
				return -1;
			continue;
		}
		/* [ {"metainfo": ...}, {"set": {..., "elem": [...]}} ] */
		if (fw_nft_json_lit(&j, '[') == -1)
			return -1;
		for (first2 = 1; fw_nft_json_lit(&j, ']') == -1; first2 = 0) {
			if ((!first2 && fw_nft_json_lit(&j, ',') == -1) ||
			    fw_nft_json_lit(&j, '{') == -1)
				return -1;
			first3 = 1;
			while ((r = fw_nft_json_key(&j, &first3, key,
			    sizeof key)) == 1) {
				if (strcmp(key, "set") != 0) {
					if (fw_nft_json_skip(&j, 16) == -1)
						return -1;
					continue;
				}
				found = 1;
				if (fw_nft_json_lit(&j, '{') == -1)
					return -1;
				first = 1;
				while ((r = fw_nft_json_key(&j, &first, key,
				    sizeof key)) == 1) {
					if (strcmp(key, "elem") != 0) {
						if (fw_nft_json_skip(&j, 16) ==
						    -1)
							return -1;
						continue;
					}
					if (fw_nft_json_lit(&j, '[') == -1)
						return -1;
					if (fw_nft_json_lit(&j, ']') == 0)
						continue;
					do {
						if ((r = fw_nft_json_elem(&j,
						    &e)) == -1)
							return -1;
						if (r == 1)
							continue;
						e.throttled = throttled;
						if (*n == *cap) {
							*cap = *cap ? *cap * 2
							    : 256;
							*v = xreallocarray(*v,
							    *cap, sizeof **v);
						}
						(*v)[(*n)++] = e;
					} while (fw_nft_json_lit(&j, ',') == 0);
					if (fw_nft_json_lit(&j, ']') == -1)
						return -1;
				}
				if (r == -1)
					return -1;
				first = 0;
			}
			if (r == -1)
				return -1;
		}
		first = 0;
	}
	return r == -1 || !found ? -1 : 0;
}

static int
fw_nft_list(struct fw *fw, struct fw_entry **vp, size_t *np, char **cause)
{
	const char	*args[] = { "-j", "list", "set", "inet", NULL, NULL,
			    NULL };
	const struct fw_nft *nft = fw->priv;
	struct fw_entry	*v = NULL;
	size_t		 n = 0, cap = 0, first;
	char		*out;
	int		 s;

	args[4] = nft->table;
	for (s = 0; s < FW_NFT_NSETS; s++) {
		args[5] = fw_nft_set_names[s];
		if (fw_nft_run(NULL, 0, args, &out, FW_NFT_LIST_MAX, cause) ==
		    -1)
			goto fail;
		first = n;
		if (fw_nft_parse_set(out, strlen(out), s == FW_NFT_THR4 ||
		    s == FW_NFT_THR6, &v, &n, &cap) == -1) {
			free(out);
			*cause = xasprintf("nft -j list set inet %s %s: "
			    "unexpected output", nft->table,
			    fw_nft_set_names[s]);
			goto fail;
		}
		free(out);
		for (; first < n && s >= FW_NFT_PRX4; first++)
			v[first].scope = FW_SCOPE_PROXY;
	}
	*vp = v;
	*np = n;
	return 0;
fail:
	free(v);
	return -1;
}

static void
fw_nft_close(struct fw *fw)
{
	struct fw_nft	*nft = fw->priv;

	if (nft != NULL)
		free(nft->caps);
	free(fw->priv);
	fw->priv = NULL;
}
