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
#include "htab.h"
#include "logtime.h"

#define FILTER_ERRORS_MAX	50	/* a load reports no more */

enum filter_field {
	FILTER_F_IP,
	FILTER_F_USER,
	FILTER_F_HOST,
	FILTER_F_KEY,
	FILTER_F_TIME,
	FILTER_F_PORT,
	FILTER_F_MECH,
	FILTER_F_MAX
};

#define FILTER_FOLD_MAX		8	/* lines (mechanisms) per attempt */

enum filter_join {
	FILTER_JOIN_NONE,
	FILTER_JOIN_SET,
	FILTER_JOIN_GET,
	FILTER_JOIN_CLEAR,
	FILTER_JOIN_CHECK	/* get, and a line's own address must agree */
};

/* A join or dedup entry; the table keys it by h alone (filter.c). */
struct filter_tab_entry {
	uint64_t	 h;		/* keyed hash of the key text */
	int64_t		 t;		/* last write */
	union {
		struct addr	 addr;	/* join: the address */
		struct {		/* dedup, fold: the attempt so far */
			uint32_t mech[FILTER_FOLD_MAX];	/* hashes; 0: none */
			uint8_t	 n;	/* lines folded, first included */
		} fold;
	} u;
};

struct filter_tab {
	struct htab	 tab;		/* one list, in order of last write */
	struct filter_tab_entry *e;	/* indexed as tab */
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

/*
 * filter_scan()'s one pass over a buffer: AVX2 or SSE2 (or a byte table)
 * finds the newlines and the key byte of every literal at once (the first
 * of its rarest pair, filter_scan.c), and memcmp(3)
 * confirms each literal there, so each line comes with a bitmask of the
 * distinct literals (prefilter and patterns) it holds.  Built by
 * filter_scan_setup(); off (on = 0) where the literals do not fit it.
 */
#define FILTER_MSCAN_LITS	64	/* bits of a line's mask */
#define FILTER_MSCAN_BYTES	12	/* distinct key bytes compared */

struct filter_mscan {
	int		 on;
	int		 avx2;		/* the CPU has it: 32-byte blocks */
	size_t		 nlit;
	const struct filter_lit *lit[FILTER_MSCAN_LITS];
	uint8_t		 off[FILTER_MSCAN_LITS];	/* of its key byte */
	size_t		 nbyte;
	unsigned char	 byte[FILTER_MSCAN_BYTES];
	uint64_t	 bytelits[FILTER_MSCAN_BYTES];	/* lits rare there */
	uint8_t		 slot[256];	/* byte -> 1 + index into byte[] */
	/* AVX2: the key byte and the one after it, by nibbles (buckets of
	 * literals: bit (slot - 1) % 8), as filter_mscan_avx2() looks them
	 * up. */
	uint8_t		 nib[4][16];
	uint64_t	 scanmask;	/* f->scan's literals; 0: no skipping */
	uint64_t	 premask;	/* the prefilter's literals */
};

struct filter_pattern {
	char		*name;
	int		 line;		/* of the [pattern] header */
	int		 kind_set;
	char		*literal;
	struct filter_lit lit;
	uint64_t	 litbit;	/* lit's bit in a filter_mscan mask */
	char		*regex;
	int		 regex_line;
	pcre2_code	*re;
	enum filter_join join;
	unsigned int	 once;		/* 1 << FILTER_F_* */
	unsigned int	 fold;		/* 1 << FILTER_F_*, mech included */
	unsigned int	 fold_max;	/* lines per attempt; 0: unset */
	char		*refuse;	/* regex of forged lines, or NULL */
	int		 refuse_line;
	pcre2_code	*refuse_re;
	int		 refuse_jit;
	int		 carry;		/* carry = time */
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
	struct filter_mscan ms;		/* filter_scan()'s single pass */
	int		 restricted;	/* filter_restrict() in force */
	const char	*scan_base;	/* filter_scan()'s buffer while it
					 * runs, for filter_lookback() */
	uintptr_t	 scan_buf;	/* filter_scan_at()'s copy, or 0 */
	size_t		 scan_len;
	const char	*scan_at;	/* where the copy's bytes lie */
	int64_t		 scan_now;	/* filter_scan()'s 'now' */
	int64_t		 carry_time;	/* of the last carry = time line */
	uint64_t	 carry_line;	/* its st.lines */
	int		 carry_ok;	/* carry_line and _time hold one */
	const char	*scan_fed;	/* restricted: join lines read up to */
	size_t		 scan_budget;	/* restricted: look-back bytes left */
	int		 scan_fed_any;	/* restricted: this scan fed joins */
	const char	*lb_from;	/* filter_set_lookback(); NULL: off */
	int64_t		 lb_until;
	size_t		 lb_budget;	/* bytes the walks may still read */
	int		 lb_building;	/* filter_lb_build() runs */
	char		**sample;
	int		*sample_pat;	/* pattern index, -1: [filter] */
	size_t		 nsample;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	pcre2_match_data *rmd;		/* refuse regexes' own, so a pattern's
					 * groups survive them */
	struct filter_tab join;
	struct filter_tab dedup;
	struct filter_stats st;
	struct filter_tab_entry *join_e; /* filter_join_again()'s entry, */
	int		 join_known;	/* if it answered the last join */
	/* --kind over a file only: after the fields of every line. */
	const char	*file;		/* filter_set_file(), or NULL */
	int		 file_fd;	/* the same file, or -1 */
	char		*file_win;	/* its look-back window, or NULL */
	const char	*file_fed;	/* restricted, file: scan_fed in the
					 * file, kept from buffer to buffer */
};

/* filter.c: the join and dedup tables, empty, and back. */
void	 filter_tables_init(struct filter *, uint32_t join_cap,
	    int64_t join_ttl, uint32_t dedup_cap, int64_t dedup_window);
void	 filter_tables_clear(struct filter *);
/* filter.c: chooses the literals filter_scan() looks for. */
void	 filter_scan_setup(struct filter *);
/* filter_scan.c: builds f->ms from f's literals and f->scan. */
void	 filter_mscan_setup(struct filter *);
/* filter_scan.c: the end of the line starting at ls (its newline, or
 * end), with in *mask the bits of m's literals it holds. */
const char *filter_mscan_line(const struct filter_mscan *, const char *ls,
	    const char *end, uint64_t *mask);

#endif /* FILTER_INT_H */
