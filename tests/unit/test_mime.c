/*
 * test_mime.c - message building: RFC 2047 phrases, header order and
 * folding, quoted-printable that round-trips, header injection refused.
 * Messages are checked for properties (CRLF only, line lengths, 7-bit
 * headers) rather than against whole golden blobs; every message built is
 * also written to a temporary directory ($HERALD_KEEP_MIME keeps it) so a
 * person can open them.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mime.h"

static char outdir[] = "/tmp/herald-mime-XXXXXX";
static int nwritten;

static void
save(const char *name, const struct hbuf *b)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%02d-%s.eml", outdir, nwritten++, name);
	OK(write_file_atomic(path, b->data, b->len, NULL) == 0, "write %s", path);
}

static struct herald_mail
base(void)
{
	struct herald_mail m = {
		.from_name = "Herald Notes",
		.from_addr = "news@example.org",
		.to_name = "Zo\xc3\xab \xc3\x87" "elik",
		.to_addr = "zoe@example.org",
		.reply_to = NULL,
		.subject = "Hello",
		.date = 1619614800,             /* 2021-04-28T13:00:00Z */
		.date_gmtoff = 2 * 3600,
		.message_id = "c1.0123abcd@example.org",
		.list_id = "Herald Notes <notes.example.org>",
		.list_unsubscribe = "<https://example.org/u/tok>, "
		    "<mailto:unsub@example.org?subject=unsubscribe>",
		.text = "Hello\n",
		.text_len = 6,
		.html = "<p>Hello</p>\n",
		.html_len = 13,
		.boundary_seed = "c1:zoe@example.org",
	};
	return m;
}

static const char *
header_end(const struct hbuf *b)
{
	const char *p = strstr(b->data, "\r\n\r\n");

	return p ? p + 2 : b->data + b->len;
}

/* Value of the first header field name (unfolded is not needed here). */
static bool
has_line(const struct hbuf *b, const char *line)
{
	size_t n = strlen(line);
	const char *end = header_end(b);

	for (const char *p = b->data; p && p < end; ) {
		if (strncmp(p, line, n) == 0 && p[n] == '\r')
			return true;
		p = strstr(p, "\r\n");
		if (p)
			p += 2;
	}
	return false;
}

static bool
contains(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(p + i, needle, k) == 0)
			return true;
	return false;
}

/* Structural checks every message must pass. */
static void
check_shape(const char *name, const struct hbuf *b)
{
	const char *hend = header_end(b);
	const char *line = b->data;
	bool in_head = true;
	int lineno = 1;

	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			OK(0, "%s: bare LF at %zu", name, i);
		if (b->data[i] == '\r' && (i + 1 == b->len || b->data[i + 1] != '\n'))
			OK(0, "%s: bare CR at %zu", name, i);
		if (b->data[i] == '\0')
			OK(0, "%s: NUL at %zu", name, i);
	}
	for (const char *p = b->data; p < hend; p++)
		if ((unsigned char)*p >= 0x80) {
			OK(0, "%s: 8-bit header octet at %td", name, p - b->data);
			break;
		}
	while (line < b->data + b->len) {
		const char *eol = strstr(line, "\r\n");
		size_t len = eol ? (size_t)(eol - line) : strlen(line);

		if (line >= hend)
			in_head = false;
		if (in_head) {
			/* only a long URI may exceed 78 */
			if (len > 78)
				OK(contains(line, len, "<http") ||
				    contains(line, len, "<mailto:"),
				    "%s: header line %d is %zu long", name,
				    lineno, len);
			OK(len <= 998, "%s: line %d too long", name, lineno);
		} else {
			OK(len <= 76, "%s: body line %d is %zu long", name,
			    lineno, len);
			OK(len == 0 || (line[len - 1] != ' ' &&
			    line[len - 1] != '\t'),
			    "%s: body line %d ends in white space", name, lineno);
			OK(strncmp(line, "From ", 5) != 0,
			    "%s: body line %d starts with From", name, lineno);
		}
		if (eol == NULL)
			break;
		line = eol + 2;
		lineno++;
	}
	OK(b->len >= 2 && b->data[b->len - 2] == '\r' &&
	    b->data[b->len - 1] == '\n', "%s: ends in CRLF", name);
}

static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ?
	    c - 'A' + 10 : -1;
}

