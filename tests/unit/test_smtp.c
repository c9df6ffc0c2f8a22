/*
 * test_smtp.c - the SMTP module: line-ending normalisation, envelope
 * checks, the TLS policy, and real transactions against a scripted server
 * (tests/unit/fake_smtp.py on 127.0.0.1) for every outcome: sent, 5xx
 * failed, 4xx deferred, 421 slow down, dropped after the final dot
 * (unknown), a server that never answers (timeout), no STARTTLS (nothing
 * sent, no AUTH).  Every server case runs twice: without and with
 * PIPELINING (RFC 2920) advertised; the server logs a VIOLATION for any
 * command sent too early for the mode, and none may appear.  Then the
 * errors of a pipelined group (MAIL 451 -> 503s, RCPT 550 -> DATA 554, a
 * broken server's 354 after no recipient), dot-stuffing (RFC 5321 4.5.2:
 * the server un-stuffs and must get the bytes submitted), a failure on a
 * final dot with the next transaction already sent behind it, multi-line
 * replies, and all that again against a server that writes a group's
 * replies at once (as Postfix does) and one that cuts its replies in two.
 * Skipped (77) without /usr/bin/python3.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "addr.h"
#include "smtp.h"

static void
test_normalize(void)
{
	struct hbuf b = HBUF_INIT;

	OK(herald_smtp_normalize("a\nb\rc\r\nd", 8, &b), "ok");
	STR_EQ(hbuf_cstr(&b), "a\r\nb\r\nc\r\nd\r\n", "bare LF and CR");
	hbuf_reset(&b);
	OK(herald_smtp_normalize("x\r\n\r\n", 5, &b), "ok");
	STR_EQ(hbuf_cstr(&b), "x\r\n\r\n", "already CRLF is untouched");
	hbuf_reset(&b);
	OK(herald_smtp_normalize("\r\r\n\n", 4, &b), "ok");
	STR_EQ(hbuf_cstr(&b), "\r\n\r\n\r\n", "CR CRLF LF");
	hbuf_reset(&b);
	OK(!herald_smtp_normalize("a\0b", 3, &b), "NUL refused");
	hbuf_free(&b);
}

static void
test_addr(void)
{
	OK(herald_addr_valid("ann@example.org"), "plain");
	OK(!herald_addr_valid("ann@example.org\r\nRCPT TO:<x@y>"), "CRLF");
	OK(!herald_addr_valid("ann@example.org\n"), "LF");
	OK(!herald_addr_valid("ann@example.org>"), "bracket");
	OK(!herald_addr_valid("a nn@example.org"), "space");
	OK(!herald_addr_valid("annexample.org"), "no @");
	OK(!herald_addr_valid("a@b@c"), "two @");
	OK(!herald_addr_valid(""), "empty");
	OK(!herald_addr_valid(NULL), "NULL");
}

static void
test_policy(void)
{
	struct herald_smtp *s;
	struct herald_err e = {0};
	struct herald_smtp_opts o = { .from = "news@example.org" };

	OK(herald_smtp_url_loopback("smtp://127.0.0.1:2525"), "127.0.0.1");
	OK(herald_smtp_url_loopback("smtp://127.9.8.7"), "127/8");
	OK(herald_smtp_url_loopback("smtp://[::1]:25"), "::1");
	OK(herald_smtp_url_loopback("smtp://LocalHost"), "localhost");
	OK(!herald_smtp_url_loopback("smtp://mail.example.org"), "remote");
	OK(!herald_smtp_url_loopback("smtp://128.0.0.1"), "128");
	OK(!herald_smtp_url_loopback("smtp://localhost.example.org"), "lookalike");

	o.url = "http://example.org";
	INT_EQ(herald_smtp_new(&o, &s, &e), EX_CONFIG, "scheme");
	o.url = "smtp://user:secret@mail.example.org";
	INT_EQ(herald_smtp_new(&o, &s, &e), EX_CONFIG, "credentials in URL");
	OK(strstr(e.msg, "secret") == NULL, "password not echoed: %s", e.msg);
	o.url = NULL;
	INT_EQ(herald_smtp_new(&o, &s, &e), EX_CONFIG, "no URL");
	o.url = "smtp://mail.example.org";
	o.from = "a@b\r\nRSET";
	INT_EQ(herald_smtp_new(&o, &s, &e), EX_CONFIG, "bad sender");
	o.from = "news@example.org";
	INT_EQ(herald_smtp_new(&o, &s, &e), 0, "%s", e.msg);
	INT_EQ(herald_smtp_idle(s), 4, "default concurrency");
	INT_EQ(herald_smtp_submit(s, "x@y\r\nQUIT", "a", 1, NULL, &e),
	    EX_DATAERR, "CRLF in recipient");
	herald_smtp_free(s);
}

/* --- against the fake server --- */

