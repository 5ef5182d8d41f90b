/*
 * Firewall backends: the common part.
 *
 * fw_open() copies what all backends share out of the configuration into
 * a struct fw (so a reload can build a new one beside the running one),
 * picks the backend of [global] firewall and opens it, and the backend's
 * open reads its own settings; fw_apply() and the others dispatch and keep
 * the counters.  The "none" backend lives here: it logs every operation
 * and touches nothing, for dry runs and for hosts where something else
 * enforces.
 *
 * Invariant: struct fw holds every port of every service, or fw_open()
 * fails.  The configuration allows CONF_PORTS_TOTAL_MAX ports in all
 * (check-config says so with the line); a struct conf built some other
 * way with more is refused here, never cut short, since a port dropped
 * from the rules would be a port the bans silently leave open.
 *
 * fw_exec() is the one way a backend runs a program: posix_spawn(3) of
 * an absolute path with an argv array and an environment of PATH alone,
 * the input written to its stdin and its stdout and stderr read back
 * together, with poll(2) so neither side can deadlock on a full pipe, and
 * a deadline after which the child is killed.  No shell is ever involved,
 * so nothing in an address, a reason or a template can become a command.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "fw.h"
#include "fw_int.h"
#include "log.h"
#include "ownaddr.h"
#include "status.h"
#include "xmalloc.h"

#define FW_EXEC_PATH	"/usr/sbin:/usr/bin:/sbin:/bin"

static int
fw_none_apply(struct fw *fw, const struct fw_op *ops, size_t n, char **cause)
{
	char	pfx[ADDR_PREFIX_STRLEN];
	size_t	i;

	(void)fw;
	(void)cause;
	for (i = 0; i < n; i++)
		log_info("fw: none: would %s %s%s%s",
		    ops[i].kind == FW_UNBAN ? "unban" : ops[i].kind ==
		    FW_THROTTLE ? "throttle" : "ban",
		    addr_prefix_ntop(&ops[i].prefix, pfx, sizeof(pfx)),
		    ops[i].kind == FW_UNBAN ? "" : ": ",
		    ops[i].kind == FW_UNBAN ? "" : ops[i].reason);
	return 0;
}

static const struct fw_backend fw_none_backend = {
	.name = "none",
	.apply = fw_none_apply
};

static const struct fw_backend *
fw_backend_of(enum conf_firewall which)
{
	switch (which) {
	case CONF_FW_NFTABLES:
		return &fw_nft_backend;
	case CONF_FW_IPSET:
		return &fw_ipset_backend;
	case CONF_FW_IPTABLES:
		return &fw_iptables_backend;
	case CONF_FW_COMMAND:
		return &fw_cmd_backend;
	case CONF_FW_WEBHOOK:
		return &fw_webhook_backend;
	case CONF_FW_NONE:
		break;
	}
	return &fw_none_backend;
}

/*
 * The services' ports into fw->ports, sorted, each once, and a proxy-scope
 * ban's into fw->pports.  0, or -1 and *cause if there are more than fit
 * (see the top of the file).
 */
static int
fw_ports_init(struct fw *fw, const struct conf *conf, char **cause)
{
	if ((fw->nports = fw_ports_services(conf, fw->ports)) == -1) {
		*cause = xasprintf("more than %d ports in the services",
		    CONF_PORTS_TOTAL_MAX);
		return -1;
	}
	fw->npports = fw_ports_conf(conf, FW_SCOPE_PROXY, fw->pports);
	return 0;
}

/* The prefixes no ban may touch: [allow], proxies (the host's own
 * addresses are the live list fw_set_own() hands over). */
static void
fw_never_init(struct fw *fw, const struct conf *conf)
{
	size_t	cap;

	cap = (size_t)conf->nallow + (size_t)conf->nproxies + 1;
	fw->never = xcalloc(cap, sizeof(*fw->never));
	/* memcpy from NULL is undefined even for 0 bytes. */
	if (conf->nallow > 0)
		memcpy(fw->never, conf->allow, (size_t)conf->nallow *
		    sizeof(*fw->never));
	if (conf->nproxies > 0)
		memcpy(fw->never + conf->nallow, conf->proxies,
		    (size_t)conf->nproxies * sizeof(*fw->never));
	fw->nnever = (size_t)conf->nallow + (size_t)conf->nproxies;
}

