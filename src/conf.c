/*
 * Configuration: an INI file interpreted through one table of directives.
 *
 * conf_directives[] lists every key: its section, name, type, bounds,
 * default, where its value lands and a line of help.  That one table builds
 * the defaults, checks the file, prints the effective configuration
 * (check-config) and writes the reference (xmppguard.conf(5)).  Defaults are
 * strings read by the same parsers as the file, so the reference shows
 * exactly what applies.  The three built-in services (c2s, s2s, http)
 * always exist; conf_builtins[] gives the values in which they differ.
 *
 * This file reads a file into a struct conf by the tables of conf_table.c;
 * conf_load.c loads a configuration (the defaults, this file's reading,
 * then the checks that need the whole file), conf_value.c parses and
 * prints the value syntaxes (durations, sizes, rates, karma), conf_print.c
 * writes the configuration and the reference from the tables, and
 * conf_int.h is what they share.
 *
 * The file is read by inifile.c, which counts lines, refuses over-long
 * lines, bytes no text file holds and lines that are neither a header nor
 * "name = value", and hands over sections, keys and the indented lines
 * that continue a list (ports, networks) one by one with their numbers.
 * A header it refused leaves no section current, so its keys are not lent
 * to the section before; so does a header this file refuses.
 *
 * Every error is recorded as "FILE:LINE: message" and parsing goes on, so
 * the operator sees all of them at once; after CONF_ERRORS_MAX the rest of
 * the file (and of the files after it) is skipped.  A configuration may
 * be several files read one after the other (conf_layers.c: the main
 * file, conf.d, secrets): lines are kept as places (CONF_LOC) that name
 * their file too, a section may go on in a later file and a key set in an
 * earlier file is replaced, while within one file a second header or key
 * is still an error.  Hostile files are bounded too: a line holds at most
 * CONF_LINE_MAX characters, a file at most CONF_SECTIONS_MAX sections, a
 * list at most CONF_NETWORKS_MAX networks.
 *
 * Invariants of a loaded struct conf: every value passed its parser and
 * bounds; all strings are on the heap (conf_free() frees them by walking the
 * table); the built-in services come first, then the file's in file order,
 * and a service with nports 0 is disabled; no port is in two services, and
 * all of them have at most CONF_PORTS_TOTAL_MAX ports together; db_path is
 * absolute.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "conf_int.h"
#include "inifile.h"
#include "log.h"
#include "xmalloc.h"

#define CONF_ERRORS_MAX		100	/* then the rest of the file is skipped */
#define CONF_SECTIONS_MAX	256
#define CONF_SUGGEST_MAX	32	/* longest word a suggestion is sought for */

/*
 * Suggestions for misspelt names.
 */

/*
 * Optimal string alignment distance (Levenshtein plus transpositions) if
 * it is at most 2, else 3: only near misses are suggested, and most pairs
 * are told apart by their lengths or by a row already past 2, which keeps
 * a file full of unknown names cheap to report.
 */
static int
conf_distance(const char *a, const char *b)
{
	int	d[CONF_SUGGEST_MAX + 1][CONF_SUGGEST_MAX + 1];
	size_t	la = strlen(a), lb = strlen(b), i, j;
	int	v, rowmin;

	if (la > CONF_SUGGEST_MAX || lb > CONF_SUGGEST_MAX ||
	    la > lb + 2 || lb > la + 2)
		return 3;
	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++) {
		rowmin = d[i][0];
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
			if (v < rowmin)
				rowmin = v;
		}
		/* Later rows stay above 2 once one is: a cell comes
		 * from the row before, or one more than two rows up,
		 * which is at most one below this row. */
		if (rowmin > 2)
			return 3;
	}
	return d[la][lb] > 2 ? 3 : d[la][lb];
}

/*
 * The candidate word most likely meant: within two edits (and fewer edits
 * than it has letters, so "x" suggests nothing), else one the word begins
 * or is begun by.  NULL if none is close.
 */
static const char *
conf_suggest(const char *word, const char *const *cands, size_t n)
{
	const char	*best = NULL;
	size_t		 i, wl = strlen(word), cl;
	int		 dist, score, best_score = INT_MAX;

	for (i = 0; i < n; i++) {
		cl = strlen(cands[i]);
		dist = conf_distance(word, cands[i]);
		if (dist <= 2 && (size_t)dist < wl)
			score = dist;
		else if ((wl >= 3 && strncmp(cands[i], word, wl) == 0) ||
		    (cl >= 3 && strncmp(word, cands[i], cl) == 0))
			score = 3;
		else
			continue;
		if (score < best_score) {
			best = cands[i];
			best_score = score;
		}
	}
	return best;
}

