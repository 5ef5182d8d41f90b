/*
 * HTTP client on the event loop.  One libcurl multi handle per struct http,
 * driven by loop.c: libcurl tells us through CURLMOPT_SOCKETFUNCTION which
 * sockets to watch for what (we add, modify or delete them in the loop's
 * epoll set) and through CURLMOPT_TIMERFUNCTION when it next needs to run
 * (one loop timer); when either fires we call curl_multi_socket_action()
 * and then collect finished transfers with curl_multi_info_read().  No
 * thread of ours, no blocking call: libcurl's resolver runs in its own
 * thread or asynchronously, and connects, sends and receives are
 * non-blocking.
 *
 * A request (struct http_req) owns a copy of its URL, body and extra
 * headers (Matrix wants PUT and a bearer token; webhooks POST) and is in
 * exactly one state: QUEUED (waiting for one of max_inflight slots, FIFO in
 * `queue`), RUNNING (an easy handle in the multi handle) or BACKOFF
 * (waiting to be retried, in `backoff` sorted by due time, one loop timer
 * armed for the earliest).  Every request is also on `all`, so http_free()
 * can cancel it.  A finished request is taken off everything, its callback
 * runs, and it is freed.
 *
 * Invariants: running <= max_inflight; a request is accepted only into a
 * free slot (with nothing queued before it) or into the queue while
 * queued + backoff (pending) < max_pending, and a retry only moves a
 * request from RUNNING to BACKOFF to QUEUED, so running + pending never
 * exceeds max_inflight + max_pending (with the limits of the time); a
 * QUEUED request exists only while every slot is busy or the queue is
 * being drained.  Callbacks never run inside http_post_json() and never
 * inside a libcurl callback: finished requests are collected first, then
 * reported, so a callback may post again.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "clock.h"
#include "dyn.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#ifndef XG_VERSION
#define XG_VERSION	"0"
#endif
#define HTTP_USER_AGENT	"xmppguard/" XG_VERSION
#define HTTP_ERROR_MAX	CURL_ERROR_SIZE	/* a result's error text */

enum http_state {
	HTTP_QUEUED,
	HTTP_RUNNING,
	HTTP_BACKOFF
};

struct http_req {
	TAILQ_ENTRY(http_req) entry;	/* queue, backoff or done list */
	TAILQ_ENTRY(http_req) all;
	struct http	*http;
	enum http_state	 state;
	CURL		*easy;		/* RUNNING only */
	char		*url;
	char		*body;
	size_t		 len;
	const char	*method;	/* "GET", "POST", "PUT", "DELETE" */
	char		*answer;	/* the answer's body, if kept */
	size_t		 answer_len;
	size_t		 answer_cap;
	size_t		 answer_max;	/* 0: discarded */
	int		 too_large;	/* the answer overflowed */
	char		*cafile;	/* TLS files; NULL: none */
	char		*cert;
	char		*key;
	struct curl_slist *headers;	/* own headers; NULL: the shared */
	int		 timeout_ms;
	int		 tries;		/* attempts started */
	int		 status;	/* last attempt's; 0: no answer */
	int		 ok;		/* the last attempt worked */
	int		 retry;		/* ... or may be repeated */
	int64_t		 accepted;	/* monotonic us */
	int64_t		 due;		/* BACKOFF: monotonic us */
	http_done_cb	 done;
	void		*arg;
	char		 errbuf[CURL_ERROR_SIZE];
	char		 error[HTTP_ERROR_MAX];
};

TAILQ_HEAD(http_reqs, http_req);

struct http {
	struct loop		*loop;
	CURLM			*multi;
	struct curl_slist	*headers;	/* shared by every request */

	struct loop_timer	*timer;		/* libcurl's timeout */
	int			 in_timer;	/* in http_timer_cb() */
	int			 timer_asked;	/* libcurl set one */
	int64_t			 timer_next;	/* that one */

	struct loop_timer	*backoff_timer;	/* earliest retry due */

	struct http_reqs	 queue;
	struct http_reqs	 backoff;
	struct http_reqs	 all;
	unsigned int		 max_inflight;
	unsigned int		 max_pending;
	unsigned int		 retries;
	unsigned int		 backoff_ms;
	int			 closing;

	struct http_stats	 stats;
};

static void	http_pump(struct http *);

/*
 * Only absolute http and https URLs with a host: the check libcurl's
 * CURLOPT_PROTOCOLS_STR repeats for each request, done early so that a
 * bad URL fails where the operator configured it.
 */
