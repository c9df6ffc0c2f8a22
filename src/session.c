/*
 * session.c - finding and resolving session times in post text.
 *
 * A phrase (one match never spans more than this):
 *
 *   phrase := day SEP times | times [","] SP ["on" SP] day
 *           | {{< time "YYYY-MM-DDTHH:MM[:SS]" ["Zone/Name"] >}}
 *   times  := span [other]...
 *   span   := clock [zone] [RANGE clock [zone]]
 *   other  := SP? ("/" | "|" | "," | ";" | "or") SP? [day SEP] span
 *           | SP "(" [day SEP] span (("/" | ",") span)* ")"   (zone required)
 *           | SP "(" (UTC|GMT) offset ")"   (the clock before it again:
 *             "8:00 PST (UTC-8)"; it must agree like any other zone)
 *   day    := [("every" ["other"] | "next" | "last" | "this") SP] weekday[s]
 *             [[","] SP date] | date [[","] SP weekday] | today | tomorrow
 *           | tonight
 *   date   := YYYY-MM-DD | Month ["."] D[st|nd|rd|th] [[","] YYYY]
 *           | D[st|nd|rd|th] ["of"] Month ["."] [YYYY] | "the" D(st|nd|rd|th)
 *   SEP    := "T" (after YYYY-MM-DD) | [","|"-"|"–"|"|"] SP [("at" | "@" |
 *             "from") SP]
 *   clock  := H[H]:MM[:SS] [ampm] | H[H] ampm | H[H].MM (ampm or zone)
 *           | HHMM zone | noon | midnight | 12[:00] noon
 *   zone   := Z | abbreviation (any case, glued or not) | IANA name
 *           | a zone's long name or city from ICU ("Pacific Time", "Central
 *             European Time", "Berlin time") ["(US and Canada)"]
 *           | (UTC|GMT) [SP] (+|-|U+2212) H[H][[:]MM] | (+|-)HH[:]MM
 *           | "(" any of these ")"
 *   RANGE  := SP? ("-" | "–" | "—" | "to" | "until" | "till" | "through") SP?
 *
 * Decisions, made to stay never silently wrong:
 *  - Whatever looks like a clock but does not become a whole time is left
 *    as written and reported with the reason (a match with skip set): a
 *    clock without a day, without a zone, or followed by a word that could
 *    name a zone but does not ("10am IT all-hands").  The post's timezone:
 *    applies only when nothing after the clock could name a zone (end of
 *    text, punctuation, or a word such as "at", "in", "for").
 *  - A weekday is the first such day on or after the post date; "next" is
 *    the first after it, "last" the last before it.  A month and day
 *    without a year take the post's year, or the next year when that would
 *    be more than 183 days before the post date.  A weekday and a date:
 *    the date decides, and they must agree; with no year written, a
 *    weekday that does not fit that year picks the year before or after
 *    on which it does, within a year of the post ("Monday, April 25" in
 *    a September 2015 post is 2016), else it is an error.
 *  - Plural weekdays, "every", "weekly", "biweekly", "... weeks:" make the
 *    time recurring: shown as a weekday and time, no date.
 *  - Abbreviations or names that mean standard or daylight time (EST,
 *    "Pacific Daylight Time") must be the one in effect on that date:
 *    "07:00 EST" in July is an error suggesting EDT or ET, never a silent
 *    one-hour guess.  Generic ones (ET, PT, "Pacific Time") follow the
 *    zone's daylight saving time.
 *  - Ambiguous abbreviations (IST, CST, BST, AST, ...) are errors suggesting
 *    an IANA name or timezone_aliases.  Config aliases win over the table.
 *  - A time given in several zones must agree (else an error naming both).
 *  - An invalid calendar date, a weekday that contradicts the date, a local
 *    time in a spring-forward gap or a fall-back overlap are errors.
 *  - Times before the post's date are history (s.history): converted, but
 *    never a reason for `send` to refuse.
 *  - A clock without a day may take one from the phrase just before it
 *    ("tomorrow at 08:00 UTC and 20:00 UTC"), from a table cell in the
 *    same row or a block right before that is only a day (ctx->day_hint,
 *    render.c); otherwise it is left alone.
 *  - Ambiguous abbreviations may be settled by another zone of the same
 *    phrase ("9pm BST / 4pm EDT"): the reading that agrees wins.
 *  - A weekday in another week ("the following Thursday", "Thursday next
 *    week"), a weekday of the month or every N weeks ("the second
 *    Tuesday", "on the Last Wed", "every 2nd Tuesday"; "last Wednesday"
 *    without "the" is still the last one before the post) and one clock
 *    for several days ("Mondays and Fridays at 8") are left alone.
 */
#include "session.h"
#include "localtime.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The built-in abbreviations.  check: the abbreviation names one of the
 * zone's standard/daylight times, and must be the one in effect.  lower:
 * also accepted in lower case (not an English word). */
struct abbr {
	const char *abbr;
	const char *zone;
	bool check;
	const char *hint;   /* what else to write when check fails */
	bool lower;
};

static const struct abbr abbrs[] = {
	{"ET", "America/New_York", false, NULL, true},
	{"EST", "America/New_York", true, "ET", true},
	{"EDT", "America/New_York", true, "ET", true},
	{"CT", "America/Chicago", false, NULL, true},
	{"CDT", "America/Chicago", true, "CT", true},
	{"MT", "America/Denver", false, NULL, true},
	{"MST", "America/Denver", true, "MT, or America/Phoenix for Arizona", true},
	{"MDT", "America/Denver", true, "MT", true},
	{"PT", "America/Los_Angeles", false, NULL, true},
	{"PST", "America/Los_Angeles", true, "PT", true},
	{"PDT", "America/Los_Angeles", true, "PT", true},
	{"AKT", "America/Anchorage", false, NULL, false},
	{"AKST", "America/Anchorage", true, "AKT", false},
	{"AKDT", "America/Anchorage", true, "AKT", false},
	{"HST", "Pacific/Honolulu", false, NULL, false},
	{"ADT", "America/Halifax", true, "America/Halifax", false},
	{"NST", "America/St_Johns", true, "America/St_Johns", false},
	{"NDT", "America/St_Johns", true, "America/St_Johns", false},
	{"BRT", "America/Sao_Paulo", false, NULL, false},
	{"ART", "America/Argentina/Buenos_Aires", false, NULL, false},
	{"UTC", "Etc/UTC", false, NULL, true},
	{"UT", "Etc/UTC", false, NULL, false},
	{"GMT", "Etc/GMT", false, NULL, true},
	{"WET", "Europe/Lisbon", true, "Europe/Lisbon", false},
	{"WEST", "Europe/Lisbon", true, "Europe/Lisbon", false},
	{"CET", "Europe/Paris", true, "Europe/Paris", true},
	{"CEST", "Europe/Paris", true, "Europe/Paris", true},
	{"EET", "Europe/Athens", true, "Europe/Athens", true},
	{"EEST", "Europe/Athens", true, "Europe/Athens", true},
	{"MSK", "Europe/Moscow", false, NULL, true},
	{"TRT", "Europe/Istanbul", false, NULL, false},
	{"IDT", "Asia/Jerusalem", true, "Asia/Jerusalem", false},
	{"PKT", "Asia/Karachi", false, NULL, false},
	{"NPT", "Asia/Kathmandu", false, NULL, false},
	{"ICT", "Asia/Bangkok", false, NULL, false},
	{"WIB", "Asia/Jakarta", false, NULL, false},
	{"WITA", "Asia/Makassar", false, NULL, false},
	{"WIT", "Asia/Jayapura", false, NULL, false},
	{"HKT", "Asia/Hong_Kong", false, NULL, true},
	{"SGT", "Asia/Singapore", false, NULL, true},
	{"PHT", "Asia/Manila", false, NULL, false},
	{"JST", "Asia/Tokyo", false, NULL, true},
	{"KST", "Asia/Seoul", false, NULL, true},
	{"AWST", "Australia/Perth", false, NULL, true},
	{"ACST", "Australia/Adelaide", true, "Australia/Adelaide or Australia/Darwin", true},
	{"ACDT", "Australia/Adelaide", true, "Australia/Adelaide", true},
	{"AET", "Australia/Sydney", false, NULL, true},
	{"AEST", "Australia/Sydney", true, "Australia/Sydney or Australia/Brisbane", true},
	{"AEDT", "Australia/Sydney", true, "Australia/Sydney", true},
	{"NZT", "Pacific/Auckland", false, NULL, true},
	{"NZST", "Pacific/Auckland", true, "Pacific/Auckland", true},
	{"NZDT", "Pacific/Auckland", true, "Pacific/Auckland", true},
	{"SAST", "Africa/Johannesburg", false, NULL, true},
	{"CAT", "Africa/Maputo", false, NULL, false},
	{"EAT", "Africa/Nairobi", false, NULL, false},
	{"WAT", "Africa/Lagos", false, NULL, false},
};

/* Abbreviations several places use; the two most likely readings. */
static const struct {
	const char *abbr, *a, *b;
	bool lower;
} ambiguous[] = {
	{"IST", "Asia/Kolkata", "Europe/Dublin", false},   /* German "ist" */
	{"CST", "America/Chicago", "Asia/Shanghai", true},
	{"BST", "Europe/London", "Asia/Dhaka", true},
	{"AST", "America/Halifax", "Asia/Riyadh", false},
	{"GST", "Asia/Dubai", "Atlantic/South_Georgia", false},
	{"SST", "Pacific/Pago_Pago", "Asia/Singapore", false},
	{"AMT", "America/Manaus", "Asia/Yerevan", false},
	{"ECT", "America/Guayaquil", "Europe/Paris", false},
	{"MET", "Europe/Paris", "Asia/Tehran", false},
};

/* Words after a clock that cannot name a zone: the post's timezone:
 * applies.  Compared in any case. */
static const char *const not_zone[] = {
	"at", "in", "on", "for", "to", "and", "with", "the", "a", "an", "via",
	"by", "sharp", "is", "are", "was", "will", "we", "you", "this", "that",
	"start", "starts", "starting", "begins", "kickoff", "until", "till",
	"onwards", "or", "but", "so", "then", "when", "where", "if", "as",
	"of", "from", "about", "please", "join", "meet", "see", "talk",
	"session", "meeting", "call", "event", "there", "here", "it's", "its",
	"our", "in-person", "online", "hrs", "h", "o'clock", "oclock", NULL,
};

