/*
 * list.c - subscriber lists: a streaming RFC 4180 CSV reader and the one
 * validation pass every list gets before anything is sent.
 *
 * The reader keeps one row in memory (fields are appended to one buffer,
 * NUL-separated), so a list of a million rows costs what one row costs.
 * RFC 4180 with the usual tolerances: LF as well as CRLF, an optional final
 * line break, blank lines skipped, a UTF-8 byte order mark skipped.
 * Addresses are checked against RFC 5321/5322 addr-spec syntax
 * (dot-atom or quoted-string local part, RFC 5321 4.5.3.1 length limits).
 */
#include "list.h"
#include "suggest.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "localtime.h"

enum { COL_EMAIL, COL_NAME, COL_TZ, COL_LOCALE, COL_FORMAT, NKNOWN };
static const char *const known_cols[NKNOWN] = {
	"email", "name", "timezone", "locale", "format"
};

struct herald_list {
	FILE *f;
	char *path;
	unsigned char buf[65536];
	size_t pos, len;
	size_t bufsize;         /* how much of buf one read fills */
	uint64_t base;          /* file offset of buf[0] */
	uint64_t roff;          /* file offset of the last record read */
	uint64_t first_off;     /* file offset of the first data row */
	int line;               /* line of the next byte read */
	char **cols;
	size_t ncols;
	long known[NKNOWN];     /* column index, -1 when absent */
	struct hbuf rec;        /* this row's fields, NUL-separated */
	size_t *offs;           /* field start offsets in rec */
	size_t noffs, capoffs;
	int *flines;            /* line each field starts on */
	const char **values;    /* ncols pointers into rec */
};

static int
get(struct herald_list *l)
{
	if (l->pos == l->len) {
		l->base += l->len;
		l->len = fread(l->buf, 1, l->bufsize, l->f);
		l->pos = 0;
		if (l->len == 0)
			return EOF;
	}
	return l->buf[l->pos++];
}

static int
peek(struct herald_list *l)
{
	int c = get(l);

	if (c != EOF)
		l->pos--;
	return c;
}

static void
start_field(struct herald_list *l)
{
	if (l->noffs == l->capoffs) {
		l->capoffs = l->capoffs ? 2 * l->capoffs : 16;
		l->offs = xrealloc(l->offs, l->capoffs * sizeof(*l->offs));
		l->flines = xrealloc(l->flines, l->capoffs * sizeof(*l->flines));
	}
	l->offs[l->noffs] = l->rec.len;
	l->flines[l->noffs] = l->line;
	l->noffs++;
}

/*
 * Read one record into l->rec/offs.  Returns 0, -1 at end of file (no
 * record), or EX_DATAERR.  *startline is the line the record starts on.
 */
static int
read_record(struct herald_list *l, int *startline, struct herald_err *e)
{
	int c;

	hbuf_reset(&l->rec);
	l->noffs = 0;
	/* Skip blank lines (empty, LF or CRLF): trailing ones are common. */
	for (;;) {
		c = peek(l);
		if (c == EOF)
			return -1;
		if (c == '\n') {
			get(l);
			l->line++;
		} else if (c == '\r') {
			get(l);
			if (peek(l) != '\n')
				return herald_errf(e, EX_DATAERR, l->path, l->line,
				    "bare CR (line breaks must be CRLF or LF)");
		} else
			break;
	}
	*startline = l->line;
	l->roff = l->base + l->pos;
	for (;;) {
		start_field(l);
		c = get(l);
		if (c == '"') {
			int qline = l->line;

			for (;;) {
				c = get(l);
				if (c == EOF)
					return herald_errf(e, EX_DATAERR, l->path,
					    qline, "unterminated quoted field");
				if (c == '"') {
					if (peek(l) != '"')
						break;
					get(l);
				} else if (c == '\n')
					l->line++;
				else if (c == '\0')
					return herald_errf(e, EX_DATAERR,
					    l->path, l->line, "NUL byte");
				hbuf_putc(&l->rec, (char)c);
			}
			c = get(l);
			if (c != ',' && c != '\r' && c != '\n' && c != EOF)
				return herald_errf(e, EX_DATAERR, l->path, l->line,
				    "bad quoting: text after a closing quote");
		} else {
			while (c != ',' && c != '\r' && c != '\n' && c != EOF) {
				if (c == '"')
					return herald_errf(e, EX_DATAERR, l->path,
					    l->line, "bad quoting: quote inside an "
					    "unquoted field (quote the field and "
					    "double the quote)");
				if (c == '\0')
					return herald_errf(e, EX_DATAERR,
					    l->path, l->line, "NUL byte");
				hbuf_putc(&l->rec, (char)c);
				c = get(l);
			}
		}
		hbuf_putc(&l->rec, '\0');
		if (c == ',')
			continue;
		if (c == '\r') {
			if (get(l) != '\n')
				return herald_errf(e, EX_DATAERR, l->path, l->line,
				    "bare CR (line breaks must be CRLF or LF)");
			c = '\n';
		}
		if (c == '\n')
			l->line++;
		return 0;
	}
}

