/*
 * Printing the configuration: conf_print() writes the effective values as
 * an INI file, conf_reference() writes the Markdown reference
 * (check-config --reference) and conf_reference_man() xmppguard.conf(5), all
 * by walking the directive table in conf_table.c, so none can drift from
 * what conf_load() reads.
 *
 * What conf_print() writes loads again into an equal configuration: each
 * value is spelt as its parser reads it, keys are aligned to CONF_KEY_WIDTH,
 * long network lists wrap at CONF_WRAP onto indented lines (continuations
 * of the value), and a value too long for an aligned line drops the padding
 * so that the line stays within CONF_LINE_MAX if it can.  The manual page
 * is roff for man(7): text from the table goes through conf_roff(), which
 * escapes backslashes, keeps a line from starting with a control character
 * and turns the reference's `code` spans into bold.  Nothing here
 * allocates; a write error is left in the stream for the caller to see.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "conf_int.h"
#include "log.h"

#define CONF_KEY_WIDTH		14	/* conf_print aligns values after it */
#define CONF_WRAP		76	/* conf_print wraps lists here */

/* A scalar or ports value as the file would spell it. */
static const char *
conf_fmt_value(const struct conf_directive *d, const void *base, char *buf,
    size_t size)
{
	const uint16_t	*ports;
	const char	*s;
	size_t		 len = 0;
	int		 i, n;

	switch (d->type) {
	case CONF_T_BOOL:
		return *CONF_CFIELD(base, d->off, int) ? "yes" : "no";
	case CONF_T_UINT:
		snprintf(buf, size, "%" PRIu32,
		    *CONF_CFIELD(base, d->off, uint32_t));
		return buf;
	case CONF_T_DURATION:
		return conf_fmt_duration(*CONF_CFIELD(base, d->off, int64_t),
		    buf, size);
	case CONF_T_SIZE:
		return conf_fmt_size(*CONF_CFIELD(base, d->off, uint64_t),
		    buf, size);
	case CONF_T_RATE:
		return conf_fmt_rate(CONF_CFIELD(base, d->off,
		    struct conf_rate), buf, size);
	case CONF_T_KARMA:
		return conf_fmt_karma(CONF_CFIELD(base, d->off,
		    struct conf_karma), buf, size);
	case CONF_T_STRING:
	case CONF_T_PATH:
		s = *CONF_CFIELD(base, d->off, char *);
		return s != NULL ? s : "";
	case CONF_T_ENUM:
		return d->values[*CONF_CFIELD(base, d->off, int)];
	case CONF_T_PORTS:
		ports = CONF_CFIELD(base, d->off, uint16_t);
		n = *CONF_CFIELD(base, d->noff, int);
		if (n == 0)
			return d->flags & CONF_F_ALL ? "all" : "none";
		buf[0] = '\0';
		for (i = 0; i < n && len < size; i++)
			len += (size_t)snprintf(buf + len, size - len, "%s%u",
			    i == 0 ? "" : ", ", (unsigned int)ports[i]);
		return buf;
	case CONF_T_NETWORKS:
		break;
	}
	fatalx("%s: %s has no single value", __func__, d->name);
}

static void
conf_print_networks(FILE *fp, const struct conf_directive *d,
    const void *base)
{
	const struct prefix	*p = *CONF_CFIELD(base, d->off, struct prefix *);
	char			 buf[ADDR_PREFIX_STRLEN];
	int			 i, n = *CONF_CFIELD(base, d->noff, int);
	size_t			 col = CONF_KEY_WIDTH + 3, len;

	fprintf(fp, "%-*s = ", CONF_KEY_WIDTH, d->name);
	if (n == 0) {
		fprintf(fp, "none\n");
		return;
	}
	/* Long lists go on indented lines, which continue the value. */
	for (i = 0; i < n; i++) {
		addr_prefix_ntop(&p[i], buf, sizeof(buf));
		len = strlen(buf);
		if (i > 0 && col + 2 + len > CONF_WRAP) {
			fprintf(fp, ",\n%*s", CONF_KEY_WIDTH + 3, "");
			col = CONF_KEY_WIDTH + 3;
		} else if (i > 0) {
			fprintf(fp, ", ");
			col += 2;
		}
		fputs(buf, fp);
		col += len;
	}
	fputc('\n', fp);
}

