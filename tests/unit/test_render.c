/*
 * test_render.c - the Markdown renderers.  Each tests/data/render/NAME.md is
 * rendered against base URL https://blog.example.org and compared with
 * NAME.html and NAME.txt (HERALD_UPDATE=1 rewrites those from the output,
 * for review with git diff).  Every text part is also checked for the
 * properties mutt readers rely on, and the reference post in
 * ../shared/posts renders without leftover Markdown, as in
 * reference-post.html and reference-post.txt.
 */
#include "harness.h"
#include "render.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define BASE "https://blog.example.org"

static struct herald_config cfg = {
	.site_base_url = BASE,
};

static void
fake_post(struct herald_post *p, const char *path, const char *body,
    int body_line)
{
	memset(p, 0, sizeof(*p));
	p->path = (char *)path;
	p->title = (char *)"Test";
	p->year = 2021, p->month = 4, p->day = 26;
	p->timezone = (char *)"America/New_York";
	p->body = (char *)body;
	p->body_len = strlen(body);
	p->body_line = body_line;
}

static size_t
columns(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

static bool
double_space(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == ' ' && s[i + 1] == ' ')
			return true;
	return false;
}

/* Lines end in \n, carry no trailing blanks, and fit 72 columns unless
 * they are one unbreakable word (or a table row / code line). */
static void
check_text_shape(const char *name, const char *txt)
{
	const char *p = txt;

	OK(*txt == '\0' || txt[strlen(txt) - 1] == '\n', "%s: final newline",
	    name);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		OK(n == 0 || (p[n - 1] != ' ' && p[n - 1] != '\t'),
		    "%s: trailing blank in \"%.*s\"", name, (int)n, p);
		OK(memchr(p, '\r', n) == NULL, "%s: CR in text", name);
		if (columns(p, n) > 72) {
			/* allowed only without a place to break */
			const char *sp = memchr(p, ' ', n);
			bool code = n > 4 && strncmp(p, "    ", 4) == 0;
			bool ok = sp == NULL || code || strchr(p, '[') ||
			    double_space(p, n);

			OK(ok, "%s: line over 72 columns: \"%.*s\"", name,
			    (int)n, p);
		}
		p += n + (nl != NULL);
	}
}

static char *
slurp(const char *path)
{
	struct hbuf b = HBUF_INIT;
	struct herald_err e = {0};

	if (read_file(path, &b, &e) != 0) {
		hbuf_free(&b);
		return NULL;
	}
	return b.data ? hbuf_detach(&b) : xstrdup("");
}

