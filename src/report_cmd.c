/*
 * xmppguard report, the command: its options, the store or stores it
 * reads, and the writer it hands the loaded report to (report.c loads).
 *
 * One store (--db once, or the configured one) is opened as always:
 * store_open(STORE_RDONLY).  Several (--db given again for each node of
 * a cluster) are merged into one report without writing any of them:
 * each is first checked by store_open(STORE_RDONLY) as a single one
 * would be, then attached read-only (mode=ro) to an in-memory database,
 * where one TEMP view per table the report reads (only a temporary view
 * may read other databases), under the table's own name, unites every
 * node's rows with two more columns: node (the node's name) and nodebit
 * (1 << its index).  Unqualified names find the temp schema before the
 * attached ones, so report.c's queries run unchanged on the union; they
 * only select the two columns when r->nnodes > 1.  Nothing is written to
 * a store: the views live in the in-memory database.  A node is named after its file's basename, or its
 * whole path when two basenames are equal: stores keep no node name.
 * SQLite attaches at most 10 databases, hence REPORT_NODES_MAX.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "log.h"
#include "report.h"
#include "report_int.h"
#include "store.h"
#include "xmalloc.h"

#define REPORT_SINCE_MAX	(3650LL * 24 * REPORT_HOUR_US)
#define REPORT_BUSY_MS		5000	/* as the store's own connection */

static const char *const report_format_names[] = {
	[REPORT_FMT_TABLE] = "table",
	[REPORT_FMT_JSON] = "json",
	[REPORT_FMT_CSV] = "csv",
	[REPORT_FMT_HTML] = "html",
};

/*
 * The tables report.c reads and the columns it reads of each: named, not
 * *, so that stores of different versions still unite.
 */
static const struct {
	const char	*name;
	const char	*cols;
} report_node_tables[] = {
	{ "rollups", "hour, addr, service, conns, short_lived, halfopen, "
	    "bytes_in, bytes_out, peak_live, verdicts, auth_fail, register, "
	    "refused" },
	{ "rollups_day", "day, addr, service, conns, short_lived, halfopen, "
	    "bytes_in, bytes_out, peak_live, verdicts, auth_fail, register, "
	    "max_conns, max_auth_fail, max_register, refused" },
	{ "rollups_all", "hour, service, conns, halfopen, auth_fail, "
	    "register, verdicts, refused" },
	{ "bans", "since, addr, prefixlen, rule, reason, expires, lifted, "
	    "count, throttled" },
	{ "verdicts", "time, addr, prefixlen, rule, service, observed, lim, "
	    "allowlisted, held, reason" },
	{ "events", "time, addr, kind, service, source, origin, user" },
	{ "losses", "hour, what, labels, count" },
	{ "conns", "ended, addr, service, opened, closed, bytes_in, bytes_out" },
};

/* "file:" and the path, %-escaped where a URI would read it otherwise. */
static char *
report_node_uri(const char *path)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			*uri, *q;

	uri = xmalloc(strlen(path) * 3 + sizeof("file:?mode=ro"));
	q = uri + sprintf(uri, "file:");
	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p <= 0x20 ||
		    *p >= 0x7f) {
			*q++ = '%';
			*q++ = hex[*p >> 4];
			*q++ = hex[*p & 0xf];
		} else
			*q++ = (char)*p;
	}
	strcpy(q, "?mode=ro");
	return uri;
}

/* Names node i after its file, or its path if another has that name. */
static void
report_node_name(struct report *r, const char *const *dbs, int ndbs, int i)
{
	char	*copy = xstrdup(dbs[i]), *base, *other;
	int	 j, same = 0;

	base = basename(copy);
	for (j = 0; j < ndbs && !same; j++) {
		if (j == i)
			continue;
		other = xstrdup(dbs[j]);
		same = strcmp(basename(other), base) == 0;
		free(other);
	}
	snprintf(r->nodes[i], sizeof(r->nodes[i]), "%s", same ? dbs[i] : base);
	free(copy);
}

