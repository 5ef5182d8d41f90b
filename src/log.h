/*
 * Logging: stderr in the foreground, syslog(3) otherwise.  When stderr is
 * the journal's stream (JOURNAL_STREAM, under systemd), each line starts
 * with its syslog priority ("<4>warning: ...") for `journalctl -p`.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/* Sets where messages go (stderr if foreground, else syslog) and the most
 * verbose level printed, and looks whether stderr is the journal.  May be
 * called again (after a reload). */
void	log_init(int foreground, enum log_level level);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warning", "info", "debug"; -1 if none of them. */
int	log_level_parse(const char *);
const char *log_level_name(enum log_level);

/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level and exit(1); fatal appends strerror(errno). */
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copies untrusted text (log lines, user names, network input) into buf for
 * logging: printable ASCII is kept, everything else becomes \xHH, and the
 * result is cut to fit buf (ending in "..." when cut).  Returns buf.
 */
char	*log_escape(char *buf, size_t size, const char *src, size_t len);

/*
 * A rate limiter for warnings on the event path: log_ratelimit_ok() returns 1
 * at most once per interval_us, and counts what it suppressed.
 */
struct log_ratelimit {
	long long	 interval_us;	/* minimum gap between two messages */
	long long	 last_us;	/* when the last one was let through */
	unsigned long	 suppressed;	/* messages held back since then */
};
int	log_ratelimit_ok(struct log_ratelimit *, long long now_us);

#endif /* LOG_H */
