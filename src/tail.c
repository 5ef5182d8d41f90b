/*
 * The tailer: follows one log file by name, on the event loop.
 *
 * Each tail owns an inotify instance (one fd per tail: simple, and the
 * kernel's default limit of 128 instances per user is far above the number
 * of logs a guard reads) watching two things: the inode of the open file
 * (IN_MODIFY: data to read) and the directory (entries named like the file
 * being created, moved or deleted: a rotation).  A slow safety timer
 * re-checks everything, for filesystems where inotify is blind (NFS, FUSE)
 * and for a directory that does not exist yet.
 *
 * Reading uses pread() at `offset`, which always sits at the end of the
 * last byte consumed; bytes of an unfinished line are held in `line` (at
 * most maxline of them), and a line found to be longer than maxline puts
 * the tail in `skipping` mode until the next newline, so sync is never
 * lost.  One wake-up reads at most TAIL_SLICE bytes, and stops after a
 * line once it has taken LOOP_BUDGET_US (the lines' consumers, the
 * filters, cost far more than the reading); if more remains a 0 ms timer
 * continues, so a huge backlog shares the loop with everything else, and
 * what is left is read without waiting for another inotify event.
 *
 * Rotation: the path is only looked at (stat) when the directory says the
 * name changed, on the safety timer, or while no file is open.  When it
 * names another inode, the open file is read on, however it is renamed
 * meanwhile, until it is done: its writer closed it after the rename, or
 * it has not grown for tail_grace_ms since we saw it go (a server writes to
 * its old file until it reopens the name).  Then its unfinished last line
 * is passed on as a line, and the next file is read from offset 0: the
 * oldest rotated generation newer than the one left (x.log.1 after
 * x.log.2, dates in order; the loop may have been away for several
 * rotations), found in the directory by inode (tail_next), or else the file
 * at the name.  A generation compressed before it was read cannot be: its
 * size is counted as lost.  A file that shrank below offset, or whose
 * first bytes changed, was truncated in place (copytruncate): it is read
 * again from 0, and what it held beyond our offset (as far as we saw it
 * grow, or as far as the copy beside it goes) is counted as lost.
 *
 * Start: a file matching the saved position (inode and the keyed hash of
 * its first bytes) resumes at its offset, also when it was rotated while
 * we were down (then the newer generations follow), any other file at the
 * path is
 * read from 0, and without a saved position from the start of its last
 * (unfinished) line.  The first read is deferred to the loop, so no line
 * is passed inside tail_open().  Positions leave here with the hash of
 * the head only: the bytes stay in memory, where they catch truncation.
 *
 * Hostile directories.  The server's user usually owns the log directory
 * and may put anything at the log's name: a link to /etc/shadow, a file
 * of someone else's.  So the name is opened with O_NOFOLLOW, and a link,
 * a file with other hard links (one to a file the server could not read)
 * or a file owned by neither root nor the directory's owner is refused:
 * counted once per inode, logged, and the name watched until a proper
 * file takes its place.  A path that is a link when the tail opens was
 * written by the operator: it is resolved then (`file`), and the rules
 * apply to the name it leads to.
 *
 * Invariants: fd >= 0 iff a file is open, and then dev/ino are its
 * identity and head holds its first min(offset, TAIL_HEAD_MAX) bytes;
 * linelen <= maxline; skipping implies linelen == 0.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "siphash.h"
#include "tail.h"
#include "xmalloc.h"

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

/* Not const: the tests shorten them rather than wait. */
static int64_t	tail_safety_ms = 5000;
static int64_t	tail_grace_ms = 2000;	/* a rotated file's quiet, to be done */

/* Extensions of compressed generations: not read, counted as lost. */
static const char *const tail_zext[] = {
	".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".lzo", ".lz", ".Z",
	".br", ".zip", NULL
};
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

static void	tail_run(struct tail *);

static void
tail_emit(struct tail *t, const char *p, size_t len)
{
	t->stats.lines++;
	t->cb(p, len, t->arg);
}

/*
 * Splits a chunk read at offset base into lines; the rest waits in
 * t->line.  Returns how much of it was taken: all of it, or less when the
 * wake-up's budget ran out, just after a line (so nothing is held).
 */
static size_t
tail_feed(struct tail *t, const char *p, size_t len, uint64_t base)
{
	const char	*start = p, *nl;
	size_t		 n;
	int		 emitted = 0;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) : len;
		if (t->skipping) {
			if (nl != NULL)
				t->skipping = 0;
		} else if (n > t->maxline - t->linelen) {
			t->stats.toolong++;
			t->linelen = 0;
			t->skipping = nl == NULL;
		} else if (nl == NULL) {
			memcpy(t->line + t->linelen, p, n);
			t->linelen += n;
		} else if (t->linelen == 0) {
			tail_emit(t, p, n);
			emitted = 1;
		} else {
			memcpy(t->line + t->linelen, p, n);
			tail_emit(t, t->line, t->linelen + n);
			t->linelen = 0;
			emitted = 1;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
		t->linestart = base + (uint64_t)(p - start);
		len -= n + 1;
		if (emitted && loop_budget_spent(&t->budget))
			return (size_t)(p - start);
		emitted = 0;
	}
	return (size_t)(p - start) + len;
}

/* Forgets the unfinished line (the file it came from is gone). */
static void
tail_reset_line(struct tail *t)
{
	t->linestart = t->offset;
	t->linelen = 0;
	t->skipping = 0;
}

