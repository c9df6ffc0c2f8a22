/*
 * pieces.c - text shared between the variants of a body (see pieces.h).
 *
 * Cut points depend on the lines themselves (a line whose hash ends in
 * two zero bits ends a piece, and so does the line that takes a piece past
 * 512 bytes), so after a line that differs between two variants the cuts
 * fall in the same places again within a few lines, and what follows is
 * shared.  Pieces are found again by a hash and compared byte by byte.
 */
#include "pieces.h"

#include <stdlib.h>
#include <string.h>

#define PIECE_MAX 512       /* a piece ends at the first line end past this */
#define CUT_MASK 3          /* ... or after a line whose hash & CUT_MASK is 0 */

struct node {
	struct herald_piece p;
	uint64_t h;
	char data[];        /* raw, NUL, enc, NUL */
};

struct herald_pieces {
	struct node **tab;  /* open addressing, at most half full */
	size_t cap, n, bytes;
	herald_encode_fn encode;
	struct hbuf tmp;
};

struct herald_pieces *
herald_pieces_new(herald_encode_fn encode)
{
	struct herald_pieces *p = xcalloc(1, sizeof(*p));

	p->cap = 64;
	p->tab = xcalloc(p->cap, sizeof(*p->tab));
	p->encode = encode;
	return p;
}

void
herald_pieces_free(struct herald_pieces *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->cap; i++)
		free(p->tab[i]);
	free(p->tab);
	hbuf_free(&p->tmp);
	free(p);
}

static void
grow(struct herald_pieces *p)
{
	size_t ncap = p->cap * 2, i;
	struct node **nt = xcalloc(ncap, sizeof(*nt));

	for (size_t k = 0; k < p->cap; k++) {
		if (p->tab[k] == NULL)
			continue;
		for (i = p->tab[k]->h & (ncap - 1); nt[i]; i = (i + 1) & (ncap - 1))
			;
		nt[i] = p->tab[k];
	}
	free(p->tab);
	p->tab = nt;
	p->cap = ncap;
}

static const struct herald_piece *
keep(struct herald_pieces *p, const char *s, size_t n)
{
	uint64_t h = hash64(s, n);
	struct node *x;
	size_t i;

	for (i = h & (p->cap - 1); (x = p->tab[i]) != NULL;
	    i = (i + 1) & (p->cap - 1))
		if (x->h == h && x->p.rawlen == n && memcmp(x->p.raw, s, n) == 0)
			return &x->p;
	hbuf_reset(&p->tmp);
	p->encode(&p->tmp, s, n);
	x = xmalloc(sizeof(*x) + n + 1 + p->tmp.len + 1);
	x->h = h;
	memcpy(x->data, s, n);
	x->data[n] = '\0';
	memcpy(x->data + n + 1, p->tmp.data ? p->tmp.data : "", p->tmp.len);
	x->data[n + 1 + p->tmp.len] = '\0';
	x->p = (struct herald_piece){ x->data, n, x->data + n + 1, p->tmp.len };
	p->tab[i] = x;
	p->bytes += sizeof(*x) + n + p->tmp.len + 2;
	if (++p->n * 2 > p->cap)
		grow(p);
	return &x->p;
}

size_t
herald_pieces_cut(struct herald_pieces *p, const char *s, size_t n,
    const struct herald_piece ***out)
{
	const struct herald_piece **v = NULL;
	size_t nv = 0, cap = 0, start = 0, at = 0;

	while (at < n) {
		const char *nl = memchr(s + at, '\n', n - at);
		size_t end = nl ? (size_t)(nl - s) + 1 : n;

		if (end == n || end - start > PIECE_MAX ||
		    (hash64(s + at, end - at) & CUT_MASK) == 0) {
			if (nv == cap) {
				cap = cap ? cap * 2 : 32;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[nv++] = keep(p, s + start, end - start);
			start = end;
		}
		at = end;
	}
	*out = v;
	return nv;
}

size_t
herald_pieces_count(const struct herald_pieces *p)
{
	return p->n;
}

size_t
herald_pieces_bytes(const struct herald_pieces *p)
{
	return sizeof(*p) + p->cap * sizeof(*p->tab) + p->bytes + p->tmp.cap;
}