/* Decode one QP body (RFC 2045 6.7) into out. */
static void
qp_decode(const char *s, size_t n, struct hbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '=') {
			hbuf_putc(out, s[i]);
			continue;
		}
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			hbuf_putc(out, (char)(hexval(s[i + 1]) * 16 +
			    hexval(s[i + 2])));
			i += 2;
			continue;
		}
		OK(0, "bad = escape at %zu", i);
	}
}

/* LF line ends to CRLF, as the message must carry them. */
static void
crlf(const char *s, size_t n, struct hbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			hbuf_putc(out, '\r');
		hbuf_putc(out, s[i]);
	}
}

/* Body of a single-part message, or part k (0, 1) of a multipart one. */
static void
part_body(const struct hbuf *b, const char *boundary, int k,
    const char **p, size_t *n)
{
	char delim[64];
	const char *s, *e;

	if (boundary == NULL) {
		*p = header_end(b) + 2;
		*n = (size_t)(b->data + b->len - *p);
		return;
	}
	snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	s = strstr(b->data, delim);
	for (int i = 0; i < k && s; i++)
		s = strstr(s + 1, delim);
	if (s == NULL || (s = strstr(s, "\r\n\r\n")) == NULL) {
		*p = "", *n = 0;
		return;
	}
	s += 4;
	e = strstr(s - 2, delim);
	*p = s;
	*n = e ? (size_t)(e - s) : 0;
}

static void
check_roundtrip(const char *name, const struct hbuf *b, const char *boundary,
    int k, const char *in, size_t inlen)
{
	struct hbuf dec = HBUF_INIT, want = HBUF_INIT;
	const char *p;
	size_t n;

	part_body(b, boundary, k, &p, &n);
	qp_decode(p, n, &dec);
	crlf(in, inlen, &want);
	OK(dec.len == want.len && memcmp(hbuf_cstr(&dec), hbuf_cstr(&want),
	    dec.len) == 0, "%s: part %d does not round-trip:\n%s\n--- want\n%s",
	    name, k, hbuf_cstr(&dec), hbuf_cstr(&want));
	hbuf_free(&dec);
	hbuf_free(&want);
}

static void
test_phrase(void)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "Bob Smith", "Bob Smith" },
		{ "Doe, John", "\"Doe, John\"" },
		{ "J. R. Hacker", "\"J. R. Hacker\"" },
		{ "Say \"hi\" \\o/", "\"Say \\\"hi\\\" \\\\o/\"" },
		{ "Zo\xc3\xab", "=?UTF-8?Q?Zo=C3=AB?=" },
		{ "Zo\xc3\xab \xc3\x87" "elik", "=?UTF-8?Q?Zo=C3=AB_=C3=87elik?=" },
		{ "\xe7\x94\xb0\xe4\xb8\xad \xe8\x8a\xb1\xe5\xad\x90",
		    "=?UTF-8?B?55Sw5LitIOiKseWtkA==?=" },
		{ "=?UTF-8?Q?x?=", "=?UTF-8?Q?=3D=3FUTF-8=3FQ=3Fx=3F=3D?=" },
		{ "Eve \"=?x?=\"", "=?UTF-8?B?RXZlICI9P3g/PSI=?=" },
	};
	struct hbuf b = HBUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		hbuf_reset(&b);
		herald_rfc2047_phrase(&b, cases[i].in);
		STR_EQ(hbuf_cstr(&b), cases[i].want, "phrase %zu", i);
	}

	/* Long: several words, each <= 75 and whole UTF-8 characters. */
	hbuf_reset(&b);
	{
		char in[400] = "";
		for (int i = 0; i < 60; i++)
			strcat(in, "\xc3\xa9");
		strcat(in, " and \xf0\x9f\x8e\x89\xf0\x9f\x8e\x89 done");
		herald_rfc2047_phrase(&b, in);
	}
	{
		int words = 0;
		char *s = xstrdup(hbuf_cstr(&b)), *save_p = NULL;

		for (char *w = strtok_r(s, " ", &save_p); w;
		    w = strtok_r(NULL, " ", &save_p)) {
			size_t n = strlen(w);
			words++;
			OK(n <= 75, "word %d is %zu long", words, n);
			OK(strncmp(w, "=?UTF-8?", 8) == 0 &&
			    strcmp(w + n - 2, "?=") == 0, "word %s", w);
			/* a Q word never ends in a lead byte or mid-sequence */
			if (w[8] == 'Q' && n >= 5) {
				const char *t = w + n - 5;
				if (t[0] == '=') {
					int v = hexval(t[1]) * 16 + hexval(t[2]);
					OK(v < 0xc0, "word %d ends in a lead byte", words);
				}
			}
		}
		OK(words >= 3, "long phrase split into %d words", words);
		free(s);
	}
	hbuf_free(&b);
}

