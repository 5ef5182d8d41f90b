/*
 * fwctl - the configured firewall backend (fw.c, fw_nft.c, ...) on its
 * own, for system tests and benchmarks, without the daemon:
 *
 *   fwctl [-c CONFIG] open
 *   fwctl [-c CONFIG] ban PREFIX SECONDS
 *   fwctl [-c CONFIG] throttle PREFIX SECONDS
 *   fwctl [-c CONFIG] unban PREFIX
 *   fwctl [-c CONFIG] list
 *   fwctl [-c CONFIG] kill PREFIX
 *   fwctl [-c CONFIG] load FILE SECONDS BATCH
 *   fwctl [-c CONFIG] restore
 *   fwctl [-c CONFIG] latency N
 *
 * Every command opens the backend first (as the daemon does at start).
 * list prints "PREFIX remaining=SECONDS throttled=0|1" per element; kill
 * prints "killed=N".  The measuring commands print key=value lines:
 * load bans every prefix of FILE (one a line) for SECONDS, BATCH to a
 * fw_apply() call; restore lists what is in force and applies it again
 * as bans with their remaining time (the reconcile at start); latency
 * bans N fresh addresses one batch each and times each fw_apply() call,
 * which returns once nft has had the kernel's answer, so the element is
 * in the set when it returns (checked at the end with one list).
 * Exit status 0 on success, 1 on a backend failure, 2 on a usage error.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "fw.h"
#include "log.h"
#include "xmalloc.h"

#define FWCTL_LOAD_MAX	(4 * 1024 * 1024)	/* prefixes in a file */

/* -r, -R: what a ban says (a test's hostile text goes here). */
static const char	*fwctl_reason = "fwctl";
static const char	*fwctl_rule = "manual";

static void
fwctl_usage(void)
{
	fprintf(stderr, "usage: fwctl [-c CONFIG] [-r REASON] [-R RULE] "
	    "open | ban PREFIX SECONDS |"
	    " throttle PREFIX SECONDS |\n"
	    "       unban PREFIX | list | kill PREFIX | load FILE SECONDS "
	    "BATCH |\n"
	    "       restore | latency N\n");
	exit(2);
}

static void
fwctl_prefix(const char *s, struct prefix *p)
{
	if (addr_prefix_parse(s, p, 0) == -1) {
		fprintf(stderr, "fwctl: bad prefix %s\n", s);
		exit(2);
	}
}

static long long
fwctl_num(const char *s)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < 0) {
		fprintf(stderr, "fwctl: bad number %s\n", s);
		exit(2);
	}
	return v;
}

static void
fwctl_op(struct fw_op *op, enum fw_op_kind kind, const struct prefix *p,
    int64_t seconds)
{
	memset(op, 0, sizeof *op);
	op->kind = kind;
	op->prefix = *p;
	op->duration = seconds * CLOCK_US_PER_SEC;
	snprintf(op->rule, sizeof op->rule, "%s", fwctl_rule);
	snprintf(op->reason, sizeof op->reason, "%s", fwctl_reason);
}

