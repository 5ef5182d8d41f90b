/*
 * Alerts into XMPP: one client per [alert NAME] of type xmpp.
 *
 * The client is a thread of its own that owns every libstrophe object
 * (its context, its connection, its stanzas): libstrophe 0.12 resolves
 * names (SRV, then getaddrinfo) and runs the TLS handshake to its end in
 * select() loops, so on the daemon's loop a slow or silent server would
 * stop everything else.  The loop side only appends to a bounded queue
 * under a mutex (alert_xmpp_send) and, once a second, reads the client's
 * state to log its changes (logging stays on the loop's thread).
 *
 * The thread: connect (TLS required or direct, the certificate verified
 * against ca_file or the system's CAs and the JID's domain, unless
 * tls_verify = no), log in, join the room as nick and wait for the room's
 * own presence of us, then hand each queued text to the server as one
 * groupchat message to the room and one chat message per JID of `to`.
 * A failed attempt or a lost session waits `backoff` before the next,
 * doubling up to ALERT_XMPP_BACKOFF_MAX, and back to `backoff` once a
 * session is up; an attempt not online within `timeout` is given up.
 *
 * Invariants: the queue holds at most `queue` texts (ALERT_TEXT_MAX bytes
 * each); when full the oldest goes, counted, so the newest news wins and a
 * ban never waits for the chat.  Texts are cleaned before they become XML
 * (no control characters, valid UTF-8: a bad byte would end the stream).
 * The password lives in this struct and libstrophe's connection only, is
 * wiped when freed and is never logged (libstrophe is given no logger).
 * Everything in the struct below `mu` is shared and read or written with
 * mu held; what is marked "thread" is the client thread's alone.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <strophe.h>

#include "alert_int.h"
#include "alert_xmpp.h"
#include "clock.h"
#include "conf.h"
#include "dyn.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define ALERT_XMPP_TICK_MS	1000
#define ALERT_XMPP_POLL_MS	100	/* a queued text waits at most this */
#define ALERT_XMPP_BACKOFF_MAX	(300 * CLOCK_US_PER_SEC)
#define ALERT_XMPP_BYE_US	(1 * CLOCK_US_PER_SEC)
#define ALERT_XMPP_JOIN_US	(1500 * 1000)	/* free() waits this long */
#define ALERT_XMPP_TO_MAX	16	/* JIDs in `to` */
#define ALERT_XMPP_BATCH	64	/* texts sent per wakeup */
#define ALERT_XMPP_NS_MUC	"http://jabber.org/protocol/muc"
#define ALERT_XMPP_NS_PING	"urn:xmpp:ping"

/* A ring of texts: the oldest at head. */
struct alert_xmpp_queue {
	char		**msg;
	uint32_t	  cap;
	uint32_t	  head;
	uint32_t	  len;
};

struct alert_xmpp {
	/* Set at creation, then read only. */
	char			 name[CONF_NAME_MAX];
	char			*jid;
	char			*password;
	char			*room;		/* "": none */
	char			*occupant;	/* room/nick */
	char			*to[ALERT_XMPP_TO_MAX];
	int			 nto;
	char			 host[256];	/* "": from the JID */
	unsigned short		 port;
	char			*ca_file;	/* NULL: the system's */
	long			 flags;		/* XMPP_CONN_FLAG_* */
	int64_t			 backoff;	/* us */
	int64_t			 timeout;	/* us */

	/* The loop's side. */
	struct loop		*loop;
	struct loop_timer	*timer;
	pthread_t		 thread;
	int			 started;
	int			 shown_state;	/* last logged */
	uint64_t		 shown_failures;
	struct log_ratelimit	 rl;

	/* Shared, under mu. */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 stop;
	int			 finished;	/* the thread is done */
	int			 orphan;	/* ... and frees the struct */
	struct alert_xmpp_queue	 q;
	uint32_t		 inflight;	/* in libstrophe's send queue */
	int64_t			 retry_in;	/* us, while waiting */
	struct alert_xmpp_stats	 st;

	/* Thread. */
	xmpp_ctx_t		*ctx;
	xmpp_conn_t		*conn;
	int			 ready;		/* logged in, in the room */
	int			 dead;		/* the session is over */
	int			 secured;
	char			 err[128];
};

