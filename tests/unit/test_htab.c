/*
 * Unit tests for htab.c: chains under forced collisions, a full table and
 * eviction order per list, removal and reuse, touches across lists, the
 * expiry walk, growth, keyed hashing, and a long random run checked
 * against a naive model.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "../../src/htab.c"
#include "unit_htab.h"

/* A hash whose bucket and stored bits are chosen: hi is bits 63..32. */
#define H(hi, lo)	(((uint64_t)(hi) << 32) | (uint32_t)(lo))

static void
test_htab_collisions(void **state)
{
	struct htab	t;
	uint32_t	a, b, c, d, i, n;

	(void)state;
	htab_init(&t, 8, 1, NULL);
	/* Same stored bits: a, b, c answer one find, newest first. */
	a = htab_insert(&t, H(0x12345678, 1), 0);
	b = htab_insert(&t, H(0x12345678, 2), 0);
	c = htab_insert(&t, H(0x12345679, 3), 0);	/* list bits differ */
	d = htab_insert(&t, H(0x92345678, 4), 0);	/* another bucket */
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	assert_int_equal(c, 2);
	assert_int_equal(d, 3);
	unit_htab_check(&t);
	n = 0;
	for (i = htab_find(&t, H(0x12345678, 9)); i != HTAB_NIL;
	    i = htab_find_next(&t, i, H(0x12345678, 9))) {
		assert_true(i == a || i == b || i == c);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(htab_find(&t, H(0x92345678, 0)), d);
	assert_int_equal(htab_find(&t, H(0x22345678, 0)), HTAB_NIL);
	/* Out of the middle of the chain, then its head. */
	htab_remove(&t, b);
	unit_htab_check(&t);
	for (n = 0, i = htab_find(&t, H(0x12345678, 0)); i != HTAB_NIL;
	    i = htab_find_next(&t, i, H(0x12345678, 0)), n++)
		assert_int_not_equal(i, b);
	assert_int_equal(n, 2);
	htab_remove(&t, c);
	htab_remove(&t, c);		/* twice: no effect */
	assert_int_equal(htab_find(&t, H(0x12345678, 0)), a);
	assert_int_equal(htab_find_next(&t, a, H(0x12345678, 0)), HTAB_NIL);
	assert_int_equal(htab_used(&t), 2);
	unit_htab_check(&t);
	htab_clear(&t);
}

static void
test_htab_full(void **state)
{
	struct htab	t;
	uint32_t	i, v;

	(void)state;
	htab_init(&t, 4, 2, NULL);
	assert_int_equal(htab_capacity(&t), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(htab_insert(&t, H(i * 0x10000000U, i),
		    i % 2), i);
	assert_int_equal(htab_insert(&t, H(0x50000000, 0), 0), HTAB_NIL);
	assert_int_equal(htab_count(&t, 0), 2);
	assert_int_equal(htab_count(&t, 1), 2);
	/* The caller evicts: the oldest of list 0 is 0, then 2. */
	v = htab_oldest(&t, 0);
	assert_int_equal(v, 0);
	htab_remove(&t, v);
	assert_int_equal(htab_insert(&t, H(0x50000000, 0), 0), v);
	assert_int_equal(htab_oldest(&t, 0), 2);
	assert_int_equal(htab_newer(&t, 2), 0);
	assert_int_equal(htab_newer(&t, 0), HTAB_NIL);
	assert_int_equal(htab_oldest(&t, 1), 1);
	assert_int_equal(htab_newer(&t, 1), 3);
	assert_int_equal(htab_oldest(&t, 2), HTAB_NIL);	/* no such list */
	assert_int_equal(htab_insert(&t, 0, 2), HTAB_NIL);
	unit_htab_check(&t);
	htab_clear(&t);

	/* Capacity 1: the smallest table works. */
	htab_init(&t, 0, 1, NULL);
	assert_int_equal(htab_capacity(&t), 1);
	assert_int_equal(htab_insert(&t, 7, 0), 0);
	assert_int_equal(htab_insert(&t, 8, 0), HTAB_NIL);
	assert_int_equal(htab_find(&t, 7), 0);
	unit_htab_check(&t);
	htab_clear(&t);
}

static void
test_htab_reuse(void **state)
{
	struct htab	t;
	uint32_t	i;

	(void)state;
	htab_init(&t, 16, 1, NULL);
	for (i = 0; i < 16; i++)
		htab_insert(&t, H(i << 24, 0), 0);
	/* Removed indices come back last in, first out. */
	htab_remove(&t, 5);
	htab_remove(&t, 9);
	assert_int_equal(htab_list_of(&t, 5), -1);
	assert_int_equal(htab_insert(&t, H(0xab000000, 0), 0), 9);
	assert_int_equal(htab_insert(&t, H(0xac000000, 0), 0), 5);
	assert_int_equal(htab_find(&t, H(0xab000000, 0)), 9);
	assert_int_equal(htab_find(&t, H(9U << 24, 0)), HTAB_NIL);
	/* Reinserted at the newest end. */
	for (i = htab_oldest(&t, 0); htab_newer(&t, i) != HTAB_NIL;
	    i = htab_newer(&t, i))
		;
	assert_int_equal(i, 5);
	unit_htab_check(&t);
	htab_clear(&t);
}

static void
test_htab_touch(void **state)
{
	struct htab	t;
	uint32_t	i;

	(void)state;
	htab_init(&t, 8, 3, NULL);
	for (i = 0; i < 6; i++)
		htab_insert(&t, H(i << 28, i), 0);
	htab_touch(&t, 0, 0);		/* to the newest end */
	assert_int_equal(htab_oldest(&t, 0), 1);
	htab_touch(&t, 0, 0);		/* already there */
	htab_touch(&t, 3, 2);		/* to another list */
	htab_touch(&t, 1, 2);
	assert_int_equal(htab_list_of(&t, 3), 2);
	assert_int_equal(htab_oldest(&t, 2), 3);
	assert_int_equal(htab_newer(&t, 3), 1);
	assert_int_equal(htab_count(&t, 0), 4);
	assert_int_equal(htab_count(&t, 1), 0);
	assert_int_equal(htab_count(&t, 2), 2);
	assert_int_equal(htab_oldest(&t, 0), 2);
	htab_touch(&t, 3, 1);
	htab_touch(&t, 7, 1);		/* free: nothing */
	htab_touch(&t, 2, 3);		/* no such list: nothing */
	assert_int_equal(htab_list_of(&t, 7), -1);
	assert_int_equal(htab_list_of(&t, 2), 0);
	/* Still found after moving. */
	assert_int_equal(htab_find(&t, H(3U << 28, 0)), 3);
	unit_htab_check(&t);
	htab_clear(&t);
}

/* TTL expiry as the filters do it: walk oldest first while expired. */
static void
test_htab_expiry(void **state)
{
	struct htab	 t;
	int64_t		 when[32];
	uint32_t	 i, next, n;

	(void)state;
	htab_init(&t, 32, 1, NULL);
	for (i = 0; i < 20; i++) {
		assert_int_equal(htab_insert(&t, H(i << 26, 0), 0), i);
		when[i] = i * 10;
	}
	/* Rewritten: 3 is now the newest. */
	htab_touch(&t, 3, 0);
	when[3] = 200;
	/* At 105 with a TTL of 50, entries written before 55 go. */
	for (i = htab_oldest(&t, 0), n = 0; i != HTAB_NIL &&
	    105 - when[i] >= 50; i = next, n++) {
		next = htab_newer(&t, i);
		htab_remove(&t, i);
	}
	assert_int_equal(n, 5);			/* 0 1 2 4 5 */
	assert_int_equal(htab_oldest(&t, 0), 6);
	assert_int_equal(htab_find(&t, H(3U << 26, 0)), 3);
	/* A walk of all used entries, by index. */
	for (i = 0, n = 0; i < htab_capacity(&t); i++)
		n += htab_list_of(&t, i) >= 0;
	assert_int_equal(n, 15);
	unit_htab_check(&t);
	htab_clear(&t);
}

/*
 * A table bounded at 5000 allocates HTAB_START nodes, grows by doubling
 * as inserts fill it, stops at its bound (then the insert fails, as for
 * any full table), and keeps every entry, its index and its order across
 * each growth.
 */
static void
test_htab_grow_on_demand(void **state)
{
	struct htab	t;
	uint32_t	i, n, allocs[8], nalloc = 0;

	(void)state;
	htab_init(&t, 5000, 2, NULL);
	assert_int_equal(htab_capacity(&t), 5000);
	assert_int_equal(htab_allocated(&t), HTAB_START);
	/* Not allocated yet: free to a walk. */
	assert_int_equal(htab_list_of(&t, 4999), -1);
	/* The bytes of the bound, not of what is allocated. */
	assert_true(htab_bytes(&t) >= 5000 * sizeof(struct htab_node));
	allocs[nalloc++] = htab_allocated(&t);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(htab_insert(&t, htab_hash(&t, &i,
		    sizeof(i)), i % 2), i);
		if (htab_allocated(&t) != allocs[nalloc - 1]) {
			assert_true(nalloc < 8);
			allocs[nalloc++] = htab_allocated(&t);
			unit_htab_check(&t);
		}
	}
	assert_int_equal(nalloc, 4);
	assert_int_equal(allocs[1], 2 * HTAB_START);
	assert_int_equal(allocs[2], 4 * HTAB_START);
	assert_int_equal(allocs[3], 5000);
	assert_int_equal(htab_insert(&t, 0, 0), HTAB_NIL);
	assert_int_equal(htab_allocated(&t), 5000);
	unit_htab_check(&t);
	for (i = 0; i < 5000; i++)
		assert_int_equal(htab_find(&t, htab_hash(&t, &i, sizeof(i))),
		    i);
	/* Each list in insertion order. */
	for (n = 0, i = htab_oldest(&t, 1); i != HTAB_NIL;
	    i = htab_newer(&t, i), n++)
		assert_int_equal(i, 2 * n + 1);
	assert_int_equal(n, 2500);
	htab_clear(&t);

	/* A bound below HTAB_START is allocated whole. */
	htab_init(&t, 10, 1, NULL);
	assert_int_equal(htab_allocated(&t), 10);
	htab_clear(&t);
}

static void
test_htab_next_cap(void **state)
{
	(void)state;
	assert_int_equal(htab_next_cap(0, 10), 10);
	assert_int_equal(htab_next_cap(10, 10), 10);
	assert_int_equal(htab_next_cap(10, 100000), HTAB_START);
	assert_int_equal(htab_next_cap(HTAB_START, 100000), 2 * HTAB_START);
	assert_int_equal(htab_next_cap(65536, 100000), 100000);
	assert_int_equal(htab_next_cap(HTAB_CAPACITY_MAX / 2 + 1,
	    HTAB_CAPACITY_MAX), HTAB_CAPACITY_MAX);
	assert_int_equal(htab_next_cap(HTAB_CAPACITY_MAX, HTAB_CAPACITY_MAX),
	    HTAB_CAPACITY_MAX);
}

static void
test_htab_grow(void **state)
{
	struct htab	t;
	uint32_t	i, order[10], n;

	(void)state;
	htab_init(&t, 3, 2, NULL);
	for (i = 0; i < 3; i++)
		htab_insert(&t, htab_hash(&t, &i, sizeof(i)), i % 2);
	htab_remove(&t, 1);
	htab_insert(&t, htab_hash(&t, &i, sizeof(i)), 0);	/* i = 3 */
	htab_grow(&t, 2);			/* smaller: nothing */
	assert_int_equal(htab_capacity(&t), 3);
	htab_grow(&t, 1000);
	assert_int_equal(htab_capacity(&t), 1000);
	assert_true(htab_bytes(&t) >= 1000 * (sizeof(struct htab_node) +
	    sizeof(uint32_t)));
	unit_htab_check(&t);
	/* Indices and order kept; new indices lowest first. */
	for (n = 0, i = htab_oldest(&t, 0); i != HTAB_NIL;
	    i = htab_newer(&t, i))
		order[n++] = i;
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 1);
	i = 3;
	assert_int_equal(htab_find(&t, htab_hash(&t, &i, sizeof(i))), 1);
	i = 2;
	assert_int_equal(htab_find(&t, htab_hash(&t, &i, sizeof(i))), 2);
	for (i = 1003; i < 2000; i++)
		assert_int_equal(htab_insert(&t, htab_hash(&t, &i, sizeof(i)),
		    1), i - 1000);
	assert_int_equal(htab_insert(&t, 0, 1), HTAB_NIL);
	for (i = 1003; i < 2000; i++)
		assert_int_equal(htab_find(&t, htab_hash(&t, &i, sizeof(i))),
		    i - 1000);
	unit_htab_check(&t);
	htab_clear(&t);
}

