/*
 * INI files, read line by line: the configuration (conf.c) and the filters
 * (filter_load.c) both go through here, so both count lines, refuse
 * garbage and word those refusals the same way.
 *
 * After its leading and trailing blanks a line is empty or a comment (';'
 * or '#' first), a section header "[name]", "key = value", or, where the
 * format allows it (INIFILE_CONTINUE), an indented line that adds to the
 * value of the key above it, as Python's configparser reads it; blank and
 * comment lines between do not end such a value.  With INIFILE_COMMENTS a
 * ';' after a blank starts a comment wherever it is, so "a;b" is a value
 * and "a ;b" is "a", and a header or a key hidden by one is not there
 * ("[global ; x]" has no ']'); the filters leave it off, since their
 * regexes hold ';' and '#'.  A key ends at the first '=' (or ':', with
 * INIFILE_COLON), so the value may hold more of either.
 *
 * Refused, each reported with its line number while reading goes on: a
 * line longer than ops->line_max characters, a byte no text file holds (a
 * control character other than a tab; a CR only as the last byte, from
 * CRLF), a header without its ']' or with text after it, a line that is
 * none of the above.  A refused line that starts with '[' was meant as a
 * header, so it still ends the section before it (an item with name NULL)
 * rather than lend that section its keys; indented lines after a refused
 * line continue what was refused and are dropped without a word.  A UTF-8
 * byte order mark before the first line is skipped.
 *
 * Bounded whatever the input: one scratch line of line_max + 3 bytes per
 * parse (no more than the buffer, for a buffer); a longer line is read
 * through to its newline without being kept.  Nothing is kept across
 * lines but the line number and what an indented line would continue.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inifile.h"
#include "log.h"
#include "xmalloc.h"

/* What an indented line means (INIFILE_CONTINUE): it depends on the last
 * line that was neither blank nor a comment. */
enum inifile_after {
	INIFILE_A_NONE,		/* a header, or nothing: a line of its own */
	INIFILE_A_KEY,		/* a key or its continuation: continues it */
	INIFILE_A_REFUSED	/* a refused line: dropped with it */
};

struct inifile {
	const struct inifile_ops *ops;
	void		*arg;
	char		*line;		/* scratch: cap bytes and a NUL */
	size_t		 cap;
	int		 lineno;
	enum inifile_after after;
	int		 stop;		/* a callback said so */
};

static void
inifile_init(struct inifile *r, const struct inifile_ops *ops, void *arg,
    size_t cap)
{
	if (ops->line_max == 0 || ops->line_max > SIZE_MAX / 4)
		fatalx("%s: line_max %zu", __func__, ops->line_max);
	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->arg = arg;
	r->cap = cap;
	r->line = xmalloc(cap + 1);
}

static int
inifile_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void
inifile_emit(struct inifile *r, enum inifile_type type, const char *name,
    const char *value)
{
	struct inifile_item	item;

	if (r->stop)
		return;
	item.type = type;
	item.line = r->lineno;
	item.name = name;
	item.value = value;
	if (r->ops->item(r->arg, &item) == -1)
		r->stop = 1;
}

/* Reports the line at s as refused; a would-be header ends its section. */
static void
inifile_refuse(struct inifile *r, const char *s, const char *fmt, ...)
{
	char	msg[128];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->ops->error(r->arg, r->lineno, msg) == -1)
		r->stop = 1;
	if (s[strspn(s, " \t")] == '[')
		inifile_emit(r, INIFILE_SECTION, NULL, NULL);
	r->after = INIFILE_A_REFUSED;
}

/* "[name]" at s, blanks and comment already trimmed. */
static void
inifile_section(struct inifile *r, char *s)
{
	char	*end;

	if ((end = strchr(s + 1, ']')) == NULL) {
		inifile_refuse(r, s, "section header without ']'");
		return;
	}
	if (end[1 + strspn(end + 1, " \t")] != '\0') {
		inifile_refuse(r, s, "unexpected text after ']'");
		return;
	}
	*end = '\0';
	inifile_emit(r, INIFILE_SECTION, s + 1, NULL);
	r->after = INIFILE_A_NONE;
}