/* "FILE:LINE" of a place, the path cut from the left to fit. */
static const char *
conf_fmt_place(const struct conf *conf, int line, char *buf, size_t size)
{
	char		 esc[256];
	const char	*path = conf_esc(esc, sizeof(esc),
			    conf_loc_path(conf, line));
	size_t		 len = strlen(path), keep = size - 24;

	if (len > keep)
		snprintf(buf, size, "...%s:%d", path + len - keep + 3,
		    CONF_LOC_LINE(line));
	else
		snprintf(buf, size, "%s:%d", path, CONF_LOC_LINE(line));
	return buf;
}

/*
 * Before a value, when more than one file was read: a comment saying
 * where it was set, and what it replaced.  The places are cut so that the
 * line stays within CONF_LINE_MAX and the output loads again.
 */
static void
conf_print_origin(FILE *fp, const struct conf *conf,
    const struct conf_origin *o)
{
	char	at[80], over[80];

	if (o == NULL || conf->layers == NULL || conf->layers->nfiles < 2)
		return;
	if (o->over != 0)
		fprintf(fp, "# %s, replacing %s\n", conf_fmt_place(conf,
		    o->line, at, sizeof(at)), conf_fmt_place(conf, o->over,
		    over, sizeof(over)));
	else
		fprintf(fp, "# %s\n", conf_fmt_place(conf, o->line, at,
		    sizeof(at)));
}

static void
conf_print_section(FILE *fp, const struct conf *conf, enum conf_kind kind,
    int idx, const char *name, const void *base)
{
	const struct conf_directive	*d;
	const struct conf_origin	*o;
	char				 buf[256], label[CONF_ESC], at[80];
	const char			*v, *sv;
	size_t				 i;

	fprintf(fp, "\n[%s]\n", conf_sect_label(kind, name, label,
	    sizeof(label)));
	for (i = 0; i < conf_ndirectives; i++) {
		d = &conf_directives[i];
		if (d->kind != kind)
			continue;
		o = conf_origin_of(conf, kind, idx, i);
		conf_print_origin(fp, conf, o);
		v = NULL;
		if ((d->flags & CONF_F_SECRET) &&
		    (sv = *CONF_CFIELD(base, d->off, char *)) != NULL &&
		    *sv != '\0') {
			/* Where it is, never what it is. */
			if (o != NULL)
				snprintf(buf, sizeof(buf), "<secret from %s>",
				    conf_fmt_place(conf, o->line, at,
				    sizeof(at)));
			else
				snprintf(buf, sizeof(buf), "<secret>");
			v = buf;
		}
		if (v == NULL && d->type == CONF_T_NETWORKS) {
			conf_print_networks(fp, d, base);
			continue;
		}
		/* An unset optional string (a log's path or journal): an
		 * empty value would not load again. */
		if (v == NULL && (d->type == CONF_T_STRING ||
		    d->type == CONF_T_PATH) &&
		    *CONF_CFIELD(base, d->off, char *) == NULL)
			continue;
		if (v == NULL)
			v = conf_fmt_value(d, base, buf, sizeof(buf));
		/* Squeeze a long path so that the line loads again. */
		if (CONF_KEY_WIDTH + 3 + strlen(v) > CONF_LINE_MAX)
			fprintf(fp, "%s=%s\n", d->name, v);
		else
			fprintf(fp, "%-*s = %s\n", CONF_KEY_WIDTH, d->name, v);
	}
}

