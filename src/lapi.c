/*
 * CrowdSec Local API messages, built and read with jansson.
 *
 * What the LAPI 1.4.6 wants is in ../shared/CLUSTER.md: an alert is
 * accepted only with every field below present; a decision's scope must
 * be spelt "Ip" or "Range" or no bouncer ever receives it; a stream delta
 * may hold null for either array; a decision's duration is what is left,
 * in Go's syntax.
 *
 * Everything read comes from the network: an answer that is not the
 * expected shape is refused as a whole with a reason (cluster.c logs it),
 * an odd decision inside a good answer is skipped and counted, arrays are
 * bounded (LAPI_DECISIONS_MAX) and jansson itself bounds nesting.  The
 * project's json.c has a json_string() of its own: jansson's strings are
 * made with json_stringn() only, so the two never meet.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "addr.h"
#include "clock.h"
#include "lapi.h"
#include "xmalloc.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* A jansson string of s (NULL: ""). */
static json_t *
lapi_str(const char *s)
{
	if (s == NULL)
		s = "";
	return json_stringn(s, strlen(s));
}

static char *
lapi_dump(json_t *root, size_t *lenp)
{
	char	*s, *out;

	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (s == NULL)
		return NULL;
	out = xstrdup(s);
	free(s);
	*lenp = strlen(out);
	return out;
}

char *
lapi_login_body(const char *machine_id, const char *password, size_t *lenp)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, "machine_id", lapi_str(machine_id));
	json_object_set_new(o, "password", lapi_str(password));
	json_object_set_new(o, "scenarios", json_array());
	return lapi_dump(o, lenp);
}

char *
lapi_login_token(const char *body, size_t len, char **cause)
{
	json_t		*root, *tok;
	json_error_t	 err;
	char		*s;

	if ((root = json_loadb(body, len, 0, &err)) == NULL) {
		*cause = xasprintf("login answer: not JSON: %s", err.text);
		return NULL;
	}
	tok = json_is_object(root) ? json_object_get(root, "token") : NULL;
	if (tok == NULL || !json_is_string(tok) ||
	    json_string_length(tok) == 0 || json_string_length(tok) > 8192 ||
	    strpbrk(json_string_value(tok), "\r\n") != NULL) {
		json_decref(root);
		*cause = xstrdup("login answer: no token");
		return NULL;
	}
	s = xstrdup(json_string_value(tok));
	json_decref(root);
	return s;
}