/* libstrophe's certificate callback has no argument: the thread's own. */
static __thread struct alert_xmpp *alert_xmpp_self;

static void	alert_xmpp_destroy(struct alert_xmpp *);

static const char *const alert_xmpp_state_names[ALERT_XMPP_STATE_MAX] = {
	"idle", "connecting", "online", "waiting"
};

const char *
alert_xmpp_state_name(int state)
{
	return state >= 0 && state < ALERT_XMPP_STATE_MAX ?
	    alert_xmpp_state_names[state] : "?";
}

/*
 * Text.
 */

/* The valid UTF-8 sequence at s that XML takes (not U+FFFE, U+FFFF), or 0. */
static size_t
alert_xmpp_utf8_len(const unsigned char *s)
{
	size_t	len = json_utf8_len(s);

	if (len == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
		return 0;
	return len;
}

/*
 * src as XML character data can carry it, into buf of size bytes: tabs
 * and newlines kept, other control characters and invalid UTF-8 as '?',
 * cut (on a character) to fit.
 */
static void
alert_xmpp_clean(char *buf, size_t size, const char *src)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 n = strlen(src), o = 0, len;

	while (n > 0 && o + 1 < size) {
		len = alert_xmpp_utf8_len(s);
		if (len == 1 && s[0] < 0x20 && s[0] != '\t' && s[0] != '\n')
			len = 0;
		if (len == 1 && s[0] == 0x7f)
			len = 0;
		if (len == 0) {
			buf[o++] = '?';
			s++, n--;
			continue;
		}
		if (o + len >= size)
			break;
		memcpy(buf + o, s, len);
		o += len, s += len, n -= len;
	}
	buf[o] = '\0';
}

/* A word from the network (an error condition) safe to log. */
static void
alert_xmpp_word(char *buf, size_t size, const char *src)
{
	size_t	o = 0;

	for (; src != NULL && *src != '\0' && o + 1 < size; src++)
		buf[o++] = (*src >= 'a' && *src <= 'z') || *src == '-' ?
		    *src : '?';
	buf[o] = '\0';
}

/* The message stanza for one recipient (type "groupchat" or "chat"). */
static xmpp_stanza_t *
alert_xmpp_stanza(xmpp_ctx_t *ctx, const char *type, const char *to,
    const char *text)
{
	xmpp_stanza_t	*m;
	char		*id;

	id = xmpp_uuid_gen(ctx);
	m = xmpp_message_new(ctx, type, to, id);
	if (id != NULL)
		xmpp_free(ctx, id);
	if (m == NULL)
		return NULL;
	if (xmpp_message_set_body(m, text) != XMPP_EOK) {
		xmpp_stanza_release(m);
		return NULL;
	}
	return m;
}

/*
 * Checking the configuration.
 */

int
alert_xmpp_jid_ok(const char *s, int bare)
{
	const char	*at, *slash, *p;

	if (s == NULL || strlen(s) > 255 || (at = strchr(s, '@')) == NULL ||
	    at == s)
		return 0;
	slash = strchr(at, '/');
	if (slash != NULL && (bare || slash[1] == '\0'))
		return 0;
	if ((slash != NULL ? slash : at + strlen(at)) == at + 1)
		return 0;	/* no domain */
	for (p = s; *p != '\0' && (slash == NULL || p < slash); p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f ||
		    strchr("\"&'<>:", *p) != NULL ||
		    (*p == '@' && p != at))
			return 0;
	}
	for (p = at + 1; *p != '\0' && *p != '/'; p++)
		if (*p == '.' && (p == at + 1 || p[1] == '.' || p[1] == '/' ||
		    p[1] == '\0'))
			return 0;
	return 1;
}

int
alert_xmpp_server_parse(const char *s, char *host, size_t size,
    unsigned short *port)
{
	const char	*end, *colon;
	char		*ep;
	unsigned long	 n;
	size_t		 len;

	*port = 0;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		len = (size_t)(end - s - 1);
		s++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return -1;	/* an IPv6 address needs brackets */
		len = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (len == 0 || len >= size || strcspn(s, " \t/@") < len)
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	if (colon == NULL)
		return 0;
	errno = 0;
	n = strtoul(colon + 1, &ep, 10);
	if (colon[1] == '\0' || *ep != '\0' || errno != 0 || n == 0 ||
	    n > 65535)
		return -1;
	*port = (unsigned short)n;
	return 0;
}

