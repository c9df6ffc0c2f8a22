/*
 * tzprobe.c - a probe for tests/e2e/test_tz_oracle.py: for each stdin line
 * "ZONE UTC_SECONDS" print the HTML herald_localize() makes of that instant
 * in that zone (locale en, or argv[2]; skeleton argv[1] or the default),
 * one line each, or "ERROR message".  Consecutive lines for one zone are
 * formatted in one call, as herald does for one (zone, locale) pair.
 *
 * tzprobe --scan: for each stdin line "DATE<TAB>ZONE<TAB>TEXT" (DATE
 * YYYY-MM-DD or "-", ZONE the post's timezone: or "-", TEXT with "\n" for
 * a newline) scan TEXT as one text node and print one line: "ERROR msg",
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

static int
scan_mode(void)
{
	static char line[8192];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *date = line, *zone, *text;
		struct herald_sessions_ctx ctx;
		struct herald_time_match *m = NULL;
		struct herald_err e = {0};
		size_t n = 0;

		line[strcspn(line, "\r\n")] = '\0';
		if ((zone = strchr(date, '\t')) == NULL ||
		    (text = strchr(zone + 1, '\t')) == NULL) {
			fprintf(stderr, "tzprobe: bad line: %s\n", line);
			return 2;
		}
		*zone++ = '\0';
		*text++ = '\0';
		unescape(text);
		memset(&ctx, 0, sizeof(ctx));
		ctx.file = "post.md";
		if (strcmp(date, "-") != 0)
			sscanf(date, "%d-%d-%d", &ctx.year, &ctx.month, &ctx.day);
		ctx.post_zone = strcmp(zone, "-") != 0 ? zone : NULL;
		if (herald_sessions_scan(&ctx, text, strlen(text), 1, &m, &n,
		    &e) != 0) {
			printf("ERROR %s\n", e.msg);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				fputs(" ; ", stdout);
			if (m[i].skip != NULL)
				printf("S <%s> %s", m[i].skip, m[i].s.orig);
			else {
				printf("T %lld", (long long)m[i].s.utc);
				if (m[i].s.has_end)
					printf("..%lld", (long long)m[i].s.utc_end);
				printf("%s%s %s", m[i].s.recurring ? " R" : "",
				    m[i].s.history ? " H" : "", m[i].s.orig);
			}
		}
		putchar('\n');
		herald_time_matches_free(m, n);
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