/*
 * Errors.
 */

const char *
conf_esc(char *buf, size_t size, const char *s)
{
	return log_escape(buf, size, s, strlen(s));
}

const char *
conf_loc_path(const struct conf *conf, int line)
{
	int	f = CONF_LOC_FILE(line);

	if (conf->layers != NULL && f < conf->layers->nfiles)
		return conf->layers->files[f].path;
	return conf->path;
}

/* Appends "PLACE: what" as a line of *list (*lenp bytes long). */
static void
conf_note(struct conf_parse *cp, char **list, size_t *lenp, int line,
    const char *what, const char *msg)
{
	const char	*path;
	char		*full;
	size_t		 len;

	/* 0 is the file being read; other places name their own. */
	path = line == 0 ? cp->path : conf_loc_path(cp->conf, line);
	if (CONF_LOC_LINE(line) > 0)
		full = xasprintf("%s:%d: %s%s", path, CONF_LOC_LINE(line),
		    what, msg);
	else
		full = xasprintf("%s: %s%s", path, what, msg);
	len = strlen(full);
	*list = xreallocarray(*list, *lenp + len + 2, 1);
	if (*lenp > 0)
		(*list)[(*lenp)++] = '\n';
	memcpy(*list + *lenp, full, len + 1);
	*lenp += len;
	free(full);
}

void
conf_error(struct conf_parse *cp, int line, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cp->in_default || cp->path == NULL)
		fatalx("conf: bad built-in default: %s", msg);
	if (cp->nerrors > CONF_ERRORS_MAX)
		return;
	if (cp->nerrors++ == CONF_ERRORS_MAX) {
		conf_note(cp, &cp->errors, &cp->errlen, 0, "",
		    "too many errors, stopped reading");
		cp->stop = 1;
	} else
		conf_note(cp, &cp->errors, &cp->errlen, line, "", msg);
}

void
conf_warning(struct conf_parse *cp, int line, const char *fmt, ...)
{
	struct conf_layers	*lay = cp->conf->layers;
	char			 msg[512];
	size_t			 len;
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = lay->warnings != NULL ? strlen(lay->warnings) : 0;
	conf_note(cp, &lay->warnings, &len, line, "warning: ", msg);
}

const char *
conf_warnings(const struct conf *conf)
{
	return conf->layers != NULL ? conf->layers->warnings : NULL;
}

/*
 * The directive table and the sections' structures.
 */

/* "service c2s", "global": a section as written between brackets. */
const char *
conf_sect_label(enum conf_kind kind, const char *name, char *buf,
    size_t size)
{
	snprintf(buf, size, "%s%s%s", conf_kinds[kind].name,
	    *name != '\0' ? " " : "", name);
	return buf;
}

/* Applies every default of a section kind to a fresh structure. */
void
conf_defaults(struct conf_parse *cp, enum conf_kind kind, void *base)
{
	size_t	i;

	cp->in_default++;
	for (i = 0; i < conf_ndirectives; i++) {
		if (conf_directives[i].kind == kind &&
		    conf_directives[i].def != NULL)
			conf_set(cp, &conf_directives[i], base,
			    conf_directives[i].def, 0);
	}
	cp->in_default--;
}

/* Frees what the table's directives of a kind own in a structure. */
static void
conf_sect_clear(enum conf_kind kind, void *base)
{
	const struct conf_directive	*d;
	size_t				 i;

	for (i = 0; i < conf_ndirectives; i++) {
		d = &conf_directives[i];
		if (d->kind != kind)
			continue;
		switch (d->type) {
		case CONF_T_STRING:
		case CONF_T_PATH:
			free(*CONF_FIELD(base, d->off, char *));
			*CONF_FIELD(base, d->off, char *) = NULL;
			break;
		case CONF_T_NETWORKS:
			free(*CONF_FIELD(base, d->off, struct prefix *));
			*CONF_FIELD(base, d->off, struct prefix *) = NULL;
			*CONF_FIELD(base, d->noff, int) = 0;
			break;
		default:
			break;
		}
	}
}

