/*
 * The iptables backend (without ipset), and what it shares with the ipset
 * backend (fw_iptables.h).
 *
 * Each family has a chain XMPPGUARD in its filter table (iptables for
 * IPv4, ip6tables for IPv6), jumped to from the top of INPUT and FORWARD.
 * A ban is one rule per multiport list in that chain:
 *
 *	-A XMPPGUARD -s 192.0.2.7/32 -p tcp -m multiport --dports 5222,5269
 *	    -m comment --comment "xmppguard until=1700000000 rule=churn" -j DROP
 *
 * (without the port match when every port is banned); a ban of the proxy
 * scope (fw.h) matches [allow] proxy_ports and the services' ports, or
 * none, and its comment ends in " scope=proxy" so that a restart can tell
 * it.  kill is fw_kill_live(), as for the other kernel backends.
 * iptables has no timeouts: a rule stays until someone deletes it.  The
 * ban module sends FW_UNBAN when a ban runs out, and the comment keeps the
 * expiry (Unix seconds) so that a restarted daemon can list what is in
 * force and lift what ran out while it was away.  So with this backend a
 * ban does not expire while the daemon is down: it lasts until the daemon
 * comes back.
 * The nftables and ipset backends, whose elements carry kernel timeouts,
 * do not have that weakness and are faster; use this one where neither
 * is available.
 *
 * A batch reads the family's chain once (iptables -S), keeps the last
 * operation for each prefix, deletes every rule of ours for those prefixes
 * (by their saved text, since the comment differs from ban to ban) and
 * appends the new ones, all in one iptables-restore --noflush transaction
 * per family.  Rules in the chain without our comment are not ours: they
 * are never listed or deleted.
 *
 * Invariant: no program is given anything through a shell; rule text that
 * comes from an operation is a prefix we print, a number, and a rule name
 * reduced to [A-Za-z0-9_.-].
 */
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "fw.h"
#include "fw_int.h"
#include "fw_iptables.h"
#include "log.h"
#include "xmalloc.h"

#define FW_IPT_CHAIN	"XMPPGUARD"
#define FW_IPT_MSGMAX	4096		/* output kept for an error message */
#define FW_IPT_ARGMAX	48		/* words in one rule we write */

/* One rule of ours found by iptables-save. */
struct fw_ipt_rule {
	struct prefix	 prefix;
	int64_t		 until;		/* Unix seconds */
	enum fw_scope	 scope;
	char		*line;		/* "-A XMPPGUARD ...", in -S output */
};

static const char *const fw_iptables_progs[2] = { "iptables", "ip6tables" };

int
fw_iptables_portlists(const struct fw *fw, enum fw_scope scope,
    char lists[FW_IPT_GROUPS][FW_IPT_LISTLEN])
{
	const uint16_t	*ports;
	int		 i, j, n = 0, slots = 0, cost, nports;
	size_t		 len;
	char		 item[16];

	if ((nports = fw_scope_ports(fw, scope, &ports)) <= 0)
		return 0;
	for (i = 0; i < nports; i = j + 1) {
		/* A run of consecutive ports is one range, two slots. */
		for (j = i; j + 1 < nports && ports[j + 1] == ports[j] + 1;
		    j++)
			;
		if (j > i) {
			snprintf(item, sizeof item, "%u:%u", ports[i],
			    ports[j]);
			cost = 2;
		} else {
			snprintf(item, sizeof item, "%u", ports[i]);
			cost = 1;
		}
		if (n == 0 || slots + cost > FW_IPT_PORTS_PER) {
			if (n == FW_IPT_GROUPS)
				break;	/* cannot happen: see fw_iptables.h */
			lists[n++][0] = '\0';
			slots = 0;
		}
		len = strlen(lists[n - 1]);
		snprintf(lists[n - 1] + len, FW_IPT_LISTLEN - len, "%s%s",
		    len > 0 ? "," : "", item);
		slots += cost;
	}
	return n;
}

char *
fw_iptables_firstline(const char *out, char *buf, size_t size)
{
	const char	*s = out != NULL ? out : "";
	size_t		 len;

	while (*s == '\n')
		s++;
	len = strcspn(s, "\n");
	if (len > 200)
		len = 200;
	return log_escape(buf, size, s, len);
}

