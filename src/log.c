/*
 * Logging.  In the foreground every message goes to stderr with a level
 * prefix; as a daemon it goes to syslog(3) under the "daemon" facility.
 * Messages are formatted into a fixed buffer: a caller can never make the
 * logger allocate, and anything that came from outside is expected to pass
 * through log_escape() first.
 *
 * Under systemd stderr is a stream to the journal, which reads a leading
 * "<N>" as the line's syslog priority (sd-daemon(3)): with it, `journalctl
 * -p warning` finds our warnings, and the identifier comes from the unit
 * (SyslogIdentifier=), so the "xmppguard: " of the terminal goes.  The
 * stream is recognised as systemd documents it: JOURNAL_STREAM holds the
 * device and inode of the stream it connected, and stderr must be that
 * very file (a shell that redirected it elsewhere keeps the variable).
 * It is looked at by log_init(), or at the first message before that.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"

#define LOG_MSG_MAX	2048

static int		log_foreground = 1;
static enum log_level	log_level_max = LOG_LEVEL_INFO;
static int		log_syslog_open;
static int		log_journal = -1;	/* stderr is the journal's;
						 * -1: not looked yet */

static const char *const log_names[] = {
	"error", "warning", "info", "debug"
};

/* 1 if stderr is the stream JOURNAL_STREAM ("DEV:INO") names, else 0. */
static int
log_journal_detect(void)
{
	const char		*env = getenv("JOURNAL_STREAM");
	char			*end;
	unsigned long long	 dev, ino;
	struct stat		 sb;

	if (env == NULL || *env < '0' || *env > '9')
		return 0;
	errno = 0;
	dev = strtoull(env, &end, 10);
	if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9')
		return 0;
	ino = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &sb) == -1)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
}

void
log_init(int foreground, enum log_level level)
{
	log_foreground = foreground;
	log_level_max = level;
	log_journal = log_journal_detect();
	if (!foreground && !log_syslog_open) {
		openlog("xmppguard", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog_open = 1;
	}
}

void
log_set_level(enum log_level level)
{
	log_level_max = level;
}

enum log_level
log_get_level(void)
{
	return log_level_max;
}

int
log_level_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	if (strcmp(s, "warn") == 0)
		return LOG_LEVEL_WARN;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return log_names[level];
}

static void
log_vwrite(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const sd_prio[] = {
		SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG
	};
	char	msg[LOG_MSG_MAX];
	int	saved = errno, n;

	if (level > log_level_max)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	if (log_foreground && log_journal == -1)
		log_journal = log_journal_detect();
	/* The level's word stays for the journal too: `journalctl -o
	 * cat` and an uncoloured terminal still show it. */
	if (log_foreground)
		fprintf(stderr, "%s%s%s%s\n",
		    log_journal ? sd_prio[level] : "xmppguard: ",
		    level == LOG_LEVEL_INFO ? "" : log_names[level],
		    level == LOG_LEVEL_INFO ? "" : ": ", msg);
	else
		syslog(prio[level], "%s", msg);
	errno = saved;
}

#define LOG_FN(name, level, with_errno)				\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	ap;							\
									\
	va_start(ap, fmt);						\
	log_vwrite(level, with_errno, fmt, ap);				\
	va_end(ap);							\
}

LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_escape(char *buf, size_t size, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		  i, o = 0;
	unsigned char	  c;

	if (size == 0)
		return buf;
	for (i = 0; i < len; i++) {
		c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= size)
				goto cut;
			buf[o++] = (char)c;
		} else {
			if (o + 4 >= size)
				goto cut;
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		}
	}
	buf[o] = '\0';
	return buf;
cut:
	/* Mark the cut so a reader knows the text went on. */
	if (size >= 4) {
		o = o + 4 > size ? size - 4 : o;
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o < size ? o : size - 1] = '\0';
	return buf;
}

int
log_ratelimit_ok(struct log_ratelimit *rl, long long now_us)
{
	if (rl->last_us != 0 && now_us - rl->last_us < rl->interval_us) {
		rl->suppressed++;
		return 0;
	}
	rl->last_us = now_us;
	return 1;
}