static int
conf_service_find(const struct conf *conf, const char *name)
{
	int	i;

	for (i = 0; i < conf->nservices; i++) {
		if (strcmp(conf->services[i].name, name) == 0)
			return i;
	}
	return -1;
}

/* Adds a named section's structure with its defaults; returns its index. */
int
conf_named_add(struct conf_parse *cp, enum conf_kind kind, const char *name)
{
	struct conf	*conf = cp->conf;
	void		*base;
	char		*dst;
	int		 i;

	switch (kind) {
	case CONF_K_SERVICE:
		i = conf->nservices++;
		conf->services = xreallocarray(conf->services,
		    (size_t)conf->nservices, sizeof(*conf->services));
		base = &conf->services[i];
		memset(base, 0, sizeof(*conf->services));
		dst = conf->services[i].name;
		break;
	case CONF_K_LOG:
		i = conf->nlogs++;
		conf->logs = xreallocarray(conf->logs, (size_t)conf->nlogs,
		    sizeof(*conf->logs));
		base = &conf->logs[i];
		memset(base, 0, sizeof(*conf->logs));
		dst = conf->logs[i].name;
		break;
	case CONF_K_ALERT:
		i = conf->nalerts++;
		conf->alerts = xreallocarray(conf->alerts,
		    (size_t)conf->nalerts, sizeof(*conf->alerts));
		base = &conf->alerts[i];
		memset(base, 0, sizeof(*conf->alerts));
		dst = conf->alerts[i].name;
		break;
	case CONF_K_OVERRIDE:
		i = conf->noverrides++;
		conf->overrides = xreallocarray(conf->overrides,
		    (size_t)conf->noverrides, sizeof(*conf->overrides));
		base = &conf->overrides[i];
		memset(base, 0, sizeof(*conf->overrides));
		dst = conf->overrides[i].name;
		break;
	default:
		fatalx("%s: section kind %d has no name", __func__, kind);
	}
	snprintf(dst, CONF_NAME_MAX, "%s", name);
	conf_defaults(cp, kind, base);
	return i;
}

/* The structure a section's keys land in. */
void *
conf_base(struct conf *conf, enum conf_kind kind, int idx)
{
	switch (kind) {
	case CONF_K_SERVICE:
		return &conf->services[idx];
	case CONF_K_LOG:
		return &conf->logs[idx];
	case CONF_K_OVERRIDE:
		return &conf->overrides[idx];
	case CONF_K_ALERT:
		return &conf->alerts[idx];
	default:
		return conf;
	}
}

/* The file's section for a structure, or NULL (a built-in not in it). */
const struct conf_sect *
conf_sect_of(const struct conf_parse *cp, enum conf_kind kind, int idx)
{
	int	i;

	for (i = 0; i < cp->nsects; i++) {
		if (cp->sects[i].kind == kind && cp->sects[i].idx == idx)
			return &cp->sects[i];
	}
	return NULL;
}

/*
 * Setting values.
 */

static void
conf_error_value(struct conf_parse *cp, const struct conf_directive *d,
    const char *value, const char *why)
{
	char	esc[CONF_ESC];

	conf_error(cp, cp->lineno, "%s: bad %s '%s': %s", d->name,
	    conf_type_names[d->type], conf_esc(esc, sizeof(esc), value), why);
}

void
conf_fmt_bound(const struct conf_directive *d, int64_t v, char *buf,
    size_t size)
{
	switch (d->type) {
	case CONF_T_DURATION:
		conf_fmt_duration(v, buf, size);
		break;
	case CONF_T_SIZE:
		conf_fmt_size((uint64_t)v, buf, size);
		break;
	default:
		snprintf(buf, size, "%" PRId64, v);
		break;
	}
}

/* 0 if v is within the directive's bounds, else reports it. */
static int
conf_check_range(struct conf_parse *cp, const struct conf_directive *d,
    uint64_t v, const char *what, const char *value)
{
	char	lo[32], hi[32], esc[CONF_ESC];

	if (v >= (uint64_t)d->min && v <= (uint64_t)d->max)
		return 0;
	conf_fmt_bound(d, d->min, lo, sizeof(lo));
	conf_fmt_bound(d, d->max, hi, sizeof(hi));
	conf_error(cp, cp->lineno, "%s: %s'%s' is out of range (%s to %s)",
	    d->name, what, conf_esc(esc, sizeof(esc), value), lo, hi);
	return -1;
}

