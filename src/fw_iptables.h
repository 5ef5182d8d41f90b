/*
 * What the ipset and iptables backends share (fw_iptables.c): running the
 * iptables family of programs, the services' ports as multiport lists, and
 * keeping a few rules of ours at the top of a built-in chain.
 */
#ifndef FW_IPTABLES_H
#define FW_IPTABLES_H

#include <stddef.h>

#include "conf.h"
#include "fw.h"

#define FW_IPT_TIMEOUT_MS	10000		/* any one program */
#define FW_IPT_PORTS_PER	15		/* multiport's limit (a range
						 * counts twice) */
#define FW_IPT_GROUPS		8		/* lists at most */
#define FW_IPT_LISTLEN		(FW_IPT_PORTS_PER * 6 + 1)
#define FW_IPT_SAVEMAX		(64 * 1024 * 1024)	/* iptables -S,
							 * ipset list */

/*
 * Every list but the last holds at least 14 ports (a range that does not
 * fit the 15th slot starts the next list), so all the ports a struct fw
 * can hold fit in FW_IPT_GROUPS lists: 64 in 5.
 */
_Static_assert(FW_IPT_GROUPS * (FW_IPT_PORTS_PER - 1) >= FW_PORTS_MAX,
    "FW_IPT_GROUPS too small for the ports");

/*
 * Writes the ports a ban of scope drops as multiport lists ("5222,5269",
 * "5280:5281") of at most 15 slots each into lists; returns how many (0:
 * every port is banned, because of all_ports, because no service has a
 * port, or a proxy scope of every port).
 */
int	fw_iptables_portlists(const struct fw *, enum fw_scope,
	    char lists[FW_IPT_GROUPS][FW_IPT_LISTLEN]);

/*
 * Runs argv (no shell) with input on its standard input and waits for it
 * (FW_IPT_TIMEOUT_MS at most).  Returns its exit status, with its output in
 * *out if out is not NULL (caller frees; at most outmax bytes); -1 and
 * *cause if it could not run or was killed.
 */
int	fw_iptables_run(const char *const *argv, const char *input,
	    size_t inlen, char **out, size_t outmax, char **cause);
/* As fw_iptables_run, but a non-zero exit is a failure too: 0 or -1. */
int	fw_iptables_must(const char *const *argv, const char *input,
	    size_t inlen, char **out, size_t outmax, char **cause);

/*
 * Makes the rules specs[0..nspecs-1] (each "-m set ... -j DROP", words
 * separated by single spaces, no quoting) the first rules of the built-in
 * chain of the filter table, once each: prog is "iptables" or "ip6tables",
 * markers (NULL-terminated) strings only our rules contain, a rule being
 * ours if it holds one of them (" --match-set xmppguard4 src").
 * Nothing changes if they are there already (checked with -C and the order
 * of -S CHAIN); otherwise every rule with marker is deleted and specs
 * inserted at the top in one iptables-restore transaction, so no packet
 * ever passes between the two.  0 or -1 and *cause.
 */
int	fw_iptables_top(const char *prog, const char *chain,
	    const char *const *markers, char *const *specs, int nspecs,
	    char **cause);

/* The first line of a program's output, escaped for a message. */
char	*fw_iptables_firstline(const char *out, char *buf, size_t size);

#endif /* FW_IPTABLES_H */
