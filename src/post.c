/*
 * post.c - load a blog post: YAML front matter between "---" lines, a
 * Markdown body, and the Hugo/Jekyll shortcodes that sit in it.
 *
 * The body keeps its line structure exactly (line i of the body is line
 * body_line + i of the file) so that every later error, from the Markdown
 * renderer or the session-time scanner, can name the author's line.  That
 * is why shortcodes are expanded in place and never to text holding a
 * newline, and why CRLF is turned into LF rather than dropped.
 *
 * Shortcodes are not expanded inside fenced code blocks or inline code
 * spans, so a post can show the syntax.  {{< baseurl >}} becomes
 * site.base_url; {{< time ... >}} is left for sessions.c; Jekyll's
 * {{ site.url }} and {{ site.baseurl }} are understood too.
 */
#include "post.h"
#include "localtime.h"
#include "ynode.h"

#include <stdlib.h>
#include <string.h>

struct expand {
	const char *file;
	const struct herald_config *cfg;
	struct herald_err *e;
	/* open code fence: its character and length, 0 when outside */
	char fence_ch;
	size_t fence_len;
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Does the line [s, s+n) consist of marker and optional blanks? */
static bool
line_is(const char *s, size_t n, const char *marker)
{
	size_t m = strlen(marker);

	if (n < m || memcmp(s, marker, m) != 0)
		return false;
	for (size_t i = m; i < n; i++)
		if (!is_blank(s[i]))
			return false;
	return true;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Strict YYYY-MM-DD at s; *rest points past it. */
static bool
parse_ymd(const char *s, int *y, int *m, int *d, const char **rest)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};
	int v[3] = {0, 0, 0}, widths[3] = {4, 2, 2};

	for (int f = 0; f < 3; f++) {
		for (int k = 0; k < widths[f]; k++, s++) {
			if (*s < '0' || *s > '9')
				return false;
			v[f] = v[f] * 10 + (*s - '0');
		}
		if (f < 2 && *s++ != '-')
			return false;
	}
	if (v[0] < 1900 || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
	    v[2] > mdays[v[1] - 1] + (v[1] == 2 && is_leap(v[0])))
		return false;
	*y = v[0], *m = v[1], *d = v[2];
	if (rest != NULL)
		*rest = s;
	return true;
}

/*
 * A one-line text field of the front matter, trimmed.  Returns 0 with *out
 * NULL when absent.
 */
static int
fm_text(const struct ynode *fm, const char *key, const char *file,
    bool one_line, char **out, struct herald_err *e)
{
	const struct ynode *n = ynode_get(fm, key);
	const char *s, *end;
	struct hbuf b = HBUF_INIT;

	*out = NULL;
	if (n == NULL)
		return 0;
	if (n->type != YNODE_SCALAR)
		return herald_errf(e, EX_DATAERR, file, n->line,
		    "'%s' must be text", key);
	s = n->scalar;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (one_line && has_crlf_nul(s, (size_t)(end - s)))
		return herald_errf(e, EX_DATAERR, file, n->line,
		    "'%s' must be one line", key);
	/* a multi-line summary reads as one paragraph in the inbox */
	for (const char *p = s; p < end; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			if (b.len > 0 && b.data[b.len - 1] != ' ')
				hbuf_putc(&b, ' ');
		} else
			hbuf_putc(&b, *p);
	}
	if (b.len > 0)
		*out = hbuf_detach(&b);
	return 0;
}

static int
load_front_matter(struct herald_post *post, const struct ynode *fm,
    int fm_line, struct herald_err *e)
{
	const char *file = post->path;
	const struct ynode *n;
	int rc;

	if (fm->type != YNODE_MAP)
		return herald_errf(e, EX_DATAERR, file, fm_line, "front "
		    "matter must be keys and values (title: ...)");
	if ((rc = fm_text(fm, "title", file, true, &post->title, e)) ||
	    (rc = fm_text(fm, "subject", file, true, &post->subject, e)) ||
	    (rc = fm_text(fm, "summary", file, false, &post->summary, e)) ||
	    (rc = fm_text(fm, "timezone", file, true, &post->timezone, e)) ||
	    (rc = fm_text(fm, "campaign", file, true, &post->campaign, e)))
		return rc;
	if (post->title == NULL) {
		n = ynode_get(fm, "title");
		return herald_errf(e, EX_DATAERR, file,
		    n ? n->line : fm_line, "%s", n ? "title is empty" :
		    "front matter has no title (title: is required)");
	}
	if (post->subject == NULL)
		post->subject = xstrdup(post->title);
	if (post->timezone != NULL && !herald_zone_valid(post->timezone))
		return herald_errf(e, EX_DATAERR, file,
		    ynode_get(fm, "timezone")->line,
		    "invalid time zone \"%s\" (want an IANA name like "
		    "America/New_York)", post->timezone);
	if ((n = ynode_get(fm, "date")) != NULL) {
		const char *rest;
		/* Jekyll/Hugo write "2021-04-26" or "2021-04-26 10:00:00
		 * +0000"; the post date is the day as written */
		if (n->type != YNODE_SCALAR || !parse_ymd(n->scalar,
		    &post->year, &post->month, &post->day, &rest) ||
		    (*rest != '\0' && *rest != ' ' && *rest != 'T' &&
		    *rest != 't'))
			return herald_errf(e, EX_DATAERR, file, n->line,
			    "invalid date \"%s\" (want YYYY-MM-DD)",
			    n->type == YNODE_SCALAR ? n->scalar : "");
	}
	return 0;
}

