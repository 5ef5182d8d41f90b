/*
 * The ipset backend: bans are elements of two ipsets with kernel timeouts,
 * matched by one iptables rule per family.
 *
 * The sets are xmppguard4 (hash:net family inet) and xmppguard6 (hash:net
 * family inet6), both with timeout support, so that an element expires in
 * the kernel on time even when the daemon is dead, and hash:net holds
 * single addresses and prefixes alike.  open creates them if they are
 * missing (a set made by an older version with other parameters is
 * accepted if its type and family are right) and makes
 *
 *	-m set --match-set xmppguard4 src -p tcp -m multiport --dports PORTS
 *	    -j DROP
 *
 * (one per list of at most 15 ports; no port match when every port is
 * banned) the first rules of INPUT and FORWARD in iptables, and the same
 * for xmppguard6 in ip6tables; fw_iptables_top() leaves them alone when
 * they are there already and replaces them in one transaction when the
 * ports changed.  The bans of the proxy scope (fw.h) are in the sets
 * xmppguard-proxy4 and xmppguard-proxy6, made the same way, whose rules
 * drop [allow] proxy_ports and the services' ports (or every port); a ban
 * widened to that scope leaves xmppguard4 for xmppguard-proxy4 in the
 * same restore, and its unban deletes it from both.  Being first, they
 * drop the packets of established sessions too, before any "-m state
 * ESTABLISHED -j ACCEPT"; kill (fw_kill_live) ends those sessions at once.
 *
 * A batch is one `ipset restore -exist` process: "add SET PREFIX timeout
 * SECONDS" (with -exist an element already there gets the new timeout) and
 * "del SET PREFIX" (with -exist a missing element is no error).  ipset
 * restore is not a transaction: a bad line stops it, and the lines before
 * it stay applied; the caller re-validated every prefix, so that means a
 * broken ipset.  A timeout beyond ipset's maximum (2147483 s, 24.8 days)
 * is cut to it: a permanent element would outlive the ban for ever, since
 * the daemon counts on this backend's timeouts (fw_expires_itself) and
 * sends no FW_UNBAN; a longer ban needs the daemon to ban again before the
 * element runs out.  list reads `ipset list -output save` of both sets.
 */
#include <sys/socket.h>

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

#define FW_IPSET_MAXELEM	1048576		/* elements per set */
#define FW_IPSET_TIMEOUT_MAX	2147483LL	/* seconds; ipset's limit */

/* The sets by scope * 2 + family (0 IPv4, 1 IPv6). */
static const char *const fw_ipset_sets[4] = { "xmppguard4", "xmppguard6",
    "xmppguard-proxy4", "xmppguard-proxy6" };
static const char *const fw_ipset_families[2] = { "inet", "inet6" };
static const char *const fw_ipset_progs[2] = { "iptables", "ip6tables" };

static int
fw_ipset_family(const struct prefix *p)
{
	return p->addr.family == AF_INET6;
}

/* The set of a prefix in a scope. */
static const char *
fw_ipset_set(const struct prefix *p, enum fw_scope scope)
{
	return fw_ipset_sets[(scope == FW_SCOPE_PROXY) * 2 +
	    fw_ipset_family(p)];
}

/*
 * A set of that name exists but was not made with our parameters: it will
 * do if it is a hash:net of the right family with timeouts.
 */
static int
fw_ipset_check(int set, char **cause)
{
	const char	*argv[] = { "ipset", "list", "-terse", "-output",
			    "save", fw_ipset_sets[set], NULL };
	int		 fam = set % 2;
	char		*out, want[64];
	int		 ok;

	if (fw_iptables_must(argv, NULL, 0, &out, 4096, cause) == -1)
		return -1;
	snprintf(want, sizeof want, "create %s hash:net family %s ",
	    fw_ipset_sets[set], fw_ipset_families[fam]);
	ok = strncmp(out, want, strlen(want)) == 0 &&
	    strstr(out, " timeout ") != NULL;
	free(out);
	if (!ok) {
		*cause = xasprintf("ipset: set %s exists but is not a hash:net "
		    "of family %s with timeouts", fw_ipset_sets[set],
		    fw_ipset_families[fam]);
		return -1;
	}
	log_info("fw: ipset: using the existing set %s", fw_ipset_sets[set]);
	return 0;
}