static void
compare_or_update(const char *path, const char *got)
{
	char *want = slurp(path);
	struct herald_err e = {0};

	if (getenv("HERALD_UPDATE") != NULL) {
		if (want == NULL || strcmp(want, got) != 0)
			OK(write_file_atomic(path, got, strlen(got), &e) == 0,
			    "%s: %s", path, e.msg);
	} else {
		OK(want != NULL, "%s missing (HERALD_UPDATE=1 creates it)",
		    path);
		if (want != NULL)
			STR_EQ(got, want, "%s", path);
	}
	free(want);
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_data_cases(void)
{
	const char *dir = "tests/data/render";
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	OK(d != NULL, "cannot open %s (run from the repo root)", dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!has_suffix(de->d_name, ".md"))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrndup(de->d_name, strlen(de->d_name) - 3);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	OK(n >= 14, "only %zu cases in %s", n, dir);
	for (size_t i = 0; i < n; i++) {
		char *md = xasprintf("%s/%s.md", dir, names[i]);
		char *html = xasprintf("%s/%s.html", dir, names[i]);
		char *txt = xasprintf("%s/%s.txt", dir, names[i]);
		char *body = slurp(md);
		struct herald_post post;
		struct herald_doc *doc = NULL;
		struct herald_err e = {0};
		struct hbuf h = HBUF_INIT, t = HBUF_INIT;

		OK(body != NULL, "%s unreadable", md);
		if (body == NULL)
			goto next;
		fake_post(&post, md, body, 1);
		INT_EQ(herald_doc_parse(&post, &cfg, &doc, &e), 0, "%s: %s",
		    md, e.msg);
		if (doc == NULL)
			goto next;
		herald_render_html(doc, NULL, &h);
		herald_render_text(doc, NULL, &t);
		compare_or_update(html, hbuf_cstr(&h));
		compare_or_update(txt, hbuf_cstr(&t));
		check_text_shape(md, hbuf_cstr(&t));
		OK(strstr(hbuf_cstr(&h), "javascript:") == NULL,
		    "%s: javascript: URL in HTML", md);
		herald_doc_free(doc);
next:
		hbuf_free(&h);
		hbuf_free(&t);
		free(body);
		free(md);
		free(html);
		free(txt);
		free(names[i]);
	}
	free(names);
}

static void
test_links(void)
{
	const char *body =
	    "[a](/x) [b](y.html) [c](<https://e.org/a b>) [a again](/x)\n"
	    "![i](img/p.png) [m](mailto:me@example.org) [f](#top)\n"
	    "[bad](javascript:alert(1)) [bad2](JaVaScRiPt:x) <https://auto.example/>\n";
	struct herald_post post;
	struct herald_doc *doc = NULL;
	struct herald_err e = {0};
	static const char *const want[] = {
		BASE "/x", BASE "/y.html", "https://e.org/a%20b",
		BASE "/img/p.png", "mailto:me@example.org", "#top",
		"https://auto.example/",
	};

	fake_post(&post, "links.md", body, 1);
	INT_EQ(herald_doc_parse(&post, &cfg, &doc, &e), 0, "%s", e.msg);
	if (doc == NULL)
		return;
	OK(herald_doc_nlinks(doc) == 7, "nlinks %zu", herald_doc_nlinks(doc));
	for (size_t i = 0, j = 0; i < herald_doc_nlinks(doc); i++) {
		const char *l = herald_doc_link(doc, i);

		OK(strstr(l, "javascript") == NULL, "dangerous link %s", l);
		if (j < sizeof(want) / sizeof(want[0]) &&
		    strcmp(l, want[j]) == 0)
			j++;
		if (i == herald_doc_nlinks(doc) - 1)
			INT_EQ(j, sizeof(want) / sizeof(want[0]),
			    "links in order");
	}
	OK(herald_doc_link(doc, herald_doc_nlinks(doc)) == NULL, "past end");
	herald_doc_free(doc);
}

/* Times are found only once sessions.c finds them; then they are replaced. */
static void
test_substitution(void)
{
	const char *body =
	    "# Sessions\n\n"
	    "We meet {{< time \"2021-04-28T07:00\" \"America/New_York\" >}} "
	    "and `Wed at 07:00 ET` stays code.\n\n"
	    "| When |\n| --- |\n| [Fri at 07:00 ET](https://x.example/) |\n";
	static const char *const html[] = { "<time>H0</time>", "<b>H1</b>" };
	static const char *const text[] = { "T zero", "T one" };
	struct herald_post post;
	struct herald_doc *doc = NULL;
	struct herald_err e = {0};
	struct hbuf h = HBUF_INIT, t = HBUF_INIT;
	size_t n;

	fake_post(&post, "times.md", body, 5);
	INT_EQ(herald_doc_parse(&post, &cfg, &doc, &e), 0, "%s", e.msg);
	if (doc == NULL)
		return;
	n = herald_doc_ntimes(doc);
	OK(n <= 2, "code must not be scanned: %zu times", n);
	if (n == 2) {
		INT_EQ(herald_doc_time(doc, 0)->line, 7, "line of time 0");
		INT_EQ(herald_doc_time(doc, 1)->line, 11, "line of time 1");
		herald_render_html(doc, html, &h);
		herald_render_text(doc, text, &t);
		/* a time is kept on one line on a phone (issue 12) */
		OK(strstr(h.data, "We meet <span style=\"white-space:nowrap;\">"
		    "<time>H0</time></span> and") != NULL,
		    "%s", h.data);
		OK(strstr(h.data, ">Wed at 07:00 ET</code>") != NULL, "%s",
		    h.data);
		OK(strstr(h.data, "<b>H1</b></span></a>") != NULL, "%s", h.data);
		OK(strstr(t.data, "We meet T zero and") != NULL, "%s", t.data);
		OK(strstr(t.data, "T one [1]") != NULL, "%s", t.data);
	}
	herald_doc_free(doc);
	hbuf_free(&h);
	hbuf_free(&t);
}

static char *
shared_post(void)
{
	const char *shared = getenv("HERALD_SHARED");
	char *dir = xasprintf("%s/posts", shared ? shared : "../shared");
	DIR *d = opendir(dir);

	/* a worktree sits one level deeper than the main checkout */
	if (d == NULL) {
		free(dir);
		dir = xstrdup("../../shared/posts");
		d = opendir(dir);
	}
	struct dirent *de;
	char *path = NULL;

	while (d != NULL && (de = readdir(d)) != NULL)
		if (has_suffix(de->d_name, ".md") && path == NULL)
			path = xasprintf("%s/%s", dir, de->d_name);
	if (d)
		closedir(d);
	free(dir);
	return path;
}

/* The reference post, front matter stripped and {{< baseurl >}} expanded. */
static void
test_reference_post(void)
{
	char *path = shared_post(), *raw, *body, *p;
	struct hbuf b = HBUF_INIT, h = HBUF_INIT, t = HBUF_INIT;
	struct herald_post post;
	struct herald_doc *doc = NULL;
	struct herald_err e = {0};
	int line = 1;
	static const char *const refs[] = {
		"https://everytimezone.com/s/2e8907b6",
		"https://everytimezone.com/s/6815593b",
		"https://github.com/rust-lang/wg-async-foundations/pull/173",
		"https://rust-lang.github.io/wg-async-foundations/vision.html#-the-vision",
		"https://blog.rust-lang.org/2021/03/18/async-vision-doc.html",
		"https://github.com/rylev/",
	};

	if (path == NULL) {
		fprintf(stderr, "reference post absent: skipped\n");
		return;
	}
	raw = slurp(path);
	OK(raw != NULL, "%s unreadable", path);
	if (raw == NULL)
		goto out;
	body = raw;
	if (strncmp(body, "---\n", 4) == 0 && (p = strstr(body + 4, "\n---\n"))) {
		for (char *q = body; q < p + 5; q++)
			line += *q == '\n';
		body = p + 5;
	}
	for (p = body; *p; ) {
		char *sc = strstr(p, "{{< baseurl >}}");

		if (sc == NULL) {
			hbuf_puts(&b, p);
			break;
		}
		hbuf_put(&b, p, (size_t)(sc - p));
		hbuf_puts(&b, BASE);
		p = sc + strlen("{{< baseurl >}}");
	}
	fake_post(&post, path, hbuf_cstr(&b), line);
	post.timezone = NULL;	/* the post has no timezone: */
	INT_EQ(herald_doc_parse(&post, &cfg, &doc, &e), 0, "%s", e.msg);
	if (doc == NULL)
		goto out;
	herald_render_html(doc, NULL, &h);
	herald_render_text(doc, NULL, &t);
	check_text_shape(path, hbuf_cstr(&t));
	for (int pass = 0; pass < 2; pass++) {
		const char *s = pass ? hbuf_cstr(&t) : hbuf_cstr(&h);

		OK(strstr(s, "][") == NULL, "raw reference link left: %s", s);
		OK(strstr(s, "]: ") == NULL, "reference definition left");
		OK(strstr(s, "{{<") == NULL, "shortcode left");
	}
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		char *a = xasprintf("<a href=\"%s\"", refs[i]);
		char *ref = xasprintf("] %s\n", refs[i]);
		const char *r = strstr(hbuf_cstr(&t), ref);

		OK(strstr(hbuf_cstr(&h), a) != NULL, "no %s in HTML", a);
		OK(r != NULL && r > hbuf_cstr(&t) && r[-1] >= '1' &&
		    r[-1] <= '9', "no [n] %s in text", refs[i]);
		free(a);
		free(ref);
	}
	OK(strstr(hbuf_cstr(&h), "<table") != NULL, "table in HTML");
	OK(strstr(hbuf_cstr(&h), "<th ") != NULL, "table header in HTML");
	OK(strstr(hbuf_cstr(&h), "<blockquote") != NULL, "quote in HTML");
	OK(strstr(hbuf_cstr(&t), "\nWhen ") != NULL &&
	    strstr(hbuf_cstr(&t), "\n----") != NULL, "table in text: %s",
	    hbuf_cstr(&t));
	OK(strstr(hbuf_cstr(&t), "\n> We are launching") != NULL,
	    "quote in text");
	OK(strstr(hbuf_cstr(&t), "\nLinks:\n[1] ") != NULL, "links list");
	/* golden files: the post renders as its blog would */
	compare_or_update("tests/data/render/reference-post.html",
	    hbuf_cstr(&h));
	compare_or_update("tests/data/render/reference-post.txt",
	    hbuf_cstr(&t));
	if (getenv("HERALD_SHOW") != NULL)
		fprintf(stderr, "%s\n----\n%s", hbuf_cstr(&h), hbuf_cstr(&t));
	herald_doc_free(doc);
out:
	hbuf_free(&b);
	hbuf_free(&h);
	hbuf_free(&t);
	free(raw);
	free(path);
}

