/*
 * Filters, internal: the compiled filter shared by the loader
 * (filter_load.c, which reads a filter file into it) and the matcher
 * (filter.c, which runs lines through it and owns its tables).
 */
#ifndef FILTER_INT_H
#define FILTER_INT_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "filter.h"
#include "logtime.h"

#define FILTER_US		INT64_C(1000000)
#define FILTER_ERRORS_MAX	50	/* a load reports no more */

enum filter_field {
	FILTER_F_IP,
	FILTER_F_USER,
	FILTER_F_HOST,
	FILTER_F_KEY,
	FILTER_F_TIME,
	FILTER_F_PORT,
	FILTER_F_MAX
};

enum filter_join {
	FILTER_JOIN_NONE,
	FILTER_JOIN_SET,
	FILTER_JOIN_GET,
	FILTER_JOIN_CLEAR
};

struct ftab_entry {
	uint64_t	 h;
	struct addr	 addr;
	int64_t		 t;		/* last write */
	uint32_t	 chain;		/* next in bucket, or FTAB_NIL */
	uint32_t	 older, newer;	/* age list, or free list (newer) */
};

#define FTAB_NIL	UINT32_MAX

struct ftab {
	struct ftab_entry *e;
	uint32_t	*bucket;
	uint32_t	 cap, mask;
	uint32_t	 oldest, newest, free;
	int64_t		 ttl;
	uint64_t	*evictions;
};

/*
 * A literal to look for: memchr(3) for its rarest byte (by a fixed table
 * of how common each byte is in log text), then memcmp(3) around it.
 * memchr runs at memory speed, and a rare byte stops it seldom, so this
 * beats memmem(3) by far on the short needles and lines of a log.
 */
struct filter_lit {
	const char	*s;
	size_t		 len;
	size_t		 rare;		/* index of the rarest byte */
};

struct filter_pattern {
	char		*name;
	int		 line;		/* of the [pattern] header */
	int		 kind_set;
	char		*literal;
	struct filter_lit lit;
	char		*regex;
	int		 regex_line;
	pcre2_code	*re;
	enum filter_join join;
	unsigned int	 once;		/* 1 << FILTER_F_* */
	int		 grp[FILTER_F_MAX];	/* group number, 0: none */
	int		 jit;		/* compiled to machine code */
	int		 off;		/* filter_restrict(): not tried */
	int		 quiet;		/* filter_restrict(): joins only */
	struct filter_pattern_stats st;
};

struct filter {
	char		*name;
	int		 has_time;	/* 0: arrival time */
	struct logtime	 time;
	int		 utc;
	char		**prefilter;
	struct filter_lit *prefilter_lit;
	size_t		 nprefilter;
	uint8_t		 rank[256];	/* how common each byte is */
	struct filter_pattern *pat;
	size_t		 npat;
	const struct filter_lit **scan;	/* filter_scan() literals, or NULL */
	size_t		 nscan;
	int		 restricted;	/* filter_restrict() in force */
	const char	*scan_base;	/* filter_scan()'s buffer while it
					 * runs, for filter_lookback() */
	const char	*lb_base;	/* filter_set_lookback() */
	int64_t		 lb_until;
	char		**sample;
	int		*sample_pat;	/* pattern index, -1: [filter] */
	size_t		 nsample;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	struct ftab	 join;
	struct ftab	 dedup;
	uint8_t		 seed[16];
	struct filter_stats st;
};

/* filter.c: the join and dedup tables and the hash key, empty, and back. */
void	 filter_tables_init(struct filter *, uint32_t join_cap,
	    int64_t join_ttl, uint32_t dedup_cap, int64_t dedup_window);
void	 filter_tables_clear(struct filter *);
/* filter.c: chooses the literals filter_scan() looks for. */
void	 filter_scan_setup(struct filter *);

#endif /* FILTER_INT_H */
