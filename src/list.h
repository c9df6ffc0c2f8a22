/*
 * list.h - subscriber lists: RFC 4180 CSV with a header row, UTF-8 (BOM
 * tolerated).  Columns: email (required), name, timezone, locale, format
 * (html|text); others are kept for templates as subscriber.COLUMN.
 *
 * Lists are streamed: one row in memory at a time, so memory stays flat
 * as the list grows.
 *
 * Header names are trimmed; the known columns match case-insensitively and
 * are reported in lower case ("Email" -> "email"), other names as written.
 * Values of the known columns are trimmed of spaces and tabs; other values
 * are exactly as in the file (quoted fields may hold line breaks).
 */
#ifndef HERALD_LIST_H
#define HERALD_LIST_H

#include "addr.h"
#include "util.h"

struct herald_recipient {
	int line;               /* file line the row starts on */
	uint64_t offset;        /* file offset the row starts at */
	const char *email;      /* as written (trimmed) */
	const char *name;       /* "" when absent */
	const char *timezone;   /* NULL when absent or empty */
	const char *locale;     /* NULL when absent or empty */
	bool text_only;         /* format == text */
	size_t ncols;           /* every column, including the above */
	const char *const *cols;    /* header names (owned by the list) */
	const char *const *values;  /* this row's values (valid until next row) */
};

struct herald_list;

/* Open path and read its header row.  Returns 0, EX_NOINPUT or EX_DATAERR. */
int herald_list_open(const char *path, struct herald_list **out,
    struct herald_err *e);
/* Next row: 0 and *r filled, -1 at end of file, or EX_DATAERR (bad
 * quoting, wrong column count, invalid UTF-8, NUL, bare CR) with e naming
 * file:line.  Blank lines are skipped.  r's strings belong to the list and
 * stay valid until the next call or herald_list_close.  Rows are only
 * parsed here, not validated: see herald_list_validate. */
int herald_list_next(struct herald_list *l, struct herald_recipient *r,
    struct herald_err *e);
/* Header names, in order. */
const char *const *herald_list_columns(const struct herald_list *l,
    size_t *n);
void herald_list_close(struct herald_list *l);

/*
 * Duplicate rows of the list l is reading (add each row as l gives it),
 * decided on the address key (addr.h), never on a hash alone, in 8 or 12
 * bytes a row: a row is remembered by its offset in the file and a hash,
 * and read again from the file to be compared when the hashes agree
 * (addr.h's herald_keyset).  A row that cannot be read again, or a path
 * that now names another file, counts as a different address: a reader
 * may get a duplicate, never lose the mail.  hint: about how many rows
 * (0: unknown); lines: keep each row's line (4 bytes more); hash: NULL
 * (tests pass one that collides).
 */
struct herald_list_dups;
struct herald_list_dups *herald_list_dups_new(const struct herald_list *l,
    size_t hint, bool lines, uint64_t (*hash)(const void *, size_t));
/* 0 when r's address is new, else the line of its first row (1 without
 * lines). */
int herald_list_dups_add(struct herald_list_dups *d,
    const struct herald_recipient *r);
size_t herald_list_dups_bytes(const struct herald_list_dups *d);
void herald_list_dups_free(struct herald_list_dups *d);   /* NULL is fine */
/* The duplicate key of an address: herald_addr_key, or the address in
 * lower case when it is not valid. */
void herald_list_row_key(const char *email, char *key, size_t n);

struct herald_list_stats {
	size_t rows;        /* data rows */
	size_t unique;      /* distinct addresses (case-insensitive) */
	size_t duplicates;  /* rows whose address appeared before */
};

/* Called for each duplicate row (the later one), for reporting; msg is
 * "duplicate of line N" (N: the address's first row). */
typedef void (*herald_list_warn_fn)(void *arg, const char *file, int line,
    const char *msg);

/*
 * Read the whole list once and validate every row: address syntax, zone
 * (system tzdata), locale (ICU), format, no CR/LF/NUL in header-bound
 * fields.  The first problem is returned as EX_DATAERR
 * ("lists/x.csv:17: invalid time zone \"Mars/Olympus\""); an empty list is
 * an error too ("no subscribers", line 0).  Duplicates are not errors: warn
 * (may be NULL) is called for each.  st may be NULL.  Also EX_NOINPUT.
 */
int herald_list_validate(const char *path, struct herald_list_stats *st,
    herald_list_warn_fn warn, void *arg, struct herald_err *e);
/*
 * The same, going on past a bad row: every bad row but the last is handed
 * to bad (file, line, message) as it is found, and the last is returned in
 * e, with the count when there were several.  Stops after
 * HERALD_LIST_MAX_BAD bad rows, or at a row that cannot be read at all.
 */
#define HERALD_LIST_MAX_BAD 20
int herald_list_validate_all(const char *path, struct herald_list_stats *st,
    herald_list_warn_fn warn, herald_list_warn_fn bad, void *arg,
    struct herald_err *e);

#endif