static void
test_empty(void)
{
	struct herald_post post;
	struct herald_doc *doc = NULL;
	struct herald_err e = {0};
	struct hbuf h = HBUF_INIT, t = HBUF_INIT;

	fake_post(&post, "empty.md", "", 1);
	post.body = NULL;
	INT_EQ(herald_doc_parse(&post, NULL, &doc, &e), 0, "%s", e.msg);
	herald_render_html(doc, NULL, &h);
	herald_render_text(doc, NULL, &t);
	INT_EQ(h.len, 0, "empty HTML");
	INT_EQ(t.len, 0, "empty text");
	INT_EQ(herald_doc_ntimes(doc), 0, "no times");
	herald_doc_free(doc);
	herald_doc_free(NULL);
}

/*
 * Site shortcode output (shortcode.c leaves "<!--" marker N "-->" in the
 * body): the HTML part gets snippet N's HTML, the text part its text;
 * any other comment, or an index past the end, stays dropped.
 */
static void
test_snippets(void)
{
	struct herald_post p;
	struct herald_doc *doc = NULL;
	struct herald_err e = {0};
	struct herald_snippet sn[2] = {
		{(char *)"<div>Block &amp; co</div>", (char *)"[Block] one\ntwo"},
		{(char *)"<b>in</b>", (char *)"IN"},
	};
	struct hbuf h = HBUF_INIT, t = HBUF_INIT;
	int rc;

	fake_post(&p, "snip.md", "<!--MK0-->\n\nText and <!--MK1--> inline."
	    "<!--other--><!--MK7-->\n\n<!--MK9-->\n", 4);
	p.snips = sn;
	p.nsnips = 2;
	snprintf(p.marker, sizeof(p.marker), "MK");
	rc = herald_doc_parse(&p, &cfg, &doc, &e);
	INT_EQ(rc, 0, "%s", e.msg);
	if (rc != 0)
		return;
	herald_render_html(doc, NULL, &h);
	herald_render_text(doc, NULL, &t);
	OK(strstr(h.data, "<div>Block &amp; co</div>") != NULL, "block html: %s",
	    h.data);
	OK(strstr(h.data, "Text and <b>in</b> inline.</p>") != NULL,
	    "inline html: %s", h.data);
	OK(strstr(h.data, "other") == NULL && strstr(h.data, "MK") == NULL,
	    "other comments dropped: %s", h.data);
	STR_EQ(t.data, "[Block] one\ntwo\n\nText and IN inline.\n", "text");
	OK(strstr(t.data, "MK") == NULL, "no marker in text: %s", t.data);
	hbuf_free(&h);
	hbuf_free(&t);
	herald_doc_free(doc);
}

int
main(void)
{
	test_data_cases();
	test_links();
	test_substitution();
	test_reference_post();
	test_empty();
	test_snippets();
	return harness_done();
}