/* Runs one statement of ours; -1 with *cause naming the node. */
static int
report_node_exec(sqlite3 *db, const char *what, char *sql, char **cause)
{
	int	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	sqlite3_free(sql);
	if (rc != SQLITE_OK) {
		*cause = xasprintf("%s: %s", what, sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* Whether node i has table t (a store from before its migration may
 * not: losses). */
static int
report_node_has(sqlite3 *db, int i, const char *t)
{
	sqlite3_stmt	*st;
	char		*sql;
	int		 has = 0;

	sql = sqlite3_mprintf("SELECT 1 FROM n%d.sqlite_master WHERE "
	    "type IN ('table', 'view') AND name = %Q", i, t);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		has = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	sqlite3_free(sql);
	return has;
}

struct sqlite3 *
report_nodes_open(struct report *r, const char *const *dbs, int ndbs,
    char **cause)
{
	struct store	*s;
	sqlite3		*db = NULL;
	char		*uri, *sql, *v;
	size_t		 t;
	int		 i, n;

	if (ndbs > REPORT_NODES_MAX) {
		*cause = xasprintf("--db: at most %d stores", REPORT_NODES_MAX);
		return NULL;
	}
	r->nnodes = ndbs;
	for (i = 0; i < ndbs; i++) {
		/* The checks of a single store: it exists, it is a store of
		 * a version this binary reads. */
		if ((s = store_open(dbs[i], STORE_RDONLY, 1, cause)) == NULL)
			return NULL;
		store_close(s);
		report_node_name(r, dbs, ndbs, i);
	}
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*cause = xasprintf("sqlite: %s", db != NULL ?
		    sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, REPORT_BUSY_MS);
	for (i = 0; i < ndbs; i++) {
		uri = report_node_uri(dbs[i]);
		sql = sqlite3_mprintf("ATTACH %Q AS n%d", uri, i);
		free(uri);
		if (report_node_exec(db, dbs[i], sql, cause) == -1)
			goto fail;
	}
	for (t = 0; t < sizeof(report_node_tables) /
	    sizeof(report_node_tables[0]); t++) {
		v = NULL;
		for (i = n = 0; i < ndbs; i++) {
			if (!report_node_has(db, i, report_node_tables[t].name))
				continue;
			sql = sqlite3_mprintf("%s%sSELECT %Q AS node, %u AS "
			    "nodebit, %s FROM n%d.%s", v != NULL ? v : "",
			    n++ > 0 ? " UNION ALL " : "", r->nodes[i],
			    1U << i, report_node_tables[t].cols, i,
			    report_node_tables[t].name);
			sqlite3_free(v);
			v = sql;
		}
		if (v == NULL)
			continue;	/* none has it: as for one store */
		sql = sqlite3_mprintf("CREATE TEMP VIEW %s AS %s",
		    report_node_tables[t].name, v);
		sqlite3_free(v);
		if (report_node_exec(db, report_node_tables[t].name, sql,
		    cause) == -1)
			goto fail;
	}
	return db;

fail:
	sqlite3_close(db);
	return NULL;
}

static void __attribute__((noreturn))
report_usage(void)
{
	fprintf(stderr, "usage: xmppguard report [--db FILE ...] [-c|--config "
	    "FILE] [--since DUR] [--top N]\n"
	    "                        [--ip ADDR] [--service NAME] [--sort KEY] "
	    "[--section NAME]\n"
	    "                        [--format table|json|csv|html] [--json] "
	    "[-o|--output FILE]\n");
	exit(2);
}

static int
report_lookup(const char *const *names, int n, const char *s)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* Writes the report to path through a temporary file renamed into place,
 * so a web server never serves half a report. */
static int
report_write_file(const struct report *r, enum report_format fmt,
    const char *path, char **cause)
{
	char	*tmp;
	FILE	*f;
	int	 fd, rc = 0;

	tmp = xasprintf("%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		*cause = xasprintf("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	fchmod(fd, 0644);
	if ((f = fdopen(fd, "w")) == NULL) {
		*cause = xasprintf("%s: %s", tmp, strerror(errno));
		close(fd);
		goto fail;
	}
	switch (fmt) {
	case REPORT_FMT_TABLE:
		report_table(f, r);
		break;
	case REPORT_FMT_JSON:
		report_json(f, r);
		break;
	case REPORT_FMT_CSV:
		rc = report_csv(f, r, cause);
		break;
	case REPORT_FMT_HTML:
		report_html(f, r);
		break;
	}
	if (fclose(f) != 0 && rc == 0) {
		*cause = xasprintf("%s: %s", tmp, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, path) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc == -1)
		goto fail;
	free(tmp);
	return 0;

fail:
	unlink(tmp);
	free(tmp);
	return -1;
}

static int
report_write(const struct report *r, enum report_format fmt,
    const char *path, char **cause)
{
	if (path != NULL && strcmp(path, "-") != 0)
		return report_write_file(r, fmt, path, cause);
	switch (fmt) {
	case REPORT_FMT_TABLE:
		report_table(stdout, r);
		break;
	case REPORT_FMT_JSON:
		report_json(stdout, r);
		break;
	case REPORT_FMT_CSV:
		if (report_csv(stdout, r, cause) == -1)
			return -1;
		break;
	case REPORT_FMT_HTML:
		report_html(stdout, r);
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		*cause = xasprintf("stdout: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
report_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "db",		required_argument,	NULL, 'D' },
		{ "since",	required_argument,	NULL, 'S' },
		{ "top",	required_argument,	NULL, 'n' },
		{ "ip",		required_argument,	NULL, 'i' },
		{ "service",	required_argument,	NULL, 's' },
		{ "sort",	required_argument,	NULL, 'k' },
		{ "section",	required_argument,	NULL, 'x' },
		{ "format",	required_argument,	NULL, 'f' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "output",	required_argument,	NULL, 'o' },
		{ NULL,		0,			NULL, 0 }
	};
	struct report		 r;
	struct conf		*conf;
	struct store		*store = NULL;
	sqlite3			*db;
	const char		*dbs[REPORT_NODES_MAX + 1];
	enum report_format	 fmt = REPORT_FMT_TABLE;
	const char		*conf_path = NULL, *output = NULL, *why;
	char			*cause, *end;
	long			 top;
	int			 ch, i, rc, ndbs = 0;

	memset(&r, 0, sizeof(r));
	r.since = 24 * REPORT_HOUR_US;
	r.top = 20;
	while ((ch = getopt_long(argc, argv, "c:o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'D':
			/* One more than the most, for the message. */
			if (ndbs <= REPORT_NODES_MAX)
				dbs[ndbs++] = optarg;
			break;
		case 'S':
			if (conf_parse_duration(optarg, &r.since, &why) == -1 ||
			    r.since <= 0 || r.since > REPORT_SINCE_MAX) {
				fprintf(stderr, "xmppguard: --since %s: %s\n",
				    optarg, r.since <= 0 ? "must be "
				    "positive" : r.since > REPORT_SINCE_MAX ?
				    "at most 3650d" : why);
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			top = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || top < 1 ||
			    top > REPORT_TOP_MAX) {
				fprintf(stderr, "xmppguard: --top %s: a number "
				    "from 1 to %d\n", optarg, REPORT_TOP_MAX);
				return 2;
			}
			r.top = (int)top;
			break;
		case 'i':
			r.ip = optarg;
			break;
		case 's':
			r.service = optarg;
			break;
		case 'k':
			if ((i = report_lookup(report_sort_names,
			    REPORT_SORT_MAX, optarg)) == -1) {
				fprintf(stderr, "xmppguard: --sort %s: one of "
				    "score, conns, peak, short, bytes, auth, "
				    "register, bans, refused\n", optarg);
				return 2;
			}
			r.sort = i;
			break;
		case 'x':
			r.section = optarg;
			break;
		case 'f':
			if ((i = report_lookup(report_format_names, 4,
			    optarg)) == -1) {
				fprintf(stderr, "xmppguard: --format %s: one "
				    "of table, json, csv, html\n", optarg);
				return 2;
			}
			fmt = i;
			break;
		case 'j':
			/* The same as --format json, as every command has. */
			fmt = REPORT_FMT_JSON;
			break;
		case 'o':
			output = optarg;
			break;
		default:
			report_usage();
		}
	}
	if (optind != argc)
		report_usage();
	if ((conf = conf_load_command(conf_path)) == NULL)
		return 1;
	log_init(1, LOG_LEVEL_WARN);
	r.conf = conf;
	r.db = ndbs > 0 ? dbs[0] : conf->db_path;
	r.now = clock_realtime();
	if (ndbs > 1)
		db = report_nodes_open(&r, dbs, ndbs, &cause);
	else if ((store = store_open(r.db, STORE_RDONLY, 1, &cause)) != NULL)
		db = store_db(store);
	else
		db = NULL;
	if (db == NULL) {
		fprintf(stderr, "xmppguard: %s\n", cause);
		free(cause);
		conf_free(conf);
		return 1;
	}
	r.charts = fmt == REPORT_FMT_HTML;
	rc = report_load(&r, db, &cause);
	if (rc == 0)
		rc = report_write(&r, fmt, output, &cause);
	if (rc == -1) {
		fprintf(stderr, "xmppguard: %s\n", cause);
		free(cause);
	}
	report_clear(&r);
	if (store != NULL)
		store_close(store);
	else
		sqlite3_close(db);
	conf_free(conf);
	return rc == 0 ? 0 : 1;
}
