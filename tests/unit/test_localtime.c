/*
 * test_localtime.c - offsets from tzdata and words from ICU: the issue's
 * subscribers (Berlin in German, Kolkata, Kiritimati on the Thursday), zones
 * ICU 72 gets wrong (America/Ciudad_Juarez, Mexico after 2022), the
 * TZif/POSIX footer reader and local-to-UTC resolution.
 */
#include "harness.h"

#include <stdlib.h>

#include "localtime.h"
#include "render.h"

/* An instant and the words the post wrote it in (the <time> title). */
struct ts {
	const char *orig;
	struct herald_when w;
};

/* "Wed at 07:00 ET" with the post dated 2021-04-26. */
static struct ts wed = {"Wed at 07:00 ET", {1619607600, false, 0, false, "America/New_York"}};

static void
one(const struct ts *s, const char *zone, const char *locale,
    const char *skeleton, const char *want_html, const char *want_text)
{
	struct herald_localized l;
	struct herald_err e = {0};

	INT_EQ(herald_localize(&s->w, 1, zone, locale, skeleton, &l, &e), 0,
	    "%s %s: %s", zone ? zone : "(own)", locale ? locale : "(en)", e.msg);
	if (want_html != NULL && l.text != NULL) {
		char *h = herald_render_time(l.datetime, s->orig, l.text);
		STR_EQ(h, want_html, "%s %s html", zone, locale);
		free(h);
	}
	if (want_text != NULL)
		STR_EQ(l.text, want_text, "%s %s text", zone, locale);
	herald_localized_free(&l, 1);
}

static void
test_issue_subscribers(void)
{
	/* Berlin, German: Mittwoch 28 April 13:00, +02:00. */
	one(&wed, "Europe/Berlin", "de-DE", NULL,
	    "<time datetime=\"2021-04-28T13:00:00+02:00\" title=\"Wed at 07:00 ET\">"
	    "Mi., 28. Apr., 13:00 CEST</time>", "Mi., 28. Apr., 13:00 CEST");
	one(&wed, "Europe/Berlin", "en-GB", NULL, NULL,
	    "Wed, 28 Apr, 13:00 CEST");
	/* IST is also Israel's and Ireland's, and CLDR has no IST for India
	 * in British English: the offset (issue 12).  en-IN readers get IST. */
	one(&wed, "Asia/Kolkata", "en-GB", NULL,
	    "<time datetime=\"2021-04-28T16:30:00+05:30\" title=\"Wed at 07:00 ET\">"
	    "Wed, 28 Apr, 16:30 GMT+5:30</time>", NULL);
	one(&wed, "Asia/Kolkata", "en-IN", NULL, NULL,
	    "Wed, 28 Apr, 4:30\xc2\xa0pm IST");
	/* Kiritimati is already on Thursday; tzdata calls it "+14". */
	one(&wed, "Pacific/Kiritimati", "en-GB", NULL,
	    "<time datetime=\"2021-04-29T01:00:00+14:00\" title=\"Wed at 07:00 ET\">"
	    "Thu, 29 Apr, 01:00 GMT+14</time>", NULL);
	/* en-US: 12-hour clock, month first; U+202F shown as U+00A0. */
	one(&wed, "America/New_York", "en-US", NULL, NULL,
	    "Wed, Apr 28, 7:00\xC2\xA0" "AM EDT");
	/* No zone: the session's own; no locale: en. */
	one(&wed, NULL, NULL, NULL,
	    "<time datetime=\"2021-04-28T07:00:00-04:00\" title=\"Wed at 07:00 ET\">"
	    "Wed, Apr 28, 7:00\xC2\xA0" "AM EDT</time>", NULL);
	one(&wed, "UTC", "fr-FR", NULL,
	    "<time datetime=\"2021-04-28T11:00:00+00:00\" title=\"Wed at 07:00 ET\">"
	    "mer. 28 avr., 11:00 UTC</time>", NULL);
	/* Half-hour and 45-minute zones with numeric tzdata abbreviations. */
	one(&wed, "Asia/Kathmandu", "en-GB", NULL,
	    "<time datetime=\"2021-04-28T16:45:00+05:45\" title=\"Wed at 07:00 ET\">"
	    "Wed, 28 Apr, 16:45 GMT+5:45</time>", NULL);
	one(&wed, "America/St_Johns", "en-GB", NULL, NULL,
	    "Wed, 28 Apr, 08:30 NDT");
	/* West of UTC on the previous day. */
	one(&wed, "Pacific/Pago_Pago", "en-GB", NULL,
	    "<time datetime=\"2021-04-28T00:00:00-11:00\" title=\"Wed at 07:00 ET\">"
	    "Wed, 28 Apr, 00:00 SST</time>", NULL);
	one(&wed, "Etc/GMT+12", "en-GB", NULL,
	    "<time datetime=\"2021-04-27T23:00:00-12:00\" title=\"Wed at 07:00 ET\">"
	    "Tue, 27 Apr, 23:00 GMT-12</time>", NULL);
	/* Links are zones. */
	one(&wed, "US/Eastern", "en-GB", NULL, NULL, "Wed, 28 Apr, 07:00 EDT");
	/* Each language its own order and words. */
	one(&wed, "Asia/Tokyo", "ja-JP", NULL, NULL, "4月28日(水) 20:00 JST");
}

