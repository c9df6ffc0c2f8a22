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
 * Compile src[0..len).  file names the template in errors (unclosed tag,
 * mismatched section end: EX_DATAERR with file:line).  Free with
 * herald_tpl_free().
 */
int herald_tpl_compile(const char *src, size_t len, const char *file,
    enum herald_tpl_escape esc, struct herald_tpl **out, struct herald_err *e);
void herald_tpl_free(struct herald_tpl *t);

/* Render against root (a map); append to out.  Missing names render empty,
 * as in the Mustache spec. */
void herald_tpl_render(const struct herald_tpl *t, const struct hval *root,
    struct hbuf *out);

/*
 * Report the first name the template uses that root does not define
 * (resolving dotted names and section context as rendering would, with
 * every section entered): EX_DATAERR "unknown variable 'x'" at file:line.
 * Used by `check` with a root holding every variable herald provides.
 */
int herald_tpl_check(const struct herald_tpl *t, const struct hval *root,
    struct herald_err *e);

#endif
