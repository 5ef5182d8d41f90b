/*
 * Loading a configuration: the built-in defaults (every directive's
 * default, the three built-in services), then the file as conf.c reads
 * it, then the logs [global] logs = auto finds where the servers'
 * packages write them (with a file or without), then the checks that need
 * the whole file: what a section needs (required keys, a non-empty list),
 * what sections must not share (a log file, a port), the ports of all
 * services together, what an [alert] or [metrics] value means beyond its
 * syntax, and what the start would refuse (the firewall backend's own
 * check, the control socket's mode and group, the user, the directories
 * made): check-config and run load through here alike, so check-config
 * refuses what run would.  The checks run unless the reading stopped on
 * too many errors.  Last, the warnings: what loads but goes unseen.
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
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "alert_xmpp.h"
#include "conf.h"
#include "conf_int.h"
#include "ctl.h"
#include "fw.h"
#include "http.h"
#include "log.h"
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

/* Surge mode measures its rate over surge_min_rate's window: 1 s to 1 h
 * (surge.c keeps 60 slots of it). */
static void
conf_check_surge(struct conf_parse *cp)
{
	const struct conf_service	*svc;
	int				 i;

	for (i = 0; i < cp->conf->nservices; i++) {
		svc = &cp->conf->services[i];
		if (svc->surge_min_rate.window < CLOCK_US_PER_SEC ||
		    svc->surge_min_rate.window > 3600 * CLOCK_US_PER_SEC)
			conf_error(cp, conf_blame(conf_sect_of(cp,
			    CONF_K_SERVICE, i), conf_directive_find(
			    CONF_K_SERVICE, "surge_min_rate")), "[service %s] "
			    "surge_min_rate: its window must be 1s to 1h",
			    svc->name);
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

/* 1 if the [alert] section set directive name. */
static int
conf_alert_has(const struct conf_sect *sect, const char *name)
{
	return sect != NULL && sect->keyline[conf_directive_index(
	    conf_directive_find(CONF_K_ALERT, name))] != 0;
}

/* The first directive of type xmpp that another type set, or NULL. */
static const char *
conf_alert_xmpp_set(const struct conf_alert *a)
{
	if (a->jid[0] != '\0')
		return "jid";
	if (a->password[0] != '\0')
		return "password";
	if (a->to[0] != '\0')
		return "to";
	if (a->server[0] != '\0')
		return "server";
	if (a->ca_file[0] != '\0')
		return "ca_file";
	return NULL;
}

/* [alert NAME] type xmpp: an account, a room or JIDs, a server. */
static void
conf_check_alert_xmpp(struct conf_parse *cp, const struct conf_sect *sect,
    const struct conf_alert *a)
{
	static const char *const foreign[] = { "url", "token",
	    "authorization", "username", "icon", "template" };
	char		 host[256];
	unsigned short	 port;
	size_t		 i;

	if (!alert_xmpp_jid_ok(a->jid, 0))
		conf_error(cp, conf_blame(sect, conf_directive_find(
		    CONF_K_ALERT, "jid")), "[alert %s] type xmpp needs 'jid', "
		    "the bot's account such as alerts@example.org", a->name);
	if (a->password[0] == '\0')
		conf_error(cp, sect->line, "[alert %s] type xmpp needs "
		    "'password' (in the secrets file)", a->name);
	if (a->room[0] != '\0' && !alert_xmpp_jid_ok(a->room, 1))
		conf_error(cp, conf_blame(sect, conf_directive_find(
		    CONF_K_ALERT, "room")), "room: not a room's JID such as "
		    "ops@conference.example.org");
	if (a->room[0] != '\0' && (a->nick[0] == '\0' ||
	    strpbrk(a->nick, "\t\n/") != NULL))
		conf_error(cp, conf_blame(sect, conf_directive_find(
		    CONF_K_ALERT, "nick")), "nick: empty or with a tab or "
		    "a /");
	if (a->room[0] == '\0' && strspn(a->to, ", \t") == strlen(a->to))
		conf_error(cp, sect->line, "[alert %s] type xmpp needs "
		    "'room' or 'to'", a->name);
	if (a->server[0] != '\0' && alert_xmpp_server_parse(a->server, host,
	    sizeof(host), &port) == -1)
		conf_error(cp, conf_blame(sect, conf_directive_find(
		    CONF_K_ALERT, "server")), "server: not host or host:port");
	for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		if (conf_alert_has(sect, foreign[i]))
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, foreign[i])), "%s: not for type "
			    "xmpp", foreign[i]);
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
		if (a->type == CONF_ALERT_XMPP) {
			conf_check_alert_xmpp(cp, sect, a);
			continue;
		}
		/* (Set empty, as the sample's are, they do no harm.) */
		if ((why = conf_alert_xmpp_set(a)) != NULL)
			conf_error(cp, conf_blame(sect, conf_directive_find(
			    CONF_K_ALERT, why)), "%s: for type xmpp only",
			    why);
		if (a->url[0] == '\0')
			conf_error(cp, sect->line, "[alert %s] needs 'url'",
			    a->name);
		/* The URL may hold a token: never quote it. */
		else if (!http_url_ok(a->url))
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

