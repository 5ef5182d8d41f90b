/*
 * The webhook backend: every ban, unban and throttle is POSTed as one JSON
 * object to the configured http(s) URL, for a firewall or a service that
 * xmppguard cannot drive directly:
 *
 *   {"action":"ban","address":"192.0.2.7/32","rule":"churn",
 *    "reason":"...","duration":600,"scope":"services",
 *    "ports":"5222,5269","time":"2026-11-29T05:00:00.000000Z"}
 *
 * (duration in seconds, rounded up; absent for an unban; scope "proxy"
 * for a client judged through a configured proxy, whose ban drops the
 * ports named, "all" for every port; an unban names the ban's).  apply() only
 * formats and queues: the POSTs run on the event loop through http.c, so a
 * slow or dead receiver never blocks detection.  With [ban]
 * webhook_authorization each POST carries it as the Authorization header
 * (a server's own HTTP API wants one); like the URL it is a secret,
 * never logged.  A POST that gets no
 * answer, times out or gets 408, 429 or 5xx is retried with a doubling
 * backoff; one that still fails is counted (fw_stats()->failures and the
 * http counters) and logged, at most one warning per
 * FW_WEBHOOK_LOG_INTERVAL with the number held back.  The receiver keeps
 * its own state, so there is no list and no kill.
 *
 * Memory is bounded by the http limits: at most max_inflight POSTs run and
 * max_pending more wait; apply() refuses what does not fit (-1, counted as
 * dropped) rather than queue without end.  Each accepted POST owns one
 * small struct fw_webhook_post, freed by its completion callback, which
 * http.c calls exactly once (from http_free() at the latest).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "fw.h"
#include "fw_int.h"
#include "fw_webhook.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define FW_WEBHOOK_LOG_INTERVAL	(10 * CLOCK_US_PER_SEC)
#define FW_WEBHOOK_INFLIGHT	8
#define FW_WEBHOOK_PENDING	4096	/* ~0.3 kB each: about 1.5 MB */

struct fw_webhook {
	struct fw		*fw;
	char			*url;		/* [ban] webhook */
	char			*auth;		/* "Authorization: ..."; NULL:
						 * none ([ban]
						 * webhook_authorization) */
	struct http		*http;
	int			 timeout_ms;	/* per attempt */
	unsigned int		 retries;	/* as given to http.c */
	unsigned int		 backoff_ms;
	unsigned int		 max_inflight;
	unsigned int		 max_pending;
	uint64_t		 dropped;	/* refused before http.c saw
						 * them: no room */
	struct log_ratelimit	 rl;
};

/* One POST in flight: what to say if it fails. */
struct fw_webhook_post {
	struct fw_webhook	*wh;
	const char		*action;
	char			 prefix[ADDR_PREFIX_STRLEN];
};

static const char *
fw_webhook_action(enum fw_op_kind kind)
{
	switch (kind) {
	case FW_BAN:
		return "ban";
	case FW_UNBAN:
		return "unban";
	case FW_THROTTLE:
		return "throttle";
	case FW_KNOWN:
	case FW_SURGE:
		break;		/* nftables only: fw_refuse() */
	}
	return "ban";
}

/*
 * The JSON of one operation at wall-clock time now, into a malloc'd
 * string (*lenp bytes, NUL-terminated).  NULL if memory ran out.
 */
