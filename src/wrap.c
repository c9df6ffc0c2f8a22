/*
 * wrap.c - where the plain-text part may break a line, and how wide a
 * string is on a terminal.  ICU's line-break iterator implements UAX #14
 * (Unicode line breaking): ideographs and kana break between characters,
 * Thai is split into words with ICU's dictionary, "well-known" may break
 * after its hyphen, and nothing breaks before a closing bracket or a
 * no-break space.  utf8proc's character widths follow Unicode's East Asian
 * Width property, the table terminals use.
 */
#include "wrap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/ustring.h>
#include <utf8proc.h>

static size_t
cp_width(utf8proc_int32_t c)
{
	int w;

	if (c == HERALD_WRAP_GLUE)
		return 1;
	if (c < 0x20 || c == 0x7f)
		return 0;
	w = utf8proc_charwidth(c);
	return w < 0 ? 0 : (size_t)w;
}

/* Next code point of s[i..n); an invalid byte is one column-1 U+FFFD. */
static size_t
next_cp(const char *s, size_t i, size_t n, utf8proc_int32_t *c)
{
	utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
	    (utf8proc_ssize_t)(n - i), c);

	if (len <= 0) {
		*c = 0xfffd;
		return 1;
	}
	return (size_t)len;
}

size_t
herald_wrap_width(const char *s, size_t n)
{
	size_t w = 0, i = 0;

	while (i < n) {
		utf8proc_int32_t c;

		i += next_cp(s, i, n, &c);
		w += cp_width(c);
	}
	return w;
}

/* A word that must stay clickable. */
static bool
url_word(const char *w, size_t n)
{
	if ((n >= 4 && memcmp(w, "www.", 4) == 0) ||
	    (n >= 7 && memcmp(w, "mailto:", 7) == 0))
		return true;
	for (size_t i = 0; i + 3 <= n; i++)
		if (memcmp(w + i, "://", 3) == 0)
			return true;
	return false;
}

/* Is byte offset p strictly inside a URL word? */
static bool
inside_url(const char *s, size_t n, size_t p)
{
	size_t a = p, b = p;

	if (p == 0 || s[p - 1] == ' ' || s[p] == ' ')
		return false;
	while (a > 0 && s[a - 1] != ' ')
		a--;
	while (b < n && s[b] != ' ')
		b++;
	return url_word(s + a, b - a);
}

/*
 * One line-break iterator for the process, given new text each time:
 * opening one loads ICU's rules and costs about 50,000 instructions, and a
 * post's text is wrapped thousands of times (once per block per variant).
 * The mutex makes it safe should wrapping ever move off the main thread.
 */
static pthread_mutex_t brk_lock = PTHREAD_MUTEX_INITIALIZER;
static UBreakIterator *brk;

static UBreakIterator *
line_breaks(const UChar *u, int32_t ulen, UErrorCode *st)
{
	pthread_mutex_lock(&brk_lock);
	if (brk == NULL)
		brk = ubrk_open(UBRK_LINE, "", u, ulen, st);
	else
		ubrk_setText(brk, u, ulen, st);
	if (U_FAILURE(*st))
		pthread_mutex_unlock(&brk_lock);
	return brk;
}

static void
line_breaks_done(void)
{
	pthread_mutex_unlock(&brk_lock);
}

/*
 * Byte offsets where s[0..n) (no '\n') may break, in order, starting with
 * 0 and ending with n.  Caller frees *pos.
 */
