/*
 * Internals of the tailer, shared by its files and by nothing else:
 * tail.c (opening, reading, the loop's callbacks, positions) and
 * tail_gen.c (the rotated generations: the file after the one left, the
 * lost bytes of a truncation, the resume of a file rotated while we were
 * down).  Other modules include tail.h only.
 */
#ifndef TAIL_INT_H
#define TAIL_INT_H

#include <sys/inotify.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "loop.h"
#include "siphash.h"
#include "tail.h"

#define TAIL_CHUNK	(64 * 1024)	/* one pread() */
#define TAIL_LINKS_MAX	40		/* links resolved, as the kernel */
#define TAIL_SLICE	(1024 * 1024)	/* bytes read per loop wake-up */
#define TAIL_BUDGET_LINES 64		/* lines between looks at the clock */
#define TAIL_GENS_MAX	128		/* rotated generations looked at */
#define TAIL_DIRENTS_MAX 65536		/* directory entries read for them */

#define TAIL_DIR_EVENTS	(IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | \
			    IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)
#define TAIL_FILE_EVENTS (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | \
			    IN_MOVE_SELF | IN_CLOSE_WRITE)

#define TAIL_GZIP	2	/* compressed: what tail_zext[0] gives */

/*
 * A rotated generation of the log, a file in its directory named like it
 * plus a separator and a suffix that starts with a digit: x.log.1,
 * x.log.2.gz, x.log-20261207.  Or, with name NULL, the file just left when
 * it is found under no such name: placed by its time of last write alone.
 */
struct tail_gen {
	char		*name;
	uint64_t	 dev;
	uint64_t	 ino;
	uint64_t	 size;
	int64_t		 mtime;		/* ns */
	const char	*key;		/* the suffix without its compression
					 * extension, in name; NULL: none */
	size_t		 keylen;
	int		 numbered;	/* .N: the larger the older */
	uint64_t	 num;
	int		 compressed;	/* 0, 1, or TAIL_GZIP */
	int		 done;		/* taken, in tail_next() */
};

struct tail {
	struct loop		*loop;
	char			*path;		/* as configured */
	char			*file;		/* what it led to at the open */
	char			*dir;		/* of file */
	char			*base;
	struct siphash_key	 key;		/* of the head hash */
	tail_line_cb		 cb;
	void			*arg;

	int			 ifd;		/* inotify */
	int			 wdir;		/* watch on dir, or -1 */
	int			 wfile;		/* watch on the open file, or -1 */
	struct loop_timer	*safety;
	int			 safety_slow;	/* at TAIL_SAFETY_SLOW_MS */
	struct loop_timer	*more;		/* continuation, or NULL */
	struct loop_budget	 budget;	/* of this wake-up */
	int			 check_path;	/* stat the path after reading */
	struct loop_timer	*grace;		/* a rotated file's next look */

	int			 fd;		/* open file, or -1 */
	uint64_t		 dev;
	uint64_t		 ino;
	uint64_t		 offset;
	uint8_t			 head[TAIL_HEAD_MAX];
	size_t			 headlen;
	uint64_t		 seen;		/* its largest size seen */
	int64_t			 rotated_us;	/* realtime it was first seen
						 * away from the name; 0: at
						 * it */
	int			 moved;		/* inotify: renamed, deleted */
	int			 closed;	/* a writer closed it since */

	char			*line;		/* unfinished line */
	uint64_t		 linestart;	/* its offset in the file */
	size_t			 linelen;
	size_t			 maxline;
	int			 skipping;	/* inside an over-long line */

	char			*chunk;		/* TAIL_CHUNK read buffer */
	int			 missing_logged;
	uint64_t		 refused_dev;	/* the last file refused */
	uint64_t		 refused_ino;
	int64_t			 refused_ctime;	/* ns: inodes are reused */
	struct log_ratelimit	 errlimit;
	struct log_ratelimit	 refuselimit;
	struct log_ratelimit	 lostlimit;
	struct tail_stats	 stats;
};

/* tail.c */

/* Forgets the unfinished line (the file it came from is gone). */
void
tail_reset_line(struct tail *t);

/* Reads the first bytes of the open file into head, up to offset. */
void
tail_read_head(struct tail *t);

/* Closes the open file, its watch and its grace timer, and forgets its
 * unfinished line. */
void
tail_close_file(struct tail *t);

/* Why the open file st must not be read, or NULL if it may be.  why is
 * the caller's buffer for the message. */
const char *
tail_refusal(const struct tail *t, const struct stat *st, char *why,
    size_t size);

/* Opens name, never through a link, as the open file; 0, or -1 (errno
 * ENOENT: none, EPERM: refused). */
int
tail_open_file(struct tail *t, const char *name, struct stat *st);

/* tail_gen.c */

/* The open file, rotated away, was done: opens the next one to read.  1
 * if a file was opened, 0 if none could be. */
int
tail_next(struct tail *t, const struct tail_gen *left, int64_t rotated);

/* The open file was truncated in place: start it over, counting the lost
 * bytes. */
void
tail_truncated(struct tail *t);

/* Calls tail_truncated() if the open file's first bytes changed. */
void
tail_check_head(struct tail *t);

/* 1 if the open file starts with the bytes whose hash was saved. */
int
tail_same_head(struct tail *t, const struct tail_pos *saved);

/* At start, the saved file found rotated among the generations and
 * opened at its offset: 1, or 0. */
int
tail_resume(struct tail *t, const struct tail_pos *saved);

#endif /* TAIL_INT_H */
