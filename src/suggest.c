/*
 * suggest.c - "did you mean": the closest of a set of known words to one
 * the user typed.  Zone names come from the system's tzdata.zi (the same
 * database localtime.c reads offsets from), so a suggestion is always a
 * zone herald accepts.
 */
#include "suggest.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TZDATA_ZI "/usr/share/zoneinfo/tzdata.zi"
#define MAXLEN 128

/* Optimal string alignment distance, case-insensitive; capped inputs. */
static size_t
distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	static size_t d[MAXLEN + 1][MAXLEN + 1];
	size_t (*dd)[MAXLEN + 1] = d;

	if (n > MAXLEN || m > MAXLEN)
		return (size_t)-1;
	for (size_t i = 0; i <= n; i++)
		dd[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		dd[0][j] = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			size_t v = dd[i - 1][j - 1] + (ca != cb);

			if (dd[i - 1][j] + 1 < v)
				v = dd[i - 1][j] + 1;
			if (dd[i][j - 1] + 1 < v)
				v = dd[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb &&
			    dd[i - 2][j - 2] + 1 < v)
				v = dd[i - 2][j - 2] + 1;
			dd[i][j] = v;
		}
	return dd[n][m];
}

/* Close enough to be worth saying: up to a third of the word, at most 3. */
static size_t
limit(const char *word)
{
	size_t l = strlen(word) / 3;

	return l < 1 ? 1 : l > 3 ? 3 : l;
}

struct best {
	const char *word;
	size_t dist, lim;
	char pick[MAXLEN + 1];
	bool tie;
};

static void
consider(struct best *b, const char *cand)
{
	size_t dist = distance(b->word, cand);

	if (dist == 0 || dist > b->lim)
		return;
	if (dist < b->dist) {
		b->dist = dist;
		snprintf(b->pick, sizeof(b->pick), "%s", cand);
		b->tie = false;
	} else if (dist == b->dist && strcmp(b->pick, cand) != 0)
		b->tie = true;
}

const char *
herald_suggest(const char *word, const char *const *cands, size_t n)
{
	size_t best = (size_t)-1, at = 0;
	bool tie = false;

	for (size_t i = 0; i < n; i++) {
		size_t dist = distance(word, cands[i]);

		if (dist == 0)
			return NULL;	/* it is a known word after all */
		if (dist < best) {
			best = dist;
			at = i;
			tie = false;
		} else if (dist == best)
			tie = true;
	}
	return n > 0 && !tie && best <= limit(word) ? cands[at] : NULL;
}

int
herald_suggest_zone(const char *word, char *out, size_t outsz)
{
	FILE *f = fopen(TZDATA_ZI, "r");
	struct best b = { word, (size_t)-1, limit(word), "", false };
	char line[512];

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *name = NULL, *tok;

		if (line[0] != 'Z' && line[0] != 'L')
			continue;
		line[strcspn(line, "\n")] = '\0';
		strtok(line, " ");
		tok = strtok(NULL, " ");
		/* "Z NAME ...", "L TARGET LINKNAME" */
		name = line[0] == 'L' ? strtok(NULL, " ") : tok;
		if (name != NULL)
			consider(&b, name);
	}
	fclose(f);
	if (b.dist == (size_t)-1 || b.tie)
		return 0;
	snprintf(out, outsz, "%s", b.pick);
	return 1;
}

int
herald_suggest_list(const char *dir, const char *word, char *out,
    size_t outsz)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct best b = { word, (size_t)-1, limit(word), "", false };

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char name[MAXLEN + 1];

		if (n <= 4 || n - 4 > MAXLEN ||
		    strcmp(de->d_name + n - 4, ".csv") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 4), de->d_name);
		consider(&b, name);
	}
	closedir(d);
	if (b.dist == (size_t)-1 || b.tie)
		return 0;
	snprintf(out, outsz, "%s/%s.csv", dir, b.pick);
	return 1;
}