int
fw_iptables_run(const char *const *argv, const char *input, size_t inlen,
    char **out, size_t outmax, char **cause)
{
	return fw_exec(argv, input, inlen, out, outmax, FW_IPT_TIMEOUT_MS,
	    cause);
}

int
fw_iptables_must(const char *const *argv, const char *input, size_t inlen,
    char **out, size_t outmax, char **cause)
{
	char	*o = NULL, line[1024];
	int	 status;

	if (out != NULL)
		*out = NULL;
	status = fw_iptables_run(argv, input, inlen, &o,
	    out != NULL ? outmax : FW_IPT_MSGMAX, cause);
	if (status == -1)
		return -1;
	if (status != 0) {
		*cause = xasprintf("%s%s%s: exit status %d: %s", argv[0],
		    argv[1] != NULL ? " " : "", argv[1] != NULL ? argv[1] : "",
		    status, fw_iptables_firstline(o, line, sizeof line));
		free(o);
		return -1;
	}
	if (out != NULL)
		*out = o != NULL ? o : xstrdup("");	/* no output */
	else
		free(o);
	return 0;
}

/* Splits a spec (single spaces, no quoting) into argv after the first n. */
static int
fw_iptables_split(char *spec, const char **argv, int n, int max)
{
	char	*w, *save = NULL;

	for (w = strtok_r(spec, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (n >= max - 1)
			return -1;
		argv[n++] = w;
	}
	argv[n] = NULL;
	return n;
}

/* 1 if line holds marker followed by a blank or its end. */
static int
fw_iptables_marked(const char *line, const char *marker)
{
	const char	*p = line;
	size_t		 len = strlen(marker);

	while ((p = strstr(p, marker)) != NULL) {
		if (p[len] == '\0' || p[len] == ' ')
			return 1;
		p += len;
	}
	return 0;
}

int
fw_iptables_top(const char *prog, const char *chain,
    const char *const *markers, char *const *specs, int nspecs,
    char **cause)
{
	const char	*argv[FW_IPT_ARGMAX];
	char		 cmd[32], head[64], *copy, *out = NULL, *line, *save;
	char		*text = NULL;
	size_t		 textlen = 0, headlen;
	FILE		*fp = NULL;
	int		 i, k, status, present = 1, pos = 0, ours = 0;
	int		 inorder = 1, rc = -1;

	/* Is each there?  (-C: 0 yes, 1 no, anything else is an error.) */
	for (i = 0; i < nspecs && present; i++) {
		copy = xstrdup(specs[i]);
		argv[0] = prog;
		argv[1] = "-w";
		argv[2] = "-C";
		argv[3] = chain;
		if (fw_iptables_split(copy, argv, 4, FW_IPT_ARGMAX) == -1) {
			free(copy);
			*cause = xasprintf("%s: rule too long", prog);
			return -1;
		}
		status = fw_iptables_run(argv, NULL, 0, NULL, 0, cause);
		free(copy);
		if (status == -1)
			return -1;
		if (status == 1)
			present = 0;
		else if (status != 0) {
			*cause = xasprintf("%s -C %s %s: exit status %d", prog,
			    chain, specs[i], status);
			return -1;
		}
	}

	/*
	 * And are they the first rules of the chain, with no stale ones?
	 * (-S CHAIN prints it as iptables-save would, and unlike
	 * iptables-save it does not print our own chain's thousands of
	 * rules.)
	 */
	argv[0] = prog;
	argv[1] = "-w";
	argv[2] = "-S";
	argv[3] = chain;
	argv[4] = NULL;
	if (fw_iptables_must(argv, NULL, 0, &out, FW_IPT_SAVEMAX, cause) == -1)
		return -1;
	if (strlen(out) >= FW_IPT_SAVEMAX - 1) {
		*cause = xasprintf("%s -S %s: output too long", prog, chain);
		goto out;
	}
	snprintf(head, sizeof head, "-A %s ", chain);
	headlen = strlen(head);
	if ((fp = open_memstream(&text, &textlen)) == NULL)
		fatal("open_memstream");
	fprintf(fp, "*filter\n");
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, head, headlen) != 0)
			continue;
		for (k = 0; markers[k] != NULL; k++)
			if (fw_iptables_marked(line, markers[k]))
				break;
		if (markers[k] != NULL) {
			if (pos != ours)
				inorder = 0;
			ours++;
			fprintf(fp, "-D%s\n", line + 2);
		}
		pos++;
	}
	if (present && inorder && ours == nspecs) {
		rc = 0;
		goto out;
	}
	for (i = nspecs - 1; i >= 0; i--)
		fprintf(fp, "-I %s 1 %s\n", chain, specs[i]);
	fprintf(fp, "COMMIT\n");
	if (fflush(fp) != 0)
		fatal("open_memstream");
	snprintf(cmd, sizeof cmd, "%s-restore", prog);
	argv[0] = cmd;
	argv[1] = "--noflush";
	argv[2] = NULL;
	if (fw_iptables_must(argv, text, textlen, NULL, 0, cause) == -1)
		goto out;
	log_info("fw: %s: our rules now lead %s", prog, chain);
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	free(text);
	free(out);
	return rc;
}