/* Reads the first bytes of the open file into head, up to offset. */
static void
tail_read_head(struct tail *t)
{
	size_t	want;
	ssize_t	n;

	want = t->offset < TAIL_HEAD_MAX ? (size_t)t->offset : TAIL_HEAD_MAX;
	if (t->headlen >= want)
		return;
	n = pread(t->fd, t->head, want, 0);
	t->headlen = n > 0 ? (size_t)n : 0;
}

static void
tail_unwatch_file(struct tail *t)
{
	if (t->wfile != -1)
		inotify_rm_watch(t->ifd, t->wfile);
	t->wfile = -1;
}

static void
tail_close_file(struct tail *t)
{
	/* Its grace, if it was rotated, is over with it. */
	if (t->grace != NULL)
		loop_timer_del(t->loop, t->grace);
	t->grace = NULL;
	tail_unwatch_file(t);
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	t->dev = t->ino = t->offset = t->seen = 0;
	t->headlen = 0;
	t->rotated_us = 0;
	t->moved = t->closed = 0;
	tail_reset_line(t);
}

/* The file ends: a last line without newline is still a line. */
static void
tail_finish_file(struct tail *t)
{
	if (t->linelen > 0)
		tail_emit(t, t->line, t->linelen);
	tail_close_file(t);
}

/*
 * Refuses what st describes at the name: counted and logged once per
 * inode (a refused file stays refused until it changes), the warnings
 * themselves rate-limited, since the name's owner can make new ones.
 */
static void
tail_refuse(struct tail *t, const char *name, const struct stat *st,
    const char *why)
{
	int64_t	ctime = (int64_t)st->st_ctim.tv_sec * 1000000000 +
		    st->st_ctim.tv_nsec;
	char	esc[PATH_MAX];

	if ((uint64_t)st->st_dev == t->refused_dev &&
	    (uint64_t)st->st_ino == t->refused_ino &&
	    ctime == t->refused_ctime)
		return;
	t->refused_dev = st->st_dev;
	t->refused_ino = st->st_ino;
	t->refused_ctime = ctime;
	t->stats.refused++;
	/* A generation's name is the directory owner's text. */
	if (log_ratelimit_ok(&t->refuselimit, clock_monotonic()))
		log_warnx("tail: %s: %s: refused, not read; waiting for a "
		    "regular file of root's or the directory owner's",
		    log_escape(esc, sizeof esc, name, strlen(name)), why);
}

/* Why the open file st must not be read, or NULL if it may be.  why is
 * the caller's buffer for the message. */
static const char *
tail_refusal(const struct tail *t, const struct stat *st, char *why,
    size_t size)
{
	struct stat	dst;

	if (st->st_nlink > 1) {
		snprintf(why, size, "a file with %ju hard links (another "
		    "name may be someone else's file)", (uintmax_t)st->st_nlink);
		return why;
	}
	if (st->st_uid == 0)
		return NULL;
	if (stat(t->dir, &dst) == -1) {
		snprintf(why, size, "owned by uid %ju, and its directory: %s",
		    (uintmax_t)st->st_uid, strerror(errno));
		return why;
	}
	if (dst.st_uid == st->st_uid)
		return NULL;
	snprintf(why, size, "owned by uid %ju, neither root nor the owner of "
	    "%s (uid %ju)", (uintmax_t)st->st_uid, t->dir,
	    (uintmax_t)dst.st_uid);
	return why;
}

/*
 * Opens name (the file at the log's name, t->file, or a rotated generation
 * beside it) never through a link, and takes it as the open file; the
 * start offset is decided by the caller.  0, or -1 if there is none (errno
 * ENOENT), it cannot be read, or it is refused (errno EPERM).
 */
static int
tail_open_file(struct tail *t, const char *name, struct stat *st)
{
	struct stat	 lst;
	char		 proc[64], why[160], target[64], esc[96];
	const char	*no;
	ssize_t		 n;
	int		 fd, atname = name == t->file;

	fd = open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
	    O_NOFOLLOW);
	if (fd == -1 && errno == ELOOP && lstat(name, &lst) == 0 &&
	    S_ISLNK(lst.st_mode)) {
		/* What it points to is the attacker's text. */
		n = readlink(name, target, sizeof target);
		log_escape(esc, sizeof esc, target, n > 0 ? (size_t)n : 0);
		snprintf(why, sizeof why, "a symbolic link (to %s)", esc);
		tail_refuse(t, name, &lst, why);
		errno = EPERM;
		return -1;
	}
	if (fd == -1)
		goto fail;
	if (fstat(fd, st) == -1)
		goto fail;
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((no = tail_refusal(t, st, why, sizeof why)) != NULL) {
		tail_refuse(t, name, st, no);
		close(fd);
		errno = EPERM;
		return -1;
	}
	t->refused_dev = t->refused_ino = 0;
	t->refused_ctime = 0;
	t->fd = fd;
	t->dev = st->st_dev;
	t->ino = st->st_ino;
	t->offset = t->seen = 0;
	t->headlen = 0;
	t->rotated_us = 0;
	t->moved = t->closed = 0;
	tail_reset_line(t);
	/* Through /proc the watch is on the inode opened, not on whatever the
	 * name points to by now. */
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	t->wfile = inotify_add_watch(t->ifd, proc, TAIL_FILE_EVENTS);
	if (t->wfile == -1)
		t->wfile = inotify_add_watch(t->ifd, name, TAIL_FILE_EVENTS);
	if (atname && t->missing_logged)
		log_info("tail: %s: appeared", t->path);
	if (atname)
		t->missing_logged = 0;
	return 0;

