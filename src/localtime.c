/*
 * localtime.c - zone validity and offsets from the system's tzdata; locale
 * validity and words from ICU.
 *
 * Offsets: a reader for the TZif files in /usr/share/zoneinfo (RFC 8536,
 * version 2+ 64-bit data, and the POSIX TZ string footer of section 3.3 for
 * instants after the last transition).  The OS keeps those files current;
 * Debian 12's ICU carries zone data from 2022 (no America/Ciudad_Juarez,
 * Mexico's abolished daylight saving time), so ICU is never asked for an
 * offset: it formats a wall time we computed, as if it were UTC.
 *
 * Words: localized times and ranges (ICU's pattern generator and interval
 * formatter), and the English zone words a post may use ("Pacific Time",
 * "Berlin time") from ICU's CLDR data.  No HTML here: the <time> element
 * is render.c's.
 */
#include "localtime.h"
#include "suggest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/udat.h>
#include <unicode/udateintervalformat.h>
#include <unicode/uformattedvalue.h>
#include <unicode/udatpg.h>
#include <unicode/uloc.h>
#include <unicode/ustring.h>

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

/* lang= and dir= for a reader's locale (issue 12). */
void
herald_locale_html(const char *tag, char lang[64], bool *rtl)
{
	char loc[ULOC_FULLNAME_CAPACITY];
	UErrorCode st = U_ZERO_ERROR;

	snprintf(lang, 64, "en");
	*rtl = false;
	if (tag == NULL || !herald_locale_valid(tag))
		return;
	uloc_forLanguageTag(tag, loc, sizeof(loc), NULL, &st);
	uloc_toLanguageTag(loc, lang, 64, true, &st);
	if (U_FAILURE(st)) {
		snprintf(lang, 64, "en");
		return;
	}
	*rtl = uloc_isRightToLeft(loc);
}

/* The BCP 47 tag of an ICU locale closest to a mistyped one (issue 12). */
bool
herald_locale_suggest(const char *tag, char out[64])
{
	static char **names;
	static size_t n;
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	const char *best;

	pthread_mutex_lock(&mu);
	if (names == NULL) {
		int32_t cnt = uloc_countAvailable();

		names = xcalloc((size_t)cnt + 1, sizeof(*names));
		for (int32_t i = 0; i < cnt; i++) {
			char t[64];
			UErrorCode st = U_ZERO_ERROR;

			uloc_toLanguageTag(uloc_getAvailable(i), t, sizeof(t),
			    false, &st);
			if (U_SUCCESS(st))
				names[n++] = xstrdup(t);
		}
	}
	pthread_mutex_unlock(&mu);
	best = tag ? herald_suggest(tag, (const char *const *)names, n) : NULL;
	if (best == NULL)
		return false;
	snprintf(out, 64, "%s", best);
	return true;
}

/* Calendar arithmetic (proleptic Gregorian, era-based so it is exact for
 * negative years too). */

int64_t
herald_days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
herald_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp, yy;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

int
herald_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday. */
	int64_t w = (days + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * TZif reading.
 */

struct tz_type {
	int32_t off;
	bool dst;
	char abbr[16];
};

/* One end of a POSIX TZ daylight-saving rule: Jn, n or Mm.w.d, /time. */
struct tz_when {
	char kind;          /* 'J', 'N' or 'M' */
	int n, m, w, d;
	int32_t secs;       /* local time of day of the change */
};

struct tz_posix {
	bool ok;
	bool has_dst;
	struct tz_type std, dst;
	struct tz_when start, end;
};

struct tz {
	char *name;
	int64_t *trans;
	unsigned char *idx;
	size_t ntrans;
	struct tz_type *types;
	size_t ntypes;
	struct tz_posix footer;
	int32_t *offs;       /* every offset the zone uses, for local->UTC */
	size_t noffs;
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* POSIX TZ string pieces.  Each returns the rest of s, or NULL. */

static const char *
posix_name(const char *s, char out[16])
{
	size_t n = 0;

	if (*s == '<') {
		s++;
		while (*s && *s != '>') {
			if (n < 15)
				out[n++] = *s;
			s++;
		}
		if (*s != '>')
			return NULL;
		s++;
	} else {
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
			if (n < 15)
				out[n++] = *s;
			s++;
		}
	}
	out[n] = '\0';
	return n >= 1 ? s : NULL;
}

/* [+-]hh[:mm[:ss]]; hours up to 167 (RFC 8536 extension). */
static const char *
posix_secs(const char *s, int32_t *out)
{
	int sign = 1, part[3] = {0, 0, 0};

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	for (int i = 0; i < 3; i++) {
		if (i > 0) {
			if (*s != ':')
				break;
			s++;
		}
		if (*s < '0' || *s > '9')
			return NULL;
		while (*s >= '0' && *s <= '9') {
			part[i] = part[i] * 10 + (*s++ - '0');
			if (part[i] > 167)
				return NULL;
		}
	}
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return s;
}

static const char *
posix_num(const char *s, int *out)
{
	int v = 0;

	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s++ - '0');
		if (v > 1000)
			return NULL;
	}
	*out = v;
	return s;
}

static const char *
posix_when(const char *s, struct tz_when *w)
{
	memset(w, 0, sizeof(*w));
	w->secs = 2 * 3600;
	if (*s == 'J') {
		w->kind = 'J';
		if ((s = posix_num(s + 1, &w->n)) == NULL || w->n < 1 || w->n > 365)
			return NULL;
	} else if (*s == 'M') {
		w->kind = 'M';
		if ((s = posix_num(s + 1, &w->m)) == NULL || *s++ != '.' ||
		    (s = posix_num(s, &w->w)) == NULL || *s++ != '.' ||
		    (s = posix_num(s, &w->d)) == NULL)
			return NULL;
		if (w->m < 1 || w->m > 12 || w->w < 1 || w->w > 5 || w->d > 6)
			return NULL;
	} else {
		w->kind = 'N';
		if ((s = posix_num(s, &w->n)) == NULL || w->n > 365)
			return NULL;
	}
	if (*s == '/')
		s = posix_secs(s + 1, &w->secs);
	return s;
}

