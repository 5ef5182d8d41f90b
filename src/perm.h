/*
 * StrictModes, as sshd has them: a file that decides what a root process
 * does (the configuration, a filter, a firewall command) must be one that
 * no one but root can change; and a file of secrets one that no one but
 * root and the daemon's user can read.
 */
#ifndef PERM_H
#define PERM_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

/*
 * Checks that no one but root can write path: the file itself (owned by
 * root, not writable by group or others) and every directory above it, as
 * written and as resolved (owned by root, not writable by group or others
 * unless sticky).  0, or -1 and *cause (caller frees) saying what is
 * wrong, without the path: "writable by group 'staff' (mode 0664);
 * refusing it when running as root".
 */
int	perm_check(const char *path, char **cause);

/* perm_check() when running as root (effective uid 0), else 0. */
int	perm_check_root(const char *path, char **cause);

/*
 * A file that holds secrets, path open with status st: a regular file,
 * owned by root, by us (effective uid) or by uid ((uid_t)-1: none, else
 * the daemon's user), that neither group nor others may use at all (mode
 * 0600 or 0400); running as root, the directories above it as
 * perm_check().  0, or -1 and *cause (caller frees), without the path.
 */
int	perm_check_secret(const char *path, const struct stat *st, uid_t uid,
	    char **cause);

/*
 * Whether someone other than root, user uid and group gid ((uid_t)-1,
 * (gid_t)-1: none) may read a file of this owner, group and mode: 0, or
 * 1 with why ("readable by others (mode 0644)") in buf.
 */
int	perm_exposed(uid_t owner, gid_t group, mode_t mode, uid_t uid,
	    gid_t gid, char *buf, size_t size);

#endif /* PERM_H */