/* The iptables backend. */

static int
fw_iptables_family(const struct prefix *p)
{
	return p->addr.family == AF_INET6;
}

static int
fw_iptables_open(struct fw *fw, const struct conf *conf, char **cause)
{
	static const char *const markers[] = { " -j " FW_IPT_CHAIN, NULL };
	const char	*argv[8];
	char		*jump = xstrdup("-j " FW_IPT_CHAIN);
	int		 f, status;

	(void)fw;
	(void)conf;
	for (f = 0; f < 2; f++) {
		argv[0] = fw_iptables_progs[f];
		argv[1] = "-w";
		argv[2] = "-N";
		argv[3] = FW_IPT_CHAIN;
		argv[4] = NULL;
		status = fw_iptables_run(argv, NULL, 0, NULL, 0, cause);
		if (status == -1)
			goto fail;
		if (status != 0) {
			/* Not made: fine if it is there already. */
			argv[2] = "-n";
			argv[3] = "-L";
			argv[4] = FW_IPT_CHAIN;
			argv[5] = NULL;
			if (fw_iptables_must(argv, NULL, 0, NULL, 0,
			    cause) == -1)
				goto fail;
		}
		if (fw_iptables_top(argv[0], "INPUT", markers, &jump, 1,
		    cause) == -1 ||
		    fw_iptables_top(argv[0], "FORWARD", markers, &jump, 1,
		    cause) == -1)
			goto fail;
	}
	free(jump);
	return 0;
fail:
	free(jump);
	return -1;
}

static int
fw_iptables_rule_cmp(const void *a, const void *b)
{
	const struct fw_ipt_rule *ra = a, *rb = b;
	int			  c;

	if ((c = addr_cmp(&ra->prefix.addr, &rb->prefix.addr)) != 0)
		return c;
	return (int)ra->prefix.len - (int)rb->prefix.len;
}

/*
 * Finds the rules of ours in iptables -S or iptables-save output (text is
 * modified: lines are cut in place and rules point into it), sorted by
 * prefix.
 */
static void
fw_iptables_parse(char *text, struct fw_ipt_rule **rulesp, size_t *np)
{
	struct fw_ipt_rule	*rules = NULL, r;
	size_t			 n = 0, cap = 0, len;
	char			*line, *save = NULL, *s;
	char			 tok[ADDR_PREFIX_STRLEN];
	const char		*head = "-A " FW_IPT_CHAIN " ";

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, head, strlen(head)) != 0)
			continue;
		if ((s = strstr(line, " -s ")) == NULL)
			continue;
		s += 4;
		len = strcspn(s, " ");
		if (len >= sizeof tok)
			continue;
		memcpy(tok, s, len);
		tok[len] = '\0';
		memset(&r, 0, sizeof r);
		if (addr_prefix_parse(tok, &r.prefix, 0) == -1)
			continue;
		if ((s = strstr(line, "xmppguard until=")) == NULL)
			continue;
		s += strlen("xmppguard until=");
		if (!isdigit((unsigned char)*s))
			continue;
		r.until = strtoll(s, NULL, 10);
		r.scope = strstr(s, " scope=proxy") != NULL ? FW_SCOPE_PROXY :
		    FW_SCOPE_SERVICES;
		r.line = line;
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			rules = xreallocarray(rules, cap, sizeof *rules);
		}
		rules[n++] = r;
	}
	if (n > 0)
		qsort(rules, n, sizeof *rules, fw_iptables_rule_cmp);
	*rulesp = rules;
	*np = n;
}

