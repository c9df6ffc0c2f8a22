/*
 * journal.h - the delivery journal: one SQLite database (WAL) per campaign
 * in .herald/ whatever the shard, one row per recipient address
 * (lower-cased):
 *
 *   pending -> inflight -> sent | deferred | failed | unknown
 *
 * plus `suppressed` for a reader the caller found in the suppression
 * store (suppress.c, a database of its own, so that `herald serve` is never
 * locked out by a send), and `removed` (never stored) for a row whose
 * address is no longer in the list.  The campaign row keeps the SHA-256 of
 * the post, so that a caller can tell a changed post
 * (herald_journal_post_changed).
 *
 * Durability: every function that changes a row commits before it returns
 * unless the caller opened a batch with herald_journal_begin(); the batch
 * is durable when herald_journal_commit() returns.  A row marked inflight
 * must be committed before its SMTP transaction starts.
 *
 * This module is the only one that includes sqlite3.h.
 */
#ifndef HERALD_JOURNAL_H
#define HERALD_JOURNAL_H

#include <stdint.h>

#include "util.h"

enum herald_jstate {
	HERALD_J_PENDING,
	HERALD_J_INFLIGHT,
	HERALD_J_SENT,
	HERALD_J_DEFERRED,
	HERALD_J_FAILED,
	HERALD_J_UNKNOWN,
	HERALD_J_SUPPRESSED,
	HERALD_J_REMOVED,       /* counted and walked only, never stored */
	HERALD_J_NSTATES
};

/* "pending", "inflight", ...; NULL for an out-of-range value. */
const char *herald_jstate_name(enum herald_jstate s);

struct herald_journal_opts {
	const char *path;           /* the journal database */
	const char *campaign_id;
	const char *list_name;      /* recorded in the campaign row */
	const char *post_path;      /* for the "post changed" error */
	const unsigned char *post_hash;   /* 32 bytes, SHA-256 of the post */
	bool force;                 /* accept a changed post (records the new hash) */
	bool readonly;              /* status: no creation, no recovery */
};

struct herald_journal;

/*
 * Open (creating unless readonly) the journal.  A writable open first takes
 * in the per-shard journals an earlier herald kept beside it
 * (PATH-shardKofN.sqlite, renamed *.absorbed afterwards), then recovers
 * from a killed run: rows left inflight become unknown (their final dot may
 * have been sent) and per-run retry counters are reset.
 * A writable journal is locked (PATH.lock, flock) until closed.
 * A changed post is not refused here: herald_journal_post_changed says so
 * (and force records the new hash).
 * Returns 0, EX_NOINPUT (readonly and no journal yet), EX_TEMPFAIL
 * (another writer has it open) or EX_CANTCREAT/EX_IOERR with e filled.
 */
int herald_journal_open(const struct herald_journal_opts *o,
    struct herald_journal **out, struct herald_err *e);
void herald_journal_close(struct herald_journal *j);   /* NULL is fine */

/* Rows turned from inflight to unknown by the open. */
size_t herald_journal_recovered(const struct herald_journal *j);
/* Does the recorded post hash differ from the one given to open? */
bool herald_journal_post_changed(const struct herald_journal *j);

/* Group changes into one transaction (one fsync). */
int herald_journal_begin(struct herald_journal *j, struct herald_err *e);
int herald_journal_commit(struct herald_journal *j, struct herald_err *e);
/* Is a batch open (begun and not yet committed)? */
bool herald_journal_in_batch(const struct herald_journal *j);

struct herald_jrow {
	const char *addr;           /* lower-cased */
	enum herald_jstate state;
	int attempts;               /* SMTP transactions started, all runs */
	int tries;                  /* ... in this run */
	double next_try;            /* deferred: not before (epoch seconds) */
	int unknowns;               /* times the row was marked unknown */
	int code;                   /* last SMTP reply code, 0 none */
	const char *reply;          /* last reply text or error, "" none */
	const char *message_id;     /* "" until first attempt */
	int64_t updated;            /* epoch seconds */
};

/*
 * Add addr as pending unless it has a row already.  Returns 0 or
 * EX_IOERR.
 */
int herald_journal_add(struct herald_journal *j, const char *addr,
    struct herald_err *e);
/*
 * Look addr up.  Returns 0 and fills row (strings valid until the next
 * herald_journal_get), -1 when there is no row, or EX_IOERR.  No
 * statement is left open (so the WAL can be checkpointed).
 */
int herald_journal_get(struct herald_journal *j, const char *addr,
    struct herald_jrow *row, struct herald_err *e);
/*
 * Walking a list without a lookup per reader: the sorted 64-bit hashes
 * (hash64 of the key) of the rows whose state bit (1u << state) is in
 * mask, read in one scan; *out is malloc'ed (NULL when none).  A reader
 * whose key's hash (herald_journal_key_hash; false: no key) is not among
 * them has no such row; one whose hash is may (a collision), so ask
 * herald_journal_get.  Returns 0 or EX_IOERR.
 */
int herald_journal_hashes(struct herald_journal *j, unsigned mask,
    uint64_t **out, size_t *n, struct herald_err *e);
bool herald_journal_key_hash(struct herald_journal *j, const char *addr,
    uint64_t *h);
bool herald_journal_hashes_has(const uint64_t *hs, size_t n, uint64_t h);

/* inflight: attempts and tries + 1, message_id recorded. */
int herald_journal_mark_inflight(struct herald_journal *j, const char *addr,
    const char *message_id, struct herald_err *e);
/*
 * A result: sent, deferred (next_try is when to retry), failed or unknown,
 * with the server's reply code (0 when none) and text (may be NULL).
 */
int herald_journal_mark(struct herald_journal *j, const char *addr,
    enum herald_jstate state, int code, const char *reply, double next_try,
    struct herald_err *e);

/*
 * Say that addr is in the list (mine: in this run's shard).  Once any
 * address has been listed, counts and walks cover the listed addresses of
 * this shard (one without a row counts as pending) plus, as
 * HERALD_J_REMOVED, the rows whose address was not listed.  The listing
 * lives in memory/temp space, never in the journal file.
 */
int herald_journal_listed(struct herald_journal *j, const char *addr,
    bool mine, struct herald_err *e);

/* Rows per state (see herald_journal_listed). */
int herald_journal_counts(struct herald_journal *j,
    size_t counts[HERALD_J_NSTATES], struct herald_err *e);
/*
 * Call fn for each row whose state bit (1u << state) is in mask, in
 * address order; fn returns nonzero to stop (that value is returned).
 */
typedef int (*herald_jrow_fn)(void *arg, const struct herald_jrow *row);
int herald_journal_each(struct herald_journal *j, unsigned mask,
    herald_jrow_fn fn, void *arg, struct herald_err *e);

#endif