static void
posix_parse(const char *s, struct tz_posix *p)
{
	int32_t v;

	memset(p, 0, sizeof(*p));
	if ((s = posix_name(s, p->std.abbr)) == NULL ||
	    (s = posix_secs(s, &v)) == NULL)
		return;
	p->std.off = -v;         /* POSIX counts hours west */
	if (*s == '\0') {
		p->ok = true;
		return;
	}
	if ((s = posix_name(s, p->dst.abbr)) == NULL)
		return;
	p->dst.dst = true;
	p->dst.off = p->std.off + 3600;
	if (*s != ',' && *s != '\0') {
		if ((s = posix_secs(s, &v)) == NULL)
			return;
		p->dst.off = -v;
	}
	if (*s == '\0') {
		/* No rule: the POSIX default, US rules since 2007. */
		posix_when("M3.2.0", &p->start);
		posix_when("M11.1.0", &p->end);
	} else if (*s++ != ',' || (s = posix_when(s, &p->start)) == NULL ||
	    *s++ != ',' || (s = posix_when(s, &p->end)) == NULL || *s != '\0')
		return;
	p->has_dst = true;
	p->ok = true;
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Day (since the epoch) on which rule w falls in year y. */
static int64_t
when_day(const struct tz_when *w, int y)
{
	int64_t jan1 = herald_days_from_civil(y, 1, 1);
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	switch (w->kind) {
	case 'J':
		return jan1 + w->n - 1 + (is_leap(y) && w->n >= 60);
	case 'N':
		return jan1 + w->n;
	default: {
		int64_t first = herald_days_from_civil(y, w->m, 1);
		int len = mdays[w->m - 1] + (w->m == 2 && is_leap(y));
		int day = 1 + (w->d - herald_weekday(first) + 7) % 7 + 7 * (w->w - 1);

		while (day > len)
			day -= 7;
		return first + day - 1;
	}
	}
}

static const struct tz_type *
posix_lookup(const struct tz_posix *p, int64_t t)
{
	int y, m, d;
	int64_t start, end;

	if (!p->has_dst)
		return &p->std;
	herald_civil_from_days(floor_div(t + p->std.off, 86400), &y, &m, &d);
	start = when_day(&p->start, y) * 86400 + p->start.secs - p->std.off;
	end = when_day(&p->end, y) * 86400 + p->end.secs - p->dst.off;
	if (start < end)
		return t >= start && t < end ? &p->dst : &p->std;
	/* Southern hemisphere: daylight time spans the new year. */
	return t >= end && t < start ? &p->std : &p->dst;
}

static void
add_off(struct tz *z, int32_t off)
{
	for (size_t i = 0; i < z->noffs; i++)
		if (z->offs[i] == off)
			return;
	z->offs = xrealloc(z->offs, (z->noffs + 1) * sizeof(*z->offs));
	z->offs[z->noffs++] = off;
}

static void
tz_free(struct tz *z)
{
	if (z == NULL)
		return;
	free(z->name);
	free(z->trans);
	free(z->idx);
	free(z->types);
	free(z->offs);
	free(z);
}

/* Parse a TZif file; NULL if it is not one we understand. */
static struct tz *
tz_parse(const char *name, const unsigned char *p, size_t len)
{
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
	size_t tsize = 4, need;
	const unsigned char *d, *abbrs;
	struct tz *z;

	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		isutcnt = be32(p + 20);
		isstdcnt = be32(p + 24);
		leapcnt = be32(p + 28);
		timecnt = be32(p + 32);
		typecnt = be32(p + 36);
		charcnt = be32(p + 40);
		if (timecnt > 100000 || typecnt == 0 || typecnt > 256 ||
		    charcnt > 10000 || leapcnt > 10000 || isutcnt > 256 ||
		    isstdcnt > 256)
			return NULL;
		need = 44 + (size_t)timecnt * tsize + timecnt + typecnt * 6 +
		    charcnt + leapcnt * (tsize + 4) + isstdcnt + isutcnt;
		if (need > len)
			return NULL;
		/* Version 2+ repeats everything with 64-bit times: use that. */
		if (pass == 0 && p[4] >= '2' && len >= need + 44 &&
		    memcmp(p + need, "TZif", 4) == 0) {
			len -= need;
			p += need;
			tsize = 8;
			continue;
		}
		break;
	}
	z = xcalloc(1, sizeof(*z));
	z->name = xstrdup(name);
	z->ntrans = timecnt;
	z->trans = xcalloc(timecnt ? timecnt : 1, sizeof(*z->trans));
	z->idx = xcalloc(timecnt ? timecnt : 1, 1);
	z->ntypes = typecnt;
	z->types = xcalloc(typecnt, sizeof(*z->types));
	d = p + 44;
	for (size_t i = 0; i < timecnt; i++, d += tsize)
		z->trans[i] = tsize == 8 ? be64(d) : (int32_t)be32(d);
	for (size_t i = 0; i < timecnt; i++, d++) {
		if (*d >= typecnt)
			goto bad;
		z->idx[i] = *d;
	}
	abbrs = d + typecnt * 6;
	for (size_t i = 0; i < typecnt; i++, d += 6) {
		z->types[i].off = (int32_t)be32(d);
		z->types[i].dst = d[4] != 0;
		if (d[5] >= charcnt)
			goto bad;
		snprintf(z->types[i].abbr, sizeof(z->types[i].abbr), "%.*s",
		    (int)strnlen((const char *)abbrs + d[5], charcnt - d[5]),
		    (const char *)abbrs + d[5]);
		add_off(z, z->types[i].off);
	}
	if (tsize == 8) {
		/* Footer: "\nTZ string\n" right after the data block. */
		const char *f = (const char *)p + need, *end = (const char *)p + len;
		if (f < end && *f == '\n') {
			const char *nl = memchr(f + 1, '\n', (size_t)(end - f - 1));
			if (nl != NULL && nl - f - 1 < 200) {
				char buf[200];
				memcpy(buf, f + 1, (size_t)(nl - f - 1));
				buf[nl - f - 1] = '\0';
				if (buf[0] != '\0')
					posix_parse(buf, &z->footer);
			}
		}
		if (z->footer.ok) {
			add_off(z, z->footer.std.off);
			if (z->footer.has_dst)
				add_off(z, z->footer.dst.off);
		}
	}
	return z;
bad:
	tz_free(z);
	return NULL;
}

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz **cache;
static size_t ncache;

