/*
 * shortcode.c - Hugo, Jekyll/Liquid/kramdown and Zola syntax in a post
 * body, expanded to Markdown that mail can show (see shortcode.h).
 *
 * One pass over the body.  Code blocks come from cmark (render.c's
 * herald_md_code_lines), code spans from a backtick matcher like
 * CommonMark's; both are copied as written.  Each construct is parsed to
 * a "call" (name, positional and named arguments, inner text) and run:
 * a built-in writes Markdown, a site shortcode its template's output (as
 * a marker render.c swaps for the HTML or text) or its policy's result.
 * Output lines are mapped back to the file's lines.
 */
#include "shortcode.h"
#include "render.h"
#include "template.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SC_MAX_DEPTH	16	/* shortcodes inside shortcodes */
#define SC_MAX_ARGS	64
#define SC_NOCLOSE	32	/* backtick run lengths code_span remembers */
#define SC_SEARCH_MAX	(64u << 20)	/* bytes searched for closing tags */

static const char *
find_mem(const char *s, size_t n, const char *pat, size_t pn)
{
	for (size_t i = 0; i + pn <= n; i++)
		if (memcmp(s + i, pat, pn) == 0)
			return s + i;
	return NULL;
}

enum kind { K_HUGO, K_LIQUID, K_ZOLA };

struct arg {
	char *key;      /* NULL for a positional argument */
	char *val;
};

struct call {
	enum kind kind;
	char name[64];
	struct arg args[SC_MAX_ARGS];
	size_t nargs;
	bool paired;
	const char *inner;      /* paired: the text between the tags */
	size_t inner_len;
	int inner_line;         /* file line inner starts on */
	int line;               /* file line of the opening tag */
};

struct out {
	struct hbuf b;
	int *map;
	size_t n, cap;
};

struct sx {
	const char *file;
	const struct herald_config *cfg;
	const struct ynode *front;
	struct herald_err *e;
	unsigned char *code;    /* code[i]: body line i is in a code block */
	size_t ncode;
	int first_line;
	int depth;
	struct herald_expanded *x;
	/* code_span: no closer of run length L in [nocl_from, nocl_to) */
	const char *nocl_from[SC_NOCLOSE], *nocl_to[SC_NOCLOSE];
	/* bytes looked through for closing tags (bounded: see tag_budget) */
	size_t searched;
};

static void
out_line(struct out *o, int line)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 64;
		o->map = xrealloc(o->map, o->cap * sizeof(*o->map));
	}
	o->map[o->n++] = line;
}

/* Append s[0..n); a newline in it starts a line mapped to line. */
static void
out_put(struct out *o, const char *s, size_t n, int line)
{
	for (size_t i = 0; i < n; i++) {
		hbuf_putc(&o->b, s[i]);
		if (s[i] == '\n')
			out_line(o, line);
	}
}

static void
out_puts(struct out *o, const char *s, int line)
{
	out_put(o, s, strlen(s), line);
}

/* Start a new line unless at the start of one. */
static void
out_bol(struct out *o, int line)
{
	if (o->b.len > 0 && o->b.data[o->b.len - 1] != '\n')
		out_put(o, "\n", 1, line);
}

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

static bool
is_code_line(const struct sx *x, int line)
{
	long i = (long)line - x->first_line;

	return i >= 0 && (size_t)i < x->ncode && x->code[i];
}

static void
call_free(struct call *c)
{
	for (size_t i = 0; i < c->nargs; i++) {
		free(c->args[i].key);
		free(c->args[i].val);
	}
	c->nargs = 0;
}

static const char *
named(const struct call *c, const char *key)
{
	for (size_t i = 0; i < c->nargs; i++)
		if (c->args[i].key && strcmp(c->args[i].key, key) == 0)
			return c->args[i].val;
	return NULL;
}

static const char *
positional(const struct call *c, size_t k)
{
	for (size_t i = 0; i < c->nargs; i++)
		if (c->args[i].key == NULL && k-- == 0)
			return c->args[i].val;
	return NULL;
}

/* Named argument, else the k-th positional one. */
static const char *
arg_or(const struct call *c, const char *key, size_t k)
{
	const char *v = named(c, key);

	return v ? v : positional(c, k);
}

/* ---- Markdown helpers ---- */

/* Text for inside [...] (a link's words, an image's alt). */
static void
put_md_text(struct out *o, const char *s, int line)
{
	for (; s && *s; s++) {
		if (*s == '\n') {
			out_put(o, " ", 1, line);
			continue;
		}
		if (strchr("[]\\`*_<>", *s))
			out_put(o, "\\", 1, line);
		out_put(o, s, 1, line);
	}
}

/* A URL for inside (<...>). */
static void
put_md_url(struct out *o, const char *s, int line)
{
	out_puts(o, "<", line);
	for (; s && *s; s++) {
		if (*s == '<' || *s == '>' || *s == ' ' || *s == '\n')
			hbuf_printf(&o->b, "%%%02X", (unsigned)(unsigned char)*s);
		else
			out_put(o, s, 1, line);
	}
	out_puts(o, ">", line);
}

static void
put_link(struct out *o, const char *words, const char *url, int line)
{
	out_puts(o, "[", line);
	put_md_text(o, words, line);
	out_puts(o, "](", line);
	put_md_url(o, url, line);
	out_puts(o, ")", line);
}

/* URL-safe id: letters, digits, - _ . only. */
static bool
id_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 200)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return false;
	return true;
}

/* ---- values from the front matter and config ---- */

/* A dotted name in a map ("cover.alt"); NULL when absent. */
static const struct ynode *
lookup(const struct ynode *map, const char *name)
{
	char part[128];

	while (map != NULL && *name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, name, n);
		part[n] = '\0';
		map = ynode_get(map, part);
		name += n + (dot != NULL);
		if (dot == NULL)
			return map;
	}
	return NULL;
}

/* Scalar text of a node; sequences of scalars joined with ", ". */
static bool
node_text(const struct ynode *n, struct hbuf *b)
{
	if (n == NULL)
		return false;
	if (n->type == YNODE_SCALAR) {
		hbuf_puts(b, n->scalar);
		return true;
	}
	if (n->type == YNODE_SEQ) {
		for (size_t i = 0; i < n->n; i++) {
			if (n->items[i]->type != YNODE_SCALAR)
				return false;
			if (i > 0)
				hbuf_puts(b, ", ");
			hbuf_puts(b, n->items[i]->scalar);
		}
		return true;
	}
	return false;
}

/* ---- site shortcodes: template or policy ---- */

static const struct herald_sc_rule *
rule_for(const struct sx *x, const char *name)
{
	for (size_t i = 0; x->cfg && i < x->cfg->nshortcodes; i++)
		if (strcmp(x->cfg->shortcodes[i].name, name) == 0)
			return &x->cfg->shortcodes[i];
	return NULL;
}

static int scan(struct sx *x, const char *s, size_t len, int line,
    struct out *o);
static void put_code(struct out *o, const char *s, size_t n, int *line);

