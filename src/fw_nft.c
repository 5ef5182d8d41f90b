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
 * follow the configuration: that is text for one `nft -f -` run, the
 * rules being far simpler to write in nft's language than as expressions.
 * nft 1.0.6 reads every element of the table before it runs the text
 * (65 ms with 100,000 bans), so where the table is already as the text
 * would make it, the run is skipped: the first rule's comment carries a
 * digest of the text, and netlink tells whether the table, the sets, the
 * chain, the number of rules and that comment are as the text has them
 * (fw_nftnl_current()).  A change of configuration changes the digest,
 * and the text runs.  The kernel caps (kcap_text.c) are in that text, last:
 * their sets, chains and rules, with the removal of the caps' sets and
 * chains that the configuration no longer names (which needs the table
 * listed: only when the text runs); the digest covers them, and the sets
 * and the base chain's rules that the check counts are read from the
 * text itself.
 * Everything else goes through netlink (fw_nftnl.c, libnftnl on a socket
 * kept open from open to close, so in the helper under privilege
 * separation): apply sends a whole batch as one transaction of element
 * messages, one message an operation on the ban path, so the kernel's
 * refusal names the operation (the caller's bisect then has one step
 * left); list dumps the sets at start, for adoption.  Where netlink cannot
 * be had or fails (not a refusal: the socket itself), the batch goes to
 * `nft -f -` as text, and every one after it: said once.
 *
 * A ban must leave the prefix with the new timeout; recent kernels set it
 * when an element is added again, Linux 6.1 (Debian 12) keeps the old
 * one, so open tries the kernel on a probe set and a ban is a plain add
 * where that works, else a replacement (remove, then add).  Removals
 * (unbans, replacements) may not fail on an element that is not there,
 * but the kernel aborts a transaction on a missing element: so each is a
 * destroy when the kernel has it (Linux 6.3; probed at open: an element
 * destroyed is gone), else "add with a 1 s timeout, then delete" in the
 * same transaction, which cannot fail on a missing element and leaves
 * nothing behind.  On the text path destroy needs nft 1.0.8 too, and
 * removals are dear with nft 1.0.6 (a delete makes it read the ruleset
 * first: 16 ms a run instead of 3).  A batch names each prefix once: the
 * last operation on it wins (fw_nft_plan.c).  An interval set's overlaps
 * are the kernel's to refuse (nft checks them itself first; Linux 6.18
 * refuses a prefix inside or around one there, as nft does).
 *
 * kill is fw_kill_live() (fw_kill.c): conntrack entries and sockets.
 *
 * Nothing goes through a shell: nft runs by fw_exec() (execve, argv array),
 * the commands on its standard input.  Every address in them was printed
 * by addr_ntop() from a validated struct prefix (netlink takes its bytes);
 * nothing else varies but numbers and the table name, which the
 * configuration restricts to [A-Za-z0-9_-].
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

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
#include "fw_nft_int.h"
#include "fw_nftnl.h"
#include "kcap.h"
#include "log.h"
#include "siphash.h"
#include "xmalloc.h"

#define FW_NFT_TIMEOUT_MS	30000		/* one nft run */
#define FW_NFT_OUT_MAX		(8 * 1024)	/* its messages */
#define FW_NFT_CAUSE_MAX	512		/* nft's words in *cause */
#define FW_NFT_EXACT		1024		/* batches up to this many ops:
						 * one element a message */
