/*
 * Unit tests for the alerts (alert.c, and alert_fmt.c's dialects) on a
 * real loop, against a real HTTP server on 127.0.0.1 (unit_httpd.h), with
 * configurations read by the real parser: each dialect's payload parsed
 * and checked field by field (Slack, Mattermost, Rocket.Chat, Discord,
 * Matrix with its PUT and bearer token, generic JSON and a template), a
 * 500 retried then counted as failed, a server that never answers (the
 * caller never waits), a bounded queue, a storm of 1,000 bans summed up in
 * a digest, start and stop, the event and severity filters, overruns and
 * outages, reload, secrets kept out of the logs and status, and the ban
 * table's notifications (none for the bans a restart restores).  Every
 * wait is bounded: alarm() kills a test whose loop never wakes.
 */
#include "unit.h"

#include "../../src/alert.c"

#include <sys/stat.h>

#include <fcntl.h>

#include "store.h"
#include "unit_httpd.h"

#define GUARD_SECONDS	30

struct fix {
	struct loop	*loop;
	struct httpd	 srv;
	struct conf	*conf;
	struct alerts	*as;
	char		 path[64];
	int64_t		 now;
};

static int
guard_setup(void **state)
{
	(void)state;
	alarm(GUARD_SECONDS);
	return 0;
}

static int
guard_teardown(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

/*
 * A small JSON reader: j_value() checks one value's syntax and moves past
 * it; jget() finds a member of the top-level object and gives its value
 * (strings decoded, anything else as raw text).
 */
static void
j_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static int
j_string(const char **p, char *out, size_t size)
{
	const char	*s = *p;
	size_t		 n = 0;
	unsigned int	 u;
	char		 c;

	if (*s++ != '"')
		return -1;
	while (*s != '"') {
		if ((unsigned char)*s < 0x20)
			return -1;
		c = *s++;
		if (c == '\\') {
			switch (c = *s++) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'u':
				if (sscanf(s, "%4x", &u) != 1)
					return -1;
				s += 4;
				c = u < 0x80 ? (char)u : '?';
				break;
			case '"':
			case '\\':
			case '/':
				break;
			default:
				return -1;
			}
		}
		if (out != NULL && n + 1 < size)
			out[n++] = c;
	}
	if (out != NULL)
		out[n] = '\0';
	*p = s + 1;
	return 0;
}

static int
j_value(const char **p)
{
	j_ws(p);
	switch (**p) {
	case '"':
		return j_string(p, NULL, 0);
	case '{':
	case '[': {
		char	close = **p == '{' ? '}' : ']';
		int	obj = **p == '{';

		(*p)++;
		j_ws(p);
		if (**p == close) {
			(*p)++;
			return 0;
		}
		for (;;) {
			if (obj) {
				j_ws(p);
				if (j_string(p, NULL, 0) == -1)
					return -1;
				j_ws(p);
				if (*(*p)++ != ':')
					return -1;
			}
			if (j_value(p) == -1)
				return -1;
			j_ws(p);
			if (**p == ',') {
				(*p)++;
				continue;
			}
			if (*(*p)++ != close)
				return -1;
			return 0;
		}
	}
	default:
		if (strncmp(*p, "true", 4) == 0 ||
		    strncmp(*p, "null", 4) == 0) {
			*p += 4;
			return 0;
		}
		if (strncmp(*p, "false", 5) == 0) {
			*p += 5;
			return 0;
		}
		if (strchr("-0123456789", **p) == NULL || **p == '\0')
			return -1;
		(*p)++;
		while (**p != '\0' && strchr("0123456789.eE+-", **p) != NULL)
			(*p)++;
		return 0;
	}
}

/* 1 if doc is one valid JSON value and nothing else. */
static int
jvalid(const char *doc)
{
	const char	*p = doc;

	if (j_value(&p) == -1)
		return 0;
	j_ws(&p);
	return *p == '\0';
}

/* The top-level member key of doc into out; 0 if there is none. */
static int
jget(const char *doc, const char *key, char *out, size_t size)
{
	const char	*p = doc, *v;
	char		 k[128];

	assert_true(jvalid(doc));
	j_ws(&p);
	assert_int_equal(*p, '{');
	p++;
	for (;;) {
		j_ws(&p);
		if (*p == '}')
			return 0;
		assert_int_equal(j_string(&p, k, sizeof(k)), 0);
		j_ws(&p);
		p++;
		j_ws(&p);
		v = p;
		if (strcmp(k, key) == 0) {
			if (*v == '"')
				assert_int_equal(j_string(&p, out, size), 0);
			else {
				assert_int_equal(j_value(&p), 0);
				snprintf(out, size, "%.*s", (int)(p - v), v);
			}
			return 1;
		}
		assert_int_equal(j_value(&p), 0);
		j_ws(&p);
		if (*p == ',')
			p++;
	}
}

/* The string member key of the last body, which must exist. */
static const char *
field(struct fix *f, const char *key)
{
	static char	buf[4][HTTPD_BUF];
	static int	i;

	i = (i + 1) % 4;
	if (!jget(f->srv.body, key, buf[i], sizeof(buf[i])))
		fail_msg("no %s in %s", key, f->srv.body);
	return buf[i];
}

