/*
 * Unit tests for metrics: the exposition format (families, escaping,
 * numbers), the atomic file, the listen address parser, and the HTTP
 * endpoint on a real loop with real TCP clients on loopback.
 */
#include "unit.h"

#include "../../src/metrics.c"

#include <sys/stat.h>

#include "clock.h"

#define GUARD_SECONDS	10

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

static int	collect_calls;

static void
collect(struct metrics *m, void *arg)
{
	(void)arg;
	collect_calls++;
	metrics_counter(m, "xg_events_total", "Events taken.", 42);
	metrics_sample(m, METRICS_COUNTER, "xg_bans_total",
	    "Bans issued, by rule.", "rule", "churn", NULL, NULL, 3);
	metrics_sample(m, METRICS_COUNTER, "xg_bans_total",
	    "Bans issued, by rule.", "rule", "auth", NULL, NULL, 0);
	metrics_sample(m, METRICS_GAUGE, "xg_log_lines",
	    "Help with \\ and\nnewline.", "log", "we\"ird\\na\nme",
	    "reason", "too_long", 7);
	metrics_gauge(m, "xg_rate", "Events per second.", 12.5);
	metrics_gauge(m, "xg_big", "A big one.", 18446744073709551615.0);
}

static void
test_format(void **state)
{
	char	*body;
	size_t	 len;

	(void)state;
	body = metrics_render(collect, NULL, &len);
	assert_non_null(body);
	assert_int_equal(len, strlen(body));
	assert_string_equal(body,
	    "# HELP xg_events_total Events taken.\n"
	    "# TYPE xg_events_total counter\n"
	    "xg_events_total 42\n"
	    "# HELP xg_bans_total Bans issued, by rule.\n"
	    "# TYPE xg_bans_total counter\n"
	    "xg_bans_total{rule=\"churn\"} 3\n"
	    "xg_bans_total{rule=\"auth\"} 0\n"
	    "# HELP xg_log_lines Help with \\\\ and\\nnewline.\n"
	    "# TYPE xg_log_lines gauge\n"
	    "xg_log_lines{log=\"we\\\"ird\\\\na\\nme\",reason=\"too_long\"} 7\n"
	    "# HELP xg_rate Events per second.\n"
	    "# TYPE xg_rate gauge\n"
	    "xg_rate 12.5\n"
	    "# HELP xg_big A big one.\n"
	    "# TYPE xg_big gauge\n"
	    "xg_big 1.8446744073709552e+19\n");
	free(body);
}

static void
test_numbers(void **state)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	(void)state;
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	metrics_number(fp, 0);
	fputc(' ', fp);
	metrics_number(fp, -3);
	fputc(' ', fp);
	metrics_number(fp, 0.25);
	fputc(' ', fp);
	metrics_number(fp, NAN);
	fputc(' ', fp);
	metrics_number(fp, INFINITY);
	fputc(' ', fp);
	metrics_number(fp, -INFINITY);
	fclose(fp);
	assert_string_equal(buf, "0 -3 0.25 NaN +Inf -Inf");
	free(buf);
}

