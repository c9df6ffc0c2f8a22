/*
 * backend.h - where finished messages go.  One interface, several backends
 * (the shape of OpenSMTPD's queue_backend): the pipeline (pipeline.h)
 * builds each message once and hands it to put(), commit() ends the run,
 * and close() frees the backend.
 *
 *   spool  a directory: ADDRESS.eml, ADDRESS.html, index.html (spool.c);
 *          commit makes the whole run visible at once, close without a
 *          commit leaves what was there before (nothing half-written)
 *   mbox   one mboxrd file with LF line ends, or standard output (mbox.c),
 *          likewise
 *   smtp   delivery (deliver.c, private to it): put() journals the reader
 *          inflight through the group-commit writer and hands the message
 *          to a connection once that row is durable; commit() drains the
 *          pass (every transaction started has its result durable).  Which
 *          readers a pass takes (journal state, back-off) is deliver.c's
 *          want() filter, not the backend's.
 *          `send --to` uses a one-message variant (deliver.c): put()
 *          connects, sends and waits for the reply; nothing is journaled.
 */
#ifndef HERALD_BACKEND_H
#define HERALD_BACKEND_H

#include "campaign.h"

struct herald_backend;

struct herald_backend_ops {
	const char *name;
	/* Store one message.  Returns 0 or a sysexits code with e filled
	 * (smtp: or deliver.c's stop value).  put() may take m->eml (moving
	 * the buffer and leaving m->eml zeroed: the next build starts a new
	 * one); everything else in m stays the caller's. */
	int (*put)(struct herald_backend *b, const struct herald_recipient *r,
	    struct herald_message *m, struct herald_err *e);
	/* Make everything put so far visible, replacing the previous run
	 * (smtp: wait until everything put has its result durable). */
	int (*commit)(struct herald_backend *b, struct herald_err *e);
	/* Free b; without a commit, remove whatever the run wrote. */
	void (*close)(struct herald_backend *b);
};

struct herald_backend {
	const struct herald_backend_ops *ops;
	const struct herald_campaign *c;
	size_t count;             /* messages put */
	const char *where;        /* directory or file, for messages */
};

/*
 * Open a spool in dir (created if missing).  Stale temp files of runs that
 * were killed are removed first.  After commit, dir holds this campaign's
 * messages only: files an earlier preview wrote and this one did not are
 * removed (the directory's .herald-manifest lists them); other files are
 * left alone.  A dir without a manifest (an older herald's) loses only the
 * ADDRESS.eml files whose header is evidently herald's, and their .html.
 * Returns 0 or EX_CANTCREAT.
 */
int herald_spool_open(const char *dir, const struct herald_campaign *c,
    struct herald_backend **out, struct herald_err *e);

/*
 * Open an mbox (mboxrd: "From " lines quoted with one more '>', LF line
 * ends) at path, replaced at commit; "-" writes to standard output as it
 * goes.  Returns 0 or EX_CANTCREAT.
 */
int herald_mbox_open(const char *path, const struct herald_campaign *c,
    struct herald_backend **out, struct herald_err *e);

static inline int
herald_backend_put(struct herald_backend *b, const struct herald_recipient *r,
    struct herald_message *m, struct herald_err *e)
{
	int rc = b->ops->put(b, r, m, e);

	if (rc == 0)
		b->count++;
	return rc;
}

static inline int
herald_backend_commit(struct herald_backend *b, struct herald_err *e)
{
	return b->ops->commit(b, e);
}

static inline void
herald_backend_close(struct herald_backend *b)
{
	if (b != NULL)
		b->ops->close(b);
}

/* A stale temp file's owner: true when pid names no running process. */
bool herald_pid_dead(long pid);

#endif