static void
test_skeleton_and_escaping(void)
{
	struct ts s = {"Wed <at> 07:00 \"ET\" & co", {1619607600, false, 0, false, "America/New_York"}};

	one(&s, "Europe/Berlin", "en-GB", "HHmm",
	    "<time datetime=\"2021-04-28T13:00:00+02:00\" title=\"Wed &lt;at&gt; "
	    "07:00 &quot;ET&quot; &amp; co\">13:00</time>", "13:00");
	one(&s, "Europe/Berlin", "de-DE", "yMMMMEEEEdHHmmzzzz", NULL,
	    "Mittwoch, 28. April 2021 um 13:00 CEST");
}

/* ICU 72 does not know America/Ciudad_Juarez and still has Mexican DST:
 * every offset here must come from tzdata. */
static void
test_zones_icu_gets_wrong(void)
{
	/* 2026-07-01 16:00 UTC and 2026-01-15 17:00 UTC. */
	struct ts jul = {"x", {1782921600, false, 0, false, "Etc/UTC"}};
	struct ts jan = {"x", {1768496400, false, 0, false, "Etc/UTC"}};
	char abbr[16];
	int off = 0;

	INT_EQ(herald_zone_offset("America/Ciudad_Juarez", jul.w.utc, &off, abbr),
	    0, "Ciudad_Juarez");
	INT_EQ(off, -6 * 3600, "Ciudad_Juarez July 2026: MDT");
	STR_EQ(abbr, "MDT", "Ciudad_Juarez abbreviation");
	herald_zone_offset("America/Ciudad_Juarez", jan.w.utc, &off, abbr);
	INT_EQ(off, -7 * 3600, "Ciudad_Juarez January 2026: MST");
	herald_zone_offset("America/Mexico_City", jul.w.utc, &off, abbr);
	INT_EQ(off, -6 * 3600, "Mexico City July 2026: no DST since 2022");
	STR_EQ(abbr, "CST", "Mexico City abbreviation");
	herald_zone_offset("America/Mexico_City", jan.w.utc, &off, abbr);
	INT_EQ(off, -6 * 3600, "Mexico City January 2026");

	one(&jul, "America/Ciudad_Juarez", "es-MX", "HHmm", NULL, "10:00");
	one(&jul, "America/Ciudad_Juarez", "en-GB", NULL,
	    "<time datetime=\"2026-07-01T10:00:00-06:00\" title=\"x\">"
	    "Wed, 1 Jul, 10:00 MDT</time>", NULL);
	one(&jul, "America/Mexico_City", "es-MX", "HHmm",
	    "<time datetime=\"2026-07-01T10:00:00-06:00\" title=\"x\">10:00</time>",
	    NULL);
	/* CST is also China's and Cuba's; CLDR's British English has no CST
	 * for Mexico: the offset (issue 12). */
	one(&jan, "America/Mexico_City", "en-GB", "HHmmz", NULL, "11:00 GMT-6");
}

static void
test_offsets(void)
{
	char abbr[16];
	int off = 0;
	/* 2021-03-14 07:00 UTC: New York springs forward. */
	int64_t t = 1615705200;

	INT_EQ(herald_zone_offset("America/New_York", t - 1, &off, abbr), 0, "NY");
	INT_EQ(off, -5 * 3600, "before");
	STR_EQ(abbr, "EST", "before");
	herald_zone_offset("America/New_York", t, &off, abbr);
	INT_EQ(off, -4 * 3600, "after");
	STR_EQ(abbr, "EDT", "after");
	/* Past the last transition of a fat TZif file: the POSIX footer. */
	herald_zone_offset("America/New_York", 4102444800 + 180 * 86400, &off,
	    abbr);
	INT_EQ(off, -4 * 3600, "2100 summer");
	herald_zone_offset("Australia/Sydney", 4102444800, &off, abbr);
	INT_EQ(off, 11 * 3600, "2100 January in Sydney: AEDT");
	STR_EQ(abbr, "AEDT", "Sydney footer abbreviation");
	herald_zone_offset("Europe/Dublin", 4102444800, &off, abbr);
	INT_EQ(off, 0, "Dublin's negative DST in winter");
	STR_EQ(abbr, "GMT", "Dublin winter");
	INT_EQ(herald_zone_offset("Mars/Olympus", t, &off, abbr), EX_DATAERR,
	    "unknown zone");
	INT_EQ(herald_zone_offset("../etc/passwd", t, &off, abbr), EX_DATAERR,
	    "not a zone");
	INT_EQ(herald_zone_offset("zone.tab", t, &off, abbr), EX_DATAERR,
	    "not TZif");
	OK(herald_zone_valid("US/Eastern"), "link");
	OK(herald_zone_valid("Etc/GMT+12"), "Etc");
	OK(herald_zone_valid("America/Ciudad_Juarez"), "new zone");
	OK(!herald_zone_valid("posix"), "directory");
	OK(!herald_zone_valid(""), "empty");
	OK(!herald_zone_valid(NULL), "NULL");
}

