/*
 * toml.c - TOML front matter (Hugo and Zola write it between "+++" lines)
 * read into the same ynode tree as YAML front matter.
 *
 * Debian 12 packages no C TOML library (only C++, Go, Perl and Python
 * ones), so this is a small parser of TOML 1.0 as front matter uses it:
 * bare, quoted and dotted keys; basic and literal strings, one-line and
 * multi-line, with escapes; integers, floats and booleans (kept as the
 * text written); offset and local date-times, dates and times (kept as
 * written, so "date = 2026-05-28" reads like YAML's date); arrays over
 * several lines; inline tables; [tables] (Zola's [extra], Hugo's
 * [params]) and [[arrays of tables]].  Every error names file:line.
 * Nesting is capped (the parser recurses for arrays and inline tables).
 */
#include "toml.h"

#include <stdlib.h>
#include <string.h>

#define TOML_MAX_DEPTH 32

struct tp {
	const char *s, *end;
	const char *file;
	int line;
	struct herald_err *e;
};

static int
terr(struct tp *p, const char *what)
{
	return herald_errf(p->e, EX_DATAERR, p->file, p->line,
	    "invalid TOML: %s", what);
}

static struct ynode *
tnode(enum ynode_type t, int line)
{
	struct ynode *n = xcalloc(1, sizeof(*n));

	n->type = t;
	n->line = line;
	return n;
}

static void
tappend(struct ynode *n, char *key, int kline, struct ynode *item)
{
	n->keys = xrealloc(n->keys, (n->n + 1) * sizeof(*n->keys));
	n->key_lines = xrealloc(n->key_lines, (n->n + 1) *
	    sizeof(*n->key_lines));
	n->items = xrealloc(n->items, (n->n + 1) * sizeof(*n->items));
	n->keys[n->n] = key;
	n->key_lines[n->n] = kline;
	n->items[n->n++] = item;
}

static void
tpush(struct ynode *seq, struct ynode *item)
{
	seq->items = xrealloc(seq->items, (seq->n + 1) * sizeof(*seq->items));
	seq->items[seq->n++] = item;
}

static struct ynode *
tget(struct ynode *map, const char *key)
{
	return (struct ynode *)ynode_get(map, key);
}

/* Skip blanks, and also comments and newlines when nl is set. */
static void
skip_ws(struct tp *p, bool nl)
{
	while (p->s < p->end) {
		char c = *p->s;
		if (c == ' ' || c == '\t')
			p->s++;
		else if (c == '#') {
			while (p->s < p->end && *p->s != '\n')
				p->s++;
		} else if (nl && c == '\n') {
			p->s++;
			p->line++;
		} else
			break;
	}
}

static bool
bare_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void
put_utf8(struct hbuf *b, unsigned long c)
{
	if (c < 0x80)
		hbuf_putc(b, (char)c);
	else if (c < 0x800) {
		hbuf_putc(b, (char)(0xc0 | (c >> 6)));
		hbuf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		hbuf_putc(b, (char)(0xe0 | (c >> 12)));
		hbuf_putc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		hbuf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		hbuf_putc(b, (char)(0xf0 | (c >> 18)));
		hbuf_putc(b, (char)(0x80 | ((c >> 12) & 0x3f)));
		hbuf_putc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		hbuf_putc(b, (char)(0x80 | (c & 0x3f)));
	}
}