#define FW_NFT_RATE_SIZE	65536		/* throttled sources metered */
#define FW_NFT_COMMENT		"conntrack on"	/* the first rule's */
#define FW_NFT_DIGEST_SEED	0x786d7070677561ULL	/* any constant */
#define FW_NFT_DECL_MAX		1024	/* sets fw_nftnl_current() compares
					 * (the caps' account levels: nine
					 * per service and family, each with
					 * its limits' sets) */
#define FW_NFT_TABLE_MAX	(4 * 1024 * 1024) /* nft -t list table */
/* "tcp dport { " 12, ", 65535" 7 a port, " } " 3, the NUL. */
#define FW_NFT_PORTS_LEN	(12 + FW_PORTS_MAX * 7 + 4)

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

static int	fw_nft_run(const char *, size_t, const char *const *, char **,
		    size_t, char **);
static char	*fw_nft_ruleset(const struct fw *, const struct fw_nft *,
		    const char *, size_t *);
static char	*fw_nft_open_text(const struct fw *, struct fw_nft *,
		    size_t *);
static size_t	fw_nft_text_count(const char *, const char *, const char *,
		    const char *);
static int	fw_nft_text_sets(const char *, const char *,
		    struct fw_nftnl_decl *, char **, size_t);
static int	fw_nft_current(struct fw_nft *, const char *);
static int	fw_nft_commit_nl(struct fw_nft *, char **);
static int	fw_nft_caps_apply(struct fw *, const struct fw_cap *, size_t,
		    char **);
static int	fw_nft_declare(const struct fw *, struct fw_nft *, char **);
static char	*fw_nft_caps(const struct fw_nft *, const struct conf *);
static char	*fw_nft_caps_stale(const struct fw_nft *, char *, size_t *);
static void	fw_nft_ports(const struct fw *, enum fw_scope, char *, size_t);
static int	fw_nft_probe_list(struct fw_nft *, struct fw_entry **,
		    size_t *);
static void	fw_nft_probe(struct fw_nft *);
static int	fw_nft_apply_nl(struct fw_nft *, int, int, const struct fw_op *,
		    size_t);
static int	fw_nft_commit_nl(struct fw_nft *, char **);

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
	.replace = fw_nft_replace,
	.caps = fw_nft_caps_apply
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

int64_t
fw_nft_seconds(int64_t us)
{
	int64_t	 s;

	if (us <= 0)
		return 1;
	s = us / CLOCK_US_PER_SEC + (us % CLOCK_US_PER_SEC != 0);
	return s;
}

/*
 * The table, sets and chain; the rules replaced, for fw's ports, the
 * first with comment.  The caller frees.
 */
static char *
fw_nft_ruleset(const struct fw *fw, const struct fw_nft *nft,
    const char *comment, size_t *lenp)
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
	    "\"%s\"\n", t, comment);
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
	/* The kernel caps (kcap_text.c), last: after the bans' drops. */
	if (nft->caps != NULL)
		fputs(nft->caps, f);
	if (fclose(f) != 0)
		fatal("open_memstream");
	*lenp = len;
	return buf;
}

/*
 * The text of fw_nft_ruleset(), its first rule's comment with the digest
 * of the text (nft->comment, with the number of the base chain's rules,
 * counted in the text: what fw_nft_current() looks for).  The caller
 * frees.
 */
static char *
fw_nft_open_text(const struct fw *fw, struct fw_nft *nft, size_t *lenp)
{
	struct siphash_key	 k;
	char			*text;
	size_t			 len;

	text = fw_nft_ruleset(fw, nft, FW_NFT_COMMENT, &len);
	siphash_key_seed(&k, FW_NFT_DIGEST_SEED);
	snprintf(nft->comment, sizeof nft->comment, "%s, ruleset %016" PRIx64,
	    FW_NFT_COMMENT, siphash24(&k, text, len));
	free(text);
	text = fw_nft_ruleset(fw, nft, nft->comment, lenp);
	nft->rules = fw_nft_text_count(text, "add rule inet", nft->table,
	    "filter");
	return text;
}

/*
 * The lines of text that begin "VERB TABLE NAME " (the kernel caps add
 * rules of their own to the base chain, so its count comes from the text).
 */
static size_t
fw_nft_text_count(const char *text, const char *verb, const char *t,
    const char *name)
{
	char		 head[128];
	const char	*p, *end;
	size_t		 len, n = 0;

	len = (size_t)snprintf(head, sizeof head, "%s %s %s ", verb, t, name);
	for (p = text; *p != '\0'; p = end + (*end == '\n')) {
		end = p + strcspn(p, "\n");
		n += strncmp(p, head, len) == 0;
	}
	return n;
}