/* The rule specs that send a set (scope * 2 + family) to DROP; returns
 * how many. */
static int
fw_ipset_specs(const struct fw *fw, int set, char *specs[FW_IPT_GROUPS])
{
	char	lists[FW_IPT_GROUPS][FW_IPT_LISTLEN];
	int	n, i;

	n = fw_iptables_portlists(fw, set >= 2 ? FW_SCOPE_PROXY :
	    FW_SCOPE_SERVICES, lists);
	if (n == 0) {
		specs[0] = xasprintf("-m set --match-set %s src -j DROP",
		    fw_ipset_sets[set]);
		return 1;
	}
	for (i = 0; i < n; i++)
		specs[i] = xasprintf("-m set --match-set %s src -p tcp "
		    "-m multiport --dports %s -j DROP", fw_ipset_sets[set],
		    lists[i]);
	return n;
}

static int
fw_ipset_open(struct fw *fw, const struct conf *conf, char **cause)
{
	const char	*restore[] = { "ipset", "restore", "-exist", NULL };
	char		*specs[2 * FW_IPT_GROUPS], *input, marker[2][64];
	const char	*markers[3];
	int		 fam, set, n, i, rc = 0;

	(void)conf;
	for (set = 0; set < 4 && rc == 0; set++) {
		input = xasprintf("create %s hash:net family %s timeout 0 "
		    "maxelem %d\n", fw_ipset_sets[set],
		    fw_ipset_families[set % 2], FW_IPSET_MAXELEM);
		if (fw_iptables_must(restore, input, strlen(input), NULL, 0,
		    cause) == -1) {
			free(*cause);
			*cause = NULL;
			rc = fw_ipset_check(set, cause);
		}
		free(input);
	}
	/* Both scopes' rules lead the chain together, one set of ours. */
	for (fam = 0; fam < 2 && rc == 0; fam++) {
		n = fw_ipset_specs(fw, fam, specs);
		n += fw_ipset_specs(fw, 2 + fam, specs + n);
		for (i = 0; i < 2; i++) {
			snprintf(marker[i], sizeof marker[i],
			    " --match-set %s src", fw_ipset_sets[2 * i + fam]);
			markers[i] = marker[i];
		}
		markers[2] = NULL;
		if (fw_iptables_top(fw_ipset_progs[fam], "INPUT", markers,
		    specs, n, cause) == -1 ||
		    fw_iptables_top(fw_ipset_progs[fam], "FORWARD", markers,
		    specs, n, cause) == -1)
			rc = -1;
		for (i = 0; i < n; i++)
			free(specs[i]);
	}
	return rc;
}

/* The seconds of an ipset timeout for a duration in us. */
static long long
fw_ipset_timeout(int64_t duration)
{
	long long	s;

	s = (duration + CLOCK_US_PER_SEC - 1) / CLOCK_US_PER_SEC;
	if (s < 1)
		s = 1;
	if (s > FW_IPSET_TIMEOUT_MAX)
		s = FW_IPSET_TIMEOUT_MAX;
	return s;
}

/* Writes the ipset restore input for a batch. */
static void
fw_ipset_batch(const struct fw_op *ops, size_t n, FILE *fp)
{
	char		 buf[ADDR_PREFIX_STRLEN];
	const char	*set, *svc;
	size_t		 i;

	for (i = 0; i < n; i++) {
		set = fw_ipset_set(&ops[i].prefix, ops[i].scope);
		svc = fw_ipset_set(&ops[i].prefix, FW_SCOPE_SERVICES);
		addr_prefix_ntop(&ops[i].prefix, buf, sizeof buf);
		/* A proxy-scope ban may be one widened: out of the services'
		 * set, and its unban clears both. */
		if (set != svc)
			fprintf(fp, "del %s %s\n", svc, buf);
		/* FW_THROTTLE: ipset cannot limit a rate; it bans. */
		if (ops[i].kind == FW_UNBAN)
			fprintf(fp, "del %s %s\n", set, buf);
		else
			fprintf(fp, "add %s %s timeout %lld\n", set, buf,
			    fw_ipset_timeout(ops[i].duration));
	}
}