static void
conf_set_enum(struct conf_parse *cp, const struct conf_directive *d,
    void *base, const char *value)
{
	char		 list[256], esc[CONF_ESC], hint[64];
	const char	*s;
	size_t		 i, n, len = 0;

	for (n = 0; d->values[n] != NULL; n++) {
		if (strcmp(d->values[n], value) == 0) {
			*CONF_FIELD(base, d->off, int) = (int)n;
			return;
		}
	}
	list[0] = '\0';
	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", d->values[i]);
		if (len >= sizeof(list))
			fatalx("%s: %s: values too long", __func__, d->name);
	}
	hint[0] = '\0';
	if ((s = conf_suggest(value, d->values, n)) != NULL)
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", s);
	conf_error(cp, cp->lineno, "%s: unknown value '%s'; expected %s%s",
	    d->name, conf_esc(esc, sizeof(esc), value), list, hint);
}

/* Splits the next item off a list; items are separated by commas and
 * blanks.  Returns its length, 0 at the end. */
static size_t
conf_list_next(const char **sp, const char **item)
{
	const char	*s = *sp;
	size_t		 n;

	s += strspn(s, ", \t");
	n = strcspn(s, ", \t");
	*item = s;
	*sp = s + n;
	return n;
}

/*
 * The start of a list: "none" or nothing empties it; "none" also closes
 * it, while an empty first line may be followed by indented items.
 * Returns 1 if the value needs no further reading.
 */
static int
conf_list_start(struct conf_parse *cp, const struct conf_directive *d,
    const char *value, int append)
{
	const char	*empty = d->flags & CONF_F_ALL ? "all" : "none";
	int		 none = strcmp(value, empty) == 0;

	if (!append) {
		cp->prev_none = none;
		return none || *value == '\0';
	}
	if (none) {
		conf_error(cp, cp->lineno, "%s: '%s' cannot be one of "
		    "several values", d->name, empty);
		return 1;
	}
	if (cp->prev_none) {
		conf_error(cp, cp->lineno, "%s: set to %s above, so an "
		    "indented line cannot add to it", d->name, empty);
		return 1;
	}
	return 0;
}

static void
conf_set_ports(struct conf_parse *cp, const struct conf_directive *d,
    void *base, const char *value, int append)
{
	uint16_t	*ports = CONF_FIELD(base, d->off, uint16_t);
	int		*n = CONF_FIELD(base, d->noff, int);
	char		 tok[CONF_LINE_MAX + 1], esc[CONF_ESC];
	const char	*item, *end, *why;
	uint64_t	 port;
	size_t		 len;
	int		 i;

	if (!append)
		*n = 0;
	if (conf_list_start(cp, d, value, append))
		return;
	while ((len = conf_list_next(&value, &item)) > 0) {
		if (len >= sizeof(tok))
			len = sizeof(tok) - 1;
		memcpy(tok, item, len);
		tok[len] = '\0';
		if (strcmp(tok, "none") == 0 || strcmp(tok, "all") == 0) {
			conf_error(cp, cp->lineno, "%s: '%s' cannot be one "
			    "of several values", d->name, tok);
			continue;
		}
		end = tok;
		if (conf_number(&end, &port, &why) == -1 || *end != '\0' ||
		    port < (uint64_t)d->min || port > (uint64_t)d->max) {
			conf_error(cp, cp->lineno, "%s: bad port '%s' (use %"
			    PRId64 " to %" PRId64 ")", d->name,
			    conf_esc(esc, sizeof(esc), tok), d->min, d->max);
			continue;
		}
		for (i = 0; i < *n && ports[i] != port; i++)
			;
		if (i < *n) {
			conf_error(cp, cp->lineno, "%s: port %" PRIu64
			    " listed twice", d->name, port);
			continue;
		}
		if (*n == CONF_PORTS_MAX) {
			conf_error(cp, cp->lineno, "%s: too many ports (at "
			    "most %d)", d->name, CONF_PORTS_MAX);
			return;
		}
		/* Where the file lists it, for conf_check_ports(). */
		if (!cp->in_default && cp->cur >= 0)
			cp->sects[cp->cur].portline[*n] = cp->lineno;
		ports[(*n)++] = (uint16_t)port;
	}
}

