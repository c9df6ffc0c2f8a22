/*
 * smtp.c - SMTP submission (see smtp.h).
 *
 * RFC 5321 (SMTP: one MAIL/RCPT/DATA transaction per recipient, replies
 * 2xx/4xx/5xx, dot-stuffing), RFC 2920 (PIPELINING), RFC 1870 (SIZE),
 * RFC 3207 (STARTTLS), RFC 4954 (AUTH; its lines are never traced),
 * RFC 8314 (implicit TLS, smtps://).
 *
 * libcurl makes the connection and stops (CURLOPT_CONNECT_ONLY): TCP, the
 * greeting, EHLO, STARTTLS with the certificate checked, AUTH.  The EHLO
 * reply reaches the header callback, which notes PIPELINING and SIZE.
 * Then run_job() speaks each transaction through curl_easy_send/recv (so
 * TLS stays libcurl's): MAIL, RCPT and DATA as one group when PIPELINING
 * is offered, else one at a time; the body after the 354 only, as built
 * (dot-stuffed here in the rare message that needs it), then ".", with the
 * next transaction's group in the same write.  libcurl's own SMTP transfer
 * was the cost: a per-octet dot-stuffing scan and copy, four round trips a
 * message (doc/notes.md).
 *
 * Each slot is one connection, driven by its own thread, so the connection
 * carries many transactions and one slow reply holds up only its own.  The
 * threads touch only their own slot; results, and trace lines, are handed
 * to the caller's thread, which alone runs the callbacks.  A slot holds up
 * to HERALD_SMTP_DEPTH transactions and its thread starts the next one as
 * soon as the previous one has its reply, without a round trip through
 * the caller's thread.
 *
 * A refused transaction (a 4xx or 5xx to MAIL, RCPT, DATA or the dot)
 * leaves the connection in use, after RSET where a transaction may be
 * open: a list with bad addresses does not reconnect for each.  A 421, a
 * reply out of step or none at all ends the connection (QUIT when the
 * server still answers); the next transaction on that slot starts on a
 * fresh one, so a 421 is never ignored, and one whose group was already
 * pipelined behind such a failure is run again there.
 *
 * Telling "deferred" from "unknown": run_job counts what it has written;
 * once the whole "." CRLF after the message is out, a failure without a
 * reply may hide a delivery (the 250 got lost), so it is unknown; one
 * before that cannot have been delivered, so it is deferred.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "addr.h"
#include "smtp.h"

#define REPLY_MAX 400

/* A transaction waiting, running or finished. */
struct sjob {
	struct hbuf data;          /* the message, CRLF, not yet stuffed */
	char *rcpt_addr;
	void *cookie;
	/* Filled by the slot's thread when the transaction ends: */
	CURLcode rc;
	long code;                 /* the transaction's reply code (the
	                              refusal's, or the last one seen) */
	bool eof;                  /* the final dot went out */
	char reply[REPLY_MAX + 1];
	char errbuf[CURL_ERROR_SIZE];
};

struct slot {
	struct herald_smtp *s;
	int id;
	CURLM *multi;              /* this slot's connection pool (of one) */
	CURL *easy;
	pthread_t thread;
	bool started;              /* the thread exists */
	/* Each slot has its own lock: one lock for the nine threads made
	 * them queue on it (19,000 futex calls for 10,000 messages). */
	pthread_mutex_t mu;
	pthread_cond_t cv;         /* job posted, or quit */
	/* Under sl->mu: */
	struct sjob *q[HERALD_SMTP_DEPTH];  /* posted, not started (a ring) */
	size_t qhead, qn;
	/* Changed under sl->mu; atomic so that room and idle can read them
	 * without it (a stale count only makes a submit wait a round: submit
	 * checks again under the lock). */
	atomic_size_t nbusy;       /* posted and not finished (queued + running) */
	atomic_bool proven;        /* the last transaction got its 250: take
	                              up to HERALD_SMTP_DEPTH, else one */
	struct sjob **done;        /* finished, not yet reported */
	size_t ndone, donecap;
	atomic_size_t nposted;     /* results put in done, ever */
	size_t ntaken;             /* ... and taken by the caller (its own) */
	struct hbuf trace;         /* "D line\n" entries not yet handed out */
	/* The slot's thread's: the running transaction and the connection */
	struct sjob *cur;
	bool connecting;           /* libcurl is connecting (EHLO lines are
	                              noted) */
	bool up;                   /* connected, ready for MAIL */
	curl_socket_t fd;          /* the connection's socket */
	bool pipelining;           /* the EHLO reply offers PIPELINING */
	bool size_ok;              /* ... and SIZE (RFC 1870) */
	struct sjob *grouped;      /* its MAIL/RCPT/DATA are out already */
	long last_ms;              /* when the server last answered */
	struct hbuf in;            /* read from the server, from inoff on
	                              not yet taken as replies */
	size_t inoff;
	struct hbuf out;           /* a command group being written */
	struct hbuf reply_acc;     /* lines of a multi-line reply so far */
	char reply[REPLY_MAX + 1]; /* the last complete reply */
	bool in_auth;              /* between AUTH and its final reply
	                              (tracing: redact the answers) */
	char errbuf[CURL_ERROR_SIZE];
};

struct herald_smtp {
	struct slot *slots;
	size_t nslots;
	size_t active;             /* submitted and not yet reported (caller's) */
	atomic_bool ever_ok;       /* some transaction got its 250 */
	/* The caller's thread waits for results under rmu; a slot that
	 * finishes one counts it in ndone and signals only when the caller
	 * says it is waiting. */
	pthread_mutex_t rmu;
	pthread_cond_t result_cv;  /* a slot finished */
	atomic_size_t ndone;       /* results posted, ever */
	atomic_bool waiting;       /* the caller sleeps on result_cv */
	atomic_bool quit;
	herald_smtp_trace_fn trace;
	void *trace_arg;
	char *from;                /* "<addr>" */
	char *url;                 /* smtp.url, with the EHLO name as its path */
	long ssl;                  /* CURLOPT_USE_SSL */
	long timeout_ms;           /* for each reply, and to connect */
	char *user, *password;     /* NULL: no AUTH */
	char *ca_file;             /* NULL: the system's CAs */
};

static bool curl_ready;

