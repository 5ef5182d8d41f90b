/*
 * filter_scan()'s single pass (filter_mscan_*): each line's end and the
 * bitmask of the literals it holds, against memmem(3) line by line, on
 * hand-made edges (a literal at a line's start or end, across a newline,
 * across 16-byte blocks, in the unfinished last line) and on
 * random buffers; and when the pass stays off (too many rare bytes, a
 * restricted filter), with the same events either way.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/filter_scan.c"
#include "unit_filter.h"

static const char filt[] =
    "[filter]\nname = s\ntime = none\n"
    "prefilter = Failed\nprefilter = Accepted\n"
    "[pattern fail]\nkind = auth_fail\nliteral = Failed auth\n"
    "regex = Failed auth from (?<ip>\\S+)$\n"
    "[pattern ok]\nkind = auth_ok\nliteral = Accepted\n"
    "regex = Accepted (?<user>\\S+) from (?<ip>\\S+)$\n"
    "[pattern odd]\nkind = auth_fail\nliteral = zq\n"
    "regex = Failed zq (?<ip>\\S+)$\n"
    "[pattern late]\nkind = auth_fail\nliteral = late}q\n"
    "regex = late}q (?<ip>\\S+)$\n";

/* The mask memmem(3) gives the line [ls, le). */
static uint64_t
slow_mask(const struct filter_mscan *m, const char *ls, const char *le)
{
	uint64_t	mask = 0;
	size_t		i;

	for (i = 0; i < m->nlit; i++)
		if (memmem(ls, (size_t)(le - ls), m->lit[i]->s,
		    m->lit[i]->len) != NULL)
			mask |= (uint64_t)1 << i;
	return mask;
}

/* Every line of buf: the pass and the slow way agree; returns lines. */
static size_t
check_buf(const struct filter_mscan *m, const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len, *le, *nl;
	uint64_t	 mask;
	size_t		 n = 0;

	while (p < end) {
		le = filter_mscan_line(m, p, end, &mask);
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		assert_ptr_equal(le, nl);
		assert_int_equal(mask, slow_mask(m, p, le));
		n++;
		p = le < end ? le + 1 : end;
	}
	return n;
}

static uint64_t
bit(const struct filter_mscan *m, const char *lit)
{
	size_t	i;

	for (i = 0; i < m->nlit; i++)
		if (strcmp(m->lit[i]->s, lit) == 0)
			return (uint64_t)1 << i;
	fail_msg("no literal %s", lit);
	return 0;
}

static void
test_mscan_setup(void **state)
{
	struct filter	*f;

	(void)state;
	f = load_str(filt);
	assert_true(f->ms.on);
	/* "Failed auth" is new, "Accepted" is the prefilter's own. */
	assert_int_equal(f->ms.nlit, 5);
	/* One key byte past a literal's start, for the edges below: the
	 * pair "}q" of "late}q", not its rarest byte. */
	assert_int_equal(f->ms.off[4], 4);
	assert_int_equal(filter_mscan_key(f->ms.lit[4], f->rank, 0),
	    f->ms.lit[4]->rare);
	assert_int_equal(f->ms.premask,
	    bit(&f->ms, "Failed") | bit(&f->ms, "Accepted"));
	assert_int_equal(f->ms.scanmask, f->ms.premask);
	assert_int_equal(f->pat[1].litbit, bit(&f->ms, "Accepted"));
	assert_int_equal(f->pat[0].litbit, bit(&f->ms, "Failed auth"));
	filter_free(f);
}

/* Pairs whose first bytes are too many: the rare bytes, one here. */
static void
test_mscan_pairs_fallback(void **state)
{
	char		 text[2048], *t = text;
	const char	*p;
	struct filter	*f;
	size_t		 i;
	int		 c;

	(void)state;
	t += sprintf(t, "[filter]\nname = s\ntime = none\n");
	for (c = 'a'; c <= 'm'; c++)
		t += sprintf(t, "[pattern %c]\nkind = auth_fail\n"
		    "literal = %c{\nregex = %c\\{(?<ip>\\S+)$\n", c, c, c);
	f = load_str(text);
	assert_true(f->ms.on);
	assert_int_equal(f->ms.nlit, 13);
	assert_int_equal(f->ms.nbyte, 1);
	for (i = 0; i < f->ms.nlit; i++)
		assert_int_equal(f->ms.off[i], 1);
	p = "0123456789abcdefa{ 0123456789abcdef0123456789abcdef m{2 b{\n"
	    "{{a{\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxl{\n";
	assert_int_equal(check_buf(&f->ms, p, strlen(p)), 3);
	filter_free(f);
}