static char dir[] = "/tmp/herald-test-smtp-XXXXXX";
static pid_t server_pid = -1;
static int port, server_fd = -1;
/* "" or "+pipe": appended to every server mode (PIPELINING advertised). */
static const char *pipemode = "";
static char *slurp(const char *name);

static bool
start_server(const char *mode)
{
	int fd[2];
	char buf[32] = "", spec[100];
	ssize_t n;

	snprintf(spec, sizeof(spec), "%s%s", mode, pipemode);
	if (pipe(fd) != 0)
		return false;
	if ((server_pid = fork()) == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execl("/usr/bin/python3", "python3", "tests/unit/fake_smtp.py",
		    spec, dir, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	/* Keep the pipe open: the server must not get EPIPE on stdout. */
	server_fd = fd[0];
	n = read(fd[0], buf, sizeof(buf) - 1);
	port = n > 0 ? atoi(buf) : 0;
	return port > 0;
}

/* Stop the server; its log must hold no VIOLATION of the wire discipline
 * (the server's check: lockstep without PIPELINING, nothing after DATA
 * before its reply, a lone dot after a 354 to no recipient). */
static void
stop_server(void)
{
	char *log;

	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		close(server_fd);
		log = slurp("log");
		OK(strstr(log, "VIOLATION") == NULL,
		    "wire discipline (server%s):\n%s", pipemode, log);
		free(log);
	}
	server_pid = -1;
}

static char *
slurp(const char *name)
{
	char path[300];
	struct hbuf b = HBUF_INIT;
	struct herald_err e;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_file(path, &b, &e) != 0)
		return xstrdup("");
	return hbuf_detach(&b);
}

static void
clear_log(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -f '%s'/log '%s'/msg-*.raw", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot clear %s\n", dir);
}

struct outcome {
	enum herald_smtp_status status[16];
	int code[16];
	char reply[16][200];
	bool slow[16], fatal[16];
	int times[16];          /* how often each was reported */
	int n;
};

static void
done_cb(void *arg, const struct herald_smtp_result *r)
{
	struct outcome *o = arg;
	int i = (int)(intptr_t)r->cookie;

	if (i < 0 || i >= 16) {
		OK(0, "cookie %d out of range", i);
		return;
	}
	o->times[i]++;
	o->status[i] = r->status;
	o->code[i] = r->code;
	o->slow[i] = r->slow_down;
	o->fatal[i] = r->fatal;
	snprintf(o->reply[i], sizeof(o->reply[i]), "%s", r->reply);
	o->n++;
}

static struct hbuf tracebuf;
static bool quiet;   /* no trace callback: replies without VERBOSE */

static void
trace_cb(void *arg, int slot, char dir_, const char *line)
{
	(void)arg;
	hbuf_printf(&tracebuf, "[%d] %c %s\n", slot, dir_, line);
}

static const char msg[] =
    "From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\n\r\n"
    ".leading dot\r\n.\r\nbare LF\nbare CR\rend";

/* Send bodies[i] (msg when bodies is NULL) to rcpts[i]; wait for all
 * results (bounded).  ahead: submit whenever there is room (so a
 * connection has its next transactions queued, which it may pipeline),
 * else only to an idle connection. */