static void
test_htab_keys(void **state)
{
	struct htab		a, b, c;
	struct siphash_key	k;
	const char		s[] = "192.0.2.1";

	(void)state;
	htab_init(&a, 4, 1, NULL);
	htab_init(&b, 4, 1, NULL);
	assert_int_not_equal(htab_hash(&a, s, sizeof(s)),
	    htab_hash(&b, s, sizeof(s)));
	/* A seeded key is the same every time, and differs by seed. */
	siphash_key_seed(&k, 42);
	htab_clear(&b);
	htab_init(&b, 4, 1, &k);
	htab_init(&c, 4, 1, &k);
	assert_int_equal(htab_hash(&b, s, sizeof(s)),
	    htab_hash(&c, s, sizeof(s)));
	htab_clear(&c);
	siphash_key_seed(&k, 43);
	htab_init(&c, 4, 1, &k);
	assert_int_not_equal(htab_hash(&b, s, sizeof(s)),
	    htab_hash(&c, s, sizeof(s)));
	assert_int_equal(htab_hash(&c, s, sizeof(s)), siphash24(&k, s,
	    sizeof(s)));
	htab_clear(&a);
	htab_clear(&b);
	htab_clear(&c);
}

/*
 * The model: per index, in use or not, its list and when it was last
 * put at a list's newest end; free indices as a stack.  Every step
 * compares the lists' order and the finds with the table's.
 */