static void
test_local_to_utc(void)
{
	int64_t u[2];
	int64_t day = herald_days_from_civil(2021, 3, 14) * 86400;

	INT_EQ(herald_zone_local("America/New_York", day + 2 * 3600 + 1800, u), 0,
	    "02:30 in the gap");
	INT_EQ(herald_zone_local("America/New_York", day + 3 * 3600, u), 1,
	    "03:00 after the gap");
	INT_EQ(u[0], 1615705200, "03:00 EDT");
	day = herald_days_from_civil(2021, 11, 7) * 86400;
	INT_EQ(herald_zone_local("America/New_York", day + 3600 + 1800, u), 2,
	    "01:30 twice");
	INT_EQ(u[0], 1636263000, "01:30 EDT first");
	INT_EQ(u[1], 1636266600, "01:30 EST then");
	INT_EQ(herald_zone_local("Etc/UTC", 0, u), 1, "UTC");
	INT_EQ(u[0], 0, "UTC");
	INT_EQ(herald_zone_local("Nowhere/Land", 0, u), -1, "unknown");
	/* Southern hemisphere, after the fat file's table ends (2037). */
	day = herald_days_from_civil(2040, 4, 1) * 86400;
	INT_EQ(herald_zone_local("Australia/Sydney", day + 2 * 3600 + 1800, u), 2,
	    "Sydney falls back on 2040-04-01");
	day = herald_days_from_civil(2040, 10, 7) * 86400;
	INT_EQ(herald_zone_local("Australia/Sydney", day + 2 * 3600 + 1800, u), 0,
	    "Sydney springs forward on 2040-10-07");
}

static void
test_calendar(void)
{
	int y, m, d;

	INT_EQ(herald_days_from_civil(1970, 1, 1), 0, "epoch");
	INT_EQ(herald_days_from_civil(2021, 4, 28), 18745, "2021-04-28");
	INT_EQ(herald_weekday(18745), 3, "a Wednesday");
	herald_civil_from_days(-1, &y, &m, &d);
	OK(y == 1969 && m == 12 && d == 31, "1969-12-31");
	herald_civil_from_days(herald_days_from_civil(2024, 2, 29), &y, &m, &d);
	OK(y == 2024 && m == 2 && d == 29, "leap day");
}

static void
test_errors(void)
{
	struct herald_localized l[2];
	struct herald_err e = {0};

	INT_EQ(herald_localize(&wed.w, 1, "Mars/Olympus", "en", NULL, l, &e),
	    EX_DATAERR, "bad zone");
	OK(strstr(e.msg, "Mars/Olympus") != NULL, "%s", e.msg);
	INT_EQ(herald_localize(&wed.w, 1, NULL, "xx-!!", NULL, l, &e),
	    EX_DATAERR, "bad locale");
	OK(l[0].datetime == NULL && l[0].text == NULL, "nothing left on error");
	INT_EQ(herald_localize(&wed.w, 0, NULL, "en", NULL, l, &e), 0, "none");
	OK(herald_locale_valid("de-DE"), "de-DE");
	OK(!herald_locale_valid("zz-ZZ"), "zz-ZZ");
}

static void
test_format(void)
{
	char out[64];

	INT_EQ(herald_zone_format("America/New_York", 1619607600, true, out), 0,
	    "format");
	STR_EQ(out, "2021-04-28T07:00:00-04:00 EDT", "with abbreviation");
	herald_zone_format(NULL, 1619607600, false, out);
	STR_EQ(out, "2021-04-28T11:00:00+00:00", "UTC");
	herald_zone_format("Asia/Kolkata", 1619607600, false, out);
	STR_EQ(out, "2021-04-28T16:30:00+05:30", "Kolkata");
	herald_zone_format("America/Los_Angeles", -1, false, out);
	STR_EQ(out, "1969-12-31T15:59:59-08:00", "before the epoch");
	INT_EQ(herald_zone_format("Mars/Olympus", 0, false, out), EX_DATAERR,
	    "unknown");
}