int
http_url_ok(const char *url)
{
	CURLU		*u;
	char		*host = NULL;
	const char	*p;
	int		 ok;

	if (url == NULL || strlen(url) >= HTTP_URL_MAX)
		return 0;
	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		return 0;
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	if ((u = curl_url()) == NULL)
		return 0;
	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    host != NULL && *host != '\0';
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* A socket libcurl asked us to watch is ready: let it work. */
static void
http_fd_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct http	*http = arg;
	int		 flags = 0, running;

	(void)loop;
	if (events & LOOP_READ)
		flags |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		flags |= CURL_CSELECT_OUT;
	(void)curl_multi_socket_action(http->multi, fd, flags, &running);
	http_pump(http);
}

/* libcurl's socket callback: mirror what it wants watched in the loop. */
static int
http_curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct http	*http = userp;
	int		 events = 0;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		(void)loop_fd_del(http->loop, s);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= LOOP_WRITE;
	if (loop_fd_mod(http->loop, s, events) == 0)
		return 0;
	/*
	 * Not watched yet.  ENOENT also comes from epoll when the fd was
	 * closed behind the loop's back and its number reused: forget the
	 * stale registration and start afresh.
	 */
	if (errno == ENOENT)
		(void)loop_fd_del(http->loop, s);
	if (loop_fd_add(http->loop, s, events, http_fd_cb, http) == -1) {
		log_warn("http: watching socket %d", s);
		return -1;
	}
	return 0;
}

/* libcurl's timeout is due. */
static int64_t
http_timer_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct http	*http = arg;
	long		 ms;
	int		 running;

	(void)loop;
	(void)t;
	/*
	 * libcurl may ask for a new timeout from inside socket_action, or
	 * when a callback run by http_pump() posts again; the loop re-arms
	 * this timer from our return value, so note the last thing it asks
	 * for and return that.
	 */
	http->in_timer = 1;
	http->timer_asked = 0;
	(void)curl_multi_socket_action(http->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	http_pump(http);
	http->in_timer = 0;
	if (http->timer_asked)
		ms = (long)http->timer_next;
	else if (curl_multi_timeout(http->multi, &ms) != CURLM_OK)
		ms = -1;
	if (ms < 0)
		http->timer = NULL;	/* the loop frees it */
	return ms < 0 ? LOOP_TIMER_DONE : (int64_t)ms;
}

/* libcurl's timer callback: one loop timer, re-armed or deleted. */
static int
http_curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http	*http = userp;

	(void)multi;
	if (http->in_timer) {
		http->timer_asked = 1;
		http->timer_next = timeout_ms;
		return 0;
	}
	if (timeout_ms < 0) {
		loop_timer_del(http->loop, http->timer);
		http->timer = NULL;
		return 0;
	}
	if (http->timer != NULL) {
		if (loop_timer_set(http->loop, http->timer, timeout_ms) == 0)
			return 0;
	} else if ((http->timer = loop_timer_add(http->loop, timeout_ms,
	    http_timer_cb, http)) != NULL)
		return 0;
	log_warn("http: timer");
	return -1;
}