static const char *const wdays_long[7] = {"Sunday", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday"};
static const struct {
	const char *name;
	int wday;
} wdays_short[] = {
	{"Sun", 0}, {"Mon", 1}, {"Tue", 2}, {"Tues", 2}, {"Wed", 3},
	{"Thu", 4}, {"Thur", 4}, {"Thurs", 4}, {"Fri", 5}, {"Sat", 6},
};
static const char *const months_long[12] = {"January", "February", "March",
    "April", "May", "June", "July", "August", "September", "October",
    "November", "December"};
static const struct {
	const char *name;
	int month;
} months_short[] = {
	{"Jan", 1}, {"Feb", 2}, {"Mar", 3}, {"Apr", 4}, {"Jun", 6},
	{"Jul", 7}, {"Aug", 8}, {"Sep", 9}, {"Sept", 9}, {"Oct", 10},
	{"Nov", 11}, {"Dec", 12},
};

#define NONE ((size_t)-1)

/* A day as written. */
struct day {
	int wday;            /* -1 when not written */
	int y, m, d;         /* m 0: no date written; y 0: no year */
	bool iso;
	int rel;             /* weekday: +1 "next", -1 "last" */
	int plus;            /* today 0, tomorrow 1, -1: not written */
	bool recurring;
	bool set;
};

/* A zone as written. */
struct zone {
	const char *zone;    /* IANA name, NULL: none */
	const char *check;   /* abbreviation that must be in effect, or NULL */
	int dst;             /* -1 any; 0 must be standard; 1 must be daylight */
	const char *hint;
	int fixed;           /* offset seconds when fixed_set */
	bool fixed_set;
	char zname[64];
	size_t start, end;   /* the words */
	int amb;             /* an ambiguous abbreviation (index + 1): zone is
	                        one reading, alt the other; only another zone
	                        given for the same time can decide */
	const char *alt;
};

/* A clock as written. */
struct clk {
	int h, mi, sec;
	bool ampm, pm, colon, bare, strong; /* strong: noon, 4 digits, dots */
	bool needs_zone;     /* dotted or 4-digit: only with a zone */
	bool midnight;       /* the word: the start or the end of a day? */
};

/* One clock [zone] [range clock [zone]]. */
struct span {
	struct clk a, b;
	bool has_end;
	struct zone z;
	struct day day;      /* a day written inside (other zones only) */
	int year;            /* "Mon Sep 20 17:59:53 2021 UTC": the year
	                        between clock and zone (ctime), or 0 */
	bool comma;          /* another zone after a comma: may be a new time */
	size_t before;       /* where its separator began */
};

struct scanner {
	const struct herald_sessions_ctx *ctx;
	const char *t;
	size_t len;
	int line;            /* line of the attempt */
	size_t start;        /* where the attempt began, for error wording */
	struct herald_err *e;
	int rc;              /* set when an error was reported */
	char why[160];       /* reason when an attempt is left alone */
	bool prev_set;       /* the day of the last time converted, and */
	struct day prev_day; /* where it ended ("at 8:00 UTC and 20:00 UTC") */
	size_t prev_end;
};

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
at(const struct scanner *sc, size_t i)
{
	return i < sc->len ? (unsigned char)sc->t[i] : -1;
}

/* Whitespace, including U+00A0, U+202F and one newline; its length. */
static size_t
space_len(const struct scanner *sc, size_t i)
{
	int c = at(sc, i);

	if (c == ' ' || c == '\t' || c == '\r')
		return 1;
	if (c == '\n')
		return at(sc, i + 1) == '\n' ? 0 : 1;
	if (c == 0xC2 && at(sc, i + 1) == 0xA0)
		return 2;
	if (c == 0xE2 && at(sc, i + 1) == 0x80 &&
	    (at(sc, i + 2) == 0xAF || at(sc, i + 2) == 0x89))
		return 3;
	return 0;
}

/* One or more spaces; NONE when there are none. */
/* "•" or "·" between a day and its clock. */
static size_t
bullet_len(const struct scanner *sc, size_t i)
{
	if (at(sc, i) == 0xE2 && at(sc, i + 1) == 0x80 && at(sc, i + 2) == 0xA2)
		return 3;
	if (at(sc, i) == 0xC2 && at(sc, i + 1) == 0xB7)
		return 2;
	return 0;
}

static size_t
spaces(const struct scanner *sc, size_t i)
{
	size_t n, j = i;

	while ((n = space_len(sc, j)) > 0)
		j += n;
	return j > i ? j : NONE;
}

/* Zero or more spaces. */
static size_t
opt_spaces(const struct scanner *sc, size_t i)
{
	size_t j = spaces(sc, i);

	return j == NONE ? i : j;
}

/* A word of letters at i; its length (0 if none). */
static size_t
word_len(const struct scanner *sc, size_t i)
{
	size_t j = i;

	while (is_alpha(at(sc, j)))
		j++;
	return j - i;
}

/* Is the word at i (length n) exactly name in any case? */
static bool
word_ieq(const struct scanner *sc, size_t i, size_t n, const char *name)
{
	if (strlen(name) != n)
		return false;
	for (size_t k = 0; k < n; k++)
		if (lower((unsigned char)sc->t[i + k]) != lower(name[k]))
			return false;
	return true;
}

/* Is the word at i name as written, capitalized, or in capitals? */
static bool
word_is(const struct scanner *sc, size_t i, size_t n, const char *name)
{
	if (strlen(name) != n || !word_ieq(sc, i, n, name))
		return false;
	if (sc->t[i] != (name[0] & ~0x20))
		return false;       /* must start with a capital */
	if (strncmp(sc->t + i + 1, name + 1, n - 1) == 0)
		return true;
	for (size_t k = 1; k < n; k++)
		if (sc->t[i + k] != (name[k] & ~0x20))
			return false;
	return true;
}

/* The word w (any case) at i, as a whole word; index after it or NONE. */
static size_t
kw(const struct scanner *sc, size_t i, const char *w)
{
	size_t n = word_len(sc, i);

	return word_ieq(sc, i, n, w) ? i + n : NONE;
}

/* Digits at i, at most max of them; value in *v, NONE if none. */
static size_t
number(const struct scanner *sc, size_t i, size_t max, int *v)
{
	size_t j = i;

	*v = 0;
	while (is_digit(at(sc, j)) && j - i < max)
		*v = *v * 10 + (sc->t[j++] - '0');
	if (j == i || is_digit(at(sc, j)))
		return NONE;
	return j;
}

/* A dash: "-", en dash, em dash, U+2212 minus; its length. */
static size_t
dash_len(const struct scanner *sc, size_t i)
{
	if (at(sc, i) == '-')
		return 1;
	if (at(sc, i) == 0xE2 && at(sc, i + 1) == 0x80 &&
	    (at(sc, i + 2) == 0x93 || at(sc, i + 2) == 0x94))
		return 3;
	if (at(sc, i) == 0xE2 && at(sc, i + 1) == 0x88 && at(sc, i + 2) == 0x92)
		return 3;
	return 0;
}

/* A weekday at i; *plural for "Thursdays". */
static size_t
weekday(const struct scanner *sc, size_t i, int *wday, bool *plural)
{
	size_t n = word_len(sc, i);

	*plural = false;
	for (int k = 0; k < 7; k++) {
		size_t l = strlen(wdays_long[k]);
		if (word_ieq(sc, i, n, wdays_long[k])) {
			*wday = k;
			return i + n;
		}
		if (n == l + 1 && lower(sc->t[i + l]) == 's' &&
		    word_ieq(sc, i, l, wdays_long[k])) {
			*wday = k;
			*plural = true;
			return i + n;
		}
	}
	for (size_t k = 0; k < sizeof(wdays_short) / sizeof(wdays_short[0]); k++)
		if (word_is(sc, i, n, wdays_short[k].name)) {
			*wday = wdays_short[k].wday;
			return i + n + (at(sc, i + n) == '.');
		}
	return NONE;
}

static size_t
month(const struct scanner *sc, size_t i, int *m)
{
	size_t n = word_len(sc, i);

	for (int k = 0; k < 12; k++)
		if (word_is(sc, i, n, months_long[k])) {
			*m = k + 1;
			return i + n;
		}
	for (size_t k = 0; k < sizeof(months_short) / sizeof(months_short[0]); k++)
		if (word_is(sc, i, n, months_short[k].name)) {
			*m = months_short[k].month;
			return i + n + (at(sc, i + n) == '.');
		}
	return NONE;
}

/* Day of month with an optional ordinal suffix (*ord set when there). */
static size_t
mday(const struct scanner *sc, size_t i, int *d, bool *ord)
{
	size_t j = number(sc, i, 2, d);
	static const char *const suffix[] = {"st", "nd", "rd", "th"};

	*ord = false;
	if (j == NONE || *d < 1 || *d > 31)
		return NONE;
	for (int k = 0; k < 4; k++)
		if (word_ieq(sc, j, word_len(sc, j), suffix[k])) {
			*ord = true;
			return j + 2;
		}
	return is_alpha(at(sc, j)) ? NONE : j;
}

/* [","] SP YYYY, a year that is not the start of a clock. */
static size_t
year_after(const struct scanner *sc, size_t i, int *y)
{
	size_t j = i + (at(sc, i) == ',');

	if ((j = spaces(sc, j)) == NONE || (j = number(sc, j, 4, y)) == NONE ||
	    *y < 1900 || *y > 2200 || at(sc, j) == ':' ||
	    (at(sc, j) == '.' && is_digit(at(sc, j + 1))) || is_alpha(at(sc, j)))
		return NONE;
	{
		/* "May 6 1500 UTC", "August 27, 2100 CEST": a 24-hour clock
		 * with its zone, not a year. */
		size_t k = opt_spaces(sc, j), n = word_len(sc, k);
		bool caps = n >= 2 && n <= 5;

		for (size_t q = 0; q < n && caps; q++)
			caps = sc->t[k + q] >= 'A' && sc->t[k + q] <= 'Z';
		if (k > j && *y % 100 < 60 && *y / 100 < 24 && (caps ||
		    word_ieq(sc, k, n, "utc") || word_ieq(sc, k, n, "gmt") ||
		    at(sc, k) == '('))
			return NONE;
		if (*y > 2099)
			return NONE;
	}
	return j;
}

/* A date at i (not a weekday). */
static size_t
date(const struct scanner *sc, size_t i, struct day *p)
{
	size_t j, k;
	bool ord;

	/* YYYY-MM-DD */
	if ((j = number(sc, i, 4, &p->y)) != NONE && j - i == 4 &&
	    at(sc, j) == '-' && (j = number(sc, j + 1, 2, &p->m)) != NONE &&
	    at(sc, j) == '-' && (k = number(sc, j + 1, 2, &p->d)) != NONE &&
	    k - j == 3) {
		p->iso = true;
		return k;
	}
	p->y = p->m = p->d = 0;
	/* Month D[, YYYY] */
	if ((j = month(sc, i, &p->m)) != NONE) {
		if (at(sc, j) == ',' && spaces(sc, j + 1) != NONE &&
		    is_digit(at(sc, spaces(sc, j + 1))) &&
		    mday(sc, spaces(sc, j + 1), &p->d, &ord) != NONE && ord)
			j++;
		if ((j = spaces(sc, j)) == NONE ||
		    ((k = kw(sc, j, "the")) != NONE && (j = spaces(sc, k)) == NONE) ||
		    (j = mday(sc, j, &p->d, &ord)) == NONE) {
			p->m = 0;
			return NONE;
		}
		if ((k = year_after(sc, j, &p->y)) != NONE)
			return k;
		p->y = 0;
		return j;
	}
	/* the 6th [of May] */
	if ((k = kw(sc, i, "the")) != NONE && (k = spaces(sc, k)) != NONE &&
	    (j = mday(sc, k, &p->d, &ord)) != NONE && ord) {
		size_t o, q;
		if ((o = spaces(sc, j)) != NONE && (o = kw(sc, o, "of")) != NONE &&
		    (o = spaces(sc, o)) != NONE && (q = month(sc, o, &p->m)) != NONE) {
			if ((k = year_after(sc, q, &p->y)) != NONE)
				return k;
			p->y = 0;
			return q;
		}
		p->m = -1;      /* month from the post date */
		return j;
	}
	p->d = 0;
	/* D Month [YYYY], D of Month */
	if ((j = mday(sc, i, &p->d, &ord)) != NONE) {
		j += at(sc, j) == '.';
		if ((j = spaces(sc, j)) == NONE) {
			p->d = 0;
			return NONE;
		}
		if (ord && (k = kw(sc, j, "of")) != NONE && spaces(sc, k) != NONE)
			j = spaces(sc, k);
		if ((j = month(sc, j, &p->m)) == NONE) {
			p->m = p->d = 0;
			return NONE;
		}
		if ((k = year_after(sc, j, &p->y)) != NONE)
			return k;
		p->y = 0;
		return j;
	}
	p->d = 0;
	return NONE;
}

/* A day at i: see the grammar. */
static size_t
day(const struct scanner *sc, size_t i, struct day *p)
{
	size_t j, k;
	bool plural = false;
	int rel = 0;
	bool every = false;

	memset(p, 0, sizeof(*p));
	p->wday = -1;
	p->plus = -1;
	if ((j = kw(sc, i, "today")) != NONE || (j = kw(sc, i, "tonight")) != NONE) {
		p->plus = 0;
		p->set = true;
		return j;
	}
	if ((j = kw(sc, i, "tomorrow")) != NONE) {
		p->plus = 1;
		p->set = true;
		return j;
	}
	k = i;
	if ((j = kw(sc, i, "every")) != NONE && (j = spaces(sc, j)) != NONE) {
		every = true;
		k = j;
		if ((j = kw(sc, k, "other")) != NONE && (j = spaces(sc, j)) != NONE)
			k = j;
	} else if ((j = kw(sc, i, "next")) != NONE && (j = spaces(sc, j)) != NONE) {
		rel = 1;
		k = j;
	} else if ((j = kw(sc, i, "last")) != NONE && (j = spaces(sc, j)) != NONE) {
		rel = -1;
		k = j;
	} else if ((j = kw(sc, i, "this")) != NONE && (j = spaces(sc, j)) != NONE)
		k = j;
	if ((j = weekday(sc, k, &p->wday, &plural)) != NONE) {
		p->rel = rel;
		p->recurring = plural || every;
		p->set = true;
		if (p->recurring || rel != 0)
			return j;
		/* Weekday, then maybe a date. */
		k = j + (at(sc, j) == ',');
		if ((k = spaces(sc, k)) != NONE && (k = date(sc, k, p)) != NONE)
			return k;
		p->y = p->m = p->d = 0;
		p->iso = false;
		return j;
	}
	if (k != i)
		return NONE;
	if ((j = date(sc, i, p)) == NONE)
		return NONE;
	p->set = true;
	/* "May 1st, Tuesday" */
	k = j + (at(sc, j) == ',');
	if ((k = spaces(sc, k)) != NONE) {
		size_t w = weekday(sc, k, &p->wday, &plural);
		if (w != NONE && !plural)
			return w;
		p->wday = -1;
	}
	return j;
}

/* am/pm in any of its spellings; *pm set.  NONE if none. */
static size_t
ampm(const struct scanner *sc, size_t i, bool *pm)
{
	int c = lower(at(sc, i));
	size_t j;

	if (c != 'a' && c != 'p')
		return NONE;
	*pm = c == 'p';
	j = i + 1;
	if (at(sc, j) == '.')
		j = opt_spaces(sc, j + 1);
	if (lower(at(sc, j)) != 'm')
		return NONE;
	j++;
	if (at(sc, j) == '.')
		j++;
	if (is_alnum(at(sc, j)) && j == i + 2) {
		/* "3pmET": glued zone; "amazing": a word. */
		size_t n = word_len(sc, j);
		if (!(n >= 1 && n <= 4 && sc->t[j] >= 'A' && sc->t[j] <= 'Z'))
			return NONE;
	} else if (is_alnum(at(sc, j)))
		return NONE;
	return j;
}

/* Is w[0..n) one of the IANA time zone database's areas? */
static bool
iana_area(const char *w, size_t n)
{
	static const char *const areas[] = {"Africa", "America",
	    "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
	    "Indian", "Pacific", "Etc", "US", "Canada", "Brazil", "Chile",
	    "Mexico", NULL};

	for (int i = 0; areas[i]; i++)
		if (strlen(areas[i]) == n && strncmp(w, areas[i], n) == 0)
			return true;
	return false;
}

/* noon / midnight; NONE if neither. */
static size_t
noon(const struct scanner *sc, size_t i, struct clk *c)
{
	size_t j;

	if ((j = kw(sc, i, "noon")) != NONE) {
		c->h = 12;
	} else if ((j = kw(sc, i, "midnight")) != NONE) {
		c->h = 0;
		c->midnight = true;
	} else
		return NONE;
	c->mi = c->sec = 0;
	c->ampm = c->strong = true;
	return j;
}

static size_t
clock(const struct scanner *sc, size_t i, struct clk *c)
{
	size_t j, k;
	bool pm;

	memset(c, 0, sizeof(*c));
	if ((j = noon(sc, i, c)) != NONE)
		return j;
	if ((j = number(sc, i, 4, &c->h)) == NONE)
		return NONE;
	if (j - i == 4 || j - i == 3) {
		/* 1500 UTC: only with a zone right after */
		if (j - i == 3 || at(sc, i) > '2')
			return NONE;
		c->mi = c->h % 100;
		c->h /= 100;
		if (c->h > 23 || c->mi > 59 || at(sc, j) == ':' || at(sc, j) == '.')
			return NONE;
		c->needs_zone = c->strong = true;
		return j;
	}
	if (at(sc, j) == 'h' && !is_alpha(at(sc, j + 1)) && c->h <= 23) {
		/* "16h UTC", "16h30 UTC": only with a zone */
		j++;
		if (is_digit(at(sc, j))) {
			if ((k = number(sc, j, 2, &c->mi)) == NONE || k - j != 2 ||
			    c->mi > 59)
				return NONE;
			j = k;
		}
		c->needs_zone = c->strong = true;
		return j;
	}
	if (at(sc, j) == ':' || (at(sc, j) == '.' && is_digit(at(sc, j + 1)))) {
		bool dot = at(sc, j) == '.';
		if ((k = number(sc, j + 1, 2, &c->mi)) == NONE || k - j != 3)
			return NONE;
		j = k;
		c->colon = !dot;
		c->needs_zone = dot;
		if (!dot && at(sc, j) == ':') {
			if ((k = number(sc, j + 1, 2, &c->sec)) == NONE || k - j != 3)
				return NONE;
			j = k;
		}
		if (at(sc, j) == '.' && is_digit(at(sc, j + 1)))
			return NONE;    /* "2.0.1", "07:00.5" */
	}
	k = spaces(sc, j);
	if ((k = ampm(sc, k == NONE ? j : k, &pm)) != NONE) {
		if (c->h < 1 || c->h > 12 || c->mi > 59 || c->sec > 59)
			return NONE;
		c->ampm = true;
		c->pm = pm;
		c->needs_zone = false;
		c->h = c->h % 12 + (pm ? 12 : 0);
		/* "12:00 noon" */
		size_t q = spaces(sc, k);
		if (q != NONE && (kw(sc, q, "noon") != NONE))
			k = kw(sc, q, "noon");
		return k;
	}
	if (!c->colon && !c->needs_zone) {
		/* "12 noon", or a bare hour: a range start ("3-4pm") at most */
		size_t q = spaces(sc, j);
		if (c->h == 12 && q != NONE && kw(sc, q, "noon") != NONE) {
			c->ampm = c->strong = true;
			return kw(sc, q, "noon");
		}
		if (c->h > 23 || is_alpha(at(sc, j)))
			return NONE;
		c->bare = true;
		return j;
	}
	if (c->colon && c->h == 12 && c->mi == 0 && spaces(sc, j) != NONE &&
	    kw(sc, spaces(sc, j), "noon") != NONE) {
		c->ampm = c->strong = true;
		return kw(sc, spaces(sc, j), "noon");
	}
	if (c->h > 23 || c->mi > 59 || c->sec > 59)
		return NONE;
	return j;
}

/* The words of the attempt so far, for error messages. */
static const char *
words_of(const struct scanner *sc, size_t end, char buf[128])
{
	size_t n = end > sc->start ? end - sc->start : 0;

	if (n > 127)
		n = 127;
	/* not in the middle of a UTF-8 sequence */
	while (n > 0 && sc->start + n < sc->len &&
	    ((unsigned char)sc->t[sc->start + n] & 0xC0) == 0x80)
		n--;
	memcpy(buf, sc->t + sc->start, n);
	buf[n] = '\0';
	for (size_t k = 0; k < n; k++)
		if (buf[k] == '\n' || buf[k] == '\r' || buf[k] == '\t')
			buf[k] = ' ';
	return buf;
}

static int fail(struct scanner *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct scanner *sc, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sc->rc = herald_errf(sc->e, EX_DATAERR, sc->ctx->file, sc->line, "%s",
	    msg);
	return sc->rc;
}

static void why(struct scanner *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
why(struct scanner *sc, const char *fmt, ...)
{
	va_list ap;

	if (sc->why[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(sc->why, sizeof(sc->why), fmt, ap);
	va_end(ap);
}

/* UTC+2, GMT -5, UTC−7, UTC+05:30, +0200 at i.  Returns the end or NONE. */
static size_t
offset(const struct scanner *sc, size_t i, struct zone *z)
{
	size_t j = i, k, dl;
	int h = 0, mi = 0, sign;
	bool named = false;

	if (kw(sc, i, "utc") != NONE || kw(sc, i, "gmt") != NONE) {
		named = true;
		j = i + 3;
		if (at(sc, j) == ' ' && dash_len(sc, j + 1) + (at(sc, j + 1) == '+') > 0)
			j++;
	}
	if (at(sc, j) == '+')
		dl = 1, sign = 1;
	else if ((dl = dash_len(sc, j)) > 0)
		sign = -1;
	else
		return NONE;
	j += dl;
	if (!is_digit(at(sc, j)))
		return NONE;
	k = j;
	while (is_digit(at(sc, k)) && k - j < 4)
		k++;
	if (is_digit(at(sc, k)))
		return NONE;
	if (k - j <= 2) {
		h = (sc->t[j] - '0') * (k - j == 2 ? 10 : 1) +
		    (k - j == 2 ? sc->t[j + 1] - '0' : 0);
		if (at(sc, k) == ':' && is_digit(at(sc, k + 1)) &&
		    is_digit(at(sc, k + 2)) && !is_digit(at(sc, k + 3))) {
			mi = (sc->t[k + 1] - '0') * 10 + sc->t[k + 2] - '0';
			k += 3;
		}
		if (!named)
			return NONE;    /* "+2", "-10:41" alone: arithmetic, a range */
	} else if (k - j == 4) {
		h = (sc->t[j] - '0') * 10 + sc->t[j + 1] - '0';
		mi = (sc->t[j + 2] - '0') * 10 + sc->t[j + 3] - '0';
	} else
		return NONE;
	if (h > 14 || mi > 59 || is_alpha(at(sc, k)) ||
	    (!named && mi != 0 && mi != 30 && mi != 45))
		return NONE;
	z->fixed = sign * (h * 3600 + mi * 60);
	z->fixed_set = true;
	if (mi == 0) {
		if (h == 0)
			snprintf(z->zname, sizeof(z->zname), "Etc/UTC");
		else
			snprintf(z->zname, sizeof(z->zname), "Etc/GMT%c%d",
			    sign > 0 ? '-' : '+', h);
	} else
		snprintf(z->zname, sizeof(z->zname), "Etc/UTC");
	z->zone = z->zname;
	return k;
}

static bool
stopword(const struct scanner *sc, size_t i, size_t n)
{
	for (size_t k = 0; not_zone[k]; k++)
		if (word_ieq(sc, i, n, not_zone[k]))
			return true;
	return false;
}

/* Optional "(US and Canada)", "(US & Canada)", " time" after a zone. */
static size_t
zone_tail(const struct scanner *sc, size_t j)
{
	size_t k = opt_spaces(sc, j), q;

	if (at(sc, k) == '(' && (q = kw(sc, k + 1, "us")) != NONE &&
	    (q = spaces(sc, q)) != NONE) {
		size_t r = kw(sc, q, "and");
		if (r == NONE && at(sc, q) == '&')
			r = q + 1;
		if (r != NONE && (r = spaces(sc, r)) != NONE &&
		    (r = kw(sc, r, "canada")) != NONE && at(sc, r) == ')')
			return r + 1;
	}
	return j;
}

/*
 * The zone words at i (after a clock).  Returns the end and fills z, or
 * NONE: not a zone (sc->why says why when the word could have been one),
 * or sc->rc set on an error.
 */
static size_t
zone_at(struct scanner *sc, size_t i, struct zone *z)
{
	const struct herald_sessions_ctx *ctx = sc->ctx;
	char w[64], ob[128];
	size_t s = i, k, n, j;
	bool lower_only = true, upper_only = true, slash = false;

	memset(z, 0, sizeof(*z));
	z->dst = -1;
	z->start = i;
	if ((j = offset(sc, i, z)) != NONE)
		return z->end = j;
	k = s;
	while (is_alnum(at(sc, k)) || at(sc, k) == '_' || at(sc, k) == '/' ||
	    (at(sc, k) == '-' && is_alpha(at(sc, k + 1))) ||
	    ((at(sc, k) == '-' || at(sc, k) == '+') && is_digit(at(sc, k + 1)) &&
	    memchr(sc->t + s, '/', k - s) != NULL))
		k++;
	/* "PT/2 p.m. ET", "UTC/GMT": the first of several */
	n = k - s;
	if (n == 0 || n >= sizeof(w))
		return NONE;
	memcpy(w, sc->t + s, n);
	w[n] = '\0';
	for (size_t q = 0; q < n; q++) {
		lower_only &= !(w[q] >= 'A' && w[q] <= 'Z');
		upper_only &= !(w[q] >= 'a' && w[q] <= 'z');
		slash |= w[q] == '/';
	}
	if (slash) {
		if (strchr(w, '/') != w && herald_zone_valid(w) &&
		    !upper_only) {
			snprintf(z->zname, sizeof(z->zname), "%s", w);
			z->zone = z->zname;
			return z->end = zone_tail(sc, k);
		}
		if (strcmp(w, "UTC/GMT") == 0 || strcmp(w, "GMT/UTC") == 0) {
			z->zone = "Etc/UTC";
			return z->end = k;
		}
		/* Area/Location that does not exist in a real area: an
		 * error ("Europe/Berln", a typo).  Two cities ("4pm
		 * Paris/Berlin") are no zone name: left to the rules below,
		 * which leave the phrase as written. */
		n = (size_t)(strchr(w, '/') - w);
		if (w[0] >= 'A' && w[0] <= 'Z' && !upper_only && !lower_only &&
		    is_alpha(w[n + 1]) && iana_area(w, n)) {
			fail(sc, "unknown time zone \"%s\" in \"%s\"", w,
			    words_of(sc, k, ob));
			return NONE;
		}
		w[n] = '\0';
		k = s + n;
		lower_only = upper_only = true;
		for (size_t q = 0; q < n; q++) {
			lower_only &= !(w[q] >= 'A' && w[q] <= 'Z');
			upper_only &= !(w[q] >= 'a' && w[q] <= 'z');
		}
		if (n == 0)
			return NONE;
	}
	for (size_t q = 0; q < n; q++)
		if (!is_alpha(w[q]))
			goto names;
	for (size_t q = 0; q < ctx->naliases; q++)
		if (ctx->aliases[q].abbr != NULL &&
		    strcmp(ctx->aliases[q].abbr, w) == 0) {
			if (!herald_zone_valid(ctx->aliases[q].zone)) {
				fail(sc, "unknown time zone \"%s\" for \"%s\" "
				    "(timezone_aliases in herald.yml) in \"%s\"",
				    ctx->aliases[q].zone, w, words_of(sc, k, ob));
				return NONE;
			}
			z->zone = ctx->aliases[q].zone;
			return z->end = zone_tail(sc, k);
		}
	if (w[0] == 'Z' && n == 1 && s > 0 && (is_digit(at(sc, s - 1)) ||
	    (at(sc, s - 1) == ' ' && is_digit(at(sc, s - 2))))) {
		z->zone = "Etc/UTC";
		return z->end = k;
	}
	if (n >= 2 && n <= 5) {
		for (size_t q = 0; q < sizeof(abbrs) / sizeof(abbrs[0]); q++)
			if (word_ieq(sc, s, n, abbrs[q].abbr) &&
			    (upper_only || abbrs[q].lower)) {
				z->zone = abbrs[q].zone;
				z->check = abbrs[q].check ? abbrs[q].abbr : NULL;
				z->hint = abbrs[q].hint;
				j = zone_tail(sc, k);
				/* "PT time", "UTC time" */
				if (j == k && spaces(sc, k) != NONE &&
				    kw(sc, spaces(sc, k), "time") != NONE &&
				    !is_alnum(at(sc, kw(sc, spaces(sc, k), "time"))))
					j = kw(sc, spaces(sc, k), "time");
				return z->end = j;
			}
		for (size_t q = 0; q < sizeof(ambiguous) / sizeof(ambiguous[0]); q++)
			if (word_ieq(sc, s, n, ambiguous[q].abbr) &&
			    (upper_only || ambiguous[q].lower)) {
				z->zone = ambiguous[q].a;
				z->alt = ambiguous[q].b;
				z->amb = (int)q + 1;
				return z->end = zone_tail(sc, k);
			}
	}
names:
	/* Long names and cities, from ICU: up to six words. */
	{
		char phrase[128];
		size_t nw = 0, p = s, best = NONE;
		const char *bz = NULL;
		int bkind = 0;

		phrase[0] = '\0';
		while (nw < 6) {
			size_t l = 0;
			while (is_alpha(at(sc, p + l)) || at(sc, p + l) == '-' ||
			    at(sc, p + l) == '\'' || at(sc, p + l) == '.' ||
			    (at(sc, p + l) >= 0x80 && at(sc, p + l) != 0xE2) ||
			    (at(sc, p + l) == 0xE2 && dash_len(sc, p + l) == 0))
				l++;
			while (l > 0 && (sc->t[p + l - 1] == '.' ||
			    sc->t[p + l - 1] == '-' || sc->t[p + l - 1] == '\''))
				l--;
			if (l == 0 || strlen(phrase) + l + 2 >= sizeof(phrase))
				break;
			if (nw > 0)
				strcat(phrase, " ");
			strncat(phrase, sc->t + p, l);
			nw++;
			{
				const char *zz;
				int kind;
				size_t tq = spaces(sc, p + l), te = NONE;
				if (tq != NONE && (te = kw(sc, tq, "time")) != NONE &&
				    is_alnum(at(sc, te)))
					te = NONE;
				if (herald_zone_from_words(phrase, &zz, &kind) &&
				    (kind != HERALD_ZW_CITY || te != NONE)) {
					best = kind == HERALD_ZW_CITY ? te : p + l;
					bz = zz;
					bkind = kind;
				}
			}
			if (at(sc, p + l) != ' ')
				break;
			p = p + l + 1;
		}
		if (best != NONE) {
			z->zone = bz;
			z->dst = bkind == HERALD_ZW_STANDARD ? 0 :
			    bkind == HERALD_ZW_DAYLIGHT ? 1 : -1;
			k = best;
			/* "Berlin time", "Pacific Time" read already; "Pacific"
			 * alone may be followed by "time" too */
			if (spaces(sc, k) != NONE &&
			    (j = kw(sc, spaces(sc, k), "time")) != NONE &&
			    !is_alnum(at(sc, j)))
				k = j;
			return z->end = zone_tail(sc, k);
		}
	}
	/* Not a zone.  Could it have been one? */
	n = word_len(sc, s);
	if (n == 0)
		return NONE;
	if (!stopword(sc, s, n))
		why(sc, "\"%.*s\" after the clock is not a time zone herald knows",
		    (int)n, sc->t + s);
	return NONE;
}

/* The zone after a clock ending at j: glued ("3pmET", "14:00UTC"), after
 * spaces, or in parentheses.  Returns the end, or NONE (no zone; sc->why
 * set when a word that could be a zone follows). */
static size_t
zone_after(struct scanner *sc, size_t j, struct zone *z)
{
	size_t k = j, e;
	bool paren = false;

	memset(z, 0, sizeof(*z));
	if (is_alpha(at(sc, j)) || at(sc, j) == '+' || dash_len(sc, j) > 0) {
		if (dash_len(sc, j) > 0 || at(sc, j) == '+') {
			/* "07:00-07:00" is a range; "21:30:00 -0700" needs a space */
			return NONE;
		}
		k = j;
	} else {
		if ((k = spaces(sc, j)) == NONE)
			k = j;
		if (at(sc, k) == '(') {
			paren = true;
			k = opt_spaces(sc, k + 1);
		}
	}
	if (k == j && !is_alpha(at(sc, k)))
		return NONE;
	e = zone_at(sc, k, z);
	if (e == NONE)
		return NONE;
	if (paren) {
		e = opt_spaces(sc, e);
		if (at(sc, e) != ')') {
			/* "(10:00 PDT)" is read as another zone by the caller */
			return NONE;
		}
		e++;
	}
	return e;
}

/* A range separator after j; the index of what follows, or NONE. */
static size_t
range_sep(const struct scanner *sc, size_t j)
{
	size_t k = opt_spaces(sc, j), d, q;
	static const char *const words[] = {"to", "until", "till", "til",
	    "through", "thru", NULL};

	if ((d = dash_len(sc, k)) > 0)
		return opt_spaces(sc, k + d);
	for (int w = 0; words[w]; w++)
		if ((q = kw(sc, k, words[w])) != NONE && spaces(sc, q) != NONE)
			return spaces(sc, q);
	return NONE;
}

/*
 * clock [zone] [RANGE clock [zone]] at i.  Returns the end, or NONE (sc->rc
 * set on an error).  The zone is in sp->z (zone NULL: none written).
 */
static size_t
span(struct scanner *sc, size_t i, struct span *sp)
{
	size_t j, k, e;
	struct zone z2;

	memset(sp, 0, sizeof(*sp));
	sp->z.dst = -1;
	if ((j = clock(sc, i, &sp->a)) == NONE)
		return NONE;
	if ((k = spaces(sc, j)) != NONE && at(sc, k) == '+' &&
	    (at(sc, k + 1) == '1' || at(sc, k + 1) == '2') &&
	    spaces(sc, k + 2) != NONE && is_alpha(at(sc, spaces(sc, k + 2))) &&
	    zone_after(sc, k + 2, &sp->z) != NONE)
		j = k + 2;  /* "6am +1 AEST": the next day there */
	memset(&sp->z, 0, sizeof(sp->z));
	sp->z.dst = -1;
	if ((e = zone_after(sc, j, &sp->z)) != NONE)
		j = e;
	else if (sc->rc)
		return NONE;
	else if (sp->a.colon && (k = spaces(sc, j)) != NONE &&
	    (e = number(sc, k, 4, &sp->year)) != NONE && e - k == 4 &&
	    sp->year >= 1970 && sp->year <= 2099 &&
	    (e = zone_after(sc, e, &sp->z)) != NONE)
		j = e;      /* ctime's "17:59:53 2021 UTC" */
	else {
		sp->year = 0;
		if (sc->rc)
			return NONE;
	}
	if ((k = range_sep(sc, j)) != NONE && clock(sc, k, &sp->b) != NONE &&
	    !sp->b.bare) {
		size_t kb = clock(sc, k, &sp->b);
		sp->has_end = true;
		j = kb;
		if ((e = zone_after(sc, j, &z2)) != NONE) {
			if (sp->z.zone != NULL && (strcmp(sp->z.zone, z2.zone) != 0 ||
			    sp->z.fixed != z2.fixed)) {
				why(sc, "a range whose ends are in different zones");
				return NONE;
			}
			if (sp->z.zone == NULL) {
				sp->z = z2;
				if (z2.zone == z2.zname)
					sp->z.zone = sp->z.zname;
			}
			j = e;
		} else if (sc->rc)
			return NONE;
		/* "3-4pm": the start takes the end's half of the day */
		if (!sp->a.ampm && sp->b.ampm && sp->a.h <= 12) {
			if (sp->a.h == 12)
				sp->a.h = 0;
			if (sp->b.pm && sp->a.h + 12 <= sp->b.h)
				sp->a.h += 12;
			sp->a.ampm = true;
		}
		sp->a.bare = false;
	}
	if (sp->a.bare)
		return NONE;    /* "3" alone is a number */
	return j;
}

/* Weekday names of the recurring markers before i on the same line. */
static bool
recurring_before(const struct scanner *sc, size_t i)
{
	static const char *const marks[] = {"every", "weekly", "biweekly",
	    "bi-weekly", "fortnightly", "weeks", "each", "alternate", NULL};
	size_t lo = i > 48 ? i - 48 : 0;

	for (size_t k = i; k > lo; k--) {
		if (sc->t[k - 1] == '\n')
			break;
		if (k - 1 == 0 || !is_alpha(sc->t[k - 2])) {
			for (int m = 0; marks[m]; m++) {
				size_t n = strlen(marks[m]);
				if (k - 1 + n <= i && strncasecmp(sc->t + k - 1, marks[m], n) == 0 &&
				    !is_alpha(at(sc, k - 1 + n)))
					return true;
			}
		}
	}
	return false;
}

/*
 * The day, in days since the epoch, that p names.  Returns 0 or an error.
 */
static int
resolve_day(struct scanner *sc, size_t end, struct day *p, int64_t *days)
{
	const struct herald_sessions_ctx *ctx = sc->ctx;
	static const char *const wnames[7] = {"Sunday", "Monday", "Tuesday",
	    "Wednesday", "Thursday", "Friday", "Saturday"};
	bool have_post = ctx->year != 0;
	int64_t post = have_post ?
	    herald_days_from_civil(ctx->year, ctx->month, ctx->day) : 0;
	char ob[128];
	int y, m, d;
	bool inferred = false;

	if (p->plus >= 0) {
		if (!have_post)
			return fail(sc, "\"%s\" needs a post date (date: in front "
			    "matter, YYYY-MM-DD- file name, or --date)",
			    words_of(sc, end, ob));
		*days = post + p->plus;
		return 0;
	}
	if (p->m == 0) {
		if (!have_post)
			return fail(sc, "weekday in \"%s\" needs a post date "
			    "(date: in front matter, YYYY-MM-DD- file name, or "
			    "--date)", words_of(sc, end, ob));
		if (p->rel < 0)
			*days = post - 1 - (herald_weekday(post - 1) - p->wday + 7) % 7;
		else if (p->rel > 0)
			*days = post + 1 + (p->wday - herald_weekday(post + 1) + 7) % 7;
		else
			*days = post + (p->wday - herald_weekday(post) + 7) % 7;
		return 0;
	}
	if (p->y == 0) {
		if (!have_post)
			return fail(sc, "date without a year in \"%s\" needs a "
			    "post date (date: in front matter, YYYY-MM-DD- file "
			    "name, or --date)", words_of(sc, end, ob));
		inferred = true;
		p->y = ctx->year;
		if (p->m < 0) {
			/* "the 6th": this month, or the next */
			p->m = ctx->month;
			if (p->d < ctx->day && ++p->m > 12) {
				p->m = 1;
				p->y++;
			}
		}
		if (herald_days_from_civil(p->y, p->m, p->d) < post - 183)
			p->y++;
	}
	*days = herald_days_from_civil(p->y, p->m, p->d);
	herald_civil_from_days(*days, &y, &m, &d);
	if (p->m < 1 || p->m > 12 || y != p->y || m != p->m || d != p->d)
		return fail(sc, "no such date in \"%s\"", words_of(sc, end, ob));
	if (p->wday >= 0 && herald_weekday(*days) != p->wday && inferred) {
		/* No year written, and the guess falls on another weekday:
		 * the weekday names the year, if exactly one year next to
		 * the guess, within a year of the post, has the date on it
		 * ("Monday, April 25" in a September 2015 post: 2016).  The
		 * weekdays of one date in three years in a row differ, so
		 * there is never more than one. */
		for (int dy = -1; dy <= 1; dy += 2) {
			int64_t alt = herald_days_from_civil(p->y + dy, p->m,
			    p->d);

			herald_civil_from_days(alt, &y, &m, &d);
			if (y == p->y + dy && m == p->m && d == p->d &&
			    herald_weekday(alt) == p->wday &&
			    alt - post <= 366 && post - alt <= 366) {
				p->y += dy;
				*days = alt;
				break;
			}
		}
	}
	if (p->wday >= 0 && herald_weekday(*days) != p->wday)
		return fail(sc, "\"%s\": %04d-%02d-%02d is a %s",
		    words_of(sc, end, ob), p->y, p->m, p->d,
		    wnames[herald_weekday(*days)]);
	return 0;
}

/* The instant for a wall clock (day, h:mi:sec) in zone z.  Returns 0 or an
 * error (reported). */
static int
instant(struct scanner *sc, size_t end, int64_t days, const struct clk *c,
    const struct zone *z, int64_t *utc)
{
	int64_t local, cand[2];
	char date_s[16], abbr[16], abbr2[16], ob[128];
	int n, off, y, m, d;
	bool dst;

	local = days * 86400 + c->h * 3600 + c->mi * 60 + c->sec;
	herald_civil_from_days(days, &y, &m, &d);
	snprintf(date_s, sizeof(date_s), "%04d-%02d-%02d", y, m, d);
	if (z->fixed_set) {
		*utc = local - z->fixed;
		return 0;
	}
	n = herald_zone_local(z->zone, local, cand);
	if (n < 0)
		return fail(sc, "unknown time zone \"%s\" in \"%s\"", z->zone,
		    words_of(sc, end, ob));
	/* "01:30 EDT" on the night clocks go back names one of the two. */
	if (n == 2 && (z->check != NULL || z->dst >= 0)) {
		for (int k = 0; k < 2; k++) {
			herald_zone_info(z->zone, cand[k], &off, abbr, &dst);
			if (z->check ? strcmp(abbr, z->check) == 0 :
			    (int)dst == z->dst) {
				cand[0] = cand[k];
				n = 1;
				break;
			}
		}
	}
	if (n == 0)
		return fail(sc, "\"%s\": %02d:%02d does not exist in %s on %s "
		    "(clocks jump forward)", words_of(sc, end, ob), c->h, c->mi,
		    z->zone, date_s);
	if (n == 2) {
		herald_zone_offset(z->zone, cand[0], &off, abbr);
		herald_zone_offset(z->zone, cand[1], &off, abbr2);
		return fail(sc, "\"%s\": %02d:%02d is ambiguous in %s on %s "
		    "(clocks go back: it happens in %s, then in %s): write it in "
		    "UTC", words_of(sc, end, ob), c->h, c->mi, z->zone, date_s,
		    abbr, abbr2);
	}
	*utc = cand[0];
	herald_zone_info(z->zone, *utc, &off, abbr, &dst);
	/* Not an error: real posts write "PST" all year.  Left alone and
	 * reported, so nobody is told a time an hour off. */
	if (z->check != NULL && strcmp(abbr, z->check) != 0) {
		sc->why[0] = '\0';
		why(sc, "%s is not in effect in %s on %s (%s is): write %s, "
		    "or %s", z->check, z->zone, date_s, abbr, abbr, z->hint);
		return 2;
	}
	if (z->dst >= 0 && (int)dst != z->dst) {
		sc->why[0] = '\0';
		why(sc, "%s time is not in effect in %s on %s (%s is): write "
		    "the zone's generic name or %s", z->dst ? "daylight" :
		    "standard", z->zone, date_s, abbr, z->zone);
		return 2;
	}
	return 0;
}

/* Nearest instant of clock c in zone z to t (within a day either way). */
static int
near_instant(struct scanner *sc, size_t end, int64_t t, const struct clk *c,
    const struct zone *z, int64_t *out)
{
	int64_t best = 0, days = (t >= 0 ? t : t - 86399) / 86400;
	bool found = false;

	for (int64_t dd = days - 1; dd <= days + 1; dd++) {
		int64_t u;
		struct herald_err keep = *sc->e;
		int rc = sc->rc;

		if (instant(sc, end, dd, c, z, &u) != 0) {
			*sc->e = keep;
			sc->rc = rc;
			continue;
		}
		sc->why[0] = '\0';
		if (!found || llabs(u - t) < llabs(best - t))
			best = u;
		found = true;
	}
	*out = best;
	return found ? 0 : -1;
}

/* "Mondays and Fridays at 8:00": another weekday right before i. */
static bool
more_days_before(const struct scanner *sc, size_t i)
{
	size_t k = i, w;

	while (k > 0 && (sc->t[k - 1] == ' ' || sc->t[k - 1] == ',' ||
	    sc->t[k - 1] == '&' || sc->t[k - 1] == '/'))
		k--;
	if (k >= 3 && strncasecmp(sc->t + k - 3, "and", 3) == 0)
		k -= 3;
	else if (k >= 2 && strncasecmp(sc->t + k - 2, "or", 2) == 0)
		k -= 2;
	while (k > 0 && sc->t[k - 1] == ' ')
		k--;
	if (k == i)
		return false;
	w = k;
	while (w > 0 && is_alpha(sc->t[w - 1]))
		w--;
	if (w == k)
		return false;
	{
		int wd;
		bool pl;
		size_t e = weekday(sc, w, &wd, &pl);
		return e != NONE && (e == k || e == k + 1);
	}
}

/* "the second Tuesday", "on the Last Wed", "every month on the Fourth
 * Wednesday", "every 2nd Tuesday": a weekday of the month (or every N
 * weeks), not the first one after the post date, nor the one before it,
 * nor every week.  i is where the day starts ("last" included). */
static bool
month_weekday(const struct scanner *sc, size_t i)
{
	static const char *const ord[] = {"first", "second", "third",
	    "fourth", "fifth", "last", "final", "penultimate", "1st", "2nd",
	    "3rd", "4th", "5th", NULL};
	size_t lo = i > 40 ? i - 40 : 0, k = i, w;
	bool last = kw(sc, i, "last") != NONE;

	/* the word right before the day, past spaces and emphasis */
	while (k > lo && (sc->t[k - 1] == ' ' || sc->t[k - 1] == '*' ||
	    sc->t[k - 1] == '_'))
		k--;
	w = k;
	while (w > lo && is_alnum(sc->t[w - 1]))
		w--;
	if (w == k)
		return false;
	if (last)       /* "the last Wednesday"; "last Wednesday" is history */
		return word_ieq(sc, w, k - w, "the");
	for (int o = 0; ord[o]; o++)
		if (word_ieq(sc, w, k - w, ord[o]))
			return true;
	return false;
}

/* "the following Thursday", "a week from Thursday", "in two weeks:
 * Thursday", "Thursday next week", "Thursday after next": a weekday that
 * is not the first one after the post date. */
static bool
relative_week(const struct scanner *sc, size_t i, size_t end)
{
	static const char *const before[] = {"following", "after", "from",
	    "subsequent", NULL};
	size_t lo = i > 40 ? i - 40 : 0, k = i, w, q;

	/* the word right before the day (or before "the") */
	while (k > lo && !is_alpha(sc->t[k - 1]) && sc->t[k - 1] != '\n')
		k--;
	w = k;
	while (w > lo && is_alpha(sc->t[w - 1]))
		w--;
	for (int b = 0; before[b]; b++)
		if (word_ieq(sc, w, k - w, before[b]))
			return true;
	/* "in two weeks", "in 2 weeks" before it on the line */
	for (q = lo; q + 5 <= i; q++)
		if (sc->t[q] == '\n')
			lo = q + 1;
	for (q = lo; q + 5 <= i; q++)
		if ((q == 0 || !is_alpha(sc->t[q - 1])) &&
		    strncasecmp(sc->t + q, "in ", 3) == 0) {
			size_t r = q + 3;
			while (r < i && (is_alnum(sc->t[r]) || sc->t[r] == ' ') &&
			    r - q < 16)
				r++;
			if (r - q >= 8 && strncasecmp(sc->t + r - 6, "weeks", 5) == 0)
				return true;
			if (r - q >= 7 && strncasecmp(sc->t + r - 5, "week", 4) == 0)
				return true;
		}
	/* "Thursday next week", "Thursday after next", "Thursday week" */
	q = opt_spaces(sc, end);
	if ((k = kw(sc, q, "next")) != NONE && (k = spaces(sc, k)) != NONE &&
	    kw(sc, k, "week") != NONE)
		return true;
	if ((k = kw(sc, q, "after")) != NONE && (k = spaces(sc, k)) != NONE &&
	    kw(sc, k, "next") != NONE)
		return true;
	if ((k = kw(sc, q, "of")) != NONE && (k = spaces(sc, k)) != NONE &&
	    (k = kw(sc, k, "next")) != NONE)
		return true;
	return false;
}

/* Do the few words after end say the reader's own time ("in your (own)
 * time zone", "in your local time", "local time")? */
static bool
own_time_after(const struct scanner *sc, size_t end)
{
	static const char *const own[] = {"your", "my", "own", "local",
	    "their", "everyone", "wherever", NULL};
	size_t q = end;

	for (int w = 0; w < 4; w++) {
		size_t n;

		q = opt_spaces(sc, q);
		if (at(sc, q) == '(' || at(sc, q) == ',')
			q = opt_spaces(sc, q + 1);
		if ((n = word_len(sc, q)) == 0)
			return false;
		for (int k = 0; own[k]; k++)
			if (word_ieq(sc, q, n, own[k]))
				return true;
		q += n;
	}
	return false;
}

/* instant() without leaving an error or a reason behind. */
static int
instant_quiet(struct scanner *sc, size_t end, int64_t days,
    const struct clk *c, const struct zone *z, int64_t *utc)
{
	struct herald_err keep = *sc->e;
	int rc = sc->rc, r;
	char w[sizeof(sc->why)];

	memcpy(w, sc->why, sizeof(w));
	r = instant(sc, end, days, c, z, utc);
	*sc->e = keep;
	sc->rc = rc;
	memcpy(sc->why, w, sizeof(w));
	return r;
}

/* Does the other zone o give the instant t?  An ambiguous abbreviation
 * there agrees when either reading does (and is settled to it). */
static bool
other_agrees(struct scanner *sc, size_t end, int64_t t, struct span *o)
{
	for (int r = 0; r < (o->z.amb ? 2 : 1); r++) {
		struct zone zr = o->z;
		int64_t u, od, days = (t >= 0 ? t : t - 86399) / 86400;
		bool ok = false;

		if (r == 1)
			zr.zone = o->z.alt;
		if (zr.zone == o->z.zname)
			zr.zone = zr.zname;
		if (o->day.set) {
			struct herald_err keep = *sc->e;
			int rc = sc->rc;
			struct day d = o->day;
			if (resolve_day(sc, end, &d, &od) == 0)
				ok = instant_quiet(sc, end, od, &o->a, &zr, &u) == 0 &&
				    u == t;
			*sc->e = keep;
			sc->rc = rc;
		} else
			for (int64_t dd = days - 1; dd <= days + 1 && !ok; dd++)
				ok = instant_quiet(sc, end, dd, &o->a, &zr, &u) == 0 &&
				    u == t;
		if (ok) {
			if (o->z.amb) {
				o->z.zone = r ? o->z.alt : o->z.zone;
				o->z.amb = 0;
			}
			return true;
		}
	}
	return false;
}

/* A zone's name for messages. */
static const char *
zname(const struct scanner *sc, const struct zone *z, char buf[64])
{
	size_t n = z->end > z->start ? z->end - z->start : 0;

	if (n == 0 || n > 60)
		return z->zone ? z->zone : "?";
	memcpy(buf, sc->t + z->start, n);
	buf[n] = '\0';
	return buf;
}

/* Is the line a quoted mail header ("On May 22, 2015, at 8:07 PM, X
 * wrote:")? */
static bool
mail_quote(const struct scanner *sc, size_t i)
{
	size_t e = i;

	while (e < sc->len && sc->t[e] != '\n')
		e++;
	for (size_t k = i; k + 6 <= e; k++)
		if (strncmp(sc->t + k, "wrote:", 6) == 0)
			return true;
	return false;
}

/*
 * Try a plain-words time at i.  Returns 1 (converted, in *m), 2 (left
 * alone and reported: m->skip set), 0 (nothing clock-like), -1 (error).
 */
static int
words(struct scanner *sc, size_t i, struct herald_time_match *m)
{
	struct day dy;
	struct span sp, others[4];
	size_t j, k, end, q;
	int64_t days = 0, utc, utc_end;
	bool day_first = false;
	char ob[128], zb1[64], zb2[64];
	int nother = 0;
	const char *post_zone = sc->ctx->post_zone;
	struct zone pz;

	sc->why[0] = '\0';
	memset(&dy, 0, sizeof(dy));
	memset(&sp, 0, sizeof(sp));
	if ((j = day(sc, i, &dy)) != NONE) {
		day_first = true;
		/* SEP */
		if (dy.iso && at(sc, j) == 'T' && is_digit(at(sc, j + 1)))
			j++;
		else {
			k = j;
			if (at(sc, k) == ',' || at(sc, k) == '|' || at(sc, k) == ':')
				k++;
			else if (spaces(sc, k) != NONE && dash_len(sc, spaces(sc, k)) > 0)
				k = spaces(sc, k) + dash_len(sc, spaces(sc, k));
			else if (spaces(sc, k) != NONE && bullet_len(sc, spaces(sc, k)))
				k = spaces(sc, k) + bullet_len(sc, spaces(sc, k));
			else if (spaces(sc, k) != NONE && at(sc, spaces(sc, k)) == '|')
				k = spaces(sc, k) + 1;      /* "March 5, 2024 | 10:00" */
			if ((k = spaces(sc, k)) == NONE)
				return 0;
			j = k;
			/* "Date: Wednesday, 13 December 2023\nTime: 19:00" */
			if ((k = kw(sc, j, "time")) != NONE && at(sc, k) == ':' &&
			    (k = spaces(sc, k + 1)) != NONE)
				j = k;
			/* "Wednesday night at 8pm" */
			if (dy.m == 0 && dy.plus < 0 && ((k = kw(sc, j, "night")) != NONE ||
			    (k = kw(sc, j, "morning")) != NONE ||
			    (k = kw(sc, j, "evening")) != NONE ||
			    (k = kw(sc, j, "afternoon")) != NONE) &&
			    (k = spaces(sc, k)) != NONE)
				j = k;
			if ((k = kw(sc, j, "at")) != NONE ||
			    (k = kw(sc, j, "from")) != NONE ||
			    (at(sc, j) == '@' && (k = j + 1) > 0))
				if ((k = spaces(sc, k)) != NONE)
					j = k;
		}
		if (clock(sc, j, &sp.a) == NONE)
			return 0;
	} else {
		struct clk c;
		size_t ce = clock(sc, i, &c);
		if (ce == NONE || (c.bare && range_sep(sc, ce) == NONE))
			return 0;
		j = i;
	}
	if ((end = span(sc, j, &sp)) == NONE) {
		struct clk c;
		size_t ce;

		if (sc->rc)
			return -1;
		ce = clock(sc, j, &c);
		if (ce == NONE || c.bare || !(c.ampm || c.colon))
			return 0;
		end = ce;
		why(sc, "not a whole time");
		goto skip;
	}
	if (sp.a.needs_zone && sp.z.zone == NULL)
		return 0;       /* "14.00", "1500" without a zone: numbers */
	/* Other zones for the same time: "/ 1pm ET", "(10:00 PDT)". */
	for (;;) {
		size_t s0 = end;
		bool paren = false, ok = false;

		q = opt_spaces(sc, end);
		if (at(sc, q) == '(') {
			paren = true;
			q = opt_spaces(sc, q + 1);
		} else if (at(sc, q) == '/' || at(sc, q) == '|' ||
		    at(sc, q) == ',')
			q = opt_spaces(sc, q + 1);
		else if (((k = kw(sc, q, "or")) != NONE ||
		    (k = kw(sc, q, "and")) != NONE) && spaces(sc, k) != NONE)
			q = spaces(sc, k);
		else if (q > end && is_digit(at(sc, q)))
			;               /* "4pm EDT 1pm PDT" */
		else
			break;
		for (;;) {
			struct span o;
			size_t d0 = q;

			memset(&o, 0, sizeof(o));
			if ((paren || at(sc, opt_spaces(sc, s0)) == '/') &&
			    (k = day(sc, q, &o.day)) != NONE) {
				k += at(sc, k) == ',';
				if ((k = spaces(sc, k)) == NONE)
					break;
				q = k;
				if (((k = kw(sc, q, "at")) != NONE ||
				    (at(sc, q) == '@' && (k = q + 1) > 0)) &&
				    (k = spaces(sc, k)) != NONE)
					q = k;
			} else
				memset(&o.day, 0, sizeof(o.day));
			if (!is_digit(at(sc, q)) && kw(sc, q, "noon") == NONE &&
			    kw(sc, q, "midnight") == NONE) {
				/* "8:00 PST (UTC-8)": an offset alone in
				 * parentheses is the same clock again, and
				 * must agree ("8:00 PST (UTC-7)" does not) */
				struct zone oz;
				const struct span *last = nother > 0 ?
				    &others[nother - 1] : &sp;

				if (paren && last->z.zone != NULL &&
				    !last->z.fixed_set && nother < 4 &&
				    q + 3 <= sc->len &&
				    (strncasecmp(sc->t + q, "UTC", 3) == 0 ||
				    strncasecmp(sc->t + q, "GMT", 3) == 0) &&
				    (k = zone_at(sc, q, &oz)) != NONE &&
				    oz.fixed_set && at(sc, opt_spaces(sc, k)) == ')') {
					o = *last;
					o.z = oz;
					o.comma = false;
					o.before = s0;
					others[nother++] = o;
					if (others[nother - 1].z.zone == oz.zname)
						others[nother - 1].z.zone =
						    others[nother - 1].z.zname;
					end = k;
					ok = true;
					break;
				}
				if (sc->rc)
					return -1;
				q = d0;
				break;
			}
			sc->why[0] = '\0';
			if ((k = span(sc, q, &o)) == NONE || o.z.zone == NULL) {
				struct clk c;
				size_t ce;

				if (sc->rc)
					return -1;
				ce = clock(sc, q, &c);
				if (ce != NONE && !c.bare && (sc->why[0] != '\0' ||
				    paren || at(sc, opt_spaces(sc, s0)) == '/') &&
				    (paren || at(sc, opt_spaces(sc, s0)) != ',')) {
					if (sc->why[0] == '\0')
						why(sc, "another clock in the phrase has "
						    "no zone herald can read");
					/* a clock in a zone we cannot read:
					 * the phrase is not whole */
					end = k != NONE ? k : ce;
					goto skip;
				}
				q = d0;
				break;
			}
			if (sp.z.zone != NULL && strcmp(o.z.zone, sp.z.zone) == 0 &&
			    o.z.fixed == sp.z.fixed) {
				q = d0;      /* the same zone: another time */
				break;
			}
			o.comma = !paren && at(sc, opt_spaces(sc, s0)) != '/';
			/* "4pm EDT 1pm PDT": one time only if they agree */
			o.before = s0;
			if (nother < 4) {
				others[nother] = o;
				if (o.z.zone == o.z.zname)
					others[nother].z.zone = others[nother].z.zname;
				nother++;
			}
			end = k;
			ok = true;
			if (!paren)
				break;
			q = opt_spaces(sc, end);
			if (at(sc, q) == '/' || at(sc, q) == ',' || at(sc, q) == '|' ||
			    at(sc, q) == ';') {
				q = opt_spaces(sc, q + 1);
				continue;
			}
			break;
		}
		if (ok && paren) {
			q = opt_spaces(sc, end);
			if (at(sc, q) == ',' && (k = kw(sc, opt_spaces(sc, q + 1),
			    "etc")) != NONE) {
				q = k + (at(sc, k) == '.');   /* "(5pm PT, etc.)" */
				q = opt_spaces(sc, q);
			}
			if (at(sc, q) != ')') {
				why(sc, "an unclosed parenthesis after the time");
				goto skip;
			}
			end = q + 1;
		}
		if (!ok) {
			end = s0;
			break;
		}
	}
	sc->why[0] = '\0';
	/* The zone: written, from another zone given, or the post's. */
	if (sp.z.zone == NULL) {
		if (nother > 0) {
			why(sc, "a clock without a zone beside one in %s",
			    zname(sc, &others[0].z, zb2));
			goto skip;
		}
		/* Could the next word name a zone?  ("(your local time)") */
		q = spaces(sc, end);
		if (q != NONE && at(sc, q) == '(')
			q = opt_spaces(sc, q + 1);
		if (q != NONE && is_alpha(at(sc, q))) {
			struct zone tmp;
			size_t n = word_len(sc, q);

			if (zone_at(sc, q, &tmp) == NONE && sc->rc)
				return -1;
			if (!stopword(sc, q, n)) {
				why(sc, "\"%.*s\" after the clock is not a time zone "
				    "herald knows", (int)n, sc->t + q);
				goto skip;
			}
		}
		/* "at 10:00 in your own time zone": the reader's time, not
		 * the post's */
		if (own_time_after(sc, end)) {
			why(sc, "a time in each reader's own zone");
			goto skip;
		}
		if (post_zone == NULL) {
			if (!day_first && !sp.a.ampm && !sp.has_end)
				return 0;   /* "10:30" alone: a verse, a score */
			why(sc, "no time zone (write one, or set timezone: in "
			    "front matter)");
			goto skip;
		}
		memset(&pz, 0, sizeof(pz));
		pz.zone = post_zone;
		pz.dst = -1;
		sp.z = pz;
	}
	/* The day after the clock: "on Monday", ", May 6th", "every Thursday". */
	if (!day_first) {
		q = end + (at(sc, end) == ',');
		if ((q = spaces(sc, q)) != NONE) {
			if ((k = kw(sc, q, "on")) != NONE && spaces(sc, k) != NONE)
				q = spaces(sc, k);
			if ((k = day(sc, q, &dy)) != NONE) {
				end = k;
				day_first = true;
			} else if (at(sc, q) == '(' && (k = day(sc, q + 1, &dy)) != NONE &&
			    at(sc, k) == ')') {
				end = k + 1;   /* "9:00 p.m. PDT (March 11)" */
				day_first = true;
			}
		}
		/* "tomorrow at 08:00 UTC and 20:00 UTC": the day before it */
		if (!day_first && sc->prev_set && sc->prev_end <= i) {
			size_t g = sc->prev_end;
			bool joined = false;

			g = opt_spaces(sc, g);
			if (at(sc, g) == ',' || at(sc, g) == '&' || at(sc, g) == ';')
				g = opt_spaces(sc, g + 1);
			if ((k = kw(sc, g, "and")) != NONE || (k = kw(sc, g, "or")) != NONE)
				g = opt_spaces(sc, k), joined = true;
			else if (g > sc->prev_end)
				joined = true;
			if (joined && g == i) {
				dy = sc->prev_day;
				day_first = true;
			}
		}
		/* a table row: "| Thursday | 10am PT |" */
		if (!day_first && sc->ctx->day_hint != NULL) {
			struct scanner hs = *sc;
			size_t he;

			hs.t = sc->ctx->day_hint;
			hs.len = strlen(hs.t);
			he = day(&hs, 0, &dy);
			if (he != NONE && he == hs.len)
				day_first = true;
		}
		if (!day_first) {
			why(sc, "no day (a weekday or a date) with the clock");
			goto skip;
		}
	}
	if (mail_quote(sc, i)) {
		why(sc, "a quoted mail header");
		goto skip;
	}
	if (is_alnum(at(sc, end)) || at(sc, end) == '_')
		return 0;
	if (dy.wday >= 0 && dy.m == 0 && more_days_before(sc, i)) {
		why(sc, "several days for one clock");
		goto skip;
	}
	if (sp.a.midnight && (dy.wday >= 0 || dy.m > 0)) {
		/* "submissions close Friday at midnight PT" mostly means
		 * the end of Friday, 00:00 is its start: a day apart.  (As
		 * a range's end, "10pm-midnight", it is the end: kept.) */
		why(sc, "midnight with a day (the start or the end of that "
		    "day?): write 00:00 or 23:59");
		goto skip;
	}
	if (dy.wday >= 0 && dy.m == 0 && month_weekday(sc, i)) {
		why(sc, "a weekday of the month (\"the second Tuesday\", "
		    "\"the last Wednesday\"): write the date");
		goto skip;
	}
	if (dy.wday >= 0 && dy.m == 0 && !dy.recurring && relative_week(sc, i, end)) {
		why(sc, "a weekday in another week (\"the following\", \"next "
		    "week\"): write the date");
		goto skip;
	}
	if (!dy.recurring && dy.m == 0 && dy.plus < 0 && dy.rel == 0 &&
	    recurring_before(sc, i))
		dy.recurring = true;
	if (sp.year != 0) {
		if (dy.m <= 0 || dy.y != 0) {
			why(sc, "a year between the clock and its zone");
			goto skip;
		}
		dy.y = sp.year;
	}
	if (resolve_day(sc, end, &dy, &days) != 0)
		return -1;
	/* "9pm BST / 4pm EDT": the other zones decide which BST. */
	if (sp.z.amb) {
		int pick = -1;

		for (int r = 0; r < 2 && pick < 0; r++) {
			struct zone zr = sp.z;
			int64_t ur;

			zr.zone = r ? sp.z.alt : sp.z.zone;
			if (instant_quiet(sc, end, days, &sp.a, &zr, &ur) != 0)
				continue;
			for (int o = 0; o < nother && pick < 0; o++)
				if (!others[o].z.amb && other_agrees(sc, end, ur,
				    &others[o]))
					pick = r;
		}
		if (pick < 0)
			return fail(sc, "ambiguous time zone \"%s\" in \"%s\": "
			    "write an IANA name such as %s or %s, or add it to "
			    "timezone_aliases in herald.yml", zname(sc, &sp.z, zb1),
			    words_of(sc, end, ob), ambiguous[sp.z.amb - 1].a,
			    ambiguous[sp.z.amb - 1].b), -1;
		if (pick)
			sp.z.zone = sp.z.alt;
		sp.z.amb = 0;
	}
	switch (instant(sc, end, days, &sp.a, &sp.z, &utc)) {
	case 0: break;
	case 2: goto skip;
	default: return -1;
	}
	utc_end = utc;
	if (sp.has_end) {
		if (near_instant(sc, end, utc, &sp.b, &sp.z, &utc_end) != 0) {
			if (sc->why[0] != '\0')
				goto skip;
			return fail(sc, "\"%s\": the end of the range does not "
			    "exist", words_of(sc, end, ob)), -1;
		}
		while (utc_end <= utc)
			utc_end += 86400;
		while (utc_end > utc + 86400)
			utc_end -= 86400;
	}
	for (int o = 0; o < nother; o++) {
		int64_t u;
		int rc;

		if (others[o].z.amb) {
			if (other_agrees(sc, end, utc, &others[o]))
				continue;
			if (others[o].comma) {
				end = others[o].before;
				nother = o;
				break;
			}
			return fail(sc, "ambiguous time zone \"%s\" in \"%s\": "
			    "neither %s nor %s gives the same time as %s",
			    zname(sc, &others[o].z, zb2), words_of(sc, end, ob),
			    ambiguous[others[o].z.amb - 1].a,
			    ambiguous[others[o].z.amb - 1].b,
			    zname(sc, &sp.z, zb1)), -1;
		}
		if (others[o].day.set) {
			int64_t od;
			if (resolve_day(sc, end, &others[o].day, &od) != 0)
				return -1;
			rc = instant(sc, end, od, &others[o].a, &others[o].z, &u);
			if (rc == 2)
				goto skip;
		} else
			rc = near_instant(sc, end, utc, &others[o].a, &others[o].z, &u);
		if (rc != 0 && sc->rc)
			return -1;
		if ((rc != 0 || u != utc) && others[o].comma) {
			/* "Fri 14:00 UTC, 19:00 ET": two times, not one */
			end = others[o].before;
			nother = o;
			break;
		}
		if (rc != 0) {
			int r2 = instant(sc, end, days, &others[o].a,
			    &others[o].z, &u);
			if (r2 == 2)
				goto skip;
			if (r2 != 0)
				return -1;
		}
		if (u != utc) {
			char a[64], b[64];
			herald_zone_format(NULL, utc, false, a);
			herald_zone_format(NULL, u, false, b);
			return fail(sc, "\"%s\": %02d:%02d %s and %02d:%02d %s are "
			    "not the same time (%.16s and %.16s UTC)",
			    words_of(sc, end, ob), sp.a.h, sp.a.mi,
			    zname(sc, &sp.z, zb1), others[o].a.h, others[o].a.mi,
			    zname(sc, &others[o].z, zb2), a, b), -1;
		}
	}
	{
		const struct herald_sessions_ctx *ctx = sc->ctx;
		m->s.history = ctx->year != 0 && !dy.recurring &&
		    days < herald_days_from_civil(ctx->year, ctx->month, ctx->day);
	}
	m->start = i;
	m->len = end - i;
	m->s.line = sc->line;
	m->s.utc = utc;
	m->s.has_end = sp.has_end;
	m->s.utc_end = sp.has_end ? utc_end : 0;
	m->s.recurring = dy.recurring;
	m->s.zone = xstrdup(sp.z.zone);
	m->s.orig = xstrndup(sc->t + i, end - i);
	sc->prev_set = true;
	sc->prev_day = dy;
	sc->prev_end = end;
	return 1;
skip:
	if (mail_quote(sc, i) && strcmp(sc->why, "a quoted mail header") != 0) {
		sc->why[0] = '\0';
		why(sc, "a quoted mail header");
	}
	if (sc->why[0] == '\0')
		why(sc, "not a whole time");
	m->start = i;
	m->len = end - i;
	m->s.line = sc->line;
	m->s.orig = xstrndup(sc->t + i, end - i);
	m->skip = xstrdup(sc->why);
	return 2;
}

/* Quote characters of the shortcode: " or the curly ones smart
 * punctuation makes of it. */
static size_t
quote_len(const struct scanner *sc, size_t i)
{
	if (at(sc, i) == '"')
		return 1;
	if (at(sc, i) == 0xE2 && at(sc, i + 1) == 0x80 &&
	    (at(sc, i + 2) == 0x9C || at(sc, i + 2) == 0x9D))
		return 3;
	return 0;
}

/* A quoted string at i: its bounds in *s, *n; returns the index after it. */
static size_t
quoted(const struct scanner *sc, size_t i, size_t *s, size_t *n)
{
	size_t q = quote_len(sc, i), j;

	if (q == 0)
		return NONE;
	for (j = i + q; j < sc->len && quote_len(sc, j) == 0; j++)
		if (sc->t[j] == '\n')
			return NONE;
	if (j >= sc->len)
		return NONE;
	*s = i + q;
	*n = j - (i + q);
	return j + quote_len(sc, j);
}

/*
 * {{< time "2021-04-28T07:00" "America/New_York" >}} at i.  Returns 1 with
 * the match (orig made here), 0 when it is not a time shortcode, -1 on
 * error.
 */
static int
shortcode(struct scanner *sc, size_t i, struct herald_time_match *m)
{
	static const char usage[] = "write {{< time \"2021-04-28T07:00\" "
	    "\"America/New_York\" >}}";
	char ob[128];
	struct day p;
	struct clk c;
	struct zone z;
	struct scanner sub;
	size_t j = i + 3, ds, dn, zs = 0, zn = 0, k, end;
	int64_t utc, days;

	if (sc->len - i < 4 || memcmp(sc->t + i, "{{<", 3) != 0)
		return 0;
	if (spaces(sc, j) != NONE)
		j = spaces(sc, j);
	if (word_len(sc, j) != 4 || memcmp(sc->t + j, "time", 4) != 0 ||
	    spaces(sc, j + 4) == NONE)
		return 0;
	/* From here on, anything wrong is the author's mistake to hear about. */
	for (end = j; end < sc->len && sc->t[end] != '\n'; end++)
		if (sc->len - end >= 3 && memcmp(sc->t + end, ">}}", 3) == 0) {
			end += 3;
			break;
		}
	memset(&p, 0, sizeof(p));
	p.wday = -1;
	p.plus = -1;
	j = spaces(sc, j + 4);
	if ((j = quoted(sc, j, &ds, &dn)) == NONE)
		return fail(sc, "malformed time shortcode \"%s\": %s",
		    words_of(sc, end, ob), usage), -1;
	if ((k = spaces(sc, j)) != NONE && quote_len(sc, k) != 0) {
		if ((j = quoted(sc, k, &zs, &zn)) == NONE)
			return fail(sc, "malformed time shortcode \"%s\": %s",
			    words_of(sc, end, ob), usage), -1;
	}
	if (spaces(sc, j) != NONE)
		j = spaces(sc, j);
	if (sc->len - j < 3 || memcmp(sc->t + j, ">}}", 3) != 0)
		return fail(sc, "malformed time shortcode \"%s\": %s",
		    words_of(sc, end, ob), usage), -1;
	end = j + 3;

	/* The date and clock, parsed as their own text. */
	sub = *sc;
	sub.t = sc->t + ds;
	sub.len = dn;
	k = date(&sub, 0, &p);
	if (k == NONE || !p.iso || (at(&sub, k) != 'T' && at(&sub, k) != ' ') ||
	    (k = clock(&sub, k + 1, &c)) == NONE || k != dn || c.bare ||
	    c.ampm || c.needs_zone)
		return fail(sc, "malformed time shortcode \"%s\": %s",
		    words_of(sc, end, ob), usage), -1;
	memset(&z, 0, sizeof(z));
	z.dst = -1;
	if (zn > 0) {
		char zw[128];
		struct scanner zsub = *sc;

		snprintf(zw, sizeof(zw), "%.*s", (int)(zn < 127 ? zn : 127),
		    sc->t + zs);
		zsub.t = zw;
		zsub.len = strlen(zw);
		if (zone_at(&zsub, 0, &z) == NONE || z.end != zsub.len) {
			if (zsub.rc) {
				sc->rc = zsub.rc;
				return -1;
			}
			return fail(sc, "unknown time zone \"%.*s\" in \"%s\"",
			    (int)zn, sc->t + zs, words_of(sc, end, ob)), -1;
		}
		if (z.amb)
			return fail(sc, "ambiguous time zone \"%.*s\" in \"%s\": "
			    "write an IANA name such as %s or %s", (int)zn,
			    sc->t + zs, words_of(sc, end, ob),
			    ambiguous[z.amb - 1].a, ambiguous[z.amb - 1].b), -1;
	} else if (sc->ctx->post_zone != NULL) {
		z.zone = sc->ctx->post_zone;
	} else
		return fail(sc, "time shortcode \"%s\" needs a zone: %s, or set "
		    "timezone: in front matter", words_of(sc, end, ob), usage), -1;
	if (resolve_day(sc, end, &p, &days) != 0)
		return -1;
	switch (instant(sc, end, days, &c, &z, &utc)) {
	case 0: break;
	case 2: return fail(sc, "\"%s\": %s", words_of(sc, end, ob), sc->why), -1;
	default: return -1;
	}
	m->start = i;
	m->len = end - i;
	m->s.line = sc->line;
	m->s.utc = utc;
	m->s.zone = xstrdup(z.zone);
	m->s.orig = zn > 0 ? xasprintf("%.*s %.*s", (int)dn, sc->t + ds,
	    (int)zn, sc->t + zs) : xstrndup(sc->t + ds, dn);
	{
		const struct herald_sessions_ctx *ctx = sc->ctx;
		m->s.history = ctx->year != 0 && days <
		    herald_days_from_civil(ctx->year, ctx->month, ctx->day);
	}
	return 1;
}

/* Can a time start at i (a word boundary that is not inside a path,
 * number or identifier)? */
static bool
boundary_before(const struct scanner *sc, size_t i)
{
	int c;

	if (i == 0)
		return true;
	c = (unsigned char)sc->t[i - 1];
	if (c == '-' && i >= 2 && sc->t[i - 2] == ' ')
		return true;    /* "- 10am" in a list */
	return !is_alnum(c) && strchr("/_-.:@#&%+=\\$^~", c) == NULL;
}

int
herald_sessions_scan(const struct herald_sessions_ctx *ctx, const char *text,
    size_t len, int line, struct herald_time_match **out, size_t *nout,
    struct herald_err *e)
{
	struct scanner sc;
	struct herald_time_match *v = NULL;
	size_t n = 0, cap = 0;

	memset(&sc, 0, sizeof(sc));
	sc.ctx = ctx;
	sc.t = text;
	sc.len = len;
	sc.line = line;
	sc.e = e;
	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < len; ) {
		struct herald_time_match m;
		int c = (unsigned char)text[i], r = 0;

		if (c == '\n') {
			sc.line++;
			i++;
			continue;
		}
		memset(&m, 0, sizeof(m));
		sc.start = i;
		sc.rc = 0;
		if (c == '{')
			r = shortcode(&sc, i, &m);
		else if ((is_digit(c) || is_alpha(c)) && boundary_before(&sc, i))
			r = words(&sc, i, &m);
		if (r < 0) {
			herald_time_matches_free(v, n);
			return sc.rc ? sc.rc : EX_DATAERR;
		}
		if (r == 0) {
			/* Skip the rest of a word or number: a time starts at a
			 * word's first character. */
			i++;
			while (i < len && is_alnum(text[i]) && is_alnum(text[i - 1]))
				i++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = m;
		for (size_t k = i; k < m.start + m.len; k++)
			if (text[k] == '\n')
				sc.line++;
		i = m.start + m.len;
		if (i == m.start)
			i++;
	}
	*out = v;
	*nout = n;
	return 0;
}

bool
herald_sessions_is_day(const char *s)
{
	struct herald_sessions_ctx ctx;
	struct scanner sc;
	struct day d;
	size_t b = 0, e = strlen(s);

	while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n'))
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n'))
		e--;
	memset(&ctx, 0, sizeof(ctx));
	memset(&sc, 0, sizeof(sc));
	sc.ctx = &ctx;
	sc.t = s + b;
	sc.len = e - b;
	return sc.len > 0 && day(&sc, 0, &d) == sc.len && !d.recurring;
}

void
herald_time_matches_free(struct herald_time_match *m, size_t n)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		herald_session_free(&m[i].s);
		free(m[i].skip);
	}
	free(m);
}

void
herald_session_copy(struct herald_session *dst, const struct herald_session *src)
{
	*dst = *src;
	dst->orig = xstrdup(src->orig);
	dst->zone = xstrdup(src->zone);
}

void
herald_session_free(struct herald_session *s)
{
	free(s->orig);
	free(s->zone);
	s->orig = s->zone = NULL;
}