bool
herald_smtp_normalize(const char *data, size_t len, struct hbuf *out)
{
	size_t i, start = 0;

	hbuf_grow(out, len + len / 32 + 2);
	for (i = 0; i < len; i++) {
		char c = data[i];

		if (c == '\0')
			return false;
		if (c != '\r' && c != '\n')
			continue;
		hbuf_put(out, data + start, i - start);
		hbuf_put(out, "\r\n", 2);
		if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	hbuf_put(out, data + start, len - start);
	if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
		hbuf_put(out, "\r\n", 2);
	return true;
}

static bool
host_loopback(const char *host)
{
	struct in_addr a4;
	size_t n = strlen(host);
	char buf[64];

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (strcmp(host, "::1") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return false;
}

static void
init_curl(void)
{
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
}

struct url_parts {
	char *scheme, *host, *user, *password;
};

static bool
parse_url(const char *url, struct url_parts *p)
{
	CURLU *u;
	bool ok;

	init_curl();
	memset(p, 0, sizeof(*p));
	if ((u = curl_url()) == NULL)
		return false;
	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &p->host, 0) == CURLUE_OK;
	curl_url_get(u, CURLUPART_USER, &p->user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &p->password, 0);
	curl_url_cleanup(u);
	return ok;
}

static void
free_url(struct url_parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->user);
	curl_free(p->password);
}

bool
herald_smtp_url_loopback(const char *url)
{
	struct url_parts p;
	bool lo;

	if (!parse_url(url, &p)) {
		free_url(&p);
		return false;
	}
	lo = host_loopback(p.host);
	free_url(&p);
	return lo;
}

/* --- tracing and reply capture --- */

/* Called on the slot's thread: queue the line for the caller's thread. */
static void
trace(struct slot *sl, char dir, const char *line)
{
	if (sl->s->trace == NULL)
		return;
	pthread_mutex_lock(&sl->mu);
	hbuf_putc(&sl->trace, dir);
	hbuf_puts(&sl->trace, line);
	hbuf_putc(&sl->trace, '\n');
	pthread_mutex_unlock(&sl->mu);
}

/* A line of a server reply (the header callback, so also without
 * tracing): keep the last complete reply.  221 answers QUIT only (RFC 5321
 * 4.2.2), sent when a connection closes after a transaction: never the
 * transaction's reply. */
static void
reply_line(struct slot *sl, const char *line)
{
	bool last = strlen(line) < 4 || line[3] != '-';

	if (sl->connecting) {
		/* The EHLO reply's keywords (RFC 5321 4.1.1.1); a 220 (the
		 * greeting, or STARTTLS's go-ahead, after which EHLO is
		 * said again) starts over. */
		if (strncmp(line, "220", 3) == 0)
			sl->pipelining = sl->size_ok = false;
		else if (strncmp(line, "250", 3) == 0 && strlen(line) > 4) {
			const char *kw = line + 4;
			size_t n = strcspn(kw, " ");

			if (n == 10 && strncasecmp(kw, "PIPELINING", n) == 0)
				sl->pipelining = true;
			else if (n == 4 && strncasecmp(kw, "SIZE", n) == 0)
				sl->size_ok = true;
		}
	}

	if (sl->reply_acc.len)
		hbuf_putc(&sl->reply_acc, ' ');
	if (sl->reply_acc.len < REPLY_MAX)
		hbuf_puts(&sl->reply_acc, line);
	if (!last)
		return;
	if (strncmp(line, "221", 3) != 0)
		snprintf(sl->reply, sizeof(sl->reply), "%s",
		    hbuf_cstr(&sl->reply_acc));
	hbuf_reset(&sl->reply_acc);
}

/* The same line, traced (--verbose only). */
static void
reply_trace(struct slot *sl, const char *line)
{
	trace(sl, '<', line);
	if ((strlen(line) < 4 || line[3] != '-') &&
	    strncmp(line, "334", 3) != 0)
		sl->in_auth = false;
}

static void
command_line(struct slot *sl, const char *line)
{
	if (strncasecmp(line, "AUTH ", 5) == 0) {
		/* "AUTH PLAIN <credentials>": keep only the mechanism. */
		char shown[64];
		size_t n = strcspn(line + 5, " ");

		if (n > 40)
			n = 40;
		snprintf(shown, sizeof(shown), "AUTH %.*s [redacted]", (int)n,
		    line + 5);
		sl->in_auth = true;
		trace(sl, '>', shown);
		return;
	}
	if (sl->in_auth) {
		/* An answer to a 334 challenge: a credential. */
		trace(sl, '>', "[redacted]");
		return;
	}
	trace(sl, '>', line);
}

/* p[0..n), one line without its line end, as a C string in line[cap]
 * (cut to fit); returns its length. */
static size_t
copy_line(char *line, size_t cap, const char *p, size_t n)
{
	while (n > 0 && p[n - 1] == '\r')
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	return n;
}

/* Split data into lines (without CR LF) and hand each to fn. */
static void
each_line(struct slot *sl, const char *data, size_t size,
    void (*fn)(struct slot *, const char *))
{
	const char *p = data, *end = data + size, *nl;
	char line[1024];

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (copy_line(line, sizeof(line), p, (size_t)(nl - p)) > 0)
			fn(sl, line);
	}
}

static void
text_line(struct slot *sl, const char *line)
{
	trace(sl, '*', line);
}

static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct slot *sl = arg;

	(void)h;
	switch (type) {
	case CURLINFO_HEADER_IN:
		each_line(sl, data, size, reply_trace);
		break;
	case CURLINFO_HEADER_OUT:
		each_line(sl, data, size, command_line);
		break;
	case CURLINFO_TEXT:
		each_line(sl, data, size, text_line);
		break;
	default:
		/* The message body and TLS records are never traced. */
		break;
	}
	return 0;
}

/* libcurl hands every reply line of the dialogue to the header callback
 * (pingpong.c), with or without VERBOSE. */
static size_t
header_cb(char *data, size_t size, size_t nitems, void *arg)
{
	each_line(arg, data, size * nitems, reply_line);
	return size * nitems;
}

/* --- the connection: libcurl connects, herald speaks the transaction --- */

static void setup_easy(struct slot *);

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When a wait that starts now must end (ms on the monotonic clock): the
 * reply timeout, or 2 s for the QUIT at the end, which is only polite. */
static long
deadline(const struct slot *sl, bool heed_quit)
{
	return now_ms() + (heed_quit ? sl->s->timeout_ms : 2000);
}

/*
 * Wait until the connection's socket is ready for ev (POLLIN/POLLOUT), at
 * most until `until`; in slices, so that herald_smtp_free is not kept
 * waiting.  Returns 0, or a CURLcode with errbuf filled.
 */