/* Check UTF-8 in every field; the error names the line the bad byte is on. */
static int
check_utf8(struct herald_list *l, struct herald_err *e)
{
	for (size_t i = 0; i < l->noffs; i++) {
		const char *s = l->rec.data + l->offs[i];
		size_t n = strlen(s), bad;

		if (!utf8_valid(s, n, &bad)) {
			int line = l->flines[i];
			for (size_t k = 0; k < bad; k++)
				if (s[k] == '\n')
					line++;
			return herald_errf(e, EX_DATAERR, l->path, line,
			    "invalid UTF-8");
		}
	}
	return 0;
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

int
herald_list_open(const char *path, struct herald_list **out,
    struct herald_err *e)
{
	struct herald_list *l;
	int r, line;

	*out = NULL;
	l = xcalloc(1, sizeof(*l));
	l->path = xstrdup(path);
	l->line = 1;
	l->bufsize = sizeof(l->buf);
	for (int k = 0; k < NKNOWN; k++)
		l->known[k] = -1;
	if ((l->f = fopen(path, "rb")) == NULL) {
		r = herald_errf(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    path, 0, "%s", strerror(errno));
		herald_list_close(l);
		return r;
	}
	/* A UTF-8 byte order mark is tolerated (spreadsheets write one). */
	if (peek(l) != EOF && l->len >= 3 &&
	    memcmp(l->buf, "\xef\xbb\xbf", 3) == 0)
		l->pos = 3;
	r = read_record(l, &line, e);
	if (r == -1)
		r = herald_errf(e, EX_DATAERR, path, 0,
		    "empty file (a header row naming the columns is required)");
	if (r == 0)
		r = check_utf8(l, e);
	if (r != 0) {
		herald_list_close(l);
		return r;
	}
	l->ncols = l->noffs;
	l->cols = xcalloc(l->ncols + 1, sizeof(*l->cols));
	l->values = xcalloc(l->ncols + 1, sizeof(*l->values));
	for (size_t i = 0; i < l->ncols; i++) {
		char *name = trim(l->rec.data + l->offs[i]);

		for (size_t j = 0; j < i; j++)
			if (ascii_ieq(l->cols[j], name)) {
				r = herald_errf(e, EX_DATAERR, path, line,
				    "duplicate column \"%.100s\"", name);
				herald_list_close(l);
				return r;
			}
		l->cols[i] = xstrdup(name);
		for (int k = 0; k < NKNOWN; k++)
			if (ascii_ieq(name, known_cols[k])) {
				/* canonical spelling, so templates find
				 * subscriber.name whatever the header said */
				ascii_lower(l->cols[i]);
				l->known[k] = (long)i;
			}
	}
	if (l->known[COL_EMAIL] < 0) {
		r = herald_errf(e, EX_DATAERR, path, line,
		    "no \"email\" column in the header row");
		herald_list_close(l);
		return r;
	}
	*out = l;
	return 0;
}

int
herald_list_next(struct herald_list *l, struct herald_recipient *r,
    struct herald_err *e)
{
	int line, rc;
	char *v;

	memset(r, 0, sizeof(*r));
	if ((rc = read_record(l, &line, e)) != 0)
		return rc;
	if ((rc = check_utf8(l, e)) != 0)
		return rc;
	if (l->noffs != l->ncols)
		return herald_errf(e, EX_DATAERR, l->path, line,
		    "wrong number of fields: %zu (the header has %zu)",
		    l->noffs, l->ncols);
	for (size_t i = 0; i < l->ncols; i++)
		l->values[i] = l->rec.data + l->offs[i];
	/* Known columns are trimmed: stray spaces around an address or a
	 * zone name are a spreadsheet artefact, not data. */
	for (int k = 0; k < NKNOWN; k++)
		if (l->known[k] >= 0)
			l->values[l->known[k]] = trim(
			    l->rec.data + l->offs[l->known[k]]);
	r->line = line;
	r->offset = l->roff;
	if (l->first_off == 0)
		l->first_off = l->roff;
	r->email = l->values[l->known[COL_EMAIL]];
	r->name = l->known[COL_NAME] >= 0 ? l->values[l->known[COL_NAME]] : "";
	if (l->known[COL_TZ] >= 0 && *(v = (char *)l->values[l->known[COL_TZ]]))
		r->timezone = v;
	if (l->known[COL_LOCALE] >= 0 &&
	    *(v = (char *)l->values[l->known[COL_LOCALE]]))
		r->locale = v;
	if (l->known[COL_FORMAT] >= 0)
		r->text_only = ascii_ieq(l->values[l->known[COL_FORMAT]], "text");
	r->ncols = l->ncols;
	r->cols = (const char *const *)l->cols;
	r->values = l->values;
	return 0;
}

const char *const *
herald_list_columns(const struct herald_list *l, size_t *n)
{
	*n = l->ncols;
	return (const char *const *)l->cols;
}

void
herald_list_close(struct herald_list *l)
{
	if (l == NULL)
		return;
	if (l->f)
		fclose(l->f);
	for (size_t i = 0; l->cols && i < l->ncols; i++)
		free(l->cols[i]);
	free(l->cols);
	free(l->values);
	free(l->offs);
	free(l->flines);
	hbuf_free(&l->rec);
	free(l->path);
	free(l);
}

/* --- duplicates --- */

struct herald_list_dups {
	char *path;
	dev_t dev;                  /* the file being walked */
	ino_t ino;
	struct herald_list *re;     /* a second reader for rows read again */
	bool re_failed;
	struct herald_keyset *set;
};

void
herald_list_row_key(const char *email, char *key, size_t n)
{
	if (!herald_addr_key(email, key, n)) {
		snprintf(key, n, "%s", email);
		ascii_lower(key);
	}
}

/* The key of the row at offset ref, read again from the file. */
static bool
key_at(void *arg, uint64_t ref, char *out, size_t n)
{
	struct herald_list_dups *d = arg;
	struct herald_list *l;
	struct herald_err e;
	int line;

	if (d->re == NULL && !d->re_failed) {
		struct stat st;

		if (herald_list_open(d->path, &d->re, &e) != 0) {
			d->re_failed = true;
			return false;
		}
		/* the file walked, not one renamed over it since */
		if (fstat(fileno(d->re->f), &st) != 0 || st.st_dev != d->dev ||
		    st.st_ino != d->ino) {
			herald_list_close(d->re);
			d->re = NULL;
			d->re_failed = true;
			return false;
		}
		/* one row at a time: read little */
		d->re->bufsize = 1024;
	}
	if ((l = d->re) == NULL || ref > (uint64_t)INT64_MAX ||
	    fseeko(l->f, (off_t)ref, SEEK_SET) != 0)
		return false;
	l->base = ref;
	l->pos = l->len = 0;
	if (read_record(l, &line, &e) != 0 || l->noffs != l->ncols)
		return false;
	herald_list_row_key(trim(l->rec.data + l->offs[l->known[COL_EMAIL]]),
	    out, n);
	return true;
}

struct herald_list_dups *
herald_list_dups_new(const struct herald_list *l, size_t hint, bool lines,
    uint64_t (*hash)(const void *, size_t))
{
	struct herald_list_dups *d = xcalloc(1, sizeof(*d));
	struct stat st;

	d->path = xstrdup(l->path);
	if (fstat(fileno(l->f), &st) == 0) {
		d->dev = st.st_dev;
		d->ino = st.st_ino;
	} else
		d->re_failed = true;
	d->set = herald_keyset_new(hint, lines, hash, key_at, d);
	return d;
}

int
herald_list_dups_add(struct herald_list_dups *d,
    const struct herald_recipient *r)
{
	char key[512];
	int first;

	herald_list_row_key(r->email, key, sizeof(key));
	first = herald_keyset_add(d->set, key, r->offset, r->line > 0 ?
	    r->line : 1);
	/* a row past 1 TiB is never taken for a duplicate (kept, not lost) */
	return first < 0 ? 0 : first;
}

size_t
herald_list_dups_bytes(const struct herald_list_dups *d)
{
	return herald_keyset_bytes(d->set);
}

void
herald_list_dups_free(struct herald_list_dups *d)
{
	if (d == NULL)
		return;
	herald_keyset_free(d->set);
	herald_list_close(d->re);
	free(d->path);
	free(d);
}

/*
 * Zone and locale checks touch the file system and ICU's locale table; a
 * list has few distinct values, so remember the good ones.
 */
#define MEMO_MAX 256
struct memo {
	char *v[MEMO_MAX];
	size_t n;
};

static bool
memo_check(struct memo *m, const char *s, bool (*valid)(const char *))
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i], s) == 0)
			return true;
	if (!valid(s))
		return false;
	if (m->n < MEMO_MAX)
		m->v[m->n++] = xstrdup(s);
	return true;
}

