/*
 * mime.h - one newsletter message as RFC 5322 / MIME bytes: headers with
 * RFC 2047 encoded-words for non-ASCII display names and subjects,
 * multipart/alternative (text/plain then text/html, UTF-8,
 * quoted-printable), or text/plain alone.  CRLF line endings only.
 * The MIME tree is built and written with libetpan; this module is the only
 * one that includes it.  Quoted-printable is encoded here, not by libetpan
 * (whose 1.9 encoder corrupts trailing white space): lines <= 76, soft
 * breaks never inside a UTF-8 sequence, "From " at a line start as =46rom.
 */
#ifndef HERALD_MIME_H
#define HERALD_MIME_H

#include <time.h>
#include "util.h"

/* A piece of a part's body: raw UTF-8 text (LF or CRLF line ends) or text
 * already encoded with herald_mime_qp().  Every span but the last must end
 * with a line break, so that encoding span by span gives the same bytes as
 * encoding the whole. */
struct herald_mime_span {
	const char *data;
	size_t len;
	bool encoded;
};

struct herald_mail {
	const char *from_name;     /* UTF-8 or NULL */
	const char *from_addr;
	const char *to_name;       /* UTF-8 or NULL/"" */
	const char *to_addr;
	const char *reply_to;      /* addr-spec or NULL */
	const char *subject;       /* UTF-8 */
	time_t date;
	int date_gmtoff;           /* offset to write the Date in, seconds */
	const char *message_id;    /* without angle brackets: "x@domain" */
	const char *list_id;       /* full value, e.g. "Title <news.example.org>" */
	const char *list_unsubscribe; /* full value "<https://...>, <mailto:...>" */
	const char *text;          /* text part, UTF-8, LF or CRLF line ends */
	size_t text_len;
	const char *html;          /* NULL: text/plain only */
	size_t html_len;
	const char *boundary_seed; /* makes the boundary deterministic */
	/* Optional: the bodies as spans (text and html still given, for
	 * their lengths and for checks); NULL: encode text and html whole. */
	const struct herald_mime_span *text_spans;
	size_t text_nspans;
	const struct herald_mime_span *html_spans;
	size_t html_nspans;
};

/*
 * Append the message to out.  Any header-bound field holding CR, LF or NUL
 * is EX_DATAERR ("header field holds a line break") and nothing is
 * appended; so are invalid addresses (herald_addr_valid), a malformed
 * message_id or list_id, non-ASCII list_unsubscribe and invalid UTF-8.
 * List-Unsubscribe-Post: List-Unsubscribe=One-Click is written when
 * list_unsubscribe holds an https URI.  NULL or "" reply_to, list_id and
 * list_unsubscribe leave their field out.  The output depends only on m:
 * the boundary is "=_herald_" and 16 hex digits of hash64(boundary_seed,
 * or message_id when NULL).  Errors carry no file or line.
 */
int herald_mime_build(const struct herald_mail *m, struct hbuf *out,
    struct herald_err *e);

/* Append s[0..n) as quoted-printable (the body encoding herald_mime_build
 * uses), CRLF line ends; for bodies encoded once and reused as spans. */
void herald_mime_qp(struct hbuf *out, const char *s, size_t n);

/* Append s (UTF-8) as an RFC 5322 phrase: encoded-words (RFC 2047, UTF-8,
 * Q or B, each <= 75 characters and whole characters) when s holds 8-bit or
 * control octets or "=?", else s as is, or as a quoted-string when it holds
 * specials.  Subjects are encoded word by word instead (inside mime.c). */
void herald_rfc2047_phrase(struct hbuf *out, const char *s);

#endif
