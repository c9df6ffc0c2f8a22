/*
 * template.h - the Mustache subset herald's templates use: {{var}} escaped
 * for the template's context, {{{var}}} and {{&var}} raw, {{#section}},
 * {{^inverted}}, {{! comment}}, dotted names, implicit iterator {{.}}.
 * No partials, no lambdas, no delimiter changes.
 *
 * Compiled once; rendered per recipient against a tree of values that
 * mostly points at data owned elsewhere, so rendering allocates only the
 * output.
 */
#ifndef HERALD_TEMPLATE_H
#define HERALD_TEMPLATE_H

#include "util.h"

enum hval_type { HVAL_NULL, HVAL_BOOL, HVAL_STR, HVAL_MAP, HVAL_LIST };

/* A value.  Strings and arrays are borrowed, never freed by the template. */
struct hval {
	enum hval_type type;
	bool b;                      /* HVAL_BOOL */
	const char *s;               /* HVAL_STR (UTF-8) */
	size_t n;                    /* HVAL_MAP / HVAL_LIST: item count */
	const char *const *keys;     /* HVAL_MAP: n keys */
	const struct hval *items;    /* HVAL_MAP / HVAL_LIST: n values */
};

enum herald_tpl_escape {
	HERALD_TPL_HTML,   /* {{x}} is HTML-escaped */
	HERALD_TPL_TEXT,   /* {{x}} is copied as is */
};

struct herald_tpl;

/*
 * Compile src[0..len) (copied; the caller keeps src).  file names the
 * template in errors.  Fails with EX_DATAERR and e's file:line at the
 * offending tag for: an unclosed tag ("{{x" with no "}}"), an unclosed
 * section, an end tag that does not close the open section, an empty or
 * malformed name ("{{}}", "{{a..b}}", "{{a b}}"), sections nested deeper
 * than 64, and the unsupported partials ("partials are not supported")
 * and delimiter changes.  On success *out is the template; free it with
 * herald_tpl_free() (NULL is fine).
 */
int herald_tpl_compile(const char *src, size_t len, const char *file,
    enum herald_tpl_escape esc, struct herald_tpl **out, struct herald_err *e);
void herald_tpl_free(struct herald_tpl *t);

/*
 * Render against root (normally a map; any value works, as the bottom of
 * the context stack; NULL is an empty context) and append to out.
 * Missing names render empty, as in the Mustache spec; {{x}} of a map or
 * list renders empty, of a boolean "true"/"false".  Sections: false, null,
 * "", an empty list and a missing name skip the body; a list repeats it
 * per item; anything else renders it once with the value on the stack.
 * Parses nothing and allocates nothing beyond growing out.
 */
void herald_tpl_render(const struct herald_tpl *t, const struct hval *root,
    struct hbuf *out);

/*
 * Report the first name the template uses that root does not define
 * (resolving dotted names and section context as rendering would, with
 * every section entered): EX_DATAERR "unknown variable 'x'" at file:line.
 * Inside {{#s}}, names resolve against s's value first: a map itself, a
 * list's first item (an empty list's items define nothing), then the
 * enclosing contexts.  {{.}} always resolves.  Returns 0 when every name
 * resolves.  Used by `check` with a root holding every variable herald
 * provides.
 */
int herald_tpl_check(const struct herald_tpl *t, const struct hval *root,
    struct herald_err *e);

#endif
