/*
 * localtime.h - zones and locales: validity, UTC offsets from the system's
 * tzdata (never ICU's own 2022 zone data), and words from ICU.  This module
 * is the only one that includes ICU headers.
 *
 * Zones are read from the TZif files under /usr/share/zoneinfo (RFC 8536,
 * with the POSIX TZ footer for instants past the last transition) and
 * cached for the life of the process; the functions are thread-safe.
 */
#ifndef HERALD_LOCALTIME_H
#define HERALD_LOCALTIME_H

#include "util.h"

/* Is zone a zone in the system's tzdata (links like US/Eastern too)? */
bool herald_zone_valid(const char *zone);
/* UTC offset (seconds east) and abbreviation of zone at instant utc, from
 * the system's tzdata.  Returns 0 or EX_DATAERR for an unknown zone. */
int herald_zone_offset(const char *zone, int64_t utc, int *gmtoff,
    char abbr[16]);
/* Same, and whether tzdata marks it daylight saving time. */
int herald_zone_info(const char *zone, int64_t utc, int *gmtoff,
    char abbr[16], bool *dst);

/*
 * Zone words in English from ICU's CLDR data: metazone long names
 * ("Pacific Time", "Central European Summer Time", "India Standard Time"),
 * exemplar cities and tzdata's own city names ("Berlin", "Sao Paulo"),
 * compared in any case.  words is one phrase with single spaces.  On a
 * match returns true with *zone (an IANA name, static) and *kind.  A
 * city only names a zone followed by "time", which the caller checks.
 * ICU supplies only the words: offsets still come from tzdata.
 */
enum { HERALD_ZW_GENERIC, HERALD_ZW_STANDARD, HERALD_ZW_DAYLIGHT,
    HERALD_ZW_CITY };
bool herald_zone_from_words(const char *words, const char **zone,
    int *kind);

/*
 * The instants at which zone's clocks read the wall time `local` (seconds
 * since 1970-01-01 00:00 as if the wall time were UTC).  Returns how many
 * there are, earliest first in utc[]: 1 normally, 0 in a spring-forward gap,
 * 2 in a fall-back overlap; -1 for an unknown zone.
 */
int herald_zone_local(const char *zone, int64_t local, int64_t utc[2]);
/*
 * utc as the wall time in zone with its offset, the form of the datetime
 * attribute: "2021-04-28T13:00:00+02:00" ("+00:00" for UTC; zone NULL
 * means UTC), plus " CEST" (tzdata's abbreviation) when with_abbr.
 * Returns 0 or EX_DATAERR for an unknown zone.  For `herald check`.
 */
int herald_zone_format(const char *zone, int64_t utc, bool with_abbr,
    char out[64]);
/* Is tag a well-formed BCP 47 tag ICU has data for (e.g. "fr-FR")? */
bool herald_locale_valid(const char *tag);

/* The HTML lang attribute for a reader's locale (canonical BCP 47, "en"
 * when tag is NULL or invalid) and whether its script is right-to-left. */
void herald_locale_html(const char *tag, char lang[64], bool *rtl);
/* The closest locale ICU has to a mistyped tag ("en_US" -> "en-US"), for
 * "did you mean"; false when none is close. */
bool herald_locale_suggest(const char *tag, char out[64]);

/* Proleptic Gregorian calendar arithmetic: days since 1970-01-01. */
int64_t herald_days_from_civil(int y, int m, int d);
void herald_civil_from_days(int64_t days, int *y, int *m, int *d);
/* 0 = Sunday ... 6 = Saturday. */
int herald_weekday(int64_t days);

/* An instant (or a range) to put in words. */
struct herald_when {
	int64_t utc;
	bool has_end;        /* a range ending at utc_end */
	int64_t utc_end;
	bool recurring;      /* weekday and clock only, no date */
	const char *zone;    /* the zone it was written in */
};

struct herald_localized {
	char *text;       /* the words, e.g. "Wed, 28 Apr, 13:00 CEST" */
	char *datetime;   /* the start as "2021-04-28T13:00:00+02:00", for
	                     the renderer's <time datetime=...> */
};

/* The skeleton used when none is configured. */
#define HERALD_DEFAULT_SKELETON "EEEdMMMjmmz"

/*
 * Format n instants for one (zone, locale) pair.  zone NULL means each
 * one's own zone; locale NULL means "en".  skeleton NULL means
 * HERALD_DEFAULT_SKELETON.  out[0..n) are filled; free with
 * herald_localized_free(), which frees the strings, not the array.
 *
 * The wall time and offset come from tzdata; ICU only supplies the words,
 * formatting that wall time, and any zone field of the pattern shows
 * tzdata's abbreviation ("CEST"), or "GMT+5:30" where tzdata has only a
 * number.  A range (has_end) is formatted with ICU's interval
 * formatter, so each language writes it its own way and an end on
 * another local day shows that day; a recurring time drops the date
 * fields of the skeleton (weekday and clock).  datetime is the start in
 * the reader's offset.
 * Returns 0, EX_DATAERR (unknown zone or locale) or EX_SOFTWARE (ICU).
 */
int herald_localize(const struct herald_when *s, size_t n,
    const char *zone, const char *locale, const char *skeleton,
    struct herald_localized *out, struct herald_err *e);
void herald_localized_free(struct herald_localized *l, size_t n);

#endif