#define MODEL_CAP	64
#define MODEL_KEYS	96

struct model {
	int		 used[MODEL_CAP];
	unsigned int	 list[MODEL_CAP];
	uint64_t	 stamp[MODEL_CAP];
	uint32_t	 key[MODEL_CAP];
	uint32_t	 stack[MODEL_CAP];
	uint32_t	 nstack;
	uint64_t	 clock;
};

static uint64_t
model_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Few distinct hash bits, so that chains hold several keys. */
static uint64_t
model_hash(uint32_t key)
{
	return H((key % 7) << 28 | (key % 5) << 2, key);
}

static uint32_t
model_find(const struct htab *t, const struct model *m, uint32_t key)
{
	uint32_t	i;

	for (i = htab_find(t, model_hash(key)); i != HTAB_NIL;
	    i = htab_find_next(t, i, model_hash(key)))
		if (m->key[i] == key)
			return i;
	return HTAB_NIL;
}

static void
model_compare(const struct htab *t, const struct model *m)
{
	uint32_t	i, prev;
	unsigned int	l;

	for (l = 0; l < 3; l++) {
		prev = HTAB_NIL;
		for (i = htab_oldest(t, l); i != HTAB_NIL;
		    i = htab_newer(t, i)) {
			assert_true(m->used[i]);
			assert_int_equal(m->list[i], l);
			if (prev != HTAB_NIL)
				assert_true(m->stamp[prev] < m->stamp[i]);
			prev = i;
		}
	}
	for (i = 0; i < MODEL_CAP; i++) {
		assert_int_equal(htab_list_of(t, i),
		    m->used[i] ? (int)m->list[i] : -1);
		if (m->used[i])
			assert_int_equal(model_find(t, m, m->key[i]), i);
	}
	unit_htab_check(t);
}

