/*
 * StrictModes, as sshd has them: a file that decides what a root process
 * does (the configuration, a filter, a firewall command) must be one that
 * no one but root can change.
 */
#ifndef PERM_H
#define PERM_H

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

#endif /* PERM_H */
