/*
 * The report's data, shared by the module that reads the store (report.c)
 * and the ones that write it out (report_out.c: table, JSON, CSV;
 * report_html.c), and the helpers they share (report_fmt.c).  Everything
 * is bounded: at most top rows per list, REPORT_SERVICES_MAX services,
 * one counter row per hour of the period.
 * Strings from the store (addresses, reasons, users) are copied and
 * length-capped here and escaped by each writer: an address or a reason
 * may have been chosen by an attacker.
 */
#ifndef REPORT_INT_H
#define REPORT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "conf.h"
#include "losses.h"

struct addr;
struct sqlite3;
struct sqlite3_stmt;

#define REPORT_ADDR_MAX		64	/* an address as stored, capped */
#define REPORT_TEXT_MAX		256	/* reasons, users, origins, capped */
#define REPORT_SERVICES_MAX	32	/* more are summed as "other" */
#define REPORT_TOP_MAX		1000	/* --top at most */
#define REPORT_BANS_MAX		200000	/* bans of the period remembered */
#define REPORT_EVENTS_SCAN	100000	/* --ip: newest events examined */
#define REPORT_NEAR		0.7	/* near: this share of a limit */
#define REPORT_HOUR_US		(3600 * CLOCK_US_PER_SEC)
#define REPORT_LOSSES_MAX	64	/* loss counters listed */
#define REPORT_NODES_MAX	10	/* --db given: SQLite attaches 10 */
#define REPORT_NODE_MAX		64	/* a node's name, capped */
#define REPORT_BINS_MAX		200	/* bins of a time chart, at most */
#define REPORT_MARKS_MAX	500	/* verdicts and bans drawn on it */
#define REPORT_CONNS_MAX	150	/* --ip: connections drawn */
#define REPORT_MIN_US		(60 * CLOCK_US_PER_SEC)

enum report_format {
	REPORT_FMT_TABLE,
	REPORT_FMT_JSON,
	REPORT_FMT_CSV,
	REPORT_FMT_HTML
};

/* What the top list is ordered by (--sort). */
enum report_sort {
	REPORT_SORT_SCORE,
	REPORT_SORT_CONNS,
	REPORT_SORT_PEAK,
	REPORT_SORT_SHORT,
	REPORT_SORT_BYTES,
	REPORT_SORT_AUTH,
	REPORT_SORT_REGISTER,
	REPORT_SORT_BANS,
	REPORT_SORT_REFUSED,
	REPORT_SORT_MAX
};

/* Sums over rows of rollups (peak_live is the highest, not a sum). */
struct report_counts {
	uint64_t	 conns;
	uint64_t	 short_lived;
	uint64_t	 halfopen;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 peak_live;
	uint64_t	 verdicts;
	uint64_t	 auth_fail;
	uint64_t	 registered;
	uint64_t	 refused;	/* by the kernel caps */
};

/* The limit an address came closest to (or went furthest past). */
struct report_limit {
	const char	*name;		/* "max_concurrent", "max_new",
					 * "max_fail", "max_register"; NULL:
					 * none applies */
	char		 service[CONF_NAME_MAX];
	uint64_t	 observed;	/* in its busiest hour */
	uint64_t	 limit;		/* the count in force */
	double		 share;		/* observed / limit */
};

/* One address: a row of the top list or of the near list. */
struct report_addr {
	char		 addr[REPORT_ADDR_MAX];
	struct report_counts c;
	uint64_t	 bans;		/* bans covering it that began in the
					 * period */
	struct report_limit lim;
	double		 score;
	uint32_t	 nodes;		/* bit i: report.nodes[i] saw it */
};

struct report_service {
	char		 name[CONF_NAME_MAX];
	struct report_counts c;
	uint64_t	 addresses;
	uint32_t	 nodes;		/* bit i: report.nodes[i] saw it */
};

/* One hour of the period, all addresses (or the --ip address). */
struct report_hour {
	uint64_t	 conns;
	uint64_t	 halfopen;
	uint64_t	 auth_fail;
	uint64_t	 registered;
	uint64_t	 verdicts;
	uint64_t	 bans;		/* bans that began in it */
	uint64_t	 refused;	/* by the kernel caps */
};