/* A string starting at p->s (a quote); the text goes to out. */
static int
parse_string(struct tp *p, struct hbuf *out)
{
	char q = *p->s;
	bool multi = p->end - p->s >= 3 && p->s[1] == q && p->s[2] == q;
	int start = p->line;

	p->s += multi ? 3 : 1;
	/* a newline right after the opening delimiter is trimmed */
	if (multi && p->s < p->end && *p->s == '\n') {
		p->s++;
		p->line++;
	}
	hbuf_put(out, "", 0);
	for (;;) {
		char c;

		if (p->s >= p->end) {
			p->line = start;
			return terr(p, "string is not closed");
		}
		c = *p->s;
		if (c == q) {
			if (!multi) {
				p->s++;
				return 0;
			}
			if (p->end - p->s >= 3 && p->s[1] == q && p->s[2] == q) {
				p->s += 3;
				/* up to two more quotes belong to the string */
				for (int k = 0; k < 2 && p->s < p->end &&
				    *p->s == q; k++)
					hbuf_putc(out, *p->s++);
				return 0;
			}
		}
		if (c == '\n') {
			if (!multi)
				return terr(p, "string is not closed on its "
				    "line (use \"\"\" for several lines)");
			p->line++;
		}
		if (c == '\\' && q == '"') {
			const char *t = p->s + 1;
			unsigned long u = 0;
			int digits = 0;

			if (t >= p->end)
				continue;	/* reported as unclosed */
			switch (*t) {
			case 'b': hbuf_putc(out, '\b'); break;
			case 't': hbuf_putc(out, '\t'); break;
			case 'n': hbuf_putc(out, '\n'); break;
			case 'f': hbuf_putc(out, '\f'); break;
			case 'r': hbuf_putc(out, '\r'); break;
			case '"': hbuf_putc(out, '"'); break;
			case '\\': hbuf_putc(out, '\\'); break;
			case 'u': digits = 4; break;
			case 'U': digits = 8; break;
			default:
				if (multi && (*t == ' ' || *t == '\t' ||
				    *t == '\n')) {
					/* line-ending backslash: trim */
					const char *r = t;
					while (r < p->end && (*r == ' ' ||
					    *r == '\t'))
						r++;
					if (r < p->end && *r != '\n')
						return terr(p, "invalid "
						    "escape in a string");
					while (r < p->end && (*r == ' ' ||
					    *r == '\t' || *r == '\n')) {
						if (*r == '\n')
							p->line++;
						r++;
					}
					p->s = r;
					continue;
				}
				return terr(p, "invalid escape in a string");
			}
			t++;
			for (int k = 0; k < digits; k++, t++) {
				int v;
				if (t >= p->end)
					return terr(p, "short \\u escape");
				if (*t >= '0' && *t <= '9')
					v = *t - '0';
				else if ((*t | 0x20) >= 'a' && (*t | 0x20) <= 'f')
					v = (*t | 0x20) - 'a' + 10;
				else
					return terr(p, "invalid \\u escape");
				u = u * 16 + (unsigned long)v;
			}
			if (digits > 0) {
				if (u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)
				    || u == 0)
					return terr(p, "invalid \\u escape");
				put_utf8(out, u);
			}
			p->s = t;
			continue;
		}
		if ((unsigned char)c < 0x20 && c != '\t' && c != '\n')
			return terr(p, "control character in a string");
		hbuf_putc(out, c);
		p->s++;
	}
}

/* One key part (bare or quoted). */
static int
parse_key_part(struct tp *p, char **out)
{
	struct hbuf b = HBUF_INIT;
	int rc;

	*out = NULL;
	if (p->s < p->end && (*p->s == '"' || *p->s == '\'')) {
		if (p->end - p->s >= 3 && p->s[1] == *p->s && p->s[2] == *p->s)
			return terr(p, "a key cannot be a multi-line string");
		if ((rc = parse_string(p, &b)) != 0) {
			hbuf_free(&b);
			return rc;
		}
		*out = hbuf_detach(&b);
		if (*out == NULL)
			*out = xstrdup("");
		return 0;
	}
	while (p->s < p->end && bare_char(*p->s))
		hbuf_putc(&b, *p->s++);
	if (b.len == 0)
		return terr(p, "expected a key (name = value)");
	*out = hbuf_detach(&b);
	return 0;
}