static void
test_basic(void)
{
	struct herald_mail m = base();
	struct hbuf b = HBUF_INIT, b2 = HBUF_INIT;
	struct herald_err e = {0};
	static const char *order[] = {
		"Date:", "From:", "To:", "Reply-To:", "Subject:", "Message-ID:",
		"MIME-Version:", "List-Id:", "List-Unsubscribe:",
		"List-Unsubscribe-Post:", "Content-Type:",
	};
	const char *prev = NULL;

	m.reply_to = "replies@example.org";
	INT_EQ(herald_mime_build(&m, &b, &e), 0, "%s", e.msg);
	save("basic", &b);
	check_shape("basic", &b);
	OK(has_line(&b, "Date: Wed, 28 Apr 2021 15:00:00 +0200"), "Date");
	OK(has_line(&b, "From: Herald Notes <news@example.org>"), "From");
	OK(has_line(&b, "To: =?UTF-8?Q?Zo=C3=AB_=C3=87elik?= <zoe@example.org>"),
	    "To");
	OK(has_line(&b, "Reply-To: replies@example.org"), "Reply-To");
	OK(has_line(&b, "Subject: Hello"), "Subject");
	OK(has_line(&b, "Message-ID: <c1.0123abcd@example.org>"), "Message-ID");
	OK(has_line(&b, "MIME-Version: 1.0"), "MIME-Version");
	OK(has_line(&b, "List-Id: Herald Notes <notes.example.org>"), "List-Id");
	OK(has_line(&b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
	    "List-Unsubscribe-Post");
	OK(strstr(b.data, "multipart/alternative") != NULL, "multipart");
	OK(strstr(b.data, "Content-Type: text/plain; charset=\"utf-8\"") <
	    strstr(b.data, "Content-Type: text/html; charset=\"utf-8\""),
	    "text/plain first");
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		char pat[64];
		const char *p;

		snprintf(pat, sizeof(pat), "\r\n%s", order[i]);
		p = strstr(b.data, pat);
		if (i == 0)
			p = strncmp(b.data, order[0], 5) == 0 ? b.data : NULL;
		OK(p != NULL, "%s present", order[i]);
		OK(p == NULL || prev == NULL || p > prev, "%s in order", order[i]);
		if (p)
			prev = p;
	}
	/* the same input gives the same bytes */
	INT_EQ(herald_mime_build(&m, &b2, &e), 0, "%s", e.msg);
	OK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0,
	    "deterministic");
	/* appends */
	INT_EQ(herald_mime_build(&m, &b2, &e), 0, "%s", e.msg);
	INT_EQ(b2.len, 2 * b.len, "appends to out");
	/* another seed, another boundary */
	{
		const char *bd = strstr(b.data, "boundary=\"");
		char want[40];

		OK(bd != NULL, "boundary");
		m.boundary_seed = "c1:other@example.org";
		hbuf_reset(&b2);
		INT_EQ(herald_mime_build(&m, &b2, &e), 0, "%s", e.msg);
		snprintf(want, sizeof(want), "%.36s", bd ? bd : "");
		OK(strstr(b2.data, want) == NULL, "boundary depends on seed");
		OK(bd && strncmp(bd + 10, "=_herald_", 9) == 0, "boundary prefix");
	}
	hbuf_free(&b);
	hbuf_free(&b2);
}

static void
test_no_https(void)
{
	struct herald_mail m = base();
	struct hbuf b = HBUF_INIT;
	struct herald_err e = {0};

	m.list_unsubscribe = "<mailto:unsub@example.org>";
	INT_EQ(herald_mime_build(&m, &b, &e), 0, "%s", e.msg);
	OK(strstr(b.data, "List-Unsubscribe-Post") == NULL,
	    "no one-click without https");
	OK(has_line(&b, "List-Unsubscribe: <mailto:unsub@example.org>"), "LU");
	check_shape("mailto", &b);

	m.list_unsubscribe = "";
	m.list_id = NULL;
	m.reply_to = "";
	hbuf_reset(&b);
	INT_EQ(herald_mime_build(&m, &b, &e), 0, "%s", e.msg);
	OK(strstr(b.data, "List-") == NULL, "no list fields when absent");
	OK(strstr(b.data, "Reply-To") == NULL, "no Reply-To when empty");
	hbuf_free(&b);
}

