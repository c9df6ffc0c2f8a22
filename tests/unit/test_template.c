/*
 * test_template.c - the template module against the official Mustache
 * spec cases (tests/data/mustache/NAME.yml, one case per file, restated from
 * github.com/mustache/spec specs/interpolation, sections, inverted and
 * comments), plus herald's own needs: TEXT mode, check(), compile errors
 * with their lines, and many renders of one template.
 *
 * The YAML of a case is read with libyaml directly and turned into a tree
 * of struct hval: plain true/false are booleans, plain null/~/empty are
 * null, every other scalar (numbers too) is the string as written.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>
#ifndef YAML_H
/*
 * src/yaml.h, herald's YAML tree (renamed src/ynode.h on its own branch),
 * shadows libyaml's header while it exists; reach libyaml's directly.
 */
#include "/usr/include/yaml.h"
#endif

#include "harness.h"
#include "template.h"

#define DATA_DIR "tests/data/mustache"

/* A YAML document and the hval tree over it (strings borrowed from it). */
struct ydoc {
	yaml_document_t doc;
	struct hval root;
	bool loaded;
};

static bool
plain_is(const yaml_node_t *n, const char *const *words)
{
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (; *words; words++)
		if (strcmp((const char *)n->data.scalar.value, *words) == 0)
			return true;
	return false;
}

static void
to_hval(yaml_document_t *doc, yaml_node_t *n, struct hval *v)
{
	static const char *const yes[] = {"true", "True", "TRUE", NULL};
	static const char *const no[] = {"false", "False", "FALSE", NULL};
	static const char *const nul[] = {"null", "Null", "NULL", "~", "",
	    NULL};

	memset(v, 0, sizeof(*v));
	switch (n->type) {
	case YAML_SCALAR_NODE:
		if (plain_is(n, yes) || plain_is(n, no)) {
			v->type = HVAL_BOOL;
			v->b = plain_is(n, yes);
		} else if (plain_is(n, nul)) {
			v->type = HVAL_NULL;
		} else {
			v->type = HVAL_STR;
			v->s = (const char *)n->data.scalar.value;
		}
		break;
	case YAML_SEQUENCE_NODE: {
		yaml_node_item_t *it = n->data.sequence.items.start;
		size_t cnt = (size_t)(n->data.sequence.items.top - it);
		struct hval *items = xcalloc(cnt ? cnt : 1, sizeof(*items));

		for (size_t i = 0; i < cnt; i++)
			to_hval(doc, yaml_document_get_node(doc, it[i]),
			    &items[i]);
		v->type = HVAL_LIST;
		v->n = cnt;
		v->items = items;
		break;
	}
	case YAML_MAPPING_NODE: {
		yaml_node_pair_t *p = n->data.mapping.pairs.start;
		size_t cnt = (size_t)(n->data.mapping.pairs.top - p);
		struct hval *items = xcalloc(cnt ? cnt : 1, sizeof(*items));
		const char **keys = xcalloc(cnt ? cnt : 1, sizeof(*keys));

		for (size_t i = 0; i < cnt; i++) {
			yaml_node_t *k = yaml_document_get_node(doc, p[i].key);

			keys[i] = k->type == YAML_SCALAR_NODE ?
			    (const char *)k->data.scalar.value : "";
			to_hval(doc, yaml_document_get_node(doc, p[i].value),
			    &items[i]);
		}
		v->type = HVAL_MAP;
		v->n = cnt;
		v->keys = keys;
		v->items = items;
		break;
	}
	default:
		v->type = HVAL_NULL;
		break;
	}
}

static void
free_hval(struct hval *v)
{
	if (v->type != HVAL_MAP && v->type != HVAL_LIST)
		return;
	for (size_t i = 0; i < v->n; i++)
		free_hval((struct hval *)&v->items[i]);
	free((void *)v->items);
	free((void *)v->keys);
}

static bool
ydoc_load(struct ydoc *y, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	bool ok;

	memset(y, 0, sizeof(*y));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	ok = yaml_parser_load(&parser, &y->doc) != 0;
	yaml_parser_delete(&parser);
	if (!ok)
		return false;
	y->loaded = true;
	root = yaml_document_get_root_node(&y->doc);
	if (root == NULL)
		y->root.type = HVAL_NULL;
	else
		to_hval(&y->doc, root, &y->root);
	return true;
}

static void
ydoc_free(struct ydoc *y)
{
	free_hval(&y->root);
	if (y->loaded)
		yaml_document_delete(&y->doc);
}

