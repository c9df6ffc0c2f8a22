/*
 * test_session.c - the session-time grammar, one data file per case under
 * tests/data/sessions/.  A case file holds "key: value" lines:
 *
 *   date: 2021-04-26              post date (omit: none)
 *   zone: Europe/Berlin           post's timezone: (omit: none)
 *   alias: IST Asia/Kolkata       a timezone_aliases entry (repeatable)
 *   line: 7                       line of the text's first byte (default 1)
 *   text: Wed at 07:00 ET         the text node; repeated text: lines are
 *                                 joined with newlines
 *   expect: LINE UTC ZONE WORDS   one per match, in order; UTC as
 *                                 2021-04-28T11:00:00Z
 *   error: LINE SUBSTRING         the scan fails with EX_DATAERR at LINE
 *                                 and a message containing SUBSTRING
 *
 *   skip: LINE WORDS              a phrase left as written and reported
 *
 * A case with neither expect: nor error: must convert nothing (a
 * near-miss); phrases it reports are checked only when skip: is given.
 * Lines starting with # are comments.
 */
#include "harness.h"

#include <dirent.h>
#include <stdlib.h>

#include "localtime.h"
#include "session.h"

struct expect {
	int line;
	char utc[32];
	char zone[64];
	char words[256];
};

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	return s;
}

