/*
 * signpool.h - DKIM signing on every core: a few threads that sign built
 * messages (herald_dkim_sign) while the caller builds the next ones and
 * talks SMTP.  Signing is one RSA (or Ed25519) operation per key per
 * message, the costliest step of a send with DKIM; the pool keeps a send
 * near the machine's signing rate.
 *
 * A job is submitted once and then finished once: herald_signpool_finish
 * returns when its message is signed, signing it on the calling thread if
 * no worker has taken it yet (so the caller never idles waiting for a
 * busy pool).  Between submit and finish the message buffer belongs to the
 * pool: the caller must not read or change it.
 */
#ifndef HERALD_SIGNPOOL_H
#define HERALD_SIGNPOOL_H

#include "dkim.h"
#include "util.h"

struct herald_signjob {
	struct hbuf *msg;          /* the message to sign in place */
	/* private */
	int state;
	int rc;
	struct herald_err err;
	struct herald_signjob *next;
};

struct herald_signpool;

/* nthreads <= 0: one per online CPU (at most 8).  Never fails. */
struct herald_signpool *herald_signpool_new(struct herald_dkim *d,
    int nthreads);
/* Queue j (j->msg set) for signing. */
void herald_signpool_submit(struct herald_signpool *p,
    struct herald_signjob *j);
/* Wait until j is signed (signing it here if it is still queued).
 * Returns herald_dkim_sign's result, with e filled on failure. */
int herald_signpool_finish(struct herald_signpool *p,
    struct herald_signjob *j, struct herald_err *e);
/* Stop the threads (after the jobs they hold) and free.  Every submitted
 * job must have been finished.  NULL is safe. */
void herald_signpool_free(struct herald_signpool *p);
size_t herald_signpool_threads(const struct herald_signpool *p);

#endif
