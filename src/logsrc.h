/*
 * The log source: every [log NAME] section followed by a tailer and read
 * through its filter, each line's event handed to the pipeline.
 */
#ifndef LOGSRC_H
#define LOGSRC_H

#include <stdint.h>
#include <stdio.h>

#include "event.h"

struct conf;
struct loop;
struct store;
struct logsrc;

/*
 * Loads every [log] section's filter and starts following its file, from
 * the position saved in store (NULL: none).  Returns NULL with *cause set
 * (caller frees) if a filter cannot be found or loaded; a missing log file
 * is waited for, not an error.
 */
struct logsrc	*logsrc_start(struct loop *, const struct conf *,
		    struct store *, event_cb, void *arg, char **cause);
/* Stops following and frees; NULL is a no-op.  Call logsrc_flush first. */
void		 logsrc_stop(struct logsrc *);

/*
 * Writes the read position of every file that moved into the store's
 * open transaction, so it commits with the events read up to it.  Call it
 * just before committing.
 */
void		 logsrc_flush(struct logsrc *, int64_t now);

/*
 * Checks that every [log] section's filter loads, without following
 * anything: check-config.  0, or -1 and *cause.
 */
int		 logsrc_check(const struct conf *, char **cause);

/* The per-log counters, for status and metrics (obj: the struct
 * logsrc, or NULL). */
struct status_group;
extern const struct status_group logsrc_status_group;

#endif /* LOGSRC_H */