/* Render one template file against root; *found false when absent. */
static int
render_tpl(struct sx *x, const char *path, enum herald_tpl_escape esc,
    const struct hval *root, char **out, struct herald_err *e)
{
	struct hbuf src = HBUF_INIT, res = HBUF_INIT;
	struct herald_tpl *t = NULL;
	int rc;

	(void)x;
	if ((rc = read_file(path, &src, e)) != 0)
		return rc;
	rc = herald_tpl_compile(src.data ? src.data : "", src.len, path, esc,
	    &t, e);
	hbuf_free(&src);
	if (rc != 0)
		return rc;
	herald_tpl_render(t, root, &res);
	herald_tpl_free(t);
	/* one block: no trailing newline of the file */
	while (res.len > 0 && (res.data[res.len - 1] == '\n' ||
	    res.data[res.len - 1] == '\r'))
		res.data[--res.len] = '\0';
	*out = res.data ? hbuf_detach(&res) : xstrdup("");
	return 0;
}

static int
site_template(struct sx *x, const struct call *c, struct out *o, bool *done)
{
	char *html_path, *text_path;
	bool has_html, has_text, bol;
	struct hval items[SC_MAX_ARGS + 8], pos[SC_MAX_ARGS];
	const char *keys[SC_MAX_ARGS + 8];
	char argn[SC_MAX_ARGS][16];
	struct hval root = {0}, site = {0}, site_items[2];
	static const char *const site_keys[] = {"title", "base_url"};
	size_t n = 0, np = 0;
	char *inner = NULL, *html = NULL, *text = NULL;
	struct herald_snippet *sn;
	int rc;

	*done = false;
	if (x->cfg == NULL || x->cfg->templates_dir == NULL)
		return 0;
	html_path = xasprintf("%s/shortcodes/%s.html", x->cfg->templates_dir,
	    c->name);
	text_path = xasprintf("%s/shortcodes/%s.txt", x->cfg->templates_dir,
	    c->name);
	has_html = access(html_path, F_OK) == 0;
	has_text = access(text_path, F_OK) == 0;
	if (!has_html && !has_text) {
		free(html_path);
		free(text_path);
		return 0;
	}
	if (!has_html || !has_text) {
		rc = herald_errf(x->e, EX_DATAERR, x->file, c->line,
		    "shortcode '%s' has %s but not %s: a site shortcode needs "
		    "both", c->name, has_html ? html_path : text_path,
		    has_html ? text_path : html_path);
		goto out;
	}
	for (size_t i = 0; i < c->nargs; i++) {
		if (c->args[i].key != NULL) {
			keys[n] = c->args[i].key;
			items[n++] = (struct hval){.type = HVAL_STR,
			    .s = c->args[i].val};
		} else {
			snprintf(argn[np], sizeof(argn[np]), "arg%zu", np);
			keys[n] = argn[np];
			items[n++] = (struct hval){.type = HVAL_STR,
			    .s = c->args[i].val};
			pos[np++] = (struct hval){.type = HVAL_STR,
			    .s = c->args[i].val};
		}
	}
	if (c->paired) {
		const char *ia = c->inner, *ib = c->inner + c->inner_len;
		while (ia < ib && space(*ia))
			ia++;
		while (ib > ia && space(ib[-1]))
			ib--;
		inner = xstrndup(ia, (size_t)(ib - ia));
	}
	keys[n] = "args";
	items[n++] = (struct hval){.type = HVAL_LIST, .n = np, .items = pos};
	keys[n] = "inner";
	items[n++] = (struct hval){.type = HVAL_STR, .s = inner ? inner : ""};
	site_items[0] = (struct hval){.type = HVAL_STR, .s =
	    x->cfg->site_title ? x->cfg->site_title : ""};
	site_items[1] = (struct hval){.type = HVAL_STR, .s =
	    x->cfg->site_base_url ? x->cfg->site_base_url : ""};
	site = (struct hval){.type = HVAL_MAP, .n = 2, .keys = site_keys,
	    .items = site_items};
	keys[n] = "site";
	items[n++] = site;
	root = (struct hval){.type = HVAL_MAP, .n = n, .keys = keys,
	    .items = items};
	if ((rc = render_tpl(x, html_path, HERALD_TPL_HTML, &root, &html,
	    x->e)) != 0 || (rc = render_tpl(x, text_path, HERALD_TPL_TEXT,
	    &root, &text, x->e)) != 0)
		goto out;
	x->x->snips = xrealloc(x->x->snips, (x->x->nsnips + 1) *
	    sizeof(*x->x->snips));
	sn = &x->x->snips[x->x->nsnips];
	sn->html = html;
	sn->text = text;
	html = text = NULL;
	bol = o->b.len == 0 || o->b.data[o->b.len - 1] == '\n';
	hbuf_printf(&o->b, "<!--%s%zu-->", x->x->marker, x->x->nsnips);
	/* at the start of a line it is an HTML block, which runs to the end
	 * of the line: what follows goes on a line of its own */
	if (bol)
		out_puts(o, "\n", c->line);
	x->x->nsnips++;
	*done = true;
out:
	free(inner);
	free(html);
	free(text);
	free(html_path);
	free(text_path);
	return rc;
}

static int
site_shortcode(struct sx *x, const struct call *c, struct out *o)
{
	const struct herald_sc_rule *r;
	bool done;
	int rc;

	if ((rc = site_template(x, c, o, &done)) != 0 || done)
		return rc;
	if ((r = rule_for(x, c->name)) != NULL) {
		if (r->policy == HERALD_SC_DROP || !c->paired)
			return 0;
		if (x->depth >= SC_MAX_DEPTH)
			return herald_errf(x->e, EX_DATAERR, x->file, c->line,
			    "shortcodes nested more than %d deep",
			    SC_MAX_DEPTH);
		x->depth++;
		rc = scan(x, c->inner, c->inner_len, c->inner_line, o);
		x->depth--;
		return rc;
	}
	return herald_errf(x->e, EX_DATAERR, x->file, c->line,
	    "unknown %s '%s': add templates/shortcodes/%s.html and %s.txt, "
	    "or set shortcodes: {%s: inner} (or drop) in herald.yml",
	    c->kind == K_LIQUID ? "include" : "shortcode", c->name, c->name,
	    c->name, c->name);
}

/* ---- built-ins ---- */

