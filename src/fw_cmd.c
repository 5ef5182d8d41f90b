/*
 * The command backend: any program, run once per operation with an argv
 * made from a template, for firewalls xmppguard does not know (a cloud
 * provider's API client, a router's CLI, a script of the operator's).
 *
 * ban_command and unban_command are split at blanks into words when the
 * backend opens.  The first word is the program, an absolute path that
 * must be executable; at most FW_CMD_ARGMAX words follow.  A word that
 * contains a brace must be exactly one placeholder, replaced by one whole
 * argument at each run:
 *
 *	{ip}		the address ("192.0.2.7"; a prefix's network address)
 *	{prefix}	address and length ("192.0.2.7/32", "2001:db8::/64")
 *	{duration}	seconds the ban lasts, rounded up (0 for an unban)
 *	{reason}	the reason, for people
 *	{rule}		the rule that decided ("churn", "manual", ...)
 *	{ports}		the ports the ban drops: "5222,5269", or "all"
 *			(an unban: those the ban dropped)
 *	{scope}		"services", or "proxy" for a client judged by
 *			lines that came through a configured proxy (its
 *			{ports} hold [allow] proxy_ports too, or are all)
 *
 * Anything else with a brace ("{ip}:22", "{addr}", "}") fails at open,
 * naming the word, so a typo never reaches a firewall.  A value never
 * becomes more or fewer arguments, whatever it holds (blanks, quotes, "$(",
 * ";", newlines): it is one argv element given to execve(2), and no shell
 * runs.  There is no quoting syntax: a literal argument with a blank in it
 * cannot be written, which keeps the splitting rule this simple.
 *
 * Each operation is one process, which is slow (a few ms each: fine for a
 * handful of bans a second, not for a flood; nftables is the backend for
 * that).  A process that exits non-zero or runs longer than 10 s fails its
 * operation; the rest of the batch still runs, and the batch fails with a
 * message naming the first failure and how many there were.  FW_THROTTLE
 * runs ban_command.  Without unban_command an unban does nothing: bans then
 * end only when the program's own use of {duration} ends them.  The
 * backend cannot list what is in force.
 */
#include <sys/stat.h>

#include <errno.h>
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
#include "log.h"
#include "perm.h"
#include "xmalloc.h"

#define FW_CMD_ARGMAX	32		/* words after the program */
#define FW_CMD_OUTMAX	4096		/* output kept for a message */

enum fw_cmd_word {
	FW_CMD_LITERAL,
	FW_CMD_IP,
	FW_CMD_PREFIX,
	FW_CMD_DURATION,
	FW_CMD_REASON,
	FW_CMD_RULE,
	FW_CMD_PORTS,
	FW_CMD_SCOPE
};

static const char *const fw_cmd_names[] = {
	NULL, "{ip}", "{prefix}", "{duration}", "{reason}", "{rule}",
	"{ports}", "{scope}"
};

/* One template, split: word[0] is the program. */
struct fw_cmd_tmpl {
	char		*buf;				/* the words' bytes */
	int		 argc;				/* 0: none */
	char		*word[FW_CMD_ARGMAX + 1];
	enum fw_cmd_word kind[FW_CMD_ARGMAX + 1];
};

struct fw_cmd {
	struct fw_cmd_tmpl ban;
	struct fw_cmd_tmpl unban;
};

/* Not const: the tests shorten it rather than wait 10 s. */
static int	fw_cmd_timeout_ms = 10000;

static void
fw_cmd_tmpl_clear(struct fw_cmd_tmpl *t)
{
	free(t->buf);
	memset(t, 0, sizeof *t);
}

/*
 * Splits and checks template s (what: its name in messages).  An empty
 * template gives argc 0.  0, or -1 and *cause naming the bad word.
 */