/* Orders operation indexes by prefix, then by position in the batch. */
static int
fw_iptables_op_cmp(const void *a, const void *b, void *arg)
{
	const struct fw_op	*ops = arg;
	size_t			 ia = *(const size_t *)a;
	size_t			 ib = *(const size_t *)b;
	int			 c;

	if ((c = addr_cmp(&ops[ia].prefix.addr, &ops[ib].prefix.addr)) != 0)
		return c;
	if (ops[ia].prefix.len != ops[ib].prefix.len)
		return (int)ops[ia].prefix.len - (int)ops[ib].prefix.len;
	return ia < ib ? -1 : ia > ib;
}

/* The rule name for a comment: [A-Za-z0-9_.-] only, never empty. */
static void
fw_iptables_rulename(const char *rule, char *buf, size_t size)
{
	size_t	i;

	for (i = 0; i + 1 < size && i < FW_RULE_MAX && rule[i] != '\0'; i++)
		buf[i] = isalnum((unsigned char)rule[i]) || rule[i] == '_' ||
		    rule[i] == '.' || rule[i] == '-' ? rule[i] : '_';
	buf[i] = '\0';
	if (i == 0)
		snprintf(buf, size, "-");
}

/*
 * Writes the iptables-restore input for the operations of one family
 * (fam: 0 IPv4, 1 IPv6) against the rules in force; returns the number of
 * rule lines (0: nothing to do).  now is Unix time in us.
 */