/* The value of key in map m, or NULL. */
static const struct hval *
get(const struct hval *m, const char *key)
{
	if (m->type != HVAL_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0)
			return &m->items[i];
	return NULL;
}

static const char *
get_str(const struct hval *m, const char *key)
{
	const struct hval *v = get(m, key);

	return v != NULL && v->type == HVAL_STR ? v->s : NULL;
}

static int cases_run, cases_skipped;

static void
run_case(const char *path)
{
	struct hbuf text = HBUF_INIT, out = HBUF_INIT;
	struct herald_err e = {0};
	struct herald_tpl *t = NULL;
	struct ydoc y;
	const char *name, *tpl, *want, *skip;
	const struct hval *data;
	int rc;

	if (read_file(path, &text, &e) != 0) {
		OK(0, "%s: cannot read: %s", path, e.msg);
		return;
	}
	if (!ydoc_load(&y, text.data, text.len)) {
		OK(0, "%s: invalid YAML", path);
		hbuf_free(&text);
		return;
	}
	name = get_str(&y.root, "name");
	tpl = get_str(&y.root, "template");
	want = get_str(&y.root, "expected");
	data = get(&y.root, "data");
	skip = get_str(&y.root, "skip");
	OK(name != NULL && tpl != NULL && want != NULL && data != NULL &&
	    get_str(&y.root, "desc") != NULL,
	    "%s: needs name, desc, data, template, expected", path);
	if (skip != NULL) {
		fprintf(stderr, "SKIP %s: %s\n", path, skip);
		cases_skipped++;
	} else if (tpl != NULL && want != NULL && data != NULL) {
		/* The spec's {{x}} is HTML-escaped: run it in HTML mode. */
		rc = herald_tpl_compile(tpl, strlen(tpl), path,
		    HERALD_TPL_HTML, &t, &e);
		INT_EQ(rc, 0, "%s: compile: %s", path, e.msg);
		if (rc == 0) {
			herald_tpl_render(t, data, &out);
			STR_EQ(hbuf_cstr(&out), want, "%s (%s)", path, name);
			/* Rendering again appends the same text. */
			herald_tpl_render(t, data, &out);
			INT_EQ(out.len, 2 * strlen(want), "%s: twice", path);
		}
		cases_run++;
	}
	herald_tpl_free(t);
	hbuf_free(&out);
	ydoc_free(&y);
	hbuf_free(&text);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_spec(void)
{
	DIR *d = opendir(DATA_DIR);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	OK(d != NULL, "cannot open %s (run from the repository root)",
	    DATA_DIR);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".yml") != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 128;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xasprintf("%s/%s", DATA_DIR, de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		run_case(names[i]);
		free(names[i]);
	}
	free(names);
	/* interpolation 42 + sections 34 + inverted 22 + comments 12 */
	INT_EQ(n, 110, "spec case files");
	fprintf(stderr, "mustache spec: %d cases run, %d skipped\n",
	    cases_run, cases_skipped);
}

/* Render src against the YAML data in mode esc. */
static char *
render_yaml(const char *src, const char *yaml, enum herald_tpl_escape esc)
{
	struct herald_tpl *t;
	struct herald_err e = {0};
	struct hbuf out = HBUF_INIT;
	struct ydoc y;

	if (!ydoc_load(&y, yaml, strlen(yaml))) {
		OK(0, "bad test YAML");
		return xstrdup("");
	}
	if (herald_tpl_compile(src, strlen(src), "t", esc, &t, &e) != 0) {
		OK(0, "compile %s: %s", src, e.msg);
		ydoc_free(&y);
		return xstrdup("");
	}
	herald_tpl_render(t, &y.root, &out);
	herald_tpl_free(t);
	ydoc_free(&y);
	if (out.data == NULL)
		return xstrdup("");
	return hbuf_detach(&out);
}