/*
 * 1 if the set named at p (up to " {") is among names[0..n-1]: the
 * account levels' chains share the sets whose limits a level leaves as
 * they are, and declare them again (kcap_text.c).
 */
static int
fw_nft_text_seen(const char *p, char *const *names, size_t n)
{
	size_t	 len = strcspn(p, " \n"), i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], p, len) == 0)
			return 1;
	return 0;
}

/*
 * The kernel caps' sets (kcap_text(), "add set inet T cap_... { ... }")
 * as fw_nftnl_current() compares them, read from the text that makes
 * them, at most max into d, their names in names (allocated: the caller
 * frees them); the count, or -1 if there are more or a line reads
 * otherwise than kcap_text.c writes it.
 */
static int
fw_nft_text_sets(const char *text, const char *t, struct fw_nftnl_decl *d,
    char **names, size_t max)
{
	char		 head[128];
	const char	*p, *q, *end;
	size_t		 len, n = 0;
	unsigned long long v;

	len = (size_t)snprintf(head, sizeof head, "add set inet %s cap_", t);
	for (p = text; *p != '\0'; p = end + (*end == '\n')) {
		end = p + strcspn(p, "\n");
		if (strncmp(p, head, len) != 0 ||
		    fw_nft_text_seen(p + len - 4, names, n))
			continue;
		if (n == max)
			goto fail;
		memset(&d[n], 0, sizeof d[n]);
		if ((q = strstr(p, " { type ipv")) == NULL || q > end)
			goto fail;
		names[n] = xstrndup(p + len - 4, (size_t)(q - p) - len + 4);
		d[n].name = names[n];
		d[n].klen = q[11] == '6' ? 16 : 4;
		for (q += 11; q < end && (q = strstr(q, "; ")) != NULL &&
		    q < end; q += 2) {
			if (strncmp(q, "; size ", 7) == 0)
				d[n].size = (uint32_t)strtoul(q + 7, NULL, 10);
			else if (strncmp(q, "; timeout ", 10) == 0) {
				/* kcap_text.c writes seconds. */
				v = strtoull(q + 10, NULL, 10);
				d[n].timeout = (uint64_t)v * 1000;
			} else if (strncmp(q, "; flags ", 8) == 0) {
				/* Up to the next ';'; the kernel's names. */
				if (memmem(q + 8, strcspn(q + 8, ";"),
				    "interval", 8) != NULL)
					d[n].flags |= NFT_SET_INTERVAL;
				if (memmem(q + 8, strcspn(q + 8, ";"),
				    "timeout", 7) != NULL)
					d[n].flags |= NFT_SET_TIMEOUT;
				if (memmem(q + 8, strcspn(q + 8, ";"),
				    "dynamic", 7) != NULL)
					d[n].flags |= NFT_SET_EVAL;
			}
		}
		n++;
	}
	return (int)n;

fail:
	while (n > 0)
		free(names[--n]);
	return -1;
}

/*
 * 1 if the table is as text (fw_nft_open_text()'s) would make it (asked
 * through netlink), so nft need not run; 0 if not, or if it cannot be
 * told.  The kernel caps' sets are read from text; their chains need no
 * look: the digest covers them, and a change of them leaves the base
 * chain's first rule with a comment of another digest.
 */