fail:
	if (!atname && (errno == ENOENT || errno == ENOTDIR)) {
		/* A generation renamed again since it was seen. */
	} else if (errno == ENOENT || errno == ENOTDIR) {
		if (!t->missing_logged)
			log_info("tail: %s: missing, waiting for it", t->path);
		t->missing_logged = 1;
		errno = ENOENT;
	} else {
		t->stats.reopen_errors++;
		if (log_ratelimit_ok(&t->errlimit, clock_monotonic()))
			log_warn("tail: %s", name);
	}
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Opens name for a look (a generation's first or last bytes), on the same
 * terms as tail_open_file() but silently: the fd, or -1.
 */
static int
tail_probe(struct tail *t, const char *name, uint64_t ino)
{
	struct stat	st;
	char		why[160];
	int		fd;

	fd = open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
	    O_NOFOLLOW);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_ino != ino ||
	    tail_refusal(t, &st, why, sizeof why) != NULL) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
tail_watch_dir(struct tail *t)
{
	if (t->wdir != -1)
		return;
	t->wdir = inotify_add_watch(t->ifd, t->dir,
	    TAIL_DIR_EVENTS | IN_ONLYDIR);
}

/*
 * Reads name as a generation of the log (see struct tail_gen) into g; 0,
 * or -1 if it is none.  g->name is left to the caller.
 */
static int
tail_gen_parse(const struct tail *t, const char *name, struct tail_gen *g)
{
	size_t		 blen = strlen(t->base), len, elen, i;
	const char	*s;

	memset(g, 0, sizeof *g);
	if (strncmp(name, t->base, blen) != 0 || (name[blen] != '.' &&
	    name[blen] != '-' && name[blen] != '_'))
		return -1;
	s = name + blen + 1;
	len = strlen(s);
	for (i = 0; tail_zext[i] != NULL; i++) {
		elen = strlen(tail_zext[i]);
		if (len > elen && strcmp(s + len - elen, tail_zext[i]) == 0) {
			len -= elen;
			g->compressed = i == 0 ? TAIL_GZIP : 1;
			break;
		}
	}
	/* A digit first: not x.log.swp, nor x.log-old that someone kept. */
	if (len == 0 || s[0] < '0' || s[0] > '9')
		return -1;
	g->key = s;
	g->keylen = len;
	/* logrotate's numbers are small and after a dot; a date, even one of
	 * digits only, is longer. */
	if (name[blen] == '.' && len <= 5 && strspn(s, "0123456789") >= len) {
		g->numbered = 1;
		for (i = 0; i < len; i++)
			g->num = g->num * 10 + (uint64_t)(s[i] - '0');
	}
	return 0;
}

/*
 * Which of two generations is the newer: > 0 if a, < 0 if b, 0 if neither
 * names nor times tell.  Numbers count back (x.log.1 is newer than
 * x.log.2), dates forward (logrotate wants its dateformat sorted so); for
 * names of different kinds, or a file known by its time only, the time of
 * last write decides.
 */
static int
tail_gen_cmp(const struct tail_gen *a, const struct tail_gen *b)
{
	size_t	n;
	int	c;

	if (a->key != NULL && b->key != NULL) {
		if (a->numbered && b->numbered) {
			if (a->num != b->num)
				return a->num > b->num ? -1 : 1;
		} else if (!a->numbered && !b->numbered) {
			n = a->keylen < b->keylen ? a->keylen : b->keylen;
			if ((c = memcmp(a->key, b->key, n)) != 0)
				return c < 0 ? -1 : 1;
			if (a->keylen != b->keylen)
				return a->keylen < b->keylen ? -1 : 1;
		}
	}
	if (a->mtime != b->mtime)
		return a->mtime < b->mtime ? -1 : 1;
	return 0;
}

static void
tail_gens_free(struct tail_gen *gens, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(gens[i].name);
	free(gens);
}

/*
 * The generations in the log's directory, as they are now: *np of them,
 * at most TAIL_GENS_MAX, from at most TAIL_DIRENTS_MAX entries (a
 * directory that its owner filled with names is not read to its end).
 * Free with tail_gens_free(); NULL if there are none.
 */