static CURLcode
wait_sock(struct slot *sl, short ev, long until, bool heed_quit)
{
	for (;;) {
		struct pollfd pf = { .fd = sl->fd, .events = ev };
		long left = until - now_ms();
		int n;

		if (heed_quit && atomic_load(&sl->s->quit)) {
			snprintf(sl->errbuf, sizeof(sl->errbuf), "stopped");
			return CURLE_ABORTED_BY_CALLBACK;
		}
		if (left <= 0) {
			snprintf(sl->errbuf, sizeof(sl->errbuf), "%s",
			    ev == POLLIN ? "timed out waiting for the server's "
			    "reply" : "timed out sending to the server");
			return CURLE_OPERATION_TIMEDOUT;
		}
		n = poll(&pf, 1, left < 500 ? (int)left : 500);
		if (n > 0)
			return CURLE_OK;     /* ready, or an error the next
			                        send or recv will tell */
		if (n < 0 && errno != EINTR) {
			snprintf(sl->errbuf, sizeof(sl->errbuf), "poll: %s",
			    strerror(errno));
			return CURLE_RECV_ERROR;
		}
	}
}

/* Send p[0..n) (through TLS if the connection has it); *done counts what
 * went out, also when it fails part way. */
static CURLcode
conn_send(struct slot *sl, const char *p, size_t n, size_t *done,
    bool heed_quit)
{
	long until = deadline(sl, heed_quit);
	CURLcode rc;

	*done = 0;
	while (*done < n) {
		size_t k = 0;

		rc = curl_easy_send(sl->easy, p + *done, n - *done, &k);
		*done += k;
		if (k > 0)      /* the timeout is for a server taking nothing */
			until = deadline(sl, heed_quit);
		if (rc == CURLE_AGAIN) {
			if ((rc = wait_sock(sl, POLLOUT, until, heed_quit)) !=
			    CURLE_OK)
				return rc;
		} else if (rc != CURLE_OK) {
			snprintf(sl->errbuf, sizeof(sl->errbuf),
			    "sending to the server: %s", curl_easy_strerror(rc));
			return rc;
		}
	}
	return CURLE_OK;
}

/* Trace the command lines of p[0..n) (never a message body). */
static void
trace_commands(struct slot *sl, const char *p, size_t n)
{
	const char *end = p + n, *nl;
	char line[600];

	if (sl->s->trace == NULL)
		return;
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	    p = nl + 1) {
		copy_line(line, sizeof(line), p, (size_t)(nl - p));
		trace(sl, '>', line);
	}
}

/* One command or a group of them (RFC 2920), traced. */
static CURLcode
conn_cmd(struct slot *sl, const char *p, size_t n)
{
	size_t done;

	trace_commands(sl, p, n);
	return conn_send(sl, p, n, &done, true);
}

/*
 * Read one whole reply (RFC 5321 4.2: "ddd-text" lines, the last
 * "ddd text" or "ddd").  *code is its code; sl->reply its text, the
 * lines joined.  Returns 0, or a CURLcode with errbuf filled (the
 * connection closed, timed out, or the reply is not SMTP).
 */
static CURLcode
conn_reply(struct slot *sl, long *code, bool heed_quit)
{
	struct hbuf *in = &sl->in;
	long until = deadline(sl, heed_quit);   /* for the whole reply: a
	                                           server trickling octets
	                                           does not hold it open */
	CURLcode rc;

	*code = 0;
	hbuf_reset(&sl->reply_acc);
	for (;;) {
		size_t avail = in->len - sl->inoff, k = 0;
		/* (no arithmetic on the NULL of a buffer never read into) */
		char *p = avail > 0 ? in->data + sl->inoff : NULL, *nl;

		if (avail > 0 && (nl = memchr(p, '\n', avail)) != NULL) {
			char line[1024];
			size_t n = copy_line(line, sizeof(line), p,
			    (size_t)(nl - p));
			bool last;

			sl->inoff += (size_t)(nl - p) + 1;
			trace(sl, '<', line);
			if (n < 3 || line[0] < '2' || line[0] > '5' ||
			    line[1] < '0' || line[1] > '9' ||
			    line[2] < '0' || line[2] > '9' ||
			    (n > 3 && line[3] != ' ' && line[3] != '-')) {
				snprintf(sl->errbuf, sizeof(sl->errbuf),
				    "not an SMTP reply: \"%.80s\"", line);
				return CURLE_WEIRD_SERVER_REPLY;
			}
			last = n == 3 || line[3] == ' ';
			if (sl->reply_acc.len)
				hbuf_putc(&sl->reply_acc, ' ');
			if (sl->reply_acc.len < REPLY_MAX)
				hbuf_puts(&sl->reply_acc, line);
			if (last) {
				*code = (line[0] - '0') * 100 +
				    (line[1] - '0') * 10 + (line[2] - '0');
				snprintf(sl->reply, sizeof(sl->reply), "%s",
				    hbuf_cstr(&sl->reply_acc));
				hbuf_reset(&sl->reply_acc);
				sl->last_ms = now_ms();
				return CURLE_OK;
			}
			continue;
		}
		/* Need more: keep what is unread, read behind it. */
		if (sl->inoff > 0) {
			memmove(in->data, in->data + sl->inoff, avail);
			in->len = avail;
			sl->inoff = 0;
		}
		if (in->len > 65536) {
			snprintf(sl->errbuf, sizeof(sl->errbuf),
			    "a reply line longer than 64 KiB");
			return CURLE_WEIRD_SERVER_REPLY;
		}
		hbuf_grow(in, 4096);
		rc = curl_easy_recv(sl->easy, in->data + in->len, 4096, &k);
		if (rc == CURLE_AGAIN) {
			if ((rc = wait_sock(sl, POLLIN, until, heed_quit)) !=
			    CURLE_OK)
				return rc;
			continue;
		}
		if (rc != CURLE_OK) {
			snprintf(sl->errbuf, sizeof(sl->errbuf),
			    "reading from the server: %s",
			    curl_easy_strerror(rc));
			return rc;
		}
		if (k == 0) {
			snprintf(sl->errbuf, sizeof(sl->errbuf),
			    "the server closed the connection");
			return CURLE_GOT_NOTHING;
		}
		in->len += k;
	}
}

/*
 * Let the connection go.  polite: say QUIT and wait (briefly) for the
 * 221.  Then the socket is shut down before libcurl closes it, so that
 * libcurl's own QUIT cannot wait on a server that stopped answering.
 */
static void
conn_drop(struct slot *sl, bool polite)
{
	if (sl->easy == NULL)
		return;
	if (sl->up && polite) {
		size_t done;
		long code;

		trace(sl, '>', "QUIT");
		if (conn_send(sl, "QUIT\r\n", 6, &done, false) == CURLE_OK)
			(void)conn_reply(sl, &code, false);
	}
	if (sl->fd != CURL_SOCKET_BAD)
		shutdown(sl->fd, SHUT_RDWR);
	curl_multi_remove_handle(sl->multi, sl->easy);
	curl_easy_cleanup(sl->easy);
	sl->easy = NULL;
	sl->fd = CURL_SOCKET_BAD;
	sl->up = false;
	sl->grouped = NULL;
	hbuf_reset(&sl->in);
	sl->inoff = 0;
}