void
fw_set_own(struct fw *fw, const struct ownaddr *own)
{
	fw->own = own;
}

void
fw_set_refused_cb(struct fw *fw, fw_refused_cb cb, void *arg)
{
	fw->refused = cb;
	fw->refused_arg = arg;
}

struct fw *
fw_open(const struct conf *conf, struct loop *loop, char **cause)
{
	return fw_open_backend(conf, loop, fw_backend_of(conf->dry_run ?
	    CONF_FW_NONE : conf->firewall), NULL, cause);
}

int
fw_check(const struct conf *conf, char **cause)
{
	const struct fw_backend	*be = fw_backend_of(conf->firewall);

	return be->check != NULL ? be->check(conf, cause) : 0;
}

int
fw_in_kernel(const struct conf *conf)
{
	const struct fw_backend	*be;

	be = fw_backend_of(conf->dry_run ? CONF_FW_NONE : conf->firewall);
	return be == &fw_nft_backend || be == &fw_ipset_backend ||
	    be == &fw_iptables_backend || be == &fw_cmd_backend;
}

struct fw *
fw_open_backend(const struct conf *conf, struct loop *loop,
    const struct fw_backend *be, void *priv, char **cause)
{
	const struct fw_backend *real;
	struct fw	*fw;
	char		*why;

	fw = xcalloc(1, sizeof(*fw));
	fw->be = be;
	fw->priv = priv;
	fw->loop = loop;
	/* Of the configured backend, also when be is the helper's proxy. */
	real = fw_backend_of(conf->dry_run ? CONF_FW_NONE : conf->firewall);
	fw->self_expiring = real == &fw_nft_backend ||
	    real == &fw_ipset_backend;
	if (fw_ports_init(fw, conf, &why) == -1) {
		*cause = xasprintf("firewall %s: %s", fw->be->name, why);
		free(why);
		free(fw);
		return NULL;
	}
	fw->all_ports = conf->ban_all_ports;
	/* A dry run touches nothing, live sessions included. */
	fw->kill = conf->ban_kill && fw->be != &fw_none_backend;
	fw_never_init(fw, conf);
	if (fw->be->open != NULL && fw->be->open(fw, conf, &why) == -1) {
		*cause = xasprintf("firewall %s: %s", fw->be->name, why);
		free(why);
		fw_close(fw);
		return NULL;
	}
	return fw;
}

void
fw_close(struct fw *fw)
{
	if (fw == NULL)
		return;
	if (fw->be->close != NULL)
		fw->be->close(fw);
	free(fw->never);
	free(fw);
}

/*
 * Surge mode's operations exempt a known client from a cap, or switch a
 * service's cap for strangers: never a ban, so none of a ban's checks but
 * the form.  Only nftables has them (the helper forwards to it); the
 * service's name goes into nft's text, so it must be a configuration
 * name (letters, digits, '_', '-').
 */
