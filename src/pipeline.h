/*
 * pipeline.h - the one path from a campaign to its backends (backend.h):
 * walk the list (campaign.h: duplicates and suppressed readers already
 * skipped), ask the caller whether this reader is wanted, build the
 * reader's message once, and hand it to each backend's put().
 *
 *   preview   every reader, to a spool directory and/or an mbox
 *   check     every HTML reader, to no backend (clip.c measures each
 *             message as built)
 *   send      each pass of deliver.c: the readers whose journal rows that
 *             pass retries, to the SMTP backend
 *   send --to one reader's message, readdressed and marked "[TEST] ", to
 *             a one-message SMTP backend (no journal)
 *
 * The pipeline does not commit: the caller decides (preview only after a
 * walk without error; deliver.c after every pass, error or not, since its
 * commit drains the transactions already started).
 */
#ifndef HERALD_PIPELINE_H
#define HERALD_PIPELINE_H

#include "backend.h"

/* Returned by want() for a reader the run leaves out. */
#define HERALD_PIPE_SKIP (-1)

struct herald_pipeline {
	struct herald_campaign *c;
	time_t date;                     /* the messages' Date: */
	struct herald_backend **be;      /* put() in this order; one that
	                                    takes m->eml must be last */
	size_t nbe;
	const char *subject_prefix;      /* e.g. "[TEST] "; NULL: none */
	/* Optional (send --to): each message is the reader's, personalised
	 * as that row, but addressed to to_addr. */
	const char *to_addr;
	/* Optional.  0: build and put this reader; HERALD_PIPE_SKIP: not
	 * this one; anything else stops the walk and is returned. */
	int (*want)(void *arg, const struct herald_recipient *r);
	/* Optional: each message once built, before any put(). */
	void (*built)(void *arg, const struct herald_recipient *r,
	    const struct herald_message *m);
	void *arg;
	struct herald_message msg;       /* reused across readers; free with
	                                    herald_pipeline_free */
	struct herald_err *e;            /* private: the walk's error */
};

/*
 * Walk the whole list.  Returns 0, or what want() or a put() returned to
 * stop (a sysexits code with e filled, or the caller's own stop value).
 */
int herald_pipeline_run(struct herald_pipeline *p, struct herald_err *e);
/* The same for one reader not from the list (preview's sample reader). */
int herald_pipeline_one(struct herald_pipeline *p,
    const struct herald_recipient *r, struct herald_err *e);
void herald_pipeline_free(struct herald_pipeline *p);

#endif
