/*
 * mime.c - one newsletter message as bytes: RFC 5322 header fields, MIME
 * (RFC 2045, 2046) multipart/alternative or a lone text/plain part, RFC 2047
 * encoded-words for non-ASCII display names and subjects, RFC 2369/2919 list
 * fields and RFC 8058 one-click unsubscribe.
 *
 * libetpan builds and writes the RFC 5322 header fields (it folds long
 * lines at whitespace and formats addresses and the date: what it does
 * well).  The rest is done here:
 *
 *  - quoted-printable.  libetpan 1.9's mailmime_quoted_printable_write
 *    writes a line's trailing white space raw *and* encoded ("a   \n" comes
 *    back as "a    "), so the text would not round-trip; we encode bodies
 *    ourselves, a run of literal octets at a time.
 *  - the MIME structure below the header fields.  It is fixed (one text
 *    part, or text and HTML in multipart/alternative with a deterministic
 *    boundary), and libetpan's MIME writer pushed every body octet through
 *    its per-character string writer (a quarter of the build time), so it
 *    is written here directly, in the same bytes.
 *  - RFC 2047.  libetpan writes display names and subjects as given; we
 *    give it encoded-words made of atext characters only, so it neither
 *    quotes them nor cuts them.
 *
 * A body may come as spans, some already encoded (campaign.c encodes each
 * (zone, locale) body once and only the template around it per reader);
 * quoted-printable works line by line, so spans that start at line starts
 * encode to the same bytes as the whole.  Output is CRLF throughout, ready
 * for SMTP as it is.
 */
#include "mime.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "addr.h"

/*
 * Encoded-word text budget.  An encoded-word may be 75 characters (RFC 2047
 * 2); we keep them to 12 + 48 = 60 so that "Subject: " plus one word stays
 * within libetpan's 72-column folding and no header line exceeds 78.
 */
#define EW_TEXT_MAX 48
/* Quoted-printable line length without the CRLF (RFC 2045 6.7 rule 5). */
#define QP_LINE_MAX 76
/* Stands in for the List-Unsubscribe value until lu_splice() */
#define LU_MARK "herald-list-unsubscribe-placeholder"

static const char hexdig[] = "0123456789ABCDEF";

/* libetpan aborts the same way xmalloc does: out of memory is fatal. */
static void *
need(void *p)
{
	if (p == NULL)
		abort();
	return p;
}

static void
need_ok(int r)
{
	if (r != 0)
		abort();
}

/* Length of the UTF-8 sequence starting at s[i] (1 for stray bytes). */
static size_t
u8len(const unsigned char *s, size_t i, size_t n)
{
	size_t g;
	unsigned c = s[i];

	if (c < 0xc2)
		return 1;
	g = c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 1;
	if (i + g > n)
		return 1;
	for (size_t k = 1; k < g; k++)
		if ((s[i + k] & 0xc0) != 0x80)
			return 1;
	return g;
}

/*
 * RFC 2047 5(3): in a phrase a Q-encoded word may hold only letters,
 * digits and "!*+-/" literally; the same safe set serves unstructured text.
 */
static bool
q_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/';
}

static size_t
q_cost(unsigned char c)
{
	return q_safe(c) || c == ' ' ? 1 : 3;
}

static void
b64_put(struct hbuf *out, const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		hbuf_putc(out, tab[(v >> 18) & 63]);
		hbuf_putc(out, tab[(v >> 12) & 63]);
		hbuf_putc(out, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		hbuf_putc(out, i + 2 < n ? tab[v & 63] : '=');
	}
}

/*
 * s[0..n) as encoded-words separated by single spaces.  Q or B, whichever is
 * shorter for the whole run (Q for accented Latin, B for CJK).  Words end
 * on character boundaries, so every word decodes to valid UTF-8 by itself.
 */
