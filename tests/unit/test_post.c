/*
 * test_post.c - post loading: front matter, dates, shortcodes, line
 * mapping; one bad post per file in tests/data/post/ (NAME.md beside
 * NAME.err holding "CODE:LINE:message substring"); the example post in
 * doc/examples/ and the reference posts in $HERALD_SHARED/posts/.
 */
#include "post.h"
#include "harness.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/herald-test-post.XXXXXX";
static struct herald_config cfg;

static char *
write_tmp(const char *name, const char *text, size_t len)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	struct herald_err e = {0};

	if (write_file_atomic(path, text, len, &e) != 0)
		fprintf(stderr, "cannot write %s: %s\n", path, e.msg);
	return path;
}

/* Load text as tmpdir/name; returns the code, post filled on success. */
static int
load(const char *name, const char *text, const char *date,
    struct herald_post *p, struct herald_err *e)
{
	char *path = write_tmp(name, text, strlen(text));
	int rc = herald_post_load(path, &cfg, date, p, e);

	unlink(path);
	free(path);
	return rc;
}

static int
count_lines(const char *s, size_t n)
{
	int lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += s[i] == '\n';
	return lines;
}

static void
test_basic(void)
{
	struct herald_post p;
	struct herald_err e = {0};
	const char *text =
	    "---\n"
	    "layout: post\n"
	    "title: \"Office hours: Zoë — live\"\n"
	    "summary: >\n"
	    "  Two sessions\n"
	    "  this week.\n"
	    "timezone: America/New_York\n"
	    "---\n"
	    "\n"
	    "Intro.\n";
	unsigned char h[32];

	INT_EQ(load("2026-11-23-hours.md", text, NULL, &p, &e), 0, "%s", e.msg);
	STR_EQ(p.title, "Office hours: Zoë — live", "title");
	STR_EQ(p.subject, p.title, "subject defaults to title");
	STR_EQ(p.summary, "Two sessions this week.", "folded summary");
	STR_EQ(p.timezone, "America/New_York", "zone");
	STR_EQ(p.slug, "2026-11-23-hours", "slug");
	INT_EQ(p.year, 2026, "year"); INT_EQ(p.month, 11, "month");
	INT_EQ(p.day, 23, "day");
	INT_EQ(p.body_line, 9, "body line");
	STR_EQ(p.body, "\nIntro.\n", "body");
	INT_EQ(p.body_len, strlen(p.body), "len");
	sha256(text, strlen(text), h);
	OK(memcmp(h, p.hash, 32) == 0, "hash of the file");
	herald_post_free(&p);
	herald_post_free(&p);
}

static void
test_dates(void)
{
	struct herald_post p;
	struct herald_err e = {0};

	INT_EQ(load("2021-04-26-x.md", "---\ntitle: T\ndate: 2021-05-01 "
	    "10:00:00 +0000\n---\n", "2020-01-01", &p, &e), 0, "%s", e.msg);
	INT_EQ(p.year * 10000 + p.month * 100 + p.day, 20210501, "date: wins");
	STR_EQ(p.body, "", "empty body");
	INT_EQ(p.body_line, 5, "body line after the last line");
	herald_post_free(&p);

	INT_EQ(load("2021-04-26-x.md", "---\ntitle: T\n---\n", "2020-01-01",
	    &p, &e), 0, "%s", e.msg);
	INT_EQ(p.year * 10000 + p.month * 100 + p.day, 20210426, "file name");
	herald_post_free(&p);

	INT_EQ(load("x.md", "---\ntitle: T\n---\n", "2020-02-29", &p, &e), 0,
	    "%s", e.msg);
	INT_EQ(p.year * 10000 + p.month * 100 + p.day, 20200229, "--date");
	herald_post_free(&p);

	INT_EQ(load("2021-13-01-x.md", "---\ntitle: T\n---\n", NULL, &p, &e),
	    0, "%s", e.msg);
	INT_EQ(p.year, 0, "no date: a bad prefix is not a date");
	herald_post_free(&p);

	INT_EQ(load("x.md", "---\ntitle: T\ndate: 2021-04-26T07:00:00Z\n---\n",
	    NULL, &p, &e), 0, "%s", e.msg);
	INT_EQ(p.day, 26, "ISO date-time");
	herald_post_free(&p);

	INT_EQ(load("x.md", "---\ntitle: T\n---\n", "2021-02-29", &p, &e),
	    EX_USAGE, "bad --date");
}

