/*
 * The invariants of a struct htab (htab.c), for the unit tests of every
 * table built on it: each list links both ways and counts right, each
 * used node sits on the chain of its bucket and on the list its bits
 * name, the free list holds the rest, and the counts add up.
 */
#ifndef UNIT_HTAB_H
#define UNIT_HTAB_H

#include "../../src/htab.h"

static void
unit_htab_check(const struct htab *t)
{
	uint32_t	i, j, prev, n, nused = 0, nfree = 0;
	unsigned int	l;

	for (l = 0; l < t->nlists; l++) {
		prev = HTAB_NIL;
		n = 0;
		for (i = t->list[l].oldest; i != HTAB_NIL;
		    i = t->node[i].newer) {
			assert_int_equal(htab_list_of(t, i), (int)l);
			assert_int_equal(t->node[i].older, prev);
			/* On the chain of its own bucket. */
			for (j = t->bucket[t->node[i].hash >> t->shift];
			    j != HTAB_NIL && j != i; j = t->node[j].chain)
				;
			assert_int_equal(j, i);
			prev = i;
			assert_true(++n <= t->cap);
		}
		assert_int_equal(t->list[l].newest, prev);
		assert_int_equal(t->list[l].n, n);
		nused += n;
	}
	for (l = t->nlists; l < HTAB_LISTS; l++)
		assert_int_equal(t->list[l].n, 0);
	for (i = t->free; i != HTAB_NIL; i = t->node[i].chain) {
		assert_int_equal(htab_list_of(t, i), -1);
		assert_true(++nfree <= t->cap);
	}
	for (n = 0, i = 0; i < t->cap; i++)
		n += htab_list_of(t, i) >= 0;
	assert_int_equal(n, nused);
	assert_int_equal(t->used, nused);
	assert_int_equal(nused + nfree, t->cap);
}

#endif /* UNIT_HTAB_H */