static void
test_escape_modes(void)
{
	const char *data = "x: \"<a href='u'>Tom & Jerry</a>\"\n";
	char *s;

	s = render_yaml("{{x}}|{{{x}}}|{{&x}}", data, HERALD_TPL_TEXT);
	STR_EQ(s, "<a href='u'>Tom & Jerry</a>|<a href='u'>Tom & Jerry</a>|"
	    "<a href='u'>Tom & Jerry</a>", "TEXT mode copies");
	free(s);
	s = render_yaml("{{x}}", data, HERALD_TPL_HTML);
	STR_EQ(s, "&lt;a href=&#39;u&#39;&gt;Tom &amp; Jerry&lt;/a&gt;",
	    "HTML mode escapes & < > \" '");
	free(s);
	s = render_yaml("{{#b}}[{{.}}]{{/b}}{{^f}}{{f}}{{/f}}{{m}}{{l}}",
	    "b: true\nf: false\nm: {k: v}\nl: [1]\n", HERALD_TPL_TEXT);
	STR_EQ(s, "[true]false", "booleans print, maps and lists do not");
	free(s);
	s = render_yaml("{{#e}}no{{/e}}{{^e}}empty{{/e}}", "e: ''\n",
	    HERALD_TPL_TEXT);
	STR_EQ(s, "empty", "an empty string is false");
	free(s);
	s = render_yaml("Zoë {{n}} ✓", "n: Łukasz\n", HERALD_TPL_HTML);
	STR_EQ(s, "Zoë Łukasz ✓", "UTF-8 passes through");
	free(s);
}

/* Compile src and expect an error at line with text containing msg. */
static void
compile_fails(const char *src, int line, const char *msg)
{
	struct herald_tpl *t = (struct herald_tpl *)1;
	struct herald_err e = {0};
	int rc;

	rc = herald_tpl_compile(src, strlen(src), "templates/x.html",
	    HERALD_TPL_HTML, &t, &e);
	INT_EQ(rc, EX_DATAERR, "compile should fail: %s", src);
	OK(t == NULL, "no template on failure: %s", src);
	INT_EQ(e.code, EX_DATAERR, "%s", src);
	STR_EQ(e.file, "templates/x.html", "%s", src);
	INT_EQ(e.line, line, "line of the error in %s (%s)", src, e.msg);
	OK(strstr(e.msg, msg) != NULL, "message \"%s\" should contain \"%s\"",
	    e.msg, msg);
}

static void
test_compile_errors(void)
{
	char deep[64 * 12 + 1] = "", *p;

	compile_fails("a\nb {{x\nc\n", 2, "unclosed tag");
	compile_fails("a\nb {{{x}}\n", 2, "unclosed tag");
	compile_fails("{{! never\nclosed\n", 1, "unclosed tag");
	compile_fails("a\n{{#a}}\nb\n", 2, "unclosed section {{#a}}");
	compile_fails("{{#a}}\n{{^b}}\n{{/b}}\n", 1, "unclosed section {{#a}}");
	compile_fails("{{#a}}\n{{#b}}\n{{/a}}\n", 3,
	    "{{/a}} does not close {{#b}} opened at line 2");
	compile_fails("x\n{{/a}}", 2, "closes no section");
	compile_fails("x\n\n{{ }}", 3, "empty tag name");
	compile_fails("{{}}", 1, "empty tag name");
	compile_fails("{{#}}{{/}}", 1, "empty tag name");
	compile_fails("{{a..b}}", 1, "invalid tag name 'a..b'");
	compile_fails("{{.a}}", 1, "invalid tag name");
	compile_fails("{{a b}}", 1, "invalid tag name 'a b'");
	compile_fails("hi\n{{> footer}}\n", 2, "partials are not supported");
	compile_fails("{{=<% %>=}}", 1, "delimiter changes are not supported");
	compile_fails("{{!\ncomment\n}}\n{{#a}}\n", 4, "unclosed section");

	p = deep;
	for (int i = 0; i < 64; i++)
		p += sprintf(p, "{{#a}}");
	{
		/* 64 deep compiles; 65 is refused. */
		struct hbuf b = HBUF_INIT;
		struct herald_tpl *t;
		struct herald_err e = {0};

		hbuf_puts(&b, deep);
		for (int i = 0; i < 64; i++)
			hbuf_puts(&b, "{{/a}}");
		INT_EQ(herald_tpl_compile(b.data, b.len, "d", HERALD_TPL_HTML,
		    &t, &e), 0, "64 deep: %s", e.msg);
		herald_tpl_free(t);
		hbuf_reset(&b);
		hbuf_puts(&b, deep);
		hbuf_puts(&b, "{{#b}}");
		INT_EQ(herald_tpl_compile(b.data, b.len, "d", HERALD_TPL_HTML,
		    &t, &e), EX_DATAERR, "65 deep");
		OK(strstr(e.msg, "deeper") != NULL, "%s", e.msg);
		hbuf_free(&b);
	}
	herald_tpl_free(NULL);
}

static const char *check_root =
    "post: {title: T, url: 'https://x/p', date: '2024-05-01'}\n"
    "site: {name: S, base_url: 'https://x'}\n"
    "subscriber: {name: Zoë, email: z@x, vip: ''}\n"
    "sessions: [{start: '10:00', zone: UTC}]\n"
    "nothing: []\n"
    "content: '<p>hi</p>'\n"
    "unsubscribe_url: 'https://x/u'\n";

