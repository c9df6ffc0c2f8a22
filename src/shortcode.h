/*
 * shortcode.h - what static-site generators put in a Markdown body besides
 * Markdown, turned into what mail can show, before cmark sees the body:
 *
 *  - Hugo shortcodes {{< name args >}} and {{% name args %}}, paired
 *    ({{< name >}}inner{{< /name >}}) or not, named and positional
 *    arguments, over several lines.  Built-ins: figure, youtube, vimeo,
 *    tweet, x, instagram, gist, ref, relref, param, highlight, details,
 *    comment, baseurl; time is left in place for session.c.
 *  - Site shortcodes: templates/shortcodes/NAME.html and NAME.txt
 *    (Mustache with the arguments and inner content), else the
 *    herald.yml policy shortcodes: {NAME: inner|drop}; else an error
 *    naming both fixes.
 *  - Jekyll/Liquid: {% highlight %} (code), {% raw %} (literal),
 *    {% comment %} (dropped), {{ page.x }} / {{ site.x }}, {% include NAME
 *    %} through the same template-or-policy lookup; kramdown {: ...},
 *    {:toc} and {::options /} dropped.  Any other tag is an error.
 *  - Zola shortcodes {{ name(args) }} and {% name(args) %}...{% end %}.
 *
 * Nothing inside code blocks or code spans is touched (Hugo's escape,
 * a slash-star inside the delimiters, shows as the plain shortcode
 * there).  The result keeps a line map
 * so every later error names the author's line.
 */
#ifndef HERALD_SHORTCODE_H
#define HERALD_SHORTCODE_H

#include "util.h"
#include "config.h"
#include "ynode.h"

/* A site template's output, placed by render.c where its marker is. */
struct herald_snippet {
	char *html;
	char *text;
};

struct herald_expanded {
	char *body;             /* Markdown, NUL-terminated */
	size_t len;
	int *line_map;          /* file line of body line i (0-based) */
	size_t nlines;
	struct herald_snippet *snips;
	size_t nsnips;
	char marker[32];        /* snippet i is the HTML comment
	                         * "<!--" marker i "-->" in body */
};

/*
 * Expand body[0..len), whose first line is file line first_line.  front
 * is the post's front matter (a map), for {{< param >}} and {{ page.x }}.
 * Returns 0 or EX_DATAERR with e naming file:line (EX_NOINPUT/EX_DATAERR
 * for a site template that cannot be read or compiled).
 */
int herald_shortcodes_expand(const char *file, const char *body, size_t len,
    int first_line, const struct ynode *front,
    const struct herald_config *cfg, struct herald_expanded *out,
    struct herald_err *e);
void herald_expanded_free(struct herald_expanded *x);

#endif