struct report_ban {
	int64_t		 since;
	int64_t		 expires;	/* 0: until lifted */
	int64_t		 lifted;	/* 0: not lifted */
	char		 addr[REPORT_ADDR_MAX];
	int		 prefixlen;
	char		 rule[16];
	char		 reason[REPORT_TEXT_MAX];
	int64_t		 count;
	int		 throttled;
	char		 node[REPORT_NODE_MAX];	/* "" for one store */
};

/* --ip: one row of rollups. */
struct report_tl {
	int64_t		 hour;
	char		 service[CONF_NAME_MAX];
	struct report_counts c;
	char		 node[REPORT_NODE_MAX];	/* "" for one store */
};

struct report_verdict {
	int64_t		 time;
	char		 addr[REPORT_ADDR_MAX];
	int		 prefixlen;
	char		 rule[16];
	char		 service[CONF_NAME_MAX];
	uint64_t	 observed;
	uint64_t	 limit;
	int		 allowlisted;
	int		 held;
	char		 reason[REPORT_TEXT_MAX];
	char		 node[REPORT_NODE_MAX];	/* "" for one store */
};

struct report_event {
	int64_t		 time;
	char		 kind[24];
	char		 service[CONF_NAME_MAX];
	char		 source[16];
	char		 origin[CONF_NAME_MAX];
	char		 user[REPORT_TEXT_MAX];
	char		 node[REPORT_NODE_MAX];	/* "" for one store */
};

/* The time charts: n bins of step us from t0, over the span that holds
 * data.  Bins under an hour are counted from the conns table (one row per
 * connection that completed its handshake), hours and more from the
 * hourly rollups. */
struct report_bins {
	int64_t		 t0;
	int64_t		 step;
	int		 n;
	int		 fine;		/* counted from conns rows */
	uint64_t	 conns[REPORT_BINS_MAX];
	uint64_t	 bans[REPORT_BINS_MAX];	/* bans that began in it */
};

/* A verdict or a ban drawn on the connections chart. */
struct report_mark {
	int64_t		 time;
	int64_t		 until;		/* a ban's end (0: none known) */
	int		 ban;		/* 1: a ban, 0: a verdict */
	char		 addr[REPORT_ADDR_MAX];
	int		 prefixlen;
	char		 rule[16];
};

/* --ip: one connection, from the conns table. */
struct report_conn {
	int64_t		 opened;	/* the period's start if unknown */
	int64_t		 closed;	/* its end if no FIN/RST was seen */
	uint64_t	 bytes;		/* both ways */
	char		 service[CONF_NAME_MAX];
	char		 node[REPORT_NODE_MAX];	/* "" for one store */
};

struct report {
	/* What was asked. */
	const char	*db;		/* the first store (error messages) */
	/* With several stores (--db more than once), one name per node, in
	 * the order given: rows say which saw them.  nnodes is 0 or 1 for
	 * one store, and the output is then as it always was. */
	char		 nodes[REPORT_NODES_MAX][REPORT_NODE_MAX];
	int		 nnodes;
	int64_t		 now;		/* us since epoch */
	int64_t		 since;		/* the period's length, us */
	int64_t		 from;		/* start of its first hour */
	int		 top;
	enum report_sort sort;
	const char	*service;	/* NULL: all */
	const char	*ip;		/* --ip as given; NULL: the overview */
	char		 ipn[REPORT_ADDR_MAX]; /* ... as the store writes it */
	const char	*section;	/* CSV: which table; NULL: default */
	int		 charts;	/* load what the charts draw (HTML) */
	uint32_t	 groups_max;	/* (address, service) pairs summed in
					 * memory; 0: REPORT_GROUPS_MAX */
	const struct conf *conf;

	/* The overview. */
	struct report_counts total;
	uint64_t	 addresses;
	uint64_t	 nbans_total;	/* bans that began in the period */
	uint64_t	 nverdicts_total;
	struct report_service services[REPORT_SERVICES_MAX];
	int		 nservices;
	struct report_hour *hours;	/* nhours, the first at from */
	int		 nhours;
	struct report_addr *tops;	/* best first */
	int		 ntops;
	struct report_addr *near;	/* highest share first */
	int		 nnear;
	struct report_ban *bans;	/* newest first, at most top */
	int		 nbans;
	/* What the daemon lost in the period (losses.c), by counter. */
	struct losses_row losses[REPORT_LOSSES_MAX];
	int		 nlosses;