/*
 * Fixtures.
 */

/* A configuration from text, every %s replaced by the server's URL and
 * every %b by its root (a Matrix homeserver). */
static void
fix_start(struct fix *f, const char *fmt)
{
	char	 text[4096], *cause = NULL;
	size_t	 len = 0;
	int	 fd;

	memset(f, 0, sizeof(*f));
	f->loop = loop_new(&cause);
	assert_non_null(f->loop);
	httpd_start(&f->srv, f->loop);
	snprintf(f->path, sizeof(f->path), "/tmp/test_alert.XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	for (; *fmt != '\0' && len + 80 < sizeof(text); fmt++) {
		if (fmt[0] == '%' && (fmt[1] == 's' || fmt[1] == 'b')) {
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%.*s", (int)strlen(f->srv.url) -
			    (fmt[1] == 'b' ? 5 : 0), f->srv.url);
			fmt++;
		} else
			text[len++] = *fmt;
	}
	text[len] = '\0';
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	if (conf_load(f->path, &f->conf, &cause) == -1)
		fail_msg("%s", cause);
	f->as = alerts_new(f->loop, f->conf, &cause);
	assert_non_null(f->as);
	snprintf(f->as->host, sizeof(f->as->host), "testhost");
	f->now = clock_realtime();
}

static void
fix_stop(struct fix *f)
{
	alerts_free(f->as);
	httpd_stop(&f->srv);
	loop_free(f->loop);
	conf_free(f->conf);
	unlink(f->path);
}

/* Runs the loop until every message is finished (limit_ms at most). */
static void
drain(struct fix *f, int64_t limit_ms)
{
	int64_t	end = clock_monotonic() + limit_ms * CLOCK_US_PER_MS;

	while (alerts_busy(f->as) > 0) {
		assert_true(clock_monotonic() < end);
		assert_true(loop_run_once(f->loop, 50) >= 0);
	}
	/* The server may still be reading the last one. */
	while (f->srv.waiting > 0 && clock_monotonic() < end)
		assert_true(loop_run_once(f->loop, 20) >= 0);
}

static struct ban
mkban(const char *pfx, enum verdict_rule rule, uint32_t count,
    int64_t now, int64_t dur, const char *reason)
{
	struct ban	b;

	memset(&b, 0, sizeof(b));
	assert_int_equal(addr_prefix_parse(pfx, &b.prefix, 0), 0);
	b.rule = rule;
	b.count = count;
	b.since = now;
	b.expires = now + dur;
	snprintf(b.reason, sizeof(b.reason), "%s", reason);
	return b;
}

#define CHURN	"churn: 130 new connections in 1h, limit 120"
#define MIN10	(600 * CLOCK_US_PER_SEC)

static const char *
hhmm(int64_t t, int64_t now)
{
	static char	buf[40];

	return alert_clock(t, now, buf, sizeof(buf));
}

/*
 * Payloads.
 */

static void
test_slack(void **state)
{
	struct fix	f;
	struct ban	b;
	char		want[512];

	(void)state;
	fix_start(&f, "[alert ops]\ntype = slack\nurl = %s\n"
	    "username = xmppguard\nicon = :shield:\n");
	b = mkban("192.0.2.7/32", VERDICT_CHURN, 2, f.now, MIN10, CHURN);
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 1);
	assert_non_null(strstr(f.srv.last, "POST /hook HTTP/1.1\r\n"));
	assert_non_null(strcasestr(f.srv.last,
	    "\r\nContent-Type: application/json\r\n"));
	snprintf(want, sizeof(want), "xmppguard@testhost: banned "
	    "192.0.2.7/32 for 10m (" CHURN "), 2nd ban, expires %s",
	    hhmm(b.expires, f.now));
	assert_string_equal(field(&f, "text"), want);
	assert_string_equal(field(&f, "username"), "xmppguard");
	assert_string_equal(field(&f, "icon_emoji"), ":shield:");

	/* Slack's own markup cannot be smuggled in by a reason. */
	b = mkban("192.0.2.8/32", VERDICT_MANUAL, 1, f.now, MIN10,
	    "spam <!channel> & co");
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 2);
	assert_non_null(strstr(field(&f, "text"),
	    "(spam &lt;!channel&gt; &amp; co), expires"));
	assert_int_equal(f.as->sinks[0]->sent, 2);
	fix_stop(&f);
}