/*
 * The queue (under mu).
 */

static void
alert_xmpp_queue_init(struct alert_xmpp_queue *q, uint32_t cap)
{
	q->cap = cap > 0 ? cap : 1;
	q->msg = xcalloc(q->cap, sizeof(*q->msg));
	q->head = q->len = 0;
}

/* Appends text (taken over); 1 if the oldest made way, else 0. */
static int
alert_xmpp_queue_push(struct alert_xmpp_queue *q, char *text)
{
	int	dropped = 0;

	if (q->len == q->cap) {
		free(q->msg[q->head]);
		q->head = (q->head + 1) % q->cap;
		q->len--;
		dropped = 1;
	}
	q->msg[(q->head + q->len) % q->cap] = text;
	q->len++;
	return dropped;
}

/* The oldest text (the caller frees), or NULL. */
static char *
alert_xmpp_queue_pop(struct alert_xmpp_queue *q)
{
	char	*text;

	if (q->len == 0)
		return NULL;
	text = q->msg[q->head];
	q->msg[q->head] = NULL;
	q->head = (q->head + 1) % q->cap;
	q->len--;
	return text;
}

/* Frees what is left; returns how many. */
static uint32_t
alert_xmpp_queue_clear(struct alert_xmpp_queue *q)
{
	uint32_t	n = q->len;
	char		*text;

	while ((text = alert_xmpp_queue_pop(q)) != NULL)
		free(text);
	free(q->msg);
	q->msg = NULL;
	return n;
}

/*
 * The client thread.
 */

static void
alert_xmpp_publish(struct alert_xmpp *ax, int state, int failed)
{
	pthread_mutex_lock(&ax->mu);
	ax->st.state = state;
	if (failed) {
		ax->st.failures++;
		snprintf(ax->st.last_error, sizeof(ax->st.last_error), "%s",
		    ax->err);
	}
	pthread_mutex_unlock(&ax->mu);
}

static int
alert_xmpp_certfail_cb(const xmpp_tlscert_t *cert, const char *why)
{
	(void)cert;
	if (alert_xmpp_self != NULL)
		snprintf(alert_xmpp_self->err, sizeof(alert_xmpp_self->err),
		    "certificate not trusted: %s", why);
	return 0;
}

/* The reason in an error stanza: its condition's name. */
static void
alert_xmpp_condition(xmpp_stanza_t *st, char *buf, size_t size)
{
	xmpp_stanza_t	*e, *c;

	buf[0] = '\0';
	if ((e = xmpp_stanza_get_child_by_name(st, "error")) == NULL)
		return;
	for (c = xmpp_stanza_get_children(e); c != NULL;
	    c = xmpp_stanza_get_next(c)) {
		if (xmpp_stanza_is_tag(c) && strcmp(xmpp_stanza_get_name(c),
		    "text") != 0) {
			alert_xmpp_word(buf, size, xmpp_stanza_get_name(c));
			return;
		}
	}
}

/* 1 if from is our occupant JID in the room (the server may change case). */
static int
alert_xmpp_is_us(const struct alert_xmpp *ax, const char *from)
{
	return from != NULL && strcasecmp(from, ax->occupant) == 0;
}

static int
alert_xmpp_presence_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct alert_xmpp	*ax = arg;
	const char		*type = xmpp_stanza_get_type(st);
	char			 cond[48];

	if (!alert_xmpp_is_us(ax, xmpp_stanza_get_from(st)))
		return 1;
	if (type != NULL && strcmp(type, "error") == 0) {
		alert_xmpp_condition(st, cond, sizeof(cond));
		snprintf(ax->err, sizeof(ax->err), "the room refused us: %s",
		    cond[0] != '\0' ? cond : "no reason given");
		xmpp_disconnect(conn);
	} else if (type != NULL && strcmp(type, "unavailable") == 0) {
		snprintf(ax->err, sizeof(ax->err), "out of the room (kicked, "
		    "or the room was closed)");
		xmpp_disconnect(conn);
	} else if (!ax->ready) {
		ax->ready = 1;
		alert_xmpp_publish(ax, ALERT_XMPP_ONLINE, 0);
	}
	return 1;
}

