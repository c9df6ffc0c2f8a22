/*
 * session.c - finding and resolving session times in post text.
 *
 * The grammar (one match never spans more than this):
 *
 *   time   := [weekday [","] SP] date SEP clock [zone]
 *           | weekday SEP clock [zone]
 *           | {{< time "YYYY-MM-DDTHH:MM[:SS]" ["Zone/Name"] >}}
 *   date   := YYYY-MM-DD | Month ["."] D[st|nd|rd|th] [[","] YYYY]
 *           | D[st|nd|rd|th]["."] Month ["."] [YYYY]
 *   SEP    := "T" (after YYYY-MM-DD only) | [","] SP [("at" | "@") SP]
 *   clock  := H[H]:MM[:SS] [SP] [am|pm|a.m.|p.m.] | H[H] [SP] (am|pm|...)
 *   zone   := "Z" right after the clock | SP abbreviation | SP IANA name
 *           | SP "(" abbreviation-or-name ")" | SP (UTC|GMT)(+|-)H
 *
 * Decisions, made to stay conservative:
 *  - A clock needs a day: "at 07:00 ET" alone is not a session (it is as
 *    likely a daily time as a date); a date needs a clock ("2021-04-30").
 *  - A clock needs a zone, or the post's `timezone:`; without either the
 *    words are left alone.
 *  - An invalid clock ("25:00", "13pm") or one followed by more clock
 *    ("07:00-08:00", "07:00 to 08:00") is not a match.
 *  - A weekday is the first such day on or after the post date.  A month
 *    and day without a year take the post's year, or the next year when
 *    that would be more than 183 days before the post date ("January 5"
 *    in a December post).  Both need a post date.
 *  - Abbreviations that name a standard or daylight time (EST, CEST, ...)
 *    must be the one in effect on that date: "07:00 EST" in July is an
 *    error suggesting EDT or ET, never a silent one-hour guess.  Generic
 *    ones (ET, PT, CT, MT) follow the zone's daylight saving time.
 *  - Ambiguous abbreviations (IST, CST, BST, AST, ...) and unknown
 *    all-capitals words ending in T after a clock are errors suggesting an
 *    IANA name or timezone_aliases; other capitals ("07:00 BETA") are just
 *    words.  Config aliases win over the built-in table.
 *  - An invalid calendar date ("2021-02-30", "April 31"), a weekday that
 *    contradicts the date, a local time in a spring-forward gap or a
 *    fall-back overlap are errors naming the line.
 */
#include "session.h"
#include "localtime.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The built-in abbreviations.  check: the abbreviation names one of the
 * zone's standard/daylight times, and must be the one in effect. */
struct abbr {
	const char *abbr;
	const char *zone;
	bool check;
	const char *hint;   /* what else to write when check fails */
};

