/*
 * render.c - the post body through cmark-gfm (CommonMark plus the GitHub
 * table, strikethrough and autolink extensions), rendered by our own tree
 * walkers: HTML with inline styles on every element (many mail clients drop
 * <style>), and plain text wrapped at 72 columns with numbered link
 * references, as mutt readers expect.  This is the only file that includes
 * cmark-gfm.
 *
 * Raw HTML in a post is dropped from both parts, as cmark itself does
 * without CMARK_OPT_UNSAFE: it would bypass the inline styling, and every
 * mail client sanitizes it differently.  javascript:, vbscript:, file: and
 * (non-image) data: URLs are never emitted.
 */
#include "render.h"
#include "wrap.h"

#include <stdlib.h>
#include <string.h>

#include <cmark-gfm.h>
#include <cmark-gfm-core-extensions.h>

/* Node types the extensions register at run time (exported, not declared). */
extern cmark_node_type CMARK_NODE_TABLE, CMARK_NODE_TABLE_ROW,
    CMARK_NODE_TABLE_CELL, CMARK_NODE_STRIKETHROUGH;

#define TEXT_WIDTH	72	/* columns of the plain-text part */
#define TEXT_MIN_AVAIL	20	/* deep nesting never squeezes text below this */
#define GLUE		HERALD_WRAP_GLUE /* a space the text wrapper may not break at */

/* A session time inside a text node; spans[i] is time i. */
/* Session times (found or left as written) one post may hold: a bound for
 * hostile posts (50,000 took minutes); real posts have a handful. */
#define MAX_SESSION_TIMES 2000

struct span {
	cmark_node *node;
	size_t start, len;
};

struct herald_doc {
	cmark_node *root;
	struct span *spans;
	struct herald_session *times;
	size_t ntimes, cap;
	char **links;
	size_t nlinks, linkcap;
	/* site shortcode output, borrowed from the post (shortcode.c) */
	const struct herald_snippet *snips;
	size_t nsnips;
	const char *marker;
	struct herald_session *skipped;   /* clock-like phrases left alone */
	char **skip_why;
	size_t nskipped;
	char **unresolved;   /* "[text][label]" with no "[label]: URL" */
	int *unresolved_line;
	size_t nunresolved;
};

/* ---- shared helpers ---- */

/*
 * The site shortcode output a raw HTML node stands for: shortcode.c put
 * "<!--" marker N "-->" in the body where snippet N goes.  NULL for any
 * other raw HTML (which stays dropped).
 */
static const struct herald_snippet *
snippet_of(const struct herald_doc *doc, cmark_node *n)
{
	const char *s = cmark_node_get_literal(n), *p;
	size_t ml, i = 0;

	if (doc->nsnips == 0 || s == NULL || strncmp(s, "<!--", 4) != 0)
		return NULL;
	ml = strlen(doc->marker);
	if (strncmp(s + 4, doc->marker, ml) != 0)
		return NULL;
	for (p = s + 4 + ml; *p >= '0' && *p <= '9' && i < doc->nsnips; p++)
		i = i * 10 + (size_t)(*p - '0');
	if (p == s + 4 + ml || i >= doc->nsnips || strncmp(p, "-->", 3) != 0)
		return NULL;
	return &doc->snips[i];
}

static bool
is_block(cmark_node *n)
{
	return (cmark_node_get_type(n) & CMARK_NODE_TYPE_MASK) ==
	    CMARK_NODE_TYPE_BLOCK;
}

static const char *
lit(cmark_node *n)
{
	const char *s = cmark_node_get_literal(n);

	return s ? s : "";
}

static const char *
url_of(cmark_node *n)
{
	const char *s = cmark_node_get_url(n);

	return s ? s : "";
}

/*
 * Would a browser run this URL?  Browsers ignore leading blanks and
 * embedded tabs/newlines ("java\tscript:"), so compare with those removed,
 * as cmark's own dangerous-URL scanner does.
 */
static bool
url_dangerous(const char *url)
{
	static const char *const bad[] = {
		"javascript:", "vbscript:", "file:", "data:", NULL
	};
	static const char *const images[] = {
		"data:image/png", "data:image/gif", "data:image/jpeg",
		"data:image/webp", NULL
	};
	char norm[32];
	size_t n = 0;

	for (const char *p = url; *p && n < sizeof(norm) - 1; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f)
			continue;
		norm[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') :
		    (char)c;
	}
	norm[n] = '\0';
	for (size_t i = 0; images[i]; i++)
		if (strncmp(norm, images[i], strlen(images[i])) == 0)
			return false;
	for (size_t i = 0; bad[i]; i++)
		if (strncmp(norm, bad[i], strlen(bad[i])) == 0)
			return true;
	return false;
}

/* Does url start with a scheme ("https:", "mailto:")? */
static bool
has_scheme(const char *url)
{
	const char *p = url;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	for (p++; *p; p++) {
		if (*p == ':')
			return true;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' ||
		    *p == '.'))
			return false;
	}
	return false;
}

/*
 * Percent-encode what may not appear in an href (blanks, controls, quotes,
 * angle brackets, non-ASCII).  '%' is kept: the author may have encoded
 * already.  Non-ASCII in the host is kept for internationalized names.
 */
static void
put_url_encoded(struct hbuf *b, const char *url)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *host = NULL, *host_end = NULL;
	const char *p = strstr(url, "//");

	if (p != NULL && (p == url || p[-1] == ':')) {
		host = p + 2;
		host_end = host + strcspn(host, "/?#");
	}
	for (p = url; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool in_host = host && p >= host && p < host_end;

		if (c <= 0x20 || c == 0x7f || (c >= 0x80 && !in_host) ||
		    strchr("\"<>\\^`{|}", c) != NULL) {
			hbuf_putc(b, '%');
			hbuf_putc(b, hex[c >> 4]);
			hbuf_putc(b, hex[c & 15]);
		} else
			hbuf_putc(b, (char)c);
	}
}

/*
 * Make url absolute against base (no trailing slash) and encode it.
 * Absolute URLs, mailto: and #fragments are left as they are.
 */
static char *
absolute_url(const char *base, const char *page, const char *url)
{
	struct hbuf b = HBUF_INIT;

	if (*url == '\0' || *url == '#' || has_scheme(url) || base == NULL ||
	    *base == '\0')
		;
	else if (url[0] == '/' && url[1] == '/')
		hbuf_puts(&b, "https:");	/* mail has no page scheme */
	else if (url[0] == '/')
		hbuf_puts(&b, base);
	else {
		/* relative to the page's own URL when the post says where it
		 * lives (a Hugo bundle's images sit beside its index.md) */
		hbuf_puts(&b, base);
		hbuf_puts(&b, page ? page : "/");
		if (url[0] == '.' && url[1] == '/')
			url += 2;
	}
	put_url_encoded(&b, url);
	return hbuf_detach(&b);
}

/* Should this URL be linked at all (not empty, not script)? */
static bool
url_linkable(const char *url)
{
	return *url != '\0' && !url_dangerous(url);
}

/* Plain text of an inline subtree (image alt text, link text). */
static void
plain_text(cmark_node *root, struct hbuf *out)
{
	cmark_iter *it = cmark_iter_new(root);
	cmark_event_type ev;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		cmark_node_type t = cmark_node_get_type(n);

		if (ev != CMARK_EVENT_ENTER)
			continue;
		if (t == CMARK_NODE_TEXT || t == CMARK_NODE_CODE)
			hbuf_puts(out, lit(n));
		else if (t == CMARK_NODE_SOFTBREAK || t == CMARK_NODE_LINEBREAK)
			hbuf_putc(out, ' ');
	}
	cmark_iter_free(it);
}

static size_t
first_span(const struct herald_doc *doc, cmark_node *n)
{
	uintptr_t u = (uintptr_t)cmark_node_get_user_data(n);

	return u ? (size_t)(u - 1) : doc->ntimes;
}

/* ---- parsing ---- */

static void
add_link(struct herald_doc *doc, const char *url)
{
	for (size_t i = 0; i < doc->nlinks; i++)
		if (strcmp(doc->links[i], url) == 0)
			return;
	if (doc->nlinks == doc->linkcap) {
		doc->linkcap = doc->linkcap ? 2 * doc->linkcap : 16;
		doc->links = xrealloc(doc->links,
		    doc->linkcap * sizeof(*doc->links));
	}
	doc->links[doc->nlinks++] = xstrdup(url);
}

static void
add_time(struct herald_doc *doc, cmark_node *node,
    const struct herald_time_match *m)
{
	if (doc->ntimes == doc->cap) {
		doc->cap = doc->cap ? 2 * doc->cap : 8;
		doc->spans = xrealloc(doc->spans, doc->cap * sizeof(*doc->spans));
		doc->times = xrealloc(doc->times, doc->cap * sizeof(*doc->times));
	}
	doc->spans[doc->ntimes].node = node;
	doc->spans[doc->ntimes].start = m->start;
	doc->spans[doc->ntimes].len = m->len;
	herald_session_copy(&doc->times[doc->ntimes], &m->s);
	doc->ntimes++;
}