/* A dotted key; *parts is a NULL-terminated array. */
static int
parse_key(struct tp *p, char ***parts, size_t *nparts)
{
	char **v = NULL;
	size_t n = 0;
	int rc;

	for (;;) {
		char *part;

		skip_ws(p, false);
		if ((rc = parse_key_part(p, &part)) != 0)
			break;
		v = xrealloc(v, (n + 2) * sizeof(*v));
		v[n++] = part;
		v[n] = NULL;
		skip_ws(p, false);
		if (p->s < p->end && *p->s == '.') {
			p->s++;
			continue;
		}
		*parts = v;
		*nparts = n;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

static void
free_key(char **parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
	free(parts);
}

static int parse_value(struct tp *p, int depth, struct ynode **out);

/*
 * Walk (creating) the tables of parts[0..n-1] from map; with set, the
 * last part is created for *val.  Tables made by a dotted key or header
 * are marked by line < 0 only while implicit; we keep it simple: an
 * existing scalar or array on the way is an error.
 */
static int
descend(struct tp *p, struct ynode *map, char **parts, size_t n,
    struct ynode **out)
{
	for (size_t i = 0; i < n; i++) {
		struct ynode *next = tget(map, parts[i]);

		if (next == NULL) {
			next = tnode(YNODE_MAP, p->line);
			tappend(map, xstrdup(parts[i]), p->line, next);
		} else if (next->type == YNODE_SEQ && next->n > 0 &&
		    next->items[next->n - 1]->type == YNODE_MAP &&
		    next->scalar != NULL) {
			/* an array of tables: its last table */
			next = next->items[next->n - 1];
		} else if (next->type != YNODE_MAP) {
			return herald_errf(p->e, EX_DATAERR, p->file, p->line,
			    "invalid TOML: '%s' is already a value (line %d)",
			    parts[i], next->line);
		}
		map = next;
	}
	*out = map;
	return 0;
}

static int
parse_keyval(struct tp *p, struct ynode *table, int depth)
{
	char **parts;
	size_t n;
	struct ynode *map, *val;
	int rc, line = p->line;

	if ((rc = parse_key(p, &parts, &n)) != 0)
		return rc;
	skip_ws(p, false);
	if (p->s >= p->end || *p->s != '=') {
		free_key(parts, n);
		return terr(p, "expected '=' after a key");
	}
	p->s++;
	skip_ws(p, false);
	if ((rc = descend(p, table, parts, n - 1, &map)) != 0) {
		free_key(parts, n);
		return rc;
	}
	if (tget(map, parts[n - 1]) != NULL) {
		rc = herald_errf(p->e, EX_DATAERR, p->file, line,
		    "invalid TOML: duplicate key '%s'", parts[n - 1]);
		free_key(parts, n);
		return rc;
	}
	if ((rc = parse_value(p, depth + 1, &val)) != 0) {
		free_key(parts, n);
		return rc;
	}
	tappend(map, parts[n - 1], line, val);
	parts[n - 1] = NULL;
	free_key(parts, n - 1);
	return 0;
}

static int
parse_array(struct tp *p, int depth, struct ynode **out)
{
	struct ynode *seq = tnode(YNODE_SEQ, p->line);
	int rc, start = p->line;

	p->s++;	/* [ */
	for (;;) {
		struct ynode *item;

		skip_ws(p, true);
		if (p->s >= p->end) {
			p->line = start;
			rc = terr(p, "array is not closed with ']'");
			goto fail;
		}
		if (*p->s == ']') {
			p->s++;
			*out = seq;
			return 0;
		}
		if ((rc = parse_value(p, depth + 1, &item)) != 0)
			goto fail;
		tpush(seq, item);
		skip_ws(p, true);
		if (p->s < p->end && *p->s == ',')
			p->s++;
		else if (p->s < p->end && *p->s != ']') {
			rc = terr(p, "expected ',' or ']' in an array");
			goto fail;
		}
	}
fail:
	ynode_free(seq);
	return rc;
}

static int
parse_inline_table(struct tp *p, int depth, struct ynode **out)
{
	struct ynode *map = tnode(YNODE_MAP, p->line);
	int rc;

	p->s++;	/* { */
	skip_ws(p, false);
	if (p->s < p->end && *p->s == '}') {
		p->s++;
		*out = map;
		return 0;
	}
	for (;;) {
		if ((rc = parse_keyval(p, map, depth)) != 0)
			goto fail;
		skip_ws(p, false);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == '}') {
			p->s++;
			*out = map;
			return 0;
		}
		rc = terr(p, "expected ',' or '}' in an inline table (it "
		    "must stay on one line)");
		goto fail;
	}
fail:
	ynode_free(map);
	return rc;
}

/* Numbers, booleans, dates and times: kept as the text written. */
static int
parse_atom(struct tp *p, struct ynode **out)
{
	const char *a = p->s;
	bool digit0 = p->s < p->end && ((*p->s >= '0' && *p->s <= '9') ||
	    *p->s == '+' || *p->s == '-');
	struct ynode *n;

	while (p->s < p->end) {
		char c = *p->s;
		if (bare_char(c) || c == '.' || c == ':' || c == '+')
			p->s++;
		/* "1979-05-27 07:32:00Z": a space between date and time */
		else if (c == ' ' && digit0 && p->s - a == 10 &&
		    p->s + 1 < p->end && p->s[1] >= '0' && p->s[1] <= '9')
			p->s++;
		else
			break;
	}
	if (p->s == a)
		return terr(p, "expected a value (a \"string\", number, "
		    "true/false, date, [array] or {table})");
	if (!digit0) {
		size_t len = (size_t)(p->s - a);
		if (!((len == 4 && memcmp(a, "true", 4) == 0) ||
		    (len == 5 && memcmp(a, "false", 5) == 0) ||
		    (len == 3 && (memcmp(a, "inf", 3) == 0 ||
		    memcmp(a, "nan", 3) == 0))))
			return herald_errf(p->e, EX_DATAERR, p->file, p->line,
			    "invalid TOML: value '%.*s' is not a string, "
			    "number, date or true/false (quote text)",
			    (int)(len > 40 ? 40 : len), a);
	}
	n = tnode(YNODE_SCALAR, p->line);
	n->scalar = xstrndup(a, (size_t)(p->s - a));
	*out = n;
	return 0;
}

static int
parse_value(struct tp *p, int depth, struct ynode **out)
{
	*out = NULL;
	if (depth > TOML_MAX_DEPTH)
		return terr(p, "nested too deep");
	if (p->s >= p->end || *p->s == '\n')
		return terr(p, "a key has no value");
	if (*p->s == '"' || *p->s == '\'') {
		struct hbuf b = HBUF_INIT;
		struct ynode *n;
		int line = p->line, rc;

		if ((rc = parse_string(p, &b)) != 0) {
			hbuf_free(&b);
			return rc;
		}
		if (strlen(hbuf_cstr(&b)) != b.len) {
			hbuf_free(&b);
			return terr(p, "NUL character in a string");
		}
		n = tnode(YNODE_SCALAR, line);
		n->scalar = xstrdup(hbuf_cstr(&b));
		hbuf_free(&b);
		*out = n;
		return 0;
	}
	if (*p->s == '[')
		return parse_array(p, depth, out);
	if (*p->s == '{')
		return parse_inline_table(p, depth, out);
	return parse_atom(p, out);
}

/* After a value or header: only blanks and a comment to the line's end. */
static int
end_of_line(struct tp *p)
{
	skip_ws(p, false);
	if (p->s < p->end && *p->s != '\n')
		return terr(p, "unexpected text after a value (one key = "
		    "value per line)");
	if (p->s < p->end) {
		p->s++;
		p->line++;
	}
	return 0;
}

/* "[a.b]" or "[[a.b]]" at p->s; *table becomes the table to fill. */
static int
parse_header(struct tp *p, struct ynode *root, struct ynode **table)
{
	bool aot = p->end - p->s >= 2 && p->s[1] == '[';
	char **parts;
	size_t n;
	struct ynode *parent, *t;
	int rc;

	p->s += aot ? 2 : 1;
	if ((rc = parse_key(p, &parts, &n)) != 0)
		return rc;
	if (p->s >= p->end || *p->s != ']' || (aot && (p->end - p->s < 2 ||
	    p->s[1] != ']'))) {
		free_key(parts, n);
		return terr(p, aot ? "expected ']]' after a table name" :
		    "expected ']' after a table name");
	}
	p->s += aot ? 2 : 1;
	if ((rc = descend(p, root, parts, n - 1, &parent)) != 0) {
		free_key(parts, n);
		return rc;
	}
	t = tget(parent, parts[n - 1]);
	if (aot) {
		if (t == NULL) {
			t = tnode(YNODE_SEQ, p->line);
			t->scalar = xstrdup("");	/* marks an array of tables */
			tappend(parent, xstrdup(parts[n - 1]), p->line, t);
		} else if (t->type != YNODE_SEQ || t->scalar == NULL) {
			rc = herald_errf(p->e, EX_DATAERR, p->file, p->line,
			    "invalid TOML: '%s' is already defined (line %d)",
			    parts[n - 1], t->line);
			free_key(parts, n);
			return rc;
		}
		tpush(t, tnode(YNODE_MAP, p->line));
		*table = t->items[t->n - 1];
	} else {
		if (t == NULL) {
			t = tnode(YNODE_MAP, p->line);
			tappend(parent, xstrdup(parts[n - 1]), p->line, t);
		} else if (t->type != YNODE_MAP || t->scalar != NULL) {
			rc = herald_errf(p->e, EX_DATAERR, p->file, p->line,
			    "invalid TOML: table [%s] is defined twice "
			    "(line %d)", parts[n - 1], t->line);
			free_key(parts, n);
			return rc;
		}
		t->scalar = xstrdup("");	/* defined by a header now */
		*table = t;
	}
	free_key(parts, n);
	return 0;
}

/* Drop the "defined" marks (scalar "") used while parsing. */
static void
unmark(struct ynode *n)
{
	if (n->type != YNODE_SCALAR) {
		free(n->scalar);
		n->scalar = NULL;
	}
	for (size_t i = 0; i < n->n; i++)
		unmark(n->items[i]);
}

int
herald_toml_parse(const char *data, size_t len, const char *file,
    int first_line, struct ynode **out, struct herald_err *e)
{
	struct tp p = {data, data + len, file, first_line, e};
	struct ynode *root = tnode(YNODE_MAP, first_line), *table = root;
	int rc;

	*out = NULL;
	for (;;) {
		skip_ws(&p, true);
		if (p.s >= p.end)
			break;
		if (*p.s == '[')
			rc = parse_header(&p, root, &table);
		else
			rc = parse_keyval(&p, table, 0);
		if (rc == 0)
			rc = end_of_line(&p);
		if (rc != 0) {
			ynode_free(root);
			return rc;
		}
	}
	unmark(root);
	*out = root;
	return 0;
}
