/*
 * libFuzzer target: the metrics endpoint's request handling.  metrics.c is
 * included to reach its statics.  Each input (at most twice
 * METRICS_REQUEST_MAX bytes) is
 *
 *  1. parsed with metrics_request_parse() from a buffer of exactly its
 *     size (so ASan sees any read past it), checking what it promises: a
 *     known answer, an answer only once the head has ended, and the same
 *     answer for every longer input once it has one;
 *  2. sent whole over a socketpair to a client slot served by
 *     metrics_client_cb(), as the loop would call it, with a collect
 *     callback writing one sample: the answer read back must be the
 *     HTTP/1.0 status the parser gave for the first METRICS_REQUEST_MAX
 *     bytes, or none when those hold no end of head.
 */
#include "../../src/metrics.c"

#include <signal.h>
#include <stdint.h>

#define FUZZ_METRICS_INPUT_MAX	(2 * METRICS_REQUEST_MAX)
#define FUZZ_METRICS_CALLS_MAX	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct loop		*fuzz_metrics_loop;
static struct metrics_server	 fuzz_metrics_srv;

static void
fuzz_metrics_collect(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_counter(m, "xmppguard_fuzz_total", "A \"fuzz\"\n\\help.", 1);
}

static void
fuzz_metrics_init(void)
{
	char	*cause = NULL;

	log_init(1, LOG_LEVEL_ERR);
	signal(SIGPIPE, SIG_IGN);
	if ((fuzz_metrics_loop = loop_new(&cause)) == NULL) {
		fprintf(stderr, "fuzz_metrics: %s\n", cause);
		exit(2);
	}
	fuzz_metrics_srv.loop = fuzz_metrics_loop;
	fuzz_metrics_srv.fd = -1;
	fuzz_metrics_srv.cb = fuzz_metrics_collect;
}

/* Does data[0..size) hold an end of head before any NUL? */
static int
fuzz_metrics_ended(const uint8_t *data, size_t size)
{
	size_t	n = strnlen((const char *)data, size);

	return memmem(data, n, "\r\n\r\n", 4) != NULL ||
	    memmem(data, n, "\n\n", 2) != NULL;
}

/* Step 1: the parser alone.  Returns its answer for data[0..size). */
static enum metrics_req
fuzz_metrics_parse(const uint8_t *data, size_t size, int *headp)
{
	enum metrics_req	 req, half;
	char			*buf;
	size_t			 k;
	int			 head, head2;

	buf = malloc(size > 0 ? size : 1);
	if (size > 0)
		memcpy(buf, data, size);
	head = -1;
	req = metrics_request_parse(buf, size, &head);
	if (req != METRICS_REQ_MORE && req != METRICS_REQ_OK &&
	    req != METRICS_REQ_NOT_FOUND && req != METRICS_REQ_BAD_METHOD)
		abort();
	if (head != 0 && head != 1)
		abort();
	if ((req == METRICS_REQ_MORE) == fuzz_metrics_ended(data, size))
		abort();
	if (head && req == METRICS_REQ_BAD_METHOD)
		abort();
	/* A prefix that already had its answer keeps it. */
	k = size / 2;
	half = metrics_request_parse(buf, k, &head2);
	if (half != METRICS_REQ_MORE && (half != req || head2 != head))
		abort();
	free(buf);
	*headp = head;
	return req;
}

/* Step 2: the whole client, over a socketpair. */
static void
fuzz_metrics_client(const uint8_t *data, size_t size)
{
	struct metrics_client	*c = &fuzz_metrics_srv.clients[0];
	static const char *const want[] = {
		[METRICS_REQ_OK] = "HTTP/1.0 200 OK\r\n",
		[METRICS_REQ_NOT_FOUND] = "HTTP/1.0 404 Not Found\r\n",
		[METRICS_REQ_BAD_METHOD] = "HTTP/1.0 405 Method Not Allowed\r\n",
	};
	enum metrics_req	 req;
	char			 ans[4096];
	size_t			 anslen = 0;
	ssize_t			 n;
	int			 sv[2], i, head;

	req = fuzz_metrics_parse(data, size > METRICS_REQUEST_MAX ?
	    METRICS_REQUEST_MAX : size, &head);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == -1) {
		perror("fuzz_metrics: socketpair");
		abort();
	}
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size) {
		perror("fuzz_metrics: write");
		abort();
	}
	shutdown(sv[1], SHUT_WR);
	memset(c, 0, sizeof(*c));
	c->srv = &fuzz_metrics_srv;
	c->fd = sv[0];
	if (loop_fd_add(fuzz_metrics_loop, sv[0], LOOP_READ,
	    metrics_client_cb, c) == -1) {
		perror("fuzz_metrics: loop_fd_add");
		abort();
	}
	for (i = 0; i < FUZZ_METRICS_CALLS_MAX && c->fd != -1; i++) {
		metrics_client_cb(fuzz_metrics_loop, sv[0], c->out != NULL ?
		    LOOP_WRITE : LOOP_READ, c);
		while (anslen < sizeof(ans) && (n = read(sv[1], ans + anslen,
		    sizeof(ans) - anslen)) > 0)
			anslen += (size_t)n;
	}
	if (c->fd != -1)
		abort();	/* the client never finished */
	while (anslen < sizeof(ans) && (n = read(sv[1], ans + anslen,
	    sizeof(ans) - anslen)) > 0)
		anslen += (size_t)n;
	close(sv[1]);
	if (req == METRICS_REQ_MORE) {
		if (anslen != 0)
			abort();
		return;
	}
	if (anslen < strlen(want[req]) ||
	    memcmp(ans, want[req], strlen(want[req])) != 0)
		abort();
	/* HEAD: the head alone, whatever the length it announces. */
	if (req == METRICS_REQ_OK && head &&
	    memcmp(ans + anslen - 4, "\r\n\r\n", 4) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int	head;

	if (size > FUZZ_METRICS_INPUT_MAX)
		return -1;
	if (fuzz_metrics_loop == NULL)
		fuzz_metrics_init();
	(void)fuzz_metrics_parse(data, size, &head);
	fuzz_metrics_client(data, size);
	return 0;
}