/*
 * Join runs of text and soft breaks among n's children into one text node
 * (a soft break becomes '\n', which both renderers treat as a soft break),
 * so that a time written across a line break ("Wed at\n07:00 ET") is one
 * piece of text for the scanner and for substitution.
 */
static void
merge_text_runs(cmark_node *parent)
{
	cmark_node *c = cmark_node_first_child(parent);

	while (c != NULL) {
		cmark_node *end = c, *next;
		size_t count = 0, ntext = 0;
		struct hbuf b = HBUF_INIT;
		cmark_node_type t = cmark_node_get_type(c);

		if (t != CMARK_NODE_TEXT && t != CMARK_NODE_SOFTBREAK) {
			c = cmark_node_next(c);
			continue;
		}
		for (cmark_node *r = c; r != NULL; r = cmark_node_next(r)) {
			t = cmark_node_get_type(r);
			if (t != CMARK_NODE_TEXT && t != CMARK_NODE_SOFTBREAK)
				break;
			hbuf_puts(&b, t == CMARK_NODE_TEXT ? lit(r) : "\n");
			ntext += t == CMARK_NODE_TEXT;
			count++;
			end = r;
		}
		next = cmark_node_next(end);
		if (count > 1 && ntext > 0) {
			cmark_node *m = cmark_node_new(CMARK_NODE_TEXT);

			cmark_node_set_literal(m, hbuf_cstr(&b));
			cmark_node_insert_before(c, m);
			for (cmark_node *r = c, *rn; r != next; r = rn) {
				rn = cmark_node_next(r);
				cmark_node_free(r);
			}
		}
		hbuf_free(&b);
		c = next;
	}
}

static size_t
count_nl(const char *s)
{
	return count_newlines(s, strlen(s));
}

/* Newlines an inline node stands for (after merge_text_runs). */
static size_t
inline_newlines(cmark_node *n)
{
	cmark_node_type t = cmark_node_get_type(n);

	if (t == CMARK_NODE_SOFTBREAK || t == CMARK_NODE_LINEBREAK)
		return 1;
	if (t == CMARK_NODE_TEXT || t == CMARK_NODE_HTML_INLINE)
		return count_nl(lit(n));
	return 0;
}

/*
 * The body line a leaf block's inline content starts on.  A paragraph's
 * start line counts link reference definitions cmark removed from its
 * front, so count back from its last line instead.
 */
static int
inline_base_line(cmark_node *block)
{
	int line;

	if (cmark_node_get_type(block) == CMARK_NODE_PARAGRAPH) {
		size_t nl = 0;
		cmark_iter *it = cmark_iter_new(block);
		cmark_event_type ev;

		while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE)
			if (ev == CMARK_EVENT_ENTER)
				nl += inline_newlines(cmark_iter_get_node(it));
		cmark_iter_free(it);
		line = cmark_node_get_end_line(block) - (int)nl;
	} else
		line = cmark_node_get_start_line(block);
	return line > 0 ? line : 1;
}

/*
 * Session times are found per leaf block (paragraph, heading, table cell)
 * in the block's text with its inline markup removed, so that "Thursday
 * at **10am PT**", "Thursday at [10am PT](...)" and a time across a soft
 * line break are one phrase.  Code spans, raw HTML and images break a
 * phrase.  A time spanning several text nodes is moved into one of them
 * (the one inside a link if any, else the last) and its words are removed
 * from the others; emphasis or a link left empty goes too.
 */
struct piece {
	cmark_node *node;    /* a text node, or a break (brk) */
	size_t off, len;     /* its bytes in the block's flat text */
	bool in_link, brk;
};

struct flat {
	struct hbuf text;
	struct piece *p;
	size_t n, cap;
};

static void
flat_add(struct flat *f, cmark_node *node, const char *s, size_t len,
    bool in_link, bool brk)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->p = xrealloc(f->p, f->cap * sizeof(*f->p));
	}
	f->p[f->n++] = (struct piece){ node, f->text.len, len, in_link, brk };
	hbuf_put(&f->text, s, len);
}

static void
flatten(cmark_node *parent, struct flat *f, bool in_link)
{
	for (cmark_node *c = cmark_node_first_child(parent); c != NULL;
	    c = cmark_node_next(c)) {
		cmark_node_type t = cmark_node_get_type(c);

		if (t == CMARK_NODE_TEXT)
			flat_add(f, c, lit(c), strlen(lit(c)), in_link, false);
		else if (t == CMARK_NODE_SOFTBREAK || t == CMARK_NODE_LINEBREAK)
			flat_add(f, c, "\n", 1, in_link, true);
		else if (t == CMARK_NODE_CODE || t == CMARK_NODE_HTML_INLINE ||
		    t == CMARK_NODE_IMAGE || is_block(c))
			hbuf_putc(&f->text, '\x1f');    /* breaks a phrase */
		else
			flatten(c, f, in_link || t == CMARK_NODE_LINK);
	}
}

/* A time found: in node at start, len bytes (after any moving). */
struct rec {
	cmark_node *node;
	size_t start, len;
	size_t match;        /* index into the block's matches */
};

/* Replace node's literal [x, y) with rep (n bytes); shift the records
 * on that node after y. */
static void
splice(cmark_node *node, size_t x, size_t y, const char *rep, size_t n,
    struct rec *r, size_t nr)
{
	const char *s = lit(node);
	struct hbuf b = HBUF_INIT;

	hbuf_put(&b, s, x);
	hbuf_put(&b, rep, n);
	hbuf_puts(&b, s + y);
	cmark_node_set_literal(node, hbuf_cstr(&b));
	hbuf_free(&b);
	for (size_t i = 0; i < nr; i++)
		if (r[i].node == node && r[i].start >= y)
			r[i].start = r[i].start + n - (y - x);
}

/* Free node, and inline containers (emphasis, links) it leaves empty. */
static void
drop_node(cmark_node *node)
{
	cmark_node *parent = cmark_node_parent(node);

	cmark_node_free(node);
	while (parent != NULL && !is_block(parent) &&
	    cmark_node_first_child(parent) == NULL) {
		cmark_node *up = cmark_node_parent(parent);
		cmark_node_free(parent);
		parent = up;
	}
}

/* Move match k (flat bytes [s, e)) into one text node; fill r. */
static void
gather(struct flat *f, size_t s, size_t e, struct rec *r, struct rec *all,
    size_t nall)
{
	size_t a = f->n, b = 0, t;
	cmark_node **dead = NULL;
	size_t ndead = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->p[i].off < e && f->p[i].off + f->p[i].len > s) {
			if (a == f->n)
				a = i;
			b = i;
		}
	if (a == f->n) {
		r->node = NULL;
		return;
	}
	if (a == b && !f->p[a].brk) {
		r->node = f->p[a].node;
		r->start = s - f->p[a].off;
		r->len = e - s;
		return;
	}
	t = f->n;
	for (size_t i = a; i <= b && t == f->n; i++)
		if (f->p[i].in_link && !f->p[i].brk)
			t = i;
	for (size_t i = b + 1; t == f->n && i-- > a; )
		if (!f->p[i].brk)
			t = i;
	if (t == f->n) {
		r->node = NULL;
		return;
	}
	dead = xcalloc(b - a + 1, sizeof(*dead));
	/* Later pieces first, so that offsets in a node stay valid. */
	for (size_t i = b + 1; i-- > a; ) {
		struct piece *p = &f->p[i];
		size_t x = (s > p->off ? s : p->off) - p->off;
		size_t y = (e < p->off + p->len ? e : p->off + p->len) - p->off;

		if (i == t) {
			splice(p->node, x, y, f->text.data + s, e - s, all, nall);
			r->node = p->node;
			r->start = x;
			r->len = e - s;
		} else if (p->brk)
			dead[ndead++] = p->node;
		else {
			splice(p->node, x, y, "", 0, all, nall);
			if (lit(p->node)[0] == '\0')
				dead[ndead++] = p->node;
		}
	}
	for (size_t i = 0; i < ndead; i++)
		drop_node(dead[i]);
	free(dead);
}

static void
add_skip(struct herald_doc *doc, const struct herald_time_match *m)
{
	doc->skipped = xrealloc(doc->skipped,
	    (doc->nskipped + 1) * sizeof(*doc->skipped));
	doc->skip_why = xrealloc(doc->skip_why,
	    (doc->nskipped + 1) * sizeof(*doc->skip_why));
	herald_session_copy(&doc->skipped[doc->nskipped], &m->s);
	doc->skip_why[doc->nskipped++] = xstrdup(m->skip);
}