/* The zone, loaded once per process; NULL for an unknown zone. */
static const struct tz *
tz_get(const char *name)
{
	struct tz *z = NULL;
	struct hbuf b = HBUF_INIT;
	char *path;

	if (name == NULL)
		return NULL;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < ncache; i++)
		if (strcmp(cache[i]->name, name) == 0) {
			z = cache[i];
			goto out;
		}
	if (!herald_zone_valid(name))
		goto out;
	path = xasprintf("%s/%s", ZONEINFO, name);
	if (read_file(path, &b, NULL) == 0)
		z = tz_parse(name, (const unsigned char *)b.data, b.len);
	free(path);
	hbuf_free(&b);
	if (z != NULL) {
		cache = xrealloc(cache, (ncache + 1) * sizeof(*cache));
		cache[ncache++] = z;
	}
out:
	pthread_mutex_unlock(&cache_lock);
	return z;
}

static const struct tz_type *
tz_lookup(const struct tz *z, int64_t t)
{
	size_t lo, hi;

	if (z->ntrans == 0 || t < z->trans[0])
		return z->ntrans == 0 && z->footer.ok ?
		    posix_lookup(&z->footer, t) : &z->types[0];
	if (t >= z->trans[z->ntrans - 1] && z->footer.ok)
		return posix_lookup(&z->footer, t);
	/* Last transition at or before t. */
	lo = 0;
	hi = z->ntrans;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return &z->types[z->idx[lo]];
}

int
herald_zone_offset(const char *zone, int64_t utc, int *gmtoff, char abbr[16])
{
	return herald_zone_info(zone, utc, gmtoff, abbr, NULL);
}

int
herald_zone_info(const char *zone, int64_t utc, int *gmtoff, char abbr[16],
    bool *dst)
{
	const struct tz *z = tz_get(zone);
	const struct tz_type *t;

	if (z == NULL)
		return EX_DATAERR;
	t = tz_lookup(z, utc);
	*gmtoff = t->off;
	if (abbr != NULL)
		snprintf(abbr, 16, "%s", t->abbr);
	if (dst != NULL)
		*dst = t->dst;
	return 0;
}

int
herald_zone_local(const char *zone, int64_t local, int64_t utc[2])
{
	const struct tz *z = tz_get(zone);
	int64_t found[8];
	int n = 0;

	if (z == NULL)
		return -1;
	/* Try every offset the zone ever uses: t is an answer when the zone's
	 * offset at t is the one that maps t to this wall time. */
	for (size_t i = 0; i < z->noffs && n < 8; i++) {
		int64_t t = local - z->offs[i];
		bool dup = false;

		if (tz_lookup(z, t)->off != z->offs[i])
			continue;
		for (int j = 0; j < n; j++)
			dup |= found[j] == t;
		if (!dup)
			found[n++] = t;
	}
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && found[j - 1] > found[j]; j--) {
			int64_t x = found[j];
			found[j] = found[j - 1];
			found[j - 1] = x;
		}
	for (int i = 0; i < n && i < 2; i++)
		utc[i] = found[i];
	return n > 2 ? 2 : n;
}