static int
fwctl_apply(struct fw *fw, const struct fw_op *ops, size_t n)
{
	char	*cause = NULL;

	if (fw_apply(fw, ops, n, &cause) == -1) {
		fprintf(stderr, "fwctl: apply: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

static int
fwctl_list(struct fw *fw, struct fw_entry **v, size_t *n)
{
	char	*cause = NULL;

	if (fw_list(fw, v, n, &cause) == -1) {
		fprintf(stderr, "fwctl: list: %s\n", cause ? cause :
		    "backend cannot list");
		free(cause);
		return -1;
	}
	return 0;
}

/* load FILE SECONDS BATCH */
static int
fwctl_load(struct fw *fw, const char *path, int64_t seconds, size_t batch)
{
	struct fw_op	*ops = NULL;
	struct prefix	 p;
	FILE		*f;
	char		 line[128];
	size_t		 n = 0, cap = 0, i, k;
	int64_t		 t0, t;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "fwctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL && n < FWCTL_LOAD_MAX) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		fwctl_prefix(line, &p);
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			ops = xreallocarray(ops, cap, sizeof *ops);
		}
		fwctl_op(&ops[n++], FW_BAN, &p, seconds);
	}
	fclose(f);
	if (batch == 0)
		batch = n;
	t0 = clock_monotonic();
	for (i = 0, k = 0; i < n; i += batch, k++)
		if (fwctl_apply(fw, ops + i, n - i < batch ? n - i : batch) ==
		    -1) {
			free(ops);
			return -1;
		}
	t = clock_monotonic() - t0;
	printf("bans=%zu batch=%zu batches=%zu seconds=%.3f us_per_ban=%.2f\n",
	    n, batch, k, t / 1e6, n ? (double)t / (double)n : 0.0);
	free(ops);
	return 0;
}

/* restore: list, then ban again what was listed, with its time left;
 * then the same bans by fw_replace(), as the daemon restores. */
static int
fwctl_restore(struct fw *fw)
{
	struct fw_entry	*v;
	struct fw_op	*ops;
	char		*cause = NULL;
	size_t		 n, i;
	int64_t		 t0, t1, t2, t3;

	t0 = clock_monotonic();
	if (fwctl_list(fw, &v, &n) == -1)
		return -1;
	t1 = clock_monotonic();
	ops = xreallocarray(NULL, n ? n : 1, sizeof *ops);
	for (i = 0; i < n; i++)
		fwctl_op(&ops[i], v[i].throttled ? FW_THROTTLE : FW_BAN,
		    &v[i].prefix, 1);
	for (i = 0; i < n; i++)
		ops[i].duration = v[i].remaining > 0 ? v[i].remaining :
		    CLOCK_US_PER_SEC;
	if (fwctl_apply(fw, ops, n) == -1) {
		free(ops);
		free(v);
		return -1;
	}
	t2 = clock_monotonic();
	/* What the daemon does at start: the sets replaced, in one go. */
	if (fw_replace(fw, ops, n, &cause) == -1) {
		fprintf(stderr, "fwctl: replace: %s\n", cause != NULL ?
		    cause : "not supported");
		free(cause);
		free(ops);
		free(v);
		return -1;
	}
	t3 = clock_monotonic();
	printf("elements=%zu list_seconds=%.3f apply_seconds=%.3f "
	    "total_seconds=%.3f replace_seconds=%.3f\n", n, (t1 - t0) / 1e6,
	    (t2 - t1) / 1e6, (t2 - t0) / 1e6, (t3 - t2) / 1e6);
	free(ops);
	free(v);
	return 0;
}

static int
fwctl_cmp64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* latency N: one fresh address (2001:db8:1a7::1 on) a batch. */
static int
fwctl_latency(struct fw *fw, size_t n)
{
	struct fw_entry	*v;
	struct fw_op	 op;
	struct prefix	 p;
	int64_t		*us, t0;
	uint8_t		 b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x01, 0xa7 };
	size_t		 i, nv, found = 0;

	if (n == 0 || n > 65535) {
		fprintf(stderr, "fwctl: latency: 1 to 65535\n");
		return -1;
	}
	us = xreallocarray(NULL, n, sizeof *us);
	for (i = 0; i < n; i++) {
		b[14] = (uint8_t)((i + 1) >> 8);
		b[15] = (uint8_t)(i + 1);
		memset(&p, 0, sizeof p);
		addr_from_v6(&p.addr, b);
		p.len = 128;
		fwctl_op(&op, FW_BAN, &p, 600);
		t0 = clock_monotonic();
		if (fwctl_apply(fw, &op, 1) == -1) {
			free(us);
			return -1;
		}
		us[i] = clock_monotonic() - t0;
	}
	if (fwctl_list(fw, &v, &nv) == -1) {
		free(us);
		return -1;
	}
	for (i = 0; i < nv; i++)
		if (v[i].prefix.len == 128 &&
		    memcmp(v[i].prefix.addr.bytes, b, 14) == 0)
			found++;
	free(v);
	qsort(us, n, sizeof *us, fwctl_cmp64);
	if (n > 0)
		printf("batches=%zu present=%zu p50_us=%" PRId64 " p99_us=%"
		    PRId64 " max_us=%" PRId64 "\n", n, found, us[n / 2],
		    us[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], us[n - 1]);
	free(us);
	return found >= n ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct conf	*conf;
	struct fw	*fw;
	struct fw_entry	*v;
	struct fw_op	 op;
	struct prefix	 p;
	const char	*path = NULL, *cmd;
	char		*cause = NULL, a[ADDR_PREFIX_STRLEN];
	size_t		 n, i;
	int		 ch, rc = 0;

	while ((ch = getopt(argc, argv, "c:r:R:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'r':
			fwctl_reason = optarg;
			break;
		case 'R':
			fwctl_rule = optarg;
			break;
		default:
			fwctl_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		fwctl_usage();
	cmd = argv[0];
	log_init(1, getenv("FWCTL_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	if (conf_load(path, &conf, &cause) == -1) {
		fprintf(stderr, "fwctl: %s\n", cause);
		return 2;
	}
	/* kill ends the sessions whatever kill_established says. */
	if (strcmp(cmd, "kill") == 0)
		conf->ban_kill = 1;
	if ((fw = fw_open(conf, NULL, &cause)) == NULL) {
		fprintf(stderr, "fwctl: %s\n", cause);
		return 1;
	}

	if (strcmp(cmd, "open") == 0 && argc == 1)
		rc = 0;
	else if ((strcmp(cmd, "ban") == 0 || strcmp(cmd, "throttle") == 0) &&
	    argc == 3) {
		fwctl_prefix(argv[1], &p);
		fwctl_op(&op, cmd[0] == 'b' ? FW_BAN : FW_THROTTLE, &p,
		    fwctl_num(argv[2]));
		rc = fwctl_apply(fw, &op, 1);
	} else if (strcmp(cmd, "unban") == 0 && argc == 2) {
		fwctl_prefix(argv[1], &p);
		fwctl_op(&op, FW_UNBAN, &p, 0);
		rc = fwctl_apply(fw, &op, 1);
	} else if (strcmp(cmd, "list") == 0 && argc == 1) {
		if ((rc = fwctl_list(fw, &v, &n)) == 0) {
			for (i = 0; i < n; i++)
				printf("%s remaining=%.0f throttled=%d\n",
				    addr_prefix_ntop(&v[i].prefix, a, sizeof a),
				    v[i].remaining / 1e6, v[i].throttled);
			free(v);
		}
	} else if (strcmp(cmd, "kill") == 0 && argc == 2) {
		fwctl_prefix(argv[1], &p);
		if ((rc = fw_kill(fw, &p, FW_SCOPE_SERVICES, &cause)) == -1) {
			fprintf(stderr, "fwctl: kill: %s\n", cause);
			free(cause);
		} else
			printf("killed=%" PRIu64 "\n", fw_stats(fw)->killed);
	} else if (strcmp(cmd, "load") == 0 && argc == 4)
		rc = fwctl_load(fw, argv[1], fwctl_num(argv[2]),
		    (size_t)fwctl_num(argv[3]));
	else if (strcmp(cmd, "restore") == 0 && argc == 1)
		rc = fwctl_restore(fw);
	else if (strcmp(cmd, "latency") == 0 && argc == 2)
		rc = fwctl_latency(fw, (size_t)fwctl_num(argv[1]));
	else
		fwctl_usage();
	fw_close(fw);
	conf_free(conf);
	return rc == 0 ? 0 : 1;
}
