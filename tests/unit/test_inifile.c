/*
 * Unit tests for inifile.c, the INI reader of the configuration and the
 * filter files: every kind of line under each option (sections, keys,
 * separators, comments whole and inline, continuation lines), refusals
 * with their line numbers (no separator, no key, headers, long lines, NUL
 * and other control bytes), CRLF and the byte order mark, stopping from a
 * callback, and the stream reader giving what the buffer reader gives,
 * also on random bytes.  What conf.c and filter_load.c make of the items
 * is tested in test_conf.c and test_filter.c.
 */
#include "unit.h"

#include "../../src/inifile.c"

#include <sys/stat.h>

#include <fcntl.h>

/* A transcript of the callbacks: one line per item or refusal. */
struct rec {
	char	 out[65536];
	size_t	 len;
	int	 stop_at;	/* a callback at this line returns -1; 0: never */
};

static void
rec_add(struct rec *r, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(r->out + r->len, sizeof(r->out) - r->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(r->out) - r->len);
	r->len += (size_t)n;
}

static int
rec_item(void *arg, const struct inifile_item *item)
{
	struct rec	*r = arg;

	switch (item->type) {
	case INIFILE_SECTION:
		assert_null(item->value);
		if (item->name == NULL)
			rec_add(r, "%d S -\n", item->line);
		else
			rec_add(r, "%d S [%s]\n", item->line, item->name);
		break;
	case INIFILE_KEY:
		rec_add(r, "%d K <%s> <%s>\n", item->line, item->name,
		    item->value);
		break;
	case INIFILE_CONT:
		assert_null(item->name);
		rec_add(r, "%d C <%s>\n", item->line, item->value);
		break;
	}
	return item->line == r->stop_at ? -1 : 0;
}

static int
rec_error(void *arg, int line, const char *msg)
{
	struct rec	*r = arg;

	rec_add(r, "%d E %s\n", line, msg);
	return line == r->stop_at ? -1 : 0;
}

/* The formats of conf.c and filter_load.c, with short lines. */
static const struct inifile_ops conf_like = {
	.flags = INIFILE_COMMENTS | INIFILE_CONTINUE | INIFILE_COLON,
	.line_max = 20,
	.item = rec_item,
	.error = rec_error,
};
static const struct inifile_ops filter_like = {
	.flags = 0,
	.line_max = 64,
	.item = rec_item,
	.error = rec_error,
};

/* Reads len bytes of text through the buffer reader and through the
 * stream reader; the two transcripts must agree. */
static void
read_both(const struct inifile_ops *ops, const char *text, size_t len,
    struct rec *r)
{
	struct rec	 f;
	FILE		*fp;

	memset(r, 0, sizeof(*r));
	assert_int_equal(inifile_parse_buf(ops, text, len, r), 0);
	memset(&f, 0, sizeof(f));
	fp = tmpfile();
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	rewind(fp);
	assert_int_equal(inifile_parse_file(ops, fp, &f), 0);
	fclose(fp);
	if (strcmp(r->out, f.out) != 0)
		fail_msg("buffer:\n%sstream:\n%s", r->out, f.out);
}

/* text (a C string) read under ops must give exactly want. */
static void
expect(const struct inifile_ops *ops, const char *text, const char *want)
{
	struct rec	r;

	read_both(ops, text, strlen(text), &r);
	if (strcmp(r.out, want) != 0)
		fail_msg("for:\n%s\nwant:\n%sgot:\n%s", text, want, r.out);
}