/* Does n hold inlines (a paragraph, heading or table cell)? */
static bool
leaf_block(cmark_node *n)
{
	cmark_node *c = cmark_node_first_child(n);

	return is_block(n) && c != NULL && !is_block(c);
}

/* Clock-like spots in s ("7:00", "7pm", "7 am"): an upper bound on the
 * session times a scan of s can find. */
static size_t
clock_count(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i + 2 < n; i++) {
		const char *p = s + i + 1;

		if (s[i] < '0' || s[i] > '9')
			continue;
		if (*p == ' ' && i + 3 < n)
			p++;
		if ((p[0] == ':' && p + 2 < s + n && p[1] >= '0' &&
		    p[1] <= '9') || (((p[0] | 32) == 'a' || (p[0] | 32) ==
		    'p') && p + 1 < s + n && (p[1] | 32) == 'm'))
			c++;
	}
	return c;
}

static int
scan_block(struct herald_doc *doc, cmark_node *block, cmark_node *prev_leaf,
    const struct herald_sessions_ctx *ctx, const struct herald_post *post,
    struct herald_err *e)
{
	struct flat f = { HBUF_INIT, NULL, 0, 0 };
	struct herald_time_match *m = NULL;
	struct rec *r;
	size_t nm = 0;
	int rc;

	flatten(block, &f, false);
	if (f.n == 0) {
		hbuf_free(&f.text);
		return 0;
	}
	/* hostile-post bound, before the scan (which slows down with the
	 * number of clocks in one block: 50,000 took minutes) */
	if (doc->ntimes + doc->nskipped + clock_count(f.text.data,
	    f.text.len) > MAX_SESSION_TIMES) {
		rc = herald_errf(e, EX_DATAERR, post->path,
		    herald_post_line(post, inline_base_line(block)),
		    "more than %d session times in one post", MAX_SESSION_TIMES);
		hbuf_free(&f.text);
		free(f.p);
		return rc;
	}
	{
		/* In a table row, a cell that is only a day lends it to a
		 * clock in another cell. */
		struct herald_sessions_ctx c2 = *ctx;
		struct hbuf hint = HBUF_INIT;

		if (cmark_node_get_type(block) != CMARK_NODE_TABLE_CELL) {
			/* a block that is only a day ("Tuesday, May 9th", a
			 * heading) lends it to the block right after it */
			cmark_node *o = prev_leaf;
			struct flat of = { HBUF_INIT, NULL, 0, 0 };

			if (o != NULL) {
				flatten(o, &of, false);
				if (of.text.len > 0 && of.text.len < 64 &&
				    memchr(of.text.data, '\x1f', of.text.len) == NULL &&
				    memchr(of.text.data, ':', of.text.len) == NULL)
					hbuf_puts(&hint, hbuf_cstr(&of.text));
				hbuf_free(&of.text);
				free(of.p);
			}
		} else {
			/* every other cell that is a day; several ("Mon" and
			 * "2024-06-03") only when together they are one day */
			for (cmark_node *o = cmark_node_first_child(
			    cmark_node_parent(block)); o != NULL;
			    o = cmark_node_next(o)) {
				struct flat of = { HBUF_INIT, NULL, 0, 0 };
				if (o == block)
					continue;
				flatten(o, &of, false);
				if (of.text.len > 0 && of.text.len < 64 &&
				    memchr(of.text.data, '\x1f', of.text.len) == NULL &&
				    herald_sessions_is_day(hbuf_cstr(&of.text))) {
					if (hint.len > 0)
						hbuf_puts(&hint, ", ");
					hbuf_puts(&hint, hbuf_cstr(&of.text));
				}
				hbuf_free(&of.text);
				free(of.p);
			}
			if (hint.len > 0 && !herald_sessions_is_day(hbuf_cstr(&hint)))
				hbuf_reset(&hint);
		}
		c2.day_hint = hint.len ? hbuf_cstr(&hint) : NULL;
		rc = herald_sessions_scan(&c2, f.text.data, f.text.len,
		    herald_post_line(post, inline_base_line(block)), &m, &nm, e);
		hbuf_free(&hint);
	}
	if (rc != 0 || nm == 0)
		goto out;
	/* hostile-post bound: matching spans to nodes is quadratic in a
	 * block's matches, and real posts have a handful */
	if (doc->ntimes + doc->nskipped + nm > MAX_SESSION_TIMES) {
		rc = herald_errf(e, EX_DATAERR, post->path,
		    herald_post_line(post, inline_base_line(block)),
		    "more than %d session times in one post", MAX_SESSION_TIMES);
		goto out;
	}
	r = xcalloc(nm, sizeof(*r));
	for (size_t i = nm; i-- > 0; ) {
		r[i].match = i;
		if (m[i].skip == NULL)
			gather(&f, m[i].start, m[i].start + m[i].len, &r[i], r, nm);
	}
	for (size_t i = 0; i < nm; i++) {
		struct herald_time_match one = m[i];

		if (m[i].skip != NULL) {
			add_skip(doc, &m[i]);
			continue;
		}
		if (r[i].node == NULL)
			continue;
		one.start = r[i].start;
		one.len = r[i].len;
		if (cmark_node_get_user_data(r[i].node) == NULL)
			cmark_node_set_user_data(r[i].node,
			    (void *)(uintptr_t)(doc->ntimes + 1));
		add_time(doc, r[i].node, &one);
	}
	free(r);
out:
	herald_time_matches_free(m, nm);
	hbuf_free(&f.text);
	free(f.p);
	return rc;
}

/*
 * Reference links cmark could not resolve stay in the text as written:
 * "[text][z1]" (or "[text][]") where no "[z1]: URL" line exists.  Found
 * in text nodes, so code spans and code blocks never count.
 */
static void
add_unresolved(struct herald_doc *doc, const char *s, size_t n, int line)
{
	doc->unresolved = xrealloc(doc->unresolved,
	    (doc->nunresolved + 1) * sizeof(*doc->unresolved));
	doc->unresolved_line = xrealloc(doc->unresolved_line,
	    (doc->nunresolved + 1) * sizeof(*doc->unresolved_line));
	doc->unresolved[doc->nunresolved] = xstrndup(s, n);
	doc->unresolved_line[doc->nunresolved++] = line;
}

static bool
in_image(cmark_node *n)
{
	for (n = cmark_node_parent(n); n != NULL && !is_block(n);
	    n = cmark_node_parent(n))
		if (cmark_node_get_type(n) == CMARK_NODE_IMAGE)
			return true;
	return false;
}

static void
scan_unresolved(struct herald_doc *doc, const struct herald_post *post)
{
	cmark_iter *it = cmark_iter_new(doc->root);
	cmark_event_type ev;
	int base = 1, nl = 0;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		const char *s, *p;

		if (ev != CMARK_EVENT_ENTER)
			continue;
		if (is_block(n)) {
			base = inline_base_line(n);
			nl = 0;
			continue;
		}
		if (cmark_node_get_type(n) != CMARK_NODE_TEXT || in_image(n)) {
			nl += (int)inline_newlines(n);
			continue;
		}
		s = lit(n);
		for (p = s; (p = strstr(p, "][")) != NULL; p += 2) {
			const char *open = p, *close;
			size_t k = 0;

			/* "[text" before, no other bracket in between */
			while (open > s && open[-1] != '[' && open[-1] != ']' &&
			    k++ < 1000)
				open--;
			if (open == s || open[-1] != '[')
				continue;
			close = strchr(p + 2, ']');
			if (close == NULL || memchr(p + 2, '[',
			    (size_t)(close - p - 2)) != NULL || p[2] == '^')
				continue;
			add_unresolved(doc, open - 1, (size_t)(close - open + 2),
			    herald_post_line(post, base + nl +
			    (int)count_newlines(s, (size_t)(open - s))));
		}
		nl += (int)count_nl(s);
	}
	cmark_iter_free(it);
}

size_t
herald_doc_nunresolved(const struct herald_doc *doc)
{
	return doc->nunresolved;
}

const char *
herald_doc_unresolved(const struct herald_doc *doc, size_t i, int *line)
{
	*line = doc->unresolved_line[i];
	return doc->unresolved[i];
}