static void
send_msgs(const char *const *rcpts, const char *const *bodies, int n,
    struct outcome *out, int concurrency, bool tls_required, long timeout,
    bool ahead)
{
	struct herald_smtp *s;
	struct herald_err e = {0};
	char url[64];
	struct herald_smtp_opts o = {
		.url = url, .from = "news@example.org", .user = "newsbot",
		.password = "hunter2-secret", .concurrency = concurrency,
		.tls_required = tls_required, .timeout = timeout,
		.trace = quiet ? NULL : trace_cb,
	};
	int next = 0;
	time_t deadline = time(NULL) + 30;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	if (herald_smtp_new(&o, &s, &e) != 0) {
		OK(0, "smtp_new: %s", e.msg);
		return;
	}
	while (out->n < n && time(NULL) < deadline) {
		while (next < n && (ahead ? herald_smtp_room(s) > 0 :
		    herald_smtp_idle(s) > 0)) {
			const char *b = bodies ? bodies[next] : msg;
			size_t len = bodies ? strlen(b) : sizeof(msg) - 1;

			INT_EQ(herald_smtp_submit(s, rcpts[next], b, len,
			    (void *)(intptr_t)next, &e), 0, "%s", e.msg);
			next++;
		}
		herald_smtp_run(s, 100, done_cb, out);
	}
	/* A little longer: a transaction reported twice would show now. */
	herald_smtp_run(s, 50, done_cb, out);
	INT_EQ(out->n, n, "every transaction finished");
	for (int i = 0; i < n; i++)
		INT_EQ(out->times[i], 1, "%s reported once", rcpts[i]);
	herald_smtp_free(s);
}

static void
send_all(const char *const *rcpts, int n, struct outcome *out,
    int concurrency, bool tls_required, long timeout)
{
	send_msgs(rcpts, NULL, n, out, concurrency, tls_required, timeout,
	    false);
}

static bool
piped(void)
{
	return pipemode[0] != '\0';
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_normal(void)
{
	static const char *const r[] = {
		"a1@example.org", "a2@example.org", "a3@example.org",
		"a4@example.org", "a5@example.org", "a6@example.org",
	};
	struct outcome o;
	char *log, *raw;

	clear_log();
	OK(start_server("normal"), "server");
	send_all(r, 6, &o, 2, false, 5);
	stop_server();
	for (int i = 0; i < 6; i++) {
		INT_EQ(o.status[i], HERALD_SMTP_SENT, "%s: %s", r[i], o.reply[i]);
		INT_EQ(o.code[i], 250, "code");
	}
	log = slurp("log");
	INT_EQ(count(log, "CONNECT"), 2, "two connections for six messages");
	INT_EQ(count(log, "MAIL FROM:<news@example.org>"), 6, "six MAILs");
	INT_EQ(count(log, "RCPT TO:"), 6, "one RCPT each");
	/* With PIPELINING, each MAIL/RCPT/DATA arrives as one write (RFC
	 * 2920); without, the server saw no group (and logs no VIOLATION). */
	INT_EQ(count(log, "GROUP MAIL RCPT DATA"), piped() ? 6 : 0,
	    "groups:\n%s", log);
	OK(strstr(log, "hunter2") == NULL, "no password in the clear");
	raw = slurp("msg-1.raw");
	/* Dot-stuffed exactly once by libcurl, bare LF/CR made CRLF. */
	STR_EQ(raw, "From: a@example.org\r\nTo: b@example.org\r\nSubject: t"
	    "\r\n\r\n..leading dot\r\n..\r\nbare LF\r\nbare CR\r\nend\r\n",
	    "wire bytes");
	OK(strstr(tracebuf.data, "hunter2") == NULL, "no password in trace");
	OK(strstr(tracebuf.data, "aHVudGVyMi1zZWNyZXQ") == NULL &&
	    strstr(tracebuf.data, "AUTH PLAIN [redacted]") != NULL,
	    "AUTH redacted:\n%s", tracebuf.data);
	free(log);
	free(raw);
}

/* ahead: the next transactions queued on the connection, so that with
 * PIPELINING each fault may have the next group behind it. */
static void
test_faults(bool ahead)
{
	static const char *const r[] = {
		"r550@example.org", "r451@example.org", "r452@example.org",
		"d451@example.org", "d554@example.org", "drop@example.org",
		"m421@example.org", "ok@example.org",
	};
	struct outcome o;
	char *log;

	clear_log();
	OK(start_server("normal"), "server");
	send_msgs(r, NULL, 8, &o, 1, false, 5, ahead);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_FAILED, "550: %s", o.reply[0]);
	INT_EQ(o.code[0], 550, "550");
	OK(strstr(o.reply[0], "5.1.1") != NULL, "reply kept: %s", o.reply[0]);
	INT_EQ(o.status[1], HERALD_SMTP_DEFERRED, "451 rcpt: %s", o.reply[1]);
	INT_EQ(o.code[1], 451, "451");
	INT_EQ(o.status[2], HERALD_SMTP_DEFERRED, "452 rcpt: %s", o.reply[2]);
	INT_EQ(o.status[3], HERALD_SMTP_DEFERRED, "451 after dot: %s",
	    o.reply[3]);
	INT_EQ(o.code[3], 451, "451 after dot");
	INT_EQ(o.status[4], HERALD_SMTP_FAILED, "554 after dot: %s", o.reply[4]);
	OK(strstr(o.reply[4], "spam") != NULL, "reply: %s", o.reply[4]);
	INT_EQ(o.status[5], HERALD_SMTP_UNKNOWN, "drop after dot: %s",
	    o.reply[5]);
	INT_EQ(o.status[6], HERALD_SMTP_DEFERRED, "421: %s", o.reply[6]);
	OK(o.slow[6], "421 slows down");
	INT_EQ(o.status[7], HERALD_SMTP_SENT, "after all that: %s", o.reply[7]);
	OK(strncmp(o.reply[7], "250 2.0.0 queued as", 19) == 0,
	    "the reply to the dot, not to QUIT: %s", o.reply[7]);
	log = slurp("log");
	OK(count(log, "DATA-END") == 4, "4 messages reached the dot:\n%s", log);
	free(log);
}