static void
memo_free(struct memo *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
}

static int
validate_row(const char *path, const struct herald_recipient *r,
    long fmtcol, struct memo *zones, struct memo *locales,
    struct herald_err *e)
{
	if (has_crlf_nul(r->email, strlen(r->email)))
		return herald_errf(e, EX_DATAERR, path, r->line,
		    "line break in email");
	if (has_crlf_nul(r->name, strlen(r->name)))
		return herald_errf(e, EX_DATAERR, path, r->line,
		    "line break in name");
	if (!herald_addr_valid(r->email))
		return herald_errf(e, EX_DATAERR, path, r->line,
		    "invalid address \"%.200s\"", r->email);
	if (r->timezone && !memo_check(zones, r->timezone, herald_zone_valid)) {
		char near[128];

		if (herald_suggest_zone(r->timezone, near, sizeof(near)))
			return herald_errf(e, EX_DATAERR, path, r->line,
			    "invalid time zone \"%.100s\"; did you mean %s?",
			    r->timezone, near);
		return herald_errf(e, EX_DATAERR, path, r->line,
		    "invalid time zone \"%.100s\"", r->timezone);
	}
	if (r->locale && !memo_check(locales, r->locale, herald_locale_valid)) {
		char near[64];

		if (herald_locale_suggest(r->locale, near))
			return herald_errf(e, EX_DATAERR, path, r->line,
			    "invalid locale \"%.100s\"; did you mean %s?",
			    r->locale, near);
		return herald_errf(e, EX_DATAERR, path, r->line,
		    "invalid locale \"%.100s\"", r->locale);
	}
	if (fmtcol >= 0) {
		const char *f = r->values[fmtcol];

		if (*f && !ascii_ieq(f, "html") && !ascii_ieq(f, "text"))
			return herald_errf(e, EX_DATAERR, path, r->line,
			    "invalid format \"%.100s\" (want html or text)", f);
	}
	return 0;
}