static size_t
fw_iptables_batch(const struct fw *fw, int fam, const struct fw_ipt_rule *rules,
    size_t nrules, const struct fw_op *ops, size_t n, int64_t now, FILE *fp)
{
	char		 lists[2][FW_IPT_GROUPS][FW_IPT_LISTLEN];
	char		 pbuf[ADDR_PREFIX_STRLEN], name[FW_RULE_MAX];
	size_t		*idx, m = 0, i, lo, hi, mid, lines = 0;
	const struct fw_op *op;
	struct fw_ipt_rule key;
	int64_t		 until;
	int		 g, ngroups[2], sc;

	ngroups[0] = fw_iptables_portlists(fw, FW_SCOPE_SERVICES, lists[0]);
	ngroups[1] = fw_iptables_portlists(fw, FW_SCOPE_PROXY, lists[1]);
	idx = xreallocarray(NULL, n > 0 ? n : 1, sizeof *idx);
	for (i = 0; i < n; i++)
		if (fw_iptables_family(&ops[i].prefix) == fam)
			idx[m++] = i;
	qsort_r(idx, m, sizeof *idx, fw_iptables_op_cmp,
	    (void *)(uintptr_t)ops);

	fprintf(fp, "*filter\n");
	for (i = 0; i < m; i++) {
		/* Only the last operation on a prefix counts. */
		if (i + 1 < m && ops[idx[i]].prefix.len ==
		    ops[idx[i + 1]].prefix.len &&
		    addr_eq(&ops[idx[i]].prefix.addr,
		    &ops[idx[i + 1]].prefix.addr))
			continue;
		op = &ops[idx[i]];

		/* Delete what is there for it (first match, then onwards). */
		key.prefix = op->prefix;
		lo = 0;
		hi = nrules;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (fw_iptables_rule_cmp(&rules[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nrules &&
		    fw_iptables_rule_cmp(&rules[lo], &key) == 0; lo++) {
			fprintf(fp, "-D%s\n", rules[lo].line + 2);
			lines++;
		}
		if (op->kind == FW_UNBAN)
			continue;

		/* FW_THROTTLE: iptables cannot limit rates here; a ban. */
		until = (now + op->duration + CLOCK_US_PER_SEC - 1) /
		    CLOCK_US_PER_SEC;
		addr_prefix_ntop(&op->prefix, pbuf, sizeof pbuf);
		fw_iptables_rulename(op->rule, name, sizeof name);
		sc = op->scope == FW_SCOPE_PROXY;
		g = 0;
		do {
			fprintf(fp, "-A %s -s %s", FW_IPT_CHAIN, pbuf);
			if (ngroups[sc] > 0)
				fprintf(fp, " -p tcp -m multiport --dports %s",
				    lists[sc][g]);
			fprintf(fp, " -m comment --comment \"xmppguard "
			    "until=%" PRId64 " rule=%s%s\" -j DROP\n", until,
			    name, sc ? " scope=proxy" : "");
			lines++;
		} while (++g < ngroups[sc]);
	}
	fprintf(fp, "COMMIT\n");
	free(idx);
	return lines;
}

/*
 * Reads one family's rules of ours (iptables -S XMPPGUARD, which prints
 * them as iptables-save does): *text holds them (caller frees).
 */
static int
fw_iptables_snapshot(int fam, char **text, struct fw_ipt_rule **rules,
    size_t *n, char **cause)
{
	const char	*argv[] = { fw_iptables_progs[fam], "-w", "-S",
			    FW_IPT_CHAIN, NULL };

	if (fw_iptables_must(argv, NULL, 0, text, FW_IPT_SAVEMAX, cause) == -1)
		return -1;
	if (strlen(*text) >= FW_IPT_SAVEMAX - 1) {
		*cause = xasprintf("%s -S: output too long", argv[0]);
		free(*text);
		*text = NULL;
		return -1;
	}
	fw_iptables_parse(*text, rules, n);
	return 0;
}

static int
fw_iptables_apply(struct fw *fw, const struct fw_op *ops, size_t n,
    char **cause)
{
	struct fw_ipt_rule *rules;
	char		   *save, *text, cmd[32];
	const char	   *argv[] = { cmd, "--noflush", NULL };
	size_t		    nrules, i, len, lines;
	int64_t		    now = clock_realtime();
	FILE		   *fp;
	int		    fam, need, rc;

	for (fam = 0; fam < 2; fam++) {
		need = 0;
		for (i = 0; i < n && !need; i++)
			need = fw_iptables_family(&ops[i].prefix) == fam;
		if (!need)
			continue;
		if (fw_iptables_snapshot(fam, &save, &rules, &nrules,
		    cause) == -1)
			return -1;
		text = NULL;
		if ((fp = open_memstream(&text, &len)) == NULL)
			fatal("open_memstream");
		lines = fw_iptables_batch(fw, fam, rules, nrules, ops, n, now,
		    fp);
		if (fclose(fp) != 0)
			fatal("open_memstream");
		rc = 0;
		if (lines > 0) {
			snprintf(cmd, sizeof cmd, "%s-restore",
			    fw_iptables_progs[fam]);
			rc = fw_iptables_must(argv, text, len, NULL, 0, cause);
		}
		free(text);
		free(rules);
		free(save);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
fw_iptables_list(struct fw *fw, struct fw_entry **entriesp, size_t *np,
    char **cause)
{
	struct fw_entry	   *e = NULL;
	struct fw_ipt_rule *rules;
	char		   *save;
	size_t		    n = 0, nrules, i;
	int64_t		    now = clock_realtime(), left;
	int		    fam;

	(void)fw;
	for (fam = 0; fam < 2; fam++) {
		if (fw_iptables_snapshot(fam, &save, &rules, &nrules,
		    cause) == -1) {
			free(e);
			return -1;
		}
		e = xreallocarray(e, n + nrules + 1, sizeof *e);
		for (i = 0; i < nrules; i++) {
			/* One ban may be several rules (port lists). */
			if (n > 0 &&
			    e[n - 1].prefix.len == rules[i].prefix.len &&
			    addr_eq(&e[n - 1].prefix.addr,
			    &rules[i].prefix.addr))
				n--;
			memset(&e[n], 0, sizeof e[n]);
			e[n].prefix = rules[i].prefix;
			e[n].scope = rules[i].scope;
			left = rules[i].until * CLOCK_US_PER_SEC - now;
			/* Ran out while nobody lifted it: lift it soon. */
			e[n].remaining = left > 0 ? left : 1;
			n++;
		}
		free(rules);
		free(save);
	}
	*entriesp = e;
	*np = n;
	return 0;
}

const struct fw_backend fw_iptables_backend = {
	.name = "iptables",
	.open = fw_iptables_open,
	.apply = fw_iptables_apply,
	.list = fw_iptables_list,
	.kill = fw_kill_live
};