static void
test_sections_keys(void **state)
{
	(void)state;
	expect(&conf_like, "", "");
	expect(&conf_like, "\n\n", "");
	expect(&conf_like,
	    "[global]\n"
	    "a = 1\n"
	    "[ spaced name ]  \n"
	    "b=2\n"
	    "c\t=\t  three words  \n"
	    "d =\n"
	    "[]\n",
	    "1 S [global]\n"
	    "2 K <a> <1>\n"
	    "3 S [ spaced name ]\n"
	    "4 K <b> <2>\n"
	    "5 K <c> <three words>\n"
	    "6 K <d> <>\n"
	    "7 S []\n");
	/* No newline after the last line. */
	expect(&conf_like, "[s]\nk = v", "1 S [s]\n2 K <k> <v>\n");
	/* The first separator ends the key; the value keeps the rest. */
	expect(&conf_like, "k = a=b:c\n", "1 K <k> <a=b:c>\n");
	expect(&conf_like, "k: a=b\n", "1 K <k> <a=b>\n");
	expect(&conf_like, "k:a = b\n", "1 K <k> <a = b>\n");
	expect(&filter_like, "k:a = b\n", "1 K <k:a> <b>\n");
	expect(&filter_like, "regex = ^(?<ip>\\S+):x=y$\n",
	    "1 K <regex> <^(?<ip>\\S+):x=y$>\n");
}

static void
test_comments(void **state)
{
	(void)state;
	expect(&conf_like,
	    "; one\n"
	    "# two\n"
	    "   ; three\n"
	    "\t# four\n"
	    "[s] ; five\n"
	    "a = 1 ; six\n"
	    "b = 1;2\n"
	    "c = 1\t;x\n"
	    "d =; x\n"
	    "e = ;x\n",
	    "5 S [s]\n"
	    "6 K <a> <1>\n"
	    "7 K <b> <1;2>\n"
	    "8 K <c> <1>\n"
	    "9 K <d> <; x>\n"
	    "10 K <e> <>\n");
	/* A comment hides a separator or a bracket. */
	expect(&conf_like, "x ;y = 1\n[s ; x]\n",
	    "1 E expected KEY = VALUE or [SECTION]\n"
	    "2 E section header without ']'\n"
	    "2 S -\n");
	/* No inline comments: a regex holds ';' and '#'. */
	expect(&filter_like,
	    "# whole\n"
	    "; whole\n"
	    "a = x ;y #z\n"
	    "[s] ; no\n",
	    "3 K <a> <x ;y #z>\n"
	    "4 E unexpected text after ']'\n"
	    "4 S -\n");
}

static void
test_continuation(void **state)
{
	(void)state;
	expect(&conf_like,
	    "[s]\n"
	    "  a = 1\n"		/* after a header: a key */
	    "  2, 3\n"
	    "\n"
	    "; between\n"
	    "\t4 ; four\n"
	    "b = x\n"
	    "  = y\n"		/* the caller decides what this means */
	    "  [t]\n",
	    "1 S [s]\n"
	    "2 K <a> <1>\n"
	    "3 C <2, 3>\n"
	    "6 C <4>\n"
	    "7 K <b> <x>\n"
	    "8 C <= y>\n"
	    "9 C <[t]>\n");
	/* An indented line at the start is a line of its own. */
	expect(&conf_like, "  k = v\n  w\n", "1 K <k> <v>\n2 C <w>\n");
	/* After a refused line, its continuations go with it, until a
	 * line that is not indented. */
	expect(&conf_like,
	    "[s]\n"
	    "junk\n"
	    "  more = 1\n"
	    "  [x]\n"
	    "k = v\n"
	    "  w\n",
	    "1 S [s]\n"
	    "2 E expected KEY = VALUE or [SECTION]\n"
	    "5 K <k> <v>\n"
	    "6 C <w>\n");
	expect(&conf_like, "[s\n  a = 1\n[t]\n  b = 2\n",
	    "1 E section header without ']'\n"
	    "1 S -\n"
	    "3 S [t]\n"
	    "4 K <b> <2>\n");
	/* Without INIFILE_CONTINUE an indented line stands alone. */
	expect(&filter_like, "a = 1\n  b = 2\n  c\n",
	    "1 K <a> <1>\n"
	    "2 K <b> <2>\n"
	    "3 E expected KEY = VALUE or [SECTION]\n");
}