static void
test_names_subjects(void)
{
	static const struct { const char *from, *to, *subject; } cases[] = {
		{ "Jos\xc3\xa9 M\xc3\xbcller", "Doe, John", "Caf\xc3\xa9 notes" },
		{ "\xe7\x94\xb0\xe4\xb8\xad \xe8\x8a\xb1\xe5\xad\x90", "J. Doe",
		    "\xe4\xbb\x8a\xe9\x80\xb1\xe3\x81\xae\xe3\x82\xbb\xe3\x83\x83"
		    "\xe3\x82\xb7\xe3\x83\xa7\xe3\x83\xb3\xe3\x81\xae\xe3\x81\x8a"
		    "\xe7\x9f\xa5\xe3\x82\x89\xe3\x81\x9b\xe3\x81\xa8\xe6\x99\x82"
		    "\xe9\x96\x93\xe8\xa1\xa8\xe3\x81\xa7\xe3\x81\x99" },
		{ NULL, "", "A rather long subject line about sessions in "
		    "S\xc3\xa3o Paulo, Z\xc3\xbcrich and Reykjav\xc3\xadk that "
		    "must be folded over several lines \xf0\x9f\x8e\x89 because "
		    "it keeps going and going" },
		{ "Say \"hi\"", "O'Brien \\ co", "Plain ASCII: no encoding, "
		    "(even with) <specials> and =? marks" },
		{ "\xc3\x93lafur", NULL, "" },
		{ "Ma\xc3\xaetre Fran\xc3\xa7ois-R\xc3\xa9gis de la "
		    "Cha\xc3\xaene-Montb\xc3\xa9liard et Saint-\xc3\x89tienne "
		    "du Val d'Is\xc3\xa8re", "\xe9\x95\xb7\xe3\x81\x84\xe5\x90\x8d"
		    "\xe5\x89\x8d\xe9\x95\xb7\xe3\x81\x84\xe5\x90\x8d\xe5\x89"
		    "\x8d\xe9\x95\xb7\xe3\x81\x84\xe5\x90\x8d\xe5\x89\x8d\xe9"
		    "\x95\xb7\xe3\x81\x84\xe5\x90\x8d\xe5\x89\x8d",
		    "SubjectWithAVeryLongTokenThatCannotBeFoldedAnywhereAtAllBecause"
		    "ItHasNoSpaces and then caf\xc3\xa9" },
	};
	struct herald_err e = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct herald_mail m = base();
		struct hbuf b = HBUF_INIT;
		char name[32];

		m.from_name = cases[i].from;
		m.to_name = cases[i].to;
		m.subject = cases[i].subject;
		snprintf(name, sizeof(name), "names-%zu", i);
		INT_EQ(herald_mime_build(&m, &b, &e), 0, "%s: %s", name, e.msg);
		save(name, &b);
		check_shape(name, &b);
		/* no encoded-word inside a quoted string */
		for (const char *p = b.data; (p = strchr(p, '"')) != NULL; ) {
			const char *q = strchr(p + 1, '"');
			if (q == NULL || q > header_end(&b))
				break;
			OK(!contains(p, (size_t)(q - p), "=?") ||
			    contains(p, (size_t)(q - p), "=_herald_"),
			    "%s: encoded-word in quotes", name);
			p = q + 1;
		}
		hbuf_free(&b);
	}
}