/*
 * Connect: libcurl does the TCP connection, the greeting, EHLO, STARTTLS
 * (with the certificate checked) and AUTH, and stops there
 * (CURLOPT_CONNECT_ONLY); the EHLO reply reaches reply_line, which notes
 * PIPELINING and SIZE.
 */
static CURLcode
conn_open(struct slot *sl)
{
	CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
	CURLMsg *m;
	curl_socket_t fd = CURL_SOCKET_BAD;
	int running = 1, left;

	if ((sl->easy = curl_easy_init()) == NULL) {
		snprintf(sl->errbuf, sizeof(sl->errbuf), "out of memory");
		return CURLE_OUT_OF_MEMORY;
	}
	setup_easy(sl);
	sl->pipelining = sl->size_ok = false;
	sl->connecting = true;
	if (curl_multi_add_handle(sl->multi, sl->easy) != CURLM_OK) {
		sl->connecting = false;
		return CURLE_FAILED_INIT;
	}
	while (running && !atomic_load(&sl->s->quit)) {
		curl_multi_perform(sl->multi, &running);
		if (running)
			curl_multi_poll(sl->multi, NULL, 0, 500, NULL);
	}
	while ((m = curl_multi_info_read(sl->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE)
			rc = m->data.result;
	sl->connecting = false;
	if (rc == CURLE_OK && (curl_easy_getinfo(sl->easy,
	    CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)) {
		snprintf(sl->errbuf, sizeof(sl->errbuf),
		    "libcurl kept no connection");
		rc = CURLE_COULDNT_CONNECT;
	}
	sl->fd = fd;
	sl->up = rc == CURLE_OK;
	/* From here the dialogue is traced by run_job; libcurl's notes on
	 * every curl_easy_recv that finds nothing ("reached easy.c:...")
	 * would only be noise. */
	if (sl->up && sl->s->trace != NULL)
		curl_easy_setopt(sl->easy, CURLOPT_VERBOSE, 0L);
	return rc;
}

/*
 * Is a connection that has been idle still usable?  A relay closes idle
 * connections (Postfix after smtpd_timeout, 300 s; others sooner), often
 * with a 421 first (RFC 5321 3.8); libcurl checked this before reusing a
 * connection, and so must we, or the next message would be deferred for
 * nothing.  Anything the server said unasked, or its close, means no.
 */
static bool
conn_alive(struct slot *sl)
{
	char buf[512], line[128];
	const char *said = buf;
	size_t k = 0, m = 0;
	CURLcode rc = CURLE_OK;

	if (sl->inoff < sl->in.len) {      /* unread: said unasked */
		said = sl->in.data + sl->inoff;
		k = sl->in.len - sl->inoff;
	} else
		rc = curl_easy_recv(sl->easy, buf, sizeof(buf), &k);
	if (rc == CURLE_AGAIN)
		return true;
	if (rc == CURLE_OK && k > 0) {
		while (m < k && m < 80 && said[m] != '\r' && said[m] != '\n')
			m++;
		snprintf(line, sizeof(line), "[the idle connection got "
		    "\"%.*s\"; starting a new one]", (int)m, said);
		trace(sl, '*', line);
	}
	return false;
}

/* "MAIL FROM:<from>[ SIZE=n]\r\n" */
static void
put_mail(struct slot *sl, struct hbuf *b, const struct sjob *jb)
{
	hbuf_puts(b, "MAIL FROM:");
	hbuf_puts(b, sl->s->from);
	if (sl->size_ok) {
		char n[32];

		snprintf(n, sizeof(n), " SIZE=%zu", jb->data.len);
		hbuf_puts(b, n);
	}
	hbuf_puts(b, "\r\n");
}

/* "RCPT TO:<rcpt>\r\n" */
static void
put_rcpt(struct hbuf *b, const struct sjob *jb)
{
	hbuf_puts(b, "RCPT TO:<");
	hbuf_puts(b, jb->rcpt_addr);
	hbuf_puts(b, ">\r\n");
}

/* The three commands as one group (RFC 2920: DATA ends it). */
static void
put_group(struct slot *sl, struct hbuf *b, const struct sjob *jb)
{
	put_mail(sl, b, jb);
	put_rcpt(b, jb);
	hbuf_puts(b, "DATA\r\n");
}

/* One command, alone, and its reply (no PIPELINING). */
static CURLcode
lockstep(struct slot *sl, const struct hbuf *cmd, long *code)
{
	CURLcode rc = conn_cmd(sl, cmd->data, cmd->len);

	return rc != CURLE_OK ? rc : conn_reply(sl, code, true);
}

/* Does the message need dot-stuffing (a line that starts with ".")?
 * Asked of every message, so 16 octets at a time where SSE2 is there
 * (glibc's memmem for "\n." was 6% of a send). */
static bool
needs_stuffing(const char *p, size_t n)
{
	size_t i = 0;

	if (n > 0 && p[0] == '.')
		return true;
#ifdef __SSE2__
	{
		const __m128i nl = _mm_set1_epi8('\n'), dot = _mm_set1_epi8('.');

		for (; i + 17 <= n; i += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(p + i));
			__m128i b = _mm_loadu_si128((const __m128i *)(p + i +
			    1));

			if (_mm_movemask_epi8(_mm_and_si128(
			    _mm_cmpeq_epi8(a, nl), _mm_cmpeq_epi8(b, dot))))
				return true;
		}
	}
#endif
	for (; i + 1 < n; i++)
		if (p[i] == '\n' && p[i + 1] == '.')
			return true;
	return false;
}

/* RFC 5321 4.5.2: every line that starts with "." gets one more. */
static void
put_stuffed(struct hbuf *b, const char *p, size_t n)
{
	const char *end = p + n, *nl;

	while (p < end) {
		if (*p == '.')
			hbuf_putc(b, '.');
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl + 1 : end;
		hbuf_put(b, p, (size_t)(nl - p));
		p = nl;
	}
}

/* The slot's next queued transaction, if its group may go out now. */
static struct sjob *
peek_next(struct slot *sl)
{
	struct sjob *next = NULL;

	if (!sl->pipelining)
		return NULL;
	pthread_mutex_lock(&sl->mu);
	if (sl->qn > 0)
		next = sl->q[sl->qhead];
	pthread_mutex_unlock(&sl->mu);
	return next;
}

/*
 * Run one transaction on sl's connection, opening it first if need be.
 * With PIPELINING (RFC 2920) MAIL, RCPT and DATA go out as one group and
 * the next transaction's group rides behind this one's final dot; without
 * it, each command waits for the reply to the one before.  The body is
 * sent after the 354 only, dot-stuffed here, then ".".  A plain refusal
 * keeps the connection (RSET first if a transaction may be open); any
 * other failure ends it (a transaction queued behind it is run again on
 * the next, never reported for it).  Fills jb's rc, code, eof and reply.
 */
static void
run_job(struct slot *sl, struct sjob *jb)
{
	struct hbuf *out = &sl->out;
	long mail = 0, rcpt = 0, data = 0, fin = 0;
	char why[REPLY_MAX + 1] = "";
	struct sjob *next;
	size_t blen, sent = 0;
	CURLcode rc = CURLE_OK;
	bool grouped;
	/* After a refusal, may the connection go on?  Only when every reply
	 * to what was sent has been read (the dialogue is in step) and the
	 * refusal was a plain 4xx/5xx, not 421; then with RSET first when a
	 * transaction may be open (RFC 5321 4.1.1.5). */
	bool in_step = false, need_rset = false;

	sl->reply[0] = '\0';
	sl->errbuf[0] = '\0';
	jb->eof = false;
	jb->code = 0;
	if (sl->up && sl->grouped != jb && now_ms() - sl->last_ms > 1000 &&
	    !conn_alive(sl))
		conn_drop(sl, false);
	/* down means dropped: every failure path ends in conn_drop */
	if (!sl->up) {
		if ((rc = conn_open(sl)) != CURLE_OK) {
			curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE,
			    &jb->code);
			goto fail;
		}
	}
	grouped = sl->grouped == jb;
	sl->grouped = NULL;
	if (sl->pipelining) {
		if (!grouped) {
			hbuf_reset(out);
			put_group(sl, out, jb);
			if ((rc = conn_cmd(sl, out->data, out->len)) != CURLE_OK)
				goto fail;
		}
		/* All three were sent: read all three replies. */
		if ((rc = conn_reply(sl, &mail, true)) == CURLE_OK) {
			if (mail / 100 != 2)
				snprintf(why, sizeof(why), "%s", sl->reply);
			if ((rc = conn_reply(sl, &rcpt, true)) == CURLE_OK) {
				if (rcpt / 100 != 2 && why[0] == '\0')
					snprintf(why, sizeof(why), "%s",
					    sl->reply);
				rc = conn_reply(sl, &data, true);
			}
		}
	} else {
		hbuf_reset(out);
		put_mail(sl, out, jb);
		if ((rc = lockstep(sl, out, &mail)) == CURLE_OK &&
		    mail / 100 == 2) {
			hbuf_reset(out);
			put_rcpt(out, jb);
			if ((rc = lockstep(sl, out, &rcpt)) == CURLE_OK &&
			    rcpt / 100 == 2) {
				hbuf_reset(out);
				hbuf_puts(out, "DATA\r\n");
				rc = lockstep(sl, out, &data);
			}
		}
		if (rc == CURLE_OK && (mail / 100 != 2 || rcpt / 100 != 2))
			snprintf(why, sizeof(why), "%s", sl->reply);
	}
	/* The first refusal is the transaction's: MAIL's, else RCPT's. */
	if (mail != 0 && mail / 100 != 2) {
		jb->code = mail;
	} else if (rcpt != 0 && rcpt / 100 != 2) {
		jb->code = rcpt;
	} else if (rc != CURLE_OK) {
		jb->code = data ? data : rcpt ? rcpt : mail;
		goto fail;
	} else if (data != 354) {
		jb->code = data;
		snprintf(why, sizeof(why), "%s", sl->reply);
		if (data / 100 == 2 || data / 100 == 3) {
			snprintf(sl->errbuf, sizeof(sl->errbuf),
			    "unexpected reply to DATA: %.200s", sl->reply);
			why[0] = '\0';
		}
	}
	if (jb->code != 0) {
		/* Refused.  All replies read (rc is still 0) and none of
		 * them odd: the connection can go on after RSET. */
		in_step = rc == CURLE_OK && why[0] != '\0';
		need_rset = true;
		/* A server that said 354 all the same gets an empty message
		 * ended at once, which it must refuse. */
		if (data == 354) {
			size_t done;

			trace(sl, '>', ".");
			if (conn_send(sl, ".\r\n", 3, &done, true) != CURLE_OK ||
			    conn_reply(sl, &fin, true) != CURLE_OK)
				in_step = false;
		}
		if (why[0])
			snprintf(sl->reply, sizeof(sl->reply), "%s", why);
		rc = CURLE_WEIRD_SERVER_REPLY;
		goto fail;
	}

	/* 354: the body, ".", and the next group if there is one. */
	blen = jb->data.len;
	next = peek_next(sl);
	if (needs_stuffing(jb->data.data, jb->data.len)) {
		hbuf_reset(out);
		put_stuffed(out, jb->data.data, jb->data.len);
		hbuf_free(&jb->data);
		jb->data = *out;
		memset(out, 0, sizeof(*out));
		blen = jb->data.len;
	}
	hbuf_put(&jb->data, ".\r\n", 3);
	if (next != NULL)
		put_group(sl, &jb->data, next);
	rc = conn_send(sl, jb->data.data, jb->data.len, &sent, true);
	/* The message is complete at the server once ".\r\n" is out. */
	jb->eof = sent >= blen + 3;
	trace(sl, '>', ".");
	if (next != NULL)
		trace_commands(sl, jb->data.data + blen + 3,
		    jb->data.len - blen - 3);
	if (rc != CURLE_OK) {
		jb->code = data;
		goto fail;
	}
	if (next != NULL)
		sl->grouped = next;
	if ((rc = conn_reply(sl, &fin, true)) != CURLE_OK) {
		jb->code = data;
		goto fail;
	}
	jb->code = fin;
	if (fin / 100 != 2) {
		/* The message refused: its transaction is over, and the next
		 * group, if one went behind the dot, starts a new one. */
		in_step = fin / 100 == 4 || fin / 100 == 5;
		rc = CURLE_WEIRD_SERVER_REPLY;
		goto fail;
	}
	jb->rc = CURLE_OK;
	snprintf(jb->reply, sizeof(jb->reply), "%s", sl->reply);
	return;
fail:
	jb->rc = rc;
	snprintf(jb->reply, sizeof(jb->reply), "%s", sl->reply);
	snprintf(jb->errbuf, sizeof(jb->errbuf), "%s", sl->errbuf);
	/* A refused recipient or message costs no new connection (a list
	 * with bad addresses would reconnect for each); a 421 says the
	 * server is closing, so it does. */
	if (in_step && jb->code != 421) {
		long c = 0;

		if (!need_rset || (conn_cmd(sl, "RSET\r\n", 6) == CURLE_OK &&
		    conn_reply(sl, &c, true) == CURLE_OK && c / 100 == 2))
			return;
	}
	/* A server that answered gets its QUIT; one that did not, not; nor
	 * one with the next group pipelined behind this failure: its DATA
	 * may be answered 354, which would make the QUIT message text (RFC
	 * 2920 3.1), and that message must never be ended, so the
	 * connection is closed in the middle of it. */
	conn_drop(sl, rc == CURLE_WEIRD_SERVER_REPLY && jb->code != 0 &&
	    sl->grouped == NULL);
}

/*
 * The slot's thread: run the posted transactions one after the other on
 * the slot's connection, each as soon as the one before has its reply, so
 * a connection never waits for the caller between messages.
 */
static void *
slot_main(void *arg)
{
	struct slot *sl = arg;
	struct herald_smtp *s = sl->s;
	struct sjob *jb;

	pthread_mutex_lock(&sl->mu);
	for (;;) {
		while (sl->qn == 0 && !atomic_load(&s->quit))
			pthread_cond_wait(&sl->cv, &sl->mu);
		if (atomic_load(&s->quit))
			break;
		jb = sl->q[sl->qhead];
		sl->qhead = (sl->qhead + 1) % HERALD_SMTP_DEPTH;
		sl->qn--;
		pthread_mutex_unlock(&sl->mu);

		sl->cur = jb;
		run_job(sl, jb);
		/* jb->data is freed by the caller's thread, whose heap it
		 * came from (freeing it here made the threads queue on
		 * malloc's arena lock) */
		sl->cur = NULL;

		pthread_mutex_lock(&sl->mu);
		if (sl->ndone == sl->donecap) {
			sl->donecap = sl->donecap ? 2 * sl->donecap : 8;
			sl->done = xrealloc(sl->done, sl->donecap *
			    sizeof(*sl->done));
		}
		sl->done[sl->ndone++] = jb;
		atomic_fetch_add(&sl->nposted, 1);
		atomic_fetch_sub(&sl->nbusy, 1);
		atomic_store(&sl->proven, jb->rc == CURLE_OK);
		if (jb->rc == CURLE_OK)
			atomic_store(&s->ever_ok, true);
		/* counted before the caller's flag is read; the caller sets
		 * the flag before it reads the count (both sequentially
		 * consistent), so one of the two sees the other */
		atomic_fetch_add(&s->ndone, 1);
		if (atomic_load(&s->waiting)) {
			pthread_mutex_lock(&s->rmu);
			pthread_cond_signal(&s->result_cv);
			pthread_mutex_unlock(&s->rmu);
		}
	}
	pthread_mutex_unlock(&sl->mu);
	/* The run is over: QUIT on a connection in good order. */
	conn_drop(sl, sl->up && sl->grouped == NULL);
	return NULL;
}

static void
sjob_free(struct sjob *jb)
{
	if (jb == NULL)
		return;
	hbuf_free(&jb->data);
	free(jb->rcpt_addr);
	free(jb);
}

/* --- setup --- */

/* Options for one connection; CONNECT_ONLY: libcurl stops after
 * EHLO/STARTTLS/AUTH and the transaction is ours (run_job). */
static void
setup_easy(struct slot *sl)
{
	struct herald_smtp *s = sl->s;
	CURL *h = sl->easy;

	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_USE_SSL, s->ssl);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file) {
		/* The configured CA is the trust anchor, not one more
		 * beside the system's. */
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	if (s->user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
		    s->password ? s->password : "");
	}
	curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT,
	    s->timeout_ms / 1000);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, s->timeout_ms / 1000);
	/* Threads: no signals (SIGALRM for DNS timeouts) from libcurl. */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, sl->errbuf);
	/* The server's replies come through the header callback.  VERBOSE
	 * (the debug callback) only when tracing: it makes libcurl format
	 * every one of its notes. */
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, sl);
	if (s->trace != NULL) {
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
		curl_easy_setopt(h, CURLOPT_DEBUGDATA, sl);
	}
}