static size_t
break_points(const char *s, size_t n, size_t **pos)
{
	UChar *u = xmalloc((2 * n + 1) * sizeof(*u));
	size_t *u2b = xmalloc((2 * n + 2) * sizeof(*u2b));
	unsigned char *hold = xcalloc(n + 1, 1);
	size_t *out = xmalloc((n + 2) * sizeof(*out));
	size_t ulen = 0, nout = 0, i = 0, mark = 0;
	int depth = 0;
	UErrorCode st = U_ZERO_ERROR;
	UBreakIterator *bi;

	for (size_t k = 0; k < n; k++) {
		hold[k] = depth > 0;
		if (s[k] == HERALD_WRAP_HOLD)
			depth++;
		else if (s[k] == HERALD_WRAP_END && depth > 0)
			depth--;
	}
	hold[n] = 0;
	while (i < n) {
		utf8proc_int32_t c;
		size_t len;

		if (s[i] == HERALD_WRAP_HOLD || s[i] == HERALD_WRAP_END) {
			i++;	/* markers take no place in the text ICU sees */
			continue;
		}
		len = next_cp(s, i, n, &c);
		if (c == HERALD_WRAP_GLUE)
			c = 0xa0;	/* NO-BREAK SPACE: class GL */
		/* a break before this character goes before any marker */
		u2b[ulen] = mark;
		if (c >= 0x10000) {
			u[ulen++] = (UChar)(0xd800 + ((c - 0x10000) >> 10));
			u2b[ulen] = mark;
			u[ulen++] = (UChar)(0xdc00 + ((c - 0x10000) & 0x3ff));
		} else
			u[ulen++] = (UChar)c;
		i += len;
		mark = i;
	}
	u2b[ulen] = n;
	out[nout++] = 0;
	bi = line_breaks(u, (int32_t)ulen, &st);
	if (U_SUCCESS(st)) {
		for (int32_t b = ubrk_next(bi); b != UBRK_DONE;
		    b = ubrk_next(bi)) {
			size_t p;

			if (b <= 0 || (size_t)b >= ulen)
				continue;
			p = u2b[b];
			if (p == 0 || p >= n || hold[p] || inside_url(s, n, p) ||
			    p <= out[nout - 1])
				continue;
			out[nout++] = p;
		}
		line_breaks_done();
	} else {
		/* No ICU data: break after spaces only. */
		for (size_t k = 1; k < n; k++)
			if (s[k - 1] == ' ' && s[k] != ' ' && !hold[k])
				out[nout++] = k;
	}
	if (n > 0)
		out[nout++] = n;
	free(u);
	free(u2b);
	free(hold);
	*pos = out;
	return nout;
}

/* Widths of s[a..b) without leading (lead) and trailing blanks (vis). */
static void
piece(const char *s, size_t a, size_t b, bool lead, size_t *start,
    size_t *vis, size_t *full)
{
	size_t e = b;

	if (lead)
		while (a < b && s[a] == ' ')
			a++;
	while (e > a && s[e - 1] == ' ')
		e--;
	*start = a;
	*vis = herald_wrap_width(s + a, e - a);
	*full = *vis + (b - e);
}

size_t
herald_wrap_min_width(const char *s, size_t n)
{
	size_t maxw = 0, a = 0;

	while (a <= n) {
		const char *nl = memchr(s + a, '\n', n - a);
		size_t b = nl ? (size_t)(nl - s) : n, *pos, np;

		np = break_points(s + a, b - a, &pos);
		for (size_t k = 0; k + 1 < np; k++) {
			size_t st, vis, full;

			piece(s + a, pos[k], pos[k + 1], true, &st, &vis, &full);
			if (vis > maxw)
				maxw = vis;
		}
		free(pos);
		if (nl == NULL)
			break;
		a = b + 1;
	}
	return maxw;
}

static void
put_visible(struct hbuf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != HERALD_WRAP_HOLD && s[i] != HERALD_WRAP_END)
			hbuf_putc(out, s[i]);
}

static void
end_line(struct hbuf *out, size_t line_start)
{
	while (out->len > line_start && out->data[out->len - 1] == ' ')
		out->len--;
	hbuf_putc(out, '\n');
}

/* Wrap one line without hard breaks; returns the lines written. */
static size_t
wrap_line(const char *s, size_t n, size_t width, struct hbuf *out)
{
	size_t *pos, np = break_points(s, n, &pos);
	size_t lines = 0, linew = 0, line_start = out->len;
	bool empty = true;

	for (size_t k = 0; k + 1 < np; k++) {
		size_t a = pos[k], b = pos[k + 1], st, vis, full;

		piece(s, a, b, empty, &st, &vis, &full);
		if (empty) {
			if (full == 0 && st == b)
				continue;	/* blanks at the start */
			put_visible(out, s + st, b - st);
			linew = full;
			empty = false;
		} else if (linew + vis <= width) {
			put_visible(out, s + a, b - a);
			linew += full;
		} else {
			end_line(out, line_start);
			lines++;
			line_start = out->len;
			piece(s, a, b, true, &st, &vis, &full);
			put_visible(out, s + st, b - st);
			linew = full;
		}
	}
	if (!empty) {
		end_line(out, line_start);
		lines++;
	}
	free(pos);
	return lines;
}

size_t
herald_wrap(const char *s, size_t n, size_t width, struct hbuf *out)
{
	size_t lines = 0, a = 0;

	while (a <= n) {
		const char *nl = memchr(s + a, '\n', n - a);
		size_t b = nl ? (size_t)(nl - s) : n;
		size_t got = wrap_line(s + a, b - a, width, out);

		if (got == 0 && nl != NULL) {
			hbuf_putc(out, '\n');
			got = 1;
		}
		lines += got;
		if (nl == NULL)
			break;
		a = b + 1;
	}
	return lines;
}
