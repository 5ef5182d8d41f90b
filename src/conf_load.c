/*
 * Loading a configuration: the built-in defaults (every directive's
 * default, the three built-in services, and without a file the logs a
 * packaged server writes), then the file as conf.c reads it, then the
 * checks that need the whole file: what a section needs (required keys, a
 * non-empty list), what sections must not share (a log file, a port), the
 * ports of all services together, and what an [alert] or [metrics] value
 * means beyond its syntax.  The checks run unless the reading stopped on
 * too many errors.
 *
 * Each error names the file and line that caused it: the key's place if a
 * file set it, else the section's header, so that a file changing a
 * built-in service is blamed where it changed it.  Places (CONF_LOC) hold
 * the file as well as the line, as the configuration may come from several
 * (conf_layers.c).
 *
 * Running as root, the file and the programs of a command firewall are
 * refused when anyone but root could change them (perm.c, StrictModes):
 * whoever writes them decides whom root bans, or what it runs.
 */
#include <sys/types.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "conf.h"
#include "conf_int.h"
#include "http.h"
#include "logsrc_journal.h"
#include "metrics.h"
#include "perm.h"
#include "xmalloc.h"

/* The line to blame for a directive of a section, else its header's. */
static int
conf_blame(const struct conf_sect *sect, const struct conf_directive *d)
{
	if (sect == NULL)
		return 0;
	if (sect->keyline[conf_directive_index(d)] != 0)
		return sect->keyline[conf_directive_index(d)];
	return sect->line;
}

static void
conf_check_required(struct conf_parse *cp)
{
	const struct conf_directive	*d;
	const struct conf_sect		*sect;
	char				 label[CONF_ESC];
	size_t				 i;
	int				 s, line;

	for (s = 0; s < cp->nsects; s++) {
		sect = &cp->sects[s];
		conf_sect_label(sect->kind, sect->name, label, sizeof(label));
		for (i = 0; i < conf_ndirectives; i++) {
			d = &conf_directives[i];
			if (d->kind != sect->kind)
				continue;
			line = sect->keyline[i];
			if (line == 0 && ((d->flags & CONF_F_REQUIRED) ||
			    ((d->flags & CONF_F_NEWREQ) && !sect->builtin)))
				conf_error(cp, sect->line, "[%s] needs '%s'",
				    label, d->name);
			else if (line != 0 && (d->flags & CONF_F_REQUIRED) &&
			    d->type == CONF_T_NETWORKS &&
			    *CONF_FIELD(conf_base(cp->conf, sect->kind,
			    sect->idx), d->noff, int) == 0)
				conf_error(cp, line, "%s: at least one network "
				    "is needed", d->name);
		}
	}
}

static void
conf_check_overrides(struct conf_parse *cp)
{
	const struct conf_override	*o;
	int				 i;

	for (i = 0; i < cp->conf->noverrides; i++) {
		o = &cp->conf->overrides[i];
		if (o->max_concurrent == 0 && o->max_new.count == 0)
			conf_error(cp, conf_sect_of(cp, CONF_K_OVERRIDE,
			    i)->line, "[override %s] sets neither "
			    "max_concurrent nor max_new", o->name);
	}
}

/* 1 if the section set directive name. */
static int
conf_has_key(const struct conf_sect *sect, const char *name)
{
	return sect->keyline[conf_directive_index(conf_directive_find(
	    CONF_K_LOG, name))] != 0;
}

/*
 * [log NAME]: a file (path, format) or a journal (journal, journal_match,
 * journal_dir), not both, and no two sections on one file.
 */