static void
ew_put(struct hbuf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t qlen = 0, i = 0;	/* qlen: literal octets in Q */
	bool b;

	/* Q while at least half the octets stay literal (readable in raw
	 * form, e.g. accented Latin), else B (e.g. CJK). */
	for (size_t k = 0; k < n; k++)
		qlen += q_cost(s[k]) == 1;
	b = 2 * qlen < n;
	while (i < n) {
		size_t j = i, len = 0;

		while (j < n) {
			size_t g = u8len(s, j, n), add = 0;

			if (b) {
				if (4 * ((j + g - i + 2) / 3) > EW_TEXT_MAX)
					break;
			} else {
				for (size_t k = 0; k < g; k++)
					add += q_cost(s[j + k]);
				if (len + add > EW_TEXT_MAX)
					break;
				len += add;
			}
			j += g;
		}
		if (i > 0)
			hbuf_putc(out, ' ');
		hbuf_puts(out, b ? "=?UTF-8?B?" : "=?UTF-8?Q?");
		if (b)
			b64_put(out, s + i, j - i);
		else
			for (size_t k = i; k < j; k++) {
				if (q_safe(s[k]))
					hbuf_putc(out, (char)s[k]);
				else if (s[k] == ' ')
					hbuf_putc(out, '_');
				else {
					hbuf_putc(out, '=');
					hbuf_putc(out, hexdig[s[k] >> 4]);
					hbuf_putc(out, hexdig[s[k] & 15]);
				}
			}
		hbuf_puts(out, "?=");
		i = j;
	}
}

/*
 * Text must be encoded when it holds 8-bit or control octets, or something
 * a reader would take for an encoded-word ("=?").
 */
static bool
needs_ew(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x7f || (c < 0x20 && c != '\t'))
			return true;
		if (c == '=' && i + 1 < n && s[i + 1] == '?')
			return true;
	}
	return false;
}

/* RFC 5322 3.2.3 atext, plus the single spaces between atoms. */
static bool
is_plain_phrase(const char *s)
{
	if (*s == '\0' || *s == ' ')
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ') {
			if (p[1] == ' ' || p[1] == '\0')
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c)))
			return false;
	}
	return true;
}

void
herald_rfc2047_phrase(struct hbuf *out, const char *s)
{
	size_t n = strlen(s);

	if (needs_ew(s, n))
		ew_put(out, s, n);
	else if (is_plain_phrase(s))
		hbuf_put(out, s, n);
	else {
		/* quoted-string (RFC 5322 3.2.4); never holds an encoded-word */
		hbuf_putc(out, '"');
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '"' || s[i] == '\\')
				hbuf_putc(out, '\\');
			hbuf_putc(out, s[i]);
		}
		hbuf_putc(out, '"');
	}
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Unstructured text (Subject): words that need it become encoded-words,
 * the rest stay readable.  Adjacent words needing encoding go into one run,
 * spaces included, because white space between encoded-words is dropped
 * when decoding (RFC 2047 6.2).
 */
static void
unstructured_put(struct hbuf *out, const char *s)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t j, end, k;

		if (is_ws(s[i])) {
			hbuf_putc(out, s[i++]);
			continue;
		}
		for (j = i; j < n && !is_ws(s[j]); j++)
			;
		if (!needs_ew(s + i, j - i)) {
			hbuf_put(out, s + i, j - i);
			i = j;
			continue;
		}
		end = j;
		for (;;) {
			size_t t;

			for (k = end; k < n && is_ws(s[k]); k++)
				;
			for (t = k; t < n && !is_ws(s[t]); t++)
				;
			if (t == k || !needs_ew(s + k, t - k))
				break;
			end = t;
		}
		ew_put(out, s + i, end - i);
		i = end;
	}
}

/*
 * Quoted-printable (RFC 2045 6.7) of text with LF or CRLF line ends into
 * CRLF lines of at most 76 characters.  Soft breaks fall between characters,
 * never inside a UTF-8 sequence or an =XX escape; white space before a line
 * break is encoded; "From " starting a line becomes "=46rom " so an mbox
 * writer never needs to mangle it.  Output always ends in CRLF (a soft break
 * when the text lacks a final newline), so the part ends cleanly.
 */
/* Octets quoted-printable copies as they are away from a line's end:
 * printable ASCII but "=", and tab.  Filled on first use. */
static unsigned char qp_lit[256];

static void
qp_init(void)
{
	if (qp_lit['a'])
		return;
	for (unsigned c = ' '; c <= '~'; c++)
		qp_lit[c] = c != '=';
	qp_lit['\t'] = 1;
}

/* Are all 8 octets of w literal (printable ASCII but "=")?  Word-at-a-time
 * tests (each exact as to "is there any"): an octet below 0x20, above
 * 0x7e, or equal to "=".  Tab, also literal, takes the octet loop. */
#define QP_ONES 0x0101010101010101ULL
#define QP_HIGH 0x8080808080808080ULL