void
conf_print(FILE *fp, const struct conf *conf)
{
	char	esc[256];
	int	i;

	fprintf(fp, "# xmppguard configuration in effect, from %s\n",
	    conf->path != NULL ? conf_esc(esc, sizeof(esc), conf->path) :
	    "the built-in defaults");
	for (i = 1; conf->layers != NULL && i < conf->layers->nfiles; i++)
		fprintf(fp, "# then %s\n", conf_esc(esc, sizeof(esc),
		    conf->layers->files[i].path));
	conf_print_section(fp, conf, CONF_K_GLOBAL, -1, "", conf);
	conf_print_section(fp, conf, CONF_K_STORE, -1, "", conf);
	conf_print_section(fp, conf, CONF_K_CONNTRACK, -1, "", conf);
	conf_print_section(fp, conf, CONF_K_TRACK, -1, "", conf);
	for (i = 0; i < conf->nservices; i++)
		conf_print_section(fp, conf, CONF_K_SERVICE, i,
		    conf->services[i].name, &conf->services[i]);
	for (i = 0; i < conf->nlogs; i++) {
		/* Not written in the file: [global] logs = auto found it. */
		if (conf->logs[i].found)
			fprintf(fp, "\n; auto: found where its package "
			    "writes it");
		conf_print_section(fp, conf, CONF_K_LOG, i, conf->logs[i].name,
		    &conf->logs[i]);
	}
	conf_print_section(fp, conf, CONF_K_AUTH, -1, "", conf);
	conf_print_section(fp, conf, CONF_K_BAN, -1, "", conf);
	for (i = 0; i < conf->noverrides; i++)
		conf_print_section(fp, conf, CONF_K_OVERRIDE, i,
		    conf->overrides[i].name, &conf->overrides[i]);
	conf_print_section(fp, conf, CONF_K_ALLOW, -1, "", conf);
	for (i = 0; i < conf->nalerts; i++)
		conf_print_section(fp, conf, CONF_K_ALERT, i,
		    conf->alerts[i].name, &conf->alerts[i]);
	conf_print_section(fp, conf, CONF_K_METRICS, -1, "", conf);
	conf_print_section(fp, conf, CONF_K_CLUSTER, -1, "", conf);
}

/* The range column of the reference. */
static const char *
conf_fmt_range(const struct conf_directive *d, char *buf, size_t size)
{
	char	lo[32], hi[32], w1[32], w2[32];
	size_t	i, len = 0;

	buf[0] = '\0';
	switch (d->type) {
	case CONF_T_BOOL:
		snprintf(buf, size, "yes, no");
		break;
	case CONF_T_UINT:
	case CONF_T_DURATION:
	case CONF_T_SIZE:
		conf_fmt_bound(d, d->min, lo, sizeof(lo));
		conf_fmt_bound(d, d->max, hi, sizeof(hi));
		snprintf(buf, size, "%s to %s", lo, hi);
		break;
	case CONF_T_RATE:
		snprintf(buf, size, "count %" PRId64 " to %" PRId64 ", window "
		    "%s to %s", d->min, d->max,
		    conf_fmt_duration(CONF_RATE_WINDOW_MIN, w1, sizeof(w1)),
		    conf_fmt_duration(CONF_RATE_WINDOW_MAX, w2, sizeof(w2)));
		break;
	case CONF_T_STRING:
	case CONF_T_PATH:
		snprintf(buf, size, "at most %" PRId64 " bytes", d->max);
		break;
	case CONF_T_ENUM:
		for (i = 0; d->values[i] != NULL && len < size; i++)
			len += (size_t)snprintf(buf + len, size - len,
			    "%s`%s`", i == 0 ? "" : ", ", d->values[i]);
		break;
	case CONF_T_PORTS:
		if (d->flags & CONF_F_ALL)	/* not a service's */
			snprintf(buf, size, "%" PRId64 " to %" PRId64 ", at "
			    "most %d", d->min, d->max, CONF_PORTS_MAX);
		else
			snprintf(buf, size, "%" PRId64 " to %" PRId64 ", at "
			    "most %d (%d in all services)", d->min, d->max,
			    CONF_PORTS_MAX, CONF_PORTS_TOTAL_MAX);
		break;
	case CONF_T_NETWORKS:
		snprintf(buf, size, "at most %d", CONF_NETWORKS_MAX);
		break;
	case CONF_T_KARMA:
		snprintf(buf, size, "off, or a burst of at least the rate");
		break;
	}
	return buf;
}