static const struct abbr abbrs[] = {
	{"ET", "America/New_York", false, NULL},
	{"EST", "America/New_York", true, "ET"},
	{"EDT", "America/New_York", true, "ET"},
	{"CT", "America/Chicago", false, NULL},
	{"CDT", "America/Chicago", true, "CT"},
	{"MT", "America/Denver", false, NULL},
	{"MST", "America/Denver", true, "MT, or America/Phoenix for Arizona"},
	{"MDT", "America/Denver", true, "MT"},
	{"PT", "America/Los_Angeles", false, NULL},
	{"PST", "America/Los_Angeles", true, "PT"},
	{"PDT", "America/Los_Angeles", true, "PT"},
	{"AKT", "America/Anchorage", false, NULL},
	{"AKST", "America/Anchorage", true, "AKT"},
	{"AKDT", "America/Anchorage", true, "AKT"},
	{"HST", "Pacific/Honolulu", false, NULL},
	{"ADT", "America/Halifax", true, "America/Halifax"},
	{"NST", "America/St_Johns", true, "America/St_Johns"},
	{"NDT", "America/St_Johns", true, "America/St_Johns"},
	{"BRT", "America/Sao_Paulo", false, NULL},
	{"ART", "America/Argentina/Buenos_Aires", false, NULL},
	{"UTC", "Etc/UTC", false, NULL},
	{"UT", "Etc/UTC", false, NULL},
	{"GMT", "Etc/GMT", false, NULL},
	{"WET", "Europe/Lisbon", true, "Europe/Lisbon"},
	{"WEST", "Europe/Lisbon", true, "Europe/Lisbon"},
	{"CET", "Europe/Paris", true, "Europe/Paris"},
	{"CEST", "Europe/Paris", true, "Europe/Paris"},
	{"EET", "Europe/Athens", true, "Europe/Athens"},
	{"EEST", "Europe/Athens", true, "Europe/Athens"},
	{"MSK", "Europe/Moscow", false, NULL},
	{"TRT", "Europe/Istanbul", false, NULL},
	{"IDT", "Asia/Jerusalem", true, "Asia/Jerusalem"},
	{"PKT", "Asia/Karachi", false, NULL},
	{"NPT", "Asia/Kathmandu", false, NULL},
	{"ICT", "Asia/Bangkok", false, NULL},
	{"WIB", "Asia/Jakarta", false, NULL},
	{"WITA", "Asia/Makassar", false, NULL},
	{"WIT", "Asia/Jayapura", false, NULL},
	{"HKT", "Asia/Hong_Kong", false, NULL},
	{"SGT", "Asia/Singapore", false, NULL},
	{"PHT", "Asia/Manila", false, NULL},
	{"JST", "Asia/Tokyo", false, NULL},
	{"KST", "Asia/Seoul", false, NULL},
	{"AWST", "Australia/Perth", false, NULL},
	{"ACST", "Australia/Adelaide", true, "Australia/Adelaide or Australia/Darwin"},
	{"ACDT", "Australia/Adelaide", true, "Australia/Adelaide"},
	{"AET", "Australia/Sydney", false, NULL},
	{"AEST", "Australia/Sydney", true, "Australia/Sydney or Australia/Brisbane"},
	{"AEDT", "Australia/Sydney", true, "Australia/Sydney"},
	{"NZT", "Pacific/Auckland", false, NULL},
	{"NZST", "Pacific/Auckland", true, "Pacific/Auckland"},
	{"NZDT", "Pacific/Auckland", true, "Pacific/Auckland"},
	{"SAST", "Africa/Johannesburg", false, NULL},
	{"CAT", "Africa/Maputo", false, NULL},
	{"EAT", "Africa/Nairobi", false, NULL},
	{"WAT", "Africa/Lagos", false, NULL},
};

