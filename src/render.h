/*
 * render.h - the post body, parsed once with cmark-gfm (tables,
 * strikethrough, autolink) and rendered to an email-safe HTML fragment with
 * inline styles and to a plain-text part (72 columns, numbered link
 * references).  This module is the only one that includes cmark-gfm.
 *
 * Session times are found in text nodes at parse time; rendering takes one
 * replacement string per time (per (zone, locale) pair), so the tree is
 * walked once per pair and never re-parsed.  Text in code spans, code
 * blocks and image alt text is never scanned; a time may span a soft line
 * break.
 *
 * Raw HTML in the post is dropped from both parts (cmark's safe default);
 * javascript:, vbscript:, file: and non-image data: URLs are never linked.
 */
#ifndef HERALD_RENDER_H
#define HERALD_RENDER_H

#include "util.h"
#include "config.h"
#include "post.h"
#include "session.h"

struct herald_doc;

/*
 * Parse post->body; make relative link and image URLs absolute against
 * cfg->site_base_url; find session times (sessions.c).  Returns 0 or
 * EX_DATAERR with e naming file:line.  Free with herald_doc_free().
 */
int herald_doc_parse(const struct herald_post *post,
    const struct herald_config *cfg, struct herald_doc **out,
    struct herald_err *e);
void herald_doc_free(struct herald_doc *doc);

/* Session times found, in document order (owned by doc). */
size_t herald_doc_ntimes(const struct herald_doc *doc);
const struct herald_session *herald_doc_time(const struct herald_doc *doc,
    size_t i);

/* Clock-like phrases left as written (no zone, an unknown word after the
 * clock, no day...), in document order: orig and line set, zone NULL;
 * *why says why (owned by doc). */
size_t herald_doc_nskipped(const struct herald_doc *doc);
const struct herald_session *herald_doc_skipped(const struct herald_doc *doc,
    size_t i, const char **why);

/*
 * Absolute link and image URLs in order of first appearance, each once,
 * for `check` (owned by doc).  Dangerous (javascript:...) and empty URLs
 * are left out; #fragments and mailto: are kept as written.
 */
/*
 * Reference links without a definition ("[text][z1]" and no "[z1]: URL"),
 * which reach readers as written: each as in the post, with its file line
 * (owned by doc).  For warnings from `check` and `preview`.
 */
size_t herald_doc_nunresolved(const struct herald_doc *doc);
const char *herald_doc_unresolved(const struct herald_doc *doc, size_t i,
    int *line);

size_t herald_doc_nlinks(const struct herald_doc *doc);
const char *herald_doc_link(const struct herald_doc *doc, size_t i);

/*
 * Render.  subst[i] replaces time i (NULL subst: the words as written,
 * unchanged).  html_subst entries are raw HTML (already escaped);
 * text_subst entries are plain text, kept on one line.  Output is appended
 * to out; lines end in "\n".
 *
 * HTML: a fragment with inline styles on every element, for the template's
 * {{{content}}}.  Text: 72 columns (wrap.c: display width from Unicode's
 * East Asian Width, breaks where UAX #14 allows them, so CJK and Thai wrap;
 * a URL or a localized time is never broken), no trailing blanks,
 * links as "words [n]" with a "Links:" list at the end (autolinks showing
 * their own URL get no number), h1/h2 underlined with = / -, h3+ as "### ",
 * "> " quotes, "- " and "1. " lists with hanging indents, code indented four
 * spaces, tables as aligned columns whose cells wrap inside their column
 * (one "label: value" block per row when the columns cannot fit),
 * _em_, *strong*, ~del~, `code`.
 */
/*
 * A localized time as HTML: <time datetime="DATETIME" title="TITLE">WORDS
 * </time>, escaped (title: the words as the post wrote them).  Caller
 * frees.  The html_subst entries of herald_render_html are these.
 */
char *herald_render_time(const char *datetime, const char *title,
    const char *words);

void herald_render_html(const struct herald_doc *doc,
    const char *const *html_subst, struct hbuf *out);
void herald_render_text(const struct herald_doc *doc,
    const char *const *text_subst, struct hbuf *out);

/*
 * Which lines of the Markdown body[0..len) lie in a code block (fenced or
 * indented, fences included): code[i] is 1 for line i (0-based).  Shortcode
 * expansion uses it to leave code alone.  Caller frees; *nlines is set.
 */
unsigned char *herald_md_code_lines(const char *body, size_t len,
    size_t *nlines);

#endif