void
conf_reference(FILE *fp)
{
	const struct conf_directive	*d;
	const struct conf_builtin	*b;
	char				 range[256];
	size_t				 k, i;

	fprintf(fp, "Durations take a unit: `500ms`, `30s`, `10m`, `1h`, "
	    "`1d`, `1w` (a plain number is seconds).  Sizes take `k`, `M`, "
	    "`G` or `T` (powers of 1024).  A rate is `COUNT/WINDOW`, such "
	    "as `120/1h` or `5/s`.  Karma is `RATE/s burst SIZE`.  Lists "
	    "are separated by commas or blanks and may go on over indented "
	    "lines.\n");
	for (k = 0; k < conf_nkinds; k++) {
		fprintf(fp, "\n### [%s%s]\n\n%s\n\n", conf_kinds[k].name,
		    conf_kinds[k].named ? " NAME" : "", conf_kinds[k].help);
		fprintf(fp, "| key | type | default | range | description |\n"
		    "| --- | --- | --- | --- | --- |\n");
		for (i = 0; i < conf_ndirectives; i++) {
			d = &conf_directives[i];
			if (d->kind != (enum conf_kind)k)
				continue;
			fprintf(fp, "| `%s` | %s | ", d->name,
			    conf_type_names[d->type]);
			if (d->def == NULL && (d->flags & CONF_F_REQUIRED))
				fprintf(fp, "required");
			else if (d->def == NULL)
				fprintf(fp, "unset");
			else if (*d->def == '\0')
				fprintf(fp, "empty");
			else
				fprintf(fp, "`%s`", d->def);
			if (d->flags & CONF_F_NEWREQ)
				fprintf(fp, " (required in a new service)");
			fprintf(fp, " | %s | %s |\n", conf_fmt_range(d, range,
			    sizeof(range)), d->help);
		}
		if (k != CONF_K_SERVICE)
			continue;
		fprintf(fp, "\nThe built-in services:\n\n"
		    "| service | ports | max_concurrent | max_new | karma | "
		    "net_max_concurrent | net_max_new |\n"
		    "| --- | --- | --- | --- | --- | --- | --- |\n");
		for (i = 0; i < conf_nbuiltins; i++) {
			b = &conf_builtins[i];
			fprintf(fp, "| %s | `%s` | `%s` | `%s` | `%s` | `%s` "
			    "| `%s` |\n", b->name, b->ports, b->max_concurrent,
			    b->max_new, b->karma, b->net_max_concurrent,
			    b->net_max_new);
		}
	}
}

/*
 * Writes s as roff text: a backslash becomes \e, a leading '.' or '\''
 * (which roff would read as a request) is preceded by \&, and `code`
 * becomes \fBcode\fR.  The caller ends the line.
 */
static void
conf_roff(FILE *fp, const char *s)
{
	int	bold = 0;

	if (*s == '.' || *s == '\'')
		fputs("\\&", fp);
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\':
			fputs("\\e", fp);
			break;
		case '`':
			fputs(bold ? "\\fR" : "\\fB", fp);
			bold = !bold;
			break;
		case '\n':
			fputc(' ', fp);
			break;
		default:
			fputc(*s, fp);
			break;
		}
	}
	if (bold)
		fputs("\\fR", fp);
}

