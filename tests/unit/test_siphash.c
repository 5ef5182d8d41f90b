/*
 * Unit tests for siphash.c: the reference vectors of SipHash-2-4 (key
 * 00 01 .. 0f, messages 00 01 .. of every length from 0 to 63, as in the
 * paper's appendix and the reference implementation), some of them, and
 * the seeded keys.
 */
#include "unit.h"

#include <string.h>

#include "../../src/siphash.c"

static void
test_siphash_vectors(void **state)
{
	static const struct {
		size_t		 len;
		uint64_t	 h;
	} v[] = {
		{ 0, UINT64_C(0x726fdb47dd0e0e31) },
		{ 1, UINT64_C(0x74f839c593dc67fd) },
		{ 15, UINT64_C(0xa129ca6149be45e5) },
		{ 63, UINT64_C(0x958a324ceb064572) },
	};
	struct siphash_key	k;
	uint8_t			key[16], m[64];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)i;
	/* The key's bytes, read as SipHash reads them. */
	k.k0 = k.k1 = 0;
	for (i = 8; i > 0; i--) {
		k.k0 = k.k0 << 8 | key[i - 1];
		k.k1 = k.k1 << 8 | key[i + 7];
	}
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_int_equal(siphash24(&k, m, v[i].len), v[i].h);
}

static void
test_siphash_keys(void **state)
{
	struct siphash_key	a, b;
	const char		s[] = "key";

	(void)state;
	siphash_key_seed(&a, 1);
	siphash_key_seed(&b, 1);
	assert_memory_equal(&a, &b, sizeof(a));
	siphash_key_seed(&b, 2);
	assert_int_not_equal(siphash24(&a, s, 3), siphash24(&b, s, 3));
	siphash_key_random(&a);
	siphash_key_random(&b);
	assert_memory_not_equal(&a, &b, sizeof(a));
	/* Every byte counts, the length too. */
	assert_int_not_equal(siphash24(&a, s, 3), siphash24(&a, s, 2));
	assert_int_not_equal(siphash24(&a, "kez", 3), siphash24(&a, s, 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_siphash_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
