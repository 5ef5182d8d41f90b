/*
 * Filters, the single pass of filter_scan() (filter.c): one read of a
 * buffer finds each line's end and every literal of the filter in it, the
 * prefilter's and the patterns', so the matcher tries only the patterns
 * whose literal the line holds and skips the lines holding none of the
 * scan literals, without a memchr(3) per literal per line.
 *
 * Each literal is known by a key byte, the first of its rarest pair of
 * bytes (filter_mscan_key()), and a line is read 32 or 16 bytes at a time
 * (AVX2 where the CPU has it, SSE2 on other x86_64, a byte table
 * elsewhere).  The AVX2 blocks look each byte and the next one up in
 * nibble tables (vpshufb), so they find the pairs whatever their number;
 * the SSE2 blocks compare with the newline and each distinct key byte.
 * A key byte found is confirmed with memcmp(3) for the literals it stands
 * for.  Invariants: a literal holds no newline, so one confirmed from the
 * line's start on lies wholly in the line; at most FILTER_MSCAN_LITS
 * distinct literals and FILTER_MSCAN_BYTES distinct key bytes (more
 * compares per SSE2 block would cost more than they save; where the
 * pairs' first bytes are too many, each literal's rarest byte is its key),
 * else the pass stays off and filter_scan() looks for each literal on its
 * own, as it does for a restricted filter.
 */

#include <limits.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "filter_int.h"

/*
 * The key byte of l: pairs picks the rarest pair of bytes by rank (the
 * first of them), else the literal's rarest byte.  The pair is what the
 * AVX2 blocks compare; a byte alone is found in most lines of a log that
 * names it ('A' of "Accepted" in "SCRAM-SHA-1" and "PLAIN"), a pair in
 * few ("Ac").
 */
static size_t
filter_mscan_key(const struct filter_lit *l, const uint8_t *rank, int pairs)
{
	size_t		i, best = 0;
	unsigned int	r, rbest = UINT_MAX;

	if (!pairs || l->len < 2)
		return l->rare;
	for (i = 0; i + 1 < l->len; i++) {
		r = (unsigned int)rank[(unsigned char)l->s[i]] +
		    rank[(unsigned char)l->s[i + 1]];
		if (r < rbest) {
			rbest = r;
			best = i;
		}
	}
	return best;
}

/*
 * The bit of literal l in a filter_mscan mask, adding it if its text is
 * new; 0 if it cannot be scanned for (empty, holds a newline, too many).
 */
static uint64_t
filter_mscan_add(struct filter_mscan *m, const struct filter_lit *l,
    const uint8_t *rank, int pairs)
{
	size_t		i, k;
	unsigned char	c, c1;
	uint8_t		b;

	for (i = 0; i < m->nlit; i++)
		if (m->lit[i]->len == l->len &&
		    memcmp(m->lit[i]->s, l->s, l->len) == 0)
			return (uint64_t)1 << i;
	if (l->len == 0 || memchr(l->s, '\n', l->len) != NULL ||
	    m->nlit == FILTER_MSCAN_LITS)
		return 0;
	k = filter_mscan_key(l, rank, pairs);
	c = (unsigned char)l->s[k];
	if (m->slot[c] == 0) {
		if (m->nbyte == FILTER_MSCAN_BYTES)
			return 0;
		m->byte[m->nbyte] = c;
		m->slot[c] = (uint8_t)++m->nbyte;
	}
	m->bytelits[m->slot[c] - 1] |= (uint64_t)1 << m->nlit;
	/* The nibble tables: the key byte's bucket bit at its two nibbles,
	 * the next byte's (any byte's, at the literal's end) likewise. */
	b = (uint8_t)(1U << ((m->slot[c] - 1) % 8));
	m->nib[0][c & 15] |= b;
	m->nib[1][c >> 4] |= b;
	for (i = 0; i < 16; i++) {
		c1 = k + 1 < l->len ? (unsigned char)l->s[k + 1] :
		    (unsigned char)(i << 4 | i);
		m->nib[2][c1 & 15] |= b;
		m->nib[3][c1 >> 4] |= b;
	}
	m->off[m->nlit] = (uint8_t)k;
	m->lit[m->nlit] = l;
	return (uint64_t)1 << m->nlit++;
}

