/*
 * post.h - a blog post: YAML front matter and a Markdown body.
 *
 * Loading validates UTF-8, parses the front matter (title required), works
 * out the post date (date: > YYYY-MM-DD- file name prefix > --date) and
 * expands Hugo/Jekyll shortcodes in the body ({{< baseurl >}}); the time
 * shortcode {{< time "..." "Zone" >}} is left in place for sessions.c.
 * An unknown shortcode is EX_DATAERR naming its line.
 */
#ifndef HERALD_POST_H
#define HERALD_POST_H

#include "util.h"
#include "config.h"
#include "shortcode.h"
#include "ynode.h"

struct herald_post {
	char *path;
	char *slug;         /* file name without directory and .md; for a
	                       page bundle (NAME/index.md) "NAME/index.md" */
	char *campaign;     /* front matter campaign: (names the campaign
	                       outright), or NULL */
	char *title;
	char *subject;      /* defaults to title */
	char *summary;      /* may be NULL */
	char *timezone;     /* IANA name or NULL */
	char *page_path;    /* the page's path on the site, "/blog/x/", from
	                     * url: (Hugo), permalink: (Jekyll) or path
	                     * (Zola); relative URLs resolve against it */
	int year, month, day;   /* post date; year == 0 when unknown */
	char *body;         /* Markdown after shortcode expansion, NUL-terminated */
	size_t body_len;
	int body_line;      /* file line of body's first line (1-based) */
	/* Line map: body line i (0-based) came from file line line_map[i]
	 * (shortcodes may take or add lines); see herald_post_line(). */
	int *line_map;
	size_t nlines;
	struct ynode *front;    /* the front matter (a map) */
	/* site shortcode templates' output; render.c puts snippet i where
	 * the body holds the HTML comment "<!--" marker i "-->" */
	struct herald_snippet *snips;
	size_t nsnips;
	char marker[32];
	unsigned char hash[32];  /* SHA-256 of the file as read */
};

/*
 * Load and validate the post at path.  date_override ("YYYY-MM-DD" or
 * NULL) is used only when neither date: nor the file name gives a date.
 * Returns 0, EX_NOINPUT, or EX_DATAERR with e naming file:line.
 * Free with herald_post_free().
 */
int herald_post_load(const char *path, const struct herald_config *cfg,
    const char *date_override, struct herald_post *post,
    struct herald_err *e);
void herald_post_free(struct herald_post *post);

/* The file line of body line n (1-based, as cmark counts). */
int herald_post_line(const struct herald_post *post, int n);

#endif