static void
test_crlf_bom(void)
{
	struct herald_post p;
	struct herald_err e = {0};
	const char *text = "\xef\xbb\xbf---\r\ntitle: Windows\r\n---  \r\n"
	    "\r\nGo to {{< baseurl >}}/a.\r\n";

	INT_EQ(load("w.md", text, NULL, &p, &e), 0, "%s", e.msg);
	STR_EQ(p.title, "Windows", "title");
	STR_EQ(p.body, "\nGo to https://blog.example.org/a.\n", "LF body");
	INT_EQ(p.body_line, 4, "body line");
	herald_post_free(&p);
}

static void
test_shortcodes(void)
{
	struct herald_post p;
	struct herald_err e = {0};
	const char *text =
	    "---\n"
	    "title: Codes\n"
	    "---\n"
	    "[a]({{< baseurl >}}/x) and {{% baseurl %}} and {{<baseurl>}}\n"
	    "`{{< nope >}}` and ``a ` {{< nope >}}`` stay\n"
	    "```sh\n"
	    "echo {{< nope >}}\n"
	    "```\n"
	    "> ~~~~\n"
	    "> {{< nope >}}\n"
	    "> ~~~\n"
	    "> still {{< nope >}}\n"
	    "> ~~~~\n"
	    "At {{< time \"2026-12-01T07:00\" \"America/New_York\" >}} and "
	    "{{% time \"2026-12-02T07:00\" \"UTC\" %}}.\n"
	    "Jekyll: {{ site.url }}{{ site.baseurl }}/y, \\{{ other }}\n"
	    "Escaped \\{{< nope >}} and a lone ` backtick {{< baseurl >}}\n"
	    "no newline at end";

	INT_EQ(load("c.md", text, NULL, &p, &e), 0, "%s:%d: %s", e.file,
	    e.line, e.msg);
	if (p.body == NULL)
		return;
	STR_EQ(p.body,
	    "[a](https://blog.example.org/x) and https://blog.example.org and "
	    "https://blog.example.org\n"
	    "`{{< nope >}}` and ``a ` {{< nope >}}`` stay\n"
	    "```sh\n"
	    "echo {{< nope >}}\n"
	    "```\n"
	    "> ~~~~\n"
	    "> {{< nope >}}\n"
	    "> ~~~\n"
	    "> still {{< nope >}}\n"
	    "> ~~~~\n"
	    "At {{< time \"2026-12-01T07:00\" \"America/New_York\" >}} and "
	    "{{< time \"2026-12-02T07:00\" \"UTC\" >}}.\n"
	    "Jekyll: https://blog.example.org/y, \\{{ other }}\n"
	    "Escaped \\{{< nope >}} and a lone ` backtick "
	    "https://blog.example.org\n"
	    "no newline at end", "expanded");
	INT_EQ(count_lines(p.body, p.body_len), 13, "line count kept");
	INT_EQ(p.body_line, 4, "body line");
	herald_post_free(&p);

	/* a base URL with a path splits for Jekyll */
	free(cfg.site_base_url);
	cfg.site_base_url = xstrdup("https://example.org/blog");
	INT_EQ(load("j.md", "---\ntitle: J\n---\n{{site.url}}|{{ site.baseurl }}"
	    "|{{< baseurl >}}\n", NULL, &p, &e), 0, "%s", e.msg);
	STR_EQ(p.body, "https://example.org|/blog|https://example.org/blog\n",
	    "origin and path");
	herald_post_free(&p);
	free(cfg.site_base_url);
	cfg.site_base_url = xstrdup("https://blog.example.org");

	/* an unclosed fence runs to the end, as in CommonMark */
	INT_EQ(load("f.md", "---\ntitle: F\n---\n```\n{{< nope >}}\n", NULL,
	    &p, &e), 0, "%s", e.msg);
	herald_post_free(&p);
}

/*
 * NAME.out: the expected title, subject, summary and date lines, "---",
 * then the expected body after expansion (written by hand from what the
 * site generator would show, not from herald's output).
 */
static void
check_out_case(const char *md, const char *outp, const char *name)
{
	struct hbuf want = HBUF_INIT, got = HBUF_INIT;
	struct herald_post p;
	struct herald_err e = {0};
	int rc;

	if (read_file(outp, &want, &e) != 0) {
		OK(0, "%s: cannot read %s", name, outp);
		return;
	}
	rc = herald_post_load(md, &cfg, NULL, &p, &e);
	INT_EQ(rc, 0, "%s: %s:%d: %s", name, e.file, e.line, e.msg);
	if (rc == 0) {
		hbuf_printf(&got, "title: %s\nsubject: %s\nsummary: %s\n"
		    "date: %04d-%02d-%02d\n---\n%s", p.title, p.subject,
		    p.summary ? p.summary : "", p.year, p.month, p.day,
		    p.body);
		for (size_t i = 0; i < p.nsnips; i++)
			hbuf_printf(&got, "--- snippet %zu html\n%s\n--- "
			    "snippet %zu text\n%s\n", i, p.snips[i].html, i,
			    p.snips[i].text);
		/* the marker is a hash of the body: show it as MARK */
		for (char *m; p.marker[0] && (m = strstr(got.data,
		    p.marker)) != NULL; ) {
			size_t ml = strlen(p.marker);
			memcpy(m, "MARK", 4);
			memmove(m + 4, m + ml, strlen(m + ml) + 1);
			got.len -= ml - 4;
		}
		STR_EQ(got.data, want.data, "%s: expanded post", name);
		herald_post_free(&p);
	}
	hbuf_free(&want);
	hbuf_free(&got);
}