static void
test_htab_model(void **state)
{
	struct htab	 t;
	struct model	*m;
	uint64_t	 x = 0x9e3779b97f4a7c15ULL;
	uint32_t	 step, key, i, victim;
	unsigned int	 l;

	(void)state;
	m = calloc(1, sizeof(*m));
	assert_non_null(m);
	htab_init(&t, MODEL_CAP, 3, NULL);
	for (i = 0; i < MODEL_CAP; i++)
		m->stack[i] = MODEL_CAP - 1 - i;
	m->nstack = MODEL_CAP;
	for (step = 0; step < 200000; step++) {
		key = (uint32_t)(model_rand(&x) % MODEL_KEYS);
		l = (unsigned int)(model_rand(&x) % 3);
		i = model_find(&t, m, key);
		switch (model_rand(&x) % 4) {
		case 0:		/* remove */
			if (i == HTAB_NIL)
				break;
			htab_remove(&t, i);
			m->used[i] = 0;
			m->stack[m->nstack++] = i;
			break;
		case 1:		/* touch */
			if (i == HTAB_NIL)
				break;
			htab_touch(&t, i, l);
			m->list[i] = l;
			m->stamp[i] = ++m->clock;
			break;
		default:	/* insert, evicting the oldest of list l */
			if (i != HTAB_NIL)
				break;
			if (m->nstack == 0) {
				if ((victim = htab_oldest(&t, l)) == HTAB_NIL)
					break;
				htab_remove(&t, victim);
				m->used[victim] = 0;
				m->stack[m->nstack++] = victim;
			}
			i = htab_insert(&t, model_hash(key), l);
			assert_int_equal(i, m->stack[--m->nstack]);
			m->used[i] = 1;
			m->key[i] = key;
			m->list[i] = l;
			m->stamp[i] = ++m->clock;
			break;
		}
		if (step % 97 == 0)
			model_compare(&t, m);
	}
	model_compare(&t, m);
	htab_clear(&t);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_htab_collisions),
		cmocka_unit_test(test_htab_full),
		cmocka_unit_test(test_htab_reuse),
		cmocka_unit_test(test_htab_touch),
		cmocka_unit_test(test_htab_expiry),
		cmocka_unit_test(test_htab_grow),
		cmocka_unit_test(test_htab_grow_on_demand),
		cmocka_unit_test(test_htab_next_cap),
		cmocka_unit_test(test_htab_keys),
		cmocka_unit_test(test_htab_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