static int
scan_times(struct herald_doc *doc, const struct herald_post *post,
    const struct herald_config *cfg, struct herald_err *e)
{
	struct herald_sessions_ctx ctx = {
		.file = post->path,
		.year = post->year, .month = post->month, .day = post->day,
		.post_zone = post->timezone,
		.aliases = cfg ? cfg->aliases : NULL,
		.naliases = cfg ? cfg->naliases : 0,
	};
	cmark_node **blocks = NULL;
	size_t nb = 0, cap = 0;
	cmark_iter *it = cmark_iter_new(doc->root);
	cmark_event_type ev;
	int rc = 0;

	/* Collect the blocks first: scanning changes the tree. */
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);

		if (ev != CMARK_EVENT_ENTER || !leaf_block(n))
			continue;
		if (nb == cap) {
			cap = cap ? 2 * cap : 32;
			blocks = xrealloc(blocks, cap * sizeof(*blocks));
		}
		blocks[nb++] = n;
	}
	cmark_iter_free(it);
	for (size_t i = 0; i < nb && rc == 0; i++)
		rc = scan_block(doc, blocks[i], i > 0 &&
		    cmark_node_next(blocks[i - 1]) == blocks[i] ? blocks[i - 1] :
		    NULL, &ctx, post, e);
	free(blocks);
	return rc;
}

/*
 * Bounds on what one post may ask the Markdown parser to build.  GitHub
 * tables pad every row to the header's width, so a 1000-column header over
 * 5000 one-cell rows makes five million cells (about 5 GB); a hostile post
 * is refused with an error instead.  Real tables are far below this.
 */
#define MAX_TABLE_CELLS 100000
#define MAX_BODY_BYTES (8u << 20)

/*
 * An upper bound on the cells cmark-gfm would make for the tables in
 * body: each run of consecutive lines holding '|' counts as lines x the
 * widest line's cells.  Returns 0, or EX_DATAERR naming the run's line.
 */
static int
check_table_size(const struct herald_post *post, const char *body, size_t len,
    struct herald_err *e)
{
	size_t i = 0, run = 0, widest = 0, cells;
	int line = 0, run_line = 0;

	if (len > MAX_BODY_BYTES)
		return herald_errf(e, EX_DATAERR, post->path, post->body_line,
		    "the post body is %zu bytes; herald handles at most %u",
		    len, MAX_BODY_BYTES);
	while (i <= len) {
		const char *nl = i < len ? memchr(body + i, '\n', len - i) : NULL;
		size_t end = nl ? (size_t)(nl - body) : len, pipes = 0;

		for (size_t k = i; k < end; k++)
			pipes += body[k] == '|';
		if (pipes > 0) {
			if (run++ == 0)
				run_line = line;
			if (pipes + 1 > widest)
				widest = pipes + 1;
		}
		if (pipes == 0 || end == len) {
			cells = run * widest;
			if (run > 0 && cells > MAX_TABLE_CELLS)
				return herald_errf(e, EX_DATAERR, post->path,
				    post->body_line + run_line,
				    "table too large: %zu rows x up to %zu columns "
				    "(at most %d cells)", run, widest,
				    MAX_TABLE_CELLS);
			run = widest = 0;
		}
		if (end == len)
			break;
		i = end + 1;
		line++;
	}
	return 0;
}

int
herald_doc_parse(const struct herald_post *post,
    const struct herald_config *cfg, struct herald_doc **out,
    struct herald_err *e)
{
	static const char *const exts[] = {
		"table", "strikethrough", "autolink", NULL
	};
	struct herald_doc *doc = xcalloc(1, sizeof(*doc));
	const char *body = post->body ? post->body : "";
	size_t len = post->body ? post->body_len : 0;
	const char *base = cfg ? cfg->site_base_url : NULL;
	cmark_parser *parser;
	cmark_iter *it;
	cmark_event_type ev;
	cmark_node **parents = NULL;
	size_t nparents = 0, cap = 0;
	int rc;

	*out = NULL;
	if ((rc = check_table_size(post, body, len, e)) != 0) {
		free(doc);
		return rc;
	}
	cmark_gfm_core_extensions_ensure_registered();
	/* No CMARK_OPT_SMART: quotes and dashes stay as the author typed. */
	parser = cmark_parser_new(CMARK_OPT_DEFAULT);
	for (size_t i = 0; exts[i]; i++)
		cmark_parser_attach_syntax_extension(parser,
		    cmark_find_syntax_extension(exts[i]));
	doc->snips = post->snips;
	doc->nsnips = post->nsnips;
	doc->marker = post->marker;
	cmark_parser_feed(parser, body, len);
	doc->root = cmark_parser_finish(parser);
	cmark_parser_free(parser);
	cmark_consolidate_text_nodes(doc->root);

	/* Collect parents first: merging frees nodes under the iterator. */
	it = cmark_iter_new(doc->root);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);

		if (ev != CMARK_EVENT_ENTER || cmark_node_first_child(n) == NULL)
			continue;
		if (nparents == cap) {
			cap = cap ? 2 * cap : 64;
			parents = xrealloc(parents, cap * sizeof(*parents));
		}
		parents[nparents++] = n;
	}
	cmark_iter_free(it);
	for (size_t i = 0; i < nparents; i++)
		merge_text_runs(parents[i]);
	free(parents);

	it = cmark_iter_new(doc->root);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		cmark_node_type t = cmark_node_get_type(n);
		char *abs;

		if (ev != CMARK_EVENT_ENTER ||
		    (t != CMARK_NODE_LINK && t != CMARK_NODE_IMAGE))
			continue;
		abs = absolute_url(base, post->page_path, url_of(n));
		cmark_node_set_url(n, abs);
		if (url_linkable(abs))
			add_link(doc, abs);
		free(abs);
	}
	cmark_iter_free(it);

	if ((rc = scan_times(doc, post, cfg, e)) != 0) {
		herald_doc_free(doc);
		return rc;
	}
	scan_unresolved(doc, post);
	*out = doc;
	return 0;
}

void
herald_doc_free(struct herald_doc *doc)
{
	if (doc == NULL)
		return;
	if (doc->root)
		cmark_node_free(doc->root);
	for (size_t i = 0; i < doc->ntimes; i++)
		herald_session_free(&doc->times[i]);
	free(doc->times);
	for (size_t i = 0; i < doc->nskipped; i++) {
		herald_session_free(&doc->skipped[i]);
		free(doc->skip_why[i]);
	}
	free(doc->skipped);
	free(doc->skip_why);
	for (size_t i = 0; i < doc->nunresolved; i++)
		free(doc->unresolved[i]);
	free(doc->unresolved);
	free(doc->unresolved_line);
	free(doc->spans);
	for (size_t i = 0; i < doc->nlinks; i++)
		free(doc->links[i]);
	free(doc->links);
	free(doc);
}

size_t
herald_doc_ntimes(const struct herald_doc *doc)
{
	return doc->ntimes;
}

const struct herald_session *
herald_doc_time(const struct herald_doc *doc, size_t i)
{
	return i < doc->ntimes ? &doc->times[i] : NULL;
}

size_t
herald_doc_nskipped(const struct herald_doc *doc)
{
	return doc->nskipped;
}

const struct herald_session *
herald_doc_skipped(const struct herald_doc *doc, size_t i, const char **why)
{
	if (i >= doc->nskipped)
		return NULL;
	if (why != NULL)
		*why = doc->skip_why[i];
	return &doc->skipped[i];
}

size_t
herald_doc_nlinks(const struct herald_doc *doc)
{
	return doc->nlinks;
}

const char *
herald_doc_link(const struct herald_doc *doc, size_t i)
{
	return i < doc->nlinks ? doc->links[i] : NULL;
}

/* ---- HTML ---- */

char *
herald_render_time(const char *datetime, const char *title, const char *words)
{
	struct hbuf h = HBUF_INIT;

	hbuf_puts(&h, "<time datetime=\"");
	hbuf_put_html(&h, datetime, strlen(datetime));
	hbuf_puts(&h, "\" title=\"");
	if (title != NULL)
		hbuf_put_html(&h, title, strlen(title));
	hbuf_puts(&h, "\">");
	hbuf_put_html(&h, words, strlen(words));
	hbuf_puts(&h, "</time>");
	return hbuf_detach(&h);
}

/*
 * Colours are mid-tones and backgrounds translucent grey, so the result
 * stays readable when a client inverts it or paints it dark.
 */
#define FONT_MONO	"font-family:Menlo,Consolas,'Courier New',monospace;"
#define TINT		"background-color:rgba(127,127,127,0.15);"
#define RULE		"1px solid #999999"

#define ST_P	"margin:0 0 16px 0;line-height:1.5;"
#define ST_A	"color:#1a6fc9;text-decoration:underline;"
#define ST_LIST	"margin:0 0 16px 0;padding:0 0 0 28px;line-height:1.5;"
#define ST_SUBLIST "margin:4px 0 0 0;padding:0 0 0 28px;line-height:1.5;"
#define ST_LI	"margin:0 0 4px 0;"
#define ST_QUOTE "margin:0 0 16px 0;padding:0 0 0 14px;" \
	"border-left:4px solid #999999;color:#737373;"
#define ST_CODE	FONT_MONO "font-size:90%;" TINT "padding:1px 4px;" \
	"border-radius:3px;"
