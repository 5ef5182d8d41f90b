/*
 * The webhook firewall backend (fw_webhook.c): each operation is POSTed as
 * one JSON object to [ban] webhook, asynchronously on the event loop.  The
 * backend itself is opened and driven through fw.h (fw_open() with
 * [global] firewall = webhook); this header adds what a driver or a status
 * report needs beyond that interface, for a struct fw of this backend.
 */
#ifndef FW_WEBHOOK_H
#define FW_WEBHOOK_H

#include "fw.h"
#include "http.h"

#define FW_WEBHOOK_TIMEOUT	5000	/* ms per attempt */

/* Limits of an open webhook backend; 0 in a field keeps the current one
 * (retries: -1 keeps it, 0 means none). */
struct fw_webhook_tune {
	int		 timeout_ms;	/* per attempt */
	int		 retries;	/* after the first attempt */
	unsigned int	 backoff_ms;	/* before the first retry */
	unsigned int	 max_inflight;	/* POSTs at once */
	unsigned int	 max_pending;	/* waiting beyond those */
};

void		 fw_webhook_tune(struct fw *,
		    const struct fw_webhook_tune *);
/* POSTs not finished yet (running, queued or waiting to be retried). */
unsigned int	 fw_webhook_busy(const struct fw *);
void		 fw_webhook_stats(const struct fw *, struct http_stats *);

#endif /* FW_WEBHOOK_H */
