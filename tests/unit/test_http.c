/*
 * Unit tests for the HTTP client (http.c) on a real loop, against a real
 * server on 127.0.0.1 running on the same loop (unit_httpd.h): answers,
 * PUT with extra headers (Matrix), retries with backoff, refused
 * connections, a server that never answers (the loop keeps running
 * meanwhile), the bounds on requests in flight and waiting, cancellation,
 * and a thousand POSTs.  Every wait is bounded:
 * alarm() kills a test whose loop never wakes.
 */
#include "unit.h"

#include "../../src/http.c"

#include <arpa/inet.h>

#include "unit_httpd.h"

#define GUARD_SECONDS	20

struct seen {
	int			 calls;
	struct http_result	 r;
	char			 error[HTTP_ERROR_MAX];
	struct http		*repost;	/* post again from done_cb */
	const char		*url;
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

static void
done_cb(const struct http_result *r, void *arg)
{
	struct seen	*s = arg;

	s->calls++;
	s->r = *r;
	snprintf(s->error, sizeof s->error, "%s", r->error);
	s->r.error = s->error;
	if (s->repost != NULL) {
		assert_int_equal(http_post_json(s->repost, s->url, "{}", 2,
		    1000, done_cb, s), 0);
		s->repost = NULL;
	}
}

static struct http *
new_http(struct loop *loop)
{
	struct http	*http;
	char		*cause = NULL;

	http = http_new(loop, &cause);
	assert_non_null(http);
	assert_null(cause);
	return http;
}

/* Runs the loop until http is idle; fails after limit_ms. */
static void
run_until_idle(struct loop *loop, struct http *http, int64_t limit_ms)
{
	int64_t	end = clock_monotonic() + limit_ms * CLOCK_US_PER_MS;

	while (http_busy(http) > 0) {
		assert_true(clock_monotonic() < end);
		assert_true(loop_run_once(loop, 50) >= 0);
	}
}

static void
test_post_ok(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct httpd	 srv;
	struct seen	 s;
	struct http_stats st;
	const char	*body =
	    "{\"action\":\"ban\",\"address\":\"192.0.2.7/32\"}";

	(void)state;
	memset(&s, 0, sizeof s);
	httpd_start(&srv, loop);
	assert_int_equal(http_post_json(http, srv.url, body, strlen(body),
	    1000, done_cb, &s), 0);
	assert_int_equal(s.calls, 0);		/* never from inside */
	assert_int_equal(http_busy(http), 1);
	run_until_idle(loop, http, 5000);

	assert_int_equal(s.calls, 1);
	assert_int_equal(s.r.outcome, HTTP_OK);
	assert_int_equal(s.r.status, 200);
	assert_int_equal(s.r.tries, 1);
	assert_string_equal(s.r.error, "");
	assert_int_equal(srv.requests, 1);
	assert_string_equal(srv.body, body);
	assert_non_null(strstr(srv.last, "POST /hook HTTP/1.1\r\n"));
	assert_non_null(strcasestr(srv.last,
	    "\r\nContent-Type: application/json\r\n"));
	assert_null(strcasestr(srv.last, "\r\nExpect:"));
	assert_non_null(strstr(srv.last, "User-Agent: xmppguard/"));

	http_get_stats(http, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.attempts, 1);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(st.pending, 0);
	http_free(http);
	assert_int_equal(s.calls, 1);		/* nothing to cancel */
	httpd_stop(&srv);
	loop_free(loop);
}

/* PUT with extra headers (Matrix), kept across a retry; bad ones refused. */
static void
test_put_headers(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct httpd	 srv;
	struct seen	 s;
	const char	*hdrs[] = { "Authorization: Bearer tok123",
			    "X-Test: 1", NULL };
	const char	*crlf[] = { "X-A: 1\r\nX-Injected: 2", NULL };
	const char	*noname[] = { "no colon", NULL };

	(void)state;
	memset(&s, 0, sizeof s);
	httpd_start(&srv, loop);
	http_set_retry(http, 1, 50);
	srv.status = 503;
	assert_int_equal(http_request(http, "PUT", srv.url, hdrs, "{}", 2,
	    1000, done_cb, &s), 0);
	run_until_idle(loop, http, 5000);
	assert_int_equal(s.r.outcome, HTTP_FAILED);
	assert_int_equal(srv.requests, 2);	/* the retry the same */
	assert_non_null(strstr(srv.last, "PUT /hook HTTP/1.1\r\n"));
	assert_non_null(strcasestr(srv.last,
	    "\r\nAuthorization: Bearer tok123\r\n"));
	assert_non_null(strcasestr(srv.last, "\r\nX-Test: 1\r\n"));
	assert_non_null(strcasestr(srv.last,
	    "\r\nContent-Type: application/json\r\n"));
	assert_string_equal(srv.body, "{}");

	/* The shared headers are untouched: a POST has no Authorization. */
	srv.status = 200;
	assert_int_equal(http_post_json(http, srv.url, "{}", 2, 1000,
	    done_cb, &s), 0);
	run_until_idle(loop, http, 5000);
	assert_int_equal(s.r.outcome, HTTP_OK);
	assert_non_null(strstr(srv.last, "POST /hook HTTP/1.1\r\n"));
	assert_null(strcasestr(srv.last, "Authorization"));

	errno = 0;
	assert_int_equal(http_request(http, "PUT", srv.url, crlf, "{}", 2,
	    1000, done_cb, &s), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(http_request(http, "PUT", srv.url, noname, "{}", 2,
	    1000, done_cb, &s), -1);
	assert_int_equal(http_request(http, "GET", srv.url, NULL, "{}", 2,
	    1000, done_cb, &s), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(http_busy(http), 0);
	http_free(http);
	httpd_stop(&srv);
	loop_free(loop);
}

/* 500 is retried with a doubling backoff, then given up on. */
static void
test_retry_then_fail(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct httpd	 srv;
	struct seen	 s;
	struct http_stats st;

	(void)state;
	memset(&s, 0, sizeof s);
	httpd_start(&srv, loop);
	srv.status = 500;
	http_set_retry(http, 2, 40);
	assert_int_equal(http_post_json(http, srv.url, "{}", 2, 1000,
	    done_cb, &s), 0);
	run_until_idle(loop, http, 5000);

	assert_int_equal(s.calls, 1);
	assert_int_equal(s.r.outcome, HTTP_FAILED);
	assert_int_equal(s.r.status, 500);
	assert_int_equal(s.r.tries, 3);
	assert_string_equal(s.r.error, "HTTP 500");
	assert_true(s.r.elapsed_us >= (40 + 80) * CLOCK_US_PER_MS);
	assert_int_equal(srv.requests, 3);
	http_get_stats(http, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.attempts, 3);
	assert_int_equal(st.retries, 2);
	http_free(http);
	httpd_stop(&srv);
	loop_free(loop);
}

/* A 503 that turns into a 200 on the retry: sent, after two tries. */
static void
test_retry_then_ok(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct httpd	 srv;
	struct seen	 s;

	(void)state;
	memset(&s, 0, sizeof s);
	httpd_start(&srv, loop);
	srv.status = 503;
	http_set_retry(http, 3, 100);
	assert_int_equal(http_post_json(http, srv.url, "{}", 2, 1000,
	    done_cb, &s), 0);
	while (srv.requests == 0)
		assert_true(loop_run_once(loop, 50) >= 0);
	srv.status = 204;
	run_until_idle(loop, http, 5000);
	assert_int_equal(s.r.outcome, HTTP_OK);
	assert_int_equal(s.r.status, 204);
	assert_int_equal(s.r.tries, 2);
	assert_int_equal(srv.requests, 2);
	http_free(http);
	httpd_stop(&srv);
	loop_free(loop);
}

/* 404 would fail the same way again: no retry. */
static void
test_client_error_final(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct httpd	 srv;
	struct seen	 s;

	(void)state;
	memset(&s, 0, sizeof s);
	httpd_start(&srv, loop);
	srv.status = 404;
	http_set_retry(http, 3, 10);
	assert_int_equal(http_post_json(http, srv.url, "{}", 2, 1000,
	    done_cb, &s), 0);
	run_until_idle(loop, http, 5000);
	assert_int_equal(s.r.outcome, HTTP_FAILED);
	assert_int_equal(s.r.status, 404);
	assert_int_equal(s.r.tries, 1);
	assert_int_equal(srv.requests, 1);
	http_free(http);
	httpd_stop(&srv);
	loop_free(loop);
}

static void
test_refused(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct seen	 s;
	char		 url[64];

	(void)state;
	memset(&s, 0, sizeof s);
	httpd_dead_url(url, sizeof url);
	http_set_retry(http, 1, 10);
	assert_int_equal(http_post_json(http, url, "{}", 2, 1000, done_cb,
	    &s), 0);
	run_until_idle(loop, http, 5000);
	assert_int_equal(s.r.outcome, HTTP_FAILED);
	assert_int_equal(s.r.status, 0);
	assert_int_equal(s.r.tries, 2);
	assert_non_null(strstr(s.r.error, "onnect"));
	http_free(http);
	loop_free(loop);
}

struct ticker {
	int	 ticks;
	int64_t	 last;
	int64_t	 gap_max;
};

static int64_t
tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct ticker	*tk = arg;
	int64_t		 now = clock_monotonic();

	(void)loop;
	(void)t;
	if (tk->last != 0 && now - tk->last > tk->gap_max)
		tk->gap_max = now - tk->last;
	tk->last = now;
	tk->ticks++;
	return 5;
}

/*
 * A server that accepts and never answers: the request times out, and all
 * that time the loop goes on serving a 5 ms ticker.
 */
static void
test_hang_does_not_block(void **state)
{
	struct loop		*loop = loop_new(NULL);
	struct http		*http = new_http(loop);
	struct loop_timer	*t;
	struct httpd		 srv;
	struct seen		 s;
	struct ticker		 tk;
	int64_t			 start;

	(void)state;
	memset(&s, 0, sizeof s);
	memset(&tk, 0, sizeof tk);
	httpd_start(&srv, loop);
	srv.hang = 1;
	http_set_retry(http, 1, 50);
	t = loop_timer_add(loop, 5, tick_cb, &tk);
	assert_non_null(t);
	start = clock_monotonic();
	assert_int_equal(http_post_json(http, srv.url, "{}", 2, 200,
	    done_cb, &s), 0);
	run_until_idle(loop, http, 5000);
	assert_int_equal(s.r.outcome, HTTP_FAILED);
	assert_int_equal(s.r.tries, 2);
	assert_int_equal(srv.requests, 2);
	assert_non_null(strstr(s.r.error, "timed out"));
	/* 2 x 200 ms + 50 ms backoff, with room for a slow machine. */
	assert_true(clock_monotonic() - start >= 450 * CLOCK_US_PER_MS);
	assert_true(clock_monotonic() - start < 2000 * CLOCK_US_PER_MS);
	assert_true(tk.ticks >= 40);
	assert_true(tk.gap_max < 100 * CLOCK_US_PER_MS);
	loop_timer_del(loop, t);
	http_free(http);
	httpd_stop(&srv);
	loop_free(loop);
}

/*
 * max_inflight run at once (the server sees no more waiting), max_pending
 * wait, and one more is refused and counted.
 */
static void
test_bounds(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct httpd	 srv;
	struct seen	 s[25];
	struct http_stats st;
	int		 i;

	(void)state;
	memset(s, 0, sizeof s);
	httpd_start(&srv, loop);
	srv.delay_ms = 30;
	http_set_limits(http, 4, 20);
	assert_int_equal(http_room(http), 24);
	for (i = 0; i < 24; i++)
		assert_int_equal(http_post_json(http, srv.url, "{}", 2, 2000,
		    done_cb, &s[i]), 0);
	errno = 0;
	assert_int_equal(http_post_json(http, srv.url, "{}", 2, 2000,
	    done_cb, &s[24]), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(http_room(http), 0);
	http_get_stats(http, &st);
	assert_int_equal(st.inflight, 4);
	assert_int_equal(st.pending, 20);
	assert_int_equal(st.dropped, 1);
	run_until_idle(loop, http, 5000);

	for (i = 0; i < 24; i++) {
		assert_int_equal(s[i].calls, 1);
		assert_int_equal(s[i].r.outcome, HTTP_OK);
	}
	assert_int_equal(s[24].calls, 0);
	http_get_stats(http, &st);
	assert_int_equal(st.sent, 24);
	assert_int_equal(st.requests, 24);
	assert_int_equal(st.inflight_max, 4);
	assert_int_equal(st.pending_max, 20);
	assert_int_equal(srv.requests, 24);
	assert_int_equal(srv.waiting_max, 4);
	http_free(http);
	httpd_stop(&srv);
	loop_free(loop);
}

static void
test_bad_requests(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct seen	 s;
	char		*big;
	struct http_stats st;

	(void)state;
	memset(&s, 0, sizeof s);
	assert_true(http_url_ok("https://hooks.example.org/xmppguard"));
	assert_true(http_url_ok("HTTP://127.0.0.1:8080/x?a=b"));
	assert_false(http_url_ok("ftp://example.org/x"));
	assert_false(http_url_ok("file:///etc/passwd"));
	assert_false(http_url_ok("http://"));
	assert_false(http_url_ok("http://exa mple.org/"));
	assert_false(http_url_ok("example.org/hook"));
	assert_false(http_url_ok(""));
	assert_false(http_url_ok(NULL));

	errno = 0;
	assert_int_equal(http_post_json(http, "gopher://example.org/", "{}",
	    2, 1000, done_cb, &s), -1);
	assert_int_equal(errno, EINVAL);
	big = calloc(1, HTTP_BODY_MAX + 1);
	assert_non_null(big);
	assert_int_equal(http_post_json(http, "http://127.0.0.1:1/", big,
	    HTTP_BODY_MAX + 1, 1000, done_cb, &s), -1);
	free(big);
	assert_int_equal(http_post_json(http, "http://127.0.0.1:1/", "{}", 2,
	    0, done_cb, &s), -1);
	http_get_stats(http, &st);
	assert_int_equal(st.requests, 0);
	http_free(http);
	assert_int_equal(s.calls, 0);
	loop_free(loop);
}

/* http_free() cancels what is running, queued and waiting to retry. */
static void
test_free_cancels(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct httpd	 srv;
	struct seen	 s[3], r;
	char		 dead[64];
	int		 i;

	(void)state;
	memset(s, 0, sizeof s);
	memset(&r, 0, sizeof r);
	httpd_start(&srv, loop);
	srv.hang = 1;
	httpd_dead_url(dead, sizeof dead);
	http_set_limits(http, 3, 10);
	http_set_retry(http, 5, 10000);
	assert_int_equal(http_post_json(http, dead, "{}", 2, 5000, done_cb,
	    &r), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(http_post_json(http, srv.url, "{}", 2, 5000,
		    done_cb, &s[i]), 0);
	/*
	 * The dead one fails at once and waits 10 s to retry, which frees
	 * the slot the third hanging one waited for.
	 */
	while (srv.requests < 3)
		assert_true(loop_run_once(loop, 50) >= 0);
	assert_int_equal(http->stats.inflight, 3);
	assert_int_equal(http->stats.pending, 1);
	assert_int_equal(r.calls, 0);
	http_free(http);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.r.outcome, HTTP_CANCELLED);
	for (i = 0; i < 3; i++) {
		assert_int_equal(s[i].calls, 1);
		assert_int_equal(s[i].r.outcome, HTTP_CANCELLED);
	}
	httpd_stop(&srv);
	loop_free(loop);
}

/* A callback may post again. */
static void
test_repost_from_callback(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct httpd	 srv;
	struct seen	 s;

	(void)state;
	memset(&s, 0, sizeof s);
	httpd_start(&srv, loop);
	s.repost = http;
	s.url = srv.url;
	assert_int_equal(http_post_json(http, srv.url, "{}", 2, 1000,
	    done_cb, &s), 0);
	run_until_idle(loop, http, 5000);
	assert_int_equal(s.calls, 2);
	assert_int_equal(srv.requests, 2);
	assert_int_equal(s.r.outcome, HTTP_OK);
	http_free(http);
	httpd_stop(&srv);
	loop_free(loop);
}

/* A thousand POSTs, fed as room frees up: all sent, never more than 8 at
 * once, never more than 64 waiting. */
static void
test_thousand(void **state)
{
	struct loop	*loop = loop_new(NULL);
	struct http	*http = new_http(loop);
	struct httpd	 srv;
	struct seen	 s;
	struct http_stats st;
	int		 posted = 0;
	int64_t		 start, end;
	char		 body[128];

	(void)state;
	memset(&s, 0, sizeof s);
	httpd_start(&srv, loop);
	http_set_limits(http, 8, 64);
	start = clock_monotonic();
	end = start + 15 * CLOCK_US_PER_SEC;
	while (posted < 1000 || http_busy(http) > 0) {
		while (posted < 1000 && http_busy(http) < 8 + 64) {
			snprintf(body, sizeof body, "{\"n\":%d}", posted);
			assert_int_equal(http_post_json(http, srv.url, body,
			    strlen(body), 2000, done_cb, &s), 0);
			posted++;
		}
		assert_true(clock_monotonic() < end);
		assert_true(loop_run_once(loop, 50) >= 0);
	}
	http_get_stats(http, &st);
	assert_int_equal(s.calls, 1000);
	assert_int_equal(st.sent, 1000);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.dropped, 0);
	assert_true(st.inflight_max <= 8);
	assert_true(st.pending_max <= 64);
	assert_int_equal(srv.requests, 1000);
	assert_string_equal(srv.body, "{\"n\":999}");
	print_message("1000 POSTs in %lld ms, %u in flight at most\n",
	    (long long)((clock_monotonic() - start) / CLOCK_US_PER_MS),
	    st.inflight_max);
	http_free(http);
	httpd_stop(&srv);
	loop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_post_ok, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_put_headers, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_retry_then_fail,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_retry_then_ok,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_client_error_final,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_refused, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_hang_does_not_block,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_bounds, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_free_cancels,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_repost_from_callback,
		    guard_setup, guard_teardown),
		cmocka_unit_test_setup_teardown(test_thousand, guard_setup,
		    guard_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
