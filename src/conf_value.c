/*
 * Configuration values: the syntaxes of durations ("500ms", "1h"), sizes
 * ("256k"), rates ("120/1h") and karma ("10k/s burst 256k"), each with a
 * parser and a printer, of booleans and plain numbers, and of the lists of
 * alert events ("ban, escalation, auth-outage").  The file and the
 * command line share them; nothing here knows the directive table.
 *
 * The unit tables run from the largest unit down, so a printer picks the
 * largest unit that divides a value exactly and prints no fraction; every
 * value a parser accepts prints as text the same parser reads back to that
 * value.  The parsers take any string: numbers are checked for overflow
 * before each step, so nothing wraps; on error they leave the result alone
 * and point *why at a static message.  The printers cut their output to
 * the buffer, never overrun it.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "conf.h"
#include "conf_int.h"

static const struct conf_unit {
	const char	*name;
	uint64_t	 mult;
} conf_time_units[] = {		/* largest first, for conf_fmt_duration */
	{ "w", 604800 * (uint64_t)CLOCK_US_PER_SEC },
	{ "d", 86400 * (uint64_t)CLOCK_US_PER_SEC },
	{ "h", 3600 * (uint64_t)CLOCK_US_PER_SEC },
	{ "m", 60 * (uint64_t)CLOCK_US_PER_SEC },
	{ "s", (uint64_t)CLOCK_US_PER_SEC },
	{ "ms", 1000 },
	{ "us", 1 },
}, conf_size_units[] = {
	{ "T", (uint64_t)1 << 40 },
	{ "G", (uint64_t)1 << 30 },
	{ "M", (uint64_t)1 << 20 },
	{ "k", (uint64_t)1 << 10 },
};

/* Reads a decimal number at *sp and moves *sp past it. */
int
conf_number(const char **sp, uint64_t *v, const char **why)
{
	const char	*s = *sp;
	uint64_t	 n = 0;
	unsigned int	 d;

	if (*s < '0' || *s > '9') {
		*why = "expected a number";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		d = (unsigned int)(*s - '0');
		if (n > (UINT64_MAX - d) / 10) {
			*why = "number too large";
			return -1;
		}
		n = n * 10 + d;
	}
	*sp = s;
	*v = n;
	return 0;
}

/* A duration filling s; bare_unit lets "h" mean "1h" (rate windows). */
static int
conf_duration(const char *s, int bare_unit, int64_t *us, const char **why)
{
	uint64_t	n = 1, mult = (uint64_t)CLOCK_US_PER_SEC;
	size_t		i;

	if (*s == '\0') {
		*why = "empty value";
		return -1;
	}
	if (!(bare_unit && *s >= 'a' && *s <= 'z') &&
	    conf_number(&s, &n, why) == -1)
		return -1;
	if (*s != '\0') {
		for (i = 0; i < nitems(conf_time_units); i++) {
			if (strcmp(s, conf_time_units[i].name) == 0)
				break;
		}
		if (i == nitems(conf_time_units)) {
			*why = "unknown unit (use ms, s, m, h, d or w)";
			return -1;
		}
		mult = conf_time_units[i].mult;
	}
	if (n > (uint64_t)INT64_MAX / mult) {
		*why = "duration too long";
		return -1;
	}
	*us = (int64_t)(n * mult);
	return 0;
}

int
conf_parse_duration(const char *s, int64_t *us, const char **why)
{
	return conf_duration(s, 0, us, why);
}

/* A size at *sp, with an optional unit letter; moves *sp past it. */
static int
conf_size_at(const char **sp, uint64_t *bytes, const char **why)
{
	const char	*s = *sp;
	uint64_t	 n, mult = 1;
	size_t		 i;

	if (conf_number(&s, &n, why) == -1)
		return -1;
	for (i = 0; i < nitems(conf_size_units); i++) {
		if ((*s | 0x20) == (conf_size_units[i].name[0] | 0x20)) {
			mult = conf_size_units[i].mult;
			s++;
			break;
		}
	}
	if (n > UINT64_MAX / mult) {
		*why = "size too large";
		return -1;
	}
	*sp = s;
	*bytes = n * mult;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *bytes, const char **why)
{
	uint64_t	v;

	if (*s == '\0') {
		*why = "empty value";
		return -1;
	}
	if (conf_size_at(&s, &v, why) == -1)
		return -1;
	if (*s != '\0') {
		*why = "unknown unit (use k, M, G or T)";
		return -1;
	}
	*bytes = v;
	return 0;
}

int
conf_parse_rate(const char *s, struct conf_rate *r, const char **why)
{
	uint64_t	count;
	int64_t		window;

	if (strcmp(s, "none") == 0 || strcmp(s, "0") == 0) {
		r->count = 0;
		r->window = 0;
		return 0;
	}
	if (conf_number(&s, &count, why) == -1) {
		if (*s >= '0' && *s <= '9')
			return -1;	/* too large */
		goto syntax;
	}
	s += strspn(s, " \t");
	if (*s != '/')
		goto syntax;
	s++;
	s += strspn(s, " \t");
	if (*s == '\0')
		goto syntax;
	if (conf_duration(s, 1, &window, why) == -1)
		return -1;
	if (count > UINT32_MAX) {
		*why = "count too large";
		return -1;
	}
	if (window < CONF_RATE_WINDOW_MIN || window > CONF_RATE_WINDOW_MAX) {
		*why = "window must be from 1s to 1w";
		return -1;
	}
	r->count = (uint32_t)count;
	r->window = count == 0 ? 0 : window;
	return 0;

syntax:
	*why = "expected COUNT/WINDOW (such as 120/1h) or none";
	return -1;
}