static void
conf_set_networks(struct conf_parse *cp, const struct conf_directive *d,
    void *base, const char *value, int append)
{
	struct prefix	**arr = CONF_FIELD(base, d->off, struct prefix *);
	int		 *n = CONF_FIELD(base, d->noff, int);
	char		  tok[CONF_LINE_MAX + 1], esc[CONF_ESC];
	char		  fixed[ADDR_PREFIX_STRLEN];
	const char	 *item;
	struct prefix	  p;
	size_t		  len;

	if (!append) {
		free(*arr);
		*arr = NULL;
		*n = 0;
	}
	if (conf_list_start(cp, d, value, append))
		return;
	while ((len = conf_list_next(&value, &item)) > 0) {
		if (len >= sizeof(tok))
			len = sizeof(tok) - 1;
		memcpy(tok, item, len);
		tok[len] = '\0';
		if (strcmp(tok, "none") == 0) {
			conf_error(cp, cp->lineno, "%s: 'none' cannot be one "
			    "of several values", d->name);
			continue;
		}
		if (addr_prefix_parse(tok, &p, 0) == -1) {
			conf_esc(esc, sizeof(esc), tok);
			if (addr_prefix_parse(tok, &p, 1) == 0)
				conf_error(cp, cp->lineno, "%s: '%s' has host "
				    "bits set; did you mean %s?", d->name, esc,
				    addr_prefix_ntop(&p, fixed, sizeof(fixed)));
			else
				conf_error(cp, cp->lineno, "%s: bad network "
				    "'%s'", d->name, esc);
			continue;
		}
		if (*n == CONF_NETWORKS_MAX) {
			conf_error(cp, cp->lineno, "%s: too many networks (at "
			    "most %d)", d->name, CONF_NETWORKS_MAX);
			return;
		}
		/* Capacity doubles at each power of two from 8. */
		if (*n == 0 || (*n >= 8 && (*n & (*n - 1)) == 0))
			*arr = xreallocarray(*arr, *n == 0 ? 8 : (size_t)*n * 2,
			    sizeof(**arr));
		(*arr)[(*n)++] = p;
	}
}

/* Sets (or, for a list, extends) a directive's field from text. */
void
conf_set(struct conf_parse *cp, const struct conf_directive *d, void *base,
    const char *value, int append)
{
	struct conf_rate	 rate;
	struct conf_karma	 karma;
	const char		*why, *end;
	char			**sp;
	uint64_t		 u;
	int64_t			 dur;
	int			 b;

	switch (d->type) {
	case CONF_T_BOOL:
		if ((b = conf_parse_bool(value)) == -1)
			conf_error_value(cp, d, value, "expected yes or no");
		else
			*CONF_FIELD(base, d->off, int) = b;
		break;
	case CONF_T_UINT:
		end = value;
		if (conf_number(&end, &u, &why) == -1)
			conf_error_value(cp, d, value, why);
		else if (*end != '\0')
			conf_error_value(cp, d, value, "expected a number");
		else if (conf_check_range(cp, d, u, "", value) == 0)
			*CONF_FIELD(base, d->off, uint32_t) = (uint32_t)u;
		break;
	case CONF_T_DURATION:
		if (conf_parse_duration(value, &dur, &why) == -1)
			conf_error_value(cp, d, value, why);
		else if (conf_check_range(cp, d, (uint64_t)dur, "", value) == 0)
			*CONF_FIELD(base, d->off, int64_t) = dur;
		break;
	case CONF_T_SIZE:
		if (conf_parse_size(value, &u, &why) == -1)
			conf_error_value(cp, d, value, why);
		else if (conf_check_range(cp, d, u, "", value) == 0)
			*CONF_FIELD(base, d->off, uint64_t) = u;
		break;
	case CONF_T_RATE:
		if (conf_parse_rate(value, &rate, &why) == -1)
			conf_error_value(cp, d, value, why);
		else if (conf_check_range(cp, d, rate.count, "count in ",
		    value) == 0)
			*CONF_FIELD(base, d->off, struct conf_rate) = rate;
		break;
	case CONF_T_KARMA:
		if (conf_parse_karma(value, &karma, &why) == -1)
			conf_error_value(cp, d, value, why);
		else
			*CONF_FIELD(base, d->off, struct conf_karma) = karma;
		break;
	case CONF_T_STRING:
	case CONF_T_PATH:
		if (*value == '\0' && !(d->flags & CONF_F_EMPTY))
			conf_error(cp, cp->lineno, "%s: empty value", d->name);
		else if (d->type == CONF_T_PATH && *value != '\0' &&
		    *value != '/')
			conf_error_value(cp, d, value,
			    "not an absolute path");
		else if (strlen(value) > (size_t)d->max)
			conf_error(cp, cp->lineno, "%s: too long (at most %"
			    PRId64 " bytes)", d->name, d->max);
		else {
			sp = CONF_FIELD(base, d->off, char *);
			free(*sp);
			*sp = xstrdup(value);
		}
		break;
	case CONF_T_ENUM:
		conf_set_enum(cp, d, base, value);
		break;
	case CONF_T_PORTS:
		conf_set_ports(cp, d, base, value, append);
		break;
	case CONF_T_NETWORKS:
		conf_set_networks(cp, d, base, value, append);
		break;
	}
}

