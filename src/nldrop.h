/*
 * What the kernel dropped on a netlink socket of ours: its own drop
 * counter (the Drops column of /proc/net/netlink), read with SO_MEMINFO.
 */
#ifndef NLDROP_H
#define NLDROP_H

#include <stdint.h>

struct nldrop {
	int		 fd;		/* -1: nothing to read (always 0) */
	uint32_t	 last;		/* the kernel's count at the last
					 * nldrop_update() */
	uint64_t	 total;		/* drops up to then */
};

/* Starts counting fd's drops (all since the socket was opened: the
 * kernel's count starts at 0).  fd -1: a counter that stays 0. */
void		 nldrop_init(struct nldrop *, int fd);
/* Takes the kernel's count in; returns the drops since the last call.
 * Call it often enough that the kernel cannot drop 2^32 meanwhile (once
 * a minute is plenty). */
uint64_t	 nldrop_update(struct nldrop *);
/* The drops since nldrop_init(), as of now; changes nothing. */
uint64_t	 nldrop_total(const struct nldrop *);
/* now - last on the kernel's 32-bit counter, which wraps. */
uint32_t	 nldrop_delta(uint32_t last, uint32_t now);

#endif /* NLDROP_H */
