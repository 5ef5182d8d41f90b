/*
 * SipHash-2-4 (Aumasson and Bernstein), the keyed hash of every table in
 * xmppguard whose keys an attacker chooses: addresses, flows, log keys.
 * Keyed with a secret, its values cannot be predicted, so chosen keys
 * cannot be aimed at one hash chain.
 */
#ifndef SIPHASH_H
#define SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* A 128-bit key, as the two little-endian words SipHash reads it as. */
struct siphash_key {
	uint64_t	 k0, k1;
};

/* A secret key from the kernel's random source (arc4random_buf). */
void		 siphash_key_random(struct siphash_key *);
/* A key spread from a seed, the same for the same seed (tests, replay). */
void		 siphash_key_seed(struct siphash_key *, uint64_t seed);
/* The 64-bit SipHash-2-4 of data[0..len) under key. */
uint64_t	 siphash24(const struct siphash_key *, const void *data,
		    size_t len);

#endif /* SIPHASH_H */