static struct tail_gen *
tail_gens_scan(struct tail *t, size_t *np)
{
	struct tail_gen	*gens, *g;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 n = 0, entries = 0;

	*np = 0;
	if ((d = opendir(t->dir)) == NULL)
		return NULL;
	gens = xcalloc(TAIL_GENS_MAX, sizeof *gens);
	while (n < TAIL_GENS_MAX && entries++ < TAIL_DIRENTS_MAX &&
	    (de = readdir(d)) != NULL) {
		g = &gens[n];
		if (tail_gen_parse(t, de->d_name, g) == -1 ||
		    fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
			continue;
		g->name = xasprintf("%s/%s", t->dir, de->d_name);
		g->key = g->name + strlen(g->name) - strlen(g->key);
		g->dev = st.st_dev;
		g->ino = st.st_ino;
		g->size = (uint64_t)st.st_size;
		g->mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 +
		    st.st_mtim.tv_nsec;
		n++;
	}
	closedir(d);
	if (n == 0) {
		free(gens);
		return NULL;
	}
	*np = n;
	return gens;
}

/* What a gzip generation says it holds (its last 4 bytes: the size modulo
 * 2^32), or its own size if it says nothing readable. */
static uint64_t
tail_gz_size(struct tail *t, const struct tail_gen *g)
{
	uint8_t	b[4];
	int	fd;

	if (g->compressed != TAIL_GZIP || g->size < 18 ||
	    (fd = tail_probe(t, g->name, g->ino)) == -1)
		return g->size;
	if (pread(fd, b, 2, 0) != 2 || b[0] != 0x1f || b[1] != 0x8b ||
	    pread(fd, b, 4, (off_t)g->size - 4) != 4) {
		close(fd);
		return g->size;
	}
	close(fd);
	return (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 |
	    (uint64_t)b[3] << 24;
}

/* A newer generation was compressed before it could be read. */
static void
tail_lost_compressed(struct tail *t, const struct tail_gen *g)
{
	char		esc[PATH_MAX];
	uint64_t	n = tail_gz_size(t, g);

	t->stats.lost_compressed += n;
	if (log_ratelimit_ok(&t->lostlimit, clock_monotonic()))
		log_warnx("tail: %s: %s was compressed before it could be "
		    "read: %" PRIu64 " bytes lost", t->path,
		    log_escape(esc, sizeof esc, g->name, strlen(g->name)), n);
}

/* Takes the generation g as the open file, from its start; 0, or -1. */
static int
tail_open_gen(struct tail *t, const struct tail_gen *g, int64_t rotated)
{
	struct stat	st;
	char		esc[PATH_MAX];

	if (tail_open_file(t, g->name, &st) == -1)
		return -1;
	if ((uint64_t)st.st_ino != g->ino) {	/* renamed again */
		tail_close_file(t);
		return -1;
	}
	t->rotated_us = rotated;
	t->moved = 1;
	t->stats.rotations++;
	log_info("tail: %s: rotated; reading %s, a newer generation not read "
	    "yet", t->path, log_escape(esc, sizeof esc, g->name,
	    strlen(g->name)));
	return 0;
}

/*
 * The open file, rotated away, was done and closed: left describes it.
 * Opens the next file to read, the oldest generation newer than left (the
 * loop may have been away for several rotations), or else the file at the
 * name.  left is found among the generations by its inode, or, compressed
 * since, by the size gzip recorded; if it is not found, newer means
 * written to later.  A newer generation compressed before it could be read
 * is counted as lost.  1 if a file was opened, 0 if none could be.
 */
static int
tail_next(struct tail *t, const struct tail_gen *left, int64_t rotated)
{
	struct tail_gen	*gens, mark = *left, *g, *best;
	struct stat	 st;
	size_t		 n, i, j;
	int		 c;

	gens = tail_gens_scan(t, &n);
	for (i = 0; i < n && mark.key == NULL; i++)
		if (gens[i].compressed == 0 && gens[i].ino == left->ino &&
		    gens[i].dev == left->dev)
			mark = gens[i];
	for (i = 0; i < n && mark.key == NULL; i++)
		if (gens[i].compressed == TAIL_GZIP &&
		    gens[i].mtime >= left->mtime &&
		    tail_gz_size(t, &gens[i]) == (left->size & 0xffffffff))
			mark = gens[i];
	for (i = 0; i < n; i++) {
		best = NULL;
		for (j = 0; j < n; j++) {
			g = &gens[j];
			if (g->done || g->name == mark.name ||
			    (g->ino == left->ino && g->dev == left->dev))
				continue;
			/* Written in the same clock tick as the file left,
			 * a file known by name is newer only by its name. */
			c = tail_gen_cmp(g, &mark);
			if (c < 0 || (c == 0 && mark.key != NULL))
				continue;
			if (best == NULL || tail_gen_cmp(g, best) < 0)
				best = g;
		}
		if (best == NULL)
			break;
		best->done = 1;
		/* Not knowing where the file left went, its own compressed
		 * copy cannot be told from a newer one: only counted after
		 * a known place. */
		if (best->compressed && mark.key != NULL)
			tail_lost_compressed(t, best);
		mark = *best;
		if (!best->compressed && tail_open_gen(t, best, rotated) == 0) {
			tail_gens_free(gens, n);
			return 1;
		}
	}
	tail_gens_free(gens, n);

	if (tail_open_file(t, t->file, &st) == -1)
		return 0;
	t->stats.rotations++;
	log_info("tail: %s: rotated", t->path);
	return 1;
}

/*
 * copytruncate copies the file aside before it truncates it: a generation
 * starting with our first bytes, the newest such, tells how far the file
 * went at least.  Its size, or 0.
 */
static uint64_t
tail_copy_size(struct tail *t)
{
	struct tail_gen	*gens, *best = NULL;
	uint8_t		 buf[TAIL_HEAD_MAX];
	uint64_t	 size;
	size_t		 n, i;
	int		 fd, same;

	if (t->headlen == 0)
		return 0;
	gens = tail_gens_scan(t, &n);
	for (i = 0; i < n; i++) {
		if (gens[i].compressed || gens[i].size <= t->linestart ||
		    gens[i].ino == t->ino ||
		    (best != NULL && tail_gen_cmp(&gens[i], best) <= 0) ||
		    (fd = tail_probe(t, gens[i].name, gens[i].ino)) == -1)
			continue;
		same = pread(fd, buf, t->headlen, 0) == (ssize_t)t->headlen &&
		    memcmp(buf, t->head, t->headlen) == 0;
		close(fd);
		if (same)
			best = &gens[i];
	}
	size = best != NULL ? best->size : 0;
	tail_gens_free(gens, n);
	return size;
}

/*
 * The open file was truncated in place: start it over.  What it held
 * beyond the last whole line read, as far as we saw it grow or the copy
 * beside it goes, was not read and never will be: lost, and said so.
 * (Bytes written between the copy and the truncation, unseen, cannot be
 * counted.)
 */
static void
tail_truncated(struct tail *t)
{
	uint64_t	before, copy, lost;

	before = t->seen > t->offset ? t->seen : t->offset;
	if ((copy = tail_copy_size(t)) > before)
		before = copy;
	lost = before - t->linestart;
	t->stats.truncations++;
	if (lost == 0)
		log_info("tail: %s: truncated, reading from the start",
		    t->path);
	else {
		t->stats.lost_truncated += lost;
		if (log_ratelimit_ok(&t->lostlimit, clock_monotonic()))
			log_warnx("tail: %s: truncated in place (copytruncate) "
			    "before %" PRIu64 " bytes were read: lost; reading "
			    "from the start", t->path, lost);
	}
	t->offset = t->seen = 0;
	t->headlen = 0;
	tail_reset_line(t);
}

/*
 * A file truncated and written past our offset before we looked does not
 * look shorter, but its first bytes changed (unless it starts over with
 * the very same 64 bytes).  One small pread per wake-up.
 */
static void
tail_check_head(struct tail *t)
{
	uint8_t	buf[TAIL_HEAD_MAX];
	ssize_t	n;

	if (t->headlen == 0)
		return;
	n = pread(t->fd, buf, t->headlen, 0);
	if (n == -1 || (n == (ssize_t)t->headlen &&
	    memcmp(buf, t->head, t->headlen) == 0))
		return;
	tail_truncated(t);
}

/*
 * Reads the open file from offset, at most TAIL_SLICE bytes and within the
 * wake-up's budget.  Returns 1 if it stopped at the end of the file, 0 if
 * more remains.
 */
static int
tail_read(struct tail *t)
{
	struct stat	st;
	size_t		done = 0, took;
	ssize_t		n;
	int		spent = 0;

	/* How far it went, should it be truncated before we get there. */
	if (fstat(t->fd, &st) == 0 && (uint64_t)st.st_size > t->seen)
		t->seen = (uint64_t)st.st_size;
	while (done < TAIL_SLICE && !spent) {
		n = pread(t->fd, t->chunk, TAIL_CHUNK, (off_t)t->offset);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			t->stats.reopen_errors++;
			if (log_ratelimit_ok(&t->errlimit, clock_monotonic()))
				log_warn("tail: %s: read", t->path);
			return 1;
		}
		if (n == 0)
			break;
		took = tail_feed(t, t->chunk, (size_t)n, t->offset);
		t->offset += (uint64_t)took;
		t->stats.bytes += (uint64_t)took;
		done += took;
		/* Out of time: the rest of the chunk is read again. */
		spent = took < (size_t)n;
	}
	/* Also when a backlog never lets it reach the end: the head is what
	 * truncation is told by. */
	if (t->headlen < TAIL_HEAD_MAX)
		tail_read_head(t);
	if (done >= TAIL_SLICE || spent)
		return 0;

	/* At the end: did the file shrink under us? */
	if (fstat(t->fd, &st) == 0 && (uint64_t)st.st_size < t->offset) {
		tail_truncated(t);
		return 0;
	}
	return 1;
}

static int64_t
tail_grace_cb(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct tail	*t = arg;

	(void)loop;
	(void)timer;
	t->grace = NULL;
	t->check_path = 1;
	if (t->more == NULL)
		tail_run(t);
	return LOOP_TIMER_DONE;
}

/*
 * Is the open file, rotated away, done with?  Its writer closed it after
 * the rename, or it has not grown for tail_grace_ms since we saw it go,
 * however long ago it was renamed (a server writes to its old file until
 * it reopens the name, and we cannot tell when it has).  If not, a timer
 * looks again when the grace runs out; meanwhile what it gains is read.
 */
static int
tail_done(struct tail *t)
{
	struct stat	st;
	int64_t		since, left;

	if (t->closed || fstat(t->fd, &st) == -1)
		return 1;
	since = (int64_t)st.st_mtim.tv_sec * CLOCK_US_PER_SEC +
	    st.st_mtim.tv_nsec / 1000;
	if (since < t->rotated_us)
		since = t->rotated_us;
	left = since + tail_grace_ms * CLOCK_US_PER_MS - clock_realtime();
	/* More than the grace ahead: the clock was set back, and waiting
	 * for it would be waiting for nothing. */
	if (left <= 0 || left > tail_grace_ms * CLOCK_US_PER_MS)
		return 1;
	if (t->grace == NULL)
		t->grace = loop_timer_add(t->loop, left / CLOCK_US_PER_MS + 1,
		    tail_grace_cb, t);
	/* Without a timer, the safety timer looks again. */
	return 0;
}

/*
 * Looks at what the path names now.  Returns 1 if a new file was opened, 0
 * if nothing changed, -1 if the old file has more to read first (within
 * the next slice), 2 if the old file is rotated but not done yet.
 */
static int
tail_check_path(struct tail *t)
{
	struct stat	st;
	struct tail_gen	left;
	int64_t		rotated;
	int		here;

	tail_watch_dir(t);
	here = lstat(t->file, &st) == 0;
	if (t->fd == -1)
		return tail_open_file(t, t->file, &st) == 0;	/* logs once */
	if (here && (uint64_t)st.st_dev == t->dev &&
	    (uint64_t)st.st_ino == t->ino) {
		t->rotated_us = 0;
		return 0;
	}
	if (t->rotated_us == 0)
		t->rotated_us = clock_realtime();

	/* Whatever was appended to the old file since it was last read
	 * belongs before the newer files' lines. */
	if (!tail_read(t))
		return -1;
	if (!here) {
		/* Renamed away: keep reading the old inode until the new file
		 * appears.  Deleted: nothing more will come. */
		if (fstat(t->fd, &st) == 0 && st.st_nlink == 0)
			tail_finish_file(t);
		return 0;
	}
	if (!tail_done(t))
		return 2;
	memset(&left, 0, sizeof left);
	left.dev = t->dev;
	left.ino = t->ino;
	left.size = t->offset;
	if (fstat(t->fd, &st) == 0)
		left.mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 +
		    st.st_mtim.tv_nsec;
	rotated = t->rotated_us;
	tail_finish_file(t);
	return tail_next(t, &left, rotated);
}

static int64_t
tail_more_cb(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct tail	*t = arg;

	(void)loop;
	(void)timer;
	t->more = NULL;
	tail_run(t);
	return LOOP_TIMER_DONE;
}

/*
 * Reads what is there, then (when asked) follows the path to a new file.
 * Stops after one slice or the budget, leaving a continuation behind: the
 * decisions on rotation are taken when the reading has caught up.
 */
static void
tail_run(struct tail *t)
{
	loop_budget_start(&t->budget, LOOP_BUDGET_US, TAIL_BUDGET_LINES);
	if (t->fd != -1)
		tail_check_head(t);
	for (;;) {
		if (t->fd != -1 && !tail_read(t))
			break;
		if (!t->check_path)
			return;
		t->check_path = 0;
		switch (tail_check_path(t)) {
		case 0:
			return;
		case -1:
			t->check_path = 1;
			goto more;
		case 2:
			/* Rotated, not done: each wake-up looks again. */
			t->check_path = 1;
			return;
		}
		/* A new file: read it, then look at the path once more. */
		t->check_path = 1;
	}
more:
	/* Without a timer the safety timer carries on, only slower. */
	if (t->more == NULL &&
	    (t->more = loop_timer_add(t->loop, 0, tail_more_cb, t)) == NULL &&
	    log_ratelimit_ok(&t->errlimit, clock_monotonic()))
		log_warn("tail: %s: timer", t->path);
}

static void
tail_inotify_cb(struct loop *loop, int fd, int events, void *arg)
{
	struct tail			*t = arg;
	char				 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*ev;
	ssize_t				 n;
	size_t				 off;

	(void)loop;
	(void)events;
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (off = 0; off + sizeof *ev <= (size_t)n;
		    off += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->mask & IN_Q_OVERFLOW)
				t->check_path = 1;
			else if (ev->wd == t->wdir) {
				if (ev->mask & IN_IGNORED)
					t->wdir = -1;
				if (ev->len == 0 ||
				    strcmp(ev->name, t->base) == 0)
					t->check_path = 1;
			} else if (ev->wd == t->wfile) {
				/* The queue keeps the order of events: a
				 * close after the move is the writer letting
				 * go of the old file. */
				if (ev->mask & IN_IGNORED)
					t->wfile = -1;
				if (ev->mask & (IN_MOVE_SELF | IN_DELETE_SELF))
					t->moved = 1;
				if ((ev->mask & IN_CLOSE_WRITE) && t->moved)
					t->closed = 1;
				if (ev->mask & ~(IN_MODIFY | IN_CLOSE_WRITE) ||
				    t->closed)
					t->check_path = 1;
			}
		}
	}
	if (t->more == NULL)
		tail_run(t);
}