static inline bool
qp_lit8(uint64_t w)
{
	uint64_t below = (w - QP_ONES * 0x20) & ~w & QP_HIGH;
	uint64_t above = ((w + QP_ONES * (0x7f - 0x7e)) | w) & QP_HIGH;
	uint64_t x = w ^ (QP_ONES * '=');
	uint64_t eq = (x - QP_ONES) & ~x & QP_HIGH;

	return (below | above | eq) == 0;
}

static void
qp_put(struct hbuf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	char *o;

	qp_init();
	hbuf_grow(out, 8);
	o = out->data + out->len;
	while (i < n) {
		const unsigned char *nl = memchr(s + i, '\n', n - i);
		size_t b = nl ? (size_t)(nl - s) : n, next = nl ? b + 1 : n;
		size_t col = 0;

		/* room for this line's worst case (3 per octet, a 3-octet
		 * soft break per 24 encoded octets), asked line by line: the
		 * caller's buffer, sized for the message, rarely moves */
		out->len = (size_t)(o - out->data);
		hbuf_grow(out, 4 * (b - i) + 8);
		o = out->data + out->len;

		if (nl && b > i && s[b - 1] == '\r')
			b--;
		while (i < b) {
			size_t g, elen;
			unsigned c;
			bool last, esc;

			/* fast path: literal ASCII away from the line's end and
			 * with room left on the output line */
			if (i + 1 < b && col < QP_LINE_MAX - 1 &&
			    !(col == 0 && s[i] == 'F')) {
				size_t lim = b - 1 - i, k = 0;

				if (lim > QP_LINE_MAX - 1 - col)
					lim = QP_LINE_MAX - 1 - col;
				for (uint64_t w; k + 8 <= lim; k += 8) {
					memcpy(&w, s + i + k, 8);
					if (!qp_lit8(w))
						break;
				}
				while (k < lim && qp_lit[s[i + k]])
					k++;
				memcpy(o, s + i, k);
				o += k;
				i += k;
				col += k;
			}
			g = u8len(s, i, b);
			c = s[i];
			last = i + g == b;

			if (g > 1)
				esc = true;
			else if (c == ' ' || c == '\t')
				esc = last;
			else
				esc = c < 33 || c > 126 || c == '=';
			elen = esc ? 3 * g : 1;
			/* room for a soft break "=" unless a hard one follows */
			if (col + elen > (last && nl ? QP_LINE_MAX :
			    QP_LINE_MAX - 1)) {
				*o++ = '=', *o++ = '\r', *o++ = '\n';
				col = 0;
			}
			if (col == 0 && c == 'F' && b - i >= 5 &&
			    memcmp(s + i, "From ", 5) == 0)
				esc = true, elen = 3;
			for (size_t k = 0; k < g; k++, i++) {
				if (esc) {
					*o++ = '=';
					*o++ = hexdig[s[i] >> 4];
					*o++ = hexdig[s[i] & 15];
				} else
					*o++ = (char)s[i];
			}
			col += elen;
		}
		if (!nl && col > 0)
			*o++ = '=';
		if (nl || col > 0)
			*o++ = '\r', *o++ = '\n';
		i = next;
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
}

static int
put(void *arg, const char *s, size_t n)
{
	hbuf_put(arg, s, n);
	/* libetpan only tests for 0 (failure) */
	return 1;
}

static struct mailimf_field *
imf_field(struct mailimf_fields *fl, int type)
{
	struct mailimf_field *f = xcalloc(1, sizeof(*f));

	f->fld_type = type;
	need_ok(mailimf_fields_add(fl, f));
	return f;
}

static void
imf_custom(struct mailimf_fields *fl, const char *name, const char *value)
{
	need_ok(mailimf_fields_add(fl, need(mailimf_field_new_custom(
	    xstrdup(name), xstrdup(value)))));
}

/*
 * A copy of s with ASCII control characters (C0 and DEL) turned into
 * spaces.  They have no business in a display name or a subject, and even
 * inside an encoded-word a strict reader (Python's email package) reports
 * them as a NonPrintableDefect.  Caller frees; NULL stays NULL.
 */
static char *
printable_copy(const char *s)
{
	char *c = xstrdup(s);

	for (char *p = c; p != NULL && *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
	return c;
}

/* A display name as libetpan should write it: encoded-words (atext and
 * spaces only) when needed, else the name itself, which libetpan quotes if
 * it is not all atext.  NULL for no name. */
static char *
display_name(const char *raw)
{
	struct hbuf b = HBUF_INIT;
	const char *p;
	char *name;

	if (raw == NULL)
		return NULL;
	name = printable_copy(raw);
	for (p = name; is_ws(*p); p++)
		;
	if (*p == '\0') {
		free(name);
		return NULL;
	}
	if (!needs_ew(name, strlen(name)))
		return name;
	ew_put(&b, name, strlen(name));
	free(name);
	return hbuf_detach(&b);
}

static struct mailimf_mailbox *
mailbox(const char *name, const char *addr)
{
	return need(mailimf_mailbox_new(display_name(name), xstrdup(addr)));
}

static struct mailimf_address_list *
address_list(const char *name, const char *addr)
{
	struct mailimf_address_list *al = need(mailimf_address_list_new_empty());

	need_ok(mailimf_address_list_add(al, need(mailimf_address_new(
	    MAILIMF_ADDRESS_MAILBOX, mailbox(name, addr), NULL))));
	return al;
}

static bool
printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool
has_https(const char *s)
{
	for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<'))
		if (strncasecmp(p + 1, "https://", 8) == 0)
			return true;
	return false;
}

/* Refuse anything that could break out of its header field. */
static int
check_mail(const struct herald_mail *m, struct herald_err *e)
{
	const struct { const char *name, *v; } f[] = {
		{ "from_name", m->from_name }, { "from_addr", m->from_addr },
		{ "to_name", m->to_name }, { "to_addr", m->to_addr },
		{ "reply_to", m->reply_to }, { "subject", m->subject },
		{ "message_id", m->message_id }, { "list_id", m->list_id },
		{ "list_unsubscribe", m->list_unsubscribe },
	};
	const char *mid = m->message_id, *at;

	for (size_t i = 0; i < sizeof(f) / sizeof(*f); i++) {
		if (f[i].v == NULL)
			continue;
		if (has_crlf_nul(f[i].v, strlen(f[i].v)))
			return herald_errf(e, EX_DATAERR, NULL, 0,
			    "header field holds a line break (%s)", f[i].name);
		if (!utf8_valid(f[i].v, strlen(f[i].v), NULL))
			return herald_errf(e, EX_DATAERR, NULL, 0,
			    "invalid UTF-8 in %s", f[i].name);
	}
	if (m->from_addr == NULL || !herald_addr_valid(m->from_addr))
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "invalid sender address \"%.200s\"",
		    m->from_addr ? m->from_addr : "");
	if (m->to_addr == NULL || !herald_addr_valid(m->to_addr))
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "invalid address \"%.200s\"", m->to_addr ? m->to_addr : "");
	if (m->reply_to && *m->reply_to && !herald_addr_valid(m->reply_to))
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "invalid Reply-To address \"%.200s\"", m->reply_to);
	/* RFC 5322 3.6.4 msg-id, dot-atom-text "@" dot-atom-text in spirit */
	if (mid == NULL || (at = strchr(mid, '@')) == NULL || at == mid ||
	    at[1] == '\0' || strchr(at + 1, '@') || !printable_ascii(mid) ||
	    strpbrk(mid, " <>\"(),;:\\[]") != NULL)
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "invalid Message-ID \"%.200s\"", mid ? mid : "");
	if (m->list_unsubscribe && !printable_ascii(m->list_unsubscribe))
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "List-Unsubscribe must be ASCII <URI>s");
	if (m->list_id && *m->list_id) {
		const char *lt = strrchr(m->list_id, '<');

		if (lt == NULL || !printable_ascii(lt) ||
		    lt[strlen(lt) - 1] != '>')
			return herald_errf(e, EX_DATAERR, NULL, 0,
			    "invalid List-Id \"%.200s\" (want \"Title "
			    "<id.domain>\")", m->list_id);
	}
	if (m->date_gmtoff <= -24 * 3600 || m->date_gmtoff >= 24 * 3600)
		return herald_errf(e, EX_SOFTWARE, NULL, 0,
		    "UTC offset out of range: %d", m->date_gmtoff);
	if (m->text == NULL && m->text_len > 0)
		return herald_errf(e, EX_SOFTWARE, NULL, 0, "no text part");
	return 0;
}