static void
test_errors(void **state)
{
	(void)state;
	expect(&conf_like,
	    "[s]\n"
	    "just words\n"
	    "= v\n"
	    ": v\n"
	    "[t] x\n"
	    "k = v\n"
	    "[u]]\n"
	    "[v\n"
	    "l = w\n",
	    "1 S [s]\n"
	    "2 E expected KEY = VALUE or [SECTION]\n"
	    "3 E missing key before '='\n"
	    "4 E missing key before ':'\n"
	    "5 E unexpected text after ']'\n"
	    "5 S -\n"
	    "6 K <k> <v>\n"
	    "7 E unexpected text after ']'\n"
	    "7 S -\n"
	    "8 E section header without ']'\n"
	    "8 S -\n"
	    "9 K <l> <w>\n");
}

static void
test_long_lines(void **state)
{
	char	text[1024];

	(void)state;
	/* 20 characters fit, 21 do not; a CR does not count. */
	expect(&conf_like, "k = 1234567890123456\n",
	    "1 K <k> <1234567890123456>\n");
	expect(&conf_like, "k = 1234567890123456\r\n",
	    "1 K <k> <1234567890123456>\n");
	expect(&conf_like, "k = 12345678901234567\nl = 1\n",
	    "1 E line too long (at most 20 characters)\n"
	    "2 K <l> <1>\n");
	/* Blanks count too; the rest of a long line is no line. */
	snprintf(text, sizeof(text), "%300s = x\nk = 1 ; %300s\nm = 2",
	    "n", "c");
	expect(&conf_like, text,
	    "1 E line too long (at most 20 characters)\n"
	    "2 E line too long (at most 20 characters)\n"
	    "3 K <m> <2>\n");
	/* A long header ends the section before it. */
	expect(&conf_like, "[s]\n[a very long section name]\nk = 1\n",
	    "1 S [s]\n"
	    "2 E line too long (at most 20 characters)\n"
	    "2 S -\n"
	    "3 K <k> <1>\n");
	/* Long at the end, without a newline. */
	expect(&conf_like, "k = 1\n; 345678901234567890123",
	    "1 K <k> <1>\n"
	    "2 E line too long (at most 20 characters)\n");
	/* Continuations of a long line are dropped with it. */
	expect(&conf_like, "k = 12345678901234567\n  2\nl = 1\n",
	    "1 E line too long (at most 20 characters)\n"
	    "3 K <l> <1>\n");
}

static void
test_bytes(void **state)
{
	static const char nul[] = "a = 1\nb = x\0y\n[s\0]\nc = 3\n";
	struct rec	r;
	int		i;

	(void)state;
	/* The same in both formats; a header with one ends its section. */
	for (i = 0; i < 2; i++) {
		read_both(i ? &filter_like : &conf_like, nul, sizeof(nul) - 1,
		    &r);
		assert_string_equal(r.out,
		    "1 K <a> <1>\n"
		    "2 E NUL byte (not a text file?)\n"
		    "3 E NUL byte (not a text file?)\n"
		    "3 S -\n"
		    "4 K <c> <3>\n");
	}
	expect(&conf_like, "a = \x1b[0m\nb = \x7f\nc = 1\rd = 2\nd = \x01\n",
	    "1 E invalid byte 0x1b (not a text file?)\n"
	    "2 E invalid byte 0x7f (not a text file?)\n"
	    "3 E invalid byte 0x0d (not a text file?)\n"
	    "4 E invalid byte 0x01 (not a text file?)\n");
	/* Tabs and UTF-8 are text; bytes above 0x7f are not checked. */
	expect(&filter_like, "a =\tx\ty\nb = \xc3\xa9t\xc3\xa9\nc = \xff\n",
	    "1 K <a> <x\ty>\n"
	    "2 K <b> <\xc3\xa9t\xc3\xa9>\n"
	    "3 K <c> <\xff>\n");
}