static void
test_mattermost_rocketchat(void **state)
{
	struct fix	f;
	struct ban	b;

	(void)state;
	fix_start(&f, "[alert mm]\ntype = mattermost\nurl = %s\n"
	    "username = guard\nicon = https://example.org/i.png\n"
	    "[alert rc]\ntype = rocketchat\nurl = %s\nusername = guard\n"
	    "icon = :lock:\n");
	b = mkban("2001:db8::/64", VERDICT_AUTH, 1, f.now, MIN10,
	    "auth: 6 failed logins in 10m (limit 5)");
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	/* Two sinks, one message each, the Rocket.Chat one last (in order
	 * of sections; each has its own client, so wait for both). */
	assert_int_equal(f.srv.requests, 2);
	assert_int_equal(f.as->sinks[0]->sent, 1);
	assert_int_equal(f.as->sinks[1]->sent, 1);
	fix_stop(&f);

	fix_start(&f, "[alert mm]\ntype = mattermost\nurl = %s\n"
	    "username = guard\nicon = https://example.org/i.png\n");
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_non_null(strstr(field(&f, "text"), "banned 2001:db8::/64 "
	    "for 10m (auth: 6 failed logins in 10m (limit 5)), expires"));
	assert_string_equal(field(&f, "username"), "guard");
	assert_string_equal(field(&f, "icon_url"),
	    "https://example.org/i.png");
	fix_stop(&f);

	fix_start(&f, "[alert rc]\ntype = rocketchat\nurl = %s\n"
	    "username = guard\nicon = :lock:\n");
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_string_equal(field(&f, "alias"), "guard");
	assert_string_equal(field(&f, "emoji"), ":lock:");
	assert_non_null(strstr(field(&f, "text"), "2001:db8::/64"));
	fix_stop(&f);
}

static void
test_discord(void **state)
{
	struct fix	 f;
	struct ban	 b;
	struct alert_msg *m;
	char		 buf[64];
	int		 i;

	(void)state;
	fix_start(&f, "[alert dc]\ntype = discord\nurl = %s\n"
	    "username = guard\n");
	b = mkban("198.51.100.9/32", VERDICT_MANUAL, 1, f.now, MIN10,
	    "@everyone look");
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_non_null(strstr(field(&f, "content"),
	    "banned 198.51.100.9/32 for 10m (@everyone look)"));
	assert_string_equal(field(&f, "username"), "guard");
	/* Nobody is pinged, whatever the text says. */
	assert_true(jget(f.srv.body, "allowed_mentions", buf, sizeof(buf)));
	assert_string_equal(buf, "{\"parse\":[]}");

	/* A text over Discord's 2000 characters is cut to fit. */
	m = xcalloc(1, sizeof(*m));
	m->ev = CONF_AEV_START;
	m->name = "start";
	m->time = f.now;
	for (i = 0; i < 2500; i++)
		m->text[i] = 'a' + i % 26;
	alert_send(f.as->sinks[0], m);
	free(m);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 2);
	assert_int_equal(strlen(field(&f, "content")), 2000);
	assert_non_null(strstr(field(&f, "content"), "..."));
	fix_stop(&f);
}

static void
test_matrix(void **state)
{
	struct fix	f;
	struct ban	b;

	(void)state;
	/* The homeserver is the server's root. */
	fix_start(&f, "[alert mx]\ntype = matrix\nurl = %b/\n"
	    "room = !room:example.org\ntoken = syt_secret_token\n");
	b = mkban("203.0.113.5/32", VERDICT_KARMA, 1, f.now, MIN10,
	    "karma: 3M in 10s <b>");
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 1);
	assert_non_null(strstr(f.srv.last, "PUT /_matrix/client/v3/rooms/"
	    "%21room%3Aexample.org/send/m.room.message/xg"));
	assert_non_null(strcasestr(f.srv.last,
	    "\r\nAuthorization: Bearer syt_secret_token\r\n"));
	assert_string_equal(field(&f, "msgtype"), "m.notice");
	assert_string_equal(field(&f, "format"), "org.matrix.custom.html");
	assert_non_null(strstr(field(&f, "body"),
	    "banned 203.0.113.5/32 for 10m (karma: 3M in 10s <b>)"));
	assert_non_null(strstr(field(&f, "formatted_body"),
	    "(karma: 3M in 10s &lt;b&gt;)"));

	/* Each message its own transaction id. */
	alerts_ban(BAN_LIFTED, &b, f.now, f.as);	/* not in the events */
	alerts_start(f.as, 0, "none", f.now);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 2);
	assert_non_null(strstr(f.srv.last, "/send/m.room.message/xg"));
	assert_int_equal(f.as->sinks[0]->txn, 2);
	fix_stop(&f);
}

static void
test_json(void **state)
{
	struct fix	f;
	struct ban	b;
	char		v[256];

	(void)state;
	fix_start(&f, "[alert j]\ntype = json\nurl = %s\nevents = all\n");
	b = mkban("192.0.2.7/32", VERDICT_CHURN, 3, f.now, 40 * 60 *
	    CLOCK_US_PER_SEC, CHURN);
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_string_equal(field(&f, "event"), "escalation");
	assert_string_equal(field(&f, "severity"), "warning");
	assert_string_equal(field(&f, "host"), "testhost");
	assert_string_equal(field(&f, "address"), "192.0.2.7/32");
	assert_string_equal(field(&f, "rule"), "churn");
	assert_string_equal(field(&f, "reason"), CHURN);
	assert_true(jget(f.srv.body, "duration", v, sizeof(v)));
	assert_string_equal(v, "2400");
	assert_true(jget(f.srv.body, "count", v, sizeof(v)));
	assert_string_equal(v, "3");
	assert_string_equal(field(&f, "expires"), json_fmt_time(b.expires, v,
	    sizeof(v)));
	assert_non_null(strstr(field(&f, "text"), "3rd ban"));

	alerts_ban(BAN_EXPIRED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_string_equal(field(&f, "event"), "expire");
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: ban of "
	    "192.0.2.7/32 expired (churn, 3rd ban)");
	fix_stop(&f);
}