/*
 * Builds the single pass of filter_scan(): every literal of the prefilter
 * and the patterns, off or quiet ones too (a line still goes to the first
 * pattern that matches it).  Any literal that does not fit leaves the
 * pass off, and filter_scan() looks for each literal on its own.  So does
 * a restricted filter (--kind): its few literals are rare, and memchr(3)
 * skipping from one to the next beats reading every byte (190 ms against
 * 300 ms of CPU for --kind auth_fail on 1M lines of ejabberd log).
 */
/* filter_mscan_setup() with key bytes of pairs or alone: 0 if one of
 * the literals did not fit. */
static int
filter_mscan_try(struct filter *f, int pairs)
{
	struct filter_mscan	*m = &f->ms;
	size_t			 i;
	uint64_t		 b;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < f->nprefilter; i++) {
		if ((b = filter_mscan_add(m, &f->prefilter_lit[i], f->rank,
		    pairs)) == 0)
			return 0;
		m->premask |= b;
	}
	for (i = 0; i < f->npat; i++) {
		f->pat[i].litbit = 0;
		if (f->pat[i].literal == NULL)
			continue;
		if ((b = filter_mscan_add(m, &f->pat[i].lit, f->rank,
		    pairs)) == 0)
			return 0;
		f->pat[i].litbit = b;
	}
	return 1;
}

void
filter_mscan_setup(struct filter *f)
{
	struct filter_mscan	*m = &f->ms;
	size_t			 i, j;

	memset(m, 0, sizeof(*m));
	if (f->restricted)
		return;
	/* The pairs' first bytes may be more distinct bytes than the rare
	 * ones: those then, so the pass is on wherever it was. */
	if (!filter_mscan_try(f, 1) && !filter_mscan_try(f, 0)) {
		memset(m, 0, sizeof(*m));
		return;
	}
	for (i = 0; i < f->nscan; i++)
		for (j = 0; j < m->nlit; j++)
			if (m->lit[j] == f->scan[i] ||
			    (m->lit[j]->len == f->scan[i]->len &&
			    memcmp(m->lit[j]->s, f->scan[i]->s,
			    f->scan[i]->len) == 0))
				m->scanmask |= (uint64_t)1 << j;
#if defined(__x86_64__) && defined(__GNUC__)
	m->avx2 = __builtin_cpu_supports("avx2");
#endif
	m->on = 1;
}

/*
 * memcmp(a, b, n) == 0 inline, eight bytes a load: no call in the AVX2
 * loop, whose nibble tables a call would push out of their registers
 * (and make it clear the upper halves of every vector register).
 */
