/*
 * The tailer's rotated generations: what follows a rename rotation, what
 * a truncation in place lost, and where a file rotated while we were
 * down is taken up again (tail.c does the reading).
 *
 * A generation is a file in the log's directory named like it plus a
 * separator and a suffix starting with a digit (x.log.1, x.log.2.gz,
 * x.log-20261207).  Once the file rotated away is done, tail_next() scans
 * the directory (at most TAIL_GENS_MAX generations from TAIL_DIRENTS_MAX
 * entries, so a crowded directory costs a bounded read), finds the file
 * left among them by its inode (or, compressed since, by the size gzip
 * recorded), and opens the oldest generation newer than it, else the file
 * at the name.  A newer generation compressed before it could be read
 * cannot be: its size is counted as lost.  A file truncated in place
 * (copytruncate) is read again from 0, and what it held beyond the last
 * whole line read, as far as we saw it grow or the copy beside it goes,
 * is counted as lost (tail_truncated).
 *
 * Every generation is opened on the terms of tail_open_file() (no link,
 * no file of a stranger), and one found under another inode than scanned
 * (renamed again meanwhile) is not taken.  The scans hold no state: each
 * returns a fresh array, freed before the function returns.
 */
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
#include "siphash.h"
#include "tail.h"
#include "tail_int.h"
#include "xmalloc.h"

/* Extensions of compressed generations: not read, counted as lost. */
static const char *const tail_zext[] = {
	".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".lzo", ".lz", ".Z",
	".br", ".zip", NULL
};

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
int
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
void
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
void
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

/* Does the open file start with the bytes whose hash was saved?  A
 * position without a hash (none was known) is taken on its inode. */
int
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
 * At start, the saved file may have been rotated while we were down: found
 * among the generations by its inode and first bytes, it is read on from
 * the saved offset, and then the newer ones (tail_next()).  A position
 * without a hash is not enough to take an old file for ours.  1 if so.
 */
int
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