static void
test_template(void **state)
{
	struct fix	f;
	struct ban	b;
	const char	*why;
	char		v[64];

	(void)state;
	fix_start(&f, "[alert t]\ntype = json\nurl = %s\ntemplate = "
	    "{\"who\":\"$address\",\"why\":\"$reason\",\"n\":$count,"
	    "\"s\":$duration,\"msg\":\"$text\",\"c\":\"$$5\"}\n");
	b = mkban("192.0.2.9/32", VERDICT_MANUAL, 1, f.now, MIN10,
	    "said \"hi\"\\ \x01 there");
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_true(jvalid(f.srv.body));
	assert_string_equal(field(&f, "who"), "192.0.2.9/32");
	assert_string_equal(field(&f, "why"), "said \"hi\"\\ \x01 there");
	assert_string_equal(field(&f, "c"), "$5");
	assert_true(jget(f.srv.body, "n", v, sizeof(v)));
	assert_string_equal(v, "1");
	assert_true(jget(f.srv.body, "s", v, sizeof(v)));
	assert_string_equal(v, "600");
	assert_non_null(strstr(field(&f, "msg"), "banned 192.0.2.9/32"));
	fix_stop(&f);

	assert_int_equal(alert_template_check("{\"a\":\"$text $$ $count\"}",
	    &why), 0);
	assert_int_equal(alert_template_check("{\"a\":\"$txt\"}", &why), -1);
	assert_int_equal(alert_template_check("$", &why), -1);
}

/*
 * Failures.
 */

static void
test_500_retried(void **state)
{
	struct fix		f;
	struct alert_stats	st;
	struct ban		b;

	(void)state;
	fix_start(&f, "[alert ops]\ntype = slack\nurl = %s\nretries = 2\n"
	    "backoff = 100ms\n");
	f.srv.status = 500;
	b = mkban("192.0.2.7/32", VERDICT_CHURN, 1, f.now, MIN10, CHURN);
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 10000);
	assert_int_equal(f.srv.requests, 3);	/* the first and 2 retries */
	alerts_get_stats(f.as, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.sent, 0);
	assert_string_equal(f.as->sinks[0]->last_error, "HTTP 500");

	/* It comes back: the next one goes through. */
	f.srv.status = 200;
	alerts_ban(BAN_LIFTED, &b, f.now, f.as);	/* filtered */
	alerts_start(f.as, 0, "none", f.now);
	drain(&f, 10000);
	alerts_get_stats(f.as, &st);
	assert_int_equal(st.sent, 1);
	assert_int_equal(f.srv.requests, 4);
	fix_stop(&f);
}

static void
test_timeout(void **state)
{
	struct fix		f;
	struct alert_stats	st;
	struct ban		b;
	int64_t			t0, call_us, waited;
	int			i;

	(void)state;
	fix_start(&f, "[alert ops]\ntype = mattermost\nurl = %s\n"
	    "timeout = 300ms\nretries = 1\nbackoff = 100ms\nqueue = 3\n"
	    "digest = 0\n");
	f.srv.hang = 1;
	/* The caller never waits, even with the server silent. */
	t0 = clock_monotonic();
	for (i = 0; i < 10; i++) {
		b = mkban("192.0.2.7/32", VERDICT_CHURN, 1, f.now, MIN10,
		    CHURN);
		b.prefix.addr.bytes[3] = (uint8_t)(10 + i);
		alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	}
	call_us = clock_monotonic() - t0;
	assert_true(call_us < 50000);
	/* One in flight, three waiting: six dropped, counted. */
	alerts_get_stats(f.as, &st);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(st.pending, 4);
	t0 = clock_monotonic();
	drain(&f, 15000);
	waited = clock_monotonic() - t0;
	alerts_get_stats(f.as, &st);
	assert_int_equal(st.failed, 4);
	assert_int_equal(st.sent, 0);
	/* 8 attempts of 300ms, one at a time (a backoff frees the slot). */
	assert_true(waited >= 2000 * CLOCK_US_PER_MS);
	assert_true(waited < 8 * CLOCK_US_PER_SEC);
	assert_non_null(strcasestr(f.as->sinks[0]->last_error, "timed out"));
	fix_stop(&f);
}

/*
 * Digests.
 */

