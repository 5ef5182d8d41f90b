/*
 * Filters, the single pass of filter_scan() (filter.c): one read of a
 * buffer finds each line's end and every literal of the filter in it, the
 * prefilter's and the patterns', so the matcher tries only the patterns
 * whose literal the line holds and skips the lines holding none of the
 * scan literals, without a memchr(3) per literal per line.
 *
 * Each literal is known by one byte, its rarest (filter_lit_init()), and
 * a line is read 32 or 16 bytes at a time (AVX2 where the CPU has it, SSE2
 * on other x86_64, a byte table elsewhere), comparing each block with the newline and with each of the
 * distinct rare bytes at once.  A rare byte found is confirmed with
 * memcmp(3) for the literals it stands for.  Invariants: a literal holds
 * no newline, so one confirmed from the line's start on lies wholly in
 * the line; at most FILTER_MSCAN_LITS distinct literals and
 * FILTER_MSCAN_BYTES distinct rare bytes (more compares per block would
 * cost more than they save), else the pass stays off and filter_scan()
 * looks for each literal on its own, as it does for a restricted filter.
 */

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "filter_int.h"

/*
 * The bit of literal l in a filter_mscan mask, adding it if its text is
 * new; 0 if it cannot be scanned for (empty, holds a newline, too many).
 */
static uint64_t
filter_mscan_add(struct filter_mscan *m, const struct filter_lit *l)
{
	size_t		i;
	unsigned char	c;

	for (i = 0; i < m->nlit; i++)
		if (m->lit[i]->len == l->len &&
		    memcmp(m->lit[i]->s, l->s, l->len) == 0)
			return (uint64_t)1 << i;
	if (l->len == 0 || memchr(l->s, '\n', l->len) != NULL ||
	    m->nlit == FILTER_MSCAN_LITS)
		return 0;
	c = (unsigned char)l->s[l->rare];
	if (m->slot[c] == 0) {
		if (m->nbyte == FILTER_MSCAN_BYTES)
			return 0;
		m->byte[m->nbyte] = c;
		m->slot[c] = (uint8_t)++m->nbyte;
	}
	m->bytelits[m->slot[c] - 1] |= (uint64_t)1 << m->nlit;
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
void
filter_mscan_setup(struct filter *f)
{
	struct filter_mscan	*m = &f->ms;
	size_t			 i, j;
	uint64_t		 b;

	memset(m, 0, sizeof(*m));
	if (f->restricted)
		return;
	for (i = 0; i < f->nprefilter; i++) {
		if ((b = filter_mscan_add(m, &f->prefilter_lit[i])) == 0)
			return;
		m->premask |= b;
	}
	for (i = 0; i < f->npat; i++) {
		f->pat[i].litbit = 0;
		if (f->pat[i].literal == NULL)
			continue;
		if ((b = filter_mscan_add(m, &f->pat[i].lit)) == 0)
			return;
		f->pat[i].litbit = b;
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
 * The literals of m whose rare byte is at p, confirmed, for a line that
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
		if ((size_t)(p - ls) < l->rare ||
		    (size_t)(end - p) < l->len - l->rare)
			continue;
		s = p - l->rare;
		if (s[l->len - 1] == l->s[l->len - 1] &&
		    memcmp(s, l->s, l->len) == 0)
			found |= bit;
	}
	return found;
}

/*
 * The hits of one block at p, bit i for p[i], in order: the newline's
 * address if one is among them, else NULL, the literals added to *have.
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
		*have |= filter_mscan_hit(m, ls, end, p + i, *have);
	}
	return NULL;
}

#if defined(__x86_64__) && defined(__GNUC__)
/*
 * The AVX2 blocks of filter_mscan_line(), 32 bytes at a time, where the
 * CPU has it (filter_mscan_setup() asks): it halves the blocks, and the
 * compares per block are what the pass costs.  Returns the newline or
 * NULL, *pp advanced past the blocks read.
 */
__attribute__((target("avx2")))
static const char *
filter_mscan_avx2(const struct filter_mscan *m, const char *ls,
    const char *end, const char **pp, uint64_t *have)
{
	__m256i		 want[FILTER_MSCAN_BYTES], v, hit;
	const char	*p = *pp, *nl;
	size_t		 i;

	for (i = 0; i < m->nbyte; i++)
		want[i] = _mm256_set1_epi8((char)m->byte[i]);
	while (end - p >= 32) {
		v = _mm256_loadu_si256((const __m256i *)(const void *)p);
		hit = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\n'));
		for (i = 0; i < m->nbyte; i++)
			hit = _mm256_or_si256(hit,
			    _mm256_cmpeq_epi8(v, want[i]));
		if ((nl = filter_mscan_bits(m, ls, end, p,
		    (uint32_t)_mm256_movemask_epi8(hit), have)) != NULL)
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