#define ST_PRE	"margin:0 0 16px 0;padding:12px;" TINT "border-radius:4px;" \
	"overflow:auto;white-space:pre-wrap;word-wrap:break-word;" \
	FONT_MONO "font-size:13px;line-height:1.4;"
#define ST_PRECODE FONT_MONO "font-size:13px;"
#define ST_TABLEBOX "margin:0 0 16px 0;max-width:100%;overflow:auto;"
#define ST_TABLE "border-collapse:collapse;border:" RULE ";margin:0;"
#define ST_TD	"border:" RULE ";padding:6px 10px;vertical-align:top;min-width:72px;"
#define ST_TH	ST_TD "font-weight:bold;" TINT
#define ST_DEL	"text-decoration:line-through;"
#define ST_EM	"font-style:italic;"
#define ST_STRONG "font-weight:bold;"
#define ST_HR	"border:0;border-top:" RULE ";height:0;margin:24px 0;"
#define ST_IMG	"max-width:100%;height:auto;border:0;"
/* a column's header above each value, shown only when the template's
 * narrow-screen rules stack the rows (mso-hide: Outlook ignores display) */
#define ST_LABEL "display:none;mso-hide:all;font-weight:bold;"

/*
 * Tables of this many columns or more carry class="herald-stack": on a
 * narrow screen whose client honours <style>, templates/default.html turns
 * each row into one block, every value under its column's header, instead
 * of a table that scrolls sideways with very tall rows of long text.  The
 * inline styles alone still give the scrolling table.
 */
#define STACK_MIN_COLS 3

static const char *const heading_size[7] = {
	"", "26px", "22px", "19px", "17px", "15px", "14px"
};

struct html {
	const struct herald_doc *doc;
	const char *const *subst;
	struct hbuf *out;
	cmark_node *alt;	/* image whose alt text is being written */
};

static void
html_text(struct html *h, cmark_node *n)
{
	const char *s = lit(n);
	size_t pos = 0;

	for (size_t i = first_span(h->doc, n);
	    i < h->doc->ntimes && h->doc->spans[i].node == n; i++) {
		const struct span *sp = &h->doc->spans[i];

		hbuf_put_html(h->out, s + pos, sp->start - pos);
		if (h->subst && !h->alt) {
			/* a time never breaks inside itself, even in a narrow
			 * table cell on a phone */
			hbuf_puts(h->out, "<span style=\"white-space:nowrap;\">");
			hbuf_puts(h->out, h->subst[i]);
			hbuf_puts(h->out, "</span>");
		}
		else
			hbuf_put_html(h->out, s + sp->start, sp->len);
		pos = sp->start + sp->len;
	}
	hbuf_put_html(h->out, s + pos, strlen(s + pos));
}

static bool
in_tight_list(cmark_node *para)
{
	cmark_node *item = cmark_node_parent(para);
	cmark_node *list = item ? cmark_node_parent(item) : NULL;

	return list != NULL && cmark_node_get_type(list) == CMARK_NODE_LIST &&
	    cmark_node_get_list_tight(list);
}

/* 'l', 'c', 'r' or 0 for a table cell's column. */
static int
cell_align(cmark_node *cell)
{
	cmark_node *row = cmark_node_parent(cell);
	cmark_node *table = row ? cmark_node_parent(row) : NULL;
	size_t col = 0;
	uint8_t *al;

	if (table == NULL)
		return 0;
	for (cmark_node *c = cmark_node_previous(cell); c != NULL;
	    c = cmark_node_previous(c))
		col++;
	al = cmark_gfm_extensions_get_table_alignments(table);
	if (al == NULL || col >= cmark_gfm_extensions_get_table_columns(table))
		return 0;
	return al[col];
}

static bool
stacked(cmark_node *table)
{
	cmark_node *head = cmark_node_first_child(table);

	return cmark_gfm_extensions_get_table_columns(table) >= STACK_MIN_COLS &&
	    head != NULL && cmark_gfm_extensions_get_table_row_is_header(head);
}

static void html_node(struct html *h, cmark_node *n, bool entering);

/* The header of cell's column, hidden, for the stacked layout. */
static void
html_label(struct html *h, cmark_node *cell)
{
	cmark_node *row = cmark_node_parent(cell);
	cmark_node *table = row ? cmark_node_parent(row) : NULL;
	cmark_node *hc;
	cmark_iter *it;
	cmark_event_type ev;
	size_t col = 0;

	if (table == NULL || !stacked(table))
		return;
	for (cmark_node *c = cmark_node_previous(cell); c != NULL;
	    c = cmark_node_previous(c))
		col++;
	hc = cmark_node_first_child(cmark_node_first_child(table));
	while (hc != NULL && col-- > 0)
		hc = cmark_node_next(hc);
	if (hc == NULL || cmark_node_first_child(hc) == NULL)
		return;
	hbuf_puts(h->out, "<span class=\"herald-label\" style=\"" ST_LABEL
	    "\">");
	it = cmark_iter_new(hc);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE)
		if (cmark_iter_get_node(it) != hc)
			html_node(h, cmark_iter_get_node(it),
			    ev == CMARK_EVENT_ENTER);
	cmark_iter_free(it);
	hbuf_puts(h->out, "</span>");
}

static void
html_cell(struct html *h, cmark_node *n, bool entering)
{
	bool head = cmark_gfm_extensions_get_table_row_is_header(
	    cmark_node_parent(n));
	const char *tag = head ? "th" : "td";
	const char *align;

	if (!entering) {
		hbuf_printf(h->out, "</%s>\n", tag);
		return;
	}
	switch (cell_align(n)) {
	case 'c': align = "center"; break;
	case 'r': align = "right"; break;
	default: align = "left"; break;
	}
	/* align= too: old Outlook ignores text-align on cells. */
	hbuf_printf(h->out, "<%s align=\"%s\" style=\"%stext-align:%s;\">",
	    tag, align, head ? ST_TH : ST_TD, align);
	if (!head)
		html_label(h, n);
}

