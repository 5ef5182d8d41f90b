/*
 * Privilege separation: the helper that keeps CAP_NET_ADMIN (see priv.c).
 */
#ifndef PRIV_H
#define PRIV_H

#include <stdint.h>
#include <sys/types.h>

#include "fw.h"

struct nfct_handle;
struct priv;

/*
 * Forks the helper, root with CAP_NET_ADMIN alone, reading the
 * configuration at path (NULL: built-in) for its own copy of the firewall;
 * dump and evfd are the conntrack sockets it acts on for the daemon.  NULL
 * and *cause on failure.
 */
struct priv	*priv_start(const char *path, struct nfct_handle *dump,
		    int evfd, char **cause);
/* Closes the channel and waits for the helper to exit. */
void		 priv_stop(struct priv *);
pid_t		 priv_pid(const struct priv *);

/* ct.c's ct_priv_fn: arg is the struct priv. */
int		 priv_ct(void *arg, int what, uint64_t val);
/* The helper reads the configuration again: 0, or -1 and *cause. */
int		 priv_reload(struct priv *, char **cause);

/* The daemon's firewall backend under privilege separation: every
 * operation goes to the helper (fw_open_backend(), priv the struct priv). */
extern const struct fw_backend priv_fw_backend;

#endif /* PRIV_H */