static inline int
filter_mscan_eq(const char *a, const char *b, size_t n)
{
	uint64_t	x, y;
	size_t		i;

	if (n < 8) {
		for (i = 0; i < n; i++)
			if (a[i] != b[i])
				return 0;
		return 1;
	}
	for (i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return 0;
	}
	/* The last eight, overlapping what went before. */
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

/*
 * The literals of m whose key byte is at p, confirmed, for a line that
 * starts at ls; [buf, end) is the whole buffer.  A literal holds no
 * newline, so one found from ls on lies wholly in the line.
 */
static inline uint64_t
filter_mscan_hit(const struct filter_mscan *m, const char *ls,
    const char *end, const char *p, uint64_t have)
{
	const struct filter_lit	*l;
	uint64_t		 cand, bit, found = 0;
	const char		*s;
	int			 k;

	cand = m->bytelits[m->slot[(unsigned char)*p] - 1] & ~have;
	while (cand != 0) {
		k = __builtin_ctzll(cand);
		bit = (uint64_t)1 << k;
		cand &= ~bit;
		l = m->lit[k];
		if ((size_t)(p - ls) < m->off[k] ||
		    (size_t)(end - p) < l->len - m->off[k])
			continue;
		s = p - m->off[k];
		if (s[l->len - 1] == l->s[l->len - 1] &&
		    filter_mscan_eq(s, l->s, l->len))
			found |= bit;
	}
	return found;
}

/*
 * The hits of one block at p, bit i for p[i], in order: the newline's
 * address if one is among them, else NULL, the literals added to *have.
 * A hit may be neither (the AVX2 blocks' nibbles of two key bytes).
 */
static inline const char *
filter_mscan_bits(const struct filter_mscan *m, const char *ls,
    const char *end, const char *p, uint32_t bits, uint64_t *have)
{
	int	i;

	while (bits != 0) {
		i = __builtin_ctz(bits);
		bits &= bits - 1;
		if (p[i] == '\n')
			return p + i;
		if (m->slot[(unsigned char)p[i]] != 0)
			*have |= filter_mscan_hit(m, ls, end, p + i, *have);
	}
	return NULL;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The bucket bits of the 32 bytes of v by the nibble tables t, u. */
__attribute__((target("avx2")))
static inline __m256i
filter_mscan_nib(__m256i v, __m256i t, __m256i u)
{
	const __m256i	lo = _mm256_set1_epi8(0x0f);

	return _mm256_and_si256(_mm256_shuffle_epi8(t,
	    _mm256_and_si256(v, lo)), _mm256_shuffle_epi8(u,
	    _mm256_and_si256(_mm256_srli_epi16(v, 4), lo)));
}

/*
 * The AVX2 blocks of filter_mscan_line(), 32 bytes at a time, where the
 * CPU has it (filter_mscan_setup() asks).  Each byte is looked up by its
 * nibbles (vpshufb) as a key byte and the byte after it as the next one
 * of the same bucket of literals, so a block costs the same whatever the
 * number of key bytes, and hits are mostly the literals themselves.  The
 * next byte is read from p + 1: the blocks stop short of end.  Returns
 * the newline or NULL, *pp advanced past the blocks read.
 */
__attribute__((target("avx2")))
static const char *
filter_mscan_avx2(const struct filter_mscan *m, const char *ls,
    const char *end, const char **pp, uint64_t *have)
{
	__m256i		 t[4], v, w, key;
	const char	*p = *pp, *nl;
	uint32_t	 bits;
	int		 i;

	for (i = 0; i < 4; i++)
		t[i] = _mm256_broadcastsi128_si256(_mm_loadu_si128(
		    (const __m128i *)(const void *)m->nib[i]));
	while (end - p > 32) {
		v = _mm256_loadu_si256((const __m256i *)(const void *)p);
		w = _mm256_loadu_si256((const __m256i *)(const void *)
		    (p + 1));
		key = _mm256_and_si256(filter_mscan_nib(v, t[0], t[1]),
		    filter_mscan_nib(w, t[2], t[3]));
		bits = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(key,
		    _mm256_setzero_si256())) |
		    (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v,
		    _mm256_set1_epi8('\n')));
		if ((nl = filter_mscan_bits(m, ls, end, p, bits, have)) !=
		    NULL)
			return nl;
		p += 32;
	}
	*pp = p;
	return NULL;
}
#endif

const char *
filter_mscan_line(const struct filter_mscan *m, const char *ls,
    const char *end, uint64_t *mask)
{
	const char	*p = ls, *nl = NULL;
	uint64_t	 have = 0;
	unsigned char	 c;

#if defined(__x86_64__) && defined(__GNUC__)
	if (m->avx2 && (nl = filter_mscan_avx2(m, ls, end, &p, &have)) != NULL)
		goto done;
#endif
#if defined(__x86_64__) && defined(__SSE2__)
	{
		__m128i	 want[FILTER_MSCAN_BYTES], v, hit;
		size_t	 i;

		for (i = 0; i < m->nbyte; i++)
			want[i] = _mm_set1_epi8((char)m->byte[i]);
		while (end - p >= 16) {
			v = _mm_loadu_si128((const __m128i *)(const void *)p);
			hit = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
			for (i = 0; i < m->nbyte; i++)
				hit = _mm_or_si128(hit,
				    _mm_cmpeq_epi8(v, want[i]));
			if ((nl = filter_mscan_bits(m, ls, end, p,
			    (uint32_t)_mm_movemask_epi8(hit), &have)) != NULL)
				goto done;
			p += 16;
		}
	}
#endif
	for (; p < end; p++) {
		c = (unsigned char)*p;
		if (c == '\n') {
			nl = p;
			goto done;
		}
		if (m->slot[c] != 0)
			have |= filter_mscan_hit(m, ls, end, p, have);
	}
	nl = end;
done:
	*mask = have;
	return nl;
}
