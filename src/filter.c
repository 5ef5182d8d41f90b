/*
 * Filters: one XMPP server's log format, as data.
 *
 * A filter file is INI-like.  Whole-line comments start with '#' or ';';
 * there are no inline comments, so a regex may hold either character.  A
 * value is everything after the first '=', blanks trimmed at both ends (a
 * regex that must end in a blank spells it \s or \x20).  Errors are
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
 *	dedup_capacity = 4096			once_per table entries
 *	dedup_window   = 10s			once_per window
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
 *						host, key, time, port
 *	join     = set | get | clear		optional, needs a key group
 *	once_per = key				optional: ip, user, host, key,
 *						comma-separated
 *
 * The time group is parsed with the filter's format.  strptime(3) has no
 * fractions, so "%f" stands for optional fractional seconds (".123",
 * ",123456"); they are also read when they follow the whole format.  %z
 * (an offset in the line) overrides timezone.  Formats without a year take
 * the current one, or the previous one for a date more than a day ahead.
 *
 * Matching.  The first pattern whose literal is present and whose regex
 * matches gives the line's event.  Regexes are compiled without PCRE2_UTF,
 * so log lines are bytes: NUL bytes and invalid UTF-8 match or not, they
 * never fail.  Each is JIT-compiled when the platform allows and otherwise
 * interpreted; a match context with match, depth and heap limits bounds
 * the work of any one line (JIT code ignores the depth limit, but its own
 * stack is bounded too), so a pathological pattern costs a counted
 * error (fail2ban GHSA-33wh-ccjc-p397 hung the daemon) and the daemon
 * moves on.  One match data block, sized for the largest pattern, is
 * reused for every line.
 *
 * Joins.  Some servers write the address once, on the connection line,
 * and only a correlation key (Prosody session id, ejabberd Erlang pid,
 * jabberd2 fd) on the later lines.  "join = set" records key -> address,
 * "get" gives a line without an address the recorded one, "clear" does the
 * same and then forgets the key, so a reused fd cannot inherit the old
 * client's address; a "set" whose line has no usable address forgets the
 * key for the same reason.
 *
 * Dedup.  A client that fails SASL tries its next mechanism on the same
 * connection, and the server writes a failure line for each: 2-3 lines for
 * one wrong password.  "once_per = key" reports the first and marks the
 * repeats of the same kind and key within dedup_window as FILTER_R_DUP
 * instead of events.  The window runs from the first report and is not
 * extended by repeats, so a client hammering one connection still counts
 * once per window rather than once forever.  Without a key, "once_per =
 * ip,user" is the closest substitute.
 *
 * Both tables have the same shape (ftab): a fixed array of entries keyed
 * by a 64-bit keyed hash (SipHash, secret per filter, so log contents
 * cannot aim collisions; the key text is not stored, and two keys sharing
 * a hash, a 2^-64 chance, would share an entry), hash chains for lookup,
 * and a list in order of last write for expiry and eviction.  Invariants:
 * an entry is on exactly one of the free list or (a chain and the age
 * list); the age list is oldest first; a full table evicts its oldest
 * entry and counts it.  Their clock is the line's own time when it has
 * one, else 'now', so a replayed log joins as it did live.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf.h"
#include "filter.h"
#include "log.h"
#include "logtime.h"
#include "xmalloc.h"

#define FILTER_FILE_MAX		(1024 * 1024)
#define FILTER_ERRORS_MAX	50
#define FILTER_HEAP_LIMIT	(32 * 1024)	/* KiB */
#define FILTER_LOOKBACK_MAX	100000	/* lines filter_lookback() reads */
#define FILTER_US		INT64_C(1000000)

enum filter_field {
	FILTER_F_IP,
	FILTER_F_USER,
	FILTER_F_HOST,
	FILTER_F_KEY,
	FILTER_F_TIME,
	FILTER_F_PORT,
	FILTER_F_MAX
};

static const char *const filter_field_names[FILTER_F_MAX] = {
	"ip", "user", "host", "key", "time", "port"
};

enum filter_join {
	FILTER_JOIN_NONE,
	FILTER_JOIN_SET,
	FILTER_JOIN_GET,
	FILTER_JOIN_CLEAR
};

struct ftab_entry {
	uint64_t	 h;
	struct addr	 addr;
	int64_t		 t;		/* last write */
	uint32_t	 chain;		/* next in bucket, or FTAB_NIL */
	uint32_t	 older, newer;	/* age list, or free list (newer) */
};

#define FTAB_NIL	UINT32_MAX

struct ftab {
	struct ftab_entry *e;
	uint32_t	*bucket;
	uint32_t	 cap, mask;
	uint32_t	 oldest, newest, free;
	int64_t		 ttl;
	uint64_t	*evictions;
};