static void
test_storm_digest(void **state)
{
	struct fix		f;
	struct alert_stats	st;
	struct ban		b;
	char			addr[64];
	int			i, n = 0;

	(void)state;
	fix_start(&f, "[alert ops]\ntype = json\nurl = %s\ndigest = 1m\n"
	    "digest_after = 2\n");
	/* 1,000 bans within the minute: 950 addresses once, one 50 times
	 * (escalating). */
	for (i = 0; i < 1000; i++) {
		if (i % 20 == 5)
			b = mkban("203.0.113.66/32", VERDICT_AUTH, 2 + n++,
			    f.now + i * 1000, MIN10, "auth: 6 failed logins "
			    "in 10m (limit 5)");
		else {
			snprintf(addr, sizeof(addr), "10.%d.%d.1/32",
			    i / 250, i % 250);
			b = mkban(addr, VERDICT_CHURN, 1, f.now + i * 1000,
			    MIN10, CHURN);
		}
		alerts_ban(BAN_ISSUED, &b, f.now + i * 1000, f.as);
	}
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 2);	/* the first two only */
	alerts_tick(f.as, f.now + 30 * CLOCK_US_PER_SEC);	/* not yet */
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 2);
	alerts_tick(f.as, f.now + 61 * CLOCK_US_PER_SEC);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 3);
	assert_string_equal(field(&f, "event"), "digest");
	assert_string_equal(field(&f, "severity"), "warning");
	assert_true(jget(f.srv.body, "count", addr, sizeof(addr)));
	assert_string_equal(addr, "1000");
	assert_true(jget(f.srv.body, "held", addr, sizeof(addr)));
	assert_string_equal(addr, "998");
	assert_non_null(strstr(field(&f, "text"), "xmppguard@testhost: 1000 "
	    "bans (50 escalated) in 1m; 998 not announced one by one"));
	assert_non_null(strstr(field(&f, "text"), "by rule: churn 950, "
	    "auth 50"));
	assert_non_null(strstr(field(&f, "text"), "top addresses:\n  "
	    "203.0.113.66/32 x50 (auth: 6 failed logins in 10m (limit 5))"));
	assert_non_null(strstr(f.srv.body, "\"top\":[{\"address\":"
	    "\"203.0.113.66/32\",\"count\":50,\"rule\":\"auth\""));
	alerts_get_stats(f.as, &st);
	assert_int_equal(st.digests, 1);
	assert_int_equal(st.digested, 998);
	assert_int_equal(st.sent, 3);

	/* The storm goes on: the next minute is all digest. */
	for (i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "10.9.%d.1/32", i);
		b = mkban(addr, VERDICT_CHURN, 1, f.now + 70 *
		    CLOCK_US_PER_SEC, MIN10, CHURN);
		alerts_ban(BAN_ISSUED, &b, f.now + 70 * CLOCK_US_PER_SEC,
		    f.as);
	}
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 3);
	alerts_tick(f.as, f.now + 122 * CLOCK_US_PER_SEC);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 4);
	assert_non_null(strstr(field(&f, "text"), ": 10 bans in 1m; 10 not "
	    "announced"));

	/* A quiet minute ends it: single bans go out one by one again. */
	alerts_tick(f.as, f.now + 183 * CLOCK_US_PER_SEC);
	b = mkban("192.0.2.1/32", VERDICT_CHURN, 1, f.now + 200 *
	    CLOCK_US_PER_SEC, MIN10, CHURN);
	alerts_ban(BAN_ISSUED, &b, f.now + 200 * CLOCK_US_PER_SEC, f.as);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 5);
	assert_string_equal(field(&f, "event"), "ban");

	/* Ten minutes later they all expire: one digest says so. */
	fix_stop(&f);
	fix_start(&f, "[alert ops]\ntype = json\nurl = %s\nevents = all\n"
	    "digest_after = 1\n");
	for (i = 0; i < 300; i++) {
		snprintf(addr, sizeof(addr), "10.8.%d.%d/32", i / 200, i % 200);
		b = mkban(addr, VERDICT_CHURN, 1, f.now, MIN10, CHURN);
		alerts_ban(BAN_EXPIRED, &b, f.now, f.as);
	}
	b = mkban("192.0.2.1/32", VERDICT_CHURN, 1, f.now, MIN10, CHURN);
	alerts_ban(BAN_LIFTED, &b, f.now, f.as);
	alerts_tick(f.as, f.now + 60 * CLOCK_US_PER_SEC);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 2);
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: 1 lifted, "
	    "300 expired in 1m; 300 not announced one by one");
	fix_stop(&f);
}

static void
test_start_stop(void **state)
{
	struct fix	f;
	struct ban	b;
	char		addr[32];
	int		i;

	(void)state;
	fix_start(&f, "[alert ops]\ntype = slack\nurl = %s\n"
	    "digest_after = 1\n");
	alerts_start(f.as, 7, "nftables", f.now);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 1);
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: started "
	    "(version " XG_VERSION ", firewall nftables, 7 bans in force "
	    "restored)");
	for (i = 0; i < 4; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d/32", i + 1);
		b = mkban(addr, VERDICT_CHURN, 1, f.now, MIN10, CHURN);
		alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	}
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 2);
	/* Stop: the digest held so far, then the stop message. */
	alerts_stop(f.as, 90 * CLOCK_US_PER_SEC, 4, f.now + 5 *
	    CLOCK_US_PER_SEC);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 4);
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: stopping "
	    "after 1m30s; 4 bans in force stay in the firewall with their "
	    "timeouts, but no new ones until it runs again");
	assert_int_equal(f.as->sinks[0]->digests, 1);
	fix_stop(&f);
}