static void
test_greet421(void)
{
	static const char *const r[] = { "a@example.org" };
	struct outcome o;

	clear_log();
	OK(start_server("greet421"), "server");
	send_all(r, 1, &o, 1, false, 5);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_DEFERRED, "421 greeting: %s", o.reply[0]);
	OK(o.slow[0], "slow down");
}

static void
test_hang(void)
{
	static const char *const r[] = { "a@example.org", "hangdot@example.org" };
	struct outcome o;
	time_t t0 = time(NULL);

	clear_log();
	OK(start_server("hang"), "server");
	send_all(r, 1, &o, 1, false, 1);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_DEFERRED, "silent server: %s",
	    o.reply[0]);
	OK(time(NULL) - t0 < 10, "timed out promptly");

	OK(start_server("normal"), "server");
	send_all(r + 1, 1, &o, 1, false, 1);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_UNKNOWN, "no reply after dot: %s",
	    o.reply[0]);
}

static void
test_no_starttls(void)
{
	static const char *const r[] = { "a@example.org" };
	struct outcome o;
	char *log;

	clear_log();
	OK(start_server("nostarttls"), "server");
	send_all(r, 1, &o, 1, true, 5);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_DEFERRED, "no STARTTLS: %s", o.reply[0]);
	OK(o.fatal[0], "fatal");
	log = slurp("log");
	OK(strstr(log, "AUTH") == NULL, "no AUTH:\n%s", log);
	OK(strstr(log, "MAIL") == NULL, "no MAIL:\n%s", log);
	OK(strstr(log, "DATA") == NULL, "no DATA:\n%s", log);
	free(log);
}

/* submit_buf: a CRLF message goes out as built; anything else is made
 * CRLF; either way the caller's buffer is taken. */