/*
 * A literal to look for: memchr(3) for its rarest byte (by a fixed table
 * of how common each byte is in log text), then memcmp(3) around it.
 * memchr runs at memory speed, and a rare byte stops it seldom, so this
 * beats memmem(3) by far on the short needles and lines of a log.
 */
struct filter_lit {
	const char	*s;
	size_t		 len;
	size_t		 rare;		/* index of the rarest byte */
};

struct filter_pattern {
	char		*name;
	int		 line;		/* of the [pattern] header */
	int		 kind_set;
	char		*literal;
	struct filter_lit lit;
	char		*regex;
	int		 regex_line;
	pcre2_code	*re;
	enum filter_join join;
	unsigned int	 once;		/* 1 << FILTER_F_* */
	int		 grp[FILTER_F_MAX];	/* group number, 0: none */
	int		 jit;		/* compiled to machine code */
	int		 off;		/* filter_restrict(): not tried */
	int		 quiet;		/* filter_restrict(): joins only */
	struct filter_pattern_stats st;
};

struct filter {
	char		*name;
	int		 has_time;	/* 0: arrival time */
	struct logtime	 time;
	int		 utc;
	char		**prefilter;
	struct filter_lit *prefilter_lit;
	size_t		 nprefilter;
	uint8_t		 rank[256];	/* how common each byte is */
	struct filter_pattern *pat;
	size_t		 npat;
	const struct filter_lit **scan;	/* filter_scan() literals, or NULL */
	size_t		 nscan;
	int		 restricted;	/* filter_restrict() in force */
	const char	*scan_base;	/* filter_scan()'s buffer while it
					 * runs, for filter_lookback() */
	const char	*lb_base;	/* filter_set_lookback() */
	int64_t		 lb_until;
	char		**sample;
	int		*sample_pat;	/* pattern index, -1: [filter] */
	size_t		 nsample;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	struct ftab	 join;
	struct ftab	 dedup;
	uint8_t		 seed[16];
	struct filter_stats st;
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

/* SipHash-2-4 (Aumasson, Bernstein): a keyed hash of log text. */
#define FILTER_ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))
#define FILTER_SIPROUND do {						\
	v0 += v1; v1 = FILTER_ROTL(v1, 13); v1 ^= v0;			\
	v0 = FILTER_ROTL(v0, 32);					\
	v2 += v3; v3 = FILTER_ROTL(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = FILTER_ROTL(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = FILTER_ROTL(v1, 17); v1 ^= v2;			\
	v2 = FILTER_ROTL(v2, 32);					\
} while (0)

static uint64_t
filter_le64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t
filter_hash(const uint8_t seed[16], const void *data, size_t len)
{
	const uint8_t	*p = data;
	uint64_t	 k0 = filter_le64(seed), k1 = filter_le64(seed + 8);
	uint64_t	 v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t	 v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t	 v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t	 v3 = k1 ^ UINT64_C(0x7465646279746573);
	uint64_t	 m, b = (uint64_t)len << 56;
	uint8_t		 tail[8];
	size_t		 i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = filter_le64(p + i);
		v3 ^= m;
		FILTER_SIPROUND;
		FILTER_SIPROUND;
		v0 ^= m;
	}
	memset(tail, 0, sizeof(tail));
	if (left > 0)
		memcpy(tail, p + i, left);
	b |= filter_le64(tail);
	v3 ^= b;
	FILTER_SIPROUND;
	FILTER_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	FILTER_SIPROUND;
	FILTER_SIPROUND;
	FILTER_SIPROUND;
	FILTER_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static void
ftab_init(struct ftab *t, uint32_t cap, int64_t ttl, uint64_t *evictions)
{
	uint32_t	i, nb = 1;

	while (nb < cap)
		nb <<= 1;
	t->e = xcalloc(cap, sizeof(*t->e));
	t->bucket = xreallocarray(NULL, nb, sizeof(*t->bucket));
	for (i = 0; i < nb; i++)
		t->bucket[i] = FTAB_NIL;
	t->mask = nb - 1;
	t->cap = cap;
	t->ttl = ttl;
	t->evictions = evictions;
	t->oldest = t->newest = FTAB_NIL;
	for (i = 0; i < cap; i++)
		t->e[i].newer = i + 1 < cap ? i + 1 : FTAB_NIL;
	t->free = 0;
}

static void
ftab_clear(struct ftab *t)
{
	free(t->e);
	free(t->bucket);
	memset(t, 0, sizeof(*t));
}

static void
ftab_unlink_age(struct ftab *t, uint32_t i)
{
	struct ftab_entry	*e = &t->e[i];

	if (e->older != FTAB_NIL)
		t->e[e->older].newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != FTAB_NIL)
		t->e[e->newer].older = e->older;
	else
		t->newest = e->older;
}

static void
ftab_link_newest(struct ftab *t, uint32_t i)
{
	t->e[i].older = t->newest;
	t->e[i].newer = FTAB_NIL;
	if (t->newest != FTAB_NIL)
		t->e[t->newest].newer = i;
	else
		t->oldest = i;
	t->newest = i;
}

static void
ftab_remove(struct ftab *t, uint32_t i)
{
	uint32_t	*pp = &t->bucket[t->e[i].h & t->mask];

	while (*pp != i)
		pp = &t->e[*pp].chain;
	*pp = t->e[i].chain;
	ftab_unlink_age(t, i);
	t->e[i].newer = t->free;
	t->free = i;
}

static int
ftab_expired(const struct ftab *t, uint32_t i, int64_t now)
{
	return now - t->e[i].t >= t->ttl;
}

/* The live entry for h, or NULL; an expired one is removed on the way. */
static struct ftab_entry *
ftab_find(struct ftab *t, uint64_t h, int64_t now)
{
	uint32_t	i;

	for (i = t->bucket[h & t->mask]; i != FTAB_NIL; i = t->e[i].chain) {
		if (t->e[i].h != h)
			continue;
		if (ftab_expired(t, i, now)) {
			ftab_remove(t, i);
			return NULL;
		}
		return &t->e[i];
	}
	return NULL;
}

static void
ftab_put(struct ftab *t, uint64_t h, const struct addr *a, int64_t now)
{
	struct ftab_entry	*e;
	uint32_t		 i;

	if ((e = ftab_find(t, h, now)) != NULL) {
		i = (uint32_t)(e - t->e);
		ftab_unlink_age(t, i);
	} else {
		while (t->oldest != FTAB_NIL && ftab_expired(t, t->oldest, now))
			ftab_remove(t, t->oldest);
		if (t->free == FTAB_NIL) {
			ftab_remove(t, t->oldest);
			(*t->evictions)++;
		}
		i = t->free;
		t->free = t->e[i].newer;
		e = &t->e[i];
		e->h = h;
		e->chain = t->bucket[h & t->mask];
		t->bucket[h & t->mask] = i;
	}
	if (a != NULL)
		e->addr = *a;
	else
		memset(&e->addr, 0, sizeof(e->addr));
	e->t = now;
	ftab_link_newest(t, i);
}

static void
ftab_del(struct ftab *t, uint64_t h, int64_t now)
{
	struct ftab_entry	*e;

	if ((e = ftab_find(t, h, now)) != NULL)
		ftab_remove(t, (uint32_t)(e - t->e));
}

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

/* The first occurrence of l in h[0..n), or NULL. */
static const char *
filter_lit_find(const struct filter_lit *l, const char *h, size_t n)
{
	const char	*p, *end;
	unsigned char	 c;

	if (n < l->len || l->len == 0)
		return l->len == 0 ? h : NULL;
	c = (unsigned char)l->s[l->rare];
	/* The rare byte of a match starting at k sits at k + rare, for k
	 * from 0 to n - len. */
	p = h + l->rare;
	end = h + (n - l->len) + l->rare + 1;
	while (p < end && (p = memchr(p, c, (size_t)(end - p))) != NULL) {
		/* The last byte first: most false hits end there. */
		if (p[l->len - 1 - l->rare] == l->s[l->len - 1] &&
		    memcmp(p - l->rare, l->s, l->len) == 0)
			return p - l->rare;
		p++;
	}
	return NULL;
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
		if (n > (max - (uint64_t)(*s - '0')) / 10)
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

static void
filter_key_pattern(struct filter_parse *fp, const char *key, const char *val)
{
	struct filter_pattern	*p = &fp->f->pat[fp->f->npat - 1];
	char			*list, *tok, *save;
	int			 i;

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
		else
			filter_err(fp, fp->lineno,
			    "pattern %s: join: set, get or clear", p->name);
	} else if (strcmp(key, "once_per") == 0) {
		list = xstrdup(val);
		for (tok = strtok_r(list, ", \t", &save); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &save)) {
			for (i = 0; i < FILTER_F_MAX; i++)
				if (strcmp(tok, filter_field_names[i]) == 0)
					break;
			if (i == FILTER_F_TIME || i == FILTER_F_PORT ||
			    i == FILTER_F_MAX)
				filter_err(fp, fp->lineno, "pattern %s: "
				    "once_per: unknown field %s (use ip, user, "
				    "host or key)", p->name, tok);
			else
				p->once |= 1U << i;
		}
		free(list);
		if (p->once == 0)
			filter_err(fp, fp->lineno, "pattern %s: empty once_per",
			    p->name);
	} else
		filter_err(fp, fp->lineno, "pattern %s: unknown key %s",
		    p->name, key);
}