int
conf_parse_karma(const char *s, struct conf_karma *k, const char **why)
{
	uint64_t	rate, burst;

	if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0) {
		k->rate = 0;
		k->burst = 0;
		return 0;
	}
	if (conf_size_at(&s, &rate, why) == -1) {
		if (*s >= '0' && *s <= '9')
			return -1;	/* too large */
		goto syntax;
	}
	if (strncmp(s, "/s", 2) == 0)
		s += 2;
	else if (strncmp(s, "/1s", 3) == 0)
		s += 3;
	else
		goto syntax;
	if (*s != ' ' && *s != '\t')
		goto syntax;
	s += strspn(s, " \t");
	if (strncmp(s, "burst", 5) != 0 || (s[5] != ' ' && s[5] != '\t'))
		goto syntax;
	s += 5;
	s += strspn(s, " \t");
	if (conf_size_at(&s, &burst, why) == -1) {
		if (*s >= '0' && *s <= '9')
			return -1;	/* too large */
		goto syntax;
	}
	if (*s != '\0')
		goto syntax;
	if (rate == 0) {
		*why = "rate must be above 0 (or the whole value off)";
		return -1;
	}
	if (burst < rate) {
		*why = "burst must be at least the rate";
		return -1;
	}
	k->rate = rate;
	k->burst = burst;
	return 0;

syntax:
	*why = "expected RATE/s burst SIZE (such as 10k/s burst 256k) or off";
	return -1;
}

/* yes/no and friends, any case; -1 if none of them. */
int
conf_parse_bool(const char *s)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t	i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

char *
conf_fmt_duration(int64_t us, char *buf, size_t size)
{
	size_t	i;

	if (us == 0) {
		snprintf(buf, size, "0");
		return buf;
	}
	if (us > 0) {
		for (i = 0; i < nitems(conf_time_units); i++) {
			if ((uint64_t)us % conf_time_units[i].mult == 0)
				break;
		}
		snprintf(buf, size, "%" PRIu64 "%s",
		    (uint64_t)us / conf_time_units[i].mult,
		    conf_time_units[i].name);
		return buf;
	}
	snprintf(buf, size, "%" PRId64 "us", us);	/* not ours to read */
	return buf;
}

char *
conf_fmt_size(uint64_t bytes, char *buf, size_t size)
{
	size_t	i;

	if (bytes != 0) {
		for (i = 0; i < nitems(conf_size_units); i++) {
			if (bytes % conf_size_units[i].mult == 0) {
				snprintf(buf, size, "%" PRIu64 "%s",
				    bytes / conf_size_units[i].mult,
				    conf_size_units[i].name);
				return buf;
			}
		}
	}
	snprintf(buf, size, "%" PRIu64, bytes);
	return buf;
}

char *
conf_fmt_rate(const struct conf_rate *r, char *buf, size_t size)
{
	char	w[32];

	if (r->count == 0)
		snprintf(buf, size, "none");
	else
		snprintf(buf, size, "%" PRIu32 "/%s", r->count,
		    conf_fmt_duration(r->window, w, sizeof(w)));
	return buf;
}

char *
conf_fmt_karma(const struct conf_karma *k, char *buf, size_t size)
{
	char	r[32], b[32];

	if (k->rate == 0)
		snprintf(buf, size, "off");
	else
		snprintf(buf, size, "%s/s burst %s",
		    conf_fmt_size(k->rate, r, sizeof(r)),
		    conf_fmt_size(k->burst, b, sizeof(b)));
	return buf;
}

const char *const conf_alert_event_names[] = {
	"ban", "unban", "escalation", "expire", "overrun", "auth-outage",
	"start", "stop", "store-error", "cluster", "peer", "surge", NULL
};
const char *const conf_severity_names[] = {
	"info", "warning", "critical", NULL
};

_Static_assert(CONF_AEV_MAX == 12 && CONF_AEV_CLUSTER == 9 &&
    CONF_AEV_PEER == 10 && CONF_AEV_SURGE == 11 && CONF_SEV_CRITICAL == 2,
    "the names tables follow the enums");

int
conf_parse_alert_events(const char *s, uint32_t *mask, const char **why)
{
	char	 word[32];
	size_t	 n, i;
	int	 words = 0;

	*mask = 0;
	for (;;) {
		s += strspn(s, ", \t");
		if ((n = strcspn(s, ", \t")) == 0)
			break;
		if (n >= sizeof(word)) {
			*why = "unknown event";
			return -1;
		}
		memcpy(word, s, n);
		word[n] = '\0';
		s += n;
		words++;
		if (strcmp(word, "all") == 0) {
			*mask |= (1U << CONF_AEV_MAX) - 1;
			continue;
		}
		if (strcmp(word, "none") == 0)
			continue;
		for (i = 0; conf_alert_event_names[i] != NULL; i++)
			if (strcmp(conf_alert_event_names[i], word) == 0)
				break;
		if (conf_alert_event_names[i] == NULL) {
			*why = "unknown event (ban, unban, escalation, "
			    "expire, overrun, auth-outage, start, stop, "
			    "store-error, cluster, peer, surge, all, none)";
			return -1;
		}
		*mask |= 1U << i;
	}
	if (words == 0) {
		*why = "no event (none, to send nothing)";
		return -1;
	}
	return 0;
}
