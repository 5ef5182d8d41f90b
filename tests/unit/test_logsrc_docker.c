/*
 * Unit tests for decoding docker's json-file records: good lines, escapes
 * (a NUL inside a line), lines cut into pieces, over-long lines, garbage,
 * and RFC 3339 times.
 */
#include "unit.h"

#include "../../src/logsrc_docker.c"

#define T0	INT64_C(1709642096123456)	/* 2024-03-05T12:34:56.123456Z */

static enum logsrc_docker_rc
dec(struct logsrc_docker *d, const char *rec, const char **line, size_t *len,
    int64_t *t)
{
	return logsrc_docker_decode(d, rec, strlen(rec), line, len, t);
}

static void
test_good(void **state)
{
	struct logsrc_docker	*d = logsrc_docker_new(64);
	const char		*line;
	size_t			 len;
	int64_t			 t;

	(void)state;
	assert_int_equal(dec(d, "{\"log\":\"c2s1\\tinfo\\tFailed\\n\","
	    "\"stream\":\"stdout\",\"time\":\"2024-03-05T12:34:56."
	    "123456789Z\"}", &line, &len, &t), LOGSRC_DOCKER_LINE);
	assert_int_equal(len, 16);
	assert_memory_equal(line, "c2s1\tinfo\tFailed", 16);
	assert_int_equal(t, T0);
	/* No time: -1, the reader's clock then. */
	assert_int_equal(dec(d, "{\"log\":\"x\\n\"}", &line, &len, &t),
	    LOGSRC_DOCKER_LINE);
	assert_int_equal(len, 1);
	assert_int_equal(t, -1);
	/* An empty line is a line. */
	assert_int_equal(dec(d, "{\"log\":\"\\n\",\"time\":\"bad\"}", &line,
	    &len, &t), LOGSRC_DOCKER_LINE);
	assert_int_equal(len, 0);
	assert_int_equal(t, -1);
	logsrc_docker_free(d);
}

static void
test_escapes(void **state)
{
	struct logsrc_docker	*d = logsrc_docker_new(64);
	const char		*line;
	size_t			 len;
	int64_t			 t;

	(void)state;
	/* \n inside, \u0000, \", \\ and a non-ASCII character. */
	assert_int_equal(dec(d, "{\"log\":\"a\\nb\\u0000c\\\"d\\\\e\\u00e9\\n\"}",
	    &line, &len, &t), LOGSRC_DOCKER_LINE);
	assert_int_equal(len, 11);
	assert_memory_equal(line, "a\nb\0c\"d\\e\xc3\xa9", 11);
	logsrc_docker_free(d);
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {
		"", "garbage", "{", "{\"log\":", "[\"log\"]", "\"log\"", "42",
		"{\"stream\":\"stdout\"}", "{\"log\":42}", "{\"log\":null}",
		"{\"log\":[\"x\"]}", "{\"log\":\"x\\n\"} trailing",
		"{\"log\":\"\\ud800\"}", "{\"log\":\"x\xff\\n\"}",
	};
	struct logsrc_docker	*d = logsrc_docker_new(64);
	const char		*line;
	size_t			 len, i;
	int64_t			 t;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dec(d, bad[i], &line, &len, &t),
		    LOGSRC_DOCKER_BAD);
	/* Binary bytes, NUL included, as a record. */
	assert_int_equal(logsrc_docker_decode(d, "{\0\"log\"}", 8, &line,
	    &len, &t), LOGSRC_DOCKER_BAD);
	/* And a good one still decodes after them. */
	assert_int_equal(dec(d, "{\"log\":\"ok\\n\"}", &line, &len, &t),
	    LOGSRC_DOCKER_LINE);
	assert_int_equal(len, 2);
	logsrc_docker_free(d);
}