static void
filter_section(struct filter_parse *fp, char *s)
{
	struct filter		*f = fp->f;
	struct filter_pattern	*p;
	char			*end, *name;
	size_t			 i;

	if ((end = strchr(s, ']')) == NULL || end[1] != '\0') {
		filter_err(fp, fp->lineno, "bad section header");
		fp->section = -1;
		return;
	}
	*end = '\0';
	s++;
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
filter_line(struct filter_parse *fp, char *s)
{
	char	*eq, *key, *val, *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	if (*s == '\0' || *s == '#' || *s == ';')
		return;
	if (*s == '[') {
		filter_section(fp, s);
		return;
	}
	if ((eq = strchr(s, '=')) == NULL) {
		filter_err(fp, fp->lineno, "expected KEY = VALUE or [SECTION]");
		return;
	}
	key = s;
	e = eq;
	while (e > key && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	val = eq + 1;
	val += strspn(val, " \t");
	if (*key == '\0') {
		filter_err(fp, fp->lineno, "missing key before '='");
		return;
	}
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
			    "port)", p->name, gname);
		else
			p->grp[i] = n;
	}
}

/* Checks what one key needs of another, once all are read. */
static void
filter_check_pattern(struct filter_parse *fp, struct filter_pattern *p)
{
	int	i;

	if (p->kind_set == 0)
		filter_err(fp, p->line, "pattern %s: missing kind", p->name);
	else if (p->kind_set == 1 && p->st.kind == EVENT_NONE &&
	    p->join != FILTER_JOIN_SET && p->join != FILTER_JOIN_CLEAR)
		filter_err(fp, p->line, "pattern %s: kind none is only for "
		    "join = set or clear", p->name);
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
	if (p->grp[FILTER_F_TIME] != 0 && fp->timefmt == NULL &&
	    fp->time_set)
		filter_err(fp, p->regex_line, "pattern %s: (?<time>) group "
		    "but time = none", p->name);
	for (i = 0; i < FILTER_F_MAX; i++)
		if ((p->once & (1U << i)) && p->grp[i] == 0 &&
		    !(i == FILTER_F_IP && (p->join == FILTER_JOIN_GET ||
		    p->join == FILTER_JOIN_CLEAR)))
			filter_err(fp, p->regex_line, "pattern %s: once_per "
			    "%s needs a (?<%s>) group", p->name,
			    filter_field_names[i], filter_field_names[i]);
}