int
herald_smtp_new(const struct herald_smtp_opts *o, struct herald_smtp **out,
    struct herald_err *e)
{
	struct herald_smtp *s;
	struct url_parts u;
	pthread_condattr_t ca;
	sigset_t all, old;
	bool smtps, lo;
	long timeout = o->timeout > 0 ? o->timeout : 60;
	long ssl;
	int n = o->concurrency > 0 ? o->concurrency : 4;
	int rc = 0;

	*out = NULL;
	if (o->url == NULL || o->url[0] == '\0')
		return herald_errf(e, EX_CONFIG, NULL, 0,
		    "smtp.url is not set (herald.yml or HERALD_SMTP_URL)");
	if (has_crlf_nul(o->url, strlen(o->url)) || !parse_url(o->url, &u)) {
		free_url(&u);
		return herald_errf(e, EX_CONFIG, NULL, 0,
		    "smtp.url: not a URL");
	}
	if (strcmp(u.scheme, "smtp") != 0 && strcmp(u.scheme, "smtps") != 0)
		rc = herald_errf(e, EX_CONFIG, NULL, 0, "smtp.url: scheme "
		    "must be smtp:// or smtps://, not %s://", u.scheme);
	else if (u.user || u.password)
		rc = herald_errf(e, EX_CONFIG, NULL, 0, "smtp.url: no "
		    "credentials in the URL; use smtp.user and "
		    "HERALD_SMTP_PASSWORD or smtp.password_file");
	smtps = strcmp(u.scheme, "smtps") == 0;
	lo = u.host && host_loopback(u.host);
	free_url(&u);
	if (rc)
		return rc;
	if (!herald_addr_valid(o->from))
		return herald_errf(e, EX_CONFIG, NULL, 0,
		    "invalid envelope sender \"%s\"", o->from ? o->from : "");
	/* TLS unless the relay is on this machine and no TLS was asked for. */
	ssl = lo && !o->tls_required && !o->ca_file && !smtps ?
	    CURLUSESSL_NONE : CURLUSESSL_ALL;