static int64_t
tail_safety_cb(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct tail	*t = arg;

	(void)loop;
	(void)timer;
	t->check_path = 1;
	if (t->more == NULL)
		tail_run(t);
	return tail_safety_ms;
}

/* Does the open file start with the bytes whose hash was saved?  A
 * position without a hash (none was known) is taken on its inode. */
static int
tail_same_head(struct tail *t, const struct tail_pos *saved)
{
	uint8_t	buf[TAIL_HEAD_MAX];
	ssize_t	n;

	if (saved->headlen > TAIL_HEAD_MAX)
		return 0;
	if (saved->headlen == 0)
		return 1;
	n = pread(t->fd, buf, saved->headlen, 0);
	return n == (ssize_t)saved->headlen &&
	    siphash24(&t->key, buf, saved->headlen) == saved->hash;
}

/*
 * Reading from the end, a line may be in the middle of being written: back
 * up to its start, so it is passed on whole once its newline comes.  If
 * its start is too far back, the line is over-long anyway: skip it.
 */
static void
tail_back_to_line(struct tail *t)
{
	const char	*nl;
	size_t		 want;
	ssize_t		 n;

	want = t->maxline + 1 < TAIL_CHUNK ? t->maxline + 1 : TAIL_CHUNK;
	if (want > t->offset)
		want = (size_t)t->offset;
	n = pread(t->fd, t->chunk, want, (off_t)(t->offset - want));
	if (n != (ssize_t)want)
		return;
	if (t->chunk[want - 1] == '\n')
		return;
	if ((nl = memrchr(t->chunk, '\n', want)) != NULL)
		t->offset -= want - (size_t)(nl - t->chunk) - 1;
	else if (want == t->offset)
		t->offset = 0;
	else
		t->skipping = 1;
}