	/* --ip. */
	struct report_tl *tl;		/* by hour */
	int		 ntl;
	struct report_verdict *verdicts;	/* newest first */
	int		 nverdicts;
	struct report_event *events;	/* newest first */
	int		 nevents;
	struct report_conn *conns;	/* newest first, at most
					 * REPORT_CONNS_MAX */
	int		 nconns;
	uint64_t	 nconns_total;	/* of the address, in the rows seen */

	/* The charts (both). */
	struct report_bins bins;
	struct report_mark *marks;	/* oldest first */
	int		 nmarks;
	uint64_t	 nmarks_total;	/* in the span, drawn or not */
};

/*
 * The files depend on each other one way: report.c (the command and the
 * queries) -> report_rank.c (the ranking), and report.c -> the writers
 * (report_out.c, report_html.c); all of them -> report_fmt.c.  Nothing
 * calls back into report.c, and no writer calls another.
 */

/* report_cmd.c: the subcommand; with several stores, opens an in-memory
 * database with each attached read-only and, in it, views of the same
 * names as the store's tables, unions of every node's rows with their
 * node's name and bit (report_nodes_open). */
struct sqlite3 *report_nodes_open(struct report *, const char *const *dbs,
	    int ndbs, char **cause);

/* report.c: fills r from the open database (a read transaction of its
 * own).  0, or -1 with *cause set. */
int	 report_load(struct report *, struct sqlite3 *, char **cause);
/* report_span.c, from report_load(), in its transaction: the charts'
 * span, bins and marks, and for --ip (ip non-NULL) its connections.
 * node is the column naming a row's node (or a constant).  0, or -1 with
 * *cause set. */
int	 report_span_load(struct report *, struct sqlite3 *,
	    const struct addr *ip, const char *node, char **cause);
/* The bin width, from 1m to 1d (then whole days), that cuts [t0, t1)
 * into at most REPORT_BINS_MAX bins aligned to it. */
int64_t	 report_bin_step(int64_t t0, int64_t t1);
/* Prepares the query fmt (printf-like); 0, or -1 (sqlite3_errmsg()). */
int	 report_sql_prepare(struct sqlite3 *, struct sqlite3_stmt **,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Frees what report_load allocated. */
void	 report_clear(struct report *);

/* report_rank.c: keeps in *lim the limit of a on service that the
 * busiest hours seen came closest to (or went furthest past). */
void	 report_limits(const struct report *, const struct addr *a,
	    const char *service, uint64_t max_conns, uint64_t peak,
	    uint64_t max_auth, uint64_t max_reg, struct report_limit *lim);
/* Scores a (its counts, limit and bans filled in) and keeps it in
 * r->tops and r->near if it ranks among the first r->top. */
void	 report_rank_add(struct report *, struct report_addr *a);
/* Sorts both lists best first, once every address is in. */
void	 report_rank_end(struct report *);

/* The writers (report_out.c, report_html.c).  0, or -1 with *cause set
 * (an unknown CSV section). */
void	 report_table(FILE *, const struct report *);
void	 report_json(FILE *, const struct report *);
int	 report_csv(FILE *, const struct report *, char **cause);
void	 report_html(FILE *, const struct report *);

/* report_html.c: s with the HTML specials escaped, control bytes '?'. */
void	 report_html_text(FILE *, const char *s);
/* report_chart.c, for report_html.c: a time chart of r->bins (which: 0
 * new connections with the verdicts and bans marked, 1 bans), and the
 * --ip timeline (a bar per connection, failed logins, verdicts, bans). */
void	 report_chart_time(FILE *, const struct report *, int which);
void	 report_chart_ip(FILE *, const struct report *);

/* report_fmt.c, shared by all of them. */
/* Names: "score", "conns", ... */
extern const char *const report_sort_names[REPORT_SORT_MAX];
/* short_lived / conns, 0 for none. */
double	 report_short_share(const struct report_counts *);
/* "1234" -> "1.2k", "12345678" -> "12M"; buf of 16 bytes. */
char	*report_human(uint64_t, char *buf, size_t size);
/* The same for bytes: "3.4 MB" (powers of 1000). */
char	*report_human_bytes(uint64_t, char *buf, size_t size);
/* The names of the nodes in mask, comma-separated: "a.db,b.db". */
char	*report_node_names(const struct report *, uint32_t mask, char *buf,
	    size_t size);
/* "2026-11-29 07:00" (UTC); buf of 24 bytes. */
char	*report_fmt_time(int64_t t, char *buf, size_t size);

#endif /* REPORT_INT_H */
