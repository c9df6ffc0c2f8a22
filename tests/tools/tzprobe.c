/*
 * tzprobe.c - a probe for tests/e2e/test_tz_oracle.py: for each stdin line
 * "ZONE UTC_SECONDS" print the HTML herald_localize() makes of that instant
 * in that zone (locale en, or argv[2]; skeleton argv[1] or the default),
 * one line each, or "ERROR message".  Consecutive lines for one zone are
 * formatted in one call, as herald does for one (zone, locale) pair.
 *
 * tzprobe --scan: for each stdin line "DATE<TAB>ZONE<TAB>TEXT" (DATE
 * YYYY-MM-DD or "-", ZONE the post's timezone: or "-", TEXT with "\n" for
 * a newline) render it (render.c finds the times) and print one line: "ERROR msg",
 * or the results separated by " ; ": "T utc[..utc_end][ R][ H] <orig>"
 * for a converted time (R recurring, H history), "S <reason> <orig>" for
 * a phrase left alone, or nothing.  For tests/e2e/test_session_corpus.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "localtime.h"
#include "render.h"
#include "session.h"

static void
flush(const char *zone, struct herald_when *s, size_t n,
    const char *skeleton, const char *locale)
{
	struct herald_localized *l;
	struct herald_err e = {0};

	if (n == 0)
		return;
	l = xcalloc(n, sizeof(*l));
	if (herald_localize(s, n, zone, locale, skeleton, l, &e) != 0) {
		for (size_t i = 0; i < n; i++)
			printf("ERROR %s\n", e.msg);
	} else {
		for (size_t i = 0; i < n; i++) {
			char *h = herald_render_time(l[i].datetime, "probe",
			    l[i].text);
			printf("%s\n", h);
			free(h);
		}
	}
	herald_localized_free(l, n);
	free(l);
	for (size_t i = 0; i < n; i++)
		free((char *)s[i].zone);
}

static void
unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else if (s[0] == '\\' && s[1] == 't') {
			*o++ = '\t';
			s++;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

static void
print_time(const struct herald_session *s, bool skip, const char *why)
{
	if (skip) {
		printf("S <%s> ", why);
	} else {
		printf("T %lld", (long long)s->utc);
		if (s->has_end)
			printf("..%lld", (long long)s->utc_end);
		printf("%s%s ", s->recurring ? " R" : "", s->history ? " H" : "");
	}
	for (const char *p = s->orig; *p; p++)
		putchar(*p == '\n' ? ' ' : *p);
}

/* The TEXT is a post's Markdown body: rendered by render.c, which finds
 * the times (across emphasis, links and line breaks) with session.c. */
static int
scan_mode(void)
{
	static char line[8192];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *date = line, *zone, *text;
		struct herald_post post;
		struct herald_doc *doc = NULL;
		struct herald_err e = {0};
		size_t n, k = 0;

		line[strcspn(line, "\r\n")] = '\0';
		if ((zone = strchr(date, '\t')) == NULL ||
		    (text = strchr(zone + 1, '\t')) == NULL) {
			fprintf(stderr, "tzprobe: bad line: %s\n", line);
			return 2;
		}
		*zone++ = '\0';
		*text++ = '\0';
		unescape(text);
		memset(&post, 0, sizeof(post));
		post.path = "post.md";
		if (strcmp(date, "-") != 0)
			sscanf(date, "%d-%d-%d", &post.year, &post.month, &post.day);
		post.timezone = strcmp(zone, "-") != 0 ? zone : NULL;
		post.body = text;
		post.body_len = strlen(text);
		post.body_line = 1;
		if (herald_doc_parse(&post, NULL, &doc, &e) != 0) {
			printf("ERROR %s\n", e.msg);
			continue;
		}
		n = herald_doc_ntimes(doc);
		for (size_t i = 0; i < n; i++, k++) {
			if (k > 0)
				fputs(" ; ", stdout);
			print_time(herald_doc_time(doc, i), false, NULL);
		}
		n = herald_doc_nskipped(doc);
		for (size_t i = 0; i < n; i++, k++) {
			const char *why;
			const struct herald_session *s = herald_doc_skipped(doc, i,
			    &why);
			if (k > 0)
				fputs(" ; ", stdout);
			print_time(s, true, why);
		}
		putchar('\n');
		herald_doc_free(doc);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--scan") == 0)
		return scan_mode();
	const char *skeleton = argc > 1 && argv[1][0] ? argv[1] : NULL;
	const char *locale = argc > 2 ? argv[2] : "en";
	char line[512], zone[256] = "";
	struct herald_when *s = NULL;
	size_t n = 0, cap = 0;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char z[256];
		long long t;

		if (sscanf(line, "%255s %lld", z, &t) != 2) {
			fprintf(stderr, "tzprobe: bad line: %s", line);
			return 2;
		}
		if (strcmp(z, zone) != 0) {
			flush(zone, s, n, skeleton, locale);
			n = 0;
			snprintf(zone, sizeof(zone), "%s", z);
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			s = xrealloc(s, cap * sizeof(*s));
		}
		memset(&s[n], 0, sizeof(s[n]));
		s[n].utc = t;
		s[n].zone = xstrdup(z);
		n++;
	}
	flush(zone, s, n, skeleton, locale);
	free(s);
	return 0;
}