/* Picks where to start in the file just opened at start-up. */
static void
tail_start_offset(struct tail *t, const struct stat *st,
    const struct tail_pos *saved)
{
	uint64_t	size = (uint64_t)st->st_size;

	/* st_dev is not compared: it can change across reboots (LVM, btrfs),
	 * while inode and first bytes together are the file. */
	if (saved == NULL)
		t->offset = size;
	else if (saved->ino != t->ino || !tail_same_head(t, saved))
		t->offset = 0;
	else if (saved->offset > size) {
		t->stats.truncations++;
		t->offset = 0;
	} else
		t->offset = saved->offset;

	if (saved == NULL && t->offset > 0)
		tail_back_to_line(t);
	t->linestart = t->offset;
	tail_read_head(t);
}

/*
 * At start, the saved file may have been rotated while we were down: found
 * among the generations by its inode and first bytes, it is read on from
 * the saved offset, and then the newer ones (tail_next()).  A position
 * without a hash is not enough to take an old file for ours.  1 if so.
 */
static int
tail_resume(struct tail *t, const struct tail_pos *saved)
{
	struct tail_gen	*gens, *g = NULL;
	struct stat	 st;
	char		 esc[PATH_MAX];
	size_t		 n, i;

	if (saved == NULL || saved->headlen == 0 ||
	    (lstat(t->file, &st) == 0 && (uint64_t)st.st_ino == saved->ino))
		return 0;
	gens = tail_gens_scan(t, &n);
	for (i = 0; i < n && g == NULL; i++)
		if (gens[i].compressed == 0 && gens[i].ino == saved->ino)
			g = &gens[i];
	if (g == NULL || tail_open_file(t, g->name, &st) == -1) {
		tail_gens_free(gens, n);
		return 0;
	}
	if ((uint64_t)st.st_ino != saved->ino || !tail_same_head(t, saved) ||
	    saved->offset > (uint64_t)st.st_size) {
		tail_close_file(t);
		tail_gens_free(gens, n);
		return 0;
	}
	t->offset = t->linestart = saved->offset;
	tail_read_head(t);
	t->rotated_us = clock_realtime();
	t->moved = 1;
	t->check_path = 1;
	log_info("tail: %s: rotated while we were down: resuming in %s",
	    t->path, log_escape(esc, sizeof esc, g->name, strlen(g->name)));
	tail_gens_free(gens, n);
	return 1;
}