/* The page's own path, for relative URLs: url:, permalink:, Zola path. */
static void
test_page_path(void)
{
	static const struct {
		const char *fm, *want;
	} cases[] = {
		{"url: /blog/2022/04/march-update/", "/blog/2022/04/march-update/"},
		{"url: blog/x", "/blog/x/"},
		{"permalink: /docs/page.html", "/docs/"},
		{"permalink: /:year/:title/", NULL},	/* a pattern: unknown */
		{"url: https://elsewhere.example/x/", NULL},
		{"url: /a/../../etc/", NULL},
		{"path: 2026/05/28/Rust-1.96.0", "/2026/05/28/Rust-1.96.0/"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct herald_post p;
		struct herald_err e = {0};
		char *text = xasprintf("---\ntitle: P\n%s\n---\nBody\n",
		    cases[i].fm);
		int rc = load("p.md", text, NULL, &p, &e);

		INT_EQ(rc, 0, "%s: %s", cases[i].fm, e.msg);
		if (rc == 0) {
			if (cases[i].want == NULL)
				OK(p.page_path == NULL, "%s: got %s", cases[i].fm,
				    p.page_path);
			else
				STR_EQ(p.page_path ? p.page_path : "(null)",
				    cases[i].want, "%s", cases[i].fm);
			herald_post_free(&p);
		}
		free(text);
	}
}

/* Inputs that would make shortcode scanning quadratic stay bounded. */
static void
test_bounded(void)
{
	struct herald_post p;
	struct herald_err e = {0};
	struct hbuf b = HBUF_INIT;
	int rc;

	/* unclosed site shortcodes (policy inner): each looks for its end */
	hbuf_puts(&b, "---\ntitle: Many\n---\n");
	for (int i = 0; i < 20000; i++)
		hbuf_puts(&b, "{{< alert >}} ");
	rc = load("many.md", b.data, NULL, &p, &e);
	INT_EQ(rc, EX_DATAERR, "unclosed shortcodes refused");
	OK(strstr(e.msg, "without their closing tag") != NULL, "%s", e.msg);
	INT_EQ(e.line, 4, "at the line of the one that went over");
	if (rc == 0)
		herald_post_free(&p);
	/* lone backticks of growing lengths: no code span, linear */
	hbuf_reset(&b);
	hbuf_puts(&b, "---\ntitle: Ticks\n---\n");
	for (int i = 0; i < 50000; i++)
		hbuf_puts(&b, "` a `` b ``` ");
	hbuf_puts(&b, "{{< baseurl >}}\n");
	rc = load("ticks.md", b.data, NULL, &p, &e);
	INT_EQ(rc, 0, "%s", e.msg);
	if (rc == 0) {
		OK(strstr(p.body, "https://blog.example.org\n") != NULL,
		    "expanded after the backticks");
		herald_post_free(&p);
	}
	hbuf_free(&b);
}

/* "CODE:LINE:substring" */
static void
check_case(const char *dir, const char *name)
{
	char *md = xasprintf("%s/%s", dir, name);
	char *errp = xasprintf("%.*s.err", (int)(strlen(md) - 3), md);
	char *outp = xasprintf("%.*s.out", (int)(strlen(md) - 3), md);
	struct hbuf want = HBUF_INIT;
	struct herald_post p;
	struct herald_err e = {0};
	int code = 0, line = 0, off = 0, rc;

	if (access(outp, F_OK) == 0) {
		check_out_case(md, outp, name);
		goto out;
	}
	if (read_file(errp, &want, &e) != 0 ||
	    sscanf(want.data, "%d:%d:%n", &code, &line, &off) != 2) {
		OK(0, "%s: cannot read expectations", errp);
		goto out;
	}
	want.data[strcspn(want.data, "\n")] = '\0';
	rc = herald_post_load(md, &cfg, NULL, &p, &e);
	INT_EQ(rc, code, "%s: exit code (%s)", name, e.msg);
	INT_EQ(e.line, line, "%s: line (%s)", name, e.msg);
	STR_EQ(e.file, md, "%s: file", name);
	OK(strstr(e.msg, want.data + off) != NULL, "%s: message \"%s\" "
	    "lacks \"%s\"", name, e.msg, want.data + off);
	OK(p.title == NULL && p.body == NULL, "%s: nothing kept", name);
	if (rc == 0)
		herald_post_free(&p);
out:
	hbuf_free(&want);
	free(md);
	free(errp);
	free(outp);
}

static void
test_data_cases(void)
{
	const char *dir = "tests/data/post";
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	OK(d != NULL, "%s", dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len > 3 && strcmp(de->d_name + len - 3, ".md") == 0) {
			check_case(dir, de->d_name);
			n++;
		}
	}
	closedir(d);
	OK(n >= 10, "only %d post cases", n);
}

