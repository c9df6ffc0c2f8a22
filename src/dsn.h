/*
 * dsn.h - reading mail that comes back: delivery status notifications
 * (RFC 3464, in a multipart/report of RFC 6522) and mailed unsubscribe
 * requests.  Parsed with libetpan.
 */
#ifndef HERALD_DSN_H
#define HERALD_DSN_H

#include <stddef.h>

#include "util.h"

struct herald_dsn_rcpt {
	char *addr;        /* Final-Recipient (else Original-Recipient), no "rfc822;" */
	char *action;      /* failed, delayed, delivered, relayed, expanded */
	char *status;      /* e.g. "5.1.1" */
	char *diag;        /* Diagnostic-Code, or "" */
};

struct herald_inmail {
	bool is_dsn;               /* multipart/report; report-type=delivery-status */
	struct herald_dsn_rcpt *rcpts;
	size_t nrcpts;
	char *message_id;          /* this mail's, without <>, or NULL */
	char *subject;             /* this mail's, RFC 2047 decoded, or NULL */
	char *to;                  /* To, Delivered-To, X-Original-To joined (VERP) */
	char *orig_message_id;     /* of the returned message, or NULL */
	char *orig_list_unsub;     /* its List-Unsubscribe, or NULL */
};

/* Parse one message (CRLF or LF).  Returns 0, or EX_DATAERR when it is not
 * a message at all.  Free with herald_inmail_free. */
int herald_dsn_parse(const char *data, size_t len, struct herald_inmail *m,
    struct herald_err *e);
void herald_inmail_free(struct herald_inmail *m);

#endif