static void
test_pieces(void **state)
{
	struct logsrc_docker	*d = logsrc_docker_new(8);
	const char		*line;
	size_t			 len;
	int64_t			 t;

	(void)state;
	/* Joined, with the first piece's time. */
	assert_int_equal(dec(d, "{\"log\":\"abc\",\"time\":"
	    "\"2024-03-05T12:34:56.123456Z\"}", &line, &len, &t),
	    LOGSRC_DOCKER_PARTIAL);
	assert_int_equal(dec(d, "{\"log\":\"def\\n\",\"time\":"
	    "\"2024-03-05T12:35:00Z\"}", &line, &len, &t), LOGSRC_DOCKER_LINE);
	assert_int_equal(len, 6);
	assert_memory_equal(line, "abcdef", 6);
	assert_int_equal(t, T0);
	/* Exactly maxline fits. */
	assert_int_equal(dec(d, "{\"log\":\"12345678\\n\"}", &line, &len, &t),
	    LOGSRC_DOCKER_LINE);
	assert_int_equal(len, 8);
	/* One more: counted once, the rest of its pieces skipped. */
	assert_int_equal(dec(d, "{\"log\":\"12345\"}", &line, &len, &t),
	    LOGSRC_DOCKER_PARTIAL);
	assert_int_equal(dec(d, "{\"log\":\"6789\"}", &line, &len, &t),
	    LOGSRC_DOCKER_TOOLONG);
	assert_int_equal(dec(d, "{\"log\":\"more\"}", &line, &len, &t),
	    LOGSRC_DOCKER_PARTIAL);
	assert_int_equal(dec(d, "{\"log\":\"end\\n\"}", &line, &len, &t),
	    LOGSRC_DOCKER_PARTIAL);
	assert_int_equal(dec(d, "{\"log\":\"next\\n\"}", &line, &len, &t),
	    LOGSRC_DOCKER_LINE);
	assert_memory_equal(line, "next", 4);
	/* A whole huge line in one record. */
	assert_int_equal(dec(d, "{\"log\":\"0123456789\\n\"}", &line, &len,
	    &t), LOGSRC_DOCKER_TOOLONG);
	assert_int_equal(dec(d, "{\"log\":\"x\\n\"}", &line, &len, &t),
	    LOGSRC_DOCKER_LINE);
	logsrc_docker_free(d);
}

static void
test_huge(void **state)
{
	struct logsrc_docker	*d = logsrc_docker_new(16 * 1024);
	const char		*line;
	size_t			 len, n = 1024 * 1024, i;
	int64_t			 t;
	char			*rec;

	(void)state;
	/* A megabyte of escapes: skipped, never held. */
	rec = xmalloc(n * 6 + 32);
	len = (size_t)sprintf(rec, "{\"log\":\"");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(rec + len, "\\u0000");
	len += (size_t)sprintf(rec + len, "\\n\"}");
	assert_int_equal(logsrc_docker_decode(d, rec, len, &line, &len, &t),
	    LOGSRC_DOCKER_TOOLONG);
	free(rec);
	assert_true(logsrc_docker_record_max(16 * 1024) >= 6 * 16 * 1024);
	logsrc_docker_free(d);
}

static void
test_time(void **state)
{
	(void)state;
#define TM(s)	logsrc_docker_time(s, strlen(s))
	assert_int_equal(TM("2024-03-05T12:34:56.123456789Z"), T0);
	assert_int_equal(TM("2024-03-05T12:34:56.123456Z"), T0);
	assert_int_equal(TM("2024-03-05T12:34:56Z"), T0 - 123456);
	assert_int_equal(TM("2024-03-05T13:34:56.123456+01:00"), T0);
	assert_int_equal(TM("2024-03-05T11:04:56.123456-01:30"), T0);
	assert_int_equal(TM("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(TM("2024-03-05T12:34:56"), -1);
	assert_int_equal(TM("2024-03-05T12:34:56.Z"), -1);
	assert_int_equal(TM("2024-13-05T12:34:56Z"), -1);
	assert_int_equal(TM("2024-03-05X12:34:56Z"), -1);
	assert_int_equal(TM("2024-03-05T12:34:56+0100"), -1);
	assert_int_equal(TM("2024-03-05T12:34:56Zjunk"), -1);
	assert_int_equal(TM(""), -1);
	assert_int_equal(TM("x"), -1);
#undef TM
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
