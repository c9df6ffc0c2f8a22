/*
 * suppress.h - who must not be mailed again: the suppression store.
 *
 * One SQLite database, .herald/suppressions.sqlite (mode 0600), holds the
 * suppressions of every list, keyed by (list, lower-cased address), shared
 * by every campaign of that list.  Each row says when, why (one-click,
 * form, mail, manual, bounce, send-5.1.1, import, soft-bounces), which
 * message it came from (a Message-ID, when known) and a detail line (the
 * DSN status or the server's reply).  It also keeps the 4.x.x reports per
 * (list, address, campaign), so repeated soft bounces across campaigns
 * suppress and one does not, and which mails `herald inbox` has already
 * handled, so a second run over the same mailbox changes nothing.
 *
 * journal.c attaches the same file to mark a suppressed address's journal
 * row; this module owns its schema.
 */
#ifndef HERALD_SUPPRESS_H
#define HERALD_SUPPRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* 4.x.x reports from this many different campaigns suppress an address. */
#define HERALD_SOFT_BOUNCE_LIMIT 3

struct herald_suppress;

struct herald_suppression {
	const char *list;
	const char *addr;         /* lower-case */
	int64_t at;               /* Unix seconds */
	const char *why;          /* one of the words above */
	const char *message_id;   /* "" when unknown */
	const char *detail;       /* "" when none */
};

/*
 * Open (creating when !readonly) state_dir/suppressions.sqlite.  With
 * readonly and no file, opens an empty store.  Returns 0 or EX_CANTCREAT /
 * EX_IOERR with e filled.  Close with herald_suppress_close (NULL is fine).
 */
int herald_suppress_open(const char *state_dir, bool readonly,
    struct herald_suppress **out, struct herald_err *e);
void herald_suppress_close(struct herald_suppress *s);

/* Is addr (any case) suppressed for list?  A database error counts as
 * suppressed: better one reader missed than one mailed against their wish. */
bool herald_suppress_has(struct herald_suppress *s, const char *list,
    const char *addr);

/*
 * The list's suppressed addresses as they are now, in memory: one query,
 * then lookups cost a hash each (a walk over a long list).  Returns 0 or
 * EX_IOERR; free with herald_supset_free (NULL is fine).
 */
struct herald_supset;
int herald_suppress_snapshot(struct herald_suppress *s, const char *list,
    struct herald_supset **out, struct herald_err *e);
bool herald_supset_has(const struct herald_supset *set, const char *addr);
void herald_supset_free(struct herald_supset *set);

/*
 * Suppress addr for list.  An address already suppressed keeps its first
 * record.  Returns 0 (added), 1 (was already there) or EX_IOERR /
 * EX_DATAERR (bad address) with e filled.  at 0 means now.
 */
int herald_suppress_add(struct herald_suppress *s, const char *list,
    const char *addr, const char *why, const char *message_id,
    const char *detail, int64_t at, struct herald_err *e);

/* Remove a suppression (the reader came back).  0 removed, 1 was not
 * there, or EX_IOERR. */
int herald_suppress_remove(struct herald_suppress *s, const char *list,
    const char *addr, struct herald_err *e);

/*
 * A 4.x.x report for addr from campaign (any stable key: the original
 * Message-ID's campaign part).  Counted once per campaign; when
 * HERALD_SOFT_BOUNCE_LIMIT campaigns have soft-bounced, the address is
 * suppressed ("soft-bounces").  Returns 0 counted, 1 already counted for
 * this campaign, 2 counted and now suppressed, or an exit code.  *count
 * gets the number of campaigns so far.
 */
int herald_suppress_soft(struct herald_suppress *s, const char *list,
    const char *addr, const char *campaign, const char *detail,
    int *count, struct herald_err *e);

/* Has `herald inbox` handled the mail whose content hash is key (for list)?
 * Mark it handled.  seen returns true/false; mark returns 0 or EX_IOERR. */
bool herald_suppress_seen(struct herald_suppress *s, const char *list,
    const char *key);
int herald_suppress_mark_seen(struct herald_suppress *s, const char *list,
    const char *key, struct herald_err *e);

/* Every suppression of list, oldest first.  fn returns nonzero to stop
 * (returned).  Returns 0 or EX_IOERR. */
typedef int (*herald_suppression_fn)(void *arg,
    const struct herald_suppression *row);
int herald_suppress_each(struct herald_suppress *s, const char *list,
    herald_suppression_fn fn, void *arg, struct herald_err *e);

/* The list's name for a --list argument: "lists/news.csv" -> "news".
 * Caller frees. */
char *herald_suppress_list_name(const char *list_arg);

/*
 * CSV (RFC 4180, header email,list,at,why,message_id,detail; at in UTC
 * ISO 8601) of list's suppressions appended to out.  Returns 0 or EX_IOERR.
 */
int herald_suppress_export(struct herald_suppress *s, const char *list,
    struct hbuf *out, struct herald_err *e);

/*
 * Add every row of the CSV file path (an `email` column required; `at`,
 * `why`, `message_id`, `detail` used when present, `why` defaulting to
 * "import") to list, in one transaction: all rows or none.  *added and
 * *already count them.  Returns 0, EX_NOINPUT or EX_DATAERR (file:line).
 */
int herald_suppress_import(struct herald_suppress *s, const char *list,
    const char *path, size_t *added, size_t *already, struct herald_err *e);

/* Transactions around many adds (import, inbox). */
int herald_suppress_begin(struct herald_suppress *s, struct herald_err *e);
int herald_suppress_commit(struct herald_suppress *s, struct herald_err *e);

#endif