static void
html_node(struct html *h, cmark_node *n, bool entering)
{
	cmark_node_type t = cmark_node_get_type(n);
	struct hbuf *o = h->out;

	if (h->alt != NULL) {
		/* Inside an image: only its words, for alt="". */
		if (n == h->alt && !entering) {
			if (url_linkable(url_of(n))) {
				const char *title = cmark_node_get_title(n);

				hbuf_puts(o, "\"");
				if (title && *title) {
					hbuf_puts(o, " title=\"");
					hbuf_put_html(o, title, strlen(title));
					hbuf_puts(o, "\"");
				}
				hbuf_puts(o, " style=\"" ST_IMG "\" />");
			}
			h->alt = NULL;
		} else if (entering && t == CMARK_NODE_TEXT)
			html_text(h, n);
		else if (entering && t == CMARK_NODE_CODE)
			hbuf_put_html(o, lit(n), strlen(lit(n)));
		else if (entering && (t == CMARK_NODE_SOFTBREAK ||
		    t == CMARK_NODE_LINEBREAK))
			hbuf_putc(o, ' ');
		return;
	}

	if (t == CMARK_NODE_TABLE) {
		/* A table wider than a phone scrolls inside its own box; the
		 * message itself never pans sideways. */
		if (!entering)
			hbuf_puts(o, "</table>\n</div>\n");
		else
			hbuf_printf(o, "<div style=\"%s\">\n<table%s "
			    "cellpadding=\"0\" cellspacing=\"0\" "
			    "style=\"%s\">\n", ST_TABLEBOX, stacked(n) ?
			    " class=\"herald-stack\"" : "", ST_TABLE);
		return;
	}
	if (t == CMARK_NODE_TABLE_ROW) {
		bool head = cmark_gfm_extensions_get_table_row_is_header(n) &&
		    stacked(cmark_node_parent(n));

		hbuf_puts(o, !entering ? "</tr>\n" : head ?
		    "<tr class=\"herald-head\">\n" : "<tr>\n");
		return;
	}
	if (t == CMARK_NODE_TABLE_CELL) {
		html_cell(h, n, entering);
		return;
	}
	if (t == CMARK_NODE_STRIKETHROUGH) {
		hbuf_puts(o, entering ? "<del style=\"" ST_DEL "\">" : "</del>");
		return;
	}

	switch (t) {
	case CMARK_NODE_DOCUMENT:
		break;
	case CMARK_NODE_BLOCK_QUOTE:
		hbuf_puts(o, entering ? "<blockquote style=\"" ST_QUOTE "\">\n" :
		    "</blockquote>\n");
		break;
	case CMARK_NODE_LIST: {
		bool ordered = cmark_node_get_list_type(n) == CMARK_ORDERED_LIST;
		int start = cmark_node_get_list_start(n);
		cmark_node *parent = cmark_node_parent(n);
		const char *style = parent && cmark_node_get_type(parent) ==
		    CMARK_NODE_ITEM ? ST_SUBLIST : ST_LIST;

		if (!entering)
			hbuf_puts(o, ordered ? "</ol>\n" : "</ul>\n");
		else if (ordered && start != 1)
			hbuf_printf(o, "<ol start=\"%d\" style=\"%s\">\n",
			    start, style);
		else
			hbuf_printf(o, "<%s style=\"%s\">\n",
			    ordered ? "ol" : "ul", style);
		break;
	}
	case CMARK_NODE_ITEM:
		hbuf_puts(o, entering ? "<li style=\"" ST_LI "\">" : "</li>\n");
		break;
	case CMARK_NODE_HEADING: {
		int level = cmark_node_get_heading_level(n);

		if (level < 1 || level > 6)
			level = 6;
		if (entering)
			hbuf_printf(o, "<h%d style=\"margin:24px 0 12px 0;"
			    "font-size:%s;line-height:1.3;font-weight:bold;\">",
			    level, heading_size[level]);
		else
			hbuf_printf(o, "</h%d>\n", level);
		break;
	}
	case CMARK_NODE_CODE_BLOCK:
		hbuf_puts(o, "<pre style=\"" ST_PRE "\"><code style=\""
		    ST_PRECODE "\">");
		hbuf_put_html(o, lit(n), strlen(lit(n)));
		hbuf_puts(o, "</code></pre>\n");
		break;
	case CMARK_NODE_PARAGRAPH:
		if (in_tight_list(n))
			break;
		hbuf_puts(o, entering ? "<p style=\"" ST_P "\">" : "</p>\n");
		break;
	case CMARK_NODE_THEMATIC_BREAK:
		hbuf_puts(o, "<hr style=\"" ST_HR "\" />\n");
		break;
	case CMARK_NODE_TEXT:
		html_text(h, n);
		break;
	case CMARK_NODE_SOFTBREAK:
		hbuf_putc(o, '\n');
		break;
	case CMARK_NODE_LINEBREAK:
		hbuf_puts(o, "<br />\n");
		break;
	case CMARK_NODE_CODE:
		hbuf_puts(o, "<code style=\"" ST_CODE "\">");
		hbuf_put_html(o, lit(n), strlen(lit(n)));
		hbuf_puts(o, "</code>");
		break;
	case CMARK_NODE_EMPH:
		hbuf_puts(o, entering ? "<em style=\"" ST_EM "\">" : "</em>");
		break;
	case CMARK_NODE_STRONG:
		hbuf_puts(o, entering ? "<strong style=\"" ST_STRONG "\">" :
		    "</strong>");
		break;
	case CMARK_NODE_LINK: {
		const char *url = url_of(n), *title = cmark_node_get_title(n);

		if (!url_linkable(url))
			break;	/* the words without the link */
		if (!entering) {
			hbuf_puts(o, "</a>");
			break;
		}
		hbuf_puts(o, "<a href=\"");
		hbuf_put_html(o, url, strlen(url));
		hbuf_puts(o, "\"");
		if (title && *title) {
			hbuf_puts(o, " title=\"");
			hbuf_put_html(o, title, strlen(title));
			hbuf_puts(o, "\"");
		}
		hbuf_puts(o, " style=\"" ST_A "\">");
		break;
	}
	case CMARK_NODE_IMAGE: {
		const char *url = url_of(n);

		if (!entering)
			break;
		h->alt = n;
		if (!url_linkable(url))
			break;	/* alt text as plain words */
		hbuf_puts(o, "<img src=\"");
		hbuf_put_html(o, url, strlen(url));
		hbuf_puts(o, "\" alt=\"");
		break;
	}
	case CMARK_NODE_HTML_BLOCK:
	case CMARK_NODE_HTML_INLINE: {
		/* raw HTML is dropped, but for site shortcode output */
		const struct herald_snippet *sn = snippet_of(h->doc, n);

		if (entering && sn != NULL) {
			hbuf_puts(o, sn->html);
			if (t == CMARK_NODE_HTML_BLOCK)
				hbuf_putc(o, '\n');
		}
		break;
	}
	default:
		/* Raw HTML, footnotes and anything unknown: dropped. */
		break;
	}
}

void
herald_render_html(const struct herald_doc *doc,
    const char *const *html_subst, struct hbuf *out)
{
	struct html h = { doc, html_subst, out, NULL };
	cmark_iter *it = cmark_iter_new(doc->root);
	cmark_event_type ev;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE)
		html_node(&h, cmark_iter_get_node(it), ev == CMARK_EVENT_ENTER);
	cmark_iter_free(it);
}

/* ---- plain text ---- */

#define text_width herald_wrap_width

struct frame {
	char first[24];		/* prefix of the block's first line */
	char cont[24];		/* prefix of the lines after it */
	bool used;
};

struct text {
	const struct herald_doc *doc;
	const char *const *subst;
	struct hbuf *out;
	struct frame *frames;
	size_t nframes, framecap;
	bool any, blank;	/* something written; last line blank */
	char **urls;		/* link references, [1] is urls[0] */
	size_t nurls, urlcap;
};

static void
push_frame(struct text *t, const char *first, const char *cont)
{
	struct frame *f;

	if (t->nframes == t->framecap) {
		t->framecap = t->framecap ? 2 * t->framecap : 16;
		t->frames = xrealloc(t->frames,
		    t->framecap * sizeof(*t->frames));
	}
	f = &t->frames[t->nframes++];
	snprintf(f->first, sizeof(f->first), "%s", first);
	snprintf(f->cont, sizeof(f->cont), "%s", cont);
	f->used = false;
}

static size_t
prefix_width(const struct text *t)
{
	size_t w = 0;

	for (size_t i = 0; i < t->nframes; i++)
		w += text_width(t->frames[i].cont, strlen(t->frames[i].cont));
	return w;
}

static size_t
avail_width(const struct text *t)
{
	size_t w = prefix_width(t);

	return w + TEXT_MIN_AVAIL > TEXT_WIDTH ? TEXT_MIN_AVAIL :
	    TEXT_WIDTH - w;
}

/* One output line: prefixes, s (glue shown as spaces), no trailing blanks. */
static void
emit_line(struct text *t, const char *s, size_t n, bool blank)
{
	struct hbuf *o = t->out;
	size_t start = o->len;

	for (size_t i = 0; i < t->nframes; i++) {
		struct frame *f = &t->frames[i];

		hbuf_puts(o, f->used || blank ? f->cont : f->first);
		if (!blank)
			f->used = true;
	}
	for (size_t i = 0; i < n; i++)
		hbuf_putc(o, s[i] == GLUE ? ' ' : s[i]);
	while (o->len > start && (o->data[o->len - 1] == ' ' ||
	    o->data[o->len - 1] == '\t'))
		o->len--;
	hbuf_putc(o, '\n');
	t->any = true;
	t->blank = blank;
}

static void
blank_line(struct text *t)
{
	if (t->any && !t->blank)
		emit_line(t, "", 0, true);
}

/*
 * Blank line before a block, unless it opens a list item or block quote,
 * or follows a sibling inside a tight list.
 */
static void
begin_block(struct text *t, cmark_node *n)
{
	cmark_node *parent = cmark_node_parent(n);
	cmark_node_type pt = parent ? cmark_node_get_type(parent) : CMARK_NODE_NONE;

	if (!t->any)
		return;
	if (pt == CMARK_NODE_ITEM) {
		if (n == cmark_node_first_child(parent) ||
		    cmark_node_get_list_tight(cmark_node_parent(parent)))
			return;
	} else if (pt == CMARK_NODE_LIST) {
		if (n == cmark_node_first_child(parent) ||
		    cmark_node_get_list_tight(parent))
			return;
	} else if (pt == CMARK_NODE_BLOCK_QUOTE &&
	    n == cmark_node_first_child(parent))
		return;
	blank_line(t);
}

static size_t
ref_number(struct text *t, const char *url)
{
	for (size_t i = 0; i < t->nurls; i++)
		if (strcmp(t->urls[i], url) == 0)
			return i + 1;
	if (t->nurls == t->urlcap) {
		t->urlcap = t->urlcap ? 2 * t->urlcap : 16;
		t->urls = xrealloc(t->urls, t->urlcap * sizeof(*t->urls));
	}
	t->urls[t->nurls++] = xstrdup(url);
	return t->nurls;
}

/* Text as words: blanks and newlines become breakable spaces. */
static void
put_words(struct hbuf *run, const char *s, size_t n, bool glue)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\n' || c == '\t' || c == '\r' || c == GLUE ||
		    c == HERALD_WRAP_HOLD || c == HERALD_WRAP_END)
			c = ' ';
		if (c == ' ' && glue)
			c = GLUE;
		hbuf_putc(run, c);
	}
}