/*
 * [ban] webhook and its header: a URL libcurl takes, a header line.  (As
 * the firewall, the backend's own check says it: conf_check_firewall().)
 */
static void
conf_check_webhook(struct conf_parse *cp)
{
	const struct conf_sect	*sect = conf_sect_of(cp, CONF_K_BAN, -1);
	const char		*why;

	if (cp->conf->firewall != CONF_FW_WEBHOOK &&
	    cp->conf->ban_webhook[0] != '\0' &&
	    !http_url_ok(cp->conf->ban_webhook))
		conf_error(cp, conf_blame(sect, conf_directive_find(CONF_K_BAN,
		    "webhook")), "webhook: not an http:// or https:// URL "
		    "with a host");
	if (conf_header_ok(cp->conf->ban_webhook_auth, &why) == -1)
		conf_error(cp, conf_blame(sect, conf_directive_find(CONF_K_BAN,
		    "webhook_authorization")), "webhook_authorization: %s",
		    why);
}

/*
 * dir, of [global] key, can be made as the daemon makes it (mkdir, one
 * level): it is a directory, or its parent is.  The message is the one
 * mkdir's failure gives at start.
 */
static void
conf_check_mkdir(struct conf_parse *cp, const struct conf_sect *g,
    const char *key, const char *dir)
{
	struct stat	 st;
	char		*parent;
	int		 err = 0;

	if (stat(dir, &st) == 0)
		err = S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	else if (errno == ENOENT) {
		parent = xstrndup(dir, (size_t)(strrchr(dir, '/') - dir));
		if (*parent != '\0' && stat(parent, &st) == -1)
			err = errno;
		else if (*parent != '\0' && !S_ISDIR(st.st_mode))
			err = ENOTDIR;
		free(parent);
	}
	if (err != 0 && err != EACCES)
		conf_error(cp, conf_blame(g, conf_directive_find(CONF_K_GLOBAL,
		    key)), "%s: %s", dir, strerror(err));
}

/*
 * What the firewall backend would refuse when it opens (fw_check(): the
 * backend's own check, so the two cannot disagree), dry run or not: a
 * dry run today is a real one once the operator removes the line.  The
 * message starts with the directive to blame when there is one.
 */
static void
conf_check_firewall(struct conf_parse *cp)
{
	const struct conf_directive	*d;
	char				*why, word[32];
	int				 line;

	if (fw_check(cp->conf, &why) == 0)
		return;
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(why, ": "), why);
	if ((d = conf_directive_find(CONF_K_BAN, word)) != NULL)
		line = conf_blame(conf_sect_of(cp, CONF_K_BAN, -1), d);
	else
		line = conf_blame(conf_sect_of(cp, CONF_K_GLOBAL, -1),
		    conf_directive_find(CONF_K_GLOBAL, "firewall"));
	conf_error(cp, line, "%s", why);
	free(why);
}

/*
 * [global]: what the start would refuse before binding anything, checked
 * without root: the control socket's mode and group (ctl_check(), as
 * ctl_open() does), [global] user, and the directories the daemon creates
 * one level deep (state_dir, the control socket's), whose parent must be
 * there.
 */
