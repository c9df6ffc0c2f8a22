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
#include "toml.h"
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

/*
 * Where the post lives on the site: Hugo's url:, Jekyll's permalink: (when
 * it has no :placeholders) or Zola's path, as "/a/b/".  Anything that is
 * not a plain path is left alone (relative URLs then resolve against the
 * site's base URL).
 */
static int
page_path(struct herald_post *post, const struct ynode *fm,
    struct herald_err *e)
{
	static const char *const keys[] = {"url", "permalink", "path", NULL};
	struct hbuf b = HBUF_INIT;

	(void)e;
	for (size_t k = 0; keys[k] != NULL && post->page_path == NULL; k++) {
		const char *v = ynode_str(fm, keys[k]);
		bool ok = v != NULL && *v != '\0' && strlen(v) < 1024 &&
		    strstr(v, "..") == NULL && strstr(v, "//") == NULL;

		for (const char *p = v; ok && *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
			    *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    strchr("/-_.~", *p) != NULL))
				ok = false;
		if (!ok)
			continue;
		hbuf_reset(&b);
		if (*v != '/')
			hbuf_putc(&b, '/');
		hbuf_puts(&b, v);
		/* "/x" and "/Rust-1.96.0" are folders, "/x.html" a file */
		if (b.data[b.len - 1] != '/' && !(b.len > 5 &&
		    strcmp(b.data + b.len - 5, ".html") == 0) && !(b.len > 4 &&
		    strcmp(b.data + b.len - 4, ".htm") == 0))
			hbuf_putc(&b, '/');
		else if (b.data[b.len - 1] != '/') {
			/* "/a/b.html": relative URLs sit beside it, in "/a/" */
			char *slash = strrchr(b.data, '/');
			b.len = (size_t)(slash + 1 - b.data);
			b.data[b.len] = '\0';
		}
		post->page_path = hbuf_detach(&b);
	}
	hbuf_free(&b);
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
	if ((rc = page_path(post, fm, e)) != 0)
		return rc;
	/* Hugo and Zola call the preheader description */
	if (post->summary == NULL && ynode_get(fm, "description") != NULL &&
	    ynode_get(fm, "description")->type == YNODE_SCALAR &&
	    (rc = fm_text(fm, "description", file, false, &post->summary, e)))
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
	} else if ((n = ynode_get(fm, "path")) != NULL &&
	    n->type == YNODE_SCALAR) {
		/* Zola's blog.rust-lang.org: path = "2026/05/28/Rust-1.96.0"
		 * or "inside-rust/2020/05/18/traits-sprint-2" */
		char ymd[11];
		const char *rest;

		for (const char *v = n->scalar; *v && post->year == 0; v++) {
			if (v != n->scalar && v[-1] != '/')
				continue;
			if (strlen(v) < 10 || v[4] != '/' || v[7] != '/')
				continue;
			memcpy(ymd, v, 10);
			ymd[4] = ymd[7] = '-';
			ymd[10] = '\0';
			if (!parse_ymd(ymd, &post->year, &post->month,
			    &post->day, &rest))
				post->year = post->month = post->day = 0;
		}
	}
	return 0;
}

static int
expand_body(struct herald_post *post, const struct ynode *fm,
    const struct herald_config *cfg, const char *body, size_t len,
    struct herald_err *e)
{
	struct herald_expanded x;
	int rc;

	if ((rc = herald_shortcodes_expand(post->path, body, len,
	    post->body_line, fm, cfg, &x, e)) != 0)
		return rc;
	post->body = x.body;
	post->body_len = x.len;
	post->line_map = x.line_map;
	post->nlines = x.nlines;
	post->snips = x.snips;
	post->nsnips = x.nsnips;
	memcpy(post->marker, x.marker, sizeof(post->marker));
	return 0;
}

int
herald_post_line(const struct herald_post *post, int n)
{
	if (post->line_map != NULL && n >= 1 && (size_t)n <= post->nlines)
		return post->line_map[n - 1];
	return (post->body_line > 0 ? post->body_line : 1) + n - 1;
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
	else if (n > 9 && strcmp(base + n - 9, ".markdown") == 0)
		n -= 9;
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
	const char *delim;
	size_t n, bad_off;
	int rc, line;
	bool toml;

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

	/* front matter: "---" (YAML) or "+++" (TOML) on line 1, up to the
	 * next such line ("..." also ends YAML) */
	p = memchr(s, '\n', n);
	toml = line_is(s, p ? (size_t)(p - s) : n, "+++");
	delim = toml ? "+++" : "---";
	if (p == NULL && (toml || line_is(s, n, "---"))) {
		rc = herald_errf(e, EX_DATAERR, path, 1, "front matter is not "
		    "closed: no '%s' line after this one", delim);
		goto fail;
	}
	if (p == NULL || !line_is(s, (size_t)(p - s), delim)) {
		rc = herald_errf(e, EX_DATAERR, path, 1, "no front matter: the "
		    "post must start with a '---' line, then title: ..., then "
		    "'---' (or TOML between '+++' lines)");
		goto fail;
	}
	fm_start = p + 1;
	line = 2;
	for (p = fm_start; ; line++) {
		const char *nl = memchr(p, '\n', (size_t)(s + n - p));
		size_t ln = nl ? (size_t)(nl - p) : (size_t)(s + n - p);

		if (line_is(p, ln, delim) || (!toml && line_is(p, ln, "..."))) {
			body = nl ? nl + 1 : s + n;
			break;
		}
		if (nl == NULL) {
			rc = herald_errf(e, EX_DATAERR, path, 1, "front matter "
			    "is not closed: no '%s' line after this one", delim);
			goto fail;
		}
		p = nl + 1;
	}
	if (toml)
		rc = herald_toml_parse(fm_start, (size_t)(p - fm_start), path, 2,
		    &fm, e);
	else
		rc = herald_yaml_parse(fm_start, (size_t)(p - fm_start), path, 2,
		    &fm, e);
	if (rc != 0)
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

	if ((rc = expand_body(post, fm, cfg, body, (size_t)(s + n - body),
	    e)))
		goto fail;
	post->front = fm;
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
	free(post->page_path);
	free(post->campaign);
	free(post->body);
	free(post->line_map);
	ynode_free(post->front);
	for (size_t i = 0; i < post->nsnips; i++) {
		free(post->snips[i].html);
		free(post->snips[i].text);
	}
	free(post->snips);
	memset(post, 0, sizeof(*post));
}
