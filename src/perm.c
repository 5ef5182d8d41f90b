/*
 * StrictModes: whether anyone but root can change a file that a root
 * process is about to trust.
 *
 * Anyone who can write the configuration, a filter file or the program a
 * command backend runs can make the daemon ban whom they like, or run
 * their own code as root.  So, running as root, such a file is refused
 * when its owner is not root or its group or others may write it, and so
 * is it when a directory on its way may be changed by someone else (owned
 * by another user, or writable by group or others without the sticky bit:
 * the file could be renamed away and replaced).  The directories are
 * walked twice, along the path as written (a link in a directory someone
 * else can write could be pointed elsewhere) and along the path resolved
 * (where the bytes really are).  The first problem found is reported;
 * nothing here changes anything.
 *
 * A secrets file (tokens, webhook URLs) has a rule of its own: no one but
 * root and the daemon's user may read it, so group and others have no
 * access at all, and it may belong to the daemon's user (who must read it
 * again on reload, after the drop) as well as to root.  Its directories
 * follow StrictModes: a directory someone else can write lets them swap
 * the file.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perm.h"
#include "xmalloc.h"

#define PERM_REFUSE	"; refusing it when running as root"

static int	perm_walk(const char *, char **);

static void
perm_user(uid_t uid, char *buf, size_t size)
{
	struct passwd	*pw;

	if ((pw = getpwuid(uid)) != NULL)
		snprintf(buf, size, "user '%s' (uid %ju)", pw->pw_name,
		    (uintmax_t)uid);
	else
		snprintf(buf, size, "uid %ju", (uintmax_t)uid);
}

static void
perm_group(gid_t gid, char *buf, size_t size)
{
	struct group	*gr;

	if ((gr = getgrgid(gid)) != NULL)
		snprintf(buf, size, "group '%s'", gr->gr_name);
	else
		snprintf(buf, size, "group %ju", (uintmax_t)gid);
}

/*
 * One file or directory: what (NULL for the file itself, else "directory
 * NAME is") and its stat.  0, or -1 and *cause.
 */
static int
perm_one(const char *what, const struct stat *st, char **cause)
{
	char		 who[128];
	const char	*pre = what != NULL ? what : "";
	const char	*sp = what != NULL ? " " : "";
	mode_t		 mode = st->st_mode & 07777;

	if (st->st_uid != 0) {
		perm_user(st->st_uid, who, sizeof who);
		*cause = xasprintf("%s%sowned by %s, not root" PERM_REFUSE,
		    pre, sp, who);
		return -1;
	}
	/* A sticky directory (/tmp) keeps its entries to their owners. */
	if (S_ISDIR(st->st_mode) && (mode & S_ISVTX))
		return 0;
	if (mode & S_IWOTH) {
		*cause = xasprintf("%s%swritable by others (mode %04o)"
		    PERM_REFUSE, pre, sp, (unsigned)mode);
		return -1;
	}
	if (mode & S_IWGRP) {
		perm_group(st->st_gid, who, sizeof who);
		*cause = xasprintf("%s%swritable by %s (mode %04o)" PERM_REFUSE,
		    pre, sp, who, (unsigned)mode);
		return -1;
	}
	return 0;
}

/* Every directory above the absolute path abs, nearest first. */
static int
perm_dirs(const char *abs, char **cause)
{
	struct stat	 st;
	char		*dir, *slash, *what;
	int		 rc = 0;

	dir = xstrdup(abs);
	while (rc == 0 && (slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';	/* "/" itself, last */
		else
			*slash = '\0';
		if (stat(dir, &st) == -1) {
			*cause = xasprintf("directory %s: %s", dir,
			    strerror(errno));
			rc = -1;
			break;
		}
		what = xasprintf("directory %s is", dir);
		rc = perm_one(what, &st, cause);
		free(what);
		if (slash == dir)
			break;
	}
	free(dir);
	return rc;
}

int
perm_check(const char *path, char **cause)
{
	struct stat	 st;

	if (stat(path, &st) == -1) {
		*cause = xstrdup(strerror(errno));
		return -1;
	}
	/* /dev/null, "no configuration": what is written there is gone. */
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
		return 0;
	if (perm_one(NULL, &st, cause) == -1)
		return -1;
	return perm_walk(path, cause);
}

/* The directories above path, as written and as resolved. */
static int
perm_walk(const char *path, char **cause)
{
	char	 cwd[PATH_MAX], *abs, *real;
	int	 rc;

	if (path[0] == '/')
		abs = xstrdup(path);
	else if (getcwd(cwd, sizeof cwd) != NULL)
		abs = xasprintf("%s/%s", cwd, path);
	else {
		*cause = xasprintf("current directory: %s", strerror(errno));
		return -1;
	}
	/* A file with no name left to resolve (/dev/fd/N of a pipe or a
	 * deleted file) was checked itself, and its way as written. */
	real = realpath(path, NULL);
	rc = perm_dirs(abs, cause);
	if (rc == 0 && real != NULL && strcmp(real, abs) != 0)
		rc = perm_dirs(real, cause);
	free(real);
	free(abs);
	return rc;
}

int
perm_check_root(const char *path, char **cause)
{
	if (geteuid() != 0)
		return 0;
	return perm_check(path, cause);
}

int
perm_check_secret(const char *path, const struct stat *st, uid_t uid,
    char **cause)
{
	char	 who[128];
	mode_t	 mode = st->st_mode & 07777;

	if (!S_ISREG(st->st_mode)) {
		*cause = xstrdup("not a regular file");
		return -1;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid() &&
	    (uid == (uid_t)-1 || st->st_uid != uid)) {
		perm_user(st->st_uid, who, sizeof who);
		*cause = xasprintf("owned by %s, not root nor the daemon's "
		    "user; refusing a secrets file", who);
		return -1;
	}
	if (mode & (S_IRWXG | S_IRWXO)) {
		if (mode & S_IRWXO)
			snprintf(who, sizeof who, "others");
		else
			perm_group(st->st_gid, who, sizeof who);
		*cause = xasprintf("open to %s (mode %04o); a secrets file "
		    "must be mode 0600 or 0400", who, (unsigned)mode);
		return -1;
	}
	if (geteuid() != 0)
		return 0;
	return perm_walk(path, cause);
}

int
perm_exposed(uid_t owner, gid_t group, mode_t mode, uid_t uid, gid_t gid,
    char *buf, size_t size)
{
	char	who[128];

	if (mode & S_IROTH) {
		snprintf(buf, size, "readable by others (mode %04o)",
		    (unsigned)(mode & 07777));
		return 1;
	}
	if ((mode & S_IRGRP) && group != 0 &&
	    (gid == (gid_t)-1 || group != gid)) {
		perm_group(group, who, sizeof who);
		snprintf(buf, size, "readable by %s (mode %04o)", who,
		    (unsigned)(mode & 07777));
		return 1;
	}
	if (owner != 0 && (uid == (uid_t)-1 || owner != uid)) {
		perm_user(owner, who, sizeof who);
		snprintf(buf, size, "owned by %s", who);
		return 1;
	}
	return 0;
}
