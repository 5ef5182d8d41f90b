/*
 * hookctl - the webhook backend (fw_webhook.c over http.c) on its own, for
 * system tests and measurements: opens it on an event loop, applies N
 * operations, runs the loop until every POST is finished or a deadline
 * passes, and prints one JSON line of statistics.
 *
 *   hookctl [-v] [-c CONFIG | -u URL] [-n COUNT] [-k ban|unban|pair]
 *           [-B BATCH] [-F] [-d SECONDS] [-R REASON] [-t TIMEOUT_MS]
 *           [-r RETRIES] [-b BACKOFF_MS] [-i INFLIGHT] [-q PENDING]
 *           [-w WAIT_MS]
 *
 *   -c, -u  the URL: [ban] webhook of CONFIG, or URL itself
 *   -n      operations (default 1); -k their kind: all bans (default), all
 *           unbans, or pairs of a ban and an unban of one address
 *   -B      operations applied per loop iteration (default 64); a batch is
 *           applied only when it fits the backend's limits, unless -F
 *           (flood: apply everything at once, counting what is dropped)
 *   -d, -R  ban duration (default 600) and reason
 *   -t, -r, -b  per-attempt timeout, retries, first backoff (ms)
 *   -i, -q  POSTs in flight at most, more waiting at most
 *   -w      give up after WAIT_MS (default 30000): what is left is counted
 *
 * Addresses come from the documentation ranges: 192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24, then 2001:db8::/64.  A 10 ms ticker
 * runs beside the POSTs; the largest gap between its ticks shows whether
 * anything blocked the loop.  Exit status: 0 if every operation was
 * posted, 1 if any failed, was dropped or was left at the deadline, 2 on
 * a usage or set-up error.
 */
#include <sys/resource.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "fw.h"
#include "fw_int.h"
#include "fw_webhook.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define TICK_MS		10

enum kind { KIND_BAN, KIND_UNBAN, KIND_PAIR };

struct hookctl {
	struct loop	*loop;
	struct fw	*fw;
	enum kind	 kind;
	unsigned long	 count;		/* operations to apply */
	unsigned long	 next;		/* the next one's number */
	unsigned long	 refused;	/* operations apply() dropped */
	unsigned int	 batch;
	int		 flood;
	unsigned int	 room;		/* both limits, added */
	int64_t		 duration;	/* us */
	const char	*reason;
	unsigned int	 busy_max;
	int64_t		 last_tick;
	int64_t		 tick_gap_max;
	int		 timed_out;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: hookctl [-Fv] [-c config | -u url] "
	    "[-n count] [-k ban|unban|pair]\n"
	    "               [-B batch] [-d seconds] [-R reason] "
	    "[-t timeout_ms] [-r retries]\n"
	    "               [-b backoff_ms] [-i inflight] [-q pending] "
	    "[-w wait_ms]\n");
	exit(2);
}

static unsigned long
number(const char *s, unsigned long max)
{
	char		*end;
	unsigned long	 v;

	v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > max)
		usage();
	return v;
}

/* The address of the n-th distinct target. */
static void
target(unsigned long n, struct prefix *p)
{
	uint8_t	b[16];

	memset(b, 0, sizeof b);
	memset(p, 0, sizeof *p);
	if (n < 768) {
		static const uint8_t nets[3][3] = {
			{ 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 }
		};
		memcpy(b, nets[n / 256], 3);
		b[3] = (uint8_t)(n % 256);
		addr_from_v4(&p->addr, b);
		p->len = 32;
		return;
	}
	b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8;
	n -= 768;
	b[12] = (uint8_t)(n >> 24);
	b[13] = (uint8_t)(n >> 16);
	b[14] = (uint8_t)(n >> 8);
	b[15] = (uint8_t)n;
	addr_from_v6(&p->addr, b);
	p->len = 128;
}

