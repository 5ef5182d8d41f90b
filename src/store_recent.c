/*
 * The store's reads for a start: the recent events and verdicts from which
 * the tracker rebuilds its windows (churn, failed logins, registrations,
 * logins, offences), newest first and at most max rows, so a restart judges an
 * attacker as if it had not happened.  Read once, before the loop runs.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "event.h"
#include "store.h"
#include "store_int.h"
#include "verdict.h"
#include "xmalloc.h"

/* Binds since and max to a recent statement; SQLite's result code. */
static int
store_recent_bind(sqlite3_stmt *st, int64_t since, int64_t max)
{
	int	rc;

	if ((rc = sqlite3_bind_int64(st, 1, since)) == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, max);
	return rc;
}

/* Ends a recent read: the rows read, or -1 and *cause if it failed. */
static int64_t
store_recent_end(struct store *s, sqlite3_stmt *st, int rc, int64_t n,
    char **cause)
{
	if (rc != SQLITE_DONE) {
		store_cause(cause, s->path, s->db, "reading recent rows");
		s->stats.errors++;
		n = -1;
	}
	sqlite3_reset(st);
	return n;
}

int64_t
store_recent_events(struct store *s, enum store_recent what, int64_t since,
    int64_t max, void (*cb)(const struct event *, void *), void *arg,
    char **cause)
{
	static const enum store_st	 which[STORE_RECENT_MAX] = {
		[STORE_RECENT_CONNS] = STORE_ST_RECENT_CONNS,
		[STORE_RECENT_AUTH_FAIL] = STORE_ST_RECENT_AUTH_FAIL,
		[STORE_RECENT_REGISTER] = STORE_ST_RECENT_REGISTER,
		[STORE_RECENT_AUTH_OK] = STORE_ST_RECENT_AUTH_OK,
		[STORE_RECENT_S2S_OK] = STORE_ST_RECENT_S2S_OK,
	};
	sqlite3_stmt	*st = s->st[which[what]];
	struct event	 ev;
	const char	*t;
	int64_t		 n = 0;
	int		 rc, port;

	store_check_writable(s, __func__);
	memset(&ev, 0, sizeof(ev));
	switch (what) {
	case STORE_RECENT_CONNS:
		ev.kind = EVENT_CONN_OPEN;
		ev.source = EVENT_SRC_CONNTRACK;
		ev.origin = "conntrack";
		ev.flags = EVENT_F_HANDSHAKE;
		break;
	case STORE_RECENT_AUTH_FAIL:
	case STORE_RECENT_REGISTER:
	case STORE_RECENT_AUTH_OK:
	case STORE_RECENT_S2S_OK:
		ev.kind = what == STORE_RECENT_AUTH_FAIL ? EVENT_AUTH_FAIL :
		    what == STORE_RECENT_REGISTER ? EVENT_REGISTER :
		    what == STORE_RECENT_S2S_OK ? EVENT_S2S_OK :
		    EVENT_AUTH_OK;
		ev.source = EVENT_SRC_LOG;
		break;
	default:
		*cause = xasprintf("%s: no such recent rows", s->path);
		return -1;
	}
	if ((rc = store_recent_bind(st, since, max)) != SQLITE_OK)
		return store_recent_end(s, st, rc, 0, cause);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev.time = sqlite3_column_int64(st, 0);
		t = (const char *)sqlite3_column_text(st, 1);
		/* "?": the source named no address. */
		if (t == NULL || addr_parse(t, &ev.addr, NULL) == -1)
			continue;
		if (what == STORE_RECENT_CONNS) {
			port = sqlite3_column_int(st, 2);
			ev.port = port > 0 && port <= UINT16_MAX ?
			    (uint16_t)port : 0;
			ev.service = (const char *)sqlite3_column_text(st, 3);
			ev.start = ev.time;
		} else if (what != STORE_RECENT_AUTH_FAIL)
			ev.user = (const char *)sqlite3_column_text(st, 2);
		cb(&ev, arg);
		n++;
	}
	return store_recent_end(s, st, rc, n, cause);
}

int64_t
store_recent_verdicts(struct store *s, int64_t since, int64_t max,
    void (*cb)(const struct verdict *, void *), void *arg, char **cause)
{
	sqlite3_stmt	*st = s->st[STORE_ST_RECENT_VERDICTS];
	struct verdict	 v;
	struct addr	 a;
	const char	*t;
	int64_t		 n = 0;
	int		 rc, len, rule;

	store_check_writable(s, __func__);
	if ((rc = store_recent_bind(st, since, max)) != SQLITE_OK)
		return store_recent_end(s, st, rc, 0, cause);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&v, 0, sizeof(v));
		v.time = sqlite3_column_int64(st, 0);
		t = (const char *)sqlite3_column_text(st, 1);
		if (t == NULL || addr_parse(t, &a, NULL) == -1)
			continue;
		len = sqlite3_column_int(st, 2);
		t = (const char *)sqlite3_column_text(st, 3);
		if (len < 0 || len > addr_maxlen(&a) || t == NULL ||
		    (rule = verdict_rule_parse(t)) == -1)
			continue;
		addr_mask(&a, len, &v.prefix);
		v.rule = (enum verdict_rule)rule;
		v.service = (const char *)sqlite3_column_text(st, 4);
		cb(&v, arg);
		n++;
	}
	return store_recent_end(s, st, rc, n, cause);
}