static int
fw_nft_current(struct fw_nft *nft, const char *text)
{
	static const struct fw_nftnl_decl sets[] = {
		{ .name = "ban4", .flags = NFT_SET_TIMEOUT, .klen = 4 },
		{ .name = "ban6", .flags = NFT_SET_TIMEOUT, .klen = 16 },
		{ .name = "net4", .flags = NFT_SET_INTERVAL | NFT_SET_TIMEOUT,
		  .klen = 4 },
		{ .name = "net6", .flags = NFT_SET_INTERVAL | NFT_SET_TIMEOUT,
		  .klen = 16 },
		{ .name = "thr4", .flags = NFT_SET_INTERVAL | NFT_SET_TIMEOUT,
		  .klen = 4 },
		{ .name = "thr6", .flags = NFT_SET_INTERVAL | NFT_SET_TIMEOUT,
		  .klen = 16 },
		{ .name = "proxy4", .flags = NFT_SET_TIMEOUT, .klen = 4 },
		{ .name = "proxy6", .flags = NFT_SET_TIMEOUT, .klen = 16 },
		{ .name = "proxynet4",
		  .flags = NFT_SET_INTERVAL | NFT_SET_TIMEOUT, .klen = 4 },
		{ .name = "proxynet6",
		  .flags = NFT_SET_INTERVAL | NFT_SET_TIMEOUT, .klen = 16 },
		{ .name = "probe", .flags = NFT_SET_TIMEOUT, .klen = 4 },
		{ .name = "rate4", .flags = NFT_SET_EVAL | NFT_SET_TIMEOUT,
		  .klen = 4, .timeout = 60000, .size = FW_NFT_RATE_SIZE },
		{ .name = "rate6", .flags = NFT_SET_EVAL | NFT_SET_TIMEOUT,
		  .klen = 16, .timeout = 60000, .size = FW_NFT_RATE_SIZE }
	};
	const size_t		 nsets = sizeof sets / sizeof sets[0];
	struct fw_nftnl_decl	*all;
	char			**names;
	struct fw_nftnl_chain	 chain;
	char			*why = NULL;
	int			 r = 0, ncaps;

	if (nft->nl == NULL)
		return 0;
	all = xcalloc(FW_NFT_DECL_MAX, sizeof *all);
	names = xcalloc(FW_NFT_DECL_MAX, sizeof *names);
	/* More sets than fw_nftnl_current() compares: nft runs. */
	memcpy(all, sets, sizeof sets);
	if ((ncaps = fw_nft_text_sets(text, nft->table, all + nsets,
	    names, FW_NFT_DECL_MAX - nsets)) == -1)
		goto out;
	memset(&chain, 0, sizeof chain);
	chain.name = "filter";
	chain.type = "filter";
	chain.hook = NF_INET_PRE_ROUTING;
	chain.prio = -150;
	chain.rules = nft->rules;
	chain.comment = nft->comment;
	r = fw_nftnl_current(nft->nl, all, nsets + (size_t)ncaps, &chain,
	    &why);
	while (ncaps > 0)
		free(names[--ncaps]);
	if (r == -1) {
		log_debug("fw: %s", why);
		free(why);
		r = 0;
	}
out:
	free(names);
	free(all);
	return r;
}

/*
 * The table, sets, chain and rules as the configuration wants them: by
 * nft -f -, unless they are so already.  0, or -1 and *cause.
 */