static const char *
fw_refuse_surge(const struct fw *fw, const struct fw_op *op)
{
	size_t	 n;

	if (strcmp(fw->be->name, "nftables") != 0 &&
	    strcmp(fw->be->name, "helper") != 0)
		return "surge mode needs nftables";
	if (op->kind == FW_SURGE) {
		n = strspn(op->reason, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
		if (n == 0 || n >= CONF_NAME_MAX || op->reason[n] != '\0' ||
		    op->reason[0] == '-')
			return "not a service's name";
		return op->duration < 0 ? "no duration" : NULL;
	}
	if ((op->prefix.addr.family != AF_INET &&
	    op->prefix.addr.family != AF_INET6) ||
	    op->prefix.len != addr_maxlen(&op->prefix.addr))
		return "not an address";
	return op->duration <= 0 ? "no duration" : NULL;
}

/*
 * Never a weapon, checked again where the firewall is changed, whatever
 * the caller decided: the prefix is well formed (host bits zero), not
 * unspecified, loopback, link-local or multicast, and holds none of the
 * allowlisted networks, proxies or the host's own addresses (the live
 * list: one added a moment ago counts); a ban has a
 * duration; the reason is printable ASCII (no backend puts it anywhere a
 * quote could matter: argv elements, JSON strings, nothing in nft's input).
 * An unban is always allowed (lifting can only help).  NULL if op may go,
 * else why not.
 */
static const char *
fw_refuse(const struct fw *fw, const struct fw_op *op)
{
	struct prefix	 p;
	const uint8_t	*a = op->prefix.addr.bytes;
	const char	*c;
	size_t		 i;

	if (op->kind == FW_KNOWN || op->kind == FW_SURGE)
		return fw_refuse_surge(fw, op);
	if ((op->prefix.addr.family != AF_INET &&
	    op->prefix.addr.family != AF_INET6) ||
	    op->prefix.len > addr_maxlen(&op->prefix.addr))
		return "not an address";
	addr_mask(&op->prefix.addr, op->prefix.len, &p);
	if (!addr_eq(&p.addr, &op->prefix.addr))
		return "host bits set";
	if (op->kind == FW_UNBAN)
		return NULL;
	if (op->prefix.len == 0 || addr_is_unspecified(&op->prefix.addr) ||
	    addr_is_loopback(&op->prefix.addr) ||
	    addr_is_linklocal(&op->prefix.addr) ||
	    (op->prefix.addr.family == AF_INET && (a[0] & 0xf0) == 0xe0) ||
	    (op->prefix.addr.family == AF_INET6 && a[0] == 0xff))
		return "a special address";
	for (i = 0; i < fw->nnever; i++)
		if (addr_prefix_contains(&op->prefix, &fw->never[i].addr) ||
		    addr_prefix_contains(&fw->never[i], &op->prefix.addr))
			return "allowlisted, a proxy or this host's";
	if (fw->own != NULL && ownaddr_within(fw->own, &op->prefix, NULL))
		return "one of this host's own addresses";
	if (op->duration <= 0)
		return "no duration";
	for (c = op->reason; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e)
			return "an unsafe reason";
	/* A word a command backend passes on must not read as an option. */
	if (op->reason[0] == '-' || op->rule[0] == '-')
		return "a reason or rule that begins with '-'";
	return NULL;
}

/* An operation the checks refuse: counted, said, told to the caller. */
static void
fw_refused(struct fw *fw, const struct fw_op *op, const char *why)
{
	char	pfx[ADDR_PREFIX_STRLEN];

	fw->stats.rejected++;
	log_warnx("fw: %s refused: %s", addr_prefix_ntop(&op->prefix, pfx,
	    sizeof(pfx)), why);
	/* Surge mode's operations stand for no ban. */
	if (fw->refused != NULL && op->kind != FW_KNOWN &&
	    op->kind != FW_SURGE)
		fw->refused(op, why, fw->refused_arg);
}

/*
 * The operations of ops that fw_refuse() lets through: ops itself when all
 * are (the usual case), else a copy in *copy (caller frees), the others
 * counted and logged.  Returns how many.
 */
static size_t
fw_checked(struct fw *fw, const struct fw_op **ops, size_t n,
    struct fw_op **copy)
{
	const char	*why;
	size_t		 i, k;

	*copy = NULL;
	for (i = 0; i < n; i++)
		if (fw_refuse(fw, &(*ops)[i]) != NULL)
			break;
	if (i == n)
		return n;
	*copy = xcalloc(n, sizeof(**copy));
	for (i = k = 0; i < n; i++) {
		if ((why = fw_refuse(fw, &(*ops)[i])) == NULL) {
			(*copy)[k++] = (*ops)[i];
			continue;
		}
		fw_refused(fw, &(*ops)[i], why);
	}
	*ops = *copy;
	return k;
}

int
fw_apply(struct fw *fw, const struct fw_op *ops, size_t n, char **cause)
{
	struct fw_op	*ok;
	int64_t		 start = clock_monotonic();
	int		 rc;

	if ((n = fw_checked(fw, &ops, n, &ok)) == 0) {
		free(ok);
		return 0;
	}
	rc = fw->be->apply(fw, ops, n, cause);
	free(ok);
	fw->stats.last_us = clock_monotonic() - start;
	if (rc == -1) {
		fw->stats.failures++;
		return -1;
	}
	fw->stats.batches++;
	fw->stats.ops += n;
	return 0;
}

/*
 * An account level is never a weapon (it raises a cap), but it is still
 * checked: a host's address, not a special one, a level that exists, a
 * service name nft may read, a duration.  NULL if it may go.
 */
static const char *
fw_cap_refuse(const struct fw_cap *c)
{
	const char	*p;

	if (c->addr.family != AF_INET && c->addr.family != AF_INET6)
		return "not an address";
	if (addr_is_unspecified(&c->addr) || addr_is_loopback(&c->addr))
		return "a special address";
	if (c->level < 1 || c->level > FW_CAP_LEVELS)
		return "no such level";
	if (c->duration <= 0)
		return "no duration";
	if (memchr(c->service, '\0', sizeof c->service) == NULL ||
	    c->service[0] == '\0')
		return "no service";
	for (p = c->service; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return "a bad service name";
	return NULL;
}

int
fw_caps(struct fw *fw, const struct fw_cap *caps, size_t n, char **cause)
{
	struct fw_cap	*ok;
	const char	*why;
	char		 a[ADDR_STRLEN];
	size_t		 i, k;
	int		 rc;

	if (fw->be->caps == NULL || n == 0)
		return 0;
	ok = xreallocarray(NULL, n, sizeof *ok);
	for (i = k = 0; i < n; i++) {
		if ((why = fw_cap_refuse(&caps[i])) == NULL) {
			ok[k++] = caps[i];
			continue;
		}
		fw->stats.rejected++;
		log_warnx("fw: cap level of %s refused: %s",
		    caps[i].addr.family == AF_INET ||
		    caps[i].addr.family == AF_INET6 ?
		    addr_ntop(&caps[i].addr, a, sizeof a) : "?", why);
	}
	rc = k > 0 ? fw->be->caps(fw, ok, k, cause) : 0;
	free(ok);
	return rc;
}

int
fw_list(struct fw *fw, struct fw_entry **entries, size_t *n, char **cause)
{
	*entries = NULL;
	*n = 0;
	if (fw->be->list == NULL) {
		*cause = NULL;
		return -1;
	}
	return fw->be->list(fw, entries, n, cause);
}

int
fw_replace(struct fw *fw, const struct fw_op *ops, size_t n, char **cause)
{
	struct fw_op	*ok;
	int64_t		 start = clock_monotonic();
	int		 rc;

	if (fw->be->replace == NULL) {
		*cause = NULL;
		return -1;
	}
	n = fw_checked(fw, &ops, n, &ok);
	rc = fw->be->replace(fw, ops, n, cause);
	free(ok);
	fw->stats.last_us = clock_monotonic() - start;
	if (rc == 0) {
		fw->stats.batches++;
		fw->stats.ops += n;
	} else
		fw->stats.failures++;
	return rc;
}

/*
 * Never a weapon for a kill: the op a ban of p with scope would be, as
 * fw_refuse() judges it; NULL if it may go, else why not.
 */
static const char *
fw_kill_refuse(const struct fw *fw, const struct prefix *p,
    enum fw_scope scope)
{
	struct fw_op	 op;

	memset(&op, 0, sizeof(op));
	op.kind = FW_BAN;
	op.prefix = *p;
	op.duration = 1;
	op.scope = scope;
	return fw_refuse(fw, &op);
}

int
fw_kill(struct fw *fw, const struct prefix *p, enum fw_scope scope,
    char **cause)
{
	const char	*why;
	char		 pfx[ADDR_PREFIX_STRLEN];

	if (!fw->kill)
		return 0;
	/* Only the kernel backends have a kill (fw_kill_live): elsewhere (a
	 * command, a webhook) the ban is someone else's, and a cut client
	 * would only reconnect before it is in place. */
	if (fw->be->kill == NULL)
		return 0;
	/* Never a weapon, the kill included: what may not be banned may
	 * not have its sessions cut either (checked here, in the helper
	 * too). */
	if ((why = fw_kill_refuse(fw, p, scope)) != NULL) {
		fw->stats.rejected++;
		*cause = xasprintf("kill of %s refused: %s",
		    addr_prefix_ntop(p, pfx, sizeof(pfx)), why);
		return -1;
	}
	return fw->be->kill(fw, p, scope, cause);
}

int
fw_kill_conns(struct fw *fw, const struct fw_kill_tuple *t, size_t n,
    char **cause)
{
	struct fw_kill_tuple	*ok;
	struct prefix		 p;
	const char		*why;
	char			 a[ADDR_STRLEN];
	uint64_t		 killed = 0;
	size_t			 i, k = 0;
	int			 rc;

	if (!fw->kill || fw->be->kill == NULL || n == 0)
		return 0;
	/* Each tuple's client as a ban of its address would be judged,
	 * and only the ports its ban's scope drops. */
	ok = xreallocarray(NULL, n, sizeof(*ok));
	for (i = 0; i < n; i++) {
		why = NULL;
		if ((t[i].src.family != AF_INET &&
		    t[i].src.family != AF_INET6) ||
		    t[i].dst.family != t[i].src.family ||
		    (t[i].scope != FW_SCOPE_SERVICES &&
		    t[i].scope != FW_SCOPE_PROXY) ||
		    (t[i].what & ~(FW_KILL_CT | FW_KILL_SOCK)) != 0)
			why = "not a connection";
		else if (!fw_kill_port_ok(fw, (enum fw_scope)t[i].scope,
		    t[i].dport))
			why = "a port its ban does not drop";
		else {
			addr_mask(&t[i].src, addr_maxlen(&t[i].src), &p);
			why = fw_kill_refuse(fw, &p,
			    (enum fw_scope)t[i].scope);
		}
		if (why == NULL) {
			ok[k++] = t[i];
			continue;
		}
		fw->stats.rejected++;
		log_warnx("fw: kill of a connection of %s refused: %s",
		    t[i].src.family == AF_INET ||
		    t[i].src.family == AF_INET6 ? addr_ntop(&t[i].src, a,
		    sizeof(a)) : "?", why);
	}
	rc = 0;
	if (k > 0) {
		if (fw->be->kill_tuples != NULL)
			rc = fw->be->kill_tuples(fw, ok, k, &killed, cause);
		else
			rc = fw_kill_tuples(fw, ok, k, &killed, cause);
	}
	fw->stats.killed += killed;
	free(ok);
	return rc;
}

int
fw_kill_prefixes(struct fw *fw, const struct fw_op *ops, size_t n,
    char **cause)
{
	struct fw_op	*ok;
	const char	*why;
	char		 pfx[ADDR_PREFIX_STRLEN];
	uint64_t	 killed = 0;
	size_t		 i, k = 0;
	int		 rc = 0;

	if (!fw->kill || fw->be->kill == NULL || n == 0)
		return 0;
	ok = xreallocarray(NULL, n, sizeof(*ok));
	for (i = 0; i < n; i++) {
		if (ops[i].scope != FW_SCOPE_SERVICES &&
		    ops[i].scope != FW_SCOPE_PROXY)
			why = "a bad scope";
		else
			why = fw_kill_refuse(fw, &ops[i].prefix, ops[i].scope);
		if (why == NULL) {
			ok[k++] = ops[i];
			continue;
		}
		fw->stats.rejected++;
		log_warnx("fw: kill of %s refused: %s", addr_prefix_ntop(
		    &ops[i].prefix, pfx, sizeof(pfx)), why);
	}
	if (k > 0) {
		if (fw->be->kill_scan != NULL)
			rc = fw->be->kill_scan(fw, ok, k, &killed, cause);
		else
			rc = fw_kill_scan(fw, ok, k, &killed, cause);
	}
	fw->stats.killed += killed;
	free(ok);
	return rc;
}

void
fw_set_kill_stats(struct fw *fw, uint64_t tuples, uint64_t queued,
    uint64_t dropped)
{
	fw->stats.kill_tuples = tuples;
	fw->stats.kill_queued = queued;
	fw->stats.kill_dropped = dropped;
}

int
fw_expires_itself(const struct fw *fw)
{
	return fw->self_expiring;
}

const char *
fw_name(const struct fw *fw)
{
	return fw->be->name;
}

void
fw_count_restore(struct fw *fw)
{
	fw->stats.restores++;
}

const struct fw_stats *
fw_stats(const struct fw *fw)
{
	return &fw->stats;
}

/* Status: the backend and its batches. */
struct fw_status {
	const char	*backend;
	struct fw_stats	 st;
};

static void
fw_status_get(const void *obj, size_t i, void *snap)
{
	struct fw_status	*s = snap;

	(void)i;
	s->backend = fw_name(obj);
	s->st = *fw_stats(obj);
}

#define FS(f)	offsetof(struct fw_status, st.f)
static const struct status_field fw_status_fields[] = {
	{ .name = "backend", .type = STATUS_STR,
	  .off = offsetof(struct fw_status, backend), .text = "%" },
	{ .name = "batches", .type = STATUS_U64, .off = FS(batches),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_firewall_batches_total",
	  .help = "Batches the firewall backend applied.",
	  .text = "% batches" },
	{ .name = "operations", .type = STATUS_U64, .off = FS(ops),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_firewall_operations_total",
	  .help = "Ban and unban operations in them." },
	{ .name = "failures", .type = STATUS_U64, .off = FS(failures),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_firewall_failures_total",
	  .help = "Batches the firewall backend failed to apply.",
	  .text = "% failed" },
	{ .name = "restores", .type = STATUS_U64, .off = FS(restores),
	  .kind = STATUS_COUNTER,
	  .metric = "xmppguard_firewall_restores_total",
	  .help = "Times the table was restored whole with every ban in "
	  "force: after someone flushed or deleted it, or a batch failed.",
	  .text = "% restores" },
	{ .name = "rejected", .type = STATUS_U64, .off = FS(rejected) },
	{ .name = "killed", .type = STATUS_U64, .off = FS(killed) },
	{ .name = "kill_tuples", .type = STATUS_U64, .off = FS(kill_tuples),
	  .kind = STATUS_COUNTER, .metric = "xmppguard_kill_tuples_total",
	  .help = "Connections of banned prefixes handed to the kernel to "
	  "end, by their tuples." },
	{ .name = "kill_queued", .type = STATUS_U64, .off = FS(kill_queued),
	  .kind = STATUS_GAUGE, .metric = "xmppguard_kill_queued",
	  .help = "Connections (and prefixes to scan for) waiting to be "
	  "ended in a later loop iteration." },
	{ .name = "kill_dropped", .type = STATUS_U64,
	  .off = FS(kill_dropped) },
	{ .name = "last_batch_ms", .type = STATUS_US, .off = FS(last_us),
	  .kind = STATUS_GAUGE,
	  .metric = "xmppguard_firewall_last_batch_seconds",
	  .help = "How long the last batch took." },
	{ .name = NULL }
};
#undef FS

const struct status_group fw_status_group = {
	.name = "firewall",
	.text = "firewall",
	.fields = fw_status_fields,
	.size = sizeof(struct fw_status),
	.get = fw_status_get,
};

/*
 * fw_exec().
 */

/* Finds a program on FW_EXEC_PATH unless it is a path already. */
static char *
fw_exec_find(const char *prog)
{
	char	*dirs, *d, *save, *path;

	if (strchr(prog, '/') != NULL)
		return xstrdup(prog);
	dirs = xstrdup(FW_EXEC_PATH);
	for (d = strtok_r(dirs, ":", &save); d != NULL;
	    d = strtok_r(NULL, ":", &save)) {
		path = xasprintf("%s/%s", d, prog);
		if (access(path, X_OK) == 0) {
			free(dirs);
			return path;
		}
		free(path);
	}
	free(dirs);
	return NULL;
}

/*
 * Starts path with argv, stdin from in, stdout and stderr to out, every
 * other descriptor closed, signals unblocked and at their defaults, an
 * environment of PATH alone.  posix_spawn(3), not fork(2): glibc starts
 * the child with vfork semantics, so the cost does not grow with the
 * daemon's memory (a fork copies its page tables: 3 ms of a ban's 5 here).
 */
static int
fw_exec_spawn(const char *path, const char *const *argv, int in, int out,
    pid_t *pid)
{
	static char *const envp[] = { (char *)(uintptr_t)"PATH="
	    FW_EXEC_PATH, NULL };
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		at;
	sigset_t			none, all;
	int				rc;

	sigemptyset(&none);
	sigfillset(&all);
	if (posix_spawn_file_actions_init(&fa) != 0)
		return ENOMEM;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return ENOMEM;
	}
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out, STDERR_FILENO)) ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) ||
	    (rc = posix_spawnattr_setsigmask(&at, &none)) ||
	    (rc = posix_spawnattr_setsigdefault(&at, &all)) ||
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF)))
		goto done;
	rc = posix_spawn(pid, path, &fa, &at,
	    (char *const *)(uintptr_t)argv, envp);
