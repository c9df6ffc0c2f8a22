/*
 * inbox.h - `herald inbox`: read a Maildir or an mbox of returned mail
 * (bounce reports, mailed unsubscribe requests) into the suppression store.
 *
 * Per mail: a delivery status notification (dsn.h) with a permanent 5.x.x
 * status for a reader suppresses them ("bounce"); a 4.x.x one is counted
 * per campaign and suppresses only after HERALD_SOFT_BOUNCE_LIMIT
 * campaigns ("soft-bounces"); a mail whose Subject holds a valid token
 * (from the mailto: link, "unsubscribe TOKEN") suppresses its reader
 * ("mail").  The reader and list are taken from the token in the returned
 * message's List-Unsubscribe, else from a VERP recipient
 * (bounces+TOKEN@...), else from the report's Final-Recipient (for the
 * list given).  Each mail is remembered by its content hash, so a second
 * run over the same mailbox changes nothing.
 */
#ifndef HERALD_INBOX_H
#define HERALD_INBOX_H

#include "util.h"

struct herald_tokens;
struct herald_suppress;

enum herald_inbox_what {
	HERALD_INBOX_SUPPRESSED,     /* a new suppression */
	HERALD_INBOX_WAS_SUPPRESSED, /* for someone already suppressed */
	HERALD_INBOX_SOFT,           /* a 4.x.x counted, not (yet) suppressed */
	HERALD_INBOX_SEEN,           /* handled by an earlier run */
	HERALD_INBOX_OTHER_LIST,     /* about another list */
	HERALD_INBOX_IGNORED,        /* neither a report nor a request */
	HERALD_INBOX_UNPROVEN,       /* a report without herald's link */
};

struct herald_inbox_event {
	const char *mail;            /* file name, or "MBOX:N" */
	enum herald_inbox_what what;
	const char *addr;            /* NULL for SEEN and IGNORED */
	const char *why;             /* bounce, soft-bounces, mail */
	const char *detail;          /* status and diagnostic, or "" */
	int campaigns;               /* SOFT: campaigns soft-bounced so far */
};

typedef void (*herald_inbox_fn)(void *arg, const struct herald_inbox_event *ev);

/* Read path (a Maildir directory or an mbox file) for list.  Returns 0 or
 * EX_NOINPUT / EX_IOERR with e filled; fn is told about every mail. */
int herald_inbox_read(const char *path, const char *list,
    struct herald_tokens *t, struct herald_suppress *s, herald_inbox_fn fn,
    void *arg, struct herald_err *e);

#endif