/* "2021-04-28T13:00:00+02:00" for wall time local at offset off. */
static void
iso8601(int64_t local, int off, char out[40])
{
	int64_t days = floor_div(local, 86400), secs = local - days * 86400;
	int y, m, d, a = off < 0 ? -off : off;

	herald_civil_from_days(days, &y, &m, &d);
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, m, d,
	    (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
	    off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

int
herald_zone_format(const char *zone, int64_t utc, bool with_abbr,
    char out[64])
{
	char abbr[16] = "UTC", stamp[40];
	int off = 0;

	if (zone != NULL && herald_zone_offset(zone, utc, &off, abbr) != 0) {
		snprintf(out, 64, "?");
		return EX_DATAERR;
	}
	iso8601(utc + off, off, stamp);
	snprintf(out, 64, "%s%s%s", stamp, with_abbr ? " " : "",
	    with_abbr ? abbr : "");
	return 0;
}

/*
 * Words from ICU.
 */

/* What to show for the zone: tzdata's abbreviation, or "GMT+5:30" where
 * tzdata has only a number ("+0530", "-03"). */
static void
zone_label(const char *abbr, int off, char out[32])
{
	int a = off < 0 ? -off : off;

	if (abbr[0] != '\0' && abbr[0] != '+' && abbr[0] != '-' &&
	    !(abbr[0] >= '0' && abbr[0] <= '9')) {
		snprintf(out, 32, "%s", abbr);
		return;
	}
	if (off == 0)
		snprintf(out, 32, "GMT");
	else if (a % 3600 / 60 != 0)
		snprintf(out, 32, "GMT%c%d:%02d", off < 0 ? '-' : '+', a / 3600,
		    a % 3600 / 60);
	else
		snprintf(out, 32, "GMT%c%d", off < 0 ? '-' : '+', a / 3600);
}

/*
 * Zone words must never be ambiguous for the reader (issue 12).  An
 * abbreviation is ambiguous when tzdata gives it to zones at different
 * offsets (CST: Chicago, Shanghai, Havana; IST: Kolkata, Jerusalem,
 * Dublin), judged over every zone now and half a year on.  Such a word is
 * kept only where CLDR, in the reader's own locale, uses it for this very
 * zone (CST for en-US readers in Chicago, IST for en-IN readers);
 * elsewhere the reader sees the offset, "GMT+8".
 */
struct abbr_off {
	char abbr[16];
	int off;
};

static struct abbr_off *amb_tab;
static size_t amb_n;
static pthread_once_t amb_once = PTHREAD_ONCE_INIT;

static void
amb_add(const char *abbr, int off)
{
	static size_t cap;

	for (size_t i = 0; i < amb_n; i++)
		if (strcmp(amb_tab[i].abbr, abbr) == 0 && amb_tab[i].off == off)
			return;
	if (amb_n == cap) {
		cap = cap ? 2 * cap : 256;
		amb_tab = xrealloc(amb_tab, cap * sizeof(*amb_tab));
	}
	snprintf(amb_tab[amb_n].abbr, sizeof(amb_tab[amb_n].abbr), "%s", abbr);
	amb_tab[amb_n++].off = off;
}

static void
amb_build(void)
{
	FILE *f = fopen(ZONEINFO "/tzdata.zi", "r");
	int64_t now = (int64_t)time(NULL);
	char line[512];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char name[256], abbr[16];
		int off;

		if (line[0] != 'Z' || sscanf(line, "Z %255s", name) != 1)
			continue;
		for (int k = 0; k < 2; k++)
			if (herald_zone_offset(name, now + k * 182 * 86400, &off,
			    abbr) == 0 && abbr[0] != '+' && abbr[0] != '-')
				amb_add(abbr, off);
	}
	fclose(f);
}

static bool
abbr_ambiguous(const char *abbr, int off)
{
	pthread_once(&amb_once, amb_build);
	for (size_t i = 0; i < amb_n; i++)
		if (strcmp(amb_tab[i].abbr, abbr) == 0 && amb_tab[i].off != off)
			return true;
	return false;
}

/* Is CLDR's word (in locale loc) for zone at utc exactly abbr? */
static bool
cldr_word_is(const char *loc, const char *zone, int64_t utc, const char *abbr)
{
	UChar uz[128], out[64];
	char got[64];
	UErrorCode st = U_ZERO_ERROR;
	UDateFormat *f;
	int32_t zl = 0, n;

	u_strFromUTF8(uz, 128, &zl, zone, -1, &st);
	if (U_FAILURE(st) || zl >= 128)
		return false;
	f = udat_open(UDAT_PATTERN, UDAT_PATTERN, loc, uz, zl, u"z", 1, &st);
	if (U_FAILURE(st))
		return false;
	n = udat_format(f, (UDate)utc * 1000.0, out, 64, NULL, &st);
	udat_close(f);
	if (U_FAILURE(st) || n >= 64)
		return false;
	u_strToUTF8(got, sizeof(got), NULL, out, n, &st);
	return U_SUCCESS(st) && strcmp(got, abbr) == 0;
}

/*
 * Does CLDR, in locale loc, call zone "abbr" around utc?  ICU's own zone
 * rules are from 2022 and may have the wrong half of the year (Mexico
 * dropped daylight time), so its word half a year away counts too; the
 * offset shown is always tzdata's.
 */
static bool
cldr_says(const char *loc, const char *zone, int64_t utc, const char *abbr)
{
	return cldr_word_is(loc, zone, utc, abbr) ||
	    cldr_word_is(loc, zone, utc + 182 * 86400, abbr) ||
	    cldr_word_is(loc, zone, utc - 182 * 86400, abbr);
}

/* The zone word a reader in loc sees for zone at utc (tzdata: abbr, off). */
static void
zone_word(const char *loc, const char *zone, int64_t utc, const char *abbr,
    int off, char out[32])
{
	zone_label(abbr, off, out);
	if (strcmp(out, abbr) == 0 && abbr_ambiguous(abbr, off) &&
	    !(zone != NULL && cldr_says(loc, zone, utc, abbr)))
		zone_label("", off, out);	/* GMT+8 */
}

/*
 * A pattern whose zone field stands before the time with a dash between
 * (Icelandic "EEE, d. MMM, z – HH:mm") reads as a range once the zone is
 * an offset ("GMT+14 – 02:00"): the zone goes after the time instead.
 */
static int32_t
zone_after_time(UChar *pat, int32_t len, int32_t cap)
{
	bool quoted = false;

	for (int32_t i = 0; i < len; i++) {
		int32_t j, k;

		if (pat[i] == '\'')
			quoted = !quoted;
		if (quoted || pat[i] != 'z')
			continue;
		for (j = i; j < len && pat[j] == 'z'; j++)
			;
		k = j;
		while (k < len && pat[k] == ' ')
			k++;
		if (k >= len || (pat[k] != 0x2013 && pat[k] != '-'))
			return len;
		k++;
		while (k < len && (pat[k] == ' ' || pat[k] == 0xa0 ||
		    pat[k] == 0x202f))
			k++;
		if (len - (k - i) + 1 + (j - i) >= cap)
			return len;
		{
			UChar zf[8];
			int32_t zn = j - i < 8 ? j - i : 8;

			memcpy(zf, pat + i, (size_t)zn * sizeof(UChar));
			memmove(pat + i, pat + k, (size_t)(len - k) * sizeof(UChar));
			len -= k - i;
			pat[len++] = ' ';
			memcpy(pat + len, zf, (size_t)zn * sizeof(UChar));
			len += zn;
		}
		return len;
	}
	return len;
}

/* Copy pattern with every zone field (z Z O v V X x runs) replaced by
 * label as a quoted literal.  Returns the new length. */
static int32_t
replace_zone_fields(const UChar *pat, int32_t len, const char *label,
    UChar *out, int32_t cap)
{
	int32_t o = 0;
	bool quoted = false;

#define PUT(c) do { if (o < cap - 1) out[o++] = (UChar)(c); } while (0)
	for (int32_t i = 0; i < len; i++) {
		UChar c = pat[i];

		if (c == '\'') {
			PUT(c);
			if (i + 1 < len && pat[i + 1] == '\'') {
				PUT(c);
				i++;
			} else
				quoted = !quoted;
			continue;
		}
		if (!quoted && c < 0x80 && strchr("zZOvVXx", (char)c) != NULL) {
			while (i + 1 < len && pat[i + 1] == c)
				i++;
			PUT('\'');
			for (const char *l = label; *l; l++) {
				PUT(*l);
				if (*l == '\'')
					PUT('\'');
			}
			PUT('\'');
			continue;
		}
		PUT(c);
	}
#undef PUT
	out[o] = 0;
	return o;
}

/* UTF-16 to UTF-8, with U+202F (narrow no-break space, which CLDR 42
 * puts before "AM") shown as a plain no-break space older mail fonts
 * have. */
static char *
to_utf8(const UChar *s, int32_t n)
{
	UChar tmp[512];
	char buf[2048];
	int32_t outlen = 0;
	UErrorCode st = U_ZERO_ERROR;

	if (n > (int32_t)(sizeof(tmp) / sizeof(tmp[0])))
		n = sizeof(tmp) / sizeof(tmp[0]);
	for (int32_t i = 0; i < n; i++)
		tmp[i] = s[i] == 0x202F ? 0x00A0 : s[i];
	u_strToUTF8(buf, sizeof(buf), &outlen, tmp, n, &st);
	if (U_FAILURE(st) || outlen >= (int32_t)sizeof(buf))
		return xstrdup("");
	buf[outlen] = '\0';
	return xstrdup(buf);
}

/* skeleton without its date fields (a recurring time: weekday and clock). */
static void
strip_date(const UChar *in, int32_t n, UChar *out, int32_t cap)
{
	int32_t o = 0;

	for (int32_t i = 0; i < n && o < cap - 1; i++)
		if (in[i] >= 0x80 || strchr("yYuUrQqMLwWdDFgG", (char)in[i]) == NULL)
			out[o++] = in[i];
	out[o] = 0;
}

/* A range from ICU's interval formatter, handed wall times as UTC, with
 * each zone field replaced by tzdata's label. */
static int
format_interval(const char *loc, const UChar *skel, int64_t a, int64_t b,
    const char *la, const char *lb, UChar *out, int32_t cap, int32_t *outlen)
{
	UErrorCode st = U_ZERO_ERROR;
	UDateIntervalFormat *f;
	UFormattedDateInterval *res = NULL;
	const UFormattedValue *val;
	UConstrainedFieldPosition *pos = NULL;
	const UChar *str;
	int32_t len = 0, o = 0, at = 0, nz = 0;

	f = udtitvfmt_open(loc, skel, -1, u"UTC", -1, &st);
	if (U_FAILURE(st))
		return -1;
	res = udtitvfmt_openResult(&st);
	udtitvfmt_formatToResult(f, (UDate)a * 1000.0, (UDate)b * 1000.0, res,
	    &st);
	val = udtitvfmt_resultAsValue(res, &st);
	str = ufmtval_getString(val, &len, &st);
	pos = ucfpos_open(&st);
	ucfpos_constrainField(pos, UFIELD_CATEGORY_DATE, UDAT_TIMEZONE_FIELD,
	    &st);
	if (U_FAILURE(st))
		goto fail;
	while (ufmtval_nextPosition(val, pos, &st) && U_SUCCESS(st)) {
		int32_t s0, e0;
		const char *l = nz++ == 0 ? la : lb;

		ucfpos_getIndexes(pos, &s0, &e0, &st);
		if (U_FAILURE(st) || s0 < at)
			break;
		while (at < s0 && o < cap - 1)
			out[o++] = str[at++];
		for (; *l && o < cap - 1; l++)
			out[o++] = (UChar)(unsigned char)*l;
		at = e0;
	}
	if (U_FAILURE(st))
		goto fail;
	while (at < len && o < cap - 1)
		out[o++] = str[at++];
	out[o] = 0;
	*outlen = o;
	ucfpos_close(pos);
	udtitvfmt_closeResult(res);
	udtitvfmt_close(f);
	return 0;
fail:
	if (pos)
		ucfpos_close(pos);
	if (res)
		udtitvfmt_closeResult(res);
	udtitvfmt_close(f);
	return -1;
}

/*
 * The best patterns for a (locale, skeleton).  Asking ICU's pattern
 * generator means building one (udatpg_open: about 2M instructions) for
 * each of a campaign's (zone, locale) variants, 16% of a 2,000-reader
 * send; the patterns depend on the locale and the skeleton only, so they
 * are asked once per pair and kept for the process.
 */
struct bestpat {
	char loc[ULOC_FULLNAME_CAPACITY];
	UChar skel[128];
	UChar pat[256], rpat[256];
	int32_t patlen, rpatlen;
};

static pthread_mutex_t pat_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bestpat *bestpats;
static size_t nbestpats;

static int
best_patterns(const char *loc, const UChar *uskel, int32_t skellen,
    const UChar *rskel, UChar *pat, int32_t *patlen, UChar *rpat,
    int32_t *rpatlen, UErrorCode *st)
{
	UDateTimePatternGenerator *gen;
	struct bestpat *b = NULL;

	pthread_mutex_lock(&pat_lock);
	for (size_t i = 0; i < nbestpats; i++)
		if (strcmp(bestpats[i].loc, loc) == 0 &&
		    u_strcmp(bestpats[i].skel, uskel) == 0) {
			b = &bestpats[i];
			break;
		}
	if (b == NULL) {
		gen = udatpg_open(loc, st);
		*patlen = udatpg_getBestPattern(gen, uskel, skellen, pat, 256,
		    st);
		*rpatlen = udatpg_getBestPattern(gen, rskel, -1, rpat, 256, st);
		if (gen != NULL)
			udatpg_close(gen);
		if (U_FAILURE(*st) || *patlen >= 256 || *rpatlen >= 256) {
			pthread_mutex_unlock(&pat_lock);
			return -1;
		}
		*patlen = zone_after_time(pat, *patlen, 256);
		*rpatlen = zone_after_time(rpat, *rpatlen, 256);
		bestpats = xrealloc(bestpats, (nbestpats + 1) * sizeof(*bestpats));
		b = &bestpats[nbestpats++];
		memset(b, 0, sizeof(*b));
		snprintf(b->loc, sizeof(b->loc), "%s", loc);
		u_strncpy(b->skel, uskel, 127);
		memcpy(b->pat, pat, sizeof(b->pat));
		memcpy(b->rpat, rpat, sizeof(b->rpat));
		b->patlen = *patlen;
		b->rpatlen = *rpatlen;
	} else {
		memcpy(pat, b->pat, sizeof(b->pat));
		memcpy(rpat, b->rpat, sizeof(b->rpat));
		*patlen = b->patlen;
		*rpatlen = b->rpatlen;
	}
	pthread_mutex_unlock(&pat_lock);
	return 0;
}

int
herald_localize(const struct herald_when *s, size_t n, const char *zone,
    const char *locale, const char *skeleton, struct herald_localized *out,
    struct herald_err *e)
{
	char loc[ULOC_FULLNAME_CAPACITY];
	UChar uskel[128], rskel[128], pat[256], rpat[256], pat2[512], words[512];
	UErrorCode st = U_ZERO_ERROR;
	UDateFormat *fmt = NULL;
	int32_t patlen, rpatlen, skellen = 0, parsed = 0;
	int rc = 0;

	memset(out, 0, n * sizeof(*out));
	if (locale == NULL)
		locale = "en";
	if (skeleton == NULL || skeleton[0] == '\0')
		skeleton = HERALD_DEFAULT_SKELETON;
	if (zone != NULL && !herald_zone_valid(zone))
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "invalid time zone \"%s\"", zone);
	if (!herald_locale_valid(locale))
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "invalid locale \"%s\"", locale);
	uloc_forLanguageTag(locale, loc, sizeof(loc), &parsed, &st);
	u_strFromUTF8(uskel, 128, &skellen, skeleton, -1, &st);
	if (U_FAILURE(st) || skellen >= 128) {
		rc = herald_errf(e, EX_DATAERR, NULL, 0,
		    "invalid time skeleton \"%s\"", skeleton);
		goto out;
	}
	strip_date(uskel, skellen, rskel, 128);
	patlen = rpatlen = 256;
	if (best_patterns(loc, uskel, skellen, rskel, pat, &patlen, rpat,
	    &rpatlen, &st) != 0) {
		if (U_SUCCESS(st))
			st = U_BUFFER_OVERFLOW_ERROR;
		patlen = 0;
	}
	/* The formatter's own zone is UTC: it is handed wall times. */
	if (U_SUCCESS(st))
		fmt = udat_open(UDAT_PATTERN, UDAT_PATTERN, loc, u"UTC", -1,
		    pat, patlen, &st);
	if (U_FAILURE(st) || patlen >= 256 || rpatlen >= 256) {
		rc = herald_errf(e, EX_SOFTWARE, NULL, 0,
		    "ICU cannot format times for \"%s\" with \"%s\": %s",
		    locale, skeleton, u_errorName(st));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *z = zone != NULL ? zone : s[i].zone;
		char abbr[16], label[32], label2[32], stamp[40];
		int off, off2 = 0;
		int64_t local, local2;
		int32_t plen, wlen;

		if (herald_zone_offset(z, s[i].utc, &off, abbr) != 0) {
			rc = herald_errf(e, EX_DATAERR, NULL, 0,
			    "invalid time zone \"%s\"", z ? z : "(none)");
			goto out;
		}
		local = s[i].utc + off;
		zone_word(loc, z, s[i].utc, abbr, off, label);
		if (s[i].has_end) {
			herald_zone_offset(z, s[i].utc_end, &off2, abbr);
			local2 = s[i].utc_end + off2;
			zone_word(loc, z, s[i].utc_end, abbr, off2, label2);
			if (format_interval(loc, s[i].recurring ? rskel : uskel,
			    local, local2, label, label2, words, 512, &wlen) != 0) {
				rc = herald_errf(e, EX_SOFTWARE, NULL, 0,
				    "ICU cannot format a range of times for \"%s\"",
				    locale);
				goto out;
			}
		} else {
			if (s[i].recurring)
				plen = replace_zone_fields(rpat, rpatlen, label, pat2,
				    512);
			else
				plen = replace_zone_fields(pat, patlen, label, pat2,
				    512);
			udat_applyPattern(fmt, false, pat2, plen);
			wlen = udat_format(fmt, (UDate)local * 1000.0, words, 512,
			    NULL, &st);
			if (U_FAILURE(st) || wlen >= 512) {
				rc = herald_errf(e, EX_SOFTWARE, NULL, 0,
				    "ICU cannot format a time: %s", u_errorName(st));
				goto out;
			}
		}
		out[i].text = to_utf8(words, wlen);
		iso8601(local, off, stamp);
		out[i].datetime = xstrdup(stamp);
	}