/* "key = value" at s, blanks and comment already trimmed. */
static void
inifile_key(struct inifile *r, char *s)
{
	char	*sep, *end;

	sep = s + strcspn(s, (r->ops->flags & INIFILE_COLON) ? "=:" : "=");
	if (*sep == '\0') {
		inifile_refuse(r, s, "expected KEY = VALUE or [SECTION]");
		return;
	}
	for (end = sep; end > s && inifile_blank(end[-1]); end--)
		;
	if (end == s) {
		inifile_refuse(r, s, "missing key before '%c'", *sep);
		return;
	}
	*end = '\0';
	sep++;
	inifile_emit(r, INIFILE_KEY, s, sep + strspn(sep, " \t"));
	r->after = INIFILE_A_KEY;
}

/*
 * The line in r->line: len bytes kept, and over if more were cut off (it
 * is too long then, whatever they were).
 */
static void
inifile_line(struct inifile *r, size_t len, int over)
{
	char		*line = r->line, *s;
	size_t		 i;
	unsigned char	 c;

	r->lineno++;
	line[len] = '\0';
	if (r->lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) ==
	    0) {
		line += 3;
		len -= 3;
	}
	if (!over && len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (over || len > r->ops->line_max) {
		inifile_refuse(r, line, "line too long (at most %zu "
		    "characters)", r->ops->line_max);
		return;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)line[i];
		if (c == '\0') {
			inifile_refuse(r, line, "NUL byte (not a text file?)");
			return;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			inifile_refuse(r, line, "invalid byte 0x%02x (not a "
			    "text file?)", c);
			return;
		}
	}
	if (r->ops->flags & INIFILE_COMMENTS) {
		for (i = 1; i < len; i++) {
			if (line[i] == ';' && inifile_blank(line[i - 1])) {
				line[i] = '\0';
				len = i;
				break;
			}
		}
	}
	while (len > 0 && inifile_blank(line[len - 1]))
		line[--len] = '\0';
	s = line + strspn(line, " \t");
	if (*s == '\0' || *s == ';' || *s == '#')
		return;

	if ((r->ops->flags & INIFILE_CONTINUE) && s > line &&
	    r->after != INIFILE_A_NONE) {
		if (r->after == INIFILE_A_KEY)
			inifile_emit(r, INIFILE_CONT, NULL, s);
		return;
	}
	if (*s == '[')
		inifile_section(r, s);
	else
		inifile_key(r, s);
}

int
inifile_parse_buf(const struct inifile_ops *ops, const char *buf, size_t len,
    void *arg)
{
	struct inifile	 r;
	const char	*p, *nl, *end = buf + len;
	size_t		 n;

	/* A line kept whole needs line_max, a CR and one more to tell that
	 * it is too long; no line is longer than the buffer. */
	inifile_init(&r, ops, arg, len < ops->line_max + 2 ? len :
	    ops->line_max + 2);
	for (p = buf; p < end && !r.stop; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		memcpy(r.line, p, n > r.cap ? r.cap : n);
		inifile_line(&r, n > r.cap ? r.cap : n, n > r.cap);
	}
	free(r.line);
	return 0;
}

int
inifile_parse_file(const struct inifile_ops *ops, FILE *fp, void *arg)
{
	struct inifile	 r;
	size_t		 len;
	int		 c, over, saved;

	inifile_init(&r, ops, arg, ops->line_max + 2);
	while (!r.stop) {
		len = 0;
		over = 0;
		while ((c = getc(fp)) != EOF && c != '\n') {
			if (len < r.cap)
				r.line[len++] = (char)c;
			else
				over = 1;
		}
		if (c == EOF && ferror(fp)) {
			saved = errno;
			free(r.line);
			errno = saved;
			return -1;
		}
		if (c == EOF && len == 0 && !over)
			break;
		inifile_line(&r, len, over);
		if (c == EOF)
			break;
	}
	free(r.line);
	return 0;
}
