/*
 * Filters: reading one XMPP server's log format from a filter file.
 *
 * A filter file is INI-like.  Whole-line comments start with '#' or ';';
 * there are no inline comments, so a regex may hold either character.  A
 * value is everything after the first '=', blanks trimmed at both ends (a
 * regex that must end in a blank spells it \s or \x20).  There are no
 * continuation lines.  inifile.c reads the lines, as it does the
 * configuration's, and refuses bytes no text file holds.  Errors are
 * "FILE:LINE: message", all of them at once, in line order.
 *
 *	[filter]
 *	name           = ejabberd
 *	time           = %Y-%m-%d %H:%M:%S	strptime(3), and %f: fractional
 *						seconds; "none": arrival time
 *	timezone       = local			local (default) or utc
 *	prefilter      = authentication		repeatable: a line holding none
 *						of these literals is skipped
 *	join_capacity  = 4096			join table entries
 *	join_ttl       = 10m			join entry lifetime
 *	dedup_capacity = 4096			fold and once_per entries
 *	dedup_window   = 10s			how long an attempt (fold)
 *						or a repeat (once_per) lasts
 *	match_limit    = 100000			pcre2_set_match_limit
 *	depth_limit    = 10000			pcre2_set_depth_limit
 *	sample         = a log line		repeatable, here or in a pattern
 *
 *	[pattern NAME]				one or more, tried in file order
 *	kind     = auth_fail			an event kind, or "none" for a
 *						line kept only for its join
 *	literal  = authentication for		optional: must be in the line
 *						(memmem) before the regex runs
 *	regex    = ...				PCRE2; named groups: ip, user,
 *						host, key, time, port, mech
 *	join     = set | get | clear | check	optional, needs a key group
 *	fold     = key+mech			optional: the lines of one
 *						attempt are one event; ip,
 *						user, host, key, and mech
 *	fold_max = 3				lines per attempt (1-8; 8
 *						with mech, else required)
 *	refuse   = REGEX			optional: a matched line that
 *						this also matches is forged
 *	once_per = key				optional: repeats within
 *						dedup_window are one event;
 *						ip, user, host, key
 *	carry    = time				optional, kind none: the
 *						line's time is the next
 *						line's if that has none
 *
 * fold, refuse, join = check and carry are explained at the top of
 * filter.c; a field list is separated by ',', '+' or blanks.
 *
 * The time group is parsed with the filter's format.  strptime(3) has no
 * fractions, so "%f" stands for optional fractional seconds (".123",
 * ",123456"); they are also read when they follow the whole format.  %z
 * (an offset in the line) overrides timezone; at the end of the format it
 * may be missing, and a line without one is read in timezone.  Formats without a year take
 * the current one, or the previous one for a date more than a day ahead.
 *
 * This file parses and compiles a filter file into a struct filter
 * (filter_int.h); filter.c matches lines with it.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "filter_int.h"
#include "inifile.h"
#include "log.h"
#include "perm.h"
#include "xmalloc.h"

#define FILTER_FILE_MAX		(1024 * 1024)
#define FILTER_HEAP_LIMIT	(32 * 1024)	/* KiB */

static const char *const filter_field_names[FILTER_F_MAX] = {
	"ip", "user", "host", "key", "time", "port", "mech"
};

struct filter_err {
	int		 line;		/* 0: the file as a whole */
	size_t		 seq;
	char		*msg;
};

/* State of one parse. */
struct filter_parse {
	const char	*file;
	int		 lineno;
	struct filter_err *errs;
	size_t		 nerr;
	struct filter	*f;
	int		 section;	/* 0: none, 1: [filter], 2: pattern */
	int		 filter_line;
	int		 seen[16];	/* line of each [filter] key; 0 */
	uint64_t	 join_cap, dedup_cap, match_limit, depth_limit;
	int64_t		 join_ttl, dedup_window;
	int		 time_set;
	char		*timefmt;	/* NULL: none */
	int		 time_line;
};

/* Parsing. */

