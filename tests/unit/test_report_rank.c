/*
 * The report's ranking (report_rank.c): the score, a top list that keeps
 * the best `top` of many addresses in order whatever order they come in,
 * ties broken by score then address, each --sort key, and the near list
 * (70% of a limit or more, never a banned address) by share.
 */
#include "unit.h"

#include "../../src/report_rank.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP	3

struct rank {
	struct report		r;
	struct report_addr	tops[TOP], near[TOP];
};

static void
rank_init(struct rank *k, enum report_sort sort)
{
	memset(k, 0, sizeof(*k));
	k->r.top = TOP;
	k->r.sort = sort;
	k->r.tops = k->tops;
	k->r.near = k->near;
}

/* An address with conns, a share of a limit and bans. */
static void
rank_add(struct rank *k, const char *addr, uint64_t conns, double share,
    uint64_t bans)
{
	struct report_addr	a;

	memset(&a, 0, sizeof(a));
	snprintf(a.addr, sizeof(a.addr), "%s", addr);
	a.c.conns = conns;
	a.c.short_lived = conns / 2;
	a.bans = bans;
	if (share > 0) {
		a.lim.name = "max_new";
		a.lim.share = share;
	}
	report_rank_add(&k->r, &a);
}

static void
test_score_top(void **state)
{
	struct rank	k;
	char		addr[32];
	int		i, order[10] = { 7, 2, 9, 0, 5, 3, 8, 1, 6, 4 };

	(void)state;
	rank_init(&k, REPORT_SORT_SCORE);
	/* 10 addresses in a scrambled order; 10.0.0.N is at N * 10%. */
	for (i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "10.0.0.%d", order[i]);
		rank_add(&k, addr, 100, order[i] / 10.0, 0);
	}
	report_rank_end(&k.r);
	assert_int_equal(k.r.ntops, TOP);
	assert_string_equal(k.tops[0].addr, "10.0.0.9");
	assert_string_equal(k.tops[1].addr, "10.0.0.8");
	assert_string_equal(k.tops[2].addr, "10.0.0.7");
	assert_true(k.tops[0].score > 89.9 && k.tops[0].score < 90.1);
	/* Near: 70% and more, highest share first. */
	assert_int_equal(k.r.nnear, TOP);
	assert_string_equal(k.near[0].addr, "10.0.0.9");
	assert_string_equal(k.near[2].addr, "10.0.0.7");
}

static void
test_bans_verdicts(void **state)
{
	struct rank	k;

	(void)state;
	rank_init(&k, REPORT_SORT_SCORE);
	rank_add(&k, "192.0.2.1", 10, 0.95, 0);
	rank_add(&k, "192.0.2.2", 10, 0.2, 1);	/* banned: leads, never near */
	rank_add(&k, "192.0.2.3", 10, 0.69, 0);	/* under 70%: not near */
	report_rank_end(&k.r);
	assert_string_equal(k.tops[0].addr, "192.0.2.2");
	assert_true(k.tops[0].score > 119.9 && k.tops[0].score < 120.1);
	assert_string_equal(k.tops[1].addr, "192.0.2.1");
	assert_int_equal(k.r.nnear, 1);
	assert_string_equal(k.near[0].addr, "192.0.2.1");
}

static void
test_ties_and_keys(void **state)
{
	struct rank	k;

	(void)state;
	/* Equal conns and scores: the lower address ranks first. */
	rank_init(&k, REPORT_SORT_CONNS);
	rank_add(&k, "198.51.100.3", 50, 0, 0);
	rank_add(&k, "198.51.100.1", 50, 0, 0);
	rank_add(&k, "198.51.100.2", 50, 0, 0);
	rank_add(&k, "198.51.100.4", 50, 0, 0);
	rank_add(&k, "198.51.100.9", 60, 0, 0);
	report_rank_end(&k.r);
	assert_int_equal(k.r.ntops, TOP);
	assert_string_equal(k.tops[0].addr, "198.51.100.9");
	assert_string_equal(k.tops[1].addr, "198.51.100.1");
	assert_string_equal(k.tops[2].addr, "198.51.100.2");
	assert_int_equal(k.r.nnear, 0);

	/* Lower in numeric order, not as text: .2 before .10, IPv4 before
	 * IPv6. */
	rank_init(&k, REPORT_SORT_CONNS);
	rank_add(&k, "2001:db8::1", 50, 0, 0);
	rank_add(&k, "10.9.2.10", 50, 0, 0);
	rank_add(&k, "10.9.2.2", 50, 0, 0);
	report_rank_end(&k.r);
	assert_string_equal(k.tops[0].addr, "10.9.2.2");
	assert_string_equal(k.tops[1].addr, "10.9.2.10");
	assert_string_equal(k.tops[2].addr, "2001:db8::1");

	/* By bans: the count, whatever the score. */
	rank_init(&k, REPORT_SORT_BANS);
	rank_add(&k, "203.0.113.1", 1000, 0.99, 0);
	rank_add(&k, "203.0.113.2", 1, 0, 2);
	rank_add(&k, "203.0.113.3", 1, 0, 1);
	report_rank_end(&k.r);
	assert_string_equal(k.tops[0].addr, "203.0.113.2");
	assert_string_equal(k.tops[1].addr, "203.0.113.3");
	assert_string_equal(k.tops[2].addr, "203.0.113.1");
}

static void
test_empty(void **state)
{
	struct rank	k;

	(void)state;
	rank_init(&k, REPORT_SORT_PEAK);
	report_rank_end(&k.r);
	assert_int_equal(k.r.ntops, 0);
	assert_int_equal(k.r.nnear, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_score_top),
		cmocka_unit_test(test_bans_verdicts),
		cmocka_unit_test(test_ties_and_keys),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests_name("report_rank", tests, NULL, NULL);
}