/* One directive: its name and default as a tagged paragraph. */
static void
conf_man_directive(FILE *fp, const struct conf_directive *d)
{
	char	range[256];

	fputs(".TP\n\\fB", fp);
	conf_roff(fp, d->name);
	fputs("\\fR", fp);
	if (d->def == NULL && (d->flags & CONF_F_REQUIRED))
		fputs(" (required)", fp);
	else if (d->def == NULL)
		fputs(" (unset)", fp);
	else if (*d->def == '\0')
		fputs(" = (empty)", fp);
	else {
		fputs(" = \\fI", fp);
		conf_roff(fp, d->def);
		fputs("\\fR", fp);
	}
	fputc('\n', fp);
	conf_roff(fp, d->help);
	fputc('\n', fp);
	fprintf(fp, ".br\n%s: ", conf_type_names[d->type]);
	conf_roff(fp, conf_fmt_range(d, range, sizeof(range)));
	if (d->flags & CONF_F_NEWREQ)
		fputs("; required in a new service", fp);
	fputs(".\n", fp);
}

void
conf_reference_man(FILE *fp)
{
	const struct conf_builtin	*b;
	size_t				 k, i;

	fprintf(fp,
	    ".\\\" xmppguard.conf(5), generated by \"xmppguard check-config "
	    "--reference=man\"\n"
	    ".\\\" from the directive table in src/conf_table.c: do not edit.\n"
	    ".TH XMPPGUARD.CONF 5 \"\" \"xmppguard %s\" "
	    "\"File Formats Manual\"\n"
	    ".SH NAME\n"
	    "xmppguard.conf \\- configuration file of xmppguard\n"
	    ".SH SYNOPSIS\n"
	    ".I %s/xmppguard/xmppguard.conf\n"
	    ".SH DESCRIPTION\n"
	    "The configuration of\n.BR xmppguard (8),\n"
	    "read at start and again on SIGHUP or\n"
	    ".BR \"xmppguard reload\" .\n"
	    "Without the file the built-in defaults apply; every key has a "
	    "default except those marked required, so a file need only say "
	    "what differs.\n"
	    ".PP\n"
	    "An INI file: \\fBkey = value\\fR lines under \\fB[section]\\fR "
	    "or \\fB[section NAME]\\fR headers.\n"
	    "A line starting with \\fB#\\fR or \\fB;\\fR is a comment, and "
	    "so is the rest of a line after \\(lq ;\\(rq.\n"
	    "A line starting with white space continues the list on the line "
	    "before it.\n"
	    ".PP\n"
	    "After the file, every file named \\fI*.conf\\fR in the directory "
	    "\\fBconf.d\\fR beside it is read, in the byte order of the "
	    "names, then the secrets file (\\fBsecrets\\fR beside it, or "
	    "[global] \\fBsecrets\\fR), each as if it followed the one "
	    "before: a section may go on or open again in a later file, and a "
	    "key set again in a later file replaces the earlier value (twice "
	    "in one file is an error).\n"
	    "Each file starts outside any section.\n"
	    "Other names in conf.d (README, \\fI.dpkg-old\\fR, editors' "
	    "files, names starting with a dot) are ignored; a missing conf.d "
	    "or secrets file is no error.\n"
	    "Run as root, every file but the secrets one must be changeable "
	    "by root alone, as the main file.\n"
	    ".PP\n"
	    "The keys marked \\fIA secret\\fR below (webhook URLs, tokens, "
	    "Authorization headers) belong in the secrets file: mode 0600 or "
	    "0400, owned by root or by the daemon's user ([global] "
	    "\\fBuser\\fR, who reads it again on reload; such a file may set "
	    "secrets only), or the daemon refuses to start.\n"
	    "A secret set in a file others may read is warned about, with its "
	    "file and line; check-config prints where a secret was set, never "
	    "its value, and when several files were read, where each value "
	    "came from.\n",
	    XG_VERSION, XG_SYSCONFDIR);
	fputs("Durations take a unit: \\fB500ms\\fR, \\fB30s\\fR, "
	    "\\fB10m\\fR, \\fB1h\\fR, \\fB1d\\fR, \\fB1w\\fR (a plain "
	    "number is seconds).\n"
	    "Sizes take \\fBk\\fR, \\fBM\\fR, \\fBG\\fR or \\fBT\\fR "
	    "(powers of 1024).\n"
	    "A rate is \\fICOUNT\\fB/\\fIWINDOW\\fR, such as "
	    "\\fB120/1h\\fR or \\fB5/s\\fR.\n"
	    "Karma is \\fIRATE\\fB/s burst \\fISIZE\\fR, or "
	    "\\fBoff\\fR.\n"
	    "Lists (ports, networks) are separated by commas or blanks.\n"
	    ".PP\n"
	    ".B xmppguard check-config -c\n"
	    ".I file\n"
	    "reports every mistake at once, as FILE:LINE: message, with a "
	    "suggestion for a misspelt key, section or value; without one it "
	    "prints the configuration in effect.\n", fp);

	fputs(".SH SECTIONS AND KEYS\n"
	    "Each key is shown with its default, its type and its range.\n",
	    fp);
	for (k = 0; k < conf_nkinds; k++) {
		fprintf(fp, ".SS \"[%s%s]\"\n", conf_kinds[k].name,
		    conf_kinds[k].named ? " NAME" : "");
		conf_roff(fp, conf_kinds[k].help);
		fputc('\n', fp);
		for (i = 0; i < conf_ndirectives; i++)
			if (conf_directives[i].kind == (enum conf_kind)k)
				conf_man_directive(fp, &conf_directives[i]);
		if (k != CONF_K_SERVICE)
			continue;
		fputs(".PP\nThe built-in services, with the values in which "
		    "they differ from the defaults above:\n", fp);
		for (i = 0; i < conf_nbuiltins; i++) {
			b = &conf_builtins[i];
			fprintf(fp, ".TP\n\\fB[service %s]\\fR\n"
			    "ports %s; max_concurrent %s; max_new %s; "
			    "karma %s; net_max_concurrent %s; "
			    "net_max_new %s.\n",
			    b->name, b->ports, b->max_concurrent, b->max_new,
			    b->karma, b->net_max_concurrent, b->net_max_new);
		}
	}

	fprintf(fp,
	    ".SH FILES\n"
	    ".TP\n.I %s/xmppguard/xmppguard.conf\n"
	    "The configuration.\n"
	    ".TP\n.I %s/xmppguard/conf.d/*.conf\n"
	    "Read after it, in name order: the operator's additions.\n"
	    ".TP\n.I %s/xmppguard/secrets\n"
	    "Read last: tokens, webhook URLs and Authorization headers "
	    "(mode 0600).\n"
	    ".TP\n.I %s/xmppguard/filters/\n"
	    "The operator's own filters, and changed copies of the shipped "
	    "ones: a file here wins over one of the same name in the "
	    "shipped directory.\n"
	    ".TP\n.I %s/filters/\n"
	    "The shipped filters, one \\fINAME\\fB.conf\\fR per server.\n"
	    ".TP\n.I %s/xmppguard.conf.sample\n"
	    "The sample configuration, every directive commented out with its "
	    "default.\n",
	    XG_SYSCONFDIR, XG_SYSCONFDIR, XG_SYSCONFDIR, XG_SYSCONFDIR,
	    XG_DATADIR, XG_DATADIR);
	fputs(".SH EXAMPLES\n"
	    "A Prosody server whose failed logins are judged, an office NAT "
	    "with higher limits, and a monitoring host never banned:\n"
	    ".PP\n.RS 4\n.nf\n"
	    "[global]\n"
	    "user           = xmppguard\n"
	    "\n"
	    "[log prosody]\n"
	    "path           = /var/log/prosody/prosody.log\n"
	    "filter         = prosody\n"
	    "\n"
	    "[override office]\n"
	    "networks       = 198.51.100.7\n"
	    "max_concurrent = 150\n"
	    "max_new        = 600/1h\n"
	    "\n"
	    "[allow]\n"
	    "networks       = 192.0.2.10, 2001:db8::/48\n"
	    ".fi\n.RE\n"
	    ".SH SEE ALSO\n"
	    ".BR xmppguard (8),\n"
	    ".BR nft (8),\n"
	    ".BR conntrack (8)\n", fp);
}