static void
test_many(void)
{
	struct herald_when s[3] = {
		{1619607600, false, 0, false, "America/New_York"},
		{1619607600 + 86400 * 200, false, 0, false, "America/New_York"},
		{1619607600, false, 0, false, "Asia/Tokyo"},
	};
	struct herald_localized l[3];
	struct herald_err e = {0};

	INT_EQ(herald_localize(s, 3, NULL, "en-GB", "HHmmz", l, &e), 0, "%s",
	    e.msg);
	STR_EQ(l[0].text, "07:00 EDT", "own zone");
	STR_EQ(l[1].text, "06:00 EST", "own zone in winter");
	STR_EQ(l[2].text, "20:00 JST", "own zone");
	herald_localized_free(l, 3);
}

/* English zone words from CLDR (ICU): metazone names, cities. */
static void
test_zone_words(void)
{
	static const struct {
		const char *words, *zone;
		int kind;
	} ok[] = {
		{"pacific time", "America/Los_Angeles", HERALD_ZW_GENERIC},
		{"Pacific Daylight Time", "America/Los_Angeles", HERALD_ZW_DAYLIGHT},
		{"eastern standard time", "America/New_York", HERALD_ZW_STANDARD},
		{"Central European Time", "Europe/Paris", HERALD_ZW_GENERIC},
		{"Central European Summer Time", "Europe/Paris", HERALD_ZW_DAYLIGHT},
		/* no daylight time there: generic or standard are the same */
		{"India Standard Time", "Asia/Kolkata", -1},
		{"Japan Standard Time", "Asia/Tokyo", -1},
		{"British Summer Time", "Europe/London", HERALD_ZW_DAYLIGHT},
		{"Berlin", "Europe/Berlin", HERALD_ZW_CITY},
		{"new york", "America/New_York", HERALD_ZW_CITY},
		{"Sao Paulo", "America/Sao_Paulo", HERALD_ZW_CITY},
		{"US Eastern", "America/New_York", HERALD_ZW_GENERIC},
	};
	static const char *const no[] = {"Mars", "time", "at the", "GMT+2",
	    "", "UTC"};
	const char *zone;
	int kind;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		zone = NULL;
		kind = -1;
		OK(herald_zone_from_words(ok[i].words, &zone, &kind),
		    "\"%s\" not found", ok[i].words);
		/* ICU 72 calls Asia/Kolkata by its older name, a tzdata link */
		if (zone != NULL && strcmp(zone, "Asia/Calcutta") == 0)
			zone = "Asia/Kolkata";
		STR_EQ(zone, ok[i].zone, "%s", ok[i].words);
		if (ok[i].kind >= 0)
			INT_EQ(kind, ok[i].kind, "%s", ok[i].words);
		else
			OK(kind == HERALD_ZW_GENERIC || kind == HERALD_ZW_STANDARD,
			    "%s: kind %d", ok[i].words, kind);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		OK(!herald_zone_from_words(no[i], &zone, &kind),
		    "\"%s\" taken for %s", no[i], zone);
}

/* A range and a recurring time, and their ends on another local day. */
static void
test_range_recurring(void)
{
	/* 2027-03-05 23:00-01:00 UTC; recurring Thursday 17:00 UTC */
	struct herald_when w[2] = {
		{1804287600, true, 1804287600 + 7200, false, "Etc/UTC"},
		{1804179600, false, 0, true, "Etc/UTC"},
	};
	struct herald_localized l[2];
	struct herald_err e = {0};

	INT_EQ(herald_localize(w, 2, "Europe/Berlin", "en-GB", "EEEdMMMHHmmz",
	    l, &e), 0, "%s", e.msg);
	/* the end is on Saturday in Berlin: both days are named */
	OK(strstr(l[0].text, "Sat") != NULL && strstr(l[0].text, "Fri") == NULL,
	    "range: %s", l[0].text);
	OK(strstr(l[0].text, "00:00") != NULL && strstr(l[0].text, "02:00") != NULL,
	    "range: %s", l[0].text);
	STR_EQ(l[0].datetime, "2027-03-06T00:00:00+01:00", "range start");
	/* recurring: weekday and clock (18:00 in Berlin), no date */
	OK(strstr(l[1].text, "Thu") != NULL && strstr(l[1].text, "18:00 CET") &&
	    strstr(l[1].text, "Mar") == NULL && strstr(l[1].text, "4") == NULL,
	    "recurring: %s", l[1].text);
	herald_localized_free(l, 2);
}

int
main(void)
{
	test_zone_words();
	test_range_recurring();
	test_issue_subscribers();
	test_skeleton_and_escaping();
	test_zones_icu_gets_wrong();
	test_offsets();
	test_local_to_utc();
	test_calendar();
	test_errors();
	test_many();
	test_format();
	return harness_done();
}
