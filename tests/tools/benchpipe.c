/*
 * benchpipe - the cost of the detection path, without the kernel: feeds
 * synthetic connection events through the same pipeline the daemon runs
 * (tracker, rules, rollups, and with -d the SQLite store) and prints the
 * CPU time per event and the memory per tracked address.
 *
 *   benchpipe [-n EVENTS] [-a ADDRESSES] [-d DBFILE] [-s]
 *
 *   -n  events to feed (default 2,000,000)
 *   -a  distinct client addresses (default 10,000)
 *   -d  also write the store (connection rows, rollups, verdicts)
 *   -s  a spoofed SYN flood instead: every event a SYN from a new address
 *
 * Output: one line of key=value pairs.
 */
#include <sys/resource.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "event.h"
#include "log.h"
#include "pipeline.h"
#include "store.h"
#include "track.h"

static double
benchpipe_cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long
benchpipe_rss_kb(void)
{
	char	 line[256];
	long	 kb = -1;
	FILE	*fp;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

int
main(int argc, char **argv)
{
	struct conf		*conf;
	struct store		*store = NULL;
	struct pipeline		*p;
	struct pipeline_stats	 ps;
	struct track_stats	 ts;
	struct event		 ev;
	struct store_stats	 ss;
	const char		*db = NULL;
	char			*cause;
	uint64_t		 n = 2000000, naddr = 10000, i, a;
	int64_t			 t = 1795917600LL * CLOCK_US_PER_SEC;
	int			 ch, syn = 0;
	double			 c0, c1;
	long			 rss0;

	while ((ch = getopt(argc, argv, "n:a:d:s")) != -1) {
		switch (ch) {
		case 'n':
			n = strtoull(optarg, NULL, 10);
			break;
		case 'a':
			naddr = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			db = optarg;
			break;
		case 's':
			syn = 1;
			break;
		default:
			fprintf(stderr, "usage: benchpipe [-n EVENTS] "
			    "[-a ADDRESSES] [-d DBFILE] [-s]\n");
			return 2;
		}
	}
	if (naddr == 0 || n == 0)
		return 2;
	log_init(1, LOG_LEVEL_ERR);
	if (conf_load(NULL, &conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		return 1;
	}
	if (db != NULL && (store = store_open(db, 0, conf->batch_max,
	    &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		return 1;
	}
	rss0 = benchpipe_rss_kb();
	p = pipeline_new(conf, store, 12345);
	c0 = benchpipe_cpu();
	memset(&ev, 0, sizeof(ev));
	ev.port = 5222;
	ev.service = "c2s";
	ev.source = EVENT_SRC_CONNTRACK;
	ev.origin = "conntrack";
	for (i = 0; i < n; i++) {
		uint8_t	b[4];

		/* Each address cycles open, bytes, close, end: the mix of a
		 * churning client, one event per address in turn. */
		a = syn ? i : i % naddr;
		b[0] = 10;
		b[1] = (uint8_t)(a >> 16);
		b[2] = (uint8_t)(a >> 8);
		b[3] = (uint8_t)a;
		addr_from_v4(&ev.addr, b);
		ev.time = t + (int64_t)i * 10;
		ev.flow = i / naddr;
		if (syn) {
			ev.kind = EVENT_CONN_SYN;
			ev.flags = EVENT_F_WAS_SYN;
		} else {
			switch ((i / naddr) % 4) {
			case 0:
				ev.kind = EVENT_CONN_OPEN;
				break;
			case 1:
				ev.kind = EVENT_CONN_BYTES;
				ev.bytes_in = 100;
				break;
			case 2:
				ev.kind = EVENT_CONN_CLOSE;
				ev.duration = 1000;
				break;
			default:
				ev.kind = EVENT_CONN_END;
				break;
			}
			ev.flags = EVENT_F_HANDSHAKE;
		}
		pipeline_event(&ev, p);
		if (store != NULL && i % 1000 == 999)
			store_flush(store);	/* the loop's hook */
	}
	pipeline_flush(p);
	if (store != NULL)
		store_flush(store);
	c1 = benchpipe_cpu();
	pipeline_get_stats(p, &ps);
	track_get_stats(pipeline_track(p), &ts);
	memset(&ss, 0, sizeof(ss));
	if (store != NULL)
		store_get_stats(store, &ss);
	printf("events=%llu addresses=%llu store=%s ns_per_event=%.0f "
	    "events_per_s=%.0f tracked=%llu capacity=%llu evictions=%llu "
	    "entry_bytes=%llu rss_kb=%ld rss_growth_kb=%ld rows=%llu "
	    "verdicts=%llu\n", (unsigned long long)n,
	    (unsigned long long)(syn ? n : naddr), store != NULL ? "yes" : "no",
	    (c1 - c0) * 1e9 / (double)n, (double)n / (c1 - c0),
	    (unsigned long long)ts.entries, (unsigned long long)ts.capacity,
	    (unsigned long long)ts.evictions,
	    (unsigned long long)ts.entry_bytes, benchpipe_rss_kb(),
	    benchpipe_rss_kb() - rss0, (unsigned long long)ss.rows,
	    (unsigned long long)ps.verdicts);
	pipeline_free(p);
	store_close(store);
	conf_free(conf);
	return 0;
}