static void
conf_check_logs(struct conf_parse *cp)
{
	const struct conf_directive	*d;
	const struct conf_log		*a, *b;
	const struct conf_sect		*sect;
	const char			*why;
	int				 i, j;

	d = conf_directive_find(CONF_K_LOG, "path");
	for (i = 0; i < cp->conf->nlogs; i++) {
		a = &cp->conf->logs[i];
		sect = conf_sect_of(cp, CONF_K_LOG, i);
		if (a->path != NULL && a->journal != NULL)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_LOG, "journal")), "[log %s]: path and "
			    "journal exclude each other", a->name);
		else if (a->path == NULL && a->journal == NULL)
			conf_error(cp, sect != NULL ? sect->line : 0,
			    "[log %s] needs 'path' or 'journal'", a->name);
		if (a->journal != NULL && a->format != CONF_LOG_PLAIN)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_LOG, "format")), "format: for path only (a "
			    "journal entry is one line)");
		if (sect != NULL && a->journal == NULL &&
		    (conf_has_key(sect, "journal_match") ||
		    conf_has_key(sect, "journal_dir")))
			conf_error(cp, sect->line, "[log %s]: journal_match "
			    "and journal_dir are for journal only", a->name);
		if (a->journal_match != NULL && logsrc_journal_match_check(
		    a->journal_match, &why) == -1)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_LOG, "journal_match")), "journal_match: %s",
			    why);
		for (j = 0; j < i && a->path != NULL; j++) {
			b = &cp->conf->logs[j];
			if (b->path != NULL && strcmp(a->path, b->path) == 0) {
				conf_error(cp, conf_blame(sect, d), "[log %s] "
				    "follows the same file as [log %s]",
				    a->name, b->name);
				break;
			}
		}
	}
}

/*
 * [alert NAME]: the event list parsed, the URL one libcurl takes, what a
 * type needs (Matrix: a room and a token) and nothing meant for another
 * type, a template without unknown placeholders.
 */
static void
conf_check_alerts(struct conf_parse *cp)
{
	struct conf_alert		*a;
	const struct conf_sect		*sect;
	const char			*why;
	int				 i, matrix;

	for (i = 0; i < cp->conf->nalerts; i++) {
		a = &cp->conf->alerts[i];
		sect = conf_sect_of(cp, CONF_K_ALERT, i);
		if (i == CONF_ALERTS_MAX)
			conf_error(cp, sect->line, "too many [alert] sections "
			    "(at most %d)", CONF_ALERTS_MAX);
		if (a->events != NULL && conf_parse_alert_events(a->events,
		    &a->event_mask, &why) == -1)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "events")), "events: %s", why);
		/* The URL may hold a token: never quote it. */
		if (a->url != NULL && !http_url_ok(a->url))
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "url")), "url: not an http:// or "
			    "https:// URL with a host");
		matrix = a->type == CONF_ALERT_MATRIX;
		if (matrix && (a->room[0] != '!' || strchr(a->room, ':') ==
		    NULL || strpbrk(a->room, " \t/?#") != NULL))
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "room")), "[alert %s] type matrix "
			    "needs 'room', a room id such as "
			    "!abcdef:example.org", a->name);
		if (matrix && a->token[0] == '\0')
			conf_error(cp, sect->line, "[alert %s] type matrix "
			    "needs 'token', the bot's access token", a->name);
		if (matrix && strpbrk(a->token, " \t") != NULL)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "token")), "token: blanks in it");
		if (!matrix && (a->room[0] != '\0' || a->token[0] != '\0'))
			conf_error(cp, sect->line, "[alert %s]: room and token "
			    "are for type matrix only", a->name);
		if (a->type != CONF_ALERT_JSON && a->tmpl[0] != '\0')
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "template")), "template: for type "
			    "json only");
		if (a->tmpl[0] != '\0' && alert_template_check(a->tmpl,
		    &why) == -1)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "template")), "template: %s", why);
		/* Matrix sends its token as the Authorization header. */
		if (matrix && a->authorization[0] != '\0')
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "authorization")), "authorization: "
			    "not for type matrix (its token is the header)");
		/* Secrets: never quoted, only why they are refused. */
		if (conf_header_ok(a->authorization, &why) == -1)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, "authorization")), "authorization: "
			    "%s", why);
	}
}

