/*
 * SipHash-2-4: two compression rounds per 8-byte word, four finalisation
 * rounds, 64-bit output, as specified by Aumasson and Bernstein (2012).
 * It is a PRF: without the key, an attacker can neither predict a value
 * nor find colliding inputs faster than by trying them, and the values
 * never leave the process, so there is nothing to try them against.
 *
 * Words are read little-endian whatever the host, as the specification
 * says, so a value is the same everywhere (the test vectors hold).
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"

#define SIPHASH_ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPHASH_ROUND(v0, v1, v2, v3) do {				\
	v0 += v1; v1 = SIPHASH_ROTL(v1, 13); v1 ^= v0;			\
	v0 = SIPHASH_ROTL(v0, 32);					\
	v2 += v3; v3 = SIPHASH_ROTL(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = SIPHASH_ROTL(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = SIPHASH_ROTL(v1, 17); v1 ^= v2;			\
	v2 = SIPHASH_ROTL(v2, 32);					\
} while (0)

void
siphash_key_random(struct siphash_key *k)
{
	arc4random_buf(k, sizeof(*k));
}

/* splitmix64's finaliser: each seed bit reaches every key bit. */
static uint64_t
siphash_mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

void
siphash_key_seed(struct siphash_key *k, uint64_t seed)
{
	k->k0 = siphash_mix(seed);
	k->k1 = siphash_mix(seed + UINT64_C(0x9e3779b97f4a7c15));
}

uint64_t
siphash24(const struct siphash_key *k, const void *data, size_t len)
{
	const uint8_t	*p = data;
	uint64_t	 v0 = k->k0 ^ UINT64_C(0x736f6d6570736575);
	uint64_t	 v1 = k->k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t	 v2 = k->k0 ^ UINT64_C(0x6c7967656e657261);
	uint64_t	 v3 = k->k1 ^ UINT64_C(0x7465646279746573);
	uint64_t	 m, b = (uint64_t)len << 56;
	size_t		 i, j, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, sizeof(m));
		m = le64toh(m);
		v3 ^= m;
		SIPHASH_ROUND(v0, v1, v2, v3);
		SIPHASH_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* The last 0 to 7 bytes, under the length in the top byte. */
	for (j = 0; j < left; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPHASH_ROUND(v0, v1, v2, v3);
	SIPHASH_ROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPHASH_ROUND(v0, v1, v2, v3);
	SIPHASH_ROUND(v0, v1, v2, v3);
	SIPHASH_ROUND(v0, v1, v2, v3);
	SIPHASH_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}