	s = xcalloc(1, sizeof(*s));
	s->ssl = ssl;
	s->timeout_ms = timeout * 1000;
	if (o->user && o->user[0]) {
		s->user = xstrdup(o->user);
		s->password = xstrdup(o->password ? o->password : "");
	}
	if (o->ca_file)
		s->ca_file = xstrdup(o->ca_file);
	s->trace = o->trace;
	s->trace_arg = o->trace_arg;
	s->from = xasprintf("<%s>", o->from);
	/* libcurl says EHLO with the URL's path (RFC 5321 4.1.1.1) */
	if (o->helo != NULL && o->helo[0] != '\0') {
		const char *sep = strstr(o->url, "://"), *path;

		path = sep ? strchr(sep + 3, '/') : NULL;
		s->url = xasprintf("%.*s/%s", (int)(path ? (size_t)(path -
		    o->url) : strlen(o->url)), o->url, o->helo);
	} else
		s->url = xstrdup(o->url);
	s->nslots = (size_t)n;
	s->slots = xcalloc(s->nslots, sizeof(*s->slots));
	pthread_mutex_init(&s->rmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->result_cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&s->quit, false);
	atomic_init(&s->ever_ok, false);
	atomic_init(&s->ndone, 0);
	atomic_init(&s->waiting, false);
	for (size_t i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];

