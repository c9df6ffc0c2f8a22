/*
 * smtp.h - deliver messages over SMTP: a fixed number of slots
 * (connections), each reused for many messages, one recipient per
 * transaction.  libcurl makes each connection (greeting, EHLO, STARTTLS,
 * AUTH); herald speaks each transaction itself (MAIL, RCPT, DATA, with
 * PIPELINING when offered), see smtp.c.
 *
 * It normalises every line ending to CRLF (a bare LF passed through is the
 * SMTP-smuggling vector), takes only envelope addresses that addr.c's rule
 * accepts (no CR, LF, NUL or angle brackets, which would be extra
 * commands), dot-stuffs (RFC 5321 4.5.2), and tells 4xx from 5xx from the
 * reply code.
 *
 * TLS (RFC 3207): smtps:// is TLS from the start; smtp:// requires
 * STARTTLS with the certificate and host name verified, so a server that
 * does not offer it gets no message and no credentials.  Only a loopback
 * relay (127.0.0.0/8, ::1, localhost) may be spoken to in plain text, and
 * not even that when a CA file is configured (which says the relay has
 * TLS) or tls_required is set.
 *
 * This module is the only one that includes curl.
 */
#ifndef HERALD_SMTP_H
#define HERALD_SMTP_H

#include "util.h"

enum herald_smtp_status {
	HERALD_SMTP_SENT,       /* 250 after the final dot */
	HERALD_SMTP_DEFERRED,   /* 4xx, or the connection failed before the
	                           final dot: safe to retry */
	HERALD_SMTP_FAILED,     /* 5xx: final */
	HERALD_SMTP_UNKNOWN     /* the whole message and its final dot went
	                           out and no reply came: it may have been
	                           delivered */
};

/* A line of the SMTP dialogue for --verbose (credentials redacted).
 * dir is '>' (sent), '<' (received) or '*' (libcurl's notes). */
typedef void (*herald_smtp_trace_fn)(void *arg, int slot, char dir,
    const char *line);

struct herald_smtp_opts {
	const char *url;        /* smtp://host[:port][/ehlo-name] or smtps:// */
	const char *user;       /* NULL: no AUTH */
	const char *password;   /* never logged */
	const char *ca_file;    /* NULL: the system's CAs */
	const char *from;       /* envelope sender (addr-spec) */
	long timeout;           /* seconds to wait for each server reply
	                           (and to connect); <= 0: 60 */
	int concurrency;        /* connections; <= 0: 4 */
	bool tls_required;      /* even to a loopback relay */
	const char *helo;       /* the EHLO name (a host name); NULL: what
	                           the URL's path says, else libcurl's */
	herald_smtp_trace_fn trace;   /* NULL: no trace */
	void *trace_arg;
};

struct herald_smtp_result {
	void *cookie;           /* as given to submit */
	const char *rcpt;
	enum herald_smtp_status status;
	int code;               /* the server's last reply code, 0 if none */
	const char *reply;      /* its last reply, or what went wrong */
	bool fatal;             /* TLS, certificate or login failure: nothing
	                           will get through, stop the run */
	bool slow_down;         /* 421: the server wants us slower */
	bool unreachable;       /* no TCP connection could be made */
};

typedef void (*herald_smtp_done_fn)(void *arg,
    const struct herald_smtp_result *r);

struct herald_smtp;

/*
 * Check the options (URL scheme, no credentials in the URL, TLS policy,
 * envelope sender) and set up the slots.  Nothing connects yet.
 * Returns 0 or EX_CONFIG/EX_DATAERR with e filled.
 */
int herald_smtp_new(const struct herald_smtp_opts *o,
    struct herald_smtp **out, struct herald_err *e);
void herald_smtp_free(struct herald_smtp *s);   /* NULL is fine */

/*
 * Each connection takes up to HERALD_SMTP_DEPTH transactions: the one it is
 * running and the next ones, which it starts as soon as the one before has
 * its reply (the caller's thread is not in that path).  Until it has
 * delivered a message (and again after any failure) it takes one.
 */
#define HERALD_SMTP_DEPTH 8

size_t herald_smtp_idle(const struct herald_smtp *s);    /* connections
                                                            with nothing to do */
size_t herald_smtp_room(const struct herald_smtp *s);    /* transactions
                                                            submit would take */
size_t herald_smtp_active(const struct herald_smtp *s);  /* submitted, not yet
                                                            reported */

/*
 * Queue data[0..len) for rcpt on the least loaded connection.  The bytes
 * are copied (normalised to CRLF), so the caller may reuse its buffer.
 * cookie comes back in the result.  Returns 0; EX_DATAERR for a bad
 * address or a NUL in the message; EX_SOFTWARE when there is no room.
 */
int herald_smtp_submit(struct herald_smtp *s, const char *rcpt,
    const char *data, size_t len, void *cookie, struct herald_err *e);
/*
 * The same, taking msg: a message that is CRLF throughout already (as
 * mime.c builds it) is handed to the connection as it is, neither copied
 * nor normalised; anything else is normalised.  On success msg is empty
 * (HBUF_INIT); on failure it is left to the caller.
 */
int herald_smtp_submit_buf(struct herald_smtp *s, const char *rcpt,
    struct hbuf *msg, void *cookie, struct herald_err *e);

/*
 * Drive the transfers: wait up to wait_ms for something to happen (the
 * whole wait when nothing is in flight), then call fn for each finished
 * transaction.  Returns the number finished.
 */
int herald_smtp_run(struct herald_smtp *s, int wait_ms,
    herald_smtp_done_fn fn, void *arg);

/* Normalise line endings to CRLF (bare LF and bare CR become CRLF) and end
 * with CRLF; appended to out.  Returns false if data holds a NUL. */
bool herald_smtp_normalize(const char *data, size_t len, struct hbuf *out);
/* Is the URL's host loopback?  false for an unparsable URL. */
bool herald_smtp_url_loopback(const char *url);

#endif