/*
 * What path leads to through links, the operator's: each link's text is
 * taken relative to the link's directory.  A name that is no link (or
 * cannot be read as one) ends the walk; so does TAIL_LINKS_MAX, leaving a
 * link that the open then refuses.
 */
static char *
tail_resolve(const char *path)
{
	struct stat	 st;
	char		 buf[PATH_MAX], *cur, *next;
	const char	*slash;
	ssize_t		 n;
	int		 i;

	cur = xstrdup(path);
	for (i = 0; i < TAIL_LINKS_MAX; i++) {
		if (lstat(cur, &st) == -1 || !S_ISLNK(st.st_mode) ||
		    (n = readlink(cur, buf, sizeof buf - 1)) <= 0)
			break;
		buf[n] = '\0';
		if (buf[0] == '/' || (slash = strrchr(cur, '/')) == NULL)
			next = xstrdup(buf);
		else
			next = xasprintf("%.*s/%s", (int)(slash - cur), cur,
			    buf);
		free(cur);
		cur = next;
	}
	return cur;
}

struct tail *
tail_open(struct loop *loop, const char *path, const struct tail_pos *saved,
    const struct siphash_key *key, size_t maxline, tail_line_cb cb,
    void *arg, char **cause)
{
	struct tail	*t;
	struct stat	 st;
	char		*slash;

	if (*path == '\0' || path[strlen(path) - 1] == '/') {
		*cause = xasprintf("tail: %s: not a file name", path);
		return NULL;
	}
	if (maxline == 0 || maxline > SIZE_MAX / 2) {
		*cause = xasprintf("tail: %s: bad line length %zu", path,
		    maxline);
		return NULL;
	}

	t = xcalloc(1, sizeof *t);
	t->loop = loop;
	t->path = xstrdup(path);
	t->file = tail_resolve(path);
	if (strcmp(t->file, path) != 0)
		log_info("tail: %s: a symbolic link, following it to %s (until "
		    "the next start or reload)", path, t->file);
	if ((slash = strrchr(t->file, '/')) == NULL) {
		t->dir = xstrdup(".");
		t->base = xstrdup(t->file);
	} else {
		t->dir = slash == t->file ? xstrdup("/") :
		    xstrndup(t->file, (size_t)(slash - t->file));
		t->base = xstrdup(slash + 1);
	}
	t->key = *key;
	t->cb = cb;
	t->arg = arg;
	t->fd = t->wdir = t->wfile = -1;
	t->maxline = maxline;
	t->line = xmalloc(maxline);
	t->chunk = xmalloc(TAIL_CHUNK);
	t->errlimit.interval_us = 60 * CLOCK_US_PER_SEC;
	t->errlimit.last_us = INT64_MIN / 2;
	t->refuselimit.interval_us = 10 * CLOCK_US_PER_SEC;
	t->refuselimit.last_us = INT64_MIN / 2;
	t->lostlimit.interval_us = 10 * CLOCK_US_PER_SEC;
	t->lostlimit.last_us = INT64_MIN / 2;

	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ifd == -1) {
		*cause = xasprintf("tail: %s: inotify: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (loop_fd_add(loop, t->ifd, LOOP_READ, tail_inotify_cb, t) == -1) {
		*cause = xasprintf("tail: %s: loop: %s", path,
		    strerror(errno));
		close(t->ifd);
		t->ifd = -1;
		goto fail;
	}
	t->safety = loop_timer_add(loop, tail_safety_ms, tail_safety_cb, t);
	if (t->safety == NULL) {
		*cause = xasprintf("tail: %s: timer: %s", path,
		    strerror(errno));
		goto fail;
	}

	/* Watch the directory first, so a file created right after the
	 * open() below is not missed. */
	tail_watch_dir(t);
	if (tail_resume(t, saved) ||
	    tail_open_file(t, t->file, &st) == 0) {
		if (t->rotated_us == 0)
			tail_start_offset(t, &st, saved);
		/* Lines are never passed from inside tail_open(). */
		t->more = loop_timer_add(loop, 0, tail_more_cb, t);
		if (t->more == NULL) {
			*cause = xasprintf("tail: %s: timer: %s", path,
			    strerror(errno));
			goto fail;
		}
	}
	return t;

fail:
	tail_close(t);
	return NULL;
}