out:
	if (fmt != NULL)
		udat_close(fmt);
	if (rc != 0) {
		herald_localized_free(out, n);
		memset(out, 0, n * sizeof(*out));
	}
	return rc;
}

void
herald_localized_free(struct herald_localized *l, size_t n)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(l[i].datetime);
		free(l[i].text);
		l[i].datetime = l[i].text = NULL;
	}
}

/*
 * Zone words from ICU (English CLDR data): built once per process.
 */

struct zword {
	char name[80];       /* lower case, single spaces */
	const char *zone;    /* IANA name (owned by the table) */
	int kind;
	bool pref, ambiguous;
};

static struct zword *zwords;
static size_t nzwords;
static pthread_once_t zwords_once = PTHREAD_ONCE_INIT;

/* Where a name is shared by several zones, these win (the zones the
 * common abbreviations name). */
static const char *const zw_pref[] = {
	"America/New_York", "America/Chicago", "America/Denver",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
	"America/Halifax", "America/St_Johns", "America/Sao_Paulo",
	"America/Argentina/Buenos_Aires", "Europe/London", "Europe/Lisbon",
	"Europe/Paris", "Europe/Athens", "Europe/Moscow", "Europe/Istanbul",
	"Asia/Jerusalem", "Asia/Dubai", "Asia/Karachi", "Asia/Kolkata",
	"Asia/Calcutta",    /* ICU's canonical name for Asia/Kolkata */
	"Asia/Kathmandu", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta",
	"Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore", "Asia/Manila",
	"Asia/Tokyo", "Asia/Seoul", "Australia/Perth", "Australia/Adelaide",
	"Australia/Sydney", "Pacific/Auckland", "Africa/Johannesburg",
	"Africa/Maputo", "Africa/Nairobi", "Africa/Lagos", "Africa/Cairo",
	NULL,
};