static void
test_mscan_edges(void **state)
{
	static const char *const bufs[] = {
		"",
		"\n",
		"\n\n\n",
		"Failed auth",
		"Failed auth\n",
		"xFailed aut\nh Accepted",
		"0123456789abcdeFailed auth from 1\nzq",
		"0123456789abcdefghijklmnopqrstuvwxyzFailed auth\nAccepted",
		"Failed\nAccepte\nd Accepted zq zq Failed auth Failed "
		    "auth 0123456789abcdef0123456789abcdef zq\n",
		"z\nq\nzzqq Fail\ned auth",
		"0123456789abcdeFailed auth0123456789abcdefAccepted",
		"0123456789abcdefghijklmnoFailed",
		"late}q 1\nlate}q late}",
		"0123456789abcdelate}q\nxlate}qlate}q",
		"0123456789abcdef0123456789abcdeFailed auth 0123456789abcdef"
		    "0123456789abcdef0123456789late}q\nzq",
	};
	struct filter	*f;
	const char	*b;
	uint64_t	 mask;
	size_t		 i, k;
	int		 avx2;

	(void)state;
	f = load_str(filt);
	avx2 = f->ms.avx2;
	/* From every offset: a line never takes a literal that starts
	 * before it. */
	for (i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		for (k = 0; k <= strlen(bufs[i]); k++) {
			f->ms.avx2 = avx2;
			(void)check_buf(&f->ms, bufs[i] + k,
			    strlen(bufs[i]) - k);
			f->ms.avx2 = 0;
			(void)check_buf(&f->ms, bufs[i] + k,
			    strlen(bufs[i]) - k);
		}
	f->ms.avx2 = avx2;
	/* By hand: a literal split by a newline is in neither line. */
	b = "aaaaaaaaaaaaaaaFailed au\nth zq";
	assert_ptr_equal(filter_mscan_line(&f->ms, b, b + strlen(b), &mask),
	    b + 24);
	assert_int_equal(mask, bit(&f->ms, "Failed"));
	b += 25;
	assert_ptr_equal(filter_mscan_line(&f->ms, b, b + strlen(b), &mask),
	    b + strlen(b));
	assert_int_equal(mask, bit(&f->ms, "zq"));
	filter_free(f);
}

/* Random buffers of literal pieces, noise and newlines. */
static void
test_mscan_random(void **state)
{
	static const char *const piece[] = {
		"Failed", " auth", "Fail", "ed", "Accepted", "Accept", "z",
		"q", "zq", "\n", "\n", " ", "0123456789abcdef", "x", "F", "A",
		"\xff", "Failed auth", "d auth", "late}q", "late", "}q"
	};
	struct filter	*f;
	char		 buf[4096];
	size_t		 len, n, i, lines = 0;
	unsigned int	 seed = 16;
	int		 avx2;

	(void)state;
	f = load_str(filt);
	avx2 = f->ms.avx2;
	for (i = 0; i < 2000; i++) {
		len = 0;
		n = (size_t)rand_r(&seed) % 300;
		while (n-- > 0) {
			const char *s = piece[(size_t)rand_r(&seed) %
			    (sizeof(piece) / sizeof(piece[0]))];
			if (len + strlen(s) > sizeof(buf))
				break;
			memcpy(buf + len, s, strlen(s));
			len += strlen(s);
		}
		/* From two starts, so the tail loop is walked too; with
		 * AVX2 (where the CPU has it) and without. */
		f->ms.avx2 = avx2;
		lines += check_buf(&f->ms, buf, len);
		if (len > 2)
			(void)check_buf(&f->ms, buf + 2, len - 2);
		f->ms.avx2 = 0;
		(void)check_buf(&f->ms, buf, len);
		if (len > 2)
			(void)check_buf(&f->ms, buf + 2, len - 2);
	}
	assert_true(lines > 10000);
	filter_free(f);
}

/*
 * Events and counts of filter_scan() on buf, the pass on or off, equal:
 * the pass is only a faster way to the same lines.
 */
static void
same_scan(const char *text, const char *buf, int want_on)
{
	struct filter	*a, *b;
	uint64_t	 la, lb;

	a = load_str(text);
	b = load_str(text);
	assert_int_equal(a->ms.on, want_on);
	b->ms.on = 0;
	la = filter_scan(a, buf, strlen(buf), 0, NULL, NULL);
	lb = filter_scan(b, buf, strlen(buf), 0, NULL, NULL);
	assert_int_equal(la, lb);
	assert_int_equal(filter_stats(a)->lines, filter_stats(b)->lines);
	assert_int_equal(filter_stats(a)->prefiltered,
	    filter_stats(b)->prefiltered);
	assert_int_equal(filter_stats(a)->matched, filter_stats(b)->matched);
	assert_int_equal(filter_stats(a)->matched, 3);
	assert_int_equal(a->pat[2].st.tried, b->pat[2].st.tried);
	filter_free(a);
	filter_free(b);
}

static void
test_mscan_same_events(void **state)
{
	static const char buf[] =
	    "noise\nFailed auth from 192.0.2.1\nAccepted bob from 192.0.2.2"
	    "\nFailed zq 192.0.2.3\nzq\nAccepted\nFailed auth from\n"
	    "Failed auth from 192.0.2.4 trailing";
	static const char many[] =
	    "[filter]\nname = m\ntime = none\n"
	    "[pattern a]\nkind = auth_fail\nliteral = Failed auth\n"
	    "regex = Failed auth from (?<ip>\\S+)$\n"
	    "[pattern b]\nkind = auth_ok\nliteral = Accepted\n"
	    "regex = Accepted (?<user>\\S+) from (?<ip>\\S+)$\n"
	    "[pattern c]\nkind = auth_fail\nliteral = zq\n"
	    "regex = Failed zq (?<ip>\\S+)$\n"
	    "[pattern d]\nkind = auth_fail\nliteral = K\n"
	    "regex = ^K(?<ip>\\S+)$\n"
	    "[pattern e]\nkind = auth_fail\nliteral = L\n"
	    "regex = ^L(?<ip>\\S+)$\n"
	    "[pattern f]\nkind = auth_fail\nliteral = M\n"
	    "regex = ^M(?<ip>\\S+)$\n"
	    "[pattern g]\nkind = auth_fail\nliteral = N\n"
	    "regex = ^N(?<ip>\\S+)$\n"
	    "[pattern h]\nkind = auth_fail\nliteral = P\n"
	    "regex = ^P(?<ip>\\S+)$\n"
	    "[pattern i]\nkind = auth_fail\nliteral = R\n"
	    "regex = ^R(?<ip>\\S+)$\n"
	    "[pattern j]\nkind = auth_fail\nliteral = S\n"
	    "regex = ^S(?<ip>\\S+)$\n"
	    "[pattern k]\nkind = auth_fail\nliteral = T\n"
	    "regex = ^T(?<ip>\\S+)$\n"
	    "[pattern l]\nkind = auth_fail\nliteral = U\n"
	    "regex = ^U(?<ip>\\S+)$\n"
	    "[pattern m]\nkind = auth_fail\nliteral = V\n"
	    "regex = ^V(?<ip>\\S+)$\n";
	struct filter	*f;

	(void)state;
	same_scan(filt, buf, 1);
	/* Thirteen rare bytes: more than the pass compares. */
	same_scan(many, buf, 0);
	/* Restricted: each literal on its own, memchr(3) between them. */
	f = load_str(filt);
	assert_int_equal(filter_restrict(f, EVENT_AUTH_OK), 0);
	assert_false(f->ms.on);
	assert_int_equal(filter_scan(f, buf, strlen(buf), 0, NULL, NULL), 8);
	assert_int_equal(filter_stats(f)->matched, 1);
	filter_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mscan_setup),
		cmocka_unit_test(test_mscan_pairs_fallback),
		cmocka_unit_test(test_mscan_edges),
		cmocka_unit_test(test_mscan_random),
		cmocka_unit_test(test_mscan_same_events),
	};

	return cmocka_run_group_tests_name("filter_scan", tests, NULL, NULL);
}
