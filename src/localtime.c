/*
 * localtime.c - zone validity and offsets from the system's tzdata; locale
 * validity and words from ICU.
 */
#include "localtime.h"

#include <string.h>
#include <stdio.h>

#include <unicode/uloc.h>

#define ZONEINFO "/usr/share/zoneinfo"

bool
herald_zone_valid(const char *zone)
{
	char path[512];
	unsigned char magic[4];
	FILE *f;
	bool ok;

	if (zone == NULL || zone[0] == '\0' || zone[0] == '/' ||
	    strstr(zone, "..") != NULL || strlen(zone) > 200)
		return false;
	for (const char *p = zone; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("/_+-", *p)))
			return false;
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO, zone);
	if ((f = fopen(path, "rb")) == NULL)
		return false;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

bool
herald_locale_valid(const char *tag)
{
	char loc[ULOC_FULLNAME_CAPACITY], lang[ULOC_LANG_CAPACITY];
	UErrorCode st = U_ZERO_ERROR;
	int32_t parsed = 0;

	if (tag == NULL || tag[0] == '\0' || strlen(tag) > 64)
		return false;
	uloc_forLanguageTag(tag, loc, sizeof(loc), &parsed, &st);
	if (U_FAILURE(st) || parsed != (int32_t)strlen(tag))
		return false;
	uloc_getLanguage(loc, lang, sizeof(lang), &st);
	if (U_FAILURE(st) || lang[0] == '\0')
		return false;
	/* ICU must have data for the language itself. */
	for (int32_t i = 0, n = uloc_countAvailable(); i < n; i++) {
		const char *a = uloc_getAvailable(i);
		size_t ll = strlen(lang);
		if (strncmp(a, lang, ll) == 0 && (a[ll] == '\0' || a[ll] == '_'))
			return true;
	}
	return false;
}