static void
text_text(struct text *t, cmark_node *n, struct hbuf *run)
{
	const char *s = lit(n);
	size_t pos = 0;

	for (size_t i = first_span(t->doc, n);
	    i < t->doc->ntimes && t->doc->spans[i].node == n; i++) {
		const struct span *sp = &t->doc->spans[i];

		put_words(run, s + pos, sp->start - pos, false);
		/* A time is kept on one line. */
		hbuf_putc(run, HERALD_WRAP_HOLD);
		if (t->subst)
			put_words(run, t->subst[i], strlen(t->subst[i]), true);
		else
			put_words(run, s + sp->start, sp->len, true);
		hbuf_putc(run, HERALD_WRAP_END);
		pos = sp->start + sp->len;
	}
	put_words(run, s + pos, strlen(s + pos), false);
}

/* Link text that is just the URL (autolinks) needs no reference. */
static bool
link_is_url(cmark_node *n, const char *url)
{
	struct hbuf b = HBUF_INIT;
	const char *s;
	bool same;

	plain_text(n, &b);
	s = hbuf_cstr(&b);
	same = strcmp(s, url) == 0 ||
	    (strncmp(url, "mailto:", 7) == 0 && strcmp(s, url + 7) == 0) ||
	    (strncmp(url, "http://", 7) == 0 && strcmp(s, url + 7) == 0) ||
	    (strncmp(url, "https://", 8) == 0 && strcmp(s, url + 8) == 0);
	hbuf_free(&b);
	return same;
}

/*
 * The inline content of block as one run of text: ' ' may break, GLUE may
 * not, '\n' is a hard break (a space in table cells).
 */
static void
text_inlines(struct text *t, cmark_node *block, struct hbuf *run, bool cell)
{
	cmark_iter *it = cmark_iter_new(block);
	cmark_event_type ev;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *n = cmark_iter_get_node(it);
		cmark_node_type ty = cmark_node_get_type(n);
		bool entering = ev == CMARK_EVENT_ENTER;

		if (n == block)
			continue;
		if (ty == CMARK_NODE_STRIKETHROUGH) {
			hbuf_putc(run, '~');
			continue;
		}
		switch (ty) {
		case CMARK_NODE_TEXT:
			text_text(t, n, run);
			break;
		case CMARK_NODE_SOFTBREAK:
			hbuf_putc(run, ' ');
			break;
		case CMARK_NODE_LINEBREAK:
			hbuf_putc(run, cell ? ' ' : '\n');
			break;
		case CMARK_NODE_CODE:
			hbuf_putc(run, '`');
			put_words(run, lit(n), strlen(lit(n)), false);
			hbuf_putc(run, '`');
			break;
		case CMARK_NODE_EMPH:
			hbuf_putc(run, '_');
			break;
		case CMARK_NODE_STRONG:
			hbuf_putc(run, '*');
			break;
		case CMARK_NODE_LINK: {
			const char *url = url_of(n);

			if (entering || !url_linkable(url) || *url == '#' ||
			    link_is_url(n, url))
				break;
			hbuf_printf(run, "%c[%zu]", GLUE, ref_number(t, url));
			break;
		}
		case CMARK_NODE_IMAGE: {
			const char *url = url_of(n);
			struct hbuf alt = HBUF_INIT;

			plain_text(n, &alt);
			if (alt.len > 0) {
				hbuf_puts(run, "[image: ");
				put_words(run, alt.data, alt.len, false);
				hbuf_putc(run, ']');
			} else
				hbuf_puts(run, "[image]");
			hbuf_free(&alt);
			if (url_linkable(url))
				hbuf_printf(run, "%c[%zu]", GLUE,
				    ref_number(t, url));
			cmark_iter_reset(it, n, CMARK_EVENT_EXIT);
			break;
		}
		case CMARK_NODE_HTML_INLINE: {
			const struct herald_snippet *sn = snippet_of(t->doc, n);

			if (sn != NULL)
				put_words(run, sn->text, strlen(sn->text),
				    false);
			break;
		}
		default:
			break;	/* raw HTML, footnote references */
		}
	}
	cmark_iter_free(it);
}

/* Emit each '\n'-terminated line of lines; returns the widest. */
static size_t
emit_lines(struct text *t, const struct hbuf *lines)
{
	size_t maxw = 0, start = 0;

	for (size_t i = 0; i < lines->len; i++) {
		size_t w;

		if (lines->data[i] != '\n')
			continue;
		w = text_width(lines->data + start, i - start);
		if (w > maxw)
			maxw = w;
		emit_line(t, lines->data + start, i - start, false);
		start = i + 1;
	}
	return maxw;
}

static void
text_paragraph(struct text *t, cmark_node *n)
{
	struct hbuf run = HBUF_INIT, lines = HBUF_INIT;

	text_inlines(t, n, &run, false);
	herald_wrap(hbuf_cstr(&run), run.len, avail_width(t), &lines);
	emit_lines(t, &lines);
	hbuf_free(&run);
	hbuf_free(&lines);
}

/* Headings are underlined, as in Setext: h1 with '=', the rest with '-'.
 * A "### " prefix would read as raw Markdown in a mail reader. */
static void
text_heading(struct text *t, cmark_node *n)
{
	int level = cmark_node_get_heading_level(n);
	struct hbuf run = HBUF_INIT, lines = HBUF_INIT, rule = HBUF_INIT;
	size_t w;

	text_inlines(t, n, &run, false);
	herald_wrap(hbuf_cstr(&run), run.len, avail_width(t), &lines);
	w = emit_lines(t, &lines);
	if (w > 0) {
		for (size_t i = 0; i < w; i++)
			hbuf_putc(&rule, level == 1 ? '=' : '-');
		emit_line(t, rule.data, rule.len, false);
	}
	hbuf_free(&run);
	hbuf_free(&lines);
	hbuf_free(&rule);
}

/* Code verbatim, indented four columns, never wrapped. */
static void
text_code_block(struct text *t, cmark_node *n)
{
	const char *s = lit(n), *end = s + strlen(s);
	struct hbuf line = HBUF_INIT;

	if (end > s && end[-1] == '\n')
		end--;
	while (s <= end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;

		hbuf_reset(&line);
		if (e > s)
			hbuf_puts(&line, "    ");
		for (const char *p = s; p < e; p++)
			hbuf_putc(&line, *p == GLUE ? ' ' : *p);
		emit_line(t, line.data ? line.data : "", line.len, false);
		s = e + 1;
	}
	hbuf_free(&line);
}

/*
 * Column widths for a table that must fit avail columns: each column as
 * wide as its widest cell if that fits, else the widest columns give up
 * room first, none below its widest unbreakable piece.  False when even
 * that does not fit.
 */
static bool
fit_columns(size_t ncols, const size_t *maxw, const size_t *minw,
    size_t avail, size_t *widths)
{
	size_t total = 2 * (ncols - 1), least = total;

	for (size_t c = 0; c < ncols; c++) {
		widths[c] = maxw[c];
		total += maxw[c];
		least += minw[c];
	}
	if (least > avail)
		return false;
	while (total > avail) {
		size_t widest = ncols;

		for (size_t c = 0; c < ncols; c++)
			if (widths[c] > minw[c] &&
			    (widest == ncols || widths[c] > widths[widest]))
				widest = c;
		if (widest == ncols)
			return false;
		widths[widest]--;
		total--;
	}
	return true;
}

/* One "label: value" block per row, for tables too wide for columns. */
static void
text_table_stacked(struct text *t, cmark_node *table, char **cells,
    size_t ncols)
{
	struct hbuf run = HBUF_INIT, lines = HBUF_INIT;
	cmark_node *head = cmark_node_first_child(table);
	size_t r = 0;
	bool first = true;

	for (cmark_node *row = head; row; row = cmark_node_next(row), r++) {
		if (cmark_gfm_extensions_get_table_row_is_header(row))
			continue;
		if (!first)
			blank_line(t);
		first = false;
		for (size_t c = 0; c < ncols; c++) {
			const char *label = cells[c] ? cells[c] : "";
			const char *v = cells[r * ncols + c];

			if (v == NULL || *v == '\0')
				continue;
			hbuf_reset(&run);
			hbuf_reset(&lines);
			if (*label)
				hbuf_printf(&run, "%s: ", label);
			hbuf_puts(&run, v);
			push_frame(t, "", "  ");
			herald_wrap(run.data, run.len, avail_width(t), &lines);
			emit_lines(t, &lines);
			t->nframes--;
		}
	}
	hbuf_free(&run);
	hbuf_free(&lines);
}

/*
 * Cells padded to their column's display width, per GFM alignment; a cell
 * too long for its column wraps inside it, so the table fits 72 columns.
 */