/*
 * The literals filter_scan() looks for in a whole buffer: the prefilter
 * if there is one and no restriction narrows the patterns, else the
 * literals of the patterns still tried, if every one of them has one.  A
 * line holding none of them cannot give a match, so it need not be
 * looked at.  No literals: every line goes through filter_match().
 */
static void
filter_scan_setup(struct filter *f)
{
	size_t	i, j, n = 0;
	int	narrowed = 0;

	free(f->scan);
	f->scan = NULL;
	f->nscan = 0;
	for (i = 0; i < f->npat; i++) {
		if (f->pat[i].off || f->pat[i].quiet)
			narrowed = 1;
		else if (f->pat[i].literal == NULL)
			n = SIZE_MAX;
		else if (n != SIZE_MAX)
			n++;
	}
	if (f->nprefilter > 0 && (!narrowed || n == SIZE_MAX)) {
		f->scan = xcalloc(f->nprefilter, sizeof(*f->scan));
		for (i = 0; i < f->nprefilter; i++)
			f->scan[i] = &f->prefilter_lit[i];
		f->nscan = f->nprefilter;
		return;
	}
	if (n == SIZE_MAX || n == 0)
		return;
	f->scan = xcalloc(n, sizeof(*f->scan));
	for (i = 0; i < f->npat; i++) {
		if (f->pat[i].off || f->pat[i].quiet)
			continue;
		for (j = 0; j < f->nscan; j++)
			if (strcmp(f->scan[j]->s, f->pat[i].literal) == 0)
				break;
		if (j < f->nscan)
			continue;
		f->scan[f->nscan++] = &f->pat[i].lit;
	}
}

