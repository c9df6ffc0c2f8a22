/*
 * localtime.h - zones and locales: validity, UTC offsets from the system's
 * tzdata (never ICU's own 2022 zone data), and words from ICU.  This module
 * is the only one that includes ICU headers.
 */
#ifndef HERALD_LOCALTIME_H
#define HERALD_LOCALTIME_H

#include "util.h"
#include "session.h"

/* Is zone a zone in the system's tzdata (links like US/Eastern too)? */
bool herald_zone_valid(const char *zone);
/* UTC offset (seconds east) and abbreviation of zone at instant utc, from
 * the system's tzdata.  Returns 0 or EX_DATAERR for an unknown zone. */
int herald_zone_offset(const char *zone, int64_t utc, int *gmtoff,
    char abbr[16]);
/* Is tag a well-formed BCP 47 tag ICU has data for (e.g. "fr-FR")? */
bool herald_locale_valid(const char *tag);

struct herald_localized {
	char *html;   /* <time datetime="..." title="orig">words</time> */
	char *text;   /* words */
};

/*
 * Format n sessions for one (zone, locale) pair.  zone NULL means the
 * session's own zone; locale NULL means "en".  skeleton NULL means the
 * default.  out[0..n) are filled; free with herald_localized_free().
 */
int herald_localize(const struct herald_session *s, size_t n,
    const char *zone, const char *locale, const char *skeleton,
    struct herald_localized *out, struct herald_err *e);
void herald_localized_free(struct herald_localized *l, size_t n);

#endif
