/*
 * mime.h - one newsletter message as RFC 5322 / MIME bytes: headers with
 * RFC 2047 encoded-words for non-ASCII display names and subjects,
 * multipart/alternative (text/plain then text/html, UTF-8,
 * quoted-printable), or text/plain alone.  CRLF line endings only.
 * The MIME tree is built and written with libetpan; this module is the only
 * one that includes it.
 */
#ifndef HERALD_MIME_H
#define HERALD_MIME_H

#include <time.h>
#include "util.h"

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
};

/*
 * Append the message to out.  Any header-bound field holding CR, LF or NUL
 * is EX_DATAERR ("header field holds a line break") and nothing is
 * appended.  List-Unsubscribe-Post: List-Unsubscribe=One-Click is written
 * when list_unsubscribe holds an https URI.
 */
int herald_mime_build(const struct herald_mail *m, struct hbuf *out,
    struct herald_err *e);

/* Append s as an RFC 2047 encoded phrase/unstructured text if it needs it,
 * else as is (phrases quoted when they hold specials). */
void herald_rfc2047_phrase(struct hbuf *out, const char *s);

#endif