struct filter *
filter_load_buf(const char *name, const char *buf, size_t len, char **cause)
{
	struct filter_parse	 fp;
	struct filter		*f;
	const char		*p, *nl;
	char			*line;
	uint32_t		 maxcap = 0;
	size_t			 i;
	char			*why;

	memset(&fp, 0, sizeof(fp));
	fp.file = name;
	fp.f = f = xcalloc(1, sizeof(*f));
	fp.join_cap = fp.dedup_cap = 4096;
	fp.join_ttl = 600 * FILTER_US;
	fp.dedup_window = 10 * FILTER_US;
	fp.match_limit = 100000;
	fp.depth_limit = 10000;

	for (p = buf; p < buf + len; p = nl + 1) {
		fp.lineno++;
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;
		if (memchr(p, '\0', (size_t)(nl - p)) != NULL) {
			filter_err(&fp, fp.lineno, "NUL byte");
			continue;
		}
		line = xstrndup(p, (size_t)(nl - p));
		filter_line(&fp, line);
		free(line);
	}

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
	if (f->mctx == NULL || f->md == NULL)
		fatalx("pcre2: out of memory");
	pcre2_set_match_limit(f->mctx, (uint32_t)fp.match_limit);
	pcre2_set_depth_limit(f->mctx, (uint32_t)fp.depth_limit);
	pcre2_set_heap_limit(f->mctx, FILTER_HEAP_LIMIT);
	ftab_init(&f->join, (uint32_t)fp.join_cap, fp.join_ttl,
	    &f->st.join_evictions);
	ftab_init(&f->dedup, (uint32_t)fp.dedup_cap, fp.dedup_window,
	    &f->st.dedup_evictions);
	arc4random_buf(f->seed, sizeof(f->seed));
	filter_rank(f);
	filter_scan_setup(f);
	return f;
}