static void
fmt_utc(int64_t t, char out[32])
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400;
	int y, m, d;

	herald_civil_from_days(days, &y, &m, &d);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
	    (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

static void
run_case(const char *dir, const char *name)
{
	char path[1024], buf[2048];
	struct hbuf text = HBUF_INIT;
	struct herald_alias aliases[8];
	struct expect exp[16], skp[16];
	size_t naliases = 0, nexp = 0, nskp = 0;
	int line = 1, err_line = 0;
	char err_sub[512] = "", zone[64] = "";
	bool want_err = false, have_text = false;
	struct herald_sessions_ctx ctx;
	struct herald_time_match *m = NULL;
	size_t n = 0;
	struct herald_err e = {0};
	FILE *f;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.file = "post.md";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL) {
		OK(0, "cannot open %s", path);
		return;
	}
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *colon, *key, *val;

		if (buf[0] == '#' || trim(buf)[0] == '\0')
			continue;
		if ((colon = strchr(buf, ':')) == NULL) {
			OK(0, "%s: bad line: %s", name, buf);
			continue;
		}
		*colon = '\0';
		key = trim(buf);
		val = colon + 1;
		if (*val == ' ')
			val++;
		val[strcspn(val, "\r\n")] = '\0';
		if (strcmp(key, "date") == 0)
			sscanf(val, "%d-%d-%d", &ctx.year, &ctx.month, &ctx.day);
		else if (strcmp(key, "zone") == 0)
			snprintf(zone, sizeof(zone), "%s", trim(val));
		else if (strcmp(key, "line") == 0)
			line = atoi(val);
		else if (strcmp(key, "alias") == 0 && naliases < 8) {
			char a[32], z[64];
			if (sscanf(val, "%31s %63s", a, z) == 2) {
				aliases[naliases].abbr = xstrdup(a);
				aliases[naliases].zone = xstrdup(z);
				naliases++;
			}
		} else if (strcmp(key, "text") == 0) {
			if (have_text)
				hbuf_putc(&text, '\n');
			hbuf_puts(&text, val);
			have_text = true;
		} else if (strcmp(key, "expect") == 0 && nexp < 16) {
			struct expect *x = &exp[nexp++];
			int off = 0;
			if (sscanf(val, "%d %31s %63s %n", &x->line, x->utc, x->zone,
			    &off) < 3 || off == 0)
				OK(0, "%s: bad expect: %s", name, val);
			snprintf(x->words, sizeof(x->words), "%s", val + off);
		} else if (strcmp(key, "skip") == 0 && nskp < 16) {
			struct expect *x = &skp[nskp++];
			int off = 0;
			sscanf(val, "%d %n", &x->line, &off);
			snprintf(x->words, sizeof(x->words), "%s", val + off);
		} else if (strcmp(key, "error") == 0) {
			int off = 0;
			want_err = true;
			sscanf(val, "%d %n", &err_line, &off);
			snprintf(err_sub, sizeof(err_sub), "%s", val + off);
		} else
			OK(0, "%s: unknown key %s", name, key);
	}
	fclose(f);
	OK(have_text, "%s: no text:", name);
	ctx.post_zone = zone[0] ? zone : NULL;
	ctx.aliases = aliases;
	ctx.naliases = naliases;

	rc = herald_sessions_scan(&ctx, hbuf_cstr(&text), text.len, line, &m, &n,
	    &e);
	if (want_err) {
		INT_EQ(rc, EX_DATAERR, "%s: want an error", name);
		INT_EQ(e.line, err_line, "%s: error line (%s)", name, e.msg);
		STR_EQ(e.file, "post.md", "%s: error file", name);
		OK(strstr(e.msg, err_sub) != NULL, "%s: message \"%s\" lacks \"%s\"",
		    name, e.msg, err_sub);
		OK(m == NULL && n == 0, "%s: matches on error", name);
	} else {
		struct herald_time_match *all = m;
		size_t nall = n, ns = 0, nc = 0;

		INT_EQ(rc, 0, "%s: %s", name, e.msg);
		/* converted ones first, in order; then the skipped */
		m = xcalloc(nall ? nall : 1, sizeof(*m));
		for (size_t i = 0; i < nall; i++)
			if (all[i].skip == NULL)
				m[nc++] = all[i];
		for (size_t i = 0; i < nall; i++)
			if (all[i].skip != NULL) {
				if (nskp > 0) {
					OK(ns < nskp, "%s: unexpected skip \"%s\" (%s)",
					    name, all[i].s.orig, all[i].skip);
					if (ns < nskp) {
						STR_EQ(all[i].s.orig, skp[ns].words,
						    "%s: skip %zu words", name, ns);
						INT_EQ(all[i].s.line, skp[ns].line,
						    "%s: skip %zu line", name, ns);
					}
				}
				ns++;
			}
		if (nskp > 0)
			INT_EQ(ns, nskp, "%s: number of skipped phrases", name);
		n = nc;
		INT_EQ(n, nexp, "%s: number of matches", name);
		for (size_t i = 0; i < n && i < nexp; i++) {
			char got[32], words[256];

			fmt_utc(m[i].s.utc, got);
			STR_EQ(got, exp[i].utc, "%s: match %zu instant", name, i);
			STR_EQ(m[i].s.zone, exp[i].zone, "%s: match %zu zone", name, i);
			INT_EQ(m[i].s.line, exp[i].line, "%s: match %zu line", name, i);
			snprintf(words, sizeof(words), "%.*s", (int)m[i].len,
			    hbuf_cstr(&text) + m[i].start);
			if (strncmp(words, "{{<", 3) != 0)
				STR_EQ(words, exp[i].words, "%s: match %zu span", name, i);
			STR_EQ(m[i].s.orig, exp[i].words, "%s: match %zu orig", name, i);
		}
		free(m);
		m = all;
		n = nall;
	}
	herald_time_matches_free(m, n);
	for (size_t i = 0; i < naliases; i++) {
		free(aliases[i].abbr);
		free(aliases[i].zone);
	}
	hbuf_free(&text);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_data_cases(void)
{
	const char *src = getenv("HERALD_SRC");
	char dir[1024];
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/data/sessions", src ? src : ".");
	if ((d = opendir(dir)) == NULL) {
		OK(0, "cannot open %s", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);

		/* cases are NAME.txt; corpus/ is test_session_corpus.py's */
		if (de->d_name[0] == '.' || nl < 5 ||
		    strcmp(de->d_name + nl - 4, ".txt") != 0)
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	OK(n >= 30, "only %zu cases in %s", n, dir);
	for (size_t i = 0; i < n; i++) {
		run_case(dir, names[i]);
		free(names[i]);
	}
	free(names);
}

/* Scanning is per text node and must not depend on a NUL terminator. */
static void
test_not_nul_terminated(void)
{
	struct herald_sessions_ctx ctx = {"p.md", 2021, 4, 26, NULL, NULL, 0};
	const char text[] = "Wed at 07:00 ETX";
	struct herald_time_match *m;
	size_t n;
	struct herald_err e = {0};

	/* Only "Wed at 07:00 ET" is the node; the X after it is not ours. */
	INT_EQ(herald_sessions_scan(&ctx, text, 15, 1, &m, &n, &e), 0, "%s", e.msg);
	INT_EQ(n, 1, "one match");
	if (n == 1)
		INT_EQ(m[0].len, 15, "whole node");
	herald_time_matches_free(m, n);
	INT_EQ(herald_sessions_scan(&ctx, text, 0, 1, &m, &n, &e), 0, "empty");
	INT_EQ(n, 0, "empty");
	OK(m == NULL, "empty");
}

static void
test_copy(void)
{
	struct herald_session a = {3, "Wed at 07:00 ET", 1619607600,
	    "America/New_York"}, b;

	herald_session_copy(&b, &a);
	STR_EQ(b.orig, a.orig, "copy");
	OK(b.orig != a.orig, "deep copy");
	INT_EQ(b.utc, a.utc, "copy");
	herald_session_free(&b);
	OK(b.orig == NULL && b.zone == NULL, "freed");
	herald_session_free(&b);
}

/*
 * Robustness: random strings of the grammar's own pieces, cut anywhere,
 * must never be read out of bounds (run under ASan); matches must be in
 * order, inside the text and not overlapping; errors must be one line with
 * a line number.  Errors are fine; crashes are not.
 */
static void
test_random_pieces(void)
{
	static const char *const slot[6][20] = {
		{"", "Wed", "Friday", "2021-04-28", "April 28", "28 April",
		    "Wed, April 28, 2021", "{{< time \"", "Sun 2021-03-14", "WED", "X",
		    "Thursdays", "every other Tuesday", "the 6th", "tomorrow",
		    "next Monday", "Date: Mon, 3 May 2021\nTime:", "March, 3rd",
		    NULL},
		{"", " ", " at ", ", ", "T", " @ ", "\xc2\xa0", "\" \"", " \xe2\x80\xa2 ",
		    " night at ", "\n", NULL},
		{"07:00", "2pm", "7 a.m.", "12:30:15", "25:00", "7", "2:30 pm",
		    "02:30", "01:30", "12am", "noon", "1500", "14.00", "16h", "3",
		    "12:00 noon", NULL},
		{"", " ", "Z", " (", "-", " to ", "\" \"", "\xe2\x80\x93", " / ",
		    " +1 ", " until ", "\xe2\x88\x92", NULL},
		{"ET", "CEST", "IST", "America/New_York", "Mars/Olympus", "UTC+2",
		    "BETA", "XYZT", "EST", "08:00", "Etc/GMT+12", "Pacific Time",
		    "Berlin time", "(US and Canada)", "UTC +1", "(UTC+05:30)",
		    "BST / 4pm EDT", "pt", "4pm", NULL},
		{"", ".", ")", " and ", "\n", "X", "\" >}}", "/", " on Monday",
		    " (10:00 PDT)", " 2021 UTC", " next week", NULL},
	};
	struct herald_sessions_ctx ctx = {"p.md", 2021, 4, 26, NULL, NULL, 0};
	unsigned long long seed = 42;
	int bad = 0, matches = 0, errors = 0;

	for (int round = 0; round < 20000; round++) {
		struct hbuf b = HBUF_INIT;
		struct herald_time_match *m;
		size_t n, prev_end = 0, len;
		struct herald_err e = {0};
		char *copy;

		ctx.post_zone = round % 3 == 0 ? "Europe/Berlin" : NULL;
		ctx.year = round % 5 == 0 ? 0 : 2021;
		for (int rep = 0; rep < 1 + round % 3; rep++)
			for (int i = 0; i < 6; i++) {
				size_t k = 0;
				while (slot[i][k] != NULL)
					k++;
				seed = seed * 6364136223846793005ULL +
				    1442695040888963407ULL;
				hbuf_puts(&b, slot[i][(seed >> 33) % k]);
			}
		/* Cut it anywhere, into an exact-size copy, so ASan sees any
		 * read past the end. */
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		len = round % 2 ? b.len : (seed >> 33) % (b.len + 1);
		/* Text nodes are valid UTF-8: cut between characters. */
		while (len > 0 && len < b.len && (b.data[len] & 0xC0) == 0x80)
			len--;
		copy = xmalloc(len ? len : 1);
		memcpy(copy, hbuf_cstr(&b), len);
		if (herald_sessions_scan(&ctx, copy, len, 1, &m, &n, &e) == 0) {
			for (size_t i = 0; i < n; i++) {
				if (m[i].start < prev_end || m[i].len == 0 ||
				    m[i].start + m[i].len > len || m[i].s.orig == NULL ||
				    (m[i].s.zone == NULL) != (m[i].skip != NULL)) {
					if (getenv("SESSION_DEBUG"))
						fprintf(stderr, "bad match [%.*s]\n", (int)len, copy);
					bad++;
				}
				prev_end = m[i].start + m[i].len;
			}
			matches += n > 0;
			herald_time_matches_free(m, n);
		} else {
			errors++;
			if (e.msg[0] == '\0' || e.line < 1 || !utf8_valid(e.msg,
			    strlen(e.msg), NULL)) {
				if (getenv("SESSION_DEBUG"))
					fprintf(stderr, "bad error [%.*s]: %d %s\n", (int)len,
					    copy, e.line, e.msg);
				bad++;
			}
		}
		free(copy);
		hbuf_free(&b);
	}
	INT_EQ(bad, 0, "bad matches or errors in random texts");
	OK(matches > 1000 && errors > 1000, "random texts exercise little: "
	    "%d with matches, %d errors", matches, errors);
}

int
main(void)
{
	test_data_cases();
	test_not_nul_terminated();
	test_copy();
	test_random_pieces();
	return harness_done();
}