static void
make_op(struct hookctl *hc, unsigned long i, struct fw_op *op)
{
	memset(op, 0, sizeof *op);
	switch (hc->kind) {
	case KIND_BAN:
		op->kind = FW_BAN;
		target(i, &op->prefix);
		break;
	case KIND_UNBAN:
		op->kind = FW_UNBAN;
		target(i, &op->prefix);
		break;
	case KIND_PAIR:
		op->kind = i % 2 == 0 ? FW_BAN : FW_UNBAN;
		target(i / 2, &op->prefix);
		break;
	}
	op->duration = hc->duration;
	snprintf(op->rule, sizeof op->rule, "%s",
	    op->kind == FW_UNBAN ? "manual" : "churn");
	snprintf(op->reason, sizeof op->reason, "%s", hc->reason);
}

/* Applies the next batch if it fits (always, with -F). */
static void
feed(struct hookctl *hc)
{
	struct fw_op	*ops;
	struct http_stats before, after;
	unsigned long	 i, n;
	unsigned int	 busy;
	char		*cause = NULL;

	busy = fw_webhook_busy(hc->fw);
	if (busy > hc->busy_max)
		hc->busy_max = busy;
	if (hc->next >= hc->count)
		return;
	n = hc->count - hc->next;
	if (!hc->flood) {
		if (n > hc->batch)
			n = hc->batch;
		if (busy + n > hc->room)
			return;
	}
	ops = xreallocarray(NULL, n, sizeof *ops);
	for (i = 0; i < n; i++)
		make_op(hc, hc->next + i, &ops[i]);
	fw_webhook_stats(hc->fw, &before);
	if (fw_apply(hc->fw, ops, n, &cause) == -1) {
		log_debug("hookctl: %s", cause);
		free(cause);
		fw_webhook_stats(hc->fw, &after);
		hc->refused += after.dropped - before.dropped;
	}
	hc->next += n;
	free(ops);
}

static void
hook_cb(struct loop *loop, void *arg)
{
	struct hookctl	*hc = arg;

	feed(hc);
	if (hc->next >= hc->count && fw_webhook_busy(hc->fw) == 0)
		loop_stop(loop);
}

static int64_t
tick_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct hookctl	*hc = arg;
	int64_t		 now = clock_monotonic();

	(void)loop;
	(void)t;
	if (now - hc->last_tick > hc->tick_gap_max)
		hc->tick_gap_max = now - hc->last_tick;
	hc->last_tick = now;
	return TICK_MS;
}

static int64_t
deadline_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	struct hookctl	*hc = arg;

	(void)t;
	hc->timed_out = 1;
	loop_stop(loop);
	return LOOP_TIMER_DONE;
}