/* Words ICU has no entry for. */
static const struct {
	const char *name, *zone;
} zw_extra[] = {
	{"pacific", "America/Los_Angeles"}, {"eastern", "America/New_York"},
	{"central", "America/Chicago"}, {"mountain", "America/Denver"},
	{"us pacific", "America/Los_Angeles"},
	{"us eastern", "America/New_York"}, {"us central", "America/Chicago"},
	{"us mountain", "America/Denver"},
	{"greenwich mean time", "Etc/GMT"},
	{"coordinated universal time", "Etc/UTC"},
	{"universal time", "Etc/UTC"},
};

static void
zw_lower(char *s)
{
	char *o = s;
	bool sp = false;

	for (char *p = s; *p; p++) {
		char c = *p;
		if (c == '_' || c == ' ')
			c = ' ';
		if (c == ' ') {
			if (!sp && o != s)
				*o++ = ' ';
			sp = true;
			continue;
		}
		sp = false;
		*o++ = (c >= 'A' && c <= 'Z') ? c + 32 : c;
	}
	while (o > s && o[-1] == ' ')
		o--;
	*o = '\0';
}

static bool
zw_is_pref(const char *zone)
{
	for (size_t i = 0; zw_pref[i]; i++)
		if (strcmp(zw_pref[i], zone) == 0)
			return true;
	return false;
}

