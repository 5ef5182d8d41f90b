/*
 * HTTP client on the event loop: libcurl's multi interface driven by
 * loop.c, so a slow or dead server blocks nothing.  Used to POST JSON to
 * webhooks (the webhook firewall backend, alerts).
 *
 * Every request accepted by http_post_json() or http_request() gets exactly one call of its
 * callback, always from the loop (never from inside http_post_json()): on
 * success, on giving up, or with HTTP_CANCELLED from http_free().  Memory
 * is bounded: at most max_inflight requests run at once, at most
 * max_pending more wait (for a slot, or for a retry), and a body is at most
 * HTTP_BODY_MAX bytes; a request beyond that is refused and counted.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http;
struct loop;

#define HTTP_BODY_MAX		(64 * 1024)	/* bytes per body */
#define HTTP_URL_MAX		2048		/* with the NUL */
#define HTTP_HEADERS_MAX	8		/* extra headers per request */

/* Defaults, changed with http_set_limits() and http_set_retry(). */
#define HTTP_INFLIGHT_DEFAULT	16
#define HTTP_PENDING_DEFAULT	1024
#define HTTP_RETRIES_DEFAULT	3
#define HTTP_BACKOFF_DEFAULT	500		/* ms, first retry */
#define HTTP_BACKOFF_MAX	60000		/* ms, at most */

enum http_outcome {
	HTTP_OK,		/* the server answered 2xx */
	HTTP_FAILED,		/* gave up: see status and error */
	HTTP_CANCELLED		/* http_free() came first */
};

/* What became of a request, as its callback sees it. */
struct http_result {
	enum http_outcome outcome;
	int		 status;	/* last HTTP status; 0: no answer */
	int		 tries;		/* attempts made */
	const char	*error;		/* "HTTP 500", "... refused", ...;
					 * "" if HTTP_OK */
	int64_t		 elapsed_us;	/* from acceptance to now */
	const char	*body;		/* the answer kept (http_opts
					 * answer_max), NUL-terminated; ""
					 * if none was asked for */
	size_t		 body_len;
};

/*
 * What a request may ask beyond a webhook's POST (http_request_opts()):
 * the answer's body kept, up to answer_max bytes (a longer answer fails
 * the request: "answer too large"); a larger body to send; TLS files as
 * libcurl takes them (NULL or "": the system's CAs, no client
 * certificate).  Strings are copied.
 */
struct http_opts {
	size_t		 answer_max;	/* 0: the answer is discarded */
	size_t		 body_max;	/* 0: HTTP_BODY_MAX */
	const char	*cafile;	/* PEM: CAs to trust */
	const char	*cert;		/* PEM: client certificate */
	const char	*key;		/* PEM: its key */
};

/* A request is finished.  The result is valid only during the call.  The
 * callback may post new requests; it must not call http_free(). */
typedef void	(*http_done_cb)(const struct http_result *, void *arg);

struct http_stats {
	uint64_t	 requests;	/* accepted by http_post_json() */
	uint64_t	 sent;		/* completed with a 2xx */
	uint64_t	 failed;	/* given up on (after retries) */
	uint64_t	 cancelled;	/* still pending at http_free() */
	uint64_t	 dropped;	/* refused: too many pending */
	uint64_t	 attempts;	/* POSTs started, retries included */
	uint64_t	 retries;	/* attempts that were retries */
	unsigned int	 inflight;	/* running now */
	unsigned int	 inflight_max;	/* most running at once */
	unsigned int	 pending;	/* waiting now (slot or backoff) */
	unsigned int	 pending_max;	/* most ever waiting at once */
	unsigned int	 max_inflight;	/* the limits in force */
	unsigned int	 max_pending;
};

/*
 * A client bound to loop, with the default limits.  NULL and *cause (caller
 * frees) if libcurl cannot be set up.
 */
struct http	*http_new(struct loop *, char **cause);
/*
 * Cancels every pending request (each callback runs with HTTP_CANCELLED,
 * from here), closes connections and frees.  NULL is a no-op.
 */
void		 http_free(struct http *);

/* At most max_inflight requests at once (>= 1), max_pending more waiting
 * (>= 0).  Applies to what is posted from now on. */
void		 http_set_limits(struct http *, unsigned int max_inflight,
		    unsigned int max_pending);
/* A failed attempt (no answer, timeout, HTTP 408, 429 or 5xx) is tried
 * again up to retries times, after backoff_ms, doubling each time up to
 * HTTP_BACKOFF_MAX.  Other answers are final. */
void		 http_set_retry(struct http *, unsigned int retries,
		    unsigned int backoff_ms);

/*
 * POSTs body (len bytes, copied) to url as application/json, each attempt
 * limited to timeout_ms, and calls done(result, arg) from the loop when it
 * is finished.  Only http:// and https:// are allowed and redirects are
 * not followed.  Returns 0 once accepted (running or queued), or -1 with
 * errno: EINVAL (url or body unacceptable), ENOBUFS (too many pending:
 * counted in dropped), ENOMEM or EIO (libcurl refused).
 */
int		 http_post_json(struct http *, const char *url,
		    const char *body, size_t len, int timeout_ms,
		    http_done_cb done, void *arg);

/*
 * The same with a method ("POST" or "PUT": Matrix sends messages with PUT)
 * and extra headers (headers: NULL, or NULL-terminated "Name: value"
 * strings, at most HTTP_HEADERS_MAX, copied; e.g. "Authorization: Bearer
 * ..." ).  A header with a line break is refused (EINVAL).
 */
int		 http_request(struct http *, const char *method,
		    const char *url, const char *const *headers,
		    const char *body, size_t len, int timeout_ms,
		    http_done_cb done, void *arg);

/*
 * The same with any of GET, POST, PUT and DELETE (a body only with POST
 * and PUT) and opts (NULL: none).
 */
int		 http_request_opts(struct http *, const char *method,
		    const char *url, const char *const *headers,
		    const char *body, size_t len, int timeout_ms,
		    const struct http_opts *, http_done_cb done, void *arg);

/* 1 if url is an absolute http:// or https:// URL libcurl can parse. */
int		 http_url_ok(const char *url);

/* Requests not finished yet (running or waiting). */
unsigned int	 http_busy(const struct http *);
/* How many more http_post_json() would accept now. */
unsigned int	 http_room(const struct http *);
void		 http_get_stats(const struct http *, struct http_stats *);

#endif /* HTTP_H */