/* A message refused (the room's rules, a JID that does not exist). */
static int
alert_xmpp_message_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct alert_xmpp	*ax = arg;
	char			 cond[48];

	(void)conn;
	alert_xmpp_condition(st, cond, sizeof(cond));
	pthread_mutex_lock(&ax->mu);
	snprintf(ax->st.last_error, sizeof(ax->st.last_error), "a message "
	    "was refused: %s", cond[0] != '\0' ? cond : "no reason given");
	pthread_mutex_unlock(&ax->mu);
	return 1;
}

/* Servers may ping their clients (XEP-0199): answer, or be dropped. */
static int
alert_xmpp_ping_cb(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct alert_xmpp	*ax = arg;
	xmpp_stanza_t		*r;
	const char		*from = xmpp_stanza_get_from(st);

	if (xmpp_stanza_get_child_by_name_and_ns(st, "ping",
	    ALERT_XMPP_NS_PING) == NULL)
		return 1;
	if ((r = xmpp_iq_new(ax->ctx, "result", xmpp_stanza_get_id(st))) ==
	    NULL)
		return 1;
	if (from != NULL)
		xmpp_stanza_set_to(r, from);
	xmpp_send(conn, r);
	xmpp_stanza_release(r);
	return 1;
}

/* Enters the room: directed presence, no history wanted. */
static void
alert_xmpp_join(struct alert_xmpp *ax)
{
	xmpp_stanza_t	*p, *x, *h;

	p = xmpp_presence_new(ax->ctx);
	x = xmpp_stanza_new(ax->ctx);
	h = xmpp_stanza_new(ax->ctx);
	if (p == NULL || x == NULL || h == NULL)
		goto out;
	xmpp_stanza_set_to(p, ax->occupant);
	xmpp_stanza_set_name(x, "x");
	xmpp_stanza_set_ns(x, ALERT_XMPP_NS_MUC);
	xmpp_stanza_set_name(h, "history");
	xmpp_stanza_set_attribute(h, "maxstanzas", "0");
	xmpp_stanza_add_child(x, h);
	xmpp_stanza_add_child(p, x);
	xmpp_send(ax->conn, p);
out:
	if (h != NULL)
		xmpp_stanza_release(h);
	if (x != NULL)
		xmpp_stanza_release(x);
	if (p != NULL)
		xmpp_stanza_release(p);
}

static void
alert_xmpp_conn_cb(xmpp_conn_t *conn, xmpp_conn_event_t ev, int error,
    xmpp_stream_error_t *se, void *arg)
{
	struct alert_xmpp	*ax = arg;

	if (ev == XMPP_CONN_CONNECT) {
		/* MANDATORY_TLS and LEGACY_SSL promise it; make sure. */
		if (!xmpp_conn_is_secured(conn)) {
			snprintf(ax->err, sizeof(ax->err), "the session is "
			    "not encrypted");
			xmpp_disconnect(conn);
			return;
		}
		ax->secured = 1;
		pthread_mutex_lock(&ax->mu);
		ax->st.connects++;
		pthread_mutex_unlock(&ax->mu);
		xmpp_handler_add(conn, alert_xmpp_presence_cb, NULL,
		    "presence", NULL, ax);
		xmpp_handler_add(conn, alert_xmpp_message_cb, NULL,
		    "message", "error", ax);
		xmpp_handler_add(conn, alert_xmpp_ping_cb, NULL, "iq", "get",
		    ax);
		if (ax->room != NULL)
			alert_xmpp_join(ax);
		else {
			ax->ready = 1;
			alert_xmpp_publish(ax, ALERT_XMPP_ONLINE, 0);
		}
		return;
	}
	/* The first reason found is kept: it is the cause. */
	if (ax->err[0] == '\0') {
		if (error != 0)
			snprintf(ax->err, sizeof(ax->err), "%s",
			    strerror(error));
		else if (se != NULL)
			snprintf(ax->err, sizeof(ax->err), "stream error "
			    "%d from the server", (int)se->type);
		else if (!ax->secured)
			snprintf(ax->err, sizeof(ax->err), "no session "
			    "(connection refused, or TLS or the password "
			    "refused)");
		else
			snprintf(ax->err, sizeof(ax->err), "closed by the "
			    "server");
	}
	ax->dead = 1;
}

