/*
 * The INI reader of the configuration and of the filter files: splits text
 * into section headers and "key = value" lines, each with its line number,
 * and reports what it cannot read as "message" for one line.  What the
 * sections and keys mean is the caller's.
 */
#ifndef INIFILE_H
#define INIFILE_H

#include <stddef.h>
#include <stdio.h>

/* Options of a format (struct inifile_ops.flags). */
#define INIFILE_COMMENTS	0x1	/* ';' after a blank starts a comment */
#define INIFILE_CONTINUE	0x2	/* an indented line continues a value */
#define INIFILE_COLON		0x4	/* ':' separates key and value too */

enum inifile_type {
	INIFILE_SECTION,	/* "[name]"; name NULL: a header the reader
				 * refused (reported): no section is current */
	INIFILE_KEY,		/* "name = value" */
	INIFILE_CONT		/* value: an indented line adding to the last
				 * key's (INIFILE_CONTINUE only) */
};

/* One line read; the strings live until the callback returns. */
struct inifile_item {
	enum inifile_type type;
	int		 line;		/* from 1 */
	const char	*name;		/* SECTION (between the brackets, as
					 * written), KEY (blanks trimmed) */
	const char	*value;		/* KEY, CONT: blanks trimmed */
};

struct inifile_ops {
	int		 flags;		/* INIFILE_* */
	size_t		 line_max;	/* characters a line holds at most,
					 * without its newline; > 0 */
	/* Each item in file order; the error callback gets a line the
	 * reader refused, with why.  Either returns 0 to go on, -1 to stop
	 * reading. */
	int		(*item)(void *arg, const struct inifile_item *);
	int		(*error)(void *arg, int line, const char *msg);
};

/*
 * Reads len bytes at buf (no NUL needed), or a stream to its end, calling
 * ops's callbacks with arg.  Returns 0 when the input is read or a
 * callback stopped it, -1 with errno set if the stream could not be read.
 */
int	 inifile_parse_buf(const struct inifile_ops *ops, const char *buf,
	    size_t len, void *arg);
int	 inifile_parse_file(const struct inifile_ops *ops, FILE *fp,
	    void *arg);

#endif /* INIFILE_H */