static void
test_submit_buf(void)
{
	static const char crlf[] = "From: a@example.org\r\nSubject: t\r\n"
	    "\r\nbody\r\n";
	static const char lf[] = "From: a@example.org\nSubject: t\n\nbody";
	struct herald_smtp *s;
	struct herald_err e = {0};
	struct outcome o = {0};
	struct hbuf b1 = HBUF_INIT, b2 = HBUF_INIT;
	char url[64], *raw;
	struct herald_smtp_opts opt = {
		.url = url, .from = "news@example.org", .concurrency = 1,
		.timeout = 5,
	};
	time_t deadline = time(NULL) + 30;

	clear_log();
	OK(start_server("normal"), "server");
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", port);
	if (herald_smtp_new(&opt, &s, &e) != 0) {
		OK(0, "smtp_new: %s", e.msg);
		stop_server();
		return;
	}
	hbuf_put(&b1, crlf, sizeof(crlf) - 1);
	hbuf_put(&b2, lf, sizeof(lf) - 1);
	INT_EQ(herald_smtp_submit_buf(s, "c1@example.org", &b1,
	    (void *)(intptr_t)0, &e), 0, "%s", e.msg);
	OK(b1.data == NULL && b1.len == 0, "CRLF buffer taken");
	while (o.n < 1 && time(NULL) < deadline)
		herald_smtp_run(s, 100, done_cb, &o);
	INT_EQ(herald_smtp_submit_buf(s, "c2@example.org", &b2,
	    (void *)(intptr_t)1, &e), 0, "%s", e.msg);
	OK(b2.data == NULL && b2.len == 0, "LF buffer done with");
	while (o.n < 2 && time(NULL) < deadline)
		herald_smtp_run(s, 100, done_cb, &o);
	herald_smtp_free(s);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_SENT, "CRLF message: %s", o.reply[0]);
	INT_EQ(o.status[1], HERALD_SMTP_SENT, "LF message: %s", o.reply[1]);
	raw = slurp("msg-1.raw");
	STR_EQ(raw, crlf, "CRLF message on the wire as built");
	free(raw);
	raw = slurp("msg-2.raw");
	STR_EQ(raw, "From: a@example.org\r\nSubject: t\r\n\r\nbody\r\n",
	    "LF message made CRLF on the wire");
	free(raw);
	hbuf_free(&b1);
	hbuf_free(&b2);
}

/* How many times the server stored (answered 250 to) a message for
 * local part lp. */
static int
stored(const char *log, const char *lp)
{
	char needle[80];

	snprintf(needle, sizeof(needle), "STORED %s ", lp);
	return count(log, needle);
}

/*
 * The errors of a MAIL/RCPT/DATA group, as Postfix gives them: a MAIL
 * refused with 451 draws 503 for RCPT and DATA (which a pipelining client
 * reads after the 451), and the transaction is deferred with the 451, not
 * failed with a 503.  A RCPT refused with 550 draws 554 "no valid
 * recipients" for DATA: failed with the 550.  A broken server that answers
 * DATA with 354 after the only RCPT was refused gets a lone dot (the server
 * flags a body as a VIOLATION), the transaction fails with the RCPT's 550,
 * and the next message still goes out.
 */