		sl->s = s;
		sl->id = (int)i + 1;
		atomic_init(&sl->nbusy, 0);
		atomic_init(&sl->nposted, 0);
		atomic_init(&sl->proven, false);
		pthread_mutex_init(&sl->mu, NULL);
		pthread_cond_init(&sl->cv, NULL);
		sl->fd = CURL_SOCKET_BAD;
		if ((sl->multi = curl_multi_init()) == NULL)
			goto oom;
		curl_multi_setopt(sl->multi, CURLMOPT_MAXCONNECTS, 1L);
	}
	/* Signals (Ctrl-C) go to the caller's thread, not to the slots. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (size_t i = 0; i < s->nslots; i++) {
		if (pthread_create(&s->slots[i].thread, NULL, slot_main,
		    &s->slots[i]) != 0)
			break;
		s->slots[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!s->slots[s->nslots - 1].started) {
		herald_smtp_free(s);
		return herald_errf(e, EX_OSERR, NULL, 0,
		    "cannot start a thread per connection");
	}
	*out = s;
	return 0;
oom:
	herald_smtp_free(s);
	return herald_errf(e, EX_OSERR, NULL, 0, "libcurl: out of memory");
}

void
herald_smtp_free(struct herald_smtp *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->quit, true);
	for (size_t i = 0; i < s->nslots; i++) {
		pthread_mutex_lock(&s->slots[i].mu);
		pthread_cond_signal(&s->slots[i].cv);
		pthread_mutex_unlock(&s->slots[i].mu);
		if (s->slots[i].multi)
			curl_multi_wakeup(s->slots[i].multi);
	}
	for (size_t i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];

		if (sl->started)
			pthread_join(sl->thread, NULL);
		conn_drop(sl, false);   /* the thread said QUIT if it could */
		if (sl->multi)
			curl_multi_cleanup(sl->multi);
		pthread_cond_destroy(&sl->cv);
		pthread_mutex_destroy(&sl->mu);
		/* never started or never reported */
		for (size_t k = 0; k < sl->qn; k++)
			sjob_free(sl->q[(sl->qhead + k) % HERALD_SMTP_DEPTH]);
		for (size_t k = 0; k < sl->ndone; k++)
			sjob_free(sl->done[k]);
		free(sl->done);
		hbuf_free(&sl->reply_acc);
		hbuf_free(&sl->trace);
		hbuf_free(&sl->in);
		hbuf_free(&sl->out);
	}
	pthread_cond_destroy(&s->result_cv);
	pthread_mutex_destroy(&s->rmu);
	free(s->slots);
	free(s->from);
	free(s->url);
	free(s->user);
	if (s->password) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->ca_file);
	free(s);
}

static size_t
busy(const struct slot *sl)
{
	return atomic_load_explicit(&sl->nbusy, memory_order_relaxed);
}

/*
 * How many transactions a slot takes: HERALD_SMTP_DEPTH once
 * its connection has delivered a message; one while it has not; and until
 * any connection has delivered one, one transaction at a time in all, so
 * messages meet a relay that cannot be reached or refuses them in list
 * order, one attempt at a time.
 */
static size_t
slot_cap(const struct herald_smtp *s, const struct slot *sl)
{
	if (atomic_load_explicit(&sl->proven, memory_order_relaxed))
		return HERALD_SMTP_DEPTH;
	if (!atomic_load_explicit(&s->ever_ok, memory_order_relaxed)) {
		for (size_t i = 0; i < s->nslots; i++)
			if (busy(&s->slots[i]) > 0)
				return 0;
	}
	return 1;
}

/* The lock-free reads (see nbusy): the caller's thread polls these every
 * round and every message; taking s->mu for them made the nine threads
 * queue on it. */
size_t
herald_smtp_idle(const struct herald_smtp *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nslots; i++)
		n += busy(&s->slots[i]) == 0 && slot_cap(s, &s->slots[i]) > 0;
	return n;
}

size_t
herald_smtp_room(const struct herald_smtp *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nslots; i++) {
		size_t b = busy(&s->slots[i]), cap = slot_cap(s, &s->slots[i]);

		if (b < cap)
			n += cap - b;
	}
	if (!atomic_load_explicit(&s->ever_ok, memory_order_relaxed) && n > 1)
		n = 1;
	return n;
}

size_t
herald_smtp_active(const struct herald_smtp *s)
{
	return s->active;
}

/* Is data CRLF throughout (no bare CR or LF), ending in CRLF, no NUL? */
static bool
is_crlf(const char *data, size_t len)
{
	const char *p = data, *end = data + len, *nl;

	if (len < 2 || data[len - 2] != '\r' || data[len - 1] != '\n' ||
	    memchr(data, '\0', len) != NULL)
		return false;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl == data || nl[-1] != '\r' ||
		    memchr(p, '\r', (size_t)(nl - 1 - p)) != NULL)
			return false;
		p = nl + 1;
	}
	return p == end;
}

int
herald_smtp_submit_buf(struct herald_smtp *s, const char *rcpt,
    struct hbuf *msg, void *cookie, struct herald_err *e)
{
	struct slot *sl = NULL;
	struct sjob *jb;

	if (!herald_addr_valid(rcpt))
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "invalid envelope recipient \"%s\"", rcpt ? rcpt : "");
	jb = xcalloc(1, sizeof(*jb));
	if (is_crlf(msg->data, msg->len)) {
		/* Built CRLF already: take the buffer as it is. */
		jb->data = *msg;
		memset(msg, 0, sizeof(*msg));
	} else if (!herald_smtp_normalize(msg->data, msg->len, &jb->data)) {
		sjob_free(jb);
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "message to %s contains a NUL byte", rcpt);
	}
	jb->rcpt_addr = xstrdup(rcpt);
	jb->cookie = cookie;
	/* The least loaded connection (an idle one first).  Only this
	 * thread adds to nbusy, so what it reads here can only have shrunk
	 * by the time it posts. */
	for (size_t i = 0; i < s->nslots; i++)
		if (busy(&s->slots[i]) < slot_cap(s, &s->slots[i]) &&
		    (sl == NULL || busy(&s->slots[i]) < busy(sl)))
			sl = &s->slots[i];
	if (sl == NULL) {
		if (msg->data == NULL)
			*msg = jb->data;    /* give it back */
		else
			hbuf_free(&jb->data);
		memset(&jb->data, 0, sizeof(jb->data));
		sjob_free(jb);
		return herald_errf(e, EX_SOFTWARE, NULL, 0,
		    "smtp: no free connection slot");
	}
	pthread_mutex_lock(&sl->mu);
	sl->q[(sl->qhead + sl->qn) % HERALD_SMTP_DEPTH] = jb;
	sl->qn++;
	atomic_fetch_add(&sl->nbusy, 1);
	s->active++;
	pthread_cond_signal(&sl->cv);
	pthread_mutex_unlock(&sl->mu);
	hbuf_free(msg);    /* normalised into a copy: the original is done */
	return 0;
}