static struct mailimf_date_time *
date_time(time_t t, int off)
{
	time_t local = t + off;
	struct tm tm;
	int a = off < 0 ? -off : off;
	int zone = (a / 3600) * 100 + (a % 3600) / 60;

	gmtime_r(&local, &tm);
	return need(mailimf_date_time_new(tm.tm_mday, tm.tm_mon + 1,
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? -zone : zone));
}

static struct mailimf_fields *
build_fields(const struct herald_mail *m)
{
	struct mailimf_fields *fl = need(mailimf_fields_new_empty());
	struct mailimf_mailbox_list *from = need(mailimf_mailbox_list_new_empty());
	struct hbuf b = HBUF_INIT;

	imf_field(fl, MAILIMF_FIELD_ORIG_DATE)->fld_data.fld_orig_date =
	    need(mailimf_orig_date_new(date_time(m->date, m->date_gmtoff)));
	need_ok(mailimf_mailbox_list_add(from, mailbox(m->from_name,
	    m->from_addr)));
	imf_field(fl, MAILIMF_FIELD_FROM)->fld_data.fld_from =
	    need(mailimf_from_new(from));
	imf_field(fl, MAILIMF_FIELD_TO)->fld_data.fld_to =
	    need(mailimf_to_new(address_list(m->to_name, m->to_addr)));
	if (m->reply_to && *m->reply_to)
		imf_field(fl, MAILIMF_FIELD_REPLY_TO)->fld_data.fld_reply_to =
		    need(mailimf_reply_to_new(address_list(NULL, m->reply_to)));
	{
		char *subj = printable_copy(m->subject ? m->subject : "");

		unstructured_put(&b, subj);
		free(subj);
	}
	imf_field(fl, MAILIMF_FIELD_SUBJECT)->fld_data.fld_subject =
	    need(mailimf_subject_new(xstrdup(hbuf_cstr(&b))));
	imf_field(fl, MAILIMF_FIELD_MESSAGE_ID)->fld_data.fld_message_id =
	    need(mailimf_message_id_new(xstrdup(m->message_id)));
	/* Here rather than in the MIME part so it precedes the list fields. */
	imf_custom(fl, "MIME-Version", "1.0");
	if (m->list_id && *m->list_id) {
		const char *lt = strrchr(m->list_id, '<');
		char *raw = xstrndup(m->list_id, (size_t)(lt - m->list_id));
		char *title = printable_copy(raw);
		size_t tl = strlen(title);

		free(raw);
		while (tl > 0 && is_ws(title[tl - 1]))
			title[--tl] = '\0';
		hbuf_reset(&b);
		if (tl > 0) {
			herald_rfc2047_phrase(&b, title);
			hbuf_putc(&b, ' ');
		}
		hbuf_puts(&b, lt);
		imf_custom(fl, "List-Id", hbuf_cstr(&b));
		free(title);
	}
	if (m->list_unsubscribe && *m->list_unsubscribe) {
		/* a placeholder: libetpan would fold inside a long URI (see
		 * lu_splice), so the real value is put in after writing */
		imf_custom(fl, "List-Unsubscribe", LU_MARK);
		if (has_https(m->list_unsubscribe))
			imf_custom(fl, "List-Unsubscribe-Post",
			    "List-Unsubscribe=One-Click");
	}
	hbuf_free(&b);
	return fl;
}