void
tail_close(struct tail *t)
{
	if (t == NULL)
		return;
	if (t->more != NULL)
		loop_timer_del(t->loop, t->more);
	if (t->grace != NULL)
		loop_timer_del(t->loop, t->grace);
	if (t->safety != NULL)
		loop_timer_del(t->loop, t->safety);
	if (t->fd != -1)
		close(t->fd);
	if (t->ifd != -1) {
		loop_fd_del(t->loop, t->ifd);
		close(t->ifd);	/* drops its watches */
	}
	free(t->chunk);
	free(t->line);
	free(t->base);
	free(t->dir);
	free(t->file);
	free(t->path);
	free(t);
}

void
tail_get_pos(const struct tail *t, struct tail_pos *pos)
{
	memset(pos, 0, sizeof *pos);
	if (t->fd == -1)
		return;
	pos->dev = t->dev;
	pos->ino = t->ino;
	/* The end of the last complete line: an unfinished (or over-long)
	 * one is read again after a restart. */
	pos->offset = t->linestart;
	pos->headlen = t->headlen;
	if (pos->headlen > pos->offset)
		pos->headlen = (size_t)pos->offset;
	if (pos->headlen > 0)
		pos->hash = siphash24(&t->key, t->head, pos->headlen);
}

void
tail_get_stats(const struct tail *t, struct tail_stats *stats)
{
	*stats = t->stats;
}

const char *
tail_path(const struct tail *t)
{
	return t->path;
}

char *
tail_pos_format(const struct tail_pos *pos, char *buf, size_t size)
{
	char	hash[17];

	if (pos->headlen > 0)
		snprintf(hash, sizeof hash, "%016" PRIx64, pos->hash);
	else
		snprintf(hash, sizeof hash, "-");
	snprintf(buf, size, "dev=%" PRIu64 " ino=%" PRIu64 " offset=%" PRIu64
	    " headlen=%zu hash=%s", pos->dev, pos->ino, pos->offset,
	    pos->headlen, hash);
	return buf;
}

static int
tail_parse_u64(const char **sp, const char *key, uint64_t *v)
{
	const char		*s = *sp;
	char			*end;
	unsigned long long	 u;
	size_t			 klen = strlen(key);

	if (strncmp(s, key, klen) != 0 || s[klen] < '0' || s[klen] > '9')
		return -1;
	errno = 0;
	u = strtoull(s + klen, &end, 10);
	if (errno != 0 || *end != ' ')
		return -1;
	*v = u;
	*sp = end + 1;
	return 0;
}

int
tail_pos_parse(const char *s, struct tail_pos *pos)
{
	struct tail_pos	p;
	uint64_t	headlen;
	size_t		i;

	memset(&p, 0, sizeof p);
	if (tail_parse_u64(&s, "dev=", &p.dev) == -1 ||
	    tail_parse_u64(&s, "ino=", &p.ino) == -1 ||
	    tail_parse_u64(&s, "offset=", &p.offset) == -1 ||
	    tail_parse_u64(&s, "headlen=", &headlen) == -1 ||
	    headlen > TAIL_HEAD_MAX || headlen > p.offset ||
	    strncmp(s, "hash=", 5) != 0)
		return -1;
	s += 5;
	p.headlen = (size_t)headlen;
	if (p.headlen == 0) {
		if (strcmp(s, "-") != 0)
			return -1;
	} else {
		/* Exactly what tail_pos_format() writes: 16 lower-case hex
		 * digits. */
		for (i = 0; i < 16; i++) {
			if (!((s[i] >= '0' && s[i] <= '9') ||
			    (s[i] >= 'a' && s[i] <= 'f')))
				return -1;
			p.hash = p.hash << 4 | (uint64_t)(s[i] <= '9' ?
			    s[i] - '0' : s[i] - 'a' + 10);
		}
		if (s[16] != '\0')
			return -1;
	}
	*pos = p;
	return 0;
}
