/*
 * session.h - session times written in a post ("Wed at 07:00 ET",
 * "Friday 2pm PT", "April 28 at 07:00 ET", "2021-04-28 07:00
 * America/New_York", {{< time "2021-04-28T07:00" "America/New_York" >}})
 * found in text and resolved to one instant each.
 *
 * A weekday means the first such day on or after the post date.  Offsets
 * come from the system's tzdata (localtime.h), never from ICU.
 *
 * The grammar and its conservative choices are described at the top of
 * session.c.  A phrase is converted whole (range end, other zones), left
 * as written and reported (a match with skip set: no zone, an unknown
 * word after the clock, no day, a standard/daylight name not in effect on
 * that date such as "EST" in July), or refused: ambiguous abbreviations
 * (IST, CST) no other zone of the phrase settles, impossible dates,
 * nonexistent or doubled local times, zones that disagree, a weekday that
 * contradicts its date, a weekday or year-less date without a post date.
 */
#ifndef HERALD_SESSION_H
#define HERALD_SESSION_H

#include "util.h"
#include "config.h"

struct herald_session {
	int line;           /* line in the post file */
	char *orig;         /* the words as written, e.g. "Wed at 07:00 ET";
	                       for the shortcode its date and zone,
	                       "2021-04-28T07:00 America/New_York" */
	int64_t utc;        /* the instant, seconds since the epoch */
	char *zone;         /* IANA zone it was written in (a config alias's
	                       target, a link such as US/Eastern as written) */
	bool has_end;       /* a range: utc_end is its end (after utc) */
	int64_t utc_end;
	bool recurring;     /* "Thursdays at 10am ET": utc is the first
	                       occurrence; shown as a weekday and time only */
	bool history;       /* before the post's date: never "past" for send */
};

struct herald_sessions_ctx {
	const char *file;           /* post path, for errors */
	int year, month, day;       /* post date; year 0 = unknown */
	const char *post_zone;      /* post's timezone: or NULL */
	const struct herald_alias *aliases;   /* config timezone_aliases */
	size_t naliases;
	const char *day_hint;       /* or NULL: a day from around the text
	                               (other cells of a table row, a block
	                               right before that is only a day); when
	                               it is a day and nothing else ("Thursday",
	                               "May 6"), a clock without a day takes it */
};

struct herald_time_match {
	size_t start, len;          /* bytes within the scanned text */
	struct herald_session s;    /* owned by the match */
	char *skip;                 /* NULL: converted.  Otherwise a clock-like
	                               phrase left as written, and why ("no
	                               zone", "unknown word \"IT\" after the
	                               clock"); s.orig and s.line are set, s.zone
	                               is NULL.  Owned by the match. */
};

/*
 * Find every session time in text[0..len) (a text node, never code).
 * line is the file line of text[0]; newlines inside text advance it.
 * On success *out (caller frees with herald_time_matches_free) holds *nout
 * matches in order, never overlapping; *out is NULL when there are none.
 * text need not be NUL-terminated.  Returns 0 or EX_DATAERR (ambiguous
 * abbreviation, nonexistent local time, weekday without a post date...)
 * with e naming ctx->file and the line; then *out is NULL.
 * Cheap enough to call for every text node: it only looks closer at
 * word starts that are a capital letter, a digit or "{{<".
 */
int herald_sessions_scan(const struct herald_sessions_ctx *ctx,
    const char *text, size_t len, int line, struct herald_time_match **out,
    size_t *nout, struct herald_err *e);
void herald_time_matches_free(struct herald_time_match *m, size_t n);

/* Is s (trimmed) a day and nothing else ("Thursday", "Tue, 5 March",
 * "2024-06-03")?  For ctx->day_hint candidates. */
bool herald_sessions_is_day(const char *s);

void herald_session_copy(struct herald_session *dst, const struct herald_session *src);
void herald_session_free(struct herald_session *s);

#endif