/* [ban] webhook and its header: a URL libcurl takes, a header line. */
static void
conf_check_webhook(struct conf_parse *cp)
{
	const struct conf_sect	*sect = conf_sect_of(cp, CONF_K_BAN, -1);
	const char		*why;

	if (cp->conf->ban_webhook[0] != '\0' &&
	    !http_url_ok(cp->conf->ban_webhook))
		conf_error(cp, conf_blame(sect, conf_directive_find(CONF_K_BAN,
		    "webhook")), "webhook: not an http:// or https:// URL "
		    "with a host");
	if (conf_header_ok(cp->conf->ban_webhook_auth, &why) == -1)
		conf_error(cp, conf_blame(sect, conf_directive_find(CONF_K_BAN,
		    "webhook_authorization")), "webhook_authorization: %s",
		    why);
}

/* [metrics] listen: an address and a port the endpoint can bind. */
/*
 * The programs a command firewall runs (the first word of ban_command and
 * unban_command, an absolute path: fw_cmd.c checks the rest) may be
 * changed by root alone.
 */
static void
conf_check_commands(struct conf_parse *cp)
{
	static const char *const names[] = { "ban_command", "unban_command" };
	const char	*cmds[2];
	char		*prog, *why;
	size_t		 i, len;

	if (cp->conf->firewall != CONF_FW_COMMAND)
		return;
	cmds[0] = cp->conf->ban_command;
	cmds[1] = cp->conf->unban_command;
	for (i = 0; i < nitems(cmds); i++) {
		if (cmds[i] == NULL || cmds[i][0] != '/')
			continue;
		len = strcspn(cmds[i], " \t");
		prog = xstrndup(cmds[i], len);
		if (perm_check_root(prog, &why) == -1) {
			conf_error(cp, conf_blame(conf_sect_of(cp, CONF_K_BAN,
			    -1), conf_directive_find(CONF_K_BAN, names[i])),
			    "%s: %s: %s", names[i], prog, why);
			free(why);
		}
		free(prog);
	}
}

static void
conf_check_metrics(struct conf_parse *cp)
{
	char		 addr[INET6_ADDRSTRLEN], esc[CONF_ESC];
	uint16_t	 port;

	if (*cp->conf->metrics_listen == '\0' ||
	    metrics_parse_listen(cp->conf->metrics_listen, addr,
	    sizeof(addr), &port) == 0)
		return;
	conf_error(cp, conf_blame(conf_sect_of(cp, CONF_K_METRICS, -1),
	    conf_directive_find(CONF_K_METRICS, "listen")),
	    "listen: '%s' is not ADDR:PORT with an IP address and a port "
	    "from 1 to 65535", conf_esc(esc, sizeof(esc),
	    cp->conf->metrics_listen));
}

/* No port in two services: a connection would count twice, or where? */
static void
conf_check_ports(struct conf_parse *cp)
{
	const struct conf_directive	*d;
	const struct conf_service	*a, *b;
	const struct conf_sect		*sa, *sb;
	const char			*builtin;
	char				 hint[128];
	uint16_t			*owner;
	int				 i, j, line;

	d = conf_directive_find(CONF_K_SERVICE, "ports");
	owner = xcalloc(65536, sizeof(*owner));
	for (i = 0; i < cp->conf->nservices; i++) {
		a = &cp->conf->services[i];
		for (j = 0; j < a->nports; j++) {
			if (owner[a->ports[j]] == 0) {
				owner[a->ports[j]] = (uint16_t)(i + 1);
				continue;
			}
			b = &cp->conf->services[owner[a->ports[j]] - 1];
			sa = conf_sect_of(cp, CONF_K_SERVICE, i);
			sb = conf_sect_of(cp, CONF_K_SERVICE,
			    owner[a->ports[j]] - 1);
			/* Blame the one the file changed; of two files, the
			 * later one, which made the clash. */
			if ((line = conf_blame(sa, d)) == 0 ||
			    CONF_LOC_FILE(conf_blame(sb, d)) >
			    CONF_LOC_FILE(line))
				line = conf_blame(sb, d);
			builtin = sa == NULL ? a->name : sb == NULL ? b->name :
			    NULL;
			if (builtin != NULL)
				snprintf(hint, sizeof(hint), " (the built-in "
				    "%s keeps its ports unless its section "
				    "sets 'ports = none')", builtin);
			else
				hint[0] = '\0';
			conf_error(cp, line, "port %u is in both [service %s] "
			    "and [service %s]%s", (unsigned int)a->ports[j],
			    b->name, a->name, hint);
		}
	}
	free(owner);
}