static void
code_block(struct out *o, const char *lang, const char *s, size_t n,
    int line)
{
	size_t run = 0, longest = 0;
	char fence[64];
	size_t flen;

	/* skip the newline right after the opening tag and before the end */
	if (n > 0 && s[0] == '\n')
		s++, n--;
	while (n > 0 && (s[n - 1] == '\n' || blank(s[n - 1])))
		n--;
	for (size_t i = 0; i < n; i++) {
		run = s[i] == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	flen = longest < 3 ? 3 : longest + 1;
	if (flen >= sizeof(fence))
		flen = sizeof(fence) - 1;
	memset(fence, '`', flen);
	fence[flen] = '\0';
	out_bol(o, line);
	out_puts(o, fence, line);
	for (const char *l = lang; l && *l && !space(*l) && *l != '`'; l++)
		out_put(o, l, 1, line);
	out_puts(o, "\n", line);
	out_put(o, s, n, line);
	out_puts(o, "\n", line);
	out_puts(o, fence, line);
}

static int
need(struct sx *x, const struct call *c, const char *v, const char *what)
{
	if (v == NULL || *v == '\0')
		return herald_errf(x->e, EX_DATAERR, x->file, c->line,
		    "shortcode '%s' needs %s", c->name, what);
	return 0;
}

/* Hugo's ref/relref: a content path to the page's absolute URL. */
static void
put_ref(struct sx *x, const char *ref, struct hbuf *url)
{
	const char *hash = strchr(ref, '#');
	size_t n = hash ? (size_t)(hash - ref) : strlen(ref);
	const char *base = x->cfg && x->cfg->site_base_url ?
	    x->cfg->site_base_url : "";

	hbuf_puts(url, base);
	while (n > 0 && *ref == '/')
		ref++, n--;
	if (n > 3 && memcmp(ref + n - 3, ".md", 3) == 0)
		n -= 3;
	if (n >= 6 && memcmp(ref + n - 6, "/index", 6) == 0)
		n -= 6;
	else if (n >= 7 && memcmp(ref + n - 7, "/_index", 7) == 0)
		n -= 7;
	if (n > 0) {
		hbuf_putc(url, '/');
		hbuf_put(url, ref, n);
	}
	hbuf_putc(url, '/');
	if (hash)
		hbuf_puts(url, hash);
}

static int param_value(struct sx *x, const char *name, int line,
    struct hbuf *out);

/* Returns -1 when c is not a built-in. */
static int
builtin(struct sx *x, const struct call *c, struct out *o)
{
	const char *nm = c->name;
	int line = c->line, rc;
	struct hbuf u = HBUF_INIT;

	if (strcmp(nm, "figure") == 0) {
		const char *src = named(c, "src"), *link = named(c, "link");
		const char *alt = named(c, "alt"), *cap = named(c, "caption");
		const char *title = named(c, "title"), *attr = named(c, "attr");
		const char *attrlink = named(c, "attrlink");

		if ((rc = need(x, c, src, "src=\"...\"")) != 0)
			return rc;
		if (alt == NULL || *alt == '\0')
			alt = cap && *cap ? cap : title && *title ? title :
			    attr ? attr : "";
		if (link)
			out_puts(o, "[", line);
		out_puts(o, "![", line);
		put_md_text(o, alt, line);
		out_puts(o, "](", line);
		put_md_url(o, src, line);
		out_puts(o, ")", line);
		if (link) {
			out_puts(o, "](", line);
			put_md_url(o, link, line);
			out_puts(o, ")", line);
		}
		if ((title && *title) || (cap && *cap) || (attr && *attr)) {
			/* a hard break: the caption under the image */
			out_puts(o, "\\\n", line);
			if (title && *title) {
				out_puts(o, "**", line);
				put_md_text(o, title, line);
				out_puts(o, "**", line);
				if ((cap && *cap) || (attr && *attr))
					out_puts(o, " ", line);
			}
			if (cap && *cap) {
				/* Hugo renders the caption as Markdown */
				for (const char *p = cap; *p; p++)
					out_put(o, *p == '\n' ? " " : p, 1,
					    line);
				if (attr && *attr)
					out_puts(o, " ", line);
			}
			if (attr && *attr) {
				out_puts(o, "(", line);
				if (attrlink && *attrlink)
					put_link(o, attr, attrlink, line);
				else
					put_md_text(o, attr, line);
				out_puts(o, ")", line);
			}
		}
		return 0;
	}
	if (strcmp(nm, "youtube") == 0 || strcmp(nm, "youtube_simple") == 0) {
		const char *id = arg_or(c, "id", 0), *title = named(c, "title");
		char *alt;

		if (!id_ok(id))
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode '%s' needs a video id (letters, digits, "
			    "- and _)", nm);
		alt = xasprintf("Watch on YouTube%s%s", title ? ": " : "",
		    title ? title : "");
		out_puts(o, "[![", line);
		put_md_text(o, alt, line);
		hbuf_printf(&u, "https://i.ytimg.com/vi/%s/hqdefault.jpg", id);
		out_puts(o, "](", line);
		put_md_url(o, u.data, line);
		hbuf_reset(&u);
		hbuf_printf(&u, "https://www.youtube.com/watch?v=%s", id);
		out_puts(o, ")](", line);
		put_md_url(o, u.data, line);
		out_puts(o, ")", line);
		free(alt);
		hbuf_free(&u);
		return 0;
	}
	if (strcmp(nm, "vimeo") == 0 || strcmp(nm, "vimeo_simple") == 0) {
		const char *id = arg_or(c, "id", 0), *title = named(c, "title");

		if (!id_ok(id))
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode '%s' needs a video id", nm);
		hbuf_printf(&u, "https://vimeo.com/%s", id);
		put_link(o, title ? title : "Watch on Vimeo", u.data, line);
		hbuf_free(&u);
		return 0;
	}
	if (strcmp(nm, "tweet") == 0 || strcmp(nm, "x") == 0 ||
	    strcmp(nm, "twitter") == 0 || strcmp(nm, "twitter_simple") == 0) {
		const char *user = named(c, "user"), *id = arg_or(c, "id", 0);
		char *words;

		if (named(c, "id") == NULL && positional(c, 1) != NULL) {
			/* {{< twitter_simple user id >}} */
			user = positional(c, 0);
			id = positional(c, 1);
		}
		if (!id_ok(id) || (user != NULL && !id_ok(user)))
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode '%s' needs user=NAME id=NUMBER", nm);
		hbuf_printf(&u, "https://x.com/%s/status/%s", user ? user : "i",
		    id);
		words = user ? xasprintf("Post by @%s on X", user) :
		    xstrdup("Post on X");
		put_link(o, words, u.data, line);
		free(words);
		hbuf_free(&u);
		return 0;
	}
	if (strcmp(nm, "instagram") == 0 ||
	    strcmp(nm, "instagram_simple") == 0) {
		const char *id = arg_or(c, "id", 0);

		if (!id_ok(id))
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode '%s' needs a post id", nm);
		hbuf_printf(&u, "https://www.instagram.com/p/%s/", id);
		put_link(o, "Post on Instagram", u.data, line);
		hbuf_free(&u);
		return 0;
	}
	if (strcmp(nm, "gist") == 0) {
		const char *user = arg_or(c, "user", 0);
		const char *id = arg_or(c, "id", 1);
		const char *file = arg_or(c, "file", 2);
		char *words;

		if (!id_ok(user) || !id_ok(id))
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode 'gist' needs a user and a gist id");
		hbuf_printf(&u, "https://gist.github.com/%s/%s", user, id);
		words = file ? xasprintf("%s (gist by %s)", file, user) :
		    xasprintf("Gist by %s", user);
		put_link(o, words, u.data, line);
		free(words);
		hbuf_free(&u);
		return 0;
	}
	if (strcmp(nm, "ref") == 0 || strcmp(nm, "relref") == 0) {
		const char *ref = arg_or(c, "path", 0);

		if ((rc = need(x, c, ref, "a page path")) != 0)
			return rc;
		put_ref(x, ref, &u);
		out_puts(o, u.data, line);
		hbuf_free(&u);
		return 0;
	}
	if (strcmp(nm, "param") == 0) {
		const char *name = arg_or(c, "name", 0);

		if ((rc = need(x, c, name, "a parameter name")) != 0)
			return rc;
		if ((rc = param_value(x, name, line, &u)) != 0) {
			hbuf_free(&u);
			return rc;
		}
		out_put(o, u.data ? u.data : "", u.len, line);
		hbuf_free(&u);
		return 0;
	}
	if (strcmp(nm, "highlight") == 0) {
		if (!c->paired)
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode 'highlight' needs its closing "
			    "{{< /highlight >}}");
		code_block(o, positional(c, 0), c->inner, c->inner_len, line);
		return 0;
	}
	if (strcmp(nm, "details") == 0) {
		const char *sum = arg_or(c, "summary", 0);

		if (sum && *sum) {
			out_puts(o, "**", line);
			put_md_text(o, sum, line);
			out_puts(o, "**", line);
		}
		if (!c->paired)
			return 0;
		out_bol(o, line);
		if (c->inner_len == 0 || c->inner[0] != '\n')
			out_puts(o, "\n", line);
		x->depth++;
		rc = scan(x, c->inner, c->inner_len, c->inner_line, o);
		x->depth--;
		return rc;
	}
	if (strcmp(nm, "comment") == 0)
		return 0;
	if (strcmp(nm, "baseurl") == 0) {
		if (c->nargs > 0)
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode 'baseurl' takes no arguments");
		if (x->cfg == NULL || x->cfg->site_base_url == NULL)
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode 'baseurl' needs site.base_url in "
			    "herald.yml");
		out_puts(o, x->cfg->site_base_url, line);
		return 0;
	}
	return -1;
}