/*
 * Replace the List-Unsubscribe placeholder with the real field, folded only
 * between its <URI>s, one per line: a URI is never cut (RFC 2369 lets a
 * reader drop white space inside one, but not every reader does).  A line
 * that would pass 998 octets (RFC 5322 2.1.1) is an error, not a fold.
 */
static int
lu_splice(struct hbuf *out, size_t start, const char *value,
    struct herald_err *e)
{
	static const char mark[] = "\r\nList-Unsubscribe: " LU_MARK "\r\n";
	struct hbuf f = HBUF_INIT;
	const char *hdr = out->data + start, *at, *p;
	size_t off, mlen = sizeof(mark) - 1, line = 0;

	at = strstr(hdr, mark);
	if (at == NULL)
		return herald_errf(e, EX_SOFTWARE, NULL, 0,
		    "List-Unsubscribe placeholder lost");
	hbuf_puts(&f, "\r\nList-Unsubscribe: ");
	line = strlen("List-Unsubscribe: ");
	for (p = value; *p; ) {
		const char *gt = strchr(p, '>');
		size_t n = gt ? (size_t)(gt - p) + 1 : strlen(p);

		if (line + n + 1 > 998) {
			hbuf_free(&f);
			return herald_errf(e, EX_DATAERR, NULL, 0,
			    "List-Unsubscribe URI too long for one header line "
			    "(%zu characters; shorten unsubscribe.url)", n);
		}
		hbuf_put(&f, p, n);
		line += n;
		p += n;
		if (*p == ',') {
			hbuf_puts(&f, ",\r\n");
			p++;
			line = 0;
			while (*p == ' ')
				p++;
			hbuf_putc(&f, ' ');
			line = 1;
		}
	}
	hbuf_puts(&f, "\r\n");
	/* splice f in place of the mark */
	off = (size_t)(at - out->data);
	{
		size_t tail = out->len - off - mlen;
		char *t = xmalloc(tail + 1);

		memcpy(t, out->data + off + mlen, tail);
		out->len = off;
		hbuf_put(out, f.data, f.len);
		hbuf_put(out, t, tail);
		free(t);
	}
	hbuf_free(&f);
	return 0;
}