static void
test_file(void **state)
{
	char		 dir[] = "/tmp/xg-metrics-XXXXXX", path[256], tmp[256];
	char		 buf[4096];
	struct stat	 st;
	char		*cause = NULL;
	FILE		*fp;
	size_t		 n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/xmppguard.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s/.xmppguard.prom.tmp", dir);
	/* A temporary file left by a crash is replaced, not appended to. */
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	fputs("stale\n", fp);
	fclose(fp);
	/* Readable by the collector's user whatever the umask. */
	umask(077);
	assert_int_equal(metrics_write_file(path, collect, NULL, &cause), 0);
	umask(022);
	assert_null(cause);
	assert_int_equal(stat(tmp, &st), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\nxg_events_total 42\n"));
	assert_null(strstr(buf, "stale"));
	/* A directory that does not exist: an error naming the file. */
	assert_int_equal(metrics_write_file("/nonexistent-xg/m.prom", collect,
	    NULL, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "/nonexistent-xg/.m.prom.tmp"));
	free(cause);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_parse_listen(void **state)
{
	char		 addr[64];
	uint16_t	 port = 0;

	(void)state;
	assert_int_equal(metrics_parse_listen("127.0.0.1:9469", addr,
	    sizeof(addr), &port), 0);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(port, 9469);
	assert_int_equal(metrics_parse_listen("[::1]:80", addr, sizeof(addr),
	    &port), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(port, 80);
	assert_int_equal(metrics_parse_listen("::1:80", addr, sizeof(addr),
	    &port), 0);	/* the last colon splits */
	assert_string_equal(addr, "::1");
	assert_int_equal(metrics_parse_listen("localhost:9469", addr,
	    sizeof(addr), &port), -1);
	assert_int_equal(metrics_parse_listen("127.0.0.1", addr, sizeof(addr),
	    &port), -1);
	assert_int_equal(metrics_parse_listen("127.0.0.1:0", addr,
	    sizeof(addr), &port), -1);
	assert_int_equal(metrics_parse_listen("127.0.0.1:65536", addr,
	    sizeof(addr), &port), -1);
	assert_int_equal(metrics_parse_listen("127.0.0.1:+80", addr,
	    sizeof(addr), &port), -1);
	assert_int_equal(metrics_parse_listen("[::1]80", addr, sizeof(addr),
	    &port), -1);
	assert_int_equal(metrics_parse_listen(":80", addr, sizeof(addr),
	    &port), -1);
}

/* A client that sends req and returns its connected socket. */
static int
client_send(uint16_t port, const char *req)
{
	struct sockaddr_in	 sin;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	if (req[0] != '\0')
		assert_int_equal(write(fd, req, strlen(req)),
		    (ssize_t)strlen(req));
	return fd;
}

/* Runs the loop until fd has the whole answer (the server closed). */
static void
client_answer(struct loop *loop, int fd, char *buf, size_t size)
{
	size_t	 len = 0;
	ssize_t	 n;
	int	 i;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (i = 0; i < 200; i++) {
		loop_run_once(loop, 10);
		while ((n = read(fd, buf + len, size - 1 - len)) > 0)
			len += (size_t)n;
		if (n == 0 || (n == -1 && errno != EAGAIN))
			break;
	}
	buf[len] = '\0';
	close(fd);
}

/* The request head, as metrics_client_cb() hands it over. */
static void
test_request_parse(void **state)
{
	static const struct {
		const char		*req;
		enum metrics_req	 want;
		int			 head;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		  METRICS_REQ_OK, 0 },
		{ "GET / HTTP/1.0\n\n", METRICS_REQ_OK, 0 },
		{ "HEAD /metrics HTTP/1.1\r\n\r\n", METRICS_REQ_OK, 1 },
		{ "GET /metrics?name[]=up HTTP/1.1\r\n\r\n",
		  METRICS_REQ_OK, 0 },
		{ "GET /metricsx HTTP/1.1\r\n\r\n", METRICS_REQ_NOT_FOUND, 0 },
		{ "HEAD /x\r\n\r\n", METRICS_REQ_NOT_FOUND, 1 },
		{ "GET \r\n\r\n", METRICS_REQ_NOT_FOUND, 0 },
		{ "POST /metrics HTTP/1.1\r\n\r\n", METRICS_REQ_BAD_METHOD,
		  0 },
		{ "get /metrics\n\n", METRICS_REQ_BAD_METHOD, 0 },
		{ "\n\n", METRICS_REQ_BAD_METHOD, 0 },
		{ "GET /metrics HTTP/1.1\r\nHost: x\r\n", METRICS_REQ_MORE, 0 },
		{ "", METRICS_REQ_MORE, 0 },
	};
	size_t	i;
	int	head;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		head = -1;
		assert_int_equal(metrics_request_parse(cases[i].req,
		    strlen(cases[i].req), &head), cases[i].want);
		assert_int_equal(head, cases[i].head);
	}
	/* The head ends at a NUL: what follows it is never looked at. */
	assert_int_equal(metrics_request_parse("GET /\0\n\n", 6, &head),
	    METRICS_REQ_MORE);
	/* Only len bytes are read. */
	assert_int_equal(metrics_request_parse("GET / HTTP/1.0\n\n", 15,
	    &head), METRICS_REQ_MORE);
}

static void
test_server(void **state)
{
	struct metrics_server_stats st;
	struct metrics_server	*srv;
	struct loop		*loop;
	char			*cause = NULL, buf[8192];
	uint16_t		 port;
	int			 fds[METRICS_CLIENTS_MAX + 1], i, fd;

	(void)state;
	loop = loop_new(&cause);
	assert_non_null(loop);
	assert_null(metrics_server_open(loop, "localhost", 0, collect, NULL,
	    &cause));
	assert_non_null(strstr(cause, "not an IP address"));
	free(cause);
	cause = NULL;
	srv = metrics_server_open(loop, "127.0.0.1", 0, collect, NULL,
	    &cause);
	assert_non_null(srv);
	port = metrics_server_port(srv);
	assert_true(port != 0);

	/* A scrape: the exposition, freshly collected. */
	collect_calls = 0;
	fd = client_send(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n"
	    "Accept: */*\r\n\r\n");
	client_answer(loop, fd, buf, sizeof(buf));
	assert_true(strncmp(buf, "HTTP/1.0 200 OK\r\n", 17) == 0);
	assert_non_null(strstr(buf, "Content-Type: text/plain; "
	    "version=0.0.4"));
	assert_non_null(strstr(buf, "\r\n\r\n# HELP xg_events_total"));
	assert_non_null(strstr(buf, "\nxg_rate 12.5\n"));
	assert_int_equal(collect_calls, 1);

	/* The request may arrive in pieces, with a query string. */
	fd = client_send(port, "GET /metrics?x=1 HT");
	loop_run_once(loop, 10);
	assert_int_equal(write(fd, "TP/1.0\r\n\r\n", 10), 10);
	client_answer(loop, fd, buf, sizeof(buf));
	assert_true(strncmp(buf, "HTTP/1.0 200 OK\r\n", 17) == 0);

	/* Other paths and methods. */
	fd = client_send(port, "GET /secret HTTP/1.0\r\n\r\n");
	client_answer(loop, fd, buf, sizeof(buf));
	assert_true(strncmp(buf, "HTTP/1.0 404 ", 13) == 0);
	fd = client_send(port, "POST /metrics HTTP/1.0\r\n\r\n");
	client_answer(loop, fd, buf, sizeof(buf));
	assert_true(strncmp(buf, "HTTP/1.0 405 ", 13) == 0);
	fd = client_send(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	client_answer(loop, fd, buf, sizeof(buf));
	assert_true(strncmp(buf, "HTTP/1.0 200 OK\r\n", 17) == 0);
	assert_null(strstr(buf, "# HELP"));

	/* Slots are bounded, and idle clients cannot starve a scrape: with
	 * all taken by silent clients, a real scrape takes the slot of the
	 * one silent longest (closed without an answer); the others still
	 * get their answers. */
	for (i = 0; i < METRICS_CLIENTS_MAX; i++) {
		fds[i] = client_send(port, "");
		loop_run_once(loop, 10);
	}
	fds[i] = client_send(port, "GET /metrics HTTP/1.0\r\n\r\n");
	client_answer(loop, fds[i], buf, sizeof(buf));
	assert_true(strncmp(buf, "HTTP/1.0 200 OK\r\n", 17) == 0);
	metrics_server_get_stats(srv, &st);
	assert_int_equal(st.refused, 1);
	client_answer(loop, fds[0], buf, sizeof(buf));
	assert_string_equal(buf, "");
	for (i = 1; i < METRICS_CLIENTS_MAX; i++) {
		assert_int_equal(write(fds[i], "GET / HTTP/1.0\r\n\r\n", 18),
		    18);
		client_answer(loop, fds[i], buf, sizeof(buf));
		assert_true(strncmp(buf, "HTTP/1.0 200 OK\r\n", 17) == 0);
	}

	/* A request head too long is dropped without an answer. */
	fd = client_send(port, "GET /");
	for (i = 0; i < METRICS_REQUEST_MAX / 8 + 1; i++) {
		if (send(fd, "aaaaaaaa", 8, MSG_NOSIGNAL) != 8)
			break;
		loop_run_once(loop, 0);
	}
	client_answer(loop, fd, buf, sizeof(buf));
	assert_string_equal(buf, "");

	metrics_server_get_stats(srv, &st);
	assert_int_equal(st.scrapes, 3 + METRICS_CLIENTS_MAX);
	assert_int_equal(st.bad, 3);
	metrics_server_close(srv);
	loop_free(loop);
}

/* A client that never sends its request is closed by the timer. */
static void
test_server_timeout(void **state)
{
	struct metrics_server_stats st;
	struct metrics_server	*srv;
	struct loop		*loop;
	char			*cause = NULL, buf[64];
	int64_t			 t0;
	int			 fd;

	(void)state;
	loop = loop_new(&cause);
	assert_non_null(loop);
	srv = metrics_server_open(loop, "::1", 0, collect, NULL, &cause);
	if (srv == NULL) {	/* no IPv6 loopback here */
		free(cause);
		loop_free(loop);
		skip();
	}
	{
		struct sockaddr_in6	sin6;

		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(metrics_server_port(srv));
		sin6.sin6_addr = in6addr_loopback;
		assert_int_equal(connect(fd, (struct sockaddr *)&sin6,
		    sizeof(sin6)), 0);
	}
	t0 = clock_monotonic();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (clock_monotonic() - t0 < 8 * CLOCK_US_PER_SEC) {
		loop_run_once(loop, 100);
		if (read(fd, buf, sizeof(buf)) == 0)
			break;
	}
	assert_true(clock_monotonic() - t0 >=
	    (METRICS_REQUEST_MS - 100) * 1000LL);
	assert_true(clock_monotonic() - t0 < 8 * CLOCK_US_PER_SEC);
	close(fd);
	metrics_server_get_stats(srv, &st);
	assert_int_equal(st.bad, 1);
	metrics_server_close(srv);
	loop_free(loop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test_setup_teardown(test_server, guard_setup,
		    guard_teardown),
		cmocka_unit_test_setup_teardown(test_server_timeout,
		    guard_setup, guard_teardown),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
