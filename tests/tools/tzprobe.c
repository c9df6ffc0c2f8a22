/*
 * tzprobe.c - a probe for tests/e2e/test_tz_oracle.py: for each stdin line
 * "ZONE UTC_SECONDS" print the HTML herald_localize() makes of that instant
 * in that zone (locale en, or argv[2]; skeleton argv[1] or the default),
 * one line each, or "ERROR message".  Consecutive lines for one zone are
 * formatted in one call, as herald does for one (zone, locale) pair.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "localtime.h"

static void
flush(const char *zone, struct herald_session *s, size_t n,
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
		for (size_t i = 0; i < n; i++)
			printf("%s\n", l[i].html);
	}
	herald_localized_free(l, n);
	free(l);
	for (size_t i = 0; i < n; i++)
		free(s[i].zone);
}

int
main(int argc, char **argv)
{
	const char *skeleton = argc > 1 && argv[1][0] ? argv[1] : NULL;
	const char *locale = argc > 2 ? argv[2] : "en";
	char line[512], zone[256] = "";
	struct herald_session *s = NULL;
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
		s[n].line = 0;
		s[n].orig = "probe";
		s[n].utc = t;
		s[n].zone = xstrdup(z);
		n++;
	}
	flush(zone, s, n, skeleton, locale);
	free(s);
	return 0;
}