static void
put_base_origin(struct hbuf *out, const char *base)
{
	const char *host = strstr(base, "://");
	const char *slash = host ? strchr(host + 3, '/') : NULL;

	hbuf_put(out, base, slash ? (size_t)(slash - base) : strlen(base));
}

static void
put_base_path(struct hbuf *out, const char *base)
{
	const char *host = strstr(base, "://");
	const char *slash = host ? strchr(host + 3, '/') : NULL;

	if (slash != NULL)
		hbuf_puts(out, slash);
}

/*
 * One Hugo shortcode: s points at "{{<" or "{{%" and n is the rest of the
 * line.  Appends its expansion to out and sets *used to the bytes taken.
 */
static int
expand_shortcode(struct expand *x, const char *s, size_t n, int line,
    struct hbuf *out, size_t *used)
{
	char open = s[2];
	const char close[4] = {open == '<' ? '>' : '%', '}', '}', '\0'};
	const char *end = NULL, *a, *b, *name_end;
	char name[64];

	for (size_t i = 3; i + 3 <= n; i++)
		if (memcmp(s + i, close, 3) == 0) {
			end = s + i;
			break;
		}
	if (end == NULL)
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "unterminated shortcode: '{{%c' without '%s' on the "
		    "same line", open, close);
	*used = (size_t)(end + 3 - s);
	a = s + 3, b = end;
	while (a < b && is_blank(*a))
		a++;
	while (b > a && is_blank(b[-1]))
		b--;
	for (name_end = a; name_end < b && !is_blank(*name_end); name_end++)
		;
	if (name_end == a)
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "empty shortcode '%.*s'", (int)*used, s);
	snprintf(name, sizeof(name), "%.*s", (int)(name_end - a), a);

	if (strcmp(name, "baseurl") == 0) {
		if (name_end != b)
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode 'baseurl' takes no arguments");
		if (x->cfg == NULL || x->cfg->site_base_url == NULL)
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode 'baseurl' needs site.base_url in "
			    "herald.yml");
		hbuf_puts(out, x->cfg->site_base_url);
		return 0;
	}
	if (strcmp(name, "time") == 0) {
		/* sessions.c reads it; one spelling makes its job simpler */
		hbuf_puts(out, "{{< ");
		hbuf_put(out, a, (size_t)(b - a));
		hbuf_puts(out, " >}}");
		return 0;
	}
	return herald_errf(x->e, EX_DATAERR, x->file, line,
	    "unknown shortcode '%s'", name);
}

/*
 * Jekyll's Liquid {{ site.url }} / {{ site.baseurl }}: site.url is the
 * base URL's scheme and host, site.baseurl its path, so the usual
 * "{{ site.url }}{{ site.baseurl }}/x" gives base_url/x.  Any other
 * {{ ... }} is left alone: it may well be prose.  Returns bytes used or 0.
 */
static size_t
expand_liquid(struct expand *x, const char *s, size_t n, struct hbuf *out)
{
	const char *a = s + 2, *end = NULL, *b;

	for (size_t i = 2; i + 2 <= n; i++)
		if (s[i] == '}' && s[i + 1] == '}') {
			end = s + i;
			break;
		}
	if (end == NULL || x->cfg == NULL || x->cfg->site_base_url == NULL)
		return 0;
	b = end;
	while (a < b && is_blank(*a))
		a++;
	while (b > a && is_blank(b[-1]))
		b--;
	if ((size_t)(b - a) == 8 && memcmp(a, "site.url", 8) == 0)
		put_base_origin(out, x->cfg->site_base_url);
	else if ((size_t)(b - a) == 12 && memcmp(a, "site.baseurl", 12) == 0)
		put_base_path(out, x->cfg->site_base_url);
	else
		return 0;
	return (size_t)(end + 2 - s);
}