done:
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

int
fw_exec(const char *const *argv, const char *input, size_t inlen,
    char **out, size_t outmax, int timeout_ms, char **cause)
{
	struct pollfd	 pfd[2];
	char		*path, *buf = NULL, chunk[4096];
	size_t		 have = 0, sent = 0;
	int		 inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, status;
	int64_t		 deadline, left;
	ssize_t		 n;
	pid_t		 pid;
	int		 nfd, rc = -1, err;

	if (out != NULL)
		*out = NULL;
	if ((path = fw_exec_find(argv[0])) == NULL) {
		*cause = xasprintf("%s: not found", argv[0]);
		return -1;
	}
	if (pipe2(inp, O_CLOEXEC) == -1 || pipe2(outp, O_CLOEXEC) == -1) {
		*cause = xasprintf("pipe: %s", strerror(errno));
		goto done;
	}
	if ((err = fw_exec_spawn(path, argv, inp[0], outp[1], &pid)) != 0) {
		*cause = xasprintf("%s: %s", path, strerror(err));
		goto done;
	}
	close(inp[0]);
	close(outp[1]);
	inp[0] = outp[1] = -1;
	if (input == NULL || inlen == 0) {
		close(inp[1]);
		inp[1] = -1;
	} else
		(void)fcntl(inp[1], F_SETFL, O_NONBLOCK);

	deadline = clock_monotonic() + (int64_t)timeout_ms * 1000;
	for (;;) {
		nfd = 0;
		pfd[nfd].fd = outp[0];
		pfd[nfd++].events = POLLIN;
		if (inp[1] != -1) {
			pfd[nfd].fd = inp[1];
			pfd[nfd++].events = POLLOUT;
		}
		left = (deadline - clock_monotonic()) / 1000;
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			*cause = xasprintf("%s: timed out after %d ms",
			    argv[0], timeout_ms);
			goto done;
		}
		if (poll(pfd, (nfds_t)nfd, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			*cause = xasprintf("poll: %s", strerror(errno));
			goto done;
		}
		if (nfd == 2 && (pfd[1].revents & (POLLOUT | POLLERR |
		    POLLHUP))) {
			n = write(inp[1], input + sent, inlen - sent);
			if (n > 0)
				sent += (size_t)n;
			if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
			    sent == inlen) {
				close(inp[1]);	/* EPIPE: it stopped reading */
				inp[1] = -1;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			n = read(outp[0], chunk, sizeof(chunk));
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				break;
			if (out != NULL && have < outmax) {
				if ((size_t)n > outmax - have)
					n = (ssize_t)(outmax - have);
				buf = xreallocarray(buf, have + (size_t)n + 1,
				    1);
				memcpy(buf + have, chunk, (size_t)n);
				have += (size_t)n;
				buf[have] = '\0';
			}
		}
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			*cause = xasprintf("waitpid: %s", strerror(errno));
			goto done;
		}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		*cause = xasprintf("%s: killed by signal %d", argv[0],
		    WTERMSIG(status));
	if (rc == 127 && have == 0) {
		*cause = xasprintf("%s: cannot execute", path);
		rc = -1;
	}
	if (out != NULL) {
		*out = buf;
		buf = NULL;
	}
done:
	free(buf);
	free(path);
	if (inp[0] != -1)
		close(inp[0]);
	if (inp[1] != -1)
		close(inp[1]);
	if (outp[0] != -1)
		close(outp[0]);
	if (outp[1] != -1)
		close(outp[1]);
	return rc;
}