int
main(int argc, char **argv)
{
	struct hookctl		 hc;
	struct fw_webhook_tune	 tune;
	struct http_stats	 st;
	struct conf		*conf = NULL;
	struct rusage		 ru;
	const char		*url = NULL, *config = NULL;
	char			*cause = NULL;
	int64_t			 start, elapsed;
	unsigned long		 wait_ms = 30000;
	int			 ch, verbose = 0, ok, rc;

	memset(&hc, 0, sizeof hc);
	memset(&tune, 0, sizeof tune);
	tune.retries = -1;
	hc.count = 1;
	hc.batch = 64;
	hc.duration = 600 * CLOCK_US_PER_SEC;
	hc.reason = "hookctl";
	while ((ch = getopt(argc, argv, "B:b:c:d:Fi:k:n:q:R:r:t:u:vw:")) !=
	    -1) {
		switch (ch) {
		case 'B':
			hc.batch = (unsigned int)number(optarg, 1000000);
			if (hc.batch == 0)
				usage();
			break;
		case 'b':
			tune.backoff_ms = (unsigned int)number(optarg, 600000);
			break;
		case 'c':
			config = optarg;
			break;
		case 'd':
			hc.duration = (int64_t)number(optarg, 100000000) *
			    CLOCK_US_PER_SEC;
			break;
		case 'F':
			hc.flood = 1;
			break;
		case 'i':
			tune.max_inflight = (unsigned int)number(optarg, 10000);
			break;
		case 'k':
			if (strcmp(optarg, "ban") == 0)
				hc.kind = KIND_BAN;
			else if (strcmp(optarg, "unban") == 0)
				hc.kind = KIND_UNBAN;
			else if (strcmp(optarg, "pair") == 0)
				hc.kind = KIND_PAIR;
			else
				usage();
			break;
		case 'n':
			hc.count = number(optarg, 100000000);
			break;
		case 'q':
			tune.max_pending = (unsigned int)number(optarg,
			    10000000);
			break;
		case 'R':
			if (strlen(optarg) >= FW_REASON_MAX)
				usage();
			hc.reason = optarg;
			break;
		case 'r':
			tune.retries = (int)number(optarg, 100);
			break;
		case 't':
			tune.timeout_ms = (int)number(optarg, 3600000);
			break;
		case 'u':
			url = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			wait_ms = number(optarg, 86400000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (url == NULL) == (config == NULL))
		usage();
	log_init(1, verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);

	/* CONFIG, or the built-in defaults with URL. */
	if (conf_load(config, &conf, &cause) == -1) {
		fprintf(stderr, "hookctl: %s\n", cause);
		return 2;
	}
	if (url != NULL) {
		free(conf->ban_webhook);
		conf->ban_webhook = xstrdup(url);
	}
	if ((hc.loop = loop_new(&cause)) == NULL) {
		fprintf(stderr, "hookctl: %s\n", cause);
		return 2;
	}
	/*
	 * The webhook backend alone, whatever the file's firewall: not by
	 * fw_open(), whose never-a-weapon list holds this host's addresses,
	 * which on a test host may be the documentation addresses we post.
	 */
	hc.fw = xcalloc(1, sizeof *hc.fw);
	hc.fw->be = &fw_webhook_backend;
	hc.fw->loop = hc.loop;
	rc = hc.fw->be->open(hc.fw, conf, &cause);
	conf_free(conf);
	if (rc == -1) {
		fprintf(stderr, "hookctl: webhook: %s\n", cause);
		free(hc.fw);
		loop_free(hc.loop);
		return 2;
	}
	fw_webhook_tune(hc.fw, &tune);
	fw_webhook_stats(hc.fw, &st);
	hc.room = st.max_inflight + st.max_pending;

	loop_hook_add(hc.loop, hook_cb, &hc);
	start = hc.last_tick = clock_monotonic();
	if (loop_timer_add(hc.loop, TICK_MS, tick_cb, &hc) == NULL ||
	    loop_timer_add(hc.loop, (int64_t)wait_ms, deadline_cb, &hc) ==
	    NULL) {
		perror("hookctl: timer");
		return 2;
	}
	if (loop_run(hc.loop) == -1)
		return 2;
	elapsed = clock_monotonic() - start;

	fw_webhook_stats(hc.fw, &st);
	getrusage(RUSAGE_SELF, &ru);
	ok = !hc.timed_out && hc.refused == 0 && st.failed == 0 &&
	    st.sent == hc.count;
	printf("{\"operations\":%lu,\"applied\":%lu,\"refused\":%lu,"
	    "\"sent\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"dropped\":%" PRIu64
	    ",\"attempts\":%" PRIu64 ",\"retries\":%" PRIu64 ","
	    "\"inflight_max\":%u,\"pending_max\":%u,\"busy_max\":%u,"
	    "\"left\":%u,\"fw_failures\":%" PRIu64 ",\"elapsed_ms\":%" PRId64
	    ",\"tick_gap_max_ms\":%" PRId64 ",\"maxrss_kb\":%ld,"
	    "\"timed_out\":%s}\n", hc.count, hc.next, hc.refused, st.sent,
	    st.failed, st.dropped, st.attempts, st.retries, st.inflight_max,
	    st.pending_max, hc.busy_max, st.inflight + st.pending,
	    fw_stats(hc.fw)->failures, (int64_t)(elapsed / CLOCK_US_PER_MS),
	    (int64_t)(hc.tick_gap_max / CLOCK_US_PER_MS), ru.ru_maxrss,
	    hc.timed_out ? "true" : "false");
	fflush(stdout);

	/* What is left at the deadline is cancelled here. */
	fw_close(hc.fw);
	loop_free(hc.loop);
	return ok ? 0 : 1;
}