/* No shortcode syntax is left except {{< time ... >}}. */
static void
no_shortcodes_left(const struct herald_post *p)
{
	for (const char *s = p->body; (s = strstr(s, "{{")) != NULL; s += 2)
		OK(strncmp(s, "{{< time ", 9) == 0, "%s: shortcode left: %.30s",
		    p->path, s);
}

static void
test_example_post(void)
{
	struct herald_post p;
	struct herald_err e = {0};
	const char *path = "doc/examples/2027-11-22-async-office-hours.md";
	int rc = herald_post_load(path, &cfg, NULL, &p, &e);

	INT_EQ(rc, 0, "%s:%d: %s", e.file, e.line, e.msg);
	if (rc != 0)
		return;
	INT_EQ(p.year * 10000 + p.month * 100 + p.day, 20271122, "date");
	STR_EQ(p.timezone, "America/New_York", "zone");
	OK(p.summary != NULL, "summary");
	OK(strstr(p.body, "https://blog.example.org/") != NULL, "baseurl");
	OK(strstr(p.body, "Zoë") != NULL, "non-ASCII");
	no_shortcodes_left(&p);
	herald_post_free(&p);
}

static void
test_shared_posts(void)
{
	const char *shared = getenv("HERALD_SHARED");
	char *dir;
	DIR *d;
	struct dirent *de;
	int n = 0;

	dir = xasprintf("%s/posts", shared && *shared ? shared : "../shared");
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "skipping reference posts: no %s\n", dir);
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct herald_post p;
		struct herald_err e = {0};
		char *path;
		int rc;

		if (len < 4 || strcmp(de->d_name + len - 3, ".md") != 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		rc = herald_post_load(path, &cfg, NULL, &p, &e);
		INT_EQ(rc, 0, "%s:%d: %s", e.file, e.line, e.msg);
		if (rc == 0) {
			OK(p.title && *p.title, "%s: title", path);
			OK(p.year != 0, "%s: a date", path);
			no_shortcodes_left(&p);
			if (strncmp(de->d_name, "2021-04-26-async-vision", 23)
			    == 0) {
				STR_EQ(p.title, "Async Vision Doc Writing "
				    "Sessions VII", "reference title");
				INT_EQ(p.year * 10000 + p.month * 100 + p.day,
				    20210426, "date from the file name");
				OK(strstr(p.body, "[tue]: https://blog.example"
				    ".org/https://smallcultfollowing.com/") !=
				    NULL, "baseurl expanded");
				INT_EQ(p.body_line, 5, "body line");
			}
			herald_post_free(&p);
		}
		free(path);
		n++;
	}
	closedir(d);
	OK(n >= 1, "no posts in %s", dir);
	free(dir);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.site_base_url = xstrdup("https://blog.example.org");
	cfg.site_title = xstrdup("Example Blog");
	cfg.templates_dir = xstrdup("tests/data/post/templates");
	{
		static struct herald_sc_rule rules[] = {
			{"alert", HERALD_SC_INNER}, {"gallery", HERALD_SC_DROP},
			{"toc", HERALD_SC_DROP},
		};
		struct herald_err e = {0};
		cfg.shortcodes = rules;
		cfg.nshortcodes = sizeof(rules) / sizeof(rules[0]);
		if (herald_yaml_parse("eventUrl: https://events.example.org/\n"
		    "org: {name: Example Org}\n", 63, "params", 1,
		    &cfg.site_params, &e) != 0)
			fprintf(stderr, "site params: %s\n", e.msg);
	}
	test_basic();
	test_dates();
	test_crlf_bom();
	test_shortcodes();
	test_bounded();
	test_page_path();
	test_data_cases();
	test_example_post();
	test_shared_posts();
	free(cfg.site_base_url);
	free(cfg.site_title);
	free(cfg.templates_dir);
	ynode_free(cfg.site_params);
	rmdir(tmpdir);
	return harness_done();
}
