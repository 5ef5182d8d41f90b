/*
 * The flow table's source index (ctflow.c): the live flows of a prefix,
 * for ending a banned prefix's sessions by their tuples (fw_kill.c)
 * instead of scanning the kernel's tables.
 */
#ifndef CTFLOW_H
#define CTFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ct.h"

/* A flow as the table knows it: its original direction. */
struct ctflow_tuple {
	struct addr	 src;		/* the client */
	struct addr	 dst;		/* this host's end */
	uint16_t	 sport;
	uint16_t	 dport;		/* the service port */
	uint32_t	 id;		/* conntrack id; 0: unknown */
	int		 open;		/* the handshake completed */
};

typedef void	(*ctflow_tuple_cb)(const struct ctflow_tuple *, void *arg);

/*
 * Calls cb for each flow in the table whose source is inside p (the tuple
 * lives for the call only; cb must not change the table) and returns how
 * many.  Cost: the flows of p's address (a /32 or /128), of its group (a
 * prefix of /24../31 or /64../127), of each group it spans (up to 2^16
 * of them), else, for an IPv6 prefix shorter than /48, of the whole table.
 */
size_t		 ctflow_of_prefix(const struct ctflow *, const struct prefix *,
		    ctflow_tuple_cb, void *arg);

#endif /* CTFLOW_H */
