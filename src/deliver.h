/*
 * deliver.h - the delivery engine: stream a campaign's list through the
 * SMTP slots, journaling every recipient (see journal.h), pacing (--rate,
 * 421 slow-downs), backing off after 4xx replies and retrying within the
 * run, and suppressing addresses a 5.1.1 reply says do not exist.
 *
 * `herald send` parses its options and calls this; `herald status` shares
 * the journal setup (herald_deliver_journal_open).  The library never
 * prints: progress, per-recipient results and the SMTP dialogue reach the
 * caller through the callbacks in the options.
 *
 *   herald_deliver_open   check the SMTP settings, open the journal
 *                         (recovering a killed run), give every recipient
 *                         a row;
 *   herald_deliver_run    pass 1 streams the list and sends to every row
 *                         that is pending, deferred or unknown; later
 *                         passes stream it again for the rows deferred in
 *                         this run, once their back-off has passed (up to
 *                         max_tries transactions per run).  Memory stays
 *                         flat: at most `concurrency` messages built ahead
 *                         plus those in flight.
 *
 * Each pass is one herald_pipeline_run (pipeline.h) into deliver.c's SMTP
 * backend (backend.h): the pass's choice of rows is the pipeline's want(),
 * the journal and the connections are the backend's put() and commit().
 *
 * A row is committed "inflight" before its transaction starts and its
 * result after the reply, so a kill at any moment leaves the journal able
 * to tell who may have a copy.
 */
#ifndef HERALD_DELIVER_H
#define HERALD_DELIVER_H

#include <signal.h>
#include <time.h>

#include "campaign.h"
#include "journal.h"
#include "smtp.h"

struct herald_deliver_opts {
	unsigned shard_k, shard_n;  /* this run takes the K-th of N shares
	                               (1/1: everything) */
	int concurrency;            /* SMTP connections; <= 0: 4 */
	int max_tries;              /* transactions per recipient per run; <= 0: 3 */
	double retry_base;          /* first back-off after a 4xx, seconds */
	double rate;                /* messages a second; 0 unlimited */
	bool force;                 /* resume although the post changed */
	time_t date;                /* the messages' Date: */
	const char *test_as;        /* herald_deliver_test: personalise as the
	                               row with this address (NULL: the first) */
	/* Set (by a signal handler) to stop starting transactions; those in
	 * flight are finished and recorded.  May be NULL. */
	const volatile sig_atomic_t *interrupted;

	/* All optional.  result: one recipient dealt with ("sent", "failed",
	 * "deferred" or "unknown") with the server's reply. */
	void (*on_result)(void *arg, const char *addr, const char *word,
	    const char *reply);
	/* done: every recipient dealt with in this run. */
	void (*on_progress)(void *arg, size_t done, size_t deferred,
	    size_t failed);
	herald_smtp_trace_fn trace; /* the SMTP dialogue */
	void *arg;
};

struct herald_deliver_stats {
	size_t sent, failed;        /* this run */
	size_t counts[HERALD_J_NSTATES];   /* the journal after the run */
	bool interrupted;           /* stopped by *interrupted */
	bool relay_busy;            /* stopped after 10 421s in a row */
};

struct herald_deliver;

/*
 * The journal of campaign c: .herald/journal-ID[...].sqlite (created
 * unless readonly) with the list's shared suppressions.  Same returns as
 * herald_journal_open.
 */
int herald_deliver_journal_open(struct herald_campaign *c, unsigned shard_k,
    unsigned shard_n, bool readonly, bool force, struct herald_journal **out,
    struct herald_err *e);

/* How many distinct addresses of the list are in shard K of N. */
int herald_deliver_share(struct herald_campaign *c, unsigned shard_k,
    unsigned shard_n, size_t *count, struct herald_err *e);

/*
 * Check the SMTP settings, open the journal and give every recipient (of
 * this shard) a row.  Returns 0 or a sysexits code with e filled (see
 * herald_journal_open; EX_CONFIG for bad SMTP settings).
 */
int herald_deliver_open(struct herald_campaign *c,
    const struct herald_deliver_opts *o, struct herald_deliver **out,
    struct herald_err *e);
/* Rows a killed run left inflight, now unknown. */
size_t herald_deliver_recovered(const struct herald_deliver *d);
/* Rows this run will try: pending, deferred or unknown. */
size_t herald_deliver_todo(const struct herald_deliver *d);
/* Recipients of the whole campaign (this shard), done or not: a resumed
 * run's progress counts against this. */
size_t herald_deliver_total(const struct herald_deliver *d);
/*
 * Send.  Returns 0 with st filled (whatever the recipients' fates), or a
 * sysexits code with e filled and st filled as far as known: EX_IOERR (the
 * journal), EX_UNAVAILABLE (the relay is unusable: TLS, login, not
 * reachable at all) ...
 */
int herald_deliver_run(struct herald_deliver *d,
    struct herald_deliver_stats *st, struct herald_err *e);
void herald_deliver_free(struct herald_deliver *d);   /* NULL is fine */

/*
 * One test copy to `to` (subject prefixed "[TEST] "), personalised as the
 * list's row o->test_as (case-insensitive), or its first subscriber;
 * not journaled.  A test_as that is no row is EX_DATAERR.  Returns 0 and fills *status,
 * code and reply (reply_len bytes) with the outcome, or a sysexits code
 * with e filled when it could not be attempted.
 */
int herald_deliver_test(struct herald_campaign *c,
    const struct herald_deliver_opts *o, const char *to,
    struct herald_smtp_result *res, char *reply, size_t reply_len,
    struct herald_err *e);

#endif