/* {{< param NAME >}}: front matter, its params:, then site.params. */
static int
param_value(struct sx *x, const char *name, int line, struct hbuf *out)
{
	const struct ynode *n = lookup(x->front, name);
	char *p;

	if (n == NULL) {
		p = xasprintf("params.%s", name);
		n = lookup(x->front, p);
		if (n == NULL)
			n = lookup(x->front, (free(p), p = xasprintf("extra.%s",
			    name)));
		free(p);
	}
	if (n == NULL && x->cfg != NULL)
		n = lookup(x->cfg->site_params, name);
	if (n == NULL)
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "parameter '%s' is not in the front matter nor in "
		    "site.params in herald.yml", name);
	if (!node_text(n, out))
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "parameter '%s' is not text", name);
	return 0;
}

static int
run_call(struct sx *x, struct call *c, struct out *o)
{
	int rc;

	if (c->kind == K_HUGO && strcmp(c->name, "time") == 0) {
		/* session.c reads it; one spelling makes its job simpler */
		out_puts(o, "{{< time", c->line);
		for (size_t i = 0; i < c->nargs; i++) {
			out_puts(o, " \"", c->line);
			out_puts(o, c->args[i].val, c->line);
			out_puts(o, "\"", c->line);
		}
		out_puts(o, " >}}", c->line);
		return 0;
	}
	if (x->depth >= SC_MAX_DEPTH)
		return herald_errf(x->e, EX_DATAERR, x->file, c->line,
		    "shortcodes nested more than %d deep", SC_MAX_DEPTH);
	/* a Jekyll include is the site's own, whatever its name */
	if (c->kind != K_LIQUID && (rc = builtin(x, c, o)) >= 0)
		return rc;
	return site_shortcode(x, c, o);
}

/* ---- argument parsing ---- */

struct cur {
	const char *s, *end;
	int line;
};

static void
skip_space(struct cur *k)
{
	while (k->s < k->end && space(*k->s)) {
		if (*k->s == '\n')
			k->line++;
		k->s++;
	}
}

/* A quoted value at k->s ('"', '\'' or '`'); *ok false if unclosed. */
static char *
quoted(struct cur *k, bool *ok)
{
	char q = *k->s++;
	struct hbuf b = HBUF_INIT;

	hbuf_put(&b, "", 0);
	while (k->s < k->end && *k->s != q) {
		if (*k->s == '\\' && q == '"' && k->s + 1 < k->end &&
		    (k->s[1] == '"' || k->s[1] == '\\'))
			k->s++;
		if (*k->s == '\n')
			k->line++;
		hbuf_putc(&b, *k->s++);
	}
	*ok = k->s < k->end;
	if (*ok)
		k->s++;
	return hbuf_detach(&b);
}

/*
 * The arguments of a Hugo shortcode in k up to the close ("%}}" or
 * ">}}") or a Liquid tag's ("%}").  key=value, "quoted", `raw`, bare.
 */
static int
parse_args(struct sx *x, struct call *c, struct cur *k, const char *close)
{
	size_t cl = strlen(close);

	for (;;) {
		const char *a;
		char *key = NULL, *val;
		bool ok = true;

		skip_space(k);
		if (k->s >= k->end)
			return herald_errf(x->e, EX_DATAERR, x->file, c->line,
			    "unterminated %s '%s': no '%s'", c->kind ==
			    K_LIQUID ? "tag" : "shortcode", c->name, close);
		if ((size_t)(k->end - k->s) >= cl &&
		    memcmp(k->s, close, cl) == 0)
			return 0;
		if (c->nargs == SC_MAX_ARGS)
			return herald_errf(x->e, EX_DATAERR, x->file, k->line,
			    "more than %d arguments", SC_MAX_ARGS);
		a = k->s;
		if (*k->s != '"' && *k->s != '`' && *k->s != '\'') {
			while (k->s < k->end && !space(*k->s) && *k->s != '='
			    && !((size_t)(k->end - k->s) >= cl &&
			    memcmp(k->s, close, cl) == 0))
				k->s++;
			if (k->s < k->end && *k->s == '=') {
				key = xstrndup(a, (size_t)(k->s - a));
				k->s++;
				a = k->s;
			} else {
				c->args[c->nargs].key = NULL;
				c->args[c->nargs++].val = xstrndup(a,
				    (size_t)(k->s - a));
				continue;
			}
		}
		if (k->s < k->end && (*k->s == '"' || *k->s == '`' ||
		    *k->s == '\'')) {
			val = quoted(k, &ok);
			if (!ok) {
				free(key);
				free(val);
				return herald_errf(x->e, EX_DATAERR, x->file,
				    c->line, "unterminated quoted argument in "
				    "'%s'", c->name);
			}
		} else {
			while (k->s < k->end && !space(*k->s) &&
			    !((size_t)(k->end - k->s) >= cl &&
			    memcmp(k->s, close, cl) == 0))
				k->s++;
			val = xstrndup(a, (size_t)(k->s - a));
		}
		c->args[c->nargs].key = key;
		c->args[c->nargs++].val = val;
	}
}

static bool
name_char(char c)
{
	return !space(c) && c != '>' && c != '%' && c != '}' && c != '{' &&
	    c != '(' && c != '"';
}

/*
 * Find the closing tag of a paired Hugo shortcode after s[from]: the
 * first "{{< /name >}}" or "{{% /name %}}" not matched by a nested
 * opening of the same name.  Returns its offset or -1; *tag_len its size.
 */
