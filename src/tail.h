/*
 * Following a log file on the event loop, through rotations and restarts,
 * one complete line at a time.
 */
#ifndef TAIL_H
#define TAIL_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct siphash_key;
struct tail;

#define TAIL_HEAD_MAX		64	/* bytes of a file's start hashed */
#define TAIL_POS_STRLEN		256	/* enough for tail_pos_format() */

/*
 * Where a tail stands in which file: the caller persists it and hands it
 * back to tail_open() after a restart.  A file is known by its inode and a
 * keyed hash of its first bytes (inodes are reused as soon as a file is
 * deleted).  The bytes themselves are never kept: the file may not be the
 * caller's to read.
 */
struct tail_pos {
	uint64_t	 dev;		/* st_dev of the file */
	uint64_t	 ino;		/* st_ino of the file */
	uint64_t	 offset;	/* bytes consumed, at a line end */
	uint64_t	 hash;		/* SipHash of the first headlen bytes
					 * under the tail's key; 0 if none */
	size_t		 headlen;	/* min(offset, 64); 0: no hash known */
};

/* Counters for `xmppguard status`. */
struct tail_stats {
	uint64_t	 lines;		/* lines passed to the callback */
	uint64_t	 bytes;		/* bytes read from files */
	uint64_t	 toolong;	/* lines over maxline, skipped */
	uint64_t	 truncations;	/* file shrank under us (copytruncate) */
	uint64_t	 rotations;	/* switched to a new file at the path */
	uint64_t	 reopen_errors;	/* the path exists but open or read
					 * failed (retried on the safety timer) */
	uint64_t	 refused;	/* files refused at the path: a link,
					 * another user's, hard-linked */
	uint64_t	 lost_truncated;  /* bytes not read before a
					  * truncation in place */
	uint64_t	 lost_compressed; /* bytes of generations compressed
					  * before they were read */
};

/*
 * One complete line, without its newline.  It may hold NUL bytes and
 * invalid UTF-8: use len.  line is only valid during the call, and the
 * callback must not close its own tail.
 */
typedef void	(*tail_line_cb)(const char *line, size_t len, void *arg);

/*
 * Follows path.  With saved describing the same file (inode and the hash
 * of its first bytes under key, which must be the key saved was made
 * with), reading resumes at saved->offset, also when that file has been
 * rotated to another name since (then the newer generations follow); with
 * saved describing another file, the file at path is read from its start;
 * with saved NULL, from its end (only new lines).  A missing file (or
 * directory) is waited for.  Rotations are followed without a gap (see
 * tail.c); what cannot be read is counted in tail_stats' lost_ fields.
 *
 * A path that is a symbolic link now is the operator's: it is resolved
 * here, once, and the file it names is followed.  Whatever appears at
 * that name later is opened without following a link, and refused
 * (logged, counted, the name watched for a proper file) if it is a link,
 * has other hard links, or is owned by neither root nor the owner of its
 * directory.  Lines longer than maxline bytes are counted and skipped.
 * NULL with *cause set (caller frees) if inotify or the loop cannot be
 * had.
 */
struct tail	*tail_open(struct loop *, const char *path,
		     const struct tail_pos *saved,
		     const struct siphash_key *key, size_t maxline,
		     tail_line_cb, void *arg, char **cause);
/* Stops following and frees; a partial last line is dropped.  NULL is a
 * no-op. */
void		 tail_close(struct tail *);

/* The position to persist: the file in use and the end of its last
 * complete line.  All zero while no file is open. */
void		 tail_get_pos(const struct tail *, struct tail_pos *);
void		 tail_get_stats(const struct tail *, struct tail_stats *);
const char	*tail_path(const struct tail *);

/* Writes pos as one line of text (no newline) into buf; returns buf. */
char		*tail_pos_format(const struct tail_pos *, char *buf,
		     size_t size);
/* Parses what tail_pos_format() wrote; 0, or -1 if it is malformed. */
int		 tail_pos_parse(const char *, struct tail_pos *);

#endif /* TAIL_H */