static int
fw_nft_declare(const struct fw *fw, struct fw_nft *nft, char **cause)
{
	static const char *const args[] = { "-f", "-", NULL };
	char		*text;
	size_t		 len;
	int		 r;

	text = fw_nft_open_text(fw, nft, &len);
	if (fw_nft_current(nft, text)) {
		free(text);
		return 0;
	}
	/* Only now: listing the table costs what the skip saves. */
	text = fw_nft_caps_stale(nft, text, &len);
	r = fw_nft_run(text, len, args, NULL, FW_NFT_OUT_MAX, cause);
	free(text);
	return r;
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
 * The kernel caps' text for conf (kcap_text.c); NULL if no service is capped.
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
	if (fw_nft_run(NULL, 0, list, &out, FW_NFT_TABLE_MAX, &why) == -1) {
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
	static const char *const check[] = { "-c", "-f", "-", NULL };
	struct fw_nft	*nft;
	char		*probe, *why = NULL;

	if (fw_nft_check(conf, cause) == -1)
		return -1;
	nft = xcalloc(1, sizeof *nft);
	snprintf(nft->table, sizeof nft->table, "%s", conf->ban_table);
	nft->throttle = conf->ban_throttle;
	nft->caps = fw_nft_caps(nft, conf);
	/* The socket first: it tells whether nft need run at all. */
	if ((nft->nl = fw_nftnl_open(nft->table, &why)) == NULL) {
		log_warnx("fw: nftables through netlink: %s; nft -f - "
		    "instead", why);
		free(why);
		why = NULL;
	}
	if (fw_nft_declare(fw, nft, cause) == -1) {
		fw_nftnl_close(nft->nl);
		free(nft->caps);
		free(nft);
		return -1;
	}
	if (nft->nl != NULL) {
		fw_nft_probe(nft);
		goto done;
	}
	/* A check-only transaction: nothing changes either way.  Without a
	 * list there is no telling whether a re-add updates: replace. */
	probe = xasprintf("destroy element inet %s ban4 { 192.0.2.0 }\n",
	    nft->table);
	nft->destroy = fw_nft_run(probe, strlen(probe), check, NULL,
	    FW_NFT_OUT_MAX, &why) == 0;
	free(probe);
	free(why);
done:
	log_debug("fw: nftables table inet %s ready (%s, %s, %s)", nft->table,
	    nft->nl != NULL ? "netlink" : "nft -f -",
	    nft->destroy ? "destroy element" : "add and delete",
	    nft->update ? "re-add updates" : "re-add replaces");
	fw->priv = nft;
	return 0;
}

/* The probe set's elements through netlink; -1 if they cannot be had. */
static int
fw_nft_probe_list(struct fw_nft *nft, struct fw_entry **v, size_t *n)
{
	size_t	 cap = 0;
	char	*why = NULL;

	free(*v);
	*v = NULL;
	*n = 0;
	if (fw_nftnl_list(nft->nl, "probe", 0, v, n, &cap, &why) == 0)
		return 0;
	free(why);
	return -1;
}

/*
 * What the kernel does, tried on the probe set (never in a rule): whether
 * it has destroy element (Linux 6.3: a removal that cannot fail), and
 * whether it sets a new timeout when an element is added again (recent
 * kernels; Linux 6.1 keeps the old one), then a ban is a plain add;
 * otherwise a ban replaces the element (remove, then add).
 */
static void
fw_nft_probe(struct fw_nft *nft)
{
	struct fw_op	 op;
	const struct fw_op *v[1] = { &op };
	struct fw_entry	*e = NULL;
	size_t		 n = 0;
	char		*why = NULL;

	memset(&op, 0, sizeof op);
	op.kind = FW_BAN;
	(void)addr_prefix_parse("192.0.2.0", &op.prefix, 0);
	fw_nftnl_elems(nft->nl, FW_NFTNL_FLUSH, "probe", 0, NULL, 0, 1, 0);
	fw_nftnl_elems(nft->nl, FW_NFTNL_ADD, "probe", 0, v, 1, 1, 1);
	if (fw_nftnl_commit(nft->nl, &why) == 0) {
		fw_nftnl_elems(nft->nl, FW_NFTNL_ADD, "probe", 0, v, 1, 1,
		    3600);
		if (fw_nftnl_commit(nft->nl, &why) == 0 &&
		    fw_nft_probe_list(nft, &e, &n) == 0)
			nft->update = n == 1 &&
			    e[0].remaining > 60 * CLOCK_US_PER_SEC;
	}
	free(why);
	why = NULL;
	fw_nftnl_elems(nft->nl, FW_NFTNL_DESTROY, "probe", 0, v, 1, 1, 0);
	if (fw_nftnl_commit(nft->nl, &why) == 0 &&
	    fw_nft_probe_list(nft, &e, &n) == 0)
		nft->destroy = n == 0;
	free(why);
	why = NULL;
	fw_nftnl_elems(nft->nl, FW_NFTNL_FLUSH, "probe", 0, NULL, 0, 1, 0);
	(void)fw_nftnl_commit(nft->nl, &why);
	free(why);
	free(e);
}

/*
 * The transaction for a batch (see the top of the file) into the netlink
 * batch: the same statements as fw_nft_apply_text(), in the same order
 * (but for a hash set's prefixes in a batch longer than FW_NFT_EXACT: in
 * the batch's order, see fw_nft_plan()).  On the ban path (up to FW_NFT_EXACT operations) each element is a
 * message of its own, so a refusal names its operation.  0 if it does
 * nothing.
 */
static int
fw_nft_apply_nl(struct fw_nft *nft, int destroy, int update,
    const struct fw_op *ops, size_t n)
{
	struct fw_nft_plan	 pl;
	const char		*set;
	size_t			 per = n <= FW_NFT_EXACT ? 1 : FW_NFT_CHUNK;
	int			 s, iv;

	fw_nft_plan(nft, update, n <= FW_NFT_EXACT, ops, n, &pl);
	for (s = 0; s < FW_NFT_NSETS; s++) {
		set = fw_nft_set_names[s];
		iv = fw_nft_set_kind(set) == 1;
		if (destroy)
			fw_nftnl_elems(nft->nl, FW_NFTNL_DESTROY, set, iv,
			    pl.del[s], pl.ndel[s], per, 0);
		else {
			fw_nftnl_elems(nft->nl, FW_NFTNL_ADD, set, iv,
			    pl.del[s], pl.ndel[s], per, 1);
			fw_nftnl_elems(nft->nl, FW_NFTNL_DELETE, set, iv,
			    pl.del[s], pl.ndel[s], per, 0);
		}
		fw_nftnl_elems(nft->nl, FW_NFTNL_ADD, set, iv, pl.add[s],
		    pl.nadd[s], per, -1);
	}
	fw_nft_plan_free(&pl);
	return !fw_nftnl_empty(nft->nl);
}

/*
 * Sends the netlink batch built: 0, or -1 and *cause naming what the
 * kernel refused.  If netlink itself fails, says why once and leaves it
 * for nft -f - (1: the caller runs the batch that way).
 */
static int
fw_nft_commit_nl(struct fw_nft *nft, char **cause)
{
	int	 r;

	if ((r = fw_nftnl_commit(nft->nl, cause)) != -2)
		return r;
	log_warnx("fw: nftables through netlink: %s; nft -f - from now on",
	    *cause);
	free(*cause);
	*cause = NULL;
	fw_nftnl_close(nft->nl);
	nft->nl = NULL;
	return 1;
}

/*
 * Surge mode's operations (kcap_text.c), a batch of their own, through
 * netlink where it is open: the switch of a service's surge (its flag's
 * element added with a second's timeout, removed, added again with the
 * surge's: the kernel keeps an element's old timeout on a re-add, and the
 * removal cannot fail on a missing one), and the known addresses (a re-add
 * renews an element's timeout where the kernel does, else the element is
 * removed first, as a ban's; as text where it can do neither).  A switch
 * by `nft -f` blocked the loop 20-80 ms, in the middle of a surge.  What
 * netlink did not take goes to `nft -f` as text.
 */
static int
fw_nft_surge(struct fw_nft *nft, const struct fw_op *ops, size_t n,
    char **cause)
{
	static const char *const args[] = { "-f", "-", NULL };
	static const uint8_t	 tcp = IPPROTO_TCP;
	const struct fw_op	**v;
	struct fw_op		*rest;
	char			*text = NULL, (*sets)[CONF_NAME_MAX + 16];
	size_t			 len = 0, i, k, per, nrest;
	FILE			*f;
	int			 r = 0, v6, known;

	known = nft->nl != NULL && (nft->update || nft->destroy);
	if (nft->nl != NULL) {
		v = xreallocarray(NULL, n, sizeof *v);
		for (v6 = 0; known && v6 < 2; v6++) {
			for (i = k = 0; i < n; i++)
				if (ops[i].kind == FW_KNOWN &&
				    (ops[i].prefix.addr.family == AF_INET6) ==
				    v6)
					v[k++] = &ops[i];
			per = k <= FW_NFT_EXACT ? 1 : FW_NFT_CHUNK;
			if (!nft->update)
				fw_nftnl_elems(nft->nl, FW_NFTNL_DESTROY,
				    v6 ? "known6" : "known4", 0, v, k, per, 0);
			fw_nftnl_elems(nft->nl, FW_NFTNL_ADD, v6 ? "known6" :
			    "known4", 0, v, k, per, -1);
		}
		free(v);
		/* The names stay until the commit: the answers name them. */
		sets = xreallocarray(NULL, n, sizeof *sets);
		for (i = 0; i < n; i++) {
			if (ops[i].kind != FW_SURGE)
				continue;
			snprintf(sets[i], sizeof sets[i], "surge_%s",
			    ops[i].reason);
			fw_nftnl_key(nft->nl, FW_NFTNL_ADD, sets[i], &tcp,
			    sizeof tcp, 1);
			fw_nftnl_key(nft->nl, FW_NFTNL_DELETE, sets[i], &tcp,
			    sizeof tcp, 0);
			if (ops[i].duration > 0)
				fw_nftnl_key(nft->nl, FW_NFTNL_ADD, sets[i],
				    &tcp, sizeof tcp, fw_nft_seconds(
				    ops[i].duration));
		}
		r = fw_nftnl_empty(nft->nl) ? 0 : fw_nft_commit_nl(nft,
		    cause);
		free(sets);
		if (r == -1)
			return -1;
		if (r == 0 && known)
			return 0;
	}
	/* Left for nft: everything (no netlink, or it failed), or the
	 * known addresses netlink could not take. */
	rest = xreallocarray(NULL, n, sizeof *rest);
	for (i = nrest = 0; i < n; i++)
		if (r != 0 || nft->nl == NULL || ops[i].kind != FW_SURGE)
			rest[nrest++] = ops[i];
	if ((f = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	kcap_surge_text(f, nft->table, rest, nrest, 0);
	if (fclose(f) != 0)
		fatal("open_memstream");
	free(rest);
	r = len > 0 ? fw_nft_run(text, len, args, NULL, FW_NFT_OUT_MAX,
	    cause) : 0;
	free(text);
	return r;
}

static int
fw_nft_apply(struct fw *fw, const struct fw_op *ops, size_t n, char **cause)
{
	static const char *const args[] = { "-f", "-", NULL };
	struct fw_nft	*nft = fw->priv;
	char		*text;
	size_t		 len;
	int		 r;

	/* enforce_surge() sends surge mode's operations alone. */
	if (n > 0 && (ops[0].kind == FW_KNOWN || ops[0].kind == FW_SURGE))
		return fw_nft_surge(nft, ops, n, cause);
	if (nft->nl != NULL) {
		if (!fw_nft_apply_nl(nft, nft->destroy, nft->update, ops, n))
			return 0;
		if ((r = fw_nft_commit_nl(nft, cause)) != 1)
			return r;
	}
	if ((text = fw_nft_apply_text(nft, nft->destroy, nft->update, ops, n,
	    &len)) == NULL)
		return 0;
	r = fw_nft_run(text, len, args, NULL, FW_NFT_OUT_MAX, cause);
	free(text);
	return r;
}

/*
 * The kernel caps' account levels (kcap_text.c): each host into its level's
 * set and the set of every level's, with the window's timeout, replaced
 * where a re-add would keep the old one.  Through netlink as the bans are (one transaction), else as
 * text (kcap_acct_elements()).  Only the levels the caps in force declare
 * (a level set the configuration no longer names is skipped).
 */
static int
fw_nft_caps_apply(struct fw *fw, const struct fw_cap *c, size_t n,
    char **cause)
{
	static const char *const args[] = { "-f", "-", NULL };
	struct fw_nft		 *nft = fw->priv;
	struct fw_op		 *ops;
	const struct fw_op	**v;
	char			 set[96], *text = NULL;
	size_t			 i, len = 0;
	FILE			*f;
	int			 r, any;

	if (nft->caps == NULL)
		return 0;
	if (nft->nl != NULL) {
		ops = xcalloc(n, sizeof *ops);
		v = xcalloc(n, sizeof *v);
		for (i = 0; i < n; i++) {
			ops[i].kind = FW_BAN;
			ops[i].prefix.addr = c[i].addr;
			ops[i].prefix.len = addr_maxlen(&c[i].addr);
			ops[i].duration = c[i].duration;
			v[0] = &ops[i];
			/* The level's set, then every level's. */
			for (any = 0; any < 2; any++) {
				kcap_acct_set(set, sizeof set, &c[i], any);
				if (!kcap_declares(nft->caps, nft->table, set))
					break;
				if (!nft->update) {
					fw_nftnl_elems(nft->nl, FW_NFTNL_ADD,
					    set, 0, v, 1, 1, 1);
					fw_nftnl_elems(nft->nl,
					    FW_NFTNL_DELETE, set, 0, v, 1, 1,
					    0);
				}
				fw_nftnl_elems(nft->nl, FW_NFTNL_ADD, set, 0,
				    v, 1, 1, -1);
			}
		}
		free(v);
		free(ops);
		if (fw_nftnl_empty(nft->nl))
			return 0;
		if ((r = fw_nft_commit_nl(nft, cause)) != 1)
			return r;
	}
	if ((f = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	kcap_acct_elements(f, nft->table, nft->caps, c, n, nft->update);
	if (fclose(f) != 0)
		fatal("open_memstream");
	r = len > 0 ? fw_nft_run(text, len, args, NULL, FW_NFT_OUT_MAX,
	    cause) : 0;
	free(text);
	return r;
}

/*
 * The restore (at start, after the table was flushed or deleted by someone
 * else, after a failed batch, at reload): the table, its sets and chain
 * made to exist again as open makes them, every set flushed and filled
 * with ops (bans and throttles only), so the kernel holds exactly the bans
 * in force, with nothing to list first and no moment without them,
 * whatever was left of the table.  Adds into empty sets need no delete,
 * whatever the kernel.  Through netlink that is two transactions: the
 * table's (by nft, as open: it adds, never touching elements; skipped if
 * the table is as wanted already), then the flush and fill; else one
 * `nft -f -`.
 */
static int
fw_nft_replace(struct fw *fw, const struct fw_op *ops, size_t n,
    char **cause)
{
	static const char *const args[] = { "-f", "-", NULL };
	struct fw_nft	*nft = fw->priv;
	char		*text, *all = NULL;
	size_t		 len = 0, alen = 0;
	FILE		*f;
	int		 s, r;

	if (nft->nl != NULL) {
		if (fw_nft_declare(fw, nft, cause) == -1)
			return -1;
		for (s = 0; s < FW_NFT_NSETS; s++)
			fw_nftnl_elems(nft->nl, FW_NFTNL_FLUSH,
			    fw_nft_set_names[s], 0, NULL, 0, 1, 0);
		(void)fw_nft_apply_nl(nft, 0, 1, ops, n);
		if ((r = fw_nft_commit_nl(nft, cause)) != 1)
			return r;
	}
	text = fw_nft_open_text(fw, nft, &len);
	if ((f = open_memstream(&all, &alen)) == NULL)
		fatal("open_memstream");
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

/* What is in the sets, through netlink (nft's own listing needs JSON). */
static int
fw_nft_list(struct fw *fw, struct fw_entry **vp, size_t *np, char **cause)
{
	const struct fw_nft *nft = fw->priv;
	struct fw_entry	*v = NULL;
	size_t		 n = 0, cap = 0, first;
	int		 s;

	if (nft->nl == NULL) {
		*cause = xstrdup("nftables: no netlink socket to list the "
		    "sets with");
		return -1;
	}
	for (s = 0; s < FW_NFT_NSETS; s++) {
		first = n;
		if (fw_nftnl_list(nft->nl, fw_nft_set_names[s],
		    fw_nft_set_kind(fw_nft_set_names[s]) == 1, &v, &n, &cap,
		    cause) == -1) {
			free(v);
			return -1;
		}
		for (; first < n; first++) {
			v[first].throttled = s == FW_NFT_THR4 ||
			    s == FW_NFT_THR6;
			if (s >= FW_NFT_PRX4)
				v[first].scope = FW_SCOPE_PROXY;
		}
	}
	*vp = v;
	*np = n;
	return 0;
}

static void
fw_nft_close(struct fw *fw)
{
	struct fw_nft	*nft = fw->priv;

	if (nft != NULL) {
		fw_nftnl_close(nft->nl);
		free(nft->caps);
	}
	free(nft);
	fw->priv = NULL;
}