/* Do two zones keep the same offsets through 2026 (tzdata)? */
static bool
zw_same_rules(const char *a, const char *b)
{
	for (int m = 1; m <= 12; m++) {
		int64_t t = herald_days_from_civil(2026, m, 15) * 86400;
		int oa, ob;
		if (herald_zone_offset(a, t, &oa, NULL) != 0 ||
		    herald_zone_offset(b, t, &ob, NULL) != 0 || oa != ob)
			return false;
	}
	return true;
}

static void
zw_add(const char *name, const char *zone, int kind)
{
	char n[80];
	const char *z = NULL;

	if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof(n))
		return;
	snprintf(n, sizeof(n), "%s", name);
	zw_lower(n);
	if (strncmp(n, "gmt", 3) == 0 || strncmp(n, "utc", 3) == 0 ||
	    strpbrk(n, "0123456789+") != NULL || n[0] == '\0')
		return;
	if (!herald_zone_valid(zone))
		return;
	for (size_t i = 0; i < nzwords; i++) {
		struct zword *w = &zwords[i];
		if (strcmp(w->name, n) != 0 || w->kind != kind)
			continue;
		if (strcmp(w->zone, zone) == 0 || w->pref)
			return;
		if (zw_is_pref(zone)) {
			for (size_t k = 0; k < nzwords; k++)
				if (strcmp(zwords[k].zone, zone) == 0) {
					z = zwords[k].zone;
					break;
				}
			w->zone = z ? z : xstrdup(zone);
			w->pref = true;
			w->ambiguous = false;
		} else if (!zw_same_rules(w->zone, zone))
			w->ambiguous = true;
		return;
	}
	for (size_t k = 0; k < nzwords; k++)
		if (strcmp(zwords[k].zone, zone) == 0) {
			z = zwords[k].zone;
			break;
		}
	zwords = xrealloc(zwords, (nzwords + 1) * sizeof(*zwords));
	memset(&zwords[nzwords], 0, sizeof(*zwords));
	snprintf(zwords[nzwords].name, sizeof(zwords[nzwords].name), "%s", n);
	zwords[nzwords].zone = z ? z : xstrdup(zone);
	zwords[nzwords].kind = kind;
	zwords[nzwords].pref = zw_is_pref(zone);
	nzwords++;
}