static long
find_hugo_close(const char *s, size_t len, size_t from, const char *name,
    size_t *tag_len)
{
	int nest = 0;
	size_t nl = strlen(name);

	for (size_t i = from; i + 4 < len; i++) {
		size_t j;
		bool closing;
		char q;

		if (!(s[i] == '{' && s[i + 1] == '{' && (s[i + 2] == '<' ||
		    s[i + 2] == '%')))
			continue;
		q = s[i + 2];
		j = i + 3;
		while (j < len && space(s[j]))
			j++;
		closing = j < len && s[j] == '/';
		if (closing)
			for (j++; j < len && space(s[j]); j++)
				;
		if (j + nl > len || memcmp(s + j, name, nl) != 0 ||
		    (j + nl < len && name_char(s[j + nl])))
			continue;
		if (!closing) {
			nest++;
			continue;
		}
		if (nest-- > 0)
			continue;
		for (j += nl; j < len && space(s[j]); j++)
			;
		if (j + 3 <= len && s[j] == (q == '<' ? '>' : '%') &&
		    s[j + 1] == '}' && s[j + 2] == '}') {
			*tag_len = j + 3 - i;
			return (long)i;
		}
		return -1;
	}
	return -1;
}

/*
 * Looking for closing tags is linear per opening tag; a post of nothing
 * but opening tags must not make it quadratic without end.
 */
static int
search_budget(struct sx *x, size_t n, int line)
{
	x->searched += n;
	if (x->searched > SC_SEARCH_MAX)
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "too many shortcodes or tags without their closing tag");
	return 0;
}

/* Hugo built-ins that always / never take inner content. */
static bool
always_paired(const char *n)
{
	return strcmp(n, "highlight") == 0 || strcmp(n, "comment") == 0 ||
	    strcmp(n, "details") == 0;
}

static bool
never_paired(const char *n)
{
	static const char *const v[] = {"figure", "youtube", "vimeo",
	    "tweet", "x", "twitter", "instagram", "gist", "ref", "relref",
	    "param", "baseurl", "time", "youtube_simple", "vimeo_simple",
	    "twitter_simple", "instagram_simple", NULL};

	for (size_t i = 0; v[i]; i++)
		if (strcmp(n, v[i]) == 0)
			return true;
	return false;
}

/* A Hugo shortcode at s[i] ("{{<" or "{{%"); *used set on success. */
static int
hugo(struct sx *x, const char *s, size_t len, size_t i, int line,
    struct out *o, size_t *used)
{
	char q = s[i + 2];
	const char close[4] = {q == '<' ? '>' : '%', '}', '}', '\0'};
	struct call c;
	struct cur k = {s + i + 3, s + len, line};
	const char *a;
	size_t n;
	int rc;

	memset(&c, 0, sizeof(c));
	c.kind = K_HUGO;
	c.line = line;
	skip_space(&k);
	/* "{{<" slash-star ... star-slash ">}}" is Hugo's way to show a shortcode */
	if (k.s < k.end && *k.s == '/' && k.s + 1 < k.end && k.s[1] == '*') {
		const char *end = NULL;
		char tail[6] = {'*', '/', close[0], '}', '}', '\0'};

		for (const char *p = k.s; p + 5 <= k.end; p++)
			if (memcmp(p, tail, 5) == 0) {
				end = p;
				break;
			}
		if (end == NULL)
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "unterminated shortcode: '{{%c/*' without '%s'",
			    q, tail);
		out_put(o, s + i, 3, line);
		out_put(o, k.s + 2, (size_t)(end - k.s - 2), line);
		out_put(o, close, 3, line);
		*used = (size_t)(end + 5 - (s + i));
		return 0;
	}
	if (k.s < k.end && *k.s == '/') {
		a = ++k.s;
		while (k.s < k.end && name_char(*k.s))
			k.s++;
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "closing shortcode '/%.*s' without an opening one",
		    (int)(k.s - a > 60 ? 60 : k.s - a), a);
	}
	a = k.s;
	while (k.s < k.end && name_char(*k.s))
		k.s++;
	n = (size_t)(k.s - a);
	if (n == 0 || n >= sizeof(c.name))
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "empty or overlong shortcode name after '{{%c'", q);
	memcpy(c.name, a, n);
	c.name[n] = '\0';
	if ((rc = parse_args(x, &c, &k, close)) != 0) {
		if (strstr(x->e->msg, "unterminated") != NULL)
			rc = herald_errf(x->e, EX_DATAERR, x->file, line,
			    "unterminated shortcode: '{{%c %s' without '%s'",
			    q, c.name, close);
		call_free(&c);
		return rc;
	}
	/* {{< name />}}: self-closing */
	if (c.nargs > 0 && c.args[c.nargs - 1].key == NULL &&
	    strcmp(c.args[c.nargs - 1].val, "/") == 0)
		free(c.args[--c.nargs].val);
	else if (c.nargs > 0 && c.args[c.nargs - 1].key == NULL) {
		char *v = c.args[c.nargs - 1].val;
		size_t vl = strlen(v);
		if (vl > 0 && v[vl - 1] == '/' && strncmp(v, "http", 4) != 0)
			v[vl - 1] = '\0';
	}
	*used = (size_t)(k.s + 3 - (s + i));
	if (!never_paired(c.name)) {
		size_t tl = 0;
		long cl;

		if ((rc = search_budget(x, len - i, line)) != 0) {
			call_free(&c);
			return rc;
		}
		cl = find_hugo_close(s, len, i + *used, c.name, &tl);

		if (cl >= 0) {
			c.paired = true;
			c.inner = s + i + *used;
			c.inner_len = (size_t)cl - (i + *used);
			c.inner_line = k.line;
			*used = (size_t)cl + tl - i;
		} else if (always_paired(c.name) &&
		    strcmp(c.name, "details") != 0) {
			call_free(&c);
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode '%s' needs its closing '{{%c /%s %s'",
			    c.name, q, c.name, close);
		}
	}
	rc = run_call(x, &c, o);
	call_free(&c);
	return rc;
}

/* ---- Liquid, kramdown, Zola ---- */

/* Find "{%-? end -?%}"-style tag named want after from; -1 if none. */
static long
find_liquid_end(const char *s, size_t len, size_t from, const char *open,
    const char *want, size_t *tag_len)
{
	int nest = 0;
	size_t wl = strlen(want), ol = open ? strlen(open) : 0;

	for (size_t i = from; i + 4 < len; i++) {
		size_t j;

		if (!(s[i] == '{' && s[i + 1] == '%'))
			continue;
		j = i + 2;
		if (j < len && s[j] == '-')
			j++;
		while (j < len && space(s[j]))
			j++;
		if (open && j + ol <= len && memcmp(s + j, open, ol) == 0 &&
		    (j + ol == len || !name_char(s[j + ol]) || s[j + ol] == '(')) {
			nest++;
			continue;
		}
		if (j + wl > len || memcmp(s + j, want, wl) != 0 ||
		    (j + wl < len && name_char(s[j + wl])))
			continue;
		if (nest-- > 0)
			continue;
		for (j += wl; j < len && space(s[j]); j++)
			;
		if (j < len && s[j] == '-')
			j++;
		if (j + 2 <= len && s[j] == '%' && s[j + 1] == '}') {
			*tag_len = j + 2 - i;
			return (long)i;
		}
	}
	return -1;
}