/*
 * After the first rows, make room in the duplicate set for as many rows as
 * the file holds at their length: one step, not a doubling every time it
 * fills (which holds the old table beside the new one each time).
 */
#define ESTIMATE_AFTER 1000
static void
reserve_estimate(const struct herald_list *l, struct herald_list_dups *d,
    const struct herald_recipient *r)
{
	struct stat st;
	uint64_t first = l->first_off, per;

	if (r->offset <= first || fstat(fileno(l->f), &st) != 0 ||
	    (uint64_t)st.st_size <= r->offset)
		return;
	per = (r->offset - first) / (ESTIMATE_AFTER - 1);
	if (per == 0)
		return;
	/* a little more, for rows shorter than the first ones */
	herald_keyset_reserve(d->set, (size_t)(((uint64_t)st.st_size - first) /
	    per / 32 * 33));
}

int
herald_list_validate(const char *path, struct herald_list_stats *st,
    herald_list_warn_fn warn, void *arg, struct herald_err *e)
{
	return herald_list_validate_all(path, st, warn, NULL, arg, e);
}

int
herald_list_validate_all(const char *path, struct herald_list_stats *st,
    herald_list_warn_fn warn, herald_list_warn_fn bad, void *arg,
    struct herald_err *e)
{
	struct herald_err held = {0};
	int nbad = 0;
	struct herald_list *l;
	struct herald_recipient r;
	struct herald_list_stats dummy;
	struct herald_list_dups *seen;
	struct memo zones = { .n = 0 }, locales = { .n = 0 };
	int rc;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if ((rc = herald_list_open(path, &l, e)) != 0)
		return rc;
	seen = herald_list_dups_new(l, 0, true, NULL);
	while ((rc = herald_list_next(l, &r, e)) == 0) {
		int first;

		if (++st->rows == ESTIMATE_AFTER)
			reserve_estimate(l, seen, &r);
		rc = validate_row(path, &r, l->known[COL_FORMAT], &zones,
		    &locales, e);
		if (rc != 0 && bad == NULL)
			break;
		if (rc != 0) {
			/* every bad row is reported, the last one by the caller */
			if (nbad > 0)
				bad(arg, held.file, held.line, held.msg);
			held = *e;
			rc = 0;
			if (++nbad >= HERALD_LIST_MAX_BAD)
				break;
			continue;
		}
		/* Valid (validate_row), so it has a key. */
		if ((first = herald_list_dups_add(seen, &r)) != 0) {
			char msg[64];

			st->duplicates++;
			snprintf(msg, sizeof(msg), "duplicate of line %d", first);
			if (warn)
				warn(arg, path, r.line, msg);
		} else
			st->unique++;
	}
	if (rc == -1) {
		rc = 0;
		if (st->rows == 0)
			rc = herald_errf(e, EX_DATAERR, path, 0, "no subscribers");
	}
	if (nbad > 0) {
		struct herald_err parse = *e;

		if (rc != 0) {
			/* a row that could not even be read ends the list */
			bad(arg, held.file, held.line, held.msg);
			held = parse;
			nbad++;
		}
		*e = held;
		if (nbad >= HERALD_LIST_MAX_BAD)
			snprintf(e->msg + strlen(e->msg), sizeof(e->msg) -
			    strlen(e->msg), " (stopped after %d bad rows)", nbad);
		else if (nbad > 1)
			snprintf(e->msg + strlen(e->msg), sizeof(e->msg) -
			    strlen(e->msg), " (%d bad rows)", nbad);
		rc = EX_DATAERR;
	}
	herald_list_close(l);
	herald_list_dups_free(seen);
	memo_free(&zones);
	memo_free(&locales);
	return rc;
}
