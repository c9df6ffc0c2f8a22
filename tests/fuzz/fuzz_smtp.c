/*
 * fuzz_smtp.c - herald's SMTP client (smtp.c: the reply parser and the
 * transaction state machine) against a server whose replies are the
 * fuzzer's input.  A server thread on 127.0.0.1 (a port chosen by the
 * kernel) greets and answers EHLO properly, so that libcurl connects (the
 * connection is libcurl's; what herald does after it is the target), with
 * PIPELINING offered when the input's first octet is odd; then it writes
 * the rest of the input as its replies, reads whatever the client sends
 * and closes when the client does or after 2 s.  Each input submits three
 * messages on one connection slot.
 *
 * The client must not crash, leak, hang (every message reported within
 * 10 s: the reply timeout is 1 s) or report a message SENT without a 2xx
 * in the input after a final dot could have been answered; it must report
 * each message exactly once.
 */
#include "fuzz_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include "smtp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lfd = -1;
static unsigned port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const uint8_t *cur;
static size_t cursize;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read from fd until a line ends, the peer closes, or `until`. */
static bool
read_line(int fd, double until)
{
	char c;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double left = until - now();

		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			return false;
		if (recv(fd, &c, 1, 0) != 1)
			return false;
		if (c == '\n')
			return true;
	}
}

static void
put(int fd, const void *p, size_t n)
{
	if (n > 0)
		(void)send(fd, p, n, MSG_NOSIGNAL);
}

static void *
server(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		static uint8_t d[4096];    /* this thread's copy: the input
		                              is the fuzzer's again once the
		                              iteration returns */
		size_t n;
		double until;
		char buf[4096];

		if (fd < 0)
			continue;
		pthread_mutex_lock(&mu);
		n = cursize <= sizeof(d) ? cursize : sizeof(d);
		if (n > 0)
			memcpy(d, cur, n);
		pthread_mutex_unlock(&mu);
		until = now() + 2;
		put(fd, "220 fuzz ESMTP\r\n", 16);
		if (read_line(fd, until)) {      /* EHLO */
			if (n > 0 && (d[0] & 1))
				put(fd, "250-fuzz\r\n250-PIPELINING\r\n"
				    "250 SIZE 100000\r\n", 43);
			else
				put(fd, "250-fuzz\r\n250 SIZE 100000\r\n", 27);
			if (n > 1)
				put(fd, d + 1, n - 1);
			shutdown(fd, SHUT_WR);
			for (;;) {      /* take what the client says */
				struct pollfd p = { .fd = fd, .events = POLLIN };
				double left = until - now();

				if (left <= 0 || poll(&p, 1,
				    (int)(left * 1000) + 1) <= 0)
					break;
				if (recv(fd, buf, sizeof(buf), 0) <= 0)
					break;
			}
		}
		close(fd);
	}
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sa = {0};
	socklen_t len = sizeof(sa);
	pthread_t t;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) != 0)
		abort();
	port = ntohs(sa.sin_port);
	if (pthread_create(&t, NULL, server, NULL) != 0)
		abort();
	pthread_detach(t);
	return 0;
}

struct seen {
	int n[3];
	enum herald_smtp_status st[3];
};

static void
done(void *arg, const struct herald_smtp_result *r)
{
	struct seen *s = arg;
	int i = (int)(intptr_t)r->cookie;

	if (i < 0 || i > 2 || r->rcpt == NULL || r->reply == NULL)
		abort();
	s->n[i]++;
	s->st[i] = r->status;
}

/* Could the input have answered a final dot 2xx?  A 2xx reply line
 * anywhere after a 354 line: a loose bound, but a SENT with no 354 and
 * no 2xx after it at all is a lie. */
static bool
could_accept(const uint8_t *d, size_t n)
{
	bool after354 = false;

	for (size_t i = 0; i + 3 <= n; i++) {
		bool sol = i == 0 || d[i - 1] == '\n';

		if (!sol)
			continue;
		if (memcmp(d + i, "354", 3) == 0)
			after354 = true;
		else if (after354 && d[i] == '2')
			return true;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *msg = "From: a@example.org\r\nTo: b@example.org\r\n"
	    "Subject: fuzz\r\n\r\n.leading dot\r\nbody\r\n";
	struct herald_smtp_opts o = {0};
	struct herald_smtp *s = NULL;
	struct herald_err e = {0};
	struct seen seen = {{0}, {0}};
	char url[64];
	double until;
	int left = 3;

	if (size > 4096)
		return 0;
	pthread_mutex_lock(&mu);
	cur = data;
	cursize = size;
	pthread_mutex_unlock(&mu);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%u", port);
	o.url = url;
	o.from = "news@example.org";
	o.timeout = 1;
	o.concurrency = 1;
	if (herald_smtp_new(&o, &s, &e) != 0)
		abort();
	/* one at a time until a message gets through (smtp.h), so submit
	 * as room allows */
	until = now() + 10;
	for (int i = 0; left > 0 && now() < until; ) {
		while (i < 3 && herald_smtp_room(s) > 0) {
			char rcpt[32];

			snprintf(rcpt, sizeof(rcpt), "r%d@example.org", i);
			if (herald_smtp_submit(s, rcpt, msg, strlen(msg),
			    (void *)(intptr_t)i, &e) != 0)
				abort();
			i++;
		}
		left -= herald_smtp_run(s, 50, done, &seen);
	}
	if (left > 0) {
		fprintf(stderr, "fuzz_smtp: %d message(s) not reported in "
		    "10 s\n", left);
		abort();
	}
	for (int i = 0; i < 3; i++) {
		if (seen.n[i] != 1) {
			fprintf(stderr, "fuzz_smtp: message %d reported %d "
			    "times\n", i, seen.n[i]);
			abort();
		}
		if (seen.st[i] == HERALD_SMTP_SENT && !could_accept(data,
		    size)) {
			fprintf(stderr, "fuzz_smtp: message %d SENT, but no "
			    "2xx followed a 354 in the server's replies\n", i);
			abort();
		}
	}
	herald_smtp_free(s);
	pthread_mutex_lock(&mu);
	cur = NULL;
	cursize = 0;
	pthread_mutex_unlock(&mu);
	return 0;
}