struct filter *
filter_load(const char *path, char **cause)
{
	struct filter	*f;
	FILE		*fp;
	char		*buf;
	size_t		 len;

	if ((fp = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
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
	}
	free(f->pat);
	for (i = 0; i < f->nprefilter; i++)
		free(f->prefilter[i]);
	free(f->prefilter);
	free(f->prefilter_lit);
	free(f->scan);
	for (i = 0; i < f->nsample; i++)
		free(f->sample[i]);
	free(f->sample);
	free(f->sample_pat);
	pcre2_match_data_free(f->md);
	pcre2_match_context_free(f->mctx);
	ftab_clear(&f->join);
	ftab_clear(&f->dedup);
	free(f->name);
	if (f->has_time)
		logtime_clear(&f->time);
	free(f);
}

/* Matching. */

/* Copies a group into dst as a string, cut to size. */
static void
filter_copy(char *dst, size_t size, const char *s, size_t n,
    struct filter_result *out)
{
	if (n >= size) {
		n = size - 1;
		out->flags |= FILTER_R_TRUNC;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* The hash of out's once_per fields for p, or 0 if they are all empty. */
static uint64_t
filter_dedup_hash(const struct filter *f, const struct filter_pattern *p,
    const struct filter_result *out)
{
	uint8_t		 buf[2 + sizeof(struct addr) + 3 * FILTER_USER_MAX];
	size_t		 len = 0, n;
	int		 any = 0, i;
	const char	*s;

	buf[len++] = (uint8_t)out->kind;
	for (i = 0; i < FILTER_F_MAX; i++) {
		if (!(p->once & (1U << i)))
			continue;
		if (i == FILTER_F_IP) {
			if (out->addr.family != 0)
				any = 1;
			memcpy(buf + len, &out->addr, sizeof(out->addr));
			len += sizeof(out->addr);
			continue;
		}
		s = i == FILTER_F_USER ? out->user :
		    i == FILTER_F_HOST ? out->host : out->key;
		n = strlen(s);
		if (n > 0)
			any = 1;
		memcpy(buf + len, s, n + 1);	/* the NUL separates */
		len += n + 1;
	}
	if (!any)
		return 0;
	return filter_hash(f->seed, buf, len) | 1;
}

/*
 * The join of a restricted filter_scan() (test-filter --kind): the
 * patterns that only feed the join table were not run on every line, so
 * a line that needs an address from an earlier one looks back for it,
 * line by line through the scan buffer, for the nearest join = set or
 * clear line with the same key, and takes its address if it is a set
 * within join_ttl.  The cost falls only on the lines that need a join,
 * and the answer is the one the table would have given, except where
 * the table would have evicted the entry.  line is the start of the
 * current line; 1 and *addr if found.
 */
static int
filter_lookback(struct filter *f, const char *line, const char *key,
    size_t keylen, int64_t t, struct addr *addr)
{
	struct filter_pattern	*p;
	const char		*ls, *le = line, *k;
	PCRE2_SIZE		*ov = pcre2_get_ovector_pointer(f->md);
	struct addr		 a;
	uint16_t		 port;
	const char		*base;
	int64_t			 lt;
	size_t			 i, lines;
	int			 rc, g;

	base = f->restricted && f->scan_base != NULL ? f->scan_base :
	    f->lb_base;
	for (lines = 0; le > base && lines < FILTER_LOOKBACK_MAX; lines++) {
		le--;			/* the newline ending that line */
		ls = memrchr(base, '\n', (size_t)(le - base));
		ls = ls == NULL ? base : ls + 1;
		for (i = 0; i < f->npat; i++) {
			p = &f->pat[i];
			if (p->literal != NULL && filter_lit_find(&p->lit, ls,
			    (size_t)(le - ls)) == NULL)
				continue;
			rc = pcre2_match(p->re, (PCRE2_SPTR)ls,
			    (size_t)(le - ls), 0, 0, f->md, f->mctx);
			if (rc <= 0)
				continue;
			/* The line's own pattern, as in the whole filter:
			 * only a join line of the same key answers. */
			if (p->join != FILTER_JOIN_SET &&
			    p->join != FILTER_JOIN_CLEAR)
				break;
			g = p->grp[FILTER_F_KEY];
			if (g >= rc || ov[2 * g] == PCRE2_UNSET ||
			    ov[2 * g + 1] - ov[2 * g] != keylen)
				continue;
			k = ls + ov[2 * g];
			if (memcmp(k, key, keylen) != 0)
				continue;
			if (p->join != FILTER_JOIN_SET)
				return 0;	/* cleared: the key was reused */
			g = p->grp[FILTER_F_IP];
			if (g >= rc || ov[2 * g] == PCRE2_UNSET ||
			    addr_parse_n(ls + ov[2 * g], ov[2 * g + 1] -
			    ov[2 * g], &a, &port) == -1)
				return 0;
			g = p->grp[FILTER_F_TIME];
			if (g != 0 && g < rc && ov[2 * g] != PCRE2_UNSET &&
			    f->has_time && (lt = logtime_parse(&f->time,
			    ls + ov[2 * g], ov[2 * g + 1] - ov[2 * g], t)) >= 0 &&
			    t - lt > f->join.ttl)
				return 0;	/* expired */
			*addr = a;
			return 1;
		}
		le = ls;
	}
	return 0;
}

/* Fills out from p's match of line, runs the join and the dedup. */
static int
filter_extract(struct filter *f, struct filter_pattern *p, int rc,
    const char *line, int64_t now, struct filter_result *out)
{
	PCRE2_SIZE		*ov = pcre2_get_ovector_pointer(f->md);
	struct ftab_entry	*e;
	const char		*s[FILTER_F_MAX];
	size_t			 n[FILTER_F_MAX], k;
	uint64_t		 h = 0;
	int64_t			 t;
	unsigned int		 port;
	int			 i, g;

	for (i = 0; i < FILTER_F_MAX; i++) {
		s[i] = NULL;
		n[i] = 0;
		g = p->grp[i];
		/* End before start is possible with \K in a lookaround. */
		if (g == 0 || g >= rc || ov[2 * g] == PCRE2_UNSET ||
		    ov[2 * g + 1] < ov[2 * g])
			continue;
		s[i] = line + ov[2 * g];
		n[i] = ov[2 * g + 1] - ov[2 * g];
	}
	out->kind = p->st.kind;
	if (n[FILTER_F_IP] > 0 && addr_parse_n(s[FILTER_F_IP], n[FILTER_F_IP],
	    &out->addr, &out->sport) == -1) {
		/* "hidden_by_ejabberd", "?", garbage: no address. */
		memset(&out->addr, 0, sizeof(out->addr));
		out->sport = 0;
	}
	if (n[FILTER_F_PORT] > 0 && n[FILTER_F_PORT] <= 5) {
		port = 0;
		for (k = 0; k < n[FILTER_F_PORT]; k++) {
			if (!isdigit((unsigned char)s[FILTER_F_PORT][k]))
				break;
			port = port * 10 + (unsigned int)
			    (s[FILTER_F_PORT][k] - '0');
		}
		if (k == n[FILTER_F_PORT] && port <= 65535)
			out->sport = (uint16_t)port;
	}
	if (s[FILTER_F_USER] != NULL)
		filter_copy(out->user, sizeof(out->user), s[FILTER_F_USER],
		    n[FILTER_F_USER], out);
	if (s[FILTER_F_HOST] != NULL)
		filter_copy(out->host, sizeof(out->host), s[FILTER_F_HOST],
		    n[FILTER_F_HOST], out);
	if (s[FILTER_F_KEY] != NULL)
		filter_copy(out->key, sizeof(out->key), s[FILTER_F_KEY],
		    n[FILTER_F_KEY], out);
	if (n[FILTER_F_TIME] > 0 && f->has_time && (t = logtime_parse(&f->time,
	    s[FILTER_F_TIME], n[FILTER_F_TIME], now)) >= 0) {
		out->time = t;
		out->flags |= FILTER_R_TIME;
	}

	/* The whole key, not the copy in out, which may be cut. */
	if (p->join != FILTER_JOIN_NONE && n[FILTER_F_KEY] > 0)
		h = filter_hash(f->seed, s[FILTER_F_KEY], n[FILTER_F_KEY]);
	if (h != 0) {
		switch (p->join) {
		case FILTER_JOIN_SET:
			if (out->addr.family != 0)
				ftab_put(&f->join, h, &out->addr, out->time);
			else
				ftab_del(&f->join, h, out->time);
			break;
		case FILTER_JOIN_GET:
		case FILTER_JOIN_CLEAR:
			if (out->addr.family == 0) {
				if ((e = ftab_find(&f->join, h, out->time)) !=
				    NULL) {
					out->addr = e->addr;
					out->flags |= FILTER_R_JOINED;
					f->st.join_hits++;
				} else if (((f->restricted && f->scan_base !=
				    NULL) || (f->lb_base != NULL &&
				    out->time < f->lb_until)) &&
				    filter_lookback(f, line, s[FILTER_F_KEY],
				    n[FILTER_F_KEY], out->time, &out->addr)) {
					out->flags |= FILTER_R_JOINED;
					f->st.join_hits++;
				} else
					f->st.join_misses++;
			}
			if (p->join == FILTER_JOIN_CLEAR)
				ftab_del(&f->join, h, out->time);
			break;
		case FILTER_JOIN_NONE:
			break;
		}
	}

	if (out->kind == EVENT_NONE)
		return 0;
	if (p->once != 0 && (h = filter_dedup_hash(f, p, out)) != 0) {
		if (ftab_find(&f->dedup, h, out->time) != NULL) {
			out->flags |= FILTER_R_DUP;
			p->st.dups++;
			return 0;
		}
		ftab_put(&f->dedup, h, NULL, out->time);
	}
	return out->kind;
}

/*
 * filter_match(), told whether the caller already found one of the
 * prefilter literals in the line (filter_scan() has).
 */
static int
filter_match_line(struct filter *f, const char *line, size_t len,
    int64_t now, struct filter_result *out, int prefiltered)
{
	struct filter_pattern	*p;
	size_t			 i;
	int			 rc, failed = 0;

	/* Not a memset: most lines match nothing, and out is large. */
	out->kind = EVENT_NONE;
	out->pattern = -1;
	memset(&out->addr, 0, sizeof(out->addr));
	out->sport = 0;
	out->time = now;
	out->user[0] = out->host[0] = out->key[0] = '\0';
	out->flags = 0;
	if (line == NULL)
		line = "";
	f->st.lines++;

	if (f->nprefilter > 0 && !prefiltered) {
		for (i = 0; i < f->nprefilter; i++)
			if (filter_lit_find(&f->prefilter_lit[i], line,
			    len) != NULL)
				break;
		if (i == f->nprefilter) {
			f->st.prefiltered++;
			return 0;
		}
	}
	for (i = 0; i < f->npat; i++) {
		p = &f->pat[i];
		/* Restricted (--kind), every pattern is still tried in
		 * order, so a line goes to the pattern the whole filter
		 * would give it; join feeders are looked back for instead
		 * of run, while filter_scan() runs. */
		if (p->literal != NULL &&
		    filter_lit_find(&p->lit, line, len) == NULL)
			continue;
		p->st.tried++;
		/* The JIT entry skips the interpreter's option checks; its
		 * limits come from the same match context. */
		rc = (p->jit ? pcre2_jit_match : pcre2_match)(p->re,
		    (PCRE2_SPTR)line, len, 0, 0, f->md,
		    f->mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			continue;
		if (rc < 0) {
			/* Match, depth, heap or JIT stack limit: the line
			 * is lost to this pattern, the daemon is not. */
			p->st.errors++;
			f->st.errors++;
			failed = 1;
			continue;
		}
		if (rc == 0)	/* ovector too small: cannot happen */
			rc = (int)pcre2_get_ovector_count(f->md);
		p->st.matched++;
		f->st.matched++;
		out->pattern = (int)i;
		if (p->off || (p->quiet && f->scan_base != NULL))
			return 0;
		rc = filter_extract(f, p, rc, line, now, out);
		return p->quiet ? 0 : rc;
	}
	return failed ? -1 : 0;
}

int
filter_match(struct filter *f, const char *line, size_t len, int64_t now,
    struct filter_result *out)
{
	return filter_match_line(f, line, len, now, out, 0);
}

const char *
filter_name(const struct filter *f)
{
	return f->name;
}

size_t
filter_nsamples(const struct filter *f)
{
	return f->nsample;
}

const char *
filter_sample(const struct filter *f, size_t i, int *pattern)
{
	if (i >= f->nsample)
		return NULL;
	if (pattern != NULL)
		*pattern = f->sample_pat[i];
	return f->sample[i];
}

size_t
filter_npatterns(const struct filter *f)
{
	return f->npat;
}

const struct filter_pattern_stats *
filter_pattern_stats(const struct filter *f, size_t i)
{
	return i < f->npat ? &f->pat[i].st : NULL;
}

const struct filter_stats *
filter_stats(const struct filter *f)
{
	return &f->st;
}

void
filter_stats_reset(struct filter *f)
{
	size_t	i;

	memset(&f->st, 0, sizeof(f->st));
	for (i = 0; i < f->npat; i++) {
		f->pat[i].st.tried = f->pat[i].st.matched = 0;
		f->pat[i].st.errors = f->pat[i].st.dups = 0;
	}
}

void
filter_stats_add(struct filter *dst, const struct filter *src)
{
	size_t	i;

	dst->st.lines += src->st.lines;
	dst->st.prefiltered += src->st.prefiltered;
	dst->st.matched += src->st.matched;
	dst->st.errors += src->st.errors;
	dst->st.join_hits += src->st.join_hits;
	dst->st.join_misses += src->st.join_misses;
	dst->st.join_evictions += src->st.join_evictions;
	dst->st.dedup_evictions += src->st.dedup_evictions;
	for (i = 0; i < dst->npat && i < src->npat; i++) {
		dst->pat[i].st.tried += src->pat[i].st.tried;
		dst->pat[i].st.matched += src->pat[i].st.matched;
		dst->pat[i].st.errors += src->pat[i].st.errors;
		dst->pat[i].st.dups += src->pat[i].st.dups;
	}
}

int64_t
filter_dedup_window(const struct filter *f)
{
	return f->dedup.ttl;
}

int64_t
filter_join_ttl(const struct filter *f)
{
	return f->join.ttl;
}

void
filter_set_lookback(struct filter *f, const char *base, int64_t until)
{
	f->lb_base = base;
	f->lb_until = until;
}

int
filter_restrict(struct filter *f, enum event_kind kind)
{
	struct filter_pattern	*p;
	size_t			 i;
	int			 any = 0;

	for (i = 0; i < f->npat; i++) {
		p = &f->pat[i];
		p->off = p->quiet = 0;
		if (p->st.kind == kind) {
			any = 1;
			continue;
		}
		/* Lines that feed or clear the join table still run, so
		 * the kind's events get the same addresses as before. */
		if (p->join == FILTER_JOIN_SET || p->join == FILTER_JOIN_CLEAR)
			p->quiet = 1;
		else
			p->off = 1;
	}
	if (!any)
		for (i = 0; i < f->npat; i++)
			f->pat[i].off = f->pat[i].quiet = 0;
	f->restricted = any;
	filter_scan_setup(f);
	return any ? 0 : -1;
}

/* Counts the lines in buf[0..len): newlines, plus an unfinished one. */
static uint64_t
filter_count_lines(const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len, *nl;
	uint64_t	 n = 0;

	while (p < end) {
		n++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

uint64_t
filter_scan(struct filter *f, const char *buf, size_t len, int64_t now,
    filter_scan_cb cb, void *arg)
{
	const char		*next[FILTER_SCAN_MAX];
	const char		*pos = buf, *end = buf + len, *hit, *ls, *le;
	struct filter_result	 r;
	uint64_t		 line = 0, skip;
	size_t			 i, nscan = f->nscan;
	int			 rc;

	if (nscan > FILTER_SCAN_MAX)
		nscan = 0;
	if (f->restricted)
		f->scan_base = buf;	/* join feeders run lazily */
	for (i = 0; i < nscan; i++)
		next[i] = filter_lit_find(f->scan[i], buf, len);
	while (pos < end) {
		if (nscan > 0) {
			/* The first line holding any literal. */
			hit = NULL;
			for (i = 0; i < nscan; i++)
				if (next[i] != NULL &&
				    (hit == NULL || next[i] < hit))
					hit = next[i];
			if (hit == NULL)
				hit = end;
			ls = hit == end ? end :
			    memrchr(pos, '\n', (size_t)(hit - pos));
			ls = ls == NULL ? pos : ls == end ? end : ls + 1;
			skip = filter_count_lines(pos, (size_t)(ls - pos));
			f->st.lines += skip;
			f->st.prefiltered += skip;
			line += skip;
			if (ls == end)
				break;
			pos = ls;
		}
		if ((le = memchr(pos, '\n', (size_t)(end - pos))) == NULL)
			le = end;
		/* A scan literal in the line is a prefilter literal, when
		 * the scan uses the prefilter. */
		rc = filter_match_line(f, pos, (size_t)(le - pos), now, &r,
		    nscan > 0 && f->scan[0] == f->prefilter_lit);
		if (rc > 0 && cb != NULL)
			cb(line, pos, (size_t)(le - pos), &r, arg);
		line++;
		pos = le < end ? le + 1 : end;
		for (i = 0; i < nscan; i++)
			if (next[i] != NULL && next[i] < pos)
				next[i] = filter_lit_find(f->scan[i], pos,
				    (size_t)(end - pos));
	}
	f->scan_base = NULL;
	return line;
}