/* Abbreviations several places use; the two most likely readings. */
static const struct {
	const char *abbr, *a, *b;
} ambiguous[] = {
	{"IST", "Asia/Kolkata", "Europe/Dublin"},
	{"CST", "America/Chicago", "Asia/Shanghai"},
	{"BST", "Europe/London", "Asia/Dhaka"},
	{"AST", "America/Halifax", "Asia/Riyadh"},
	{"GST", "Asia/Dubai", "Atlantic/South_Georgia"},
	{"SST", "Pacific/Pago_Pago", "Asia/Singapore"},
	{"AMT", "America/Manaus", "Asia/Yerevan"},
	{"ECT", "America/Guayaquil", "Europe/Paris"},
	{"MET", "Europe/Paris", "Asia/Tehran"},
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

/* What one attempt at a position found. */
struct parsed {
	int wday;            /* -1 when not written */
	int y, m, d;         /* m 0: no date written; y 0: no year */
	bool iso;
	int h, mi, sec;
	const char *zone;    /* IANA name, NULL: none written */
	const char *check;   /* abbreviation that must be in effect, or NULL */
	const char *hint;
	char zname[64];      /* backing store for a zone built here */
};

struct scanner {
	const struct herald_sessions_ctx *ctx;
	const char *t;
	size_t len;
	int line;            /* line of the attempt */
	size_t start;        /* where the attempt began, for error wording */
	struct herald_err *e;
	int rc;              /* set when an error was reported */
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
at(const struct scanner *sc, size_t i)
{
	return i < sc->len ? (unsigned char)sc->t[i] : -1;
}

/* Whitespace, including U+00A0 and U+202F; returns its byte length. */
static size_t
space_len(const struct scanner *sc, size_t i)
{
	int c = at(sc, i);

	if (c == ' ' || c == '\t' || c == '\n')
		return 1;
	if (c == 0xC2 && at(sc, i + 1) == 0xA0)
		return 2;
	if (c == 0xE2 && at(sc, i + 1) == 0x80 && at(sc, i + 2) == 0xAF)
		return 3;
	return 0;
}

/* One or more spaces; NONE when there are none. */
static size_t
spaces(const struct scanner *sc, size_t i)
{
	size_t n, j = i;

	while ((n = space_len(sc, j)) > 0)
		j += n;
	return j > i ? j : NONE;
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

/* Is the word at i (length n) exactly name, as written or in capitals? */
static bool
word_is(const struct scanner *sc, size_t i, size_t n, const char *name)
{
	if (strlen(name) != n)
		return false;
	if (strncmp(sc->t + i, name, n) == 0)
		return true;
	for (size_t k = 0; k < n; k++)
		if (sc->t[i + k] != (name[k] & ~0x20))
			return false;
	return true;
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

static size_t
weekday(const struct scanner *sc, size_t i, int *wday)
{
	size_t n = word_len(sc, i);

	for (int k = 0; k < 7; k++)
		if (word_is(sc, i, n, wdays_long[k])) {
			*wday = k;
			return i + n;
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

/* Day of month with an optional ordinal suffix. */
static size_t
mday(const struct scanner *sc, size_t i, int *d)
{
	size_t j = number(sc, i, 2, d);
	static const char *const suffix[] = {"st", "nd", "rd", "th"};

	if (j == NONE || *d < 1 || *d > 31)
		return NONE;
	for (int k = 0; k < 4; k++)
		if (word_is(sc, j, word_len(sc, j), suffix[k]))
			return j + 2;
	return is_alpha(at(sc, j)) ? NONE : j;
}

/* [","] SP YYYY, a year that is not the start of a clock. */
static size_t
year_after(const struct scanner *sc, size_t i, int *y)
{
	size_t j = i + (at(sc, i) == ',');

	if ((j = spaces(sc, j)) == NONE || (j = number(sc, j, 4, y)) == NONE ||
	    *y < 1000 || at(sc, j) == ':' || at(sc, j) == '.')
		return NONE;
	return j;
}

/* A date at i (not a weekday). */
static size_t
date(const struct scanner *sc, size_t i, struct parsed *p)
{
	size_t j, k;

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
		if ((j = spaces(sc, j)) == NONE || (j = mday(sc, j, &p->d)) == NONE) {
			p->m = 0;
			return NONE;
		}
		if ((k = year_after(sc, j, &p->y)) != NONE)
			return k;
		p->y = 0;
		return j;
	}
	/* D Month [YYYY] */
	if ((j = mday(sc, i, &p->d)) != NONE) {
		j += at(sc, j) == '.';
		if ((j = spaces(sc, j)) == NONE || (j = month(sc, j, &p->m)) == NONE) {
			p->m = p->d = 0;
			return NONE;
		}
		if ((k = year_after(sc, j, &p->y)) != NONE)
			return k;
		p->y = 0;
		return j;
	}
	return NONE;
}

/* am/pm in any of its spellings; *pm set.  NONE if none. */
static size_t
ampm(const struct scanner *sc, size_t i, bool *pm)
{
	int c = at(sc, i) | 0x20;
	size_t j;

	if (c != 'a' && c != 'p')
		return NONE;
	*pm = c == 'p';
	if ((at(sc, i + 1) | 0x20) == 'm')
		j = i + 2;
	else if (at(sc, i + 1) == '.' && (at(sc, i + 2) | 0x20) == 'm' &&
	    at(sc, i + 3) == '.')
		j = i + 4;
	else
		return NONE;
	return is_alnum(at(sc, j)) ? NONE : j;
}

static size_t
clock(const struct scanner *sc, size_t i, struct parsed *p)
{
	size_t j, k;
	bool pm, colon = false;

	p->mi = p->sec = 0;
	if ((j = number(sc, i, 2, &p->h)) == NONE)
		return NONE;
	if (at(sc, j) == ':') {
		if ((k = number(sc, j + 1, 2, &p->mi)) == NONE || k - j != 3)
			return NONE;
		j = k;
		colon = true;
		if (at(sc, j) == ':') {
			if ((k = number(sc, j + 1, 2, &p->sec)) == NONE || k - j != 3)
				return NONE;
			j = k;
		}
	}
	if (at(sc, j) == '.' && is_digit(at(sc, j + 1)))
		return NONE;    /* "2.0", "07:00.5" */
	k = spaces(sc, j);
	if ((k = ampm(sc, k == NONE ? j : k, &pm)) != NONE) {
		if (p->h < 1 || p->h > 12 || p->mi > 59 || p->sec > 59)
			return NONE;
		p->h = p->h % 12 + (pm ? 12 : 0);
		return k;
	}
	if (!colon || p->h > 23 || p->mi > 59 || p->sec > 59)
		return NONE;
	/* "07:00Z" is UTC; any other letter glued on makes it something else. */
	if (is_alnum(at(sc, j)) && !(at(sc, j) == 'Z' && !is_alnum(at(sc, j + 1))))
		return NONE;
	return j;
}

/* Is there more clock right after j ("-08:00", " to 9pm")?  Then it is a
 * range, which we do not rewrite. */
static bool
range_follows(const struct scanner *sc, size_t j)
{
	size_t k = spaces(sc, j);
	int c;

	if (k == NONE)
		k = j;
	c = at(sc, k);
	if (c == '-')
		k++;
	else if (c == 0xE2 && at(sc, k + 1) == 0x80 &&
	    (at(sc, k + 2) == 0x93 || at(sc, k + 2) == 0x94))
		k += 3;         /* en and em dash */
	else if (word_len(sc, k) == 2 && (word_is(sc, k, 2, "to") ||
	    word_is(sc, k, 2, "To")))
		k += 2;
	else
		return false;
	if (spaces(sc, k) != NONE)
		k = spaces(sc, k);
	return is_digit(at(sc, k));
}

/* The words of the attempt so far, for error messages. */
static const char *
words_of(const struct scanner *sc, size_t end, char buf[128])
{
	size_t n = end > sc->start ? end - sc->start : 0;

	if (n > 127) {
		n = 127;
		/* not in the middle of a UTF-8 sequence */
		while (n > 0 && ((unsigned char)sc->t[sc->start + n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(buf, sc->t + sc->start, n);
	buf[n] = '\0';
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


/*
 * The zone word tok[0..n) written after a clock.  Returns 1 and fills p
 * when it is a zone, 0 when it is just a word, -1 on error (reported,
 * end of the words matched is end).
 */
static int
zone_word(struct scanner *sc, const char *tok, size_t n, size_t end,
    struct parsed *p)
{
	const struct herald_sessions_ctx *ctx = sc->ctx;
	char w[64], ob[128];
	bool lower = false, upper_only = true, slash = false;

	if (n == 0 || n >= sizeof(w))
		return 0;
	memcpy(w, tok, n);
	w[n] = '\0';
	for (size_t k = 0; k < n; k++) {
		lower |= w[k] >= 'a' && w[k] <= 'z';
		upper_only &= w[k] >= 'A' && w[k] <= 'Z';
		slash |= w[k] == '/';
	}
	for (size_t k = 0; k < ctx->naliases; k++)
		if (ctx->aliases[k].abbr != NULL &&
		    strcmp(ctx->aliases[k].abbr, w) == 0) {
			if (!herald_zone_valid(ctx->aliases[k].zone)) {
				fail(sc, "unknown time zone \"%s\" for \"%s\" "
				    "(timezone_aliases in herald.yml) in \"%s\"",
				    ctx->aliases[k].zone, w, words_of(sc, end, ob));
				return -1;
			}
			p->zone = ctx->aliases[k].zone;
			return 1;
		}
	/* UTC+2, GMT-5: whole hours become Etc/GMT-2, Etc/GMT+5 (POSIX signs). */
	if (n >= 5 && (strncmp(w, "UTC", 3) == 0 || strncmp(w, "GMT", 3) == 0) &&
	    (w[3] == '+' || w[3] == '-')) {
		int h = 0;
		size_t k = 4;

		while (k < n && is_digit(w[k]) && k < 6)
			h = h * 10 + (w[k++] - '0');
		if (k == 4 || (k < n && strcmp(w + k, ":00") != 0 &&
		    strcmp(w + k, "00") != 0) || h > 14)
			return 0;
		snprintf(p->zname, sizeof(p->zname), "Etc/GMT%c%d",
		    w[3] == '+' ? '-' : '+', h);
		p->zone = h == 0 ? "Etc/UTC" : p->zname;
		return 1;
	}
	if (slash) {
		/* Area/Location: needs a lower-case letter, so "TCP/IP" and
		 * "and/or" are words. */
		if (!lower || !(w[0] >= 'A' && w[0] <= 'Z'))
			return 0;
		if (!herald_zone_valid(w)) {
			fail(sc, "unknown time zone \"%s\" in \"%s\"", w,
			    words_of(sc, end, ob));
			return -1;
		}
		snprintf(p->zname, sizeof(p->zname), "%s", w);
		p->zone = p->zname;
		return 1;
	}
	if (!upper_only || n < 2 || n > 5)
		return 0;
	for (size_t k = 0; k < sizeof(abbrs) / sizeof(abbrs[0]); k++)
		if (strcmp(abbrs[k].abbr, w) == 0) {
			p->zone = abbrs[k].zone;
			p->check = abbrs[k].check ? abbrs[k].abbr : NULL;
			p->hint = abbrs[k].hint;
			return 1;
		}
	for (size_t k = 0; k < sizeof(ambiguous) / sizeof(ambiguous[0]); k++)
		if (strcmp(ambiguous[k].abbr, w) == 0) {
			fail(sc, "ambiguous time zone \"%s\" in \"%s\": write an "
			    "IANA name such as %s or %s, or add it to "
			    "timezone_aliases in herald.yml", w,
			    words_of(sc, end, ob), ambiguous[k].a, ambiguous[k].b);
			return -1;
		}
	if (w[n - 1] == 'T') {
		fail(sc, "unknown time zone abbreviation \"%s\" in \"%s\": "
		    "write an IANA name such as America/New_York, or add it to "
		    "timezone_aliases in herald.yml", w, words_of(sc, end, ob));
		return -1;
	}
	return 0;
}


/* The zone after the clock ending at j; *end is the end of the match.
 * Returns 1, 0 (no zone written) or -1 (error reported). */
static int
zone(struct scanner *sc, size_t j, struct parsed *p, size_t *end)
{
	size_t k, s;
	bool paren = false;
	int r;

	*end = j;
	if (at(sc, j) == 'Z' && !is_alnum(at(sc, j + 1))) {
		p->zone = "Etc/UTC";
		*end = j + 1;
		return 1;
	}
	if ((k = spaces(sc, j)) == NONE)
		return 0;
	if (at(sc, k) == '(') {
		paren = true;
		k++;
	}
	s = k;
	while (is_alnum(at(sc, k)) || at(sc, k) == '_' || at(sc, k) == '/' ||
	    at(sc, k) == '+' || at(sc, k) == '-' ||
	    (at(sc, k) == ':' && is_digit(at(sc, k + 1))))
		k++;
	while (k > s && (sc->t[k - 1] == '-' || sc->t[k - 1] == '+' ||
	    sc->t[k - 1] == '/'))
		k--;
	if (paren && at(sc, k) != ')')
		return 0;
	if (is_alnum(at(sc, k)))
		return 0;
	r = zone_word(sc, sc->t + s, k - s, k + paren, p);
	if (r == 1)
		*end = k + paren;
	return r;
}

/*
 * The day, in days since the epoch, that p names.  Returns 0 or an error.
 */
static int
resolve_day(struct scanner *sc, size_t end, struct parsed *p, int64_t *days)
{
	const struct herald_sessions_ctx *ctx = sc->ctx;
	static const char *const wnames[7] = {"Sunday", "Monday", "Tuesday",
	    "Wednesday", "Thursday", "Friday", "Saturday"};
	bool have_post = ctx->year != 0;
	int64_t post = have_post ?
	    herald_days_from_civil(ctx->year, ctx->month, ctx->day) : 0;
	char ob[128];
	int y, m, d;

	if (p->m == 0) {
		if (!have_post)
			return fail(sc, "weekday in \"%s\" needs a post date "
			    "(date: in front matter, YYYY-MM-DD- file name, or "
			    "--date)", words_of(sc, end, ob));
		*days = post + (p->wday - herald_weekday(post) + 7) % 7;
		return 0;
	}
	if (p->y == 0) {
		if (!have_post)
			return fail(sc, "date without a year in \"%s\" needs a "
			    "post date (date: in front matter, YYYY-MM-DD- file "
			    "name, or --date)", words_of(sc, end, ob));
		p->y = ctx->year;
		if (herald_days_from_civil(p->y, p->m, p->d) < post - 183)
			p->y++;
	}
	*days = herald_days_from_civil(p->y, p->m, p->d);
	herald_civil_from_days(*days, &y, &m, &d);
	if (p->m < 1 || p->m > 12 || y != p->y || m != p->m || d != p->d)
		return fail(sc, "no such date in \"%s\"", words_of(sc, end, ob));
	if (p->wday >= 0 && herald_weekday(*days) != p->wday)
		return fail(sc, "\"%s\": %04d-%02d-%02d is a %s",
		    words_of(sc, end, ob), p->y, p->m, p->d,
		    wnames[herald_weekday(*days)]);
	return 0;
}

/* The instant for p (day, clock, zone).  Returns 0 or an error. */
static int
resolve(struct scanner *sc, size_t end, struct parsed *p, int64_t *utc)
{
	int64_t days = 0, local, cand[2];
	char date_s[16], abbr[16], abbr2[16], ob[128];
	int n, off, y, m, d;

	if (resolve_day(sc, end, p, &days) != 0)
		return sc->rc;
	local = days * 86400 + p->h * 3600 + p->mi * 60 + p->sec;
	herald_civil_from_days(days, &y, &m, &d);
	snprintf(date_s, sizeof(date_s), "%04d-%02d-%02d", y, m, d);
	n = herald_zone_local(p->zone, local, cand);
	if (n < 0)
		return fail(sc, "unknown time zone \"%s\" in \"%s\"", p->zone,
		    words_of(sc, end, ob));
	/* "01:30 EDT" on the night clocks go back names one of the two. */
	if (n == 2 && p->check != NULL) {
		for (int k = 0; k < 2; k++) {
			herald_zone_offset(p->zone, cand[k], &off, abbr);
			if (strcmp(abbr, p->check) == 0) {
				cand[0] = cand[k];
				n = 1;
				break;
			}
		}
	}
	if (n == 0)
		return fail(sc, "\"%s\": %02d:%02d does not exist in %s on %s "
		    "(clocks jump forward)", words_of(sc, end, ob), p->h, p->mi,
		    p->zone, date_s);
	if (n == 2) {
		herald_zone_offset(p->zone, cand[0], &off, abbr);
		herald_zone_offset(p->zone, cand[1], &off, abbr2);
		return fail(sc, "\"%s\": %02d:%02d is ambiguous in %s on %s "
		    "(clocks go back: it happens in %s, then in %s): write it in "
		    "UTC", words_of(sc, end, ob), p->h, p->mi, p->zone, date_s,
		    abbr, abbr2);
	}
	*utc = cand[0];
	if (p->check != NULL) {
		herald_zone_offset(p->zone, *utc, &off, abbr);
		if (strcmp(abbr, p->check) != 0)
			return fail(sc, "\"%s\": %s is not in effect in %s on %s "
			    "(%s is): write %s, or %s", words_of(sc, end, ob),
			    p->check, p->zone, date_s, abbr, abbr, p->hint);
	}
	return 0;
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
	struct parsed p;
	struct scanner sub;
	size_t j = i + 3, ds, dn, zs = 0, zn = 0, k, end;
	int64_t utc;
	int r;

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
	    (k = clock(&sub, k + 1, &p)) == NONE || k != dn)
		return fail(sc, "malformed time shortcode \"%s\": %s",
		    words_of(sc, end, ob), usage), -1;
	if (zn > 0) {
		r = zone_word(sc, sc->t + zs, zn, end, &p);
		if (r < 0)
			return -1;
		if (r == 0)
			return fail(sc, "unknown time zone \"%.*s\" in \"%s\"",
			    (int)zn, sc->t + zs, words_of(sc, end, ob)), -1;
	} else if (sc->ctx->post_zone != NULL) {
		p.zone = sc->ctx->post_zone;
	} else
		return fail(sc, "time shortcode \"%s\" needs a zone: %s, or set "
		    "timezone: in front matter", words_of(sc, end, ob), usage), -1;
	if (resolve(sc, end, &p, &utc) != 0)
		return -1;
	m->start = i;
	m->len = end - i;
	m->s.line = sc->line;
	m->s.utc = utc;
	m->s.zone = xstrdup(p.zone);
	m->s.orig = zn > 0 ? xasprintf("%.*s %.*s", (int)dn, sc->t + ds,
	    (int)zn, sc->t + zs) : xstrndup(sc->t + ds, dn);
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
	return !is_alnum(c) && strchr("/_-.:@#&%+=\\$", c) == NULL;
}

/*
 * Try a plain-words time at i.  Returns 1 (match in *m), 0, or -1 (error).
 */
static int
words(struct scanner *sc, size_t i, struct herald_time_match *m)
{
	struct parsed p;
	size_t j, k, end;
	int64_t utc;
	int r;

	memset(&p, 0, sizeof(p));
	p.wday = -1;
	j = weekday(sc, i, &p.wday);
	if (j != NONE) {
		/* Weekday, then maybe a date. */
		k = j + (at(sc, j) == ',');
		if ((k = spaces(sc, k)) != NONE && (k = date(sc, k, &p)) != NONE)
			j = k;
	} else if ((j = date(sc, i, &p)) == NONE)
		return 0;
	/* SEP */
	if (p.iso && at(sc, j) == 'T' && is_digit(at(sc, j + 1)))
		j++;
	else {
		j += at(sc, j) == ',';
		if ((j = spaces(sc, j)) == NONE)
			return 0;
		k = NONE;
		if (word_len(sc, j) == 2 && word_is(sc, j, 2, "at"))
			k = spaces(sc, j + 2);
		else if (at(sc, j) == '@')
			k = spaces(sc, j + 1);
		if (k != NONE)
			j = k;
	}
	if ((j = clock(sc, j, &p)) == NONE || range_follows(sc, j))
		return 0;
	if ((r = zone(sc, j, &p, &end)) < 0)
		return -1;
	if (r == 0) {
		if (sc->ctx->post_zone == NULL)
			return 0;
		p.zone = sc->ctx->post_zone;
	}
	if (is_alnum(at(sc, end)) || at(sc, end) == '_' || at(sc, end) == '/')
		return 0;
	if (resolve(sc, end, &p, &utc) != 0)
		return -1;
	m->start = i;
	m->len = end - i;
	m->s.line = sc->line;
	m->s.utc = utc;
	m->s.zone = xstrdup(p.zone);
	m->s.orig = xstrndup(sc->t + i, end - i);
	return 1;
}

int
herald_sessions_scan(const struct herald_sessions_ctx *ctx, const char *text,
    size_t len, int line, struct herald_time_match **out, size_t *nout,
    struct herald_err *e)
{
	struct scanner sc = {ctx, text, len, line, 0, e, 0};
	struct herald_time_match *v = NULL;
	size_t n = 0, cap = 0;

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
		if (c == '{')
			r = shortcode(&sc, i, &m);
		else if ((is_digit(c) || (c >= 'A' && c <= 'Z')) &&
		    boundary_before(&sc, i))
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
	}
	*out = v;
	*nout = n;
	return 0;
}

void
herald_time_matches_free(struct herald_time_match *m, size_t n)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		herald_session_free(&m[i].s);
	free(m);
}

void
herald_session_copy(struct herald_session *dst, const struct herald_session *src)
{
	dst->line = src->line;
	dst->orig = xstrdup(src->orig);
	dst->utc = src->utc;
	dst->zone = xstrdup(src->zone);
}

void
herald_session_free(struct herald_session *s)
{
	free(s->orig);
	free(s->zone);
	s->orig = s->zone = NULL;
}
