/*
 * Metrics in the Prometheus text exposition format (version 0.0.4), for a
 * node_exporter textfile collector (a file rewritten atomically every
 * interval) and for a small HTTP endpoint on the daemon's loop.
 *
 * What the metrics say is the caller's business: it writes them with the
 * metrics_*() calls below from a metrics_collect_cb, once per scrape or
 * file write, so the numbers are always read fresh from the modules'
 * counters and nothing here keeps state of its own between two scrapes.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>
#include <stdio.h>

struct loop;

#define METRICS_CLIENTS_MAX	8	/* scrapes served at once */
#define METRICS_REQUEST_MAX	2048	/* bytes of request head read */
#define METRICS_REQUEST_MS	2000	/* to send the request head */
#define METRICS_TIMEOUT_MS	5000	/* to send the request and read */

/* One exposition being written.  A family's HELP and TYPE lines are
 * written before its first sample; samples of one family must follow each
 * other, as the format requires. */
enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE
};

/* A reader of the samples instead of the text (losses.c keeps counters
 * from them): called once per sample, labels NULL when absent. */
typedef void	(*metrics_sink_cb)(void *arg, enum metrics_type,
		    const char *name, const char *label, const char *value,
		    const char *label2, const char *value2, double v);

struct metrics {
	FILE		*fp;
	char		 family[96];	/* the family written last */
	metrics_sink_cb	 sink;		/* non-NULL: samples go there, not
					 * to fp */
	void		*sink_arg;
};

/* Writes the exposition into m (the caller's stream). */
typedef void	(*metrics_collect_cb)(struct metrics *m, void *arg);

/*
 * A sample of family name: labels is NULL or "key", with value its value
 * (escaped here: attacker-influenced text such as a log name is safe); a
 * second label pair may follow in label2/value2 (NULL: none).
 */
void		 metrics_sample(struct metrics *, enum metrics_type,
		    const char *name, const char *help, const char *label,
		    const char *value, const char *label2,
		    const char *value2, double v);
/* The common cases: one unlabelled counter or gauge. */
void		 metrics_counter(struct metrics *, const char *name,
		    const char *help, uint64_t v);
void		 metrics_gauge(struct metrics *, const char *name,
		    const char *help, double v);

/* The whole exposition as a string (caller frees); NULL if out of
 * memory. */
char		*metrics_render(metrics_collect_cb, void *arg, size_t *lenp);

/*
 * Writes the exposition to path atomically (a temporary file in the same
 * directory, then rename), so a collector never reads half a file.  0, or
 * -1 with *cause (caller frees).
 */
int		 metrics_write_file(const char *path, metrics_collect_cb,
		    void *arg, char **cause);

/*
 * An HTTP endpoint at addr (an IPv4 or IPv6 literal) and port, answering
 * GET /metrics (and GET /) with the exposition, anything else with 404 or
 * 405.  Nothing blocks: a client gets METRICS_REQUEST_MS to send its
 * request and METRICS_TIMEOUT_MS in all to read the answer; at most
 * METRICS_CLIENTS_MAX are served at once, and when all are taken a new
 * one takes the slot of the one silent longest.  NULL with *cause (caller
 * frees).
 */
struct metrics_server;

struct metrics_server_stats {
	uint64_t	 scrapes;	/* answered with 200 */
	uint64_t	 refused;	/* closed: too many clients (the new
					 * one, or the one silent longest) */
	uint64_t	 bad;		/* bad requests, timeouts, 404s */
};

struct metrics_server *metrics_server_open(struct loop *, const char *addr,
		    uint16_t port, metrics_collect_cb, void *arg,
		    char **cause);
void		 metrics_server_close(struct metrics_server *);
/* The port bound (port 0 at open: one the kernel chose). */
uint16_t	 metrics_server_port(const struct metrics_server *);
void		 metrics_server_get_stats(const struct metrics_server *,
		    struct metrics_server_stats *);

/* What a request head asks the endpoint for. */
enum metrics_req {
	METRICS_REQ_MORE,	/* no blank line yet: read on */
	METRICS_REQ_OK,		/* GET or HEAD of /metrics or / (a query is
				 * ignored) */
	METRICS_REQ_NOT_FOUND,	/* GET or HEAD of another path */
	METRICS_REQ_BAD_METHOD	/* anything else */
};

/*
 * Parses the len bytes of buf received so far (no NUL needed; the head
 * ends at a NUL if it holds one); *head is 1 for HEAD.  Pure: no state,
 * no allocation, reads nothing past buf + len.
 */
enum metrics_req metrics_request_parse(const char *buf, size_t len,
		    int *head);

/* "127.0.0.1:9469", "[::1]:9469": 0 and the parts, or -1. */
int		 metrics_parse_listen(const char *s, char *addr, size_t size,
		    uint16_t *port);

#endif /* METRICS_H */