/* Zola arguments: name(key=value, ...) with k->s just past '('. */
static int
zola_args(struct sx *x, struct call *c, struct cur *k)
{
	for (;;) {
		const char *a;
		char *key;
		bool ok = true;

		skip_space(k);
		if (k->s < k->end && *k->s == ')') {
			k->s++;
			return 0;
		}
		if (c->nargs == SC_MAX_ARGS)
			return herald_errf(x->e, EX_DATAERR, x->file, k->line,
			    "more than %d arguments", SC_MAX_ARGS);
		a = k->s;
		while (k->s < k->end && (name_char(*k->s) && *k->s != '=' &&
		    *k->s != ',' && *k->s != ')'))
			k->s++;
		if (k->s == a || k->s >= k->end || *k->s != '=')
			return herald_errf(x->e, EX_DATAERR, x->file, k->line,
			    "invalid arguments to shortcode '%s' (want "
			    "name(key=value, ...))", c->name);
		key = xstrndup(a, (size_t)(k->s - a));
		k->s++;
		skip_space(k);
		if (k->s < k->end && (*k->s == '"' || *k->s == '\'' ||
		    *k->s == '`'))
			c->args[c->nargs].val = quoted(k, &ok);
		else {
			int depth = 0;
			a = k->s;
			while (k->s < k->end && (depth > 0 || (*k->s != ',' &&
			    *k->s != ')')) && *k->s != '\n') {
				depth += *k->s == '[';
				depth -= *k->s == ']';
				k->s++;
			}
			c->args[c->nargs].val = xstrndup(a, (size_t)(k->s - a));
		}
		c->args[c->nargs++].key = key;
		if (!ok)
			return herald_errf(x->e, EX_DATAERR, x->file, c->line,
			    "unterminated quoted argument in '%s'", c->name);
		skip_space(k);
		if (k->s < k->end && *k->s == ',')
			k->s++;
		else if (!(k->s < k->end && *k->s == ')'))
			return herald_errf(x->e, EX_DATAERR, x->file, k->line,
			    "expected ',' or ')' in shortcode '%s'", c->name);
	}
}

/* Liquid's value of "page.x" / "site.x" / a "string" into out. */
static int
liquid_value(struct sx *x, const char *expr, size_t n, int line,
    struct hbuf *out)
{
	char name[128];
	const struct ynode *v = NULL;
	const char *base = x->cfg ? x->cfg->site_base_url : NULL;

	if (n >= 2 && (expr[0] == '"' || expr[0] == '\'') &&
	    expr[n - 1] == expr[0]) {
		hbuf_put(out, expr + 1, n - 2);
		return 0;
	}
	if (n >= sizeof(name))
		goto unknown;
	memcpy(name, expr, n);
	name[n] = '\0';
	if (strncmp(name, "page.", 5) == 0) {
		v = lookup(x->front, name + 5);
		if (v == NULL && strcmp(name, "page.date") == 0)
			goto unknown;
	} else if (strncmp(name, "site.", 5) == 0) {
		const char *k = name + 5;
		const char *host = base ? strstr(base, "://") : NULL;
		const char *slash = host ? strchr(host + 3, '/') : NULL;

		if (strcmp(k, "url") == 0 && base) {
			/* site.url is scheme and host, site.baseurl the path */
			hbuf_put(out, base, slash ? (size_t)(slash - base) :
			    strlen(base));
			return 0;
		}
		if (strcmp(k, "baseurl") == 0 && base) {
			if (slash)
				hbuf_puts(out, slash);
			return 0;
		}
		if (strcmp(k, "title") == 0 && x->cfg && x->cfg->site_title) {
			hbuf_puts(out, x->cfg->site_title);
			return 0;
		}
		if (x->cfg != NULL)
			v = lookup(x->cfg->site_params, k);
	}
	if (v != NULL && node_text(v, out))
		return 0;
unknown:
	if (strncmp(expr, "page.", 5) != 0 && strncmp(expr, "site.", 5) != 0)
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "unknown Liquid value '{{ %.*s }}': herald fills page.* "
		    "(front matter) and site.* (herald.yml); if it is meant "
		    "as text, put it in `code` or write \\{{",
		    (int)(n > 60 ? 60 : n), expr);
	return herald_errf(x->e, EX_DATAERR, x->file, line,
	    "unknown Liquid value '{{ %.*s }}' (page.* reads the front "
	    "matter, site.* site.params in herald.yml)", (int)(n > 60 ? 60 : n),
	    expr);
}

/* {{ ... }}: Liquid output or a Zola inline shortcode. */
static int
curly(struct sx *x, const char *s, size_t len, size_t i, int line,
    struct out *o, size_t *used)
{
	const char *a = s + i + 2, *end = NULL, *b, *p;
	struct hbuf val = HBUF_INIT;
	int rc;

	for (p = a; p + 1 < s + len; p++) {
		if (p[0] == '}' && p[1] == '}') {
			end = p;
			break;
		}
		if (p[0] == '\n' && p + 1 < s + len && p[1] == '\n')
			break;
	}
	if (end == NULL)
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "'{{' without '}}': template syntax cannot reach a mail "
		    "(put it in `code` or escape it as \\{{)");
	*used = (size_t)(end + 2 - (s + i));
	if (a < end && *a == '-')
		a++;
	b = end;
	if (b > a && b[-1] == '-')
		b--;
	while (a < b && space(*a))
		a++;
	while (b > a && space(b[-1]))
		b--;
	/* Zola: {{ name(args) }} */
	for (p = a; p < b && (name_char(*p) && *p != '.' && *p != '|'); p++)
		;
	if (p > a && p < b && *p == '(') {
		struct call c;
		struct cur k = {p + 1, b, line};

		memset(&c, 0, sizeof(c));
		c.kind = K_ZOLA;
		c.line = line;
		if ((size_t)(p - a) >= sizeof(c.name))
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "overlong shortcode name");
		memcpy(c.name, a, (size_t)(p - a));
		if ((rc = zola_args(x, &c, &k)) == 0)
			rc = run_call(x, &c, o);
		call_free(&c);
		return rc;
	}
	/* Liquid: value [| filter ...] */
	{
		const char *bar = memchr(a, '|', (size_t)(b - a));
		const char *ve = bar ? bar : b;
		bool url = false;

		while (ve > a && space(ve[-1]))
			ve--;
		for (const char *f = bar; f != NULL && f < b; ) {
			const char *fe, *fa = f + 1;
			while (fa < b && space(*fa))
				fa++;
			fe = memchr(fa, '|', (size_t)(b - fa));
			if (fe == NULL)
				fe = b;
			if ((size_t)(fe - fa) >= 12 && (memcmp(fa,
			    "relative_url", 12) == 0 || memcmp(fa,
			    "absolute_url", 12) == 0))
				url = true;
			else if (!((size_t)(fe - fa) >= 6 &&
			    memcmp(fa, "escape", 6) == 0) &&
			    !((size_t)(fe - fa) >= 5 && memcmp(fa, "strip", 5)
			    == 0)) {
				return herald_errf(x->e, EX_DATAERR, x->file,
				    line, "unsupported Liquid filter in "
				    "'{{ %.*s }}'", (int)(b - a > 60 ? 60 :
				    b - a), a);
			}
			f = fe < b ? fe : NULL;
		}
		if (a == ve || (rc = liquid_value(x, a, (size_t)(ve - a), line,
		    &val)) != 0) {
			hbuf_free(&val);
			if (a == ve)
				return herald_errf(x->e, EX_DATAERR, x->file,
				    line, "empty '{{ }}'");
			return rc;
		}
		if (url && x->cfg && x->cfg->site_base_url &&
		    strstr(hbuf_cstr(&val), "://") == NULL) {
			out_puts(o, x->cfg->site_base_url, line);
			if (val.len > 0 && val.data[0] != '/')
				out_puts(o, "/", line);
		}
		out_put(o, hbuf_cstr(&val), val.len, line);
		hbuf_free(&val);
	}
	return 0;
}

