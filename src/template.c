/*
 * template.c - herald's Mustache subset, after the Mustache spec
 * (github.com/mustache/spec: specs/interpolation.yml, sections.yml,
 * inverted.yml, comments.yml).
 *
 * A template is compiled once into a flat list of ops: spans of literal
 * text, variable references with their dotted names already split, and
 * sections that know where their body ends.  Rendering walks that list
 * with a context stack on the C stack, so a render for one of 100,000
 * recipients parses nothing and allocates nothing but the output.
 *
 * Partials, lambdas and delimiter changes are not part of the subset; a
 * template that uses partials or delimiter changes is rejected when it is
 * compiled (lambdas need code in the data, which herald never has).
 */
#include <stdlib.h>
#include <string.h>

#include "template.h"

/*
 * Sections nested deeper than this are a compile error.  It bounds the
 * context stack and the render's recursion; real templates nest two or
 * three deep.
 */
#define MAX_DEPTH 64

enum op_kind {
	OP_TEXT,        /* literal text */
	OP_VAR,         /* {{name}}: escaped per the template's mode */
	OP_RAW,         /* {{{name}}} or {{&name}} */
	OP_SECTION,     /* {{#name}} ... {{/name}} */
	OP_INVERTED,    /* {{^name}} ... {{/name}} */
};

struct op {
	enum op_kind kind;
	int line;               /* line of the tag in the source, for errors */
	const char *text;       /* OP_TEXT: span of the template's copy */
	size_t len;
	char *name;             /* the name as written ("a.b"), for errors */
	char **parts;           /* name split on '.'; NULL for "." */
	size_t nparts;          /* 0 for the implicit iterator "." */
	size_t end;             /* sections: index of the op after the body */
};

struct herald_tpl {
	char *file;
	char *src;              /* our copy; OP_TEXT spans point into it */
	enum herald_tpl_escape esc;
	struct op *ops;
	size_t nops;
	size_t cap;
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

/* Offset of the first needle in s[from..len), or len when absent. */
static size_t
find(const char *s, size_t len, size_t from, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = from; i + nl <= len; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, nl) == 0)
			return i;
	return len;
}