/* A port of a service, where the file lists it. */
struct conf_port_use {
	int		 line;		/* 0: a built-in default */
	int		 seq;		/* order in the services */
	int		 svc;
	uint16_t	 port;
};

static int
conf_port_use_cmp(const void *a, const void *b)
{
	const struct conf_port_use	*x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * At most CONF_PORTS_TOTAL_MAX ports in all the services together, what
 * the firewall's set of the services' ports holds.  The ports count in the
 * order the file lists them, the built-ins' defaults first, so the one too
 * many is blamed on the line that listed it.  A port in two services
 * counts once (conf_check_ports() reports it).
 */
static void
conf_check_ports_total(struct conf_parse *cp)
{
	const struct conf_directive	*d;
	const struct conf_service	*a;
	const struct conf_sect		*sa;
	struct conf_port_use		*use, *u;
	uint8_t				 seen[65536 / 8];
	int				 i, j, n = 0, line;

	d = conf_directive_find(CONF_K_SERVICE, "ports");
	memset(seen, 0, sizeof(seen));
	use = xreallocarray(NULL, (size_t)cp->conf->nservices + 1,
	    CONF_PORTS_MAX * sizeof(*use));
	for (i = 0; i < cp->conf->nservices; i++) {
		a = &cp->conf->services[i];
		sa = conf_sect_of(cp, CONF_K_SERVICE, i);
		for (j = 0; j < a->nports; j++) {
			if (seen[a->ports[j] / 8] & (1 << (a->ports[j] % 8)))
				continue;
			seen[a->ports[j] / 8] |= 1 << (a->ports[j] % 8);
			u = &use[n];
			u->line = sa != NULL ? sa->portline[j] : 0;
			u->seq = n++;
			u->svc = i;
			u->port = a->ports[j];
		}
	}
	if (n > CONF_PORTS_TOTAL_MAX) {
		qsort(use, (size_t)n, sizeof(*use), conf_port_use_cmp);
		u = &use[CONF_PORTS_TOTAL_MAX];
		if ((line = u->line) == 0)
			line = conf_blame(conf_sect_of(cp, CONF_K_SERVICE,
			    u->svc), d);
		conf_error(cp, line, "port %u of [service %s] is one too "
		    "many: all services together have at most %d ports",
		    (unsigned int)u->port, cp->conf->services[u->svc].name,
		    CONF_PORTS_TOTAL_MAX);
	}
	free(use);
}

static void
conf_check(struct conf_parse *cp)
{
	conf_check_required(cp);
	conf_check_overrides(cp);
	conf_check_logs(cp);
	conf_check_ports(cp);
	conf_check_ports_total(cp);
	conf_check_alerts(cp);
	conf_check_webhook(cp);
	conf_check_metrics(cp);
	conf_check_commands(cp);
}

/*
 * The logs the built-in configuration follows when they exist: where the
 * Debian packages of the servers write them, each read by the filter of
 * the same name.
 */
static const struct {
	const char	*name;
	const char	*path;
} conf_default_logs[] = {
	{ "prosody",	"/var/log/prosody/prosody.log" },
	{ "ejabberd",	"/var/log/ejabberd/ejabberd.log" },
	{ "jabberd2",	"/var/log/jabberd2/c2s.log" },
};

int
conf_load(const char *path, struct conf **confp, char **cause)
{
	struct conf_parse	cp;
	size_t			i;

	memset(&cp, 0, sizeof(cp));
	cp.conf = xcalloc(1, sizeof(*cp.conf));
	cp.cur = -1;
	conf_defaults(&cp, CONF_K_GLOBAL, cp.conf);
	conf_defaults(&cp, CONF_K_STORE, cp.conf);
	conf_defaults(&cp, CONF_K_CONNTRACK, cp.conf);
	conf_defaults(&cp, CONF_K_TRACK, cp.conf);
	conf_defaults(&cp, CONF_K_AUTH, cp.conf);
	conf_defaults(&cp, CONF_K_BAN, cp.conf);
	conf_defaults(&cp, CONF_K_ALLOW, cp.conf);
	conf_defaults(&cp, CONF_K_METRICS, cp.conf);
	cp.in_default++;
	for (i = 0; i < conf_nbuiltins; i++) {
		void	*svc = conf_base(cp.conf, CONF_K_SERVICE,
			    conf_named_add(&cp, CONF_K_SERVICE,
			    conf_builtins[i].name));

		conf_set(&cp, conf_directive_find(CONF_K_SERVICE, "ports"),
		    svc, conf_builtins[i].ports, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE,
		    "max_concurrent"), svc, conf_builtins[i].max_concurrent, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE, "max_new"),
		    svc, conf_builtins[i].max_new, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE, "karma"),
		    svc, conf_builtins[i].karma, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE,
		    "net_max_concurrent"), svc,
		    conf_builtins[i].net_max_concurrent, 0);
		conf_set(&cp, conf_directive_find(CONF_K_SERVICE,
		    "net_max_new"), svc, conf_builtins[i].net_max_new, 0);
	}
	/* No file: follow the logs a packaged server writes, if present. */
	for (i = 0; path == NULL && i < nitems(conf_default_logs); i++) {
		void	*lg;

		if (access(conf_default_logs[i].path, R_OK) == -1)
			continue;
		lg = conf_base(cp.conf, CONF_K_LOG, conf_named_add(&cp,
		    CONF_K_LOG, conf_default_logs[i].name));
		conf_set(&cp, conf_directive_find(CONF_K_LOG, "path"), lg,
		    conf_default_logs[i].path, 0);
		conf_set(&cp, conf_directive_find(CONF_K_LOG, "filter"), lg,
		    conf_default_logs[i].name, 0);
	}
	cp.in_default--;

	if (path != NULL) {
		cp.conf->path = xstrdup(path);
		/* The main file, conf.d, secrets (conf_layers.c). */
		if (conf_read_layers(&cp, path) == 0 && !cp.stop) {
			conf_check(&cp);
			conf_layers_finish(&cp);
		}
	}
	free(cp.sects);
	if (cp.nerrors > 0) {
		conf_free(cp.conf);
		*cause = cp.errors;
		return -1;
	}

	if (*cp.conf->db_path == '\0') {
		free(cp.conf->db_path);
		cp.conf->db_path = xasprintf("%s/%s", cp.conf->state_dir,
		    CONF_DB_NAME);
	}
	*confp = cp.conf;
	return 0;
}

struct conf *
conf_load_command(const char *path)
{
	struct conf	*conf;
	char		*cause;

	if (path == NULL && access(CONF_DEFAULT_PATH, F_OK) == 0)
		path = CONF_DEFAULT_PATH;
	if (conf_load(path, &conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return NULL;
	}
	if (conf_warnings(conf) != NULL)
		fprintf(stderr, "%s\n", conf_warnings(conf));
	return conf;
}