static void
zw_build(void)
{
	static const struct {
		const char *pat;
		int month;        /* 0: any date */
		int kind;
	} pats[] = {
		{"vvvv", 1, HERALD_ZW_GENERIC},
		{"zzzz", 1, -1},
		{"zzzz", 7, -1},
		{"VVV", 1, HERALD_ZW_CITY},
	};
	UErrorCode st = U_ZERO_ERROR;
	UEnumeration *en;
	UDateFormat *fmt[4] = {NULL, NULL, NULL, NULL};
	const UChar *id;
	int32_t idlen;

	for (size_t i = 0; i < sizeof(zw_extra) / sizeof(zw_extra[0]); i++)
		zw_add(zw_extra[i].name, zw_extra[i].zone, HERALD_ZW_GENERIC);
	for (int p = 0; p < 4; p++) {
		UChar up[8];
		u_uastrcpy(up, pats[p].pat);
		st = U_ZERO_ERROR;
		fmt[p] = udat_open(UDAT_PATTERN, UDAT_PATTERN, "en", u"UTC", -1,
		    up, -1, &st);
		if (U_FAILURE(st))
			goto out;
	}
	st = U_ZERO_ERROR;
	en = ucal_openTimeZoneIDEnumeration(UCAL_ZONE_TYPE_CANONICAL_LOCATION,
	    NULL, NULL, &st);
	if (U_FAILURE(st))
		goto out;
	while ((id = uenum_unext(en, &idlen, &st)) != NULL && U_SUCCESS(st)) {
		char zone[128], city[128], *slash;
		UCalendar *cal;
		int32_t n;

		u_austrncpy(zone, id, sizeof(zone) - 1);
		zone[sizeof(zone) - 1] = '\0';
		if (!herald_zone_valid(zone))
			continue;
		/* tzdata's own city name: "Sao_Paulo" */
		slash = strrchr(zone, '/');
		if (slash != NULL) {
			snprintf(city, sizeof(city), "%s", slash + 1);
			zw_add(city, zone, HERALD_ZW_CITY);
		}
		cal = ucal_open(id, idlen, "en", UCAL_GREGORIAN, &st);
		if (U_FAILURE(st)) {
			st = U_ZERO_ERROR;
			continue;
		}
		for (int p = 0; p < 4; p++) {
			UChar out[128];
			char u8[256];
			int32_t u8len = 0;
			UErrorCode s2 = U_ZERO_ERROR;
			int kind = pats[p].kind;

			udat_setCalendar(fmt[p], cal);
			n = udat_format(fmt[p], (UDate)herald_days_from_civil(2021,
			    pats[p].month, 15) * 86400000.0, out, 128, NULL, &s2);
			if (U_FAILURE(s2) || n >= 128)
				continue;
			u_strToUTF8(u8, sizeof(u8), &u8len, out, n, &s2);
			if (U_FAILURE(s2) || u8len >= (int32_t)sizeof(u8))
				continue;
			u8[u8len] = '\0';
			if (kind < 0) {
				/* ICU's words; tzdata says which kind it was */
				int off;
				bool dst = false;
				herald_zone_info(zone, herald_days_from_civil(2021,
				    pats[p].month, 15) * 86400, &off, NULL, &dst);
				if (strstr(u8, "Standard") != NULL)
					kind = HERALD_ZW_STANDARD;
				else if (strstr(u8, "Daylight") != NULL ||
				    strstr(u8, "Summer") != NULL)
					kind = HERALD_ZW_DAYLIGHT;
				else
					kind = dst ? HERALD_ZW_DAYLIGHT :
					    HERALD_ZW_STANDARD;
			}
			zw_add(u8, zone, kind);
		}
		ucal_close(cal);
	}
	uenum_close(en);
out:
	for (int p = 0; p < 4; p++)
		if (fmt[p] != NULL)
			udat_close(fmt[p]);
}

bool
herald_zone_from_words(const char *words, const char **zone, int *kind)
{
	char n[80];
	const struct zword *best = NULL;

	if (words == NULL || strlen(words) >= sizeof(n))
		return false;
	pthread_once(&zwords_once, zw_build);
	snprintf(n, sizeof(n), "%s", words);
	zw_lower(n);
	/* The same words may name several zones (a metazone's generic name
	 * in one, its standard name in another): the preferred zone wins;
	 * among the others they must keep the same offsets. */
	bool clash = false;

	for (size_t i = 0; i < nzwords; i++) {
		const struct zword *w = &zwords[i];

		if (strcmp(w->name, n) != 0)
			continue;
		clash |= w->ambiguous && !w->pref;
		if (best == NULL || (w->pref && !best->pref))
			best = w;
		else if (w->pref == best->pref && strcmp(w->zone, best->zone) != 0 &&
		    !zw_same_rules(w->zone, best->zone))
			clash = true;
	}
	if (best == NULL || (clash && !best->pref))
		return false;
	*zone = best->zone;
	*kind = best->kind;
	return true;
}