/*
 * Is the line a code fence (``` or ~~~, 3 or more)?  Container markers
 * (blockquote '>' and indentation) in front are skipped; this is a line
 * tracker, not a CommonMark parser, but it gets real posts right.
 */
static bool
fence_at(const char *s, size_t n, char *ch, size_t *len, const char **rest)
{
	size_t i = 0, k;

	while (i < n && (is_blank(s[i]) || s[i] == '>'))
		i++;
	if (i >= n || (s[i] != '`' && s[i] != '~'))
		return false;
	for (k = i; k < n && s[k] == s[i]; k++)
		;
	if (k - i < 3)
		return false;
	/* ```foo``` on one line is inline code, not a fence */
	if (s[i] == '`' && memchr(s + k, '`', n - k) != NULL)
		return false;
	*ch = s[i];
	*len = k - i;
	*rest = s + k;
	return true;
}

static int
expand_line(struct expand *x, const char *s, size_t n, int line,
    struct hbuf *out)
{
	char ch;
	size_t flen;
	const char *rest;
	size_t i = 0;
	int rc;

	if (fence_at(s, n, &ch, &flen, &rest)) {
		if (x->fence_ch == 0) {
			x->fence_ch = ch;
			x->fence_len = flen;
		} else if (ch == x->fence_ch && flen >= x->fence_len) {
			bool only_blanks = true;
			for (const char *p = rest; p < s + n; p++)
				if (!is_blank(*p))
					only_blanks = false;
			if (only_blanks)
				x->fence_ch = 0;
		}
		hbuf_put(out, s, n);
		return 0;
	}
	if (x->fence_ch != 0) {
		hbuf_put(out, s, n);
		return 0;
	}
	while (i < n) {
		size_t used = 0;

		if (s[i] == '\\' && i + 1 < n) {
			/* an escaped character is never syntax */
			hbuf_put(out, s + i, 2);
			i += 2;
		} else if (s[i] == '`') {
			/* a code span runs to the next run of equal length */
			size_t run = 0, j;
			while (i + run < n && s[i + run] == '`')
				run++;
			for (j = i + run; j < n; ) {
				size_t r = 0;
				while (j + r < n && s[j + r] == '`')
					r++;
				if (r == run)
					break;
				j += r ? r : 1;
			}
			used = j < n ? j + run - i : run;
			hbuf_put(out, s + i, used);
			i += used;
		} else if (s[i] == '{' && i + 2 < n && s[i + 1] == '{' &&
		    (s[i + 2] == '<' || s[i + 2] == '%')) {
			if ((rc = expand_shortcode(x, s + i, n - i, line, out,
			    &used)) != 0)
				return rc;
			i += used;
		} else if (s[i] == '{' && i + 1 < n && s[i + 1] == '{' &&
		    (used = expand_liquid(x, s + i, n - i, out)) > 0) {
			i += used;
		} else
			hbuf_putc(out, s[i++]);
	}
	return 0;
}

static int
expand_body(struct herald_post *post, const struct herald_config *cfg,
    const char *body, size_t len, struct herald_err *e)
{
	struct expand x = {post->path, cfg, e, 0, 0};
	struct hbuf out = HBUF_INIT;
	size_t pos = 0;
	int line = post->body_line, rc;

	hbuf_put(&out, "", 0);
	while (pos < len) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (body + pos)) : len - pos;

		if ((rc = expand_line(&x, body + pos, n, line, &out)) != 0) {
			hbuf_free(&out);
			return rc;
		}
		if (nl != NULL)
			hbuf_putc(&out, '\n');
		pos += n + (nl != NULL);
		line++;
	}
	post->body_len = out.len;
	post->body = hbuf_detach(&out);
	return 0;
}

/* Copy without a BOM and with CRLF and lone CR turned into LF. */
static void
normalize(const char *s, size_t n, struct hbuf *out)
{
	size_t i = 0;

	if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	hbuf_grow(out, n);
	for (; i < n; i++) {
		if (s[i] == '\r') {
			hbuf_putc(out, '\n');
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
		} else
			hbuf_putc(out, s[i]);
	}
	hbuf_put(out, "", 0);
}

/*
 * The post's name: its file name without .md, or for a page bundle
 * (Hugo's content/posts/NAME/index.md, _index.md for a section) the name
 * of its folder, since every bundle's file is index.md.
 */