static void
text_table(struct text *t, cmark_node *table)
{
	size_t ncols = cmark_gfm_extensions_get_table_columns(table);
	uint8_t *al = cmark_gfm_extensions_get_table_alignments(table);
	size_t nrows = 0, *widths, *maxw, *minw, *nl, *at;
	char **cells;
	struct hbuf line = HBUF_INIT, *wrapped;
	size_t r = 0;

	for (cmark_node *row = cmark_node_first_child(table); row;
	    row = cmark_node_next(row))
		nrows++;
	if (ncols == 0 || nrows == 0)
		return;
	cells = xcalloc(nrows * ncols, sizeof(*cells));
	widths = xcalloc(ncols, sizeof(*widths));
	maxw = xcalloc(ncols, sizeof(*maxw));
	minw = xcalloc(ncols, sizeof(*minw));
	for (cmark_node *row = cmark_node_first_child(table); row;
	    row = cmark_node_next(row), r++) {
		size_t c = 0;

		for (cmark_node *cell = cmark_node_first_child(row);
		    cell && c < ncols; cell = cmark_node_next(cell), c++) {
			struct hbuf run = HBUF_INIT;
			char *s;
			size_t w;

			text_inlines(t, cell, &run, true);
			s = cells[r * ncols + c] = run.data ? hbuf_detach(&run) :
			    xstrdup("");
			w = text_width(s, strlen(s));
			if (w > maxw[c])
				maxw[c] = w;
			w = herald_wrap_min_width(s, strlen(s));
			if (w > minw[c])
				minw[c] = w;
		}
	}
	if (!fit_columns(ncols, maxw, minw, avail_width(t), widths)) {
		text_table_stacked(t, table, cells, ncols);
		goto done;
	}
	wrapped = xcalloc(ncols, sizeof(*wrapped));
	nl = xcalloc(ncols, sizeof(*nl));
	at = xcalloc(ncols, sizeof(*at));
	r = 0;
	for (cmark_node *row = cmark_node_first_child(table); row;
	    row = cmark_node_next(row), r++) {
		size_t height = 0;

		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c] ?
			    cells[r * ncols + c] : "";

			hbuf_reset(&wrapped[c]);
			nl[c] = herald_wrap(s, strlen(s), widths[c], &wrapped[c]);
			at[c] = 0;
			if (nl[c] > height)
				height = nl[c];
		}
		for (size_t k = 0; k < height || k == 0; k++) {
			hbuf_reset(&line);
			for (size_t c = 0; c < ncols; c++) {
				const char *s = wrapped[c].data ?
				    wrapped[c].data + at[c] : "";
				const char *e = strchr(s, '\n');
				size_t len = e ? (size_t)(e - s) : strlen(s);
				size_t w = text_width(s, len);
				size_t pad = widths[c] > w ? widths[c] - w : 0;
				size_t left = 0;

				if (e != NULL)
					at[c] += len + 1;
				if (al && al[c] == 'r')
					left = pad;
				else if (al && al[c] == 'c')
					left = pad / 2;
				if (c > 0)
					hbuf_puts(&line, "  ");
				for (size_t i = 0; i < left; i++)
					hbuf_putc(&line, ' ');
				hbuf_put(&line, s, len);
				for (size_t i = left; i < pad; i++)
					hbuf_putc(&line, ' ');
			}
			emit_line(t, line.data, line.len, false);
		}
		if (cmark_gfm_extensions_get_table_row_is_header(row)) {
			hbuf_reset(&line);
			for (size_t c = 0; c < ncols; c++) {
				if (c > 0)
					hbuf_puts(&line, "  ");
				for (size_t i = 0; i < widths[c] || i < 3; i++)
					hbuf_putc(&line, '-');
			}
			emit_line(t, line.data, line.len, false);
		}
	}
	for (size_t c = 0; c < ncols; c++)
		hbuf_free(&wrapped[c]);
	free(wrapped);
	free(nl);
	free(at);
done:
	for (size_t i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
	free(widths);
	free(maxw);
	free(minw);
	hbuf_free(&line);
}

/* "- " or "3. " for an item, and the hanging indent of its other lines. */
static void
push_item(struct text *t, cmark_node *item)
{
	cmark_node *list = cmark_node_parent(item);
	char first[24], cont[24];
	size_t w;

	if (cmark_node_get_list_type(list) == CMARK_ORDERED_LIST) {
		long num = cmark_node_get_list_start(list);

		for (cmark_node *p = cmark_node_previous(item); p;
		    p = cmark_node_previous(p))
			num++;
		snprintf(first, sizeof(first), "%ld%c ", num,
		    cmark_node_get_list_delim(list) == CMARK_PAREN_DELIM ?
		    ')' : '.');
	} else
		snprintf(first, sizeof(first), "- ");
	w = strlen(first);
	memset(cont, ' ', w);
	cont[w] = '\0';
	push_frame(t, first, cont);
}

static void
text_node(struct text *t, cmark_node *n, bool entering, cmark_iter *it)
{
	cmark_node_type ty = cmark_node_get_type(n);

	if (ty == CMARK_NODE_TABLE) {
		if (entering) {
			begin_block(t, n);
			text_table(t, n);
			cmark_iter_reset(it, n, CMARK_EVENT_EXIT);
		}
		return;
	}
	switch (ty) {
	case CMARK_NODE_BLOCK_QUOTE:
		if (entering) {
			begin_block(t, n);
			push_frame(t, "> ", "> ");
		} else
			t->nframes--;
		break;
	case CMARK_NODE_LIST:
		if (entering)
			begin_block(t, n);
		break;
	case CMARK_NODE_ITEM:
		if (entering) {
			begin_block(t, n);
			push_item(t, n);
		} else {
			if (!t->frames[t->nframes - 1].used)
				emit_line(t, "", 0, false);
			t->nframes--;
		}
		break;
	case CMARK_NODE_PARAGRAPH:
		if (!entering)
			break;
		begin_block(t, n);
		text_paragraph(t, n);
		cmark_iter_reset(it, n, CMARK_EVENT_EXIT);
		break;
	case CMARK_NODE_HEADING:
		if (!entering)
			break;
		begin_block(t, n);
		text_heading(t, n);
		cmark_iter_reset(it, n, CMARK_EVENT_EXIT);
		break;
	case CMARK_NODE_CODE_BLOCK:
		begin_block(t, n);
		text_code_block(t, n);
		break;
	case CMARK_NODE_THEMATIC_BREAK: {
		char dashes[TEXT_WIDTH + 1];
		size_t w = avail_width(t);

		begin_block(t, n);
		memset(dashes, '-', w);
		emit_line(t, dashes, w, false);
		break;
	}
	case CMARK_NODE_HTML_BLOCK: {
		const struct herald_snippet *sn = snippet_of(t->doc, n);
		const char *l = sn ? sn->text : NULL;

		if (l == NULL || !entering)
			break;
		begin_block(t, n);
		while (*l) {
			size_t k = strcspn(l, "\n");
			emit_line(t, l, k, k == 0);
			l += k + (l[k] == '\n');
		}
		break;
	}
	default:
		break;	/* document, raw HTML, footnotes */
	}
}

void
herald_render_text(const struct herald_doc *doc,
    const char *const *text_subst, struct hbuf *out)
{
	struct text t = { .doc = doc, .subst = text_subst, .out = out };
	cmark_iter *it = cmark_iter_new(doc->root);
	cmark_event_type ev;

	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE)
		text_node(&t, cmark_iter_get_node(it), ev == CMARK_EVENT_ENTER,
		    it);
	cmark_iter_free(it);
	if (t.nurls > 0) {
		blank_line(&t);
		hbuf_puts(out, "Links:\n");
		for (size_t i = 0; i < t.nurls; i++)
			hbuf_printf(out, "[%zu] %s\n", i + 1, t.urls[i]);
	}
	for (size_t i = 0; i < t.nurls; i++)
		free(t.urls[i]);
	free(t.urls);
	free(t.frames);
}

/* ---- code lines, for shortcode expansion (post.c / shortcode.c) ---- */

unsigned char *
herald_md_code_lines(const char *body, size_t len, size_t *nlines)
{
	cmark_node *root;
	cmark_iter *it;
	cmark_event_type ev;
	size_t n = 1;
	unsigned char *code;

	for (size_t i = 0; i < len; i++)
		n += body[i] == '\n';
	code = xcalloc(n + 1, 1);
	root = cmark_parse_document(body, len, CMARK_OPT_DEFAULT);
	it = cmark_iter_new(root);
	while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
		cmark_node *nd = cmark_iter_get_node(it);
		int a, b;

		if (ev != CMARK_EVENT_ENTER ||
		    cmark_node_get_type(nd) != CMARK_NODE_CODE_BLOCK)
			continue;
		a = cmark_node_get_start_line(nd);
		b = cmark_node_get_end_line(nd);
		for (int l = a; l <= b && l >= 1 && (size_t)l <= n; l++)
			code[l - 1] = 1;
	}
	cmark_iter_free(it);
	cmark_node_free(root);
	*nlines = n;
	return code;
}