/* A new attempt; 0, or -1 with ax->err set. */
static int
alert_xmpp_connect(struct alert_xmpp *ax)
{
	int	rc;

	ax->err[0] = '\0';
	ax->ready = ax->dead = ax->secured = 0;
	if ((ax->conn = xmpp_conn_new(ax->ctx)) == NULL) {
		snprintf(ax->err, sizeof(ax->err), "out of memory");
		return -1;
	}
	xmpp_conn_set_flags(ax->conn, ax->flags);
	xmpp_conn_set_jid(ax->conn, ax->jid);
	xmpp_conn_set_pass(ax->conn, ax->password);
	if (ax->ca_file != NULL)
		xmpp_conn_set_cafile(ax->conn, ax->ca_file);
	xmpp_conn_set_certfail_handler(ax->conn, alert_xmpp_certfail_cb);
	/* A server gone without a word is noticed. */
	xmpp_conn_set_sockopt_callback(ax->conn, xmpp_sockopt_cb_keepalive);
	rc = xmpp_connect_client(ax->conn, ax->host[0] != '\0' ? ax->host :
	    NULL, ax->port, alert_xmpp_conn_cb, ax);
	if (rc != XMPP_EOK) {
		if (ax->err[0] == '\0')
			snprintf(ax->err, sizeof(ax->err), "cannot connect "
			    "to %.80s", ax->host[0] != '\0' ? ax->host :
			    "the JID's domain");
		xmpp_conn_release(ax->conn);
		ax->conn = NULL;
		return -1;
	}
	return 0;
}

/* Ends the session, politely if it is up, in at most ALERT_XMPP_BYE_US. */
static void
alert_xmpp_close(struct alert_xmpp *ax)
{
	int64_t	end = clock_monotonic() + ALERT_XMPP_BYE_US;

	if (ax->conn == NULL)
		return;
	if (!xmpp_conn_is_disconnected(ax->conn)) {
		xmpp_disconnect(ax->conn);
		while (!xmpp_conn_is_disconnected(ax->conn) &&
		    clock_monotonic() < end)
			xmpp_run_once(ax->ctx, ALERT_XMPP_POLL_MS);
	}
	xmpp_conn_release(ax->conn);
	ax->conn = NULL;
	ax->ready = 0;
}

/* Hands queued texts to the server, a bounded batch. */
static void
alert_xmpp_flush(struct alert_xmpp *ax)
{
	static char	 clean[ALERT_TEXT_MAX];
	xmpp_stanza_t	*m;
	char		*text;
	int		 i, n;

	for (n = 0; n < ALERT_XMPP_BATCH; n++) {
		pthread_mutex_lock(&ax->mu);
		text = alert_xmpp_queue_pop(&ax->q);
		pthread_mutex_unlock(&ax->mu);
		if (text == NULL)
			break;
		alert_xmpp_clean(clean, sizeof(clean), text);
		free(text);
		if (ax->room != NULL &&
		    (m = alert_xmpp_stanza(ax->ctx, "groupchat", ax->room,
		    clean)) != NULL) {
			xmpp_send(ax->conn, m);
			xmpp_stanza_release(m);
		}
		for (i = 0; i < ax->nto; i++) {
			if ((m = alert_xmpp_stanza(ax->ctx, "chat", ax->to[i],
			    clean)) == NULL)
				continue;
			xmpp_send(ax->conn, m);
			xmpp_stanza_release(m);
		}
		pthread_mutex_lock(&ax->mu);
		ax->st.sent++;
		pthread_mutex_unlock(&ax->mu);
	}
}

static int
alert_xmpp_stopping(struct alert_xmpp *ax)
{
	int	stop;

	pthread_mutex_lock(&ax->mu);
	stop = ax->stop;
	pthread_mutex_unlock(&ax->mu);
	return stop;
}