/* {% ... %}: Liquid tags and Zola block shortcodes. */
static int
tag(struct sx *x, const char *s, size_t len, size_t i, int line,
    struct out *o, size_t *used)
{
	struct call c;
	struct cur k = {s + i + 2, s + len, line};
	const char *a;
	size_t n, tl = 0, after;
	long cl;
	int rc = 0;
	bool include;

	memset(&c, 0, sizeof(c));
	c.kind = K_LIQUID;
	c.line = line;
	if (k.s < k.end && *k.s == '-')
		k.s++;
	skip_space(&k);
	a = k.s;
	while (k.s < k.end && name_char(*k.s))
		k.s++;
	n = (size_t)(k.s - a);
	if (n == 0 || n >= sizeof(c.name))
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "'{%%' without a tag name: template syntax cannot reach a "
		    "mail (put it in `code`)");
	memcpy(c.name, a, n);
	if (k.s < k.end && *k.s == '(') {
		/* Zola: {% name(args) %}body{% end %} */
		c.kind = K_ZOLA;
		k.s++;
		if ((rc = zola_args(x, &c, &k)) != 0)
			goto out;
		skip_space(&k);
		if (k.s < k.end && *k.s == '-')
			k.s++;
		if (k.end - k.s < 2 || k.s[0] != '%' || k.s[1] != '}') {
			rc = herald_errf(x->e, EX_DATAERR, x->file, line,
			    "unterminated shortcode '%s': no '%%}'", c.name);
			goto out;
		}
		after = (size_t)(k.s + 2 - s);
		if ((rc = search_budget(x, len - after, line)) != 0)
			goto out;
		cl = find_liquid_end(s, len, after, NULL, "end", &tl);
		if (cl < 0) {
			rc = herald_errf(x->e, EX_DATAERR, x->file, line,
			    "shortcode '%s' has no '{%% end %%}'", c.name);
			goto out;
		}
		c.paired = true;
		c.inner = s + after;
		c.inner_len = (size_t)cl - after;
		c.inner_line = k.line;
		*used = (size_t)cl + tl - i;
		rc = run_call(x, &c, o);
		goto out;
	}
	include = strcmp(c.name, "include") == 0;
	if (include) {
		skip_space(&k);
		a = k.s;
		while (k.s < k.end && name_char(*k.s))
			k.s++;
		n = (size_t)(k.s - a);
		if (n > 5 && memcmp(a + n - 5, ".html", 5) == 0)
			n -= 5;
		else if (n > 3 && memcmp(a + n - 3, ".md", 3) == 0)
			n -= 3;
		if (n == 0 || n >= sizeof(c.name) || memchr(a, '/', n)) {
			rc = herald_errf(x->e, EX_DATAERR, x->file, line,
			    "'{%% include %%}' needs a plain include name");
			goto out;
		}
		memset(c.name, 0, sizeof(c.name));
		memcpy(c.name, a, n);
	}
	if ((rc = parse_args(x, &c, &k, "%}")) != 0)
		goto out;
	/* parse_args stops at "%}"; a "-" before it trims whitespace */
	if (c.nargs > 0 && c.args[c.nargs - 1].key == NULL &&
	    strcmp(c.args[c.nargs - 1].val, "-") == 0)
		free(c.args[--c.nargs].val);
	after = (size_t)(k.s + 2 - s);
	*used = after - i;
	if (include) {
		rc = run_call(x, &c, o);
		goto out;
	}
	if (strcmp(c.name, "raw") == 0 || strcmp(c.name, "highlight") == 0 ||
	    strcmp(c.name, "comment") == 0) {
		char endname[32];

		snprintf(endname, sizeof(endname), "end%.20s", c.name);
		if ((rc = search_budget(x, len - after, line)) != 0)
			goto out;
		cl = find_liquid_end(s, len, after, c.name, endname, &tl);
		if (cl < 0) {
			rc = herald_errf(x->e, EX_DATAERR, x->file, line,
			    "'{%% %s %%}' has no '{%% %s %%}'", c.name,
			    endname);
			goto out;
		}
		*used = (size_t)cl + tl - i;
		if (c.name[0] == 'r')
			out_put(o, s + after, (size_t)cl - after, line);
		else if (c.name[0] == 'h') {
			struct out tmp = {HBUF_INIT, NULL, 0, 0};
			int l2 = line;
			put_code(&tmp, s + after, (size_t)cl - after, &l2);
			code_block(o, positional(&c, 0), hbuf_cstr(&tmp.b),
			    tmp.b.len, line);
			hbuf_free(&tmp.b);
			free(tmp.map);
		}
		/* the lines of a dropped or rewritten block keep their count
		 * through line_map, so nothing else to do */
		goto out;
	}
	rc = herald_errf(x->e, EX_DATAERR, x->file, line,
	    "unsupported Liquid tag '{%% %s %%}': template syntax cannot reach "
	    "a mail (herald knows highlight, raw, comment and include)",
	    c.name);
out:
	call_free(&c);
	return rc;
}

/* kramdown {: ...} {:toc} {::options /} {::comment}..{:/comment} */
static int
kramdown(struct sx *x, const char *s, size_t len, size_t i, int line,
    struct out *o, size_t *used)
{
	const char *nl = memchr(s + i, '\n', len - i);
	const char *e = nl ? nl : s + len;
	const char *close = memchr(s + i, '}', (size_t)(e - (s + i)));

	if (close == NULL)
		return herald_errf(x->e, EX_DATAERR, x->file, line,
		    "kramdown '{:' without '}' on its line");
	*used = (size_t)(close + 1 - (s + i));
	if (len - i > 10 && memcmp(s + i, "{::comment}", 11) == 0) {
		const char *end = find_mem(s + i, len - i, "{:/comment}", 11);
		if (end == NULL)
			end = find_mem(s + i, len - i, "{:/}", 4);
		if (end == NULL)
			return herald_errf(x->e, EX_DATAERR, x->file, line,
			    "'{::comment}' without '{:/comment}'");
		*used = (size_t)(end - (s + i)) + (end[2] == '/' &&
		    end[3] == '}' ? 4 : 11);
		return 0;
	}
	if (len - i > 8 && memcmp(s + i, "{:toc}", 6) == 0) {
		/* "* TOC" (or "1. TOC") on the line before is kramdown's
		 * placeholder list: gone with it */
		size_t bl = o->b.len;
		if (bl >= 2 && o->b.data[bl - 1] == '\n') {
			size_t st = bl - 1, ll;
			const char *ln;
			while (st > 0 && o->b.data[st - 1] != '\n')
				st--;
			ln = o->b.data + st;
			ll = bl - 1 - st;
			if ((ll == 5 && (memcmp(ln, "* TOC", 5) == 0 ||
			    memcmp(ln, "- TOC", 5) == 0)) || (ll == 6 &&
			    memcmp(ln, "1. TOC", 6) == 0)) {
				o->b.len = st + 1 - 1;
				o->b.data[o->b.len++] = '\n';
				o->b.data[o->b.len] = '\0';
			}
		}
	}
	return 0;
}

