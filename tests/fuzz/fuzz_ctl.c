/*
 * libFuzzer target: the control socket's request handling.  ctl.c is
 * included to reach its statics.  Each input is
 *
 *  1. split with ctl_split() as a NUL-ended line (at most
 *     CTL_REQUEST_MAX bytes), checking what it promises: on success
 *     1..CTL_ARGS_MAX non-empty words of printable bytes without blanks;
 *  2. sent whole (at most 2 * CTL_REQUEST_MAX bytes) over a socketpair to
 *     a client slot served by ctl_client_cb(), as the loop would call it,
 *     with a request callback that parses the words as the daemon's does
 *     (address or prefix, duration, reason) without touching any state;
 *     the answer read back must start with "OK\n" or "ERR\n", or there is
 *     none when the request was cut off or too long.
 */
#include "../../src/ctl.c"

#include <stdint.h>

#include "addr.h"

#define FUZZ_CTL_INPUT_MAX	(2 * CTL_REQUEST_MAX)
#define FUZZ_CTL_CALLS_MAX	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct loop	*fuzz_ctl_loop;
static struct ctl	 fuzz_ctl_ctl;

static int
fuzz_ctl_cb(int argc, char **argv, int level, FILE *out, void *arg)
{
	struct prefix	 p;
	char		 reason[128];
	long long	 secs;
	size_t		 len = 0;
	int		 i;

	(void)arg;
	if (argc < 1 || argc > CTL_ARGS_MAX)
		abort();
	if (level != CTL_ADMIN)
		abort();
	if (strcmp(argv[0], "status") == 0 || strcmp(argv[0], "bans") == 0) {
		if (argc == 2 && strcmp(argv[1], "json") == 0)
			fprintf(out, "{}\n");
		else if (argc != 1)
			return -1;
		return 0;
	}
	if (strcmp(argv[0], "ban") != 0 && strcmp(argv[0], "unban") != 0) {
		fprintf(out, "unknown request\n");
		return -1;
	}
	if (argc < 2 || addr_prefix_parse(argv[1], &p, 0) == -1) {
		fprintf(out, "not an address or prefix: %s\n",
		    argc < 2 ? "" : argv[1]);
		return -1;
	}
	if (argc >= 3) {
		secs = strtoll(argv[2], NULL, 10);
		if (secs < 1 || secs > 366LL * 86400)
			return -1;
	}
	reason[0] = '\0';
	for (i = 3; i < argc && len + 2 < sizeof(reason); i++)
		len += (size_t)snprintf(reason + len, sizeof(reason) - len,
		    "%s%s", i > 3 ? " " : "", argv[i]);
	fprintf(out, "%s %s %s\n", argv[0], argv[1], reason);
	return 0;
}

static void
fuzz_ctl_init(void)
{
	char	*cause = NULL;

	log_init(1, LOG_LEVEL_ERR);
	signal(SIGPIPE, SIG_IGN);
	if ((fuzz_ctl_loop = loop_new(&cause)) == NULL) {
		fprintf(stderr, "fuzz_ctl: %s\n", cause);
		exit(2);
	}
	fuzz_ctl_ctl.loop = fuzz_ctl_loop;
	fuzz_ctl_ctl.fd = -1;
	fuzz_ctl_ctl.cb = fuzz_ctl_cb;
}

/* Step 1: the split alone. */
static void
fuzz_ctl_split(const uint8_t *data, size_t size)
{
	char	 line[CTL_REQUEST_MAX + 1], *argv[CTL_ARGS_MAX];
	size_t	 len, n;
	int	 argc = -1, i;

	len = size > CTL_REQUEST_MAX ? CTL_REQUEST_MAX : size;
	memcpy(line, data, len);
	line[len] = '\0';
	if (ctl_split(line, argv, &argc) == -1)
		return;
	if (argc < 1 || argc > CTL_ARGS_MAX)
		abort();
	for (i = 0; i < argc; i++) {
		if (argv[i] < line || argv[i] >= line + len ||
		    (n = strlen(argv[i])) == 0)
			abort();
		while (n-- > 0)
			if (argv[i][n] <= ' ' || argv[i][n] > '~')
				abort();
	}
}

/* Step 2: the whole client, over a socketpair. */
static void
fuzz_ctl_client(const uint8_t *data, size_t size)
{
	struct ctl_client	*c = &fuzz_ctl_ctl.clients[0];
	char			 ans[4096];
	size_t			 anslen = 0;
	ssize_t			 n;
	int			 sv[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) == -1) {
		perror("fuzz_ctl: socketpair");
		abort();
	}
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size) {
		perror("fuzz_ctl: write");
		abort();
	}
	shutdown(sv[1], SHUT_WR);
	memset(c, 0, sizeof(*c));
	c->ctl = &fuzz_ctl_ctl;
	c->fd = sv[0];
	c->level = CTL_ADMIN;
	if (loop_fd_add(fuzz_ctl_loop, sv[0], LOOP_READ, ctl_client_cb,
	    c) == -1) {
		perror("fuzz_ctl: loop_fd_add");
		abort();
	}
	for (i = 0; i < FUZZ_CTL_CALLS_MAX && c->fd != -1; i++) {
		ctl_client_cb(fuzz_ctl_loop, sv[0], LOOP_READ, c);
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
	if (anslen == 0) {
		/* No answer: only for a request without a newline in
		 * its first CTL_REQUEST_MAX bytes. */
		if (memchr(data, '\n', size > CTL_REQUEST_MAX ?
		    CTL_REQUEST_MAX : size) != NULL)
			abort();
		return;
	}
	if (!(anslen >= 3 && memcmp(ans, "OK\n", 3) == 0) &&
	    !(anslen >= 4 && memcmp(ans, "ERR\n", 4) == 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_CTL_INPUT_MAX)
		return -1;
	if (fuzz_ctl_loop == NULL)
		fuzz_ctl_init();
	fuzz_ctl_split(data, size);
	fuzz_ctl_client(data, size);
	return 0;
}