char *
lapi_fmt_time(int64_t t, char *buf, size_t size)
{
	struct tm	tm;
	time_t		s = (time_t)(t / CLOCK_US_PER_SEC);

	if (gmtime_r(&s, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, size, "1970-01-01T00:00:00Z");
	return buf;
}

/* One alert with its one decision. */
static json_t *
lapi_alert(const struct lapi_ban *b, const char *scenario_prefix,
    const char *origin, int64_t left)
{
	json_t		*a, *src, *d, *ds;
	char		 pfx[ADDR_PREFIX_STRLEN], scen[LAPI_SCENARIO_MAX];
	char		 start[32], stop[32], dur[32];
	const char	*scope;

	scope = b->prefix.len == addr_maxlen(&b->prefix.addr) ? "Ip" :
	    "Range";
	if (b->prefix.len == addr_maxlen(&b->prefix.addr))
		(void)addr_ntop(&b->prefix.addr, pfx, sizeof(pfx));
	else
		(void)addr_prefix_ntop(&b->prefix, pfx, sizeof(pfx));
	(void)snprintf(scen, sizeof(scen), "%s%s", scenario_prefix,
	    b->rule != NULL ? b->rule : "manual");
	(void)snprintf(dur, sizeof(dur), "%llds", (long long)((left +
	    CLOCK_US_PER_SEC - 1) / CLOCK_US_PER_SEC));

	src = json_object();
	json_object_set_new(src, "scope", lapi_str(scope));
	json_object_set_new(src, "value", lapi_str(pfx));
	if (*scope == 'R')
		json_object_set_new(src, "range", lapi_str(pfx));
	else
		json_object_set_new(src, "ip", lapi_str(pfx));

	d = json_object();
	json_object_set_new(d, "origin", lapi_str(origin));
	json_object_set_new(d, "type", lapi_str("ban"));
	json_object_set_new(d, "scope", lapi_str(scope));
	json_object_set_new(d, "value", lapi_str(pfx));
	json_object_set_new(d, "duration", lapi_str(dur));
	json_object_set_new(d, "scenario", lapi_str(scen));
	ds = json_array();
	json_array_append_new(ds, d);

	a = json_object();
	json_object_set_new(a, "scenario", lapi_str(scen));
	json_object_set_new(a, "scenario_hash", lapi_str(""));
	json_object_set_new(a, "scenario_version", lapi_str(""));
	json_object_set_new(a, "message", lapi_str(b->reason != NULL &&
	    *b->reason != '\0' ? b->reason : scen));
	json_object_set_new(a, "events_count",
	    json_integer(b->count > 0 ? (json_int_t)b->count : 1));
	json_object_set_new(a, "start_at",
	    lapi_str(lapi_fmt_time(b->since, start, sizeof(start))));
	json_object_set_new(a, "stop_at",
	    lapi_str(lapi_fmt_time(b->since, stop, sizeof(stop))));
	json_object_set_new(a, "capacity", json_integer(0));
	json_object_set_new(a, "leakspeed", lapi_str("0"));
	json_object_set_new(a, "simulated", json_false());
	json_object_set_new(a, "remediation", json_true());
	json_object_set_new(a, "events", json_array());
	json_object_set_new(a, "source", src);
	json_object_set_new(a, "decisions", ds);
	return a;
}

char *
lapi_alerts_body(const struct lapi_ban *b, size_t n,
    const char *scenario_prefix, const char *origin, int64_t now,
    size_t *lenp, size_t *nlive)
{
	json_t	*arr;
	size_t	 i;

	arr = json_array();
	*nlive = 0;
	for (i = 0; i < n; i++) {
		if (b[i].expires <= now)
			continue;
		json_array_append_new(arr, lapi_alert(&b[i], scenario_prefix,
		    origin, b[i].expires - now));
		(*nlive)++;
	}
	return lapi_dump(arr, lenp);
}

/*
 * Go's duration: an optional sign, then one or more decimal numbers (with
 * an optional fraction) each followed by a unit: ns, us, µs, ms, s, m, h.
 */
int64_t
lapi_duration_parse(const char *s)
{
	static const struct {
		const char	*unit;
		double		 us;
	} units[] = {
		{ "ns", 0.001 }, { "us", 1 }, { "\xc2\xb5s", 1 },
		{ "\xce\xbcs", 1 }, { "ms", 1000 }, { "s", 1e6 },
		{ "m", 60e6 }, { "h", 3600e6 }
	};
	double		 total = 0, v, frac;
	size_t		 i, best, blen;
	int		 neg = 0, digits;

	if (s == NULL)
		return -1;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0)
		return 0;
	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		v = 0;
		digits = 0;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s++ - '0');
			digits++;
			if (v > 1e18)
				return -1;
		}
		if (*s == '.') {
			s++;
			frac = 0.1;
			while (isdigit((unsigned char)*s)) {
				v += (*s++ - '0') * frac;
				frac /= 10;
				digits++;
			}
		}
		if (digits == 0)
			return -1;
		/* The longest unit that matches: "ms" before "m". */
		best = nitems(units);
		blen = 0;
		for (i = 0; i < nitems(units); i++)
			if (strncmp(s, units[i].unit, strlen(units[i].unit)) ==
			    0 && strlen(units[i].unit) > blen) {
				best = i;
				blen = strlen(units[i].unit);
			}
		if (best == nitems(units))
			return -1;
		s += blen;
		total += v * units[best].us;
		if (total > (double)LAPI_DURATION_MAX)
			return -1;
	}
	return neg ? 0 : (int64_t)total;
}