static void
test_bodies(void)
{
	static const char *texts[] = {
		"Hello Zo\xc3\xab   \nFrom here on\n.\n.dot line\ntab\t\n"
		    "\n\nlast line without newline",
		"CRLF\r\nline ends \r\nthroughout\r\n",
		"=3D already looks encoded = and =\n==\n",
		"a very long line of ASCII text that goes well beyond the "
		    "seventy-six character limit of quoted-printable and on "
		    "and on and on and on and on and on and on to the end\n",
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		    "\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89\xf0\x9f"
		    "\x8e\x89\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89\n",
		"lone\rCR and a NUL-free \x01 control\n",
		"", "\n", " ", "From ", "From", "x\nFrom the start\n",
		"                                                            "
		    "                         trailing spaces past 76   \n",
	};
	struct herald_err e = {0};

	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		struct herald_mail m = base();
		struct hbuf b = HBUF_INIT;
		char name[32];

		/* text only */
		m.text = texts[i];
		m.text_len = strlen(texts[i]);
		m.html = NULL;
		snprintf(name, sizeof(name), "text-%zu", i);
		INT_EQ(herald_mime_build(&m, &b, &e), 0, "%s", e.msg);
		save(name, &b);
		check_shape(name, &b);
		OK(strstr(b.data, "multipart") == NULL, "%s: single part", name);
		OK(has_line(&b, "Content-Type: text/plain; charset=\"utf-8\""),
		    "%s: text/plain", name);
		check_roundtrip(name, &b, NULL, 0, m.text, m.text_len);

		/* the same as HTML next to a fixed text */
		hbuf_reset(&b);
		m.text = "plain\n";
		m.text_len = 6;
		m.html = texts[i];
		m.html_len = strlen(texts[i]);
		snprintf(name, sizeof(name), "html-%zu", i);
		INT_EQ(herald_mime_build(&m, &b, &e), 0, "%s", e.msg);
		save(name, &b);
		check_shape(name, &b);
		{
			const char *bd = strstr(b.data, "boundary=\"");
			char boundary[64] = "";

			if (bd)
				sscanf(bd + 10, "%63[^\"]", boundary);
			check_roundtrip(name, &b, boundary, 0, m.text, m.text_len);
			check_roundtrip(name, &b, boundary, 1, m.html, m.html_len);
		}
		hbuf_free(&b);
	}
}

/* Random text: every message passes the shape checks and round-trips. */
static void
test_random_bodies(void)
{
	static const char *atoms[] = {
		" ", " ", "  ", "\t", "\n", "\r\n", "a", "word", "From ", ".",
		"=", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x8e\x89", "x=y",
		"<p style=\"a\">", "\x7f", "\r",
	};
	struct herald_err e = {0};
	unsigned seed = 12345;

	for (int i = 0; i < 400; i++) {
		struct herald_mail m = base();
		struct hbuf in = HBUF_INIT, b = HBUF_INIT;
		int n = (int)((seed = seed * 1103515245 + 12345) >> 16) % 300;
		char name[32];

		for (int k = 0; k < n; k++) {
			seed = seed * 1103515245 + 12345;
			hbuf_puts(&in, atoms[(seed >> 16) %
			    (sizeof(atoms) / sizeof(*atoms))]);
		}
		m.text = hbuf_cstr(&in);
		m.text_len = in.len;
		m.html = NULL;
		snprintf(name, sizeof(name), "random-%d", i);
		INT_EQ(herald_mime_build(&m, &b, &e), 0, "%s", e.msg);
		check_shape(name, &b);
		check_roundtrip(name, &b, NULL, 0, m.text, m.text_len);
		hbuf_free(&in);
		hbuf_free(&b);
	}
}

static void
test_injection(void)
{
	static const char *evil[] = {
		"Eve\r\nBcc: x@y", "Eve\nBcc: x@y", "Eve\rBcc: x@y",
	};
	struct herald_err e = {0};

	for (int f = 0; f < 9; f++)
		for (size_t k = 0; k < sizeof(evil) / sizeof(*evil); k++) {
			struct herald_mail m = base();
			struct hbuf b = HBUF_INIT;
			const char **field[] = {
				&m.from_name, &m.from_addr, &m.to_name,
				&m.to_addr, &m.reply_to, &m.subject,
				&m.message_id, &m.list_id, &m.list_unsubscribe,
			};

			*field[f] = evil[k];
			hbuf_puts(&b, "keep");
			memset(&e, 0, sizeof(e));
			INT_EQ(herald_mime_build(&m, &b, &e), EX_DATAERR,
			    "field %d case %zu", f, k);
			OK(strstr(e.msg, "header field holds a line break") != NULL,
			    "field %d: %s", f, e.msg);
			STR_EQ(hbuf_cstr(&b), "keep", "nothing appended");
			hbuf_free(&b);
		}
}