static int
fw_cmd_parse(const char *what, const char *s, struct fw_cmd_tmpl *t,
    char **cause)
{
	char	*w, *save = NULL;
	size_t	 k;

	memset(t, 0, sizeof *t);
	t->buf = xstrdup(s);
	for (w = strtok_r(t->buf, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (t->argc == FW_CMD_ARGMAX + 1) {
			*cause = xasprintf("%s: more than %d arguments", what,
			    FW_CMD_ARGMAX);
			goto fail;
		}
		t->kind[t->argc] = FW_CMD_LITERAL;
		if (strchr(w, '{') != NULL || strchr(w, '}') != NULL) {
			for (k = 1; k < sizeof fw_cmd_names /
			    sizeof fw_cmd_names[0]; k++)
				if (strcmp(w, fw_cmd_names[k]) == 0)
					break;
			if (k == sizeof fw_cmd_names / sizeof fw_cmd_names[0]) {
				*cause = xasprintf("%s: bad placeholder \"%s\" "
				    "(a whole argument must be one of {ip}, "
				    "{prefix}, {duration}, {reason}, {rule}, "
				    "{ports}, {scope})", what, w);
				goto fail;
			}
			t->kind[t->argc] = (enum fw_cmd_word)k;
		}
		t->word[t->argc++] = w;
	}
	if (t->argc > 0 && (t->word[0][0] != '/' ||
	    t->kind[0] != FW_CMD_LITERAL)) {
		*cause = xasprintf("%s: the program must be an absolute path, "
		    "not \"%s\"", what, t->word[0]);
		goto fail;
	}
	return 0;
fail:
	fw_cmd_tmpl_clear(t);
	return -1;
}

/* The text of one operation's placeholders. */
struct fw_cmd_values {
	char	ip[ADDR_STRLEN];
	char	prefix[ADDR_PREFIX_STRLEN];
	char	duration[24];
	char	reason[FW_REASON_MAX];
	char	rule[FW_RULE_MAX];
	char	ports[FW_PORTS_STRLEN];
};

/*
 * Fills argv (FW_CMD_ARGMAX + 2 pointers) for op under fw: words point
 * into t and into v, which receives the op's values.
 */
static void
fw_cmd_expand(const struct fw *fw, const struct fw_cmd_tmpl *t,
    const struct fw_op *op, struct fw_cmd_values *v, const char **argv)
{
	const uint16_t	*ports;
	int64_t		 secs = 0;
	int		 i, n;

	addr_ntop(&op->prefix.addr, v->ip, sizeof v->ip);
	addr_prefix_ntop(&op->prefix, v->prefix, sizeof v->prefix);
	if (op->kind != FW_UNBAN) {
		secs = (op->duration + CLOCK_US_PER_SEC - 1) /
		    CLOCK_US_PER_SEC;
		if (secs < 1)
			secs = 1;
	}
	snprintf(v->duration, sizeof v->duration, "%" PRId64, secs);
	/* Bounded copies: the op's arrays need not end in a NUL. */
	snprintf(v->reason, sizeof v->reason, "%.*s",
	    (int)sizeof op->reason - 1, op->reason);
	snprintf(v->rule, sizeof v->rule, "%.*s", (int)sizeof op->rule - 1,
	    op->rule);
	n = fw_scope_ports(fw, op->scope, &ports);
	fw_ports_fmt(ports, n, v->ports, sizeof v->ports);

	for (i = 0; i < t->argc; i++) {
		switch (t->kind[i]) {
		case FW_CMD_LITERAL:
			argv[i] = t->word[i];
			break;
		case FW_CMD_IP:
			argv[i] = v->ip;
			break;
		case FW_CMD_PREFIX:
			argv[i] = v->prefix;
			break;
		case FW_CMD_DURATION:
			argv[i] = v->duration;
			break;
		case FW_CMD_REASON:
			argv[i] = v->reason;
			break;
		case FW_CMD_RULE:
			argv[i] = v->rule;
			break;
		case FW_CMD_PORTS:
			argv[i] = v->ports;
			break;
		case FW_CMD_SCOPE:
			argv[i] = fw_scope_name(op->scope);
			break;
		}
	}
	argv[t->argc] = NULL;
}

static void
fw_cmd_free(struct fw_cmd *c)
{
	if (c == NULL)
		return;
	fw_cmd_tmpl_clear(&c->ban);
	fw_cmd_tmpl_clear(&c->unban);
	free(c);
}

/*
 * The program of template what can be run, and (running as root, as the
 * helper does) changed by root alone: StrictModes.  Judged by its mode,
 * not access(2), so that check-config run by anyone, and a reload after
 * the drop to [global] user, say what root would find.  0, or -1 and
 * *cause.
 */
static int
fw_cmd_check_prog(const char *what, const char *prog, char **cause)
{
	struct stat	 st;
	char		*why;

	if (stat(prog, &st) == -1) {
		/* Not ours to see: root will. */
		if (errno == EACCES && geteuid() != 0)
			return 0;
		*cause = xasprintf("%s: %s: %s", what, prog, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
		*cause = xasprintf("%s: %s: %s", what, prog,
		    strerror(S_ISDIR(st.st_mode) ? EISDIR : EACCES));
		return -1;
	}
	if (perm_check_root(prog, &why) == -1) {
		*cause = xasprintf("%s: %s: %s", what, prog, why);
		free(why);
		return -1;
	}
	return 0;
}

/* Both templates of conf parsed into c, and their programs checked. */
static int
fw_cmd_load(const struct conf *conf, struct fw_cmd *c, char **cause)
{
	if (fw_cmd_parse("ban_command", conf->ban_command != NULL ?
	    conf->ban_command : "", &c->ban, cause) == -1 ||
	    fw_cmd_parse("unban_command", conf->unban_command != NULL ?
	    conf->unban_command : "", &c->unban, cause) == -1)
		return -1;
	if (c->ban.argc == 0) {
		*cause = xstrdup("firewall = command needs a ban_command");
		return -1;
	}
	if (fw_cmd_check_prog("ban_command", c->ban.word[0], cause) == -1 ||
	    (c->unban.argc > 0 && fw_cmd_check_prog("unban_command",
	    c->unban.word[0], cause) == -1))
		return -1;
	return 0;
}

/* What open would refuse: check-config's view (fw_check()). */
static int
fw_cmd_check(const struct conf *conf, char **cause)
{
	struct fw_cmd	c;
	int		rc;

	memset(&c, 0, sizeof c);
	rc = fw_cmd_load(conf, &c, cause);
	fw_cmd_tmpl_clear(&c.ban);
	fw_cmd_tmpl_clear(&c.unban);
	return rc;
}

static int
fw_cmd_open(struct fw *fw, const struct conf *conf, char **cause)
{
	struct fw_cmd	*c = xcalloc(1, sizeof *c);

	if (fw_cmd_load(conf, c, cause) == -1) {
		fw_cmd_free(c);
		return -1;
	}
	if (c->unban.argc == 0)
		log_info("fw: command: no unban_command: a ban ends only when "
		    "%s ends it", c->ban.word[0]);
	fw->priv = c;
	return 0;
}

/* Runs one operation; 0, or -1 and *cause. */
static int
fw_cmd_run(const struct fw *fw, const struct fw_op *op, char **cause)
{
	const struct fw_cmd	*c = fw->priv;
	const struct fw_cmd_tmpl *t;
	struct fw_cmd_values	 v;
	const char		*argv[FW_CMD_ARGMAX + 2];
	char			*out = NULL, *why = NULL, line[256];
	const char		*what;
	size_t			 len;
	int			 status;

	if (op->kind == FW_UNBAN) {
		t = &c->unban;
		what = "unban_command";
		if (t->argc == 0)
			return 0;
	} else {
		t = &c->ban;
		what = "ban_command";
	}
	fw_cmd_expand(fw, t, op, &v, argv);
	status = fw_exec(argv, NULL, 0, &out, FW_CMD_OUTMAX,
	    fw_cmd_timeout_ms, &why);
	if (status == 0) {
		free(out);
		return 0;
	}
	if (status == -1)
		*cause = xasprintf("%s for %s: %s", what, v.prefix, why);
	else {
		len = out != NULL ? strcspn(out, "\n") : 0;
		if (len > 160)
			len = 160;
		log_escape(line, sizeof line, out != NULL ? out : "", len);
		*cause = xasprintf("%s for %s: %s exited with status %d%s%s",
		    what, v.prefix, argv[0], status, len > 0 ? ": " : "", line);
	}
	free(why);
	free(out);
	return -1;
}

static int
fw_cmd_apply(struct fw *fw, const struct fw_op *ops, size_t n, char **cause)
{
	char		    *first = NULL, *why;
	size_t		     i, failed = 0;

	for (i = 0; i < n; i++) {
		why = NULL;
		if (fw_cmd_run(fw, &ops[i], &why) == 0)
			continue;
		if (failed++ == 0)
			first = why;
		else {
			log_warnx("fw: %s", why);
			free(why);
		}
	}
	if (failed == 0)
		return 0;
	if (failed == 1)
		*cause = first;
	else {
		*cause = xasprintf("%s (and %zu more of %zu failed)", first,
		    failed - 1, n);
		free(first);
	}
	return -1;
}

static void
fw_cmd_close(struct fw *fw)
{
	fw_cmd_free(fw->priv);
	fw->priv = NULL;
}

const struct fw_backend fw_cmd_backend = {
	.name = "command",
	.check = fw_cmd_check,
	.open = fw_cmd_open,
	.apply = fw_cmd_apply,
	.close = fw_cmd_close
};