/* check src against check_root: want 0, or EX_DATAERR at line naming name. */
static void
check_case(const char *src, int line, const char *name)
{
	struct herald_tpl *t;
	struct herald_err e = {0};
	struct ydoc y;
	int rc;

	OK(ydoc_load(&y, check_root, strlen(check_root)), "root YAML");
	rc = herald_tpl_compile(src, strlen(src), "templates/default.txt",
	    HERALD_TPL_TEXT, &t, &e);
	INT_EQ(rc, 0, "compile %s: %s", src, e.msg);
	if (rc == 0) {
		rc = herald_tpl_check(t, &y.root, &e);
		if (name == NULL) {
			INT_EQ(rc, 0, "check %s: %s", src, e.msg);
		} else {
			char want[256];

			snprintf(want, sizeof(want), "unknown variable '%s'",
			    name);
			INT_EQ(rc, EX_DATAERR, "check %s", src);
			STR_EQ(e.msg, want, "%s", src);
			INT_EQ(e.line, line, "%s", src);
			STR_EQ(e.file, "templates/default.txt", "%s", src);
		}
		herald_tpl_free(t);
	}
	ydoc_free(&y);
}

static void
test_check(void)
{
	check_case("Hi {{subscriber.name}},\n{{{content}}}\n"
	    "{{#post}}{{title}} {{site.name}}{{/post}}\n"
	    "{{#sessions}}\n  {{start}} {{zone}} {{post.title}}\n"
	    "{{/sessions}}\n"
	    "{{^subscriber.vip}}{{unsubscribe_url}}{{/subscriber.vip}}\n"
	    "{{#subscriber.name}}{{.}}{{/subscriber.name}}{{! {{nope}} }}\n",
	    0, NULL);
	check_case("Hello {{subscriber.name}}\n{{#post}}\n{{title}}\n"
	    "{{/post}}\nBye {{subscriber.nmae}}\n", 5, "subscriber.nmae");
	check_case("{{!\n\n}}\n{{nope}}", 4, "nope");
	check_case("{{#sessions}}\n{{start}}\n{{stat}}\n{{/sessions}}", 3,
	    "stat");
	check_case("{{#nothing}}{{x}}{{/nothing}}", 1, "x");
	check_case("\n{{^subscriber.vip}}\n{{missing}}{{/subscriber.vip}}", 3,
	    "missing");
	check_case("{{#subscriber.city}}x{{/subscriber.city}}", 1,
	    "subscriber.city");
	check_case("{{post.title.x}}", 1, "post.title.x");
	check_case("{{#post}}{{url}}{{email}}{{/post}}", 1, "email");
}

static void
test_many_renders(void)
{
	const char *src =
	    "Hi {{subscriber.name}},\r\n"
	    "{{#sessions}}\r\n"
	    "  * {{start}} ({{zone}})\r\n"
	    "{{/sessions}}\r\n"
	    "{{^subscriber.vip}}\r\n"
	    "Unsubscribe: {{unsubscribe_url}}\r\n"
	    "{{/subscriber.vip}}\r\n";
	const char *want =
	    "Hi Zoë,\r\n"
	    "  * 10:00 (UTC)\r\n"
	    "Unsubscribe: https://x/u\r\n";
	struct herald_tpl *t;
	struct herald_err e = {0};
	struct hbuf out = HBUF_INIT;
	struct ydoc y;
	int bad = 0;

	OK(ydoc_load(&y, check_root, strlen(check_root)), "root YAML");
	INT_EQ(herald_tpl_compile(src, strlen(src), "t", HERALD_TPL_HTML, &t,
	    &e), 0, "%s", e.msg);
	for (int i = 0; i < 100000; i++) {
		hbuf_reset(&out);
		herald_tpl_render(t, &y.root, &out);
		if (out.len != strlen(want) || memcmp(out.data, want,
		    out.len) != 0)
			bad++;
	}
	STR_EQ(hbuf_cstr(&out), want, "CRLF standalone lines");
	INT_EQ(bad, 0, "every render the same");
	herald_tpl_render(t, NULL, &out);
	herald_tpl_free(t);
	hbuf_free(&out);
	ydoc_free(&y);
}

int
main(void)
{
	test_spec();
	test_escape_modes();
	test_compile_errors();
	test_check();
	test_many_renders();
	return harness_done();
}