/*
 * Reading the file.
 */

static char *
conf_lskip(char *s)
{
	return s + strspn(s, " \t");
}

static void
conf_rstrip(char *s)
{
	size_t	n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* No valid section is current: keys are ignored until the next header,
 * so one bad header is one error, not one per key. */
static void
conf_section_invalid(struct conf_parse *cp)
{
	cp->cur = -1;
	cp->skip = 1;
	cp->prev = NULL;
}

static int
conf_name_ok(const char *s)
{
	size_t	n = strlen(s);

	return n > 0 && n < CONF_NAME_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A section header's text, between the brackets. */
static void
conf_section(struct conf_parse *cp, const char *text)
{
	const char		*cands[CONF_K_COUNT], *hint;
	struct conf_sect	*old, *sect;
	char			 copy[CONF_LINE_MAX + 1];
	char			*kind, *name, *extra, esc[CONF_ESC];
	char			 label[CONF_ESC];
	size_t			 k;
	int			 i, idx, builtin = 0;

	conf_section_invalid(cp);
	snprintf(copy, sizeof(copy), "%s", text);
	kind = conf_lskip(copy);
	conf_rstrip(kind);
	name = kind + strcspn(kind, " \t");
	if (*name != '\0') {
		*name++ = '\0';
		name = conf_lskip(name);
	}
	extra = name + strcspn(name, " \t");
	if (*kind == '\0') {
		conf_error(cp, cp->lineno, "empty section header");
		return;
	}
	for (k = 0; k < conf_nkinds; k++) {
		if (strcmp(conf_kinds[k].name, kind) == 0)
			break;
		cands[k] = conf_kinds[k].name;
	}
	if (k == conf_nkinds) {
		conf_esc(esc, sizeof(esc), kind);
		if ((hint = conf_suggest(kind, cands, nitems(cands))) != NULL)
			conf_error(cp, cp->lineno, "unknown section [%s]; did "
			    "you mean [%s]?", esc, hint);
		else
			conf_error(cp, cp->lineno, "unknown section [%s]", esc);
		return;
	}
	if (conf_kinds[k].named && *name == '\0') {
		conf_error(cp, cp->lineno, "[%s] needs a name: [%s NAME]",
		    kind, kind);
		return;
	}
	if (!conf_kinds[k].named && *name != '\0') {
		conf_error(cp, cp->lineno, "[%s] takes no name", kind);
		return;
	}
	if (*extra != '\0' || (*name != '\0' && !conf_name_ok(name))) {
		conf_error(cp, cp->lineno, "bad %s name '%s' (use 1 to %d of "
		    "a-z, 0-9, '_' and '-')", kind, conf_esc(esc, sizeof(esc),
		    name), CONF_NAME_MAX - 1);
		return;
	}

	for (i = 0; i < cp->nsects; i++) {
		old = &cp->sects[i];
		if (old->kind != (enum conf_kind)k ||
		    strcmp(old->name, name) != 0)
			continue;
		if (CONF_LOC_FILE(old->lastline) == cp->file) {
			conf_error(cp, cp->lineno, "[%s] already defined at "
			    "line %d", conf_sect_label(old->kind, old->name,
			    label, sizeof(label)), CONF_LOC_LINE(old->lastline));
			return;
		}
		/* A later file goes on with it: its keys win. */
		old->lastline = cp->lineno;
		cp->cur = i;
		cp->skip = 0;
		return;
	}
	if (cp->nsects == CONF_SECTIONS_MAX) {
		conf_error(cp, cp->lineno, "too many sections (at most %d)",
		    CONF_SECTIONS_MAX);
		return;
	}

	idx = -1;
	if (conf_kinds[k].named) {
		/* Built-ins are the only services with no section yet. */
		if (k == CONF_K_SERVICE &&
		    (idx = conf_service_find(cp->conf, name)) != -1)
			builtin = 1;
		else
			idx = conf_named_add(cp, (enum conf_kind)k, name);
	}
	cp->sects = xreallocarray(cp->sects, (size_t)cp->nsects + 1,
	    sizeof(*cp->sects));
	sect = &cp->sects[cp->nsects];
	memset(sect, 0, sizeof(*sect));
	sect->kind = (enum conf_kind)k;
	snprintf(sect->name, sizeof(sect->name), "%s", name);
	sect->idx = idx;
	sect->line = sect->lastline = cp->lineno;
	sect->builtin = builtin;
	cp->cur = cp->nsects++;
	cp->skip = 0;
}

static void
conf_key(struct conf_parse *cp, const char *name, const char *value)
{
	const char			*cands[CONF_DIRECTIVES_MAX], *hint;
	const struct conf_directive	*d;
	struct conf_sect		*sect;
	char				 esc[CONF_ESC], label[CONF_ESC];
	size_t				 i, n = 0;

	cp->prev = NULL;
	if (cp->skip)
		return;
	conf_esc(esc, sizeof(esc), name);
	if (cp->cur == -1) {
		for (i = 0; i < conf_ndirectives; i++) {
			if (strcmp(conf_directives[i].name, name) == 0)
				break;
		}
		if (i < conf_ndirectives)
			conf_error(cp, cp->lineno, "'%s' before any section "
			    "(it belongs in [%s%s])", esc,
			    conf_kinds[conf_directives[i].kind].name,
			    conf_kinds[conf_directives[i].kind].named ?
			    " NAME" : "");
		else
			conf_error(cp, cp->lineno, "'%s' before any section",
			    esc);
		return;
	}
	sect = &cp->sects[cp->cur];
	conf_sect_label(sect->kind, sect->name, label, sizeof(label));
	if ((d = conf_directive_find(sect->kind, name)) == NULL) {
		for (i = 0; i < conf_ndirectives; i++) {
			if (conf_directives[i].kind == sect->kind)
				cands[n++] = conf_directives[i].name;
		}
		if ((hint = conf_suggest(name, cands, n)) != NULL)
			conf_error(cp, cp->lineno, "unknown key '%s' in [%s]; "
			    "did you mean '%s'?", esc, label, hint);
		else
			conf_error(cp, cp->lineno, "unknown key '%s' in [%s]",
			    esc, label);
		return;
	}
	if (cp->secret_only && !(d->flags & CONF_F_SECRET)) {
		conf_error(cp, cp->lineno, "'%s' is not a secret: a secrets "
		    "file owned by the daemon's user may set secrets only",
		    d->name);
		return;
	}
	if (cp->in_secrets && d->kind == CONF_K_GLOBAL &&
	    strcmp(d->name, "secrets") == 0) {
		conf_error(cp, cp->lineno, "secrets: set in the secrets file "
		    "itself (set it in the main file)");
		return;
	}
	i = conf_directive_index(d);
	/* Twice in a file is a mistake; a later file overrides. */
	if (sect->keyline[i] != 0 &&
	    CONF_LOC_FILE(sect->keyline[i]) == cp->file) {
		conf_error(cp, cp->lineno, "duplicate key '%s', first set at "
		    "line %d", d->name, CONF_LOC_LINE(sect->keyline[i]));
		return;
	}
	if (sect->keyline[i] != 0)
		sect->overline[i] = sect->keyline[i];
	sect->keyline[i] = cp->lineno;
	cp->prev = d;
	conf_set(cp, d, conf_base(cp->conf, sect->kind, sect->idx), value, 0);
}

static void
conf_continue(struct conf_parse *cp, const char *value)
{
	const struct conf_directive	*d = cp->prev;
	const struct conf_sect		*sect;

	if (cp->skip || d == NULL)
		return;
	if (*value == '[' || strchr(value, '=') != NULL) {
		conf_error(cp, cp->lineno, "indented line continues '%s'; "
		    "remove the indentation to start a new key or section",
		    d->name);
		return;
	}
	if (d->type != CONF_T_PORTS && d->type != CONF_T_NETWORKS) {
		conf_error(cp, cp->lineno, "'%s' takes one value, but an "
		    "indented line continues the one before", d->name);
		return;
	}
	sect = &cp->sects[cp->cur];
	conf_set(cp, d, conf_base(cp->conf, sect->kind, sect->idx), value, 1);
}

/* A file's lines are numbered within what a place holds; beyond, the
 * file is read no further. */
static int
conf_line_cap(struct conf_parse *cp, int line)
{
	if (line <= CONF_LOC_LINES)
		return 0;
	conf_error(cp, 0, "more than %d lines, read no further",
	    CONF_LOC_LINES);
	return -1;
}

/* The reader's items; cp->lineno follows them for every message. */
static int
conf_item(void *arg, const struct inifile_item *item)
{
	struct conf_parse	*cp = arg;

	if (conf_line_cap(cp, item->line) == -1)
		return -1;
	cp->lineno = CONF_LOC(cp->file, item->line);
	switch (item->type) {
	case INIFILE_SECTION:
		if (item->name == NULL)
			conf_section_invalid(cp);
		else
			conf_section(cp, item->name);
		break;
	case INIFILE_KEY:
		conf_key(cp, item->name, item->value);
		break;
	case INIFILE_CONT:
		conf_continue(cp, item->value);
		break;
	}
	return cp->stop ? -1 : 0;
}

/* A line the reader refused (and what it said why). */
static int
conf_refused(void *arg, int line, const char *msg)
{
	struct conf_parse	*cp = arg;

	if (conf_line_cap(cp, line) == -1)
		return -1;
	conf_error(cp, CONF_LOC(cp->file, line), "%s", msg);
	cp->prev = NULL;
	return cp->stop ? -1 : 0;
}

static const struct inifile_ops conf_ini = {
	.flags = INIFILE_COMMENTS | INIFILE_CONTINUE | INIFILE_COLON,
	.line_max = CONF_LINE_MAX,
	.item = conf_item,
	.error = conf_refused,
};

/* Reads the file open on fp into cp, section by section. */
void
conf_read_file(struct conf_parse *cp, FILE *fp)
{
	if (inifile_parse_file(&conf_ini, fp, cp) == -1)
		conf_error(cp, 0, "read error: %s", strerror(errno));
}

void
conf_free(struct conf *conf)
{
	int	i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nservices; i++)
		conf_sect_clear(CONF_K_SERVICE, &conf->services[i]);
	for (i = 0; i < conf->nlogs; i++)
		conf_sect_clear(CONF_K_LOG, &conf->logs[i]);
	for (i = 0; i < conf->noverrides; i++)
		conf_sect_clear(CONF_K_OVERRIDE, &conf->overrides[i]);
	for (i = 0; i < conf->nalerts; i++)
		conf_sect_clear(CONF_K_ALERT, &conf->alerts[i]);
	conf_sect_clear(CONF_K_GLOBAL, conf);
	conf_sect_clear(CONF_K_STORE, conf);
	conf_sect_clear(CONF_K_CONNTRACK, conf);
	conf_sect_clear(CONF_K_TRACK, conf);
	conf_sect_clear(CONF_K_AUTH, conf);
	conf_sect_clear(CONF_K_BAN, conf);
	conf_sect_clear(CONF_K_ALLOW, conf);
	conf_sect_clear(CONF_K_METRICS, conf);
	conf_sect_clear(CONF_K_CLUSTER, conf);
	free(conf->services);
	free(conf->logs);
	free(conf->overrides);
	free(conf->alerts);
	conf_layers_free(conf->layers);
	free(conf->path);
	free(conf->warnings);
	free(conf);
}

const struct conf_service *
conf_service_by_port(const struct conf *conf, uint16_t port)
{
	int	i, j;

	/* A handful of services and ports: a scan beats any index. */
	for (i = 0; i < conf->nservices; i++) {
		for (j = 0; j < conf->services[i].nports; j++) {
			if (conf->services[i].ports[j] == port)
				return &conf->services[i];
		}
	}
	return NULL;
}
