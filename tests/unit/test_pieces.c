/*
 * test_pieces.c - text shared between variants: cutting and joining gives
 * the text back, the pieces' encodings joined are the encoding of the
 * whole (quoted-printable, mime.c), the same bytes are one piece, and
 * variants that differ in a line share the rest.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mime.h"
#include "pieces.h"

static void
join(const struct herald_piece **pc, size_t n, bool enc, struct hbuf *out)
{
	hbuf_reset(out);
	for (size_t i = 0; i < n; i++)
		hbuf_put(out, enc ? pc[i]->enc : pc[i]->raw,
		    enc ? pc[i]->enclen : pc[i]->rawlen);
}

/* A body of n lines, some long (past a piece's 512 bytes, past QP's 76
 * columns), with non-ASCII and '=' to encode; line `vary` says `tag`. */
static void
body(struct hbuf *b, int n, int vary, const char *tag, bool final_nl)
{
	hbuf_reset(b);
	for (int i = 0; i < n; i++) {
		if (i == vary)
			hbuf_printf(b, "<p>Session: <time>%s</time></p>", tag);
		else if (i % 17 == 5)
			for (int k = 0; k < 40; k++)
				hbuf_printf(b, "long line %d, part %d = Zoë; ", i,
				    k);
		else
			hbuf_printf(b, "line %d of the post, Größe %d", i,
			    i * 7);
		if (i < n - 1 || final_nl)
			hbuf_putc(b, '\n');
	}
}

static void
test_roundtrip(void)
{
	struct herald_pieces *p = herald_pieces_new(herald_mime_qp);
	struct hbuf b = HBUF_INIT, j = HBUF_INIT, whole = HBUF_INIT;
	const struct herald_piece **pc;
	size_t n;

	for (int nl = 0; nl < 2; nl++)
		for (int lines = 0; lines < 120; lines += 13) {
			body(&b, lines, 3, "15:00", nl);
			n = herald_pieces_cut(p, b.data ? b.data : "", b.len,
			    &pc);
			join(pc, n, false, &j);
			INT_EQ(j.len, b.len, "%d lines: length", lines);
			OK(j.len == b.len && memcmp(j.data ? j.data : "",
			    b.data ? b.data : "", b.len) == 0,
			    "%d lines: cut and joined is the text", lines);
			for (size_t i = 0; i + 1 < n; i++)
				OK(pc[i]->rawlen > 0 &&
				    pc[i]->raw[pc[i]->rawlen - 1] == '\n',
				    "%d lines: piece %zu ends a line", lines, i);
			join(pc, n, true, &j);
			hbuf_reset(&whole);
			herald_mime_qp(&whole, b.data ? b.data : "", b.len);
			OK(j.len == whole.len && memcmp(j.data ? j.data : "",
			    whole.data ? whole.data : "", j.len) == 0,
			    "%d lines (final newline %d): the encodings joined "
			    "are the encoding of the whole", lines, nl);
			free(pc);
		}
	herald_pieces_free(p);
	herald_pieces_free(NULL);
	hbuf_free(&b);
	hbuf_free(&j);
	hbuf_free(&whole);
}

static void
test_sharing(void)
{
	struct herald_pieces *p = herald_pieces_new(herald_mime_qp);
	struct hbuf b = HBUF_INIT;
	const struct herald_piece **a, **c;
	size_t na, nc, one, bytes;
	char tag[32];

	body(&b, 400, 200, "15:00", true);
	na = herald_pieces_cut(p, b.data, b.len, &a);
	one = herald_pieces_bytes(p);
	OK(one >= 2 * b.len, "the store holds the text and its encoding "
	    "(%zu for %zu)", one, b.len);
	nc = herald_pieces_cut(p, b.data, b.len, &c);
	INT_EQ(nc, na, "the same text, the same cut");
	for (size_t i = 0; i < na && i < nc; i++)
		OK(a[i] == c[i], "the same bytes are one piece (%zu)", i);
	free(c);
	/* 300 variants, each with its own time on line 200 */
	for (int v = 0; v < 300; v++) {
		snprintf(tag, sizeof(tag), "%02d:%02d variant %d", v % 24,
		    v % 60, v);
		body(&b, 400, 200, tag, true);
		nc = herald_pieces_cut(p, b.data, b.len, &c);
		free(c);
	}
	bytes = herald_pieces_bytes(p);
	/* whole copies would be 300 times `one`; shared, each variant adds
	 * the few pieces around its line */
	OK(bytes < one + 300 * 2048, "300 variants of %zu bytes kept in %zu "
	    "(one alone: %zu)", b.len, bytes, one);
	free(a);
	herald_pieces_free(p);
	hbuf_free(&b);
}

int
main(void)
{
	test_roundtrip();
	test_sharing();
	return harness_done();
}