static int
fw_ipset_apply(struct fw *fw, const struct fw_op *ops, size_t n,
    char **cause)
{
	const char	*argv[] = { "ipset", "restore", "-exist", NULL };
	char		*text = NULL;
	size_t		 len = 0;
	FILE		*fp;
	int		 rc;

	(void)fw;
	if (n == 0)
		return 0;
	if ((fp = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	fw_ipset_batch(ops, n, fp);
	if (fclose(fp) != 0)
		fatal("open_memstream");
	rc = fw_iptables_must(argv, text, len, NULL, 0, cause);
	free(text);
	return rc;
}

/*
 * Reads "add SET ADDR[/LEN] [timeout N] ..." lines of set (scope * 2 +
 * family) from text (modified) into *e, growing it.
 */
static void
fw_ipset_parse(int set, char *text, struct fw_entry **e, size_t *n,
    size_t *cap)
{
	char	*line, *save = NULL, *w[4], *wsave;
	int	 i, fam = set % 2;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		wsave = NULL;
		for (i = 0; i < 4; i++)
			w[i] = strtok_r(i == 0 ? line : NULL, " ", &wsave);
		if (w[0] == NULL || w[1] == NULL || w[2] == NULL ||
		    strcmp(w[0], "add") != 0 ||
		    strcmp(w[1], fw_ipset_sets[set]) != 0)
			continue;
		if (*n == *cap) {
			*cap = *cap == 0 ? 64 : *cap * 2;
			*e = xreallocarray(*e, *cap, sizeof **e);
		}
		memset(&(*e)[*n], 0, sizeof (*e)[*n]);
		if (addr_prefix_parse(w[2], &(*e)[*n].prefix, 0) == -1 ||
		    fw_ipset_family(&(*e)[*n].prefix) != fam)
			continue;
		(*e)[*n].scope = set >= 2 ? FW_SCOPE_PROXY : FW_SCOPE_SERVICES;
		if (w[3] != NULL && strcmp(w[3], "timeout") == 0 &&
		    (w[3] = strtok_r(NULL, " ", &wsave)) != NULL)
			(*e)[*n].remaining = strtoll(w[3], NULL, 10) *
			    CLOCK_US_PER_SEC;
		if ((*e)[*n].remaining < 0)
			(*e)[*n].remaining = 0;
		(*n)++;
	}
}

static int
fw_ipset_list(struct fw *fw, struct fw_entry **entriesp, size_t *np,
    char **cause)
{
	const char	*argv[] = { "ipset", "list", "-output", "save", NULL,
			    NULL };
	struct fw_entry	*e = NULL;
	size_t		 n = 0, cap = 0;
	char		*out;
	int		 set;

	(void)fw;
	for (set = 0; set < 4; set++) {
		argv[4] = fw_ipset_sets[set];
		if (fw_iptables_must(argv, NULL, 0, &out, FW_IPT_SAVEMAX,
		    cause) == -1)
			goto fail;
		if (strlen(out) >= FW_IPT_SAVEMAX - 1) {
			free(out);
			*cause = xstrdup("ipset list: output too long");
			goto fail;
		}
		fw_ipset_parse(set, out, &e, &n, &cap);
		free(out);
	}
	*entriesp = e;
	*np = n;
	return 0;
fail:
	free(e);
	return -1;
}

const struct fw_backend fw_ipset_backend = {
	.name = "ipset",
	.open = fw_ipset_open,
	.apply = fw_ipset_apply,
	.list = fw_ipset_list,
	.kill = fw_kill_live
};