static void
test_filters(void **state)
{
	struct fix		f;
	struct outage_stats	os;
	struct ban		b;

	(void)state;
	fix_start(&f, "[alert bans]\ntype = json\nurl = %s\nevents = ban\n"
	    "digest = 0\n"
	    "[alert loud]\ntype = json\nurl = %s\nevents = all\n"
	    "min_severity = warning\ndigest = 0\n"
	    "[alert crit]\ntype = json\nurl = %s\nmin_severity = critical\n");
	b = mkban("192.0.2.7/32", VERDICT_CHURN, 1, f.now, MIN10, CHURN);
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);	/* bans */
	alerts_ban(BAN_LIFTED, &b, f.now, f.as);	/* nobody */
	b.count = 2;
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);	/* loud */
	alerts_start(f.as, 0, "none", f.now);		/* nobody */
	alerts_overrun(f.as, 0, f.now);
	alerts_overrun(f.as, 3, f.now);			/* loud */
	memset(&os, 0, sizeof(os));
	os.fails = 25;
	os.addresses = 24;
	os.baseline = 2.0;
	alerts_outage(f.as, &os, 60 * CLOCK_US_PER_SEC, 900 *
	    CLOCK_US_PER_SEC, f.now);			/* loud, crit */
	drain(&f, 5000);
	assert_int_equal(f.as->sinks[0]->events, 1);
	assert_int_equal(f.as->sinks[0]->sent, 1);
	assert_int_equal(f.as->sinks[1]->events, 3);
	assert_int_equal(f.as->sinks[1]->sent, 3);
	assert_int_equal(f.as->sinks[2]->events, 1);
	assert_int_equal(f.as->sinks[2]->sent, 1);
	assert_int_equal(f.srv.requests, 5);
	fix_stop(&f);
}

static void
test_overrun_outage(void **state)
{
	struct fix		f;
	struct outage_stats	os;

	(void)state;
	fix_start(&f, "[alert j]\ntype = json\nurl = %s\n");
	alerts_overrun(f.as, 5, f.now);		/* primes: old news */
	alerts_overrun(f.as, 6, f.now);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 1);
	assert_string_equal(field(&f, "event"), "overrun");
	assert_non_null(strstr(field(&f, "text"), "events were lost (1 "
	    "overrun, 6 since start)"));
	/* More within the minute wait for it, summed. */
	alerts_overrun(f.as, 8, f.now + CLOCK_US_PER_SEC);
	alerts_overrun(f.as, 9, f.now + 2 * CLOCK_US_PER_SEC);
	alerts_tick(f.as, f.now + 30 * CLOCK_US_PER_SEC);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 1);
	alerts_tick(f.as, f.now + 61 * CLOCK_US_PER_SEC);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 2);
	assert_non_null(strstr(field(&f, "text"), "(3 overruns, 9 since "
	    "start)"));

	memset(&os, 0, sizeof(os));
	os.fails = 25;
	os.addresses = 24;
	os.oks = 0;
	os.baseline = 2.0;
	alerts_outage(f.as, &os, 60 * CLOCK_US_PER_SEC, 900 *
	    CLOCK_US_PER_SEC, f.now);
	drain(&f, 5000);
	assert_string_equal(field(&f, "event"), "auth-outage");
	assert_string_equal(field(&f, "severity"), "critical");
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: "
	    "authentication backend outage? 25 failed logins from about 24 "
	    "addresses in 1m with 0 successful (usually 2.0 failures); auth "
	    "bans are held until it has been gone for 15m");

	/* The cluster link (in the default events): down, then back. */
	alerts_cluster(f.as, 1, "https://lapi.example.org:8080/x", 312 *
	    CLOCK_US_PER_SEC, "pull: Couldn't connect to server", f.now);
	drain(&f, 5000);
	assert_string_equal(field(&f, "event"), "cluster-down");
	assert_string_equal(field(&f, "severity"), "critical");
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: cluster "
	    "link to https://lapi.example.org:8080/... down for 5m12s: pull: "
	    "Couldn't connect to server; bans are still made and queued "
	    "here, but none comes from the other nodes");
	alerts_cluster(f.as, 0, "https://lapi.example.org:8080/x", 400 *
	    CLOCK_US_PER_SEC, NULL, f.now);
	drain(&f, 5000);
	assert_string_equal(field(&f, "event"), "cluster-up");
	assert_string_equal(field(&f, "severity"), "info");
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: cluster "
	    "link to https://lapi.example.org:8080/... back after 6m40s "
	    "down");
	fix_stop(&f);
}

/* An authenticated federation peer over an s2s limit: told, as a
 * warning, with the verdict's reason. */
static void
test_peer(void **state)
{
	struct fix	f;
	struct verdict	v;

	(void)state;
	fix_start(&f, "[alert j]\ntype = json\nurl = %s\n");
	memset(&v, 0, sizeof(v));
	assert_int_equal(addr_prefix_parse("198.51.100.30/32", &v.prefix, 0),
	    0);
	v.time = f.now;
	v.rule = VERDICT_CHURN;
	v.observed = 61;
	v.peer = v.allowlisted = 1;
	snprintf(v.reason, sizeof(v.reason), "churn: 61 new s2s connections "
	    "in 1h (limit 60) (authenticated federation peer: alert only)");
	alerts_peer(&v, f.as);
	alerts_peer(&v, NULL);		/* no alerts: nothing */
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 1);
	assert_string_equal(field(&f, "event"), "peer");
	assert_string_equal(field(&f, "severity"), "warning");
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: "
	    "federation peer 198.51.100.30/32 not banned: churn: 61 new s2s "
	    "connections in 1h (limit 60) (authenticated federation peer: "
	    "alert only)");
	fix_stop(&f);
}