static void
test_crlf_bom(void **state)
{
	(void)state;
	expect(&conf_like, "[s]\r\na = 1 \r\n\r\n  2\r\n; c\r\n",
	    "1 S [s]\n"
	    "2 K <a> <1>\n"
	    "4 C <2>\n");
	/* One CR at the end only. */
	expect(&conf_like, "a = 1\r\r\n",
	    "1 E invalid byte 0x0d (not a text file?)\n");
	expect(&filter_like, "a = 1\r", "1 K <a> <1>\n");
	/* A byte order mark before the first line, and only there. */
	expect(&conf_like, "\xef\xbb\xbf[s]\r\n\xef\xbb\xbf[t]\n",
	    "1 S [s]\n"
	    "2 E expected KEY = VALUE or [SECTION]\n");
	expect(&conf_like, "\xef\xbb\xbf", "");
}

/* Reads text through the buffer reader, or the stream reader, with
 * callbacks that stop at line stop_at; returns the transcript. */
static const char *
read_stop(struct rec *r, const char *text, int stop_at, int stream)
{
	FILE	*fp;

	memset(r, 0, sizeof(*r));
	r->stop_at = stop_at;
	if (!stream) {
		assert_int_equal(inifile_parse_buf(&conf_like, text,
		    strlen(text), r), 0);
		return r->out;
	}
	fp = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	assert_non_null(fp);
	assert_int_equal(inifile_parse_file(&conf_like, fp, r), 0);
	fclose(fp);
	return r->out;
}

static void
test_stop(void **state)
{
	static const char	 text[] = "a = 1\nb\nc = 3\nd = 4\n";
	struct rec		 r;
	int			 stream;

	(void)state;
	for (stream = 0; stream < 2; stream++) {
		/* An item callback stops it... */
		assert_string_equal(read_stop(&r, text, 3, stream),
		    "1 K <a> <1>\n"
		    "2 E expected KEY = VALUE or [SECTION]\n"
		    "3 K <c> <3>\n");
		/* ... and so does an error callback. */
		assert_string_equal(read_stop(&r, text, 2, stream),
		    "1 K <a> <1>\n"
		    "2 E expected KEY = VALUE or [SECTION]\n");
		/* A refused header that stops does not end its section. */
		assert_string_equal(read_stop(&r, "[s\n", 1, stream),
		    "1 E section header without ']'\n");
	}
}

static void
test_read_error(void **state)
{
	struct rec	 r;
	FILE		*fp;

	(void)state;
	memset(&r, 0, sizeof(r));
	fp = fopen("/", "re");
	assert_non_null(fp);
	errno = 0;
	assert_int_equal(inifile_parse_file(&conf_like, fp, &r), -1);
	assert_int_equal(errno, EISDIR);
	assert_string_equal(r.out, "");
	fclose(fp);
}

/* Random bytes, mostly of the characters that matter: the two readers
 * agree, every item comes in line order, and nothing breaks. */
static void
test_random(void **state)
{
	static const char	 alphabet[] = "[]=:;# \t\r\nab\0\x1b\xef\xbb\xbf";
	char			 text[600];
	const char		*p;
	struct rec		 r;
	int			 line, last;
	uint64_t		 x = 0x9e3779b97f4a7c15ULL;
	size_t			 i, len;
	int			 round;

	(void)state;
	for (round = 0; round < 3000; round++) {
		len = (size_t)(round % (int)sizeof(text));
		for (i = 0; i < len; i++) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			text[i] = alphabet[((x * 0x2545f4914f6cdd1dULL) >> 32) %
			    (sizeof(alphabet) - 1)];
		}
		read_both(round % 2 ? &conf_like : &filter_like, text, len,
		    &r);
		for (p = r.out, last = 0; *p != '\0'; p = strchr(p, '\n') + 1) {
			line = (int)strtol(p, NULL, 10);
			assert_true(line >= last && line >= 1);
			last = line;
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_keys),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_crlf_bom),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests_name("inifile", tests, NULL, NULL);
}
