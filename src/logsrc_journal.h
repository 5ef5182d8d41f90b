/*
 * A journal source: the entries of one systemd unit, read from the journal
 * with sd_journal on the event loop, each MESSAGE handed over as a line.
 */
#ifndef LOGSRC_JOURNAL_H
#define LOGSRC_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct logsrc_journal;

#define LOGSRC_JOURNAL_CURSOR_MAX	512	/* a cursor's text, NUL included */

/* Counters for `xmppguard status`, as a tailer's. */
struct logsrc_journal_stats {
	uint64_t	 lines;		/* MESSAGEs passed to the callback */
	uint64_t	 bytes;		/* their bytes */
	uint64_t	 toolong;	/* MESSAGEs over maxline, skipped */
	uint64_t	 errors;	/* entries or wake-ups that failed */
};

/*
 * One MESSAGE (no NUL termination; may hold NUL bytes and invalid UTF-8:
 * use len) and the time the journal received it (us since the epoch).
 * Valid only during the call; the callback must not close its source.
 */
typedef void	(*logsrc_journal_cb)(const char *msg, size_t len,
		    int64_t time, void *arg);

/*
 * Reads the entries of unit (".service" added without a suffix) that also
 * have every match of the list ("FIELD=VALUE, ..."; NULL: none), from the
 * journal files of dir (NULL: the system journal).  With cursor (what
 * logsrc_journal_cursor() gave before a restart) reading resumes after
 * its entry, or at the oldest entry after it if that one is gone; without
 * one, at the journal's end.  name is the [log] section's, for messages.
 * NULL with *cause set (caller frees) if the journal cannot be opened.
 */
struct logsrc_journal *logsrc_journal_open(struct loop *, const char *name,
		    const char *unit, const char *matches, const char *dir,
		    const char *cursor, size_t maxline, logsrc_journal_cb,
		    void *arg, char **cause);
/* Stops reading and frees; NULL is a no-op. */
void		 logsrc_journal_close(struct logsrc_journal *);

/* The cursor of the last entry read (owned by the source, valid until
 * the next read), or NULL while none has been. */
const char	*logsrc_journal_cursor(const struct logsrc_journal *);
void		 logsrc_journal_get_stats(const struct logsrc_journal *,
		    struct logsrc_journal_stats *);

/* The unit as matched: ".service" added when name has no suffix.  The
 * caller frees. */
char		*logsrc_journal_unit(const char *);
/*
 * Checks a journal_match list: items separated by commas (blanks around
 * them ignored), each FIELD=VALUE with FIELD of upper case letters, digits
 * and underscores, not starting with a digit.  0, or -1 with *why set to
 * a static message.
 */
int		 logsrc_journal_match_check(const char *, const char **why);

#endif /* LOGSRC_JOURNAL_H */