static char *
fw_webhook_json(const struct fw *fw, const struct fw_op *op, int64_t now,
    size_t *lenp)
{
	FILE		*fp;
	const uint16_t	*ports;
	char		*buf = NULL, pfx[ADDR_PREFIX_STRLEN];
	char		 pbuf[FW_PORTS_STRLEN];
	int64_t		 secs;
	int		 bad, n;

	if ((fp = open_memstream(&buf, lenp)) == NULL)
		return NULL;
	fputs("{\"action\":", fp);
	json_string(fp, fw_webhook_action(op->kind));
	fputs(",\"address\":", fp);
	json_string(fp, addr_prefix_ntop(&op->prefix, pfx, sizeof pfx));
	fputs(",\"rule\":", fp);
	json_string(fp, op->rule);
	fputs(",\"reason\":", fp);
	json_string(fp, op->reason);
	if (op->kind != FW_UNBAN) {
		secs = (op->duration + CLOCK_US_PER_SEC - 1) / CLOCK_US_PER_SEC;
		fprintf(fp, ",\"duration\":%" PRId64, secs > 0 ? secs : 0);
	}
	n = fw_scope_ports(fw, op->scope, &ports);
	fprintf(fp, ",\"scope\":\"%s\",\"ports\":\"%s\"",
	    fw_scope_name(op->scope), fw_ports_fmt(ports, n, pbuf,
	    sizeof pbuf));
	fputs(",\"time\":", fp);
	json_time(fp, now);
	fputc('}', fp);
	bad = ferror(fp);
	if (fclose(fp) != 0 || bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
fw_webhook_done_cb(const struct http_result *r, void *arg)
{
	struct fw_webhook_post	*post = arg;
	struct fw_webhook	*wh = post->wh;
	char			 err[96];

	switch (r->outcome) {
	case HTTP_OK:
		log_debug("fw: webhook: %s %s posted (HTTP %d, %d tries)",
		    post->action, post->prefix, r->status, r->tries);
		break;
	case HTTP_FAILED:
		wh->fw->stats.failures++;
		if (log_ratelimit_ok(&wh->rl, clock_monotonic())) {
			log_warnx("fw: webhook: %s %s failed after %d tries: "
			    "%s (%lu more warnings held back)", post->action,
			    post->prefix, r->tries, log_escape(err, sizeof err,
			    r->error, strlen(r->error)), wh->rl.suppressed);
			wh->rl.suppressed = 0;
		}
		break;
	case HTTP_CANCELLED:
		wh->fw->stats.failures++;
		break;
	}
	free(post);
}

/* [ban] webhook: a URL libcurl takes. */
static int
fw_webhook_check(const struct conf *conf, char **cause)
{
	const char	*url = conf->ban_webhook;

	if (url == NULL || *url == '\0') {
		*cause = xstrdup("no URL: set webhook in [ban]");
		return -1;
	}
	/* The URL is a secret (its path may hold a token): not quoted. */
	if (!http_url_ok(url)) {
		*cause = xstrdup("webhook: not an http:// or https:// URL");
		return -1;
	}
	return 0;
}

static int
fw_webhook_open(struct fw *fw, const struct conf *conf, char **cause)
{
	struct fw_webhook	*wh;
	const char		*url = conf->ban_webhook;

	if (fw_webhook_check(conf, cause) == -1)
		return -1;
	if (fw->loop == NULL) {
		*cause = xstrdup("needs the event loop (not in the "
		    "privileged helper)");
		return -1;
	}
	wh = xcalloc(1, sizeof *wh);
	wh->fw = fw;
	wh->timeout_ms = FW_WEBHOOK_TIMEOUT;
	wh->rl.interval_us = FW_WEBHOOK_LOG_INTERVAL;
	if ((wh->http = http_new(fw->loop, cause)) == NULL) {
		free(wh);
		return -1;
	}
	wh->url = xstrdup(url);
	if (conf->ban_webhook_auth != NULL && conf->ban_webhook_auth[0] != '\0')
		wh->auth = xasprintf("Authorization: %s",
		    conf->ban_webhook_auth);
	wh->retries = HTTP_RETRIES_DEFAULT;
	wh->backoff_ms = HTTP_BACKOFF_DEFAULT;
	wh->max_inflight = FW_WEBHOOK_INFLIGHT;
	wh->max_pending = FW_WEBHOOK_PENDING;
	http_set_retry(wh->http, wh->retries, wh->backoff_ms);
	http_set_limits(wh->http, wh->max_inflight, wh->max_pending);
	fw->priv = wh;
	return 0;
}

/*
 * Queues one POST per operation.  Operations that do not fit are dropped
 * and counted; the call then fails, naming how many, while the ones
 * before them stay queued (a webhook receiver sees a repeat as harmless,
 * so a caller may apply the whole batch again).
 */
static int
fw_webhook_apply(struct fw *fw, const struct fw_op *ops, size_t n,
    char **cause)
{
	struct fw_webhook	*wh = fw->priv;
	struct fw_webhook_post	*post;
	const char		*hdrs[2] = { NULL, NULL };
	char			*body;
	size_t			 i, len, dropped = 0;
	int64_t			 now = clock_realtime();
	int			 error = 0;

	for (i = 0; i < n; i++) {
		/* A flood is refused before it costs any formatting. */
		if (http_room(wh->http) == 0) {
			error = ENOBUFS;
			wh->dropped += n - i;
			dropped += n - i;
			break;
		}
		if ((body = fw_webhook_json(fw, &ops[i], now, &len)) ==
		    NULL) {
			error = ENOMEM;
			dropped++;
			continue;
		}
		post = xcalloc(1, sizeof *post);
		post->wh = wh;
		post->action = fw_webhook_action(ops[i].kind);
		addr_prefix_ntop(&ops[i].prefix, post->prefix,
		    sizeof post->prefix);
		hdrs[0] = wh->auth;
		if (http_request(wh->http, "POST", wh->url, hdrs, body, len,
		    wh->timeout_ms, fw_webhook_done_cb, post) == -1) {
			error = errno;
			dropped++;
			free(post);
		}
		free(body);
	}
	if (dropped == 0)
		return 0;
	*cause = xasprintf("webhook: %zu of %zu operations dropped: %s",
	    dropped, n, error == ENOBUFS ? "too many POSTs pending" :
	    strerror(error));
	return -1;
}

static void
fw_webhook_close(struct fw *fw)
{
	struct fw_webhook	*wh = fw->priv;
	struct http_stats	 st;

	if (wh == NULL)
		return;
	http_get_stats(wh->http, &st);
	if (st.inflight + st.pending > 0)
		log_warnx("fw: webhook: %u POSTs not sent at close",
		    st.inflight + st.pending);
	http_free(wh->http);
	free(wh->url);
	if (wh->auth != NULL) {
		explicit_bzero(wh->auth, strlen(wh->auth));
		free(wh->auth);
	}
	free(wh);
	fw->priv = NULL;
}

void
fw_webhook_tune(struct fw *fw, const struct fw_webhook_tune *t)
{
	struct fw_webhook	*wh = fw->priv;

	if (t->timeout_ms > 0)
		wh->timeout_ms = t->timeout_ms;
	if (t->retries >= 0)
		wh->retries = (unsigned int)t->retries;
	if (t->backoff_ms > 0)
		wh->backoff_ms = t->backoff_ms;
	if (t->max_inflight > 0)
		wh->max_inflight = t->max_inflight;
	if (t->max_pending > 0)
		wh->max_pending = t->max_pending;
	http_set_retry(wh->http, wh->retries, wh->backoff_ms);
	http_set_limits(wh->http, wh->max_inflight, wh->max_pending);
}

unsigned int
fw_webhook_busy(const struct fw *fw)
{
	const struct fw_webhook	*wh = fw->priv;

	return http_busy(wh->http);
}

void
fw_webhook_stats(const struct fw *fw, struct http_stats *st)
{
	const struct fw_webhook	*wh = fw->priv;

	http_get_stats(wh->http, st);
	st->dropped += wh->dropped;
}

/* No list (the receiver keeps its state), no kill (nothing to end here). */
const struct fw_backend fw_webhook_backend = {
	.name = "webhook",
	.check = fw_webhook_check,
	.open = fw_webhook_open,
	.apply = fw_webhook_apply,
	.close = fw_webhook_close
};