/* A surge (in the default events): its start, a warning with its size,
 * and its end, info, with its duration. */
static void
test_surge(void **state)
{
	struct fix		f;
	struct surge_change	c;

	(void)state;
	fix_start(&f, "[alert j]\ntype = json\nurl = %s\n");
	memset(&c, 0, sizeof(c));
	c.service = "c2s";
	c.on = 1;
	c.time = f.now;
	c.rate = 2505;
	c.baseline = 12.5;
	c.threshold = 125;
	c.window = 60 * CLOCK_US_PER_SEC;
	c.factor = 10;
	c.addresses = 1000;
	alerts_surge(&c, f.as);
	alerts_surge(&c, NULL);		/* no alerts: nothing */
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 1);
	assert_string_equal(field(&f, "event"), "surge");
	assert_string_equal(field(&f, "severity"), "warning");
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: surge "
	    "on c2s: 2505 connections that did not log in in 1m from 1000 "
	    "addresses, usually 12.5 (threshold 125, 10 times usual); "
	    "addresses with no recent login are held to the surge cap");
	c.on = 0;
	c.duration = 754 * CLOCK_US_PER_SEC;
	c.conns = 40000;
	/* None read (the surge cap's rule may not log them): not said. */
	alerts_surge(&c, f.as);
	drain(&f, 5000);
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: surge "
	    "on c2s over after 12m34s: peak 2505 in 1m, 40000 connections "
	    "that did not log in from 1000 addresses; the surge cap is "
	    "lifted");
	c.refused = 3700;
	alerts_surge(&c, f.as);
	drain(&f, 5000);
	assert_string_equal(field(&f, "event"), "surge");
	assert_string_equal(field(&f, "severity"), "info");
	assert_string_equal(field(&f, "text"), "xmppguard@testhost: surge "
	    "on c2s over after 12m34s: peak 2505 in 1m, 40000 connections "
	    "that did not log in from 1000 addresses, 3700 refused by the "
	    "surge cap; the surge cap is lifted");
	fix_stop(&f);
}

/*
 * Secrets.
 */

static void
test_secrets(void **state)
{
	struct fix	 f;
	struct ban	 b;
	char		 dead[64], conf[768];
	char		 logpath[] = "/tmp/test_alert_log.XXXXXX";
	char		 buf[8192], *status = NULL, *json = NULL;
	struct status	*st;
	size_t		 slen = 0, jlen = 0;
	FILE		*mem;
	ssize_t		 n;
	int		 fd, saved;

	(void)state;
	httpd_dead_url(dead, sizeof(dead));
	/* dead is http://127.0.0.1:PORT/hook */
	snprintf(conf, sizeof(conf), "[alert s]\ntype = slack\nurl = "
	    "%s/T0001/B0001/WEBHOOKSECRET\nretries = 0\n"
	    "[alert mx]\ntype = matrix\nurl = %.*s\nroom = !r:example.org\n"
	    "token = syt_MATRIXSECRET\nretries = 0\n", dead,
	    (int)(strlen(dead) - 5), dead);
	fd = mkstemp(logpath);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fix_start(&f, conf);
	b = mkban("192.0.2.7/32", VERDICT_CHURN, 1, f.now, MIN10, CHURN);
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	st = status_new();
	status_add(st, &alerts_status_group, f.as);
	mem = open_memstream(&json, &jlen);
	status_json(st, mem);
	fclose(mem);
	mem = open_memstream(&status, &slen);
	status_text(st, mem);
	fclose(mem);
	status_free(st);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(f.as->sinks[0]->failed, 1);
	assert_int_equal(f.as->sinks[1]->failed, 1);
	fix_stop(&f);

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(logpath);
	assert_true(n > 0);
	buf[n] = '\0';
	/* The failures are said, by sink and host... */
	assert_non_null(strstr(buf, "alert s: a message to "
	    "http://127.0.0.1:"));
	assert_non_null(strstr(buf, "alert mx: a message to "));
	/* ... the secrets never. */
	assert_null(strstr(buf, "WEBHOOKSECRET"));
	assert_null(strstr(buf, "MATRIXSECRET"));
	assert_null(strstr(buf, "T0001"));
	assert_true(jvalid(json));
	assert_null(strstr(json, "SECRET"));
	assert_null(strstr(status, "SECRET"));
	assert_non_null(strstr(json, "\"failed\":2"));
	assert_non_null(strstr(status, "alert s     slack, http://127.0.0.1:"));
	free(json);
	free(status);

	/* Spans for people. */
	assert_string_equal(alert_span(600 * CLOCK_US_PER_SEC, buf, 32),
	    "10m");
	assert_string_equal(alert_span(266717 * CLOCK_US_PER_SEC, buf, 32),
	    "3d2h");
	assert_string_equal(alert_span(5400 * CLOCK_US_PER_SEC, buf, 32),
	    "1h30m");
	assert_string_equal(alert_span(3601 * CLOCK_US_PER_SEC, buf, 32),
	    "1h");
	assert_string_equal(alert_span(0, buf, 32), "1s");

	/* The scrubber itself. */
	snprintf(buf, sizeof(buf), "bad http://h/x/SECRET99 and SECRET99");
	alert_scrub(buf, "SECRET99");
	assert_string_equal(buf, "bad http://h/x/*** and ***");
}