static void
filter_err(struct filter_parse *fp, int line, const char *fmt, ...)
{
	va_list		 ap;
	struct filter_err *e;

	if (fp->nerr > FILTER_ERRORS_MAX)
		return;
	fp->errs = xreallocarray(fp->errs, fp->nerr + 1, sizeof(*fp->errs));
	e = &fp->errs[fp->nerr];
	e->line = line;
	e->seq = fp->nerr++;
	if (fp->nerr > FILTER_ERRORS_MAX) {
		e->line = INT_MAX;
		e->msg = xstrdup("too many errors, giving up");
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&e->msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
}

static int
filter_err_cmp(const void *a, const void *b)
{
	const struct filter_err	*x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* All errors as one string, in line order (checks made after reading the
 * whole file come last otherwise), each "FILE:LINE: message". */
static char *
filter_err_join(struct filter_parse *fp)
{
	char	*s = NULL, *t;
	size_t	 i;

	qsort(fp->errs, fp->nerr, sizeof(*fp->errs), filter_err_cmp);
	for (i = 0; i < fp->nerr; i++) {
		if (fp->errs[i].line > 0 && fp->errs[i].line != INT_MAX)
			t = xasprintf("%s%s%s:%d: %s", s ? s : "",
			    s ? "\n" : "", fp->file, fp->errs[i].line,
			    fp->errs[i].msg);
		else
			t = xasprintf("%s%s%s: %s", s ? s : "",
			    s ? "\n" : "", fp->file, fp->errs[i].msg);
		free(s);
		free(fp->errs[i].msg);
		s = t;
	}
	free(fp->errs);
	return s;
}

/*
 * How common each byte is in XMPP server logs: 10 * log2(1 + occurrences
 * per million bytes) over the fixture logs of tests/filters (Prosody,
 * ejabberd, jabberd2 and the documented formats), 0 for a byte never
 * seen.  filter_rank() adds what the filter's own sample lines say, which
 * knows, say, that every ejabberd line holds an '@'.
 */
static const uint8_t filter_byte_freq[256] = {
	  0,   0,   0,   0,   0,   0,   0,   0,   0, 142, 133,   0,   0,   0,   0,   0,
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,  71,   0,   0,   0,   0,
	162,  23,  96,   0,   0,   0,   0, 127, 115, 115,  40,  96, 114, 123, 139, 110,
	156, 140, 151, 135, 143, 147, 136, 138, 130, 143, 152,  36, 122, 118, 122,  95,
	111, 123, 107, 120, 107, 100, 109,  99, 104, 108,  87,  82, 116, 107, 134,  94,
	105,  83, 110, 128, 113,  92,  86,  85,  87,  89,  86, 118,  70, 117,   0, 128,
	  0, 151, 139, 148, 150, 159, 139, 141, 128, 147, 107, 105, 141, 140, 154, 153,
	134,  98, 147, 151, 150, 143, 137, 118, 127, 116,  97,  63,  81,  63,  23,   0,
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
	  0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
};

static void
filter_lit_init(struct filter_lit *l, const char *s, const uint8_t *rank)
{
	size_t	i;

	l->s = s;
	l->len = strlen(s);
	l->rare = 0;
	for (i = 1; i < l->len; i++)
		if (rank[(unsigned char)s[i]] <
		    rank[(unsigned char)s[l->rare]])
			l->rare = i;
}

/* Byte ranks for choosing literals' rare bytes: table plus samples. */
static void
filter_rank(struct filter *f)
{
	uint64_t	 count[256], total = 0;
	const uint8_t	*p;
	size_t		 i;
	int		 b;

	memset(count, 0, sizeof(count));
	for (i = 0; i < f->nsample; i++)
		for (p = (const uint8_t *)f->sample[i]; *p != '\0'; p++) {
			count[*p]++;
			total++;
		}
	for (b = 0; b < 256; b++) {
		f->rank[b] = filter_byte_freq[b];
		/* Present in most sample lines: as common as a blank. */
		if (total > 0 && count[b] * 100 >= total)
			f->rank[b] = 255;
		else if (total > 0 && count[b] >= f->nsample)
			f->rank[b] = (uint8_t)((f->rank[b] + 255) / 2);
	}
	for (i = 0; i < f->nprefilter; i++)
		filter_lit_init(&f->prefilter_lit[i], f->prefilter[i],
		    f->rank);
	for (i = 0; i < f->npat; i++)
		if (f->pat[i].literal != NULL)
			filter_lit_init(&f->pat[i].lit, f->pat[i].literal,
			    f->rank);
}

static void
filter_push(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

static int
filter_number(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
	uint64_t	n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if ((uint64_t)(*s - '0') > max ||
		    n > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	if (n < min)
		return -1;
	*v = n;
	return 0;
}

static const char *const filter_keys[] = {
	"name", "time", "timezone", "prefilter", "join_capacity", "join_ttl",
	"dedup_capacity", "dedup_window", "match_limit", "depth_limit"
};

static void
filter_key_filter(struct filter_parse *fp, const char *key, const char *val)
{
	struct filter	*f = fp->f;
	const char	*why;
	size_t		 k;
	int64_t		 d;

	for (k = 0; k < sizeof(filter_keys) / sizeof(filter_keys[0]); k++)
		if (strcmp(key, filter_keys[k]) == 0)
			break;
	if (k == sizeof(filter_keys) / sizeof(filter_keys[0])) {
		filter_err(fp, fp->lineno, "[filter]: unknown key %s", key);
		return;
	}
	if (strcmp(key, "prefilter") == 0) {
		if (*val == '\0') {
			filter_err(fp, fp->lineno, "empty prefilter");
			return;
		}
		filter_push(&f->prefilter, &f->nprefilter, val);
		f->prefilter_lit = xreallocarray(f->prefilter_lit,
		    f->nprefilter, sizeof(*f->prefilter_lit));
		filter_lit_init(&f->prefilter_lit[f->nprefilter - 1],
		    f->prefilter[f->nprefilter - 1], filter_byte_freq);
		return;
	}
	if (fp->seen[k]) {
		filter_err(fp, fp->lineno, "duplicate %s (first at line %d)",
		    key, fp->seen[k]);
		return;
	}
	fp->seen[k] = fp->lineno;
	if (strcmp(key, "name") == 0) {
		if (*val == '\0')
			filter_err(fp, fp->lineno, "empty name");
		else
			f->name = xstrdup(val);
	} else if (strcmp(key, "time") == 0) {
		fp->time_set = 1;
		if (strcmp(val, "none") == 0)
			return;
		if (strchr(val, '%') == NULL) {
			filter_err(fp, fp->lineno, "time: not a strptime "
			    "format, nor \"none\": %s", val);
			return;
		}
		free(fp->timefmt);
		fp->timefmt = xstrdup(val);
		fp->time_line = fp->lineno;
	} else if (strcmp(key, "timezone") == 0) {
		if (strcmp(val, "utc") == 0)
			f->utc = 1;
		else if (strcmp(val, "local") != 0)
			filter_err(fp, fp->lineno, "timezone: local or utc");
	} else if (strcmp(key, "join_capacity") == 0) {
		if (filter_number(val, 1, 1000000, &fp->join_cap) == -1)
			filter_err(fp, fp->lineno,
			    "join_capacity: a number from 1 to 1000000");
	} else if (strcmp(key, "dedup_capacity") == 0) {
		if (filter_number(val, 1, 1000000, &fp->dedup_cap) == -1)
			filter_err(fp, fp->lineno,
			    "dedup_capacity: a number from 1 to 1000000");
	} else if (strcmp(key, "match_limit") == 0) {
		if (filter_number(val, 100, 100000000, &fp->match_limit) == -1)
			filter_err(fp, fp->lineno,
			    "match_limit: a number from 100 to 100000000");
	} else if (strcmp(key, "depth_limit") == 0) {
		if (filter_number(val, 10, 10000000, &fp->depth_limit) == -1)
			filter_err(fp, fp->lineno,
			    "depth_limit: a number from 10 to 10000000");
	} else {
		if (conf_parse_duration(val, &d, &why) == -1)
			filter_err(fp, fp->lineno, "%s: %s", key, why);
		else if (d <= 0)
			filter_err(fp, fp->lineno, "%s: must be positive", key);
		else if (strcmp(key, "join_ttl") == 0)
			fp->join_ttl = d;
		else
			fp->dedup_window = d;
	}
}

/* The field list of once_per or fold into *mask; mech only for fold. */
static void
filter_fields(struct filter_parse *fp, struct filter_pattern *p,
    const char *key, const char *val, unsigned int *mask)
{
	char	*list, *tok, *save;
	int	 i, fold = strcmp(key, "fold") == 0;

	list = xstrdup(val);
	for (tok = strtok_r(list, ",+ \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ",+ \t", &save)) {
		for (i = 0; i < FILTER_F_MAX; i++)
			if (strcmp(tok, filter_field_names[i]) == 0)
				break;
		if (i == FILTER_F_TIME || i == FILTER_F_PORT ||
		    i == FILTER_F_MAX || (i == FILTER_F_MECH && !fold))
			filter_err(fp, fp->lineno, "pattern %s: %s: unknown "
			    "field %s (use ip, user, host%s)", p->name, key,
			    tok, fold ? ", key or mech" : " or key");
		else
			*mask |= 1U << i;
	}
	free(list);
	if (*mask == 0)
		filter_err(fp, fp->lineno, "pattern %s: empty %s", p->name,
		    key);
	else if (*mask == 1U << FILTER_F_MECH)
		filter_err(fp, fp->lineno, "pattern %s: fold: mech needs "
		    "the fields of an attempt too (key+mech)", p->name);
}

static void
filter_key_pattern(struct filter_parse *fp, const char *key, const char *val)
{
	struct filter_pattern	*p = &fp->f->pat[fp->f->npat - 1];
	uint64_t		 n;

	if (strcmp(key, "kind") == 0) {
		if (p->kind_set) {
			filter_err(fp, fp->lineno, "pattern %s: duplicate kind",
			    p->name);
			return;
		}
		p->kind_set = 1;
		if (strcmp(val, "none") == 0)
			p->st.kind = EVENT_NONE;
		else if ((p->st.kind = event_kind_parse(val)) == EVENT_NONE) {
			p->kind_set = -1;
			filter_err(fp, fp->lineno,
			    "pattern %s: unknown kind %s", p->name, val);
		}
	} else if (strcmp(key, "regex") == 0) {
		if (p->regex != NULL)
			filter_err(fp, fp->lineno,
			    "pattern %s: duplicate regex", p->name);
		else if (*val == '\0')
			filter_err(fp, fp->lineno, "pattern %s: empty regex",
			    p->name);
		else {
			p->regex = xstrdup(val);
			p->regex_line = fp->lineno;
		}
	} else if (strcmp(key, "literal") == 0) {
		if (p->literal != NULL)
			filter_err(fp, fp->lineno,
			    "pattern %s: duplicate literal", p->name);
		else if (*val == '\0')
			filter_err(fp, fp->lineno, "pattern %s: empty literal",
			    p->name);
		else {
			p->literal = xstrdup(val);
			filter_lit_init(&p->lit, p->literal,
			    filter_byte_freq);
		}
	} else if (strcmp(key, "join") == 0) {
		if (p->join != FILTER_JOIN_NONE)
			filter_err(fp, fp->lineno, "pattern %s: duplicate join",
			    p->name);
		else if (strcmp(val, "set") == 0)
			p->join = FILTER_JOIN_SET;
		else if (strcmp(val, "get") == 0)
			p->join = FILTER_JOIN_GET;
		else if (strcmp(val, "clear") == 0)
			p->join = FILTER_JOIN_CLEAR;
		else if (strcmp(val, "check") == 0)
			p->join = FILTER_JOIN_CHECK;
		else
			filter_err(fp, fp->lineno, "pattern %s: join: set, "
			    "get, clear or check", p->name);
	} else if (strcmp(key, "once_per") == 0 || strcmp(key, "fold") == 0) {
		if ((key[0] == 'o' ? p->once : p->fold) != 0) {
			filter_err(fp, fp->lineno, "pattern %s: duplicate %s",
			    p->name, key);
			return;
		}
		filter_fields(fp, p, key, val, key[0] == 'o' ? &p->once :
		    &p->fold);
	} else if (strcmp(key, "fold_max") == 0) {
		if (p->fold_max != 0)
			filter_err(fp, fp->lineno,
			    "pattern %s: duplicate fold_max", p->name);
		else if (filter_number(val, 1, FILTER_FOLD_MAX, &n) == -1)
			filter_err(fp, fp->lineno, "pattern %s: fold_max: a "
			    "number from 1 to %d", p->name, FILTER_FOLD_MAX);
		else
			p->fold_max = (unsigned int)n;
	} else if (strcmp(key, "carry") == 0) {
		if (p->carry)
			filter_err(fp, fp->lineno,
			    "pattern %s: duplicate carry", p->name);
		else if (strcmp(val, "time") != 0)
			filter_err(fp, fp->lineno, "pattern %s: carry: time "
			    "(nothing else is carried)", p->name);
		else
			p->carry = 1;
	} else if (strcmp(key, "refuse") == 0) {
		if (p->refuse != NULL)
			filter_err(fp, fp->lineno,
			    "pattern %s: duplicate refuse", p->name);
		else if (*val == '\0')
			filter_err(fp, fp->lineno, "pattern %s: empty refuse",
			    p->name);
		else {
			p->refuse = xstrdup(val);
			p->refuse_line = fp->lineno;
		}
	} else
		filter_err(fp, fp->lineno, "pattern %s: unknown key %s",
		    p->name, key);
}

/* A section header: s is the text between its brackets. */
static void
filter_section(struct filter_parse *fp, const char *s)
{
	struct filter		*f = fp->f;
	struct filter_pattern	*p;
	const char		*name;
	size_t			 i;

	if (strcmp(s, "filter") == 0) {
		if (fp->filter_line != 0)
			filter_err(fp, fp->lineno, "duplicate [filter] "
			    "(first at line %d)", fp->filter_line);
		else
			fp->filter_line = fp->lineno;
		fp->section = 1;
		return;
	}
	if (strncmp(s, "pattern", 7) != 0 || (s[7] != ' ' && s[7] != '\t')) {
		filter_err(fp, fp->lineno, "unknown section [%s]", s);
		fp->section = -1;
		return;
	}
	name = s + 7;
	name += strspn(name, " \t");
	if (*name == '\0' || name[strspn(name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-")] != '\0') {
		filter_err(fp, fp->lineno, "bad pattern name \"%s\" "
		    "(letters, digits, _ . -)", name);
		fp->section = -1;
		return;
	}
	for (i = 0; i < f->npat; i++) {
		if (strcmp(f->pat[i].name, name) == 0) {
			filter_err(fp, fp->lineno, "duplicate pattern %s "
			    "(first at line %d)", name, f->pat[i].line);
			fp->section = -1;
			return;
		}
	}
	f->pat = xreallocarray(f->pat, f->npat + 1, sizeof(*f->pat));
	p = &f->pat[f->npat++];
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(name);
	p->st.name = p->name;
	p->line = fp->lineno;
	fp->section = 2;
}

static void
filter_key(struct filter_parse *fp, const char *key, const char *val)
{
	if (strcmp(key, "sample") == 0) {
		if (fp->section != 0) {
			filter_push(&fp->f->sample, &fp->f->nsample, val);
			fp->f->sample_pat = xreallocarray(fp->f->sample_pat,
			    fp->f->nsample, sizeof(*fp->f->sample_pat));
			fp->f->sample_pat[fp->f->nsample - 1] =
			    fp->section == 2 ? (int)fp->f->npat - 1 : -1;
		} else
			filter_err(fp, fp->lineno, "sample outside a section");
		return;
	}
	switch (fp->section) {
	case 0:
		filter_err(fp, fp->lineno, "%s outside a section", key);
		break;
	case 1:
		filter_key_filter(fp, key, val);
		break;
	case 2:
		filter_key_pattern(fp, key, val);
		break;
	default:	/* inside a bad section: already reported */
		break;
	}
}

/* The reader's items (no continuation lines in this format). */
static int
filter_item(void *arg, const struct inifile_item *item)
{
	struct filter_parse	*fp = arg;

	fp->lineno = item->line;
	if (item->type == INIFILE_KEY)
		filter_key(fp, item->name, item->value);
	else if (item->name != NULL)
		filter_section(fp, item->name);
	else
		fp->section = -1;	/* a header the reader refused */
	return fp->nerr > FILTER_ERRORS_MAX ? -1 : 0;
}

/* A line the reader refused; past FILTER_ERRORS_MAX reading stops. */
static int
filter_refused(void *arg, int line, const char *msg)
{
	struct filter_parse	*fp = arg;

	filter_err(fp, line, "%s", msg);
	return fp->nerr > FILTER_ERRORS_MAX ? -1 : 0;
}

/* No inline comments (a regex holds ';'), no ':' separator, no
 * continuation; a line as long as the file. */
static const struct inifile_ops filter_ini = {
	.flags = 0,
	.line_max = FILTER_FILE_MAX,
	.item = filter_item,
	.error = filter_refused,
};

/* Compiles p's regex and maps its named groups; errors go to fp. */
static void
filter_compile(struct filter_parse *fp, struct filter_pattern *p,
    uint32_t *maxcap)
{
	PCRE2_UCHAR	 msg[256];
	PCRE2_SPTR	 tab;
	PCRE2_SIZE	 off;
	uint32_t	 count, size, cap, j;
	int		 rc, i, n;
	const char	*gname;

	p->re = pcre2_compile((PCRE2_SPTR)p->regex, PCRE2_ZERO_TERMINATED, 0,
	    &rc, &off, NULL);
	if (p->re == NULL) {
		pcre2_get_error_message(rc, msg, sizeof(msg));
		filter_err(fp, p->regex_line, "pattern %s: bad regex at "
		    "offset %zu: %s", p->name, (size_t)off, (char *)msg);
		return;
	}
	/* JIT is an optimisation: without it, the interpreter still works. */
	p->jit = pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE) == 0;
	if (p->refuse != NULL) {
		p->refuse_re = pcre2_compile((PCRE2_SPTR)p->refuse,
		    PCRE2_ZERO_TERMINATED, 0, &rc, &off, NULL);
		if (p->refuse_re == NULL) {
			pcre2_get_error_message(rc, msg, sizeof(msg));
			filter_err(fp, p->refuse_line, "pattern %s: bad "
			    "refuse regex at offset %zu: %s", p->name,
			    (size_t)off, (char *)msg);
		} else
			p->refuse_jit = pcre2_jit_compile(p->refuse_re,
			    PCRE2_JIT_COMPLETE) == 0;
	}

	pcre2_pattern_info(p->re, PCRE2_INFO_CAPTURECOUNT, &cap);
	if (cap > *maxcap)
		*maxcap = cap;
	pcre2_pattern_info(p->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(p->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
	pcre2_pattern_info(p->re, PCRE2_INFO_NAMETABLE, &tab);
	for (j = 0; j < count; j++) {
		n = (tab[j * size] << 8) | tab[j * size + 1];
		gname = (const char *)tab + j * size + 2;
		for (i = 0; i < FILTER_F_MAX; i++)
			if (strcmp(gname, filter_field_names[i]) == 0)
				break;
		if (i == FILTER_F_MAX)
			filter_err(fp, p->regex_line, "pattern %s: unknown "
			    "group (?<%s>) (use ip, user, host, key, time, "
			    "port, mech)", p->name, gname);
		else
			p->grp[i] = n;
	}
}

/* Each field of a once_per or fold list needs its group. */
static void
filter_check_fields(struct filter_parse *fp, const struct filter_pattern *p,
    const char *key, unsigned int mask)
{
	int	i;

	for (i = 0; i < FILTER_F_MAX; i++)
		if ((mask & (1U << i)) && p->grp[i] == 0 &&
		    !(i == FILTER_F_IP && (p->join == FILTER_JOIN_GET ||
		    p->join == FILTER_JOIN_CLEAR ||
		    p->join == FILTER_JOIN_CHECK)))
			filter_err(fp, p->regex_line, "pattern %s: %s %s "
			    "needs a (?<%s>) group", p->name, key,
			    filter_field_names[i], filter_field_names[i]);
}

/* Checks what one key needs of another, once all are read. */
static void
filter_check_pattern(struct filter_parse *fp, struct filter_pattern *p)
{
	if (p->kind_set == 0)
		filter_err(fp, p->line, "pattern %s: missing kind", p->name);
	else if (p->kind_set == 1 && p->st.kind == EVENT_NONE &&
	    p->join != FILTER_JOIN_SET && p->join != FILTER_JOIN_CLEAR &&
	    !p->carry)
		filter_err(fp, p->line, "pattern %s: kind none is only for "
		    "join = set or clear, or carry", p->name);
	if (p->carry && p->kind_set == 1 && p->st.kind != EVENT_NONE)
		filter_err(fp, p->line, "pattern %s: carry needs kind none",
		    p->name);
	if (p->regex == NULL) {
		filter_err(fp, p->line, "pattern %s: missing regex", p->name);
		return;
	}
	if (p->re == NULL)
		return;
	if (p->join != FILTER_JOIN_NONE && p->grp[FILTER_F_KEY] == 0)
		filter_err(fp, p->regex_line, "pattern %s: join needs a "
		    "(?<key>) group", p->name);
	if (p->join == FILTER_JOIN_SET && p->grp[FILTER_F_IP] == 0)
		filter_err(fp, p->regex_line, "pattern %s: join = set needs "
		    "an (?<ip>) group", p->name);
	if (p->carry && p->grp[FILTER_F_TIME] == 0)
		filter_err(fp, p->regex_line, "pattern %s: carry = time needs "
		    "a (?<time>) group", p->name);
	if (p->grp[FILTER_F_TIME] != 0 && fp->timefmt == NULL &&
	    fp->time_set)
		filter_err(fp, p->regex_line, "pattern %s: (?<time>) group "
		    "but time = none", p->name);
	filter_check_fields(fp, p, "once_per", p->once);
	filter_check_fields(fp, p, "fold", p->fold);
	if (p->fold != 0 && p->once != 0)
		filter_err(fp, p->line, "pattern %s: fold and once_per "
		    "together", p->name);
	if (p->fold_max != 0 && p->fold == 0)
		filter_err(fp, p->line, "pattern %s: fold_max without fold",
		    p->name);
	/* With mechanisms, an attempt is as long as they stay new. */
	if (p->fold != 0 && p->fold_max == 0) {
		if (p->fold & (1U << FILTER_F_MECH))
			p->fold_max = FILTER_FOLD_MAX;
		else
			filter_err(fp, p->line, "pattern %s: fold without "
			    "mech needs fold_max (the lines one attempt "
			    "writes)", p->name);
	}
}

struct filter *
filter_load_buf(const char *name, const char *buf, size_t len, char **cause)
{
	struct filter_parse	 fp;
	struct filter		*f;
	uint32_t		 maxcap = 0;
	size_t			 i;
	char			*why;

	memset(&fp, 0, sizeof(fp));
	fp.file = name;
	fp.f = f = xcalloc(1, sizeof(*f));
	fp.join_cap = fp.dedup_cap = 4096;
	fp.join_ttl = 600 * CLOCK_US_PER_SEC;
	fp.dedup_window = 10 * CLOCK_US_PER_SEC;
	fp.match_limit = 100000;
	fp.depth_limit = 10000;

	(void)inifile_parse_buf(&filter_ini, buf, len, &fp);

	if (fp.filter_line == 0)
		filter_err(&fp, 0, "missing [filter] section");
	else {
		if (f->name == NULL && fp.seen[0] == 0)
			filter_err(&fp, fp.filter_line,
			    "[filter]: missing name");
		if (!fp.time_set)
			filter_err(&fp, fp.filter_line, "[filter]: missing "
			    "time (a strptime format, or none)");
	}
	if (fp.timefmt != NULL) {
		if (logtime_init(&f->time, fp.timefmt, f->utc, &why) == -1) {
			filter_err(&fp, fp.time_line, "time: %s", why);
			free(why);
		} else
			f->has_time = 1;
		free(fp.timefmt);
	}
	if (f->npat == 0)
		filter_err(&fp, 0, "no [pattern] section");
	for (i = 0; i < f->npat; i++) {
		if (f->pat[i].regex != NULL)
			filter_compile(&fp, &f->pat[i], &maxcap);
		filter_check_pattern(&fp, &f->pat[i]);
	}
	if (fp.nerr > 0) {
		*cause = filter_err_join(&fp);
		filter_free(f);
		return NULL;
	}

	f->mctx = pcre2_match_context_create(NULL);
	f->md = pcre2_match_data_create(maxcap + 1, NULL);
	f->rmd = pcre2_match_data_create(1, NULL);
	if (f->mctx == NULL || f->md == NULL || f->rmd == NULL)
		fatalx("pcre2: out of memory");
	pcre2_set_match_limit(f->mctx, (uint32_t)fp.match_limit);
	pcre2_set_depth_limit(f->mctx, (uint32_t)fp.depth_limit);
	pcre2_set_heap_limit(f->mctx, FILTER_HEAP_LIMIT);
	filter_tables_init(f, (uint32_t)fp.join_cap, fp.join_ttl,
	    (uint32_t)fp.dedup_cap, fp.dedup_window);
	filter_rank(f);
	filter_scan_setup(f);
	return f;
}

struct filter *
filter_load(const char *path, char **cause)
{
	struct filter	*f;
	FILE		*fp;
	char		*buf, *why;
	size_t		 len;

	if ((fp = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	/* StrictModes: a filter decides whom root bans. */
	if (perm_check_root(path, &why) == -1) {
		*cause = xasprintf("%s: %s", path, why);
		free(why);
		fclose(fp);
		return NULL;
	}
	buf = xmalloc(FILTER_FILE_MAX + 1);
	len = fread(buf, 1, FILTER_FILE_MAX + 1, fp);
	if (ferror(fp)) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		f = NULL;
	} else if (len > FILTER_FILE_MAX) {
		*cause = xasprintf("%s: larger than %d bytes", path,
		    FILTER_FILE_MAX);
		f = NULL;
	} else
		f = filter_load_buf(path, buf, len, cause);
	free(buf);
	fclose(fp);
	return f;
}

/*
 * Where a filter named in the configuration lives: a value holding a '/'
 * is a path; a bare name is looked for as NAME.conf in the local
 * directory (SYSCONFDIR/xmppguard/filters, where an operator's own or
 * changed filters go), then in the shipped one (DATADIR/filters), then in
 * filters/ beside the running binary, so a source tree works uninstalled.
 */
char *
filter_path(const char *name, char **cause)
{
	const char	*dirs[] = {
		XG_SYSCONFDIR "/xmppguard/filters", XG_DATADIR "/filters", NULL
	};
	char		 exe[PATH_MAX], *slash, *path;
	ssize_t		 n;
	size_t		 i;

	if (strchr(name, '/') != NULL)
		return xstrdup(name);
	if (*name == '\0' || strlen(name) > NAME_MAX - 5 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(name) ||
	    name[0] == '.') {
		*cause = xasprintf("filter %s: not a filter name (letters, "
		    "digits, '-', '_', '.') nor a path", name);
		return NULL;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			strcpy(slash, "/filters");
			dirs[2] = exe;
		}
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && dirs[i] != NULL;
	    i++) {
		path = xasprintf("%s/%s.conf", dirs[i], name);
		if (access(path, R_OK) == 0)
			return path;
		free(path);
	}
	*cause = xasprintf("filter %s: no %s.conf in %s/xmppguard/filters, "
	    "%s/filters%s%s", name, name, XG_SYSCONFDIR, XG_DATADIR,
	    dirs[2] != NULL ? " or " : "", dirs[2] != NULL ? dirs[2] : "");
	return NULL;
}

void
filter_free(struct filter *f)
{
	size_t	i;

	if (f == NULL)
		return;
	for (i = 0; i < f->npat; i++) {
		free(f->pat[i].name);
		free(f->pat[i].literal);
		free(f->pat[i].regex);
		pcre2_code_free(f->pat[i].re);
		free(f->pat[i].refuse);
		pcre2_code_free(f->pat[i].refuse_re);
	}
	free(f->pat);
	for (i = 0; i < f->nprefilter; i++)
		free(f->prefilter[i]);
	free(f->prefilter);
	free(f->prefilter_lit);
	free(f->scan);
	free(f->file_win);
	for (i = 0; i < f->nsample; i++)
		free(f->sample[i]);
	free(f->sample);
	free(f->sample_pat);
	pcre2_match_data_free(f->md);
	pcre2_match_data_free(f->rmd);
	pcre2_match_context_free(f->mctx);
	filter_tables_clear(f);
	free(f->name);
	if (f->has_time)
		logtime_clear(&f->time);
	free(f);
}
