/*
 * render.h - the post body, parsed once with cmark-gfm (tables,
 * strikethrough, autolink) and rendered to an email-safe HTML fragment with
 * inline styles and to a plain-text part (72 columns, numbered link
 * references).  This module is the only one that includes cmark-gfm.
 *
 * Session times are found in text nodes at parse time; rendering takes one
 * replacement string per time (per (zone, locale) pair), so the tree is
 * walked once per pair and never re-parsed.
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

/* Absolute link URLs in document order, for `check` (owned by doc). */
size_t herald_doc_nlinks(const struct herald_doc *doc);
const char *herald_doc_link(const struct herald_doc *doc, size_t i);

/*
 * Render.  subst[i] replaces time i (NULL subst: the words as written,
 * unchanged).  html_subst entries are raw HTML (already escaped);
 * text_subst entries are plain text.  Output is appended to out.
 */
void herald_render_html(const struct herald_doc *doc,
    const char *const *html_subst, struct hbuf *out);
void herald_render_text(const struct herald_doc *doc,
    const char *const *text_subst, struct hbuf *out);

#endif