/* The body of one part: spans that are already quoted-printable are
 * copied, the others encoded (each span starts at a line start, see
 * mime.h). */
static void
body_put(struct hbuf *out, const char *src, size_t len,
    const struct herald_mime_span *sp, size_t nsp)
{
	if (sp == NULL) {
		qp_put(out, src ? src : "", src ? len : 0);
		return;
	}
	for (size_t i = 0; i < nsp; i++) {
		if (sp[i].encoded)
			hbuf_put(out, sp[i].data, sp[i].len);
		else
			qp_put(out, sp[i].data, sp[i].len);
	}
}

static void
part_head(struct hbuf *out, const char *type)
{
	hbuf_puts(out, "Content-Type: ");
	hbuf_puts(out, type);
	hbuf_puts(out, "; charset=\"utf-8\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
}

/*
 * libetpan writes the RFC 5322 header fields (it folds them and formats
 * the addresses and the date); the MIME structure below them is fixed
 * (at most two text parts, always quoted-printable, deterministic
 * boundary), so it is written here straight into out, in the same bytes
 * libetpan's MIME writer produced, without its per-character writer going
 * over every octet of the bodies.
 */
int
herald_mime_build(const struct herald_mail *m, struct hbuf *out,
    struct herald_err *e)
{
	struct mailimf_fields *fl;
	int col = 0, rc;
	size_t start = out->len;

	if ((rc = check_mail(m, e)) != 0)
		return rc;
	/* the header fields and the body parts, about 1 KiB more than the
	 * bodies; QP grows text by a few per cent */
	hbuf_grow(out, m->text_len + m->html_len + (m->text_len +
	    m->html_len) / 8 + 2048);
	fl = build_fields(m);
	rc = mailimf_fields_write_driver(put, out, &col, fl);
	mailimf_fields_free(fl);
	if (rc != MAILIMF_NO_ERROR) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return herald_errf(e, EX_SOFTWARE, NULL, 0,
		    "libetpan could not write the header (error %d)", rc);
	}
	if (m->list_unsubscribe && *m->list_unsubscribe &&
	    (rc = lu_splice(out, start, m->list_unsubscribe, e)) != 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return rc;
	}
	if (m->html) {
		char boundary[32];
		const char *seed = m->boundary_seed ? m->boundary_seed :
		    m->message_id;

		/*
		 * Deterministic, so a re-run writes the same bytes.  "=_" can
		 * never occur in quoted-printable output (a literal "=" is
		 * always =3D), so the boundary cannot collide with a body.
		 */
		snprintf(boundary, sizeof(boundary), "=_herald_%016llx",
		    (unsigned long long)hash64(seed, strlen(seed)));
		hbuf_printf(out, "Content-Type: multipart/alternative; "
		    "boundary=\"%s\"\r\n\r\n--%s\r\n", boundary, boundary);
		part_head(out, "text/plain");
		body_put(out, m->text, m->text_len, m->text_spans,
		    m->text_nspans);
		hbuf_printf(out, "\r\n--%s\r\n", boundary);
		part_head(out, "text/html");
		body_put(out, m->html, m->html_len, m->html_spans,
		    m->html_nspans);
		hbuf_printf(out, "\r\n--%s--\r\n", boundary);
	} else {
		part_head(out, "text/plain");
		body_put(out, m->text, m->text_len, m->text_spans,
		    m->text_nspans);
	}
	return 0;
}

void
herald_mime_qp(struct hbuf *out, const char *s, size_t n)
{
	qp_put(out, s, n);
}