/*
 * Reload, and the ban table's notifications.
 */

static void
test_reload(void **state)
{
	struct fix	 f;
	struct conf	*conf2;
	struct ban	 b;
	char		*cause = NULL, *text;
	FILE		*fp;

	(void)state;
	fix_start(&f, "[alert a]\ntype = json\nurl = %s\n"
	    "[alert b]\ntype = json\nurl = %s\n");
	b = mkban("192.0.2.7/32", VERDICT_CHURN, 1, f.now, MIN10, CHURN);
	alerts_ban(BAN_ISSUED, &b, f.now, f.as);
	drain(&f, 5000);
	assert_int_equal(f.as->sinks[0]->sent, 1);
	/* a unchanged, b changed, c new. */
	text = xasprintf("[alert a]\ntype = json\nurl = %s\n"
	    "[alert b]\ntype = json\nurl = %s\nevents = all\n"
	    "[alert c]\ntype = slack\nurl = %s\n", f.srv.url, f.srv.url,
	    f.srv.url);
	fp = fopen(f.path, "w");
	fputs(text, fp);
	fclose(fp);
	free(text);
	assert_int_equal(conf_load(f.path, &conf2, &cause), 0);
	alerts_reload(f.as, conf2);
	conf_free(f.conf);
	f.conf = conf2;
	assert_int_equal(f.as->nsinks, 3);
	assert_int_equal(f.as->sinks[0]->sent, 1);	/* kept */
	assert_int_equal(f.as->sinks[1]->sent, 0);	/* new */
	assert_ptr_equal(f.as->sinks[0]->ca, &conf2->alerts[0]);
	alerts_ban(BAN_LIFTED, &b, f.now, f.as);	/* b only */
	drain(&f, 5000);
	assert_int_equal(f.as->sinks[1]->sent, 1);
	assert_int_equal(f.as->sinks[0]->events, 1);
	fix_stop(&f);
}

static void
test_ban_notify(void **state)
{
	struct fix	 f;
	struct store	*store;
	struct bans	*bs;
	struct verdict	 v;
	struct prefix	 p;
	char		 db[] = "/tmp/test_alert_db.XXXXXX", *cause = NULL;
	int		 fd;

	(void)state;
	fd = mkstemp(db);
	assert_true(fd >= 0);
	close(fd);
	unlink(db);
	fix_start(&f, "[alert j]\ntype = json\nurl = %s\nevents = all\n"
	    "digest = 0\n");
	store = store_open(db, 0, 100, &cause);
	assert_non_null(store);
	bs = bans_new(f.conf, store);
	bans_set_notify(bs, alerts_ban, f.as);

	memset(&v, 0, sizeof(v));
	assert_int_equal(addr_prefix_parse("198.51.100.10/32", &v.prefix, 0),
	    0);
	v.rule = VERDICT_CHURN;
	v.time = f.now;
	snprintf(v.reason, sizeof(v.reason), "%s", CHURN);
	assert_int_equal(bans_verdict(bs, &v, f.now), 1);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 1);
	assert_string_equal(field(&f, "event"), "ban");
	assert_string_equal(field(&f, "address"), "198.51.100.10/32");

	assert_int_equal(addr_prefix_parse("198.51.100.20/32", &p, 0), 0);
	assert_int_equal(bans_manual(bs, &p, 0, FW_SCOPE_SERVICES,
	    "by hand", f.now, &cause), 0);
	assert_int_equal(bans_lift(bs, &p, f.now + 1, &cause), 0);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 3);
	assert_string_equal(field(&f, "event"), "unban");

	/* A second verdict while banned makes it longer: an extension. */
	v.time = f.now + 60 * CLOCK_US_PER_SEC;
	assert_int_equal(bans_verdict(bs, &v, v.time), 1);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 4);
	assert_non_null(strstr(field(&f, "text"), "ban of 198.51.100.10/32 "
	    "extended to 10m"));
	store_flush(store);
	bans_free(bs);

	/* A restart: the ban is restored without a word. */
	bs = bans_new(f.conf, store);
	bans_set_notify(bs, alerts_ban, f.as);
	assert_int_equal(bans_load(bs, f.now + 120 * CLOCK_US_PER_SEC), 1);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 4);
	/* ... until it expires. */
	bans_expire(bs, f.now + 3600 * CLOCK_US_PER_SEC, 0);
	drain(&f, 5000);
	assert_int_equal(f.srv.requests, 5);
	assert_string_equal(field(&f, "event"), "expire");
	bans_free(bs);
	store_close(store);
	fix_stop(&f);
	unlink(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_slack, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_mattermost_rocketchat,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_discord, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_matrix, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_json, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_template, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_500_retried, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_timeout, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_storm_digest,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_start_stop, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_filters, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_peer, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_surge, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_overrun_outage,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_secrets, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_reload, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_ban_notify, guard_setup,
		    guard_teardown),
	};

	log_init(1, LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