static void
test_invalid(void)
{
	struct herald_err e = {0};
	struct herald_mail m;
	struct hbuf b = HBUF_INIT;

#define BAD(stmt, want) do { \
	m = base(); stmt; hbuf_reset(&b); memset(&e, 0, sizeof(e)); \
	INT_EQ(herald_mime_build(&m, &b, &e), EX_DATAERR, #stmt); \
	OK(strstr(e.msg, want) != NULL, #stmt ": %s", e.msg); \
	INT_EQ(b.len, 0, #stmt ": nothing appended"); \
} while (0)
	BAD(m.to_addr = "bob@", "invalid address");
	BAD(m.to_addr = "Bob <bob@example.org>", "invalid address");
	BAD(m.to_addr = "z\xc3\xab@example.org", "invalid address");
	BAD(m.from_addr = "news", "invalid sender address");
	BAD(m.reply_to = "a b@example.org", "invalid Reply-To");
	BAD(m.message_id = "no-at-sign", "invalid Message-ID");
	BAD(m.message_id = "<a@b>", "invalid Message-ID");
	BAD(m.message_id = "a b@example.org", "invalid Message-ID");
	BAD(m.list_unsubscribe = "<https://example.org/\xc3\xa9>",
	    "List-Unsubscribe");
	BAD(m.list_id = "no brackets", "invalid List-Id");
	BAD(m.subject = "bad \xff UTF-8", "invalid UTF-8 in subject");
#undef BAD
	hbuf_free(&b);
}

/*
 * The encoder reads literal runs 8 octets at a time: every octet class
 * (tab, space, "=", a control, DEL, UTF-8, "From " at a line start) at
 * every place in and around those words, on short lines and on lines long
 * enough for soft breaks, must decode back (RFC 2045 6.7) with no encoded
 * line over 76 characters.
 */
static void
test_qp_words(void)
{
	static const char *const odd[] = { "=", "\t", " ", "\x1f", "\x7f",
	    "\xc3\xa9", "\xe2\x82\xac", "From " };
	struct hbuf in = HBUF_INIT, enc = HBUF_INIT, dec = HBUF_INIT,
	    want = HBUF_INIT;
	size_t lens[] = { 7, 8, 9, 17, 40, 75, 76, 77, 150 };

	for (size_t o = 0; o < sizeof(odd) / sizeof(*odd); o++)
	for (size_t l = 0; l < sizeof(lens) / sizeof(*lens); l++)
	for (size_t at = 0; at < 18 && at <= lens[l]; at++) {
		const char *p, *nl;
		size_t worst = 0;

		hbuf_reset(&in);
		for (size_t k = 0; k < lens[l]; k++) {
			if (k == at)
				hbuf_puts(&in, odd[o]);
			hbuf_putc(&in, (char)('a' + k % 26));
		}
		hbuf_puts(&in, "\nnext line\n");
		hbuf_reset(&enc);
		herald_mime_qp(&enc, in.data, in.len);
		for (p = enc.data; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
			if ((size_t)(nl - p) > worst)
				worst = (size_t)(nl - p);
		hbuf_reset(&dec);
		hbuf_reset(&want);
		qp_decode(enc.data, enc.len, &dec);
		crlf(in.data, in.len, &want);
		OK(dec.len == want.len && memcmp(dec.data, want.data,
		    dec.len) == 0, "qp %zu/%zu/%zu does not round-trip:\n%s",
		    o, lens[l], at, enc.data);
		OK(worst <= 77, "qp %zu/%zu/%zu: a line of %zu (with CR)",
		    o, lens[l], at, worst);
		OK(strstr(enc.data, "\nFrom ") == NULL &&
		    strncmp(enc.data, "From ", 5) != 0,
		    "qp %zu/%zu/%zu: From at a line start", o, lens[l], at);
	}
	hbuf_free(&in);
	hbuf_free(&enc);
	hbuf_free(&dec);
	hbuf_free(&want);
}

int
main(void)
{
	OK(mkdtemp(outdir) != NULL, "mkdtemp");
	test_phrase();
	test_basic();
	test_no_https();
	test_names_subjects();
	test_bodies();
	test_random_bodies();
	test_qp_words();
	test_injection();
	test_invalid();
	if (getenv("HERALD_KEEP_MIME"))
		fprintf(stderr, "messages kept in %s\n", outdir);
	else {
		char cmd[64];

		/* the directory this test made, and only that */
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", outdir);
	}
	return harness_done();
}