/* us from now on clock id, as the pthread calls want a deadline. */
static void
alert_xmpp_deadline(clockid_t id, int64_t us, struct timespec *ts)
{
	clock_gettime(id, ts);
	ts->tv_sec += us / CLOCK_US_PER_SEC;
	ts->tv_nsec += (long)(us % CLOCK_US_PER_SEC) * 1000;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Sleeps until until (monotonic us) or a stop, whichever comes first. */
static void
alert_xmpp_sleep(struct alert_xmpp *ax, int64_t until)
{
	struct timespec	ts;
	int64_t		us = until - clock_monotonic();

	if (us <= 0)
		return;
	if (us > CLOCK_US_PER_SEC)
		us = CLOCK_US_PER_SEC;
	alert_xmpp_deadline(CLOCK_MONOTONIC, us, &ts);
	pthread_mutex_lock(&ax->mu);
	if (!ax->stop)
		pthread_cond_timedwait(&ax->cv, &ax->mu, &ts);
	pthread_mutex_unlock(&ax->mu);
}

static void *
alert_xmpp_main(void *arg)
{
	struct alert_xmpp	*ax = arg;
	int64_t			 wait = ax->backoff, next = 0, began = 0, now;
	int			 orphan;

	alert_xmpp_self = ax;
	ax->ctx = xmpp_ctx_new(NULL, NULL);	/* no logger: no secrets */
	while (ax->ctx != NULL && !alert_xmpp_stopping(ax)) {
		now = clock_monotonic();
		if (ax->conn == NULL && now >= next) {
			alert_xmpp_publish(ax, ALERT_XMPP_CONNECTING, 0);
			began = now;
			if (alert_xmpp_connect(ax) == -1)
				ax->dead = 1;
		}
		if (ax->conn == NULL && !ax->dead) {
			alert_xmpp_sleep(ax, next);
			continue;
		}
		if (ax->conn != NULL)
			xmpp_run_once(ax->ctx, ALERT_XMPP_POLL_MS);
		if (ax->ready && !ax->dead) {
			alert_xmpp_flush(ax);
			wait = ax->backoff;
		} else if (!ax->dead && clock_monotonic() - began >
		    ax->timeout) {
			snprintf(ax->err, sizeof(ax->err), "not online after "
			    "%" PRId64 " s", (int64_t)(ax->timeout /
			    CLOCK_US_PER_SEC));
			ax->dead = 1;
		}
		pthread_mutex_lock(&ax->mu);
		ax->inflight = ax->conn != NULL ?
		    (uint32_t)xmpp_conn_send_queue_len(ax->conn) : 0;
		pthread_mutex_unlock(&ax->mu);
		if (ax->dead) {
			alert_xmpp_close(ax);
			ax->dead = 0;
			next = clock_monotonic() + wait;
			pthread_mutex_lock(&ax->mu);
			ax->retry_in = wait;
			ax->inflight = 0;
			pthread_mutex_unlock(&ax->mu);
			alert_xmpp_publish(ax, ALERT_XMPP_WAITING, 1);
			wait = wait * 2 > ALERT_XMPP_BACKOFF_MAX ?
			    ALERT_XMPP_BACKOFF_MAX : wait * 2;
		}
	}
	if (ax->ctx != NULL) {
		alert_xmpp_close(ax);
		xmpp_ctx_free(ax->ctx);
		ax->ctx = NULL;
	}
	pthread_mutex_lock(&ax->mu);
	ax->finished = 1;
	orphan = ax->orphan;
	pthread_mutex_unlock(&ax->mu);
	if (orphan)
		alert_xmpp_destroy(ax);
	return NULL;
}

/*
 * The loop's side.
 */

/* Starts the thread on the loop's first turn, then logs what changed. */
static int64_t
alert_xmpp_tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct alert_xmpp	*ax = arg;
	sigset_t		 all, old;
	struct alert_xmpp_stats	 st;
	char			 d[32];
	int64_t			 retry;

	(void)loop;
	(void)t;
	if (!ax->started) {
		xmpp_initialize();
		/* Signals stay the loop's (signalfd). */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (pthread_create(&ax->thread, NULL, alert_xmpp_main,
		    ax) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			if (log_ratelimit_ok(&ax->rl, clock_monotonic()))
				log_warnx("alert %s: cannot start the xmpp "
				    "client; trying again", ax->name);
			return ALERT_XMPP_TICK_MS;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		ax->started = 1;
		return ALERT_XMPP_TICK_MS;
	}
	pthread_mutex_lock(&ax->mu);
	st = ax->st;
	retry = ax->retry_in;
	pthread_mutex_unlock(&ax->mu);
	if (st.state == ALERT_XMPP_ONLINE &&
	    ax->shown_state != ALERT_XMPP_ONLINE)
		log_info("alert %s: online as %s%s%s", ax->name, ax->jid,
		    ax->room != NULL ? " in " : "", ax->room != NULL ?
		    ax->room : "");
	if (st.failures != ax->shown_failures &&
	    log_ratelimit_ok(&ax->rl, clock_monotonic()))
		log_warnx("alert %s: xmpp: %s; trying again in %s (%" PRIu64
		    " %s so far, %" PRIu32 " queued)", ax->name, st.last_error,
		    alert_span(retry, d, sizeof(d)), st.failures,
		    st.failures == 1 ? "failure" : "failures", st.queued);
	ax->shown_state = st.state;
	ax->shown_failures = st.failures;
	return ALERT_XMPP_TICK_MS;
}

/* The recipients in `to`: JIDs between commas or blanks. */
static int
alert_xmpp_to_parse(struct alert_xmpp *ax, const char *list, char **cause)
{
	char	*copy, *p, *tok;

	copy = xstrdup(list);
	for (p = copy; (tok = strsep(&p, ", \t")) != NULL;) {
		if (*tok == '\0')
			continue;
		if (ax->nto == ALERT_XMPP_TO_MAX || !alert_xmpp_jid_ok(tok, 0)) {
			*cause = xasprintf("alert %s: to: %s", ax->name,
			    ax->nto == ALERT_XMPP_TO_MAX ? "too many JIDs" :
			    "not a JID");
			free(copy);
			return -1;
		}
		ax->to[ax->nto++] = xstrdup(tok);
	}
	free(copy);
	return 0;
}

struct alert_xmpp *
alert_xmpp_new(struct loop *loop, const struct conf_alert *ca, char **cause)
{
	struct alert_xmpp	*ax;
	pthread_condattr_t	 ca_attr;
	char			*why;

	/* Here, not in the thread: a host without libstrophe fails at
	 * start, with the configuration that needs it. */
	if (dyn_strophe_load(&why) == -1) {
		*cause = xasprintf("alert %s: %s", ca->name, why);
		free(why);
		return NULL;
	}
	ax = xcalloc(1, sizeof(*ax));
	snprintf(ax->name, sizeof(ax->name), "%s", ca->name);
	pthread_mutex_init(&ax->mu, NULL);
	/* The thread's naps are timed on the monotonic clock. */
	pthread_condattr_init(&ca_attr);
	pthread_condattr_setclock(&ca_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ax->cv, &ca_attr);
	pthread_condattr_destroy(&ca_attr);
	alert_xmpp_queue_init(&ax->q, ca->queue);
	ax->loop = loop;
	ax->rl.interval_us = 60 * CLOCK_US_PER_SEC;
	ax->jid = xstrdup(ca->jid);
	ax->password = xstrdup(ca->password);
	if (ca->room[0] != '\0') {
		ax->room = xstrdup(ca->room);
		ax->occupant = xasprintf("%s/%s", ca->room, ca->nick);
	}
	if (ca->ca_file[0] != '\0')
		ax->ca_file = xstrdup(ca->ca_file);
	ax->backoff = ca->backoff;
	ax->timeout = ca->timeout < 10 * CLOCK_US_PER_SEC ?
	    10 * CLOCK_US_PER_SEC : ca->timeout;
	ax->flags = ca->tls == CONF_ATLS_DIRECT ? XMPP_CONN_FLAG_LEGACY_SSL :
	    XMPP_CONN_FLAG_MANDATORY_TLS;
	if (!ca->tls_verify)
		ax->flags |= XMPP_CONN_FLAG_TRUST_TLS;
	if (!alert_xmpp_jid_ok(ax->jid, 0) || (ax->room != NULL &&
	    !alert_xmpp_jid_ok(ax->room, 1))) {
		*cause = xasprintf("alert %s: jid or room: not a JID",
		    ca->name);
		goto fail;
	}
	if (ca->server[0] != '\0' && alert_xmpp_server_parse(ca->server,
	    ax->host, sizeof(ax->host), &ax->port) == -1) {
		*cause = xasprintf("alert %s: server: not host or host:port",
		    ca->name);
		goto fail;
	}
	if (alert_xmpp_to_parse(ax, ca->to, cause) == -1)
		goto fail;
	if (ax->room == NULL && ax->nto == 0) {
		*cause = xasprintf("alert %s: neither room nor to", ca->name);
		goto fail;
	}
	if (loop != NULL && (ax->timer = loop_timer_add(loop, 0,
	    alert_xmpp_tick_cb, ax)) == NULL) {
		*cause = xasprintf("alert %s: timer: %s", ca->name,
		    strerror(errno));
		goto fail;
	}
	if (!ca->tls_verify)
		log_warnx("alert %s: tls_verify = no: the server's "
		    "certificate is not checked, so anyone on the path can "
		    "read the alerts and the password", ca->name);
	return ax;
fail:
	alert_xmpp_destroy(ax);
	return NULL;
}

static void
alert_xmpp_destroy(struct alert_xmpp *ax)
{
	int	i;

	alert_xmpp_queue_clear(&ax->q);
	free(ax->jid);
	if (ax->password != NULL) {
		explicit_bzero(ax->password, strlen(ax->password));
		free(ax->password);
	}
	free(ax->room);
	free(ax->occupant);
	for (i = 0; i < ax->nto; i++)
		free(ax->to[i]);
	free(ax->ca_file);
	pthread_cond_destroy(&ax->cv);
	pthread_mutex_destroy(&ax->mu);
	free(ax);
}

void
alert_xmpp_free(struct alert_xmpp *ax)
{
	struct timespec	ts;
	int		finished;

	if (ax == NULL)
		return;
	if (ax->timer != NULL)
		loop_timer_del(ax->loop, ax->timer);
	if (!ax->started) {
		alert_xmpp_destroy(ax);
		return;
	}
	pthread_mutex_lock(&ax->mu);
	ax->stop = 1;
	pthread_cond_signal(&ax->cv);
	pthread_mutex_unlock(&ax->mu);
	/*
	 * A session ends in about a poll and a goodbye; a thread held in a
	 * name lookup or a TLS handshake is left to end on its own and to
	 * free the struct then.
	 */
	alert_xmpp_deadline(CLOCK_REALTIME, ALERT_XMPP_JOIN_US, &ts);
	if (pthread_timedjoin_np(ax->thread, NULL, &ts) == 0) {
		alert_xmpp_destroy(ax);
		return;
	}
	pthread_detach(ax->thread);
	pthread_mutex_lock(&ax->mu);
	finished = ax->finished;
	ax->orphan = !finished;
	pthread_mutex_unlock(&ax->mu);
	if (finished)
		alert_xmpp_destroy(ax);
	else
		log_warnx("alert %s: the xmpp client is still busy; left to "
		    "end on its own", ax->name);
}

void
alert_xmpp_send(struct alert_xmpp *ax, const char *text)
{
	pthread_mutex_lock(&ax->mu);
	if (alert_xmpp_queue_push(&ax->q, xstrdup(text)))
		ax->st.dropped++;
	pthread_cond_signal(&ax->cv);
	pthread_mutex_unlock(&ax->mu);
}

unsigned int
alert_xmpp_busy(const struct alert_xmpp *ax)
{
	struct alert_xmpp	*w = (struct alert_xmpp *)(uintptr_t)ax;
	unsigned int		 n = 0;

	pthread_mutex_lock(&w->mu);
	if (w->st.state == ALERT_XMPP_ONLINE ||
	    w->st.state == ALERT_XMPP_CONNECTING)
		n = w->q.len + w->inflight;
	pthread_mutex_unlock(&w->mu);
	return n;
}

void
alert_xmpp_get_stats(const struct alert_xmpp *ax, struct alert_xmpp_stats *st)
{
	struct alert_xmpp	*w = (struct alert_xmpp *)(uintptr_t)ax;

	pthread_mutex_lock(&w->mu);
	*st = w->st;
	st->queued = w->q.len;
	pthread_mutex_unlock(&w->mu);
}
