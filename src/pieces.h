/*
 * pieces.h - text shared between the (zone, locale) variants of a body.
 *
 * Variants of one post differ only where a session time is written, so
 * keeping each variant's rendered body whole (raw and quoted-printable)
 * costs tens of KiB per pair, and a list reaches hundreds of pairs.
 * Instead a body is cut at line ends into pieces chosen by their content,
 * each piece is kept once (the same bytes are the same piece, compared
 * whole), and a variant is a list of pieces.  Each piece also keeps its
 * encoding (herald_mime_qp), made once; quoted-printable works line by
 * line, so the pieces' encodings one after another are the encoding of
 * the whole.
 */
#ifndef HERALD_PIECES_H
#define HERALD_PIECES_H

#include "util.h"

struct herald_piece {
	const char *raw;      /* the text, NUL-terminated */
	size_t rawlen;
	const char *enc;      /* its encoding, NUL-terminated */
	size_t enclen;
};

/* encode appends the encoding of s[0..n) to out. */
typedef void (*herald_encode_fn)(struct hbuf *out, const char *s, size_t n);

struct herald_pieces;
struct herald_pieces *herald_pieces_new(herald_encode_fn encode);
void herald_pieces_free(struct herald_pieces *p);      /* NULL is fine */

/*
 * Cut s[0..n) into pieces and keep each.  Every piece but the last ends
 * with '\n' (the last too when s does).  Returns the number of pieces and
 * in *out an array of them the caller frees (the pieces themselves belong
 * to p until herald_pieces_free).
 */
size_t herald_pieces_cut(struct herald_pieces *p, const char *s, size_t n,
    const struct herald_piece ***out);

/* Pieces kept, and the bytes they and the store hold. */
size_t herald_pieces_count(const struct herald_pieces *p);
size_t herald_pieces_bytes(const struct herald_pieces *p);

#endif