struct http *
http_new(struct loop *loop, char **cause)
{
	struct http		*http;
	struct curl_slist	*l, *h;
	CURLcode		 rc;
	char			*why;

	/* libcurl is loaded here, by the first configuration that needs
	 * it (dyn.c), and its absence is then a start-up error. */
	if (dyn_curl_load(&why) == -1) {
		*cause = xasprintf("http: %s", why);
		free(why);
		return NULL;
	}
	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		*cause = xasprintf("http: libcurl: %s", curl_easy_strerror(rc));
		return NULL;
	}
	http = xcalloc(1, sizeof *http);
	http->loop = loop;
	TAILQ_INIT(&http->queue);
	TAILQ_INIT(&http->backoff);
	TAILQ_INIT(&http->all);
	http->max_inflight = HTTP_INFLIGHT_DEFAULT;
	http->max_pending = HTTP_PENDING_DEFAULT;
	http->retries = HTTP_RETRIES_DEFAULT;
	http->backoff_ms = HTTP_BACKOFF_DEFAULT;

	if ((http->multi = curl_multi_init()) == NULL) {
		*cause = xstrdup("http: curl_multi_init failed");
		goto fail;
	}
	/* No "Expect: 100-continue": a JSON body is small, send it at once. */
	if ((l = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL || (h = curl_slist_append(l, "Expect:")) == NULL) {
		curl_slist_free_all(l);
		*cause = xstrdup("http: out of memory");
		goto fail;
	}
	http->headers = h;
	if (curl_multi_setopt(http->multi, CURLMOPT_SOCKETFUNCTION,
	    http_curl_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(http->multi, CURLMOPT_SOCKETDATA, http) !=
	    CURLM_OK ||
	    curl_multi_setopt(http->multi, CURLMOPT_TIMERFUNCTION,
	    http_curl_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(http->multi, CURLMOPT_TIMERDATA, http) !=
	    CURLM_OK) {
		*cause = xstrdup("http: cannot set libcurl callbacks");
		goto fail;
	}
	return http;

fail:
	curl_slist_free_all(http->headers);
	if (http->multi != NULL)
		curl_multi_cleanup(http->multi);
	free(http);
	curl_global_cleanup();
	return NULL;
}

void
http_set_limits(struct http *http, unsigned int max_inflight,
    unsigned int max_pending)
{
	http->max_inflight = max_inflight > 0 ? max_inflight : 1;
	http->max_pending = max_pending;
}

void
http_set_retry(struct http *http, unsigned int retries,
    unsigned int backoff_ms)
{
	http->retries = retries;
	http->backoff_ms = backoff_ms;
}

static size_t
http_discard_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

/* Keeps the answer, up to answer_max: more aborts the transfer. */
static size_t
http_keep_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_req	*req = arg;
	size_t		 n = size * nmemb, cap;

	if (n > req->answer_max - req->answer_len) {
		req->too_large = 1;
		return 0;
	}
	if (req->answer_len + n + 1 > req->answer_cap) {
		cap = req->answer_cap == 0 ? 4096 : req->answer_cap;
		while (cap < req->answer_len + n + 1)
			cap *= 2;
		req->answer = xreallocarray(req->answer, cap, 1);
		req->answer_cap = cap;
	}
	memcpy(req->answer + req->answer_len, ptr, n);
	req->answer_len += n;
	req->answer[req->answer_len] = '\0';
	return n;
}

/* Makes the easy handle of one attempt; -1 if libcurl refuses. */
static int
http_req_start(struct http *http, struct http_req *req)
{
	CURL	*e;
	int	 bad = 0;

	if ((e = curl_easy_init()) == NULL)
		return -1;
	req->errbuf[0] = '\0';
#define HTTP_SET(opt, val) \
	bad |= curl_easy_setopt(e, opt, val) != CURLE_OK
	HTTP_SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85.0 */
	HTTP_SET(CURLOPT_PROTOCOLS_STR, "http,https");
	HTTP_SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	HTTP_SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	HTTP_SET(CURLOPT_REDIR_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	HTTP_SET(CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SET(CURLOPT_NOSIGNAL, 1L);
	HTTP_SET(CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	HTTP_SET(CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
	if (strcmp(req->method, "GET") == 0)
		HTTP_SET(CURLOPT_HTTPGET, 1L);
	else if (strcmp(req->method, "DELETE") == 0)
		HTTP_SET(CURLOPT_CUSTOMREQUEST, "DELETE");
	else {
		HTTP_SET(CURLOPT_POST, 1L);
		HTTP_SET(CURLOPT_POSTFIELDSIZE, (long)req->len);
		HTTP_SET(CURLOPT_POSTFIELDS, req->body);
		if (strcmp(req->method, "PUT") == 0)
			HTTP_SET(CURLOPT_CUSTOMREQUEST, "PUT");
	}
	if (req->cafile != NULL)
		HTTP_SET(CURLOPT_CAINFO, req->cafile);
	if (req->cert != NULL)
		HTTP_SET(CURLOPT_SSLCERT, req->cert);
	if (req->key != NULL)
		HTTP_SET(CURLOPT_SSLKEY, req->key);
	/* A new attempt keeps only its own answer. */
	req->answer_len = 0;
	req->too_large = 0;
	if (req->answer != NULL)
		req->answer[0] = '\0';
	HTTP_SET(CURLOPT_HTTPHEADER, req->headers != NULL ? req->headers :
	    http->headers);
	HTTP_SET(CURLOPT_USERAGENT, HTTP_USER_AGENT);
	if (req->answer_max > 0) {
		HTTP_SET(CURLOPT_WRITEFUNCTION, http_keep_cb);
		HTTP_SET(CURLOPT_WRITEDATA, req);
	} else
		HTTP_SET(CURLOPT_WRITEFUNCTION, http_discard_cb);
	HTTP_SET(CURLOPT_ERRORBUFFER, req->errbuf);
	HTTP_SET(CURLOPT_PRIVATE, req);
#undef HTTP_SET
	if (bad || curl_multi_add_handle(http->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		return -1;
	}
	req->easy = e;
	req->state = HTTP_RUNNING;
	req->tries++;
	http->stats.inflight++;
	if (http->stats.inflight > http->stats.inflight_max)
		http->stats.inflight_max = http->stats.inflight;
	http->stats.attempts++;
	if (req->tries > 1)
		http->stats.retries++;
	return 0;
}

static void
http_pending_add(struct http *http)
{
	http->stats.pending++;
	if (http->stats.pending > http->stats.pending_max)
		http->stats.pending_max = http->stats.pending;
}

/* Frees what req owns, and req. */
static void
http_req_release(struct http_req *req)
{
	curl_slist_free_all(req->headers);
	free(req->url);
	free(req->body);
	free(req->answer);
	free(req->cafile);
	free(req->cert);
	free(req->key);
	free(req);
}

/* Takes req off every list and frees it (its callback has run). */
static void
http_req_free(struct http *http, struct http_req *req)
{
	TAILQ_REMOVE(&http->all, req, all);
	http_req_release(req);
}

static void
http_req_report(struct http *http, struct http_req *req,
    enum http_outcome outcome)
{
	struct http_result	 r;

	switch (outcome) {
	case HTTP_OK:
		http->stats.sent++;
		req->error[0] = '\0';
		break;
	case HTTP_FAILED:
		http->stats.failed++;
		break;
	case HTTP_CANCELLED:
		http->stats.cancelled++;
		(void)snprintf(req->error, sizeof req->error, "cancelled");
		break;
	}
	memset(&r, 0, sizeof r);
	r.outcome = outcome;
	r.status = req->status;
	r.tries = req->tries;
	r.error = req->error;
	r.elapsed_us = clock_monotonic() - req->accepted;
	r.body = req->answer != NULL ? req->answer : "";
	r.body_len = req->answer_len;
	if (req->done != NULL)
		req->done(&r, req->arg);
}

/*
 * What an attempt's end means: 2xx is done; no answer at all, a timeout,
 * 408, 429 and 5xx are worth another try; anything else (4xx, 3xx since
 * redirects are not followed, a bad URL) would fail the same way again.
 */
static int
http_req_judge(struct http_req *req, CURLcode rc)
{
	long	code = 0;

	req->status = 0;
	req->retry = 0;
	if (rc == CURLE_OK) {
		(void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE,
		    &code);
		req->status = (int)code;
		if (code >= 200 && code <= 299)
			return 1;
		(void)snprintf(req->error, sizeof req->error, "HTTP %ld",
		    code);
		req->retry = code == 408 || code == 429 || code >= 500;
		return 0;
	}
	(void)snprintf(req->error, sizeof req->error, "%s",
	    req->too_large ? "answer too large" : req->errbuf[0] != '\0' ?
	    req->errbuf : curl_easy_strerror(rc));
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		req->retry = 1;
		break;
	default:
		break;
	}
	return 0;
}

static int64_t
http_backoff_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct http	*http = arg;
	struct http_req	*req;
	int64_t		 now = clock_monotonic();

	(void)loop;
	(void)t;
	/* Due retries join the queue's tail: they already had their turn. */
	while ((req = TAILQ_FIRST(&http->backoff)) != NULL && req->due <= now) {
		TAILQ_REMOVE(&http->backoff, req, entry);
		req->state = HTTP_QUEUED;
		TAILQ_INSERT_TAIL(&http->queue, req, entry);
	}
	http_pump(http);
	if ((req = TAILQ_FIRST(&http->backoff)) == NULL) {
		http->backoff_timer = NULL;	/* the loop frees it */
		return LOOP_TIMER_DONE;
	}
	return (req->due - now + CLOCK_US_PER_MS - 1) / CLOCK_US_PER_MS;
}

/* Puts req in the backoff list (sorted by due) and arms the timer. */
static int
http_req_defer(struct http *http, struct http_req *req)
{
	struct http_req	*r;
	uint64_t	 ms = http->backoff_ms;
	int		 n;
	int64_t		 now = clock_monotonic();

	for (n = 1; n < req->tries && ms < HTTP_BACKOFF_MAX; n++)
		ms *= 2;
	if (ms > HTTP_BACKOFF_MAX)
		ms = HTTP_BACKOFF_MAX;
	req->due = now + (int64_t)ms * CLOCK_US_PER_MS;
	req->state = HTTP_BACKOFF;

	/* Most retries are due last: search from the tail. */
	TAILQ_FOREACH_REVERSE(r, &http->backoff, http_reqs, entry)
		if (r->due <= req->due)
			break;
	if (r == NULL)
		TAILQ_INSERT_HEAD(&http->backoff, req, entry);
	else
		TAILQ_INSERT_AFTER(&http->backoff, r, req, entry);

	if (TAILQ_FIRST(&http->backoff) != req)
		return 0;
	if (http->backoff_timer != NULL)
		return loop_timer_set(http->loop, http->backoff_timer,
		    (int64_t)ms);
	http->backoff_timer = loop_timer_add(http->loop, (int64_t)ms,
	    http_backoff_cb, http);
	return http->backoff_timer != NULL ? 0 : -1;
}

/*
 * Collects finished transfers, then (outside libcurl) retries or reports
 * them, then starts queued requests in the freed slots.
 */
static void
http_pump(struct http *http)
{
	struct http_reqs	 done;
	struct http_req		*req;
	CURLMsg			*msg;
	char			*priv;
	int			 left;

	TAILQ_INIT(&done);
	while ((msg = curl_multi_info_read(http->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		priv = NULL;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    &priv);
		req = (struct http_req *)(void *)priv;
		req->ok = http_req_judge(req, msg->data.result);
		(void)curl_multi_remove_handle(http->multi, req->easy);
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
		http->stats.inflight--;
		TAILQ_INSERT_TAIL(&done, req, entry);
	}

	while ((req = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, req, entry);
		if (req->ok)
			http_req_report(http, req, HTTP_OK);
		else if (req->retry &&
		    (unsigned int)req->tries <= http->retries &&
		    !http->closing) {
			http_pending_add(http);
			if (http_req_defer(http, req) == 0)
				continue;
			/* No timer: try again at once rather than never. */
			log_warn("http: retry timer");
			TAILQ_REMOVE(&http->backoff, req, entry);
			req->state = HTTP_QUEUED;
			TAILQ_INSERT_TAIL(&http->queue, req, entry);
			continue;
		} else
			http_req_report(http, req, HTTP_FAILED);
		http_req_free(http, req);
	}

	while (http->stats.inflight < http->max_inflight &&
	    (req = TAILQ_FIRST(&http->queue)) != NULL) {
		TAILQ_REMOVE(&http->queue, req, entry);
		http->stats.pending--;
		if (http_req_start(http, req) == 0)
			continue;
		(void)snprintf(req->error, sizeof req->error,
		    "libcurl refused the request");
		http_req_report(http, req, HTTP_FAILED);
		http_req_free(http, req);
	}
}

/*
 * The request's own header list: the shared ones, then extra (each
 * "Name: value", no line break).  0, or -1 if one is unacceptable or
 * memory ran out.
 */
static int
http_req_headers(struct http_req *req, const char *const *extra)
{
	struct curl_slist	*l = NULL, *n;
	const char		*h;
	size_t			 i;

	for (i = 0; i < 2; i++) {
		h = i == 0 ? "Content-Type: application/json" : "Expect:";
		if ((n = curl_slist_append(l, h)) == NULL)
			goto fail;
		l = n;
	}
	for (i = 0; extra[i] != NULL; i++) {
		if (i >= HTTP_HEADERS_MAX || strlen(extra[i]) > 4096 ||
		    strpbrk(extra[i], "\r\n") != NULL ||
		    strchr(extra[i], ':') == NULL)
			goto fail;
		if ((n = curl_slist_append(l, extra[i])) == NULL)
			goto fail;
		l = n;
	}
	req->headers = l;
	return 0;
fail:
	curl_slist_free_all(l);
	return -1;
}

int
http_post_json(struct http *http, const char *url, const char *body,
    size_t len, int timeout_ms, http_done_cb done, void *arg)
{
	return http_request(http, "POST", url, NULL, body, len, timeout_ms,
	    done, arg);
}

int
http_request(struct http *http, const char *method, const char *url,
    const char *const *headers, const char *body, size_t len,
    int timeout_ms, http_done_cb done, void *arg)
{
	if (strcmp(method, "PUT") != 0 && strcmp(method, "POST") != 0) {
		errno = EINVAL;
		return -1;
	}
	return http_request_opts(http, method, url, headers, body, len,
	    timeout_ms, NULL, done, arg);
}

/* A copy of a TLS file's name; NULL for none. */
static char *
http_opt_dup(const char *s)
{
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

int
http_request_opts(struct http *http, const char *method, const char *url,
    const char *const *headers, const char *body, size_t len,
    int timeout_ms, const struct http_opts *opts, http_done_cb done,
    void *arg)
{
	static const char *const methods[] = { "GET", "POST", "PUT",
	    "DELETE" };
	struct http_req	*req;
	const char	*m = NULL;
	size_t		 i, max;
	int		 now;

	if (http->closing) {
		errno = ECANCELED;
		return -1;
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i]) == 0)
			m = methods[i];
	max = opts != NULL && opts->body_max > 0 ? opts->body_max :
	    HTTP_BODY_MAX;
	if (m == NULL || len > max || timeout_ms <= 0 || !http_url_ok(url)) {
		errno = EINVAL;
		return -1;
	}
	/* A free slot goes to the queue's head first: only then start now. */
	now = http->stats.inflight < http->max_inflight &&
	    TAILQ_EMPTY(&http->queue);
	if (!now && http->stats.pending >= http->max_pending) {
		http->stats.dropped++;
		errno = ENOBUFS;
		return -1;
	}

	req = xcalloc(1, sizeof *req);
	if (headers != NULL && http_req_headers(req, headers) == -1) {
		free(req);
		errno = EINVAL;
		return -1;
	}
	req->http = http;
	req->method = m;
	if (opts != NULL) {
		req->answer_max = opts->answer_max;
		req->cafile = http_opt_dup(opts->cafile);
		req->cert = http_opt_dup(opts->cert);
		req->key = http_opt_dup(opts->key);
	}
	req->url = xstrdup(url);
	req->body = xmalloc(len + 1);
	memcpy(req->body, body, len);
	req->body[len] = '\0';
	req->len = len;
	req->timeout_ms = timeout_ms;
	req->accepted = clock_monotonic();
	req->done = done;
	req->arg = arg;

	/*
	 * Started here or queued, it only begins moving from the loop:
	 * libcurl's timer fires on the next iteration, so the callback can
	 * never run before we return.
	 */
	if (now) {
		if (http_req_start(http, req) == -1) {
			http_req_release(req);
			errno = EIO;
			return -1;
		}
	} else {
		req->state = HTTP_QUEUED;
		TAILQ_INSERT_TAIL(&http->queue, req, entry);
		http_pending_add(http);
	}
	TAILQ_INSERT_TAIL(&http->all, req, all);
	http->stats.requests++;
	return 0;
}

unsigned int
http_busy(const struct http *http)
{
	return http->stats.inflight + http->stats.pending;
}

unsigned int
http_room(const struct http *http)
{
	unsigned int	room = 0;

	if (http->closing)
		return 0;
	if (http->stats.inflight < http->max_inflight &&
	    TAILQ_EMPTY(&http->queue))
		room += http->max_inflight - http->stats.inflight;
	if (http->stats.pending < http->max_pending)
		room += http->max_pending - http->stats.pending;
	return room;
}

void
http_get_stats(const struct http *http, struct http_stats *st)
{
	*st = http->stats;
	st->max_inflight = http->max_inflight;
	st->max_pending = http->max_pending;
}

void
http_free(struct http *http)
{
	struct http_req	*req;

	if (http == NULL)
		return;
	http->closing = 1;
	while ((req = TAILQ_FIRST(&http->all)) != NULL) {
		switch (req->state) {
		case HTTP_RUNNING:
			(void)curl_multi_remove_handle(http->multi, req->easy);
			curl_easy_cleanup(req->easy);
			http->stats.inflight--;
			break;
		case HTTP_QUEUED:
			TAILQ_REMOVE(&http->queue, req, entry);
			http->stats.pending--;
			break;
		case HTTP_BACKOFF:
			TAILQ_REMOVE(&http->backoff, req, entry);
			http->stats.pending--;
			break;
		}
		http_req_report(http, req, HTTP_CANCELLED);
		http_req_free(http, req);
	}
	/* Closing cached connections calls our socket callback: still valid. */
	curl_multi_cleanup(http->multi);
	loop_timer_del(http->loop, http->timer);
	loop_timer_del(http->loop, http->backoff_timer);
	curl_slist_free_all(http->headers);
	free(http);
	curl_global_cleanup();
}