static void
test_group_errors(void)
{
	static const char *const r1[] = {
		"g1@example.org", "g2@example.org", "g3@example.org",
	};
	static const char *const r2[] = {
		"g1@example.org", "r550@example.org", "g3@example.org",
		"q354@example.org", "g5@example.org",
	};
	struct outcome o;
	char *log;

	clear_log();
	OK(start_server("normal+mail451=2"), "server");
	send_msgs(r1, NULL, 3, &o, 1, false, 5, true);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_SENT, "before: %s", o.reply[0]);
	INT_EQ(o.status[1], HERALD_SMTP_DEFERRED, "MAIL 451: %s", o.reply[1]);
	INT_EQ(o.code[1], 451, "the MAIL's code, not the 503s': %s",
	    o.reply[1]);
	OK(strstr(o.reply[1], "sender check") != NULL, "MAIL's reply: %s",
	    o.reply[1]);
	INT_EQ(o.status[2], HERALD_SMTP_SENT, "after: %s", o.reply[2]);
	log = slurp("log");
	/* Pipelined, the refused MAIL's RCPT and DATA went out with it and
	 * their 503s were read; in lockstep nothing followed the 451. */
	INT_EQ(count(log, "RCPT TO:<g2@"), piped() ? 1 : 0, "g2's RCPT:\n%s",
	    log);
	INT_EQ(stored(log, "g1"), 1, "g1 once:\n%s", log);
	INT_EQ(stored(log, "g2"), 0, "g2 never:\n%s", log);
	INT_EQ(stored(log, "g3"), 1, "g3 once:\n%s", log);
	free(log);

	clear_log();
	OK(start_server("normal"), "server");
	send_msgs(r2, NULL, 5, &o, 1, false, 5, true);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_SENT, "g1: %s", o.reply[0]);
	INT_EQ(o.status[1], HERALD_SMTP_FAILED, "RCPT 550: %s", o.reply[1]);
	INT_EQ(o.code[1], 550, "the RCPT's code: %s", o.reply[1]);
	OK(strstr(o.reply[1], "no such user") != NULL, "RCPT's reply: %s",
	    o.reply[1]);
	INT_EQ(o.status[2], HERALD_SMTP_SENT, "g3: %s", o.reply[2]);
	INT_EQ(o.status[3], HERALD_SMTP_FAILED, "354 anyway: %s", o.reply[3]);
	INT_EQ(o.code[3], 550, "the RCPT's code: %s", o.reply[3]);
	OK(strstr(o.reply[3], "no such user") != NULL, "RCPT's reply: %s",
	    o.reply[3]);
	INT_EQ(o.status[4], HERALD_SMTP_SENT, "g5 after the quirk: %s",
	    o.reply[4]);
	log = slurp("log");
	INT_EQ(stored(log, "g1") + stored(log, "g3") + stored(log, "g5"), 3,
	    "g1, g3, g5 once each:\n%s", log);
	INT_EQ(stored(log, "g1"), 1, "g1 once:\n%s", log);
	INT_EQ(stored(log, "g3"), 1, "g3 once:\n%s", log);
	INT_EQ(stored(log, "g5"), 1, "g5 once:\n%s", log);
	INT_EQ(count(log, "DATA-END"), 3, "three messages, no body for the "
	    "refused ones:\n%s", log);
	/* Pipelined, the broken server's 354 was met with a lone dot. */
	INT_EQ(count(log, "DATA-EMPTY"), piped() ? 1 : 0, "q354's lone dot:"
	    "\n%s", log);
	free(log);
}

/*
 * Dot-stuffing (RFC 5321 4.5.2): lines that begin with "." (a lone ".",
 * "..", ".x"), as the first, a middle and the last line.  The server
 * un-stuffs by the RFC (msg-N.eml) and must get the bytes submitted.
 */
static void
test_dot_stuffing(void)
{
	static const char *const bodies[] = {
		".\r\nfirst line a lone dot\r\n",
		"..\r\nfirst line two dots\r\n.x\r\n..\r\n.\r\n...\r\n"
		    "middle\r\n. \r\nlast line a lone dot\r\n.\r\n",
		".x first\r\nlast two dots\r\n..\r\n",
		".\r\n",
		"Subject: s\r\n\r\n.\r\n\r\n.\r\n",
		"no dot at all\r\n",
	};
	static const char *const r[] = {
		"s1@example.org", "s2@example.org", "s3@example.org",
		"s4@example.org", "s5@example.org", "s6@example.org",
	};
	struct outcome o;
	char name[32], *raw;

	clear_log();
	OK(start_server("normal"), "server");
	send_msgs(r, bodies, 6, &o, 1, false, 5, true);
	stop_server();
	for (int i = 0; i < 6; i++) {
		INT_EQ(o.status[i], HERALD_SMTP_SENT, "%s: %s", r[i],
		    o.reply[i]);
		snprintf(name, sizeof(name), "msg-%d.eml", i + 1);
		raw = slurp(name);
		STR_EQ(raw, bodies[i], "message %d un-stuffed", i + 1);
		free(raw);
	}
}

/* Did the next MAIL/RCPT/DATA group arrive with lp's final dot? */
static bool
behind_dot(const char *log, const char *lp)
{
	char needle[80];
	const char *p, *end;

	snprintf(needle, sizeof(needle), "C: RCPT TO:<%s@", lp);
	if ((p = strstr(log, needle)) == NULL ||
	    (end = strstr(p, "DATA-END")) == NULL)
		return false;
	p = strstr(p, "AFTER-DOT MAIL RCPT DATA");
	return p != NULL && p < end;
}