static void
conf_check_global(struct conf_parse *cp)
{
	const struct conf_sect	*g = conf_sect_of(cp, CONF_K_GLOBAL, -1);
	struct conf		*conf = cp->conf;
	struct passwd		*pw;
	char			*why, *dir;
	mode_t			 m;
	gid_t			 gid;

	if (ctl_check(conf->control_group, conf->control_mode, &m, &gid,
	    &why) == -1) {
		conf_error(cp, conf_blame(g, conf_directive_find(CONF_K_GLOBAL,
		    strncmp(why, "control_group", 13) == 0 ? "control_group" :
		    "control_mode")), "%s", why);
		free(why);
	}
	if (*conf->user != '\0' && ((pw = getpwnam(conf->user)) == NULL ||
	    pw->pw_uid == 0))
		conf_error(cp, conf_blame(g, conf_directive_find(CONF_K_GLOBAL,
		    "user")), "user %s: %s", conf->user, pw == NULL ?
		    "no such user" : "is root");
	conf_check_mkdir(cp, g, "state_dir", conf->state_dir);
	dir = xstrndup(conf->control_socket, (size_t)(strrchr(
	    conf->control_socket, '/') - conf->control_socket));
	if (*dir != '\0')
		conf_check_mkdir(cp, g, "control_socket", dir);
	free(dir);
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

/*
 * [cluster]: a secret named by a file is read now (its first line), so a
 * missing or unreadable file fails the load, naming the file; the file's
 * contents are a secret like the directive they stand for.
 */
static void
conf_cluster_secret(struct conf_parse *cp, const struct conf_sect *sect,
    const char *name, const char *file_name, char **value, const char *file)
{
	struct stat	 sb;
	char		 buf[1100], esc[CONF_ESC];
	FILE		*fp;
	size_t		 n;
	int		 line, fd;

	if (*file == '\0')
		return;
	line = conf_blame(sect, conf_directive_find(CONF_K_CLUSTER,
	    file_name));
	if (**value != '\0') {
		conf_error(cp, line, "%s and %s: one or the other", name,
		    file_name);
		return;
	}
	/* A regular file only: a FIFO or a device would hold the load. */
	if ((fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (fp = fdopen(fd, "r")) == NULL) {
		conf_error(cp, line, "%s: %s: %s", file_name,
		    conf_esc(esc, sizeof(esc), file), fd != -1 &&
		    !S_ISREG(sb.st_mode) ? "not a regular file" :
		    strerror(errno));
		if (fd != -1)
			(void)close(fd);
		return;
	}
	if (fgets(buf, sizeof(buf), fp) == NULL)
		buf[0] = '\0';
	(void)fclose(fp);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0 || n > 1024 || strpbrk(buf, " \t") != NULL) {
		conf_error(cp, line, "%s: %s: no %s on its first line (1 to "
		    "1024 characters, no blank)", file_name,
		    conf_esc(esc, sizeof(esc), file), name);
		explicit_bzero(buf, sizeof(buf));
		return;
	}
	free(*value);
	*value = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
}

static void
conf_check_cluster(struct conf_parse *cp)
{
	struct conf		*c = cp->conf;
	const struct conf_sect	*sect = conf_sect_of(cp, CONF_K_CLUSTER, -1);

	conf_cluster_secret(cp, sect, "password", "password_file",
	    &c->cluster_password, c->cluster_password_file);
	conf_cluster_secret(cp, sect, "bouncer_key", "bouncer_key_file",
	    &c->cluster_bouncer_key, c->cluster_bouncer_key_file);
	if (*c->cluster_lapi_url == '\0')
		return;
	if (!http_url_ok(c->cluster_lapi_url))
		conf_error(cp, conf_blame(sect, conf_directive_find(
		    CONF_K_CLUSTER, "lapi_url")), "lapi_url: not an http:// "
		    "or https:// URL with a host");
	if (c->cluster_push && (*c->cluster_machine_id == '\0' ||
	    *c->cluster_password == '\0'))
		conf_error(cp, conf_blame(sect, conf_directive_find(
		    CONF_K_CLUSTER, "push")), "push: needs machine_id and "
		    "password (or password_file)");
	if (c->cluster_pull && *c->cluster_bouncer_key == '\0')
		conf_error(cp, conf_blame(sect, conf_directive_find(
		    CONF_K_CLUSTER, "pull")), "pull: needs bouncer_key (or "
		    "bouncer_key_file)");
	if ((*c->cluster_cert_file == '\0') != (*c->cluster_key_file == '\0'))
		conf_error(cp, conf_blame(sect, conf_directive_find(
		    CONF_K_CLUSTER, "cert_file")), "cert_file and key_file: "
		    "both or neither");
}

static void
conf_check(struct conf_parse *cp)
{
	conf_check_required(cp);
	conf_check_overrides(cp);
	conf_check_surge(cp);
	conf_check_logs(cp);
	conf_check_ports(cp);
	conf_check_ports_total(cp);
	conf_check_alerts(cp);
	conf_check_webhook(cp);
	conf_check_metrics(cp);
	conf_check_cluster(cp);
	conf_check_firewall(cp);
	conf_check_global(cp);
}

/*
 * The logs [global] logs = auto follows when they exist: where each
 * server's Debian or upstream package writes it, read by the filter of
 * the same name.  Only paths a package documents are here:
 *  - prosody, ejabberd, jabberd2, metronome: their Debian packages'
 *    default configurations (/var/log/NAME/, the main log file);
 *  - openfire: igniterealtime's .deb links /usr/share/openfire/logs to
 *    /var/log/openfire (build/debian/openfire.links); openfire.log is the
 *    one file of 4.7 and later (older releases split it by level);
 *  - mongooseim: the packages of esl/MongooseIM (tools/pkg) keep the log
 *    in /var/log/mongooseim, the file mongooseim.log.
 * Tigase has no package with a fixed place (its logs/ is under wherever
 * it was unpacked): contrib/examples/tigase.conf names it.
 */
static const struct {
	const char	*name;
	const char	*path;
} conf_default_logs[] = {
	{ "prosody",	"/var/log/prosody/prosody.log" },
	{ "ejabberd",	"/var/log/ejabberd/ejabberd.log" },
	{ "jabberd2",	"/var/log/jabberd2/c2s.log" },
	{ "metronome",	"/var/log/metronome/metronome.log" },
	{ "openfire",	"/var/log/openfire/openfire.log" },
	{ "mongooseim",	"/var/log/mongooseim/mongooseim.log" },
};

/*
 * A warning said at start and by check-config: a line of conf->warnings,
 * "FILE:LINE: warning: message" as conf_warning() writes its own (line 0:
 * "warning: message", about no one place).
 */
static void __attribute__((format(printf, 3, 4)))
conf_warn(struct conf_parse *cp, int line, const char *fmt, ...)
{
	struct conf	*conf = cp->conf;
	const char	*path;
	char		 msg[512], *old = conf->warnings;
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (CONF_LOC_LINE(line) > 0 &&
	    (path = conf_loc_path(conf, line)) != NULL)
		conf->warnings = xasprintf("%s%s%s:%d: warning: %s",
		    old != NULL ? old : "", old != NULL ? "\n" : "", path,
		    CONF_LOC_LINE(line), msg);
	else
		conf->warnings = xasprintf("%s%swarning: %s", old != NULL ?
		    old : "", old != NULL ? "\n" : "", msg);
	free(old);
}

/* 1 if a and b are one file: the same inode when both exist (a link, a
 * "/./"), else the same string. */
static int
conf_same_file(const char *a, const char *b)
{
	struct stat	sa, sb;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return strcmp(a, b) == 0;
}

/*
 * [global] logs = auto: each known log that exists and that no [log]
 * section follows is followed, as a section of its own marked found,
 * unless a section already has its name (the operator's, pointing
 * elsewhere) or logs = none: then a warning says it goes unread.
 */
static void
conf_auto_logs(struct conf_parse *cp)
{
	struct conf		*conf = cp->conf;
	const struct conf_log	*lg;
	const struct conf_sect	*sect;
	struct stat		 st;
	void			*base;
	size_t			 i;
	int			 j, followed, named;

	for (i = 0; i < nitems(conf_default_logs); i++) {
		if (stat(conf_default_logs[i].path, &st) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		followed = 0;
		named = -1;
		for (j = 0; j < conf->nlogs && !followed; j++) {
			lg = &conf->logs[j];
			if (lg->path != NULL)
				followed = conf_same_file(lg->path,
				    conf_default_logs[i].path);
			if (strcmp(lg->name, conf_default_logs[i].name) == 0)
				named = j;
		}
		if (followed)
			continue;
		if (conf->logs_mode == CONF_LOGS_NONE || named != -1) {
			sect = named != -1 ? conf_sect_of(cp, CONF_K_LOG,
			    named) : conf_sect_of(cp, CONF_K_GLOBAL, -1);
			conf_warn(cp, named != -1 ? conf_blame(sect,
			    conf_directive_find(CONF_K_LOG, "path")) :
			    conf_blame(sect, conf_directive_find(CONF_K_GLOBAL,
			    "logs")), "%s exists but no [log] section follows "
			    "it: failed logins there go unseen (%s%s%s%s)",
			    conf_default_logs[i].path, named != -1 ?
			    "[log " : "logs = auto would", named != -1 ?
			    conf->logs[named].name : "", named != -1 ?
			    "] follows " : "", named != -1 &&
			    conf->logs[named].path != NULL ?
			    conf->logs[named].path : named != -1 ?
			    "the journal" : "");
			continue;
		}
		cp->in_default++;
		j = conf_named_add(cp, CONF_K_LOG, conf_default_logs[i].name);
		base = conf_base(conf, CONF_K_LOG, j);
		conf_set(cp, conf_directive_find(CONF_K_LOG, "path"), base,
		    conf_default_logs[i].path, 0);
		conf_set(cp, conf_directive_find(CONF_K_LOG, "filter"), base,
		    conf_default_logs[i].name, 0);
		conf->logs[j].found = 1;
		cp->in_default--;
	}
}

/*
 * What loads but goes unseen: no log followed at all, a [log] file not
 * there (yet: the tailer waits for it).  With conf_auto_logs()'s, they
 * are said at start and by check-config; the daemon runs all the same.
 */
static void
conf_check_warnings(struct conf_parse *cp)
{
	const struct conf_log	*lg;
	struct stat		 st;
	int			 i;

	if (cp->conf->nlogs == 0)
		conf_warn(cp, 0, "no log is followed: password guessing and "
		    "registration floods go unseen; see [log] in "
		    "xmppguard.conf(5)");
	for (i = 0; i < cp->conf->nlogs; i++) {
		lg = &cp->conf->logs[i];
		if (lg->path != NULL && !lg->found &&
		    stat(lg->path, &st) == -1 && errno == ENOENT)
			conf_warn(cp, conf_blame(conf_sect_of(cp, CONF_K_LOG,
			    i), conf_directive_find(CONF_K_LOG, "path")),
			    "[log %s] %s does not exist (yet): it is followed "
			    "once it appears", lg->name, lg->path);
	}
}

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
	conf_defaults(&cp, CONF_K_CLUSTER, cp.conf);
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
	cp.in_default--;

	if (path != NULL) {
		cp.conf->path = xstrdup(path);
		/* The main file, conf.d, secrets (conf_layers.c). */
		if (conf_read_layers(&cp, path) == 0 && !cp.stop) {
			conf_auto_logs(&cp);
			conf_check(&cp);
			conf_layers_finish(&cp);
		}
	} else
		conf_auto_logs(&cp);
	if (cp.nerrors == 0)
		conf_check_warnings(&cp);
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

const char *
conf_command_path(const char *path)
{
	if (path == NULL && access(CONF_DEFAULT_PATH, F_OK) == 0)
		path = CONF_DEFAULT_PATH;
	return path;
}

struct conf *
conf_load_command(const char *path)
{
	struct conf	*conf;
	char		*cause;

	if (conf_load(conf_command_path(path), &conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return NULL;
	}
	if (conf_warnings(conf) != NULL)
		fprintf(stderr, "%s\n", conf_warnings(conf));
	return conf;
}

static void
conf_log_lines(const char *text)
{
	char	*copy, *line, *save = NULL, *w;

	if (text == NULL)
		return;
	copy = xstrdup(text);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		/* The log says the level itself. */
		if ((w = strstr(line, "warning: ")) != NULL)
			memmove(w, w + 9, strlen(w + 9) + 1);
		log_warnx("%s", line);
	}
	free(copy);
}

void
conf_log_warnings(const struct conf *conf, int layers)
{
	if (layers)
		conf_log_lines(conf_warnings(conf));
	conf_log_lines(conf->warnings);
}