/*
 * The length of the code span at s[i] (a backtick run), 0 if none.  A run
 * length that found no closer from p up to e cannot find one from any
 * later q < e either: nocl remembers that, so a paragraph full of lone
 * backticks stays linear.
 */
static size_t
code_span(struct sx *x, const char *s, size_t len, size_t i)
{
	size_t run = 0, j;

	while (i + run < len && s[i + run] == '`')
		run++;
	if (run < SC_NOCLOSE && x->nocl_from[run] != NULL &&
	    s + i >= x->nocl_from[run] && s + i < x->nocl_to[run])
		return 0;
	for (j = i + run; j < len; ) {
		size_t r = 0;
		if (s[j] == '\n' && j + 1 < len && s[j + 1] == '\n')
			break;		/* a paragraph ends first */
		while (j + r < len && s[j + r] == '`')
			r++;
		if (r == run)
			return j + run - i;
		j += r ? r : 1;
	}
	if (run < SC_NOCLOSE) {
		x->nocl_from[run] = s + i;
		x->nocl_to[run] = s + j;
	}
	return 0;
}

/* Liquid's {% raw %} / {% endraw %} at s (also with "-"); its length. */
static size_t
raw_tag(const char *s, size_t n)
{
	size_t j = 2;

	if (n < 9 || s[0] != '{' || s[1] != '%')
		return 0;
	if (s[j] == '-')
		j++;
	while (j < n && s[j] == ' ')
		j++;
	if (j + 3 <= n && memcmp(s + j, "raw", 3) == 0)
		j += 3;
	else if (j + 6 <= n && memcmp(s + j, "endraw", 6) == 0)
		j += 6;
	else
		return 0;
	while (j < n && s[j] == ' ')
		j++;
	if (j < n && s[j] == '-')
		j++;
	return j + 2 <= n && s[j] == '%' && s[j + 1] == '}' ? j + 2 : 0;
}

/*
 * Copy code as written, but show Hugo's escaped shortcodes unescaped, and
 * drop Liquid's {% raw %} markers (Jekyll runs Liquid over code too).
 */
static void
put_code(struct out *o, const char *s, size_t n, int *line)
{
	for (size_t i = 0; i < n; ) {
		size_t r = raw_tag(s + i, n - i);

		if (r > 0) {
			i += r;
			continue;
		}
		if (n - i >= 5 && s[i] == '{' && s[i + 1] == '{' &&
		    (s[i + 2] == '<' || s[i + 2] == '%') && s[i + 3] == '/' &&
		    s[i + 4] == '*') {
			out_put(o, s + i, 3, *line);
			i += 5;
			continue;
		}
		if (n - i >= 5 && s[i] == '*' && s[i + 1] == '/' &&
		    (s[i + 2] == '>' || s[i + 2] == '%') && s[i + 3] == '}' &&
		    s[i + 4] == '}') {
			i += 2;
			continue;
		}
		if (s[i] == '\n')
			(*line)++;
		out_put(o, s + i, 1, *line);
		i++;
	}
}

static int
scan(struct sx *x, const char *s, size_t len, int line, struct out *o)
{
	size_t i = 0;
	int rc;

	while (i < len) {
		size_t used = 0;
		bool bol = i == 0 || s[i - 1] == '\n';

		if (bol && is_code_line(x, line)) {
			const char *nl = memchr(s + i, '\n', len - i);
			size_t n = nl ? (size_t)(nl - (s + i)) + 1 : len - i;
			put_code(o, s + i, n, &line);
			i += n;
			continue;
		}
		if (s[i] == '\n') {
			line++;
			out_put(o, "\n", 1, line);
			i++;
			continue;
		}
		if (s[i] == '\\' && i + 1 < len && s[i + 1] != '\n') {
			out_put(o, s + i, 2, line);
			i += 2;
			continue;
		}
		if (s[i] == '`' && (used = code_span(x, s, len, i)) > 0) {
			put_code(o, s + i, used, &line);
			i += used;
			continue;
		}
		if (s[i] == '`') {
			while (i < len && s[i] == '`')
				out_put(o, s + i++, 1, line);
			continue;
		}
		rc = 0;
		if (len - i >= 3 && s[i] == '{' && s[i + 1] == '{' &&
		    (s[i + 2] == '<' || s[i + 2] == '%'))
			rc = hugo(x, s, len, i, line, o, &used);
		else if (len - i >= 2 && s[i] == '{' && s[i + 1] == '{')
			rc = curly(x, s, len, i, line, o, &used);
		else if (len - i >= 2 && s[i] == '{' && s[i + 1] == '%')
			rc = tag(x, s, len, i, line, o, &used);
		else if (len - i >= 3 && s[i] == '{' && s[i + 1] == ':' &&
		    (s[i + 2] == ':' || s[i + 2] == '.' || s[i + 2] == '#' ||
		    s[i + 2] == ' ' || s[i + 2] == '/' || (len - i >= 6 &&
		    memcmp(s + i, "{:toc}", 6) == 0)))
			rc = kramdown(x, s, len, i, line, o, &used);
		else {
			out_put(o, s + i, 1, line);
			i++;
			continue;
		}
		if (rc != 0)
			return rc;
		line += (int)count_newlines(s + i, used);
		i += used;
		/* keep one output line per input line where we can: lines a
		 * construct used up come back as empty lines only when it
		 * stood alone on them (never inside a paragraph) */
	}
	return 0;
}

int
herald_shortcodes_expand(const char *file, const char *body, size_t len,
    int first_line, const struct ynode *front,
    const struct herald_config *cfg, struct herald_expanded *out,
    struct herald_err *e)
{
	struct sx x = {0};
	struct out o = {HBUF_INIT, NULL, 0, 0};
	int rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->marker, sizeof(out->marker), "herald-sc-%016llx-",
	    (unsigned long long)hash64(body, len));
	x.file = file;
	x.cfg = cfg;
	x.front = front;
	x.e = e;
	x.first_line = first_line;
	x.x = out;
	x.code = herald_md_code_lines(body, len, &x.ncode);
	hbuf_put(&o.b, "", 0);
	out_line(&o, first_line);
	rc = scan(&x, body, len, first_line, &o);
	free(x.code);
	if (rc != 0) {
		hbuf_free(&o.b);
		free(o.map);
		herald_expanded_free(out);
		return rc;
	}
	out->len = o.b.len;
	out->body = hbuf_detach(&o.b);
	out->line_map = o.map;
	out->nlines = o.n;
	return 0;
}

void
herald_expanded_free(struct herald_expanded *x)
{
	if (x == NULL)
		return;
	free(x->body);
	free(x->line_map);
	for (size_t i = 0; i < x->nsnips; i++) {
		free(x->snips[i].html);
		free(x->snips[i].text);
	}
	free(x->snips);
	memset(x, 0, sizeof(*x));
}