int
lapi_scope_parse(const char *scope, const char *value, struct prefix *p)
{
	struct addr	a;

	if (scope == NULL || value == NULL)
		return -1;
	if (strcasecmp(scope, "ip") == 0) {
		if (addr_parse(value, &a, NULL) == -1)
			return -1;
		addr_mask(&a, addr_maxlen(&a), p);
		return 0;
	}
	if (strcasecmp(scope, "range") == 0)
		return addr_prefix_parse(value, p, 1);
	return -1;
}

/* A string member, copied into buf; -1 if missing, not a string or too
 * long. */
static int
lapi_get_str(json_t *o, const char *key, char *buf, size_t size)
{
	json_t	*v = json_object_get(o, key);

	if (v == NULL || !json_is_string(v) || json_string_length(v) >= size)
		return -1;
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* One decision; 0 kept, -1 skipped. */
static int
lapi_decision(json_t *o, struct lapi_decision *d)
{
	json_t	*id;
	char	 type[16], scope[16], value[ADDR_PREFIX_STRLEN], dur[48];

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return -1;
	if (lapi_get_str(o, "type", type, sizeof(type)) == -1 ||
	    strcasecmp(type, "ban") != 0 ||
	    lapi_get_str(o, "scope", scope, sizeof(scope)) == -1 ||
	    lapi_get_str(o, "value", value, sizeof(value)) == -1 ||
	    lapi_scope_parse(scope, value, &d->prefix) == -1)
		return -1;
	if ((id = json_object_get(o, "id")) != NULL && json_is_integer(id))
		d->id = (int64_t)json_integer_value(id);
	d->duration = 0;
	if (lapi_get_str(o, "duration", dur, sizeof(dur)) == 0 &&
	    (d->duration = lapi_duration_parse(dur)) == -1)
		return -1;
	if (lapi_get_str(o, "origin", d->origin, sizeof(d->origin)) == -1)
		d->origin[0] = '\0';
	if (lapi_get_str(o, "scenario", d->scenario,
	    sizeof(d->scenario)) == -1)
		(void)snprintf(d->scenario, sizeof(d->scenario), "?");
	return 0;
}

/* One of the stream's arrays: null, or an array of decisions. */
static int
lapi_stream_array(json_t *root, const char *key, struct lapi_decision **out,
    size_t *n, size_t *skipped, char **cause)
{
	json_t	*arr, *o;
	size_t	 i, sz;

	*out = NULL;
	*n = 0;
	arr = json_object_get(root, key);
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		*cause = xasprintf("stream answer: \"%s\" is not an array",
		    key);
		return -1;
	}
	if ((sz = json_array_size(arr)) > LAPI_DECISIONS_MAX) {
		*cause = xasprintf("stream answer: %zu decisions in \"%s\" "
		    "(at most %d)", sz, key, LAPI_DECISIONS_MAX);
		return -1;
	}
	if (sz == 0)
		return 0;
	*out = xreallocarray(NULL, sz, sizeof(**out));
	json_array_foreach(arr, i, o) {
		if (lapi_decision(o, &(*out)[*n]) == 0)
			(*n)++;
		else
			(*skipped)++;
	}
	return 0;
}

int
lapi_stream_parse(const char *body, size_t len, struct lapi_stream *s,
    char **cause)
{
	json_t		*root;
	json_error_t	 err;

	memset(s, 0, sizeof(*s));
	if ((root = json_loadb(body, len, 0, &err)) == NULL) {
		*cause = xasprintf("stream answer: not JSON: %s (line %d)",
		    err.text, err.line);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*cause = xstrdup("stream answer: not an object");
		return -1;
	}
	if (lapi_stream_array(root, "new", &s->added, &s->nadded,
	    &s->skipped, cause) == -1 ||
	    lapi_stream_array(root, "deleted", &s->deleted, &s->ndeleted,
	    &s->skipped, cause) == -1) {
		json_decref(root);
		lapi_stream_free(s);
		return -1;
	}
	json_decref(root);
	return 0;
}

void
lapi_stream_free(struct lapi_stream *s)
{
	free(s->added);
	free(s->deleted);
	memset(s, 0, sizeof(*s));
}
