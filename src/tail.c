/*
 * The tailer: follows one log file by name, on the event loop.
 *
 * Each tail owns an inotify instance (one fd per tail: simple, and the
 * kernel's default limit of 128 instances per user is far above the number
 * of logs a guard reads) watching two things: the inode of the open file
 * (IN_MODIFY: data to read) and the directory (entries named like the file
 * being created, moved or deleted: a rotation).  A safety timer
 * re-checks everything, every tail_safety_ms for filesystems where inotify
 * is blind (NFS, FUSE), for a directory that does not exist yet and while
 * a watch is missing; with a local file and both watches in place inotify
 * says everything, and the timer only looks every TAIL_SAFETY_SLOW_MS (an
 * idle daemon sleeps).
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
 * The generations (the walk after a rotation, lost bytes, the resume of
 * a file rotated while we were down) are tail_gen.c's; tail_int.h holds
 * what the two files share.
 *
 * Invariants: fd >= 0 iff a file is open, and then dev/ino are its
 * identity and head holds its first min(offset, TAIL_HEAD_MAX) bytes;
 * linelen <= maxline; skipping implies linelen == 0.
 */
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>

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
#include "tail_int.h"
#include "xmalloc.h"

/* Not const: the tests shorten them rather than wait. */
static int64_t	tail_safety_ms = 5000;
#define TAIL_SAFETY_SLOW_MS	(10 * 60 * 1000)

/* Filesystems whose inotify misses writes made elsewhere (statfs f_type):
 * NFS, SMB, CIFS, SMB2, FUSE, 9p, Ceph, AFS, GFS2, OCFS2. */
static const uint32_t tail_blind_fs[] = {
	0x6969, 0x517b, 0xff534d42, 0xfe534d42, 0x65735546, 0x01021997,
	0x00c36400, 0x5346414f, 0x01161970, 0x7461636f
};
static int64_t	tail_grace_ms = 2000;	/* a rotated file's quiet, to be done */


static void	tail_run(struct tail *);
static void	tail_safety_arm(struct tail *);

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
void
tail_reset_line(struct tail *t)
{
	t->linestart = t->offset;
	t->linelen = 0;
	t->skipping = 0;
}

/* Reads the first bytes of the open file into head, up to offset. */
void
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

void
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
const char *
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
int
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


static void
tail_watch_dir(struct tail *t)
{
	if (t->wdir != -1)
		return;
	t->wdir = inotify_add_watch(t->ifd, t->dir,
	    TAIL_DIR_EVENTS | IN_ONLYDIR);
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
	tail_safety_arm(t);
}

/* The safety timer's next delay: slow only while inotify sees it all. */
static int64_t
tail_safety_delay(const struct tail *t)
{
	struct statfs	sfs;
	size_t		i;

	if (t->fd == -1 || t->wdir == -1 || t->wfile == -1 || t->moved ||
	    fstatfs(t->fd, &sfs) == -1)
		return tail_safety_ms;
	for (i = 0; i < sizeof(tail_blind_fs) / sizeof(tail_blind_fs[0]); i++)
		if ((uint32_t)sfs.f_type == tail_blind_fs[i])
			return tail_safety_ms;
	return tail_safety_ms > TAIL_SAFETY_SLOW_MS ? tail_safety_ms :
	    TAIL_SAFETY_SLOW_MS;
}

/* After inotify's news: a slow safety timer quickens if a watch went. */
static void
tail_safety_arm(struct tail *t)
{
	int64_t	ms;

	if (t->safety == NULL || !t->safety_slow ||
	    (ms = tail_safety_delay(t)) > tail_safety_ms)
		return;
	t->safety_slow = 0;
	(void)loop_timer_set(t->loop, t->safety, ms);
}

static int64_t
tail_safety_cb(struct loop *loop, struct loop_timer *timer, void *arg)
{
	struct tail	*t = arg;
	int64_t		 ms;

	(void)loop;
	(void)timer;
	t->check_path = 1;
	if (t->more == NULL)
		tail_run(t);
	ms = tail_safety_delay(t);
	t->safety_slow = ms > tail_safety_ms;
	return ms;
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
