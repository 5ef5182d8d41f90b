/*
 * ctwatch - the conntrack source (ct.c) on its own, for system tests and
 * measurements: opens it on an event loop with the built-in configuration
 * (ct_* settings from the command line) and prints every connection event
 * as one line of key=value pairs, then its statistics.
 *
 *   ctwatch [-qsv] [-b RCVBUF] [-B RCVBUF_MAX] [-n FLOWS] [-p POLL_MS]
 *           [-t SECONDS]
 *
 *   -b, -B  netlink receive buffer and its cap, bytes (default 4M, 16M)
 *   -n      flow table capacity (default 65536)
 *   -p      counter dump (and resync) interval, ms (default 10000)
 *   -q      no event lines, statistics only
 *   -s      set nf_conntrack_acct/timestamp/events (ct_sysctl)
 *   -t      exit after SECONDS (default: on SIGTERM or SIGINT)
 *   -v      debug log (dump durations) on stderr
 *
 * "ready" goes to stdout once the first dump is done; SIGUSR1 prints a
 * "stats" line; SIGTERM, SIGINT or -t prints one and exits 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "ct.h"
#include "event.h"
#include "log.h"
#include "loop.h"

static int	 quiet;
static uint64_t	 nevents;

static void
event_cb(const struct event *ev, void *arg)
{
	char	 a[ADDR_STRLEN];

	(void)arg;
	nevents++;
	if (quiet)
		return;
	printf("%s time=%lld addr=%s sport=%u port=%u service=%s flow=%llu "
	    "flags=%s%s%s%s in=%llu/%llu out=%llu/%llu start=%lld "
	    "duration=%lld\n", event_kind_name(ev->kind),
	    (long long)ev->time, addr_ntop(&ev->addr, a, sizeof a), ev->sport,
	    ev->port, ev->service != NULL ? ev->service : "-",
	    (unsigned long long)ev->flow,
	    ev->flags & EVENT_F_HANDSHAKE ? "H" : "",
	    ev->flags & EVENT_F_WAS_SYN ? "S" : "",
	    ev->flags & EVENT_F_PREEXISTING ? "P" : "",
	    ev->flags & EVENT_F_RESYNC ? "R" : "",
	    (unsigned long long)ev->bytes_in, (unsigned long long)ev->pkts_in,
	    (unsigned long long)ev->bytes_out,
	    (unsigned long long)ev->pkts_out, (long long)ev->start,
	    (long long)ev->duration);
	fflush(stdout);
}

static void
print_stats(struct ct *ct)
{
	struct ct_stats	 st;

	ct_get_stats(ct, &st);
	printf("stats events=%llu msgs=%llu overruns=%llu resyncs=%llu "
	    "dumps=%llu rcvbuf=%llu acct=%d events_sysctl=%d "
	    "last_dump_us=%llu last_dump_flows=%llu flows=%llu halfopen=%llu "
	    "evicted=%llu ignored=%llu unknown=%llu resync_closed=%llu "
	    "resync_opened=%llu applied=%llu\n",
	    (unsigned long long)nevents, (unsigned long long)st.msgs,
	    (unsigned long long)st.overruns, (unsigned long long)st.resyncs,
	    (unsigned long long)st.dumps, (unsigned long long)st.rcvbuf,
	    st.acct, st.events_sysctl, (unsigned long long)st.last_dump_us,
	    (unsigned long long)st.last_dump_flows,
	    (unsigned long long)st.flow.flows,
	    (unsigned long long)st.flow.halfopen,
	    (unsigned long long)st.flow.evicted,
	    (unsigned long long)st.flow.ignored,
	    (unsigned long long)st.flow.unknown,
	    (unsigned long long)st.flow.resync_closed,
	    (unsigned long long)st.flow.resync_opened,
	    (unsigned long long)st.flow.msgs);
	fflush(stdout);
}

static struct ct *the_ct;

static void
stop_cb(struct loop *loop, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	loop_stop(loop);
}

static void
stats_cb(struct loop *loop, int signo, void *arg)
{
	(void)loop;
	(void)signo;
	(void)arg;
	print_stats(the_ct);
}

static int64_t
timeout_cb(struct loop *loop, struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	loop_stop(loop);
	return LOOP_TIMER_DONE;
}

static uint64_t
number(const char *s, uint64_t max)
{
	char			*end;
	unsigned long long	 v;

	v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > max) {
		fprintf(stderr, "ctwatch: bad number: %s\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct conf	*conf;
	struct loop	*loop;
	char		*cause = NULL;
	int		 c, verbose = 0;
	uint64_t	 seconds = 0;

	if (conf_load(NULL, &conf, &cause) == -1) {
		fprintf(stderr, "ctwatch: %s\n", cause);
		return 2;
	}
	conf->ct_rcvbuf = 4 << 20;
	conf->ct_rcvbuf_max = 16 << 20;
	conf->ct_flows_max = 65536;
	conf->ct_poll = 10 * CLOCK_US_PER_SEC;
	conf->ct_sysctl = 0;
	while ((c = getopt(argc, argv, "b:B:n:p:qst:v")) != -1) {
		switch (c) {
		case 'b':
			conf->ct_rcvbuf = number(optarg, 1ULL << 30);
			break;
		case 'B':
			conf->ct_rcvbuf_max = number(optarg, 1ULL << 30);
			break;
		case 'n':
			conf->ct_flows_max = (uint32_t)number(optarg,
			    1U << 26);
			break;
		case 'p':
			conf->ct_poll = (int64_t)number(optarg, 86400000) *
			    CLOCK_US_PER_MS;
			break;
		case 'q':
			quiet = 1;
			break;
		case 's':
			conf->ct_sysctl = 1;
			break;
		case 't':
			seconds = number(optarg, 86400);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: ctwatch [-qsv] [-b rcvbuf] "
			    "[-B rcvbuf_max] [-n flows] [-p poll_ms] "
			    "[-t seconds]\n");
			return 2;
		}
	}
	log_init(1, verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);

	if ((loop = loop_new(&cause)) == NULL) {
		fprintf(stderr, "ctwatch: %s\n", cause);
		return 1;
	}
	if (loop_signal(loop, SIGTERM, stop_cb, NULL) == -1 ||
	    loop_signal(loop, SIGINT, stop_cb, NULL) == -1 ||
	    loop_signal(loop, SIGUSR1, stats_cb, NULL) == -1) {
		perror("ctwatch: loop_signal");
		return 1;
	}
	if (seconds > 0 && loop_timer_add(loop, (int64_t)seconds * 1000,
	    timeout_cb, NULL) == NULL) {
		perror("ctwatch: timer");
		return 1;
	}
	if ((the_ct = ct_open(loop, conf, event_cb, NULL, &cause)) == NULL ||
	    ct_start(the_ct, &cause) == -1) {
		fprintf(stderr, "ctwatch: %s\n", cause);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	loop_run(loop);
	print_stats(the_ct);
	ct_close(the_ct);
	loop_free(loop);
	conf_free(conf);
	return 0;
}