static char *
slug_of(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (strcmp(base, "index.md") == 0 || strcmp(base, "_index.md") == 0 ||
	    strcmp(base, "index.markdown") == 0) {
		char *dir = xstrndup(path, (size_t)(base - path)), *real;
		const char *d;
		char *slug = NULL;

		real = realpath(dir[0] ? dir : ".", NULL);
		if (real != NULL && strcmp(real, "/") != 0) {
			d = strrchr(real, '/');
			slug = xasprintf("%s/%s", d ? d + 1 : real, base);
		}
		free(real);
		free(dir);
		if (slug != NULL)
			return slug;
	}
	if (n > 3 && strcmp(base + n - 3, ".md") == 0)
		n -= 3;
	return xstrndup(base, n);
}

int
herald_post_load(const char *path, const struct herald_config *cfg,
    const char *date_override, struct herald_post *post,
    struct herald_err *e)
{
	struct hbuf raw = HBUF_INIT, text = HBUF_INIT;
	struct ynode *fm = NULL;
	const char *s, *fm_start, *p, *nul, *rest, *body = NULL;
	size_t n, bad_off;
	int rc, line;

	memset(post, 0, sizeof(*post));
	post->path = xstrdup(path);
	post->slug = slug_of(path);
	if ((rc = read_file(path, &raw, e)) != 0)
		goto fail;
	sha256(raw.data, raw.len, post->hash);
	normalize(raw.data, raw.len, &text);
	hbuf_free(&raw);
	s = text.data;
	n = text.len;

	if (!utf8_valid(s, n, &bad_off)) {
		rc = herald_errf(e, EX_DATAERR, path, line_of_offset(s, bad_off),
		    "invalid UTF-8 (byte 0x%02x)",
		    (unsigned)(unsigned char)s[bad_off]);
		goto fail;
	}
	if ((nul = memchr(s, '\0', n)) != NULL) {
		/* line_of_offset stops at NUL, which is where we are */
		rc = herald_errf(e, EX_DATAERR, path,
		    line_of_offset(s, (size_t)(nul - s)), "NUL byte in post");
		goto fail;
	}

	/* front matter: "---" on line 1, up to the next "---" (or "...") */
	p = memchr(s, '\n', n);
	if (p == NULL && line_is(s, n, "---")) {
		rc = herald_errf(e, EX_DATAERR, path, 1, "front matter is not "
		    "closed: no '---' line after this one");
		goto fail;
	}
	if (p == NULL || !line_is(s, (size_t)(p - s), "---")) {
		bool toml = n >= 3 && memcmp(s, "+++", 3) == 0;
		rc = herald_errf(e, EX_DATAERR, path, 1, "%s", toml ?
		    "TOML front matter (+++) is not supported; use YAML "
		    "between --- lines" : "no front matter: the post must "
		    "start with a '---' line, then title: ..., then '---'");
		goto fail;
	}
	fm_start = p + 1;
	line = 2;
	for (p = fm_start; ; line++) {
		const char *nl = memchr(p, '\n', (size_t)(s + n - p));
		size_t ln = nl ? (size_t)(nl - p) : (size_t)(s + n - p);

		if (line_is(p, ln, "---") || line_is(p, ln, "...")) {
			body = nl ? nl + 1 : s + n;
			break;
		}
		if (nl == NULL) {
			rc = herald_errf(e, EX_DATAERR, path, 1, "front matter "
			    "is not closed: no '---' line after this one");
			goto fail;
		}
		p = nl + 1;
	}
	if ((rc = herald_yaml_parse(fm_start, (size_t)(p - fm_start), path, 2,
	    &fm, e)) != 0)
		goto fail;
	if ((rc = load_front_matter(post, fm, 2, e)) != 0)
		goto fail;
	post->body_line = line + 1;

	if (post->year == 0) {
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (!(parse_ymd(base, &post->year, &post->month, &post->day,
		    &rest) && *rest == '-')) {
			post->year = post->month = post->day = 0;
			if (date_override != NULL && !(parse_ymd(date_override,
			    &post->year, &post->month, &post->day, &rest) &&
			    *rest == '\0')) {
				rc = herald_errf(e, EX_USAGE, NULL, 0,
				    "invalid --date \"%s\" (want YYYY-MM-DD)",
				    date_override);
				goto fail;
			}
		}
	}

	if ((rc = expand_body(post, cfg, body, (size_t)(s + n - body), e)))
		goto fail;
	ynode_free(fm);
	hbuf_free(&text);
	return 0;
fail:
	ynode_free(fm);
	hbuf_free(&raw);
	hbuf_free(&text);
	herald_post_free(post);
	return rc;
}

void
herald_post_free(struct herald_post *post)
{
	if (post == NULL)
		return;
	free(post->path);
	free(post->slug);
	free(post->title);
	free(post->subject);
	free(post->summary);
	free(post->timezone);
	free(post->campaign);
	free(post->body);
	memset(post, 0, sizeof(*post));
}