/*
 * A final dot's reply is a failure (451, 554, 421 and a close, the
 * connection dropped without a reply, no reply at all) while the next
 * transactions, queued on the same connection, may already be on the wire
 * behind that dot.  Each message is reported exactly once; the failed one
 * is not stored; the ones behind it are retried on a new connection and
 * arrive exactly once.
 */
static void
test_pipelined_failure(void)
{
	static const char *const faults[] = {
		"d451", "d554", "d421", "drop", "hangdot",
	};
	static const enum herald_smtp_status want[] = {
		HERALD_SMTP_DEFERRED, HERALD_SMTP_FAILED, HERALD_SMTP_DEFERRED,
		HERALD_SMTP_UNKNOWN, HERALD_SMTP_UNKNOWN,
	};
	char addr[5][40];
	const char *r[5];
	static const char *const lp[] = { "p1", "p2", NULL, "p4", "p5" };
	struct outcome o;
	char *log;

	for (int f = 0; f < 5; f++) {
		bool hang = strcmp(faults[f], "hangdot") == 0;

		for (int i = 0; i < 5; i++) {
			snprintf(addr[i], sizeof(addr[i]), "%s@example.org",
			    lp[i] ? lp[i] : faults[f]);
			r[i] = addr[i];
		}
		clear_log();
		OK(start_server("normal"), "server");
		/* hangdot: the server never answers; wait 1 s for it */
		send_msgs(r, NULL, 5, &o, 1, false, hang ? 1 : 5, true);
		stop_server();
		for (int i = 0; i < 5; i++)
			INT_EQ(o.status[i], i == 2 ? want[f] : HERALD_SMTP_SENT,
			    "%s: %s", r[i], o.reply[i]);
		OK(o.slow[2] == (strcmp(faults[f], "d421") == 0),
		    "%s: slow down only after a 421", r[2]);
		log = slurp("log");
		for (int i = 0; i < 5; i++)
			INT_EQ(stored(log, lp[i] ? lp[i] : faults[f]),
			    i == 2 ? 0 : 1, "%s stored:\n%s", r[i], log);
		if (piped())
			OK(behind_dot(log, faults[f]), "p4's group behind the "
			    "%s dot:\n%s", faults[f], log);
		free(log);
	}
}

/*
 * Every reply multi-line (RFC 5321 4.2.1: "NNN-" lines, then "NNN "), so
 * a reader that counts lines instead of replies loses its place in a
 * pipelined group.  Outcomes as with one-line replies.
 */
static void
test_multiline(void)
{
	static const char *const r[] = {
		"l1@example.org", "r550@example.org", "l3@example.org",
		"l4@example.org", "l5@example.org", "d554@example.org",
	};
	struct outcome o;
	char *log;

	clear_log();
	OK(start_server("normal+ml"), "server");
	send_msgs(r, NULL, 6, &o, 1, false, 5, true);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_SENT, "l1: %s", o.reply[0]);
	INT_EQ(o.status[1], HERALD_SMTP_FAILED, "r550: %s", o.reply[1]);
	INT_EQ(o.code[1], 550, "r550: %s", o.reply[1]);
	OK(strstr(o.reply[1], "no such user") != NULL, "r550: %s", o.reply[1]);
	INT_EQ(o.status[2], HERALD_SMTP_SENT, "l3: %s", o.reply[2]);
	INT_EQ(o.status[3], HERALD_SMTP_SENT, "l4: %s", o.reply[3]);
	INT_EQ(o.status[4], HERALD_SMTP_SENT, "l5: %s", o.reply[4]);
	OK(strstr(o.reply[4], "250 2.0.0 queued as") != NULL,
	    "l5: the dot's reply: %s", o.reply[4]);
	INT_EQ(o.status[5], HERALD_SMTP_FAILED, "d554: %s", o.reply[5]);
	OK(strstr(o.reply[5], "spam") != NULL, "d554: %s", o.reply[5]);
	log = slurp("log");
	INT_EQ(stored(log, "l1") + stored(log, "l3") + stored(log, "l4") +
	    stored(log, "l5"), 4, "four stored:\n%s", log);
	INT_EQ(stored(log, "l1"), 1, "l1 once:\n%s", log);
	INT_EQ(stored(log, "l3"), 1, "l3 once:\n%s", log);
	INT_EQ(stored(log, "l4"), 1, "l4 once:\n%s", log);
	INT_EQ(stored(log, "l5"), 1, "l5 once:\n%s", log);
	free(log);
}