static struct op *
add_op(struct herald_tpl *t, enum op_kind kind, int line)
{
	struct op *op;

	if (t->nops == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->ops = xrealloc(t->ops, t->cap * sizeof(*t->ops));
	}
	op = &t->ops[t->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->line = line;
	return op;
}

static void
add_text(struct herald_tpl *t, size_t from, size_t to)
{
	struct op *op;

	if (to <= from)
		return;
	op = add_op(t, OP_TEXT, 0);
	op->text = t->src + from;
	op->len = to - from;
}

/*
 * Is the tag at src[open..tag_end) alone on its line but for blanks?  The
 * spec removes such a line whole for section, inverted, end and comment
 * tags: on success *cut is where the line starts (its indentation is
 * dropped) and *resume is just past its newline (LF or CRLF) or the end.
 */
static bool
standalone(const char *s, size_t len, size_t open, size_t tag_end,
    size_t *cut, size_t *resume)
{
	size_t b = open, a = tag_end;

	while (b > 0 && is_blank(s[b - 1]))
		b--;
	if (b > 0 && s[b - 1] != '\n')
		return false;
	while (a < len && is_blank(s[a]))
		a++;
	if (a < len) {
		if (s[a] == '\n')
			a++;
		else if (s[a] == '\r' && a + 1 < len && s[a + 1] == '\n')
			a += 2;
		else
			return false;
	}
	*cut = b;
	*resume = a;
	return true;
}

/*
 * Check a tag's name and split it on dots.  "." is the implicit
 * iterator; anything else needs non-empty parts and no blanks.
 */
static int
set_name(struct herald_tpl *t, struct op *op, const char *s, size_t n,
    struct herald_err *e)
{
	char *buf;
	size_t np = 1;

	if (n == 0)
		return herald_errf(e, EX_DATAERR, t->file, op->line,
		    "empty tag name");
	op->name = xstrndup(s, n);
	if (n == 1 && s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (is_space(s[i]) || s[i] == '{' || s[i] == '}')
			return herald_errf(e, EX_DATAERR, t->file, op->line,
			    "invalid tag name '%s'", op->name);
		if (s[i] == '.')
			np++;
	}
	buf = xstrndup(s, n);
	op->parts = xcalloc(np, sizeof(*op->parts));
	op->parts[0] = buf;
	op->nparts = 1;
	for (char *p = buf; *p; p++) {
		if (*p == '.') {
			*p = '\0';
			op->parts[op->nparts++] = p + 1;
		}
	}
	for (size_t i = 0; i < op->nparts; i++)
		if (op->parts[i][0] == '\0')
			return herald_errf(e, EX_DATAERR, t->file, op->line,
			    "invalid tag name '%s'", op->name);
	return 0;
}

static int
compile(struct herald_tpl *t, size_t len, struct herald_err *e)
{
	const char *s = t->src;
	size_t open_sec[MAX_DEPTH];
	size_t depth = 0;
	size_t p = 0, text_from = 0, counted = 0;
	int line = 1;

	for (;;) {
		size_t open, q, close, tag_end, cut, resume;
		const char *closer = "}}";
		char sigil = 0;
		int tag_line;
		struct op *op;
		int rc;

		open = find(s, len, p, "{{");
		if (open == len)
			break;
		for (; counted < open; counted++)
			if (s[counted] == '\n')
				line++;
		tag_line = line;

		q = open + 2;
		if (q < len && s[q] != '\0' &&
		    strchr("{&#^/!>=", s[q]) != NULL) {
			sigil = s[q++];
			if (sigil == '{')
				closer = "}}}";
		}
		close = find(s, len, q, closer);
		if (close == len)
			return herald_errf(e, EX_DATAERR, t->file, tag_line,
			    "unclosed tag: '{{' without '%s'", closer);
		tag_end = close + strlen(closer);

		if (sigil == '>')
			return herald_errf(e, EX_DATAERR, t->file, tag_line,
			    "partials are not supported");
		if (sigil == '=')
			return herald_errf(e, EX_DATAERR, t->file, tag_line,
			    "delimiter changes are not supported");

		/* The spec removes the whole line of a standalone block tag. */
		cut = open;
		resume = tag_end;
		if (sigil == '#' || sigil == '^' || sigil == '/' ||
		    sigil == '!')
			(void)standalone(s, len, open, tag_end, &cut, &resume);
		add_text(t, text_from, cut);
		text_from = p = resume;

		if (sigil == '!')
			continue;

		/* Trim the name: "{{ name }}" is "{{name}}". */
		while (q < close && is_space(s[q]))
			q++;
		while (close > q && is_space(s[close - 1]))
			close--;

		if (sigil == '/') {
			struct op *sec;
			size_t n = close - q;

			if (n == 0)
				return herald_errf(e, EX_DATAERR, t->file,
				    tag_line, "empty tag name");
			if (depth == 0)
				return herald_errf(e, EX_DATAERR, t->file,
				    tag_line, "{{/%.*s}} closes no section",
				    (int)n, s + q);
			sec = &t->ops[open_sec[depth - 1]];
			if (strlen(sec->name) != n ||
			    memcmp(sec->name, s + q, n) != 0)
				return herald_errf(e, EX_DATAERR, t->file,
				    tag_line, "{{/%.*s}} does not close "
				    "{{%c%s}} opened at line %d", (int)n, s + q,
				    sec->kind == OP_SECTION ? '#' : '^',
				    sec->name, sec->line);
			sec->end = t->nops;
			depth--;
			continue;
		}

		switch (sigil) {
		case '#':
			op = add_op(t, OP_SECTION, tag_line);
			break;
		case '^':
			op = add_op(t, OP_INVERTED, tag_line);
			break;
		case '{':
		case '&':
			op = add_op(t, OP_RAW, tag_line);
			break;
		default:
			op = add_op(t, OP_VAR, tag_line);
			break;
		}
		if ((rc = set_name(t, op, s + q, close - q, e)) != 0)
			return rc;
		if (op->kind == OP_SECTION || op->kind == OP_INVERTED) {
			if (depth == MAX_DEPTH)
				return herald_errf(e, EX_DATAERR, t->file,
				    tag_line, "sections nested deeper than %d",
				    MAX_DEPTH);
			open_sec[depth++] = t->nops - 1;
		}
	}
	add_text(t, text_from, len);
	if (depth > 0) {
		struct op *sec = &t->ops[open_sec[depth - 1]];

		return herald_errf(e, EX_DATAERR, t->file, sec->line,
		    "unclosed section {{%c%s}}",
		    sec->kind == OP_SECTION ? '#' : '^', sec->name);
	}
	return 0;
}

int
herald_tpl_compile(const char *src, size_t len, const char *file,
    enum herald_tpl_escape esc, struct herald_tpl **out,
    struct herald_err *e)
{
	struct herald_tpl *t;
	int rc;

	*out = NULL;
	t = xcalloc(1, sizeof(*t));
	t->file = xstrdup(file);
	t->esc = esc;
	t->src = xmalloc(len + 1);
	memcpy(t->src, src, len);
	t->src[len] = '\0';
	if ((rc = compile(t, len, e)) != 0) {
		herald_tpl_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void
herald_tpl_free(struct herald_tpl *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nops; i++) {
		free(t->ops[i].name);
		if (t->ops[i].parts != NULL)
			free(t->ops[i].parts[0]);
		free(t->ops[i].parts);
	}
	free(t->ops);
	free(t->src);
	free(t->file);
	free(t);
}

/* The value of key in ctx when ctx is a map holding it, else NULL. */
static const struct hval *
lookup(const struct hval *ctx, const char *key)
{
	if (ctx == NULL || ctx->type != HVAL_MAP)
		return NULL;
	for (size_t i = 0; i < ctx->n; i++)
		if (strcmp(ctx->keys[i], key) == 0)
			return &ctx->items[i];
	return NULL;
}

/*
 * Resolve a name as the spec says: "." is the top of the stack; the
 * first part of a dotted name is looked up from the top of the stack
 * down, each later part only inside the value before it.  NULL when
 * missing.
 */
static const struct hval *
resolve(const struct op *op, const struct hval *const *stack, size_t depth)
{
	const struct hval *v = NULL;

	if (op->nparts == 0)
		return depth > 0 ? stack[depth - 1] : NULL;
	for (size_t i = depth; i-- > 0;)
		if ((v = lookup(stack[i], op->parts[0])) != NULL)
			break;
	for (size_t k = 1; v != NULL && k < op->nparts; k++)
		v = lookup(v, op->parts[k]);
	return v;
}

static bool
truthy(const struct hval *v)
{
	if (v == NULL)
		return false;
	switch (v->type) {
	case HVAL_NULL:
		return false;
	case HVAL_BOOL:
		return v->b;
	case HVAL_STR:
		return v->s != NULL && v->s[0] != '\0';
	case HVAL_MAP:
		return true;
	case HVAL_LIST:
		return v->n > 0;
	}
	return false;
}

static void
put_value(const struct hval *v, bool html, struct hbuf *out)
{
	const char *s;

	if (v == NULL)
		return;
	switch (v->type) {
	case HVAL_STR:
		s = v->s;
		break;
	case HVAL_BOOL:
		s = v->b ? "true" : "false";
		break;
	default:
		return;         /* null, maps and lists print nothing */
	}
	if (s == NULL)
		return;
	if (html)
		hbuf_put_html(out, s, strlen(s));
	else
		hbuf_puts(out, s);
}

/* stack has room for MAX_DEPTH + 1 entries: the root and one per section. */
static void
render_range(const struct herald_tpl *t, size_t from, size_t to,
    const struct hval **stack, size_t depth, struct hbuf *out)
{
	size_t i = from;

	while (i < to) {
		const struct op *op = &t->ops[i];
		const struct hval *v;

		switch (op->kind) {
		case OP_TEXT:
			hbuf_put(out, op->text, op->len);
			i++;
			break;
		case OP_VAR:
		case OP_RAW:
			v = resolve(op, stack, depth);
			put_value(v, op->kind == OP_VAR &&
			    t->esc == HERALD_TPL_HTML, out);
			i++;
			break;
		case OP_SECTION:
			v = resolve(op, stack, depth);
			if (truthy(v)) {
				if (v->type == HVAL_LIST) {
					for (size_t k = 0; k < v->n; k++) {
						stack[depth] = &v->items[k];
						render_range(t, i + 1, op->end,
						    stack, depth + 1, out);
					}
				} else {
					stack[depth] = v;
					render_range(t, i + 1, op->end, stack,
					    depth + 1, out);
				}
			}
			i = op->end;
			break;
		case OP_INVERTED:
			v = resolve(op, stack, depth);
			if (!truthy(v))
				render_range(t, i + 1, op->end, stack, depth,
				    out);
			i = op->end;
			break;
		}
	}
}

void
herald_tpl_render(const struct herald_tpl *t, const struct hval *root,
    struct hbuf *out)
{
	const struct hval *stack[MAX_DEPTH + 1];
	size_t depth = 0;

	if (root != NULL)
		stack[depth++] = root;
	render_range(t, 0, t->nops, stack, depth, out);
}

/*
 * Walk ops as render would, entering every section.  A section pushes the
 * value it found (a list its first item, an empty list nothing that
 * names resolve against), so names inside resolve as they would when
 * the section renders with that data.
 */
static int
check_range(const struct herald_tpl *t, size_t from, size_t to,
    const struct hval **stack, size_t depth, struct herald_err *e)
{
	size_t i = from;

	while (i < to) {
		const struct op *op = &t->ops[i];
		const struct hval *v;
		int rc;

		if (op->kind == OP_TEXT) {
			i++;
			continue;
		}
		v = resolve(op, stack, depth);
		if (v == NULL && op->nparts > 0)
			return herald_errf(e, EX_DATAERR, t->file, op->line,
			    "unknown variable '%s'", op->name);
		switch (op->kind) {
		case OP_SECTION:
			if (v != NULL && v->type == HVAL_LIST)
				v = v->n > 0 ? &v->items[0] : NULL;
			stack[depth] = v;
			rc = check_range(t, i + 1, op->end, stack, depth + 1,
			    e);
			if (rc != 0)
				return rc;
			i = op->end;
			break;
		case OP_INVERTED:
			rc = check_range(t, i + 1, op->end, stack, depth, e);
			if (rc != 0)
				return rc;
			i = op->end;
			break;
		default:
			i++;
			break;
		}
	}
	return 0;
}

int
herald_tpl_check(const struct herald_tpl *t, const struct hval *root,
    struct herald_err *e)
{
	const struct hval *stack[MAX_DEPTH + 1];
	size_t depth = 0;

	if (root != NULL)
		stack[depth++] = root;
	return check_range(t, 0, t->nops, stack, depth, e);
}