int
herald_smtp_submit(struct herald_smtp *s, const char *rcpt,
    const char *data, size_t len, void *cookie, struct herald_err *e)
{
	struct hbuf b = HBUF_INIT;
	int rc;

	if (!herald_smtp_normalize(data, len, &b)) {
		hbuf_free(&b);
		return herald_errf(e, EX_DATAERR, NULL, 0,
		    "message to %s contains a NUL byte", rcpt ? rcpt : "");
	}
	rc = herald_smtp_submit_buf(s, rcpt, &b, cookie, e);
	hbuf_free(&b);
	return rc;
}

/* --- results --- */

static bool
fatal_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_USE_SSL_FAILED:          /* no STARTTLS */
	case CURLE_LOGIN_DENIED:
	case CURLE_AUTH_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return true;
	default:
		return false;
	}
}

/* Classify a finished transaction. */
static void
finish(struct herald_smtp *s, struct sjob *sl, herald_smtp_done_fn fn,
    void *arg)
{
	struct herald_smtp_result r = {0};
	char why[REPLY_MAX + CURL_ERROR_SIZE + 64];
	CURLcode rc = sl->rc;
	const char *err = sl->errbuf[0] ? sl->errbuf : curl_easy_strerror(rc);
	long code = sl->code;

	s->active--;

	r.cookie = sl->cookie;
	r.rcpt = sl->rcpt_addr;
	r.code = (int)code;
	r.reply = sl->reply[0] ? sl->reply : err;
	if (rc == CURLE_OK) {
		r.status = HERALD_SMTP_SENT;
	} else if (sl->eof && !(code >= 400 && code < 600)) {
		/* The whole message went out and no reply to the final dot
		 * came (the last code seen is DATA's 354 or older): it may
		 * have been delivered, whatever went wrong afterwards. */
		r.status = HERALD_SMTP_UNKNOWN;
		r.code = 0;
		snprintf(why, sizeof(why), "no reply after the final dot: %s",
		    err);
		r.reply = why;
	} else if (fatal_code(rc)) {
		/* Nothing was sent: libcurl stops before MAIL FROM. */
		r.status = HERALD_SMTP_DEFERRED;
		r.fatal = true;
		r.reply = err;
		if (rc == CURLE_USE_SSL_FAILED)
			r.reply = "the relay did not offer or refused STARTTLS; "
			    "TLS is required, so nothing was sent";
		else if ((rc == CURLE_LOGIN_DENIED || rc == CURLE_AUTH_ERROR) &&
		    sl->reply[0]) {
			snprintf(why, sizeof(why), "%s (server said: %s)", err,
			    sl->reply);
			r.reply = why;
		}
	} else if (code >= 500 && code < 600) {
		r.status = HERALD_SMTP_FAILED;
	} else if (code >= 400 && code < 500) {
		r.status = HERALD_SMTP_DEFERRED;
		r.slow_down = code == 421;
	} else {
		r.status = HERALD_SMTP_DEFERRED;
		r.reply = err;
		r.unreachable = rc == CURLE_COULDNT_CONNECT;
	}
	fn(arg, &r);
}

/* Hand queued trace lines to the trace callback (caller's thread). */
static void
flush_traces(struct herald_smtp *s)
{
	struct hbuf b = HBUF_INIT;

	if (s->trace == NULL)
		return;
	for (size_t i = 0; i < s->nslots; i++) {
		struct slot *sl = &s->slots[i];
		char *p, *nl;

		pthread_mutex_lock(&sl->mu);
		if (sl->trace.len == 0) {
			pthread_mutex_unlock(&sl->mu);
			continue;
		}
		hbuf_free(&b);
		b = sl->trace;
		memset(&sl->trace, 0, sizeof(sl->trace));
		pthread_mutex_unlock(&sl->mu);
		for (p = b.data; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			*nl = '\0';
			s->trace(s->trace_arg, sl->id, p[0], p + 1);
		}
	}
	hbuf_free(&b);
}

int
herald_smtp_run(struct herald_smtp *s, int wait_ms, herald_smtp_done_fn fn,
    void *arg)
{
	struct timespec until;
	struct sjob **ready = NULL;
	size_t nready = 0, cap = 0;
	int done = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	if (wait_ms > 0) {
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	for (;;) {
		size_t seen = atomic_load(&s->ndone);
		bool late;

		for (size_t i = 0; i < s->nslots; i++) {
			struct slot *sl = &s->slots[i];

			/* nothing new from this slot: leave its lock alone */
			if (atomic_load(&sl->nposted) == sl->ntaken)
				continue;
			pthread_mutex_lock(&sl->mu);
			sl->ntaken += sl->ndone;
			if (sl->ndone > 0) {
				if (nready + sl->ndone > cap) {
					cap = nready + sl->ndone + 16;
					ready = xrealloc(ready, cap *
					    sizeof(*ready));
				}
				memcpy(ready + nready, sl->done, sl->ndone *
				    sizeof(*ready));
				nready += sl->ndone;
				sl->ndone = 0;
			}
			pthread_mutex_unlock(&sl->mu);
		}
		if (nready > 0 || wait_ms <= 0)
			break;
		/* Sleep until a slot posts a result after `seen` (or the
		 * time is up). */
		pthread_mutex_lock(&s->rmu);
		atomic_store(&s->waiting, true);
		late = false;
		while (atomic_load(&s->ndone) == seen && !late)
			late = pthread_cond_timedwait(&s->result_cv, &s->rmu,
			    &until) != 0;
		atomic_store(&s->waiting, false);
		pthread_mutex_unlock(&s->rmu);
		if (late && atomic_load(&s->ndone) == seen)
			break;   /* timed out (or an error): report what there is */
	}
	flush_traces(s);
	for (size_t k = 0; k < nready; k++) {
		finish(s, ready[k], fn, arg);
		sjob_free(ready[k]);
		done++;
	}
	free(ready);
	return done;
}