/*
 * SIZE (RFC 1870) advertised with a 2000-octet limit: each MAIL declares
 * the message's size as RFC 1870 5 defines it (CRLFs counted, not the
 * doubled dots nor the final dot), which the server checks against what it
 * received un-stuffed; a message over the limit is refused at MAIL (552:
 * failed, its body never sent) and the next one still goes.
 */
static void
test_size(void)
{
	static const char *const r[] = {
		"z1@example.org", "z2@example.org", "huge@example.org",
		"z4@example.org",
	};
	static char big[3100];
	const char *bodies[4];
	struct outcome o;
	char *log;

	for (size_t i = 0; i + 76 < sizeof(big); i += 76) {
		memset(big + i, i % 152 ? 'x' : '.', 74);
		memcpy(big + i + 74, "\r\n", 2);
		big[i + 76] = '\0';
	}
	bodies[0] = "Subject: a\r\n\r\n.\r\n..\r\n.x\nbare LF\rbare CR";
	bodies[1] = "..\r\n.\r\n";
	bodies[2] = big;
	bodies[3] = "Subject: z4\r\n\r\nbody\r\n";
	clear_log();
	OK(start_server("normal+size=2000"), "server");
	send_msgs(r, bodies, 4, &o, 1, false, 5, true);
	stop_server();
	INT_EQ(o.status[0], HERALD_SMTP_SENT, "z1: %s", o.reply[0]);
	INT_EQ(o.status[1], HERALD_SMTP_SENT, "z2: %s", o.reply[1]);
	INT_EQ(o.status[2], HERALD_SMTP_FAILED, "too big: %s", o.reply[2]);
	INT_EQ(o.code[2], 552, "too big: %s", o.reply[2]);
	OK(strstr(o.reply[2], "5.3.4") != NULL, "MAIL's reply: %s", o.reply[2]);
	INT_EQ(o.status[3], HERALD_SMTP_SENT, "z4: %s", o.reply[3]);
	log = slurp("log");
	INT_EQ(count(log, "SIZE-MATCH"), 3, "SIZE declared right:\n%s", log);
	INT_EQ(count(log, "SIZE-MISMATCH"), 0, "SIZE declared wrong:\n%s", log);
	INT_EQ(count(log, "DATA-END"), 3, "no body for the big one:\n%s", log);
	INT_EQ(stored(log, "z1") + stored(log, "z2") + stored(log, "z4"), 3,
	    "z1, z2, z4 stored:\n%s", log);
	free(log);
}

/* The pipelining cases again, against a server that, as Postfix, writes
 * the replies to a whole group at once (mode "batch"). */
static void
batch_tests(void)
{
	test_normal();
	test_group_errors();
	test_dot_stuffing();
	test_pipelined_failure();
	test_multiline();
}

/* The same with every reply cut in two writes, mid-line. */
static void
split_tests(void)
{
	test_normal();
	test_group_errors();
	test_multiline();
}

static void
server_tests(void)
{
	test_normal();
	test_submit_buf();
	test_faults(false);
	quiet = true;       /* the same replies, read without tracing */
	test_faults(false);
	quiet = false;
	test_faults(true);
	test_greet421();
	test_hang();
	test_no_starttls();
	test_group_errors();
	test_dot_stuffing();
	test_pipelined_failure();
	test_multiline();
	test_size();
}

int
main(void)
{
	char cmd[400];

	signal(SIGPIPE, SIG_IGN);
	test_normalize();
	test_addr();
	test_policy();
	if (access("/usr/bin/python3", X_OK) != 0) {
		fprintf(stderr, "no /usr/bin/python3: skipping server tests\n");
		harness_done();
		return 77;
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	server_tests();
	pipemode = "+pipe";
	server_tests();
	pipemode = "+pipe+batch";
	batch_tests();
	pipemode = "+pipe+split";
	split_tests();
	stop_server();
	hbuf_free(&tracebuf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return harness_done();
}
